"""Bits above the rate-accuracy bound, for every operating point and at matched accuracies.

The bound at accuracy A is R(1 − A) of the label source: the uniform closed form (paper
eq. 4) and Blahut–Arimoto on the evaluated samples' label prior. Gaps are recomputed from
a record's bits and accuracy every time; nothing stored in a record is taken on trust,
including its confidence interval (recomputed from correct / samples).

Records are grouped by (suite, dataset id, dataset fingerprint): a ``--limit`` run keeps the
dataset id but not the test set, and two test sets never share a curve. Each group's hulls
include the free point (0 bits, always guessing the training split's most likely class)
when every record of the group names the same training-split counts.

Where a record carries its task model's confusion matrix (schema 3), every gap is also split in
two at the *model-aware* bound (:mod:`vcmbench.theory.model_aware`: the fewest bits any code of
that classifier's output can spend): "classifier" = model-aware bound − RA bound (what the
classifier's errors cost, whatever the code) and "code" = bits − model-aware bound (what the code
leaves on the table). The code part can be negative for a codec that does not code the
classifier's output (an image codec decoded by the same model may, by luck, beat it). Without a
confusion matrix there is no model-aware bound and the reports say so; nothing is guessed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vcmbench.api.record import ResultRecord
from vcmbench.report.bounds import bound_model_aware, bound_prior, bound_uniform, lowest_possible_bits
from vcmbench.report.hull import Point, achievable_hull, bits_on_hull, free_class, free_point
from vcmbench.theory.confidence import CONFIDENCE, clopper_pearson
from vcmbench.theory.model_aware import indirect_source

NO_CONFUSION = "no model-aware bound (record has no confusion matrix)"

GroupKey = tuple[str, str, str]  # (suite, dataset id, dataset fingerprint)

__all__ = [
    "CONFIDENCE", "NO_CONFUSION", "FreePoint", "GroupKey", "LevelGap", "ModelAware", "PointGap",
    "bound_prior", "bound_uniform", "codec_hulls", "gaps_at_levels", "group_free_point", "group_key",
    "group_model_aware", "group_records", "point_gaps",
]


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
    dataset_fingerprint: str = ""
    correct: int = 0
    samples: int = 0
    # Clopper–Pearson interval of the accuracy at CONFIDENCE, and the prior bound read at its ends:
    # the range the bound (and so the gap) can take given the test set's size.
    accuracy_low: float = 0.0
    accuracy_high: float = 1.0
    bound_bits_low: float = 0.0  # bound at accuracy_low
    bound_bits_high: float = 0.0  # bound at accuracy_high
    impossible: bool = False  # below the lowest rate any code can show at this accuracy
    lowest_possible_bits: float | None = None  # computed where the point is at or below the bound
    # The model-aware split (None without a confusion matrix, or past the classifier's reach):
    model_aware_bits: float | None = None  # fewest bits any code of the classifier's output needs here
    classifier_gap_bits: float | None = None  # model_aware_bits − bound_bits_prior (≥ 0)
    code_gap_bits: float | None = None  # bits_per_sample − model_aware_bits
    beyond_classifier: bool = False  # accuracy above the classifier's Bayes accuracy: no code of Ŷ reaches it

    @property
    def group(self) -> GroupKey:
        return (self.suite, self.dataset_id, self.dataset_fingerprint)


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
    dataset_fingerprint: str = ""
    model_aware_bits: float | None = None  # None: no confusion matrix, or beyond the classifier's reach
    classifier_gap_bits: float | None = None
    code_gap_bits: float | None = None
    beyond_classifier: bool = False  # the level lies above the classifier's Bayes accuracy


@dataclass(frozen=True)
class ModelAware:
    """A group's model-aware bound: the confusion matrix all its records share, or why there is none."""

    confusion: tuple[tuple[int, ...], ...] | None
    raw_accuracy: float | None
    bayes_accuracy: float | None
    note: str  # one sentence for tables

    def split(self, accuracy: float, rate_bits: float | None, prior_bits: float) -> tuple[
            float | None, float | None, float | None]:
        """(model-aware bound, classifier gap, code gap) at ``accuracy``; Nones where undefined."""
        return _split(self.confusion, accuracy, rate_bits, prior_bits)


def _split(confusion: tuple[tuple[int, ...], ...] | None, accuracy: float, rate_bits: float | None,
           prior_bits: float) -> tuple[float | None, float | None, float | None]:
    if confusion is None:
        return None, None, None
    bound = bound_model_aware(accuracy, confusion)
    if bound is None:
        return None, None, None
    # The classifier part is ≥ 0 in exact arithmetic; clip the two solvers' last-digit disagreement.
    classifier = max(bound - prior_bits, 0.0)
    return bound, classifier, None if rate_bits is None else rate_bits - bound


def _confusion_key(r: ResultRecord) -> tuple[tuple[int, ...], ...] | None:
    c = r.task_model.confusion
    return None if c is None else tuple(tuple(int(v) for v in row) for row in c)


def group_model_aware(records: Sequence[ResultRecord]) -> ModelAware:
    """The model-aware bound of a group: every successful record must carry the same confusion matrix."""
    records = [r for r in records if r.status == "ok"] or list(records)
    keys = {_confusion_key(r) for r in records}
    if not records or None in keys:
        return ModelAware(None, None, None, NO_CONFUSION)
    if len(keys) > 1:
        return ModelAware(None, None, None,
                          "no model-aware bound (the records carry different confusion matrices)")
    confusion = keys.pop()
    assert confusion is not None
    src = indirect_source(confusion)
    model = records[0].task_model.id
    return ModelAware(confusion, src.raw_accuracy, src.bayes_accuracy,
                      f"model-aware bound: fewest bits any code of task model {model}'s output can spend "
                      f"(its confusion matrix on these test samples; raw accuracy {src.raw_accuracy:.4f}, "
                      f"best reachable by any code of its output {src.bayes_accuracy:.4f}); gap = "
                      "classifier (model-aware − RA bound) + code (bits − model-aware)")


@dataclass(frozen=True)
class FreePoint:
    """The free operating point of a group of records, or why there is none."""

    point: Point | None
    guess_class: int | None
    train_samples: int | None
    note: str  # one sentence for tables: what the point is, or why it is missing


def group_key(record: ResultRecord) -> GroupKey:
    return (record.suite, record.dataset.id, record.dataset.fingerprint)


def group_records(records: Iterable[ResultRecord]) -> dict[GroupKey, list[ResultRecord]]:
    """Records by (suite, dataset id, fingerprint), in first-seen order."""
    groups: dict[GroupKey, list[ResultRecord]] = {}
    for r in records:
        groups.setdefault(group_key(r), []).append(r)
    return groups


def group_free_point(records: Sequence[ResultRecord]) -> FreePoint:
    """The free point shared by a group's records: they must agree on the training split's counts."""
    if not records:
        return FreePoint(None, None, None, "no free point: no records")
    counts = {None if r.dataset.train_prior_counts is None else tuple(r.dataset.train_prior_counts)
              for r in records}
    if len(counts) > 1:
        return FreePoint(None, None, None,
                         "no free point: the records name different training splits (train_prior_counts)")
    train = counts.pop()
    if train is None:
        return FreePoint(None, None, None,
                         "no free point: the records carry no training-split counts (schema 1 records, or "
                         "a suite without a training split)")
    first = records[0].dataset
    point = free_point(first.prior_counts, train)
    if point is None:
        return FreePoint(None, None, None, "no free point: training counts do not match the classes")
    c = free_class(train)
    return FreePoint(point, c, sum(train),
                     f"free point: 0 bits at accuracy {point[0]:.4f} (always guess class {c}, the most "
                     f"frequent of the {sum(train):,} training samples; time-sharing with it is always "
                     "possible)")


def _ratio(bits: float, bound: float) -> float | None:
    return bits / bound if bound > 1e-12 else None


def point_gap(r: ResultRecord) -> PointGap:
    """The gap of one successful record, with its interval and whether the point is possible at all."""
    m = r.metrics
    assert m is not None
    bits = m.bits_total / m.samples  # recomputed, not read from bits_per_sample
    accuracy = m.correct / m.samples
    counts = r.dataset.prior_counts
    prior = bound_prior(accuracy, counts)
    low, high = clopper_pearson(m.correct, m.samples)
    confusion = _confusion_key(r)
    model_aware, classifier, code = _split(confusion, accuracy, bits, prior)
    floor = None
    if bits <= prior:  # only a point at or below the bound can be impossible; the bracket costs a solve
        floor = lowest_possible_bits(accuracy, counts, m.bits_total, m.blocks, m.samples)
    return PointGap(
        suite=r.suite, dataset_id=r.dataset.id, codec=r.codec.name, params=r.codec.params,
        granularity=r.codec.granularity, bits_per_sample=bits, accuracy=accuracy,
        reference_accuracy=r.task_model.reference_accuracy,
        bound_bits_uniform=bound_uniform(accuracy, r.dataset.num_classes),
        bound_bits_prior=prior, gap_bits=bits - prior, gap_ratio=_ratio(bits, prior),
        bits_per_pixel=bits / r.dataset.pixels_per_sample if r.dataset.pixels_per_sample else None,
        estimated_bits_per_sample=m.estimated_bits_per_sample,
        dataset_fingerprint=r.dataset.fingerprint, correct=m.correct, samples=m.samples,
        accuracy_low=low, accuracy_high=high,
        bound_bits_low=bound_prior(low, counts), bound_bits_high=bound_prior(high, counts),
        impossible=floor is not None and bits < floor, lowest_possible_bits=floor,
        model_aware_bits=model_aware, classifier_gap_bits=classifier, code_gap_bits=code,
        beyond_classifier=confusion is not None and model_aware is None,
    )


def impossible_message(g: PointGap) -> str:
    """One line saying why a point cannot be a measurement."""
    return (f"{g.codec} {g.params}: {g.bits_per_sample:.4f} bits/sample at accuracy {g.accuracy:.4f} is "
            f"below the rate-accuracy bound ({g.bound_bits_prior:.4f} bits; no code can show fewer than "
            f"{g.lowest_possible_bits:.4f}): IMPOSSIBLE — the record or its sample file was edited, or the "
            "codec used the test data")


def point_gaps(records: Iterable[ResultRecord]) -> list[PointGap]:
    """One row per successful classification record, in the order given.

    Records of tasks ranked by another metric (detection: mAP) are left out: their labels are not
    the source the classification bound is for (see :mod:`vcmbench.report.detection`).
    """
    return [point_gap(r) for r in records
            if r.status == "ok" and r.metrics is not None and r.task_model.metric == "accuracy"]


def codec_hulls(gaps: Iterable[PointGap], free: dict[GroupKey, Point | None] | None = None
                ) -> dict[tuple[str, str, str, str], list[Point]]:
    """(suite, dataset, fingerprint, codec) -> achievable hull (with the group's free point, when given)."""
    points: dict[tuple[str, str, str, str], list[Point]] = defaultdict(list)
    for g in gaps:
        points[(*g.group, g.codec)].append((g.accuracy, g.bits_per_sample))
    free = free or {}
    return {key: achievable_hull(pts, free.get(key[:3])) for key, pts in points.items()}


def gaps_at_levels(records: Iterable[ResultRecord], levels: Iterable[float]) -> list[LevelGap]:
    """Each codec's rate at each target accuracy (on its achievable hull) against the bound there."""
    levels = list(levels)
    rows = []
    for key, group in group_records(r for r in records if r.status == "ok").items():
        gaps = point_gaps(group)
        free = {key: group_free_point(group).point}
        aware = group_model_aware(group)
        prior = group[0].dataset.prior_counts
        granularity = {g.codec: g.granularity for g in gaps}
        for hull_key, hull in sorted(codec_hulls(gaps, free).items()):
            codec = hull_key[3]
            for level in levels:
                bound = bound_prior(level, prior)
                bits = bits_on_hull(hull, level)
                model_aware, classifier, code = aware.split(level, bits, bound)
                rows.append(LevelGap(
                    suite=key[0], dataset_id=key[1], codec=codec, granularity=granularity[codec],
                    accuracy=level, bits_per_sample=bits, bound_bits_prior=bound,
                    gap_bits=None if bits is None else bits - bound,
                    gap_ratio=None if bits is None else _ratio(bits, bound), dataset_fingerprint=key[2],
                    model_aware_bits=model_aware, classifier_gap_bits=classifier, code_gap_bits=code,
                    beyond_classifier=aware.confusion is not None and model_aware is None,
                ))
    return rows
