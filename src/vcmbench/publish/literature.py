"""Reference points reported in papers: shown beside reproduced results, never mixed up with them.

They live as data files (``leaderboard/literature/*.json|yaml``) with a citation and the exact
place the numbers were read from. Their bounds and gaps are computed here like any record's;
only the reported rate and score are taken from the file, and they are labelled as reported.

A reported accuracy was measured on the authors' test set, so its bound is read with that test
set's label counts (``test_prior``): a known prior's name (:mod:`vcmbench.theory.known_priors`,
e.g. ``modelnet40-test``) or ``{counts: [...], source: "..."}``. Without it the uniform K-class
bound is used, and the tables say so. ``train_prior`` (same forms) gives the reported curve its
free point: 0 bits at the test share of the training split's most frequent class.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import vcmbench
from vcmbench.errors import UnknownNameError
from vcmbench.publish.records import SAFE_NAME, PublishError
from vcmbench.report.hull import Point, free_point
from vcmbench.theory.known_priors import known_prior_info

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
class LiteraturePrior:
    """Label counts of the split a literature result used, and where they come from."""

    counts: tuple[int, ...]
    label: str  # e.g. "ModelNet40 test split (2,468 samples, K=40)"
    source: str


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
    test_prior: LiteraturePrior | None = None  # None: the uniform K-class bound applies
    train_prior: LiteraturePrior | None = None  # None: no free point for the reported curve

    @property
    def is_accuracy(self) -> bool:
        return self.metric == "accuracy"

    @property
    def prior_label(self) -> str:
        """Which label prior the entry's bound uses, for the tables."""
        if self.test_prior is not None:
            return f"label prior of the {self.test_prior.label}"
        return f"uniform prior, K={self.num_classes} (paper eq. 4; the file gives no test-set counts)"

    @property
    def free_point(self) -> Point | None:
        if self.test_prior is None or self.train_prior is None:
            return None
        return free_point(self.test_prior.counts, self.train_prior.counts)

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
    test_prior = _prior(raw, "test_prior", num_classes)
    train_prior = _prior(raw, "train_prior", num_classes)
    if train_prior is not None and test_prior is None:
        raise _Bad("train_prior: given without test_prior (the free point's accuracy needs the test counts)")
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
        test_prior=test_prior,
        train_prior=train_prior,
    )


def _prior(raw: dict[str, Any], key: str, num_classes: int | None) -> LiteraturePrior | None:
    """A known prior's name, or {counts, source}; the counts must match num_classes."""
    value = raw.get(key)
    if value is None:
        return None
    if raw.get("metric") != "accuracy":
        raise _Bad(f"{key}: only an accuracy has a rate-accuracy bound to read with it")
    if isinstance(value, str):
        try:
            info = known_prior_info(value)
        except UnknownNameError as exc:
            raise _Bad(f"{key}: {exc}") from None
        prior = LiteraturePrior(info.counts, info.label(), info.source)
    elif isinstance(value, dict):
        counts = value.get("counts")
        if (not isinstance(counts, list) or not counts
                or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts)
                or sum(counts) == 0):
            raise _Bad(f"{key}.counts: must be non-negative integer label counts, not all zero")
        source = _text(value, "source", f"{key}.")
        split = "test" if key == "test_prior" else "training"
        prior = LiteraturePrior(tuple(counts), f"{split} split given in the file ({sum(counts):,} samples, "
                                f"K={len(counts)})", source)
    else:
        raise _Bad(f"{key}: a known prior's name or {{counts: [...], source: ...}}, got {value!r}")
    if len(prior.counts) != num_classes:
        raise _Bad(f"{key}: {len(prior.counts)} classes but num_classes is {num_classes}")
    return prior


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
