"""Rate-accuracy plots for the leaderboard, PNG and SVG: the bound, each codec's hull, reported points.

Reported (literature) points get hollow markers, dashed lines and a "reported, not reproduced"
label, so they are never mistaken for measured results. Labels are escaped for mathtext.
Hulls (with the free point), the asinh rate axis and the confidence bars follow the drawing
rules of :mod:`vcmbench.report.plot`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vcmbench.publish.board import Board, entry_bound
from vcmbench.publish.detection import plot_detection_board
from vcmbench.publish.escape import plot_label
from vcmbench.publish.literature import REPORTED_LABEL
from vcmbench.report.gaps import bound_uniform
from vcmbench.report.plot import draw_free_point, draw_hull, draw_points, set_rate_axis
from vcmbench.theory.confidence import CONFIDENCE

_LITERATURE_MARKERS = ("D", "s", "^", "v", "P", "X")


def _bound_curve(board: Board) -> tuple[np.ndarray, np.ndarray]:
    """Bits on the bound for accuracies from 0 to 1 (0 bits up to chance level)."""
    acc = np.linspace(0.0, 1.0, 401)
    bits = np.array([board.bound(float(a)) for a in acc])
    return acc, bits


def plot_board(board: Board, folder: Path) -> dict[str, Path]:
    """Write ``<slug>.png`` and ``<slug>.svg``; return them by format (empty without a bound)."""
    if board.detection is not None:
        title = board.suite if not board.dataset_id else f"{board.suite} · {board.dataset_id}"
        return plot_detection_board(board.detection, board.literature, title, folder, board.slug)
    if not board.has_bound:
        return {}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # A fixed salt makes SVG element ids, and so the files, the same for the same records.
    with matplotlib.rc_context({"svg.hashsalt": "vcmbench-publish"}):
        fig, ax = plt.subplots(figsize=(11, 5.6))
        rates = [g.bits_per_sample for g in board.points]
        rates += [p.point.bits_per_sample for p in board.reported if p.point.bits_per_sample is not None]
        top = max(rates, default=1.0)
        acc, bits = _bound_curve(board)
        ax.plot(
            bits, acc, color="black", lw=2, label=plot_label(f"rate-accuracy bound ({board.bound_label})")
        )
        if board.prior_counts is not None:
            uniform = [bound_uniform(float(a), board.num_classes) for a in acc]
            ax.plot(uniform, acc, color="grey", lw=1, ls="--", label=f"bound, uniform K={board.num_classes}")
        for i, codec in enumerate(sorted({g.codec for g in board.points})):
            color = plt.get_cmap("tab20")(i % 20)  # more codecs than the default 10-colour cycle
            draw_points(ax, [g for g in board.points if g.codec == codec], color, plot_label(codec))
            draw_hull(ax, board.hulls[codec], color)
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
            ax.plot([entry_bound(entry, float(a)) for a in acc], acc, color="darkred", lw=0.8, ls=":",
                    label=plot_label(f"bound, {entry.prior_label}"))
        for level in board.levels:
            ax.axhline(level, color="grey", lw=0.5, ls=":")
        set_rate_axis(ax, rates)
        ax.set_xlim(left=0, right=top * 1.1 if top > 0 else 1.0)
        ax.set_ylim(0, 1.01)
        ax.set_xlabel("bits per sample" + (" (reproduced: 8 × bytes received)" if board.points else ""))
        ax.set_ylabel("accuracy" + (f" (bars: {CONFIDENCE:.0%} Clopper–Pearson)" if board.points else ""))
        title = board.suite if not board.dataset_id else f"{board.suite} · {board.dataset_id}"
        ax.set_title(plot_label(title))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        fig.tight_layout()
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        for fmt in ("png", "svg"):
            path = folder / f"{board.slug}.{fmt}"
            # No date in the SVG: the same records give the same file.
            fig.savefig(path, dpi=130, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
            out[fmt] = path
        plt.close(fig)
    return out
