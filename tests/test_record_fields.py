"""Every schema-2 field a run writes: training split, task and codec identity, interval, sample hash."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import vcmbench
from conftest import OracleTask, make_toy_dataset
from vcmbench.api.codec import CODECS, BlockCodec, CodecContext
from vcmbench.api.dataset import DATASETS
from vcmbench.api.record import read_record
from vcmbench.api.task import TASK_MODELS
from vcmbench.errors import DataError
from vcmbench.pipeline.config import parse_suite
from vcmbench.pipeline.suite import run_suite
from vcmbench.theory.confidence import clopper_pearson

CHECKPOINT = {"checkpoint": {"sha256": "ab" * 32, "origin": "trained", "name": "toy.pt"}}


class FingerprintedOracle(OracleTask):
    name = "fp-oracle"

    def fingerprint(self) -> str:
        return "weights-0123"


class HalfRight(BlockCodec):
    """Sends the classifier's label for even samples and 0 for odd ones: accuracy strictly inside (0, 1)."""

    decodes_to = "label"

    def prepare(self, ctx: CodecContext) -> None:
        self.task = ctx.task_model

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        labels = self.task.predict(xs)
        return bytes(int(v) if i % 2 == 0 else 0 for i, v in enumerate(labels))

    def decode_block(self, data: bytes) -> list[int]:
        return list(data)

    def identity(self) -> dict[str, Any]:
        return CHECKPOINT


def train_split_of(seed: int):
    """The toy factory: the test split fixed, the training split drawn with ``seed``."""
    def factory(split: str, root: Any):
        return make_toy_dataset(n=60, seed=seed, split=split) if split == "train" else make_toy_dataset(n=30)
    return factory


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(CODECS._entries, "t-half", HalfRight)
    monkeypatch.setattr(HalfRight, "name", "t-half")
    monkeypatch.setitem(DATASETS._entries, "toy", train_split_of(3))
    monkeypatch.setitem(TASK_MODELS._entries, "fp-oracle", FingerprintedOracle)


def suite(codecs=({"name": "t-half"},), **extra):
    return parse_suite({"suite": "toy", "dataset": {"name": "toy", "split": "test"},
                        "task_model": "fp-oracle", "codecs": list(codecs), "batch_size": 7, **extra})


def _run(config, out, **kwargs):
    return run_suite(config, out=out, progress=False, log=lambda _: None, device="cpu", **kwargs)


def test_a_record_carries_every_schema_2_field(tmp_path, registered):
    (record,) = _run(suite(), tmp_path)
    train = make_toy_dataset(n=60, seed=3, split="train")
    assert record.status == "ok", record.error
    assert record.dataset.train_fingerprint == train.info.fingerprint
    assert record.dataset.train_prior_counts == np.bincount(train.labels(), minlength=4).tolist()
    assert record.task_model.fingerprint == "weights-0123"
    assert record.codec.qualname == f"{HalfRight.__module__}:HalfRight"
    assert record.codec.identity == CHECKPOINT
    m = record.metrics
    assert 0 < m.correct < m.samples
    assert m.accuracy_interval == list(clopper_pearson(m.correct, m.samples))
    csv_path = tmp_path / "toy" / "toy" / "t-half" / record.samples_file
    assert record.samples_sha256 == hashlib.sha256(csv_path.read_bytes()).hexdigest()
    assert read_record(csv_path.with_name("default.json")) == record  # what is on disk, too


def test_a_failed_point_still_says_what_it_was(tmp_path, registered, monkeypatch):
    def broken(self, xs):
        raise RuntimeError("boom")

    monkeypatch.setattr(HalfRight, "encode_block", broken)
    (record,) = _run(suite(), tmp_path)
    assert record.status == "failed"
    assert record.dataset.train_prior_counts is not None and record.task_model.fingerprint == "weights-0123"
    assert record.codec.qualname == f"{HalfRight.__module__}:HalfRight"


def test_no_training_split_means_no_free_point_claimed(tmp_path, registered):
    (record,) = _run(suite(train_split=None), tmp_path)
    assert record.status == "ok"
    assert record.dataset.train_fingerprint is None and record.dataset.train_prior_counts is None


def test_a_training_split_missing_on_disk_is_recorded_as_unknown(tmp_path, registered, monkeypatch):
    def factory(split, root):
        if split == "train":
            raise DataError("train/ not found under /data")
        return make_toy_dataset(n=30)

    monkeypatch.setitem(DATASETS._entries, "toy", factory)
    (record,) = _run(suite(), tmp_path)
    assert record.status == "ok"
    assert record.dataset.train_fingerprint is None and record.dataset.train_prior_counts is None


def test_built_in_codecs_name_vcmbench_and_its_version():
    from vcmbench.pipeline.refs import codec_origin

    qualname, package, version = codec_origin(CODECS.get("label-fixed"))
    assert qualname == f"{CODECS.get('label-fixed').__module__}:{CODECS.get('label-fixed').__qualname__}"
    assert (package, version) == ("vcmbench", vcmbench.__version__)


def test_a_codec_outside_any_distribution_has_no_package():
    from vcmbench.pipeline.refs import codec_origin

    assert codec_origin(HalfRight)[1:] == (None, None)
