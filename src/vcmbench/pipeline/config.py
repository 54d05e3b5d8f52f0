"""Suite files: short YAML that names a dataset, a task model and codecs with operating points.

A suite file never names code to execute, only registered names and their parameters.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from vcmbench.errors import UsageError

_SUITE_KEYS = {"suite", "description", "dataset", "task_model", "codecs", "batch_size", "accuracy_levels",
               "seed", "train_split"}
_CODEC_KEYS = {"name", "points", "params"}


@dataclass(frozen=True)
class CodecEntry:
    name: str
    points: list[dict[str, Any]] | None  # None: the codec's own operating_points()
    params: dict[str, Any] = field(default_factory=dict)  # shared by every point


@dataclass(frozen=True)
class SuiteConfig:
    suite: str
    dataset: str
    split: str
    task_model: str
    task_params: dict[str, Any]
    codecs: list[CodecEntry]
    task_weights: str | None = None
    dataset_params: dict[str, Any] = field(default_factory=dict)  # e.g. {points: 1024} for point clouds
    train_split: str | None = "train"
    batch_size: int = 256
    accuracy_levels: tuple[float, ...] = ()
    seed: int = 0
    description: str = ""
    path: Path | None = None


SUITES_PACKAGE = "vcmbench"  # the suites ship as package data: vcmbench/suites/<name>.yaml
SUITES_FOLDER = "suites"
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def packaged_suites() -> dict[str, Traversable]:
    """The suite files shipped inside the installed package, by name (works for any install kind)."""
    folder = resources.files(SUITES_PACKAGE).joinpath(SUITES_FOLDER)
    if not folder.is_dir():
        return {}
    return {entry.name.removesuffix(".yaml"): entry for entry in folder.iterdir()
            if entry.name.endswith(".yaml") and entry.is_file()}


def find_suite(name_or_path: str) -> Traversable:
    """A path to a suite YAML file, else the name of a suite shipped with vcmbench (``mnist``).

    A name is never looked up in the working directory: a stray ``./mnist.yaml`` must not
    pass for the shipped suite under its name. A suite of one's own is given by its path.
    """
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or "/" in name_or_path or os.sep in name_or_path:
        if not path.is_file():
            raise UsageError(f"suite file {path} does not exist")
        return path
    shipped = packaged_suites()
    if name_or_path in shipped:
        return shipped[name_or_path]
    known = ", ".join(sorted(shipped)) or "none"
    raise UsageError(f"unknown suite {name_or_path!r}; shipped suites: {known} "
                     f"(or give a suite YAML file's path)")


def load_suite(name_or_path: str) -> SuiteConfig:
    """Read, parse and validate a suite; every problem is a one-line UsageError naming the file."""
    path = find_suite(name_or_path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start}); save the suite file as UTF-8") from exc
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    return parse_suite(raw, path if isinstance(path, Path) else Path(str(path)))


def parse_suite(raw: Any, path: Path | None = None) -> SuiteConfig:
    where = str(path) if path else "suite"
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: expected a mapping at the top level")
    unknown = set(raw) - _SUITE_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("suite", "dataset", "task_model", "codecs"):
        if key not in raw:
            raise UsageError(f"{where}: missing key {key!r}")
    dataset = _named(raw["dataset"], f"{where}: dataset")
    task = _named(raw["task_model"], f"{where}: task_model")
    if not isinstance(raw["codecs"], list) or not raw["codecs"]:
        raise UsageError(f"{where}: codecs must be a non-empty list")
    codecs = [_codec_entry(c, f"{where}: codecs[{i}]") for i, c in enumerate(raw["codecs"])]
    levels = raw.get("accuracy_levels", [])
    if not isinstance(levels, list) or not all(isinstance(a, int | float) and 0 <= a <= 1 for a in levels):
        raise UsageError(f"{where}: accuracy_levels must be a list of numbers in [0, 1]")
    batch = raw.get("batch_size", 256)
    if not _is_int(batch) or batch < 1:
        raise UsageError(f"{where}: batch_size must be a positive integer")
    seed = raw.get("seed", 0)
    if not _is_int(seed) or seed < 0:
        raise UsageError(f"{where}: seed must be a non-negative integer, got {seed!r}")
    train_split = raw.get("train_split", "train")
    if train_split is not None and not isinstance(train_split, str):
        raise UsageError(f"{where}: train_split must be a split name or null, got {train_split!r}")
    split = dataset.get("split", "test")
    if not isinstance(split, str):
        raise UsageError(f"{where}: dataset split must be a name, got {split!r}")
    dataset_params = dataset.get("params") or {}
    if not isinstance(dataset_params, dict) or not all(isinstance(k, str) for k in dataset_params):
        raise UsageError(f"{where}: dataset params must be a mapping of names to values")
    task_params = task.get("params") or {}
    if not isinstance(task_params, dict):
        raise UsageError(f"{where}: task_model params must be a mapping")
    weights = task.get("weights")
    if weights is not None and not isinstance(weights, str):
        raise UsageError(f"{where}: task_model weights must be a file path")
    return SuiteConfig(
        suite=suite_name(raw["suite"], where), dataset=dataset["name"], split=split,
        dataset_params=dict(dataset_params),
        task_model=task["name"], task_params=dict(task_params),
        task_weights=weights, codecs=codecs,
        train_split=train_split, batch_size=batch,
        accuracy_levels=tuple(float(a) for a in levels), seed=seed,
        description=str(raw.get("description", "")), path=path,
    )


def suite_name(value: Any, where: str = "suite") -> str:
    """The suite's name becomes a folder under ``--out``: a plain slug, never a path.

    ``../../escaped`` or ``/tmp/x`` would write records outside the results folder.
    """
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise UsageError(f"{where}: suite must be a simple name (letters, digits, '.', '_', '-'; "
                         f"starting with a letter or digit; at most 100 characters), got {value!r}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _named(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise UsageError(f"{where} must be a name or a mapping with 'name'")
    return value


def _codec_entry(value: Any, where: str) -> CodecEntry:
    value = _named(value, where)
    unknown = set(value) - _CODEC_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    points = value.get("points")
    if points is not None and (not isinstance(points, list) or not all(isinstance(p, dict) for p in points)):
        raise UsageError(f"{where}: points must be a list of mappings")
    params = value.get("params") or {}
    if not isinstance(params, dict):
        raise UsageError(f"{where}: params must be a mapping")
    return CodecEntry(name=value["name"], points=points, params=params)
