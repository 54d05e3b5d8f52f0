"""A codec's achievable curve: the lower convex hull of its operating points and the free point.

Time-sharing between two operating points achieves every rate/accuracy pair on the segment
between them, and a decoder can always give up accuracy without spending bits. So the rate a
codec needs for accuracy ``a`` is the lower convex hull of its (accuracy, bits) points, made
non-decreasing in accuracy. Between two vertices that rate is linear in bits: anything drawn or
integrated along a hull (plots, BD-rate) must follow the straight segments, never a smooth curve.

One point is always achievable without running the codec at all: send nothing and guess the
class the training split makes most likely (encoder and decoder share what the training split
teaches for free). It costs 0 bits and reaches the test set's share of that class; it is the
*free point* of every hull, when the record says which training split was used.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

Point = tuple[float, float]  # (accuracy, bits per sample)


def free_class(train_prior_counts: Sequence[int]) -> int:
    """The class a decoder guesses with no bits: the training split's most frequent (ties: lowest index)."""
    counts = list(train_prior_counts)
    return counts.index(max(counts))


def free_point(prior_counts: Sequence[int], train_prior_counts: Sequence[int] | None) -> Point | None:
    """(accuracy, 0 bits) of always guessing :func:`free_class` on the test set; None without train counts."""
    if train_prior_counts is None:
        return None
    counts = list(prior_counts)
    if len(counts) != len(train_prior_counts) or sum(counts) <= 0:
        return None
    return (counts[free_class(train_prior_counts)] / sum(counts), 0.0)


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


def achievable_hull(points: Iterable[Point], free: Point | None) -> list[Point]:
    """The codec's achievable curve: the hull of its points together with the free point (when known)."""
    pts = list(points)
    return lower_convex_hull([*pts, free] if free is not None else pts)


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


def dense_segments(points: Sequence[Point], steps: int = 48) -> tuple[list[float], list[float]]:
    """(bits, accuracy) along the straight segments between ``points``, sampled evenly in bits and accuracy.

    A plot axis that is not linear in bits (log, asinh) would bend a two-point line; drawn through
    these samples, a time-sharing segment shows as what it is: straight in bits.
    """
    bits: list[float] = []
    acc: list[float] = []
    for (a0, b0), (a1, b1) in itertools.pairwise(points):
        for i in range(steps):
            t = i / steps
            bits.append(b0 + (b1 - b0) * t)
            acc.append(a0 + (a1 - a0) * t)
    if points:
        bits.append(points[-1][1])
        acc.append(points[-1][0])
    return bits, acc
