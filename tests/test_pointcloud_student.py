"""The learned point-cloud codec: real round trips in both granularities, checkpoints, training rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pointcloud_fixtures import write_hdf5
from vcmbench.api.codec import CODECS, CodecContext
from vcmbench.codecs.learned.checkpoints import SHIPPED_DIR, file_sha256
from vcmbench.codecs.pointcloud_student import (
    DEFAULT_BETAS,
    SIZES,
    PointCloudStudentBlockCodec,
    PointCloudStudentCodec,
)
from vcmbench.codecs.pointcloud_student_net import PointCloudStudentNet
from vcmbench.datasets.modelnet import open_modelnet
from vcmbench.datasets.pointclouds import stack_clouds
from vcmbench.errors import BitstreamError, DataError, UsageError


def clouds(n: int = 10, points: int = 300, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(points, 3)) * rng.uniform(0.2, 1.0, 3)).astype(np.float32) for _ in range(n)]


def attached(cls: type, size: str = "lite", seed: int = 0):
    """A codec on a randomly initialised network (what a throughput test would use)."""
    torch.manual_seed(seed)
    codec = cls(beta=10.0, size=size)
    net = PointCloudStudentNet(SIZES[size]["widths"], SIZES[size]["hidden"], 5)
    with torch.no_grad():  # give the latents a spread the entropy model has to work for
        net.bottleneck.quantiles[:, 0, :] = torch.tensor([-20.0, 0.0, 20.0])
    codec.attach(net)
    return codec


def reference_labels(codec, xs) -> list[int]:
    """What the decoder must output: the classifier on the encoder's quantised latents."""
    with torch.no_grad():
        y = codec.model.encode(torch.from_numpy(stack_clouds(xs)))
        return codec.model.classify(codec.coder.quantize(y)).argmax(1).tolist()


def test_registered_both_granularities():
    assert CODECS.get("pointcloud-student") is PointCloudStudentCodec
    assert CODECS.get("pointcloud-student-block") is PointCloudStudentBlockCodec
    assert len(PointCloudStudentCodec.operating_points()) >= 4


@pytest.mark.parametrize("size", ["micro", "lite"])
def test_per_cloud_round_trip(size):
    codec, xs = attached(PointCloudStudentCodec, size), clouds()
    streams = codec.encode_batch(xs)
    assert all(len(s) >= 2 + 8 and (len(s) - 2) % 4 == 0 for s in streams)  # 2-byte shape header, rANS words
    decoded = attached(PointCloudStudentCodec, size).decode_batch(streams)  # a separate decoder instance
    assert decoded == reference_labels(codec, xs)
    assert codec.decode(codec.encode(xs[3])) == decoded[3]


def test_block_round_trip_and_its_rate():
    block, single, xs = attached(PointCloudStudentBlockCodec), attached(PointCloudStudentCodec), clouds(40)
    stream = block.encode_block(xs)
    assert attached(PointCloudStudentBlockCodec).decode_block(stream) == reference_labels(block, xs)
    per_cloud = sum(len(s) for s in single.encode_batch(xs))
    assert len(stream) < per_cloud  # one coder flush and header per block instead of per cloud
    estimate = block.estimate_bits(xs)
    assert 0 < estimate <= 8 * len(stream)


def test_damaged_block_streams_are_bitstream_errors():
    codec, xs = attached(PointCloudStudentBlockCodec), clouds(20)
    stream = codec.encode_block(xs)
    for damaged in (stream[:-3], stream[:5], b"", bytes([stream[0] ^ 1]) + stream[1:],
                    stream[:12] + bytes([stream[12] ^ 0x40]) + stream[13:]):
        with pytest.raises(BitstreamError):
            codec.decode_block(damaged)


def test_bad_parameters():
    with pytest.raises(TypeError, match="beta"):
        PointCloudStudentCodec()
    for bad in ({"beta": -1}, {"beta": 1, "size": "huge"}, {"beta": 1, "train_points": 0},
                {"beta": 1, "warmup": 2}, {"beta": 1, "batch_size": 1}):
        with pytest.raises(UsageError):
            PointCloudStudentCodec(**bad)


def fixture_context(tmp_path: Path, allow_training: bool) -> CodecContext:
    root = tmp_path / "data"
    if not root.exists():
        write_hdf5(root)
    train = open_modelnet(root, "train")
    return CodecContext(task_model=None, train=train, num_classes=3, cache_dir=tmp_path / "cache",
                        allow_training=allow_training, train_fingerprint=train.info.fingerprint)


def test_no_checkpoint_no_training_unless_allowed(tmp_path):
    params = {"beta": 5.0, "size": "micro", "epochs": 2}
    with pytest.raises(DataError) as exc:
        PointCloudStudentBlockCodec(**params).prepare(fixture_context(tmp_path, allow_training=False))
    assert "vcmbench train pointcloud-student" in str(exc.value) and "--beta 5" in str(exc.value)
    assert not (tmp_path / "cache").exists()
    codec = PointCloudStudentBlockCodec(**params)
    codec.prepare(fixture_context(tmp_path, allow_training=True))
    checkpoint = codec.identity()["checkpoint"]
    path = tmp_path / "cache" / "learned" / checkpoint["name"]
    assert checkpoint["origin"] == "trained" and checkpoint["sha256"] == file_sha256(path)
    # the per-cloud variant shares the checkpoint: found now without training
    other = PointCloudStudentCodec(**params)
    other.prepare(fixture_context(tmp_path, allow_training=False))
    assert other.identity() == codec.identity()


def test_the_shipped_grid_serves_the_embedded_set(tmp_path):
    from vcmbench.datasets.shapes_synth import open_shapes_synth

    train, test = open_shapes_synth("train"), open_shapes_synth("test")
    ctx = CodecContext(task_model=None, train=train, num_classes=16, cache_dir=tmp_path,
                       train_fingerprint=train.info.fingerprint)
    xs, labels = test.inputs(range(300)), test.labels()[:300]
    rates, accuracies = [], []
    for beta in DEFAULT_BETAS:
        codec = PointCloudStudentBlockCodec(beta=beta)
        codec.prepare(ctx)
        checkpoint = codec.identity()["checkpoint"]
        assert checkpoint["origin"] == "shipped"
        assert (SHIPPED_DIR / checkpoint["name"]).stat().st_size < 64_000
        stream = codec.encode_block(xs)
        rates.append(8 * len(stream) / len(xs))
        accuracies.append(float((np.array(codec.decode_block(stream)) == labels).mean()))
    assert rates == sorted(rates) and rates[-1] > 2 * rates[0]
    assert accuracies[-1] > accuracies[0] and accuracies[-1] > 0.6


def test_forged_headers_are_refused_before_the_entropy_decoder_sizes_anything(monkeypatch):
    from vcmbench.codecs import pointcloud_student
    from vcmbench.entropy.framing import write_varint

    single, block = attached(PointCloudStudentCodec), attached(PointCloudStudentBlockCodec)
    good = single.encode_batch(clouds(1))[0]
    for header in (write_varint(1 << 20) + write_varint(1), write_varint(1) + write_varint(2)):
        with pytest.raises(BitstreamError, match="1×1"):
            single.decode_batch([header + good[2:]])
    stream = block.encode_block(clouds(4))
    for n, h in ((1 << 27, 1), (4, 3), (0, 1)):
        forged = bytes([stream[0]]) + write_varint(n) + write_varint(h) + write_varint(1) + stream[4:]
        with pytest.raises(BitstreamError, match="block header"):
            block.decode_block(forged)
    monkeypatch.setattr(pointcloud_student, "MAX_BLOCK_SYMBOLS", 32 * 3)  # lite: 32 values per cloud
    with pytest.raises(UsageError, match="at most 3 clouds"):
        block.encode_block(clouds(4))
    with pytest.raises(BitstreamError, match="block header"):
        block.decode_block(stream)
