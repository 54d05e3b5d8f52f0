"""Closed forms for equiprobable classes (paper eqs. 4–6), entropies and their edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vcmbench.errors import UsageError
from vcmbench.theory import (
    accuracy_per_bit,
    binary_entropy,
    entropy_bits,
    linear_rate_approximation,
    log2_int,
    uniform_accuracy_at_rate,
    uniform_rate,
)


def test_binary_entropy_values_and_ends() -> None:
    assert binary_entropy(0.0) == 0.0
    assert binary_entropy(1.0) == 0.0
    assert binary_entropy(0.5) == pytest.approx(1.0)
    h = binary_entropy(np.array([0.1, 0.9]))
    expected = -(0.1 * math.log2(0.1) + 0.9 * math.log2(0.9))
    np.testing.assert_allclose(h, [expected, expected], rtol=1e-14)


@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan")])
def test_binary_entropy_rejects_non_probabilities(bad: float) -> None:
    with pytest.raises(UsageError):
        binary_entropy(bad)


def test_entropy_bits_of_counts_and_zeros() -> None:
    assert entropy_bits([1, 1, 1, 1]) == pytest.approx(2.0)
    assert entropy_bits([3, 0, 1]) == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))


def test_eq4_by_hand_at_mnist_accuracy() -> None:
    d = 1 - 0.9944
    expected = math.log2(10) - d * math.log2(9) + d * math.log2(d) + (1 - d) * math.log2(1 - d)
    assert uniform_rate(10, d) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("k", [2, 10, 40, 1000])
def test_eq4_ends(k: int) -> None:
    assert uniform_rate(k, 0.0) == pytest.approx(math.log2(k))
    assert uniform_rate(k, 1 - 1 / k) == pytest.approx(0.0, abs=1e-12)
    assert uniform_rate(k, np.array([1 - 1 / k + 1e-9, 0.999, 1.0])).tolist() == [0.0, 0.0, 0.0]


def test_eq4_is_decreasing_and_convex() -> None:
    d = np.linspace(0, 0.9, 500)
    r = uniform_rate(10, d)
    assert np.all(np.diff(r) < 0)
    assert np.all(np.diff(r, 2) > -1e-12)


def test_eq4_broadcasts_over_classes() -> None:
    r = uniform_rate(np.array([2, 10, 1000]), 0.0)
    np.testing.assert_allclose(r, np.log2([2, 10, 1000]))


def test_huge_class_count_uses_the_integer_not_a_float() -> None:
    k = 3**1000  # far beyond float range
    assert log2_int(k) == pytest.approx(1000 * math.log2(3), rel=1e-15)
    assert uniform_rate(k, 0.0) == pytest.approx(1000 * math.log2(3), rel=1e-15)
    assert uniform_rate(k, 0.5) == pytest.approx(500 * math.log2(3) - 1.0, rel=1e-12)


@pytest.mark.parametrize("k", [2, 10, 1000])
def test_inverse_round_trips(k: int) -> None:
    acc = np.array([1 / k + 1e-3, 0.3, 0.77, 0.99, 0.9999])
    acc = acc[acc > 1 / k]
    rates = uniform_rate(k, 1 - acc)
    np.testing.assert_allclose(uniform_accuracy_at_rate(k, rates), acc, atol=1e-9)
    assert uniform_accuracy_at_rate(k, 0.0) == pytest.approx(1 / k)
    assert uniform_accuracy_at_rate(k, math.log2(k) + 1) == 1.0


def test_inverse_is_increasing_in_rate() -> None:
    a = uniform_accuracy_at_rate(40, np.linspace(0, math.log2(40), 50))
    assert np.all(np.diff(a) > 0)


def test_eq5_and_eq6() -> None:
    assert linear_rate_approximation(1000, 0.25) == pytest.approx(0.75 * math.log2(1000))
    assert accuracy_per_bit(1000) == pytest.approx(1 / math.log2(1000))
    # eq. 5 over-estimates eq. 4 and the gap is at most H_b(D) + D·(log2 K − log2(K−1)) ≤ 1 bit + ε
    d = np.linspace(0, 0.99, 100)
    gap = linear_rate_approximation(1000, d) - uniform_rate(1000, d)
    assert np.all(gap >= -1e-12) and np.all(gap <= 1.0 + 1e-3)


@pytest.mark.parametrize("call", [lambda: uniform_rate(1, 0.1), lambda: uniform_rate(10, -0.1),
                                  lambda: uniform_rate(10, 1.5), lambda: uniform_accuracy_at_rate(10, -1),
                                  lambda: uniform_rate(2.5, 0.1)])
def test_bad_input_raises_usage_error(call) -> None:
    with pytest.raises(UsageError):
        call()
