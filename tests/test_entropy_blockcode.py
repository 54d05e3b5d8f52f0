"""Fixed-length n-tuple codes and bit packing: exact sizes and exact round trips."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcmbench.entropy.bitio import pack_fields, unpack_fields
from vcmbench.entropy.blockcode import block_payload_bits, decode_tuples, encode_tuples, tuple_bits
from vcmbench.errors import BitstreamError


@pytest.mark.parametrize("k", [2, 3, 8, 10, 40, 1000, 1024])
@pytest.mark.parametrize("n", [1, 2, 3, 6, 10, 25])
def test_tuple_bits_is_the_least_b_with_two_to_the_b_at_least_k_to_the_n(k, n):
    b = tuple_bits(k, n)
    assert 2 ** (b - 1) < k**n <= 2**b


def test_three_digits_take_ten_bits():
    assert tuple_bits(10, 3) == math.ceil(3 * math.log2(10))
    assert Fraction(tuple_bits(10, 3), 3) < 4


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_tuples_round_trip_with_the_analytic_size(data):
    k = data.draw(st.integers(2, 1000))
    n = data.draw(st.integers(1, 12))
    symbols = np.array(data.draw(st.lists(st.integers(0, k - 1), max_size=60)), dtype=np.int64)
    stream = encode_tuples(symbols, k, n)
    full, rest = divmod(len(symbols), n)
    expected_bits = full * math.ceil(n * math.log2(k) - 1e-12) + (math.ceil(rest * math.log2(k) - 1e-12)
                                                                  if rest else 0)
    assert block_payload_bits(len(symbols), k, n) == expected_bits
    assert len(stream) == (expected_bits + 7) // 8
    assert np.array_equal(decode_tuples(stream, len(symbols), k, n), symbols)


def test_a_wrong_length_or_an_impossible_tuple_is_an_error():
    stream = encode_tuples(np.array([9, 9, 9, 1]), 10, 3)
    with pytest.raises(BitstreamError):
        decode_tuples(stream[:-1], 4, 10, 3)
    with pytest.raises(BitstreamError):
        decode_tuples(stream + b"\x00", 4, 10, 3)
    with pytest.raises(BitstreamError, match="beyond"):
        decode_tuples(b"\xff\xc0", 3, 10, 3)  # 1023 >= 10^3


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_fields_of_any_width_round_trip(data):
    width = data.draw(st.integers(1, 130))
    values = data.draw(st.lists(st.integers(0, 2**width - 1), max_size=30))
    stream = pack_fields(values, width)
    assert len(stream) == (len(values) * width + 7) // 8
    back = unpack_fields(stream, len(values), width, as_python_ints=True)
    assert back == values
    if width <= 63:
        assert np.array_equal(pack_fields(np.array(values, dtype=np.uint64), width), stream)


def test_non_zero_padding_is_an_error():
    with pytest.raises(BitstreamError, match="padding"):
        unpack_fields(b"\xf1", 1, 4)
