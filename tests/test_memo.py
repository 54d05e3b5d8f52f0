"""The run's task model classifies each distinct input once; its interface is the model's own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from conftest import OracleTask, make_toy_dataset
from vcmbench.api.codec import CODECS, BlockCodec, CodecContext
from vcmbench.api.dataset import DATASETS
from vcmbench.api.task import TASK_MODELS, TaskModel
from vcmbench.pipeline.config import parse_suite
from vcmbench.pipeline.suite import run_suite
from vcmbench.tasks.memo import input_key, memoising


class CountingOracle(OracleTask):
    """The oracle, with split points, a fingerprint and a tally of what it was asked."""

    name = "t-counting-oracle"
    version = "7"
    seen: list[bytes] = []  # noqa: RUF012 - a tally shared by the test
    from_features = 0

    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        CountingOracle.seen.extend(np.asarray(x).tobytes() for x in inputs)
        return super().predict(inputs)

    def features(self, inputs: Sequence[Any], split: str) -> np.ndarray:
        return np.stack([np.asarray(x, dtype=np.float32) for x in inputs]) + 0.25

    def predict_from_features(self, features: Any, split: str) -> np.ndarray:
        CountingOracle.from_features += 1
        return np.asarray(features)[:, 0, 0].astype(np.int64)

    def fingerprint(self) -> str:
        return f"fp-{self.params.get('k', 0)}"


class ClassifyThenSend(BlockCodec):
    """A label codec: classifies at the encoder through ctx.task_model."""

    decodes_to = "label"

    def prepare(self, ctx: CodecContext) -> None:
        self.task = ctx.task_model

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        return bytes(int(v) for v in self.task.predict(xs))

    def decode_block(self, data: bytes) -> list[int]:
        return list(data)


def test_the_suite_classifies_each_sample_once(tmp_path, monkeypatch):
    monkeypatch.setitem(CODECS._entries, "t-cts", ClassifyThenSend)
    monkeypatch.setattr(ClassifyThenSend, "name", "t-cts")
    monkeypatch.setitem(DATASETS._entries, "toy", lambda split, root: make_toy_dataset(split=split))
    monkeypatch.setitem(TASK_MODELS._entries, "t-counting-oracle", CountingOracle)
    monkeypatch.setattr(CountingOracle, "seen", [])
    points = [{"block_size": b} for b in (None, 1, 3, 8, 16)]
    config = parse_suite({"suite": "toy", "dataset": "toy", "task_model": "t-counting-oracle",
                          "codecs": [{"name": "t-cts", "points": points}], "batch_size": 7})
    records = run_suite(config, out=tmp_path, progress=False, log=lambda _: None, device="cpu")
    assert all(r.status == "ok" and r.metrics.accuracy == 1.0 for r in records)
    n = len(make_toy_dataset())
    assert len(CountingOracle.seen) == len(set(CountingOracle.seen)) == n  # reference + 5 points: once each


def test_the_memoising_model_is_the_model():
    model = memoising(CountingOracle)(k=3)
    assert isinstance(model, CountingOracle) and isinstance(model, TaskModel)
    assert (model.name, model.id, model.version, model.params, model.fingerprint()) == (
        "t-counting-oracle", "t-counting-oracle", "7", {"k": 3}, "fp-3")
    assert type(model).features is CountingOracle.features
    assert type(model).predict_from_features is CountingOracle.predict_from_features
    assert memoising(CountingOracle) is type(model) and memoising(type(model)) is type(model)


def test_features_are_not_memoised(monkeypatch):
    monkeypatch.setattr(CountingOracle, "from_features", 0)
    model = memoising(CountingOracle)()
    xs = make_toy_dataset(n=5).inputs(range(5))
    f = model.features(xs, "s")
    assert np.allclose(f, np.stack(xs).astype(np.float32) + 0.25)
    model.predict_from_features(f, "s")
    model.predict_from_features(f, "s")
    assert CountingOracle.from_features == 2


def test_predictions_are_keyed_by_bytes_dtype_and_shape(monkeypatch):
    monkeypatch.setattr(CountingOracle, "seen", [])

    class ShapeAware(CountingOracle):
        def predict(self, inputs):
            CountingOracle.seen.extend(np.asarray(x).tobytes() for x in inputs)
            return np.array([np.asarray(x).ndim * 10 + np.asarray(x).itemsize for x in inputs])

    model = memoising(ShapeAware)()
    a = np.zeros((2, 2), dtype=np.uint8)
    same_bytes = [a, a.reshape(4), a.view(np.int8), np.zeros(2, dtype=np.uint16)]
    assert model.predict(same_bytes).tolist() == [21, 11, 21, 12]
    assert model.predict([a.copy(), a.reshape(4)]).tolist() == [21, 11]  # all remembered
    assert len(CountingOracle.seen) == 4
    assert len({input_key(x) for x in same_bytes}) == 4


def test_duplicates_in_one_batch_are_asked_once_and_order_is_kept(monkeypatch):
    monkeypatch.setattr(CountingOracle, "seen", [])
    model = memoising(CountingOracle)()
    xs = make_toy_dataset(n=6).inputs(range(6))
    batch = [xs[2], xs[0], xs[2], xs[5], xs[0]]
    expected = OracleTask().predict(batch)
    assert model.predict(batch).tolist() == expected.tolist()
    assert len(CountingOracle.seen) == 3


def test_inputs_that_are_not_arrays_pass_through(monkeypatch):
    monkeypatch.setattr(CountingOracle, "seen", [])
    model = memoising(CountingOracle)()
    x = [[2, 0], [0, 0]]  # a nested list: no memo key
    assert input_key(x) is None
    assert model.predict([x, x]).tolist() == [2, 2]
    assert model.predict([x]).tolist() == [2]
    assert len(CountingOracle.seen) == 3


def test_a_model_returning_the_wrong_count_is_named():
    class Short(OracleTask):
        name = "t-short"

        def predict(self, inputs):
            return np.zeros(len(inputs) - 1, dtype=np.int64)

    with pytest.raises(ValueError, match="t-short"):
        memoising(Short)().predict(make_toy_dataset(n=3).inputs(range(3)))
