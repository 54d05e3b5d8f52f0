"""The entropic student on mnist-5k: per-sample range-coded indexes against compressai strings.

Measures, on the 1,000 embedded test digits and the shipped checkpoints, the per-sample codec's
bits and accuracy (issue 15's target: at most 8 bits per digit at 95 % accuracy or more), the
stronger student's block point (target: 97 % at 3.6 bits or fewer), and encode/decode throughput
of ``entropic-student-ans`` beside ``entropic-student`` (compressai, one string per digit) and
``entropic-student-block`` on the same weights, and ``entropic-student-ans-block`` (the block's
indexes in one ANS stream over the same integer table).
Run: ``python -m pytest benchmarks/test_student_ans_bench.py --benchmark-only``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vcmbench.api.codec import CodecContext
from vcmbench.api.dataset import DATASETS, Dataset
from vcmbench.codecs.learned.student import EntropicStudentBlockCodec, EntropicStudentCodec
from vcmbench.codecs.learned.student_ans import EntropicStudentAnsBlockCodec, EntropicStudentAnsCodec

PER_SAMPLE_POINT = {"beta": 128.0}  # the shipped grid's most accurate point
# The stronger student (see benchmarks/README.md): codeword k trained to mean class k.
STRONG_POINT = {"beta": 128.0, "codewords": 10, "width": 32, "epochs": 40, "index_ce": 128.0}


@pytest.fixture(scope="module")
def mnist() -> tuple[Dataset, list[Any], np.ndarray]:
    factory = DATASETS.get("mnist")
    test = factory("test", None)
    return factory("train", None), test.inputs(range(len(test))), np.asarray(test.labels())


def prepared(cls: type, train: Dataset, cache: Path, **params: Any) -> Any:
    codec = cls(**params)
    codec.prepare(CodecContext(task_model=None, train=train, num_classes=10, cache_dir=cache))
    return codec


def _forget(codec: Any) -> None:
    """Drop what the codecs remember of the last batch (for the rate estimate): every round runs g_a."""
    codec._last_latents = None
    codec._last_indexes = None


def _round_trip(codec: Any, xs: list[Any]) -> tuple[int, list[int]]:
    _forget(codec)
    if codec.granularity == "block":
        data = codec.encode_block(xs)
        return 8 * len(data), codec.decode_block(data)
    streams = codec.encode_batch(xs)
    return 8 * sum(map(len, streams)), codec.decode_batch(streams)


@pytest.mark.parametrize("cls", [EntropicStudentAnsCodec, EntropicStudentCodec, EntropicStudentBlockCodec,
                                 EntropicStudentAnsBlockCodec],
                         ids=["ans per sample", "compressai per sample", "compressai block", "ans block"])
def test_round_trip_of_the_test_split(benchmark, mnist, tmp_path, cls):
    train, xs, labels = mnist
    codec = prepared(cls, train, tmp_path, **PER_SAMPLE_POINT)
    benchmark.group = "entropic student beta=128: encode + decode 1,000 mnist-5k digits"
    bits, decoded = benchmark.pedantic(_round_trip, args=(codec, xs), rounds=3, iterations=1)
    accuracy = float(np.mean(np.asarray(decoded) == labels))
    benchmark.extra_info.update(bits_per_sample=bits / len(xs), accuracy=accuracy)
    if cls is EntropicStudentAnsCodec:  # issue 15: per-sample streams of at most 8 bits at >= 95 %
        assert bits / len(xs) <= 8.0 and accuracy >= 0.95


@pytest.mark.parametrize("step", ["encode", "decode"])
def test_ans_speed_per_step(benchmark, mnist, tmp_path, step):
    train, xs, _ = mnist
    codec = prepared(EntropicStudentAnsCodec, train, tmp_path, **PER_SAMPLE_POINT)
    benchmark.group = "entropic-student-ans: 1,000 mnist-5k digits"
    if step == "encode":
        streams = benchmark.pedantic(codec.encode_batch, args=(xs,), setup=lambda: _forget(codec), rounds=5)
    else:
        streams = codec.encode_batch(xs)
        assert len(benchmark(codec.decode_batch, streams)) == len(xs)
    assert len(streams) == len(xs)


@pytest.mark.parametrize("cls", [EntropicStudentBlockCodec, EntropicStudentAnsBlockCodec,
                                 EntropicStudentAnsCodec], ids=["block", "ans block", "ans per sample"])
def test_stronger_student(benchmark, mnist, tmp_path, cls):
    train, xs, labels = mnist
    codec = prepared(cls, train, tmp_path, **STRONG_POINT)
    benchmark.group = "stronger entropic student: encode + decode 1,000 mnist-5k digits"
    bits, decoded = benchmark.pedantic(_round_trip, args=(codec, xs), rounds=3, iterations=1)
    accuracy = float(np.mean(np.asarray(decoded) == labels))
    benchmark.extra_info.update(bits_per_sample=bits / len(xs), accuracy=accuracy)
    if cls is not EntropicStudentAnsCodec:  # issue 15: block mode at >= 97 % for <= 3.6 bits per digit
        assert bits / len(xs) <= 3.6 and accuracy >= 0.97
