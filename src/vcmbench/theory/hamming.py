"""Exact R(D) of a discrete source with ANY prior under Hamming distortion, and the Shannon lower bound.

The optimal test channel has a water-filling form (Erokhin, "ε-entropy of a discrete random
variable", Theory Probab. Appl. 3, 1958; see also Berger, *Rate Distortion Theory*, 1971). Sort
p₁ ≥ p₂ ≥ … and let A be the k most likely classes. On the segment where exactly A is reproduced,
with P_A = Σ_A p and the water level θ = (P_A − (1 − D))/(k − 1) ∈ [p_{k+1}, p_k):

    slope λ = e^s = θ/(1 − D),   output r(x) = (p(x) − θ)⁺ / ((1 − D)(1 − λ)),
    R(D) = −Σ_A p·ln p + P_A·ln(1 − D) + (D − 1 + P_A)·ln λ   [nats].

It reduces to paper eq. 4 for a uniform prior. Blahut–Arimoto must agree with it (the tests
check this); the Blahut–Arimoto solver also uses λ and r as its slope and start point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from vcmbench.errors import UsageError
from vcmbench.theory.entropy import binary_entropy, entropy_bits
from vcmbench.theory.priors import prior_from_counts

LN2 = float(np.log(2.0))


@dataclass(frozen=True)
class WaterFilling:
    """The optimal Hamming test channel at one distortion, on the prior's own class order."""

    rate_bits: float
    distortion: float
    log_slope: float  # s = ln λ = dR/dD in nats per unit distortion (−inf at D = 0, 0 past Dmax)
    output: np.ndarray  # optimal reproduction distribution r(x̂)
    active_classes: int


def _sorted_positive(prior: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p = prior_from_counts(prior)
    order = np.argsort(-p, kind="stable")
    return p, order


def _breakpoints(ps: np.ndarray) -> np.ndarray:
    """b_k = 1 − P_k + (k − 1)·p_k: exactly the k most likely classes are reproduced on [b_{k+1}, b_k]."""
    k = np.arange(1, ps.size + 1)
    return 1.0 - np.cumsum(ps) + (k - 1) * ps


def _segment(ps: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Active count k, P_A and ln λ for each distortion d in [0, Dmax) (ps sorted, positive only)."""
    b = _breakpoints(ps)  # decreasing in k
    # number of breakpoints strictly above d = the last k with b_k > d
    k = np.searchsorted(-b, -d, side="left")
    k = np.clip(k, 2, ps.size)
    cum = np.cumsum(ps)
    p_a = cum[k - 1]
    theta = np.maximum((p_a - (1.0 - d)) / (k - 1), 0.0)
    with np.errstate(divide="ignore"):
        log_lam = np.log(theta) - np.log1p(-d)
    return k, p_a, log_lam


def hamming_rate(prior: ArrayLike, distortion: ArrayLike) -> float | np.ndarray:
    """Exact R(D) in bits for any prior (probabilities or counts), Hamming distortion; vectorised in D."""
    p, _ = _sorted_positive(prior)
    ps = np.sort(p[p > 0])[::-1]
    d = np.asarray(distortion, dtype=float)
    if np.any(~np.isfinite(d)) or np.any((d < 0) | (d > 1)):
        raise UsageError("the distortion (1 − accuracy) must lie in [0, 1]")
    d_max = 1.0 - ps[0]
    inside = d < d_max
    out = np.zeros(d.shape)
    if ps.size >= 2 and np.any(inside):
        di = d[inside]
        k, p_a, log_lam = _segment(ps, di)
        neg_plogp = np.cumsum(-ps * np.log(ps))[k - 1]
        weight = di - 1.0 + p_a
        tail = np.where(weight > 0, weight * np.where(np.isfinite(log_lam), log_lam, 0.0), 0.0)
        nats = neg_plogp + p_a * np.log1p(-di) + tail
        out[inside] = np.maximum(nats / LN2, 0.0)
    return float(out) if out.ndim == 0 else out


def water_filling(prior: ArrayLike, distortion: float) -> WaterFilling:
    """The optimal test channel's slope and output distribution at one distortion (see module doc)."""
    p, _ = _sorted_positive(prior)
    d = float(distortion)
    if not 0.0 <= d <= 1.0:
        raise UsageError("the distortion (1 − accuracy) must lie in [0, 1]")
    positive = p > 0
    ps = np.sort(p[positive])[::-1]
    if ps.size < 2 or d >= 1.0 - ps[0]:
        out = np.zeros_like(p)
        out[int(np.argmax(p))] = 1.0
        return WaterFilling(0.0, min(d, 1.0 - float(ps[0])), 0.0, out, 1)
    k, p_a, log_lam = (v.item() for v in _segment(ps, np.asarray([d])))
    theta = (p_a - (1.0 - d)) / (k - 1)
    lam = float(np.exp(log_lam))
    out = np.maximum(p - theta, 0.0) / ((1.0 - d) * (1.0 - lam))
    out[p <= theta] = 0.0
    out /= out.sum()
    return WaterFilling(float(hamming_rate(p, d)), d, float(log_lam), out, int(k))


def shannon_lower_bound(prior: ArrayLike, distortion: ArrayLike) -> float | np.ndarray:
    """H(p) − H_b(D) − D·log2(K − 1), clipped at 0, K = len(prior) (Fano's inequality).

    A lower bound on R(D) for every prior (Cover & Thomas ch. 10; Gray, *Entropy and Information
    Theory*). It is exact for a uniform prior on all of [0, 1 − 1/K], and for a general prior exactly
    where every class is still reproduced, D ≤ (K − 1)·min p: there the water-filling solution above
    has all K classes active and reduces to this expression. Past 1 − 1/K the Fano term stops growing,
    so the bound uses min(D, 1 − 1/K).
    """
    p = prior_from_counts(prior)
    k = p.size
    d = np.asarray(distortion, dtype=float)
    if np.any(~np.isfinite(d)) or np.any((d < 0) | (d > 1)):
        raise UsageError("the distortion (1 − accuracy) must lie in [0, 1]")
    dc = np.minimum(d, 1.0 - 1.0 / k)
    bound = np.maximum(entropy_bits(p) - binary_entropy(dc) - dc * np.log2(k - 1), 0.0)
    return float(bound) if bound.ndim == 0 else bound


class SlopeSolutions:
    """The optimal reproduction distribution at any slope s = ln λ < 0, for one prior (sorted once).

    Exactly the k most likely classes are reproduced where p_{k+1} ≤ θ_k < p_k with the water level
    θ_k = λ·P_k/(1 + λ(k − 1)); then r(x) = (p(x) − θ)⁺/((1 − D)(1 − λ)) and 1 − D = P_k/(1 + λ(k − 1)).
    """

    def __init__(self, prior: ArrayLike) -> None:
        self.p = prior_from_counts(prior)
        self.ps = np.sort(self.p)[::-1]
        self.cum = np.cumsum(self.ps)
        self.k = np.arange(1, self.ps.size + 1)
        self.next = np.append(self.ps[1:], 0.0)

    def output(self, log_slope: float) -> np.ndarray:
        lam = float(np.exp(log_slope))
        if not 0.0 <= lam < 1.0:
            raise UsageError("the slope must be negative")
        theta = lam * self.cum / (1.0 + lam * (self.k - 1))
        ok = np.nonzero((theta < self.ps) & (self.next <= theta))[0]
        if ok.size == 0 or ok[-1] == 0:  # past the last breakpoint: R = 0, only the likeliest class
            out = np.zeros_like(self.p)
            out[int(np.argmax(self.p))] = 1.0
            return out
        j = int(ok[-1])
        one_minus_d = self.cum[j] / (1.0 + lam * j)
        out = np.maximum(self.p - theta[j], 0.0) / (one_minus_d * (1.0 - lam))
        return out / out.sum()


def output_at_slope(prior: ArrayLike, log_slope: float) -> np.ndarray:
    """The optimal reproduction distribution at slope s = ln λ < 0 (see :class:`SlopeSolutions`)."""
    return SlopeSolutions(prior).output(log_slope)
