"""The paper's Fig. 4 for any suite: the bound curve, each codec's points and its achievable hull.

Drawing rules shared with the leaderboard's plots (:mod:`vcmbench.publish.plots`):

* hull segments are drawn through many samples along the segment, straight in bits, so that an
  axis that is not linear in bits shows time-sharing as it truly is;
* the rate axis is linear when the rates fit in one decade and ``asinh`` otherwise: linear near
  0 bits, logarithmic far from it, and smooth in between (a ``symlog`` axis has a corner at its
  linear threshold that bends every curve there, the bound included);
* each point carries its accuracy's confidence interval as a vertical error bar; the bound
  read at the two ends of that bar is the bound's interval at that point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vcmbench import theory
from vcmbench.report.gaps import PointGap, codec_hulls
from vcmbench.report.hull import Point, dense_segments
from vcmbench.theory.confidence import CONFIDENCE

LINEAR_WIDTH_BITS = 1.0  # asinh axis: about linear below this many bits, logarithmic well above


def set_rate_axis(ax: Any, rates: Sequence[float], ratio: float = 30.0) -> None:
    """Linear rate axis, or asinh when the positive rates span more than ``ratio``."""
    from matplotlib.ticker import NullLocator

    positive = [r for r in rates if r > 0]
    if positive and max(positive) / max(min(positive), 1e-3) > ratio:
        ax.set_xscale("asinh", linear_width=LINEAR_WIDTH_BITS)
        decades = range(0, math.ceil(math.log10(max(positive))) + 1)
        ticks = [0.0] + [10.0**d for d in decades]  # 0, 1, 10, 100, ...: no crowding near 0
        ax.set_xticks(ticks, ["0"] + [f"{t:g}" for t in ticks[1:]])
        ax.xaxis.set_minor_locator(NullLocator())


def draw_points(ax: Any, gaps: Sequence[PointGap], color: Any, label: str) -> None:
    """Markers with vertical confidence-interval bars."""
    below = [g.accuracy - g.accuracy_low for g in gaps]
    above = [g.accuracy_high - g.accuracy for g in gaps]
    ax.errorbar([g.bits_per_sample for g in gaps], [g.accuracy for g in gaps], yerr=[below, above],
                fmt="o", ms=4, color=color, ecolor=color, elinewidth=0.8, capsize=2, zorder=3, label=label)


def draw_hull(ax: Any, hull: Sequence[Point], color: Any, **style: Any) -> None:
    ax.plot(*dense_segments(hull), color=color, **{"lw": 1, "alpha": 0.8, **style})


def draw_free_point(ax: Any, point: Point | None) -> None:
    if point is not None:
        ax.plot([0.0], [point[0]], marker="*", ms=10, color="black", ls="none", zorder=5,
                label="free point (0 bits: guess the training split's likeliest class)")


def plot_gaps(gaps: Sequence[PointGap], prior_counts: Sequence[int], path: Path, title: str = "",
              free: Point | None = None) -> None:
    """Accuracy against bits per sample for one group of records."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10.5, 5.2))
    acc, rate = theory.accuracy_rate_curve(list(prior_counts))
    ax.plot(rate, acc, color="black", lw=2, label="rate-accuracy bound (test prior)")
    k = len(prior_counts)
    acc_u, rate_u = theory.accuracy_rate_curve([1] * k)
    ax.plot(rate_u, acc_u, color="grey", lw=1, ls="--", label=f"bound, uniform K={k}")
    groups = {g.group for g in gaps}
    hulls = codec_hulls(gaps, {key: free for key in groups})
    for i, (key, hull) in enumerate(sorted(hulls.items())):
        color = plt.get_cmap("tab20")(i % 20)  # more codecs than the default 10-colour cycle
        draw_points(ax, [g for g in gaps if (*g.group, g.codec) == key], color, key[3])
        draw_hull(ax, hull, color)
    draw_free_point(ax, free)
    set_rate_axis(ax, [g.bits_per_sample for g in gaps], ratio=100.0)
    ax.set_xlim(left=0)
    ax.set_xlabel("bits per sample (real bytes × 8)")
    ax.set_ylabel(f"accuracy (bars: {CONFIDENCE:.0%} Clopper–Pearson)")
    ax.set_title(title or "rate-accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
