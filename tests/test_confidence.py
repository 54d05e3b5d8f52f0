from __future__ import annotations

import numpy as np
import pytest

from vcmbench.theory.confidence import clopper_pearson


def test_interval_contains_the_estimate_and_shrinks_with_n():
    low, high = clopper_pearson(970, 1000)
    assert low < 0.97 < high
    low2, high2 = clopper_pearson(9700, 10000)
    assert high2 - low2 < high - low


def test_edges_are_exact():
    assert clopper_pearson(0, 10)[0] == 0.0
    assert clopper_pearson(10, 10)[1] == 1.0
    # for 0 successes the upper end solves (1 - p)^n = alpha/2
    assert clopper_pearson(0, 10)[1] == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-9)


def test_coverage_is_at_least_the_level():
    """Exact intervals never under-cover: check by simulation at a few true accuracies."""
    rng = np.random.default_rng(0)
    n = 50
    for p in (0.1, 0.5, 0.93):
        draws = rng.binomial(n, p, size=400)
        covered = np.mean([lo <= p <= hi for lo, hi in (clopper_pearson(int(k), n) for k in draws)])
        assert covered >= 0.93  # 0.95 nominal, minus simulation noise of 400 draws


@pytest.mark.parametrize("correct,samples", [(-1, 10), (11, 10), (0, 0)])
def test_bad_counts_are_refused(correct, samples):
    with pytest.raises(ValueError):
        clopper_pearson(correct, samples)
