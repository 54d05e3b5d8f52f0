"""`vcmbench report --plot`: one figure per (suite, dataset, fingerprint) group of records.

Records of two test sets never share a figure (their bounds and free points differ); a file
target takes one group, a folder takes every group as ``<suite>-<dataset>[-<fingerprint>].png``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from vcmbench.api.record import ResultRecord
from vcmbench.errors import UsageError
from vcmbench.report.detection import configuration_space, detection_points, is_detection, plot_detection
from vcmbench.report.gaps import group_free_point, group_records, point_gaps
from vcmbench.report.plot import plot_gaps, plot_paths


def write_report_plots(records: Sequence[ResultRecord], target: str | Path, levels: Sequence[float] = (),
                       bands: bool = False) -> list[Path]:
    """Draw every group that has measured points; return the files written (one-line error otherwise)."""
    groups = {key: group for key, group in group_records(records).items()
              if any(r.status == "ok" and r.metrics is not None for r in group)}
    if not groups:
        raise UsageError(f"--plot {target}: no measured operating point to draw (every record failed)")
    same_id = Counter((suite, dataset_id) for suite, dataset_id, _ in groups)
    names = [f"{s}-{d}" + (f"-{f[:10]}" if same_id[(s, d)] > 1 else "") for s, d, f in groups]
    paths = plot_paths(target, names)
    for (suite, dataset_id, _), group, path in zip(groups, groups.values(), paths, strict=True):
        first = group[0]
        title = f"{suite} · {dataset_id}"
        if is_detection(first):
            metric = first.task_model.metric
            plot_detection(detection_points(group), configuration_space(first),
                           first.task_model.reference_scores.get(metric), path, title=title, metric=metric,
                           levels=levels)
        else:
            plot_gaps(point_gaps(group), first.dataset.prior_counts, path, title=title,
                      free=group_free_point(group).point, levels=levels, bands=bands)
    return paths
