"""The dataset contract: numbered samples with an id, a task input and an integer label.

Detection datasets (``DatasetInfo.task == "detection"``) keep that contract and add their
objects: the integer label of an image is its number of annotated objects (so ``num_classes`` is
the largest count plus one, and the label counts are the split's histogram of objects per image),
and :class:`DetectionDataset` gives the boxes themselves as :class:`Detections`.
"""

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
    # "classification" or "detection". For detection the labels are objects per image (see the
    # module notes) and ``categories`` names the object classes, in class-index order.
    task: str = "classification"
    categories: tuple[str, ...] = field(default=(), repr=False)


@runtime_checkable
class Dataset(Protocol):
    """A finite, indexable split. ``inputs(idx)`` returns the task inputs for those indices."""

    info: DatasetInfo

    def __len__(self) -> int: ...

    def ids(self) -> Sequence[str]: ...

    def labels(self) -> np.ndarray: ...

    def inputs(self, indices: Sequence[int]) -> list[Any]: ...


@dataclass(frozen=True, eq=False)
class Detections:
    """The objects of one image: boxes, class indices and scores (a detector's output or annotations).

    Boxes are ``(n, 4)`` float64 ``x0, y0, x1, y1`` as fractions of the image's width and height
    (0 ≤ x0 ≤ x1 ≤ 1), so a detection means the same thing whatever size the image is coded at;
    pixels are ``box × (width, height)`` of the original image. Classes index the dataset's
    ``categories``; scores lie in [0, 1] (annotations have score 1).
    """

    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "classes", np.asarray(self.classes, dtype=np.int64).reshape(-1))
        object.__setattr__(self, "scores", np.asarray(self.scores, dtype=np.float64).reshape(-1))
        if not len(self.classes) == len(self.scores) == len(boxes):
            raise ValueError(f"{len(boxes)} boxes, {len(self.classes)} classes, {len(self.scores)} scores")

    def __len__(self) -> int:
        return len(self.classes)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), np.zeros(0))

    def problem(self, num_categories: int) -> str | None:
        """Why these cannot be detections of ``num_categories`` classes (None when they can)."""
        b, c, s = self.boxes, self.classes, self.scores
        if not (np.isfinite(b).all() and np.isfinite(s).all()):
            return "non-finite box or score"
        if len(c) and (c.min() < 0 or c.max() >= num_categories):
            return f"class outside 0..{num_categories - 1}"
        if len(s) and (s.min() < 0 or s.max() > 1):
            return "score outside [0, 1]"
        if len(b) and (b.min() < 0 or b.max() > 1 or (b[:, 2] < b[:, 0]).any() or (b[:, 3] < b[:, 1]).any()):
            return "box outside the image or with x1 < x0 / y1 < y0"
        return None


@runtime_checkable
class DetectionDataset(Dataset, Protocol):
    """A detection split: its annotated objects, image sizes and COCO ground truth for COCOeval."""

    def targets(self, indices: Sequence[int]) -> list[Detections]:
        """The annotated objects of those images (crowd regions left out), scores 1."""
        ...

    def image_sizes(self) -> np.ndarray:
        """(N, 2) int64: width and height of every original image, in pixels."""
        ...

    def coco(self) -> Any:
        """The ground truth as a ``pycocotools.coco.COCO`` object (crowd regions included)."""
        ...

    def coco_image_ids(self) -> Sequence[int]:
        """The COCO image id of every sample, in order."""
        ...

    def category_ids(self) -> Sequence[int]:
        """The COCO category id of every class index, in order (class index -> category id)."""
        ...


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
