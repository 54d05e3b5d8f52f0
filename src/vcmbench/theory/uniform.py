"""The closed-form bound for K equally likely classes (paper eq. 4), its inverse and its linear form.

K may be a huge Python int (a detection configuration count such as 6.4e45, or far beyond
what a float holds): log2 K is then taken from the integer itself, never from float(K).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike

from vcmbench.errors import UsageError
from vcmbench.theory.entropy import binary_entropy


def log2_int(n: int) -> float:
    """log2 of a positive Python int of any size, to double precision (no float overflow)."""
    if n <= 0:
        raise UsageError(f"log2 needs a positive integer, got {n}")
    shift = n.bit_length() - 64
    if shift <= 0:
        return math.log2(n)
    return math.log2(n >> shift) + shift


def _class_logs(num_classes: int | ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log2 K, log2(K−1) and the knee 1 − 1/K, for an int (any size) or an array of ints."""
    if isinstance(num_classes, numbers.Integral) and not isinstance(num_classes, bool):
        k = int(num_classes)
        if k < 2:
            raise UsageError(f"the number of classes must be at least 2, got {k}")
        return np.asarray(log2_int(k)), np.asarray(log2_int(k - 1)), np.asarray(1.0 - 1 / k)
    k = np.asarray(num_classes)
    if k.dtype == bool or not np.issubdtype(k.dtype, np.number) or np.any(k != np.floor(k)):
        raise UsageError(f"the number of classes must be an integer, got {num_classes!r}")
    kf = k.astype(float)
    if np.any(kf < 2):
        raise UsageError("the number of classes must be at least 2")
    return np.log2(kf), np.log2(kf - 1.0), 1.0 - 1.0 / kf


def _check_distortion(distortion: ArrayLike) -> np.ndarray:
    d = np.asarray(distortion, dtype=float)
    if np.any(~np.isfinite(d)) or np.any((d < 0) | (d > 1)):
        raise UsageError("the distortion (1 − accuracy) must lie in [0, 1]")
    return d


def _out(values: np.ndarray) -> float | np.ndarray:
    return float(values) if np.ndim(values) == 0 else values


def uniform_rate(num_classes: int | ArrayLike, distortion: ArrayLike) -> float | np.ndarray:
    """R(D) in bits/sample for K equiprobable classes under Hamming distortion (paper eq. 4).

    R = log2 K − D·log2(K−1) − H_b(D) for D < 1 − 1/K and 0 beyond (guessing the class is free).
    Broadcasts over K and D.
    """
    log_k, log_k1, knee = _class_logs(num_classes)
    d = _check_distortion(distortion)
    rate = log_k - d * log_k1 - binary_entropy(np.minimum(d, 1.0))
    return _out(np.where(d < knee, np.maximum(rate, 0.0), 0.0))


def uniform_accuracy_at_rate(num_classes: int, rate_bits: ArrayLike) -> float | np.ndarray:
    """The best accuracy any code reaches at R bits/sample for K equiprobable classes.

    Inverts eq. 4 on its decreasing branch D ∈ [0, 1 − 1/K]: A = 1/K at R = 0, A = 1 from R = log2 K.
    """
    log_k, log_k1, knee = (float(v) for v in _class_logs(num_classes))
    from scipy.optimize import brentq  # here, not at import: `vcmbench bound` should start fast

    rates = np.asarray(rate_bits, dtype=float)
    if np.any(~np.isfinite(rates)) or np.any(rates < 0):
        raise UsageError("the rate must be a finite number of bits ≥ 0")

    def excess(d: float, r: float) -> float:
        return log_k - d * log_k1 - float(binary_entropy(d)) - r

    def one(r: float) -> float:
        if r >= log_k:
            return 1.0
        if excess(knee, r) >= 0:  # r is zero or below rounding at the knee
            return 1.0 - knee
        return 1.0 - brentq(excess, 0.0, knee, args=(r,), xtol=1e-15, rtol=4 * np.finfo(float).eps)

    return _out(np.vectorize(one, otypes=[float])(rates))


def uniform_curve(num_classes: int, num_points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy, bits/sample) along eq. 4 on an even accuracy grid from 1/K (0 bits) to 1 (log2 K bits).

    No array of K entries: K may be any size (a configuration count, 10¹⁰ classes).
    """
    log_k, log_k1, knee = (float(v) for v in _class_logs(num_classes))
    if num_points < 3:
        raise UsageError("a curve needs at least 3 points")
    d = np.linspace(0.0, knee, num_points)
    rate = np.where(d < knee, np.maximum(log_k - d * log_k1 - binary_entropy(d), 0.0), 0.0)
    return (1.0 - d)[::-1], rate[::-1]


def linear_rate_approximation(num_classes: int | ArrayLike, distortion: ArrayLike) -> float | np.ndarray:
    """Paper eq. 5: R ≈ (1 − D)·log2 K = A·log2 K, good for K ≫ 1 (it drops H_b(D) and the −1 in K−1)."""
    log_k, _, _ = _class_logs(num_classes)
    return _out((1.0 - _check_distortion(distortion)) * log_k)


def accuracy_per_bit(num_classes: int | ArrayLike) -> float | np.ndarray:
    """Paper eq. 6: dA/dR ≈ 1/log2 K, the accuracy one more bit buys on the linear part of the curve."""
    log_k, _, _ = _class_logs(num_classes)
    return _out(1.0 / log_k)
