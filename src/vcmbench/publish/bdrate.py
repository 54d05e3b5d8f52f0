"""BD-rate and BD-bits between codecs, computed exactly on their achievable (piecewise-linear) hulls.

Definitions, over the overlap [lo, hi] of the two curves' accuracy ranges (R_t: the codec under
test, R_a: the anchor; both the achievable rate of a hull at accuracy x):

* BD-bits = 1/(hi − lo) · ∫ (R_t(x) − R_a(x)) dx, the mean difference in bits per sample at equal
  accuracy. Both codecs are measured against the same bound, so this is also the difference of
  their mean gaps to the bound over the overlap: the number this project is about.
* BD-rate = exp(1/(hi − lo) · ∫ ln(R_t(x) / R_a(x)) dx) − 1, in percent: the classic Bjøntegaard
  average of the log rate ratio (a geometric mean of the ratio), but taken along the true curves.

A hull's rate is linear in bits between vertices (time-sharing), so both integrals are summed in
closed form segment by segment, over the union of the two hulls' vertices; nothing is
interpolated. A curve's accuracy range starts at its last 0-bit vertex (the free point, where
known) or at its first vertex, and ends at its best accuracy. The ``bjontegaard`` package is not
used: it fits akima/PCHIP/cubic curves through log10(rate), which is not the achievable curve
(a smooth curve through sparse vertices dips below the time-sharing segments, even below the
bound) and cannot take the 0-bit free point (log of 0).

A cell needs a meaningful overlap: hi − lo ≥ max(0.05, 1.96/√n) accuracy, n the test samples.
1.96/√n is the sum of the two 95 % half-widths of accuracies near 0.5 measured on n samples
(z·√(0.25/n) each): a narrower overlap can be produced by sampling noise at its two ends alone;
0.05 keeps a cell from resting on a sliver of either curve when n is large.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import norm

from vcmbench.report.hull import Point, achievable_hull, bits_on_hull
from vcmbench.theory.confidence import CONFIDENCE

MIN_OVERLAP = 0.05


@dataclass(frozen=True)
class BdRate:
    test: str
    anchor: str
    percent: float | None  # None: not computable (see reason)
    reason: str = ""
    bits: float | None = None  # BD-bits: mean bits per sample test − anchor over the overlap
    overlap: tuple[float, float] | None = None  # the accuracy interval both numbers average over


def min_overlap(samples: int | None) -> float:
    """The narrowest accuracy overlap that gives a BD cell (see the module notes)."""
    if not samples:
        return MIN_OVERLAP
    z = float(norm.ppf(0.5 + CONFIDENCE / 2))
    return max(MIN_OVERLAP, z / math.sqrt(samples))


def accuracy_range(hull: Sequence[Point]) -> tuple[float, float] | None:
    """Where a hull has a rate worth averaging: from its last 0-bit vertex (or first vertex) to its end."""
    if len(hull) < 2:
        return None
    zero = [a for a, b in hull if b <= 0.0]
    start = zero[-1] if zero else hull[0][0]
    end = hull[-1][0]
    return (start, end) if end > start else None


def _integral_of_log_linear(y0: float, y1: float, width: float) -> float:
    """∫ ln(y) over a segment where y goes linearly from y0 to y1 (both ≥ 0, not both 0)."""
    def f(y: float) -> float:  # an antiderivative of ln y in y: y ln y − y (0 at y = 0)
        return y * math.log(y) - y if y > 0 else 0.0

    if max(y0, y1) <= 0.0:
        return -math.inf
    if abs(y1 - y0) <= 1e-15 * max(y0, y1):
        return width * math.log(y0)
    return width * (f(y1) - f(y0)) / (y1 - y0)


def bd_on_hulls(anchor: Sequence[Point], test: Sequence[Point], samples: int | None = None) -> BdRate:
    """BD-rate and BD-bits of ``test`` against ``anchor``, both given as achievable hulls."""
    ra, rt = accuracy_range(anchor), accuracy_range(test)
    if ra is None or rt is None:
        return BdRate("", "", None, "needs a hull of two vertices or more (one with non-zero rate)")
    lo, hi = max(ra[0], rt[0]), min(ra[1], rt[1])
    need = min_overlap(samples)
    if hi - lo < need:
        if hi <= lo:
            return BdRate("", "", None, "the accuracy ranges do not overlap")
        return BdRate("", "", None, f"overlap {hi - lo:.3f} < {need:.3f}", overlap=(lo, hi))
    xs = sorted({lo, hi, *(a for a, _ in anchor if lo < a < hi), *(a for a, _ in test if lo < a < hi)})
    diff = log_ratio = 0.0
    for x0, x1 in itertools.pairwise(xs):
        w = x1 - x0
        a0, a1 = bits_on_hull(list(anchor), x0), bits_on_hull(list(anchor), x1)
        t0, t1 = bits_on_hull(list(test), x0), bits_on_hull(list(test), x1)
        assert a0 is not None and a1 is not None and t0 is not None and t1 is not None
        diff += w * ((t0 + t1) - (a0 + a1)) / 2
        log_ratio += _integral_of_log_linear(t0, t1, w) - _integral_of_log_linear(a0, a1, w)
    span = hi - lo
    percent = 100.0 * (math.exp(log_ratio / span) - 1.0)
    return BdRate("", "", percent if math.isfinite(percent) else None,
                  "" if math.isfinite(percent) else "not finite", bits=diff / span, overlap=(lo, hi))


def bd_rate(anchor: Sequence[Point], test: Sequence[Point], free: Point | None = None,
            samples: int | None = None) -> tuple[float | None, str]:
    """Percent bits the test codec spends against the anchor at equal accuracy (negative: fewer).

    ``anchor`` and ``test`` are operating points; each is turned into its achievable hull first
    (with the free point when given).
    """
    row = bd_on_hulls(achievable_hull(anchor, free), achievable_hull(test, free), samples)
    return row.percent, row.reason


def bd_eligible(curves: dict[str, Sequence[Point]]) -> tuple[dict[str, Sequence[Point]], list[str]]:
    """Hulls with a range to average over, and the names of those without (a single point, no free point)."""
    usable = {name: hull for name, hull in curves.items() if accuracy_range(hull) is not None}
    return usable, [name for name in curves if name not in usable]


def bd_matrix(hulls: dict[str, Sequence[Point]], samples: int | None = None) -> list[BdRate]:
    """Every ordered pair (test, anchor) of distinct hulls."""
    rows = []
    for test, test_hull in hulls.items():
        for anchor, anchor_hull in hulls.items():
            if test != anchor:
                row = bd_on_hulls(anchor_hull, test_hull, samples)
                rows.append(BdRate(test, anchor, row.percent, row.reason, row.bits, row.overlap))
    return rows
