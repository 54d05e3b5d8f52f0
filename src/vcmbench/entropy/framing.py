"""Self-describing byte framing: varints and arrays with their dtype and shape inside the stream.

Every header byte written here is counted in the rate, so the formats are kept small.
"""

from __future__ import annotations

import numpy as np

from vcmbench.errors import BitstreamError

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


def pack_array(a: np.ndarray) -> bytes:
    """dtype code, ndim, shape (varints), then the raw little-endian bytes."""
    a = np.ascontiguousarray(a)
    code = next((i for i, t in enumerate(_DTYPES) if a.dtype == t), None)
    if code is None:
        raise ValueError(f"cannot frame arrays of dtype {a.dtype}")
    header = bytes([code, a.ndim]) + b"".join(write_varint(n) for n in a.shape)
    return header + a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()


def unpack_array(data: bytes, pos: int = 0) -> np.ndarray:
    """Inverse of :func:`pack_array`; BitstreamError on any inconsistency."""
    if len(data) < pos + 2 or data[pos] >= len(_DTYPES):
        raise BitstreamError("corrupted or truncated array header")
    dtype = np.dtype(_DTYPES[data[pos]]).newbyteorder("<")
    ndim = data[pos + 1]
    pos += 2
    shape = []
    for _ in range(ndim):
        n, pos = read_varint(data, pos)
        shape.append(n)
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - pos != size:
        raise BitstreamError(f"array payload is {len(data) - pos} bytes, header says {size}")
    flat = np.frombuffer(data, dtype=dtype, count=size // dtype.itemsize, offset=pos)
    return flat.reshape(shape).astype(dtype.newbyteorder("="))
