"""Entropies in bits: the building blocks of every closed-form bound."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from vcmbench.errors import UsageError


def _scalar_or_array(values: np.ndarray) -> float | np.ndarray:
    return float(values) if values.ndim == 0 else values


def binary_entropy(p: ArrayLike) -> float | np.ndarray:
    """H_b(p) = −p·log2 p − (1−p)·log2(1−p) in bits, elementwise, with H_b(0) = H_b(1) = 0."""
    p = np.asarray(p, dtype=float)
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise UsageError("binary_entropy needs probabilities in [0, 1]")
    q = 1.0 - p
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(p), 0.0) - np.where(q > 0, q * np.log2(q), 0.0)
    return _scalar_or_array(h)


def entropy_bits(prior: ArrayLike) -> float:
    """H(p) in bits of a probability vector (normalised here, so counts work too); 0·log 0 = 0."""
    p = np.asarray(prior, dtype=float).ravel()
    total = p.sum()
    if p.size == 0 or not np.all(np.isfinite(p)) or np.any(p < 0) or total <= 0:
        raise UsageError("entropy_bits needs non-negative numbers that are not all zero")
    p = p[p > 0] / total
    return float(-(p * np.log2(p)).sum())
