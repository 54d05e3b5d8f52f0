"""The dataset contract: numbered samples with an id, a task input and an integer label."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vcmbench.api.registry import Registry


@dataclass(frozen=True)
class DatasetInfo:
    """What every result records about the data it was measured on."""

    id: str  # benchmark id, e.g. "mnist-5k" (the embedded subset) or "mnist" (full)
    split: str  # "train" | "test" | "val"
    num_classes: int
    fingerprint: str  # sha256 over the content, so a changed file never passes as the same data
    input_kind: str = "image"  # "image" | "point_cloud" | "features"
    pixels_per_sample: int | None = None  # width × height, for bits per pixel
    points_per_sample: int | None = None  # for bits per point
    class_names: tuple[str, ...] = field(default=(), repr=False)
    version: str = "1"


@runtime_checkable
class Dataset(Protocol):
    """A finite, indexable split. ``inputs(idx)`` returns the task inputs for those indices."""

    info: DatasetInfo

    def __len__(self) -> int: ...

    def ids(self) -> Sequence[str]: ...

    def labels(self) -> np.ndarray: ...

    def inputs(self, indices: Sequence[int]) -> list[Any]: ...


class ArrayDataset:
    """A dataset held in memory: an array of inputs (N, ...) and their labels (N,)."""

    def __init__(self, info: DatasetInfo, inputs: np.ndarray, labels: np.ndarray,
                 ids: Sequence[str] | None = None):
        if len(inputs) != len(labels):
            raise ValueError(f"{len(inputs)} inputs but {len(labels)} labels")
        self.info = info
        self._inputs = inputs
        self._labels = np.asarray(labels, dtype=np.int64)
        self._ids = list(ids) if ids is not None else [f"{info.split}-{i}" for i in range(len(inputs))]

    def __len__(self) -> int:
        return len(self._labels)

    def ids(self) -> Sequence[str]:
        return self._ids

    def labels(self) -> np.ndarray:
        return self._labels

    def inputs(self, indices: Sequence[int]) -> list[Any]:
        return [self._inputs[i] for i in indices]


def fingerprint_arrays(*arrays: np.ndarray) -> str:
    """sha256 of arrays' dtype, shape and bytes: the content identity of an in-memory split."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


# A dataset factory: (split, data_root or None for the embedded default) -> Dataset.
DatasetFactory = Callable[[str, Path | None], Dataset]

DATASETS: Registry[DatasetFactory] = Registry(
    "dataset", "vcmbench.datasets", builtin_modules=["vcmbench.datasets"]
)
register_dataset = DATASETS.register
