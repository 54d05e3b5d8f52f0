"""Blahut–Arimoto against the closed forms, the exact water-filling solution and its own dense path."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exact_rate import contains, exact_hamming_rate_bits
from vcmbench.errors import UsageError
from vcmbench.theory import (
    accuracy_rate_curve,
    blahut_arimoto,
    bound_bits,
    default_slopes,
    entropy_bits,
    hamming_rate,
    rate_at_distortion,
    shannon_lower_bound,
    uniform_rate,
    water_filling,
)


def hamming_matrix(k: int) -> np.ndarray:
    return 1.0 - np.eye(k)


def random_prior(seed: int, k: int, alpha: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.full(k, alpha))


@pytest.mark.parametrize("k", [2, 10, 1000])
def test_ba_matches_eq4_over_the_whole_uniform_curve(k: int) -> None:
    curve = blahut_arimoto(np.ones(k), num_slopes=60, init="uniform")
    assert curve.distortion.min() < 0.02 * (1 - 1 / k) and curve.distortion.max() > 0.9 * (1 - 1 / k)
    np.testing.assert_allclose(curve.rate, uniform_rate(k, curve.distortion), atol=1e-9)
    assert np.all(curve.converged)


def test_water_filling_reduces_to_eq4_for_a_uniform_prior() -> None:
    d = np.linspace(0, 1, 101)
    np.testing.assert_allclose(hamming_rate(np.ones(7), d), uniform_rate(7, d), atol=1e-13)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ba_from_a_uniform_start_finds_the_exact_hamming_curve(seed: int) -> None:
    p = random_prior(seed, 6)
    curve = blahut_arimoto(p, num_slopes=15, tol=1e-8, init="uniform")
    exact = hamming_rate(p, curve.distortion)
    assert np.all(curve.rate_lower <= exact + 1e-12)
    assert np.all(exact <= curve.rate + 1e-12)
    np.testing.assert_allclose(curve.rate, exact, atol=1e-8)


@pytest.mark.parametrize("seed", [3, 4])
def test_hamming_path_equals_dense_generic_path(seed: int) -> None:
    p = random_prior(seed, 7, alpha=0.7)
    slopes = np.linspace(-12.0, -0.5, 12)
    fast = blahut_arimoto(p, slopes=slopes, tol=1e-9, init="uniform")
    dense = blahut_arimoto(p, hamming_matrix(7), slopes=slopes, tol=1e-9)
    np.testing.assert_allclose(fast.distortion, dense.distortion, atol=1e-6)
    np.testing.assert_allclose(fast.rate, dense.rate, atol=1e-8)
    np.testing.assert_allclose(dense.rate, hamming_rate(p, dense.distortion), atol=1e-8)


def test_bracket_holds_even_when_stopped_early() -> None:
    p = random_prior(5, 8)
    curve = blahut_arimoto(p, num_slopes=10, max_iter=2, init="uniform")
    exact = hamming_rate(p, curve.distortion)
    assert not np.all(curve.converged)  # two evaluations cannot close the bracket from uniform
    assert np.all(curve.rate_lower <= exact + 1e-12) and np.all(exact <= curve.rate + 1e-12)


def test_rate_is_zero_from_dmax_and_entropy_at_zero() -> None:
    p = np.array([0.5, 0.3, 0.15, 0.05])
    for d in (0.5, 0.6, 1.0):
        assert rate_at_distortion(p, d).rate_bits == 0.0
        assert bound_bits(1 - d, p) == 0.0
    assert rate_at_distortion(p, 0.0).rate_bits == pytest.approx(entropy_bits(p))
    assert rate_at_distortion(p, 1e-12).rate_bits == pytest.approx(entropy_bits(p), abs=1e-9)
    assert rate_at_distortion(p, 0.5 - 1e-9).rate_bits < 1e-6
    k = 10
    assert rate_at_distortion(np.ones(k), 1 - 1 / k).rate_bits == 0.0


def test_curve_is_decreasing_and_convex() -> None:
    p = random_prior(6, 30, alpha=0.5)
    curve = blahut_arimoto(p, num_slopes=120)
    assert np.all(np.diff(curve.distortion) > 0)
    assert np.all(np.diff(curve.rate) < 0)
    chord_slopes = np.diff(curve.rate) / np.diff(curve.distortion)
    assert np.all(np.diff(chord_slopes) >= -1e-6)
    # the slope parameter is dR/dD: increasing along the curve and bracketing the chord slopes
    assert np.all(np.diff(curve.slopes) > 0)
    assert np.all(curve.slopes[:-1] <= chord_slopes + 1e-6)
    assert np.all(chord_slopes <= curve.slopes[1:] + 1e-6)


def test_nonuniform_prior_needs_fewer_bits_than_uniform() -> None:
    counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    for a in (0.2, 0.5, 0.9, 0.99, 0.9944, 1.0):
        assert bound_bits(a, counts) < float(uniform_rate(10, 1 - a))


def test_shannon_lower_bound_below_and_exact_where_it_should_be() -> None:
    p = np.array([0.4, 0.3, 0.2, 0.1])
    d = np.linspace(0, 1, 201)
    exact = hamming_rate(p, d)
    slb = shannon_lower_bound(p, d)
    assert np.all(slb <= exact + 1e-12)
    small = d <= 3 * 0.1  # (K − 1)·min p
    np.testing.assert_allclose(slb[small], exact[small], atol=1e-12)
    between = (d > 0.35) & (d < 0.6)  # past (K − 1)·min p, before D_max = 0.6
    assert np.all(slb[between] < exact[between])
    np.testing.assert_allclose(shannon_lower_bound(np.ones(5), d), uniform_rate(5, d), atol=1e-12)


def test_ba_never_below_shannon_lower_bound() -> None:
    p = random_prior(7, 12)
    slopes = np.concatenate([[-40.0, -25.0, -15.0], default_slopes(p, 30)])
    curve = blahut_arimoto(p, slopes=slopes, init="uniform", tol=1e-8)
    slb = shannon_lower_bound(p, curve.distortion)
    assert np.all(slb <= curve.rate + 1e-12)
    exact_region = curve.distortion <= 11 * p.min()  # (K − 1)·min p
    assert exact_region.sum() >= 1
    np.testing.assert_allclose(curve.rate[exact_region], slb[exact_region], atol=1e-8)
    assert np.all(slb[~exact_region] <= curve.rate_lower[~exact_region] + curve.tol)
    assert np.any(slb[~exact_region] < curve.rate_lower[~exact_region] - 1e-3)


def test_rate_at_distortion_is_certified_and_reports_its_slope() -> None:
    p = random_prior(8, 10)
    for d in (0.01, 0.1, 0.3, 0.5):
        if d >= 1 - p.max():
            continue
        point = rate_at_distortion(p, d)
        assert contains(point.rate_lower_bits, exact_hamming_rate_bits(p, d), point.rate_upper_bits)
        assert point.gap_bits <= 1e-9
        assert point.slope == pytest.approx(water_filling(p, d).log_slope / np.log(2))


def test_rate_at_distortion_dense_matrix() -> None:
    p = random_prior(9, 5)
    point = rate_at_distortion(p, 0.2, hamming_matrix(5))
    assert point.rate_bits == pytest.approx(hamming_rate(p, 0.2), abs=1e-8)
    assert point.rate_lower_bits <= hamming_rate(p, 0.2) + 1e-12 <= point.rate_upper_bits + 1e-12


def test_dense_matrix_with_a_non_hamming_distortion() -> None:
    """Doubling every distortion maps R(D) to R_H(D/2); an extra output that is wrong for everyone changes
    nothing. Both are exact identities, checked on the dense path."""
    p = random_prior(10, 4)
    doubled = 2.0 * hamming_matrix(4)
    pt = rate_at_distortion(p, 0.3, doubled)
    assert pt.rate_bits == pytest.approx(hamming_rate(p, 0.15), abs=1e-8)
    with_reject = np.hstack([hamming_matrix(4), np.ones((4, 1))])
    curve = blahut_arimoto(p, with_reject, slopes=[-6.0, -3.0, -1.5], tol=1e-9)
    np.testing.assert_allclose(curve.rate, hamming_rate(p, curve.distortion), atol=1e-8)
    with pytest.raises(UsageError):
        rate_at_distortion(p, 0.1, np.ones((3, 3)))


def test_zero_count_classes_change_nothing() -> None:
    assert bound_bits(0.8, [5, 5, 0, 0]) == pytest.approx(float(uniform_rate(2, 0.2)))
    p = [3, 1, 0, 2]
    assert bound_bits(0.7, p) == pytest.approx(hamming_rate([3, 1, 2], 0.3), abs=1e-9)


def test_bound_bits_uniform_uses_eq4_and_is_fast() -> None:
    assert bound_bits(0.9944, [7] * 10) == float(uniform_rate(10, 1 - 0.9944))
    counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    bound_bits(0.95, counts)
    start = time.perf_counter()
    values = [bound_bits(a, counts) for a in np.linspace(0.2, 0.999, 50)]
    per_call = (time.perf_counter() - start) / 50
    assert per_call < 0.05  # generous: the target is ~1 ms, this only catches an accidental slow path
    np.testing.assert_allclose(values, hamming_rate(counts, 1 - np.linspace(0.2, 0.999, 50)), atol=1e-9)


def test_accuracy_rate_curve_ends_and_shape() -> None:
    acc, rate = accuracy_rate_curve([1] * 10, num_points=50)
    assert acc[0] == pytest.approx(0.1) and rate[0] == pytest.approx(0.0, abs=1e-12)
    assert acc[-1] == 1.0 and rate[-1] == pytest.approx(np.log2(10))
    p = [5, 3, 1, 1]
    acc, rate = accuracy_rate_curve(p, num_points=40)
    assert acc.size == 40 and np.all(np.diff(acc) >= 0) and np.all(np.diff(rate) >= -1e-12)
    assert acc[0] == pytest.approx(0.5) and rate[0] == 0.0
    assert rate[-1] == pytest.approx(entropy_bits(p))
    np.testing.assert_allclose(rate, hamming_rate(p, 1 - acc), atol=1e-9)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_bound_bits_rejects_bad_accuracy(bad: float) -> None:
    with pytest.raises(UsageError):
        bound_bits(bad, [1, 1])


def test_blahut_arimoto_rejects_bad_arguments() -> None:
    with pytest.raises(UsageError):
        blahut_arimoto([1, 1], slopes=[1.0])
    with pytest.raises(UsageError):
        blahut_arimoto([1, 1], init=[1.0, 2.0, 3.0])
    with pytest.raises(UsageError):
        blahut_arimoto([1, 1], np.ones((3, 2)))


priors = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=9).filter(
    lambda v: sum(x > 1e-3 for x in v) >= 2)


@settings(max_examples=25, deadline=None)
@given(prior=priors, accuracy=st.floats(min_value=0.0, max_value=1.0))
def test_property_bound_between_slb_and_uniform_and_certified(prior: list[float], accuracy: float) -> None:
    p = np.asarray(prior) / sum(prior)
    bits = bound_bits(accuracy, p)
    d = 1 - accuracy
    assert bits >= 0
    assert bits <= entropy_bits(p) + 1e-9
    assert shannon_lower_bound(p, d) <= bits + 1e-9
    assert bits == pytest.approx(float(hamming_rate(p, d)), abs=1e-8)
    if accuracy <= p.max():
        assert bits == 0.0


@settings(max_examples=10, deadline=None)
@given(prior=priors, seed=st.integers(0, 1000))
def test_property_ba_uniform_start_equals_exact(prior: list[float], seed: int) -> None:
    p = np.asarray(prior) / sum(prior)
    slopes = -np.random.default_rng(seed).uniform(0.3, 10.0, size=3)
    curve = blahut_arimoto(p, slopes=slopes, tol=1e-7, init="uniform", max_iter=20_000)
    exact = hamming_rate(p, curve.distortion)
    assert np.all(curve.rate_lower <= exact + 1e-10) and np.all(exact <= curve.rate + 1e-10)


def test_bound_bits_with_a_nearly_absent_class_at_nearly_perfect_accuracy() -> None:
    """Found by hypothesis: D = 1e-16 with a class of probability 1e-13 once gave NaN after 7 s."""
    counts = [1e-12, 0.186, 0.793, 0.804, 0.886, 0.645, 0.714, 0.839]
    p = np.asarray(counts) / sum(counts)
    bits = bound_bits(0.9999999999999999, p)
    assert np.isfinite(bits)
    assert bits == pytest.approx(float(hamming_rate(p, 1 - 0.9999999999999999)), abs=1e-8)
