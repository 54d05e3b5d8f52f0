"""`vcmbench run` refuses bad input in one line (exit 2) before any data is loaded or model trained."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import OracleTask, make_toy_dataset
from vcmbench.api.codec import CODECS
from vcmbench.api.dataset import DATASETS
from vcmbench.api.task import TASK_MODELS
from vcmbench.cli import main
from vcmbench.errors import UsageError
from vcmbench.pipeline.config import parse_suite

GOOD = {"suite": "toy", "dataset": {"name": "t-spied", "split": "test"}, "task_model": "oracle",
        "codecs": [{"name": "label-fixed"}]}


@pytest.fixture
def loads(monkeypatch) -> list[str]:
    """Registers a toy dataset that notes every split it is asked to load."""
    seen: list[str] = []

    def factory(split, root):
        seen.append(split)
        return make_toy_dataset(split=split)

    monkeypatch.setitem(DATASETS._entries, "t-spied", factory)
    monkeypatch.setitem(TASK_MODELS._entries, "oracle", OracleTask)
    return seen


def _suite_file(tmp_path: Path, **changes) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({**GOOD, **changes}))
    return path


def _refused(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_the_good_suite_runs(tmp_path, capsys, loads):
    assert main(["run", str(_suite_file(tmp_path)), "--out", str(tmp_path / "out"), "--quiet",
                 "--device", "cpu"]) == 0
    assert "test" in loads


@pytest.mark.parametrize("name", ["../../escaped", "ABSOLUTE", "a/b", "..", ".hidden", ""])
def test_a_suite_name_that_is_not_a_plain_name_is_refused(tmp_path, capsys, loads, name):
    absolute = tmp_path / "absolute"
    name = str(absolute) if name == "ABSOLUTE" else name
    out = tmp_path / "deep" / "er" / "out"
    err = _refused(capsys, ["run", str(_suite_file(tmp_path, suite=name)), "--out", str(out)])
    assert "suite must be a simple name" in err
    assert not loads
    assert not (tmp_path / "deep" / "escaped").exists() and not absolute.exists()


def test_a_plain_suite_name_is_accepted():
    assert parse_suite({**GOOD, "suite": "mnist-cnn_v2.1"}).suite == "mnist-cnn_v2.1"
    with pytest.raises(UsageError):
        parse_suite({**GOOD, "suite": 12})


@pytest.mark.parametrize("seed", ["abc", -1, 1.5, True])
def test_a_bad_seed_is_refused(tmp_path, capsys, loads, seed):
    err = _refused(capsys, ["run", str(_suite_file(tmp_path, seed=seed)), "--out", str(tmp_path / "out")])
    assert "seed must be a non-negative integer" in err and not loads


def test_a_suite_file_that_is_not_utf8_is_refused(tmp_path, capsys, loads):
    path = tmp_path / "latin1.yaml"
    text = yaml.safe_dump({**GOOD, "description": "Überprüfung"}, allow_unicode=True)
    path.write_bytes(text.encode("latin-1"))
    err = _refused(capsys, ["run", str(path), "--out", str(tmp_path / "out")])
    assert "not UTF-8" in err and str(path) in err and not loads


def test_out_that_is_a_file_is_refused_before_any_data(tmp_path, capsys, loads):
    out = tmp_path / "results"
    out.write_text("not a folder")
    err = _refused(capsys, ["run", str(_suite_file(tmp_path)), "--out", str(out)])
    assert "is a file" in err and not loads


def test_out_that_cannot_be_created_is_refused_before_any_data(tmp_path, capsys, loads):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    err = _refused(capsys, ["run", str(_suite_file(tmp_path)), "--out", str(blocker / "results")])
    assert "cannot be written" in err and not loads


def test_every_operating_point_is_checked_before_any_data(tmp_path, capsys, loads):
    codecs = [{"name": "label-fixed"},
              {"name": "label-block", "points": [{"n": 3}, {"n": 2, "block_size": 0}]}]
    err = _refused(capsys, ["run", str(_suite_file(tmp_path, codecs=codecs)), "--out", str(tmp_path / "out")])
    assert "label-block" in err and "block_size" in err and not loads


def test_a_constructor_that_raises_anything_is_one_line(tmp_path, capsys, loads, monkeypatch):
    class Picky(CODECS.get("label-fixed")):
        def __init__(self, **params):
            raise ValueError("no such mode")

    monkeypatch.setitem(CODECS._entries, "t-picky", Picky)
    monkeypatch.setattr(Picky, "name", "t-picky")
    codecs = [{"name": "label-fixed"}, {"name": "t-picky"}]
    err = _refused(capsys, ["run", str(_suite_file(tmp_path, codecs=codecs)), "--out", str(tmp_path / "out")])
    assert "t-picky" in err and "no such mode" in err and not loads


def test_an_unknown_codec_in_the_suite_is_refused_before_any_data(tmp_path, capsys, loads):
    codecs = [{"name": "label-fixed"}, {"name": "label-hufman"}]
    err = _refused(capsys, ["run", str(_suite_file(tmp_path, codecs=codecs)), "--out", str(tmp_path / "out")])
    assert "did you mean 'label-huffman'" in err and not loads


def test_limit_below_one_is_refused_before_any_data(tmp_path, capsys, loads):
    argv = ["run", str(_suite_file(tmp_path)), "--out", str(tmp_path / "out"), "--limit", "0"]
    err = _refused(capsys, argv)
    assert "--limit" in err and not loads


def test_a_plot_that_cannot_be_written_is_refused_before_any_data(tmp_path, capsys, loads):
    argv = ["run", str(_suite_file(tmp_path)), "--out", str(tmp_path / "out"),
            "--plot", str(tmp_path / "missing" / "fig.png")]
    err = _refused(capsys, argv)
    assert "--plot" in err and "does not exist" in err and not loads
