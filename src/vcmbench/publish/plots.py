"""Rate-accuracy plots for the leaderboard, PNG and SVG: the bound, each codec's hull, reported points.

Reported (literature) points get hollow markers, dashed lines and a "reported, not reproduced"
label, so they are never mistaken for measured results. Labels are escaped for mathtext.
Hulls (with the free point), the asinh rate axis and the confidence bars follow the drawing
rules of :mod:`vcmbench.report.plot`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vcmbench.publish.board import Board, entry_bound
from vcmbench.publish.detection import plot_detection_board
from vcmbench.publish.escape import plot_label
from vcmbench.publish.literature import REPORTED_LABEL
from vcmbench.report.gaps import bound_uniform
from vcmbench.report.plot import (
    codec_style,
    draw_band,
    draw_free_point,
    draw_hull,
    draw_levels,
    draw_points,
    place_legend,
    set_rate_axis,
    straight_in_bits,
)
from vcmbench.theory.confidence import CONFIDENCE

_LITERATURE_MARKERS = ("D", "s", "^", "v", "P", "X")


def bound_curve(board: Board) -> tuple[list[float], list[float]]:
    """Bits on the bound for accuracies from 0 to 1 (0 bits up to chance level), every 1/400."""
    acc = [float(a) for a in np.linspace(0.0, 1.0, 401)]
    return acc, [board.bound(a) for a in acc]


def plot_board(board: Board, folder: Path, *, bands: bool = False) -> dict[str, Path]:
    """Write ``<slug>.png`` and ``<slug>.svg``; return them by format (empty without a bound)."""
    if board.detection is not None:
        title = board.suite if not board.dataset_id else f"{board.suite} · {board.dataset_id}"
        return plot_detection_board(board.detection, board.literature, title, folder, board.slug)
    if not board.has_bound:
        return {}
    import matplotlib
    import matplotlib.pyplot as plt

    fig = board_figure(board, bands=bands)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    # A fixed salt makes SVG element ids, and so the files, the same for the same records.
    with matplotlib.rc_context({"svg.hashsalt": "vcmbench-publish"}):
        for fmt in ("png", "svg"):
            path = folder / f"{board.slug}.{fmt}"
            # No date in the SVG: the same records give the same file.
            fig.savefig(path, dpi=130, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
            out[fmt] = path
    plt.close(fig)
    return out


def board_figure(board: Board, *, bands: bool = False) -> Any:
    """The board's rate-accuracy figure (matplotlib), for a board with a bound."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 5.6))
    rates = [g.bits_per_sample for g in board.points]
    rates += [p.point.bits_per_sample for p in board.reported if p.point.bits_per_sample is not None]
    top = max(rates, default=1.0)
    acc, bits = bound_curve(board)
    ax.plot(*straight_in_bits(acc, bits), color="black", lw=2,
            label=plot_label(f"rate-accuracy bound ({board.bound_label})"))
    if board.prior_counts is not None:
        uniform = [bound_uniform(float(a), board.num_classes) for a in acc]
        ax.plot(*straight_in_bits(acc, uniform), color="grey", lw=1, ls="--",
                label=f"bound, uniform K={board.num_classes}")
    for i, codec in enumerate(sorted({g.codec for g in board.points})):
        style = codec_style(i)
        draw_points(ax, [g for g in board.points if g.codec == codec], style["color"], plot_label(codec),
                    marker=style["marker"])
        draw_hull(ax, board.hulls[codec], style["color"], ls=style["ls"])
        if bands:
            draw_band(ax, [g for g in board.points if g.codec == codec],
                      board.free.point if board.free is not None else None, style["color"])
    draw_free_point(ax, board.free.point if board.free is not None else None)
    drawn = 0
    other_priors = {}
    for entry in board.literature:
        pts = [(p.score, p.bits_per_sample) for p in entry.points if p.bits_per_sample is not None]
        if not entry.is_accuracy or not pts:
            continue
        if entry.test_prior is not None and entry.test_prior.counts != board.prior_counts:
            other_priors.setdefault(entry.test_prior.counts, entry)
        marker = _LITERATURE_MARKERS[drawn % len(_LITERATURE_MARKERS)]
        drawn += 1
        draw_hull(ax, board.hulls.get(entry.label, sorted(pts)), "dimgrey", ls="--", zorder=4)
        ax.plot(
            [b for _, b in pts],
            [a for a, _ in pts],
            ls="none",
            marker=marker,
            markersize=7,
            markerfacecolor="none",
            markeredgecolor="darkred",
            zorder=4,
            label=plot_label(f"{entry.label} [{REPORTED_LABEL}]"),
        )
    for entry in other_priors.values():
        ax.plot(*straight_in_bits(acc, [entry_bound(entry, float(a)) for a in acc]), color="darkred",
                lw=0.8, ls=":", label=plot_label(f"bound, {entry.prior_label}"))
    draw_levels(ax, board.levels)
    set_rate_axis(ax, rates)
    ax.set_xlim(left=0, right=top * 1.1 if top > 0 else 1.0)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("bits per sample" + (" (reproduced: 8 × bytes received)" if board.points else ""))
    ax.set_ylabel("accuracy" + (f" (bars: {CONFIDENCE:.0%} Clopper–Pearson)" if board.points else ""))
    title = board.suite if not board.dataset_id else f"{board.suite} · {board.dataset_id}"
    ax.set_title(plot_label(title))
    ax.grid(alpha=0.3)
    place_legend(ax)
    fig.tight_layout()
    return fig

