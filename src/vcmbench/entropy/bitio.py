"""Bit packing for codes whose codewords are not whole bytes.

Fixed-width fields (integers of any width, Python ints beyond 64 bits included) and
variable-length codewords are packed MSB-first into bytes and padded with zero bits to the
next byte. Readers check the padding and the length, so a truncated or padded stream is an
error rather than a silently different list of values. Everything is vectorised with numpy:
label streams of 10^5 symbols are common.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vcmbench.errors import BitstreamError


def field_bits(values: Sequence[int] | np.ndarray, width: int) -> np.ndarray:
    """(M, width) matrix of bits, most significant first."""
    if len(values) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    nbytes = max(1, (width + 7) // 8)
    if width <= 63 and isinstance(values, np.ndarray):
        shifts = np.arange(width - 1, -1, -1, dtype=np.uint64)
        return ((values.astype(np.uint64)[:, None] >> shifts) & np.uint64(1)).astype(np.uint8)
    raw = b"".join(int(v).to_bytes(nbytes, "big") for v in values)
    matrix = np.unpackbits(np.frombuffer(raw, dtype=np.uint8).reshape(len(values), nbytes), axis=1)
    return matrix[:, nbytes * 8 - width:]


def pack_fields(values: Sequence[int] | np.ndarray, width: int) -> bytes:
    """Each value in ``width`` bits, MSB first, zero-padded to whole bytes.

    Values must lie in [0, 2**width); numpy arrays take a fast path up to 63 bits,
    sequences of Python ints work for any width.
    """
    if width < 0:
        raise ValueError("field width must be non-negative")
    if width == 0 or len(values) == 0:
        return b""
    return np.packbits(field_bits(values, width).reshape(-1)).tobytes()


def packed_size(count: int, width: int) -> int:
    """Bytes :func:`pack_fields` writes for ``count`` fields of ``width`` bits."""
    return (count * width + 7) // 8


def unpack_fields(data: bytes, count: int, width: int, *,
                  as_python_ints: bool = False) -> np.ndarray | list[int]:
    """Inverse of :func:`pack_fields`: exactly ``count`` fields, padding bits zero, no extra bytes."""
    expected = packed_size(count, width)
    if len(data) != expected:
        raise BitstreamError(f"payload is {len(data)} bytes, {count} fields of {width} bits need {expected}")
    if count == 0 or width == 0:
        return [0] * count if as_python_ints else np.zeros(count, dtype=np.int64)
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    if bits[count * width:].any():
        raise BitstreamError("corrupted bitstream (non-zero padding bits)")
    matrix = bits[: count * width].reshape(count, width)
    if width <= 63 and not as_python_ints:
        weights = np.left_shift(np.uint64(1), np.arange(width - 1, -1, -1, dtype=np.uint64))
        return (matrix.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64).astype(np.int64)
    nbytes = (width + 7) // 8
    padded = np.zeros((count, nbytes * 8), dtype=np.uint8)
    padded[:, nbytes * 8 - width:] = matrix
    rows = np.packbits(padded, axis=1)
    return [int.from_bytes(row.tobytes(), "big") for row in rows]


def pack_codewords(codes: np.ndarray, lengths: np.ndarray) -> bytes:
    """Variable-length codewords (value right-aligned in ``lengths[i]`` bits) back to back, MSB first."""
    if len(codes) == 0:
        return b""
    width = int(lengths.max())
    matrix = field_bits(np.asarray(codes, dtype=np.uint64), width)  # right-aligned in `width` bits
    keep = np.arange(width)[None, :] >= (width - np.asarray(lengths))[:, None]
    return np.packbits(matrix[keep]).tobytes()


def unpack_bits(data: bytes) -> np.ndarray:
    """The stream as a 0/1 array (uint8), MSB of the first byte first."""
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))


def check_padding(bits: np.ndarray, used: int) -> None:
    """After a variable-length decode: fewer than 8 bits left, all zero."""
    if used > len(bits):
        raise BitstreamError("truncated bitstream (codewords run past the end)")
    rest = bits[used:]
    if len(rest) >= 8 or rest.any():
        raise BitstreamError("corrupted bitstream (data after the last codeword)")
