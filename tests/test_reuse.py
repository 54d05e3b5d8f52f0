"""A rerun reuses a record only when everything the result depends on is unchanged (issue 13.6)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import yaml

from conftest import make_toy_dataset
from vcmbench.api.codec import CODECS, BlockCodec, CodecContext
from vcmbench.api.dataset import DATASETS, ArrayDataset, DatasetInfo, fingerprint_arrays
from vcmbench.api.task import TASK_MODELS, TaskContext, TaskModel
from vcmbench.cli import main
from vcmbench.pipeline.config import parse_suite
from vcmbench.pipeline.suite import run_suite


class Majority(TaskModel):
    """Always predicts the training split's most frequent label: its accuracy depends on that split."""

    name = "t-majority"

    def prepare(self, ctx: TaskContext) -> None:
        self.label = int(np.argmax(np.bincount(ctx.train.labels())))

    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        return np.full(len(inputs), self.label, dtype=np.int64)


class Sends(BlockCodec):
    """One byte per classifier label; counts its encodes so a test sees what was measured again."""

    decodes_to = "label"
    encodes: ClassVar[int] = 0
    shift: ClassVar[int] = 0
    checkpoint: ClassVar[str] = "aa" * 32

    def prepare(self, ctx: CodecContext) -> None:
        self.task = ctx.task_model

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        Sends.encodes += 1
        return bytes((int(v) + type(self).shift) % 4 for v in self.task.predict(xs))

    def decode_block(self, data: bytes) -> list[int]:
        return list(data)

    def identity(self) -> dict[str, Any]:
        return {"checkpoint": {"sha256": type(self).checkpoint, "origin": "file"}}


class SendsShifted(Sends):
    shift = 1


TRAIN = {"label": 1}  # every training sample has this label: the majority the task model learns


def factory(split: str, root: Any):
    """Fixed test split; the training split is TRAIN's (the files a user swaps under --data-root)."""
    if split == "train":
        labels = np.full(50, TRAIN["label"])
        images = np.zeros((50, 6, 6), dtype=np.uint8)
        images[:, 0, 0] = labels
        info = DatasetInfo(id="toy", split="train", num_classes=4,
                           fingerprint=fingerprint_arrays(images, labels))
        return ArrayDataset(info, images, labels)
    return make_toy_dataset(n=40, split=split)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(CODECS._entries, "t-sends", Sends)
    monkeypatch.setattr(Sends, "name", "t-sends")
    monkeypatch.setattr(Sends, "checkpoint", "aa" * 32)
    monkeypatch.setitem(DATASETS._entries, "toy", factory)
    monkeypatch.setitem(TASK_MODELS._entries, "t-majority", Majority)
    monkeypatch.setitem(TRAIN, "label", 1)
    Sends.encodes = 0


SUITE = {"suite": "toy", "dataset": {"name": "toy", "split": "test"}, "task_model": "t-majority",
         "codecs": [{"name": "t-sends"}], "batch_size": 8}


def _run(out: Path, **kwargs):
    (record,) = run_suite(parse_suite(SUITE), out=out, progress=False, log=lambda _: None, device="cpu",
                          **kwargs)
    assert record.status == "ok", record.error
    return record


def _truth(label: int, shift: int = 0) -> float:
    test = make_toy_dataset(n=40)
    return float(np.mean((label + shift) % 4 == test.labels()))


def test_an_unchanged_rerun_reuses(tmp_path, registered):
    first = _run(tmp_path)
    second = _run(tmp_path)
    assert Sends.encodes == 1 and second == first


def test_a_different_training_split_with_the_same_test_files_is_measured_again(tmp_path, registered):
    first = _run(tmp_path)
    assert first.metrics.accuracy == _truth(1)
    TRAIN["label"] = 2  # the user points --data-root at another training split; test files unchanged
    second = _run(tmp_path)
    assert Sends.encodes == 2
    assert second.metrics.accuracy == _truth(2) != first.metrics.accuracy
    assert second.dataset.fingerprint == first.dataset.fingerprint
    assert second.dataset.train_fingerprint != first.dataset.train_fingerprint


def test_another_codec_class_under_the_same_name_is_measured_again(tmp_path, registered, monkeypatch):
    first = _run(tmp_path)
    monkeypatch.setitem(CODECS._entries, "t-sends", SendsShifted)
    monkeypatch.setattr(SendsShifted, "name", "t-sends")
    second = _run(tmp_path)
    assert Sends.encodes == 2
    assert second.codec.qualname.endswith(":SendsShifted")
    assert second.metrics.accuracy == _truth(1, shift=1) != first.metrics.accuracy


def test_another_checkpoint_is_measured_again(tmp_path, registered, monkeypatch):
    _run(tmp_path)
    monkeypatch.setattr(Sends, "checkpoint", "bb" * 32)
    second = _run(tmp_path)
    assert Sends.encodes == 2 and second.codec.identity["checkpoint"]["sha256"] == "bb" * 32


def test_an_edited_sample_file_is_not_trusted(tmp_path, registered):
    first = _run(tmp_path)
    csv = tmp_path / "toy" / "toy" / "t-sends" / first.samples_file
    data = csv.read_bytes()
    edited = data.replace(b",1\r\n", b",0\r\n", 1)  # one sample's 'correct' flag flipped
    assert edited != data and len(edited) == len(data)
    csv.write_bytes(edited)
    _run(tmp_path)
    assert Sends.encodes == 2


def test_force_measures_again(tmp_path, registered):
    _run(tmp_path)
    _run(tmp_path, force=True)
    assert Sends.encodes == 2


def test_run_force_on_the_command_line(tmp_path, registered, capsys):
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(SUITE))
    argv = ["run", str(path), "--out", str(tmp_path / "out"), "--device", "cpu", "--quiet"]
    assert main(argv) == 0 and main(argv) == 0
    assert Sends.encodes == 1
    assert main([*argv, "--force"]) == 0
    assert Sends.encodes == 2
    assert "[reused]" not in capsys.readouterr().err.splitlines()[-1]


PLUGIN = '''
from vcmbench.api.codec import BlockCodec

SHIFT = {shift}


class PluginCodec(BlockCodec):
    decodes_to = "label"

    def prepare(self, ctx):
        self.task = ctx.task_model

    def encode_block(self, xs):
        return bytes((int(v) + SHIFT) % 4 for v in self.task.predict(xs))

    def decode_block(self, data):
        return list(data)
'''


def _install_plugin(site: Path, version: str, shift: int) -> None:
    """A distribution as pip leaves it on disk: the module and its .dist-info metadata."""
    package = site / "vcmtoyplugin"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(PLUGIN.format(shift=shift))
    for old in site.glob("vcmtoyplugin-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    info = site / f"vcmtoyplugin-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vcmtoyplugin\nVersion: {version}\n")
    (info / "top_level.txt").write_text("vcmtoyplugin\n")
    importlib.invalidate_caches()
    sys.modules.pop("vcmtoyplugin", None)


def test_a_reinstalled_plugin_codec_is_measured_again(tmp_path, registered, monkeypatch):
    from vcmbench.pipeline import refs

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "vcmtoyplugin", raising=False)
    refs._top_level_distributions.cache_clear()
    suite = {**SUITE, "codecs": [{"name": "toy-plugin"}]}

    def run(out: Path):
        cls = importlib.import_module("vcmtoyplugin").PluginCodec
        monkeypatch.setitem(CODECS._entries, "toy-plugin", cls)
        monkeypatch.setattr(cls, "name", "toy-plugin", raising=False)
        (record,) = run_suite(parse_suite(suite), out=out, progress=False, log=lambda _: None, device="cpu")
        return record

    _install_plugin(site, "1.0", shift=0)
    first = run(tmp_path / "out")
    assert (first.codec.package, first.codec.package_version) == ("vcmtoyplugin", "1.0")
    assert first.metrics.accuracy == _truth(1)
    _install_plugin(site, "1.1", shift=1)  # same codec name, version and parameters; new code
    second = run(tmp_path / "out")
    assert second.codec.package_version == "1.1"
    assert second.metrics.accuracy == _truth(1, shift=1) != first.metrics.accuracy
    refs._top_level_distributions.cache_clear()
