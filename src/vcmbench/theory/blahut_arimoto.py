"""Blahut–Arimoto for R(D) of a discrete memoryless source, with Blahut's certified bracket.

At slope s ≤ 0 (nats per unit distortion) and output distribution r, the test channel is
q(x̂|x) = r(x̂)·e^{s·d(x,x̂)}/Z(x), Z(x) = Σ r·e^{s·d}, and c(x̂) = Σ_x p(x)·e^{s·d(x,x̂)}/Z(x).
Blahut (IEEE Trans. IT-18, 1972; Cover & Thomas §10.8) gives, at D_q = E[d] under q:

    rate_lower = s·D_q − Σ p·ln Z − max ln c  ≤  R(D_q)  ≤  I(p, q) = s·D_q − Σ p·ln Z − Σ r·c·ln c = rate.

Both ends are computed exactly from the current iterate, so the bracket holds whether or not the
iteration converged; ``gap = rate − rate_lower`` (bits) is the stated accuracy of every point and
the stopping criterion. The lower end is a supporting line, R(D) ≥ rate_lower + s·(D − D_q) for
every D, which :func:`rate_at_distortion` uses to certify R at its target distortion.

Hamming distortion (``distortion_matrix=None``) never builds a matrix: e^{s·d} = (1 − e^s)·I + e^s·11ᵀ,
so Z(x) = e^s + (1 − e^s)·r(x) and c(x̂) = e^s·Σ p/Z + (1 − e^s)·p(x̂)/Z(x̂): O(K) per iteration.
The dense path keeps r in the log domain and shifts each kernel row by its largest entry; if a
row's normaliser still underflows it falls back to a full log-sum-exp iteration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq
from scipy.special import logsumexp

from vcmbench.errors import UsageError
from vcmbench.theory.entropy import entropy_bits
from vcmbench.theory.hamming import SlopeSolutions, water_filling
from vcmbench.theory.priors import prior_from_counts

LN2 = float(np.log(2.0))
DEFAULT_MAX_ITER = 100_000


@dataclass(frozen=True)
class RDCurve:
    """Points of R(D), sorted by distortion. Rates in bits/sample; slopes are dR/dD in bits per unit D.

    ``rate`` is I(p, q) of the final test channel (achievable at ``distortion``); ``rate_lower`` is
    Blahut's lower bound on R at that distortion, so R(distortion) ∈ [rate_lower, rate].
    """

    slopes: np.ndarray
    distortion: np.ndarray
    rate: np.ndarray
    rate_lower: np.ndarray
    iterations: np.ndarray
    tol: float

    @property
    def gap(self) -> np.ndarray:
        """Width of the certified bracket in bits at each point (≤ tol where converged)."""
        return self.rate - self.rate_lower

    @property
    def converged(self) -> np.ndarray:
        return self.gap <= self.tol


@dataclass(frozen=True)
class RDPoint:
    """R at one target distortion. R(distortion) is certified to lie in [rate_lower_bits, rate_upper_bits];
    ``rate_bits`` is the midpoint, so its error is at most half of ``gap_bits``."""

    rate_bits: float
    distortion: float
    slope: float  # dR/dD in bits per unit distortion at this point (0 where R = 0)
    rate_lower_bits: float
    rate_upper_bits: float
    iterations: int
    method: str = "blahut-arimoto"

    @property
    def gap_bits(self) -> float:
        return self.rate_upper_bits - self.rate_lower_bits


@dataclass
class _Iterate:
    """One evaluated test channel: its distortion, −Σ p·ln Z and ln c (all in nats)."""

    distortion: float
    minus_p_log_z: float
    log_c: np.ndarray
    log_r: np.ndarray = field(repr=False)

    def bounds(self, s: float) -> tuple[float, float]:
        r = np.exp(self.log_r)
        c = np.exp(self.log_c)
        rc_log_c = np.where(r > 0, r * c * np.where(np.isfinite(self.log_c), self.log_c, 0.0), 0.0)
        base = s * self.distortion + self.minus_p_log_z
        return base - float(rc_log_c.sum()), base - float(np.max(self.log_c))


class _HammingKernel:
    """e^{s·d} for d = 1 − δ, applied in O(K). Classes with zero probability are dropped (they are never
    reproduced under Hamming distortion: their c is e^s·Σ p/Z < 1 at the optimum)."""

    def __init__(self, prior: np.ndarray) -> None:
        self.keep = prior > 0
        self.full_size = prior.size
        self.p = prior[self.keep]
        self.log_p = np.log(self.p)

    def prepare(self, s: float) -> None:
        self.s = s
        self.lam = float(np.exp(s))
        self.one_minus_lam = float(-np.expm1(s))

    def evaluate(self, log_r: np.ndarray) -> _Iterate:
        r = np.exp(log_r)
        z = self.lam + self.one_minus_lam * r
        if np.all(z > 0):
            pz = self.p / z
            c = self.lam * pz.sum() + self.one_minus_lam * pz
            with np.errstate(divide="ignore"):
                log_c = np.log(c)
            return _Iterate(1.0 - float(pz @ r), -float(self.p @ np.log(z)), log_c, log_r)
        # e^s underflowed and some r(x) with it: stay in the log domain
        log_z = np.logaddexp(self.s, np.log(self.one_minus_lam) + log_r)
        w = self.log_p - log_z
        log_c = np.logaddexp(self.s + logsumexp(w), np.log(self.one_minus_lam) + w)
        return _Iterate(1.0 - float(np.exp(w + log_r).sum()), -float(self.p @ log_z), log_c, log_r)


class _DenseKernel:
    """A general K×M distortion matrix; rows of zero probability dropped."""

    def __init__(self, p: np.ndarray, d: np.ndarray) -> None:
        self.p = p
        self.log_p = np.log(p)
        self.d = d
        self.row_min = d.min(axis=1)

    def prepare(self, s: float) -> None:
        self.s = s
        self.kernel = np.exp(s * (self.d - self.row_min[:, None]))  # ≤ 1, one entry = 1 per row
        self.kernel_d = self.kernel * self.d

    def evaluate(self, log_r: np.ndarray) -> _Iterate:
        r = np.exp(log_r)
        z = self.kernel @ r
        if np.all(z > 0) and np.all(np.isfinite(z)):
            pz = self.p / z
            c = self.kernel.T @ pz
            with np.errstate(divide="ignore"):
                log_c = np.log(c)
            distortion = float(pz @ (self.kernel_d @ r))
            log_z = np.log(z) + self.s * self.row_min
            return _Iterate(distortion, -float(self.p @ log_z), log_c, log_r)
        sd = self.s * self.d
        log_z = logsumexp(log_r[None, :] + sd, axis=1)
        w = self.log_p - log_z
        log_c = logsumexp(w[:, None] + sd, axis=0)
        q = np.exp(log_r[None, :] + sd - log_z[:, None])
        return _Iterate(float(self.p @ (q * self.d).sum(axis=1)), -float(self.p @ log_z), log_c, log_r)


LOG_R_FLOOR = -1000.0  # e^-1000 is 0 in double precision: a class that is no longer reproduced


def _normalise(log_r: np.ndarray) -> np.ndarray:
    log_r = np.maximum(log_r, LOG_R_FLOOR)
    return np.maximum(log_r - logsumexp(log_r), LOG_R_FLOOR)


def _iterate(kernel: _HammingKernel | _DenseKernel, s: float, log_r: np.ndarray, tol_nats: float,
             max_iter: int) -> tuple[_Iterate, float, float, int]:
    """Blahut–Arimoto at one slope until the bracket is within tol; returns the last channel and its bounds.

    The map ln r ← ln r + ln c is the EM step for minimising G(r) = −Σ p·ln Z, and like EM it crawls
    while a class slowly leaves the support. Over-relaxed steps ln r + ω·ln c (ω > 1, as in the
    accelerated BA of Matz & Duhamel, ITW 2004) are tried and kept only when they lower G; otherwise a
    plain step is taken and ω shrinks. Every evaluated channel is bracketed exactly, so acceleration
    cannot change what is certified. ``max_iter`` counts kernel evaluations.
    """
    kernel.prepare(s)
    state = kernel.evaluate(_normalise(log_r))
    evaluations, omega = 1, 1.0
    while True:
        upper, lower = state.bounds(s)
        if upper - lower <= tol_nats or evaluations >= max_iter:
            return state, upper, lower, evaluations
        if omega > 1.0:
            candidate = kernel.evaluate(_normalise(state.log_r + omega * state.log_c))
            evaluations += 1
            if candidate.minus_p_log_z <= state.minus_p_log_z:
                state, omega = candidate, omega * 1.2
                continue
            omega = max(1.0, omega / 10.0)
        state = kernel.evaluate(_normalise(state.log_r + state.log_c))
        evaluations += 1
        omega = max(omega * 1.2, 1.5)


def _prepare(prior: ArrayLike, distortion_matrix: ArrayLike | None) -> tuple[np.ndarray, _HammingKernel |
                                                                             _DenseKernel, int]:
    p = prior_from_counts(prior)
    if distortion_matrix is None:
        kernel = _HammingKernel(p)
        return kernel.p, kernel, kernel.p.size
    d = np.asarray(distortion_matrix, dtype=float)
    if d.ndim != 2 or d.shape[0] != p.size or d.shape[1] < 1:
        raise UsageError(f"the distortion matrix must be {p.size}×M for a prior of {p.size} classes, "
                         f"got shape {d.shape}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise UsageError("distortions must be finite and non-negative")
    keep = p > 0
    return p[keep], _DenseKernel(p[keep], d[keep]), d.shape[1]


def default_slopes(prior: ArrayLike, num_slopes: int = 200) -> np.ndarray:
    """Slopes (bits per unit distortion) spread so the points cover (0, Dmax) roughly evenly.

    They come from the uniform-prior relation e^s = D/((1 − D)(K − 1)) on an even grid of D, scaled by
    e^{s_c} = p₂/p₁, the slope at which R reaches 0 under Hamming distortion.
    """
    p = np.sort(prior_from_counts(prior))[::-1]
    k = max(int((p > 0).sum()), 2)
    d = (1.0 - 1.0 / k) * np.arange(1, num_slopes + 1) / (num_slopes + 1)
    lam = d / ((1.0 - d) * (k - 1)) * (p[1] / p[0] if p[1] > 0 else 1.0)
    return np.log2(lam)


def _initial_log_r(init: str | ArrayLike, m: int, kernel: _HammingKernel | _DenseKernel) -> np.ndarray:
    if isinstance(init, str):
        if init not in ("auto", "uniform"):
            raise UsageError(f"init must be 'auto', 'uniform' or an output distribution, got {init!r}")
        return np.full(m, -np.log(m))
    r = np.asarray(init, dtype=float).ravel()
    if isinstance(kernel, _HammingKernel):
        if r.size != kernel.full_size:
            raise UsageError(f"init must have {kernel.full_size} entries, got {r.size}")
        r = r[kernel.keep]
    if r.size != m or np.any(~np.isfinite(r)) or np.any(r < 0) or r.sum() <= 0:
        raise UsageError(f"init must be {m} non-negative numbers, not all zero")
    with np.errstate(divide="ignore"):
        return np.log(r / r.sum())


def blahut_arimoto(prior: ArrayLike, distortion_matrix: ArrayLike | None = None, *,
                   slopes: ArrayLike | None = None, num_slopes: int = 200, tol: float = 1e-10,
                   max_iter: int = DEFAULT_MAX_ITER, init: str | ArrayLike = "auto") -> RDCurve:
    """R(D) points at the given slopes (dR/dD in bits per unit distortion, each < 0).

    ``distortion_matrix=None`` is Hamming distortion (O(K) per iteration); otherwise a K×M matrix of
    d(x, x̂) ≥ 0. Every point stops once its certified bracket is ≤ ``tol`` bits (or at ``max_iter``
    evaluations; check ``curve.converged``).

    ``init`` is where each slope's iteration starts: ``"uniform"`` (the textbook start; later slopes are
    warm-started from the previous one, solved from the steepest up), an output distribution of length M,
    or ``"auto"``: for Hamming the exact water-filling output at that slope (:mod:`.hamming`), which BA
    then certifies in a few evaluations; for a dense matrix ``"uniform"``. From a uniform start a
    non-uniform prior can need thousands of evaluations per slope near the points where a class leaves
    the support — BA's known sublinear regime.
    """
    if not tol > 0:
        raise UsageError("tol must be positive")
    p, kernel, m = _prepare(prior, distortion_matrix)
    if slopes is None:
        if num_slopes < 1:
            raise UsageError("num_slopes must be at least 1")
        slopes_bits = default_slopes(prior, num_slopes)
    else:
        slopes_bits = np.asarray(slopes, dtype=float).ravel()
        if slopes_bits.size == 0 or np.any(~(slopes_bits < 0)) or np.any(~np.isfinite(slopes_bits)):
            raise UsageError("slopes must be finite and negative (bits per unit distortion)")
    order = np.argsort(slopes_bits)
    n = slopes_bits.size
    dist, rate, lower, iters = np.empty(n), np.empty(n), np.empty(n), np.empty(n, dtype=np.int64)
    exact_start = isinstance(init, str) and init == "auto" and distortion_matrix is None
    log_r = _initial_log_r(init, m, kernel)
    solutions = SlopeSolutions(p) if exact_start else None
    for i in order:
        s = float(slopes_bits[i]) * LN2
        if solutions is not None:
            with np.errstate(divide="ignore"):
                log_r = np.log(solutions.output(s))
        state, up, lo, it = _iterate(kernel, s, log_r, tol * LN2, max_iter)
        log_r = state.log_r
        dist[i], rate[i], lower[i], iters[i] = state.distortion, up / LN2, lo / LN2, it
    by_d = np.argsort(dist, kind="stable")
    return RDCurve(slopes=slopes_bits[by_d], distortion=dist[by_d], rate=np.maximum(rate[by_d], 0.0),
                   rate_lower=lower[by_d], iterations=iters[by_d], tol=float(tol))


def _certify(target: float, s: float, state: _Iterate, upper: float, lower: float,
             anchor: tuple[float, float]) -> tuple[float, float]:
    """Bracket R(target) in nats from one channel: the supporting line below; above, the channel itself if
    it meets the target, else time-sharing with the anchor point (D_min, rate of a zero-excess code)."""
    lo = lower + s * (target - state.distortion)
    if state.distortion <= target:
        hi = upper
    else:
        d0, r0 = anchor
        t = (target - d0) / (state.distortion - d0)
        hi = (1.0 - t) * r0 + t * upper
    return lo, hi


def rate_at_distortion(prior: ArrayLike, distortion: float, distortion_matrix: ArrayLike | None = None, *,
                       tol: float = 1e-9, max_iter: int = DEFAULT_MAX_ITER) -> RDPoint:
    """R(D) in bits at one distortion, certified to a bracket of width ≤ tol bits (see :class:`RDPoint`).

    Hamming: R = 0 from D_max = 1 − max p, R = H(p) at D = 0; in between the slope comes from the exact
    water-filling solution (:mod:`vcmbench.theory.hamming`) and Blahut–Arimoto iterates from its output
    distribution until Blahut's bracket closes — the bracket, not the start point, is the certificate.
    A dense matrix: the slope is found by Brent's method on the distortion Blahut–Arimoto reaches.
    """
    d = float(distortion)
    if not np.isfinite(d) or d < 0:
        raise UsageError(f"the distortion must be a finite number ≥ 0, got {distortion!r}")
    if not tol > 0:
        raise UsageError("tol must be positive")
    p_full = prior_from_counts(prior)
    p, kernel, m = _prepare(prior, distortion_matrix)
    if distortion_matrix is None:
        if d > 1:
            raise UsageError(f"a Hamming distortion must lie in [0, 1], got {d}")
        if d >= 1.0 - float(p.max()):
            return RDPoint(0.0, d, 0.0, 0.0, 0.0, 0, "blahut-arimoto")
        h = entropy_bits(p)
        if d == 0.0:
            return RDPoint(h, 0.0, -np.inf, h, h, 0, "blahut-arimoto")
        wf = water_filling(p, d)
        with np.errstate(divide="ignore"):
            start = np.log(wf.output)
        s = wf.log_slope
        anchor = (0.0, h * LN2)
        state, up, lo, it = _iterate(kernel, s, start, tol * LN2 / 4, max_iter)
    else:
        dm = np.asarray(distortion_matrix, dtype=float)[p_full > 0]
        d_max = float((p @ dm).min())
        if d >= d_max:
            return RDPoint(0.0, d, 0.0, 0.0, 0.0, 0, "blahut-arimoto")
        d_min = float(p @ dm.min(axis=1))
        if d < d_min:
            raise UsageError(f"distortion {d} is below the smallest achievable, {d_min}")
        nearest = np.bincount(dm.argmin(axis=1), weights=p, minlength=m)
        anchor = (d_min, entropy_bits(nearest) * LN2)
        state, up, lo, it, s = _solve_slope(kernel, m, d, d_min, d_max, tol, max_iter)
    lo_t, hi_t = _certify(d, s, state, up, lo, anchor)
    h_cap = anchor[1] if distortion_matrix is None else np.inf
    lo_b, hi_b = max(lo_t / LN2, 0.0), min(hi_t, h_cap) / LN2
    return RDPoint((lo_b + hi_b) / 2, d, s / LN2, lo_b, max(hi_b, lo_b), it, "blahut-arimoto")


def _solve_slope(kernel: _DenseKernel, m: int, target: float, d_min: float, d_max: float, tol: float,
                 max_iter: int) -> tuple[_Iterate, float, float, int, float]:
    """Brent's method on s ↦ D(s) − target, each evaluation a converged, warm-started BA run."""
    memo: dict[float, tuple[_Iterate, float, float, int]] = {}
    warm = [np.full(m, -np.log(m))]

    def run(s: float) -> tuple[_Iterate, float, float, int]:
        if s not in memo:
            memo[s] = _iterate(kernel, s, warm[0], tol * LN2 / 4, max_iter)
            warm[0] = memo[s][0].log_r
        return memo[s]

    def excess(s: float) -> float:
        return run(s)[0].distortion - target

    scale = 1.0 / max(d_max - d_min, 1e-300)
    lo_s, hi_s = -scale, -scale
    while excess(lo_s) > 0 and lo_s > -1e6 * scale:
        lo_s *= 2.0
    while excess(hi_s) < 0 and hi_s < -1e-9 * scale:
        hi_s /= 2.0
    if excess(lo_s) > 0:  # the target is (numerically) D_min: certify from the steepest slope tried
        s = lo_s
    elif excess(hi_s) < 0:
        s = hi_s
    else:
        s = brentq(excess, lo_s, hi_s, xtol=1e-14 * scale, rtol=1e-14) if lo_s != hi_s else lo_s
    state, up, lo, _ = run(s)
    total = sum(v[3] for v in memo.values())
    return state, up, lo, total, s
