"""The Draco anchor codec: real round trips, byte counts, self-describing streams, bounded headers."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from scipy.spatial import cKDTree

import vcmbench.codecs.pointclouds  # noqa: F401 - registers draco until codecs/__init__ imports it
from vcmbench.api.codec import CODECS
from vcmbench.codecs.pointclouds import MAX_STREAM_POINTS, DracoCodec, draco_point_count
from vcmbench.errors import BitstreamError, UsageError


def cloud(n: int = 1024, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 3))
    return (v / np.linalg.norm(v, axis=1, keepdims=True) * rng.uniform(0.5, 1.0, (n, 1))).astype(np.float32)


@pytest.mark.parametrize("bits", [4, 8, 12])
def test_round_trip_is_within_the_quantisation_step(bits):
    x = cloud()
    codec = DracoCodec(quantization_bits=bits)
    y = codec.decode(codec.encode(x))
    assert y.shape == x.shape and y.dtype == np.float32
    # Draco quantises on the bounding cube: step = largest extent / (2^bits - 1) per axis
    step = float((x.max(0) - x.min(0)).max()) / (2**bits - 1)
    nearest, _ = cKDTree(x).query(y)
    assert nearest.max() <= np.sqrt(3) * step / 2 * 1.01
    if bits == 12:
        assert nearest.max() > 0  # lossy: not the input back by accident


def test_fewer_quantisation_bits_fewer_bytes():
    x = cloud()
    grid = sorted(p["quantization_bits"] for p in DracoCodec.operating_points())
    sizes = [len(DracoCodec(quantization_bits=q).encode(x)) for q in grid]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1] / 2


def test_default_grid_has_at_least_four_points():
    points = DracoCodec.operating_points()
    assert len(points) >= 4 and len({p["quantization_bits"] for p in points}) == len(points)
    assert CODECS.get("draco") is DracoCodec


def test_the_decoder_needs_only_the_bytes():
    x = cloud(seed=3)
    stream = DracoCodec(quantization_bits=11, compression_level=2).encode(x)
    other = DracoCodec(quantization_bits=3, compression_level=9)  # another operating point decodes it
    assert np.array_equal(other.decode(stream), DracoCodec(quantization_bits=11).decode(stream))


@pytest.mark.parametrize("n", [1, 37, 2048])
def test_the_point_count_travels_in_the_stream(n):
    stream = DracoCodec(quantization_bits=8).encode(cloud(n))
    assert draco_point_count(stream) == n
    assert DracoCodec().decode(stream).shape == (n, 3)


def test_every_byte_is_the_draco_file():
    x = cloud()
    import DracoPy

    stream = DracoCodec(quantization_bits=7, compression_level=5).encode(x)
    assert stream == bytes(DracoPy.encode(x, quantization_bits=7, compression_level=5))


@pytest.mark.parametrize("count", [0, -1, MAX_STREAM_POINTS + 1, 2**31 - 1])
def test_forged_point_counts_are_refused_before_decoding(count):
    stream = bytearray(DracoCodec(quantization_bits=6).encode(cloud()))
    stream[11:15] = struct.pack("<i", count)
    with pytest.raises(BitstreamError, match="points"):
        DracoCodec().decode(bytes(stream))


def test_a_count_within_the_bound_but_false_is_a_bitstream_error():
    stream = bytearray(DracoCodec(quantization_bits=6).encode(cloud()))
    stream[11:15] = struct.pack("<i", MAX_STREAM_POINTS)
    with pytest.raises(BitstreamError):
        DracoCodec().decode(bytes(stream))


MESH_HEADER = b"DRACO\x02\x02\x01\x01\x00\x00" + bytes(10)  # a triangle mesh, not a point cloud


@pytest.mark.parametrize("data", [b"", b"DRACO", b"PNG\x00" * 10, MESH_HEADER])
def test_streams_of_other_kinds_are_refused(data):
    with pytest.raises(BitstreamError):
        DracoCodec().decode(data)


def test_damaged_streams_raise_only_bitstream_errors():
    stream = DracoCodec(quantization_bits=8).encode(cloud())
    rng = np.random.default_rng(5)
    outcomes = {"refused": 0, "decoded": 0}
    for _ in range(400):
        damaged = bytearray(stream)
        if rng.random() < 0.3:
            damaged = damaged[: rng.integers(0, len(damaged))]
        else:
            for _ in range(rng.integers(1, 4)):
                damaged[rng.integers(0, min(len(damaged), 48 if rng.random() < 0.5 else len(damaged)))] ^= \
                    int(rng.integers(1, 256))
        try:
            out = DracoCodec().decode(bytes(damaged))
        except BitstreamError:
            outcomes["refused"] += 1
        else:  # Draco has no checksum: a flipped payload bit may decode, but to a well-formed cloud
            assert out.ndim == 2 and out.shape[1] == 3 and np.isfinite(out).all()
            outcomes["decoded"] += 1
    assert outcomes["refused"] > 100


def test_bad_parameters_and_inputs():
    with pytest.raises(UsageError, match="quantization_bits"):
        DracoCodec(quantization_bits=0)
    with pytest.raises(UsageError, match="compression_level"):
        DracoCodec(compression_level=11)
    x = cloud()
    x[5, 1] = np.nan
    with pytest.raises(UsageError, match="NaN"):
        DracoCodec().encode(x)
    with pytest.raises(UsageError, match="shape"):
        DracoCodec().encode(np.zeros((10, 2), dtype=np.float32))
