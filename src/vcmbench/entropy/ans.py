"""Entropy coding of symbol streams with constriction's ANS coder over categorical models.

Two models: a fixed (i.i.d.) categorical, and an adaptive one whose probabilities are the
Krichevsky–Trofimov estimate from the symbols seen so far (count + 1/2), so encoder and
decoder learn the distribution together and no table has to be sent. Its code length is
within about (K-1)/2·log2 N bits of the empirical entropy of the block.

constriction emits 32-bit words; the last word carries the coder's state and usually ends in
zero bytes, which are dropped here (and restored by the decoder) so the rate is the coder's
payload rounded up to whole bytes rather than whole words.

An ANS coder started from its empty state encodes a trailing run of the first symbol in zero
bits, so a decoder told a larger count would silently append such symbols. The coder here
starts from a sentinel state instead (about 24 bits per stream, counted) that no decoding step
maps to itself: a stream decodes cleanly only with the exact symbol count, ending on the
sentinel.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import constriction
import numpy as np

from vcmbench.errors import BitstreamError

KT_ALPHA = 0.5  # Krichevsky–Trofimov: the Dirichlet(1/2) mixture, minimax regret for memoryless sources
_ROWS_PER_CHUNK_BUDGET = 1 << 20  # floats in one chunk of per-symbol probability rows
# All ones in the low bits: decodes to the last symbol of any model with 24-bit (or finer)
# probabilities and lands on a smaller state, so it is never a fixed point of decoding.
SENTINEL = (1 << 24) - 1


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


def encode_iid(symbols: np.ndarray, probabilities: np.ndarray) -> bytes:
    """Symbols in [0, K), each coded with the same categorical distribution (length K)."""
    coder = _encoder()
    if len(symbols):
        coder.encode_reverse(np.asarray(symbols, dtype=np.int32), _model(probabilities))
    return _words_to_bytes(coder.get_compressed())


def decode_iid(data: bytes, probabilities: np.ndarray, count: int) -> np.ndarray:
    """Exactly ``count`` symbols back; BitstreamError when the stream does not decode cleanly."""
    coder = _decoder(data)
    try:
        out = coder.decode(_model(probabilities), count) if count else np.zeros(0, dtype=np.int32)
    except (ValueError, RuntimeError) as exc:
        raise BitstreamError(f"corrupted bitstream ({exc})") from exc
    _finish(coder)
    return np.asarray(out, dtype=np.int64)


def _chunks(count: int, num_classes: int) -> Iterator[tuple[int, int]]:
    step = max(1, _ROWS_PER_CHUNK_BUDGET // num_classes)
    return ((start, min(count, start + step)) for start in range(0, count, step))


def _adaptive_rows(chunk: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-symbol probability rows: counts before each symbol of the chunk, plus alpha."""
    onehot = np.zeros((len(chunk), len(counts)), dtype=np.float64)
    onehot[np.arange(len(chunk)), chunk] = 1.0
    before = np.cumsum(onehot, axis=0) - onehot
    return (before + counts[None, :] + KT_ALPHA).astype(np.float32)


def encode_adaptive(symbols: np.ndarray, num_classes: int) -> bytes:
    """Symbols in [0, K) under the adaptive Krichevsky–Trofimov model (no side information)."""
    symbols = np.asarray(symbols, dtype=np.int64)
    family = constriction.stream.model.Categorical(perfect=False)
    coder = _encoder()
    chunks = list(_chunks(len(symbols), num_classes))
    starts = []  # counts at the start of each chunk, known before encoding (ANS runs backwards)
    counts = np.zeros(num_classes, dtype=np.float64)
    for start, end in chunks:
        starts.append(counts.copy())
        counts += np.bincount(symbols[start:end], minlength=num_classes)
    for (start, end), counts_before in zip(reversed(chunks), reversed(starts), strict=True):
        chunk = symbols[start:end]
        coder.encode_reverse(chunk.astype(np.int32), family, _adaptive_rows(chunk, counts_before))
    return _words_to_bytes(coder.get_compressed())


def decode_adaptive(data: bytes, num_classes: int, count: int) -> np.ndarray:
    """Inverse of :func:`encode_adaptive` for exactly ``count`` symbols."""
    family = constriction.stream.model.Categorical(perfect=False)
    coder = _decoder(data)
    counts = np.zeros(num_classes, dtype=np.float64)
    out = []
    # No stream is shorter than the ideal code length of what it holds: a decode that runs past
    # it (a count made up by a corrupted header) stops here instead of looping on.
    budget, cost, total = 1.01 * 8 * len(data) + 64, 0.0, num_classes * KT_ALPHA
    try:
        for start, end in _chunks(count, num_classes):
            # Rows depend on the chunk's own symbols, so decode one symbol at a time inside it.
            chunk = np.zeros(end - start, dtype=np.int64)
            running = counts.copy()
            for i in range(end - start):
                row = (running + KT_ALPHA).astype(np.float32)
                s = int(coder.decode(family, row[None, :])[0])
                chunk[i] = s
                cost += math.log2((start + i + total) / (running[s] + KT_ALPHA))
                if cost > budget:
                    raise BitstreamError(f"corrupted bitstream ({count} symbols in {len(data)} bytes)")
                running[s] += 1
            counts = running
            out.append(chunk)
    except (ValueError, RuntimeError) as exc:
        raise BitstreamError(f"corrupted bitstream ({exc})") from exc
    _finish(coder)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _kt_code_length(counts: list[int], num_classes: int) -> float:
    n = sum(counts)
    log_p = (math.lgamma(num_classes * KT_ALPHA) - math.lgamma(n + num_classes * KT_ALPHA)
             + sum(math.lgamma(c + KT_ALPHA) - math.lgamma(KT_ALPHA) for c in counts))
    return -log_p / math.log(2)


def adaptive_code_length(symbols: np.ndarray, num_classes: int) -> float:
    """Ideal code length (bits) of the sequence under the KT model: −log2 of its Dirichlet mixture."""
    counts = np.bincount(np.asarray(symbols, dtype=np.int64), minlength=num_classes)
    return _kt_code_length(counts.tolist(), num_classes)


def adaptive_shortest_length(count: int, num_classes: int) -> float:
    """The least KT code length of any ``count`` symbols (all equal): a bound to reject absurd counts."""
    return _kt_code_length([count], num_classes)
