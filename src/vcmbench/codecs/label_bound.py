"""Lossy label coding on the bound: a random trellis code searched by Viterbi (``label-ba``).

The rate-distortion theorem's random code — 2^{nR} label sequences drawn from the optimal
reproduction distribution q* — reaches R(D) but cannot be searched. A *trellis* code keeps the
random labels and makes the search linear in the block length (Viterbi & Omura, "Trellis
encoding of memoryless discrete-time sources with a fidelity criterion", IEEE Trans. IT-20,
1974): a shift register of m bits is the state; step i reads b_i new bits (the rate spread evenly
over the block, so any rational R works, fractions of a bit per label included), and the branch
(state, bits) carries a label drawn from q* by a hash of (seed, state). Viterbi finds, exactly,
the path whose labels disagree least with the classifier's labels. As m grows, such codes
approach R(D) (ibid.); 2^m states cost 2^m·2^b operations per label. The labels do not change
with i (a time-invariant trellis, as in TCQ): on the 1,000 mnist-5k labels it reached the same
distortion as labels redrawn at every step, and its branch costs are tabulated once per code.

Choices that matter at short blocks (a test set of 1,000 labels):

* the 2^b branches leaving a state get labels by systematic sampling of q* (one hash, offsets
  spaced 1/2^b apart), so they differ whenever q* allows: equal labels would waste a bit;
* 2^s codes (seeds) are searched and the best one's index is sent (s bits per block): the best of
  many random codes is what the random-coding argument promises, and s bits over a whole block
  cost s/n bits per label (the encoder pays 2^s forward passes);
* the framing costs a few bits, not a varint count plus padding: the decoder knows how many bytes
  it received (the harness gives every decoder its stream's length), so the stream carries only
  the count modulo 2^c (2^c·R ≥ 17, so one byte more or less fits no block) and every bit of the
  last byte is a trellis bit.

q* is Blahut–Arimoto's (here exactly: water-filling) optimal reproduction distribution of the
*training split's* prior at the rate asked for — shared information, like a codec's weights —
so the decoder rebuilds every label from the seed alone. The code targets Hamming distortion
against the classifier's labels Ŷ (the test confusion matrix, which the model-aware bound uses,
is test data and is not available to a codec); the accuracy against the true labels then follows
the model-aware bound wherever the classifier's errors are roughly symmetric (exactly so for the
symmetric-noise classifier, whose surrogate distortion is affine in Hamming distortion).

Measured on mnist-5k (benchmarks/README.md): 0.038 / 0.027 / 0.026 bits above the model-aware
bound at accuracies 0.5 / 0.7 / 0.9 on the hull of points with 2^16–2^18 states, one block of 1,000.

Stream: [count mod 2^c: c bits][code index: s bits][trellis bits: 8·bytes − c − s], MSB first;
an empty block is an empty stream.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from vcmbench.api.codec import CodecContext, register_codec
from vcmbench.codecs.labels import MAX_BLOCK, LabelCodec
from vcmbench.errors import BitstreamError, UsageError
from vcmbench.theory.entropy import entropy_bits
from vcmbench.theory.hamming import hamming_rate, water_filling
from vcmbench.theory.priors import prior_from_counts

MAX_STATE_BITS = 20  # and at most 16 bits per label (the systematic offsets live in 16-bit slots)
MAX_SEED_BITS = 10
COST_TABLE_ENTRIES = 1 << 26  # per code and bits per label: the cost tables stay below ~128 MB
LABEL_RESOLUTION = 1 << 16  # q* is quantised to integer weights summing to ~2^16 (same at both ends)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLD, _ODD = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD6E8FEB86659FD93)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective, well-mixed hash of 64-bit integers (wrap-around intended)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def reproduction_distribution(prior_counts: np.ndarray, rate_bits: float) -> np.ndarray:
    """q*: the optimal Hamming reproduction distribution of the prior where its R(D) equals ``rate_bits``.

    R(D) is decreasing, so D is found by bisection on the exact water-filling rate; at or above
    H(prior) the code is lossless and q* is the prior itself.
    """
    p = prior_from_counts(prior_counts)
    if rate_bits >= entropy_bits(p[p > 0]) or (p > 0).sum() < 2:
        return p
    lo, hi = 0.0, 1.0 - float(p.max())
    for _ in range(80):
        mid = (lo + hi) / 2
        if hamming_rate(p, mid) > rate_bits:
            lo = mid
        else:
            hi = mid
    return water_filling(p, hi).output


def label_table(q: np.ndarray) -> np.ndarray:
    """The label of each of the 2^16 slots of a 16-bit uniform number: slot j → searchsorted(t, j, 'right').

    q is quantised to integer weights (≥ 1 for every class q* reproduces, 0 for the others) and the
    thresholds t are integers, so the map is exact integer arithmetic once q* is fixed.
    """
    w = np.where(q > 0, np.maximum(1, np.rint(q * LABEL_RESOLUTION)), 0).astype(np.int64)
    cum = np.cumsum(w)
    thresholds = (cum[:-1] << 16) // int(cum[-1])
    return np.searchsorted(thresholds, np.arange(1 << 16), side="right").astype(np.int16)


class TrellisCode:
    """The random trellis: 2^m states; the label of branch (state, u) comes from a hash of (seed, state) and
    a systematic offset for u. The labels do not change from step to step (a time-invariant trellis, like
    TCQ's): measured on 1,000 labels it codes as well as a trellis redrawn at every step, and its labels
    are computed once per code instead of once per label."""

    SEGMENT_BYTES = 1 << 25  # back-pointers kept at once; longer blocks are traced back segment by segment

    def __init__(self, state_bits: int, table: np.ndarray, base_seed: int) -> None:
        self.m = state_bits
        self.size = 1 << state_bits
        self.mask = self.size - 1
        self.table = table
        self.base = np.uint64(base_seed & 0xFFFFFFFFFFFFFFFF)
        self._branches: dict[tuple[int, int], np.ndarray] = {}
        self._costs: dict[tuple[int, int, str], np.ndarray] = {}

    def _key(self, seed: int) -> np.uint64:
        with np.errstate(over="ignore"):
            x = np.array([self.base ^ (np.uint64(seed) * _GOLD)], dtype=np.uint64)
        return _mix(_mix(x ^ _ODD))[0]

    def labels(self, seed: int, prev: np.ndarray, u: np.ndarray, bits: int) -> np.ndarray:
        """Label of branch (prev, u) of code ``seed`` when ``bits`` bits are read; prev and u broadcast."""
        with np.errstate(over="ignore"):
            h = _mix(self._key(seed) ^ (np.asarray(prev).astype(np.uint64) * _GOLD))
        v = (h >> np.uint64(48)).astype(np.int32)  # a 16-bit uniform slot per state
        slots = (v + (np.asarray(u).astype(np.int32) << (16 - bits))) & 0xFFFF if bits else v
        return self.table[slots]

    def branches(self, seed: int, bits: int) -> np.ndarray:
        """Labels indexed [t, hi, u]: the branch into state hi·2^b + u from state t·2^{m−b} + hi."""
        key = (seed, bits)
        if key not in self._branches:
            prev = np.arange(self.size)[:, None]
            lab = self.labels(seed, prev, np.arange(1 << bits)[None, :], bits)  # [prev, u]
            self._branches[key] = lab.reshape(1 << bits, self.size >> bits, 1 << bits)
        return self._branches[key]

    def costs(self, seed: int, bits: int, dtype: type, tagged: bool) -> np.ndarray:
        """Branch costs [source label, t, hi, u]: 1 where the branch's label differs from the source label
        (the last row: a source label no branch carries). ``tagged``: (cost << b) | t, so that one minimum
        over t also says which t won. Built once per code: the trellis does not change with time."""
        key = (seed, bits, np.dtype(dtype).str, tagged)
        if key not in self._costs:
            lab = self.branches(seed, bits)
            rows = [(lab != c).astype(dtype) for c in range(int(self.table.max()) + 1)]
            rows.append(np.ones_like(lab, dtype=dtype))
            out = np.stack(rows)
            if tagged:
                t = np.arange(1 << bits, dtype=dtype).reshape(1, -1, 1, 1)
                out = (out << bits) | t
            self._costs[key] = out
        return self._costs[key]

    def cost(self, seed: int, bits: int, dtype: type, tagged: bool, label: int) -> np.ndarray:
        """The [t, hi, u] costs against one source label: from the per-code tables while they stay small
        (K + 1 tables of 2^{m+b} entries), computed afresh for many classes."""
        if (int(self.table.max()) + 2) << (self.m + bits) <= COST_TABLE_ENTRIES:
            costs = self.costs(seed, bits, dtype, tagged)
            return costs[min(label, len(costs) - 1)]
        out = (self.branches(seed, bits) != label).astype(dtype)
        if tagged:
            out = (out << bits) | np.arange(1 << bits, dtype=dtype).reshape(-1, 1, 1)
        return out

    def _step(self, metric: np.ndarray, label: int, seed: int, bits: int,
              keep: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """One Viterbi step: the new metric per state and (``keep``) the winning predecessor's top bits t
        per state (ties: the lowest t). Slices over t keep every operation contiguous; with ``keep`` the
        metrics carry t in their low bits, so the minimum finds both at once."""
        cost = self.cost(seed, bits, metric.dtype.type, keep, label)
        part = (metric << bits if keep else metric).reshape(1 << bits, self.size >> bits, 1)
        best = part[0] + cost[0]
        cand = np.empty_like(best)
        for t in range(1, 1 << bits):
            np.add(part[t], cost[t], out=cand)
            np.minimum(best, cand, out=best)
        best = best.reshape(self.size)
        if not keep:
            return best, None
        return best >> bits, (best & ((1 << bits) - 1)).astype(np.uint16)

    def _start(self, n: int, keep: bool, most_bits: int) -> np.ndarray:
        """Metrics start at 0 in state 0 and at n + 1 (worse than any path) elsewhere; the narrowest
        integer type that holds them (shifted by the bits per label when they carry t)."""
        top = (2 * n + 2) << (most_bits if keep else 0)
        dtype = np.int16 if top < 2**15 else np.int32 if top < 2**31 else np.int64
        metric = np.full(self.size, n + 1, dtype=dtype)
        metric[0] = 0
        return metric

    def distortion(self, y: np.ndarray, schedule: np.ndarray, seed: int) -> int:
        """Least Hamming distortion (count) this code reaches on ``y``: the forward pass only."""
        metric = self._start(len(y), False, 0)
        for label, b in zip(y.tolist(), schedule.tolist(), strict=True):
            metric, _ = self._step(metric, label, seed, b)
        return int(metric.min())

    def search(self, y: np.ndarray, schedule: np.ndarray, seed: int) -> tuple[int, np.ndarray]:
        """Viterbi with traceback: (distortion count, the path's input bits, MSB first per label).

        Back-pointers are kept for one segment at a time: the forward pass stores the metric at each
        segment start, and the traceback recomputes each segment from there (twice the work, a bounded
        memory for any block length and number of states)."""
        n = len(y)
        seg = max(1, self.SEGMENT_BYTES // (2 * self.size))  # uint16 back-pointers
        starts, metric = [], self._start(n, True, int(schedule.max(initial=0)))
        back: list[np.ndarray] = []
        for i, (label, b) in enumerate(zip(y.tolist(), schedule.tolist(), strict=True)):
            if i % seg == 0:
                starts.append(metric)
            metric, arg = self._step(metric, label, seed, b, keep=n <= seg)
            if arg is not None:
                back.append(arg)
        state = int(metric.argmin())
        best = int(metric[state])
        pieces: list[list[int]] = []
        for k in range(len(starts) - 1, -1, -1):
            lo, hi_end = k * seg, min(n, (k + 1) * seg)
            if n > seg:  # recompute this segment's back-pointers from its stored metric
                m, back = starts[k], []
                for i in range(lo, hi_end):
                    m, arg = self._step(m, int(y[i]), seed, int(schedule[i]), keep=True)
                    back.append(arg)
            for i in range(hi_end - 1, lo - 1, -1):
                b = int(schedule[i])
                u = state & ((1 << b) - 1)
                pieces.append([(u >> (b - 1 - j)) & 1 for j in range(b)])
                state = (int(back[i - lo][state]) << (self.m - b)) | (state >> b)
        bits = np.array([x for p in reversed(pieces) for x in p], dtype=np.uint8)
        return best, bits

    def replay(self, bits: np.ndarray, schedule: np.ndarray, seed: int) -> np.ndarray:
        """The labels along the path the bits select (the decoder): states first, then one vectorised hash."""
        n = len(schedule)
        prev = np.empty(n, dtype=np.int64)
        us = np.empty(n, dtype=np.int64)
        state, pos = 0, 0
        for i, b in enumerate(schedule.tolist()):
            u = 0
            for j in range(b):
                u = (u << 1) | int(bits[pos + j])
            pos += b
            prev[i], us[i] = state, u
            state = ((state << b) | u) & self.mask
        out = np.empty(n, dtype=np.int64)
        for b in np.unique(schedule).tolist():
            at = schedule == b
            out[at] = self.labels(seed, prev[at], us[at], b)
        return out


def spread(total_bits: int, count: int) -> np.ndarray:
    """Bits read at each of ``count`` steps: total_bits spread as evenly as integers allow."""
    i = np.arange(count + 1, dtype=np.int64)
    edges = (i * total_bits) // count
    return np.diff(edges)


@register_codec("label-ba")
class LabelTrellisCodec(LabelCodec):
    """Lossy: a random trellis code from Blahut–Arimoto's reproduction distribution, searched by Viterbi.

    ``rate``: trellis bits per label before framing (any positive number; a fraction with
    denominator ≤ 64 is used). ``states``: m, the trellis has 2^m states. ``seeds``: s, the encoder
    tries 2^s codes and sends the best one's index. ``prior``: "train" (q* of the training split's
    prior, shared) or "uniform". The whole block is one trellis: give ``block_size`` for shorter ones.
    """

    description = "classify, then a random trellis code from the bound's reproduction distribution; lossy"
    version: ClassVar[str] = "1"

    def __init__(self, rate: float = 1.0, states: int = 12, seeds: int = 4, prior: str = "train",
                 seed: int = 0, block_size: int | None = None):
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < float(rate) <= 16:
            raise UsageError(f"rate must be a number of bits per label in (0, 16], got {rate!r}")
        if isinstance(states, bool) or not isinstance(states, int) or not 1 <= states <= MAX_STATE_BITS:
            raise UsageError(f"states (bits of trellis state) must be an integer in 1..{MAX_STATE_BITS}")
        if isinstance(seeds, bool) or not isinstance(seeds, int) or not 0 <= seeds <= MAX_SEED_BITS:
            raise UsageError(f"seeds (bits of code index) must be an integer in 0..{MAX_SEED_BITS}")
        if prior not in ("train", "uniform"):
            raise UsageError(f"prior must be 'train' or 'uniform', got {prior!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise UsageError(f"seed must be an integer, got {seed!r}")
        super().__init__(block_size=block_size, rate=rate, states=states, seeds=seeds, prior=prior, seed=seed)
        self.fraction = Fraction(float(rate)).limit_denominator(64)
        if self.fraction <= 0 or math.ceil(self.fraction) > states:
            raise UsageError(f"rate {rate} needs at least {math.ceil(self.fraction)} state bits (states)")
        self.state_bits, self.seed_bits, self.prior, self.seed = states, seeds, prior, seed
        # c bits of the count, 2^c·R ≥ 17: counts with equal low bits then differ by ≥ 16 trellis bits, so
        # streams of one byte length hold one count, and a stream cut or padded by a byte holds none
        self.count_bits = max(1, math.ceil(math.log2(17 / self.fraction)))
        self._code: TrellisCode | None = None

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"rate": r} for r in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0)]

    def prepare_code(self, ctx: CodecContext) -> None:
        counts = (self.train_counts(ctx) if self.prior == "train" and ctx.train_prior_counts
                  else np.ones(ctx.num_classes))
        q = reproduction_distribution(np.asarray(counts, dtype=float), float(self.fraction))
        self._code = TrellisCode(self.state_bits, label_table(q), self.seed)

    @property
    def code(self) -> TrellisCode:
        if self._code is None:
            raise UsageError(f"codec {self.name!r}: call prepare(ctx) before encoding or decoding")
        return self._code

    # framing --------------------------------------------------------------------------------------------
    def _min_trellis_bits(self, count: int) -> int:
        return (count * self.fraction.numerator) // self.fraction.denominator

    def stream_bytes(self, count: int) -> int:
        """Bytes of the stream for a block of ``count`` labels (0 for an empty block)."""
        if count == 0:
            return 0
        return -(-(self.count_bits + self.seed_bits + self._min_trellis_bits(count)) // 8)

    def schedule(self, size: int, count: int) -> np.ndarray:
        """Trellis bits read at each label: every bit after the header, spread evenly, at most m per label."""
        most = min(self.state_bits, 16)
        return np.minimum(spread(8 * size - self.count_bits - self.seed_bits, count), most)

    def _count_from(self, size: int, low: int) -> int:
        head = self.count_bits + self.seed_bits
        guess = (8 * size - head) * self.fraction.denominator // self.fraction.numerator
        span = (1 << self.count_bits) + 2
        found = [n for n in range(max(1, guess - span), guess + span + 1)
                 if self.stream_bytes(n) == size and n % (1 << self.count_bits) == low]
        if len(found) != 1:
            raise BitstreamError(f"corrupted bitstream ({size} bytes fit no block of this code)")
        return found[0]

    def encode_labels(self, labels: np.ndarray | Any) -> bytes:
        y = np.asarray(labels, dtype=np.int64).reshape(-1)
        if y.size and (y.min() < 0 or y.max() >= self.num_classes):
            raise UsageError(f"labels must lie in 0..{self.num_classes - 1}")
        if self.block_size is not None and y.size > self.block_size:
            raise UsageError(f"{y.size} labels in a block of at most {self.block_size}")
        if y.size > MAX_BLOCK:
            raise UsageError(f"{y.size} labels in one block; a block holds at most {MAX_BLOCK} "
                             "(set block_size)")
        if y.size == 0:
            return b""
        size = self.stream_bytes(y.size)
        schedule = self.schedule(size, y.size)
        index = self.best_code(y, schedule)
        _, path = self.code.search(y, schedule, self._code_seed(index))
        head = [(y.size >> (self.count_bits - 1 - j)) & 1 for j in range(self.count_bits)]
        head += [(index >> (self.seed_bits - 1 - j)) & 1 for j in range(self.seed_bits)]
        spare = 8 * size - len(head) - path.size  # zero bits beyond what the trellis can take (tiny blocks)
        bits = np.concatenate([np.array(head, dtype=np.uint8), path, np.zeros(spare, dtype=np.uint8)])
        return np.packbits(bits).tobytes()

    def decode_labels(self, data: bytes) -> np.ndarray:
        if len(data) == 0:
            return np.zeros(0, dtype=np.int64)
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        if bits.size < self.count_bits + self.seed_bits:
            raise BitstreamError("corrupted bitstream (shorter than its header)")
        low = int("".join(map(str, bits[: self.count_bits])) or "0", 2)
        count = self._count_from(len(data), low)
        if self.block_size is not None and count > self.block_size:
            raise BitstreamError(f"corrupted bitstream (count {count} > block size {self.block_size})")
        if count > MAX_BLOCK:
            raise BitstreamError(f"corrupted bitstream (count {count} beyond {MAX_BLOCK})")
        head = self.count_bits + self.seed_bits
        index = int("".join(map(str, bits[self.count_bits:head])) or "0", 2)
        schedule = self.schedule(len(data), count)
        used = head + int(schedule.sum())
        if bits[used:].any():
            raise BitstreamError("corrupted bitstream (non-zero padding bits)")
        return self.code.replay(bits[head:used], schedule, self._code_seed(index))

    # the search -----------------------------------------------------------------------------------------
    def _code_seed(self, index: int) -> int:
        return index

    def best_code(self, y: np.ndarray, schedule: np.ndarray) -> int:
        """Index of the code (of 2^s) whose Viterbi path disagrees least with ``y`` (ties: lowest index)."""
        n = 1 << self.seed_bits
        if n == 1:
            return 0
        found = [self.code.distortion(y, schedule, self._code_seed(i)) for i in range(n)]
        return int(np.argmin(found))

    def ideal_bits(self, labels: np.ndarray) -> float:
        """The trellis bits at the nominal rate, without header and last byte: the labelled estimate."""
        return float(self._min_trellis_bits(len(labels)))
