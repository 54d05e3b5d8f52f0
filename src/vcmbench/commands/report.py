"""`vcmbench report DIR`: gaps to the bound for records already on disk."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vcmbench.commands.arguments import parse_levels
from vcmbench.report.gaps import gaps_at_levels, point_gaps
from vcmbench.report.load import find_records
from vcmbench.report.show import DEFAULT_LEVELS, show_report
from vcmbench.report.table import to_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="tabulate result records against the rate-accuracy bound")
    p.add_argument("paths", type=Path, nargs="+", metavar="DIR", help="record files or folders (recursive)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--plot", type=Path, default=None, help="write the rate-accuracy plot (PNG) here")
    p.add_argument("--levels", default=None,
                   help="comma-separated accuracies for the matched-accuracy gaps (default: "
                        + ",".join(str(a) for a in DEFAULT_LEVELS) + ")")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    levels = parse_levels(args.levels) or DEFAULT_LEVELS
    records = find_records(args.paths)
    if args.json:
        print(json.dumps(to_json(point_gaps(records), gaps_at_levels(records, levels)), indent=2))
        if args.plot:
            show_report(records, levels, plot=args.plot)
        return 0
    print(show_report(records, levels, plot=args.plot))
    return 0
