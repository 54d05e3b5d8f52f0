"""The rate-accuracy bound as the reporter reads it: at a point, over its confidence interval, and as a floor.

The bound at accuracy A is R(1 − A) of the label source (paper eq. 4 for a uniform prior,
Blahut–Arimoto otherwise, both from :mod:`vcmbench.theory`). Three readings are needed:

* the value, for gaps (``bound_prior``, ``bound_uniform``);
* the certified bracket [lower, upper] that contains R(1 − A) (``bound_bracket``): Blahut–Arimoto
  returns the midpoint of a bracket, so "below the bound" must be judged against its lower end;
* the floor no honest record can go below (``lowest_possible_bits``), which also allows for what
  the harness gives every decoder for free: the length of each bitstream. For a code that maps
  each stream independently, R(D) ≤ I(X; X̂) ≤ H(M) ≤ E[8·bytes] + H(length), exactly, under the
  empirical distribution of the test set (a deterministic statement, no luck involved); the
  largest H(length) any distribution of lengths with mean μ bytes can have is that of the
  geometric law, (μ+1)·log2(μ+1) − μ·log2(μ). For one block coding the whole test set that
  allowance is a few bits in total; the bound then holds for test sets in random order (a
  codec that beats it found order in the labels, used test data, or the record was edited).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

from vcmbench import theory
from vcmbench.theory.model_aware import model_aware_bits

TOLERANCE_BITS = 1e-9  # floating-point slack on top of the certified bracket


@lru_cache(maxsize=4096)
def _bound_prior(accuracy: float, counts: tuple[int, ...]) -> float:
    return float(theory.bound_bits(accuracy, list(counts)))


def bound_uniform(accuracy: float, num_classes: int) -> float:
    return float(theory.uniform_rate(num_classes, 1.0 - accuracy))


def bound_prior(accuracy: float, prior_counts: Iterable[int]) -> float:
    return _bound_prior(round(float(accuracy), 12), tuple(int(c) for c in prior_counts))


def bound_model_aware(accuracy: float, confusion: Iterable[Iterable[int]]) -> float | None:
    """The model-aware bound at ``accuracy`` for a task model's confusion matrix (rows: true class);
    None past the classifier's Bayes accuracy, which no code of its output can reach.
    Memoised in :mod:`vcmbench.theory.model_aware`."""
    bits = model_aware_bits(round(float(accuracy), 12), [list(row) for row in confusion])
    return None if math.isinf(bits) else bits


@lru_cache(maxsize=4096)
def _bracket(accuracy: float, counts: tuple[int, ...]) -> tuple[float, float]:
    value = _bound_prior(accuracy, counts)
    if value <= 0.0:
        return 0.0, 0.0
    point = theory.rate_at_distortion(list(counts), 1.0 - accuracy)
    return min(value, point.rate_lower_bits), max(value, point.rate_upper_bits)


def bound_bracket(accuracy: float, prior_counts: Iterable[int]) -> tuple[float, float]:
    """[lower, upper] certified to contain R(1 − accuracy); the reported bound lies inside it."""
    return _bracket(round(float(accuracy), 12), tuple(int(c) for c in prior_counts))


def length_entropy_allowance(bits_total: int, blocks: int, samples: int) -> float:
    """Bits per sample that free stream lengths can carry at most: blocks × H_max(mean bytes) / samples."""
    if blocks < 1 or samples < 1:
        return 0.0
    mu = bits_total / 8.0 / blocks
    h = 0.0 if mu <= 0 else (mu + 1) * math.log2(mu + 1) - mu * math.log2(mu)
    return blocks * h / samples


def lowest_possible_bits(accuracy: float, prior_counts: Iterable[int], bits_total: int, blocks: int,
                         samples: int) -> float:
    """The fewest bits per sample an honest record can show at ``accuracy`` (see the module notes)."""
    lower, _ = bound_bracket(accuracy, prior_counts)
    return lower - length_entropy_allowance(bits_total, blocks, samples) - TOLERANCE_BITS
