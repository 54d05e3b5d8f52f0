"""Throughput of the label coders on 100,000 labels: encode + decode round trips, in symbols per second.

The labels are MNIST-like (K = 10, nearly uniform) and ImageNet-like (K = 1000). The task model is
left out (labels are coded directly), so this measures the entropy coders alone.
Run: ``python -m pytest benchmarks/test_entropy_bench.py --benchmark-only``.
"""

from __future__ import annotations

import numpy as np
import pytest

from vcmbench.api.codec import CodecContext
from vcmbench.codecs.labels import LabelAnsCodec, LabelBlockCodec, LabelCodec, LabelHuffmanCodec

N = 100_000

CASES = [
    ("label-ans-uniform", lambda: LabelAnsCodec(prior="uniform"), 10),
    ("label-ans-adaptive", lambda: LabelAnsCodec(prior="adaptive"), 10),
    ("label-ans-adaptive", lambda: LabelAnsCodec(prior="adaptive"), 1000),
    ("label-block-n3", lambda: LabelBlockCodec(n=3), 10),
    ("label-block-n10", lambda: LabelBlockCodec(n=10), 10),
    ("label-block-n3", lambda: LabelBlockCodec(n=3), 1000),
    ("label-huffman-uniform", lambda: LabelHuffmanCodec(prior="uniform"), 10),
]


def _round_trip(codec: LabelCodec, labels: np.ndarray) -> tuple[bytes, np.ndarray]:
    stream = codec.encode_labels(labels)
    return stream, codec.decode_labels(stream)


@pytest.mark.parametrize(("label", "make", "k"), CASES, ids=[f"{c[0]}-K{c[2]}" for c in CASES])
def test_label_round_trip_throughput(benchmark, label, make, k):
    benchmark.group = f"label coders: encode + decode {N:,} labels"
    labels = np.random.default_rng(0).integers(0, k, N)
    codec = make()
    codec.prepare(CodecContext(task_model=None, train=None, num_classes=k))
    stream, decoded = benchmark.pedantic(_round_trip, args=(codec, labels), rounds=3, iterations=1)
    assert np.array_equal(decoded, labels)
    benchmark.extra_info["bits_per_label"] = round(8 * len(stream) / N, 4)
    benchmark.extra_info["symbols_per_second"] = round(N / benchmark.stats.stats.mean)
