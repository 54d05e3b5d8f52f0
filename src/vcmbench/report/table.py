"""Plain-text and JSON views of the gaps, for the terminal and for other tools."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from vcmbench.report.gaps import CONFIDENCE, FreePoint, LevelGap, ModelAware, PointGap

IMPOSSIBLE = "IMPOSSIBLE"


def _params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items()) or "-"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _aware(value: float | None, beyond: bool = False) -> str:
    """A model-aware number: '-' without a confusion matrix, 'beyond' past the classifier's reach."""
    return "beyond" if beyond else _num(value)


def _interval(low: float, high: float, digits: int = 3) -> str:
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def format_points(gaps: Sequence[PointGap]) -> str:
    """One line per operating point: real bits, accuracy and its interval, the bounds and the gap."""
    ci = f"{CONFIDENCE:.0%} CI"
    header = ("codec", "params", "mode", "bits/sample", "accuracy", f"accuracy {ci}", "bound(unif)",
              "bound(prior)", f"bound {ci}", "gap bits", "gap ratio", "bound(model)", "classifier", "code",
              "")
    rows = [header] + [
        (g.codec, _params(g.params), g.granularity, _num(g.bits_per_sample), f"{g.accuracy:.4f}",
         _interval(g.accuracy_low, g.accuracy_high), _num(g.bound_bits_uniform), _num(g.bound_bits_prior),
         _interval(g.bound_bits_low, g.bound_bits_high), _num(g.gap_bits), _ratio(g.gap_ratio),
         _aware(g.model_aware_bits, g.beyond_classifier), _aware(g.classifier_gap_bits, g.beyond_classifier),
         _aware(g.code_gap_bits, g.beyond_classifier), IMPOSSIBLE if g.impossible else "")
        for g in gaps
    ]
    return _layout(rows, right_from=3)


def format_levels(levels: Sequence[LevelGap]) -> str:
    """Each codec's hull at the suite's target accuracies, against the bound there, and the gap's split
    into classifier (model-aware − RA bound) and code (bits − model-aware bound) where it exists."""
    header = ("codec", "mode", "accuracy", "bits/sample", "bound(prior)", "gap bits", "gap ratio",
              "bound(model)", "classifier", "code")
    rows = [header] + [
        (lv.codec, lv.granularity, f"{lv.accuracy:.4f}",
         _num(lv.bits_per_sample) if lv.bits_per_sample is not None else "not reached",
         _num(lv.bound_bits_prior), _num(lv.gap_bits), _ratio(lv.gap_ratio),
         _aware(lv.model_aware_bits, lv.beyond_classifier),
         _aware(lv.classifier_gap_bits, lv.beyond_classifier), _aware(lv.code_gap_bits, lv.beyond_classifier))
        for lv in levels
    ]
    return _layout(rows, right_from=2)


def _layout(rows: Sequence[Sequence[str]], right_from: int) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.rjust(w) if i >= right_from else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                             strict=True))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths).rstrip())
    return "\n".join(lines)


def to_json(gaps: Sequence[PointGap], levels: Sequence[LevelGap],
            groups: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Everything the tables show, with intervals, free points and IMPOSSIBLE flags, as plain JSON."""
    return {"confidence": CONFIDENCE, "groups": list(groups), "points": [asdict(g) for g in gaps],
            "levels": [asdict(lv) for lv in levels]}


def group_json(suite: str, dataset_id: str, fingerprint: str, samples: int,
               free: FreePoint, model_aware: ModelAware | None = None) -> dict[str, Any]:
    out = {"suite": suite, "dataset_id": dataset_id, "dataset_fingerprint": fingerprint, "samples": samples,
           "free_point": None if free.point is None else {"accuracy": free.point[0], "bits_per_sample": 0.0,
                                                          "guess_class": free.guess_class},
           "free_point_note": free.note}
    if model_aware is not None:
        out["model_aware"] = {"raw_accuracy": model_aware.raw_accuracy,
                              "bayes_accuracy": model_aware.bayes_accuracy, "note": model_aware.note}
    return out
