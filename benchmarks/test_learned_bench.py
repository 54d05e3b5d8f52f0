"""Encode/decode throughput of the learned codecs on the CPU, 16 × 224×224 RGB crops per call.

Untrained (random) networks: throughput depends on the architecture and the number of coded
symbols, not on the weights. split-feature codes the 32×28×28 output of a tiny residual network
(25,088 symbols per image); the entropic student codes an 8-value vector per image.
Run: ``python -m pytest benchmarks/test_learned_bench.py --benchmark-only``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from conftest import photo_crops
from vcmbench.api.codec import CodecContext
from vcmbench.api.task import TaskModel
from vcmbench.codecs.learned.split_feature import (
    FeatureEntropyModel,
    SplitFeatureBlockCodec,
    SplitFeatureCodec,
)
from vcmbench.codecs.learned.student import EntropicStudentBlockCodec, EntropicStudentCodec
from vcmbench.training.inputs import to_image_batch

BATCH = 16


@pytest.fixture(scope="module")
def crops() -> list[np.ndarray]:
    return photo_crops(BATCH)


class TinyResNet(TaskModel):
    """Stem (stride 8) + one residual block: split point "layer1" is 32×28×28."""

    name = "tiny-resnet"

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 7, stride=8, padding=3), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                                   nn.Conv2d(32, 32, 3, padding=1))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 1000))

    @torch.no_grad()
    def features(self, inputs: Sequence[Any], split: str) -> torch.Tensor:
        x = self.stem(to_image_batch(list(inputs), 3))
        return torch.relu(x + self.block(x))

    @torch.no_grad()
    def predict_from_features(self, features: Any, split: str) -> np.ndarray:
        return self.head(features).argmax(1).numpy()

    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        return self.predict_from_features(self.features(inputs, "layer1"), "layer1")


def _student(cls: type) -> Any:
    torch.manual_seed(0)
    codec = cls(beta=1.0, in_channels=3)
    ctx = CodecContext(task_model=None, train=None, num_classes=1000)
    codec.attach(codec.build_model(ctx, {}))
    return codec


def _split(cls: type) -> Any:
    torch.manual_seed(0)
    codec = cls(split="layer1", step=0.05)
    codec.use_task_model(TinyResNet())
    codec.attach(FeatureEntropyModel(32))
    return codec


CODECS = {
    "entropic-student": lambda: _student(EntropicStudentCodec),
    "entropic-student-block": lambda: _student(EntropicStudentBlockCodec),
    "split-feature": lambda: _split(SplitFeatureCodec),
    "split-feature-block": lambda: _split(SplitFeatureBlockCodec),
}


def _encode(codec: Any, xs: list[np.ndarray]) -> list[bytes]:
    return codec.encode_batch(xs) if codec.granularity == "sample" else [codec.encode_block(xs)]


def _decode(codec: Any, streams: list[bytes]) -> list[Any]:
    return codec.decode_batch(streams) if codec.granularity == "sample" else codec.decode_block(streams[0])


@pytest.mark.parametrize("name", list(CODECS))
def test_encode_throughput(benchmark, crops, name):
    codec = CODECS[name]()
    benchmark.group = f"learned codecs: encode {BATCH} × 224²"
    streams = benchmark(_encode, codec, crops)
    benchmark.extra_info["bits_per_image"] = round(8 * sum(map(len, streams)) / len(crops), 1)
    assert len(streams) == (len(crops) if codec.granularity == "sample" else 1)


@pytest.mark.parametrize("name", list(CODECS))
def test_decode_throughput(benchmark, crops, name):
    codec = CODECS[name]()
    benchmark.group = f"learned codecs: decode {BATCH} × 224²"
    streams = _encode(codec, crops)
    decoded = benchmark(_decode, codec, streams)
    assert len(decoded) == len(crops)


def test_training_reproduces_the_shipped_checkpoint(benchmark, tmp_path):
    """One β of the shipped MNIST grid, trained from scratch: its time, and the same file (sha256).

    A different sha256 means the platform rounds differently (CPU instruction set, torch version);
    benchmarks/train-mnist.md bounds how far the operating point can then move.
    """
    from vcmbench.api.dataset import DATASETS
    from vcmbench.codecs.learned.checkpoints import SHIPPED_DIR
    from vcmbench.training.checkpoints import file_sha256

    train = DATASETS.get("mnist")("train", None)
    codec = EntropicStudentBlockCodec(beta=16.0)
    ctx = CodecContext(task_model=None, train=train, num_classes=10, cache_dir=tmp_path, seed=0)
    benchmark.group = "learned codecs: train one MNIST beta (mnist-5k, 24 epochs, 1 thread)"
    path = benchmark.pedantic(codec.train, args=(ctx,), kwargs={"progress": False, "force": True},
                              rounds=1, iterations=1)
    assert path.parent == tmp_path / "learned"
    assert file_sha256(path) == file_sha256(SHIPPED_DIR / path.name)
