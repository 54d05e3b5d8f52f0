"""Point-cloud codecs: Google's Draco (the conventional anchor) and a learned codec for classification.

``draco`` codes each cloud's coordinates with Draco through DracoPy: positions quantised to
``quantization_bits`` per axis on the cloud's own bounding cube, then predicted and entropy coded
(kd-tree coding from ``compression_level`` 5 up). The bitstream is Draco's own file, nothing
added: the point count, the quantisation origin and range travel inside it, so the rate is
exactly what a Draco decoder receives. Points come back in Draco's order, not the input's;
PointNet-style classifiers are order-invariant, so nothing is spent on keeping the order.

Draco's decoder allocates what its header claims before reading the data (a forged point count
of 2³¹ makes it ask for gigabytes), so the decoder here reads the header first, accepts only the
streams this encoder writes (a point cloud with one float32 xyz attribute, no metadata) and
refuses point counts above :data:`MAX_STREAM_POINTS` with a BitstreamError.

The learned codec (``pointcloud-student``) lives in :mod:`vcmbench.codecs.pointcloud_student`;
importing this module registers it too, so one import brings in the point-cloud family.
"""

from __future__ import annotations

import struct
from typing import Any, ClassVar

import numpy as np

from vcmbench.api.codec import SampleCodec, register_codec
from vcmbench.datasets.pointclouds import as_cloud
from vcmbench.errors import BitstreamError, UsageError

MAX_STREAM_POINTS = 1 << 20  # points a decoded cloud may claim (ModelNet clouds hold 1,024-10,000)
DRACO_MAGIC = b"DRACO"
# Header: magic, version major/minor, encoder type (0 = point cloud), method (0 = sequential,
# 1 = kd-tree), flags (uint16, 0 = no metadata); then the point count (int32) and, for one
# attribute, (decoders = 1, attributes = 1, type = POSITION, data type = FLOAT32, components = 3).
_HEADER = struct.Struct("<5sBBBBHi")
_ONE_POSITION_ATTRIBUTE = bytes([1, 1, 0, 9, 3])
DEFAULT_GRID = (3, 4, 5, 6, 8, 10)


def draco_point_count(data: bytes) -> int:
    """The point count a Draco point-cloud stream declares, after checking it is one this codec writes."""
    if len(data) < _HEADER.size + len(_ONE_POSITION_ATTRIBUTE):
        raise BitstreamError(f"truncated Draco stream ({len(data)} bytes, shorter than its header)")
    magic, major, _minor, encoder, method, flags, count = _HEADER.unpack_from(data)
    if magic != DRACO_MAGIC:
        raise BitstreamError("not a Draco stream (bad magic)")
    if major != 2 or encoder != 0 or method not in (0, 1) or flags != 0:
        raise BitstreamError(f"not a Draco point-cloud stream of this codec (version {major}, encoder "
                             f"{encoder}, method {method}, flags {flags:#x})")
    if not 1 <= count <= MAX_STREAM_POINTS:
        raise BitstreamError(f"corrupted Draco header: {count} points (at most {MAX_STREAM_POINTS} accepted)")
    if data[_HEADER.size:_HEADER.size + len(_ONE_POSITION_ATTRIBUTE)] != _ONE_POSITION_ATTRIBUTE:
        raise BitstreamError("not a Draco stream of this codec (expected one float32 xyz attribute)")
    return count


@register_codec("draco")
class DracoCodec(SampleCodec):
    """Draco point-cloud coding of each cloud's xyz; quantisation bits set the rate."""

    version = "1"
    description = "Google Draco (DracoPy): quantised positions, kd-tree prediction, entropy coded"
    decodes_to: ClassVar[str] = "input"

    def __init__(self, quantization_bits: int = 8, compression_level: int = 5):
        for name, value, low, high in (("quantization_bits", quantization_bits, 1, 30),
                                       ("compression_level", compression_level, 0, 10)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise UsageError(f"draco: {name} must be an integer in {low}..{high}, got {value!r}")
        super().__init__(quantization_bits=quantization_bits, compression_level=compression_level)

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"quantization_bits": q} for q in DEFAULT_GRID]

    def encode(self, x: Any) -> bytes:
        import DracoPy

        cloud = as_cloud(x)
        if not np.isfinite(cloud).all():
            raise UsageError("draco: the cloud has NaN or infinite coordinates")
        return bytes(DracoPy.encode(cloud, quantization_bits=self.params["quantization_bits"],
                                    compression_level=self.params["compression_level"]))

    def decode(self, data: bytes) -> np.ndarray:
        import DracoPy

        count = draco_point_count(data)
        try:
            decoded = DracoPy.decode(bytes(data))
        except Exception as exc:  # DracoPy raises its own types (FileTypeException, ValueError, ...)
            raise BitstreamError(f"corrupted Draco stream ({type(exc).__name__})") from exc
        points = np.asarray(getattr(decoded, "points", np.zeros((0, 3))), dtype=np.float32)
        if points.shape != (count, 3) or (points.size and not np.isfinite(points).all()):
            raise BitstreamError(f"corrupted Draco stream (decoded {points.shape}, header says {count} "
                                 f"points)")
        return points


from vcmbench.codecs import pointcloud_student  # noqa: E402, F401 - registers pointcloud-student[-block]
