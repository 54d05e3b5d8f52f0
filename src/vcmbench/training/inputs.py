"""Task inputs (uint8 arrays as datasets give them) to the float batches networks take.

Shared by trainable task models and learned codecs, which must see the same pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from vcmbench.errors import UsageError

MAX_IN_MEMORY_BYTES = 4 * 2**30  # what a training split may take as float32 tensors


def to_chw(x: Any) -> torch.Tensor:
    """One image as a float C×H×W tensor in [0, 1]: H×W, H×W×C (numpy) or C×H×W (torch) accepted."""
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        t = t[None] if t.ndim == 2 else t
        return t.float() / 255.0 if t.dtype == torch.uint8 else t.float()
    a = np.asarray(x)
    scale = 255.0 if a.dtype == np.uint8 else 1.0
    if a.ndim == 2:
        a = a[None]
    elif a.ndim == 3 and a.shape[-1] in (1, 3, 4) and a.shape[0] not in (1, 3):
        a = np.moveaxis(a, -1, 0)[:3]
    elif a.ndim != 3:
        raise UsageError(f"expected an image (H×W or H×W×C), got an array of shape {a.shape}")
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32) / scale)


def to_image_batch(xs: Sequence[Any], channels: int) -> torch.Tensor:
    """A batch N×channels×H×W; grey images are repeated to fill three channels."""
    if not len(xs):
        raise UsageError("empty batch of images")
    ts = [to_chw(x) for x in xs]
    shapes = {tuple(t.shape[1:]) for t in ts}
    if len(shapes) != 1:
        raise UsageError(f"images in one batch must share a size, got {sorted(shapes)}")
    batch = torch.stack(ts)
    if batch.shape[1] != channels:
        if batch.shape[1] == 1:
            batch = batch.expand(-1, channels, -1, -1)
        else:
            raise UsageError(f"expected {channels}-channel images, got {batch.shape[1]} channels")
    return batch


def dataset_tensors(dataset: Any, channels: int,
                    limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A whole (small) split in memory: images N×channels×H×W in [0, 1] and int64 labels."""
    n = len(dataset) if limit is None else min(limit, len(dataset))
    per_image = to_image_batch(dataset.inputs([0]), channels)[0].numel() * 4
    if n * per_image > MAX_IN_MEMORY_BYTES:
        raise UsageError(f"training holds the split in memory: {n} images of {per_image // 1024} KiB need "
                         f"{n * per_image / 2**30:.1f} GiB (limit {MAX_IN_MEMORY_BYTES / 2**30:.0f} GiB); "
                         f"train on a smaller split")
    images = torch.cat([to_image_batch(dataset.inputs(range(i, min(n, i + 1024))), channels)
                        for i in range(0, n, 1024)])
    labels = torch.as_tensor(np.asarray(dataset.labels())[:n], dtype=torch.int64)
    return images, labels
