"""`vcmbench report DIR`: gaps to the bound for records already on disk.

A damaged record, or one that disagrees with its per-sample file, stops the report with the file
named (exit 2). A point below the rate-accuracy bound is shown, marked IMPOSSIBLE, and makes the
command exit 1 after printing everything, with one line per such file on stderr: the table is
what one needs to see what is wrong, and a script or CI job still fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vcmbench.commands.arguments import parse_levels
from vcmbench.report.detection import detection_json
from vcmbench.report.gaps import (
    gaps_at_levels,
    group_free_point,
    group_model_aware,
    group_records,
    impossible_message,
    point_gap,
    point_gaps,
)
from vcmbench.report.load import load_found
from vcmbench.report.show import DEFAULT_LEVELS, show_report
from vcmbench.report.table import group_json, to_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="tabulate result records against the rate-accuracy bound")
    p.add_argument("paths", type=Path, nargs="+", metavar="DIR", help="record files or folders (recursive)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--plot", default=None, metavar="FILE|FOLDER",
                   help="write the rate-accuracy plot: a .png/.svg/.pdf file (one test set), or a folder "
                        "that gets one <suite>-<dataset>.png per test set")
    p.add_argument("--bands", action="store_true",
                   help="shade each codec's confidence band along its hull in the plot")
    p.add_argument("--levels", default=None,
                   help="comma-separated accuracies for the matched-accuracy gaps (default: "
                        + ",".join(str(a) for a in DEFAULT_LEVELS) + ")")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    levels = parse_levels(args.levels) or DEFAULT_LEVELS
    found = load_found(args.paths)
    records = [f.record for f in found]
    if args.json:
        groups = [group_json(*key, samples=group[0].dataset.samples, free=group_free_point(group),
                             model_aware=group_model_aware(group))
                  for key, group in group_records(records).items()]
        data = to_json(point_gaps(records), gaps_at_levels(records, levels), groups)
        data["detection"] = detection_json(records, levels)
        text = json.dumps(data, indent=2)
    else:
        from vcmbench.report.rd import format_rd_report

        text = show_report(records, levels).rstrip("\n")
        layered = format_rd_report(records).strip("\n")  # layers, BD per stream and metric, D–C
        if layered:
            text += "\n\n" + layered
    written = []
    if args.plot is not None:
        from vcmbench.report.figures import write_report_plots  # matplotlib: only when plotting

        written = write_report_plots(records, args.plot, levels, bands=args.bands)
    print(text)
    for path in written:
        print(f"plot written to {path}", file=sys.stderr if args.json else sys.stdout)
    impossible = [(f.path, g) for f in found if f.record.status == "ok" and f.record.metrics is not None
                  for g in [point_gap(f.record)] if g.impossible]
    for path, g in impossible:
        print(f"vcmbench report: {path}: {impossible_message(g)}", file=sys.stderr)
    return 1 if impossible else 0
