"""Distortion and classification metrics against closed forms and an independent SSIM computation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from vcmbench.api.task import TaskModel
from vcmbench.errors import UsageError
from vcmbench.tasks.distortion import (
    MS_SSIM_MIN_SIDE,
    CrossEntropyTally,
    DistortionTally,
    class_log2_probabilities,
    psnr_from_mse,
)

C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def scores(originals, reconstructions) -> dict[str, float]:
    tally = DistortionTally()
    tally.add(list(originals), list(reconstructions))
    return tally.scores()


@pytest.mark.parametrize("offset", [1, 3, 17])
def test_constant_offset_gives_the_closed_form_psnr(offset: int) -> None:
    rng = np.random.default_rng(offset)
    x = rng.integers(0, 200, size=(5, 28, 28), dtype=np.uint8)
    s = scores(x, x + np.uint8(offset))
    assert s["mse"] == offset**2
    assert s["psnr"] == pytest.approx(20 * math.log10(255 / offset), rel=1e-12)


def test_float_images_use_peak_one() -> None:
    x = np.full((2, 4, 4), 0.5)
    assert scores(x, x + 0.1)["psnr"] == pytest.approx(20.0, rel=1e-9)  # 10·log10(1 / 0.01)


def test_psnr_is_of_the_split_wide_mse_and_identical_images_have_none() -> None:
    x = np.zeros((2, 12, 12), dtype=np.uint8)
    y = x.copy()
    y[1] += 10  # one image exact, one off by 10: mse 50, not a mean of an infinite and a finite PSNR
    s = scores(x, y)
    assert s["mse"] == 50 and s["psnr"] == pytest.approx(10 * math.log10(255**2 / 50))
    same = scores(x, x)
    assert same["mse"] == 0 and "psnr" not in same and same["ssim"] == pytest.approx(1.0)
    with pytest.raises(UsageError):
        psnr_from_mse(0.0, 255)


def test_batches_accumulate_to_the_whole() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(9, 28, 28), dtype=np.uint8)
    y = np.clip(x.astype(int) + rng.integers(-20, 21, size=x.shape), 0, 255).astype(np.uint8)
    tally = DistortionTally()
    for i in range(0, 9, 4):
        tally.add(list(x[i:i + 4]), list(y[i:i + 4]))
    assert tally.scores() == pytest.approx(scores(x, y), rel=1e-12)


@pytest.mark.parametrize(("a", "b"), [(100, 120), (30, 200), (0, 255)])
def test_ssim_of_flat_images_is_the_luminance_term(a: int, b: int) -> None:
    """Flat images have no contrast or structure: SSIM = (2ab + C1) / (a² + b² + C1)."""
    x = np.full((1, 28, 28), a, dtype=np.uint8)
    y = np.full((1, 28, 28), b, dtype=np.uint8)
    assert scores(x, y)["ssim"] == pytest.approx((2 * a * b + C1) / (a * a + b * b + C1), rel=1e-9)


def test_ms_ssim_of_flat_large_images_is_the_coarsest_luminance_term() -> None:
    """Flat images: every scale's contrast-structure term is 1, so MS-SSIM = l^w5 (w5 = 0.1333)."""
    a, b = 90, 160
    side = 176  # > MS_SSIM_MIN_SIDE, and even at every halving (odd sides get zero-padded borders)
    assert side >= MS_SSIM_MIN_SIDE
    x = np.full((1, side, side), a, dtype=np.uint8)
    y = np.full((1, side, side), b, dtype=np.uint8)
    s = scores(x, y)
    assert "ssim" not in s
    assert s["ms_ssim"] == pytest.approx(((2 * a * b + C1) / (a * a + b * b + C1)) ** 0.1333, rel=1e-9)
    small = MS_SSIM_MIN_SIDE - 1
    below = scores(x[:, :small, :small], y[:, :small, :small])
    assert "ms_ssim" not in below and "ssim" in below  # too small for 5 scales: single-scale SSIM


def reference_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM (Wang et al. 2004) written out: 11-tap Gaussian (σ = 1.5) window, valid positions only."""
    t = np.arange(11) - 5
    g = np.exp(-(t**2) / (2 * 1.5**2))
    g /= g.sum()

    def blur(img: np.ndarray) -> np.ndarray:
        rows = np.stack([np.convolve(r, g, mode="valid") for r in img])
        return np.stack([np.convolve(c, g, mode="valid") for c in rows.T]).T

    x, y = x.astype(np.float64), y.astype(np.float64)
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    ssim_map = ((2 * mx * my + C1) * (2 * sxy + C2)) / ((mx**2 + my**2 + C1) * (sxx + syy + C2))
    return float(ssim_map.mean())


def test_ssim_matches_the_formula_on_textured_images() -> None:
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    y = np.clip(x.astype(int) + rng.normal(0, 25, size=x.shape), 0, 255).astype(np.uint8)
    expected = np.mean([reference_ssim(a, b) for a, b in zip(x, y, strict=True)])
    got = scores(x, y)["ssim"]
    assert got == pytest.approx(expected, rel=1e-9)
    assert 0.2 < got < 0.95  # a real, partial similarity: not a degenerate 0 or 1


def test_mixed_value_ranges_and_sizes_are_refused() -> None:
    tally = DistortionTally()
    tally.add([np.zeros((28, 28), np.uint8)], [np.zeros((28, 28), np.uint8)])
    with pytest.raises(UsageError):
        tally.add([np.zeros((28, 28))], [np.zeros((28, 28))])
    with pytest.raises(UsageError):
        tally.add([np.zeros((28, 28), np.uint8)], [np.zeros((27, 28), np.uint8)])


class KnownProbabilities(TaskModel):
    """Gives the class probabilities written into the first row of the input."""

    name = "t-known-probabilities"

    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        return np.array([int(np.argmax(np.asarray(x)[0])) for x in inputs])

    def predict_log_proba(self, inputs: Sequence[Any]) -> np.ndarray:
        return np.log(np.stack([np.asarray(x)[0] for x in inputs]))


def test_cross_entropy_is_minus_log2_of_the_true_class_probability() -> None:
    p = np.array([[0.5, 0.25, 0.125, 0.125], [0.25, 0.25, 0.25, 0.25]])
    inputs = [p[i][None].repeat(2, 0) for i in range(2)]
    tally = CrossEntropyTally()
    tally.add(KnownProbabilities(), inputs, np.array([2, 1]))
    assert tally.scores()["cross_entropy_bits"] == pytest.approx((3 + 2) / 2, rel=1e-12)


def test_cross_entropy_is_not_reported_without_probabilities() -> None:
    class LabelsOnly(TaskModel):
        name = "t-labels-only"

        def predict(self, inputs: Sequence[Any]) -> np.ndarray:
            return np.zeros(len(inputs), dtype=np.int64)

    tally = CrossEntropyTally()
    tally.add(LabelsOnly(), [np.zeros((2, 2))], np.array([0]))
    assert tally.scores() == {}


def test_mnist_cnn_probabilities_come_from_its_logits() -> None:
    import torch

    from vcmbench.tasks.mnist_cnn import MnistCNN
    from vcmbench.tasks.mnist_cnn_net import MnistCNNNet

    torch.manual_seed(0)
    model = MnistCNN()
    model._attach(MnistCNNNet())  # random weights: only the plumbing is under test
    xs = list(np.random.default_rng(0).integers(0, 256, size=(4, 28, 28), dtype=np.uint8))
    log2_p = class_log2_probabilities(model, xs)
    assert log2_p.shape == (4, 10)
    np.testing.assert_allclose(np.exp2(log2_p).sum(1), 1.0, rtol=1e-9)
    np.testing.assert_array_equal(log2_p.argmax(1), model.predict(xs))
