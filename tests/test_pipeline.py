from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from conftest import OracleTask, make_toy_dataset
from vcmbench.api.codec import CODECS, BlockCodec, SampleCodec
from vcmbench.api.dataset import DATASETS
from vcmbench.api.record import read_record
from vcmbench.api.task import TASK_MODELS
from vcmbench.entropy.framing import pack_array, unpack_array
from vcmbench.errors import BitstreamError, UnknownNameError, UsageError
from vcmbench.pipeline.config import parse_suite
from vcmbench.pipeline.evaluate import evaluate_point
from vcmbench.pipeline.suite import point_slug, run_suite


class LabelBytes(BlockCodec):
    """One byte per label, whole block in one stream, count up front."""

    decodes_to = "label"

    def prepare(self, ctx):
        self.task = ctx.task_model

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        labels = self.task.predict(xs)
        return bytes([len(labels)]) + bytes(int(v) for v in labels)

    def decode_block(self, data: bytes) -> list[int]:
        if not data or data[0] != len(data) - 1:
            raise BitstreamError("length mismatch")
        return list(data[1:])


class Raw(SampleCodec):
    decodes_to = "input"

    def encode(self, x):
        return pack_array(np.asarray(x))

    def decode(self, data):
        return unpack_array(data)


class WrongShape(Raw):
    def decode(self, data):
        return unpack_array(data)[:3]


class Crashes(Raw):
    def decode(self, data):
        raise RuntimeError("boom")


class CountingRaw(Raw):
    calls = 0

    def encode(self, x):
        type(self).calls += 1
        return super().encode(x)


@pytest.fixture
def registered(monkeypatch):
    """Test codecs, the toy dataset and the oracle task model in the registries, removed afterwards."""
    for name, cls in {"t-labels": LabelBytes, "t-raw": Raw, "t-shape": WrongShape, "t-crash": Crashes,
                      "t-count": CountingRaw}.items():
        monkeypatch.setitem(CODECS._entries, name, cls)
        monkeypatch.setattr(cls, "name", name)
    monkeypatch.setitem(DATASETS._entries, "toy", lambda split, root: make_toy_dataset(split=split))
    monkeypatch.setitem(TASK_MODELS._entries, "oracle", OracleTask)
    CountingRaw.calls = 0


def suite(codecs, **extra):
    return parse_suite({"suite": "toy", "dataset": {"name": "toy", "split": "test"},
                        "task_model": "oracle", "codecs": codecs, "batch_size": 7, **extra})


def test_rate_is_eight_times_the_bytes(tmp_path, toy_dataset, oracle_task):
    codec = LabelBytes()
    codec.name = "t-labels"
    codec.prepare(type("Ctx", (), {"task_model": oracle_task})())
    record = evaluate_point(codec, toy_dataset, oracle_task, suite="toy", reference_accuracy=1.0,
                            out_path=tmp_path / "r.json", progress=False)
    n = len(toy_dataset)
    assert record.metrics.bits_total == 8 * (n + 1)
    assert record.metrics.bits_per_sample == pytest.approx(8 * (n + 1) / n)
    assert record.metrics.accuracy == 1.0 and record.metrics.blocks == 1
    assert record.dataset.prior_counts == np.bincount(toy_dataset.labels(), minlength=4).tolist()


def test_per_sample_rows_are_written_beside_the_record(tmp_path, registered):
    records = run_suite(suite([{"name": "t-raw"}]), out=tmp_path, progress=False, log=lambda _: None)
    record = records[0]
    path = tmp_path / "toy" / "toy" / "t-raw" / "default.samples.csv"
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == record.metrics.samples
    assert sum(int(r["bits"]) for r in rows) == record.metrics.bits_total
    assert all(r["prediction"] == r["label"] and r["correct"] == "1" for r in rows)


@pytest.mark.parametrize("codec,message", [("t-shape", "shape"), ("t-crash", "boom")])
def test_a_broken_codec_is_recorded_and_the_suite_goes_on(tmp_path, registered, codec, message):
    records = run_suite(suite([{"name": codec}, {"name": "t-labels"}]), out=tmp_path, progress=False,
                        log=lambda _: None)
    broken, good = records
    assert broken.status == "failed" and message in broken.error and broken.metrics is None
    assert good.status == "ok" and good.metrics.accuracy == 1.0
    on_disk = read_record(tmp_path / "toy" / "toy" / codec / "default.json")
    assert on_disk.status == "failed"


def test_a_rerun_reuses_records_and_recomputes_failed_ones(tmp_path, registered):
    config = suite([{"name": "t-count", "points": [{}]}])
    first = run_suite(config, out=tmp_path, progress=False, log=lambda _: None)
    calls = CountingRaw.calls
    assert calls == len(make_toy_dataset())
    second = run_suite(config, out=tmp_path, progress=False, log=lambda _: None)
    assert CountingRaw.calls == calls  # nothing encoded twice
    assert second[0] == first[0]
    # a record whose samples file is missing is not trusted
    (tmp_path / "toy" / "toy" / "t-count" / "default.samples.csv").unlink()
    run_suite(config, out=tmp_path, progress=False, log=lambda _: None)
    assert CountingRaw.calls == 2 * calls


def test_an_interrupted_run_keeps_what_it_wrote(tmp_path, registered, monkeypatch):
    config = suite([{"name": "t-labels"}, {"name": "t-raw"}])

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Raw, "encode", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_suite(config, out=tmp_path, progress=False, log=lambda _: None)
    kept = read_record(tmp_path / "toy" / "toy" / "t-labels" / "default.json")
    assert kept.status == "ok"
    assert not (tmp_path / "toy" / "toy" / "t-raw" / "default.json").exists()
    assert not list(tmp_path.rglob("*.tmp"))


def test_limit_changes_the_data_identity(tmp_path, registered):
    full = run_suite(suite([{"name": "t-labels"}]), out=tmp_path, progress=False, log=lambda _: None)[0]
    part = run_suite(suite([{"name": "t-labels"}]), out=tmp_path, limit=10, progress=False,
                     log=lambda _: None)[0]
    assert part.metrics.samples == 10 and part.dataset.fingerprint != full.dataset.fingerprint
    assert (tmp_path / "toy" / "toy-first10" / "t-labels" / "default.json").exists()


def test_unknown_codec_fails_before_any_work(tmp_path, registered):
    with pytest.raises(UnknownNameError, match="did you mean .t-labels."):
        run_suite(suite([{"name": "t-label"}]), out=tmp_path, progress=False, log=lambda _: None)
    assert not (tmp_path / "toy").exists()


def test_reference_accuracy_is_cached_per_task_and_data(tmp_path, registered):
    run_suite(suite([{"name": "t-labels"}]), out=tmp_path, progress=False, log=lambda _: None)
    ref = json.loads((tmp_path / "toy" / "toy" / "reference.json").read_text())
    assert ref["accuracy"] == 1.0 and ref["key"]["task_model"] == "oracle"


@pytest.mark.parametrize("raw,message", [
    ({"suite": "x"}, "missing key"),
    ({"suite": "x", "dataset": "toy", "task_model": "oracle", "codecs": []}, "non-empty"),
    ({"suite": "x", "dataset": "toy", "task_model": "oracle", "codecs": ["a"], "bogus": 1}, "unknown key"),
    ({"suite": "x", "dataset": "toy", "task_model": "oracle", "codecs": [{"name": "a", "points": 3}]},
     "points"),
    ({"suite": "x", "dataset": "toy", "task_model": "oracle", "codecs": ["a"], "accuracy_levels": [2]},
     "accuracy_levels"),
])
def test_malformed_suites_are_refused(raw, message):
    with pytest.raises(UsageError, match=message):
        parse_suite(raw)


def test_point_slugs_are_unique_and_safe():
    a = point_slug({"quality": 5, "path": "../../etc"})
    b = point_slug({"quality": 50, "path": "../../etc"})
    assert a != b and "/" not in a and point_slug({}) == "default"


def test_a_missing_training_split_matters_only_to_whoever_uses_it(tmp_path, registered, monkeypatch):
    from vcmbench.errors import DataError

    def factory(split, root):
        if split == "train":
            raise DataError("train/ not found under /data")
        return make_toy_dataset(split=split)

    monkeypatch.setitem(DATASETS._entries, "toy", factory)
    (record,) = run_suite(suite([{"name": "t-labels"}]), out=tmp_path, progress=False, log=lambda _: None)
    assert record.status == "ok"


def test_a_layered_codec_in_a_suite_is_measured_layer_by_layer(tmp_path, registered, monkeypatch):
    from test_layered import ToyScalable

    monkeypatch.setitem(CODECS._entries, "t-toy-scalable", ToyScalable)
    (record,) = run_suite(suite([{"name": "t-toy-scalable", "points": [{"shift": 4}]}]), out=tmp_path,
                          progress=False, log=lambda _: None)
    assert record.status == "ok", record.error
    assert [layer.name for layer in record.metrics.layers] == ["base", "enhancement"]
    assert sum(layer.bits_total for layer in record.metrics.layers) == record.metrics.bits_total
