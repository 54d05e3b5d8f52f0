"""The model-aware (indirect, remote-source) bound against closed forms, brute force and its properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from vcmbench.errors import UsageError
from vcmbench.theory import bound_bits, rate_at_distortion
from vcmbench.theory.model_aware import (
    indirect_source,
    model_aware_bits,
    model_aware_curve,
    model_aware_point,
    symmetric_noise_bits,
    symmetric_noise_confusion,
)


def eq4(k: int, d: float) -> float:
    """Paper eq. 4, written out independently of vcmbench.theory."""
    if d >= 1 - 1 / k:
        return 0.0
    h = 0.0 if d in (0, 1) else -d * math.log2(d) - (1 - d) * math.log2(1 - d)
    return math.log2(k) - d * math.log2(k - 1) - h


def mutual_information(q: np.ndarray, channel: np.ndarray) -> np.ndarray:
    """I(Ŷ; Z) in bits for a batch of channels [..., ŷ, z] and the source q(ŷ)."""
    joint = q[:, None] * channel
    pz = joint.sum(axis=-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log2(joint / (q[:, None] * pz)), 0.0)
    return terms.sum(axis=(-2, -1))


def brute_force(confusion: np.ndarray, accuracy: float, steps: int) -> float:
    """min I(Ŷ; Z) over every channel on a grid (each row a point of the simplex in 1/steps), D ≤ 1 − A."""
    src = indirect_source(confusion)
    k = src.num_classes
    rows = np.array([c for c in itertools.product(range(steps + 1), repeat=k) if sum(c) == steps]) / steps
    best = math.inf
    for first in rows:  # one chunk per first row keeps memory small
        grids = np.meshgrid(*[np.arange(len(rows))] * (len(src.predicted) - 1), indexing="ij")
        rest = [rows[g.ravel()] for g in grids]
        channels = np.stack([np.broadcast_to(first, rest[0].shape), *rest], axis=1)  # [n, ŷ, z]
        d = (src.prior[:, None] * src.distortion * channels).sum(axis=(1, 2))
        ok = d <= 1 - accuracy + 1e-12
        if ok.any():
            best = min(best, float(mutual_information(src.prior, channels[ok]).min()))
    return best


# --- a perfect classifier gives the RA bound -----------------------------------------------------------

@pytest.mark.parametrize("counts", [(25, 25, 25, 25), (50, 30, 15, 5), (60, 0, 30, 10)])
def test_a_perfect_classifier_gives_the_ra_bound(counts):
    confusion = np.diag(counts)
    for a in (0.2, 0.55, 0.7, 0.9, 0.99, 1.0):
        assert model_aware_bits(a, confusion) == pytest.approx(bound_bits(a, counts), abs=1e-9)
    assert indirect_source(confusion).bayes_accuracy == 1.0


def test_uniform_perfect_classifier_is_eq4():
    confusion = np.diag([100] * 10)
    for a in (0.3, 0.5, 0.9):
        assert model_aware_bits(a, confusion) == pytest.approx(eq4(10, 1 - a), abs=1e-9)


# --- the symmetric-noise classifier ------------------------------------------------------------------------

@pytest.mark.parametrize(("k", "per_class", "errors"),
                         [(10, 100, 9), (10, 100, 27), (4, 60, 12), (3, 50, 20)])
def test_symmetric_noise_closed_form_matches_blahut_arimoto(k, per_class, errors):
    confusion = symmetric_noise_confusion(k, per_class, errors)
    eps = errors / per_class
    src = indirect_source(confusion)
    assert src.affine is not None
    assert src.bayes_accuracy == pytest.approx(1 - eps)
    for a in np.linspace(1 / k + 0.02, 1 - eps - 0.01, 5):
        closed = symmetric_noise_bits(k, eps, a)
        # the derivation, written out: D_H = (1 − ε − A)/(1 − εK/(K − 1)), then eq. 4
        assert closed == pytest.approx(eq4(k, (1 - eps - a) / (1 - eps * k / (k - 1))), abs=1e-12)
        assert model_aware_bits(a, confusion) == pytest.approx(closed, abs=1e-9)
        # the dense Blahut–Arimoto engine on the surrogate matrix, with its certified bracket
        point = rate_at_distortion(src.prior, 1 - a, src.distortion, tol=1e-8)
        assert point.rate_lower_bits - 1e-9 <= closed <= point.rate_upper_bits + 1e-9
    assert math.isinf(model_aware_bits(1 - eps + 0.01, confusion))
    assert model_aware_bits(1 / k, confusion) == 0.0


def test_symmetric_noise_costs_more_than_the_ra_bound():
    confusion = symmetric_noise_confusion(10, 100, 27)
    for a in (0.5, 0.7, 0.9):
        assert model_aware_bits(a, confusion) > bound_bits(a, [100] * 10) + 0.05


@pytest.mark.parametrize("confusion", [
    [[40, 10], [5, 45]],
    [[30, 20], [10, 40]],
    [[20, 5, 5], [4, 24, 2], [6, 3, 21]],
])
def test_brute_force_on_tiny_alphabets(confusion):
    c = np.array(confusion)
    src = indirect_source(c)
    # K = 3: a coarse grid (1/14) cannot hold the nearly deterministic channels of the steep top
    # of the curve, so it is compared on the lower half
    steps, top = (400, src.bayes_accuracy - 0.02) if len(c) == 2 else (14, (src.zero_rate_accuracy
                                                                            + src.bayes_accuracy) / 2)
    for a in np.linspace(src.zero_rate_accuracy + 0.03, top, 3):
        ba = model_aware_point(a, c, tol=1e-9)
        brute = brute_force(c, a, steps)
        # the grid only contains achievable channels: it can never beat the certified lower end
        assert brute >= ba.rate_lower_bits - 1e-9
        assert brute - ba.rate_bits < (0.01 if len(c) == 2 else 0.04), (a, brute, ba.rate_bits)


# --- properties -----------------------------------------------------------------------------------------

def test_never_below_the_ra_bound_on_random_classifiers():
    rng = np.random.default_rng(7)
    for _ in range(4):
        k = int(rng.integers(2, 6))
        noise = rng.integers(0, 6, size=(k, k))
        confusion = noise + np.diag(rng.integers(5, 40, size=k))
        src = indirect_source(confusion)
        for a in np.linspace(0.0, src.bayes_accuracy, 6):
            ma = model_aware_point(a, confusion)
            assert ma.rate_upper_bits + 1e-9 >= bound_bits(a, confusion.sum(axis=1))


def test_zero_rate_up_to_the_likeliest_true_class():
    confusion = np.array([[50, 10, 0], [5, 20, 5], [2, 3, 5]])
    src = indirect_source(confusion)
    assert src.zero_rate_accuracy == 60 / 100
    assert model_aware_bits(0.6, confusion) == 0.0
    assert model_aware_bits(0.61, confusion) > 0.0


def test_the_largest_accuracy_is_the_bayes_decision_which_can_beat_the_raw_accuracy():
    # a classifier that swaps classes 0 and 1: raw accuracy 0.15, but relabelling its output gives 0.85
    confusion = np.array([[10, 90], [80, 20]])
    src = indirect_source(confusion)
    assert src.raw_accuracy == pytest.approx(0.15)
    assert src.bayes_accuracy == pytest.approx(0.85)
    top = model_aware_bits(0.85, confusion)
    assert math.isfinite(top) and top > 0
    assert math.isinf(model_aware_bits(0.86, confusion))
    # at the Bayes accuracy the code must send the whole (relabelled) output: H(Ŷ)
    q = np.array([90, 110]) / 200
    assert top == pytest.approx(float(-(q * np.log2(q)).sum()), abs=1e-6)


def test_the_curve_runs_from_the_free_accuracy_to_the_bayes_accuracy_and_agrees_with_points():
    confusion = np.array([[99, 0, 1], [3, 90, 7], [0, 8, 92]])
    acc, bits = model_aware_curve(confusion, num_points=40)
    src = indirect_source(confusion)
    assert acc[0] == pytest.approx(src.zero_rate_accuracy) and bits[0] == 0.0
    assert acc[-1] == pytest.approx(src.bayes_accuracy)
    assert np.all(np.diff(acc) >= 0) and np.all(np.diff(bits) >= 0)
    for a, b in zip(acc[5:-1:7], bits[5:-1:7], strict=True):
        assert model_aware_bits(a, confusion) == pytest.approx(b, abs=1e-5)


@pytest.mark.parametrize("bad", [[[1, 2]], [[1, 2], [3]], [[1, -1], [0, 2]], [[0.5, 1], [1, 1]],
                                 [[0, 0], [0, 0]], "text"])
def test_bad_confusion_matrices_are_refused(bad):
    with pytest.raises(UsageError):
        model_aware_bits(0.5, bad)
