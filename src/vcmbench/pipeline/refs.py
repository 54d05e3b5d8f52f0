"""What a record says about its data, task model and codec: built in one place.

The same builders serve writing a record and deciding whether an old record can be reused: a
record is reused only when the descriptions this run would write are exactly those it holds
(see :mod:`vcmbench.pipeline.reuse`), so anything a result depends on belongs here.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np

import vcmbench
from vcmbench.api.codec import Codec, CodecContext
from vcmbench.api.dataset import Dataset
from vcmbench.api.record import CodecRef, DatasetRef, TaskRef
from vcmbench.api.task import TaskModel


def jsonable(value: Any) -> Any:
    """Parameters as plain JSON values (paths and numpy scalars become str/number)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def dataset_ref(dataset: Dataset, codec_context: CodecContext | None = None) -> DatasetRef:
    """The evaluated samples, and the training split the context was given (shared free)."""
    info = dataset.info
    counts = np.bincount(dataset.labels(), minlength=info.num_classes).astype(int).tolist()
    train_counts = list(codec_context.train_prior_counts) if codec_context is not None else []
    return DatasetRef(
        id=info.id, split=info.split, fingerprint=info.fingerprint, num_classes=info.num_classes,
        samples=len(dataset), prior_counts=counts, pixels_per_sample=info.pixels_per_sample,
        points_per_sample=info.points_per_sample,
        train_fingerprint=codec_context.train_fingerprint if codec_context is not None else None,
        train_prior_counts=[int(c) for c in train_counts] or None,
    )


# Where :func:`vcmbench.pipeline.evaluate.reference_result` leaves a task model's uncompressed scores.
REFERENCE_SCORES_ATTR = "_vcmbench_reference_scores"


def task_ref(task_model: TaskModel, reference_accuracy: float,
             reference_scores: Mapping[str, float] | None = None,
             confusion: Sequence[Sequence[int]] | None = None) -> TaskRef:
    """The task model as records describe it: identity, parameters, its metric and its ceiling.

    ``reference_scores`` are its scores on uncompressed input; None takes those it was last
    measured with on its test split (kept on the instance by ``reference_result``), if exactly
    one split was measured, else none. ``confusion`` is its confusion matrix on uncompressed input
    (counts, true class by row), from which the model-aware bound is computed.
    """
    if reference_scores is None:
        known = task_model.__dict__.get(REFERENCE_SCORES_ATTR, {})
        reference_scores = next(iter(known.values())) if len(known) == 1 else {}
    return TaskRef(id=task_model.id, version=task_model.version, params=jsonable(task_model.params),
                   reference_accuracy=reference_accuracy, fingerprint=task_model.fingerprint(),
                   metric=task_model.metric,
                   reference_scores={str(k): float(v) for k, v in reference_scores.items()},
                   confusion=None if confusion is None else [[int(c) for c in row] for row in confusion])


def codec_ref(codec: Codec, identity: Mapping[str, Any] | None = None, *, prepared: bool = True) -> CodecRef:
    """The codec's name, version and parameters, its class and the distribution that ships it.

    ``identity`` is what :meth:`Codec.identity` said after ``prepare`` (a checkpoint's hash).
    ``prepared=False`` (a point that failed before or during ``prepare``) leaves out what only a
    prepared codec can say: its complexity.
    """
    qualname, package, version = codec_origin(type(codec))
    return CodecRef(name=codec.name, version=codec.version, params=jsonable(codec.params),
                    granularity=codec.granularity, decodes_to=codec.decodes_to, qualname=qualname,
                    package=package, package_version=version, identity=jsonable(dict(identity or {})),
                    libraries={str(k): str(v) for k, v in codec.libraries().items()},
                    complexity={str(k): float(v) for k, v in codec.complexity().items()} if prepared else {})


def codec_origin(cls: type) -> tuple[str, str | None, str | None]:
    """``("module:Class", distribution, version)``; the distribution is None for code outside one.

    A built-in codec is vcmbench's (its version is this vcmbench's); a plugin's distribution is
    the installed one that provides its top-level module, read from the installed metadata at
    every call, so a reinstalled plugin is seen as the new version it is.
    """
    module = cls.__module__
    qualname = f"{module}:{cls.__qualname__}"
    top = module.partition(".")[0]
    if top == "vcmbench":
        return qualname, "vcmbench", vcmbench.__version__
    name = _distribution_of(module)
    if name is None:
        return qualname, None, None
    try:
        return qualname, name, importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return qualname, None, None


def _distribution_of(module: str) -> str | None:
    top = module.partition(".")[0]
    names = sorted(set(_top_level_distributions().get(top, ())))
    if len(names) > 1:  # a namespace shared by several distributions: the one holding the file
        relative = module.replace(".", "/")
        holding = [n for n in names if any(str(f).startswith(relative) for f in _files(n))]
        names = holding or names
    if names:
        return names[0]
    try:  # an editable install maps no top-level names; its distribution is often named after them
        return importlib.metadata.distribution(top.replace("_", "-")).metadata["Name"]
    except importlib.metadata.PackageNotFoundError:
        return None


@cache
def _top_level_distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _files(distribution: str) -> list[Any]:
    try:
        return list(importlib.metadata.distribution(distribution).files or ())
    except importlib.metadata.PackageNotFoundError:
        return []
