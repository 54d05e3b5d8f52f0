from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vcmbench.entropy.framing import (
    MAX_SYMBOLS,
    pack_array,
    read_count,
    read_varint,
    unpack_array,
    write_varint,
)
from vcmbench.errors import BitstreamError


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_varint_round_trip(value):
    data = write_varint(value)
    assert read_varint(data) == (value, len(data))


def test_varint_sizes_are_minimal():
    assert len(write_varint(127)) == 1 and len(write_varint(128)) == 2 and len(write_varint(16383)) == 2


def test_truncated_varint_is_an_error():
    with pytest.raises(BitstreamError):
        read_varint(write_varint(300)[:1])


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.int64])
def test_array_round_trip_keeps_dtype_and_shape(dtype):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    b = unpack_array(pack_array(a))
    assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b)


def test_array_with_wrong_payload_length_is_an_error():
    data = pack_array(np.zeros((4, 4), np.uint8))
    with pytest.raises(BitstreamError):
        unpack_array(data[:-1])
    with pytest.raises(BitstreamError):
        unpack_array(data + b"\0")
    with pytest.raises(BitstreamError):
        unpack_array(b"\xff\x01")


def test_array_shapes_are_checked_with_exact_arithmetic():
    # 2^62 × 4 × 16 wraps to 0 in int64: the payload of a 16-byte array must not pass for it
    payload = pack_array(np.zeros(16, np.uint8))[3:]
    header = bytes([0, 3]) + write_varint(1 << 62) + write_varint(4) + write_varint(16)
    with pytest.raises(BitstreamError, match="header says"):
        unpack_array(header + payload)
    with pytest.raises(BitstreamError):  # empty, but with extents numpy cannot even describe
        unpack_array(bytes([0, 3]) + write_varint(0) + write_varint(1 << 40) + write_varint(1 << 40))
    with pytest.raises(BitstreamError):  # more dimensions than any array has
        unpack_array(bytes([0, 200]) + b"\x01" * 200 + b"\x00")
    assert unpack_array(pack_array(np.zeros((0, 3), np.int16))).shape == (0, 3)


def test_boolean_arrays_hold_only_zeros_and_ones():
    data = bytearray(pack_array(np.array([True, False, True])))
    data[-1] = 7
    with pytest.raises(BitstreamError, match="boolean"):
        unpack_array(bytes(data))


def test_counts_beyond_the_cap_are_refused():
    assert read_count(write_varint(MAX_SYMBOLS)) == (MAX_SYMBOLS, len(write_varint(MAX_SYMBOLS)))
    with pytest.raises(BitstreamError, match="at most"):
        read_count(write_varint(MAX_SYMBOLS + 1))
