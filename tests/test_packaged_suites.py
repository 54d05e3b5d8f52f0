"""The suites ship inside the package: a regular (non-editable) install finds `mnist` anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vcmbench.errors import UsageError
from vcmbench.pipeline.config import find_suite, load_suite, packaged_suites

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {"mnist", "mnist-cnn", "imagenet"}


def test_the_shipped_suites_are_package_data():
    assert set(packaged_suites()) >= SHIPPED
    for name in SHIPPED:
        assert load_suite(name).suite == name


def test_a_name_is_not_looked_up_in_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "mine.yaml").write_text(
        "suite: mine\ndataset: mnist\ntask_model: svm\ncodecs: [label-fixed]\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="unknown suite 'mine'.*mnist"):
        find_suite("mine")
    assert load_suite("benchmarks/mine.yaml").suite == "mine"  # by its path it is found


def test_a_missing_suite_file_is_one_line():
    with pytest.raises(UsageError, match="does not exist"):
        find_suite("no/such/suite.yaml")


@pytest.mark.slow
def test_a_regular_install_runs_the_mnist_suite(tmp_path):
    """Install a copy of the project with pip (not editable) and run the suite from elsewhere."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(source)], check=True, cwd=tmp_path,
                   capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import vcmbench, sys; from vcmbench.cli import main; "
            "assert vcmbench.__file__.startswith(sys.argv[1]), vcmbench.__file__; "
            "sys.exit(main(['run', 'mnist', '--codec', 'label-fixed', '--limit', '50', '--out', 'out', "
            "'--quiet', '--device', 'cpu']))")
    done = subprocess.run([sys.executable, "-c", code, str(target)], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "label-fixed" in done.stdout
    assert (elsewhere / "out" / "mnist" / "mnist-5k-first50" / "label-fixed").is_dir()
