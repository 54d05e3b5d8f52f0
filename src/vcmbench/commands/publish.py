"""`vcmbench publish RESULTS... --out DIR`: the leaderboard (README, CSV, plots, static site) from records."""

from __future__ import annotations

import argparse
from pathlib import Path

from vcmbench.commands.arguments import parse_levels
from vcmbench.errors import UsageError
from vcmbench.publish.literature import default_literature_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "publish", help="validate result records and write the leaderboard (tables, plots, site)"
    )
    p.add_argument(
        "results",
        type=Path,
        nargs="+",
        metavar="RESULTS",
        help="record files or folders (searched recursively for *.json records)",
    )
    p.add_argument(
        "--out", type=Path, default=Path("leaderboard"), help="output folder (default: leaderboard/)"
    )
    p.add_argument(
        "--literature",
        type=Path,
        default=None,
        metavar="DIR",
        help="literature reference points (default: leaderboard/literature)",
    )
    p.add_argument("--no-literature", action="store_true", help="publish reproduced results only")
    p.add_argument(
        "--merge",
        action="store_true",
        help="add RESULTS to the leaderboard already in --out (its records/ folder) instead of replacing "
        "it; records from another test set (dataset fingerprint) than the board's are refused",
    )
    p.add_argument(
        "--levels",
        default=None,
        help="comma-separated accuracies for the ranking (default: each suite's accuracy_levels)",
    )
    p.add_argument("--bands", action="store_true",
                   help="shade each codec's confidence band along its hull in the static plots")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    levels = parse_levels(args.levels)
    if args.no_literature:
        literature = None
    elif args.literature is not None:
        if not args.literature.is_dir():
            raise UsageError(f"--literature {args.literature}: no such folder")
        literature = args.literature
    else:
        literature = default_literature_dir()
    from vcmbench.publish.build import publish  # matplotlib, pandas, scipy: only when publishing

    result = publish(args.results, args.out, literature_dir=literature, levels=levels, merge=args.merge,
                     bands=args.bands)
    records = sum(len(b.records) for b in result.boards)
    verb = "published (merged)" if args.merge else "published"
    print(
        f"{verb} {records} record(s) in {len(result.boards)} board(s) to {result.out_dir}/ "
        f"(index.html, README.md, {len(result.files)} files)"
    )
    return 0
