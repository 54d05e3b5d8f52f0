"""The model-aware bound: the fewest bits any code of a given classifier's OUTPUT can spend for an accuracy.

The rate-accuracy bound R(1 − A) of the paper is reached by a *perfect* classifier followed by
an optimal code of its labels. A real classifier Ŷ = f(X) errs, and a code that sees only Ŷ is
coding a noisy observation of the true label Y: the indirect ("remote-source") rate-distortion
problem (Dobrushin & Tsybakov, IRE Trans. IT-8, 1962; Witsenhausen, IEEE Trans. IT-26, 1980;
Berger, *Rate Distortion Theory*, §3.5). Its answer is an ordinary rate-distortion function of
the source Ŷ under the *surrogate* distortion

    d'(ŷ, z) = E[1{Y ≠ z} | Ŷ = ŷ] = 1 − P(Y = z | Ŷ = ŷ),

because E[1{Y ≠ Z}] = E[d'(Ŷ, Z)] whenever Y → Ŷ → Z is a Markov chain. Everything comes from the
classifier's confusion matrix on the test set (``confusion[y][k]``: samples of true class y the
model calls k, :attr:`vcmbench.api.record.TaskRef.confusion`): the source distribution is the
column sums, d' the columns normalised. The bound is computed at report time, never stored.

Properties (the tests check each):

* never below the RA bound of the same test labels: I(Ŷ; Z) ≥ I(Y; Z) by data processing;
* a perfect classifier (diagonal confusion) gives the RA bound exactly (d' is Hamming);
* 0 bits up to the same accuracy as the RA bound (always answer the likeliest true class);
* its largest accuracy is the Bayes decision on Ŷ, Σ_ŷ max_y P(y, ŷ) — which can exceed the
  classifier's raw accuracy (a decoder that relabels a systematically confused class);
* when d' is an affine function of Hamming distortion (every column has the same diagonal share
  and the same off-diagonal share, e.g. the symmetric-noise classifier: uniform prior, Ŷ = Y with
  probability 1 − ε, else uniform over the other K − 1 classes), it is the Hamming R(D) of Ŷ at
  D_H = (D − α)/β in closed form (:func:`symmetric_noise_bits` for that classifier).

Otherwise it is Blahut–Arimoto on the dense K×K surrogate matrix, with the engine's certified
bracket. numpy only (scipy for Brent's method inside the engine).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

from vcmbench.errors import UsageError
from vcmbench.theory.blahut_arimoto import blahut_arimoto, default_slopes, rate_at_distortion
from vcmbench.theory.bounds import accuracy_rate_curve, bound_bits, check_accuracy
from vcmbench.theory.entropy import entropy_bits
from vcmbench.theory.uniform import uniform_rate

UNREACHABLE = math.inf  # the rate at an accuracy beyond the classifier's Bayes accuracy
SEARCH_ITERATIONS = 400  # Blahut–Arimoto evaluations per slope tried, at first (see _point)
WIDE_BRACKET = 5e-4  # bits (reports print 3): a wider certified bracket is narrowed with a larger budget


def check_confusion(confusion: ArrayLike) -> np.ndarray:
    """A K×K matrix of non-negative integer counts (K ≥ 2, not all zero), as int64; else a UsageError."""
    try:
        c = np.asarray(confusion, dtype=float)
    except (TypeError, ValueError):
        raise UsageError("a confusion matrix must be a K×K table of counts") from None
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 2:
        raise UsageError(f"a confusion matrix must be square with at least 2 classes, got shape {c.shape}")
    if not np.all(np.isfinite(c)) or np.any(c < 0) or np.any(c != np.round(c)):
        raise UsageError("a confusion matrix holds non-negative integer counts")
    if c.sum() <= 0:
        raise UsageError("the confusion matrix is all zero")
    if c.max() >= 2**52:
        raise UsageError("confusion counts beyond 2^52 are not exact as numbers")
    return c.astype(np.int64)


@dataclass(frozen=True)
class IndirectSource:
    """The source Ŷ and its surrogate distortion d'(ŷ, z), built from one confusion matrix.

    ``predicted`` lists the classes the model outputs at least once (the rows of ``distortion``);
    the reproduction alphabet is all K classes (the columns).
    """

    confusion: np.ndarray  # K×K counts, confusion[y][k]
    predicted: np.ndarray  # indices ŷ with a non-zero column
    prior: np.ndarray  # q(ŷ) over ``predicted``
    distortion: np.ndarray  # d'(ŷ, z): len(predicted) × K
    affine: tuple[float, float] | None  # (α, β) with d' = α + β·1{ŷ ≠ z} exactly, β > 0; else None

    @property
    def num_classes(self) -> int:
        return int(self.confusion.shape[0])

    @property
    def samples(self) -> int:
        return int(self.confusion.sum())

    @property
    def label_counts(self) -> np.ndarray:
        """Counts of the true labels (row sums): the source of the RA bound."""
        return self.confusion.sum(axis=1)

    @property
    def raw_accuracy(self) -> float:
        return float(np.trace(self.confusion)) / self.samples

    @property
    def bayes_correct(self) -> int:
        """Samples right under the best relabelling of Ŷ: Σ_ŷ max_y confusion[y][ŷ]."""
        return int(self.confusion.max(axis=0).sum())

    @property
    def bayes_accuracy(self) -> float:
        """The largest accuracy any code of Ŷ can reach, at any rate."""
        return self.bayes_correct / self.samples

    @property
    def zero_rate_accuracy(self) -> float:
        """Accuracy at 0 bits: always answer the likeliest true class (as for the RA bound)."""
        return float(self.label_counts.max()) / self.samples


def _affine(c: np.ndarray, predicted: np.ndarray, col: np.ndarray) -> tuple[float, float] | None:
    """(α, β) when every predicted column has the same diagonal share and the same off-diagonal share.

    Checked in exact integer arithmetic (shares compared by cross-multiplication), so a matrix is
    never called affine because of rounding. Classes never predicted are dominated reproductions
    (distortion α + β against every ŷ) and do not break the form.
    """
    k = c.shape[0]
    ref = int(predicted[0])
    diag_ref, col_ref = int(c[ref, ref]), int(col[ref])
    off_ref = next((int(c[z, ref]) for z in range(k) if z != ref), 0)
    for j in predicted.tolist():
        cj = int(col[j])
        if int(c[j, j]) * col_ref != diag_ref * cj:
            return None
        for z in range(k):
            if z != j and int(c[z, j]) * col_ref != off_ref * cj:
                return None
    alpha = 1.0 - diag_ref / col_ref
    beta = (diag_ref - off_ref) / col_ref
    return (alpha, beta) if beta > 0 else None


def indirect_source(confusion: ArrayLike) -> IndirectSource:
    """Ŷ's distribution (column sums) and d'(ŷ, z) = 1 − confusion[z][ŷ] / column sum."""
    c = check_confusion(confusion)
    col = c.sum(axis=0)
    predicted = np.nonzero(col > 0)[0]
    prior = col[predicted] / col.sum()
    d = 1.0 - c[:, predicted].T / col[predicted][:, None]
    return IndirectSource(c, predicted, prior, np.maximum(d, 0.0), _affine(c, predicted, col))


@dataclass(frozen=True)
class ModelAwarePoint:
    """The model-aware bound at one accuracy: R certified to lie in [rate_lower_bits, rate_upper_bits]."""

    accuracy: float
    rate_bits: float  # math.inf beyond the Bayes accuracy
    rate_lower_bits: float
    rate_upper_bits: float
    method: str  # "zero-rate", "affine-hamming", "blahut-arimoto", "bayes-decision", "unreachable"


def _beyond(src: IndirectSource, accuracy: float) -> bool:
    # A > bayes_correct / n, compared without the division's rounding where the accuracy is a ratio
    return accuracy * src.samples > src.bayes_correct + 1e-9


def _point(src: IndirectSource, accuracy: float, tol: float) -> ModelAwarePoint:
    a = check_accuracy(accuracy)
    if _beyond(src, a):
        return ModelAwarePoint(a, UNREACHABLE, UNREACHABLE, UNREACHABLE, "unreachable")
    if a <= src.zero_rate_accuracy:
        return ModelAwarePoint(a, 0.0, 0.0, 0.0, "zero-rate")
    if src.affine is not None:
        alpha, beta = src.affine
        d_h = min(max((1.0 - a - alpha) / beta, 0.0), 1.0)
        r = float(bound_bits(1.0 - d_h, src.prior))
        return ModelAwarePoint(a, r, r, r, "affine-hamming")
    if a * src.samples >= src.bayes_correct - 1e-9:  # the top of the curve: the Bayes decision's entropy
        r = _rate_at_bayes(src)
        return ModelAwarePoint(a, r, r, r, "bayes-decision")
    # Each Blahut–Arimoto run inside the slope search stops after a budget of evaluations: the search's
    # early, off-target slopes need no precision, the final slope is warm-started from its neighbours,
    # and the bracket is certified whatever the budget (K = 100: 0.5 s, not 50 s). Where the bracket
    # is still wider than WIDE_BRACKET bits (classes leaving the support: BA's slow regime), the
    # budget grows tenfold.
    for budget in (SEARCH_ITERATIONS, 10 * SEARCH_ITERATIONS, 100 * SEARCH_ITERATIONS):
        point = rate_at_distortion(src.prior, 1.0 - a, src.distortion, tol=tol, max_iter=budget)
        if point.gap_bits <= WIDE_BRACKET:
            break
    return ModelAwarePoint(a, point.rate_bits, point.rate_lower_bits, point.rate_upper_bits, "blahut-arimoto")


@lru_cache(maxsize=8192)
def _cached(accuracy: float, counts: tuple[tuple[int, ...], ...], tol: float) -> ModelAwarePoint:
    return _point(indirect_source(counts), accuracy, tol)


def _key(confusion: ArrayLike) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(v) for v in row) for row in check_confusion(confusion))


def model_aware_point(accuracy: float, confusion: ArrayLike, tol: float = 1e-7) -> ModelAwarePoint:
    """The model-aware bound at ``accuracy`` with its certified bracket (memoised per matrix and accuracy)."""
    return _cached(round(check_accuracy(accuracy), 12), _key(confusion), float(tol))


def model_aware_bits(accuracy: float, confusion: ArrayLike, tol: float = 1e-7) -> float:
    """Fewest bits/sample any code of the classifier's output needs for ``accuracy`` (inf: out of reach)."""
    return model_aware_point(accuracy, confusion, tol).rate_bits


def model_aware_curve(confusion: ArrayLike, num_points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy ascending, bits) from the zero-rate accuracy (0 bits) to the Bayes accuracy.

    Affine surrogate: the Hamming curve of Ŷ mapped through D = α + β·D_H. Otherwise
    Blahut–Arimoto on the dense matrix at ``num_points − 2`` slopes (those of the Hamming curve
    divided by the mean spread of d', so they cover the range), plus both end points.
    """
    if num_points < 3:
        raise UsageError("a curve needs at least 3 points")
    src = indirect_source(confusion)
    if src.affine is not None:
        alpha, beta = src.affine
        acc_h, rate = accuracy_rate_curve(src.prior, num_points)
        return 1.0 - (alpha + beta * (1.0 - acc_h)), rate
    spread = float(np.mean(src.distortion.max(axis=1) - src.distortion.min(axis=1)))
    slopes = default_slopes(src.prior, num_points - 2) / max(spread, 1e-6)
    curve = blahut_arimoto(src.prior, src.distortion, slopes=slopes, max_iter=20 * SEARCH_ITERATIONS)
    acc = 1.0 - curve.distortion
    keep = (acc > src.zero_rate_accuracy) & (acc <= src.bayes_accuracy)
    top_rate = _rate_at_bayes(src)
    accs = np.concatenate(([src.zero_rate_accuracy], acc[keep][::-1], [src.bayes_accuracy]))
    rates = np.concatenate(([0.0], curve.rate[keep][::-1], [top_rate]))
    order = np.argsort(accs, kind="stable")
    return accs[order], np.maximum.accumulate(rates[order])


def _rate_at_bayes(src: IndirectSource) -> float:
    """R at the Bayes accuracy: the entropy of the Bayes decision z(ŷ) when it is unique for every ŷ;
    with ties, the smallest such entropy over the tie-breaks (few classes tie; tried exhaustively up
    to 2^12 choices, otherwise the Blahut–Arimoto bracket's upper end at D_min)."""
    best = src.distortion.min(axis=1)
    choices = [np.nonzero(row <= b)[0] for row, b in zip(src.distortion, best, strict=True)]
    combos = math.prod(len(c) for c in choices)
    if combos <= 4096:
        lowest = math.inf
        for pick in np.array(np.meshgrid(*choices, indexing="ij")).reshape(len(choices), -1).T:
            mass = np.bincount(pick, weights=src.prior, minlength=src.num_classes)
            lowest = min(lowest, entropy_bits(mass[mass > 0]) if (mass > 0).sum() > 1 else 0.0)
        return float(lowest)
    d_min = float(src.prior @ best) * (1 + 1e-12)  # just above the engine's own rounding of D_min
    return rate_at_distortion(src.prior, d_min, src.distortion).rate_upper_bits


def symmetric_noise_confusion(num_classes: int, per_class: int, errors_per_class: int) -> np.ndarray:
    """The symmetric-noise classifier as counts: each class has ``per_class`` samples, of which
    ``errors_per_class`` (a multiple of K − 1) are spread evenly over the other classes."""
    k = int(num_classes)
    if k < 2 or errors_per_class % (k - 1) or not 0 <= errors_per_class <= per_class:
        raise UsageError("errors_per_class must be a multiple of K − 1 in [0, per_class]")
    off = errors_per_class // (k - 1)
    c = np.full((k, k), off, dtype=np.int64)
    np.fill_diagonal(c, per_class - errors_per_class)
    return c


def symmetric_noise_bits(num_classes: int, error: float, accuracy: float) -> float:
    """Closed form for the symmetric-noise classifier (uniform prior, Ŷ = Y w.p. 1 − ε, else uniform over
    the other K − 1 classes), derived in the module notes:

        d' = ε + β·1{ŷ ≠ z}, β = 1 − εK/(K − 1);  R(A) = R_K((1 − ε − A)/β)  for 1/K ≤ A ≤ 1 − ε,

    R_K the uniform K-ary Hamming R(D) of paper eq. 4. 0 below 1/K, inf above 1 − ε (ε < (K − 1)/K).
    """
    k = int(num_classes)
    eps = float(error)
    a = check_accuracy(accuracy)
    if k < 2 or not 0.0 <= eps < (k - 1) / k:
        raise UsageError("need K ≥ 2 and 0 ≤ ε < (K − 1)/K")
    if a > 1.0 - eps + 1e-12:
        return UNREACHABLE
    if a <= 1.0 / k:
        return 0.0
    beta = 1.0 - eps * k / (k - 1)
    return float(uniform_rate(k, min(max((1.0 - eps - a) / beta, 0.0), 1.0 - 1.0 / k)))
