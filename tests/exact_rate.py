"""R(D) of a discrete source under Hamming distortion in 60-digit arithmetic (mpmath): the reference
the certified brackets are checked against, so no test depends on the last bit of a double.

It evaluates the water-filling solution (Erokhin 1958) independently of vcmbench.theory.hamming:
the prior's doubles are taken as exact rationals, the active set is found by scanning k, and
R = −Σ_A p·ln p + P_A·ln(1 − D) + (D − 1 + P_A)·ln(θ/(1 − D)) nats with θ = (P_A − 1 + D)/(k − 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath

DIGITS = 60


def exact_hamming_rate_bits(prior: Sequence[float], distortion: float) -> mpmath.mpf:
    """R(distortion) in bits of the normalised ``prior`` (each double read exactly), to ~60 digits."""
    with mpmath.workdps(DIGITS):
        raw = [mpmath.mpf(float(v)) for v in prior if float(v) > 0]
        total = mpmath.fsum(raw)
        p = sorted((v / total for v in raw), reverse=True)
        d = mpmath.mpf(float(distortion))
        if d >= 1 - p[0] or len(p) < 2:
            return mpmath.mpf(0)
        if d == 0:
            return -mpmath.fsum(v * mpmath.log(v) for v in p) / mpmath.log(2)
        cum = mpmath.mpf(0)
        for k, pk in enumerate(p, start=1):
            cum += pk
            if k < 2:
                continue
            theta = (cum - 1 + d) / (k - 1)
            nxt = p[k] if k < len(p) else mpmath.mpf(0)
            if nxt <= theta < pk:
                head = -mpmath.fsum(v * mpmath.log(v) for v in p[:k])
                lam = theta / (1 - d)
                nats = head + cum * mpmath.log(1 - d) + (d - 1 + cum) * mpmath.log(lam)
                return max(nats, mpmath.mpf(0)) / mpmath.log(2)
        raise AssertionError(f"no active set found for D = {distortion}")


def contains(lower: float, value: mpmath.mpf, upper: float) -> bool:
    """lower ≤ value ≤ upper, compared exactly (the doubles converted without rounding)."""
    with mpmath.workdps(DIGITS):
        return mpmath.mpf(float(lower)) <= value <= mpmath.mpf(float(upper))
