"""Classify-then-code: the encoder runs the task model and sends only the label (paper, section IV).

These codecs are the achievability side of the rate-accuracy bound: with a classifier of
accuracy a, sending its label losslessly costs about H(label) bits and keeps accuracy a;
the lossy family trades accuracy for fewer bits. Every codec is a block codec (one bitstream
per block of labels) because sub-byte codewords only pay off when many share a stream:

    [varint sample count][side information, if any][payload, zero-padded to whole bytes]

With ``block_size=1`` the count is known to be 1 and is not sent; the payload alone then
shows the floor of one byte per sample that per-sample bitstreams impose.

A block holds at most :data:`MAX_BLOCK` = 2^24 labels. Every decoder bounds the count its
header claims by what the payload can hold, but some codes carry many labels in almost no
bytes (label-lossy at ``fraction=0`` sends nothing per label, label-vq at ``bits=0`` neither,
an entropy code is nearly free for a class it is almost sure of), so a count beyond the cap
is refused outright: 2^24 labels are far more than any test split holds, and the largest
block a damaged header can make a decoder build stays near 128 MB.

Side information follows the benchmark's one rule: what is learned from the training split is
shared by encoder and decoder for free, like a learned codec's weights; what is derived from
the test data is sent and counted. ``prior="train"`` codes are therefore built at both ends
from the training split's class counts (``CodecContext.train_prior_counts``) and send no table;
everything about the test block (its count, its labels, what an adaptive model learns from
them) is in the stream, and a decoder prepared from the training context alone, never having
seen the encoder, decodes it. The number of classes K is part of the task and is not sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from vcmbench.api.codec import BlockCodec, CodecContext, register_codec
from vcmbench.api.task import TaskModel
from vcmbench.entropy import ans
from vcmbench.entropy.bitio import pack_fields, packed_size, unpack_fields
from vcmbench.entropy.blockcode import block_payload_bits, decode_tuples, encode_tuples
from vcmbench.entropy.framing import MAX_SYMBOLS, read_count, read_varint, write_varint
from vcmbench.entropy.huffman import CanonicalCode
from vcmbench.errors import BitstreamError, UsageError

MAX_BLOCK = MAX_SYMBOLS  # labels in one block (see the module docstring)
PRIOR_SCALE = 4096  # resolution of a prior table sent as side information (weights 1..~4096, varints)
_PREDICT_BATCH = 256


# --- the encoder's classifier ----------------------------------------------------------------------


def predict_labels(task_model: TaskModel, inputs: Sequence[Any], num_classes: int) -> np.ndarray:
    """The task model's labels for ``inputs`` (batched), checked to lie in [0, K).

    No caching here: a run classifies each input once per task model (the pipeline hands codecs
    a task model that remembers its answers), and a codec-level cache of a few blocks was
    thrashed by small block sizes anyway.
    """
    parts = [np.asarray(task_model.prediction_labels(task_model.predict(list(inputs[i:i + _PREDICT_BATCH]))),
                        dtype=np.int64).reshape(-1)
             for i in range(0, len(inputs), _PREDICT_BATCH)]
    labels = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    if len(labels) != len(inputs):
        raise UsageError(f"task model {task_model.name!r}: {len(labels)} labels for {len(inputs)} inputs")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise UsageError(f"task model {task_model.name!r} predicted a label outside 0..{num_classes - 1}")
    return labels


# --- shared machinery ------------------------------------------------------------------------------


def _uniform(num_classes: int) -> np.ndarray:
    return np.full(num_classes, 1.0 / num_classes)


class LabelCodec(BlockCodec):
    """Base: run the classifier, frame the block, let the subclass code the label array."""

    decodes_to = "label"
    version: ClassVar[str] = "1"

    def __init__(self, block_size: int | None = None, **params: Any):
        if block_size is not None and (not isinstance(block_size, int) or isinstance(block_size, bool)
                                       or not 1 <= block_size <= MAX_BLOCK):
            raise UsageError(f"block_size must be an integer in 1..{MAX_BLOCK} or None, got {block_size!r}")
        super().__init__(block_size=block_size, **params)
        self._task_model: TaskModel | None = None
        self._num_classes: int | None = None

    # Setup ------------------------------------------------------------------------------------------
    def prepare(self, ctx: CodecContext) -> None:
        if ctx.num_classes < 2:
            raise UsageError(f"label codecs need at least 2 classes, got {ctx.num_classes}")
        self._task_model = ctx.task_model
        self._num_classes = ctx.num_classes
        self.prepare_code(ctx)

    def prepare_code(self, ctx: CodecContext) -> None:
        """Build whatever the code needs from the context (a prior, a code table)."""

    @property
    def num_classes(self) -> int:
        if self._num_classes is None:
            raise UsageError(f"codec {self.name!r}: call prepare(ctx) before encoding or decoding")
        return self._num_classes

    def train_counts(self, ctx: CodecContext) -> np.ndarray:
        counts = np.asarray(ctx.train_prior_counts, dtype=np.int64)
        if counts.size != ctx.num_classes:
            raise UsageError(f"codec {self.name!r} with prior='train' needs the training split's "
                             f"class counts ({ctx.num_classes} of them); this suite has {counts.size}")
        return counts

    # The BlockCodec contract --------------------------------------------------------------------------
    def encode_block(self, xs: Sequence[Any]) -> bytes:
        if self._task_model is None:
            raise UsageError(f"codec {self.name!r} classifies at the encoder: prepare(ctx) with a task model")
        return self.encode_labels(predict_labels(self._task_model, xs, self.num_classes))

    def decode_block(self, data: bytes) -> list[int]:
        return self.decode_labels(data).tolist()

    def estimate_bits(self, inputs: Sequence[Any]) -> float | None:
        if self._task_model is None:
            return None
        return self.ideal_bits(predict_labels(self._task_model, inputs, self.num_classes))

    # Labels to bytes and back (also usable without a task model) ----------------------------------------
    def encode_labels(self, labels: np.ndarray | Sequence[int]) -> bytes:
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise UsageError(f"labels must lie in 0..{self.num_classes - 1}")
        if self.block_size is not None and len(labels) > self.block_size:
            raise UsageError(f"{len(labels)} labels in a block of at most {self.block_size}")
        if len(labels) > MAX_BLOCK:
            raise UsageError(f"{len(labels)} labels in one block; a block holds at most {MAX_BLOCK} "
                             f"(set block_size)")
        if self.block_size == 1:
            if len(labels) != 1:
                raise UsageError("with block_size=1 every block holds exactly one label")
            return self.encode_payload(labels)
        return write_varint(len(labels)) + self.encode_payload(labels)

    def decode_labels(self, data: bytes) -> np.ndarray:
        if self.block_size == 1:
            count, pos = 1, 0
        else:
            count, pos = read_count(data, 0, "labels")
            if self.block_size is not None and count > self.block_size:
                raise BitstreamError(f"corrupted bitstream (count {count} > block size {self.block_size})")
        labels = self.decode_payload(data[pos:], count)
        if len(labels) != count:  # a subclass bug, never a silent wrong list
            raise BitstreamError(f"decoded {len(labels)} labels, header says {count}")
        return labels

    def encode_payload(self, labels: np.ndarray) -> bytes:
        raise NotImplementedError

    def decode_payload(self, data: bytes, count: int) -> np.ndarray:
        raise NotImplementedError

    def ideal_bits(self, labels: np.ndarray) -> float:
        """The code's ideal length for these labels (no framing, no rounding): the labelled estimate."""
        return len(labels) * math.log2(self.num_classes)


# --- Methods 1 and 2: fixed-length codes -----------------------------------------------------------


@register_codec("label-block")
class LabelBlockCodec(LabelCodec):
    """Method 2: n labels at a time in ceil(n·log2 K) bits (mixed-radix integer of the n-tuple).

    The rate falls from ceil(log2 K) towards log2 K as n grows; for K = 10, n = 3 costs
    10/3 ≈ 3.33 bits per label against the entropy 3.32.
    """

    description = "classify, then n labels per ceil(n·log2 K)-bit codeword (paper Method 2); lossless"

    def __init__(self, n: int = 3, block_size: int | None = None):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise UsageError(f"tuple length n must be a positive integer, got {n!r}")
        super().__init__(block_size=block_size, n=n)
        self.n = n

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"n": n} for n in (1, 2, 3, 6, 10)] + [{"n": 3, "block_size": 3}]

    def encode_payload(self, labels: np.ndarray) -> bytes:
        return encode_tuples(labels, self.num_classes, self.n)

    def decode_payload(self, data: bytes, count: int) -> np.ndarray:
        expected = packed_size(block_payload_bits(count, self.num_classes, self.n), 1)
        if len(data) != expected:
            raise BitstreamError(f"payload is {len(data)} bytes, {count} labels need {expected}")
        return decode_tuples(data, count, self.num_classes, self.n)


@register_codec("label-fixed")
class LabelFixedCodec(LabelBlockCodec):
    """Method 1: every label in ceil(log2 K) bits, bit-packed (label-block with n = 1)."""

    description = "classify, then a fixed-length ceil(log2 K)-bit label (paper Method 1); lossless"

    def __init__(self, block_size: int | None = None):
        LabelCodec.__init__(self, block_size=block_size)
        self.n = 1

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{}, {"block_size": 1}, {"block_size": 8}]


# --- Method 1a: Huffman -----------------------------------------------------------------------------

PRIORS_FIXED = ("uniform", "train")


def _check_prior(prior: str, allowed: Sequence[str]) -> None:
    if prior not in allowed:
        raise UsageError(f"prior must be one of {', '.join(repr(p) for p in allowed)}, got {prior!r}")


@register_codec("label-huffman")
class LabelHuffmanCodec(LabelCodec):
    """Method 1a: an optimal prefix code built from a prior over the classes.

    ``prior="uniform"``: the code follows from K alone (for K = 10: 3.4 bits per label).
    ``prior="train"``: built from the training split's class counts (+1, so every class stays
    codable) at both ends; learned from the training split, the code is shared, not sent.
    """

    description = "classify, then an optimal Huffman code over the labels (paper Method 1a); lossless"
    version: ClassVar[str] = "2"  # 2: the training prior's code is shared, no longer sent

    def __init__(self, prior: str = "uniform", block_size: int | None = None):
        _check_prior(prior, PRIORS_FIXED)
        super().__init__(block_size=block_size, prior=prior)
        self.prior = prior
        self._code: CanonicalCode | None = None
        self._probabilities: np.ndarray | None = None

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"prior": "uniform"}, {"prior": "train"}, {"prior": "uniform", "block_size": 1}]

    def prepare_code(self, ctx: CodecContext) -> None:
        weights = np.ones(ctx.num_classes) if self.prior == "uniform" else self.train_counts(ctx) + 1.0
        self._code = CanonicalCode.from_weights(weights.tolist())
        self._probabilities = weights / weights.sum()

    @property
    def code(self) -> CanonicalCode:
        if self._code is None:
            raise UsageError(f"codec {self.name!r}: call prepare(ctx) before encoding or decoding")
        return self._code

    def encode_payload(self, labels: np.ndarray) -> bytes:
        return self.code.encode(labels)

    def decode_payload(self, data: bytes, count: int) -> np.ndarray:
        return self.code.decode(data, count)  # refuses more codewords than the payload has bits

    def ideal_bits(self, labels: np.ndarray) -> float:
        assert self._probabilities is not None
        return float(-np.log2(self._probabilities[labels]).sum())


# --- entropy coding with ANS ------------------------------------------------------------------------


def quantize_prior(counts: np.ndarray, scale: int = PRIOR_SCALE) -> np.ndarray:
    """Integer weights ≥ 1 proportional to the counts: the same model on every machine, never zero."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return np.ones(len(counts), dtype=np.int64)
    return np.maximum(1, np.rint(counts / total * scale)).astype(np.int64)


def _sized(payload: bytes) -> bytes:
    """An entropy-coded payload behind its byte length.

    ANS output is not self-delimiting: a stream cut short can decode to a different label list
    of the right length and still leave the coder in its initial state. The length (1-3 bytes,
    counted) makes truncation detectable.
    """
    return write_varint(len(payload)) + payload


def _unsized(data: bytes, pos: int) -> bytes:
    size, pos = read_varint(data, pos)
    if len(data) - pos != size:
        raise BitstreamError(f"entropy-coded payload is {len(data) - pos} bytes, its header says {size}")
    return data[pos:]


@register_codec("label-ans")
class LabelAnsCodec(LabelCodec):
    """The label stream entropy-coded with ANS (constriction) over a categorical model.

    ``prior="uniform"``: log2 K bits per label.
    ``prior="train"``: the training-split prior, quantised to integer weights (sum ≈ 4096) at
    both ends; shared, not sent.
    ``prior="adaptive"``: Krichevsky–Trofimov counts updated as the block goes, at both ends, so
    it learns the block's own distribution from the labels themselves and needs no side
    information (refreshed at geometrically spaced chunk boundaries, so decoding is a few
    vectorised calls).
    """

    description = "classify, then ANS-coded labels (uniform / train / adaptive prior); lossless"
    # 2: the adaptive model updates chunk-wise (vcmbench.entropy.ans); 3: the train prior is not sent
    version: ClassVar[str] = "3"

    def __init__(self, prior: str = "adaptive", block_size: int | None = None):
        _check_prior(prior, ("uniform", "train", "adaptive"))
        super().__init__(block_size=block_size, prior=prior)
        self.prior = prior
        self._weights: np.ndarray | None = None

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"prior": "uniform"}, {"prior": "train"}, {"prior": "adaptive"},
                {"prior": "adaptive", "block_size": 100}, {"prior": "uniform", "block_size": 1}]

    def prepare_code(self, ctx: CodecContext) -> None:
        if self.prior == "train":
            self._weights = quantize_prior(self.train_counts(ctx))
        else:
            self._weights = np.ones(ctx.num_classes, dtype=np.int64)

    @property
    def probabilities(self) -> np.ndarray:
        if self._weights is None:
            raise UsageError(f"codec {self.name!r}: call prepare(ctx) before encoding or decoding")
        return self._weights / self._weights.sum()

    def encode_payload(self, labels: np.ndarray) -> bytes:
        if self.prior == "adaptive":
            return _sized(ans.encode_adaptive(labels, self.num_classes))
        return _sized(ans.encode_iid(labels, self.probabilities))

    def decode_payload(self, data: bytes, count: int) -> np.ndarray:
        # The ANS decoders refuse a count their payload cannot hold before decoding anything.
        if self.prior == "adaptive":
            return ans.decode_adaptive(_unsized(data, 0), self.num_classes, count)
        return ans.decode_iid(_unsized(data, 0), self.probabilities, count)

    def ideal_bits(self, labels: np.ndarray) -> float:
        if self.prior == "adaptive":
            return ans.adaptive_code_length(labels, self.num_classes)
        return float(-np.log2(self.probabilities[labels]).sum())


# --- a lossy family -----------------------------------------------------------------------------------


@register_codec("label-lossy")
class LabelLossyCodec(LabelCodec):
    """Send the labels of a fraction f of each block; the decoder guesses the mode for the rest.

    The first round(f·n) labels of a block are entropy-coded (ANS, uniform or training prior);
    the others decode as the training split's most frequent class (free information both ends
    hold, whatever prior codes the sent labels; the coding prior's mode only when the suite has
    no training split), so there is nothing to signal about which samples were sent. Its rate
    is f·H and its accuracy f·a + (1 − f)·P(mode is right):
    the time-sharing line between the zero-rate point (always answer the mode) and lossless
    label coding. Any time-sharing of two achievable points is achievable, and R(D) is convex,
    so this chord lies above the bound and touches it only at its ends: the gap it leaves in
    between is exactly what block lossy coding (a vector quantiser over label tuples) could
    still win. It is the simplest scheme that spans the whole accuracy range, which makes it the
    reference curve for label-level rate-accuracy trade-offs. Sending more never loses accuracy:
    a sent label replaces a guess.
    """

    description = "classify, then send a fraction f of the labels, guess the mode for the rest; lossy"
    # 2: the training prior is shared, no longer sent; 3: the guess is the training mode for every
    # coding prior (with prior="uniform" it was class 0)
    version: ClassVar[str] = "3"

    def __init__(self, fraction: float = 0.5, prior: str = "uniform", block_size: int | None = None):
        if not isinstance(fraction, int | float) or not 0.0 <= float(fraction) <= 1.0:
            raise UsageError(f"fraction must be a number in [0, 1], got {fraction!r}")
        _check_prior(prior, PRIORS_FIXED)
        super().__init__(block_size=block_size, fraction=fraction, prior=prior)
        self.fraction = float(fraction)
        self.prior = prior
        self._weights: np.ndarray | None = None
        self._guess = 0

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"fraction": f} for f in (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)]

    def prepare_code(self, ctx: CodecContext) -> None:
        if self.prior == "train":
            self._weights = quantize_prior(self.train_counts(ctx))
        else:
            self._weights = np.ones(ctx.num_classes, dtype=np.int64)
        known = len(ctx.train_prior_counts) == ctx.num_classes and sum(ctx.train_prior_counts) > 0
        # The free point's guess (ties: lowest class), the same class the reporter's free point uses.
        self._guess = int(np.argmax(ctx.train_prior_counts)) if known else int(np.argmax(self._weights))

    def sent(self, count: int) -> int:
        """How many labels of a block of ``count`` are sent (both ends compute it)."""
        return math.floor(self.fraction * count + 0.5)

    @property
    def probabilities(self) -> np.ndarray:
        if self._weights is None:
            raise UsageError(f"codec {self.name!r}: call prepare(ctx) before encoding or decoding")
        return self._weights / self._weights.sum()

    def encode_payload(self, labels: np.ndarray) -> bytes:
        return _sized(ans.encode_iid(labels[: self.sent(len(labels))], self.probabilities))

    def decode_payload(self, data: bytes, count: int) -> np.ndarray:
        probabilities = self.probabilities
        sent = self.sent(count)
        out = np.full(count, self._guess, dtype=np.int64)
        out[:sent] = ans.decode_iid(_unsized(data, 0), probabilities, sent)  # refuses what cannot fit
        return out

    def ideal_bits(self, labels: np.ndarray) -> float:
        assert self._weights is not None
        p = self._weights / self._weights.sum()
        return float(-np.log2(p[labels[: self.sent(len(labels))]]).sum())


# --- a block vector quantiser over label tuples ------------------------------------------------------------


def random_codebook(num_classes: int, n: int, size: int, seed: int) -> np.ndarray:
    """``size`` random n-tuples of labels, uniform, from a seed both ends know: no side information."""
    rng = np.random.default_rng([seed, num_classes, n, size])
    return rng.integers(0, num_classes, size=(size, n), dtype=np.int64)


def nearest_codewords(tuples: np.ndarray, codebook: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Index of the codeword with the most agreeing positions (least Hamming distance) for each tuple."""
    out = np.empty(len(tuples), dtype=np.int64)
    for start in range(0, len(tuples), chunk):
        part = tuples[start:start + chunk]
        matches = np.zeros((len(part), len(codebook)), dtype=np.int16)
        for j in range(tuples.shape[1]):
            matches += part[:, j, None] == codebook[None, :, j]
        out[start:start + chunk] = matches.argmax(axis=1)
    return out


@register_codec("label-vq")
class LabelVqCodec(LabelCodec):
    """Lossy: each n-tuple of labels becomes the index (``bits`` bits) of the nearest of 2^bits random tuples.

    This is the random-coding argument behind the rate-distortion theorem, at a finite block
    length: a codebook of 2^(nR) tuples drawn from the bound's reproduction distribution (uniform
    for a uniform source) reaches distortion D(R) as n grows. At n = 8 and K = 10 it already beats
    time-sharing (label-lossy) clearly, e.g. about 0.47 accuracy at 1 bit per label where
    time-sharing gets 0.37 (uniform labels, a perfect classifier). Encoding searches the whole
    codebook, so 2^bits stays modest, and at such short blocks the random code falls behind
    time-sharing near full accuracy (3 bits per label: 0.84 against 0.91): the default grid
    covers the low rates, where it wins; the report's convex hull combines both families. For K
    in the thousands R(D) is almost a straight line and time-sharing is nearly as good anyway.
    The codebook is regenerated from ``seed`` at both ends, so it costs no bits.
    """

    description = "classify, then vector-quantise n-tuples of labels with a random codebook; lossy"
    MAX_BITS: ClassVar[int] = 20

    def __init__(self, n: int = 8, bits: int = 8, seed: int = 0, block_size: int | None = None):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise UsageError(f"tuple length n must be a positive integer, got {n!r}")
        if not isinstance(bits, int) or isinstance(bits, bool) or not 0 <= bits <= self.MAX_BITS:
            raise UsageError(f"bits per tuple must be an integer in 0..{self.MAX_BITS}, got {bits!r}")
        super().__init__(block_size=block_size, n=n, bits=bits, seed=seed)
        self.n, self.bits, self.seed = n, bits, int(seed)
        self._codebook: np.ndarray | None = None

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"n": 8, "bits": b} for b in (0, 2, 4, 8, 12, 16)]

    def prepare_code(self, ctx: CodecContext) -> None:
        self._codebook = random_codebook(ctx.num_classes, self.n, 1 << self.bits, self.seed)

    @property
    def codebook(self) -> np.ndarray:
        if self._codebook is None:
            raise UsageError(f"codec {self.name!r}: call prepare(ctx) before encoding or decoding")
        return self._codebook

    def _tuples(self, count: int) -> int:
        return -(-count // self.n)

    def encode_payload(self, labels: np.ndarray) -> bytes:
        count = len(labels)
        padded = np.zeros(self._tuples(count) * self.n, dtype=np.int64)
        padded[:count] = labels
        tuples = padded.reshape(-1, self.n)
        indices = nearest_codewords(tuples, self.codebook)
        rest = count % self.n
        if rest:  # the last, short tuple: only its real positions count
            indices[-1] = nearest_codewords(tuples[-1:, :rest], self.codebook[:, :rest])[0]
        return pack_fields(indices, self.bits)

    def decode_payload(self, data: bytes, count: int) -> np.ndarray:
        tuples = self._tuples(count)
        if len(data) != packed_size(tuples, self.bits):
            raise BitstreamError(f"payload is {len(data)} bytes, {tuples} indices of {self.bits} bits need "
                                 f"{packed_size(tuples, self.bits)}")
        indices = np.asarray(unpack_fields(data, tuples, self.bits), dtype=np.int64)
        return self.codebook[indices].reshape(-1)[:count]

    def ideal_bits(self, labels: np.ndarray) -> float:
        return float(self._tuples(len(labels)) * self.bits)
