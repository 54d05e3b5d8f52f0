"""`vcmbench train CODEC --suite SUITE --beta B`: train one operating point of a learned codec.

The checkpoint lands where `vcmbench run` looks for it (``<out>/cache/learned/``), named by a
hash of its configuration, so the same suite, codec and parameters find it again. Training
data and task model come from the suite, exactly as the run will see them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import yaml

from vcmbench.api.codec import CODECS, CodecContext
from vcmbench.api.task import TASK_MODELS, TaskContext
from vcmbench.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a learned codec's operating point (a checkpoint for run)")
    p.add_argument("codec", help="a learned codec, e.g. entropic-student or split-feature")
    p.add_argument("--suite", required=True, help="suite name or YAML path: gives the data and task model")
    p.add_argument("--beta", type=float, default=None,
                   help="rate vs task trade-off (entropic-student; larger: more bits, more accuracy)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="another codec parameter (YAML value), e.g. --param step=2 (repeatable)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (part of the operating point)")
    p.add_argument("--data-root", type=Path, default=None, help="folder with the real dataset")
    p.add_argument("--out", type=Path, default=Path("results"),
                   help="results folder of `vcmbench run`; checkpoints go to OUT/cache/learned/")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda[:N]")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted training from its last finished epoch")
    p.add_argument("--force", action="store_true", help="retrain even if the checkpoint exists")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def codec_params(args: argparse.Namespace) -> dict[str, Any]:
    """The operating point from --beta, --epochs and --param KEY=VALUE."""
    params: dict[str, Any] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param expects KEY=VALUE, got {item!r}")
        params[key] = yaml.safe_load(value)
    if args.beta is not None:
        if not math.isfinite(args.beta) or args.beta <= 0:
            raise UsageError(f"--beta must be a positive number, got {args.beta}")
        params["beta"] = args.beta
    if args.epochs is not None:
        if args.epochs < 1:
            raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
        params["epochs"] = args.epochs
    return params


def run(args: argparse.Namespace) -> int:
    from vcmbench.codecs.learned.base import LearnedCodec
    from vcmbench.pipeline.config import load_suite
    from vcmbench.pipeline.data import open_split, training_summary
    from vcmbench.pipeline.device import resolve_device
    from vcmbench.pipeline.plan import check_out_dir, instantiate

    cls = CODECS.get(args.codec)
    if not issubclass(cls, LearnedCodec):
        trainable = [n for n in CODECS.names() if issubclass(CODECS.get(n), LearnedCodec)]
        raise UsageError(f"codec {args.codec!r} is not trained; trainable codecs: {', '.join(trainable)}")
    params = codec_params(args)
    if cls.needs_beta and "beta" not in params:
        raise UsageError(f"{args.codec} needs --beta (the rate vs task trade-off)")
    if not cls.needs_beta and args.beta is not None:
        raise UsageError(f"{args.codec} has no beta; its operating point is set with --param "
                         f"(parameters: {', '.join(sorted(cls.defaults))})")
    codec = instantiate("codec", cls, params)
    config = load_suite(args.suite)
    if not config.train_split:
        raise UsageError(f"suite {config.suite!r} has no training split to train on")
    check_out_dir(args.out)
    device = resolve_device(args.device)
    train = open_split(config.dataset, config.train_split, args.data_root, config.dataset_params)
    fingerprint, counts = training_summary(train, train.info.num_classes)
    task = instantiate("task model", TASK_MODELS.get(config.task_model), config.task_params)
    cache = args.out / "cache"
    weights = Path(config.task_weights) if config.task_weights else None
    task.prepare(TaskContext(train=train, cache_dir=cache, device=device, seed=config.seed, weights=weights))
    ctx = CodecContext(task_model=task, train=train, num_classes=train.info.num_classes,
                       train_prior_counts=counts, device=device, cache_dir=cache, seed=config.seed,
                       allow_training=True, progress=not args.quiet, train_fingerprint=fingerprint)
    path = codec.train(ctx, progress=not args.quiet, resume=args.resume, force=args.force)
    from vcmbench.codecs.learned.checkpoints import load_checkpoint

    summary = load_checkpoint(path)["summary"]
    print(f"{args.codec} {json.dumps(params, sort_keys=True)} on {train.info.id}/{train.info.split}: {path}",
          file=sys.stdout)
    print(f"  summary: {json.dumps(summary, sort_keys=True)}")
    print(f"  suite entry: - {{name: {args.codec}, points: [{json.dumps(params, sort_keys=True)}]}}")
    return 0
