"""Label priors: the distribution of the discrete source whose rate-distortion function is the bound."""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from vcmbench.errors import UsageError
from vcmbench.theory.rounding import BlockSum


def check_num_classes(num_classes: int) -> int:
    """K as a Python int ≥ 2 (a one-class task needs no bits); anything else is a UsageError."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise UsageError(f"the number of classes must be an integer, got {num_classes!r}")
    if num_classes < 2:
        raise UsageError(f"the number of classes must be at least 2, got {num_classes}")
    return int(num_classes)


def uniform_prior(num_classes: int) -> np.ndarray:
    """K equally likely classes: the prior the paper's closed form (eq. 4) assumes."""
    k = check_num_classes(num_classes)
    return np.full(k, 1.0 / k)


def prior_from_counts(counts: Iterable[float] | ArrayLike) -> np.ndarray:
    """Normalise label counts (or unnormalised probabilities) into a prior.

    Zero counts are kept (a class absent from the test set still exists), but the counts must be
    numbers, finite, non-negative, not all zero, and there must be at least two of them.
    """
    if isinstance(counts, np.ndarray) and counts.dtype != bool and (
            np.issubdtype(counts.dtype, np.integer) or np.issubdtype(counts.dtype, np.floating)):
        p = counts.astype(float).ravel()
    else:
        values = list(counts)
        for v in values:
            if isinstance(v, bool | np.bool_) or not isinstance(v, numbers.Real):
                raise UsageError(f"prior counts must be numbers, got {v!r}")
        p = np.asarray(values, dtype=float)
    if p.size < 2:
        raise UsageError(f"a prior needs at least 2 classes, got {p.size}")
    if not np.all(np.isfinite(p)):
        raise UsageError("prior counts must be finite")
    if np.any(p < 0):
        raise UsageError(f"prior counts must be non-negative, got {float(p.min())}")
    total = BlockSum(p.size)(p)  # a sum whose rounding bound the certified brackets rely on
    if total <= 0:
        raise UsageError("prior counts are all zero")
    return p / total


def prior_from_labels(labels: ArrayLike, num_classes: int) -> np.ndarray:
    """The empirical prior of integer labels in [0, num_classes): the test set's own source."""
    k = check_num_classes(num_classes)
    y = np.asarray(labels)
    if y.size == 0:
        raise UsageError("no labels to build a prior from")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.isfinite(y.astype(float))) or np.any(y != np.round(y)):
            raise UsageError("labels must be integers")
        y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= k:
        raise UsageError(f"labels must lie in [0, {k}), got values in [{y.min()}, {y.max()}]")
    return prior_from_counts(np.bincount(y.ravel(), minlength=k).astype(float))
