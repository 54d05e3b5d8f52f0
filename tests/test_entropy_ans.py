"""ANS coding through constriction: exact round trips and rates close to the ideal code length."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcmbench.entropy import ans
from vcmbench.entropy.framing import MAX_SYMBOLS
from vcmbench.errors import BitstreamError


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_iid_round_trip(data):
    k = data.draw(st.integers(2, 1000))
    weights = np.array(data.draw(st.lists(st.integers(1, 100), min_size=k, max_size=k)), dtype=float)
    symbols = np.array(data.draw(st.lists(st.integers(0, k - 1), max_size=200)), dtype=np.int64)
    stream = ans.encode_iid(symbols, weights / weights.sum())
    assert np.array_equal(ans.decode_iid(stream, weights / weights.sum(), len(symbols)), symbols)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_adaptive_round_trip(data):
    k = data.draw(st.integers(2, 1000))
    symbols = np.array(data.draw(st.lists(st.integers(0, k - 1), max_size=200)), dtype=np.int64)
    stream = ans.encode_adaptive(symbols, k)
    assert np.array_equal(ans.decode_adaptive(stream, k, len(symbols)), symbols)


def test_adaptive_round_trip_across_many_chunks():
    symbols = np.random.default_rng(3).integers(0, 10, size=5_001)
    assert len(ans.chunk_bounds(len(symbols))) > 50
    assert np.array_equal(ans.decode_adaptive(ans.encode_adaptive(symbols, 10), 10, len(symbols)), symbols)


@pytest.mark.parametrize("count", [0, 1, 15, 16, 17, 1000, 123_457])
def test_chunks_cover_the_stream_and_grow_by_an_eighth(count):
    bounds = ans.chunk_bounds(count)
    assert bounds[0] == 0 and bounds[-1] == count
    sizes = np.diff(bounds)
    assert (sizes >= 1).all()
    starts = bounds[:-1]
    assert (sizes[:-1] == np.maximum(1, starts[:-1] // ans.ADAPT_RATIO)).all()  # the last may be cut short
    assert len(bounds) - 1 <= 2 * ans.ADAPT_RATIO + ans.ADAPT_RATIO * 1.1 * np.log(max(count, 2))


def kt_chunked_length_by_hand(symbols: np.ndarray, k: int) -> float:
    """The adaptive model written out symbol by symbol: counts + 1/2, refreshed at chunk starts."""
    bounds = set(ans.chunk_bounds(len(symbols)).tolist())
    counts, frozen, bits = np.zeros(k), np.zeros(k), 0.0
    for i, s in enumerate(symbols.tolist()):
        if i in bounds:
            frozen = counts.copy()
        bits -= np.log2((frozen[s] + 0.5) / (frozen.sum() + 0.5 * k))
        counts[s] += 1
    return bits


def kt_length(symbols: np.ndarray, k: int) -> float:
    """Per-symbol Krichevsky–Trofimov code length, closed form (the Dirichlet(1/2) mixture)."""
    counts = np.bincount(symbols, minlength=k)
    log_p = (math.lgamma(k / 2) - math.lgamma(len(symbols) + k / 2)
             + sum(math.lgamma(c + 0.5) - math.lgamma(0.5) for c in counts))
    return -log_p / math.log(2)


@pytest.mark.parametrize(("k", "n"), [(2, 40), (10, 3000), (300, 2000)])
def test_adaptive_code_length_is_the_chunked_kt_model(k, n):
    symbols = np.random.default_rng(k).choice(k, n, p=np.linspace(1, 3, k) / np.linspace(1, 3, k).sum())
    assert ans.adaptive_code_length(symbols, k) == pytest.approx(kt_chunked_length_by_hand(symbols, k))


@pytest.mark.parametrize(("k", "n"), [(10, 100_000), (1000, 50_000)])
def test_chunked_adaptation_costs_little_over_per_symbol_kt(k, n):
    symbols = np.random.default_rng(1).choice(k, n, p=np.linspace(1, 10, k) / np.linspace(1, 10, k).sum())
    counts = np.bincount(symbols, minlength=k)
    empirical = -(counts * np.log2(np.where(counts, counts / n, 1))).sum()
    kt_regret = kt_length(symbols, k) - empirical
    assert ans.adaptive_code_length(symbols, k) - empirical <= 1.25 * kt_regret  # (1 + 1/16) in expectation


def test_a_count_the_stream_cannot_hold_is_refused_before_decoding():
    rng = np.random.default_rng(0)
    stream = ans.encode_iid(rng.integers(0, 10, 30), np.full(10, 0.1))
    too_many = math.ceil((8 * len(stream) + 64) / math.log2(10) / 0.99) + 1  # beyond the rounding slack
    with pytest.raises(BitstreamError, match="cannot fit"):
        ans.decode_iid(stream, np.full(10, 0.1), too_many)
    stream = ans.encode_adaptive(rng.integers(0, 10, 30), 10)
    for count in (MAX_SYMBOLS + 1, 10**12):
        with pytest.raises(BitstreamError, match="at most"):
            ans.decode_adaptive(stream, 10, count)
    p = np.array([1.0 - 1e-9, 1e-9])  # almost sure of one symbol: the length bound is weak, the cap holds
    with pytest.raises(BitstreamError, match="at most"):
        ans.decode_iid(ans.encode_iid(np.zeros(5, dtype=np.int64), p), p, MAX_SYMBOLS + 1)


def test_a_long_all_equal_run_is_cheap_so_a_wrong_count_fails_while_decoding():
    stream = ans.encode_adaptive(np.random.default_rng(0).integers(0, 10, 30), 10)
    assert ans.adaptive_shortest_length(10**6, 10) < 8 * len(stream)  # not refusable by length alone
    with pytest.raises(BitstreamError):
        ans.decode_adaptive(stream, 10, 10**6)


def test_iid_rate_is_within_a_few_bytes_of_the_ideal_code_length():
    rng = np.random.default_rng(0)
    p = np.array([0.7, 0.1, 0.1, 0.05, 0.05])
    symbols = rng.choice(5, size=20_000, p=p)
    ideal = -np.log2(p[symbols]).sum()
    bits = 8 * len(ans.encode_iid(symbols, p))
    assert ideal - 1 <= bits <= ideal * 1.001 + 64


def test_adaptive_rate_tracks_the_kt_code_length():
    rng = np.random.default_rng(1)
    symbols = rng.choice(10, size=5_000, p=np.linspace(1, 10, 10) / 55)
    ideal = ans.adaptive_code_length(symbols, 10)
    counts = np.bincount(symbols, minlength=10)
    empirical_entropy = -(counts * np.log2(np.where(counts, counts / counts.sum(), 1))).sum()
    # (K-1)/2·log2 N regret, and (1 + 1/16) of it for chunk-wise updates
    assert empirical_entropy < ideal < empirical_entropy + (1 + 1 / 16) * 4.5 * np.log2(5_000) + 10
    assert ideal - 1 <= 8 * len(ans.encode_adaptive(symbols, 10)) <= ideal * 1.001 + 64


def test_garbage_is_an_error_not_a_label_list():
    p = np.full(10, 0.1)
    stream = ans.encode_iid(np.arange(10).repeat(20), p)
    with pytest.raises(BitstreamError):
        ans.decode_iid(stream + b"\x00", p, 200)
    with pytest.raises(BitstreamError):
        ans.decode_iid(stream[:-4], p, 200)
