"""Reading a split's inputs ahead of the work: DataLoader workers decode while the device computes.

On a GPU the task model is fast and reading (decoding ImageNet's JPEG files) becomes the bottleneck,
so with ``loader_workers > 0`` the batches (or blocks) a measurement asks for are read by a
``torch.utils.data.DataLoader`` with that many worker processes, in order, a few batches ahead; with
``pin`` (a CUDA device) a batch of same-shape arrays arrives in page-locked memory, from which a
copy to the device can run asynchronously. With ``loader_workers = 0`` (the default on the CPU)
inputs are read in the loop, exactly as before. Either way the inputs are the same arrays.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vcmbench.api.dataset import Dataset

PREFETCH = 2  # batches each loader worker reads ahead


def default_loader_workers(device: str) -> int:
    """Loader processes for a device: none on the CPU (its cores code and classify), up to 4 with a GPU."""
    if not device.startswith("cuda"):
        return 0
    return max(1, min(4, (os.cpu_count() or 2) - 1))


class _Reader:
    """A map-style dataset whose items are whole batches: ``reader[idx]`` is ``dataset.inputs(idx)``."""

    def __init__(self, dataset: Dataset, pin: bool):
        self.dataset = dataset
        self.pin = pin

    def __getitem__(self, indices: Sequence[int]) -> Any:
        inputs = self.dataset.inputs(list(indices))
        if self.pin and inputs and all(isinstance(x, np.ndarray) and x.shape == inputs[0].shape
                                       and x.dtype == inputs[0].dtype for x in inputs):
            import torch

            return torch.from_numpy(np.stack(inputs))  # pinned by the loader, in the main process
        return inputs


def _as_is(batch: Any) -> Any:
    return batch


def input_batches(dataset: Dataset, index_batches: Sequence[list[int]], *, workers: int = 0,
                  pin: bool = False) -> Iterator[list[Any]]:
    """``dataset.inputs(idx)`` for each index list, in order; read ahead by ``workers`` processes."""
    if workers <= 0:
        for idx in index_batches:
            yield dataset.inputs(idx)
        return
    from torch.utils.data import DataLoader

    loader = DataLoader(_Reader(dataset, pin), batch_size=None, sampler=list(index_batches),
                        num_workers=workers, collate_fn=_as_is, pin_memory=pin, prefetch_factor=PREFETCH)
    for batch in loader:
        if isinstance(batch, list):
            yield batch
        else:  # a pinned (N, ...) tensor: the task model gets its rows as arrays (views, no copy)
            yield list(batch.numpy())


@dataclass(frozen=True)
class Reading:
    """How a measurement reads its inputs: ``workers`` loader processes (0: in the loop), ``pin``ned."""

    workers: int = 0
    pin: bool = False

    @classmethod
    def for_device(cls, device: str, workers: int | None = None) -> Reading:
        """``workers`` loader processes (None: the device's default), pinned on CUDA."""
        count = default_loader_workers(device) if workers is None else workers
        return cls(count, pin=device.startswith("cuda") and count > 0)

    def batches(self, dataset: Dataset, index_batches: Sequence[list[int]]) -> Iterator[list[Any]]:
        return input_batches(dataset, index_batches, workers=self.workers, pin=self.pin)
