"""One-symbol range code: round trip, under a byte above the information, forgeries refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vcmbench.entropy.symbolcode import MAX_BYTES, TOTAL, SymbolCode, quantize
from vcmbench.errors import BitstreamError, DataError


def random_tables(count: int = 40, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    tables = []
    for _ in range(count):
        k = int(rng.integers(1, 40))
        tables.append(quantize(rng.dirichlet(np.full(k, 0.3))))
    tables.append(quantize([1.0, 1e-12, 1e-12]))  # symbols far rarer than 2^-16 need 3 bytes
    return tables


def test_quantize_gives_integers_summing_to_the_precision_every_symbol_codable() -> None:
    for freqs in random_tables():
        assert freqs.dtype.kind == "i" and int(freqs.sum()) == TOTAL and freqs.min() >= 1
    p = np.array([0.5, 0.25, 0.125, 0.125])
    assert quantize(p).tolist() == quantize(p * 3).tolist()  # only the ratios matter
    with pytest.raises(ValueError):
        quantize([0.0, 0.0])


@pytest.mark.parametrize("index", range(41))
def test_every_symbol_round_trips_within_a_byte_of_its_information(index: int) -> None:
    code = SymbolCode(random_tables()[index])
    lengths = []
    for s in range(len(code)):
        data = code.encode(s)
        assert code.decode(data) == s
        info = code.information_bits(s)
        # the shortest whole-byte stream: ceil(info / 8) bytes at most, i.e. under a byte of framing
        assert len(data) <= math.ceil(info / 8 - 1e-9) and 8 * len(data) < info + 8
        lengths.append(len(data))
    likeliest = int(np.argmax(code.freqs))
    assert code.encode(likeliest) == b""  # its interval starts at 0: nothing to send
    assert max(lengths) <= MAX_BYTES and len(set(map(code.encode, range(len(code))))) == len(code)


def test_symbols_likelier_than_one_in_256_cost_one_byte() -> None:
    code = SymbolCode(quantize([0.4, 0.3, 0.2, 0.1 - 2e-3, 1e-3, 1e-3]))
    assert [len(code.encode(s)) for s in range(6)] == [0, 1, 1, 1, 2, 2]


def test_two_tables_from_the_same_probabilities_are_identical() -> None:
    p = np.random.default_rng(3).dirichlet(np.ones(32))
    a, b = SymbolCode(quantize(p)), SymbolCode(quantize(p.copy()))
    assert a.sha256() == b.sha256()
    assert [a.encode(s) for s in range(32)] == [b.encode(s) for s in range(32)]
    c = SymbolCode(quantize(p[::-1]))
    assert c.sha256() != a.sha256()


def test_forged_or_damaged_streams_are_refused_in_one_line() -> None:
    code = SymbolCode(quantize([0.5, 0.3, 0.2]))
    canonical = {code.encode(s) for s in range(3)}
    forged = [b"\x00", b"\x80\x00", bytes(4), b"\xff\xff\xff\xff\xff"]
    forged += [bytes([v]) for v in range(256) if bytes([v]) not in canonical][:20]
    for data in forged:
        with pytest.raises(BitstreamError) as err:
            code.decode(data)
        assert "\n" not in str(err.value)


def test_bad_tables_are_refused() -> None:
    with pytest.raises(DataError):
        SymbolCode([TOTAL - 1, 0, 1])  # a symbol without an interval
    with pytest.raises(DataError):
        SymbolCode([TOTAL // 2, TOTAL // 4])  # does not sum to 2^24
    with pytest.raises(DataError):
        SymbolCode(np.array([0.5, 0.5]))  # floats are not a table
    with pytest.raises(ValueError):
        SymbolCode(quantize([0.5, 0.5])).encode(2)
