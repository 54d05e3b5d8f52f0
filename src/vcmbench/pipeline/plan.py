"""Everything about a run that can be checked before any data is loaded or model trained.

Unknown codec names, an operating point whose parameters its codec refuses, a ``--limit``
below 1, a results folder that is a file or cannot be written: each is one line and exit 2
within a second, not a traceback after minutes of training.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vcmbench.api.codec import CODECS, Codec
from vcmbench.errors import UsageError, VcmbenchError
from vcmbench.pipeline.config import CodecEntry, SuiteConfig
from vcmbench.pipeline.refs import jsonable


@dataclass(frozen=True)
class Point:
    """One operating point of the run: its codec instance (the encoder) and its record's place."""

    codec: Codec
    relative_path: Path  # <codec>/<point>.json under the run folder


def instantiate(kind: str, cls: type, params: dict[str, Any]) -> Any:
    """``cls(**params)``; any refusal is a one-line UsageError naming what and which parameters."""
    name = getattr(cls, "name", cls.__name__)
    try:
        return cls(**params)
    except TypeError as exc:
        raise UsageError(f"{kind} {name!r}: bad parameters {params}: {exc}") from exc
    except VcmbenchError as exc:
        raise UsageError(f"{kind} {name!r} with {params}: {exc}") from exc
    except Exception as exc:  # a plugin's constructor may refuse with anything
        raise UsageError(f"{kind} {name!r} with {params}: {type(exc).__name__}: {exc}") from exc


def codec_entries(config: SuiteConfig, names: Sequence[str] | None) -> list[CodecEntry]:
    """The suite's codecs, or only those named; a name the suite lacks runs its default grid."""
    if not names:
        return list(config.codecs)
    by_name = {e.name: e for e in config.codecs}
    return [by_name.get(n, CodecEntry(name=n, points=None)) for n in names]


def plan_points(config: SuiteConfig, names: Sequence[str] | None = None) -> list[Point]:
    """Construct every operating point of the run (unknown names and bad parameters fail here)."""
    entries = codec_entries(config, names)
    classes = {e.name: CODECS.get(e.name) for e in entries}
    points = []
    for entry in entries:
        cls = classes[entry.name]
        grid = entry.points if entry.points is not None else _default_grid(entry.name, cls)
        for point in grid:
            codec = instantiate("codec", cls, {**entry.params, **point})
            points.append(Point(codec, Path(entry.name) / f"{point_slug(codec.params)}.json"))
    return points


def _default_grid(name: str, cls: type[Codec]) -> list[dict[str, Any]]:
    try:
        grid = cls.operating_points()
    except Exception as exc:
        raise UsageError(f"codec {name!r}: operating_points() failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(grid, list) or not all(isinstance(p, dict) for p in grid):
        raise UsageError(f"codec {name!r}: operating_points() must return a list of parameter mappings")
    return grid


def point_slug(params: dict[str, Any]) -> str:
    """A readable, filesystem-safe, unique file stem for an operating point."""
    if not params:
        return "default"
    text = "_".join(f"{k}={v}" for k, v in sorted(params.items()))
    slug = re.sub(r"[^A-Za-z0-9=.,+-]+", "-", text).strip("-")
    digest = hashlib.sha256(json.dumps(jsonable(params), sort_keys=True).encode()).hexdigest()[:8]
    return slug if len(slug) <= 60 and slug == text else f"{slug[:50]}-{digest}"


def check_out_dir(out: Path) -> None:
    """The results folder exists (made if need be) and takes a file; else one line saying why."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"results folder {out} (--out) is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise UsageError(f"results folder {out} (--out) cannot be written: {exc.strerror or exc}") from exc


def check_output_file(path: Path, what: str) -> None:
    """A file the run will write at its end (a plot) can be written: checked before the work, not after."""
    folder = Path(path).parent
    if Path(path).is_dir():
        raise UsageError(f"{what} {path} is a folder, not a file")
    if not folder.is_dir():
        raise UsageError(f"{what} {path}: folder {folder} does not exist")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UsageError(f"{what} {path} cannot be written: {exc.strerror or exc}") from exc
