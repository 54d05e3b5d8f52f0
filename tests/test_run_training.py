"""Training inside `vcmbench run` happens only with --train; otherwise the run says what to train."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
import yaml

from conftest import OracleTask, make_toy_dataset
from vcmbench.api.codec import CODECS, BlockCodec, CodecContext
from vcmbench.api.dataset import DATASETS
from vcmbench.api.task import TASK_MODELS
from vcmbench.cli import main
from vcmbench.errors import DataError
from vcmbench.pipeline.config import parse_suite
from vcmbench.pipeline.suite import run_suite


class NeedsCheckpoint(BlockCodec):
    """A learned codec in miniature: a checkpoint per point in the cache, trained only when allowed."""

    decodes_to = "label"
    trained: ClassVar[list[int]] = []
    contexts: ClassVar[list[CodecContext]] = []

    def __init__(self, k: int = 1, **params: Any):
        super().__init__(k=k, **params)

    def prepare(self, ctx: CodecContext) -> None:
        type(self).contexts.append(ctx)
        self.path = ctx.cache_dir / "toy" / f"k{self.params['k']}.bin"
        if not self.path.is_file():
            if not ctx.allow_training:
                k = self.params["k"]
                raise DataError(f"no checkpoint for {self.name} k={k} at {self.path}; train it with "
                                f"`vcmbench train {self.name} --suite toy --param k={k}`")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(bytes([self.params["k"]]))
            NeedsCheckpoint.trained.append(self.params["k"])
        self.task = ctx.task_model

    def identity(self) -> dict[str, Any]:
        return {"checkpoint": {"sha256": hashlib.sha256(self.path.read_bytes()).hexdigest()}}

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        return bytes(int(v) for v in self.task.predict(xs))

    def decode_block(self, data: bytes) -> list[int]:
        return list(data)


SUITE = {"suite": "toy", "dataset": "toy", "task_model": "oracle",
         "codecs": [{"name": "t-needs", "points": [{"k": 1}, {"k": 2}]}]}


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(CODECS._entries, "t-needs", NeedsCheckpoint)
    monkeypatch.setattr(NeedsCheckpoint, "name", "t-needs")
    monkeypatch.setattr(NeedsCheckpoint, "trained", [])
    monkeypatch.setattr(NeedsCheckpoint, "contexts", [])
    monkeypatch.setitem(DATASETS._entries, "toy", lambda split, root: make_toy_dataset(split=split))
    monkeypatch.setitem(TASK_MODELS._entries, "oracle", OracleTask)


def test_without_train_the_points_fail_and_the_run_says_so_first(tmp_path, registered):
    from vcmbench.pipeline.suite import untrained_hint

    lines: list[str] = []
    records = run_suite(parse_suite(SUITE), out=tmp_path, progress=False, log=lines.append, device="cpu")
    assert NeedsCheckpoint.trained == []
    assert all(r.status == "failed" and "vcmbench train t-needs" in r.error for r in records)
    notice = next(i for i, line in enumerate(lines) if "no trained checkpoint" in line)
    first_point = next(i for i, line in enumerate(lines) if "FAILED" in line)
    assert notice < first_point and "t-needs k=1" in lines[notice] and "--train" in lines[notice]
    assert "--train" in untrained_hint(records)
    assert all(not c.allow_training for c in NeedsCheckpoint.contexts)


def test_with_train_they_train_once_and_a_later_run_reuses(tmp_path, registered):
    records = run_suite(parse_suite(SUITE), out=tmp_path, progress=False, log=lambda _: None, device="cpu",
                        train=True)
    assert all(r.status == "ok" for r in records), [r.error for r in records]
    assert sorted(NeedsCheckpoint.trained) == [1, 2]
    assert all(c.allow_training for c in NeedsCheckpoint.contexts)
    lines: list[str] = []
    again = run_suite(parse_suite(SUITE), out=tmp_path, progress=False, log=lines.append, device="cpu")
    assert sorted(NeedsCheckpoint.trained) == [1, 2]
    assert again == records and sum("[reused]" in line for line in lines) == 2


def test_the_command_line_trains_only_when_asked(tmp_path, registered, capsys):
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(SUITE))
    argv = ["run", str(path), "--out", str(tmp_path / "out"), "--device", "cpu"]
    assert main([*argv, "--quiet"]) == 1  # every point failed
    err = capsys.readouterr().err
    assert NeedsCheckpoint.trained == []
    assert "2 point(s) failed for want of a trained checkpoint" in err.splitlines()[-1]
    assert main([*argv, "--train"]) == 0
    assert sorted(NeedsCheckpoint.trained) == [1, 2]
    assert NeedsCheckpoint.contexts[-1].allow_training and NeedsCheckpoint.contexts[-1].progress
