"""Run a suite: one dataset, one task model, codecs × operating points; resumable.

Each operating point's record lands at ``<out>/<suite>/<dataset>/<codec>/<point>.json``.
A rerun reuses every record that matches the same data, task model, codec version and
parameters, so an interrupted run loses nothing and duplicates nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from vcmbench.api.codec import CODECS, Codec, CodecContext
from vcmbench.api.dataset import DATASETS, Dataset, DatasetInfo
from vcmbench.api.record import RecordError, ResultRecord, read_record, write_json_atomic
from vcmbench.api.task import TASK_MODELS, TaskContext, TaskModel
from vcmbench.errors import DataError, UsageError
from vcmbench.pipeline.config import CodecEntry, SuiteConfig, load_suite
from vcmbench.pipeline.device import resolve_device
from vcmbench.pipeline.evaluate import evaluate_point, jsonable, reference_accuracy


class LimitedDataset:
    """The first ``n`` samples of a dataset, with a fingerprint and id that say so."""

    def __init__(self, base: Dataset, n: int):
        self._base = base
        self._n = n
        self.info: DatasetInfo = replace(base.info, fingerprint=f"{base.info.fingerprint}:first{n}")

    def __len__(self) -> int:
        return self._n

    def ids(self) -> Sequence[str]:
        return list(self._base.ids())[: self._n]

    def labels(self) -> np.ndarray:
        return self._base.labels()[: self._n]

    def inputs(self, indices: Sequence[int]) -> list[Any]:
        return self._base.inputs(indices)


class LazyDataset:
    """A split loaded on first use: a suite whose codecs never touch the training split
    (a pretrained task model with image codecs) runs without one on disk."""

    def __init__(self, load: Callable[[], Dataset]):
        self._load = load
        self._dataset: Dataset | None = None

    def _get(self) -> Dataset:
        if self._dataset is None:
            self._dataset = self._load()
        return self._dataset

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


def load_dataset(name: str, split: str, data_root: Path | None = None, limit: int | None = None) -> Dataset:
    dataset = DATASETS.get(name)(split, data_root)
    if limit is not None:
        if limit < 1:
            raise UsageError(f"--limit must be at least 1, got {limit}")
        if limit < len(dataset):
            dataset = LimitedDataset(dataset, limit)
    if len(dataset) == 0:
        raise UsageError(f"dataset {name!r} split {split!r} has no samples")
    return dataset


def instantiate(kind: str, cls: type, params: dict[str, Any]) -> Any:
    try:
        return cls(**params)
    except TypeError as exc:
        raise UsageError(f"{kind} {cls.name!r}: bad parameters {params}: {exc}") from exc


def point_slug(params: dict[str, Any]) -> str:
    """A readable, filesystem-safe, unique file stem for an operating point."""
    if not params:
        return "default"
    text = "_".join(f"{k}={v}" for k, v in sorted(params.items()))
    slug = re.sub(r"[^A-Za-z0-9=.,+-]+", "-", text).strip("-")
    digest = hashlib.sha256(json.dumps(jsonable(params), sort_keys=True).encode()).hexdigest()[:8]
    return slug if len(slug) <= 60 and slug == text else f"{slug[:50]}-{digest}"


@dataclass(frozen=True)
class SuiteRun:
    """Everything the codecs of one suite run share."""

    config: SuiteConfig
    dataset: Dataset
    train: Dataset | None
    task_model: TaskModel
    reference_accuracy: float
    run_dir: Path
    cache_dir: Path
    device: str


def prepare_suite(config: SuiteConfig, *, data_root: Path | None, out: Path, limit: int | None,
                  device: str, cache_dir: Path | None = None) -> SuiteRun:
    device = resolve_device(device)
    dataset = load_dataset(config.dataset, config.split, data_root, limit)
    train: Dataset | None = None
    if config.train_split:
        factory, split = DATASETS.get(config.dataset), config.train_split
        train = LazyDataset(lambda: factory(split, data_root))
    task = instantiate("task model", TASK_MODELS.get(config.task_model), config.task_params)
    cache = cache_dir or out / "cache"
    weights = Path(config.task_weights) if config.task_weights else None
    task.prepare(TaskContext(train=train, cache_dir=cache, device=device, seed=config.seed, weights=weights))
    folder = dataset.info.id if limit is None or len(dataset) == _full_len(dataset) else (
        f"{dataset.info.id}-first{len(dataset)}")
    run_dir = out / config.suite / folder
    ref = _cached_reference(run_dir, dataset, task, config.batch_size)
    return SuiteRun(config, dataset, train, task, ref, run_dir, cache, device)


def _full_len(dataset: Dataset) -> int:
    return len(dataset._base) if isinstance(dataset, LimitedDataset) else len(dataset)


def _cached_reference(run_dir: Path, dataset: Dataset, task: TaskModel, batch_size: int) -> float:
    """The uncompressed accuracy, computed once per (data, task model) and kept beside the records."""
    path = run_dir / "reference.json"
    key = {"fingerprint": dataset.info.fingerprint, "task_model": task.id, "version": task.version,
           "params": jsonable(task.params)}
    if path.is_file():
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
            if cached.get("key") == key:
                return float(cached["accuracy"])
        except (ValueError, KeyError, TypeError):
            pass
    accuracy = reference_accuracy(task, dataset, batch_size)
    write_json_atomic(path, {"key": key, "accuracy": accuracy})
    return accuracy


def _reusable(path: Path, run: SuiteRun, codec: Codec) -> ResultRecord | None:
    if not path.is_file():
        return None
    try:
        record = read_record(path)
    except RecordError:
        return None
    same = (record.status == "ok"
            and record.dataset.fingerprint == run.dataset.info.fingerprint
            and record.task_model.id == run.task_model.id
            and record.task_model.params == jsonable(run.task_model.params)
            and record.codec.name == codec.name and record.codec.version == codec.version
            and record.codec.params == jsonable(codec.params)
            and record.samples_file is not None and (path.parent / record.samples_file).is_file())
    return record if same else None


def codec_entries(config: SuiteConfig, names: Sequence[str] | None) -> list[CodecEntry]:
    """The suite's codecs, or only those named; a name the suite lacks runs its default grid."""
    if not names:
        return list(config.codecs)
    by_name = {e.name: e for e in config.codecs}
    return [by_name.get(n, CodecEntry(name=n, points=None)) for n in names]


def run_suite(config: SuiteConfig | str, *, data_root: Path | None = None, out: Path = Path("results"),
              limit: int | None = None, codecs: Sequence[str] | None = None, device: str = "auto",
              cache_dir: Path | None = None, progress: bool = True,
              log: Callable[[str], None] | None = None) -> list[ResultRecord]:
    """Evaluate every operating point of the suite; return all records (reused or new)."""
    if isinstance(config, str):
        config = load_suite(config)
    log = log or (lambda line: print(line, file=sys.stderr))
    entries = codec_entries(config, codecs)
    classes = {e.name: CODECS.get(e.name) for e in entries}  # unknown names fail before any work
    run = prepare_suite(config, data_root=data_root, out=out, limit=limit, device=device, cache_dir=cache_dir)
    log(f"{config.suite}: {run.dataset.info.id} ({len(run.dataset)} samples), task model "
        f"{run.task_model.id} uncompressed accuracy {run.reference_accuracy:.4f}")
    ctx = CodecContext(
        task_model=run.task_model, train=run.train, num_classes=run.dataset.info.num_classes,
        train_prior_counts=_counts(run.train, run.dataset.info.num_classes), device=run.device,
        cache_dir=run.cache_dir, seed=config.seed,
    )
    records: list[ResultRecord] = []
    for entry in entries:
        cls = classes[entry.name]
        for point in entry.points if entry.points is not None else cls.operating_points():
            codec = instantiate("codec", cls, {**entry.params, **point})
            path = run.run_dir / entry.name / f"{point_slug(codec.params)}.json"
            record = _reusable(path, run, codec)
            status = "reused"
            if record is None:
                record = evaluate_point(
                    codec, run.dataset, run.task_model, suite=config.suite,
                    reference_accuracy=run.reference_accuracy, out_path=path, codec_context=ctx,
                    batch_size=config.batch_size, device=run.device, seed=config.seed, progress=progress,
                )
                status = record.status
            log(_summary(record, status))
            records.append(record)
    return records


def _counts(train: Dataset | None, num_classes: int) -> tuple[int, ...]:
    """Training label counts, or () when there is no training split (on disk)."""
    if train is None:
        return ()
    try:
        labels = train.labels()
    except DataError:
        return ()
    return tuple(int(c) for c in np.bincount(labels, minlength=num_classes))


def _summary(record: ResultRecord, status: str) -> str:
    params = " ".join(f"{k}={v}" for k, v in record.codec.params.items())
    head = f"  {record.codec.name:<22} {params:<28}"
    if record.metrics is None:
        return f"{head} FAILED: {record.error}"
    m = record.metrics
    return f"{head} {m.bits_per_sample:10.3f} bits/sample  accuracy {m.accuracy:.4f}  [{status}]"
