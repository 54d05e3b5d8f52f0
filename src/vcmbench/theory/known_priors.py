"""Label counts of published dataset splits, for results that were not run here.

A bound needs the label prior of the test set the accuracy was measured on. For records vcmbench
wrote itself the counts are in the record; for numbers quoted from papers (leaderboard
literature) and for ``vcmbench bound --prior NAME`` they come from here. Each prior carries its
class names and the place its counts were read, and is checked when loaded: the counts must be
one non-negative integer per class and add up to the stated split size (ModelNet40 test: 2,468).

The data live in ``vcmbench/data/known-priors.json`` (plain JSON read with the standard library:
no numpy needed to ask for a prior, and nothing in a data file can execute).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from vcmbench.errors import DataError, UnknownNameError

DATA_FILE = "known-priors.json"
KIND = "vcmbench.known-priors"


@dataclass(frozen=True)
class KnownPrior:
    """The label counts of one split of one published dataset, and where they were read."""

    name: str  # e.g. "modelnet40-test"
    dataset: str
    split: str
    classes: tuple[str, ...]
    counts: tuple[int, ...]
    source: str

    @property
    def samples(self) -> int:
        return sum(self.counts)

    def label(self) -> str:
        """How a table names this prior: dataset, split and size."""
        return f"{self.dataset} {self.split} split ({self.samples:,} samples, K={len(self.counts)})"


def _parse(name: str, raw: Any) -> KnownPrior:
    where = f"{DATA_FILE}: priors.{name}"
    if not isinstance(raw, dict):
        raise DataError(f"{where}: not an object")
    classes, counts, total = raw.get("classes"), raw.get("counts"), raw.get("total")
    if not isinstance(classes, list) or not all(isinstance(c, str) and c for c in classes):
        raise DataError(f"{where}.classes: must be a list of class names")
    if (not isinstance(counts, list) or len(counts) != len(classes) or len(counts) < 2
            or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts)):
        raise DataError(f"{where}.counts: must be one non-negative integer per class")
    if not isinstance(total, int) or sum(counts) != total:
        raise DataError(f"{where}.counts: sum {sum(counts)} != total {total!r}")
    fields = {key: raw.get(key) for key in ("dataset", "split", "source")}
    for key, value in fields.items():
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{where}.{key}: missing or empty")
    return KnownPrior(name=name, dataset=fields["dataset"], split=fields["split"], classes=tuple(classes),
                      counts=tuple(counts), source=fields["source"])


@lru_cache(maxsize=1)
def _all() -> dict[str, KnownPrior]:
    try:
        text = resources.files("vcmbench").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
        raw = json.loads(text)
    except (OSError, ValueError) as exc:
        raise DataError(f"vcmbench/data/{DATA_FILE}: not readable ({exc}); reinstall vcmbench") from exc
    if not isinstance(raw, dict) or raw.get("kind") != KIND or not isinstance(raw.get("priors"), dict):
        raise DataError(f"vcmbench/data/{DATA_FILE}: not a {KIND!r} file")
    return {name: _parse(name, entry) for name, entry in raw["priors"].items()}


def known_prior_names() -> list[str]:
    """Every name :func:`known_prior` accepts, sorted."""
    return sorted(_all())


def known_prior_info(name: str) -> KnownPrior:
    """The prior called ``name`` with its classes and source; UnknownNameError suggests close names."""
    priors = _all()
    if name not in priors:
        close = difflib.get_close_matches(str(name), priors, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownNameError(f"no known prior {name!r}{hint}; known priors: {', '.join(sorted(priors))}")
    return priors[name]


def known_prior(name: str) -> list[int]:
    """Label counts of a published split: ``known_prior("modelnet40-test")`` gives 40 counts, 2,468 shapes."""
    return list(known_prior_info(name).counts)
