"""Reading the records to publish, with the checks a public leaderboard needs on top of the schema.

The schema (``vcmbench.api.record.validate``) makes one record self-consistent. Publishing also
needs names that are safe as file names, codec metadata that the tables can trust, a record
that agrees with its per-sample file (``vcmbench.report.samplefile``), a point that does not
beat the rate-accuracy bound (no code can: such a record was edited or used the test data),
and records of one suite that agree about the test set, the training split and the task model,
because all their gaps are measured against one bound and their hulls share one free point.
Any problem stops publishing with the file and the field named.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vcmbench.api.record import ResultRecord, validate
from vcmbench.errors import VcmbenchError
from vcmbench.report.gaps import impossible_message, point_gap
from vcmbench.report.load import raw_records
from vcmbench.report.samplefile import check_sample_file

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
GRANULARITIES = ("sample", "block")
DECODES_TO = ("input", "features", "label")
# Fields every record of one (suite, dataset) must share: they define the bound and the ceiling.
_SHARED = (
    ("dataset", "fingerprint"),
    ("dataset", "num_classes"),
    ("dataset", "samples"),
    ("dataset", "prior_counts"),
    ("dataset", "pixels_per_sample"),
    ("dataset", "points_per_sample"),
    ("dataset", "train_fingerprint"),
    ("dataset", "train_prior_counts"),
    ("task_model", "id"),
    ("task_model", "version"),
    ("task_model", "reference_accuracy"),
    ("task_model", "fingerprint"),
    ("task_model", "params"),
    ("task_model", "metric"),
    ("task_model", "reference_scores"),
)


class PublishError(VcmbenchError):
    """A record or literature file that cannot be published; the message names the file and field."""


@dataclass(frozen=True)
class LoadedRecord:
    path: Path
    record: ResultRecord


def publishing_problems(raw: dict[str, Any]) -> list[str]:
    """Problems the schema allows but a leaderboard must not (raw must already pass ``validate``)."""
    problems = []
    if not SAFE_NAME.match(raw["suite"]):
        problems.append(f"suite: {raw['suite']!r} is not a safe name (letters, digits, '.', '_', '-')")
    if not isinstance(raw["dataset"]["id"], str) or not SAFE_NAME.match(raw["dataset"]["id"]):
        problems.append(
            f"dataset.id: {raw['dataset']['id']!r} is not a safe name (letters, digits, '.', '_', '-')"
        )
    codec = raw["codec"]
    if not isinstance(codec["name"], str) or not codec["name"].strip():
        problems.append("codec.name: missing or empty")
    if not isinstance(codec["params"], dict):
        problems.append("codec.params: not an object")
    if codec["granularity"] not in GRANULARITIES:
        problems.append(f"codec.granularity: expected one of {GRANULARITIES}, got {codec['granularity']!r}")
    if codec["decodes_to"] not in DECODES_TO:
        problems.append(f"codec.decodes_to: expected one of {DECODES_TO}, got {codec['decodes_to']!r}")
    m = raw.get("metrics")
    if raw["status"] == "ok" and isinstance(m, dict):
        problems += _metric_problems(m, raw["dataset"], codec["granularity"])
    return problems


def _metric_problems(m: dict[str, Any], ds: dict[str, Any], granularity: str) -> list[str]:
    problems = []
    if m["blocks"] < 1:
        problems.append("metrics.blocks: a record with samples must have at least one bitstream")
    elif granularity == "sample" and m["blocks"] != m["samples"]:
        problems.append(
            f"metrics.blocks: {m['blocks']} bitstreams for {m['samples']} samples coded one by one"
        )
    elif m["blocks"] > m["samples"]:
        problems.append(f"metrics.blocks: {m['blocks']} bitstreams for only {m['samples']} samples")
    bits = m["bits_total"] / m["samples"]
    for key, per in (("bits_per_pixel", "pixels_per_sample"), ("bits_per_point", "points_per_sample")):
        value = m.get(key)
        if value is None:
            continue
        size = ds.get(per)
        if not isinstance(size, int) or size <= 0:
            problems.append(f"metrics.{key}: given, but dataset.{per} is not a positive integer")
        elif not _finite(value) or not math.isclose(value, bits / size, rel_tol=1e-9, abs_tol=1e-12):
            problems.append(f"metrics.{key}: != bits_total / samples / dataset.{per}")
    estimate = m.get("estimated_bits_per_sample")
    if estimate is not None and (not _finite(estimate) or estimate < 0):
        problems.append("metrics.estimated_bits_per_sample: must be a finite non-negative number")
    return problems


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def parse_record(raw: Any, path: Path) -> ResultRecord:
    """One raw record, checked by the schema and for publishing; PublishError names file and field."""
    try:
        problems = validate(raw)
    except (TypeError, AttributeError, KeyError) as exc:  # a field of the wrong type deep inside
        problems = [f"record: malformed ({exc})"]
    if not problems:
        problems = publishing_problems(raw)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PublishError(f"{path}: {problems[0]}{more}")
    try:
        record = ResultRecord.from_dict(raw)
    except (VcmbenchError, TypeError) as exc:
        raise PublishError(f"{path}: {exc}") from exc
    try:
        check_sample_file(path, record)
    except VcmbenchError as exc:
        raise PublishError(str(exc)) from exc
    if record.status == "ok" and record.metrics is not None:
        gap = point_gap(record)
        if gap.impossible:
            raise PublishError(f"{path}: metrics: {impossible_message(gap)}")
    return record


def load_records(paths: Sequence[Path]) -> list[LoadedRecord]:
    """Every record under ``paths``, validated one by one and then against each other."""
    try:
        found = raw_records(paths)
    except VcmbenchError as exc:
        raise PublishError(str(exc)) from exc
    loaded = [LoadedRecord(path, parse_record(raw, path)) for path, raw in found]
    if not loaded:
        raise PublishError(
            f"no result records found in {', '.join(str(p) for p in paths)} "
            "(run `vcmbench run SUITE --out DIR` first)"
        )
    check_consistency(loaded)
    return loaded


def _field(record: ResultRecord, section: str, name: str) -> Any:
    return getattr(getattr(record, section), name)


def check_consistency(loaded: Sequence[LoadedRecord]) -> None:
    """Records of one (suite, dataset) share test set, training split and task model; no point twice.

    Different test-set fingerprints under one dataset id (a ``--limit`` run beside a full one)
    are refused rather than published as two sections of the same name.
    """
    first: dict[tuple[str, str], LoadedRecord] = {}
    points: dict[tuple[str, str, str, str], Path] = {}
    for item in loaded:
        r = item.record
        key = (r.suite, r.dataset.id)
        ref = first.setdefault(key, item)
        for section, name in _SHARED:
            mine, theirs = _field(r, section, name), _field(ref.record, section, name)
            if mine != theirs and (section, name) == ("dataset", "fingerprint"):
                raise PublishError(
                    f"{item.path}: dataset.fingerprint {mine} differs from {theirs} in {ref.path}: two "
                    f"different test sets under the id {r.dataset.id!r} (a --limit run keeps the id); "
                    "publish the records of one of them"
                )
            if mine != theirs:
                raise PublishError(
                    f"{item.path}: {section}.{name} {_short(mine)} differs from "
                    f"{_short(theirs)} in {ref.path} (same suite {r.suite!r}, dataset "
                    f"{r.dataset.id!r}: one bound needs one test set and task model)"
                )
        point = (*key, r.codec.name, json.dumps(r.codec.params, sort_keys=True, default=str))
        if point in points:
            raise PublishError(
                f"{item.path}: codec.params: operating point {r.codec.name!r} "
                f"{r.codec.params} is also in {points[point]}; publish one of them"
            )
        points[point] = item.path


def codec_family(record: ResultRecord) -> str:
    """The family a codec belongs to, for the page's filter: its built-in module, else its package.

    ``vcmbench.codecs.labels:LossyLabelCodec`` is of family ``labels``; a third-party codec's family
    is its distribution (``CodecRef.package``) or top-level module; a record without either (schema 1)
    falls back to the codec name's first word (``label-lossy`` -> ``label``).
    """
    codec = record.codec
    module = (codec.qualname or "").partition(":")[0]
    parts = module.split(".")
    if parts[:2] == ["vcmbench", "codecs"] and len(parts) > 2:
        return parts[2]
    if codec.package and codec.package != "vcmbench":
        return codec.package
    if module:
        return parts[0]
    return codec.name.split("-")[0] or codec.name


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
