"""`vcmbench train`: one-line errors for bad requests, and a checkpoint that `vcmbench run` finds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from test_learned_codecs import synthetic_digits
from vcmbench.api.dataset import DATASETS
from vcmbench.cli import main
from vcmbench.pipeline.config import CodecEntry, load_suite
from vcmbench.pipeline.suite import run_suite

DATASET = "learned-test-digits"
TINY = ["--param", "width=2", "--param", "hidden=8", "--param", "features=8", "--param", "latent_channels=8",
        "--epochs", "1", "--quiet"]


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if DATASET not in DATASETS.names():
        DATASETS.add(DATASET, lambda split, root: synthetic_digits(48 if split == "train" else 16, split,
                                                                   seed=0 if split == "train" else 1))
    path = tmp_path_factory.mktemp("suite") / "digits.yaml"
    path.write_text(f"suite: digits\ndataset: {{name: {DATASET}, split: test}}\n"
                    "task_model: {name: nearest-centroid}\ncodecs:\n  - name: entropic-student-block\n")
    return path


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_unknown_codec(capsys, suite: Path, tmp_path: Path) -> None:
    err = _error(capsys, ["train", "entropic-studnet", "--suite", str(suite), "--beta", "1",
                          "--out", str(tmp_path)])
    assert "unknown codec 'entropic-studnet'" in err and "did you mean" in err


def test_codec_that_is_not_trained(capsys, suite: Path, tmp_path: Path) -> None:
    err = _error(capsys, ["train", "passthrough", "--suite", str(suite), "--out", str(tmp_path)])
    assert "not trained" in err and "entropic-student" in err


@pytest.mark.parametrize("beta", ["0", "-1", "nan", "inf"])
def test_bad_beta(capsys, suite: Path, tmp_path: Path, beta: str) -> None:
    err = _error(capsys, ["train", "entropic-student", "--suite", str(suite), f"--beta={beta}",
                          "--out", str(tmp_path)])
    assert "--beta must be a positive number" in err


def test_missing_beta(capsys, suite: Path, tmp_path: Path) -> None:
    err = _error(capsys, ["train", "entropic-student", "--suite", str(suite), "--out", str(tmp_path)])
    assert "needs --beta" in err


def test_beta_for_a_codec_without_one(capsys, suite: Path, tmp_path: Path) -> None:
    err = _error(capsys, ["train", "split-feature", "--suite", str(suite), "--beta", "2",
                          "--out", str(tmp_path)])
    assert "has no beta" in err and "step" in err


def test_bad_param(capsys, suite: Path, tmp_path: Path) -> None:
    err = _error(capsys, ["train", "entropic-student", "--suite", str(suite), "--beta", "1",
                          "--param", "width", "--out", str(tmp_path)])
    assert "KEY=VALUE" in err
    err = _error(capsys, ["train", "entropic-student", "--suite", str(suite), "--beta", "1",
                          "--param", "colour=red", "--out", str(tmp_path)])
    assert "unknown parameter(s) colour" in err


def test_unknown_suite(capsys, tmp_path: Path) -> None:
    err = _error(capsys, ["train", "entropic-student", "--suite", "no-such-suite", "--beta", "1",
                          "--out", str(tmp_path)])
    assert "unknown suite" in err


def test_trains_once_and_run_finds_the_checkpoint(capsys, suite: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["train", "entropic-student", "--suite", str(suite), "--beta", "2", "--out", str(tmp_path), *TINY]
    assert main(argv) == 0
    out = capsys.readouterr().out
    (checkpoint,) = (tmp_path / "cache" / "learned").glob("entropic-student-*.pt")
    assert str(checkpoint) in out and "suite entry" in out

    from vcmbench.codecs.learned.student import EntropicStudent

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(EntropicStudent, "fit", no_training)
    assert main(argv) == 0  # the same point again: found, not retrained
    assert str(checkpoint) in capsys.readouterr().out

    params = {"beta": 2.0, "width": 2, "hidden": 8, "features": 8, "latent_channels": 8, "epochs": 1}
    entry = CodecEntry(name="entropic-student-block", points=[params])
    config = replace(load_suite(str(suite)), codecs=[entry])
    (record,) = run_suite(config, out=tmp_path, progress=False, log=lambda _: None, device="cpu")
    assert record.status == "ok", record.error
    assert record.metrics.bits_total > 0
