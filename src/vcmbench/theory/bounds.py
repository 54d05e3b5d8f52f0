"""The rate-accuracy bound as the rest of vcmbench asks for it: bits/sample at an accuracy, and curves."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from vcmbench.errors import UsageError
from vcmbench.theory.blahut_arimoto import blahut_arimoto, rate_at_distortion
from vcmbench.theory.entropy import entropy_bits
from vcmbench.theory.hamming import shannon_lower_bound
from vcmbench.theory.priors import prior_from_counts
from vcmbench.theory.uniform import uniform_curve, uniform_rate


def _support(prior: ArrayLike) -> np.ndarray:
    p = prior_from_counts(prior)
    return p[p > 0]


def is_uniform(prior: ArrayLike) -> bool:
    """True when every class that occurs is equally likely (absent classes never change Hamming R(D))."""
    support = _support(prior)
    return bool(np.ptp(support) <= 1e-12 * support.max())


def check_accuracy(accuracy: float) -> float:
    a = float(accuracy)
    if not np.isfinite(a) or not 0.0 <= a <= 1.0:
        raise UsageError(f"the accuracy must lie in [0, 1], got {accuracy!r}")
    return a


def bound_bits(accuracy: float, prior: ArrayLike) -> float:
    """Fewest bits/sample any code can spend and still reach ``accuracy`` on labels drawn from ``prior``.

    R(1 − A) under Hamming distortion; ``prior`` is probabilities or label counts. Uniform prior (on the
    classes that occur): paper eq. 4 in closed form. Otherwise Blahut–Arimoto, certified to 1e-9 bits.
    0 when the accuracy is reachable by always guessing the likeliest class (A ≤ max p).
    """
    a = check_accuracy(accuracy)
    support = _support(prior)
    if a <= support.max():
        return 0.0
    if is_uniform(support):
        return float(uniform_rate(int(support.size), 1.0 - a))
    d = 1.0 - a
    if d <= (support.size - 1) * support.min():
        # The Shannon lower bound is R(D) exactly here; Blahut–Arimoto would need a slope so steep
        # that its iteration loses all precision (D of 1e-16 with a class of probability 1e-13).
        return float(shannon_lower_bound(support, d))
    return rate_at_distortion(support, d).rate_bits


def accuracy_rate_curve(prior: ArrayLike, num_points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy, bits/sample) along the bound, accuracy ascending from max p (0 bits) to 1 (H(p) bits).

    Uniform prior: eq. 4 on an even accuracy grid. Otherwise Blahut–Arimoto at ``num_points − 2`` slopes
    plus both end points.
    """
    if num_points < 3:
        raise UsageError("a curve needs at least 3 points")
    support = _support(prior)
    if support.size < 2:
        return np.array([1.0, 1.0]), np.array([0.0, 0.0])
    if is_uniform(support):
        return uniform_curve(int(support.size), num_points)
    curve = blahut_arimoto(support, num_slopes=num_points - 2)
    d = np.concatenate(([0.0], curve.distortion, [1.0 - support.max()]))
    r = np.concatenate(([entropy_bits(support)], curve.rate, [0.0]))
    return (1.0 - d)[::-1], r[::-1]
