"""Label coders against the raw library they wrap: encode + decode of 100,000 labels, side by side.

Each coder's round trip (``encode_labels`` then ``decode_labels``: framing, checks and all) is
measured beside the bare library call that does its coding, on the same labels in the same
process, and must stay within ``TARGET`` = 3× of it:

* ANS coders (label-ans uniform / train / adaptive, label-lossy): constriction's ``AnsCoder``
  coding the same symbols in one call with one fixed categorical model, the fastest constriction
  can code them (the adaptive model has to beat that by chunking, not by a per-symbol model).
* label-huffman wraps no library: it is held to the field's entropy coder on the same symbols
  and the same model (constriction with the probabilities 2^-length its code implies).
* label-block / label-fixed wrap numpy: the reference does their job in the plainest numpy
  (mixed-radix values by a dot product, their bits through byte views and ``np.unpackbits`` /
  ``np.packbits``, and back with ``//`` and ``%``), so the ratio is the cost of the coder's
  framing, checks and layout, not of the arithmetic both must do.

label-vq is timed but has no ratio: its encoder is a nearest-codeword search (2^bits codewords
per tuple), an algorithm rather than a wrapper.

Labels are MNIST-like (K = 10, uniform) and ImageNet-like (K = 1000), and a skewed K = 10 prior
for the Huffman and train-prior coders. Both timings are the minimum over several rounds, so the
ratio is robust to a busy machine. Run:
``python -m pytest benchmarks/test_entropy_bench.py --benchmark-only -p no:randomly``.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

import constriction
import numpy as np
import pytest

from vcmbench.api.codec import CodecContext
from vcmbench.codecs.labels import (
    LabelAnsCodec,
    LabelBlockCodec,
    LabelCodec,
    LabelFixedCodec,
    LabelHuffmanCodec,
    LabelLossyCodec,
    LabelVqCodec,
)
from vcmbench.entropy.blockcode import tuple_bits

N = 100_000
TARGET = 3.0
ROUNDS = 7
SKEWED = np.array([0.82] + [0.02] * 9)


def constriction_round_trip(labels: np.ndarray, probabilities: np.ndarray) -> Callable[[], object]:
    symbols = labels.astype(np.int32)

    def run() -> np.ndarray:
        model = constriction.stream.model.Categorical(probabilities, perfect=False)
        coder = constriction.stream.stack.AnsCoder()
        coder.encode_reverse(symbols, model)
        return constriction.stream.stack.AnsCoder(coder.get_compressed()).decode(model, len(symbols))

    return run


def numpy_tuples_round_trip(labels: np.ndarray, k: int, n: int) -> Callable[[], object]:
    """The same job in the plainest numpy: n-tuples to mixed-radix values (a dot product), the
    values' low bits through byte views and (un)packbits, and back with // and %."""
    tuples = labels[: len(labels) // n * n].reshape(-1, n)
    powers = k ** np.arange(n - 1, -1, -1, dtype=np.int64)
    count, width = len(tuples), tuple_bits(k, n)
    nbytes = (width + 7) // 8
    skip = 8 * nbytes - width

    def run() -> np.ndarray:
        values = tuples @ powers
        as_bytes = values.astype(">u8").view(np.uint8).reshape(count, 8)
        big_endian = np.ascontiguousarray(as_bytes[:, 8 - nbytes:])
        bits = np.unpackbits(big_endian.reshape(-1)).reshape(count, 8 * nbytes)[:, skip:]
        packed = np.packbits(bits.reshape(-1))
        padded = np.zeros((count, 8), dtype=np.uint8)
        unpacked = np.zeros((count, 8 * nbytes), dtype=np.uint8)
        unpacked[:, skip:] = np.unpackbits(packed)[: count * width].reshape(count, width)
        padded[:, 8 - nbytes:] = np.packbits(unpacked.reshape(-1)).reshape(count, nbytes)
        back = padded.view(">u8").reshape(-1).astype(np.int64)
        return back[:, None] // powers % k

    return run


def uniform(k: int) -> np.ndarray:
    return np.full(k, 1.0 / k)


def huffman_model(k: int, p: np.ndarray) -> np.ndarray:
    codec = LabelHuffmanCodec(prior="train")
    codec.prepare(CodecContext(task_model=None, train=None, num_classes=k,
                               train_prior_counts=tuple(np.rint(p * 10_000).astype(int).tolist())))
    return 2.0 ** -np.asarray(codec.code.lengths, dtype=float)


CASES = [  # (label, make codec, K, label distribution, raw reference)
    ("label-ans-uniform", lambda: LabelAnsCodec(prior="uniform"), 10, None, "constriction"),
    ("label-ans-uniform", lambda: LabelAnsCodec(prior="uniform"), 1000, None, "constriction"),
    ("label-ans-train", lambda: LabelAnsCodec(prior="train"), 10, SKEWED, "constriction"),
    ("label-ans-adaptive", lambda: LabelAnsCodec(prior="adaptive"), 10, None, "constriction"),
    ("label-ans-adaptive", lambda: LabelAnsCodec(prior="adaptive"), 1000, None, "constriction"),
    ("label-lossy-f0.5", lambda: LabelLossyCodec(fraction=0.5), 10, None, "constriction-sent"),
    ("label-huffman-uniform", lambda: LabelHuffmanCodec(prior="uniform"), 10, None, "huffman"),
    ("label-huffman-uniform", lambda: LabelHuffmanCodec(prior="uniform"), 1000, None, "huffman"),
    ("label-huffman-train", lambda: LabelHuffmanCodec(prior="train"), 10, SKEWED, "huffman"),
    ("label-fixed", lambda: LabelFixedCodec(), 10, None, "numpy"),
    ("label-block-n3", lambda: LabelBlockCodec(n=3), 10, None, "numpy"),
    ("label-block-n10", lambda: LabelBlockCodec(n=10), 10, None, "numpy"),
    ("label-block-n3", lambda: LabelBlockCodec(n=3), 1000, None, "numpy"),
    ("label-vq-n8-b8", lambda: LabelVqCodec(n=8, bits=8), 10, None, None),
]


def raw_reference(kind: str | None, codec: LabelCodec, labels: np.ndarray, k: int,
                  p: np.ndarray) -> Callable[[], object] | None:
    if kind == "constriction":
        return constriction_round_trip(labels, p)
    if kind == "constriction-sent":
        return constriction_round_trip(labels[: codec.sent(len(labels))], p)
    if kind == "huffman":
        return constriction_round_trip(labels, huffman_model(k, p))
    if kind == "numpy":
        return numpy_tuples_round_trip(labels, k, codec.n)
    return None


def round_trip(codec: LabelCodec, labels: np.ndarray) -> tuple[bytes, np.ndarray]:
    stream = codec.encode_labels(labels)
    return stream, codec.decode_labels(stream)


@pytest.mark.parametrize(("label", "make", "k", "p", "raw"), CASES, ids=[f"{c[0]}-K{c[2]}" for c in CASES])
def test_label_coder_against_its_raw_library(benchmark, label, make, k, p, raw):
    benchmark.group = f"label coders: encode + decode {N:,} labels"
    p = uniform(k) if p is None else p
    labels = np.random.default_rng(0).choice(k, N, p=p)
    codec = make()
    codec.prepare(CodecContext(task_model=None, train=None, num_classes=k,
                               train_prior_counts=tuple(np.rint(p * 10_000).astype(int).tolist())))
    stream, decoded = benchmark.pedantic(round_trip, args=(codec, labels), rounds=ROUNDS, iterations=1,
                                         warmup_rounds=1)
    if label.startswith(("label-ans", "label-huffman", "label-fixed", "label-block")):
        assert np.array_equal(decoded, labels)
    coder_seconds = benchmark.stats.stats.min
    benchmark.extra_info["bits_per_label"] = round(8 * len(stream) / N, 4)
    benchmark.extra_info["symbols_per_second"] = round(N / coder_seconds)
    reference = raw_reference(raw, codec, labels, k, p)
    if reference is None:
        return
    raw_seconds = min(timeit.repeat(reference, number=1, repeat=ROUNDS))
    ratio = coder_seconds / raw_seconds
    benchmark.extra_info["raw_seconds"] = raw_seconds
    benchmark.extra_info["ratio_to_raw"] = round(ratio, 2)
    assert ratio <= TARGET, f"{label} K={k}: {ratio:.1f}× the raw library ({raw}), target {TARGET}×"
