"""Shared test fixtures: a tiny in-memory dataset and a task model that reads labels off the input."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import settings

from vcmbench.api.dataset import ArrayDataset, DatasetInfo, fingerprint_arrays
from vcmbench.api.record import CodecRef, DatasetRef, Metrics, Provenance, ResultRecord, TaskRef
from vcmbench.api.task import TaskModel

# CI explores a fixed set of examples, so a landing never depends on the draw; local runs keep
# exploring new ones (and hypothesis remembers any failure it finds).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True, scope="session")
def _builtins_registered() -> None:
    """Load every registry's built-ins once, before any test swaps a registry's entries out and back.

    Built-ins register on the first lookup and the registry then marks them loaded for good: were
    that first lookup to happen while a test has a copy of ``_entries`` in place (the README
    example's fixture does), the built-ins would go away with the copy and never come back.
    """
    from vcmbench.api.codec import CODECS
    from vcmbench.api.dataset import DATASETS
    from vcmbench.api.task import TASK_MODELS

    for registry in (CODECS, DATASETS, TASK_MODELS):
        registry.names()


class OracleTask(TaskModel):
    """Predicts the label written into pixel [0, 0]: a perfect classifier for ``toy_dataset``."""

    name = "oracle"

    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        return np.array([int(np.asarray(x)[0, 0]) for x in inputs], dtype=np.int64)


def make_toy_dataset(n: int = 40, num_classes: int = 4, seed: int = 0, split: str = "test") -> ArrayDataset:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=n)
    images = rng.integers(0, 255, size=(n, 6, 6), dtype=np.uint8)
    images[:, 0, 0] = labels
    info = DatasetInfo(id="toy", split=split, num_classes=num_classes,
                       fingerprint=fingerprint_arrays(images, labels), pixels_per_sample=36)
    return ArrayDataset(info, images, labels)


def make_record(**metric_overrides) -> ResultRecord:
    metrics = dict(accuracy=0.75, correct=3, samples=4, bits_total=16, bits_per_sample=4.0, blocks=1,
                   encode_seconds=0.1, decode_seconds=0.1)
    metrics.update(metric_overrides)
    return ResultRecord(
        suite="toy",
        dataset=DatasetRef(id="toy", split="test", fingerprint="abc", num_classes=2, samples=4,
                           prior_counts=[2, 2]),
        task_model=TaskRef(id="oracle", version="1", params={}, reference_accuracy=1.0),
        codec=CodecRef(name="c", version="1", params={"q": 1}, granularity="block", decodes_to="label"),
        provenance=Provenance.collect("cpu", 0),
        metrics=Metrics(**metrics),
    )


@pytest.fixture
def toy_dataset() -> ArrayDataset:
    return make_toy_dataset()


@pytest.fixture
def oracle_task() -> OracleTask:
    return OracleTask()


def write_with_samples(path, record: ResultRecord, *, sha: bool = True) -> ResultRecord:
    """Write ``record`` and a per-sample CSV that agrees with it, as the pipeline does; return the record.

    Labels follow ``dataset.prior_counts``; the first ``metrics.correct`` rows are predicted right;
    sample codecs get the bits spread over the samples in whole bytes. ``sha`` stores the file's hash.
    """
    import csv
    import hashlib
    import io
    from dataclasses import replace
    from pathlib import Path

    from vcmbench.api.record import write_record

    path = Path(path)
    m, ds = record.metrics, record.dataset
    labels = [c for c, n in enumerate(ds.prior_counts) for _ in range(n)]
    per_sample = None
    if record.codec.granularity == "sample":
        nbytes = m.bits_total // 8
        per_sample = [8 * (nbytes // m.samples + (i < nbytes % m.samples)) for i in range(m.samples)]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", "bits", "label", "prediction", "correct"])
    for i, label in enumerate(labels):
        prediction = label if i < m.correct else (label + 1) % ds.num_classes
        bits = "" if per_sample is None else per_sample[i]
        writer.writerow([f"s{i}", bits, label, prediction, int(prediction == label)])
    samples = path.with_suffix(".samples.csv")
    samples.parent.mkdir(parents=True, exist_ok=True)
    samples.write_bytes(buf.getvalue().encode("utf-8"))
    digest = hashlib.sha256(samples.read_bytes()).hexdigest() if sha else None
    record = replace(record, samples_file=samples.name, samples_sha256=digest)
    write_record(path, record)
    return record
