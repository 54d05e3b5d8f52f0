"""`vcmbench` subcommands. Thin: parse, call the library, print.

Each subcommand lives in ``vcmbench.commands.<name>`` with ``register(subparsers)``, which adds its
parser and sets ``func(args) -> int``. Only the module of the command being run is imported (a command
module may pull in torch or compressai, seconds of start-up that ``vcmbench bound`` or ``--version``
must not pay); help and a mistyped name import them all.

Errors become one line on stderr, never a traceback: a VcmbenchError (something the user can fix,
exit 2), an operating-system error on a file (named, exit 2), running out of memory (exit 2), an
interrupt (exit 130). A closed pipe (``vcmbench report --json | head``) ends the command quietly,
as Unix tools do (exit 141, the status of a process killed by SIGPIPE).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import vcmbench
from vcmbench.errors import VcmbenchError

COMMANDS = ("codecs", "run", "report", "train", "publish", "bound", "check_codec")
OUTPUT_ARGUMENTS = ("out", "plot", "output")  # attributes naming what a command writes
EXIT_BROKEN_PIPE = 141


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _module(command: str) -> str:
    return command.replace("-", "_")


def build_parser(commands: Sequence[str] = COMMANDS) -> argparse.ArgumentParser:
    """The parser with the given command modules registered (all of them by default)."""
    parser = _OneLineParser(
        prog="vcmbench",
        description="Benchmark codecs for machines against the theoretical rate-accuracy bound.",
    )
    parser.add_argument("--version", action="version", version=f"vcmbench {vcmbench.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    for name in commands:
        importlib.import_module(f"vcmbench.commands.{name}").register(sub)
    return parser


def commands_needed(argv: Sequence[str]) -> tuple[str, ...]:
    """The command modules a command line needs: the named one; none for a bare ``--version``; all of
    them otherwise (help lists them, and argparse names the choices when a command is mistyped)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and _module(first) in COMMANDS:
        return (_module(first),)
    if first is None and "--version" in argv and not {"-h", "--help"} & set(argv):
        return ()
    return COMMANDS


def _os_error_message(exc: OSError, args: argparse.Namespace) -> str:
    """One line naming the file; 'cannot write' when it is (inside) one of the command's outputs."""
    name = exc.filename2 if exc.filename2 is not None else exc.filename
    reason = exc.strerror or str(exc)
    if name is None:
        return reason
    path = Path(os.fsdecode(name))
    outputs = [Path(v) for a in OUTPUT_ARGUMENTS if isinstance(v := getattr(args, a, None), str | Path)]
    writing = any(path == out or out in path.parents for out in outputs)
    return f"cannot write {path}: {reason}" if writing else f"{path}: {reason}"


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot raise into the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (captured output): nothing to flush
        pass


def main(argv: Sequence[str] | None = None) -> int:
    # compressai scripts a helper with torch.jit at import; torch 2.14 warns about that on every run.
    warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(commands_needed(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    prog = f"vcmbench {args.command}"
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here at the latest, while it can still be handled
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except VcmbenchError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{prog}: error: {_os_error_message(exc, args)}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{prog}: error: out of memory", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; results written so far are kept", file=sys.stderr)
        return 130
