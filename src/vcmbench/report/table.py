"""Plain-text and JSON views of the gaps, for the terminal and for other tools."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from vcmbench.report.gaps import LevelGap, PointGap


def _params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items()) or "-"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def format_points(gaps: Sequence[PointGap]) -> str:
    """One line per operating point: real bits, accuracy, the two bounds and the gap."""
    header = ("codec", "params", "mode", "bits/sample", "accuracy", "bound(unif)", "bound(prior)",
              "gap bits", "gap ratio")
    rows = [header] + [
        (g.codec, _params(g.params), g.granularity, _num(g.bits_per_sample), f"{g.accuracy:.4f}",
         _num(g.bound_bits_uniform), _num(g.bound_bits_prior), _num(g.gap_bits), _ratio(g.gap_ratio))
        for g in gaps
    ]
    return _layout(rows, right_from=3)


def format_levels(levels: Sequence[LevelGap]) -> str:
    """Each codec's hull at the suite's target accuracies, against the bound there."""
    header = ("codec", "mode", "accuracy", "bits/sample", "bound(prior)", "gap bits", "gap ratio")
    rows = [header] + [
        (lv.codec, lv.granularity, f"{lv.accuracy:.4f}",
         _num(lv.bits_per_sample) if lv.bits_per_sample is not None else "not reached",
         _num(lv.bound_bits_prior), _num(lv.gap_bits), _ratio(lv.gap_ratio))
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
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def to_json(gaps: Sequence[PointGap], levels: Sequence[LevelGap]) -> dict[str, Any]:
    return {"points": [asdict(g) for g in gaps], "levels": [asdict(lv) for lv in levels]}
