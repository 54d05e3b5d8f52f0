"""`vcmbench run SUITE`: evaluate a suite's codecs and print their distance to the bound."""

from __future__ import annotations

import argparse
from pathlib import Path

from vcmbench.pipeline.config import load_suite
from vcmbench.pipeline.suite import run_suite
from vcmbench.report.show import show_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a benchmark suite (e.g. mnist) and print the gaps to the bound")
    p.add_argument("suite", help="a shipped suite (mnist, mnist-cnn, imagenet) or a suite YAML file's path")
    p.add_argument("--data-root", type=Path, default=None,
                   help="folder with the real dataset (default: the embedded data, where the suite has one)")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N test samples")
    p.add_argument("--codec", action="append", dest="codecs", metavar="NAME",
                   help="run only this codec (repeatable); a codec outside the suite runs its default grid")
    p.add_argument("--out", type=Path, default=Path("results"), help="where records go (default: results/)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda[:N]")
    p.add_argument("--plot", type=Path, default=None, help="also write the rate-accuracy plot to this file")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_suite(args.suite)
    records = run_suite(config, data_root=args.data_root, out=args.out, limit=args.limit, codecs=args.codecs,
                        device=args.device, progress=not args.quiet)
    print(show_report(records, config.accuracy_levels, plot=args.plot))
    failed = [r for r in records if r.status != "ok"]
    return 1 if failed and len(failed) == len(records) else 0
