"""What every point-cloud dataset shares: the task input, its normalisation and its DatasetInfo.

A point cloud is a float32 array of shape (points, 3). Clouds are centred on their mean and
scaled into the unit sphere (PointNet++'s ``pc_normalize``), whatever the source, so that a
classifier and a codec see the same kind of input from every layout. The number of points per
cloud is a dataset parameter (default 1024, as in PointNet and the paper's Fig. 5); it is
recorded as ``points_per_sample``, so records carry bits per point.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vcmbench.api.dataset import DatasetInfo, fingerprint_arrays
from vcmbench.errors import UsageError

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
