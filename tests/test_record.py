from __future__ import annotations

import json
import os

import pytest

from conftest import make_record
from vcmbench.api.record import (
    SCHEMA_VERSION,
    RecordError,
    read_record,
    validate,
    write_json_atomic,
    write_record,
)


def test_round_trip_through_disk(tmp_path):
    record = make_record()
    write_record(tmp_path / "r.json", record)
    assert read_record(tmp_path / "r.json") == record


def test_provenance_is_filled():
    p = make_record().provenance
    assert p.vcmbench_version and p.python and p.date and p.device == "cpu"


@pytest.mark.parametrize("field,value,message", [
    ("accuracy", 0.9, "accuracy: != correct / samples"),
    ("bits_per_sample", 5.0, "bits_per_sample: != bits_total / samples"),
    ("bits_total", 15, "not a whole number of bytes"),
    ("samples", 5, "metrics.samples"),
    ("accuracy", float("nan"), "metrics.accuracy"),
])
def test_inconsistent_metrics_are_named(field, value, message):
    raw = make_record().to_dict()
    raw["metrics"][field] = value
    problems = validate(raw)
    assert any(message in p for p in problems), problems


def test_missing_fields_and_bad_types_are_named():
    raw = make_record().to_dict()
    del raw["dataset"]["fingerprint"]
    assert "dataset.fingerprint: missing" in validate(raw)
    raw = make_record().to_dict()
    raw["dataset"]["prior_counts"] = [1, 1]
    assert any("prior_counts" in p for p in validate(raw))
    assert validate([1, 2]) == ["record: not a JSON object"]
    assert validate(make_record().to_dict()) == []


def test_newer_schema_is_refused(tmp_path):
    raw = make_record().to_dict()
    raw["schema_version"] = SCHEMA_VERSION + 1
    (tmp_path / "r.json").write_text(json.dumps(raw))
    with pytest.raises(RecordError, match="r.json: schema_version"):
        read_record(tmp_path / "r.json")


def test_corrupted_file_names_the_file(tmp_path):
    (tmp_path / "r.json").write_text("{not json")
    with pytest.raises(RecordError, match="r.json"):
        read_record(tmp_path / "r.json")


def test_atomic_write_keeps_old_file_when_serialisation_fails(tmp_path):
    path = tmp_path / "r.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(ValueError):
        write_json_atomic(path, {"a": float("nan")})  # allow_nan=False refuses
    assert json.loads(path.read_text()) == {"a": 1}
    assert os.listdir(tmp_path) == ["r.json"]  # no temp file left behind
