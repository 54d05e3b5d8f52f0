"""Blahut–Arimoto for R(D) of a discrete memoryless source, with a certified bracket.

At each slope the iteration evaluates test channels (:mod:`.ba_kernels`) and stops once Blahut's
bounds meet: R(D_q) ∈ [rate_lower, rate] where rate = I(p, q) is achieved at D_q and rate_lower is a
supporting line of R. Both ends are widened by a proved bound on their own floating-point error
(:mod:`.rounding`: a few ulps per step, γ of the number of terms summed, times the magnitudes
involved), so the bracket holds for the exact R(D) of the given prior whether or not the iteration
converged, and whatever order a BLAS adds in; ``gap = rate − rate_lower`` (bits) is the stated
accuracy of every point and the stopping criterion. :func:`rate_at_distortion` moves the supporting
line to its target distortion and bounds R above by time-sharing with an anchor point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from vcmbench.errors import UsageError
from vcmbench.theory.ba_kernels import Channel, DenseKernel, HammingKernel, U, normalisation_error
from vcmbench.theory.hamming import SlopeSolutions, water_filling
from vcmbench.theory.priors import prior_from_counts
from vcmbench.theory.rounding import SAFETY, bits_down, bits_up, gamma

LN2 = float(np.log(2.0))
DEFAULT_MAX_ITER = 100_000


@dataclass(frozen=True)
class RDCurve:
    """Points of R(D), sorted by distortion. Rates in bits/sample; slopes are dR/dD in bits per unit D.

    R(distortion) is certified to lie in [rate_lower, rate], rounding error included: ``rate`` bounds
    I(p, q) of the final test channel from above (achievable at ``distortion``), ``rate_lower`` is
    Blahut's lower bound there.
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
    """R at one target distortion. R(distortion) is certified to lie in [rate_lower_bits, rate_upper_bits]
    (rounding error included); ``rate_bits`` is the midpoint, so its error is at most half of ``gap_bits``
    (past the computed D_max it is 0, with an error below ``gap_bits``)."""

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


Kernel = HammingKernel | DenseKernel
LOG_R_FLOOR = -1000.0  # e^-1000 is 0 in double precision: a class that is no longer reproduced


def _normalise(log_r: np.ndarray) -> np.ndarray:
    """ln r − ln Σr, floored. Its rounding does not matter: the channel is whatever r it produces."""
    log_r = np.maximum(log_r, LOG_R_FLOOR)
    top = float(log_r.max())
    return np.maximum(log_r - (top + math.log(float(np.exp(log_r - top).sum()))), LOG_R_FLOOR)


@dataclass
class _Solved:
    """The last channel at one slope, with its certified ends in nats (margins applied)."""

    channel: Channel
    upper: float  # ≥ I(p, q)
    lower: float  # ≤ the supporting line at channel.distortion
    evaluations: int


def _iterate(kernel: Kernel, s: float, log_r: np.ndarray, tol_bits: float, max_iter: int,
             anchor: tuple[float, float] | None = None) -> _Solved:
    """Blahut–Arimoto at one slope until the certified bracket is within tol.

    The map ln r ← ln r + ln c is the EM step for minimising G(r) = −Σ p·ln Z, and like EM it crawls
    while a class slowly leaves the support. Over-relaxed steps ln r + ω·ln c (ω > 1, as in the
    accelerated BA of Matz & Duhamel, ITW 2004) are tried and kept only when they lower G; otherwise a
    plain step is taken and ω shrinks. Every evaluated channel is bracketed, so acceleration cannot
    change what is certified. It also stops once the raw gap is below the rounding margins (more
    iterations cannot narrow the certified bracket by more than half). The width tested is the one
    reported: in bits, and with ``anchor`` the curve point's (:func:`_upper_at_own_distortion`).
    ``max_iter`` counts evaluations.
    """
    kernel.prepare(s)
    state = kernel.evaluate(_normalise(log_r))
    evaluations, omega = 1, 1.0
    while True:
        upper, lower, m_up, m_lo = state.bounds(s)
        solved = _Solved(state, upper + m_up, lower - m_lo, evaluations)
        top = solved.upper if anchor is None else _upper_at_own_distortion(solved, anchor)
        if bits_up(top) - bits_down(solved.lower) <= tol_bits or upper - lower <= m_up + m_lo \
                or evaluations >= max_iter:
            return solved
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


def _prepare(prior: ArrayLike, distortion_matrix: ArrayLike | None) -> tuple[np.ndarray, Kernel, int]:
    p = prior_from_counts(prior)
    if distortion_matrix is None:
        kernel = HammingKernel(p)
        return kernel.p, kernel, kernel.p.size
    d = np.asarray(distortion_matrix, dtype=float)
    if d.ndim != 2 or d.shape[0] != p.size or d.shape[1] < 1:
        raise UsageError(f"the distortion matrix must be {p.size}×M for a prior of {p.size} classes, "
                         f"got shape {d.shape}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise UsageError("distortions must be finite and non-negative")
    keep = p > 0
    return p[keep], DenseKernel(p[keep], d[keep], normalisation_error(p)), d.shape[1]


def _upper_at_own_distortion(solved: _Solved, anchor: tuple[float, float]) -> float:
    """An upper bound (nats) on R at the channel's computed distortion D̂, whose true distortion D lies
    within δ of it. If D > D̂, convexity and R ≥ 0 bound the rise from D to D̂ by δ·r₀/(D̂ − δ − d₀),
    the steepest chord from the anchor (d₀, r₀) (a point on or above the curve); R ≤ r₀ from d₀ on."""
    d0, r0 = anchor
    d_hat, delta = solved.channel.distortion, solved.channel.errors.dist
    if d_hat < d0:
        return math.inf
    room = (d_hat - delta - d0) * (1 - 4 * U)
    rise = delta * r0 / room * (1 + 4 * U) if room > 0 else math.inf
    return min(solved.upper + rise, r0)


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


def _initial_log_r(init: str | ArrayLike, m: int, kernel: Kernel) -> np.ndarray:
    if isinstance(init, str):
        if init not in ("auto", "uniform"):
            raise UsageError(f"init must be 'auto', 'uniform' or an output distribution, got {init!r}")
        return np.full(m, -np.log(m))
    r = np.asarray(init, dtype=float).ravel()
    if isinstance(kernel, HammingKernel):
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
    anchor = kernel.anchor()
    for i in order:
        s = float(slopes_bits[i]) * LN2
        if solutions is not None:
            with np.errstate(divide="ignore"):
                log_r = np.log(solutions.output(s))
        solved = _iterate(kernel, s, log_r, tol, max_iter, anchor)
        log_r = solved.channel.log_r
        dist[i], iters[i] = solved.channel.distortion, solved.evaluations
        rate[i] = bits_up(_upper_at_own_distortion(solved, anchor))
        lower[i] = bits_down(solved.lower)
    by_d = np.argsort(dist, kind="stable")
    return RDCurve(slopes=slopes_bits[by_d], distortion=dist[by_d], rate=np.maximum(rate[by_d], 0.0),
                   rate_lower=lower[by_d], iterations=iters[by_d], tol=float(tol))


def _certify(target: float, s: float, solved: _Solved, anchor: tuple[float, float]) -> tuple[float, float]:
    """Bracket R(target) in nats from one channel. Below: the supporting line moved to the target (exact in
    D, so only the rounding of the move is added). Above: the channel itself if even its largest possible
    true distortion D⁺ meets the target, else the chord from the anchor (d₀, r₀) to (D⁺, upper) — both
    points lie on or above R, so by convexity R(target) lies below the chord (time-sharing)."""
    ch = solved.channel
    move = s * (target - ch.distortion)
    lo = solved.lower + move
    lo -= SAFETY * 4 * U * (abs(move) + abs(lo) + abs(solved.lower))
    d0, r0 = anchor
    d_plus = (ch.distortion + ch.errors.dist) * (1 + 2 * U)
    if d_plus <= target:
        hi = solved.upper
    elif target <= d0:
        hi = r0
    else:
        t = (target - d0) / (d_plus - d0)
        hi = r0 + (solved.upper - r0) * t
        hi += SAFETY * 8 * U * (abs(r0) + abs(solved.upper) + abs(hi))
    return lo, hi


def _past_the_end(d: float, d_max: float, rel: float, anchor: tuple[float, float]) -> RDPoint:
    """R = 0 from D_max on, and ``rate_bits`` says so; D_max is known to relative ``rel``, so the bracket's
    upper end is the chord from the anchor to (D_max⁺, 0), a few ulps when d is D_max itself."""
    d0, r0 = anchor
    d_max_hi = d_max * (1 + SAFETY * rel) * (1 + 2 * U)
    if d >= d_max_hi:
        upper = 0.0
    elif d <= d0:
        upper = bits_up(r0)
    else:
        upper = bits_up(r0 * (d_max_hi - d) / (d_max_hi - d0) * (1 + 4 * U))
    return RDPoint(0.0, d, 0.0, 0.0, upper, 0, "blahut-arimoto")


def rate_at_distortion(prior: ArrayLike, distortion: float, distortion_matrix: ArrayLike | None = None, *,
                       tol: float = 1e-9, max_iter: int = DEFAULT_MAX_ITER) -> RDPoint:
    """R(D) in bits at one distortion, certified to a bracket of width ≤ tol bits (see :class:`RDPoint`).

    Hamming: R = 0 from D_max = 1 − max p, R = H(p) at D = 0; in between the slope comes from the exact
    water-filling solution (:mod:`vcmbench.theory.hamming`) and Blahut–Arimoto iterates from its output
    distribution until the certified bracket closes — the bracket, not the start point, is the
    certificate. A dense matrix: the slope is found by Brent's method on the distortion BA reaches.
    """
    d = float(distortion)
    if not np.isfinite(d) or d < 0:
        raise UsageError(f"the distortion must be a finite number ≥ 0, got {distortion!r}")
    if not tol > 0:
        raise UsageError("tol must be positive")
    p, kernel, m = _prepare(prior, distortion_matrix)
    anchor = kernel.anchor()
    if isinstance(kernel, HammingKernel):
        if d > 1:
            raise UsageError(f"a Hamming distortion must lie in [0, 1], got {d}")
        p_max = float(p.max())
        if d >= 1.0 - p_max:
            d_max = (1.0 - p_max) + kernel.eps_p * p_max
            return _past_the_end(d, d_max, gamma(1), anchor)
        if d == 0.0:
            h = float(-kernel.summer(p * kernel.log_p))
            return RDPoint(h / LN2, 0.0, -np.inf, bits_down(2 * h - anchor[1]), bits_up(anchor[1]), 0,
                           "blahut-arimoto")
        wf = water_filling(p, d)
        with np.errstate(divide="ignore"):
            start = np.log(wf.output)
        s = wf.log_slope
        solved = _iterate(kernel, s, start, tol / 4, max_iter)
        it = solved.evaluations
    else:
        d_max = float((p @ kernel.d).min())
        if d >= d_max:
            return _past_the_end(d, d_max, gamma(p.size + 1) + kernel.eps_p, anchor)
        d_min = float(p @ kernel.row_min)
        if d < d_min:
            raise UsageError(f"distortion {d} is below the smallest achievable, {d_min}")
        solved, it, s = _solve_slope(kernel, m, d, d_min, d_max, tol, max_iter)
    lo_t, hi_t = _certify(d, s, solved, anchor)
    if isinstance(kernel, HammingKernel):
        hi_t = min(hi_t, anchor[1])  # R(D) ≤ R(0) = H
    lo_b, hi_b = max(bits_down(lo_t), 0.0), bits_up(hi_t)
    return RDPoint((lo_b + hi_b) / 2, d, s / LN2, lo_b, max(hi_b, lo_b), it, "blahut-arimoto")


def _solve_slope(kernel: DenseKernel, m: int, target: float, d_min: float, d_max: float, tol: float,
                 max_iter: int) -> tuple[_Solved, int, float]:
    """Brent's method on s ↦ D(s) − target, each evaluation a converged, warm-started BA run."""
    from scipy.optimize import brentq

    memo: dict[float, _Solved] = {}
    warm = [np.full(m, -np.log(m))]

    def run(s: float) -> _Solved:
        if s not in memo:
            memo[s] = _iterate(kernel, s, warm[0], tol / 4, max_iter)
            warm[0] = memo[s].channel.log_r
        return memo[s]

    def excess(s: float) -> float:
        return run(s).channel.distortion - target

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
    solved = run(s)
    return solved, sum(v.evaluations for v in memo.values()), s
