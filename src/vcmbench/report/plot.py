"""The paper's Fig. 4 for any suite: the bound curve, each codec's points and its achievable hull.

Drawing rules shared with the leaderboard's plots (:mod:`vcmbench.publish.plots`):

* every line, hulls and the bound alike, is drawn through many samples taken straight in bits
  (:func:`straight_in_bits`), so that an axis that is not linear in bits shows time-sharing as it
  truly is: a two-point line would be straight on screen and so curved in bits, and could appear
  to cross the bound;
* the rate axis is linear when the rates fit in one decade and ``asinh`` otherwise: linear near
  0 bits, logarithmic far from it, and smooth in between (a ``symlog`` axis has a corner at its
  linear threshold that bends every curve there, the bound included);
* each codec gets its own colour, marker and line style (:func:`codec_style`): twenty codecs
  stay apart in colour, and in print the markers and dashes tell the rest;
* each point carries its accuracy's confidence interval as a vertical error bar; the bound
  read at the two ends of that bar is the bound's interval at that point. Optionally a band joins
  the intervals' ends along the hull (:func:`draw_band`);
* the suite's target accuracies are horizontal lines labelled with their value; the legend sits
  outside the axes, so it never hides data.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vcmbench import theory
from vcmbench.errors import UsageError
from vcmbench.report.gaps import PointGap, codec_hulls
from vcmbench.report.hull import Point, achievable_hull, dense_segments
from vcmbench.theory.confidence import CONFIDENCE

LINEAR_WIDTH_BITS = 1.0  # asinh axis: about linear below this many bits, logarithmic well above
PLOT_FORMATS = ("png", "svg", "pdf")
# Markers cycle with a period prime to the palette's 20 colours: 140 codecs before a style repeats.
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINE_STYLES = ("-", "--", "-.", ":")


@functools.cache
def palette(size: int = 20) -> tuple[tuple[float, float, float], ...]:
    """``size`` colours that stay apart: matplotlib's ``tab10``, then colours of its other qualitative maps.

    Each further colour is the one, among the qualitative maps' colours dark enough to read on white
    (relative luminance at most 0.75), farthest in RGB from every colour already chosen: the usual
    maximin rule of palette builders, applied to the palettes matplotlib ships.
    """
    from matplotlib import colormaps

    chosen = [tuple(c[:3]) for c in colormaps["tab10"].colors]
    maps = ("Dark2", "Set1", "Set2", "Paired", "Accent", "tab20", "tab20b", "tab20c")
    pool = [tuple(c[:3]) for name in maps for c in colormaps[name].colors
            if 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2] <= 0.75]

    def distance(c: tuple[float, ...]) -> float:
        return min(math.dist(c, x) for x in chosen)

    while len(chosen) < size:
        chosen.append(max(pool, key=distance))
    return tuple(chosen[:size])


def codec_style(index: int) -> dict[str, Any]:
    """Colour, marker and line style of the ``index``-th codec of a plot.

    Twenty distinct colours (:func:`palette`); markers cycle with period 7 and line styles change every
    20 codecs, so no two of the first 140 codecs share all three, and print in grey still tells
    codecs apart by marker.
    """
    colours = palette()
    return {
        "color": colours[index % len(colours)],
        "marker": MARKERS[index % len(MARKERS)],
        "ls": LINE_STYLES[(index // len(colours)) % len(LINE_STYLES)],
    }


def straight_in_bits(acc: Sequence[float], bits: Sequence[float], steps: int = 8) -> tuple[list[float],
                                                                                            list[float]]:
    """(bits, accuracy) of a polyline resampled along its straight-in-bits segments (for any axis)."""
    return dense_segments(list(zip(acc, bits, strict=True)), steps=steps)


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


def draw_points(ax: Any, gaps: Sequence[PointGap], color: Any, label: str, marker: str = "o") -> None:
    """Markers with vertical confidence-interval bars."""
    below = [g.accuracy - g.accuracy_low for g in gaps]
    above = [g.accuracy_high - g.accuracy for g in gaps]
    ax.errorbar([g.bits_per_sample for g in gaps], [g.accuracy for g in gaps], yerr=[below, above],
                fmt=marker, ms=4, color=color, ecolor=color, elinewidth=0.8, capsize=2, zorder=3, label=label)


def draw_hull(ax: Any, hull: Sequence[Point], color: Any, **style: Any) -> None:
    ax.plot(*dense_segments(hull), color=color, **{"lw": 1, "alpha": 0.8, **style})


def draw_band(ax: Any, gaps: Sequence[PointGap], free: Point | None, color: Any) -> None:
    """The hull of the intervals' low ends and that of their high ends, the area between them shaded.

    Each edge is an achievable hull in its own right (with the free point, which is exact), so the
    band follows time-sharing straight in bits like the hull it surrounds.
    """
    low = achievable_hull([(g.accuracy_low, g.bits_per_sample) for g in gaps], free)
    high = achievable_hull([(g.accuracy_high, g.bits_per_sample) for g in gaps], free)
    if len(low) < 2 and len(high) < 2:
        return
    bits_low, acc_low = dense_segments(low)
    bits_high, acc_high = dense_segments(high)
    ax.fill([*bits_high, *reversed(bits_low)], [*acc_high, *reversed(acc_low)], color=color, alpha=0.15,
            lw=0, zorder=1)


def draw_free_point(ax: Any, point: Point | None) -> None:
    if point is not None:
        ax.plot([0.0], [point[0]], marker="*", ms=10, color="black", ls="none", zorder=5,
                label="free point (0 bits: guess the training split's likeliest class)")


def draw_levels(ax: Any, levels: Sequence[float], name: str = "target accuracy") -> None:
    """A dotted line at each target, labelled with its value just above it at the left of the axes."""
    for level in levels:
        ax.axhline(level, color="grey", lw=0.6, ls=":", zorder=0)
        ax.text(0.005, level, f"{name} {level:g}", transform=ax.get_yaxis_transform(), ha="left",
                va="bottom", fontsize=7, color="dimgrey", zorder=6,
                bbox={"facecolor": "white", "alpha": 0.75, "linewidth": 0, "pad": 0.5})


def place_legend(ax: Any) -> Any:
    """The legend to the right of the axes, outside the data."""
    return ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)


def plot_paths(target: str | Path, names: Sequence[str]) -> list[Path]:
    """Where ``--plot PATH`` writes: the file itself, or one ``<name>.png`` per group inside a folder.

    A folder is an existing folder, or a path ending in '/' or without a suffix; a file must end in
    .png, .svg or .pdf (matplotlib would otherwise append its own suffix and write somewhere else).
    """
    text, path = str(target), Path(target)
    if path.is_dir() or text.endswith(("/", "\\")) or not path.suffix:
        if path.exists() and not path.is_dir():
            raise UsageError(f"--plot {path}: exists and is not a folder")
        return [path / f"{name}.png" for name in names]
    fmt = path.suffix[1:].lower()
    if fmt not in PLOT_FORMATS:
        raise UsageError(f"--plot {path}: unknown image format {path.suffix!r} (use .png, .svg or .pdf, or "
                         "name a folder)")
    if len(names) > 1:
        raise UsageError(f"--plot {path}: a file draws one test set at a time and these records hold "
                         f"{len(names)} (suite, dataset, fingerprint) groups; name a folder instead")
    return [path]


def save_figure(fig: Any, path: Path) -> None:
    """Write the figure where asked (never with an extension matplotlib picks), then close it."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix[1:].lower() or "png"
    fig.savefig(path, dpi=130, format=fmt, bbox_inches="tight",
                metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)


def bound_polyline(prior_counts: Sequence[int]) -> tuple[list[float], list[float]]:
    """(bits, accuracy) of the bound for a label prior, dense and straight in bits between its samples."""
    acc, rate = theory.accuracy_rate_curve(list(prior_counts), num_points=400)
    return straight_in_bits([float(a) for a in acc], [float(r) for r in rate])


def gaps_figure(gaps: Sequence[PointGap], prior_counts: Sequence[int], title: str = "",
                free: Point | None = None, levels: Sequence[float] = (), bands: bool = False) -> Any:
    """Accuracy against bits per sample for one group of records; returns the matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10.5, 5.2))
    ax.plot(*bound_polyline(prior_counts), color="black", lw=2, label="rate-accuracy bound (test prior)")
    k = len(prior_counts)
    ax.plot(*bound_polyline([1] * k), color="grey", lw=1, ls="--", label=f"bound, uniform K={k}")
    groups = {g.group for g in gaps}
    hulls = codec_hulls(gaps, {key: free for key in groups})
    for i, (key, hull) in enumerate(sorted(hulls.items())):
        style = codec_style(i)
        mine = [g for g in gaps if (*g.group, g.codec) == key]
        draw_points(ax, mine, style["color"], key[3], marker=style["marker"])
        draw_hull(ax, hull, style["color"], ls=style["ls"])
        if bands:
            draw_band(ax, mine, free, style["color"])
    draw_free_point(ax, free)
    draw_levels(ax, levels)
    set_rate_axis(ax, [g.bits_per_sample for g in gaps], ratio=100.0)
    ax.set_xlim(left=0)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("bits per sample (real bytes × 8)")
    shown = "bars" + (" and bands" if bands else "")
    ax.set_ylabel(f"accuracy ({shown}: {CONFIDENCE:.0%} Clopper–Pearson)")
    ax.set_title(title or "rate-accuracy")
    ax.grid(alpha=0.3)
    place_legend(ax)
    fig.tight_layout()
    return fig


def plot_gaps(gaps: Sequence[PointGap], prior_counts: Sequence[int], path: Path, title: str = "",
              free: Point | None = None, levels: Sequence[float] = (), bands: bool = False) -> None:
    """Accuracy against bits per sample for one group of records, written to ``path``."""
    save_figure(gaps_figure(gaps, prior_counts, title, free, levels, bands), path)
