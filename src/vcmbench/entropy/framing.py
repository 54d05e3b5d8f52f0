"""Self-describing byte framing: varints and arrays with their dtype and shape inside the stream.

Every header byte written here is counted in the rate, so the formats are kept small.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from vcmbench.errors import BitstreamError

MAX_SYMBOLS = 1 << 24
"""The most symbols (labels, samples) any count header read by this package may claim.

Some codes legitimately carry many symbols in a few bytes (a label stream that sends nothing per
label, an entropy-coded run of the likeliest class), so the stream's length alone cannot bound a
count. 2^24 (16.7 million) is far beyond every test split a benchmark codes in one block (ImageNet's
validation split has 50,000 images), yet the largest array a header can then make a decoder build
stays near 128 MB of int64: a damaged or hostile header is refused instead of exhausting memory.
"""
MAX_ARRAY_DIMS = 32  # ndim of a framed array; numpy's own limit is 64

_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.int64, np.float16, np.float32,
           np.float64, np.uint32, np.bool_)


def write_varint(value: int) -> bytes:
    """Unsigned LEB128: 1 byte below 128, 2 below 16,384."""
    if value < 0:
        raise ValueError("varints are unsigned")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def read_varint(data: bytes, pos: int = 0) -> tuple[int, int]:
    """(value, next position); BitstreamError when the stream ends inside the varint."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise BitstreamError("truncated bitstream (inside a varint)")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise BitstreamError("corrupted bitstream (varint too long)")


def read_count(data: bytes, pos: int = 0, what: str = "symbols") -> tuple[int, int]:
    """A varint symbol count, refused (BitstreamError) beyond :data:`MAX_SYMBOLS`."""
    count, pos = read_varint(data, pos)
    if count > MAX_SYMBOLS:
        raise BitstreamError(f"corrupted bitstream (header claims {count} {what}; at most {MAX_SYMBOLS})")
    return count, pos


def pack_array(a: np.ndarray) -> bytes:
    """dtype code, ndim, shape (varints), then the raw little-endian bytes."""
    a = np.ascontiguousarray(a)
    code = next((i for i, t in enumerate(_DTYPES) if a.dtype == t), None)
    if code is None:
        raise ValueError(f"cannot frame arrays of dtype {a.dtype}")
    header = bytes([code, a.ndim]) + b"".join(write_varint(n) for n in a.shape)
    return header + a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()


def unpack_array(data: bytes, pos: int = 0) -> np.ndarray:
    """Inverse of :func:`pack_array`; BitstreamError on any inconsistency.

    The shape is checked against the bytes that follow (exact Python integers, so a product of
    huge dimensions cannot wrap around), so the array built is never larger than the stream.
    """
    if len(data) < pos + 2 or data[pos] >= len(_DTYPES) or data[pos + 1] > MAX_ARRAY_DIMS:
        raise BitstreamError("corrupted or truncated array header")
    dtype = np.dtype(_DTYPES[data[pos]]).newbyteorder("<")
    ndim = data[pos + 1]
    pos += 2
    shape = []
    for _ in range(ndim):
        n, pos = read_varint(data, pos)
        shape.append(n)
    size = math.prod(shape) * dtype.itemsize
    if len(data) - pos != size:
        raise BitstreamError(f"array payload is {len(data) - pos} bytes, header says {size}")
    if size == 0 and math.prod(n for n in shape if n) > MAX_SYMBOLS:  # empty, with absurd extents
        raise BitstreamError(f"corrupted array header (shape {tuple(shape)})")
    flat = np.frombuffer(data, dtype=dtype, count=size // dtype.itemsize, offset=pos)
    if dtype == np.bool_ and flat.size and flat.view(np.uint8).max() > 1:
        raise BitstreamError("corrupted array payload (a boolean byte other than 0 or 1)")
    return flat.reshape(shape).astype(dtype.newbyteorder("="))


def frame_nhw(magic: int, n: int, h: int, w: int, payload: bytes) -> bytes:
    """A magic byte, (N, H, W) as varints and a CRC-32 over header and payload, then the payload.

    The layout learned latent streams share: the decoder learns the latent grid from the stream
    (counted), and any damage anywhere is caught before the entropy decoder sees the payload.
    """
    header = bytes([magic]) + write_varint(n) + write_varint(h) + write_varint(w)
    return header + zlib.crc32(header + payload).to_bytes(4, "little") + payload


def unframe_nhw(data: bytes, magic: int, name: str, short: str) -> tuple[int, int, int, bytes]:
    """(N, H, W, payload) of a :func:`frame_nhw` stream; BitstreamError naming the stream when damaged.

    ``name`` says what the stream is ("learned-codec block stream"), ``short`` how a damaged one is
    called ("block stream").
    """
    if not data or data[0] != magic:
        raise BitstreamError(f"not a {name} (bad magic byte)")
    n, pos = read_varint(data, 1)
    h, pos = read_varint(data, pos)
    w, pos = read_varint(data, pos)
    if len(data) < pos + 4:
        raise BitstreamError(f"truncated {short} (no checksum)")
    header, crc, payload = data[:pos], data[pos:pos + 4], data[pos + 4:]
    if zlib.crc32(header + payload).to_bytes(4, "little") != crc:
        raise BitstreamError(f"corrupted or truncated {short} (checksum mismatch)")
    return n, h, w, payload
