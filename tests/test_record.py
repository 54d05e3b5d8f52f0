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


FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures"


def test_schema_1_record_still_loads_with_unknowns_as_none():
    record = read_record(FIXTURES / "record-v1.json")
    assert record.schema_version == SCHEMA_VERSION == 3
    assert record.dataset.train_prior_counts is None and record.dataset.train_fingerprint is None
    assert record.task_model.fingerprint is None
    assert record.codec.identity == {} and record.codec.package is None
    assert record.metrics.accuracy_interval is None
    assert record.samples_sha256 is None
    assert record.metrics.correct == 3


def test_accuracy_interval_must_be_the_recomputed_one():
    from vcmbench.theory.confidence import clopper_pearson

    raw = make_record().to_dict()
    m = raw["metrics"]
    raw["metrics"]["accuracy_interval"] = list(clopper_pearson(m["correct"], m["samples"]))
    assert validate(raw) == []
    raw["metrics"]["accuracy_interval"] = [0.0, 1.0]
    assert any("accuracy_interval" in p for p in validate(raw))


def test_train_prior_counts_are_checked():
    raw = make_record().to_dict()
    raw["dataset"]["train_prior_counts"] = [1]
    assert any("train_prior_counts" in p for p in validate(raw))
    raw["dataset"]["train_prior_counts"] = [3, 1]
    assert validate(raw) == []


def test_written_files_respect_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "a.json", {"x": 1})
        assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        write_json_atomic(tmp_path / "b.json", {"x": 1})
        assert (tmp_path / "b.json").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def _layered(raw, layer_bits, correct=(1, 3)):
    raw["metrics"]["layers"] = [
        {"name": f"layer{i}", "bits_total": b, "correct": c, "scores": {"psnr": 20.0 + i}}
        for i, (b, c) in enumerate(zip(layer_bits, correct, strict=True))
    ]
    return raw


def test_layers_must_add_up_to_the_rate(tmp_path):
    raw = make_record().to_dict()
    total = raw["metrics"]["bits_total"]
    good = _layered(raw, [8, total - 8])
    assert validate(good) == []
    (tmp_path / "r.json").write_text(json.dumps(good))
    record = read_record(tmp_path / "r.json")
    assert [lay.bits_total for lay in record.metrics.layers] == [8, total - 8]
    assert record.metrics.layers[1].scores == {"psnr": 21.0}
    bad = _layered(make_record().to_dict(), [8, total])
    assert any("add up to" in p for p in validate(bad))


def test_scores_and_metric_name_are_checked():
    raw = make_record().to_dict()
    raw["metrics"]["scores"] = {"mAP@.5": 0.5}
    raw["task_model"]["metric"] = "mAP@.5"
    assert validate(raw) == []
    raw["metrics"]["scores"] = {"mAP@.5": float("nan")}
    assert any("metrics.scores" in p for p in validate(raw))


def test_schema_2_record_loads_with_schema_3_fields_unknown():
    record = read_record(FIXTURES / "record-v2.json")
    assert record.schema_version == SCHEMA_VERSION == 3
    assert record.task_model.confusion is None
    assert record.codec.libraries == {} and record.codec.complexity == {}
    assert record.bitstreams is None
    assert record.dataset.train_fingerprint is not None  # schema 2 fields survive the lift


def _with_confusion(confusion):
    raw = make_record().to_dict()
    raw["task_model"]["confusion"] = confusion
    return raw


def test_confusion_must_agree_with_prior_and_reference_accuracy():
    raw = make_record().to_dict()
    counts = raw["dataset"]["prior_counts"]
    k = len(counts)
    right = round(raw["task_model"]["reference_accuracy"] * sum(counts))
    # Put `right` correct answers on the diagonal, the rest one class off.
    confusion = [[0] * k for _ in range(k)]
    left = right
    for y, n in enumerate(counts):
        hit = min(n, left)
        left -= hit
        confusion[y][y] = hit
        confusion[y][(y + 1) % k] = n - hit
    if left:
        pytest.skip("fixture record's reference accuracy is not a count of its samples")
    assert validate(_with_confusion(confusion)) == []
    shifted = [row[:] for row in confusion]
    shifted[0][0], shifted[0][1 % k] = shifted[0][0] - 1, shifted[0][1 % k] + 1
    if confusion[0][0] > 0:
        assert any("reference_accuracy" in p for p in validate(_with_confusion(shifted)))
    wrong_rows = [row[:] for row in confusion]
    wrong_rows[0][0] += 1
    assert any("prior_counts" in p for p in validate(_with_confusion(wrong_rows)))
    assert any("non-negative integers" in p for p in validate(_with_confusion([[1.5] * k] * k)))


def test_libraries_and_complexity_must_be_names_to_values():
    raw = make_record().to_dict()
    raw["codec"]["libraries"] = {"libheif": "1.19.5"}
    raw["codec"]["complexity"] = {"encoder_params": 1200, "decoder_macs_per_pixel": 3.5}
    assert validate(raw) == []
    raw["codec"]["libraries"] = {"libheif": 1}
    assert any("codec.libraries" in p for p in validate(raw))
