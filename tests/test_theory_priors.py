"""Priors, detection configuration counts (eq. 7) and unit conversions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from vcmbench.errors import UsageError
from vcmbench.theory import (
    bits_per_pixel,
    bits_per_point,
    bits_per_sample_from_bpp,
    bits_per_sample_from_bpp_points,
    detection_bits,
    detection_bits_per_pixel,
    detection_configurations,
    prior_from_counts,
    prior_from_labels,
    uniform_prior,
)


def test_priors() -> None:
    np.testing.assert_allclose(uniform_prior(4), [0.25] * 4)
    np.testing.assert_allclose(prior_from_counts([1, 3, 0]), [0.25, 0.75, 0.0])
    np.testing.assert_allclose(prior_from_labels([0, 2, 2, 2], 4), [0.25, 0, 0.75, 0])


@pytest.mark.parametrize("counts", [[1], [], [0, 0], [1, -1], ["a", 1], [1, float("nan")], [True, 1]])
def test_bad_counts(counts) -> None:
    with pytest.raises(UsageError):
        prior_from_counts(counts)


@pytest.mark.parametrize("labels", [[0, 5], [-1, 0], [0.5, 1]])
def test_bad_labels(labels) -> None:
    with pytest.raises(UsageError):
        prior_from_labels(labels, 3)


def test_uniform_prior_needs_two_classes() -> None:
    with pytest.raises(UsageError):
        uniform_prior(1)


def _brute_force_configurations(positions: int, classes: int, max_objects: int) -> int:
    """Each position empty (None) or holding one object of some class; count 1..N objects."""
    cells = [None, *range(classes)]
    return sum(1 for conf in itertools.product(cells, repeat=positions)
               if 1 <= sum(c is not None for c in conf) <= max_objects)


@pytest.mark.parametrize(("p", "c", "n"), [(1, 1, 1), (3, 2, 2), (4, 3, 2), (4, 3, 4), (5, 2, 9), (6, 1, 3)])
def test_detection_count_matches_enumeration(p: int, c: int, n: int) -> None:
    assert detection_configurations(p, c, n) == _brute_force_configurations(p, c, n)


def test_paper_detection_count_is_about_6_4e45() -> None:
    k = detection_configurations(98, 80, 15)
    assert isinstance(k, int)
    assert 6.35e45 < k < 6.45e45
    assert detection_bits(98, 80, 15) == pytest.approx(math.log2(k), rel=1e-15)


def test_detection_bits_beyond_float_range() -> None:
    k = detection_configurations(2000, 80, 200)
    assert k.bit_length() > 1100  # float(k) would overflow
    bits = detection_bits(2000, 80, 200)
    assert k.bit_length() - 1 <= bits < k.bit_length()
    assert detection_bits_per_pixel(2000, 80, 200, 100, 10) == pytest.approx(bits / 1000)


@pytest.mark.parametrize("args", [(0, 80, 15), (98, 0, 15), (98, 80, 0), (98.5, 80, 15)])
def test_detection_bad_input(args) -> None:
    with pytest.raises(UsageError):
        detection_configurations(*args)


def test_units_round_trip() -> None:
    assert bits_per_pixel(784.0, 28, 28) == pytest.approx(1.0)
    assert bits_per_sample_from_bpp(bits_per_pixel(123.0, 32, 16), 32, 16) == pytest.approx(123.0)
    assert bits_per_point(10.0, 1024) == pytest.approx(10 / 1024)
    assert bits_per_sample_from_bpp_points(bits_per_point(10.0, 1024), 1024) == pytest.approx(10.0)
    with pytest.raises(UsageError):
        bits_per_pixel(1.0, 0, 5)
    with pytest.raises(UsageError):
        bits_per_point(-1.0, 5)
