"""Fixed-length codes over n-tuples of K-ary symbols (the paper's Method 2).

An n-tuple is read as one mixed-radix integer below K^n and written in
ceil(n·log2 K) = bit_length(K^n - 1) bits, computed with exact Python integers (floating
point log2 gets e.g. K = 2^k wrong). n = 1 is the plain fixed-length code (Method 1);
n = 3, K = 10 spends 10 bits on 3 digits. A last, shorter tuple of r symbols gets
bit_length(K^r - 1) bits.
"""

from __future__ import annotations

import numpy as np

from vcmbench.entropy.bitio import field_bits, fields_from_bits, pack_fields, packed_size, unpack_fields
from vcmbench.errors import BitstreamError, UsageError


def tuple_bits(num_classes: int, n: int) -> int:
    """Bits of one n-tuple: ceil(n·log2 K), exactly."""
    return (num_classes**n - 1).bit_length() if n > 0 else 0


def block_payload_bits(count: int, num_classes: int, n: int) -> int:
    """Payload bits for ``count`` symbols in n-tuples (the last tuple may be shorter)."""
    full, rest = divmod(count, n)
    return full * tuple_bits(num_classes, n) + tuple_bits(num_classes, rest)


def _check(num_classes: int, n: int) -> None:
    if num_classes < 2:
        raise UsageError(f"need at least 2 classes, got {num_classes}")
    if not isinstance(n, int) or n < 1:
        raise UsageError(f"tuple length must be a positive integer, got {n!r}")


def _to_numbers(symbols: np.ndarray, num_classes: int, n: int) -> np.ndarray | list[int]:
    """Each row of an (M, n) symbol matrix as one integer, first symbol most significant."""
    if num_classes**n < 2**63:  # Horner's rule, a column at a time (numpy has no fast integer matmul)
        numbers = symbols[:, 0].copy()
        for j in range(1, n):
            numbers *= num_classes
            numbers += symbols[:, j]
        return numbers
    numbers = []
    for row in symbols.tolist():
        v = 0
        for s in row:
            v = v * num_classes + s
        numbers.append(v)
    return numbers


def _to_symbols(numbers: np.ndarray | list[int], num_classes: int, n: int) -> np.ndarray:
    limit = num_classes**n
    if isinstance(numbers, np.ndarray):
        if numbers.size and (numbers.min() < 0 or numbers.max() >= limit):
            raise BitstreamError(f"corrupted bitstream (tuple value beyond {num_classes}^{n})")
        digits, rest = [], numbers
        for _ in range(n):  # least significant (the tuple's last symbol) first
            quotient = rest // num_classes
            digits.append(rest - quotient * num_classes)
            rest = quotient
        return np.stack(digits[::-1], axis=1)
    rows = []
    for v in numbers:
        if v >= limit:
            raise BitstreamError(f"corrupted bitstream (tuple value beyond {num_classes}^{n})")
        row = [0] * n
        for j in range(n - 1, -1, -1):
            v, row[j] = divmod(v, num_classes)
        rows.append(row)
    return np.asarray(rows, dtype=np.int64).reshape(len(rows), n)


def encode_tuples(symbols: np.ndarray, num_classes: int, n: int) -> bytes:
    """Symbols in [0, K) to the packed n-tuple code (no header: the count travels elsewhere)."""
    _check(num_classes, n)
    symbols = np.asarray(symbols, dtype=np.int64)
    full = len(symbols) // n * n
    width = tuple_bits(num_classes, n)
    numbers = _to_numbers(symbols[:full].reshape(-1, n), num_classes, n)
    rest = symbols[full:]
    if not len(rest):
        return pack_fields(numbers, width)
    # The short last tuple continues the same bit stream.
    last = _to_numbers(rest.reshape(1, -1), num_classes, len(rest))
    last_width = tuple_bits(num_classes, len(rest))
    parts = [field_bits(numbers, width).reshape(-1), field_bits(last, last_width).reshape(-1)]
    return np.packbits(np.concatenate(parts)).tobytes()


def decode_tuples(data: bytes, count: int, num_classes: int, n: int) -> np.ndarray:
    """Exactly ``count`` symbols back; BitstreamError on a wrong length, padding or value."""
    _check(num_classes, n)
    expected = packed_size(block_payload_bits(count, num_classes, n), 1)
    if len(data) != expected:
        raise BitstreamError(f"payload is {len(data)} bytes, {count} labels in {n}-tuples need {expected}")
    full, rest = divmod(count, n)
    width = tuple_bits(num_classes, n)
    big = num_classes**n >= 2**63
    if not rest:
        numbers = unpack_fields(data, full, width, as_python_ints=big)
        return _to_symbols(numbers, num_classes, n).reshape(-1)
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    split = full * width
    last_width = tuple_bits(num_classes, rest)
    if bits[split + last_width:].any():
        raise BitstreamError("corrupted bitstream (non-zero padding bits)")
    head = fields_from_bits(bits[:split], full, width, as_python_ints=big) if full else []
    head_symbols = _to_symbols(head, num_classes, n) if full else np.zeros((0, n), dtype=np.int64)
    last_numbers = fields_from_bits(bits[split:split + last_width], 1, last_width,
                                    as_python_ints=num_classes**rest >= 2**63)
    last_symbols = _to_symbols(last_numbers, num_classes, rest)
    return np.concatenate([head_symbols.reshape(-1), last_symbols.reshape(-1)])
