"""Learned checkpoints have an identity, training in a run is opt-in, and training is reproducible."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from test_learned_codecs import TINY, context, synthetic_digits
from vcmbench.api.codec import CodecContext
from vcmbench.api.dataset import DATASETS, ArrayDataset
from vcmbench.codecs.learned.checkpoints import SHIPPED_DIR, cache_folder, checkpoint_name
from vcmbench.codecs.learned.student import EntropicStudentBlockCodec, EntropicStudentCodec
from vcmbench.errors import DataError
from vcmbench.training import loop
from vcmbench.training.checkpoints import file_sha256, load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def train_set() -> ArrayDataset:
    return synthetic_digits(96, "train")


def test_shipped_checkpoint_is_named_by_its_hash_and_origin(tmp_path: Path) -> None:
    train = DATASETS.get("mnist")("train", None)
    codec = EntropicStudentBlockCodec(beta=16)
    ctx = CodecContext(task_model=None, train=train, num_classes=10, cache_dir=tmp_path)
    codec.prepare(ctx)  # no training allowed: the shipped file must be found
    shipped = SHIPPED_DIR / checkpoint_name(codec.checkpoint_config(ctx))
    assert codec.identity() == {"checkpoint": {"sha256": file_sha256(shipped), "origin": "shipped",
                                               "name": shipped.name}}


def test_two_checkpoints_of_one_point_have_two_identities(train_set: ArrayDataset, tmp_path: Path) -> None:
    first = EntropicStudentCodec(beta=4.0, **TINY)
    first.prepare(context(train_set, tmp_path))
    identity = first.identity()["checkpoint"]
    (path,) = cache_folder(tmp_path).glob("*.pt")
    assert identity["origin"] == "trained" and identity["name"] == path.name
    assert identity["sha256"] == file_sha256(path)
    payload = load_checkpoint(path)  # the same configuration with other weights (another machine's run)
    state = payload["state"]["model"]
    key = next(k for k, v in state.items() if v.is_floating_point())
    state[key] = state[key] + 1
    save_checkpoint(path, payload["config"], payload["state"], payload["summary"])
    second = EntropicStudentCodec(beta=4.0, **TINY)
    second.prepare(context(train_set, tmp_path))
    assert second.identity()["checkpoint"]["sha256"] != identity["sha256"]
    assert second.identity()["checkpoint"]["name"] == identity["name"]
    elsewhere = tmp_path / "mine" / path.name
    elsewhere.parent.mkdir()
    shutil.copy(path, elsewhere)
    third = EntropicStudentCodec(beta=4.0, **TINY)
    third.load(elsewhere, context(train_set, tmp_path))
    assert third.identity()["checkpoint"]["origin"] == "file"


def test_a_run_does_not_train_unless_asked(train_set: ArrayDataset, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def no_training(*args, **kwargs):
        raise AssertionError("trained although training was not allowed")

    monkeypatch.setattr(EntropicStudentCodec, "fit", no_training)
    codec = EntropicStudentCodec(beta=4.0, **TINY)
    ctx = context(train_set, tmp_path / "results" / "cache", allow_training=False)
    with pytest.raises(DataError) as info:
        codec.prepare(ctx)
    message = str(info.value)
    assert message.startswith("entropic-student ") and "beta=4 " in message
    assert train_set.info.fingerprint in message and str(cache_folder(ctx.cache_dir)) in message
    command = "`vcmbench train entropic-student --suite SUITE --beta 4 --param batch_size=16 --epochs 3 "
    assert command in message
    assert f"--out {tmp_path / 'results'}" in message and message.endswith("or run with --train")
    assert not cache_folder(ctx.cache_dir).exists()


def test_training_in_a_run_shows_a_step_bar(train_set: ArrayDataset, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    codec = EntropicStudentCodec(beta=4.0, **TINY)
    ctx = CodecContext(task_model=None, train=train_set, num_classes=4, cache_dir=tmp_path,
                       allow_training=True, progress=True)
    codec.prepare(ctx)
    steps = TINY["epochs"] * -(-len(train_set) // TINY["batch_size"])
    assert f"{steps}/{steps}" in capsys.readouterr().err


def test_training_fixes_threads_and_deterministic_kernels() -> None:
    seen = []

    def loss_fn(m, x, t, done):
        seen.append((torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()))
        return torch.nn.functional.cross_entropy(m(x), t), {}

    before = torch.get_num_threads()
    torch.set_num_threads(before + 1)
    try:
        x, t = torch.randn(8, 3), torch.randint(0, 2, (8,))
        loop.train(torch.nn.Linear(3, 2), x, t, loss_fn, loop.TrainSettings(epochs=1, batch_size=4,
                                                                            progress=False))
        assert set(seen) == {(loop.TRAIN_THREADS, True)}
        assert torch.get_num_threads() == before + 1 and not torch.are_deterministic_algorithms_enabled()
    finally:
        torch.set_num_threads(before)


def test_retraining_reproduces_the_checkpoint_bytes(train_set: ArrayDataset, tmp_path: Path) -> None:
    """Same seed, data and code: the same file, so the same identity in records."""
    paths = []
    for run in ("a", "b"):
        codec = EntropicStudentCodec(beta=4.0, **TINY)
        paths.append(codec.train(context(train_set, tmp_path / run), progress=False))
    assert paths[0].name == paths[1].name
    assert file_sha256(paths[0]) == file_sha256(paths[1])
