"""Shared benchmark inputs: real photographs, so codec speeds are not measured on noise."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_sample_images


def photo_crops(count: int, size: int = 224, seed: int = 0) -> list[np.ndarray]:
    """``count`` different size×size RGB crops of scikit-learn's two bundled photographs."""
    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        photo = photos[i % len(photos)]
        y, x = rng.integers(0, photo.shape[0] - size), rng.integers(0, photo.shape[1] - size)
        out.append(np.ascontiguousarray(photo[y:y + size, x:x + size]))
    return out
