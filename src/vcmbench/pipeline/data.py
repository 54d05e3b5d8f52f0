"""The splits a run uses: the test split (possibly its first N samples) and the training split.

The training split is what encoder and decoder share for free (trained weights, a learned
prior), and its label counts define every hull's free point (0 bits, always guess its most
likely class). So a run reads its identity and counts up front whenever the suite names one:
labels and a content hash, never pixels (MNIST reads its label file; ImageNet lists its files).
If it is not on disk, both are None and the run goes on: only whoever really needs its data
(a task model to fit, a codec to train) fails, with the loader's message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from vcmbench.api.dataset import DATASETS, Dataset, DatasetInfo
from vcmbench.errors import DataError, UsageError


class LimitedDataset:
    """The first ``n`` samples of a dataset, with a fingerprint and id that say so."""

    def __init__(self, base: Dataset, n: int):
        self._base = base
        self._n = n
        self.info: DatasetInfo = replace(base.info, fingerprint=f"{base.info.fingerprint}:first{n}")

    @property
    def base(self) -> Dataset:
        """The whole split this is a view of (its annotations, sizes, ground truth are indexed alike)."""
        return self._base

    @property
    def full_length(self) -> int:
        return len(self._base)

    def __len__(self) -> int:
        return self._n

    def ids(self) -> Sequence[str]:
        return list(self._base.ids())[: self._n]

    def labels(self) -> np.ndarray:
        return self._base.labels()[: self._n]

    def inputs(self, indices: Sequence[int]) -> list[Any]:
        return self._base.inputs(indices)


class LazyDataset:
    """A split opened on first use: a suite whose codecs never touch the training split
    (a pretrained task model with image codecs) runs without one on disk."""

    def __init__(self, load: Callable[[], Dataset]):
        self._load = load
        self._dataset: Dataset | None = None

    def _get(self) -> Dataset:
        if self._dataset is None:
            self._dataset = self._load()
        return self._dataset

    @property
    def base(self) -> Dataset:
        """The split itself, opened now if it was not yet."""
        return self._get()

    @property
    def info(self) -> DatasetInfo:
        return self._get().info

    def __len__(self) -> int:
        return len(self._get())

    def ids(self) -> Sequence[str]:
        return self._get().ids()

    def labels(self) -> np.ndarray:
        return self._get().labels()

    def inputs(self, indices: Sequence[int]) -> list[Any]:
        return self._get().inputs(indices)


def open_split(name: str, split: str, data_root: Path | None,
               params: dict[str, Any] | None = None) -> Dataset:
    """Call the dataset's factory; parameters it does not take are a one-line error."""
    factory = DATASETS.get(name)
    if not params:
        return factory(split, data_root)
    try:
        return factory(split, data_root, **params)
    except TypeError as exc:
        if "argument" not in str(exc):
            raise
        raise UsageError(f"dataset {name!r} does not take the parameters {params} ({exc})") from exc


def load_dataset(name: str, split: str, data_root: Path | None = None, limit: int | None = None,
                 params: dict[str, Any] | None = None) -> Dataset:
    check_limit(limit)
    dataset = open_split(name, split, data_root, params)
    if limit is not None and limit < len(dataset):
        dataset = LimitedDataset(dataset, limit)
    if len(dataset) == 0:
        raise UsageError(f"dataset {name!r} split {split!r} has no samples")
    return dataset


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}")


def training_split(name: str, split: str | None, data_root: Path | None,
                   params: dict[str, Any] | None = None) -> Dataset | None:
    """The suite's training split, opened lazily; None when the suite names none."""
    if not split:
        return None
    DATASETS.get(name)  # an unknown name fails now, not on first use
    return LazyDataset(lambda: open_split(name, split, data_root, params))


def training_summary(train: Dataset | None, num_classes: int) -> tuple[str | None, tuple[int, ...]]:
    """(fingerprint, label counts) of the training split; (None, ()) when it is not on disk."""
    if train is None:
        return None, ()
    try:
        labels = np.asarray(train.labels())
        fingerprint = train.info.fingerprint
    except DataError:
        return None, ()
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(f"training split {train.info.id}/{train.info.split} has labels outside "
                        f"0..{num_classes - 1}")
    return fingerprint, tuple(int(c) for c in np.bincount(labels, minlength=num_classes))


def is_subset(dataset: Dataset) -> bool:
    return isinstance(dataset, LimitedDataset) and len(dataset) < dataset.full_length
