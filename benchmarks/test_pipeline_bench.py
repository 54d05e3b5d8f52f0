"""The label codecs of the mnist suite cost about one classification of the test split, not one per point.

Every label codec classifies the 1,000 test digits at its encoder; the run's task model remembers
its answers (``vcmbench.tasks.memo``), so the suite's label-codec points and the reference
accuracy classify them once between them. Target: all 30 points together (classification, coding,
decoding, records) within 3× of one bare classification of the test split; classifying once per
point would cost 30×. Measured 2.7× with the machine's two cores shared by a load of 6–7.
Run: ``python -m pytest benchmarks/test_pipeline_bench.py --benchmark-only``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from vcmbench.api.dataset import DATASETS
from vcmbench.api.task import TASK_MODELS, TaskContext
from vcmbench.pipeline.config import load_suite
from vcmbench.pipeline.suite import run_suite

TARGET = 3.0


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A task-model cache shared by every round, so the SVM is fitted once, before any timing."""
    folder = tmp_path_factory.mktemp("cache")
    config = load_suite("mnist")
    svm = TASK_MODELS.get(config.task_model)(**config.task_params)
    svm.prepare(TaskContext(train=DATASETS.get("mnist")("train", None), cache_dir=folder))
    return folder


def test_label_codecs_classify_once(benchmark, cache, tmp_path):
    config = load_suite("mnist")
    labels = [e.name for e in config.codecs if e.name.startswith("label-")]
    test = DATASETS.get("mnist")("test", None)
    svm = TASK_MODELS.get(config.task_model)(**config.task_params)
    svm.prepare(TaskContext(train=DATASETS.get("mnist")("train", None), cache_dir=cache))
    bare_times: list[float] = []
    suite_times: list[float] = []

    def both() -> None:
        t0 = time.perf_counter()
        svm.predict(test.inputs(range(len(test))))
        t1 = time.perf_counter()
        out = tmp_path / f"round{len(suite_times)}"
        records = run_suite(config, out=out, codecs=labels, cache_dir=cache, progress=False,
                            log=lambda _: None, device="cpu")
        t2 = time.perf_counter()
        assert all(r.status == "ok" for r in records)
        bare_times.append(t1 - t0)
        suite_times.append(t2 - t1)

    benchmark.group = "mnist suite: every label-codec point vs one classification"
    benchmark.pedantic(both, rounds=3, warmup_rounds=0)
    ratio = min(suite_times) / min(bare_times)
    benchmark.extra_info.update(points=len(records_of(config, labels)), bare_seconds=min(bare_times),
                                suite_seconds=min(suite_times), ratio=round(ratio, 3))
    assert ratio <= TARGET, f"label-codec points took {ratio:.1f}× one classification (target {TARGET}×)"


def records_of(config, names: list[str]) -> list[str]:
    from vcmbench.pipeline.plan import plan_points

    return [str(p.relative_path) for p in plan_points(config, names)]
