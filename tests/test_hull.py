from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vcmbench.report.hull import bits_on_hull, lower_convex_hull


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
