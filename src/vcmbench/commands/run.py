"""`vcmbench run SUITE`: evaluate a suite's codecs and print their distance to the bound."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vcmbench.pipeline.config import load_suite
from vcmbench.pipeline.plan import check_output_file
from vcmbench.pipeline.suite import run_suite, untrained_hint
from vcmbench.report.show import show_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a benchmark suite (e.g. mnist) and print the gaps to the bound")
    p.add_argument("suite", help="a suite shipped with vcmbench (e.g. mnist) or a suite YAML file's path")
    p.add_argument("--data-root", type=Path, default=None,
                   help="folder with the real dataset (default: the embedded data, where the suite has one)")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N test samples")
    p.add_argument("--codec", action="append", dest="codecs", metavar="NAME",
                   help="run only this codec (repeatable); a codec outside the suite runs its default grid")
    p.add_argument("--point", action="append", dest="points", metavar="'CODEC:KEY=V1,V2;KEY2=V'",
                   help="run this codec at these points (every combination) instead of the suite's grid; "
                        "repeatable; only the codecs named by --point and --codec run")
    p.add_argument("--out", type=Path, default=Path("results"), help="where records go (default: results/)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda[:N]")
    p.add_argument("--plot", type=Path, default=None, help="also write the rate-accuracy plot to this file")
    p.add_argument("--train", action="store_true",
                   help="train learned codecs that have no checkpoint yet (slow: minutes per point on a "
                        "CPU); without it such points fail and say how to train them")
    p.add_argument("--force", action="store_true",
                   help="measure every point again, even where a matching record is on disk")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="measure the points on a local Dask cluster of N worker processes (one thread each); "
                        "records are those of a plain run")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="measure the points on a running Dask cluster (e.g. tcp://host:8786, started by "
                        "dask-jobqueue on Slurm; see docs/scale-out.md)")
    p.add_argument("--shard-size", type=int, default=None, metavar="SAMPLES",
                   help="with --workers/--scheduler: samples per task (rounded to whole batches or blocks; "
                        "default 5000)")
    p.add_argument("--loader-workers", type=int, default=None, metavar="N",
                   help="processes reading (decoding) inputs ahead of the codecs and the task model "
                        "(default: up to 4 with --device cuda, none on the CPU)")
    p.add_argument("--save-bitstreams", action="store_true",
                   help="keep every bitstream the decoder received beside its record, with a manifest "
                        "(names, byte counts, sha256)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_suite(args.suite)
    if args.plot is not None:
        check_output_file(args.plot, "--plot")
    records = run_suite(config, data_root=args.data_root, out=args.out, limit=args.limit, codecs=args.codecs,
                        device=args.device, progress=not args.quiet, force=args.force, train=args.train,
                        workers=args.workers, scheduler=args.scheduler, shard_size=args.shard_size,
                        save_bitstreams=args.save_bitstreams, loader_workers=args.loader_workers,
                        points=args.points)
    print(show_report(records, config.accuracy_levels, plot=args.plot))
    hint = untrained_hint(records)
    if hint:
        print(hint, file=sys.stderr)
    failed = [r for r in records if r.status != "ok"]
    return 1 if failed and len(failed) == len(records) else 0
