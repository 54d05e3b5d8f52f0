"""Checkpoints are named by their configuration and refuse to load for another one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vcmbench.codecs.learned.checkpoints import (
    checkpoint_name,
    config_hash,
    find_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from vcmbench.errors import DataError

BASE = {"codec": "entropic-student", "version": "1", "params": {"beta": 2.0, "width": 8},
        "train": "abc123", "seed": 0, "teacher": None, "num_classes": 10}


@pytest.mark.parametrize("key, value", [
    ("codec", "split-feature"), ("version", "2"), ("params", {"beta": 4.0, "width": 8}),
    ("params", {"beta": 2.0, "width": 16}), ("train", "def456"), ("seed", 1),
    ("teacher", {"name": "mnist-cnn"}), ("num_classes", 100),
])
def test_hash_changes_with_every_part_of_the_config(key: str, value: object) -> None:
    assert config_hash({**BASE, key: value}) != config_hash(BASE)


def test_hash_ignores_key_order() -> None:
    assert config_hash(dict(reversed(list(BASE.items())))) == config_hash(BASE)
    assert checkpoint_name(BASE).startswith("entropic-student-")


def test_round_trip_and_lookup(tmp_path: Path) -> None:
    path = tmp_path / "learned" / checkpoint_name(BASE)
    save_checkpoint(path, BASE, {"model": {"w": torch.arange(3.0)}}, {"bits": 4.5})
    assert find_checkpoint(BASE, tmp_path) == path
    assert find_checkpoint({**BASE, "seed": 7}, tmp_path) is None
    payload = load_checkpoint(path, BASE)
    assert torch.equal(payload["state"]["model"]["w"], torch.arange(3.0))
    assert payload["summary"] == {"bits": 4.5}


def test_checkpoint_for_another_config_names_the_file(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.pt", BASE, {"model": {}})
    with pytest.raises(DataError, match=r"c\.pt.*another configuration.*params"):
        load_checkpoint(path, {**BASE, "params": {"beta": 8.0, "width": 8}})
    with pytest.raises(DataError, match=r"c\.pt.*codec"):
        load_checkpoint(path, {**BASE, "codec": "split-feature"})


def test_corrupted_checkpoint_names_the_file(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "broken.pt", BASE, {"model": {"w": torch.zeros(100)}})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"broken\.pt.*corrupted"):
        load_checkpoint(path, BASE)


def test_foreign_torch_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(DataError, match=r"other\.pt.*not a vcmbench"):
        load_checkpoint(path)


def test_pickled_code_is_never_executed(tmp_path: Path) -> None:
    path = tmp_path / "code.pt"
    torch.save({"format": "x", "config": BASE, "state": {}, "fn": Path}, path)  # a class needs pickle
    with pytest.raises(DataError, match=r"code\.pt"):
        load_checkpoint(path)


def test_missing_checkpoint_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nothing\.pt does not exist"):
        load_checkpoint(tmp_path / "nothing.pt")
