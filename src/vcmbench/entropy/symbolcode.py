"""One symbol per bitstream, range-coded over an integer table and terminated on a whole byte.

A per-sample stream of a learned codec for machines often carries a single small symbol (the
entropic student's codeword index, ~3–5 bits of information). A general-purpose coder's fixed
cost dwarfs it: compressai flushes a 64-bit state per string, constriction's coders a 32-bit word.
Here the stream is the shortest byte string whose value, read as a binary fraction (zero-padded),
falls inside the symbol's interval of the range coder; it is decoded by constriction's
``RangeDecoder`` over the very same integer table. A symbol with probability p costs
``8·ceil(−log2(p)/8)`` bits, i.e. less than one byte above its information content; the symbol
placed first in the table (the likeliest) gets the empty stream, as a range coder's interval
starting at 0 needs no bits to be identified. The stream's length is delivered with it, as the
length of every bitstream in vcmbench is (see ``vcmbench.api.codec``).

The table is integers, frequencies summing to 2^24 (constriction's precision), every symbol at
least 1: encoder and decoder built from the same integers agree bit for bit. Building the table
checks that constriction's model reproduces those integers exactly (each interval's two ends decode
to their symbol), so an encoder and a decoder can never disagree about an interval.

A decoder accepts only the encoder's own codewords (the shortest, canonical one per symbol): a
longer stream, or one with a trailing zero byte, is refused as forged or damaged.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import constriction
import numpy as np

from vcmbench.errors import BitstreamError, DataError

PRECISION = 24  # constriction's fixed-point precision for categorical models
TOTAL = 1 << PRECISION
MAX_BYTES = PRECISION // 8  # any symbol of a 24-bit table fits in 3 bytes


def quantize(probabilities: Sequence[float] | np.ndarray) -> np.ndarray:
    """Float probabilities to integer frequencies summing to 2^24, every one at least 1.

    Largest-remainder rounding of ``p·(2^24 − K)`` plus one per symbol; ties go to the lower
    index. Deterministic for given floats: call it once and keep the integers.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 1 or len(p) < 1 or len(p) > TOTAL // 2:
        raise ValueError(f"need a 1-D vector of 1..{TOTAL // 2} probabilities, got shape {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any() or p.sum() <= 0:
        raise ValueError("probabilities must be finite, non-negative and not all zero")
    k = len(p)
    scaled = p / p.sum() * (TOTAL - k)
    freqs = np.floor(scaled).astype(np.int64) + 1
    short = TOTAL - int(freqs.sum())
    order = np.argsort(-(scaled - np.floor(scaled)), kind="stable")
    freqs[order[:short]] += 1
    return freqs


class SymbolCode:
    """The byte-terminated range code of one symbol over an integer frequency table.

    ``freqs[s]`` is symbol s's frequency (integers, sum 2^24, each >= 1). Symbols are laid out in
    the coder's interval in order of decreasing frequency (ties: lower symbol first), so the
    likeliest symbol owns the interval at 0 and is sent as the empty stream.
    """

    def __init__(self, freqs: Sequence[int] | np.ndarray):
        f = np.asarray(freqs)
        if f.ndim != 1 or len(f) < 1 or not np.issubdtype(f.dtype, np.integer):
            raise DataError(f"a symbol table must be a 1-D integer vector, got {f.dtype} {f.shape}")
        f = f.astype(np.int64)
        if (f < 1).any() or int(f.sum()) != TOTAL:
            raise DataError(f"a symbol table needs frequencies >= 1 summing to 2^{PRECISION}, "
                            f"got sum {int(f.sum())}, min {int(f.min())}")
        self.freqs = f
        self.order = np.argsort(-f, kind="stable")  # position in the interval -> symbol
        self.rank = np.empty_like(self.order)
        self.rank[self.order] = np.arange(len(f))  # symbol -> position
        laid_out = f[self.order]
        self.cdf = np.concatenate([[0], np.cumsum(laid_out)])
        self._model = constriction.stream.model.Categorical(laid_out / TOTAL, perfect=True)
        self._codewords = [self._shortest(int(self.cdf[i]), int(self.cdf[i + 1])) for i in range(len(f))]
        self._check_model()

    # -- the table ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.freqs)

    def information_bits(self, symbol: int) -> float:
        """−log2 p(symbol) under the integer table: the ideal cost the stream is compared with."""
        return PRECISION - math.log2(int(self.freqs[symbol]))

    def sha256(self) -> str:
        """The table's identity (its integers), for records: equal hashes, equal codes."""
        return hashlib.sha256(self.freqs.astype("<i8").tobytes()).hexdigest()

    # -- coding ------------------------------------------------------------------------------------
    def encode(self, symbol: int) -> bytes:
        if not 0 <= symbol < len(self.freqs):
            raise ValueError(f"symbol {symbol} outside the table's 0..{len(self.freqs) - 1}")
        return self._codewords[int(self.rank[symbol])]

    def decode(self, data: bytes) -> int:
        """One stream back to its symbol (constriction's range decoder); forged streams refused."""
        if len(data) > MAX_BYTES:
            raise BitstreamError(f"not a one-symbol stream: {len(data)} bytes (at most {MAX_BYTES})")
        word = np.array([int.from_bytes(bytes(data).ljust(4, b"\x00"), "big")], dtype=np.uint32)
        position = int(constriction.stream.queue.RangeDecoder(word).decode(self._model, 1)[0])
        if self._codewords[position] != bytes(data):
            raise BitstreamError(f"corrupted or forged stream ({bytes(data).hex() or 'empty'} is not the "
                                 f"encoder's codeword for the symbol it falls on)")
        return int(self.order[position])

    # -- construction ---------------------------------------------------------------------------
    @staticmethod
    def _shortest(low: int, high: int) -> bytes:
        """The fewest whole bytes b with value(b)·2^(24−8·len(b)) in [low, high)."""
        for n in range(MAX_BYTES + 1):
            step = 1 << (PRECISION - 8 * n)
            value = -(-low // step)
            if value * step < high:
                return value.to_bytes(n, "big") if n else b""
        raise AssertionError("unreachable: a 24-bit interval always holds a 3-byte point")

    def _point(self, quantile: int) -> int:
        word = np.array([quantile << (32 - PRECISION)], dtype=np.uint32)
        return int(constriction.stream.queue.RangeDecoder(word).decode(self._model, 1)[0])

    def _check_model(self) -> None:
        """constriction's model must hold exactly these intervals: probe both ends of each."""
        for i in range(len(self.freqs)):
            if self._point(int(self.cdf[i])) != i or self._point(int(self.cdf[i + 1]) - 1) != i:
                raise DataError("constriction's categorical model does not reproduce the integer "
                                f"symbol table (interval {i}); encoder and decoder could disagree")
