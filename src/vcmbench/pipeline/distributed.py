"""Measure a suite's points on a Dask cluster: a local one (``--workers N``) or a running one
(``--scheduler ADDRESS``, e.g. started by dask-jobqueue on Slurm).

Dask (``distributed``) does the scheduling, the retries and the recovery from dead workers; this
module only says what a task is and how results come back together:

* a task measures one **shard** of one point: consecutive samples cut where a whole-split
  measurement has a batch or block boundary (:mod:`vcmbench.pipeline.shards`);
* each worker process opens the run once (data, prepared task model: the same code as the main
  process, :func:`vcmbench.pipeline.suite.open_run`) and each point's encoder and decoder once;
* the client (this process) merges a point's shards exactly once all have arrived (counts and byte
  totals add, per-sample rows concatenate, COCO mAP is computed on the merged detections) and
  writes its record atomically: records are written once, by the client, and a rerun resumes
  from the records on disk like any run;
* a codec fault is a ``failed`` record, as in a run in one process; anything else a task raises
  (the data cannot be opened on that worker) is retried and then stops the run with its message;
  a worker that dies (killed, out of memory) loses only the task it was running, which the
  scheduler gives to another worker (``distributed.scheduler.allowed-failures``).

Workers need what the main process has: vcmbench and any plugin installed, the data, the cache
folder (checkpoints the main process prepared) and the results folder at the same paths.
Layered (scalable) codecs are measured in the main process, in one piece.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcmbench.api.codec import Codec, CodecContext, LayeredCodec
from vcmbench.api.dataset import DATASETS
from vcmbench.api.record import ResultRecord, write_record
from vcmbench.api.task import TASK_MODELS
from vcmbench.errors import UsageError, VcmbenchError
from vcmbench.pipeline.bitstreams import BitstreamFolder, bitstream_folder
from vcmbench.pipeline.config import SuiteConfig
from vcmbench.pipeline.evaluate import (
    CodecFailure,
    Measured,
    batches,
    failed_record,
    finish_point,
    get_pair_ready,
    measure_range,
)
from vcmbench.pipeline.loader import Reading
from vcmbench.pipeline.plan import instantiate
from vcmbench.pipeline.shards import shard_ranges
from vcmbench.tasks.memo import MemoisedPredict

if TYPE_CHECKING:
    from vcmbench.pipeline.suite import PointJob, SuiteRun

__all__ = ["RETRIES", "WorkerSpec", "dask_client", "measure_on_cluster", "measure_shard"]

RETRIES = 2  # a task that raises (not a codec fault: those are records) is tried this many more times
ALLOWED_FAILURES = 3  # workers that may die running one task before the scheduler gives up on it
CONNECT_TIMEOUT = "30s"


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to open the run exactly as the main process did (sent with every task).

    The dataset factory and task model class travel as objects (pickled by reference: the worker
    imports their modules), so a plugin or a test's own dataset works on the workers as well.
    """

    run_id: str
    config: SuiteConfig
    data_root: Path | None
    limit: int | None
    device: str
    cache_dir: Path
    dataset_factory: Callable[..., Any]
    task_class: type
    dataset_fingerprint: str
    task_fingerprint: str | None
    train_fingerprint: str | None
    train_counts: tuple[int, ...]
    warm: bool  # the main process answered every uncompressed input first: so does each worker
    reading: Reading = field(default_factory=Reading)  # loader processes reading ahead on each worker


@dataclass
class ShardResult:
    """A shard's measurement, or the codec fault that stopped it (its type name and message)."""

    start: int
    measured: Measured | None
    identity: dict[str, Any]
    error: tuple[str, str] | None = None


@dataclass
class _WorkerRun:
    """One run as opened in one worker process, kept between that run's tasks."""

    parts: Any
    context: CodecContext
    codecs: dict[str, tuple[Codec, Codec, dict[str, Any]]] = field(default_factory=dict)
    warmed: set[int] = field(default_factory=set)


_OPEN: dict[str, _WorkerRun] = {}


def _open(spec: WorkerSpec) -> _WorkerRun:
    """The run in this worker process, opened on its first task (the same code as the main process)."""
    if spec.run_id in _OPEN:
        return _OPEN[spec.run_id]
    from vcmbench.pipeline.suite import open_run

    _OPEN.clear()  # one run at a time per worker: an earlier run's data and models go
    config = spec.config
    if config.dataset not in DATASETS:
        DATASETS.add(config.dataset, spec.dataset_factory)
    if config.task_model not in TASK_MODELS:
        TASK_MODELS.add(config.task_model, spec.task_class)
    parts = open_run(config, data_root=spec.data_root, limit=spec.limit, device=spec.device,
                     cache_dir=spec.cache_dir)
    if parts.dataset.info.fingerprint != spec.dataset_fingerprint:
        raise VcmbenchError(f"worker on {os.uname().nodename} sees other data for {config.dataset!r} "
                            f"(fingerprint {parts.dataset.info.fingerprint}, expected "
                            f"{spec.dataset_fingerprint}): give every worker the same files")
    if parts.task_model.fingerprint() != spec.task_fingerprint:
        raise VcmbenchError(f"worker on {os.uname().nodename} prepared another task model "
                            f"{config.task_model!r} than the main process: share the cache folder "
                            f"{spec.cache_dir} and the weights file with the workers")
    context = CodecContext(
        task_model=parts.task_model, train=parts.train, num_classes=parts.dataset.info.num_classes,
        train_prior_counts=spec.train_counts, device=spec.device, cache_dir=spec.cache_dir,
        seed=config.seed, allow_training=False, progress=False, train_fingerprint=spec.train_fingerprint,
    )
    run = _WorkerRun(parts, context)
    _OPEN[spec.run_id] = run
    return run


def _warm(run: _WorkerRun, spec: WorkerSpec, start: int, stop: int) -> None:
    """Answer the uncompressed inputs of these samples in the reference's batches, as the main
    process did before measuring: a memoising task model then batches decoded inputs as it does there."""
    task = run.parts.task_model
    if not spec.warm or not isinstance(task, MemoisedPredict):
        return
    size = spec.config.batch_size
    dataset = run.parts.dataset
    for idx in batches(len(dataset), size):
        if idx[-1] < start or idx[0] >= stop or idx[0] in run.warmed:
            continue
        task.predict(dataset.inputs(idx))
        run.warmed.add(idx[0])


def measure_shard(spec: WorkerSpec, codec_class: type, params: dict[str, Any], start: int, stop: int,
                  bitstreams: str | None = None) -> ShardResult:
    """A worker task: measure samples ``start..stop-1`` of one point (see :class:`ShardResult`)."""
    run = _open(spec)
    key = repr(sorted(params.items())) + codec_class.__qualname__
    identity: dict[str, Any] = {}
    try:
        if key not in run.codecs:
            codec = instantiate("codec", codec_class, params)
            decoder, identity = get_pair_ready(codec, run.context, prepared=False)
            run.codecs[key] = (codec, decoder, identity)
        codec, decoder, identity = run.codecs[key]
        _warm(run, spec, start, stop)
        sink = BitstreamFolder(Path(bitstreams), fresh=False).add if bitstreams else None
        measured = measure_range(codec, decoder, run.parts.dataset, run.parts.task_model, start, stop,
                                 spec.config.batch_size, sink=sink, reading=spec.reading)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:  # a codec fault: recorded as the point's failure, as in one process
        return ShardResult(start, None, identity, (type(exc).__name__, str(exc)))
    return ShardResult(start, measured, identity)


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None,
                scratch: Path | None = None, children: bool = False) -> Iterator[Any]:
    """A ``distributed.Client``: on a new local cluster of ``workers`` processes (one thread
    each), or connected to ``scheduler``. The local cluster's files go under ``scratch`` (never
    the home folder) and it is shut down on the way out, whatever happened. ``children``: its
    workers may start processes of their own (loader workers), so they are not daemons."""
    import dask
    from distributed import Client, LocalCluster

    own = Path(tempfile.mkdtemp(prefix="vcmbench-dask-", dir=scratch))
    settings = {"temporary-directory": str(own), "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                "distributed.comm.timeouts.connect": CONNECT_TIMEOUT, "distributed.admin.tick.limit": "60s",
                "distributed.worker.daemon": not children}
    try:
        with dask.config.set(settings):
            if scheduler is not None:
                try:
                    client = Client(scheduler, timeout=CONNECT_TIMEOUT)
                except (OSError, TimeoutError) as exc:
                    raise UsageError(f"cannot reach the Dask scheduler at {scheduler} (--scheduler): {exc}") \
                        from exc
                with client:
                    yield client
                return
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                              local_directory=str(own), silence_logs=logging.ERROR) as cluster, \
                    Client(cluster) as client:
                yield client
    finally:
        shutil.rmtree(own, ignore_errors=True)


def _spec(run: SuiteRun, data_root: Path | None, limit: int | None) -> WorkerSpec:
    config = run.config
    task_class = TASK_MODELS.get(config.task_model)
    return WorkerSpec(
        run_id=uuid.uuid4().hex, config=config, data_root=data_root, limit=limit, device=run.device,
        cache_dir=Path(run.cache_dir).resolve(), dataset_factory=DATASETS.get(config.dataset),
        task_class=task_class, dataset_fingerprint=run.dataset.info.fingerprint,
        task_fingerprint=run.task_model.fingerprint(), train_fingerprint=run.train_fingerprint,
        train_counts=tuple(run.train_counts), warm=run.reference_fresh, reading=run.reading,
    )


def measure_on_cluster(jobs: Sequence[PointJob], run: SuiteRun, ctx: CodecContext, refs: dict[str, Any], *,
                       workers: int | None, scheduler: str | None, shard_size: int | None,
                       save_bitstreams: bool, data_root: Path | None,
                       limit: int | None) -> Iterator[tuple[PointJob, ResultRecord]]:
    """Measure ``jobs`` on the cluster; yield each point's record as soon as it is written."""
    from distributed import as_completed

    spec = _spec(run, data_root, limit)
    layered = [j for j in jobs if isinstance(j.point.codec, LayeredCodec)]
    sharded = [j for j in jobs if not isinstance(j.point.codec, LayeredCodec)]
    n = len(run.dataset)
    with dask_client(workers, scheduler, scratch=Path(run.run_dir).parent.parent,
                     children=run.reading.workers > 0) as client:
        futures = {}
        expected: dict[int, int] = {}
        keepers: dict[int, BitstreamFolder] = {}
        for job in sharded:
            codec = job.point.codec
            ranges = shard_ranges(codec, n, run.config.batch_size, shard_size)
            expected[job.index] = len(ranges)
            folder = None
            if save_bitstreams:
                keepers[job.index] = BitstreamFolder(bitstream_folder(job.path))
                folder = str(keepers[job.index].folder.resolve())
            for start, stop in ranges:
                future = client.submit(measure_shard, spec, type(codec), dict(codec.params), start, stop,
                                       folder, key=f"vcmbench-shard-{spec.run_id}-{job.index}-{start}",
                                       retries=RETRIES, pure=False)
                futures[future] = (job, start, stop)
        # Layered points run here, in one piece, while the workers measure the others.
        from vcmbench.pipeline.suite import _evaluate

        for job in layered:
            yield job, _evaluate(job, run, ctx, refs, progress=False, save_bitstreams=save_bitstreams)
        arrived: dict[int, list[ShardResult]] = {}
        try:
            for future in as_completed(list(futures)):
                job, start, stop = futures[future]
                arrived.setdefault(job.index, []).append(_result(future, job, start, stop))
                if len(arrived[job.index]) == expected[job.index]:
                    yield job, _finish(job, arrived.pop(job.index), run, refs, keepers.get(job.index))
        finally:
            client.cancel(list(futures))


def _result(future: Any, job: PointJob, start: int, stop: int) -> ShardResult:
    """The shard's result; a task that failed for good (its workers kept dying, or it kept raising)
    stops the run with one line naming the point and the samples."""
    try:
        return future.result()
    except VcmbenchError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise VcmbenchError(f"{job.path.parent.name} {job.path.stem}, samples {start}..{stop - 1}: "
                            f"{type(exc).__name__}: {first} (see the Dask worker logs)") from exc


def _finish(job: PointJob, parts: list[ShardResult], run: SuiteRun, refs: dict[str, Any],
            keeper: BitstreamFolder | None) -> ResultRecord:
    """The point's record from its shards: a codec fault in any shard (the first in sample order)
    fails the point, as it would have stopped a measurement in one process."""
    codec, device, seed = job.point.codec, run.device, run.config.seed
    parts = sorted(parts, key=lambda p: p.start)
    failure: Exception | None = None
    for part in parts:
        if part.error is not None:
            kind, message = part.error
            failure = type(kind, (Exception,), {})(message)  # recorded as "Kind: message", as in one process
            break
        if part.identity != job.identity:
            failure = CodecFailure(f"a worker prepared other artifacts than the main process: "
                                   f"{part.identity} and {job.identity}; share the cache folder with workers")
            break
    if failure is not None:
        if keeper is not None:
            keeper.discard()
        record = failed_record(codec, failure, **refs, identity=job.identity, device=device, seed=seed)
        write_record(job.path, record)
        return record
    measured = [p.measured for p in parts if p.measured is not None]
    return finish_point(codec, run.dataset, run.task_model, measured, refs=refs, identity=job.identity,
                        out_path=job.path, device=device, seed=seed, bitstreams=keeper)
