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
    if width <= 63 and isinstance(values, np.ndarray):  # each value's 8 big-endian bytes, unpacked
        big_endian = values.astype(">u8").view(np.uint8).reshape(len(values), 8)
        raw_bytes = np.ascontiguousarray(big_endian[:, 8 - nbytes:])
        return np.unpackbits(raw_bytes.reshape(-1)).reshape(len(values), nbytes * 8)[:, nbytes * 8 - width:]
    raw = b"".join(int(v).to_bytes(nbytes, "big") for v in values)
    matrix = np.unpackbits(np.frombuffer(raw, dtype=np.uint8)).reshape(len(values), nbytes * 8)
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
    return fields_from_bits(bits[: count * width], count, width, as_python_ints=as_python_ints)


def fields_from_bits(bits: np.ndarray, count: int, width: int, *,
                     as_python_ints: bool = False) -> np.ndarray | list[int]:
    """``count`` fields of ``width`` bits out of a 0/1 array of exactly ``count * width`` bits."""
    matrix = bits.reshape(count, width)
    nbytes = (width + 7) // 8
    padded = np.zeros((count, nbytes * 8), dtype=np.uint8)  # each field right-aligned in whole bytes
    padded[:, nbytes * 8 - width:] = matrix
    rows = np.packbits(padded.reshape(-1)).reshape(count, nbytes)  # flat: packbits along an axis is slow
    if width <= 63 and not as_python_ints:  # the bytes of each field, read as one big-endian integer
        if nbytes == 1:
            return rows[:, 0].astype(np.int64)
        words = np.zeros((count, 8), dtype=np.uint8)
        words[:, 8 - nbytes:] = rows
        return words.view(">u8").reshape(-1).astype(np.int64)
    return [int.from_bytes(row.tobytes(), "big") for row in rows]


MAX_CODEWORD_BITS = 57  # a codeword plus its offset inside a byte fits one 64-bit word


def pack_codewords(codes: np.ndarray, lengths: np.ndarray) -> bytes:
    """Variable-length codewords (value right-aligned in ``lengths[i]`` bits) back to back, MSB first.

    Each codeword (at most :data:`MAX_CODEWORD_BITS` bits) lands in one or two 64-bit words of
    the output; codewords never overlap, so a word is the sum of what lands in it.
    """
    if len(codes) == 0:
        return b""
    codes = np.asarray(codes, dtype=np.uint64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.min() < 1 or lengths.max() > MAX_CODEWORD_BITS:
        raise ValueError(f"codeword lengths must lie in 1..{MAX_CODEWORD_BITS}")
    ends = np.cumsum(lengths)
    starts = ends - lengths
    total = int(ends[-1])
    word, offset = starts >> 6, starts & 63
    over = offset + lengths - 64  # > 0: the codeword's low `over` bits spill into the next word
    spill = over > 0
    head = np.where(spill, codes >> np.maximum(over, 0).astype(np.uint64),
                    codes << np.maximum(-over, 0).astype(np.uint64))
    words = np.zeros((total + 63) // 64 + 1, dtype=np.uint64)
    first = np.flatnonzero(np.diff(word, prepend=-1))
    words[word[first]] = np.add.reduceat(head, first)
    words[word[spill] + 1] += codes[spill] << (64 - over[spill]).astype(np.uint64)
    return words.astype(">u8").tobytes()[: (total + 7) // 8]


def bit_windows(data: bytes, positions: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` bits (≤ 57) starting at each bit position, zero past the end, as uint64."""
    raw = np.frombuffer(data + bytes(8), dtype=np.uint8)
    byte = positions >> 3
    words = np.zeros(len(positions), dtype=np.uint64)
    for i in range(8):
        words |= raw[byte + i].astype(np.uint64) << np.uint64(56 - 8 * i)
    return (words << (positions & 7).astype(np.uint64)) >> np.uint64(64 - width)


def bit_prefixes(data: bytes, width: int) -> np.ndarray:
    """The ``width`` bits (≤ 25) starting at every bit position of ``data``, zero past the end.

    One index (intp) per bit: the cheap first look of a table-driven prefix-code decoder, ready
    for ``np.take`` (which is several times slower with any other index type).
    """
    raw = np.frombuffer(data + bytes(4), dtype=np.uint8).astype(np.intp)
    n = len(data)
    words = (raw[:n] << 24) | (raw[1:n + 1] << 16) | (raw[2:n + 2] << 8) | raw[3:n + 3]
    shifted = words[:, None] << np.arange(8, dtype=np.intp)[None, :]
    shifted >>= 32 - width
    shifted &= (1 << width) - 1
    return shifted.reshape(-1)


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
