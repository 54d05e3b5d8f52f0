"""A codec's achievable curve: the lower convex hull of its operating points.

Time-sharing between two operating points achieves every rate/accuracy pair on the segment
between them, and a decoder can always give up accuracy without spending bits. So the rate a
codec needs for accuracy ``a`` is the lower convex hull of its (accuracy, bits) points, made
non-decreasing in accuracy.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

Point = tuple[float, float]  # (accuracy, bits per sample)


def lower_convex_hull(points: Iterable[Point]) -> list[Point]:
    """The hull's vertices by increasing accuracy, starting at the cheapest point."""
    cheapest_at: dict[float, float] = {}
    for a, b in points:
        cheapest_at[a] = min(b, cheapest_at.get(a, b))
    pts = sorted(cheapest_at.items())
    hull: list[Point] = []
    for p in pts:
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) <= 0:
            hull.pop()
        hull.append(p)
    if not hull:
        return hull
    # Below the cheapest point's accuracy, that point itself is the best rate: drop the part
    # of the hull where more accuracy costs fewer bits.
    cheapest = min(range(len(hull)), key=lambda i: (hull[i][1], -hull[i][0]))
    return hull[cheapest:]


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def bits_on_hull(hull: list[Point], accuracy: float) -> float | None:
    """Bits per sample the codec needs for ``accuracy`` by time-sharing; None beyond its best accuracy."""
    if not hull or accuracy > hull[-1][0] + 1e-12:
        return None
    if accuracy <= hull[0][0]:
        return hull[0][1]
    for (a0, b0), (a1, b1) in itertools.pairwise(hull):
        if a0 <= accuracy <= a1:
            return b0 if a1 == a0 else b0 + (b1 - b0) * (accuracy - a0) / (a1 - a0)
    return hull[-1][1]
