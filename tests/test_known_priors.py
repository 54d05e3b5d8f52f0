"""Label counts of published splits: loaded from package data, checked, and used for bounds."""

from __future__ import annotations

import math

import pytest

from vcmbench import theory
from vcmbench.errors import UnknownNameError
from vcmbench.theory.known_priors import known_prior, known_prior_info, known_prior_names


def test_modelnet40_test_split_has_2468_shapes_in_40_classes_with_a_source():
    info = known_prior_info("modelnet40-test")
    counts = known_prior("modelnet40-test")
    assert len(counts) == 40 == len(info.classes) and sum(counts) == 2468
    assert info.classes[0] == "airplane" and info.classes[-1] == "xbox"
    assert min(counts) == 20 and max(counts) == 100  # not uniform: the bound is below eq. 4
    assert "ModelNet40" in info.source and "test" in info.source


def test_training_splits_add_up_and_share_the_class_order():
    assert sum(known_prior("modelnet40-train")) == 9843
    assert known_prior_info("modelnet40-train").classes == known_prior_info("modelnet40-test").classes
    assert sum(known_prior("mnist-train")) == 60000 and sum(known_prior("mnist-test")) == 10000


def test_the_real_modelnet40_prior_lowers_the_bound_by_a_quarter_bit_or_more():
    counts = known_prior("modelnet40-test")
    for accuracy in (0.5, 0.7, 0.8):
        uniform = theory.uniform_rate(40, 1 - accuracy)
        drop = uniform - theory.bound_bits(accuracy, counts)
        assert 0.25 < drop < 0.33
    # Past the water level of the 20-shape classes the drop is the entropy difference, log2(40) − H(p).
    p = [c / 2468 for c in counts]
    h = -sum(x * math.log2(x) for x in p)
    assert theory.uniform_rate(40, 0.01) - theory.bound_bits(0.99, counts) == pytest.approx(math.log2(40) - h)


def test_unknown_names_suggest_the_closest():
    assert "modelnet40-test" in known_prior_names()
    with pytest.raises(UnknownNameError, match="did you mean 'modelnet40-test'"):
        known_prior("modelnet40-tst")
