"""Bounds on floating-point error, so that a bracket computed in doubles is still a certificate.

Blahut's bracket [rate_lower, rate] holds for the exact value of each formula; evaluated in doubles,
each end moves by its rounding error, which is of the order of the last bits of a sum of K terms —
enough to put the true R(D) outside a bracket that converged to a width of 1e-16. The brackets are
therefore widened by the bound this module gives.

Model (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §2.2, §3.1, §4.2):

* +, −, ×, ÷ are correctly rounded: fl(a∘b) = (a∘b)(1 + δ), |δ| ≤ u = 2⁻⁵³ (IEEE 754, round to nearest);
* exp, expm1, log, log1p return their exact value at the (double) argument times (1 + δ) with
  |δ| ≤ ELEMENTARY_ULPS·u. glibc documents its double exp and log within 1–2 ulps and NumPy's SIMD
  loops within 4 ulps; 4 covers both;
* a product of n factors (1 + δᵢ)^{±1}, |δᵢ| ≤ u, is 1 + θ with |θ| ≤ γₙ = n·u/(1 − n·u) (Lemma 3.1),
  and ELEMENTARY_ULPS·u ≤ γ_{ELEMENTARY_ULPS}, so an elementary function counts as that many roundings;
* a sum of n terms added in any order — numpy's pairwise loops or a BLAS kernel alike — satisfies
  |fl(Σxᵢ) − Σxᵢ| ≤ γ_{n−1}·Σ|xᵢ| (§4.2). :class:`BlockSum` fixes a two-level order so that n − 1
  becomes about 2√n, which keeps the bound below 1e-12 nats for K = 100,000 classes.

Second-order terms (products of two such γ) are absorbed by a factor :data:`SAFETY` on every margin;
it is sound while every relative error level stays below :data:`MAX_LEVEL` (callers give up on the
margin, returning infinity, beyond it).
"""

from __future__ import annotations

import math

import numpy as np

UNIT_ROUNDOFF = 2.0**-53
ELEMENTARY_ULPS = 4
SAFETY = 2.0
MAX_LEVEL = 1e-3


def gamma(n: float) -> float:
    """γₙ = n·u/(1 − n·u): the relative error of n chained roundings (∞ once n·u reaches 1/2)."""
    nu = n * UNIT_ROUNDOFF
    return math.inf if nu >= 0.5 else nu / (1.0 - nu)


E = ELEMENTARY_ULPS


class BlockSum:
    """Σx for arrays of one length n, added in blocks of B = ⌈√n⌉ and then the block sums.

    Each stage is a sum of at most B (or n/B) terms in whatever order numpy uses, so the result is
    within γ_depth·Σ|x| of the exact sum with ``depth`` = B + ⌈n/B⌉. Up to PLAIN_MAX terms one plain
    sum is faster and its bound γₙ (≤ 5e-13) is already far below any tolerance asked for.
    """

    PLAIN_MAX = 4096

    def __init__(self, n: int) -> None:
        self.n = int(n)
        if self.n <= self.PLAIN_MAX:
            self.block, self.rows, self.depth = self.n, 1, max(self.n, 1)
        else:
            self.block = math.isqrt(self.n - 1) + 1
            self.rows = self.n // self.block
            tail = self.n - self.rows * self.block
            self.depth = self.block + self.rows + (1 if tail else 0)

    def __call__(self, x: np.ndarray) -> float:
        if self.rows == 1:
            return float(x.sum())
        split = self.rows * self.block
        head = x[:split].reshape(self.rows, self.block).sum(axis=1).sum()
        return float(head + x[split:].sum()) if split < self.n else float(head)

    def dot(self, a: np.ndarray, b: np.ndarray) -> float:
        """Σ a·b with the same bound (plus one rounding per product): a BLAS dot where one sum suffices."""
        return float(a @ b) if self.rows == 1 else self(a * b)

    @property
    def error(self) -> float:
        """γ_depth: the summation error relative to Σ|x|."""
        return gamma(self.depth)


def bits_down(nats: float, margin_levels: int = E + 4) -> float:
    """A double ≤ nats / ln 2 (the conversion's own rounding, LN2 and one division, accounted)."""
    value = nats / math.log(2.0)
    g = gamma(margin_levels)
    return value * (1.0 - g) if value > 0 else value * (1.0 + g)


def bits_up(nats: float, margin_levels: int = E + 4) -> float:
    """A double ≥ nats / ln 2."""
    value = nats / math.log(2.0)
    g = gamma(margin_levels)
    return value * (1.0 + g) if value > 0 else value * (1.0 - g)
