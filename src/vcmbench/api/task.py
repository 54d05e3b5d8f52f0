"""The task-model contract: the vision model that receives what a codec decodes."""

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
    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        """Labels (int64, shape (N,)) for a batch of task inputs."""

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
