"""The rate-distortion-classification function R(D, C) of a small discrete source with a label.

Source: a joint law p(s, x) of a label S and a symbol X (finite alphabets); the decoder outputs
X̂ on the alphabet of X; S — X — X̂ is a Markov chain (the encoder sees X only). Following the
universal RDC paper (Nguyen et al.; after Zhang et al.'s rate-distortion-classification),

    R(D, C) = min over p(x̂|x) of I(X; X̂)   such that   E[d(X, X̂)] ≤ D   and   H(S | X̂) ≤ C,

with Hamming distortion d by default (any |X|×|X| matrix may be given). Rates and H(S|X̂) are in
bits. Feasible targets need C ≥ H(S | X) (data processing) and D ≥ 0.

What is computed, and what it means
-----------------------------------
H(S | X̂) is *concave* in the test channel (it is H(S) − I(S; X̂), and I(S; X̂) is convex in the
channel S → X̂, which is linear in p(x̂|x)), so the constraint set is not convex and the
single-letter function above need not be convex in (D, C) — as for the information bottleneck's
relevance-compression curve, to which it reduces without the distortion term (Gedeon, Parker
& Dimitrov, "The lack of convexity of the relevance-compression function", 2022). What this
module computes is its lower convex envelope R̄(D, C): the rate that time-sharing between test
channels achieves, and the operational limit of block codes whose classification constraint is
per letter (the average over positions of H(S_i | X̂_i) ≤ C), since the usual converse gives
n·R ≥ Σ I(X_i; X̂_i) ≥ n·R̄(D, C). Where R is convex, R̄ = R.

Solver: alternating minimisation of the Lagrangian I(X;X̂) + β·E[d] + γ·H(S|X̂) (β, γ ≥ 0) in the
manner of Blahut–Arimoto and of Tishby's information-bottleneck iteration. The functional

    G(p(x̂|x), q, r) = Σ p(x) p(x̂|x) [log2(p(x̂|x)/q(x̂)) + β d(x, x̂) − γ Σ_s p(s|x) log2 r(s|x̂)]

is at least the Lagrangian, with equality at q = the output marginal and r = p(s|x̂); each of the
three block minimisations is in closed form (p(x̂|x) ∝ q(x̂)·2^(−β d(x,x̂) + γ Σ_s p(s|x) log2 r(s|x̂))),
so G never increases. Because the problem is not convex the iteration can stop at a local
minimum: every (β, γ) is started from several channels (the identity, every constant map, seeded
random channels) and the best kept. :func:`rdc` then brackets R̄ at a target (D, C):

* ``rate_upper``: a linear programme over the computed channels — time-sharing between channels
  that were actually found, so an achievable rate whatever the solver's luck;
* ``rate_lower``: the supporting planes max_i [L_i − β_i·D − γ_i·C], L_i the Lagrangian minima found.
  It bounds R̄ from below if each L_i is the global minimum of its Lagrangian, which the multi-start
  makes likely on small alphabets but does not prove (the tests check it against brute force).

Where no bound is known: natural images (MNIST pixels) have no known p(s, x) — a bound would need
the law of 256^784 images and their labels — so no R(D, C) is claimed for a measured image codec.
The function here is for small discrete sources (and discretised toys), shown beside measurements
as the shape of the trade-off, never as their bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from vcmbench.errors import UsageError

_TINY = 1e-300
DEFAULT_TOL = 1e-8
DEFAULT_MAX_ITER = 300
SCOUT_ITER = 60


@dataclass(frozen=True)
class RdcPoint:
    """One test channel and what it achieves: rate I(X;X̂), distortion E[d] and H(S|X̂) (bits)."""

    rate: float
    distortion: float
    classification: float
    beta: float
    gamma: float
    channel: np.ndarray  # p(x̂ | x), rows indexed by x

    @property
    def lagrangian(self) -> float:
        return self.rate + self.beta * self.distortion + self.gamma * self.classification


@dataclass(frozen=True)
class RdcValue:
    """R̄(D, C) bracketed: ``rate_upper`` is achievable (time-sharing of found channels);
    ``rate_lower`` holds if the Lagrangian minima found are global (see the module notes)."""

    distortion: float
    classification: float
    rate_upper: float
    rate_lower: float
    feasible: bool

    @property
    def gap(self) -> float:
        return self.rate_upper - self.rate_lower


def check_joint(p_sx: ArrayLike) -> np.ndarray:
    """A joint law p(s, x) as a |S|×|X| array summing to 1 (counts are normalised)."""
    p = np.asarray(p_sx, dtype=float)
    if p.ndim != 2 or min(p.shape) < 1 or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise UsageError("p(s, x) must be a non-empty |S|×|X| array of non-negative finite numbers, "
                         "not all zero")
    return p / p.sum()


def hamming(size: int) -> np.ndarray:
    return 1.0 - np.eye(size)


def _distortion_matrix(p: np.ndarray, distortion: ArrayLike | None) -> np.ndarray:
    n = p.shape[1]
    d = hamming(n) if distortion is None else np.asarray(distortion, dtype=float)
    if d.shape != (n, n) or not np.all(np.isfinite(d)) or np.any(d < 0):
        raise UsageError(f"the distortion matrix must be {n}×{n}, finite and non-negative")
    return d


def _xlog2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a·log2(a/b) elementwise with 0·log 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, a * np.log2(np.maximum(a, _TINY) / np.maximum(b, _TINY)), 0.0)


def channel_stats(p_sx: ArrayLike, channel: ArrayLike, distortion: ArrayLike | None = None
                  ) -> tuple[float, float, float]:
    """(I(X;X̂), E[d(X,X̂)], H(S|X̂)) in bits of the test channel p(x̂|x) (rows: x)."""
    p = check_joint(p_sx)
    d = _distortion_matrix(p, distortion)
    w = np.asarray(channel, dtype=float)
    if w.shape != d.shape or np.any(w < 0) or not np.allclose(w.sum(1), 1.0, atol=1e-9):
        raise UsageError(f"a test channel is a {d.shape[0]}×{d.shape[1]} row-stochastic matrix")
    px = p.sum(0)
    joint_xxh = px[:, None] * w
    q = joint_xxh.sum(0)
    rate = float(_xlog2(joint_xxh, px[:, None] * q[None, :]).sum())
    dist = float((joint_xxh * d).sum())
    joint_sxh = p @ w  # p(s, x̂)
    cond = float(_xlog2(joint_sxh, q[None, :]).sum())  # Σ p(s,x̂) log2 p(s|x̂) = −H(S|X̂)
    return max(rate, 0.0), dist, max(-cond, 0.0)


def _iterate(p: np.ndarray, d: np.ndarray, beta: np.ndarray, gamma: np.ndarray, w: np.ndarray, tol: float,
             max_iter: int) -> np.ndarray:
    """Alternating minimisation of G for a batch of problems at once.

    ``w`` is M×|X|×|X| (starting channels), ``beta`` and ``gamma`` length-M; each problem stops on
    its own once an iteration lowers its Lagrangian by less than ``tol`` (relative). Returns the
    final channels.
    """
    px = p.sum(0)
    ps_x = np.divide(p, px[None, :], out=np.full_like(p, 1.0 / p.shape[0]), where=px[None, :] > 0)
    b, g = beta[:, None, None], gamma[:, None, None]
    active = np.ones(len(w), dtype=bool)
    previous = np.full(len(w), math.inf)
    w = w.copy()
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if not idx.size:
            break
        wa = w[idx]
        q = np.einsum("x,mxy->my", px, wa)
        joint = np.einsum("sx,mxy->msy", p, wa)  # p(s, x̂)
        r = np.divide(joint, q[:, None, :], out=np.zeros_like(joint), where=q[:, None, :] > 0)
        log_r = np.log2(np.maximum(r, _TINY))
        score = -b[idx] * d[None] + g[idx] * np.einsum("sx,msy->mxy", ps_x, log_r)
        with np.errstate(divide="ignore"):
            logits = np.log2(np.maximum(q, 0.0))[:, None, :] + score
        logits -= logits.max(2, keepdims=True)
        w_new = np.exp2(logits)
        w_new /= w_new.sum(2, keepdims=True)
        value = _objective(p, px, d, beta[idx], gamma[idx], w_new)
        w[idx] = w_new
        done = previous[idx] - value <= tol * np.maximum(1.0, np.abs(value))
        previous[idx] = value
        active[idx[done]] = False
    return w


def _objective(p: np.ndarray, px: np.ndarray, d: np.ndarray, beta: np.ndarray, gamma: np.ndarray,
               w: np.ndarray) -> np.ndarray:
    """I + β·E[d] + γ·H(S|X̂) in bits for a batch of channels M×|X|×|X|."""
    joint_xxh = px[None, :, None] * w
    q = joint_xxh.sum(1)
    rate = _xlog2(joint_xxh, px[None, :, None] * q[:, None, :]).sum((1, 2))
    joint_sxh = np.einsum("sx,mxy->msy", p, w)
    cond = _xlog2(joint_sxh, q[:, None, :]).sum((1, 2))
    return rate + beta * (joint_xxh * d[None]).sum((1, 2)) - gamma * cond


def starting_channels(size: int, random_starts: int = 4, seed: int = 0) -> list[np.ndarray]:
    """Where each Lagrangian's iteration starts: near the identity, near each constant map, and at
    seeded random channels. Every start has full support (a reconstruction symbol the iteration
    gives zero weight never comes back, as in Blahut–Arimoto)."""
    soft = 1e-3
    uniform = np.full((size, size), 1.0 / size)
    starts = [(1 - soft) * np.eye(size) + soft * uniform]
    for c in range(size):
        constant = np.zeros((size, size))
        constant[:, c] = 1.0
        starts.append((1 - soft) * constant + soft * uniform)
    rng = np.random.default_rng(seed)
    starts += [rng.dirichlet(np.full(size, 0.5), size=size) * (1 - soft) + soft * uniform
               for _ in range(random_starts)]
    return starts


def solve_lagrangian(p_sx: ArrayLike, beta: float, gamma: float, *, distortion: ArrayLike | None = None,
                     starts: Sequence[np.ndarray] | None = None, tol: float = DEFAULT_TOL,
                     max_iter: int = DEFAULT_MAX_ITER) -> RdcPoint:
    """The best channel found for min I + β·E[d] + γ·H(S|X̂) over all starts."""
    return _solve(p_sx, [beta], [gamma], distortion=distortion, starts=starts, tol=tol, max_iter=max_iter)[0]


def _solve(p_sx: ArrayLike, betas: Sequence[float], gammas: Sequence[float], *,
           distortion: ArrayLike | None, starts: Sequence[np.ndarray] | None, tol: float,
           max_iter: int) -> list[RdcPoint]:
    """The best channel of each (betas[i], gammas[i]) over all starts (one batched iteration)."""
    b = np.asarray(betas, dtype=float)
    g = np.asarray(gammas, dtype=float)
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(g))) or np.any(b < 0) or np.any(g < 0):
        raise UsageError("the multipliers beta and gamma must be finite and non-negative")
    p = check_joint(p_sx)
    d = _distortion_matrix(p, distortion)
    w0 = np.stack([np.asarray(w, dtype=float) for w in (starts if starts is not None
                                                         else starting_channels(p.shape[1]))])
    k = len(w0)
    # Every start runs a short while; the best of each pair's starts then runs to convergence (the
    # basins are told apart within a few dozen iterations; converging all starts would cost k times more).
    scout = min(SCOUT_ITER, max_iter)
    w = _iterate(p, d, np.repeat(b, k), np.repeat(g, k), np.tile(w0, (len(b), 1, 1)), tol, scout)
    values = _objective(p, p.sum(0), d, np.repeat(b, k), np.repeat(g, k), w).reshape(len(b), k)
    chosen = w[np.arange(len(b)) * k + values.argmin(1)]
    final = _iterate(p, d, b, g, chosen, tol, max(0, max_iter - scout)) if max_iter > scout else chosen
    points = []
    for i, channel in enumerate(final):
        rate, dist, cls = channel_stats(p, channel, d)
        points.append(RdcPoint(rate, dist, cls, float(b[i]), float(g[i]), channel))
    return points


def default_multipliers() -> tuple[np.ndarray, np.ndarray]:
    """β and γ grids wide enough for sources of a few symbols (slopes from 1/64 to 64 bits per unit);
    :func:`rdc` refines around its target."""
    betas = np.concatenate([[0.0], np.geomspace(1 / 64, 64, 13)])
    gammas = np.concatenate([[0.0], np.geomspace(1 / 64, 64, 13)])
    return betas, gammas


def rdc_points(p_sx: ArrayLike, betas: ArrayLike | None = None, gammas: ArrayLike | None = None, *,
               distortion: ArrayLike | None = None, random_starts: int = 4, seed: int = 0,
               tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER) -> list[RdcPoint]:
    """The best channel of every (β, γ) pair: points on (or, for non-convex parts, above) R̄."""
    p = check_joint(p_sx)
    default_b, default_g = default_multipliers()
    b = default_b if betas is None else np.asarray(betas, dtype=float).ravel()
    g = default_g if gammas is None else np.asarray(gammas, dtype=float).ravel()
    bb, gg = np.meshgrid(b, g, indexing="ij")
    return _solve(p, bb.ravel(), gg.ravel(), distortion=distortion,
                  starts=starting_channels(p.shape[1], random_starts, seed), tol=tol, max_iter=max_iter)


def envelope_rate(points: Sequence[RdcPoint] | np.ndarray, distortion: float, classification: float
                  ) -> float | None:
    """min Σ λ_i R_i over time-sharings λ of the points with Σ λ_i D_i ≤ D and Σ λ_i C_i ≤ C (an LP);
    None when no time-sharing meets the target. ``points`` may be RdcPoints or an N×3 array (R, D, C)."""
    from scipy.optimize import linprog

    arr = (np.asarray(points, dtype=float) if isinstance(points, np.ndarray)
           else np.array([[pt.rate, pt.distortion, pt.classification] for pt in points]))
    if not len(arr):
        return None
    result = linprog(arr[:, 0], A_ub=arr[:, 1:].T, b_ub=[distortion, classification],
                     A_eq=np.ones((1, len(arr))), b_eq=[1.0], bounds=(0, None), method="highs")
    return float(result.fun) if result.status == 0 else None


def rdc(p_sx: ArrayLike, distortion: float, classification: float, *,
        points: Sequence[RdcPoint] | None = None, distortion_matrix: ArrayLike | None = None, rounds: int = 8,
        gap: float = 1e-6) -> RdcValue:
    """R̄(D, C) in bits, bracketed (see the module notes).

    Starts from ``points`` (default: :func:`rdc_points` on the default grid), then ``rounds`` times
    solves an 8×8 grid of multipliers (zero among them) around the supporting plane that is highest
    at the target (following it while it sits on the window's edge, narrowing the window once it
    does not), so both ends of the bracket tighten where it matters; stops early once they are
    ``gap`` bits apart.
    """
    p = check_joint(p_sx)
    if not (math.isfinite(distortion) and math.isfinite(classification)):
        raise UsageError("the targets D and C must be finite numbers")
    pts = list(points) if points is not None else rdc_points(p, distortion=distortion_matrix)
    starts = starting_channels(p.shape[1])
    spread = 4.0
    for _ in range(rounds):
        best = max(pts, key=lambda pt: pt.lagrangian - pt.beta * distortion - pt.gamma * classification)
        betas, gammas = _around(best.beta, spread), _around(best.gamma, spread)
        bb, gg = np.meshgrid(betas, gammas, indexing="ij")
        new = _solve(p, bb.ravel(), gg.ravel(), distortion=distortion_matrix, starts=starts, tol=DEFAULT_TOL,
                     max_iter=DEFAULT_MAX_ITER)
        pts += new
        top = max(new, key=lambda pt: pt.lagrangian - pt.beta * distortion - pt.gamma * classification)
        at_edge = (top.beta > 0 and top.beta in (betas[1], betas[-1])) or \
                  (top.gamma > 0 and top.gamma in (gammas[1], gammas[-1]))
        if not at_edge:  # the best plane is inside the window: look closer; otherwise follow it
            spread = math.sqrt(spread)
        upper = envelope_rate(pts, distortion, classification)
        lower = max(pt.lagrangian - pt.beta * distortion - pt.gamma * classification for pt in pts)
        if upper is not None and upper - lower <= gap:
            break
    upper = envelope_rate(pts, distortion, classification)
    lower = max(0.0, max(pt.lagrangian - pt.beta * distortion - pt.gamma * classification for pt in pts))
    if upper is None:
        return RdcValue(distortion, classification, math.inf, lower, feasible=False)
    return RdcValue(distortion, classification, upper, lower, feasible=True)


def _around(value: float, spread: float) -> np.ndarray:
    """Zero (an inactive constraint) and seven multipliers around ``value`` within a factor ``spread``
    (small ones when ``value`` is zero)."""
    if value <= 0:
        return np.concatenate([[0.0], np.geomspace(1e-4, 1 / 64, 7)])
    return np.concatenate([[0.0], value * spread ** np.linspace(-1, 1, 7)])


def conditional_entropy_floor(p_sx: ArrayLike) -> float:
    """H(S | X) in bits: no reconstruction of X can make the label less uncertain than X itself does."""
    p = check_joint(p_sx)
    return channel_stats(p, np.eye(p.shape[1]))[2]
