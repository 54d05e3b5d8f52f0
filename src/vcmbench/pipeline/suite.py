"""Run a suite: one dataset, one task model, codecs × operating points; resumable.

Each operating point's record lands at ``<out>/<suite>/<dataset>/<codec>/<point>.json``.
A rerun reuses a record only when everything the result depends on is unchanged (see
:mod:`vcmbench.pipeline.reuse`), so an interrupted run loses nothing and duplicates nothing,
and a changed training split, task model, codec package or checkpoint is measured again.
``force=True`` (``vcmbench run --force``) measures everything again.

Order of work: every check that needs no data first (:mod:`vcmbench.pipeline.plan`), then the
data and the task model, then every encoder gets ready (checkpoints load; they are trained only
with ``train=True``), then the points are measured. The task model classifies each distinct
input once per run (:mod:`vcmbench.tasks.memo`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcmbench.api.codec import Codec, CodecContext, LayeredCodec
from vcmbench.api.dataset import Dataset
from vcmbench.api.record import ResultRecord, TaskRef, write_json_atomic, write_record
from vcmbench.api.task import TASK_MODELS, TaskContext, TaskModel
from vcmbench.errors import UsageError
from vcmbench.pipeline.bitstreams import MANIFEST, bitstream_folder
from vcmbench.pipeline.config import SuiteConfig, load_suite
from vcmbench.pipeline.data import (
    LazyDataset,
    LimitedDataset,
    check_limit,
    is_subset,
    load_dataset,
    training_split,
    training_summary,
)
from vcmbench.pipeline.device import resolve_device
from vcmbench.pipeline.evaluate import Reference, evaluate_point, failed_record, reference_result
from vcmbench.pipeline.loader import Reading
from vcmbench.pipeline.plan import (
    Point,
    check_out_dir,
    codec_entries,
    instantiate,
    plan_points,
    point_slug,
)
from vcmbench.pipeline.points import apply_points
from vcmbench.pipeline.refs import REFERENCE_SCORES_ATTR, codec_ref, dataset_ref, jsonable, task_ref
from vcmbench.pipeline.reuse import reusable
from vcmbench.pipeline.shards import streaming_point
from vcmbench.tasks.memo import memoising

__all__ = ["LazyDataset", "LimitedDataset", "SuiteRun", "codec_entries", "instantiate", "load_dataset",
           "point_slug", "prepare_suite", "run_suite", "untrained_hint"]

# The learned codecs' error for a missing checkpoint names the command that trains it.
TRAIN_COMMAND = "vcmbench train"


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
    train_fingerprint: str | None = None
    train_counts: tuple[int, ...] = ()
    # The task model on uncompressed input beyond accuracy: its scores (e.g. COCO mAP) and, for a
    # classifier, its confusion matrix (TaskRef.reference_scores and TaskRef.confusion).
    reference_scores: dict[str, float] = field(default_factory=dict)
    confusion: list[list[int]] | None = None
    # The reference was measured in this run (not read from reference.json): the task model has
    # already answered every uncompressed input, in the reference's batches.
    reference_fresh: bool = False
    reading: Reading = field(default_factory=Reading)  # loader processes reading ahead, or none

    def task_ref(self) -> TaskRef:
        """The task model as this run's records describe it (what reuse compares against)."""
        return task_ref(self.task_model, self.reference_accuracy, self.reference_scores,
                        confusion=self.confusion)

    def codec_context(self, *, allow_training: bool = False, progress: bool = False) -> CodecContext:
        """What every codec of the run prepares with: the run's task model and training split."""
        return CodecContext(
            task_model=self.task_model, train=self.train, num_classes=self.dataset.info.num_classes,
            train_prior_counts=self.train_counts, device=self.device, cache_dir=self.cache_dir,
            seed=self.config.seed, allow_training=allow_training, progress=progress,
            train_fingerprint=self.train_fingerprint,
        )


def prepare_suite(config: SuiteConfig, *, data_root: Path | None, out: Path, limit: int | None,
                  device: str, cache_dir: Path | None = None, force: bool = False,
                  loader_workers: int | None = None) -> SuiteRun:
    """Load the data, summarise the training split, get the (memoising) task model ready.

    ``loader_workers``: processes reading inputs ahead (None: the device's default, none on the CPU).
    """
    device = resolve_device(device)
    reading = Reading.for_device(device, loader_workers)
    cache = cache_dir or out / "cache"
    parts = open_run(config, data_root=data_root, limit=limit, device=device, cache_dir=cache)
    dataset, task = parts.dataset, parts.task_model
    folder = f"{dataset.info.id}-first{len(dataset)}" if is_subset(dataset) else dataset.info.id
    run_dir = out / config.suite / folder
    ref, fresh = cached_reference(run_dir, dataset, task, config.batch_size, parts.train_fingerprint, force,
                                  reading)
    return SuiteRun(config, dataset, parts.train, task, ref.accuracy, run_dir, cache, device,
                    parts.train_fingerprint, parts.train_counts, dict(ref.scores), ref.confusion, fresh,
                    reading)


@dataclass(frozen=True)
class RunParts:
    """The data and the prepared task model of a run: what every process measuring it opens."""

    dataset: Dataset
    train: Dataset | None
    train_fingerprint: str | None
    train_counts: tuple[int, ...]
    task_model: TaskModel


def open_run(config: SuiteConfig, *, data_root: Path | None, limit: int | None, device: str,
             cache_dir: Path) -> RunParts:
    """Open the test split (first ``limit`` samples), the training split's summary, and the
    memoising task model, prepared; the same in the main process and on every worker."""
    dataset = load_dataset(config.dataset, config.split, data_root, limit, config.dataset_params)
    train = training_split(config.dataset, config.train_split, data_root, config.dataset_params)
    train_fingerprint, train_counts = training_summary(train, dataset.info.num_classes)
    task = instantiate("task model", memoising(TASK_MODELS.get(config.task_model)), config.task_params)
    weights = Path(config.task_weights) if config.task_weights else None
    task.prepare(TaskContext(train=train, cache_dir=cache_dir, device=device, seed=config.seed,
                             weights=weights))
    return RunParts(dataset, train, train_fingerprint, train_counts, task)


REFERENCE_FILE = "reference.json"


def cached_reference(run_dir: Path, dataset: Dataset, task: TaskModel, batch_size: int,
                     train_fingerprint: str | None, force: bool = False,
                     reading: Reading | None = None) -> tuple[Reference, bool]:
    """The task model on uncompressed input (accuracy, scores such as mAP, confusion matrix),
    computed once per (data, task model) and kept beside the records in ``reference.json``.

    A rerun takes all three from the file, so the records it would write describe the task model
    exactly as the stored ones do and are reused. The scores are also left on the task model
    instance, where :func:`vcmbench.pipeline.refs.task_ref` finds them. Also says whether the
    reference was measured now (True) or read from the file (False).
    """
    path = run_dir / REFERENCE_FILE
    key = {"fingerprint": dataset.info.fingerprint, "task_model": task.id, "version": task.version,
           "params": jsonable(task.params), "task_fingerprint": task.fingerprint(),
           "train_fingerprint": train_fingerprint}
    if path.is_file() and not force:
        ref = _read_reference(path, key)
        if ref is not None:
            task.__dict__.setdefault(REFERENCE_SCORES_ATTR, {})[dataset.info.fingerprint] = dict(ref.scores)
            return ref, False
    ref = reference_result(task, dataset, batch_size, reading)
    write_json_atomic(path, {"key": key, "accuracy": ref.accuracy, "scores": ref.scores,
                             "confusion": ref.confusion})
    return ref, True


def _read_reference(path: Path, key: dict[str, Any]) -> Reference | None:
    """The stored reference if it is for ``key`` and well formed (an older file without scores is not)."""
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(cached, dict) or cached.get("key") != key:
        return None
    accuracy, scores, confusion = cached.get("accuracy"), cached.get("scores"), cached.get("confusion", False)
    if not isinstance(accuracy, float) or not isinstance(scores, dict) or confusion is False:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in scores.values()):
        return None
    if confusion is not None and not (isinstance(confusion, list) and all(
            isinstance(row, list) and all(isinstance(c, int) and not isinstance(c, bool) for c in row)
            for row in confusion)):
        return None
    return Reference(accuracy, {str(k): float(v) for k, v in scores.items()}, confusion)


def run_suite(config: SuiteConfig | str, *, data_root: Path | None = None, out: Path = Path("results"),
              limit: int | None = None, codecs: Sequence[str] | None = None, device: str = "auto",
              cache_dir: Path | None = None, progress: bool = True,
              log: Callable[[str], None] | None = None, force: bool = False,
              train: bool = False, workers: int | None = None, scheduler: str | None = None,
              shard_size: int | None = None, save_bitstreams: bool = False,
              loader_workers: int | None = None, points: Sequence[str] | None = None) -> list[ResultRecord]:
    """Evaluate every operating point of the suite; return all records (reused or new).

    ``train``: learned codecs without a checkpoint train it here (otherwise their points fail
    with a message naming the checkpoint and the command that trains it). ``force``: measure
    every point again, whatever is on disk.

    ``workers`` (a local Dask cluster of that many processes) or ``scheduler`` (the address of a
    running one) measure the points on a cluster, each point in shards of about ``shard_size``
    samples (:mod:`vcmbench.pipeline.distributed`); the records are those of a run in this
    process. ``save_bitstreams``: keep every bitstream the decoder received beside its record.
    ``loader_workers``: processes reading (decoding) inputs ahead of the codecs and the task model
    (:mod:`vcmbench.pipeline.loader`; None: up to 4 with a CUDA device, none on the CPU).
    ``points``: ``--point`` specifications (:mod:`vcmbench.pipeline.points`): those codecs run at
    those points instead of the suite's, and only they (with the ``codecs`` named besides).
    """
    if isinstance(config, str):
        config = load_suite(config)
    log = log or (lambda line: print(line, file=sys.stderr))
    check_limit(limit)
    check_cluster(workers, scheduler, shard_size)
    if loader_workers is not None and (isinstance(loader_workers, bool) or not isinstance(loader_workers, int)
                                       or loader_workers < 0):
        raise UsageError(f"--loader-workers must be a non-negative integer, got {loader_workers!r}")
    if points:
        config, named = apply_points(config, points)
        codecs = list(codecs or []) + [n for n in named if n not in (codecs or [])]
    planned = plan_points(config, codecs)  # unknown names and bad parameters fail before any work
    check_out_dir(out)
    run = prepare_suite(config, data_root=data_root, out=out, limit=limit, device=device, cache_dir=cache_dir,
                        force=force, loader_workers=loader_workers)
    log(f"{config.suite}: {run.dataset.info.id} ({len(run.dataset)} samples), task model "
        f"{run.task_model.id} uncompressed {_ceiling(run)}")
    points = [streaming_point(p, len(run.dataset)) for p in planned]  # a large split streams in blocks
    ctx = run.codec_context(allow_training=train, progress=progress)
    # Every encoder gets ready first: what a learned codec loaded (its identity) decides reuse,
    # and points without a checkpoint are known before any measuring starts.
    ready = [_get_ready(p.codec, ctx) for p in points]
    missing = [p for p, (_, failure) in zip(points, ready, strict=True)
               if failure is not None and TRAIN_COMMAND in str(failure)]
    if missing:
        log(f"{len(missing)} point(s) have no trained checkpoint and will fail: "
            f"{', '.join(_label(p.codec) for p in missing)}; {_TRAIN_ADVICE}")
    refs: dict[str, Any] = {"suite": config.suite, "dataset": dataset_ref(run.dataset, ctx),
                            "task_model": run.task_ref()}
    records: dict[int, ResultRecord] = {}
    todo: list[PointJob] = []
    for i, (point, (identity, failure)) in enumerate(zip(points, ready, strict=True)):
        path = run.run_dir / point.relative_path
        known = _settled(point, identity, failure, run, refs, path, force, save_bitstreams)
        if known is not None:
            records[i] = known[0]
            log(_summary(*known))
        else:
            todo.append(PointJob(i, point, identity or {}, path))
    if todo and (workers or scheduler):
        from vcmbench.pipeline.distributed import measure_on_cluster

        for job, record in measure_on_cluster(todo, run, ctx, refs, workers=workers, scheduler=scheduler,
                                              shard_size=shard_size, save_bitstreams=save_bitstreams,
                                              data_root=data_root, limit=limit):
            records[job.index] = record
            log(_summary(record, record.status))
    else:
        for job in todo:
            record = _evaluate(job, run, ctx, refs, progress, save_bitstreams)
            records[job.index] = record
            log(_summary(record, record.status))
    return [records[i] for i in range(len(points))]


@dataclass(frozen=True)
class PointJob:
    """A point to measure: its place in the run's order, its encoder, its identity, its record's path."""

    index: int
    point: Point
    identity: dict[str, Any]
    path: Path


def check_cluster(workers: int | None, scheduler: str | None, shard_size: int | None) -> None:
    """``--workers``/``--scheduler``/``--shard-size`` make sense together; else one line."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UsageError(f"--workers must be a positive integer, got {workers!r}")
    if workers is not None and scheduler is not None:
        raise UsageError("give --workers (a local cluster) or --scheduler (a running one), not both")
    if shard_size is not None and (isinstance(shard_size, bool) or not isinstance(shard_size, int)
                                   or shard_size < 1):
        raise UsageError(f"--shard-size must be a positive integer, got {shard_size!r}")


def _get_ready(codec: Codec, ctx: CodecContext) -> tuple[dict[str, Any] | None, Exception | None]:
    """Prepare an encoder; (its identity, None) or (None, the failure to record)."""
    try:
        codec.prepare(ctx)
        return dict(codec.identity()), None
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:  # recorded as the point's failure, the suite goes on
        return None, exc


def _settled(point: Point, identity: dict[str, Any] | None, failure: Exception | None, run: SuiteRun,
             refs: dict[str, Any], path: Path, force: bool,
             save_bitstreams: bool = False) -> tuple[ResultRecord, str] | None:
    """The point's record when nothing needs measuring: it failed to get ready, or is on disk unchanged
    (and, when bitstreams are to be kept, kept them)."""
    codec, device, seed = point.codec, run.device, run.config.seed
    if failure is not None:
        record = failed_record(codec, failure, **refs, device=device, seed=seed)
        write_record(path, record)
        return record, record.status
    reused = None if force else reusable(path, **refs, codec=codec_ref(codec, identity))
    if reused is not None and save_bitstreams and not _kept_bitstreams(path, reused):
        return None
    return None if reused is None else (reused, "reused")


def _kept_bitstreams(path: Path, record: ResultRecord) -> bool:
    return record.bitstreams is not None and (path.parent / record.bitstreams / MANIFEST).is_file()


def _evaluate(job: PointJob, run: SuiteRun, ctx: CodecContext, refs: dict[str, Any], progress: bool,
              save_bitstreams: bool) -> ResultRecord:
    """Measure one point in this process."""
    codec, path = job.point.codec, job.path
    common = dict(suite=refs["suite"], reference_accuracy=run.reference_accuracy, out_path=path,
                  codec_context=ctx, prepared=True, batch_size=run.config.batch_size, device=run.device,
                  seed=run.config.seed, progress=progress)
    common.update(reference_scores=run.reference_scores, confusion=run.confusion,
                  bitstreams=bitstream_folder(path) if save_bitstreams else None)
    if isinstance(codec, LayeredCodec):  # every layer's bytes and every prefix measured
        from vcmbench.pipeline.layered import evaluate_layered_point

        return evaluate_layered_point(codec, run.dataset, run.task_model, **common)
    return evaluate_point(codec, run.dataset, run.task_model, **common, reading=run.reading)


_TRAIN_ADVICE = (f"add --train to the run command to train them in the run (slow), or train each one "
                 f"with the `{TRAIN_COMMAND} ...` command its error names")


def untrained_hint(records: Sequence[ResultRecord]) -> str | None:
    """A closing line for points that failed for want of a checkpoint, saying how to train them."""
    missing = [r for r in records if r.status == "failed" and TRAIN_COMMAND in (r.error or "")]
    if not missing:
        return None
    return f"{len(missing)} point(s) failed for want of a trained checkpoint: {_TRAIN_ADVICE}"


def _label(codec: Codec) -> str:
    params = " ".join(f"{k}={v}" for k, v in codec.params.items())
    return f"{codec.name} {params}".strip()


def _ceiling(run: SuiteRun) -> str:
    metric = run.task_model.metric
    head = f"accuracy {run.reference_accuracy:.4f}"
    if metric != "accuracy" and metric in run.reference_scores:
        return f"{metric} {run.reference_scores[metric]:.4f}, {head}"
    return head


def _summary(record: ResultRecord, status: str) -> str:
    """One line per point: its rate, the task's own metric (e.g. mAP) and its accuracy."""
    params = " ".join(f"{k}={v}" for k, v in record.codec.params.items())
    head = f"  {record.codec.name:<22} {params:<28}"
    if record.metrics is None:
        return f"{head} FAILED: {record.error}"
    m = record.metrics
    metric = record.task_model.metric
    shown = f"{metric} {m.scores[metric]:.4f}  " if metric != "accuracy" and metric in m.scores else ""
    return f"{head} {m.bits_per_sample:10.3f} bits/sample  {shown}accuracy {m.accuracy:.4f}  [{status}]"
