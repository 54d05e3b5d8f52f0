"""Scale-out: the speed-up of ``vcmbench run --workers 2`` over a run in one process, and the peak
memory of a block codec on a split ten times its block.

Speed-up: a suite of 1,200 photo crops (96×96 RGB) with WebP at 4 qualities (method 6, the slow
and strong setting) is run in one process and on a local cluster of two single-thread workers
(shards of 300 samples: 16 tasks), alternately, twice each; the best wall time of each counts, and
the cluster's includes starting and stopping it. The records are checked equal (bits and accuracy)
so the speed is not bought with another result. The ideal on two cores is 2×; on a shared machine
other users' load takes its share, so the load average is reported beside the figures, and so is
the time the points' coding took in total (the records' encode + decode seconds). A third run
measures the same cluster with its scheduler and workers started by dask's command-line programs,
each in a session of its own, as Slurm jobs are (see :func:`own_session_cluster`).

Memory: ``tracemalloc`` peak of one point of a raw block codec (the block's bytes behind a count)
on 20,000 generated 32×32 RGB images: with blocks of 2,000 and with the whole split as one block.

Run: ``python -m pytest benchmarks/test_scaleout_bench.py --benchmark-only -p no:randomly -s``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vcmbench.codecs.images  # noqa: F401 - registers webp
from conftest import photo_crops
from vcmbench.api.codec import BlockCodec
from vcmbench.api.dataset import DATASETS, ArrayDataset, DatasetInfo, fingerprint_arrays
from vcmbench.api.task import TASK_MODELS, TaskModel
from vcmbench.pipeline.config import parse_suite
from vcmbench.pipeline.evaluate import evaluate_point
from vcmbench.pipeline.suite import run_suite

CROPS = 1_200
QUALITIES = [5, 30, 60, 90]
SHARD = 300
ROUNDS = 2


def crops_split(split: str, root: Any) -> ArrayDataset:
    """Photo crops labelled by their brighter half (a task the codec's quality can change)."""
    images = np.stack(photo_crops(CROPS, size=96, seed=0 if split == "test" else 1))
    labels = (images[:, :48].mean(axis=(1, 2, 3)) > images[:, 48:].mean(axis=(1, 2, 3))).astype(np.int64)
    info = DatasetInfo(id="photo-crops", split=split, num_classes=2,
                       fingerprint=fingerprint_arrays(images, labels), pixels_per_sample=96 * 96)
    return ArrayDataset(info, images, labels)


class BrighterHalf(TaskModel):
    """Which half of the image is brighter: cheap, so the codecs' work is what is measured."""

    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        return np.array([int(np.asarray(x)[:48].mean() > np.asarray(x)[48:].mean()) for x in inputs],
                        dtype=np.int64)


for _registry, _name, _obj in ((DATASETS, "bench-photo-crops", crops_split),
                               (TASK_MODELS, "bench-brighter-half", BrighterHalf)):
    if _name not in _registry:
        _registry.add(_name, _obj)

SUITE = {"suite": "bench-scaleout", "dataset": {"name": "bench-photo-crops", "split": "test"},
         "task_model": "bench-brighter-half", "train_split": None, "batch_size": 200,
         "codecs": [{"name": "webp", "points": [{"quality": q, "method": 6} for q in QUALITIES]}]}


@contextlib.contextmanager
def own_session_cluster(workers: int, scratch: Path) -> Iterator[str]:
    """A scheduler and single-thread workers started with the ``dask`` command-line programs, each in
    a session of its own, as batch jobs on a cluster are: Linux's autogroup scheduling gives every
    session one share of the CPU, so workers started from the run's own session (a LocalCluster)
    share that session's one share when other users keep the machine busy."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    file = scratch / "scheduler.json"
    common = {"env": env, "start_new_session": True, "stdout": subprocess.DEVNULL,
              "stderr": subprocess.DEVNULL}
    dask = [sys.executable, "-m"]
    procs = [subprocess.Popen([*dask, "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(file)], **common)]
    try:
        for _ in range(600):
            if file.is_file() and file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(file.read_text())["address"]
        procs += [subprocess.Popen([*dask, "distributed.cli.dask_worker", address, "--nthreads", "1",
                                    "--no-dashboard", "--local-directory", str(scratch)], **common)
                  for _ in range(workers)]
        from distributed import Client

        with Client(address) as client:
            client.wait_for_workers(workers, timeout=300)
        yield address
    finally:
        for proc in procs[::-1]:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)


def test_two_workers_against_one_process(benchmark, tmp_path):
    config = parse_suite(SUITE)
    labels = ("serial", "workers=2", "workers=2, own sessions")
    times: dict[str, list[float]] = {k: [] for k in labels}
    coding: dict[str, list[float]] = {k: [] for k in labels}
    found: dict[str, list] = {}
    loads: list[float] = []

    def measure(label: str, **kwargs: Any) -> None:
        out = tmp_path / f"{label}-{len(times[label])}"
        loads.append(os.getloadavg()[0])
        t0 = time.perf_counter()
        records = run_suite(config, out=out, progress=False, log=lambda _: None, device="cpu", **kwargs)
        times[label].append(time.perf_counter() - t0)
        coding[label].append(sum(r.metrics.encode_seconds + r.metrics.decode_seconds for r in records))
        found[label] = [(r.metrics.bits_total, r.metrics.correct) for r in records]

    def rounds() -> None:
        measure("serial")
        measure("workers=2", workers=2, shard_size=SHARD)
        scratch = tmp_path / f"sessions-{len(times['serial'])}"
        scratch.mkdir()
        t0 = time.perf_counter()
        with own_session_cluster(2, scratch) as address:
            started = time.perf_counter() - t0
            measure("workers=2, own sessions", scheduler=address, shard_size=SHARD)
        times["workers=2, own sessions"][-1] += started  # starting the cluster counts, as for --workers

    benchmark.group = "scale-out: webp suite, one process vs a cluster of 2 workers"
    benchmark.pedantic(rounds, rounds=ROUNDS, warmup_rounds=0)
    assert found["serial"] == found["workers=2"] == found["workers=2, own sessions"]
    best = {k: min(v) for k, v in times.items()}
    speedups = {k: best["serial"] / best[k] for k in labels[1:]}
    benchmark.extra_info.update(best_seconds=best, speedups=speedups, points=len(QUALITIES), samples=CROPS,
                                load_average=loads, coding_seconds=coding, wall_seconds=times)
    print(f"\nwall {times}\ncoding {coding}\nspeed-ups {speedups}; load averages {loads}")


SHAPE = (32, 32, 3)


class Generated:
    """``n`` images made from their index on demand: nothing of the split is held."""

    def __init__(self, n: int):
        self.n = n
        self.info = DatasetInfo(id="generated", split="test", num_classes=4, fingerprint=f"generated-{n}",
                                pixels_per_sample=SHAPE[0] * SHAPE[1])

    def __len__(self) -> int:
        return self.n

    def ids(self) -> Sequence[str]:
        return [str(i) for i in range(self.n)]

    def labels(self) -> np.ndarray:
        return np.arange(self.n, dtype=np.int64) % 4

    def inputs(self, indices: Sequence[int]) -> list[Any]:
        out = []
        for i in indices:
            image = np.random.default_rng(i).integers(0, 256, SHAPE, dtype=np.uint8)
            image[0, 0, 0] = i % 4
            out.append(image)
        return out


class RawBlocks(BlockCodec):
    """A block's images as raw bytes behind a count."""

    decodes_to = "input"

    def __init__(self, block_size: int | None = None):
        super().__init__(block_size=block_size)

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        return len(xs).to_bytes(4, "big") + b"".join(np.asarray(x).tobytes() for x in xs)

    def decode_block(self, data: bytes) -> list[np.ndarray]:
        return list(np.frombuffer(data, dtype=np.uint8, offset=4).reshape(-1, *SHAPE))


class FirstByte(TaskModel):
    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        return np.array([int(np.asarray(x).reshape(-1)[0]) for x in inputs], dtype=np.int64)


def _peak(tmp_path, block: int | None, n: int) -> int:
    tracemalloc.start()
    try:
        record = evaluate_point(RawBlocks(block_size=block), Generated(n), FirstByte(), suite="s",
                                reference_accuracy=1.0, out_path=tmp_path / f"{block}.json", batch_size=500,
                                progress=False, reference_scores={})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert record.status == "ok" and record.metrics.accuracy == 1.0
    return peak


@pytest.mark.parametrize("block", [2_000, None])
def test_peak_memory_of_a_block_codec_on_a_split_ten_times_its_block(benchmark, tmp_path, block):
    n = 20_000
    _peak(tmp_path, 4, 8)  # first-use imports are not the point's memory
    peaks: list[int] = []
    benchmark.group = "block codec peak memory, 20,000 images of 32x32x3 (61 MB)"
    benchmark.pedantic(lambda: peaks.append(_peak(tmp_path, block, n)), rounds=1, warmup_rounds=0)
    block_bytes = (block or n) * int(np.prod(SHAPE))
    benchmark.extra_info.update(peak_mb=peaks[0] / 1e6, block_mb=block_bytes / 1e6,
                                peak_over_block=peaks[0] / block_bytes)
    print(f"\nblock {block}: peak {peaks[0] / 1e6:.1f} MB for blocks of {block_bytes / 1e6:.1f} MB "
          f"({peaks[0] / block_bytes:.2f}x)")
