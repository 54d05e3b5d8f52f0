"""Harness overhead: the full pipeline with the ``passthrough`` codec against the bare task model.

Both run the same in-memory 224×224 images through the same ResNet (resnet18, seeded random
weights: the timing does not depend on what the weights are). The pipeline adds framing, byte
counting, shape checks, the per-sample CSV and the record; the target is at most 10 % on top.
Run: ``python -m pytest benchmarks/test_overhead_bench.py --benchmark-only``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_sample_images

from vcmbench.api.dataset import ArrayDataset, DatasetInfo, fingerprint_arrays
from vcmbench.api.task import TaskContext
from vcmbench.codecs.passthrough import PassthroughCodec
from vcmbench.pipeline.evaluate import batches, evaluate_point
from vcmbench.tasks.torchvision_models import TorchvisionResNet

SAMPLES = 32
BATCH = 16
TARGET = 0.10


@pytest.fixture(scope="module")
def dataset() -> ArrayDataset:
    photos = load_sample_images().images
    rng = np.random.default_rng(0)
    corners = zip(rng.integers(0, 200, SAMPLES), rng.integers(0, 400, SAMPLES), strict=True)
    images = np.stack([photos[i % 2][y:y + 224, x:x + 224] for i, (y, x) in enumerate(corners)])
    labels = rng.integers(0, 10, SAMPLES)
    info = DatasetInfo(id="photos", split="test", num_classes=10,
                       fingerprint=fingerprint_arrays(images, labels), pixels_per_sample=224 * 224)
    return ArrayDataset(info, images, labels)


@pytest.fixture(scope="module")
def model() -> TorchvisionResNet:
    m = TorchvisionResNet(arch="resnet18", num_classes=10, weights="random", batch_size=BATCH)
    m.prepare(TaskContext(train=None, cache_dir=Path("unused")))
    return m


def bare(dataset: ArrayDataset, model: TorchvisionResNet) -> np.ndarray:
    return np.concatenate([model.predict(dataset.inputs(idx)) for idx in batches(len(dataset), BATCH)])


def pipeline(dataset: ArrayDataset, model: TorchvisionResNet, out: Path) -> float:
    codec = PassthroughCodec()
    record = evaluate_point(codec, dataset, model, suite="overhead", reference_accuracy=0.0,
                            out_path=out / "passthrough.json", batch_size=BATCH, progress=False)
    return record.metrics.accuracy


def test_bare_task_model(benchmark, dataset, model):
    benchmark.group = "harness overhead: 32 × 224², resnet18"
    benchmark.pedantic(bare, args=(dataset, model), rounds=5, warmup_rounds=1)


def test_pipeline_with_passthrough(benchmark, dataset, model, tmp_path):
    benchmark.group = "harness overhead: 32 × 224², resnet18"
    benchmark.pedantic(pipeline, args=(dataset, model, tmp_path), rounds=5, warmup_rounds=1)


def test_overhead_is_within_target(benchmark, dataset, model, tmp_path, monkeypatch):
    """Bare and pipeline runs interleaved in one process, the pipeline's calls to the model timed.

    The asserted figure is the time the pipeline spends outside the model, relative to the bare
    model run: on a shared machine the model's own time swings by more than the 10 % being
    measured, while the harness's time does not. The plain ratio of the two runs is reported too.
    """
    bare_times: list[float] = []
    pipe_times: list[float] = []
    harness_times: list[float] = []
    in_model = [0.0]
    predict = model.predict

    def timed_predict(inputs):
        t = time.perf_counter()
        try:
            return predict(inputs)
        finally:
            in_model[0] += time.perf_counter() - t

    def both() -> None:
        t0 = time.perf_counter()
        expected = bare(dataset, model)
        t1 = time.perf_counter()
        in_model[0] = 0.0
        monkeypatch.setattr(model, "predict", timed_predict)
        accuracy = pipeline(dataset, model, tmp_path)
        monkeypatch.setattr(model, "predict", predict)
        t2 = time.perf_counter()
        bare_times.append(t1 - t0)
        pipe_times.append(t2 - t1)
        harness_times.append(t2 - t1 - in_model[0])
        assert accuracy == float((expected == dataset.labels()).mean())  # the same predictions

    benchmark.group = "harness overhead: 32 × 224², resnet18 (bare + pipeline)"
    benchmark.pedantic(both, rounds=5, warmup_rounds=1)
    overhead = float(np.median(harness_times)) / min(bare_times)
    benchmark.extra_info.update(bare_seconds=min(bare_times), pipeline_seconds=min(pipe_times),
                                harness_seconds=float(np.median(harness_times)),
                                overhead=round(overhead, 4),
                                ratio_minus_one=round(min(pipe_times) / min(bare_times) - 1, 4))
    assert overhead <= TARGET, f"pipeline overhead {overhead:.1%} exceeds {TARGET:.0%}"
