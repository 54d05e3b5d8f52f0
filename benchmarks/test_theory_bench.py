"""Speed of the bound: Blahut–Arimoto curves (Hamming, O(K) per iteration) and the per-point bound.

Targets on one core: a 200-slope Hamming curve for K = 1,000 in < 0.5 s and for K = 100,000 in < 30 s;
``bound_bits`` for K = 10 in ≤ 10 ms; the command ``vcmbench bound --classes 10 --accuracy 0.9`` from
process start to exit in < 1 s (it imports numpy and the theory, never torch). Priors are seeded
Dirichlet(1) draws, far from uniform (a uniform prior converges in one evaluation and would time
nothing). Each curve is also checked against the exact water-filling R(D), so a fast wrong answer fails.
Run: ``python -m pytest benchmarks/test_theory_bench.py --benchmark-only``.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from vcmbench.theory import RDCurve, blahut_arimoto, bound_bits, hamming_rate

TARGET_SECONDS = {10: 0.5, 1_000: 0.5, 100_000: 30.0}


def dirichlet_prior(k: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(k))


def check_curve(curve: RDCurve, prior: np.ndarray) -> None:
    assert np.all(curve.converged)
    np.testing.assert_allclose(curve.rate, hamming_rate(prior, curve.distortion), atol=1e-9)


@pytest.mark.parametrize("k", [10, 1_000, 100_000])
def test_hamming_curve_200_slopes(benchmark, k: int) -> None:
    prior = dirichlet_prior(k)
    rounds = 1 if k >= 100_000 else 5
    curve = benchmark.pedantic(blahut_arimoto, args=(prior,), kwargs={"num_slopes": 200}, rounds=rounds,
                               iterations=1)
    check_curve(curve, prior)
    assert benchmark.stats.stats.mean < TARGET_SECONDS[k]


@pytest.mark.parametrize("k", [10, 1_000])
def test_hamming_curve_textbook_uniform_start(benchmark, k: int) -> None:
    """The same curve started from a uniform output distribution (warm-started slope to slope):
    BA's own convergence, for the record. 20 slopes, bracket 1e-8 bits."""
    prior = dirichlet_prior(k)
    curve = benchmark.pedantic(blahut_arimoto, args=(prior,),
                               kwargs={"num_slopes": 20, "tol": 1e-8, "init": "uniform"},
                               rounds=1, iterations=1)
    assert np.all(curve.converged)
    np.testing.assert_allclose(curve.rate, hamming_rate(prior, curve.distortion), atol=1e-8)


def test_dense_generic_matrix_k1000(benchmark) -> None:
    """K = 1,000 with a dense K×K matrix (Hamming written out, so the answer is known): 10 slopes."""
    k = 1_000
    prior = np.random.default_rng(1).integers(40, 61, size=k).astype(float)
    matrix = 1.0 - np.eye(k)
    slopes = np.linspace(-14.0, -2.0, 10)
    curve = benchmark.pedantic(blahut_arimoto, args=(prior, matrix), kwargs={"slopes": slopes, "tol": 1e-8},
                               rounds=1, iterations=1)
    assert np.all(curve.converged)
    np.testing.assert_allclose(curve.rate, hamming_rate(prior, curve.distortion), atol=1e-8)


def test_bound_bits_k10(benchmark) -> None:
    counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    bits = benchmark(bound_bits, 0.9944, counts)
    assert bits == pytest.approx(float(hamming_rate(counts, 1 - 0.9944)), abs=1e-9)
    assert benchmark.stats.stats.mean < 0.010


def test_bound_command_start_up(benchmark) -> None:
    """A whole `vcmbench bound` process: what a user waits for at the prompt."""
    argv = [sys.executable, "-m", "vcmbench", "bound", "--classes", "10", "--accuracy", "0.9", "--json"]

    def once() -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120).stdout

    out = benchmark.pedantic(once, rounds=5, iterations=1)
    assert '"method": "closed-form"' in out
    assert benchmark.stats.stats.mean < 1.0
