"""Certified brackets contain the exact R(D): checked against 60-digit arithmetic, not another double.

Before the brackets were widened by their rounding error, most points converged from the exact
water-filling start had the true R(D) a few ulps outside (42 of the 60 seeded points below).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from exact_rate import contains, exact_hamming_rate_bits
from vcmbench.theory import blahut_arimoto, bound_bits, rate_at_distortion
from vcmbench.theory.rounding import BlockSum, gamma

MNIST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def seeded_cases(n: int, sizes: tuple[int, ...]) -> list[tuple[np.ndarray, float]]:
    cases = []
    for seed in range(n):
        rng = np.random.default_rng(seed)
        p = rng.dirichlet(np.ones(int(rng.choice(sizes))))
        cases.append((p, float(rng.uniform(0, 1 - p.max()))))
    return cases


def test_rate_at_distortion_contains_the_exact_rate() -> None:
    outside = [(p.size, d) for p, d in seeded_cases(60, (2, 3, 5, 10, 30))
               if not contains((pt := rate_at_distortion(p, d)).rate_lower_bits,
                               exact_hamming_rate_bits(p, d), pt.rate_upper_bits)]
    assert outside == []


def test_mnist_prior_at_99_percent() -> None:
    """The case a fresh clone failed on: the double-precision water-filling value was 4e-16 above."""
    point = rate_at_distortion(MNIST_COUNTS, 0.01)
    assert contains(point.rate_lower_bits, exact_hamming_rate_bits(MNIST_COUNTS, 0.01), point.rate_upper_bits)
    assert 0 < point.gap_bits <= 1e-9


@pytest.mark.parametrize("init", ["auto", "uniform"])
def test_curve_points_contain_the_exact_rate(init: str) -> None:
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        p = rng.dirichlet(np.ones(int(rng.choice([3, 10, 40]))))
        curve = blahut_arimoto(p, num_slopes=15, init=init, tol=1e-9)
        assert np.all(curve.converged)
        for lo, d, hi in zip(curve.rate_lower, curve.distortion, curve.rate, strict=True):
            assert contains(lo, exact_hamming_rate_bits(p, d), hi), (seed, d)


def test_dense_path_contains_the_exact_rate() -> None:
    p = np.random.default_rng(7).dirichlet(np.ones(6))
    matrix = 1.0 - np.eye(6)
    curve = blahut_arimoto(p, matrix, slopes=np.linspace(-12.0, -0.5, 8), tol=1e-9)
    for lo, d, hi in zip(curve.rate_lower, curve.distortion, curve.rate, strict=True):
        assert contains(lo, exact_hamming_rate_bits(p, d), hi)
    for d in (0.05, 0.2, 0.4):
        point = rate_at_distortion(p, d, matrix)
        assert contains(point.rate_lower_bits, exact_hamming_rate_bits(p, d), point.rate_upper_bits)


def test_many_classes_use_block_sums_and_stay_certified() -> None:
    p = np.random.default_rng(3).dirichlet(np.ones(5000))
    for d in (0.1, 0.6):
        point = rate_at_distortion(p, d)
        assert contains(point.rate_lower_bits, exact_hamming_rate_bits(p, d), point.rate_upper_bits)
        assert point.gap_bits <= 1e-9


def test_end_points_contain_the_exact_rate() -> None:
    p = [0.5, 0.3, 0.15, 0.05]  # the doubles do not sum to 1 exactly; D_max is 0.5 only up to rounding
    for d in (0.0, 0.5, 0.7):
        point = rate_at_distortion(p, d)
        assert contains(point.rate_lower_bits, exact_hamming_rate_bits(p, d), point.rate_upper_bits)
    assert rate_at_distortion(p, 0.5).rate_bits == 0.0 == bound_bits(0.5, p)


def test_block_sum_error_bound_holds_on_cancelling_data() -> None:
    rng = np.random.default_rng(0)
    for n in (10, 5000, 100_001):
        x = rng.standard_normal(n) * 10.0 ** rng.integers(-8, 9, size=n)
        summer = BlockSum(n)
        exact = math.fsum(x.tolist())
        assert abs(summer(x) - exact) <= summer.error * float(np.abs(x).sum())
        assert abs(summer.dot(x, x[::-1].copy()) - math.fsum((x * x[::-1]).tolist())) <= \
            gamma(summer.depth + 1) * float(np.abs(x * x[::-1]).sum())
    assert BlockSum(100_000).depth < 700  # two stages of about √n terms, not one of n


def test_gamma() -> None:
    assert gamma(1) > 2.0**-53 and gamma(10) == pytest.approx(10 * 2.0**-53, rel=1e-12)
    assert gamma(2**52) == math.inf
