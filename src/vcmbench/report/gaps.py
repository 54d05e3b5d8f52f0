"""Bits above the rate-accuracy bound, for every operating point and at matched accuracies.

The bound at accuracy A is R(1 − A) of the label source: the uniform closed form (paper
eq. 4) and Blahut–Arimoto on the evaluated samples' label prior. Gaps are recomputed from
a record's bits and accuracy every time; nothing stored in a record is taken on trust.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from vcmbench import theory
from vcmbench.api.record import ResultRecord
from vcmbench.report.hull import bits_on_hull, lower_convex_hull


@dataclass(frozen=True)
class PointGap:
    suite: str
    dataset_id: str
    codec: str
    params: dict[str, Any]
    granularity: str
    bits_per_sample: float
    accuracy: float
    reference_accuracy: float
    bound_bits_uniform: float
    bound_bits_prior: float
    gap_bits: float  # bits − prior bound
    gap_ratio: float | None  # bits / prior bound; None where the bound is 0 bits
    bits_per_pixel: float | None
    estimated_bits_per_sample: float | None


@dataclass(frozen=True)
class LevelGap:
    """A codec's hull at one target accuracy, against the bound there."""

    suite: str
    dataset_id: str
    codec: str
    granularity: str
    accuracy: float
    bits_per_sample: float | None  # None: the codec never reaches this accuracy
    bound_bits_prior: float
    gap_bits: float | None
    gap_ratio: float | None


@lru_cache(maxsize=4096)
def _bound_prior(accuracy: float, counts: tuple[int, ...]) -> float:
    return float(theory.bound_bits(accuracy, list(counts)))


def bound_uniform(accuracy: float, num_classes: int) -> float:
    return float(theory.uniform_rate(num_classes, 1.0 - accuracy))


def bound_prior(accuracy: float, prior_counts: Iterable[int]) -> float:
    return _bound_prior(round(float(accuracy), 12), tuple(int(c) for c in prior_counts))


def _ratio(bits: float, bound: float) -> float | None:
    return bits / bound if bound > 1e-12 else None


def point_gaps(records: Iterable[ResultRecord]) -> list[PointGap]:
    """One row per successful record, in the order given."""
    rows = []
    for r in records:
        if r.status != "ok" or r.metrics is None:
            continue
        m = r.metrics
        bits = m.bits_total / m.samples  # recomputed, not read from bits_per_sample
        accuracy = m.correct / m.samples
        prior = bound_prior(accuracy, r.dataset.prior_counts)
        rows.append(PointGap(
            suite=r.suite, dataset_id=r.dataset.id, codec=r.codec.name, params=r.codec.params,
            granularity=r.codec.granularity, bits_per_sample=bits, accuracy=accuracy,
            reference_accuracy=r.task_model.reference_accuracy,
            bound_bits_uniform=bound_uniform(accuracy, r.dataset.num_classes),
            bound_bits_prior=prior, gap_bits=bits - prior, gap_ratio=_ratio(bits, prior),
            bits_per_pixel=bits / r.dataset.pixels_per_sample if r.dataset.pixels_per_sample else None,
            estimated_bits_per_sample=m.estimated_bits_per_sample,
        ))
    return rows


def codec_hulls(gaps: Iterable[PointGap]) -> dict[tuple[str, str, str], list[tuple[float, float]]]:
    """(suite, dataset, codec) -> hull over that codec's operating points."""
    points: dict[tuple[str, str, str], list[tuple[float, float]]] = defaultdict(list)
    for g in gaps:
        points[(g.suite, g.dataset_id, g.codec)].append((g.accuracy, g.bits_per_sample))
    return {key: lower_convex_hull(pts) for key, pts in points.items()}


def gaps_at_levels(records: Iterable[ResultRecord], levels: Iterable[float]) -> list[LevelGap]:
    """Each codec's rate at each target accuracy (on its hull) against the bound there."""
    records = [r for r in records if r.status == "ok"]
    gaps = point_gaps(records)
    prior_of = {(r.suite, r.dataset.id): r.dataset.prior_counts for r in records}
    granularity = {(g.suite, g.dataset_id, g.codec): g.granularity for g in gaps}
    rows = []
    for key, hull in sorted(codec_hulls(gaps).items()):
        suite, dataset_id, codec = key
        for level in levels:
            bound = bound_prior(level, prior_of[(suite, dataset_id)])
            bits = bits_on_hull(hull, level)
            rows.append(LevelGap(
                suite=suite, dataset_id=dataset_id, codec=codec, granularity=granularity[key],
                accuracy=level, bits_per_sample=bits, bound_bits_prior=bound,
                gap_bits=None if bits is None else bits - bound,
                gap_ratio=None if bits is None else _ratio(bits, bound),
            ))
    return rows
