"""`vcmbench bound`: answers parsed back and compared with the library; bad input: one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from exact_rate import contains, exact_hamming_rate_bits
from vcmbench import theory
from vcmbench.cli import main

MNIST_COUNTS = "980,1135,1032,1010,982,892,958,1028,974,1009"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["bound", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_uniform_closed_form(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "--classes", "10", "--accuracy", "0.9944")
    assert out["method"] == "closed-form"
    assert out["rate_bits"] == pytest.approx(theory.uniform_rate(10, 1 - 0.9944), rel=1e-12)
    assert out["distortion"] == pytest.approx(0.0056)
    assert out["linear_approximation_bits"] == pytest.approx(0.9944 * theory.log2_int(10))
    assert out["accuracy_per_bit"] == pytest.approx(1 / theory.log2_int(10))


def test_prior_counts_blahut_arimoto(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "--prior-counts", MNIST_COUNTS, "--accuracy", "0.99", "--classes", "10")
    counts = [int(c) for c in MNIST_COUNTS.split(",")]
    assert out["method"] == "blahut-arimoto"
    assert out["rate_bits"] == pytest.approx(theory.bound_bits(0.99, counts), abs=1e-12)
    # the true R(0.01) in 60-digit arithmetic lies inside the printed bracket, compared exactly
    assert contains(out["rate_lower_bits"], exact_hamming_rate_bits(counts, 0.01), out["rate_upper_bits"])
    assert 0 < out["bracket_bits"] <= 1e-9
    assert out["rate_bits"] < out["uniform_rate_bits"]


def test_detection_count_and_bits_per_pixel(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "--detection", "--positions", "98", "--classes", "80", "--max-objects", "15",
                   "--width", "448", "--height", "448")
    k = theory.detection_configurations(98, 80, 15)
    assert out["method"] == "configuration-count"
    assert int(out["configurations"]) == k
    assert out["log2_configurations"] == pytest.approx(theory.detection_bits(98, 80, 15))
    assert out["rate_bits"] == pytest.approx(out["log2_configurations"])  # accuracy 1 by default
    assert out["bits_per_pixel"] == pytest.approx(out["rate_bits"] / 448**2)


def test_detection_at_an_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "--detection", "--positions", "4", "--classes", "3", "--max-objects", "2",
                   "--accuracy", "0.5")
    k = theory.detection_configurations(4, 3, 2)
    assert out["rate_bits"] == pytest.approx(theory.uniform_rate(k, 0.5))


def test_human_readable_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bound", "--classes", "10", "--accuracy", "0.9944"]) == 0
    text = capsys.readouterr().out
    assert f"R = {theory.uniform_rate(10, 1 - 0.9944):.4f} bits/sample" in text
    assert "closed form" in text and "Eq. 5" in text


def test_several_classes_give_a_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bound", "--classes", "10", "--classes", "1000", "--accuracy", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [o["num_classes"] for o in out] == [10, 1000]
    assert out[1]["rate_bits"] == pytest.approx(theory.uniform_rate(1000, 0.5))


def test_plot_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "bound.png"
    assert main(["bound", "--classes", "10", "--classes", "40", "--prior-counts", "5,1,1,1",
                 "--plot", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(target) in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["--classes", "1", "--accuracy", "0.5"],
    ["--classes", "10", "--accuracy", "1.5"],
    ["--classes", "10", "--accuracy", "-0.1"],
    ["--prior-counts", "1,0,-3", "--accuracy", "0.5"],
    ["--prior-counts", "0,0,0", "--accuracy", "0.5"],
    ["--prior-counts", "1,x,3", "--accuracy", "0.5"],
    ["--prior-counts", "5", "--accuracy", "0.5"],
    ["--classes", "3", "--prior-counts", "1,2", "--accuracy", "0.5"],
    ["--plot", "out.png"],
    ["--classes", "10"],
    ["--detection", "--positions", "98", "--classes", "80", "--max-objects", "15", "--width", "0",
     "--height", "10"],
    ["--detection", "--positions", "98", "--classes", "80", "--max-objects", "15", "--width", "10"],
    ["--detection", "--positions", "98", "--classes", "80", "--max-objects", "15", "--width", "1x2",
     "--height", "10"],
    ["--detection", "--classes", "80"],
    ["--classes", "10", "--accuracy", "abc"],
])
def test_bad_input_is_one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["bound", *argv])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert "error" in captured.err


def test_bad_input_from_the_installed_entry_point_has_no_traceback() -> None:
    proc = subprocess.run([sys.executable, "-m", "vcmbench", "bound", "--prior-counts", "1,-2",
                           "--accuracy", "0.5"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "vcmbench bound: error: prior counts must be non-negative, got -2.0"
