"""What every point-cloud dataset shares: the task input, its normalisation and its DatasetInfo.

A point cloud is a float32 array of shape (points, 3). Clouds are centred on their mean and
scaled into the unit sphere (PointNet++'s ``pc_normalize``), whatever the source, so that a
classifier and a codec see the same kind of input from every layout. The number of points per
cloud is a dataset parameter (default 1024, as in PointNet and the paper's Fig. 5); it is
recorded as ``points_per_sample``, so records carry bits per point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from vcmbench.api.dataset import DatasetInfo, fingerprint_arrays
from vcmbench.errors import UsageError

if TYPE_CHECKING:
    import torch

DEFAULT_POINTS = 1024
MAX_POINTS = 1 << 20  # a sanity bound on the parameter (ModelNet40 files hold 2,048 or 10,000)


def check_points_param(points: object) -> int:
    """The ``points`` dataset parameter as a positive integer, or UsageError."""
    if isinstance(points, bool) or not isinstance(points, int | np.integer) or not 1 <= points <= MAX_POINTS:
        raise UsageError(f"points (per cloud) must be an integer in 1..{MAX_POINTS}, got {points!r}")
    return int(points)


def normalize_cloud(points: np.ndarray) -> np.ndarray:
    """Centred on the mean and scaled so the farthest point is at distance 1 (float32)."""
    p = np.asarray(points, dtype=np.float64)
    p = p - p.mean(axis=0)
    radius = np.linalg.norm(p, axis=1).max()
    return (p / radius if radius > 0 else p).astype(np.float32)


def point_cloud_info(benchmark_id: str, split: str, clouds: np.ndarray, labels: np.ndarray,
                     class_names: Sequence[str], version: str = "1") -> DatasetInfo:
    """The DatasetInfo of an in-memory split: content fingerprint, points per cloud, class names."""
    return DatasetInfo(id=benchmark_id, split=split, num_classes=len(class_names),
                       fingerprint=fingerprint_arrays(clouds, labels), input_kind="point_cloud",
                       points_per_sample=int(clouds.shape[1]), class_names=tuple(class_names),
                       version=version)


def as_cloud(x: object) -> np.ndarray:
    """One task input as a float32 (P, 3) array, or UsageError saying what it was instead."""
    a = np.asarray(x)
    if a.ndim != 2 or a.shape[1] != 3 or a.shape[0] < 1:
        raise UsageError(f"expected a point cloud of shape (points, 3), got an array of shape {a.shape}")
    return np.ascontiguousarray(a, dtype=np.float32)


def stack_clouds(xs: Sequence[object]) -> np.ndarray:
    """A batch of clouds as one float32 array (B, P_max, 3); smaller clouds repeat their own points.

    Repeating points changes nothing for an order-invariant max-pool network (PointNet, the
    learned codec's analysis): a cloud decoded with fewer points than another needs no resampling.
    """
    clouds = [as_cloud(x) for x in xs]
    if not clouds:
        raise UsageError("empty batch of point clouds")
    most = max(len(c) for c in clouds)
    out = np.empty((len(clouds), most, 3), dtype=np.float32)
    for i, c in enumerate(clouds):
        out[i] = c if len(c) == most else c[np.arange(most) % len(c)]
    return out


def augment_clouds(x: torch.Tensor, points: int | None, augment: bool) -> torch.Tensor:
    """Training-time view of a batch B×P×3: ``points`` random points (one draw for the batch) and,
    if ``augment``, a random turn about the vertical axis, an anisotropic scale in 0.8-1.25 and
    jitter of 0.01. Drawn from torch's global generator, which the shared training loop reseeds
    every epoch, so training stays deterministic and resumable. Task models and codecs share it,
    so both learn from the same kind of views.
    """
    import torch

    if points is not None and points < x.shape[1]:
        x = x[:, torch.randperm(x.shape[1])[:points]]
    if not augment:
        return x
    n = len(x)
    angle = torch.rand(n) * 2 * torch.pi
    c, s = torch.cos(angle), torch.sin(angle)
    rot = torch.zeros(n, 3, 3)
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1], rot[:, 2, 2] = c, -s, s, c, 1.0
    scale = 0.8 + 0.45 * torch.rand(n, 1, 3)
    return torch.bmm(x, rot.to(x)) * scale.to(x) + 0.01 * torch.randn_like(x)
