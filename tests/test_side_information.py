"""The side-information rule, for the label codecs.

What is learned from the training split is shared by encoder and decoder for free; what is
derived from the test data is sent and counted. So every label stream must decode with a
decoder that is constructed separately and prepared from the training context alone (no task
model, never having encoded anything) — on a test block whose distribution is far from the
training prior, so that a code fitted to the block without saying so would show. Codes that
claim not to use the training split at all (uniform and adaptive priors, fixed-length codes, the
vector quantiser's seeded codebook) must decode under another training context too, and the
training-prior codes must really depend on the shared counts, not on a table in the stream.
A deliberately cheating codec shows that these checks can fail.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from vcmbench.api.codec import CODECS, CodecContext
from vcmbench.codecs.labels import LabelAnsCodec, LabelCodec, quantize_prior
from vcmbench.entropy import ans
from vcmbench.entropy.framing import write_varint
from vcmbench.errors import BitstreamError

K = 10
TRAIN_COUNTS = (500, 120, 90, 80, 60, 50, 40, 30, 20, 10)  # the training split favours class 0
OTHER_COUNTS = TRAIN_COUNTS[::-1]  # another training split: favours class 9


def skewed_block() -> list[int]:
    """A test block that looks nothing like the training prior: mostly 7s."""
    p = np.full(K, 0.02)
    p[7] = 1 - 0.02 * (K - 1)
    return np.random.default_rng(0).choice(K, 400, p=p).tolist()


def training_context(counts: tuple[int, ...] = TRAIN_COUNTS) -> CodecContext:
    """What a decoder may know: the task's K and what the training split taught."""
    return CodecContext(task_model=None, train=None, num_classes=K, train_prior_counts=counts)


def points() -> list[tuple[str, dict[str, Any]]]:
    names = ["label-fixed", "label-huffman", "label-block", "label-ans", "label-lossy", "label-vq"]
    out = [(n, p) for n in names for p in CODECS.get(n).operating_points()]
    return [*out, ("label-lossy", {"fraction": 0.5, "prior": "train"})]


POINTS = points()
IDS = [f"{n}-{p}" for n, p in POINTS]


def uses_training(name: str, point: dict[str, Any]) -> bool:
    """Training-prior codes, and label-lossy whenever it guesses (the guess is the training mode)."""
    guesses = name == "label-lossy" and point.get("fraction", 0.5) < 1
    return point.get("prior") == "train" or guesses


def encode(make: Any, labels: list[int]) -> tuple[list[bytes], list[int]]:
    """Streams of the labels block by block, and what the encoder's own instance decodes."""
    encoder = make()
    encoder.prepare(training_context())
    block = encoder.block_size or len(labels)
    streams = [encoder.encode_labels(labels[i:i + block]) for i in range(0, len(labels), block)]
    return streams, [v for s in streams for v in encoder.decode_block(s)]


def separate_decode(make: Any, streams: list[bytes], counts: tuple[int, ...] = TRAIN_COUNTS) -> list[int]:
    decoder = make()  # a new instance: it never saw the encoder, the labels or a task model
    decoder.prepare(training_context(counts))
    return [v for s in streams for v in decoder.decode_block(s)]


@pytest.mark.parametrize(("name", "point"), POINTS, ids=IDS)
def test_a_decoder_prepared_from_the_training_context_alone_decodes(name, point):
    make = lambda: CODECS.get(name)(**point)  # noqa: E731
    streams, expected = encode(make, skewed_block())
    assert separate_decode(make, streams) == expected


@pytest.mark.parametrize(("name", "point"), [(n, p) for n, p in POINTS if not uses_training(n, p)],
                         ids=[i for (n, p), i in zip(POINTS, IDS, strict=True) if not uses_training(n, p)])
def test_codes_that_claim_no_training_knowledge_decode_under_another_training_split(name, point):
    make = lambda: CODECS.get(name)(**point)  # noqa: E731
    streams, expected = encode(make, skewed_block())
    assert separate_decode(make, streams, OTHER_COUNTS) == expected


@pytest.mark.parametrize(("name", "point"), [(n, p) for n, p in POINTS if uses_training(n, p)],
                         ids=[i for (n, p), i in zip(POINTS, IDS, strict=True) if uses_training(n, p)])
def test_training_prior_codes_use_the_shared_counts_not_a_table_in_the_stream(name, point):
    make = lambda: CODECS.get(name)(**point)  # noqa: E731
    streams, expected = encode(make, skewed_block())
    try:
        other = separate_decode(make, streams, OTHER_COUNTS)
    except BitstreamError:
        other = None
    assert other != expected  # the decoder's knowledge of the training split matters...


def test_the_training_prior_costs_no_bits_in_the_stream():
    labels = skewed_block()
    streams, _ = encode(lambda: LabelAnsCodec(prior="train"), labels)
    p = quantize_prior(np.asarray(TRAIN_COUNTS))
    payload = ans.encode_iid(np.asarray(labels), p / p.sum())
    # ...and nothing but the count, the payload's length and the payload travels
    assert streams == [write_varint(len(labels)) + write_varint(len(payload)) + payload]


class BlockFittedAnsCodec(LabelCodec):
    """Cheats: fits its prior to the test block's own histogram and does not send it."""

    name = "block-fitted-ans"

    def __init__(self, block_size: int | None = None):
        super().__init__(block_size=block_size)
        self._fitted: np.ndarray | None = None

    def encode_payload(self, labels: np.ndarray) -> bytes:
        self._fitted = np.bincount(labels, minlength=self.num_classes) + 0.5
        return ans.encode_iid(labels, self._fitted / self._fitted.sum())

    def decode_payload(self, data: bytes, count: int) -> np.ndarray:
        fitted = self._fitted if self._fitted is not None else np.ones(self.num_classes)
        return ans.decode_iid(data, fitted / fitted.sum(), count)


def test_a_codec_that_keeps_test_derived_knowledge_to_itself_is_caught():
    labels = skewed_block()
    streams, own = encode(BlockFittedAnsCodec, labels)
    assert own == labels  # its own instance "decodes" perfectly...
    bits = 8 * sum(len(s) for s in streams) / len(labels)
    counts = np.bincount(labels, minlength=K)
    entropy = -(counts / len(labels) * np.log2(np.where(counts, counts / len(labels), 1))).sum()
    assert bits < entropy + 0.2 < math.log2(K)  # ...at a rate only the unsent table makes possible
    try:
        separate = separate_decode(BlockFittedAnsCodec, streams)
    except BitstreamError:
        separate = None
    assert separate != labels  # a decoder prepared from the training context alone cannot
