"""Huffman codes: optimal (checked against brute force), complete, and decodable exactly."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcmbench.entropy.huffman import CanonicalCode, huffman_code_lengths, kraft_sum
from vcmbench.errors import BitstreamError, UsageError


def brute_force_optimum(probabilities: list[float]) -> float:
    """Least Σ p·l over every length vector that satisfies Kraft's inequality (a prefix code exists)."""
    k = len(probabilities)
    best = math.inf
    for lengths in itertools.product(range(1, k), repeat=k):
        if sum(2.0 ** -length for length in lengths) <= 1.0:
            best = min(best, sum(p * length for p, length in zip(probabilities, lengths, strict=True)))
    return best


def uniform_optimum(k: int) -> float:
    """Known closed form for K equiprobable symbols: 2^(m+1) - K codewords of m bits, the rest m + 1."""
    m = k.bit_length() - 1
    return m + 2 * (k - 2**m) / k


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 50), min_size=2, max_size=5))
def test_huffman_average_length_equals_brute_force_optimum(weights):
    p = [w / sum(weights) for w in weights]
    lengths = huffman_code_lengths(weights)
    assert sum(pi * li for pi, li in zip(p, lengths, strict=True)) == pytest.approx(brute_force_optimum(p))
    assert kraft_sum(lengths) == 1.0


@pytest.mark.parametrize("k", [2, 3, 5, 10, 17, 40, 1000])
def test_uniform_code_meets_the_known_optimum(k):
    code = CanonicalCode.from_weights([1.0] * k)
    assert code.average_length([1 / k] * k) == pytest.approx(uniform_optimum(k))


def test_ten_digits_get_six_three_bit_and_four_four_bit_codewords():
    lengths = huffman_code_lengths([1] * 10)
    assert sorted(lengths) == [3] * 6 + [4] * 4  # 3.4 bits on average, below Table I's 3.6
    assert sum(lengths) / 10 < 3.6


def test_huffman_is_no_worse_than_entropy_plus_one():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.full(30, 0.3))
    lengths = huffman_code_lengths((p + 1e-9).tolist())
    entropy = -(p * np.log2(p + 1e-300)).sum()
    assert entropy <= float(np.dot(p, lengths)) < entropy + 1


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_canonical_code_round_trips(data):
    k = data.draw(st.integers(2, 300))
    weights = data.draw(st.lists(st.integers(1, 1000), min_size=k, max_size=k))
    symbols = np.array(data.draw(st.lists(st.integers(0, k - 1), max_size=200)), dtype=np.int64)
    code = CanonicalCode.from_weights(weights)
    stream = code.encode(symbols)
    assert len(stream) == (sum(code.lengths[s] for s in symbols) + 7) // 8
    assert np.array_equal(code.decode(stream, len(symbols)), symbols)


def test_canonical_codewords_are_prefix_free():
    code = CanonicalCode.from_weights([5, 1, 1, 3, 8, 2, 2])
    words = [format(int(c), f"0{n}b") for c, n in zip(code.codes, code.lengths, strict=True)]
    assert not any(a != b and b.startswith(a) for a in words for b in words)


def test_truncated_or_extended_streams_are_errors():
    code = CanonicalCode.from_weights([1] * 10)
    symbols = np.arange(10).repeat(3)
    stream = code.encode(symbols)
    with pytest.raises(BitstreamError):
        code.decode(stream[:-1], len(symbols))
    with pytest.raises(BitstreamError):
        code.decode(stream + b"\x00", len(symbols))
    with pytest.raises(BitstreamError):
        code.decode(stream, len(symbols) + 8)


def test_incomplete_length_tables_are_refused():
    with pytest.raises(BitstreamError, match="Kraft"):
        CanonicalCode((1, 2, 3))
    with pytest.raises(UsageError):
        huffman_code_lengths([1.0, 0.0])


def naive_bits(code: CanonicalCode, symbols: np.ndarray) -> str:
    """The codewords as a string of '0'/'1', written out one by one (the reference for the packer)."""
    return "".join(format(int(code.codes[s]), f"0{code.lengths[s]}b") for s in symbols)


def fibonacci_weights(k: int) -> list[int]:
    """Weights whose Huffman code is as deep as possible: lengths 1, 2, ..., k-1, k-1."""
    w = [1, 1]
    while len(w) < k:
        w.append(w[-1] + w[-2])
    return w


@pytest.mark.parametrize("k", [3, 20, 45, 57])
def test_deep_codes_round_trip_and_pack_exactly(k):
    code = CanonicalCode.from_weights(fibonacci_weights(k))
    assert code.max_length == k - 1  # beyond the decoder's prefix table: its search path runs too
    rng = np.random.default_rng(k)
    symbols = np.concatenate([rng.integers(0, k, 300), np.arange(k), [0, k - 1, 1]])
    stream = code.encode(symbols)
    bits = naive_bits(code, symbols)
    assert stream == int(bits + "0" * (-len(bits) % 8), 2).to_bytes((len(bits) + 7) // 8, "big")
    assert np.array_equal(code.decode(stream, len(symbols)), symbols)


def test_codes_deeper_than_the_decoder_reads_are_refused():
    with pytest.raises(UsageError, match="skewed"):
        CanonicalCode.from_weights(fibonacci_weights(60))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_every_truncation_or_extension_of_a_stream_is_an_error(data):
    k = data.draw(st.integers(2, 40))
    code = CanonicalCode.from_weights(data.draw(st.lists(st.integers(1, 1000), min_size=k, max_size=k)))
    symbols = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=60)))
    stream = code.encode(symbols)
    for cut in range(len(stream)):
        with pytest.raises(BitstreamError):
            code.decode(stream[:cut], len(symbols))
    with pytest.raises(BitstreamError):
        code.decode(stream + b"\x80", len(symbols))
