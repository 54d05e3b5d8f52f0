"""Reference points reported in papers: shown beside reproduced results, never mixed up with them.

They live as data files (``leaderboard/literature/*.json|yaml``) with a citation and the exact
place the numbers were read from. Their bounds and gaps are computed here like any record's;
only the reported rate and score are taken from the file, and they are labelled as reported.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import vcmbench
from vcmbench.publish.records import SAFE_NAME, PublishError

LITERATURE_KIND = "vcmbench.literature"
METRICS = ("accuracy", "mAP")
REPORTED_LABEL = "reported, not reproduced"
_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True)
class Citation:
    authors: str
    title: str
    venue: str
    year: int
    url: str | None = None

    def text(self) -> str:
        return f'{self.authors}, "{self.title}", {self.venue}, {self.year}'


@dataclass(frozen=True)
class ReportedPoint:
    score: float  # accuracy or mAP, as a fraction
    bits_per_sample: float | None = None
    bits_per_pixel: float | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LiteratureEntry:
    id: str
    suite: str
    dataset: str
    method: str
    metric: str  # "accuracy" (a rate-accuracy bound applies) or "mAP" (it does not)
    points: tuple[ReportedPoint, ...]
    citation: Citation
    source: dict[str, Any]
    path: Path
    num_classes: int | None = None
    points_per_sample: int | None = None
    accuracy_levels: tuple[float, ...] = ()
    note: str = ""

    @property
    def is_accuracy(self) -> bool:
        return self.metric == "accuracy"

    @property
    def label(self) -> str:
        """The short name used in legends and tables."""
        surnames = [a.split()[-1] for a in self.citation.authors.split(",") if a.strip()]
        who = " & ".join(surnames) if len(surnames) <= 2 else f"{surnames[0]} et al."
        return f"{who} {self.citation.year}: {self.method}"


def default_literature_dir() -> Path:
    """``./leaderboard/literature`` when present, else the source checkout's."""
    here = Path.cwd() / "leaderboard" / "literature"
    if here.is_dir():
        return here
    return Path(vcmbench.__file__).resolve().parents[2] / "leaderboard" / "literature"


def load_literature(folder: Path) -> list[LiteratureEntry]:
    """Every literature file in ``folder`` (none when it does not exist), ids unique."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    entries: dict[str, LiteratureEntry] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix in _SUFFIXES and p.is_file()):
        entry = read_literature(path)
        if entry.id in entries:
            raise PublishError(f"{path}: id: {entry.id!r} is also used by {entries[entry.id].path}")
        entries[entry.id] = entry
    return list(entries.values())


def read_literature(path: Path) -> LiteratureEntry:
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PublishError(f"{path}: not readable {path.suffix[1:].upper()} ({first})") from exc
    try:
        return parse_literature(raw, path)
    except _Bad as exc:
        raise PublishError(f"{path}: {exc}") from None


class _Bad(Exception):
    pass


def _text(raw: dict[str, Any], key: str, where: str = "", required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"{where}{key}: missing or not a non-empty string")
    return " ".join(value.split())


def _number(raw: dict[str, Any], key: str, where: str, low: float, high: float = math.inf) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Bad(f"{where}{key}: must be a finite number, got {value!r}")
    if not low <= value <= high:
        raise _Bad(f"{where}{key}: {value} is outside [{low}, {high}]")
    return float(value)


def _positive_int(raw: dict[str, Any], key: str, minimum: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _Bad(f"{key}: must be an integer >= {minimum}, got {value!r}")
    return value


def parse_literature(raw: Any, path: Path) -> LiteratureEntry:
    """Check a literature file field by field; _Bad names the first field that is wrong."""
    if not isinstance(raw, dict):
        raise _Bad("not a mapping")
    if raw.get("kind") != LITERATURE_KIND:
        raise _Bad(f"kind: expected {LITERATURE_KIND!r}, got {raw.get('kind')!r}")
    for key in ("id", "suite"):
        value = raw.get(key)
        if not isinstance(value, str) or not SAFE_NAME.match(value):
            raise _Bad(f"{key}: {value!r} is not a safe name (letters, digits, '.', '_', '-')")
    metric = raw.get("metric")
    if metric not in METRICS:
        raise _Bad(f"metric: expected one of {METRICS}, got {metric!r}")
    num_classes = _positive_int(raw, "num_classes", 2)
    if metric == "accuracy" and num_classes is None:
        raise _Bad("num_classes: needed for an accuracy, to compute its bound")
    points = raw.get("points")
    if not isinstance(points, list) or not points:
        raise _Bad("points: missing or empty")
    parsed = tuple(_point(p, f"points[{i}].") for i, p in enumerate(points))
    levels = raw.get("accuracy_levels", [])
    if not isinstance(levels, list):
        raise _Bad("accuracy_levels: not a list")
    citation = raw.get("citation")
    if not isinstance(citation, dict):
        raise _Bad("citation: missing or not a mapping")
    year = citation.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        raise _Bad(f"citation.year: must be an integer, got {year!r}")
    source = raw.get("source")
    if not isinstance(source, dict) or not source:
        raise _Bad(
            "source: missing: say where the numbers were read (paper section, or repository, path and commit)"
        )
    if source.get("kind") == "repository":
        for key in ("repository", "path", "commit"):
            _text(source, key, "source.")
    return LiteratureEntry(
        id=raw["id"],
        suite=raw["suite"],
        dataset=_text(raw, "dataset"),
        method=_text(raw, "method"),
        metric=metric,
        points=parsed,
        citation=Citation(
            authors=_text(citation, "authors", "citation."),
            title=_text(citation, "title", "citation."),
            venue=_text(citation, "venue", "citation."),
            year=year,
            url=_text(citation, "url", "citation.", required=False),
        ),
        source=source,
        path=path,
        num_classes=num_classes,
        points_per_sample=_positive_int(raw, "points_per_sample", 1),
        accuracy_levels=tuple(
            _number({"level": v}, "level", f"accuracy_levels[{i}].", 0.0, 1.0) for i, v in enumerate(levels)
        ),
        note=_text(raw, "note", required=False) or "",
    )


def _point(raw: Any, where: str) -> ReportedPoint:
    if not isinstance(raw, dict):
        raise _Bad(f"{where[:-1]}: not a mapping")
    score = _number(raw, "score", where, 0.0, 1.0)
    if score is None:
        raise _Bad(f"{where}score: missing (accuracy or mAP as a fraction in [0, 1])")
    bits = _number(raw, "bits_per_sample", where, 0.0)
    bpp = _number(raw, "bits_per_pixel", where, 0.0)
    if bits is None and bpp is None:
        raise _Bad(f"{where}bits_per_sample: missing (give bits_per_sample or bits_per_pixel)")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise _Bad(f"{where}params: not a mapping")
    return ReportedPoint(score=score, bits_per_sample=bits, bits_per_pixel=bpp, params=params)
