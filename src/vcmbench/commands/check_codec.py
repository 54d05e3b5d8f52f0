"""`vcmbench check-codec NAME`: run the conformance kit's contract checks on a codec."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check-codec", help="check that a codec keeps every contract of the harness",
                       description="Decode by a separately prepared instance in another process, bytes "
                                   "deterministic across processes, every cut and bit flip of a stream "
                                   "a BitstreamError or a valid output (no crash, hang or huge "
                                   "allocation), sample counts, operating points, real bytes.")
    p.add_argument("codecs", nargs="+", metavar="NAME",
                   help="a registered codec name, or module:Class for a codec under development")
    p.add_argument("--suite", default="mnist", help="the suite whose data and task model prepare the codec")
    p.add_argument("--setup", default=None, metavar="MODULE:FUNCTION",
                   help="instead of a suite, a function returning a vcmbench.conformance.Setup")
    p.add_argument("--limit", type=int, default=20, help="test samples to code (default: 20)")
    p.add_argument("--points", choices=("all", "first"), default="all",
                   help="every operating point (the suite's, else the codec's grid) or only the first")
    p.add_argument("--data-root", type=Path, default=None, help="folder with the real dataset")
    p.add_argument("--cache-dir", type=Path, default=Path("results/cache"),
                   help="task models and checkpoints, shared with `vcmbench run` (default: results/cache)")
    p.add_argument("--train", action="store_true", help="train learned codecs that have no checkpoint")
    p.add_argument("--time-limit", type=float, default=10.0,
                   help="seconds one damaged stream may take to decode (default: 10)")
    p.add_argument("--memory", type=int, default=1024,
                   help="MB a decoder may allocate for one damaged stream (default: 1024)")
    p.add_argument("--flips", type=int, default=64, help="random bit flips per stream (default: 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random damage")
    p.add_argument("--quiet", action="store_true", help="print only the findings")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vcmbench.conformance import check_codecs
    from vcmbench.errors import UsageError

    if args.memory < 1 or args.time_limit <= 0 or args.flips < 0:
        raise UsageError("--memory and --time-limit must be positive, --flips at least 0")
    findings = check_codecs(
        args.codecs, suite=args.suite, setup=args.setup, limit=args.limit, points=args.points,
        data_root=args.data_root, cache_dir=args.cache_dir, train=args.train, time_limit=args.time_limit,
        memory_budget=args.memory << 20, flips=args.flips, seed=args.seed,
        log=None if args.quiet else (lambda line: print(line, file=sys.stderr)),
    )
    for finding in findings:
        print(finding)
    names = ", ".join(args.codecs)
    print(f"{names}: {len(findings)} finding(s)" if findings else f"{names}: conforms", file=sys.stderr)
    return 1 if findings else 0
