"""The report a person reads after a run: per-point gaps, matched-accuracy gaps, failures."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from vcmbench.api.record import ResultRecord
from vcmbench.errors import UsageError
from vcmbench.report.gaps import gaps_at_levels, point_gaps
from vcmbench.report.plot import plot_gaps
from vcmbench.report.table import format_levels, format_points

DEFAULT_LEVELS = (0.5, 0.9, 0.95)


def show_report(records: Sequence[ResultRecord], levels: Sequence[float] = (), *,
                plot: Path | None = None) -> str:
    """Text for each (suite, dataset) group; writes one plot when asked (one group only)."""
    if not records:
        raise UsageError("no result records found")
    groups: dict[tuple[str, str], list[ResultRecord]] = defaultdict(list)
    for r in records:
        groups[(r.suite, r.dataset.id)].append(r)
    if plot is not None and len(groups) > 1:
        raise UsageError(f"--plot draws one suite at a time; these records hold {len(groups)}")
    out = []
    for (suite, dataset_id), group in groups.items():
        first = group[0]
        k = first.dataset.num_classes
        out.append(f"suite {suite} · dataset {dataset_id} ({first.dataset.samples} samples, K={k}) · "
                   f"task model {first.task_model.id}: uncompressed accuracy "
                   f"{first.task_model.reference_accuracy:.4f}")
        out.append("rates are real: 8 × bytes received; bounds are R(1 − accuracy) for the test labels")
        gaps = point_gaps(group)
        if gaps:
            out.append("")
            out.append(format_points(gaps))
        chosen = tuple(levels) or DEFAULT_LEVELS
        level_rows = gaps_at_levels(group, chosen)
        if level_rows:
            out.append("")
            out.append("at matched accuracy (each codec's lower convex hull, time-sharing):")
            out.append(format_levels(level_rows))
        failed = [r for r in group if r.status != "ok"]
        for r in failed:
            out.append(f"FAILED {r.codec.name} {r.codec.params}: {r.error}")
        if plot is not None and gaps:
            plot_gaps(gaps, first.dataset.prior_counts, plot, title=f"{suite} · {dataset_id}")
            out.append(f"plot written to {plot}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
