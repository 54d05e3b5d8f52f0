"""The report a person reads after a run: per-point gaps, matched-accuracy gaps, failures.

One section per (suite, dataset id, test-set fingerprint): records of two different test sets
that share an id (a ``--limit`` run and a full one) are reported apart, each labelled with its
fingerprint and size, never mixed in one hull.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from vcmbench.api.record import ResultRecord
from vcmbench.errors import UsageError
from vcmbench.report.detection import (
    configuration_space,
    detection_points,
    detection_section,
    is_detection,
    plot_detection,
    reference_line,
)
from vcmbench.report.gaps import (
    gaps_at_levels,
    group_free_point,
    group_model_aware,
    group_records,
    impossible_message,
    point_gaps,
)
from vcmbench.report.plot import plot_gaps
from vcmbench.report.table import format_levels, format_points

DEFAULT_LEVELS = (0.5, 0.9, 0.95)


def show_report(records: Sequence[ResultRecord], levels: Sequence[float] = (), *,
                plot: Path | None = None) -> str:
    """Text for each (suite, dataset, fingerprint) group; writes one plot when asked (one group only)."""
    if not records:
        raise UsageError("no result records found")
    groups = group_records(records)
    if plot is not None and len(groups) > 1:
        raise UsageError(f"--plot draws one test set at a time; these records hold {len(groups)} "
                         "(suite, dataset, fingerprint) groups")
    same_id = Counter((suite, dataset_id) for suite, dataset_id, _ in groups)
    out = []
    for (suite, dataset_id, fingerprint), group in groups.items():
        first = group[0]
        if is_detection(first):
            out += _detection_group(suite, dataset_id, fingerprint, group, levels, plot, same_id)
            continue
        k = first.dataset.num_classes
        out.append(f"suite {suite} · dataset {dataset_id} ({first.dataset.samples} samples, K={k}, "
                   f"fingerprint {fingerprint}) · task model {first.task_model.id}: uncompressed accuracy "
                   f"{first.task_model.reference_accuracy:.4f}")
        if same_id[(suite, dataset_id)] > 1:
            out.append(f"NOTE: these records hold {same_id[(suite, dataset_id)]} different test sets under "
                       f"the id {dataset_id} (a --limit run and a full run?); each is reported on its own")
        out.append("rates are real: 8 × bytes received; bounds are R(1 − accuracy) for the test labels")
        free = group_free_point(group)
        out.append(free.note)
        out.append(group_model_aware(group).note)
        gaps = point_gaps(group)
        if gaps:
            out.append("")
            out.append(format_points(gaps))
        chosen = tuple(levels) or DEFAULT_LEVELS
        level_rows = gaps_at_levels(group, chosen)
        if level_rows:
            out.append("")
            out.append("at matched accuracy (lower convex hull of each codec's points and the free point):")
            out.append(format_levels(level_rows))
        for g in gaps:
            if g.impossible:
                out.append(impossible_message(g))
        failed = [r for r in group if r.status != "ok"]
        for r in failed:
            out.append(f"FAILED {r.codec.name} {r.codec.params}: {r.error}")
        if plot is not None and gaps:
            title = f"{suite} · {dataset_id}"
            plot_gaps(gaps, first.dataset.prior_counts, plot, title=title, free=free.point)
            out.append(f"plot written to {plot}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _detection_group(suite: str, dataset_id: str, fingerprint: str, group: Sequence[ResultRecord],
                     levels: Sequence[float], plot: Path | None, same_id: Counter) -> list[str]:
    """A detection group: bits per image and pixel, mAP, and the eq. 7 configuration bound beside them."""
    first = group[0]
    out = [f"suite {suite} · dataset {dataset_id} ({first.dataset.samples} images, fingerprint "
           f"{fingerprint}) · task model {first.task_model.id}: {reference_line(first)}"]
    if same_id[(suite, dataset_id)] > 1:
        out.append(f"NOTE: these records hold {same_id[(suite, dataset_id)]} different test sets under the "
                   f"id {dataset_id} (a --limit run and a full run?); each is reported on its own")
    out += detection_section(group, levels)
    for r in group:
        if r.status != "ok":
            out.append(f"FAILED {r.codec.name} {r.codec.params}: {r.error}")
    points = detection_points(group)
    if plot is not None and points:
        metric = first.task_model.metric
        reference = first.task_model.reference_scores.get(metric)
        plot_detection(points, configuration_space(first), reference, plot, title=f"{suite} · {dataset_id}",
                       metric=metric)
        out.append(f"plot written to {plot}")
    out.append("")
    return out
