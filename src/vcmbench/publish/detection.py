"""The leaderboard's detection section: ranked by mAP, with the paper's eq. 7 bound beside it, never on it.

A detection board (records whose task model ranks by mAP, :mod:`vcmbench.report.detection`)
shows bits per image, bits per pixel of the original images, COCO mAP, and the configuration
accuracy with the eq. 7 bound log2 K and the ratio bits / log2 K, labelled as the paper's
detection-as-classification bound (exact configuration recovery), not a bound on mAP.

Ranking: at each mAP level of the suite, a codec's rate is that of its cheapest measured point
reaching the level (mAP does not average under time-sharing, so no hull joins points); codecs
are ranked at each level by that rate, and overall by the mean of those rates over the levels
every ranked codec reaches. Literature points (e.g. YOLOv3 at 0.5 bpp, 55.5 % mAP on COCO) are
plotted by bits per pixel with their own label; they measured another test set and detector.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Any

from vcmbench.api.record import ResultRecord
from vcmbench.publish.escape import params_text, plot_label
from vcmbench.publish.literature import REPORTED_LABEL, LiteratureEntry
from vcmbench.report.detection import (
    BOUND_NOTE,
    ConfigurationSpace,
    DetectionPoint,
    cheapest_at_levels,
    configuration_space,
    detection_points,
)

MISSING = "—"
# The paper's own eq. 7 space for COCO (section III: up to 15 objects, 98 positions, 80 classes) at
# 640×480, COCO's common size: the context of the reported YOLOv3 point, which is in bits per pixel.
PAPER_POSITIONS, PAPER_CLASSES, PAPER_OBJECTS, PAPER_PIXELS = 98, 80, 15, 640 * 480


@dataclass
class DetectionRow:
    """A codec at the board's mAP levels: its cheapest point's bits per image at each, and ranks."""

    codec: str
    bits: tuple[float | None, ...]
    ranks: tuple[int | None, ...] = ()
    rank: int | None = None
    mean_bits: float | None = None


@dataclass
class DetectionBoard:
    metric: str
    space: ConfigurationSpace
    points: list[DetectionPoint]
    levels: tuple[float, ...]
    reference_scores: dict[str, float]
    reference_accuracy: float
    pixels_per_image: int | None
    ranking: list[DetectionRow] = field(default_factory=list)
    common_levels: tuple[float, ...] = ()

    @property
    def log2_k_per_pixel(self) -> float | None:
        return self.space.log2_k / self.pixels_per_image if self.pixels_per_image else None


def build_detection(records: Sequence[ResultRecord], levels: Sequence[float]) -> DetectionBoard:
    first = records[0]
    ok = [r for r in records if r.status == "ok" and r.metrics is not None]
    points = sorted(detection_points(ok), key=lambda p: (p.codec, p.bits_per_image))
    board = DetectionBoard(
        metric=first.task_model.metric, space=configuration_space(first), points=points,
        levels=tuple(levels), reference_scores=dict(first.task_model.reference_scores),
        reference_accuracy=first.task_model.reference_accuracy,
        pixels_per_image=first.dataset.pixels_per_sample,
    )
    cheapest = cheapest_at_levels(points, board.levels)
    rows = []
    for codec in sorted({p.codec for p in points}):
        mine = [c for c in cheapest if c.codec == codec]
        rows.append(DetectionRow(codec, tuple(c.point.bits_per_image if c.point else None for c in mine)))
    n = len(board.levels)
    common = [i for i in range(n) if rows and all(r.bits[i] is not None for r in rows)]
    board.common_levels = tuple(board.levels[i] for i in common)
    for row in rows:
        row.ranks = tuple(
            (1 + sorted(r.bits[i] for r in rows if r.bits[i] is not None).index(row.bits[i]))
            if row.bits[i] is not None else None for i in range(n))
        values = [row.bits[i] for i in common]
        row.mean_bits = fmean(values) if values and all(v is not None for v in values) else None
    rows.sort(key=lambda r: (r.mean_bits is None, r.mean_bits or 0.0, r.codec))
    rank = 0
    for row in rows:
        if row.mean_bits is not None:
            rank += 1
            row.rank = rank
    board.ranking = rows
    return board


def _fmt(value: float | None, digits: int = 3) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def paper_coco_line() -> str:
    """The paper's eq. 7 for COCO, computed: what the reported COCO point is three orders above."""
    from vcmbench import theory

    bits = theory.detection_bits(PAPER_POSITIONS, PAPER_CLASSES, PAPER_OBJECTS)
    return (f"For the reported COCO point: the paper's own space (P = {PAPER_POSITIONS}, C = "
            f"{PAPER_CLASSES}, N = {PAPER_OBJECTS}) gives log2 K = {bits:.1f} bits per image, "
            f"{bits / PAPER_PIXELS:.2e} bits per pixel at 640×480.")


def summary_lines(d: DetectionBoard, literature: bool = False) -> list[str]:
    """The sentences above the tables: the reference, the eq. 7 space and what that bound is for."""
    ref = d.reference_scores.get(d.metric)
    others = ", ".join(f"{k} {v:.4f}" for k, v in d.reference_scores.items() if k != d.metric)
    per_pixel = (f" ({d.log2_k_per_pixel:.2e} bits per pixel at this set's {d.pixels_per_image:,} pixels per "
                 "image)") if d.log2_k_per_pixel is not None else ""
    return [
        f"Ranked by {d.metric} (COCOeval); uncompressed {d.metric} {_fmt(ref, 4)}"
        + (f" ({others})" if others else "") + f", configuration accuracy {d.reference_accuracy:.4f}.",
        f"Detection as classification (paper eq. 7): {d.space.describe()}{per_pixel}.",
        BOUND_NOTE[:1].upper() + BOUND_NOTE[1:] + "; bits / log2 K is the ratio to lossless configuration "
        "coding, R_K(1-acc) that bound at the configuration accuracy a point reaches.",
        *([paper_coco_line()] if literature else []),
    ]


def ranking_rule(d: DetectionBoard) -> str:
    names = ", ".join(f"{lv:g}" for lv in d.common_levels)
    base = (f"At each {d.metric} level, a codec's rate is its cheapest measured point reaching it (no hull: "
            "mAP does not average under time-sharing).")
    if not d.common_levels:
        return base + " No level is reached by every codec, so there is no overall rank."
    return base + f" Overall rank: mean bits per image over the levels every codec reaches ({names})."


def ranking_table(d: DetectionBoard) -> tuple[list[str], list[list[tuple[str, float | None]]]]:
    header = ["rank", "codec"]
    for lv in d.levels:
        header += [f"bits/image @ {d.metric} ≥ {lv:g}", f"rank @ {lv:g}"]
    header += ["mean bits/image, common levels"]
    rows = []
    for r in d.ranking:
        cells: list[tuple[str, float | None]] = [(str(r.rank) if r.rank else MISSING, r.rank),
                                                 (r.codec, None)]
        for bits, rank in zip(r.bits, r.ranks, strict=True):
            cells += [(_fmt(bits) if bits is not None else "not reached", bits),
                      (str(rank) if rank else MISSING, rank)]
        cells.append((_fmt(r.mean_bits), r.mean_bits))
        rows.append(cells)
    return header, rows


def point_header(d: DetectionBoard) -> list[str]:
    scores = _score_names(d)
    return ["codec", "params", "mode", "bits/image", "bits/pixel", *scores, "configuration accuracy",
            "95% CI", "R_K(1-acc), eq. 7", "bits / log2 K"]


def _score_names(d: DetectionBoard) -> list[str]:
    names = {k for p in d.points for k in p.scores} | set(d.reference_scores)
    return sorted(names, key=lambda k: (k != d.metric, k))


def point_table(d: DetectionBoard) -> list[list[tuple[str, float | None]]]:
    rows = []
    for p in d.points:
        rows.append([
            (p.codec, None), (params_text(p.params), None), (p.granularity, None),
            (_fmt(p.bits_per_image), p.bits_per_image), (_fmt(p.bits_per_pixel, 5), p.bits_per_pixel),
            *((_fmt(p.scores.get(k), 4), p.scores.get(k)) for k in _score_names(d)),
            (f"{p.accuracy:.4f}", p.accuracy),
            (f"[{p.accuracy_low:.3f}, {p.accuracy_high:.3f}]", p.accuracy_low),
            (_fmt(p.bound_bits, 2), p.bound_bits), (f"{p.ratio_to_log2_k:.2f}×", p.ratio_to_log2_k),
        ])
    return rows


def csv_rows(d: DetectionBoard, suite: str, dataset: str, fingerprint: str,
             task: str) -> list[dict[str, Any]]:
    """One CSV row per point, in the columns of the other suites plus the detection-only ones."""
    rows = []
    for p in d.points:
        rows.append({
            "suite": suite, "dataset": dataset, "dataset_fingerprint": fingerprint, "source": "reproduced",
            "codec": p.codec, "params": json.dumps(p.params, sort_keys=True, default=str),
            "mode": p.granularity,
            "metric": d.metric, "score": p.score, "score_ci_low": None, "score_ci_high": None,
            "bits_per_sample": p.bits_per_image, "bits_per_pixel": p.bits_per_pixel,
            "bound_bits_uniform": None, "bound_bits": None, "bound_bits_at_ci_low": None,
            "bound_bits_at_ci_high": None, "bound": None, "gap_bits": None, "gap_ratio": None,
            "free_point_accuracy": None, "estimated_bits_per_sample": None, "task_model": task,
            "reference_accuracy": d.reference_scores.get(d.metric), "citation": None,
            "configuration_accuracy": p.accuracy, "eq7_log2_k": p.log2_k,
            "eq7_bound_at_configuration_accuracy": p.bound_bits, "bits_over_log2_k": p.ratio_to_log2_k,
            **{f"score_{k}": v for k, v in p.scores.items()},
        })
    return rows


def plot_detection_board(d: DetectionBoard, literature: Sequence[LiteratureEntry], title: str,
                         folder: Path, slug: str) -> dict[str, Path]:
    """mAP against bits per pixel of the original image, log2 K marked, literature points hollow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vcmbench.report.plot import codec_style, draw_levels, place_legend

    with matplotlib.rc_context({"svg.hashsalt": "vcmbench-publish"}):
        fig, ax = plt.subplots(figsize=(11, 5.6))
        rates = [p.bits_per_pixel for p in d.points if p.bits_per_pixel is not None]
        for i, codec in enumerate(sorted({p.codec for p in d.points})):
            mine = [p for p in d.points if p.codec == codec and p.score is not None and p.bits_per_pixel]
            if not mine:
                continue
            style = codec_style(i)
            ax.plot([p.bits_per_pixel for p in mine], [p.score for p in mine], ls="none",
                    marker=style["marker"], ms=5, color=style["color"], label=plot_label(codec))
        if d.log2_k_per_pixel is not None:
            rates.append(d.log2_k_per_pixel)
            ax.axvline(d.log2_k_per_pixel, color="black", lw=1.5,
                       label=plot_label(f"log2 K = {d.space.log2_k:.1f} bits per image (eq. 7, lossless "
                                        "configuration coding; bounds configurations, not mAP)"))
        ref = d.reference_scores.get(d.metric)
        if ref is not None:
            ax.axhline(ref, color="grey", lw=1, ls="--",
                       label=plot_label(f"uncompressed {d.metric} {ref:.3f}"))
        for entry in literature:
            pts = [p for p in entry.points if p.bits_per_pixel is not None]
            if not pts:
                continue
            rates += [p.bits_per_pixel for p in pts]
            ax.plot([p.bits_per_pixel for p in pts], [p.score for p in pts], ls="none", marker="D", ms=7,
                    markerfacecolor="none", markeredgecolor="darkred", zorder=4,
                    label=plot_label(f"{entry.label} [{REPORTED_LABEL}; {entry.dataset}]"))
        if any(r > 0 for r in rates):
            ax.set_xscale("log")  # from a detection stream's 1e-4 bpp to lossless PNG: decades apart
        ax.set_ylim(0, 1.0)
        ax.set_xlabel("bits per pixel of the original image (reproduced: 8 × bytes received)")
        ax.set_ylabel(f"{d.metric} (COCOeval)")
        ax.set_title(plot_label(title))
        ax.grid(alpha=0.3)
        draw_levels(ax, d.levels, name=f"target {d.metric}")
        place_legend(ax)
        fig.tight_layout()
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        for fmt in ("png", "svg"):
            path = folder / f"{slug}.{fmt}"
            fig.savefig(path, dpi=130, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
            out[fmt] = path
        plt.close(fig)
    return out


