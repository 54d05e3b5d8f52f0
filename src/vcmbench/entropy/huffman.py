"""Optimal prefix codes (Huffman) and their canonical form.

The code is always computed from the weights with a heap, never tabulated: for ten equally
likely symbols it gives six 3-bit and four 4-bit codewords (3.4 bits on average), not the
3.6-bit code of the paper's Table I. Only the code lengths matter for the rate, so codes are
built canonically from the lengths; that is also what a decoder needs to receive when the
weights are not known to it.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vcmbench.entropy.bitio import check_padding, pack_codewords, unpack_bits
from vcmbench.errors import BitstreamError, UsageError

MAX_CODE_LENGTH = 62  # codewords are handled as int64 windows


def huffman_code_lengths(weights: Sequence[float]) -> list[int]:
    """Codeword lengths of an optimal prefix code for symbols with these (positive) weights.

    Ties are broken by insertion order, so the result is deterministic: encoder and decoder
    that compute it from the same weights get the same code.
    """
    if len(weights) < 2:
        raise UsageError(f"a prefix code needs at least 2 symbols, got {len(weights)}")
    if any(not w > 0 for w in weights):
        raise UsageError("Huffman weights must all be positive (add one to zero counts)")
    heap: list[tuple[float, int, list[int]]] = [(float(w), i, [i]) for i, w in enumerate(weights)]
    heapq.heapify(heap)
    lengths = [0] * len(weights)
    order = len(weights)
    while len(heap) > 1:
        w1, _, s1 = heapq.heappop(heap)
        w2, _, s2 = heapq.heappop(heap)
        for s in s1 + s2:  # every symbol under the merged node moves one level down
            lengths[s] += 1
        heapq.heappush(heap, (w1 + w2, order, s1 + s2))
        order += 1
    return lengths


def kraft_sum(lengths: Sequence[int]) -> float:
    """Σ 2^-l; exactly 1 for a complete prefix code (every optimal code is complete)."""
    return sum(2.0 ** -length for length in lengths)


@dataclass(frozen=True)
class CanonicalCode:
    """A prefix code given by its lengths: codewords assigned in (length, symbol) order."""

    lengths: tuple[int, ...]
    codes: np.ndarray = field(init=False, repr=False)
    _first_code: list[int] = field(init=False, repr=False)  # per length: first codeword value
    _first_index: list[int] = field(init=False, repr=False)  # per length: its rank in sorted order
    _limits: list[int] = field(init=False, repr=False)  # per length: end of its range, in max-length units
    _sorted_symbols: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lengths = self.lengths
        if len(lengths) < 2 or min(lengths) < 1 or max(lengths) > MAX_CODE_LENGTH:
            raise BitstreamError("invalid code lengths")
        if sum(1 << (self.max_length - length) for length in lengths) != 1 << self.max_length:
            raise BitstreamError("code lengths do not form a complete prefix code (Kraft sum != 1)")
        order = sorted(range(len(lengths)), key=lambda s: (lengths[s], s))
        codes = np.zeros(len(lengths), dtype=np.int64)
        first_code, first_index, limits = [], [], []
        code, prev = 0, lengths[order[0]]
        for rank, s in enumerate(order):
            code <<= lengths[s] - prev
            prev = lengths[s]
            if not first_code or lengths[order[rank - 1]] != prev:
                first_code.append(code)
                first_index.append(rank)
                limits.append(0)
            codes[s] = code
            code += 1
            limits[-1] = code << (self.max_length - prev)
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "_first_code", first_code)
        object.__setattr__(self, "_first_index", first_index)
        object.__setattr__(self, "_limits", limits)
        object.__setattr__(self, "_sorted_symbols", order)

    @classmethod
    def from_weights(cls, weights: Sequence[float]) -> CanonicalCode:
        lengths = huffman_code_lengths(weights)
        if max(lengths) > MAX_CODE_LENGTH:
            raise UsageError(f"prior too skewed: a codeword would be longer than {MAX_CODE_LENGTH} bits")
        return cls(tuple(lengths))

    @property
    def max_length(self) -> int:
        return max(self.lengths)

    def average_length(self, probabilities: Sequence[float]) -> float:
        return float(sum(p * length for p, length in zip(probabilities, self.lengths, strict=True)))

    def encode(self, symbols: np.ndarray) -> bytes:
        """Codewords of ``symbols`` back to back, zero-padded to whole bytes."""
        symbols = np.asarray(symbols, dtype=np.int64)
        return pack_codewords(self.codes[symbols], np.asarray(self.lengths)[symbols])

    def decode(self, data: bytes, count: int) -> np.ndarray:
        """Exactly ``count`` symbols; BitstreamError if the stream is short or has trailing data."""
        bits = unpack_bits(data)
        width = self.max_length
        padded = np.concatenate([bits, np.zeros(width, dtype=np.uint8)]).astype(np.int64)
        n = len(bits)
        windows = np.zeros(n + 1, dtype=np.int64)  # the `width` bits starting at each position
        for i in range(width):
            windows += padded[i:i + n + 1] << (width - 1 - i)
        window_list = windows.tolist()
        limits, first_code, first_index = self._limits, self._first_code, self._first_index
        group_length = [self.lengths[self._sorted_symbols[i]] for i in first_index]
        symbols = self._sorted_symbols
        out = [0] * count
        pos = 0
        for i in range(count):
            if pos > n:
                raise BitstreamError("truncated bitstream (fewer codewords than the header says)")
            v = window_list[pos]
            g = bisect_right(limits, v)
            length = group_length[g]
            out[i] = symbols[first_index[g] + (v >> (width - length)) - first_code[g]]
            pos += length
        check_padding(bits, pos)
        return np.asarray(out, dtype=np.int64)
