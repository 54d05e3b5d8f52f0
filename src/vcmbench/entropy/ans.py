"""Entropy coding of symbol streams with constriction's ANS coder over categorical models.

Two models: a fixed (i.i.d.) categorical, and an adaptive one whose probabilities are the
Krichevsky–Trofimov estimate from the symbols seen so far (count + 1/2), so encoder and
decoder learn the distribution together and no table has to be sent.

The adaptive estimate is refreshed at chunk boundaries rather than after every symbol: each
chunk holds one eighth of the symbols before it (at least one), so the model is exact KT for
the first 16 symbols and then updates at geometrically spaced points, about 9·ln N times in
all. Every chunk is then one vectorised constriction call with a fixed model, at both ends;
a per-symbol model would cost one Python-level call per decoded symbol (hundreds of times
slower than the coder itself). The price in rate is small: a symbol at position n predicted
from the counts at the chunk start b ≥ n·8/9 pays, on average, about (K-1)/(2b) nats of
regret instead of (K-1)/(2n), so the total regret over KT's (K-1)/2·log2 N bits grows by about
(1 + 1/16) — a few bits per block. :func:`adaptive_code_length` is this model's exact ideal
length.

constriction emits 32-bit words; the last word carries the coder's state and usually ends in
zero bytes, which are dropped here (and restored by the decoder) so the rate is the coder's
payload rounded up to whole bytes rather than whole words.

An ANS coder started from its empty state encodes a trailing run of the first symbol in zero
bits, so a decoder told a larger count would silently append such symbols. The coder here
starts from a sentinel state instead (about 24 bits per stream, counted) that no decoding step
maps to itself: a stream decodes cleanly only with the exact symbol count, ending on the
sentinel.

Decoders refuse, before decoding anything, a count the stream cannot hold: no stream is
shorter than the ideal length of its symbols under the model, which is at least the count
times the cost of the likeliest symbol (i.i.d.) or the length of an all-equal sequence
(adaptive). Where that bound is weak (a model that is almost sure of one symbol), the count is
also capped at :data:`~vcmbench.entropy.framing.MAX_SYMBOLS`.
"""

from __future__ import annotations

import math

import constriction
import numpy as np

from vcmbench.entropy.framing import MAX_SYMBOLS
from vcmbench.errors import BitstreamError

KT_ALPHA = 0.5  # Krichevsky–Trofimov: the Dirichlet(1/2) mixture, minimax regret for memoryless sources
ADAPT_RATIO = 8  # a chunk of the adaptive model holds 1/ADAPT_RATIO of the symbols before it
# All ones in the low bits: decodes to the last symbol of any model with 24-bit (or finer)
# probabilities and lands on a smaller state, so it is never a fixed point of decoding.
SENTINEL = (1 << 24) - 1
_SLACK_BITS = 64  # a stream may undercut the ideal length by the coder's rounding, never by more
_SLACK_RATIO = 0.99  # constriction's 24-bit quantised probabilities may be slightly above the model's


def _encoder() -> constriction.stream.stack.AnsCoder:
    return constriction.stream.stack.AnsCoder(np.array([SENTINEL], dtype=np.uint32))


def _words_to_bytes(words: np.ndarray) -> bytes:
    return words.astype("<u4").tobytes().rstrip(b"\x00")


def _bytes_to_words(data: bytes) -> np.ndarray:
    if data and data[-1] == 0:
        raise BitstreamError("corrupted bitstream (entropy-coded payload ends in a zero byte)")
    padded = data + b"\x00" * (-len(data) % 4)
    return np.frombuffer(padded, dtype="<u4").astype(np.uint32)


def _decoder(data: bytes) -> constriction.stream.stack.AnsCoder:
    try:
        return constriction.stream.stack.AnsCoder(_bytes_to_words(data))
    except ValueError as exc:
        raise BitstreamError(f"corrupted bitstream ({exc})") from exc


def _finish(coder: constriction.stream.stack.AnsCoder) -> None:
    """A correct stream leaves the decoder exactly where the encoder started: on the sentinel."""
    remaining = coder.get_compressed()
    if len(remaining) != 1 or int(remaining[0]) != SENTINEL:
        raise BitstreamError("corrupted or truncated bitstream (ANS decoder did not end on its start state)")


def _model(probabilities: np.ndarray) -> constriction.stream.model.Categorical:
    return constriction.stream.model.Categorical(np.asarray(probabilities, dtype=np.float64), perfect=False)


def _check_count(count: int, least_bits: float, payload_bytes: int) -> None:
    if not 0 <= count <= MAX_SYMBOLS:
        raise BitstreamError(f"corrupted bitstream (a count of {count} symbols; at most {MAX_SYMBOLS})")
    if least_bits * _SLACK_RATIO > 8 * payload_bytes + _SLACK_BITS:
        raise BitstreamError(f"corrupted bitstream ({count} symbols cannot fit in {payload_bytes} bytes)")


def iid_shortest_length(count: int, probabilities: np.ndarray) -> float:
    """The least ideal length (bits) of any ``count`` i.i.d. symbols: all of them the likeliest."""
    p = np.asarray(probabilities, dtype=np.float64)
    return count * -math.log2(float(p.max() / p.sum()))


def encode_iid(symbols: np.ndarray, probabilities: np.ndarray) -> bytes:
    """Symbols in [0, K), each coded with the same categorical distribution (length K)."""
    coder = _encoder()
    if len(symbols):
        coder.encode_reverse(np.asarray(symbols, dtype=np.int32), _model(probabilities))
    return _words_to_bytes(coder.get_compressed())


def decode_iid(data: bytes, probabilities: np.ndarray, count: int) -> np.ndarray:
    """Exactly ``count`` symbols back; BitstreamError when the stream does not decode cleanly."""
    _check_count(count, iid_shortest_length(count, probabilities), len(data))
    coder = _decoder(data)
    try:
        out = coder.decode(_model(probabilities), count) if count else np.zeros(0, dtype=np.int32)
    except (ValueError, RuntimeError) as exc:
        raise BitstreamError(f"corrupted bitstream ({exc})") from exc
    _finish(coder)
    return np.asarray(out, dtype=np.int64)


# --- the adaptive (chunk-wise Krichevsky–Trofimov) model ------------------------------------------------


def chunk_bounds(count: int) -> np.ndarray:
    """Start of every chunk, then ``count``: chunk j covers symbols [b_j, b_j+1)."""
    bounds, b = [0], 0
    while b < count:
        b = min(count, b + max(1, b // ADAPT_RATIO))
        bounds.append(b)
    return np.asarray(bounds, dtype=np.int64)


def _counts_before_chunks(symbols: np.ndarray, bounds: np.ndarray, num_classes: int) -> np.ndarray:
    """(chunks, K): how often each symbol occurred before each chunk starts."""
    chunk_of = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    per_chunk = np.bincount(chunk_of * num_classes + symbols, minlength=(len(bounds) - 1) * num_classes)
    per_chunk = per_chunk.reshape(len(bounds) - 1, num_classes)
    return np.cumsum(per_chunk, axis=0) - per_chunk


def encode_adaptive(symbols: np.ndarray, num_classes: int) -> bytes:
    """Symbols in [0, K) under the adaptive model (no side information)."""
    symbols = np.asarray(symbols, dtype=np.int64)
    coder = _encoder()
    bounds = chunk_bounds(len(symbols))
    if len(symbols):
        before = _counts_before_chunks(symbols, bounds, num_classes) + KT_ALPHA
        chunks = symbols.astype(np.int32)
        for j in range(len(bounds) - 2, -1, -1):  # ANS is a stack: the last chunk goes in first
            coder.encode_reverse(chunks[bounds[j]:bounds[j + 1]], _model(before[j]))
    return _words_to_bytes(coder.get_compressed())


def decode_adaptive(data: bytes, num_classes: int, count: int) -> np.ndarray:
    """Inverse of :func:`encode_adaptive` for exactly ``count`` symbols."""
    _check_count(count, adaptive_shortest_length(count, num_classes), len(data))
    coder = _decoder(data)
    bounds = chunk_bounds(count)
    out = np.zeros(count, dtype=np.int64)
    counts = np.full(num_classes, KT_ALPHA)
    # A corrupted stream (or count) can decode chunk after chunk of unlikely symbols; once their
    # ideal length exceeds what the stream holds, it cannot be a valid stream: stop there.
    budget, cost = (8 * len(data) + _SLACK_BITS) / _SLACK_RATIO, 0.0
    try:
        for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            chunk = coder.decode(_model(counts), end - start)
            out[start:end] = chunk
            histogram = np.bincount(chunk, minlength=num_classes)
            cost -= float(histogram @ np.log2(counts / counts.sum()))
            if cost > budget:
                raise BitstreamError(f"corrupted bitstream ({count} symbols in {len(data)} bytes)")
            counts += histogram
    except (ValueError, RuntimeError, IndexError) as exc:
        raise BitstreamError(f"corrupted bitstream ({exc})") from exc
    _finish(coder)
    return out


def adaptive_code_length(symbols: np.ndarray, num_classes: int) -> float:
    """Ideal code length (bits) of the sequence under the adaptive model (the labelled estimate)."""
    symbols = np.asarray(symbols, dtype=np.int64)
    if not len(symbols):
        return 0.0
    bounds = chunk_bounds(len(symbols))
    before = _counts_before_chunks(symbols, bounds, num_classes) + KT_ALPHA
    chunk_of = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    totals = before.sum(axis=1)
    return float(-np.log2(before[chunk_of, symbols] / totals[chunk_of]).sum())


def adaptive_shortest_length(count: int, num_classes: int) -> float:
    """The least ideal length of any ``count`` symbols (all equal): a bound to reject absurd counts."""
    if count <= 0:
        return 0.0
    bounds = chunk_bounds(count)  # about 9·ln(count) chunks, whatever the count
    starts, sizes = bounds[:-1].astype(np.float64), np.diff(bounds).astype(np.float64)
    return float((sizes * -np.log2((starts + KT_ALPHA) / (starts + num_classes * KT_ALPHA))).sum())
