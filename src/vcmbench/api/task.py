"""The task-model contract: the vision model that receives what a codec decodes.

A classifier predicts integer labels and is measured by accuracy. A task model may produce other
outputs (``output = "detections"``: one :class:`~vcmbench.api.dataset.Detections` per image) and
rank by a dataset-level metric of its own (``metric``, e.g. ``"mAP@[.5:.95]"``, computed by
:meth:`TaskModel.scores`). Records still carry ``accuracy`` and ``correct``: what a sample being
"correct" means is the task model's to say (:meth:`TaskModel.correct`; for detection, the image's
decoded objects form exactly its annotated configuration).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vcmbench.api.dataset import Dataset
from vcmbench.api.registry import Registry


@dataclass(frozen=True)
class TaskContext:
    """What a task model may use to get ready: its training split, a cache folder, a device."""

    train: Dataset | None
    cache_dir: Path
    device: str = "cpu"
    seed: int = 0
    weights: Path | None = None  # a user-named weights file, for models that load rather than train


class TaskModel(ABC):
    """Predicts labels from task inputs, and (optionally) from features at a named split point."""

    name: ClassVar[str] = "?"  # set by the registry
    version: ClassVar[str] = "1"
    # What ``predict`` returns: "label" (int64 array) or "detections" (a list of Detections).
    output: ClassVar[str] = "label"
    # Ranked classes ``predict`` returns per sample: 1, labels of shape (N,); k > 1, an (N, k) int64
    # array, most likely class first (column 0 is the label), so that top-5 accuracy can be scored.
    ranks: ClassVar[int] = 1
    # The metric results are ranked by: "accuracy", or a key of what ``scores`` returns.
    metric: ClassVar[str] = "accuracy"

    def __init__(self, **params: Any):
        self.params: dict[str, Any] = dict(params)

    @property
    def id(self) -> str:
        return self.name

    def prepare(self, ctx: TaskContext) -> None:  # noqa: B027 - optional hook
        """Train or load weights. Called once before any prediction."""

    def fingerprint(self) -> str | None:
        """A content hash of the fitted or loaded model (its weights), once prepared; None if unknown.

        Records carry it, and a rerun reuses a record only when it is unchanged, so a model
        refit on other data never passes as the same one.
        """
        return None

    @abstractmethod
    def predict(self, inputs: Sequence[Any]) -> Any:
        """Labels (int64, shape (N,)) for a batch of task inputs; for ``output = "detections"`` a
        list of N :class:`~vcmbench.api.dataset.Detections`."""

    def check_dataset(self, dataset: Dataset) -> None:  # noqa: B027 - optional hook
        """Refuse (VcmbenchError) a dataset this prepared model cannot be measured on.

        Called before the first prediction on the test split: e.g. a detector whose classes are
        not the dataset's categories.
        """

    def correct(self, dataset: Dataset, predictions: Any) -> np.ndarray:
        """Which samples the predictions (for every sample of ``dataset``, in order) get right (bool)."""
        return self.prediction_labels(predictions) == np.asarray(dataset.labels())

    def scores(self, dataset: Dataset, predictions: Any) -> dict[str, float]:
        """Dataset-level metrics of the predictions beyond accuracy (finite numbers), by name.

        Ranked predictions (``ranks`` >= 5, and not a label codec's single decoded label) give
        ``top5``: the share of samples whose label is among the five most likely classes.
        """
        ranked = np.asarray(predictions)
        if self.output != "label" or ranked.ndim != 2 or ranked.shape[1] < 5 or not len(ranked):
            return {}
        labels = np.asarray(dataset.labels(), dtype=np.int64).reshape(-1, 1)
        return {"top5": float(np.mean(np.any(ranked[:, :5] == labels, axis=1)))}

    def prediction_labels(self, predictions: Any) -> np.ndarray:
        """One integer per sample for the per-sample file, comparable with the dataset's labels.

        A classifier's predicted labels (column 0 of ranked predictions); a detector's number of
        objects in each predicted configuration (the dataset's labels being objects per image).
        """
        labels = np.asarray(predictions, dtype=np.int64)
        return labels[:, 0] if labels.ndim == 2 else labels

    def check_outputs(self, outputs: Sequence[Any], num_classes: int) -> Any:
        """Task outputs decoded by a codec (``decodes_to = "label"``), checked; raise ValueError.

        Labels must be integers in 0..num_classes-1; a detector checks for Detections instead.
        """
        preds = np.asarray(outputs)
        if preds.ndim != 1 or not np.issubdtype(preds.dtype, np.integer):
            raise ValueError("decoded labels are not a flat sequence of integers")
        if preds.size and (preds.min() < 0 or preds.max() >= num_classes):
            raise ValueError(f"decoded label outside 0..{num_classes - 1}")
        return preds.astype(np.int64)

    def features(self, inputs: Sequence[Any], split: str) -> Any:
        """The activations at ``split`` for a batch of inputs (split-computing codecs)."""
        raise NotImplementedError(f"task model {self.name!r} exposes no split points")

    def predict_from_features(self, features: Any, split: str) -> np.ndarray:
        """Run the rest of the model from ``split`` on (decoded) features."""
        raise NotImplementedError(f"task model {self.name!r} exposes no split points")


TASK_MODELS: Registry[type[TaskModel]] = Registry(
    "task model", "vcmbench.task_models", builtin_modules=["vcmbench.tasks"]
)
register_task_model = TASK_MODELS.register
