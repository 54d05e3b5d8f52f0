from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vcmbench.report.hull import (
    achievable_hull,
    bits_on_hull,
    dense_segments,
    free_class,
    free_point,
    lower_convex_hull,
)


def test_dominated_and_non_convex_points_are_dropped():
    pts = [(0.5, 1.0), (0.6, 3.0), (0.9, 4.0), (0.8, 10.0), (0.4, 2.0)]
    assert lower_convex_hull(pts) == [(0.5, 1.0), (0.9, 4.0)]


def test_time_sharing_interpolates_linearly():
    hull = lower_convex_hull([(0.5, 1.0), (0.9, 5.0)])
    assert bits_on_hull(hull, 0.7) == pytest.approx(3.0)
    assert bits_on_hull(hull, 0.3) == 1.0  # less accuracy never costs more bits
    assert bits_on_hull(hull, 0.95) is None  # never reached


def test_a_cheaper_and_better_point_dominates_everything_below():
    assert lower_convex_hull([(0.9, 10.0), (0.95, 5.0)]) == [(0.95, 5.0)]


points = st.lists(st.tuples(st.floats(0, 1), st.floats(0, 100)), min_size=1, max_size=12)


@given(points)
def test_hull_is_below_every_point_and_convex(pts):
    hull = lower_convex_hull(pts)
    for a, b in pts:
        h = bits_on_hull(hull, a)
        assert h is not None and h <= b + 1e-9
    slopes = [(b1 - b0) / (a1 - a0) for (a0, b0), (a1, b1) in itertools.pairwise(hull)]
    assert all(s >= -1e-9 for s in slopes)
    assert all(s1 >= s0 - 1e-6 for s0, s1 in itertools.pairwise(slopes))


def test_the_free_point_guesses_the_training_splits_likeliest_class_on_the_test_set():
    assert free_point([10, 40, 30, 20], [5, 9, 9, 1]) == (0.4, 0.0)  # tie 9/9: the lower index, class 1
    assert free_point([10, 40, 30, 20], None) is None  # no training counts: no free point is claimed
    assert free_class([3, 7, 7]) == 1


def test_label_fixed_time_shares_with_the_free_point():
    # 4.016 bits for 0.97 on MNIST; the free point is 0 bits at 0.1.
    hull = achievable_hull([(0.97, 4.016)], (0.1, 0.0))
    assert hull == [(0.1, 0.0), (0.97, 4.016)]
    assert bits_on_hull(hull, 0.5) == pytest.approx(4.016 * 0.4 / 0.87)  # ≈ 1.85, not 4.016
    assert bits_on_hull(hull, 0.05) == 0.0


def test_a_zero_bit_point_above_the_free_point_replaces_it():
    hull = achievable_hull([(0.3, 0.0), (0.9, 2.0)], (0.1, 0.0))
    assert hull == [(0.3, 0.0), (0.9, 2.0)]


@given(points, st.floats(0, 1))
def test_the_achievable_hull_is_below_every_point_and_the_free_point(pts, acc):
    hull = achievable_hull(pts, (acc, 0.0))
    for a, b in [*pts, (acc, 0.0)]:
        h = bits_on_hull(hull, a)
        assert h is not None and h <= b + 1e-9


def test_dense_segments_are_straight_in_bits():
    bits, acc = dense_segments([(0.1, 0.0), (0.5, 1.0), (0.9, 100.0)], steps=10)
    assert len(bits) == 21 and (bits[0], acc[0]) == (0.0, 0.1) and (bits[-1], acc[-1]) == (100.0, 0.9)
    for b, a in zip(bits, acc, strict=True):
        expected = b / 2.5 + 0.1 if b <= 1.0 else 0.5 + (b - 1.0) * 0.4 / 99.0
        assert a == pytest.approx(expected)
