"""Point-cloud throughput on the CPU: Draco encode/decode, PointNet inference, the learned codec.

Inputs are 64 clouds of 1,024 points from the embedded shapes-synth-16 test split (real shapes
with noise, not uniform noise). PointNet and the learned codec run their shipped weights, so
the figures are those of `vcmbench run modelnet40`. ``extra_info`` records bits per cloud.
Run: ``python -m pytest benchmarks/test_pointcloud_bench.py --benchmark-only``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vcmbench.api.codec import CodecContext
from vcmbench.api.task import TaskContext
from vcmbench.codecs.pointcloud_student import PointCloudStudentBlockCodec, PointCloudStudentCodec
from vcmbench.codecs.pointclouds import DracoCodec
from vcmbench.datasets.shapes_synth import open_shapes_synth
from vcmbench.tasks.pointnet import PointNet

CLOUDS = 64
STUDENTS = [PointCloudStudentCodec, PointCloudStudentBlockCodec]


@pytest.fixture(scope="module")
def clouds() -> list[np.ndarray]:
    return open_shapes_synth("test").inputs(range(CLOUDS))


@pytest.fixture(scope="module")
def pointnet(tmp_path_factory: pytest.TempPathFactory) -> PointNet:
    model = PointNet()
    model.prepare(TaskContext(train=open_shapes_synth("train"), cache_dir=tmp_path_factory.mktemp("cache")))
    return model


def _student(cls: type, beta: float, cache: Path) -> Any:
    train = open_shapes_synth("train")
    codec = cls(beta=beta)
    codec.prepare(CodecContext(task_model=None, train=train, num_classes=16, cache_dir=cache,
                               train_fingerprint=train.info.fingerprint))
    return codec


def _clouds_per_second(benchmark: Any) -> float:
    return round(CLOUDS / benchmark.stats.stats.mean)


@pytest.mark.parametrize("bits", [4, 8, 11])
def test_draco_encode(benchmark, clouds, bits):
    codec = DracoCodec(quantization_bits=bits)
    benchmark.group = f"draco: encode {CLOUDS} clouds × 1,024 points"
    streams = benchmark(lambda: [codec.encode(x) for x in clouds])
    benchmark.extra_info["bits_per_cloud"] = round(8 * sum(map(len, streams)) / CLOUDS, 1)
    benchmark.extra_info["clouds_per_second"] = _clouds_per_second(benchmark)
    assert len(streams) == CLOUDS


@pytest.mark.parametrize("bits", [4, 8, 11])
def test_draco_decode(benchmark, clouds, bits):
    codec = DracoCodec(quantization_bits=bits)
    streams = [codec.encode(x) for x in clouds]
    benchmark.group = f"draco: decode {CLOUDS} clouds × 1,024 points"
    decoded = benchmark(lambda: [codec.decode(s) for s in streams])
    benchmark.extra_info["clouds_per_second"] = _clouds_per_second(benchmark)
    assert all(d.shape == (1024, 3) for d in decoded)


def test_pointnet_inference(benchmark, clouds, pointnet):
    benchmark.group = f"pointnet: classify {CLOUDS} clouds × 1,024 points"
    labels = benchmark(pointnet.predict, clouds)
    benchmark.extra_info["clouds_per_second"] = _clouds_per_second(benchmark)
    assert labels.shape == (CLOUDS,)


@pytest.mark.parametrize("cls", STUDENTS, ids=["sample", "block"])
def test_learned_codec_encode(benchmark, clouds, cls, tmp_path):
    codec = _student(cls, 100.0, tmp_path)
    benchmark.group = f"pointcloud-student lite beta=100: encode {CLOUDS} clouds"
    encode = codec.encode_batch if codec.granularity == "sample" else codec.encode_block

    def fresh_encode() -> Any:  # the codec remembers recent latents: measure the analysis every round
        codec.__dict__.pop("_latent_memo", None)
        return encode(clouds)
    out = benchmark(fresh_encode)
    streams = out if codec.granularity == "sample" else [out]
    benchmark.extra_info["bits_per_cloud"] = round(8 * sum(map(len, streams)) / CLOUDS, 1)
    benchmark.extra_info["clouds_per_second"] = _clouds_per_second(benchmark)


@pytest.mark.parametrize("cls", STUDENTS, ids=["sample", "block"])
def test_learned_codec_decode(benchmark, clouds, cls, tmp_path):
    codec = _student(cls, 100.0, tmp_path)
    benchmark.group = f"pointcloud-student lite beta=100: decode {CLOUDS} clouds"
    if codec.granularity == "sample":
        streams = codec.encode_batch(clouds)
        decoded = benchmark(codec.decode_batch, streams)
    else:
        stream = codec.encode_block(clouds)
        decoded = benchmark(codec.decode_block, stream)
    benchmark.extra_info["clouds_per_second"] = _clouds_per_second(benchmark)
    assert len(decoded) == CLOUDS
