"""Suite files: short YAML that names a dataset, a task model and codecs with operating points.

A suite file never names code to execute, only registered names and their parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import vcmbench
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
    train_split: str | None = "train"
    batch_size: int = 256
    accuracy_levels: tuple[float, ...] = ()
    seed: int = 0
    description: str = ""
    path: Path | None = None


def suite_dirs() -> list[Path]:
    """Where suite names are looked up: ./benchmarks, then the source checkout's benchmarks/."""
    here = Path.cwd() / "benchmarks"
    checkout = Path(vcmbench.__file__).resolve().parents[2] / "benchmarks"
    return [here] if here == checkout else [here, checkout]


def find_suite(name_or_path: str) -> Path:
    """A suite name (``mnist``) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise UsageError(f"suite file {path} does not exist")
        return path
    for folder in suite_dirs():
        candidate = folder / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    known = sorted({p.stem for d in suite_dirs() if d.is_dir() for p in d.glob("*.yaml")})
    raise UsageError(f"unknown suite {name_or_path!r}; known: {', '.join(known) or 'none'} "
                     f"(looked in {', '.join(str(d) for d in suite_dirs())})")


def load_suite(name_or_path: str) -> SuiteConfig:
    path = find_suite(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    return parse_suite(raw, path)


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
    if not isinstance(batch, int) or batch < 1:
        raise UsageError(f"{where}: batch_size must be a positive integer")
    return SuiteConfig(
        suite=str(raw["suite"]), dataset=dataset["name"], split=str(dataset.get("split", "test")),
        task_model=task["name"], task_params=dict(task.get("params") or {}),
        task_weights=task.get("weights"), codecs=codecs,
        train_split=raw.get("train_split", "train"), batch_size=batch,
        accuracy_levels=tuple(float(a) for a in levels), seed=int(raw.get("seed", 0)),
        description=str(raw.get("description", "")), path=path,
    )


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
