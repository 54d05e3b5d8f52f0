"""The damaged streams a decoder must survive: every cut, flipped bits, a hostile header, extra bytes.

Each case is reproducible from the stream and a seed. Counts and shapes usually sit in the first
bytes, so besides random flips every bit of the first four bytes is flipped in turn and the
first bytes are overwritten with 0xff (the largest count a varint or big-endian field can
claim): that is where a decoder that believes its header allocates for it.
"""

from __future__ import annotations

import numpy as np

HEADER_BYTES = 4


def _flip(stream: bytes, bits: np.ndarray) -> bytes:
    out = bytearray(stream)
    for bit in bits.tolist():
        out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


def prefixes(length: int, max_prefixes: int) -> list[int]:
    """Every cut 0..length-1, or, for a long stream, ``max_prefixes`` spread out plus the last 32."""
    if length <= max_prefixes:
        return list(range(length))
    spread = np.linspace(0, length - 1, max_prefixes).astype(int).tolist()
    return sorted(set(spread) | set(range(max(0, length - 32), length)))


def damage_cases(stream: bytes, *, flips: int = 64, seed: int = 0,
                 max_prefixes: int = 512) -> list[tuple[str, bytes]]:
    """(description, damaged stream) pairs, each different from ``stream``."""
    n = len(stream)
    cases = [(f"cut to {c} of {n} bytes", stream[:c]) for c in prefixes(n, max_prefixes)]
    if n:
        for bit in range(min(n, HEADER_BYTES) * 8):
            cases.append((f"header bit {bit} flipped", _flip(stream, np.array([bit]))))
        for k in range(1, min(n, 8) + 1):
            cases.append((f"first {k} byte(s) set to 0xff", b"\xff" * k + stream[k:]))
        rng = np.random.default_rng([seed, n])
        for _ in range(flips):
            bit = rng.integers(0, 8 * n, size=1)
            cases.append((f"bit {int(bit[0])} flipped", _flip(stream, bit)))
        for _ in range(max(1, flips // 4)):
            bits = rng.choice(8 * n, size=min(8 * n, int(rng.integers(2, 9))), replace=False)
            cases.append((f"{len(bits)} bits flipped ({', '.join(map(str, sorted(bits.tolist())))})",
                          _flip(stream, bits)))
    cases.append(("a zero byte appended", stream + b"\x00"))
    tail = bytes(np.random.default_rng([seed, n, 1]).integers(0, 256, 8, dtype=np.uint8))
    cases.append(("8 random bytes appended", stream + tail))
    return [(label, data) for label, data in cases if data != stream]
