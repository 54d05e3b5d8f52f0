"""Entropic student and split-feature end to end on tiny synthetic digits: train, save, load, code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vcmbench.api.codec import CODECS, CodecContext
from vcmbench.api.dataset import ArrayDataset, DatasetInfo, fingerprint_arrays
from vcmbench.api.task import TaskContext
from vcmbench.codecs.learned.base import LearnedCodec
from vcmbench.codecs.learned.checkpoints import cache_folder
from vcmbench.codecs.learned.student import EntropicStudentBlockCodec, EntropicStudentCodec
from vcmbench.errors import BitstreamError, DataError, UsageError
from vcmbench.pipeline.evaluate import evaluate_point
from vcmbench.tasks.mnist_cnn import MnistCNN

TINY = {"width": 2, "hidden": 8, "features": 8, "latent_channels": 8, "epochs": 3, "batch_size": 16,
        "warmup": 0.0}


def synthetic_digits(n: int, split: str, seed: int = 0, classes: int = 4) -> ArrayDataset:
    """28×28 uint8 images: class k is a bright square in quadrant k, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        r, c = divmod(int(k), 2)
        images[i, 4 + 14 * r: 10 + 14 * r, 4 + 14 * c: 10 + 14 * c] = 230
    info = DatasetInfo(id="synthetic", split=split, num_classes=classes,
                       fingerprint=fingerprint_arrays(images, labels), pixels_per_sample=784)
    return ArrayDataset(info, images, labels)


@pytest.fixture(scope="module")
def train_set() -> ArrayDataset:
    return synthetic_digits(96, "train")


@pytest.fixture(scope="module")
def test_set() -> ArrayDataset:
    return synthetic_digits(24, "test", seed=1)


def context(train: ArrayDataset, cache: Path, task_model=None, allow_training: bool = True) -> CodecContext:
    return CodecContext(task_model=task_model, train=train, num_classes=4, cache_dir=cache, seed=0,
                        allow_training=allow_training)


@pytest.fixture(scope="module")
def student_cache(tmp_path_factory: pytest.TempPathFactory, train_set: ArrayDataset) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    EntropicStudentCodec(beta=4.0, **TINY).prepare(context(train_set, cache))
    return cache


def test_learned_codecs_are_registered_in_both_granularities() -> None:
    for name, granularity in [("entropic-student", "sample"), ("entropic-student-block", "block"),
                              ("split-feature", "sample"), ("split-feature-block", "block")]:
        cls = CODECS.get(name)
        assert issubclass(cls, LearnedCodec) and cls.granularity == granularity
        assert len(cls.operating_points()) >= 5


def test_prepare_trains_once_then_loads(student_cache: Path, train_set: ArrayDataset,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    files = list(cache_folder(student_cache).glob("entropic-student-*.pt"))
    assert len(files) == 1 and not list(cache_folder(student_cache).glob("*.partial.pt"))

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although the checkpoint exists")

    monkeypatch.setattr(EntropicStudentBlockCodec, "fit", no_training)
    block = EntropicStudentBlockCodec(beta=4.0, **TINY)  # the block variant shares the checkpoint
    block.prepare(context(train_set, student_cache))
    assert block.coder is not None


def test_short_training_lowers_the_loss(student_cache: Path) -> None:
    from vcmbench.codecs.learned.checkpoints import load_checkpoint

    (path,) = cache_folder(student_cache).glob("entropic-student-*.pt")
    summary = load_checkpoint(path)["summary"]
    assert summary["epochs"] == 3
    assert summary["final"]["loss"] < summary["first"]["loss"]


def test_sample_and_block_decode_the_same_labels(student_cache: Path, train_set: ArrayDataset,
                                                 test_set: ArrayDataset) -> None:
    ctx = context(train_set, student_cache)
    sample, block = EntropicStudentCodec(beta=4.0, **TINY), EntropicStudentBlockCodec(beta=4.0, **TINY)
    sample.prepare(ctx)
    block.prepare(ctx)
    xs = test_set.inputs(range(len(test_set)))
    streams = sample.encode_batch(xs)
    labels = sample.decode_batch(streams)
    assert labels == block.decode_block(block.encode_block(xs))
    assert all(isinstance(v, int) and 0 <= v < 4 for v in labels)
    assert sample.decode(sample.encode(xs[0])) == labels[0]
    assert 8 * len(block.encode_block(xs)) < sum(8 * len(s) for s in streams)


def test_pipeline_counts_the_real_bytes(student_cache: Path, train_set: ArrayDataset,
                                        test_set: ArrayDataset, tmp_path: Path) -> None:
    from conftest import OracleTask

    codec = EntropicStudentBlockCodec(beta=4.0, **TINY)
    record = evaluate_point(codec, test_set, OracleTask(), suite="t", reference_accuracy=1.0,
                            out_path=tmp_path / "p.json", codec_context=context(train_set, student_cache),
                            progress=False)
    assert record.status == "ok", record.error
    xs = test_set.inputs(range(len(test_set)))
    assert record.metrics.bits_total == 8 * len(codec.encode_block(xs))
    assert record.metrics.estimated_bits_per_sample is not None


def test_checkpoint_of_another_beta_is_refused(student_cache: Path, train_set: ArrayDataset) -> None:
    (path,) = cache_folder(student_cache).glob("entropic-student-*.pt")
    other = EntropicStudentCodec(beta=8.0, **TINY)
    with pytest.raises(DataError, match=path.name):
        other.load(path, context(train_set, student_cache))


def test_unprepared_codec_says_so() -> None:
    with pytest.raises(UsageError, match="not prepared"):
        EntropicStudentCodec(beta=1.0).encode(np.zeros((28, 28), np.uint8))


@pytest.mark.parametrize("params", [{"beta": 0}, {"beta": -1.0}, {"beta": float("nan")}, {"beta": "x"},
                                    {"beta": 1.0, "objective": "magic"}, {"beta": 1.0, "epochs": 0}])
def test_bad_parameters_are_usage_errors(params: dict) -> None:
    with pytest.raises(UsageError):
        EntropicStudentCodec(**params)


def test_unknown_or_missing_parameters_are_type_errors() -> None:
    with pytest.raises(TypeError, match="required"):
        EntropicStudentCodec()
    with pytest.raises(TypeError, match="unknown parameter"):
        EntropicStudentCodec(beta=1.0, colour="red")


@pytest.fixture(scope="module")
def cnn(tmp_path_factory: pytest.TempPathFactory, train_set: ArrayDataset) -> MnistCNN:
    model = MnistCNN(epochs=1, num_classes=4)
    model.prepare(TaskContext(train=train_set, cache_dir=tmp_path_factory.mktemp("cnn")))
    return model


def test_mnist_cnn_split_points_compose(cnn: MnistCNN, test_set: ArrayDataset) -> None:
    xs = test_set.inputs(range(8))
    direct = cnn.predict(xs)
    for split, shape in [("conv1", (16, 14, 14)), ("conv2", (32, 7, 7)), ("fc1", (128,))]:
        features = cnn.features(xs, split)
        assert tuple(features.shape) == (8, *shape)
        assert np.array_equal(cnn.predict_from_features(features, split), direct)
    with pytest.raises(UsageError, match="no split point"):
        cnn.features(xs, "layer9")


def test_split_feature_decodes_the_quantised_features(cnn: MnistCNN, train_set: ArrayDataset,
                                                      test_set: ArrayDataset, tmp_path: Path) -> None:
    ctx = context(train_set, tmp_path, task_model=cnn)
    sample = CODECS.get("split-feature")(split="fc1", step=2.0, epochs=1)
    block = CODECS.get("split-feature-block")(split="fc1", step=2.0, epochs=1)
    sample.prepare(ctx)
    block.prepare(ctx)
    assert sample.split == "fc1" and sample.decodes_to == "features"
    xs = test_set.inputs(range(len(test_set)))
    expected = torch.round(cnn.features(xs, "fc1") / 2.0 - sample.coder.bottleneck._get_medians()[:, 0, 0])
    expected = (expected + sample.coder.bottleneck._get_medians()[:, 0, 0]) * 2.0
    decoded = torch.stack(sample.decode_batch(sample.encode_batch(xs)))
    assert torch.equal(decoded, expected)
    assert torch.equal(torch.stack(block.decode_block(block.encode_block(xs))), expected)
    labels = cnn.predict_from_features(decoded, "fc1")
    assert labels.shape == (len(xs),)


def test_split_feature_needs_a_model_with_split_points(train_set: ArrayDataset, tmp_path: Path) -> None:
    from conftest import OracleTask

    with pytest.raises(UsageError, match="split points"):
        CODECS.get("split-feature")(split="fc1").prepare(context(train_set, tmp_path, OracleTask()))


def test_damaged_block_stream_is_a_bitstream_error(student_cache: Path, train_set: ArrayDataset,
                                                   test_set: ArrayDataset) -> None:
    block = EntropicStudentBlockCodec(beta=4.0, **TINY)
    block.prepare(context(train_set, student_cache))
    stream = bytearray(block.encode_block(test_set.inputs(range(8))))
    stream[-1] ^= 1
    with pytest.raises(BitstreamError):
        block.decode_block(bytes(stream))


def test_headers_claiming_huge_shapes_are_bitstream_errors(student_cache: Path,
                                                           train_set: ArrayDataset) -> None:
    """12 bytes claiming 4096×8192 latents, or a million samples, never reach the decoder's allocation."""
    import zlib

    from vcmbench.codecs.learned.entropy_model import BLOCK_MAGIC
    from vcmbench.entropy.framing import write_varint

    def block(n: int) -> bytes:
        header = bytes([BLOCK_MAGIC]) + write_varint(n) + write_varint(1) + write_varint(1)
        return header + zlib.crc32(header + bytes(16)).to_bytes(4, "little") + bytes(16)

    sample = EntropicStudentCodec(beta=4.0, **TINY)
    sample.prepare(context(train_set, student_cache))
    with pytest.raises(BitstreamError, match="4096×8192"):
        sample.decode(write_varint(4096) + write_varint(8192) + bytes(8))
    blocks = EntropicStudentBlockCodec(beta=4.0, block_size=8, **TINY)
    blocks.prepare(context(train_set, student_cache))
    with pytest.raises(BitstreamError, match="at most 8"):
        blocks.decode_block(block(9))
    unbounded = EntropicStudentBlockCodec(beta=4.0, **TINY)
    unbounded.prepare(context(train_set, student_cache))
    with pytest.raises(BitstreamError, match="needs at least"):
        unbounded.decode_block(block(1_000_000))


def test_categorical_latent_codes_one_index_per_sample(train_set: ArrayDataset, test_set: ArrayDataset,
                                                       tmp_path: Path) -> None:
    params = {**TINY, "latent": "categorical", "codewords": 4}
    ctx = context(train_set, tmp_path)
    sample, block = EntropicStudentCodec(beta=4.0, **params), EntropicStudentBlockCodec(beta=4.0, **params)
    sample.prepare(ctx)
    block.prepare(ctx)
    xs = test_set.inputs(range(len(test_set)))
    y = sample.latents(xs)
    assert y.shape == (len(xs), 8, 1, 1)  # the index plus constant padding channels
    assert torch.equal(sample.coder.quantize(y), y)  # the index already sits on the coder's grid
    streams = sample.encode_batch(xs)
    assert sample.decode_batch(streams) == block.decode_block(block.encode_block(xs))
    assert all(len(s) >= 2 + 8 for s in streams)  # header + the coder's 64-bit flush, at least


def test_resumed_training_matches_an_uninterrupted_one(tmp_path: Path) -> None:
    from vcmbench.training.loop import TrainSettings, train

    g = torch.Generator().manual_seed(0)
    x, t = torch.randn(64, 5, generator=g), torch.randint(0, 3, (64,), generator=g)

    def make() -> torch.nn.Module:
        torch.manual_seed(0)
        return torch.nn.Linear(5, 3)

    def loss_fn(m, xb, tb, done):
        if interrupt and done >= 2 / 3:
            raise KeyboardInterrupt
        return torch.nn.functional.cross_entropy(m(xb), tb), {}

    def settings(path: Path, resume: bool) -> TrainSettings:
        return TrainSettings(epochs=3, batch_size=16, lr=0.05, progress=False, partial_path=path,
                             partial_config={"codec": "t"}, resume=resume)

    interrupt = False
    straight = make()
    train(straight, x, t, loss_fn, settings(tmp_path / "a.pt", False))
    interrupt = True
    resumed = make()
    with pytest.raises(KeyboardInterrupt):
        train(resumed, x, t, loss_fn, settings(tmp_path / "b.pt", False))
    interrupt = False
    resumed = make()
    history = train(resumed, x, t, loss_fn, settings(tmp_path / "b.pt", True))
    assert len(history) == 3
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_training_split_too_large_for_memory_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                        train_set: ArrayDataset) -> None:
    from vcmbench.training import inputs

    monkeypatch.setattr(inputs, "MAX_IN_MEMORY_BYTES", 10 * 28 * 28 * 4)
    with pytest.raises(UsageError, match="in memory"):
        inputs.dataset_tensors(train_set, 1)
    assert inputs.dataset_tensors(train_set, 1, limit=10)[0].shape == (10, 1, 28, 28)


def test_distilled_student_learns_from_the_task_model_api(cnn: MnistCNN, train_set: ArrayDataset,
                                                          test_set: ArrayDataset, tmp_path: Path) -> None:
    """The teacher is the suite's task model (through features/tail) and is part of the checkpoint's key."""
    params = {**TINY, "objective": "distill", "latent": "vector", "teacher_split": "fc1", "epochs": 1}
    codec = EntropicStudentBlockCodec(beta=8.0, **params)
    ctx = context(train_set, tmp_path, task_model=cnn)
    codec.prepare(ctx)
    config = codec.checkpoint_config(ctx)
    assert config["teacher"]["fingerprint"] == cnn.fingerprint() is not None
    assert config["teacher"]["name"] == "mnist-cnn"
    teacher_tail = cnn.tail("fc1").state_dict().values()
    for a, b in zip(codec.model.tail.state_dict().values(), teacher_tail, strict=True):
        assert torch.equal(a, b.half().float())  # the frozen teacher layers (stored in float16) decode
    labels = codec.decode_block(codec.encode_block(test_set.inputs(range(8))))
    assert len(labels) == 8 and all(0 <= v < 4 for v in labels)
    other = MnistCNN(epochs=2, num_classes=4)  # another teacher: another checkpoint
    other.prepare(TaskContext(train=train_set, cache_dir=tmp_path / "cnn2"))
    assert codec.checkpoint_config(context(train_set, tmp_path, task_model=other)) != config
