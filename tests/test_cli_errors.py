"""The CLI front door: file errors, memory, a closed pipe and huge class counts end in one line, never a
traceback; and a command imports only what it needs."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_publish_records import make_record
from vcmbench import theory
from vcmbench.api.record import write_record
from vcmbench.cli import COMMANDS, build_parser, commands_needed, main


@pytest.fixture
def records(tmp_path: Path) -> Path:
    folder = tmp_path / "runs"
    for i, (bits, correct) in enumerate([(96, 50), (200, 80), (352, 97)]):
        write_record(folder / f"r{i}.json", make_record("label-lossy", bits, correct, t=i))
    return folder


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_report_plot_to_an_unwritable_path(records: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_error(capsys, ["report", str(records), "--plot", "/proc/x.png"])
    assert line.startswith("vcmbench report: error: cannot write /proc/x.png: ")


def test_publish_to_an_unwritable_folder(records: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_error(capsys, ["publish", str(records), "--out", "/proc/lb"])
    assert line.startswith("vcmbench publish: error: cannot write /proc/lb")


def test_publish_into_a_file(records: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    line = one_line_error(capsys, ["publish", str(records), "--out", str(blocker / "lb")])
    assert line.startswith(f"vcmbench publish: error: cannot write {blocker}")


@pytest.mark.parametrize("k", [10**10, 10**30])
def test_bound_for_huge_class_counts_is_the_closed_form(k: int, capsys: pytest.CaptureFixture[str]) -> None:
    """Eq. 4 needs no array of K entries (it used to build one: 75 GB for K = 10¹⁰)."""
    assert main(["bound", "--classes", str(k), "--accuracy", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rate_bits"] == theory.uniform_rate(k, 0.5)
    assert out["rate_bits"] == pytest.approx(theory.log2_int(k) - 0.5 * theory.log2_int(k - 1) - 1.0)


def test_bound_plot_for_a_huge_class_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "big.png"
    assert main(["bound", "--classes", str(10**10), "--classes", "10", "--plot", str(target)]) == 0
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_uniform_curve_matches_eq4() -> None:
    acc, bits = theory.uniform_curve(10**12, 50)
    assert acc[0] == pytest.approx(1e-12) and acc[-1] == 1.0
    assert bits[-1] == pytest.approx(theory.log2_int(10**12))
    for a, b in zip(acc[1:-1:7], bits[1:-1:7], strict=True):
        assert b == pytest.approx(theory.uniform_rate(10**12, 1 - a), rel=1e-12)


def test_a_closed_pipe_ends_the_command_quietly(records: Path) -> None:
    """`vcmbench report --json | head`: the reader has gone; no BrokenPipeError traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # closed before the command writes anything: its first write fails
    try:
        proc = subprocess.run([sys.executable, "-m", "vcmbench", "report", str(records), "--json"],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 141


def test_a_memory_error_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from vcmbench.commands import bound

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(bound, "_prior_answer", exhausted)
    line = one_line_error(capsys, ["bound", "--prior-counts", "1,2", "--accuracy", "0.9"])
    assert line == "vcmbench bound: error: out of memory"


def test_every_command_module_imports_and_registers() -> None:
    for name in COMMANDS:
        assert callable(importlib.import_module(f"vcmbench.commands.{name}").register)
    parser = build_parser()
    help_text = parser.format_help()
    for name in COMMANDS:
        assert name.replace("_", "-") in help_text


def test_only_the_named_command_is_imported() -> None:
    assert commands_needed(["bound", "--classes", "10"]) == ("bound",)
    assert commands_needed(["--version"]) == ()
    assert commands_needed(["--help"]) == COMMANDS
    assert commands_needed(["bund"]) == COMMANDS  # argparse lists the choices


@pytest.mark.parametrize("argv", [["bound", "--classes", "10", "--accuracy", "0.9"], ["--version"]])
def test_start_up_does_not_import_heavy_libraries(argv: list[str]) -> None:
    code = (f"import sys\nfrom vcmbench.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n"
            "    pass\nheavy = ('torch', 'compressai', 'sklearn', 'matplotlib', 'pandas', 'scipy')\n"
            "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stderr.strip().splitlines()[-1] == "[]"
