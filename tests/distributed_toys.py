"""Toys for the scale-out tests, in a module of their own: worker processes import it (the classes
travel by reference), which registers the same dataset, task model and codecs there as here.

Everything is small, numpy only (no torch: worker processes start in a second) and deterministic.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vcmbench.api.codec import CODECS, BlockCodec, CodecContext, SampleCodec
from vcmbench.api.dataset import DATASETS, ArrayDataset, DatasetInfo, fingerprint_arrays
from vcmbench.api.task import TASK_MODELS, TaskModel

NUM_CLASSES = 5


def toy_split(split: str, root: Any, n: int = 96) -> ArrayDataset:
    """``n`` 8×8 images whose label is written into pixel [0, 0] (times 40) over noise."""
    rng = np.random.default_rng(7 if split == "train" else 11)
    labels = rng.integers(0, NUM_CLASSES, size=n)
    images = rng.integers(0, 256, size=(n, 8, 8), dtype=np.uint8)
    images[:, 0, 0] = labels * 40 + 20
    info = DatasetInfo(id="dist-toy", split=split, num_classes=NUM_CLASSES,
                       fingerprint=fingerprint_arrays(images, labels), pixels_per_sample=64)
    return ArrayDataset(info, images, labels)


class ReadsCorner(TaskModel):
    """Reads the label off pixel [0, 0]; wrong on purpose where pixel [1, 1] is a multiple of 7."""

    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        out = []
        for x in inputs:
            a = np.asarray(x)
            label = int(np.clip(round((int(a[0, 0]) - 20) / 40), 0, NUM_CLASSES - 1))
            out.append((label + 1) % NUM_CLASSES if int(a[1, 1]) % 7 == 0 else label)
        return np.array(out, dtype=np.int64)


class Quantise(SampleCodec):
    """Pixels quantised with step ``q``, zlib-compressed: a rate that differs per sample."""

    decodes_to = "input"

    def __init__(self, q: int = 16):
        super().__init__(q=q)

    def encode(self, x: Any) -> bytes:
        a = np.asarray(x, dtype=np.uint8)
        return bytes([a.shape[0], a.shape[1]]) + zlib.compress((a // self.params["q"]).tobytes(), 9)

    def decode(self, data: bytes) -> np.ndarray:
        h, w = data[0], data[1]
        q = self.params["q"]
        levels = np.frombuffer(zlib.decompress(data[2:]), dtype=np.uint8).reshape(h, w)
        return (levels.astype(np.int64) * q + q // 2).clip(0, 255).astype(np.uint8)

    def estimate_bits(self, inputs: Sequence[Any]) -> float:
        return float(sum(np.log2(1 + np.asarray(x, dtype=np.float64).std()) for x in inputs)) * 3.3


class CrashOnce(Quantise):
    """Quantise, whose process dies (as if killed) the first time it encodes anything, once per marker."""

    def __init__(self, q: int = 16, marker: str = ""):
        SampleCodec.__init__(self, q=q, marker=marker)

    def encode(self, x: Any) -> bytes:
        marker = Path(self.params["marker"])
        if not marker.exists():
            marker.write_text(str(os.getpid()), encoding="utf-8")
            os._exit(17)
        return super().encode(x)


class SendsLabels(BlockCodec):
    """The task model's labels at the encoder, one byte each, in blocks: decodes to the label."""

    decodes_to = "label"

    def __init__(self, block_size: int | None = None):
        super().__init__(block_size=block_size)

    def prepare(self, ctx: CodecContext) -> None:
        self.task = ctx.task_model

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        return bytes(int(v) for v in self.task.predict(xs))

    def decode_block(self, data: bytes) -> list[int]:
        return list(data)

    def estimate_bits(self, inputs: Sequence[Any]) -> float:
        return len(inputs) * float(np.log2(NUM_CLASSES)) / 3


def _register() -> None:
    for registry, name, obj in ((DATASETS, "dist-toy", toy_split),
                                (TASK_MODELS, "t-reads-corner", ReadsCorner),
                                (CODECS, "t-quantise", Quantise), (CODECS, "t-crash-once", CrashOnce),
                                (CODECS, "t-sends-labels", SendsLabels)):
        if name not in registry:
            registry.add(name, obj)


_register()


def suite(codecs: list[dict[str, Any]], n: int = 96, batch_size: int = 8) -> dict[str, Any]:
    """A suite over the toy split (for ``parse_suite``)."""
    return {"suite": "dist-toy", "dataset": {"name": "dist-toy", "split": "test", "params": {"n": n}},
            "task_model": "t-reads-corner", "codecs": codecs, "batch_size": batch_size}
