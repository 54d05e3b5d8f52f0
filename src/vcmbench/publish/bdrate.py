"""BD-rate between codecs: the average relative bit difference at equal accuracy.

A second view beside the gap to the bound. It uses the ``bjontegaard`` package on each codec's
lower convex hull (the rate a codec achieves by time-sharing), with accuracy as the quality
axis. Zero-bit points have no logarithm and are left out; curves that do not overlap in
accuracy, or have fewer than two points, get no BD-rate rather than an extrapolated one.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import bjontegaard

from vcmbench.report.hull import lower_convex_hull

Point = tuple[float, float]  # (accuracy, bits per sample)
METHOD = "pchip"  # monotone: an interpolated hull never overshoots its own vertices


@dataclass(frozen=True)
class BdRate:
    test: str
    anchor: str
    percent: float | None  # None: not computable (see reason)
    reason: str = ""


def bd_curve(points: Sequence[Point]) -> list[Point]:
    """The hull vertices usable for BD-rate: positive rates, strictly increasing accuracy."""
    return [(a, b) for a, b in lower_convex_hull(points) if b > 0]


def bd_rate(anchor: Sequence[Point], test: Sequence[Point]) -> tuple[float | None, str]:
    """Percent bits the test codec spends against the anchor at equal accuracy (negative: fewer)."""
    ca, ct = bd_curve(anchor), bd_curve(test)
    if len(ca) < 2 or len(ct) < 2:
        return None, "needs two hull points with non-zero rate on both curves"
    low = max(ca[0][0], ct[0][0])
    high = min(ca[-1][0], ct[-1][0])
    if high <= low:
        return None, "the accuracy ranges do not overlap"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = bjontegaard.bd_rate(
            [b for _, b in ca],
            [a for a, _ in ca],
            [b for _, b in ct],
            [a for a, _ in ct],
            method=METHOD,
            require_matching_points=False,
            min_overlap=0,
        )
    value = float(value)
    return (value, "") if math.isfinite(value) else (None, "not finite")


def bd_eligible(curves: dict[str, Sequence[Point]]) -> tuple[dict[str, Sequence[Point]], list[str]]:
    """Curves with the two usable hull points BD-rate needs, and the names of those without."""
    usable = {name: pts for name, pts in curves.items() if len(bd_curve(pts)) >= 2}
    return usable, [name for name in curves if name not in usable]


def bd_matrix(curves: dict[str, Sequence[Point]]) -> list[BdRate]:
    """Every ordered pair (test, anchor) of distinct curves."""
    rows = []
    for test, test_points in curves.items():
        for anchor, anchor_points in curves.items():
            if test != anchor:
                percent, reason = bd_rate(anchor_points, test_points)
                rows.append(BdRate(test=test, anchor=anchor, percent=percent, reason=reason))
    return rows
