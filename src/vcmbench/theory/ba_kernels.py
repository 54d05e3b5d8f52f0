"""One Blahut–Arimoto evaluation: a test channel, Blahut's two bounds on it, and their rounding error.

At slope s ≤ 0 (nats per unit distortion) and output weights r > 0, the test channel is
q(x̂|x) = r(x̂)·e^{s·d(x,x̂)}/Z(x), Z(x) = Σ r·e^{s·d}, and c(x̂) = Σ_x p(x)·e^{s·d(x,x̂)}/Z(x). For the
exact value of each formula (Blahut, IEEE Trans. IT-18, 1972; Cover & Thomas §10.8):

    R(D) ≥ s·D − Σ p·ln Z − max ln c   for every D (a supporting line), and
    I(p, q) = s·D_q − Σ p·ln Z − Σ r·c·ln c  is achieved at D_q = E[d] under q.

Both are invariant to the scale of r, so the channel is *defined* by the doubles r = fl(e^{ln r}) and
no normalisation error enters. What does enter is the rounding of every other step; each evaluation
therefore also returns :class:`Errors`, bounds derived step by step in the model of
:mod:`vcmbench.theory.rounding` (the derivation is written beside each kernel), and
:meth:`Channel.bounds` turns them into margins that widen both ends. The prior is the normalised
source π; the kernels hold doubles p with |p/π − 1| ≤ ``eps_p`` per class, which is carried too.

Hamming distortion never builds a matrix: e^{s·d} = (1 − e^s)·I + e^s·11ᵀ, so
Z(x) = e^s·Σr + (1 − e^s)·r(x) and c(x̂) = e^s·Σ p/Z + (1 − e^s)·p(x̂)/Z(x̂): O(K) per iteration.
The dense path shifts each kernel row by its largest entry; where a normaliser still underflows it
falls back to log-sum-exp.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vcmbench.theory.rounding import MAX_LEVEL, SAFETY, UNIT_ROUNDOFF, BlockSum, E, gamma

U = UNIT_ROUNDOFF
TINY = 2.0**-1074  # the absolute error of an underflowed (subnormal or zero) result
NORMAL_MIN = 2.0**-1022  # below it a double is subnormal and its relative error is not u
FLOOR = 1e-250  # absolute allowance for terms below 1e-280, whose relative error is not tracked
G_E, G_E3 = gamma(E), gamma(E + 3)


def _logsumexp(a: np.ndarray, axis: int | None = None) -> np.ndarray:
    from scipy.special import logsumexp  # scipy is imported only on these underflow paths

    return logsumexp(a, axis=axis)


@dataclass(frozen=True)
class Errors:
    """Bounds on the rounding error of one evaluated channel.

    |computed ln c(x̂) − ln c(x̂)| ≤ lc_abs + lc_rel·|ln c(x̂)| for every x̂; ``mplz`` bounds the error of
    −Σ p·ln Z and ``dist`` that of D_q.
    """

    lc_abs: float
    lc_rel: float
    mplz: float
    dist: float


@dataclass
class Channel:
    """One evaluated test channel: its distortion, −Σ p·ln Z, r, c and ln c (nats), with error bounds."""

    distortion: float
    minus_p_log_z: float
    log_c: np.ndarray
    log_r: np.ndarray = field(repr=False)
    r: np.ndarray = field(repr=False)
    c: np.ndarray = field(repr=False)
    errors: Errors = field(repr=False)
    summer: BlockSum = field(repr=False)

    def bounds(self, s: float) -> tuple[float, float, float, float]:
        """(upper, lower, upper margin, lower margin) in nats.

        ``upper`` + its margin bounds I(p, q) of this channel, whose true distortion lies within
        ``errors.dist`` of ``distortion``; ``lower`` − its margin bounds Blahut's supporting line at the
        computed ``distortion``. The margins: Σ r·c·ln c has terms of relative error e(x̂) + γ_{E+3}
        (e from ln c and c, the rest from the products) and a sum of error γ_depth·Σ|r·c·ln c|;
        Σ r·c ≤ 1.01 (it is Σ p up to these errors); the last three additions add u·|result| each.
        """
        rc = self.r * self.c
        lc = self.log_c
        if not np.isfinite(lc).all():  # c underflowed to 0 (so r·c = 0) for some outputs
            lc = np.where(np.isfinite(lc), lc, 0.0)
        abs_lc = np.abs(lc)
        sum_rclc = self.summer.dot(rc, lc)
        b = float(rc @ abs_lc)
        max_abs_lc = float(abs_lc.max())
        max_lc = float(self.log_c.max())
        sd = s * self.distortion
        base = sd + self.minus_p_log_z
        upper, lower = base - sum_rclc, base - max_lc
        e = self.errors
        if max(e.lc_abs, e.lc_rel) > MAX_LEVEL or not np.isfinite(e.mplz + e.dist):
            return upper, lower, np.inf, np.inf
        tail = 4 * U * (abs(sd) + abs(self.minus_p_log_z))
        m_sum = e.lc_abs * (1.01 + b) + (e.lc_rel * (1.0 + max_abs_lc) + G_E3 + self.summer.error) * b
        m_up = SAFETY * (e.mplz + abs(s) * e.dist + m_sum + tail + 2 * U * abs(upper) + FLOOR)
        m_lo = SAFETY * (e.mplz + 1.01 * (e.lc_abs + e.lc_rel * abs(max_lc)) + tail + 2 * U * abs(lower)
                         + FLOOR)
        return upper, lower, m_up, m_lo


def normalisation_error(p: np.ndarray) -> float:
    """Per-class relative error of doubles p = fl(x/fl(Σx)) against x/Σx: the division and a sum of
    len(p) terms (:func:`vcmbench.theory.priors.prior_from_counts` adds with :class:`BlockSum`)."""
    return gamma(BlockSum(p.size).depth + 2)


class HammingKernel:
    """e^{s·d} for d = 1 − δ, applied in O(K). Classes with zero probability are dropped (they are never
    reproduced under Hamming distortion: their c is e^s·Σ p/Z < 1 at the optimum).

    Error budget of the direct path (u = 2⁻⁵³, E = 4, depth from :class:`BlockSum`): with S = Σr and
    ε_S = |fl(S) − 1| + γ_depth·fl(S), fl(e^s) and fl(1 − e^s) carry γ_E each, so z = e^s + (1 − e^s)·r
    is within δ_z = γ_{E+3} + 2ε_S of Z = e^s·S + (1 − e^s)·r; p/z within δ_z + γ₂ + ε_p; the sum
    Σ p/z adds γ_depth and c = e^s·Σ + (1 − e^s)·p/z adds γ_{E+3}: δ_c, and ln c is within
    δ_c(1 + 2δ_c) + γ_E·|ln c|. −Σ p·ln z: each ln z within δ_z(1 + 2δ_z) + γ_E|ln z|, the product and
    sum γ_{depth+1}, with Σ p|ln z| ≤ |Σ p ln z| + 2(δ_z + ε_S) since Z ≤ S. D = e^s·Σ p(1 − r)/z
    (= Σ p(Z − r)/Z when S = 1, all terms ≥ 0): relative δ_z + γ_{depth+E+5} + ε_p, plus
    e^s·ε_S·Σ p/z for S ≠ 1.
    """

    def __init__(self, prior: np.ndarray) -> None:
        self.keep = prior > 0
        self.full_size = prior.size
        self.p = prior[self.keep]
        self.log_p = np.log(self.p)
        self.summer = BlockSum(self.p.size)
        self.eps_p = normalisation_error(prior)
        depth = self.summer.depth
        self.fixed_c = gamma(2) + self.eps_p + self.summer.error + G_E3  # c's relative error beyond z's
        self.fixed_mplz = G_E + gamma(depth + 1) + self.eps_p
        self.fixed_dist = gamma(depth + E + 5) + self.eps_p

    def anchor(self) -> tuple[float, float]:
        """(0, an upper bound on H(π) in nats): D = 0 is reached by sending the label itself."""
        h = -self.summer(self.p * self.log_p)
        err = gamma(self.summer.depth + E + 3) * h + self.eps_p * (h + 1.0)
        return 0.0, h + SAFETY * err

    def prepare(self, s: float) -> None:
        self.s = s
        self.lam = float(np.exp(s))
        self.one_minus_lam = float(-np.expm1(s))

    def evaluate(self, log_r: np.ndarray) -> Channel:
        r = np.exp(log_r)
        sum_r = self.summer(r)
        eps_s = abs(sum_r - 1.0) + self.summer.error * sum_r
        if self.lam >= NORMAL_MIN:  # then z ≥ e^s > 0 and every relative error above holds
            z = self.lam + self.one_minus_lam * r
            pz = self.p / z
            s_pz = self.summer(pz)
            c = self.lam * s_pz + self.one_minus_lam * pz
            with np.errstate(divide="ignore"):
                log_c = np.log(c)
            dist = self.lam * self.summer.dot(pz, 1.0 - r)
            mplz = -self.summer.dot(self.p, np.log(z))
            dz = G_E3 + 2 * eps_s
            dc = dz + self.fixed_c
            lz = dz * (1 + 2 * dz)
            errors = Errors(
                lc_abs=dc * (1 + 2 * dc), lc_rel=G_E,
                mplz=1.01 * lz + self.fixed_mplz * (abs(mplz) + 2 * (lz + eps_s)),
                dist=1.01 * ((dz + self.fixed_dist) * dist + eps_s * self.lam * s_pz) + self.p.size * TINY)
            return Channel(dist, mplz, log_c, log_r, r, c, errors, self.summer)
        # e^s is subnormal or 0: stay in the log domain
        log_oml = np.log(self.one_minus_lam)
        log_z = np.logaddexp(self.s, log_oml + log_r)
        w = self.log_p - log_z
        lse_w = float(_logsumexp(w))
        log_c = np.logaddexp(self.s + lse_w, log_oml + w)
        with np.errstate(divide="ignore"):
            log_one_minus_r = np.log(1.0 - r)
        dist = float(np.exp(self.s + _logsumexp(w + log_one_minus_r)))
        mplz = -self.summer.dot(self.p, log_z)
        return Channel(dist, mplz, log_c, log_r, r, np.exp(log_c),
                       _log_domain_errors(self.p.size, eps_s + self.eps_p, mplz, dist,
                                          [self.s, log_r, log_z, self.log_p, w, lse_w],
                                          extra_dist=eps_s * float(np.exp(self.s + lse_w))),
                       self.summer)


def _log_domain_errors(n: int, eps: float, mplz: float, dist: float, magnitudes: list,
                       extra_dist: float = 0.0) -> Errors:
    """One generous bound for the log-sum-exp paths: every log quantity is within γ_{n+4E+16}·X + ε of
    its value, X = 1 + the sum of the largest magnitudes of every finite log term involved (each step —
    a difference, e^x, a sum of n terms, a log, adding back the maximum — adds at most γ_{E+1}·X)."""
    x = 1.0
    for m in magnitudes:
        a = np.abs(np.asarray(m, dtype=float))
        a = a[np.isfinite(a)]
        x += float(a.max()) if a.size else 0.0
    e = gamma(n + 4 * E + 16) * x + eps
    return Errors(lc_abs=e, lc_rel=gamma(E), mplz=1.01 * e + gamma(n + 2) * abs(mplz),
                  dist=dist * 1.01 * (e + gamma(n + E + 4)) + 1.01 * extra_dist)


class DenseKernel:
    """A general K×M distortion matrix; rows of zero probability dropped.

    Error budget of the direct path: the exponent s·(d − min_row d) is rounded twice (γ₂·|x|), so each
    kernel entry is within δ_k = γ_E + 1.01·γ₂·X of its value, X = |s|·max(d − min_row d), and an
    underflowed entry within 2⁻¹⁰⁷⁴ (η relative to the smallest z or c). z = kernel·r (a BLAS sum
    of M terms, any order): δ_z = δ_k + γ_M + η; p/z: + γ₁ + ε_p; c = kernelᵀ·(p/z): δ_c = δ_k + δ_pz +
    γ_K + η. ln Z = ln z + s·min_row d ≤ 0, so Σ p|ln Z| = |Σ p ln Z|. D = (p/z)·(kernel∘d)·r: all terms ≥ 0,
    relative δ_k + δ_pz + γ_{M+K+2} + η.
    """

    def __init__(self, p: np.ndarray, d: np.ndarray, eps_p: float) -> None:
        self.p = p
        self.log_p = np.log(p)
        self.d = d
        self.row_min = d.min(axis=1)
        self.spread = float((d - self.row_min[:, None]).max())
        self.eps_p = eps_p
        self.summer = BlockSum(d.shape[1])

    def anchor(self) -> tuple[float, float]:
        """(D_min, an upper bound on the rate of coding x to its nearest output), both rounded up:
        a point on or above R(D) at a distortion at least D_min."""
        k, m = self.d.shape
        d_min = float(self.p @ self.row_min)
        nearest = np.bincount(self.d.argmin(axis=1), weights=self.p, minlength=m)
        w = nearest[nearest > 0]
        h = float(-(w * np.log(w)).sum())
        t = gamma(k + 1) + self.eps_p
        return (d_min * (1 + SAFETY * t),
                h + SAFETY * (t * (h + 1.0) + gamma(m + E + 3) * h))

    def prepare(self, s: float) -> None:
        self.s = s
        self.kernel = np.exp(s * (self.d - self.row_min[:, None]))  # ≤ 1, one entry = 1 per row
        self.kernel_d = self.kernel * self.d
        self.delta_k = gamma(E) + 1.01 * gamma(2) * abs(s) * self.spread

    def evaluate(self, log_r: np.ndarray) -> Channel:
        r = np.exp(log_r)
        z = self.kernel @ r
        k, m = self.d.shape
        if np.all(z > 0) and np.all(np.isfinite(z)):
            pz = self.p / z
            c = self.kernel.T @ pz
            with np.errstate(divide="ignore"):
                log_c = np.log(c)
            dist = float(pz @ (self.kernel_d @ r))
            log_z = np.log(z) + self.s * self.row_min
            mplz = -float(self.p @ log_z)
            positive_c = c[c > 1e-280]
            eta = (m * TINY / float(z.min())
                   + (k * TINY * float(pz.max()) / float(positive_c.min()) if positive_c.size else 0.0))
            dz = self.delta_k + gamma(m) + eta
            dpz = dz + gamma(1) + self.eps_p
            dc = self.delta_k + dpz + gamma(k) + eta
            lz = dz * (1 + 2 * dz)
            errors = Errors(
                lc_abs=dc * (1 + 2 * dc), lc_rel=G_E,
                mplz=1.01 * lz + (G_E + gamma(k + 5) + self.eps_p) * (abs(mplz) + 2 * lz),
                dist=(self.delta_k + dpz + gamma(m + k + 2) + eta) * dist * 1.01)
            return Channel(dist, mplz, log_c, log_r, r, c, errors, self.summer)
        sd = self.s * self.d
        log_z = _logsumexp(log_r[None, :] + sd, axis=1)
        w = self.log_p - log_z
        log_c = _logsumexp(w[:, None] + sd, axis=0)
        q = np.exp(log_r[None, :] + sd - log_z[:, None])
        dist = float(self.p @ (q * self.d).sum(axis=1))
        mplz = -float(self.p @ log_z)
        return Channel(dist, mplz, log_c, log_r, r, np.exp(log_c),
                       _log_domain_errors(k + m, self.eps_p, mplz, dist, [sd, log_r, log_z, self.log_p, w]),
                       self.summer)
