"""Tiny codecs for the conformance kit's own tests: two that conform, and one broken per check.

They live in a module of their own (not in a test file) because the kit's separate decoder
imports them by name in another process, and the kit's setup factory builds their data there.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vcmbench.api.codec import BlockCodec, CodecContext, SampleCodec
from vcmbench.api.task import TaskModel
from vcmbench.conformance import Setup
from vcmbench.entropy.framing import read_count, write_varint
from vcmbench.errors import BitstreamError

K = 4


class CornerTask(TaskModel):
    """Reads the label off pixel [0, 0] of a 6×6 image."""

    name = "corner"

    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        return np.array([int(np.asarray(x)[0, 0]) % K for x in inputs], dtype=np.int64)


def toy_setup(cache_dir: str, n: int = 10) -> Setup:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, size=(n, 6, 6), dtype=np.uint8)
    images[:, 0, 0] = rng.integers(0, K, size=n)
    ctx = CodecContext(task_model=CornerTask(), train=None, num_classes=K, train_prior_counts=(3, 3, 3, 3),
                       cache_dir=Path(cache_dir))
    return Setup(ctx, list(images))


def _seal(payload: bytes) -> bytes:
    return payload + zlib.crc32(payload).to_bytes(4, "big")


def _open(data: bytes) -> bytes | None:
    """The payload of a sealed stream, or None when it is damaged."""
    if len(data) < 4 or zlib.crc32(data[:-4]).to_bytes(4, "big") != data[-4:]:
        return None
    return data[:-4]


class GoodLabels(BlockCodec):
    """Classify, then one byte per label behind a count, sealed with a CRC: conforms."""

    decodes_to = "label"

    def __init__(self, block_size: int | None = None):
        super().__init__(block_size=block_size)
        self.task: TaskModel | None = None

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{}, {"block_size": 3}]

    def prepare(self, ctx: CodecContext) -> None:
        self.task = ctx.task_model

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        labels = self.task.predict(xs)
        return _seal(write_varint(len(labels)) + bytes(labels.astype(np.uint8).tolist()))

    def decode_block(self, data: bytes) -> list[int]:
        payload = _open(data)
        if payload is None:
            return self.damaged(data)
        count, pos = read_count(payload)
        if len(payload) - pos != count or any(b >= K for b in payload[pos:]):
            raise BitstreamError("bad payload")
        return list(payload[pos:])

    def damaged(self, data: bytes) -> list[int]:
        raise BitstreamError("checksum mismatch")


class GoodImages(SampleCodec):
    """The 36 pixels as they are, sealed with a CRC: conforms."""

    decodes_to = "input"

    def encode(self, x: Any) -> bytes:
        return _seal(np.asarray(x, dtype=np.uint8).tobytes())

    def decode(self, data: bytes) -> np.ndarray:
        payload = _open(data)
        if payload is None or len(payload) != 36:
            raise BitstreamError("damaged")
        return np.frombuffer(payload, dtype=np.uint8).reshape(6, 6).copy()


# --- one broken contract each -------------------------------------------------------------------------


class BadContract(GoodLabels):
    decodes_to = "pixels"  # type: ignore[assignment]


class BadPoints(GoodLabels):
    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{}, {"block_size": 0.5, "colour": "red"}]


class BadPrepare(GoodLabels):
    def prepare(self, ctx: CodecContext) -> None:
        raise RuntimeError("no weights here")


class BytearrayStreams(GoodLabels):
    def encode_block(self, xs: Sequence[Any]) -> bytes:
        return bytearray(super().encode_block(xs))  # type: ignore[return-value]


class BadEstimate(GoodLabels):
    def estimate_bits(self, inputs: Sequence[Any]) -> float | None:
        return float("nan")


class BatchDiffers(GoodImages):
    def encode(self, x: Any) -> bytes:
        return super().encode(x) + b"\x01"

    def encode_batch(self, xs: Sequence[Any]) -> list[bytes]:
        return [super(BatchDiffers, self).encode(x) + b"\x00" for x in xs]

    def decode(self, data: bytes) -> np.ndarray:
        return super().decode(data[:-1])


class OutOfRangeLabels(GoodLabels):
    def decode_block(self, data: bytes) -> list[int]:
        return [K] * len(super().decode_block(data))


class LosesLastSample(GoodLabels):
    def decode_block(self, data: bytes) -> list[int]:
        return super().decode_block(data)[:-1]


class RemembersItsEncoder(GoodLabels):
    """Sends only the count; its own instance 'decodes' from what it remembers of the encoder."""

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        self.remembered = self.task.predict(xs).tolist()
        return _seal(write_varint(len(xs)))

    def decode_block(self, data: bytes) -> list[int]:
        payload = _open(data)
        if payload is None:
            raise BitstreamError("damaged")
        count, _ = read_count(payload)
        remembered = getattr(self, "remembered", None)
        return remembered if remembered is not None and len(remembered) == count else [0] * count


class ProcessDependentBytes(GoodLabels):
    """Its bytes carry the process id (ignored by its decoder): the same only within one process."""

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        return _seal(_open(super().encode_block(xs)) + os.getpid().to_bytes(4, "big"))

    def decode_block(self, data: bytes) -> list[int]:
        payload = _open(data)
        if payload is None:
            raise BitstreamError("damaged")
        return super().decode_block(_seal(payload[:-4]))


class CrashesOnDamage(GoodLabels):
    def damaged(self, data: bytes) -> list[int]:
        raise IndexError("index 7 is out of bounds")


class InvalidOnDamage(GoodLabels):
    def damaged(self, data: bytes) -> list[int]:
        return [255] * len(data)


class HangsOnDamage(GoodLabels):
    def damaged(self, data: bytes) -> list[int]:
        while True:
            pass


class AllocatesOnDamage(GoodLabels):
    def damaged(self, data: bytes) -> list[int]:
        np.ones(1 << 28, dtype=np.uint8)  # 256 MB: more than the tests' budget, fine without a cap
        raise BitstreamError("damaged, after a big allocation")


class ExitsOnDamage(GoodLabels):
    def damaged(self, data: bytes) -> list[int]:
        os._exit(70)  # what a decoder crashing the interpreter looks like from outside


def square_digits(n: int, split: str, seed: int) -> Any:
    """28×28 uint8 images: class k is a bright square in quadrant k, plus noise."""
    from vcmbench.api.dataset import ArrayDataset, DatasetInfo, fingerprint_arrays

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, K, size=n)
    images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        r, c = divmod(int(k), 2)
        images[i, 4 + 14 * r: 10 + 14 * r, 4 + 14 * c: 10 + 14 * c] = 230
    info = DatasetInfo(id="squares", split=split, num_classes=K,
                       fingerprint=fingerprint_arrays(images, labels), pixels_per_sample=784)
    return ArrayDataset(info, images, labels)


def tiny_cnn_setup(cache_dir: str, n: int = 6) -> Setup:
    """A one-epoch mnist-cnn on 64 synthetic digits (trained once, then loaded from the cache), for
    the learned codecs that code its features; they may train their small checkpoints here."""
    from vcmbench.api.task import TaskContext
    from vcmbench.tasks.mnist_cnn import MnistCNN

    train = square_digits(64, "train", 0)
    cnn = MnistCNN(epochs=1, num_classes=K)
    cnn.prepare(TaskContext(train=train, cache_dir=Path(cache_dir)))
    counts = tuple(int(c) for c in np.bincount(train.labels(), minlength=K))
    ctx = CodecContext(task_model=cnn, train=train, num_classes=K, train_prior_counts=counts,
                       cache_dir=Path(cache_dir), allow_training=True,
                       train_fingerprint=train.info.fingerprint)
    return Setup(ctx, square_digits(n, "test", 1).inputs(range(n)))
