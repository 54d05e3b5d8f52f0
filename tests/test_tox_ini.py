"""tox.ini runs the same commands as the Makefile, so the two ways in never drift apart."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAIRS = [("tests", "test"), ("lint", "lint"), ("benchmarks", "bench")]


def make_recipes() -> tuple[dict[str, list[str]], dict[str, str]]:
    """Recipe lines per target and the variables (``NAME := value`` / ``NAME ?= value``) of the Makefile."""
    recipes: dict[str, list[str]] = {}
    variables: dict[str, str] = {}
    target = None
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith("\t") and target:
            recipes[target].append(line.strip())
            continue
        target = None
        if m := re.match(r"^(?:export\s+)?([A-Z_]+)\s*[:?]?=\s*(.*)$", line):
            variables[m.group(1)] = m.group(2).strip()
        elif m := re.match(r"^([a-z][\w-]*):", line):
            target = m.group(1)
            recipes[target] = []
    return recipes, variables


def normalise(command: str, variables: dict[str, str]) -> str:
    command = command.replace("$(INSTALL)", variables["INSTALL"])
    command = command.replace("$(BIN)/pip", "python -m pip").replace("$(BIN)/", "")
    return " ".join(command.replace("{posargs}", "").replace("'", "").replace('"', "").split())


def tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    return parser


def lines(value: str) -> list[str]:
    return [v.strip() for v in value.strip().splitlines() if v.strip()]


@pytest.mark.parametrize(("env", "target"), PAIRS)
def test_each_environment_runs_its_make_target(env: str, target: str) -> None:
    recipes, variables = make_recipes()
    tox_commands = [normalise(c, variables) for c in lines(tox()[f"testenv:{env}"]["commands"])]
    assert tox_commands == [normalise(c, variables) for c in recipes[target]]


def test_the_install_is_the_makefiles_one_pip_command() -> None:
    _, variables = make_recipes()
    [install] = lines(tox()["testenv"]["commands_pre"])
    assert normalise(install, variables) == normalise("$(INSTALL)", variables)


def test_caches_stay_out_of_home_alike() -> None:
    _, variables = make_recipes()
    tox_env = {k.strip() for k, _, _ in (line.partition("=") for line in lines(tox()["testenv"]["set_env"]))}
    makefile = (ROOT / "Makefile").read_text()
    exported = {m.group(1) for m in re.finditer(r"^export\s+([A-Z_]+)", makefile, re.M)}
    assert tox_env == exported and "XDG_CACHE_HOME" in variables


def test_make_test_lints_first() -> None:
    recipes, _ = make_recipes()
    assert re.search(r"^test:\s*lint\b", (ROOT / "Makefile").read_text(), re.M)
    assert recipes["test"] == ["$(BIN)/python -m pytest"]
