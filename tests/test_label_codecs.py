"""Classify-then-code label codecs: exact round trips, analytic rates, clear errors, an RD curve."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcmbench.api.codec import CODECS, CodecContext
from vcmbench.api.dataset import ArrayDataset, DatasetInfo, fingerprint_arrays
from vcmbench.api.task import TaskModel
from vcmbench.codecs.labels import (
    LabelAnsCodec,
    LabelBlockCodec,
    LabelCodec,
    LabelFixedCodec,
    LabelHuffmanCodec,
    LabelLossyCodec,
    LabelVqCodec,
)
from vcmbench.entropy.ans import SENTINEL
from vcmbench.entropy.framing import write_varint
from vcmbench.entropy.huffman import huffman_code_lengths
from vcmbench.errors import BitstreamError, UsageError
from vcmbench.pipeline.evaluate import evaluate_point

LABEL_CODECS = ["label-fixed", "label-huffman", "label-block", "label-ans", "label-lossy", "label-vq"]


class EchoTask(TaskModel):
    """A classifier whose input already is its prediction: tests choose the labels exactly."""

    name = "echo"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        self.calls += 1
        return np.asarray([int(x) for x in inputs], dtype=np.int64)


def context(num_classes: int, prior_counts: Sequence[int] = (),
            task: TaskModel | None = None) -> CodecContext:
    return CodecContext(task_model=task or EchoTask(), train=None, num_classes=num_classes,
                        train_prior_counts=tuple(int(c) for c in prior_counts))


def ready(codec: LabelCodec, num_classes: int, prior_counts: Sequence[int] | None = None) -> LabelCodec:
    counts = prior_counts if prior_counts is not None else range(1, num_classes + 1)
    codec.prepare(context(num_classes, counts))
    return codec


def run_blocks(codec: LabelCodec, labels: Sequence[int]) -> tuple[list[int], int]:
    """Encode and decode as the harness does, block by block: (decoded labels, total bytes)."""
    block = codec.block_size or max(1, len(labels))
    out: list[int] = []
    total = 0
    for start in range(0, len(labels), block):
        stream = codec.encode_block(list(labels[start:start + block]))
        total += len(stream)
        out += codec.decode_block(stream)
    return out, total


def every_point() -> list[tuple[str, dict[str, Any]]]:
    points = [(name, p) for name in LABEL_CODECS for p in CODECS.get(name).operating_points()]
    return [*points, ("label-huffman", {"prior": "train", "block_size": 7}),
            ("label-ans", {"prior": "train", "block_size": 1}), ("label-block", {"n": 10, "block_size": 25}),
            ("label-lossy", {"fraction": 0.5, "prior": "train", "block_size": 9}),
            ("label-vq", {"n": 3, "bits": 5, "block_size": 10})]


POINTS = every_point()


def nearest_by_brute_force(codebook: np.ndarray, chunk: list[int]) -> list[int]:
    """The first codeword (in codebook order) agreeing with ``chunk`` in the most positions."""
    matches = (codebook[:, : len(chunk)] == np.asarray(chunk)[None, :]).sum(axis=1)
    return codebook[int(np.flatnonzero(matches == matches.max())[0]), : len(chunk)].tolist()


def expected_decode(codec: LabelCodec, labels: list[int], train_counts: Sequence[int] = ()) -> list[int]:
    """Lossless codecs return the labels; label-lossy returns the sent ones, then the training split's
    mode (the coding prior's mode without training counts); label-vq returns, tuple by tuple, the
    nearest codeword."""
    if isinstance(codec, LabelVqCodec):
        block = codec.block_size or max(1, len(labels))
        out: list[int] = []
        for start in range(0, len(labels), block):
            chunk = labels[start:start + block]
            for t in range(0, len(chunk), codec.n):
                out += nearest_by_brute_force(codec.codebook, chunk[t:t + codec.n])
        return out
    if not isinstance(codec, LabelLossyCodec):
        return labels
    block = codec.block_size or max(1, len(labels))
    mode = int(np.argmax(train_counts)) if sum(train_counts) > 0 else int(np.argmax(codec._weights))
    out: list[int] = []
    for start in range(0, len(labels), block):
        chunk = labels[start:start + block]
        sent = codec.sent(len(chunk))
        out += chunk[:sent] + [mode] * (len(chunk) - sent)
    return out


@pytest.mark.parametrize(("name", "point"), POINTS, ids=[f"{n}-{p}" for n, p in POINTS])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_round_trip_for_every_codec_and_block_size(name, point, data):
    k = data.draw(st.integers(2, 1000), label="K")
    labels = data.draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=80), label="labels")
    counts = data.draw(st.lists(st.integers(0, 50), min_size=k, max_size=k), label="train counts")
    codec = ready(CODECS.get(name)(**point), k, counts)
    decoded, _ = run_blocks(codec, labels)
    assert decoded == expected_decode(codec, labels, counts)
    assert all(isinstance(v, int) for v in decoded)


# --- measured bits equal the analytic expectation ------------------------------------------------------


def test_label_block_bits_follow_the_formula():
    n_labels, k, n = 999, 10, 3
    labels = np.random.default_rng(0).integers(0, k, n_labels).tolist()
    _, total = run_blocks(ready(LabelBlockCodec(n=n), k), labels)
    tuple_bits = math.ceil(n * math.log2(k))
    assert total == len(write_varint(n_labels)) + math.ceil((n_labels // n) * tuple_bits / 8)


@pytest.mark.parametrize("k", [2, 10, 40, 1000])
def test_label_fixed_spends_ceil_log2_k_bits_per_label(k):
    labels = np.random.default_rng(k).integers(0, k, 500).tolist()
    _, total = run_blocks(ready(LabelFixedCodec(), k), labels)
    assert total == len(write_varint(500)) + math.ceil(500 * math.ceil(math.log2(k)) / 8)


@pytest.mark.parametrize("k", [2, 10, 1000])
def test_one_label_per_bitstream_costs_whole_bytes(k):
    labels = list(range(k))[:50]
    _, total = run_blocks(ready(LabelFixedCodec(block_size=1), k), labels)
    assert total == len(labels) * math.ceil(math.ceil(math.log2(k)) / 8)  # 8 bits even for K = 2


def test_triplets_in_their_own_bitstreams_cost_two_bytes_plus_count():
    labels = list(range(10)) * 3
    _, total = run_blocks(ready(LabelBlockCodec(n=3, block_size=3), 10), labels)
    assert total == 10 * (len(write_varint(3)) + math.ceil(math.ceil(3 * math.log2(10)) / 8))


def test_uniform_huffman_on_ten_digits_spends_the_optimal_average():
    labels = list(range(10)) * 100  # every digit equally often: the code's average length exactly
    _, total = run_blocks(ready(LabelHuffmanCodec(), 10), labels)
    m = int(math.log2(10))
    optimum = m + 2 * (10 - 2**m) / 10  # known optimum for K equiprobable symbols: 3.4
    assert total == len(write_varint(1000)) + math.ceil(1000 * optimum / 8)


def test_huffman_with_a_train_prior_sends_nothing_but_its_codewords():
    k, counts = 10, [900, 20, 20, 10, 10, 10, 10, 10, 5, 5]
    codec = ready(LabelHuffmanCodec(prior="train"), k, counts)
    labels = np.random.default_rng(0).choice(k, 2000, p=np.array(counts) / sum(counts)).tolist()
    _, total = run_blocks(codec, labels)
    lengths = codec.code.lengths  # built from the training counts at both ends: shared, not sent
    assert total == len(write_varint(2000)) + math.ceil(sum(lengths[s] for s in labels) / 8)
    assert lengths == tuple(huffman_code_lengths([c + 1 for c in counts]))


# --- entropy coding gains ------------------------------------------------------------------------------


def skewed_labels(n: int = 5000, k: int = 10, seed: int = 0) -> tuple[list[int], np.ndarray]:
    p = np.array([0.82] + [0.02] * (k - 1))
    return np.random.default_rng(seed).choice(k, n, p=p).tolist(), p


@pytest.mark.parametrize("prior", ["train", "adaptive"])
def test_ans_beats_fixed_length_on_a_skewed_prior(prior):
    labels, p = skewed_labels()
    counts = np.rint(p * 10_000).astype(int)
    _, ans_bytes = run_blocks(ready(LabelAnsCodec(prior=prior), 10, counts), labels)
    _, fixed_bytes = run_blocks(ready(LabelFixedCodec(), 10, counts), labels)
    _, huffman_bytes = run_blocks(ready(LabelHuffmanCodec(prior="train"), 10, counts), labels)
    entropy_bits = -(p * np.log2(p)).sum() * len(labels)
    assert 8 * ans_bytes < 0.5 * 8 * fixed_bytes
    assert ans_bytes < huffman_bytes  # Huffman cannot go below 1 bit per label; ANS can
    assert 8 * ans_bytes < entropy_bits * 1.05 + 200


def test_estimate_is_the_ideal_code_length_and_the_real_rate_is_close():
    labels, _ = skewed_labels(2000)
    codec = ready(LabelAnsCodec(prior="adaptive"), 10)
    _, total = run_blocks(codec, labels)
    estimate = codec.estimate_bits(labels)
    assert estimate is not None and estimate <= 8 * total <= estimate + 64 + 8 * 4


# --- the lossy family: a monotone curve from 0 bits to full accuracy -----------------------------------


def noisy_task_dataset(n: int = 3000, k: int = 10, accuracy: float = 0.9, seed: int = 0) -> ArrayDataset:
    """Inputs are the classifier's predictions; truth differs from them for 1 - accuracy of samples."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(k, n, p=np.array([0.3] + [0.7 / (k - 1)] * (k - 1)))
    wrong = rng.random(n) > accuracy
    predictions = np.where(wrong, (truth + rng.integers(1, k, n)) % k, truth)
    info = DatasetInfo(id="synthetic-labels", split="test", num_classes=k,
                       fingerprint=fingerprint_arrays(predictions, truth), input_kind="features")
    return ArrayDataset(info, predictions, truth)


@pytest.mark.parametrize(("block_size", "prior"), [(None, "train"), (50, "uniform")])
def test_lossy_family_trades_bits_for_accuracy_monotonically(tmp_path, block_size, prior):
    dataset = noisy_task_dataset()
    task = EchoTask()
    counts = np.bincount(dataset.labels(), minlength=10)
    ctx = context(10, counts, task)
    points = LabelLossyCodec.operating_points()
    assert len(points) >= 5
    results = []
    for i, point in enumerate(sorted(points, key=lambda p: p["fraction"])):
        codec = LabelLossyCodec(**point, prior=prior, block_size=block_size)
        record = evaluate_point(codec, dataset, task, suite="t", reference_accuracy=0.9,
                                out_path=tmp_path / f"{i}.json", codec_context=ctx, progress=False)
        assert record.status == "ok", record.error
        results.append((record.metrics.bits_per_sample, record.metrics.accuracy))
    bits, accuracy = zip(*results, strict=True)
    assert list(bits) == sorted(bits) and list(accuracy) == sorted(accuracy)
    reference = float(np.mean(dataset.inputs(range(len(dataset))) == dataset.labels()))
    mode = np.argmax(counts) if prior == "train" else 0
    assert accuracy[0] == pytest.approx(float(np.mean(dataset.labels() == mode)))
    assert accuracy[-1] == pytest.approx(reference)
    if block_size is None:
        assert bits[0] < 0.1
    else:  # nothing but framing: the count, the payload length and the ANS start state, per block
        start_state = len(SENTINEL.to_bytes(4, "little").rstrip(b"\x00"))
        assert bits[0] == 8 * (len(write_varint(block_size)) + 1 + start_state) / block_size
    assert bits[-1] > 2


def test_pipeline_records_the_real_bytes_and_the_estimate(tmp_path):
    dataset = noisy_task_dataset(999)
    task = EchoTask()
    codec = LabelBlockCodec(n=3)
    record = evaluate_point(codec, dataset, task, suite="t", reference_accuracy=0.9,
                            out_path=tmp_path / "r.json", codec_context=context(10, (), task), progress=False)
    assert record.status == "ok", record.error
    assert record.metrics.bits_total == 8 * (len(write_varint(999)) + math.ceil(333 * 10 / 8))
    assert record.metrics.estimated_bits_per_sample == pytest.approx(math.log2(10))
    assert record.metrics.accuracy == pytest.approx(np.mean(dataset.inputs(range(999)) == dataset.labels()))


def test_the_encoder_classifies_its_block_in_batches_and_checks_the_labels():
    task = EchoTask()
    labels = list(range(10)) * 60  # 600 inputs: three batches of at most 256
    codec = LabelBlockCodec(n=3)
    codec.prepare(context(10, (), task))
    assert codec.decode_block(codec.encode_block(labels)) == labels
    assert task.calls == 3
    with pytest.raises(UsageError, match="outside"):
        codec.encode_block([3, 10])


# --- bad bitstreams and bad input are errors -------------------------------------------------------------


def sample_stream(name: str, point: dict[str, Any], k: int = 10) -> tuple[LabelCodec, bytes, list[int]]:
    codec = ready(CODECS.get(name)(**point), k, [50, 3, 9, 1, 0, 7, 12, 4, 4, 2][:k])
    n = 1 if codec.block_size == 1 else min(codec.block_size or 60, 60)
    labels = np.random.default_rng(5).integers(0, k, n).tolist()
    return codec, codec.encode_block(labels), labels


@pytest.mark.parametrize(("name", "point"), POINTS, ids=[f"{n}-{p}" for n, p in POINTS])
def test_every_truncation_is_an_error(name, point):
    codec, stream, _ = sample_stream(name, point)
    for cut in range(len(stream)):
        with pytest.raises(BitstreamError):
            codec.decode_block(stream[:cut])


@pytest.mark.parametrize(("name", "point"), POINTS, ids=[f"{n}-{p}" for n, p in POINTS])
def test_a_garbage_header_is_an_error(name, point):
    codec, stream, labels = sample_stream(name, point)
    if codec.block_size == 1:  # no count header: a garbage first byte must still not decode
        with pytest.raises(BitstreamError):
            codec.decode_block(b"\xff" * (len(stream) + 3))
        return
    body = stream[len(write_varint(len(labels))):]
    if ((isinstance(codec, LabelLossyCodec) and codec.sent(2 * len(labels) + 100) == 0)
            or (isinstance(codec, LabelVqCodec) and codec.bits == 0)):
        # Nothing is sent, so any count is a valid stream (of guesses); the harness checks counts.
        guess = [0] * 7 if isinstance(codec, LabelLossyCodec) else codec.codebook[0, :7].tolist()
        assert codec.decode_block(write_varint(7) + body) == guess
        return
    for header in (b"\xff" * 10, write_varint(2 * len(labels) + 100), write_varint(10**12)):
        with pytest.raises(BitstreamError):
            codec.decode_block(header + body)
    with pytest.raises(BitstreamError):
        codec.decode_block(stream + b"\x01")  # trailing data


@pytest.mark.parametrize(("cls", "params"), [
    (LabelBlockCodec, {"n": 0}), (LabelBlockCodec, {"n": 2.5}), (LabelFixedCodec, {"block_size": 0}),
    (LabelHuffmanCodec, {"prior": "zipf"}), (LabelAnsCodec, {"prior": "nope"}),
    (LabelLossyCodec, {"fraction": 1.5}), (LabelLossyCodec, {"prior": "adaptive"}),
    (LabelVqCodec, {"bits": 40}), (LabelVqCodec, {"n": 0}),
])
def test_bad_parameters_are_usage_errors(cls, params):
    with pytest.raises(UsageError):
        cls(**params)


def test_a_train_prior_without_training_counts_is_a_usage_error():
    for cls in (LabelHuffmanCodec, LabelAnsCodec, LabelLossyCodec):
        with pytest.raises(UsageError, match="training split"):
            cls(prior="train").prepare(context(10, ()))


def test_encoding_before_prepare_or_out_of_range_labels_is_a_usage_error():
    with pytest.raises(UsageError, match="prepare"):
        LabelFixedCodec().encode_block([1, 2])
    codec = ready(LabelFixedCodec(), 10)
    with pytest.raises(UsageError, match="outside"):
        codec.encode_block([3, 10])
    with pytest.raises(UsageError):
        ready(LabelFixedCodec(block_size=4), 10).encode_block([1] * 5)


def test_codecs_are_registered_with_their_contract():
    for name in LABEL_CODECS:
        cls = CODECS.get(name)
        assert cls.decodes_to == "label" and cls.granularity == "block"
        assert cls.description and cls.version
        for point in cls.operating_points():
            cls(**point)


def test_vq_beats_time_sharing_at_low_rates_and_pays_the_analytic_rate():
    k, n_labels = 10, 4000
    labels = np.random.default_rng(2).integers(0, k, n_labels).tolist()
    vq = ready(LabelVqCodec(n=8, bits=8), k)
    decoded, vq_bytes = run_blocks(vq, labels)
    assert vq_bytes == len(write_varint(n_labels)) + math.ceil(n_labels / 8 * 8 / 8)
    vq_accuracy = np.mean(np.array(decoded) == labels)
    lossy = ready(LabelLossyCodec(fraction=(8 * vq_bytes / n_labels) / math.log2(k)), k)
    lossy_decoded, lossy_bytes = run_blocks(lossy, labels)
    assert lossy_bytes <= vq_bytes + 12  # the same rate, give or take the ANS framing (~0.02 bit/label)
    assert vq_accuracy > np.mean(np.array(lossy_decoded) == labels) + 0.05


def uniform_rate_distortion(k: int, distortion: float) -> float:
    """R(D) of a uniform K-ary source under Hamming distortion (closed form), in bits per symbol."""
    if distortion >= 1 - 1 / k:
        return 0.0
    h = 0.0 if distortion <= 0 else -distortion * math.log2(distortion) - (1 - distortion) * math.log2(
        1 - distortion)
    return math.log2(k) - h - distortion * math.log2(k - 1)


@pytest.mark.parametrize("name", ["label-lossy", "label-vq", "label-block"])
def test_no_operating_point_beats_the_rate_distortion_bound(name):
    k, n_labels = 10, 4000
    labels = np.random.default_rng(7).integers(0, k, n_labels).tolist()
    for point in CODECS.get(name).operating_points():
        codec = ready(CODECS.get(name)(**point), k)
        decoded, total = run_blocks(codec, labels)
        accuracy = float(np.mean(np.array(decoded) == labels))
        assert 8 * total / n_labels >= uniform_rate_distortion(k, 1 - accuracy), point


def test_label_lossy_guesses_the_training_mode_whatever_prior_codes_the_sent_labels():
    counts = [1, 2, 9, 3]
    for prior in ("uniform", "train"):
        codec = ready(LabelLossyCodec(fraction=0.0, prior=prior), 4, counts)
        decoded, _ = run_blocks(codec, [0, 1, 3, 3])
        assert decoded == [2, 2, 2, 2], prior
