"""label-ba: a random trellis code from the bound's reproduction distribution, searched by Viterbi."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vcmbench.api.codec import CodecContext
from vcmbench.codecs.label_bound import (
    LabelTrellisCodec,
    TrellisCode,
    label_table,
    reproduction_distribution,
    spread,
)
from vcmbench.errors import BitstreamError, UsageError
from vcmbench.theory import hamming_rate, water_filling


def ctx(k: int = 10, train=None) -> CodecContext:
    return CodecContext(task_model=None, train=None, num_classes=k,
                        train_prior_counts=tuple(train) if train is not None else (40,) * k)


def codec(k: int = 10, train=None, **params) -> LabelTrellisCodec:
    c = LabelTrellisCodec(**params)
    c.prepare(ctx(k, train))
    return c


def labels(n: int, k: int = 10, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, k, n)


def test_round_trip_through_a_separately_prepared_decoder_and_the_rate_is_the_bytes():
    y = labels(300)
    enc = codec(rate=1.5, states=8, seeds=2)
    data = enc.encode_labels(y)
    dec = codec(rate=1.5, states=8, seeds=2)  # never saw the encoder
    z = dec.decode_labels(data)
    assert len(z) == len(y) and z.min() >= 0 and z.max() < 10
    assert len(data) == enc.stream_bytes(300) == math.ceil((enc.count_bits + 2 + 450) / 8)
    assert enc.ideal_bits(y) == 450 <= 8 * len(data)
    # the decoder's labels are the path the encoder chose: its distortion is what Viterbi found
    seed = int(np.unpackbits(np.frombuffer(data, np.uint8))[enc.count_bits:enc.count_bits + 2] @ [2, 1])
    best, _ = enc.code.search(y, enc.schedule(len(data), 300), seed)
    assert int((z != y).sum()) == best


@pytest.mark.parametrize("rate", [0.25, 0.8, 2.5])
def test_every_block_length_is_recovered_from_the_stream_length_and_a_few_count_bits(rate):
    c = codec(rate=rate, states=6, seeds=1)
    assert c.encode_labels([]) == b"" and len(c.decode_labels(b"")) == 0
    for n in (1, 2, 3, 7, 8, 9, 31, 32, 33, 64, 100, 257):
        y = labels(n, seed=n)
        data = c.encode_labels(y)
        assert len(c.decode_labels(data)) == n
        for damaged in ([data[:-1]] if len(data) > 1 else []) + [data + b"\x00"]:
            with pytest.raises(BitstreamError):  # a stream cut or padded by a byte fits no block
                c.decode_labels(damaged)


def test_a_perfect_code_at_full_rate_is_lossless():
    # 4 classes, 2 bits per label, and 2^b = 4 distinct branch labels per state (systematic sampling):
    # the trellis can follow any sequence
    y = labels(200, k=4, seed=3)
    c = codec(k=4, rate=2.0, states=6, seeds=0)
    assert np.array_equal(c.decode_labels(c.encode_labels(y)), y)


def test_rate_against_the_bound_at_a_small_block():
    # 400 uniform 4-ary labels at 1 bit per label (2^10 states, 8 codes): the distortion must come
    # within 0.04 of D(R), and beat time-sharing (send a fraction R/2 of the labels, guess the rest)
    n, k, rate = 400, 4, 1.0
    y = labels(n, k=k, seed=11)
    c = codec(k=k, rate=rate, states=10, seeds=3)
    data = c.encode_labels(y)
    bits = 8 * len(data) / n
    d = float((c.decode_labels(data) != y).mean())
    prior = np.bincount(y, minlength=k)
    lo, hi = 0.0, 1.0 - prior.max() / n
    for _ in range(60):  # D(R) of the block's own label type, by bisection on the exact R(D)
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if hamming_rate(prior, mid) > bits else (lo, mid)
    time_sharing = (1 - bits / math.log2(k)) * (1 - 1 / k)
    assert d <= hi + 0.04
    assert d < time_sharing - 0.05


def test_the_reproduction_distribution_is_the_water_filling_output_of_the_training_prior():
    train = [70, 20, 6, 4]
    q = reproduction_distribution(np.array(train, float), 0.5)
    d = 1 - 0.8
    lo, hi = 0.0, 0.3
    for _ in range(80):
        d = (lo + hi) / 2
        lo, hi = (d, hi) if hamming_rate(train, d) > 0.5 else (lo, d)
    assert np.allclose(q, water_filling(train, hi).output, atol=1e-9)
    assert q[3] == 0  # the rarest class is not reproduced at this rate...
    table = label_table(q)
    assert set(np.unique(table).tolist()) == {0, 1, 2}  # ...so no branch ever carries it
    # a code built from it only ever decodes reproduced classes
    c = codec(k=4, train=train, rate=0.5, states=6, seeds=0)
    assert 3 not in set(c.decode_labels(c.encode_labels(labels(100, k=4))).tolist())
    # at or above H(prior) the code is lossless and q* is the prior itself
    assert np.allclose(reproduction_distribution(np.array(train, float), 2.0), np.array(train) / 100)


def test_branches_leaving_a_state_carry_distinct_labels():
    code = TrellisCode(6, label_table(np.full(10, 0.1)), 0)
    lab = code.labels(0, np.arange(64)[:, None], np.arange(8)[None, :], 3)
    assert all(len(set(row.tolist())) == 8 for row in lab)


def test_segment_wise_traceback_finds_the_same_path(monkeypatch):
    y = labels(120, seed=5)
    c = codec(rate=1.3, states=8, seeds=0)
    schedule = c.schedule(c.stream_bytes(120), 120)
    whole = c.code.search(y, schedule, 0)
    monkeypatch.setattr(TrellisCode, "SEGMENT_BYTES", 2 * 256 * 7)  # segments of 7 labels
    cut = c.code.search(y, schedule, 0)
    assert whole[0] == cut[0] == c.code.distortion(y, schedule, 0)
    assert np.array_equal(whole[1], cut[1])


def test_many_classes_compute_their_costs_instead_of_tabulating_them(monkeypatch):
    y = labels(60, k=40, seed=2)
    tabulated = codec(k=40, rate=2.0, states=8, seeds=0).encode_labels(y)
    monkeypatch.setattr("vcmbench.codecs.label_bound.COST_TABLE_ENTRIES", 0)
    fresh = codec(k=40, rate=2.0, states=8, seeds=0)
    assert fresh.encode_labels(y) == tabulated
    assert not fresh.code._costs


def test_spread_uses_every_bit_evenly():
    s = spread(25, 10)
    assert s.sum() == 25 and set(s.tolist()) == {2, 3}
    assert spread(0, 5).tolist() == [0] * 5


@pytest.mark.parametrize("params", [{"rate": 0}, {"rate": -1}, {"rate": True}, {"rate": 17},
                                    {"states": 0}, {"states": 21}, {"seeds": 11}, {"prior": "test"},
                                    {"rate": 5.0, "states": 4}, {"seed": 1.5}])
def test_bad_parameters_are_one_line_errors(params):
    with pytest.raises(UsageError):
        LabelTrellisCodec(**params)


def test_labels_outside_the_classes_and_oversized_blocks_are_refused():
    c = codec(rate=1.0, states=6, seeds=0, block_size=10)
    with pytest.raises(UsageError):
        c.encode_labels([0, 10])
    with pytest.raises(UsageError):
        c.encode_labels(labels(11))
    big = codec(rate=1.0, states=6, seeds=0).encode_labels(labels(40))
    with pytest.raises(BitstreamError):
        c.decode_labels(big)


@pytest.mark.slow
def test_label_ba_passes_the_conformance_kit_at_every_default_point(tmp_path):
    from vcmbench.conformance import check_codecs

    findings = check_codecs(["vcmbench.codecs.label_bound:LabelTrellisCodec"], suite="mnist", limit=8,
                            points="all", cache_dir=str(tmp_path), flips=24)
    assert findings == [], "\n".join(map(str, findings))
