"""ANS coding through constriction: exact round trips and rates close to the ideal code length."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcmbench.entropy import ans
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


def test_adaptive_round_trip_across_chunks(monkeypatch):
    monkeypatch.setattr(ans, "_ROWS_PER_CHUNK_BUDGET", 70)  # chunks of 7 rows for K = 10
    symbols = np.random.default_rng(3).integers(0, 10, size=101)
    assert np.array_equal(ans.decode_adaptive(ans.encode_adaptive(symbols, 10), 10, 101), symbols)


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
    assert empirical_entropy < ideal < empirical_entropy + 4.5 * np.log2(5_000) + 10  # (K-1)/2·log2 N regret
    assert ideal - 1 <= 8 * len(ans.encode_adaptive(symbols, 10)) <= ideal * 1.001 + 64


def test_garbage_is_an_error_not_a_label_list():
    p = np.full(10, 0.1)
    stream = ans.encode_iid(np.arange(10).repeat(20), p)
    with pytest.raises(BitstreamError):
        ans.decode_iid(stream + b"\x00", p, 200)
    with pytest.raises(BitstreamError):
        ans.decode_iid(stream[:-4], p, 200)
