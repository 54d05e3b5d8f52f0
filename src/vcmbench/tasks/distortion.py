"""Metrics of codecs that decode to the input: distortion (MSE, PSNR, SSIM / MS-SSIM) and the
classification term of R(D, C) (the cross-entropy of a fixed classifier on the reconstructions).

Conventions (every number is a dataset-level aggregate, accumulated batch by batch):

* ``mse``: mean squared error over every pixel value of the split, in the input's own units
  (0..255 for uint8 images).
* ``psnr``: 10·log10(peak² / mse) with that split-wide mse, peak 255 for uint8 inputs and 1 for
  float inputs in [0, 1]. This is the PSNR of the mean error, not the mean of per-image PSNRs
  (CompressAI's evaluation convention): the per-image mean is +inf as soon as one image is
  reconstructed exactly, which small images at high rates do. Not reported when mse = 0.
* ``ms_ssim``: MS-SSIM (Wang et al. 2003; 5 scales, the standard weights, 11-tap Gaussian window
  of σ = 1.5) through the maintained ``pytorch_msssim`` implementation, averaged over images.
  It needs the smaller image side above (11 − 1)·2⁴ = 160 pixels (four halvings of the image
  must leave room for the window); smaller images such as MNIST's 28×28 get ``ssim`` instead:
  single-scale SSIM with the same standard window (a valid 18×18 map on 28×28), averaged over
  images. A smaller window or fewer scales would make a number called MS-SSIM that no paper's
  MS-SSIM can be compared with, so none is reported.
* ``cross_entropy_bits``: mean over samples of −log2 p_c(s | x̂), p_c the suite's (fixed,
  pre-trained) task model, s the true label. It estimates H_c(S | X̂), the classification term
  of the rate-distortion-classification function; for any classifier it is an upper bound on
  the true conditional entropy H(S | X̂) (cross-entropy ≥ entropy). Reported only for task models
  that give class probabilities (:func:`class_log2_probabilities`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vcmbench.api.task import TaskModel
from vcmbench.errors import UsageError

SSIM_WINDOW = 11  # the standard Gaussian window (Wang et al. 2004), as pytorch_msssim defaults it
SSIM_SIGMA = 1.5
MS_SSIM_SCALES = 5
MS_SSIM_MIN_SIDE = (SSIM_WINDOW - 1) * 2 ** (MS_SSIM_SCALES - 1) + 1  # 161: pytorch_msssim's requirement


def peak_of(x: np.ndarray) -> float:
    """The largest possible pixel value: 255 for uint8, 1 for float images in [0, 1]."""
    if x.dtype == np.uint8:
        return 255.0
    if np.issubdtype(x.dtype, np.floating):
        return 1.0
    raise UsageError(f"distortion metrics need uint8 or float images, got dtype {x.dtype}")


def psnr_from_mse(mse: float, peak: float) -> float:
    """10·log10(peak² / mse) in dB; mse must be positive (identical images have no finite PSNR)."""
    if not mse > 0:
        raise UsageError("PSNR is infinite for identical images (mse = 0)")
    return 10.0 * math.log10(peak * peak / mse)


def _nchw(images: Sequence[Any]) -> np.ndarray:
    """A batch as float64 N×C×H×W, values unscaled (H×W, H×W×C and C×H×W arrays accepted)."""
    batch = np.stack([np.asarray(x) for x in images]).astype(np.float64)
    if batch.ndim == 3:
        return batch[:, None]
    if batch.ndim == 4 and batch.shape[-1] in (1, 3, 4) and batch.shape[1] not in (1, 3, 4):
        return np.moveaxis(batch, -1, 1)
    if batch.ndim == 4:
        return batch
    raise UsageError(f"distortion metrics need images, got a batch of shape {batch.shape}")


def structural_similarity(originals: Sequence[Any], reconstructions: Sequence[Any], peak: float
                          ) -> tuple[str, np.ndarray] | None:
    """("ms_ssim" or "ssim", per-image values) by the size rule of the module notes; None if too small."""
    x, y = _nchw(originals), _nchw(reconstructions)
    side = min(x.shape[-2:])
    if side < SSIM_WINDOW:
        return None
    import torch
    from pytorch_msssim import ms_ssim, ssim

    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    win = gaussian_window(x.shape[1])
    if side >= MS_SSIM_MIN_SIDE:
        return "ms_ssim", ms_ssim(tx, ty, data_range=peak, size_average=False, win=win).numpy()
    return "ssim", ssim(tx, ty, data_range=peak, size_average=False, win=win).numpy()


def gaussian_window(channels: int) -> Any:
    """The standard 11-tap, σ = 1.5 window in float64, in pytorch_msssim's layout (C×1×1×11).

    The library builds its default window in float32, whose taps sum to 1 only within 1e-7: on
    flat regions that leaves a spurious variance of order peak²·1e-7, visible in the 5th digit.
    """
    import torch

    t = torch.arange(SSIM_WINDOW, dtype=torch.float64) - SSIM_WINDOW // 2
    g = torch.exp(-(t**2) / (2 * SSIM_SIGMA**2))
    return (g / g.sum()).reshape(1, 1, 1, -1).repeat(channels, 1, 1, 1)


@dataclass
class DistortionTally:
    """Running sums over batches; :meth:`scores` gives the dataset-level numbers of the module notes."""

    squared_error: float = 0.0
    values: int = 0
    peak: float | None = None
    similarity_name: str | None = None
    similarity_sum: float = 0.0
    similarity_count: int = 0

    def add(self, originals: Sequence[Any], reconstructions: Sequence[Any]) -> None:
        if len(originals) != len(reconstructions):
            raise UsageError(f"{len(originals)} originals but {len(reconstructions)} reconstructions")
        if not len(originals):
            return
        first = np.asarray(originals[0])
        peak = peak_of(first)
        if self.peak is not None and peak != self.peak:
            raise UsageError("images of different value ranges in one split")
        self.peak = peak
        x, y = _nchw(originals), _nchw(reconstructions)
        if x.shape != y.shape:
            raise UsageError(f"reconstructions of shape {y.shape[1:]} for images of shape {x.shape[1:]}")
        self.squared_error += float(((x - y) ** 2).sum())
        self.values += x.size
        found = structural_similarity(originals, reconstructions, peak)
        if found is not None:
            name, values = found
            if self.similarity_name not in (None, name):
                raise UsageError("images of different sizes in one split (ssim and ms_ssim mixed)")
            self.similarity_name = name
            self.similarity_sum += float(values.sum())
            self.similarity_count += len(values)

    def scores(self) -> dict[str, float]:
        if not self.values or self.peak is None:
            return {}
        mse = self.squared_error / self.values
        out = {"mse": mse}
        if mse > 0:
            out["psnr"] = psnr_from_mse(mse, self.peak)
        if self.similarity_name and self.similarity_count:
            out[self.similarity_name] = self.similarity_sum / self.similarity_count
        return out


def class_log2_probabilities(task_model: TaskModel, inputs: Sequence[Any]) -> np.ndarray | None:
    """log2 p_c(class | input), N×K, from a task model that gives probabilities; None otherwise.

    A task model offers them through ``predict_log_proba(inputs)`` (natural log, N×K, as
    scikit-learn names it). ``mnist-cnn`` predates that method and is read through its logits.
    """
    method = getattr(task_model, "predict_log_proba", None)
    if callable(method):
        log_p = np.asarray(method(list(inputs)), dtype=np.float64)
        return log_p / math.log(2)
    from vcmbench.tasks.mnist_cnn import MnistCNN

    if isinstance(task_model, MnistCNN):
        import torch

        from vcmbench.training.inputs import to_image_batch

        with torch.no_grad():
            logits = task_model.tail(None)(to_image_batch(list(inputs), 1))
            return (torch.log_softmax(logits.double(), dim=1) / math.log(2)).numpy()
    return None


@dataclass
class CrossEntropyTally:
    """Mean −log2 p_c(true label | reconstruction) over batches (None once any batch had no probabilities)."""

    bits: float = 0.0
    samples: int = 0
    available: bool = True

    def add(self, task_model: TaskModel, reconstructions: Sequence[Any], labels: np.ndarray) -> None:
        if not self.available or not len(reconstructions):
            return
        log_p = class_log2_probabilities(task_model, reconstructions)
        if log_p is None:
            self.available = False
            return
        labels = np.asarray(labels, dtype=np.int64)
        if log_p.shape != (len(labels), log_p.shape[1]) or labels.max() >= log_p.shape[1]:
            raise UsageError(f"class probabilities of shape {log_p.shape} for {len(labels)} labels")
        self.bits -= float(log_p[np.arange(len(labels)), labels].sum())
        self.samples += len(labels)

    def scores(self) -> dict[str, float]:
        if not self.available or not self.samples or not math.isfinite(self.bits):
            return {}
        return {"cross_entropy_bits": self.bits / self.samples}
