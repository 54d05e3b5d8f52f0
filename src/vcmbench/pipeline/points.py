"""Operating points given on the command line: ``vcmbench run SUITE --point 'webp:quality=10,50;method=6'``.

One ``--point`` names a codec and, for each parameter, the values to try; the points are every
combination (here 2: quality 10 and 50, each with method 6), in the order written, over the
parameters the suite shares for that codec. They replace the suite's grid for that codec (a codec
the suite lacks joins it). Values are read as YAML scalars (``10`` an integer, ``0.5`` a float,
``null``/``None`` None, ``true`` a boolean, anything else a string), never as code.

Grammar: ``NAME:KEY=V[,V...][;KEY=V[,V...]]...``. Anything else is one line saying what is wrong
(exit 2), before any work.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import yaml

from vcmbench.errors import UsageError
from vcmbench.pipeline.config import CodecEntry, SuiteConfig

MAX_POINTS = 1_000  # combinations one --point may ask for (a typo must not plan a million points)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_point(spec: str) -> tuple[str, list[dict[str, Any]]]:
    """``"jpeg:quality=10,50"`` -> ``("jpeg", [{"quality": 10}, {"quality": 50}])``."""
    where = f"--point {spec!r}"
    name, colon, body = spec.partition(":")
    name = name.strip()
    if not colon or not _NAME.fullmatch(name):
        raise UsageError(f"{where}: expected CODEC:KEY=V1,V2;KEY2=V (e.g. 'jpeg:quality=10,50')")
    grid: dict[str, list[Any]] = {}
    for part in body.split(";"):
        key, equals, values = part.partition("=")
        key = key.strip()
        if not equals or not _KEY.fullmatch(key):
            raise UsageError(f"{where}: {part.strip()!r} is not KEY=V1,V2")
        if key in grid:
            raise UsageError(f"{where}: parameter {key!r} given twice")
        grid[key] = [_value(v, key, where) for v in values.split(",")]
    count = 1
    for values in grid.values():
        count *= len(values)
    if count > MAX_POINTS:
        raise UsageError(f"{where}: {count} combinations, more than {MAX_POINTS}")
    points = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    return name, points


def _value(text: str, key: str, where: str) -> Any:
    text = text.strip()
    if not text:
        raise UsageError(f"{where}: an empty value for {key!r}")
    if text == "None":
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if value is not None and not isinstance(value, bool | int | float | str):
        raise UsageError(f"{where}: {key}={text!r} is not a number, a word, true/false or null")
    return value


def apply_points(config: SuiteConfig, specs: Sequence[str]) -> tuple[SuiteConfig, list[str]]:
    """The suite with each ``--point`` codec's grid replaced (or the codec added); and those codecs' names."""
    grids: dict[str, list[dict[str, Any]]] = {}
    for spec in specs:
        name, points = parse_point(spec)
        grids.setdefault(name, []).extend(p for p in points if p not in grids.get(name, []))
    entries = [replace(e, points=grids[e.name]) if e.name in grids else e for e in config.codecs]
    known = {e.name for e in config.codecs}
    entries += [CodecEntry(name=n, points=g) for n, g in grids.items() if n not in known]
    return replace(config, codecs=entries), list(grids)
