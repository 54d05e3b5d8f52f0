"""`vcmbench` subcommands. Thin: parse, call the library, print.

Each subcommand lives in ``vcmbench.commands.<name>`` with ``register(subparsers)``, which
adds its parser and sets ``func(args) -> int``. Errors a user can fix (VcmbenchError) become
one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

import vcmbench
from vcmbench.errors import VcmbenchError

COMMANDS = ("codecs", "run", "report", "train", "publish", "bound")


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="vcmbench",
        description="Benchmark codecs for machines against the theoretical rate-accuracy bound.",
    )
    parser.add_argument("--version", action="version", version=f"vcmbench {vcmbench.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    for name in COMMANDS:
        importlib.import_module(f"vcmbench.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # compressai scripts a helper with torch.jit at import; torch 2.14 warns about that on every run.
    warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except VcmbenchError as exc:
        print(f"vcmbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vcmbench {args.command}: interrupted; results written so far are kept", file=sys.stderr)
        return 130
