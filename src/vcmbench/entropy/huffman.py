"""Optimal prefix codes (Huffman) and their canonical form.

The code is always computed from the weights with a heap, never tabulated: for ten equally
likely symbols it gives six 3-bit and four 4-bit codewords (3.4 bits on average), not the
3.6-bit code of the paper's Table I. Only the code lengths matter for the rate, so codes are
built canonically from the lengths; that is also what a decoder needs to receive when the
weights are not known to it.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vcmbench.entropy.bitio import (
    MAX_CODEWORD_BITS,
    bit_prefixes,
    bit_windows,
    check_padding,
    pack_codewords,
    unpack_bits,
)
from vcmbench.errors import BitstreamError, UsageError

MAX_CODE_LENGTH = MAX_CODEWORD_BITS  # the decoder reads a codeword out of the 64 bits at its byte


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
    """A prefix code given by its lengths: codewords assigned in (length, symbol) order.

    Codewords of one length form a group of consecutive values; a decoder reading
    ``max_length`` bits finds the group by comparing with each group's end (``_limits``, in
    ``max_length``-bit units), then the symbol by the value's offset inside the group.
    """

    lengths: tuple[int, ...]
    codes: np.ndarray = field(init=False, repr=False)
    _limits: np.ndarray = field(init=False, repr=False)  # per group: end of its range, max-length units
    _group_lengths: np.ndarray = field(init=False, repr=False)  # per group: its codeword length
    _group_first_code: np.ndarray = field(init=False, repr=False)  # per group: its first codeword value
    _group_first_index: np.ndarray = field(init=False, repr=False)  # per group: that codeword's rank
    _symbols_by_rank: np.ndarray = field(init=False, repr=False)  # symbols in (length, symbol) order
    _table_bits: int = field(init=False, repr=False)
    _table_lengths: np.ndarray = field(init=False, repr=False)
    _table_symbols: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lengths = self.lengths
        if len(lengths) < 2 or min(lengths) < 1 or max(lengths) > MAX_CODE_LENGTH:
            raise BitstreamError("invalid code lengths")
        if sum(1 << (self.max_length - length) for length in lengths) != 1 << self.max_length:
            raise BitstreamError("code lengths do not form a complete prefix code (Kraft sum != 1)")
        order = sorted(range(len(lengths)), key=lambda s: (lengths[s], s))
        codes = np.zeros(len(lengths), dtype=np.int64)
        first_code, first_index, group_lengths, limits = [], [], [], []
        code, prev = 0, lengths[order[0]]
        for rank, s in enumerate(order):
            code <<= lengths[s] - prev
            prev = lengths[s]
            if not group_lengths or group_lengths[-1] != prev:
                first_code.append(code)
                first_index.append(rank)
                group_lengths.append(prev)
                limits.append(0)
            codes[s] = code
            code += 1
            limits[-1] = code << (self.max_length - prev)
        tables = {"codes": codes, "_limits": np.asarray(limits, dtype=np.uint64),
                  "_group_lengths": np.asarray(group_lengths, dtype=np.intp),
                  "_group_first_code": np.asarray(first_code, dtype=np.int64),
                  "_group_first_index": np.asarray(first_index, dtype=np.int64),
                  "_symbols_by_rank": np.asarray(order, dtype=np.int64)}
        for name, value in tables.items():
            object.__setattr__(self, name, value)
        for name, value in zip(("_table_bits", "_table_lengths", "_table_symbols"), self._prefix_tables(),
                               strict=True):
            object.__setattr__(self, name, value)

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
        """Exactly ``count`` symbols; BitstreamError if the stream is short or has trailing data.

        Table-driven and vectorised: the codeword starting at every bit position is looked up
        at once in a table indexed by the next few bits (codewords longer than the table's
        width fall back to a search on the canonical code's limits), which gives the successor
        of every position. The chain of codeword starts from bit 0 is then followed with a
        jump table of 2^_JUMP_LEVELS codewords, so Python steps once per 32 symbols.
        """
        n = 8 * len(data)
        if count < 0 or count > n:  # every codeword has at least one bit
            raise BitstreamError(f"truncated bitstream ({count} codewords cannot fit in {n} bits)")
        bits = unpack_bits(data)
        if count == 0:
            check_padding(bits, 0)
            return np.zeros(0, dtype=np.int64)
        prefixes = bit_prefixes(data, self._table_bits)
        # Successor of every position; n is "the stream ended exactly", n + 1 "ran past the end".
        successor = np.empty(n + 2, dtype=np.intp)
        successor[:n] = np.take(self._table_lengths, prefixes)
        if self.max_length > self._table_bits:  # codewords longer than the table: search their length
            long = np.flatnonzero(successor[:n] == 0)
            if len(long):
                successor[long] = self._group_lengths[self._groups(bit_windows(data, long, self.max_length))]
        successor[:n] += np.arange(n, dtype=np.intp)
        np.minimum(successor[:n], n + 1, out=successor[:n])
        successor[n:] = n + 1
        starts = _follow(successor, count)
        end = int(successor[starts[-1]])
        if end > n:
            raise BitstreamError("truncated bitstream (fewer codewords than the header says)")
        check_padding(bits, end)
        symbols = np.take(self._table_symbols, np.take(prefixes, starts))
        long = np.flatnonzero(symbols < 0)
        if len(long):
            windows = bit_windows(data, starts[long], self.max_length)
            g = self._groups(windows)
            shift = (self.max_length - self._group_lengths[g]).astype(np.uint64)
            ranks = ((windows >> shift).astype(np.int64) - self._group_first_code[g]
                     + self._group_first_index[g])
            symbols[long] = self._symbols_by_rank[ranks]
        return symbols

    def _groups(self, windows: np.ndarray) -> np.ndarray:
        """Index of the length group each ``max_length``-bit window's codeword belongs to."""
        return np.searchsorted(self._limits, windows, side="right")

    def _prefix_tables(self) -> tuple[int, np.ndarray, np.ndarray]:
        """Length and symbol of the codeword that starts with each ``bits``-bit prefix (0 / -1 if longer)."""
        bits = min(self.max_length, _TABLE_BITS)
        shift = self.max_length - bits
        prefixes = np.arange(1 << bits, dtype=np.uint64)
        g = self._groups(prefixes << np.uint64(shift))
        length = self._group_lengths[g]
        short = length <= bits
        rank = (prefixes >> (bits - np.minimum(length, bits)).astype(np.uint64)).astype(np.int64)
        rank = rank - self._group_first_code[g] + self._group_first_index[g]
        lengths = np.where(short, length, 0).astype(np.intp)
        symbols = np.where(short, self._symbols_by_rank[np.where(short, rank, 0)], -1).astype(np.int64)
        return bits, lengths, symbols


_TABLE_BITS = 12  # prefix table of 4,096 entries; longer codewords take the search path
_JUMP_LEVELS = 5  # the walk jumps 2^5 = 32 codewords per Python step


def _follow(successor: np.ndarray, count: int) -> np.ndarray:
    """Positions 0, s(0), s(s(0)), ... (``count`` of them) of a successor table."""
    far = successor
    for _ in range(_JUMP_LEVELS):
        far = np.take(far, far)
    stride = 1 << _JUMP_LEVELS
    jump = memoryview(far)  # indexing a memoryview gives Python ints, the fastest scalar walk
    heads = [0] * -(-count // stride)
    q = 0
    for i in range(len(heads)):
        heads[i] = q
        q = jump[q]
    rows = [np.asarray(heads, dtype=np.intp)]
    for _ in range(stride - 1):
        rows.append(np.take(successor, rows[-1]))
    return np.stack(rows, axis=1).reshape(-1)[:count]
