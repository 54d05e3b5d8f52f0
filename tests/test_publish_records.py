"""Publishing refuses malformed or inconsistent records, naming the file and the field.

Also holds the record factory the other publish tests use.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import write_with_samples
from vcmbench.api.record import (
    CodecRef,
    DatasetRef,
    Metrics,
    Provenance,
    ResultRecord,
    TaskRef,
    write_record,
)
from vcmbench.cli import main
from vcmbench.publish.records import PublishError, load_records

UNIFORM4 = (25, 25, 25, 25)


def make_record(
    codec: str = "c",
    bits_total: int = 800,
    correct: int = 90,
    *,
    samples: int = 100,
    counts: tuple[int, ...] = UNIFORM4,
    suite: str = "toy",
    dataset_id: str = "toy-ds",
    granularity: str = "block",
    blocks: int = 1,
    status: str = "ok",
    pixels: int | None = 784,
    reference_accuracy: float = 0.95,
    train_counts: tuple[int, ...] | None = None,
    fingerprint: str = "fp",
    **params,
) -> ResultRecord:
    """A consistent record: bits_per_sample and accuracy agree with bits_total and correct."""
    metrics = None
    if status == "ok":
        metrics = Metrics(
            accuracy=correct / samples,
            correct=correct,
            samples=samples,
            bits_total=bits_total,
            bits_per_sample=bits_total / samples,
            blocks=blocks,
            encode_seconds=0.01,
            decode_seconds=0.01,
            bits_per_pixel=bits_total / samples / pixels if pixels else None,
        )
    return ResultRecord(
        suite=suite,
        dataset=DatasetRef(
            id=dataset_id,
            split="test",
            fingerprint=fingerprint,
            num_classes=len(counts),
            samples=samples,
            prior_counts=list(counts),
            pixels_per_sample=pixels,
            train_prior_counts=None if train_counts is None else list(train_counts),
        ),
        task_model=TaskRef(id="oracle", version="1", params={}, reference_accuracy=reference_accuracy),
        codec=CodecRef(name=codec, version="1", params=params, granularity=granularity, decodes_to="label"),
        provenance=Provenance(
            vcmbench_version="0.1.0",
            git_commit="0123456789abcdef",
            date="2026-01-02T03:04:05+00:00",
            python="3.11",
            numpy="1.26",
            torch=None,
            platform="test",
            device="cpu",
            seed=0,
        ),
        status=status,
        metrics=metrics,
        error=None if status == "ok" else "boom",
    )


def write_raw(path: Path, raw: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_loads_records_from_folders_and_skips_only_the_pipelines_own_json(tmp_path):
    write_record(tmp_path / "runs" / "a" / "p1.json", make_record("a", q=1))
    write_record(tmp_path / "runs" / "b.json", make_record("b"))
    write_raw(tmp_path / "runs" / "reference.json", {"key": {}, "accuracy": 1.0})  # a cache, not a record
    (tmp_path / "runs" / "cache" / "tasks").mkdir(parents=True)
    (tmp_path / "runs" / "cache" / "tasks" / "svm.json").write_text("{not json")
    (tmp_path / "runs" / ".a.json.x1.tmp.json").write_text("")  # hidden: an interrupted write
    loaded = load_records([tmp_path / "runs"])
    assert sorted(item.record.codec.name for item in loaded) == ["a", "b"]


@pytest.mark.parametrize("text", ["not json", '{"suite": "toy", "codec": {', '{"key": {}, "accuracy": 1}'])
def test_a_damaged_or_foreign_json_file_in_a_folder_stops_publishing(tmp_path, text):
    write_record(tmp_path / "runs" / "a.json", make_record("a"))
    (tmp_path / "runs" / "b").mkdir()
    (tmp_path / "runs" / "b" / "p1.json").write_text(text)
    with pytest.raises(PublishError, match=r"b/p1\.json: "):
        load_records([tmp_path / "runs"])


def test_a_record_that_disagrees_with_its_sample_file_is_refused(tmp_path):
    made = make_record("a", 800, 90, granularity="sample", blocks=100)
    record = write_with_samples(tmp_path / "a.json", made)
    assert load_records([tmp_path])[0].record == record
    csv_path = tmp_path / "a.samples.csv"
    lines = csv_path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(",8,", ",16,", 1)  # one sample claims a byte more
    csv_path.write_text("".join(lines))
    with pytest.raises(PublishError, match=r"a\.json: samples_sha256 does not match a\.samples\.csv"):
        load_records([tmp_path])
    write_with_samples(tmp_path / "a.json", record, sha=False)
    csv_path.write_text("".join(lines))  # without a stored hash, the rows are still checked
    with pytest.raises(PublishError, match=r"a\.json: metrics\.bits_total 800 but the bits in a\.samples"):
        load_records([tmp_path])


def test_a_sample_file_outside_the_record_folder_is_refused(tmp_path):
    raw = make_record("a").to_dict()
    raw["samples_file"] = "../elsewhere.csv"
    write_raw(tmp_path / "a.json", raw)
    with pytest.raises(PublishError, match="must be a file name beside the record"):
        load_records([tmp_path])


def test_a_consistently_edited_record_below_the_bound_is_refused(tmp_path, capsys):
    # Totals, accuracy and the sample file all agree, and the point beats the bound: no code can.
    write_record(tmp_path / "runs" / "honest.json", make_record("honest", 800, 90))
    path = tmp_path / "runs" / "forged.json"
    write_with_samples(path, make_record("forged", 120, 90))  # 1.2 bits at 0.9; the bound is 1.37
    code = main(["publish", str(tmp_path / "runs"), "--out", str(tmp_path / "site"), "--no-literature"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and str(path) in err and "IMPOSSIBLE" in err
    assert not (tmp_path / "site").exists()


def test_records_of_one_suite_must_share_the_training_split(tmp_path):
    write_record(tmp_path / "a.json", make_record("a", train_counts=(5, 5, 5, 5)))
    write_record(tmp_path / "b.json", make_record("b", train_counts=(9, 5, 5, 5)))
    with pytest.raises(PublishError, match=r"b\.json: dataset\.train_prior_counts"):
        load_records([tmp_path])


def test_a_limited_run_beside_a_full_run_is_refused(tmp_path):
    write_record(tmp_path / "full" / "a.json", make_record("a"))
    write_record(tmp_path / "first10" / "a.json", make_record("a", 16, 9, samples=10, counts=(3, 3, 2, 2),
                                                              fingerprint="other"))
    with pytest.raises(PublishError, match="two different test sets under the id 'toy-ds'"):
        load_records([tmp_path])


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda r: r["metrics"].update(bits_per_sample=1.0), "metrics.bits_per_sample"),
        (lambda r: r["metrics"].update(accuracy=0.99), "metrics.accuracy"),
        (
            lambda r: r["metrics"].update(bits_total=804, bits_per_sample=8.04, bits_per_pixel=8.04 / 784),
            "metrics.bits_total",
        ),
        (lambda r: r.update(suite="../../etc"), "suite"),
        (lambda r: r["dataset"].update(id="a/b"), "dataset.id"),
        (lambda r: r["codec"].update(name="  "), "codec.name"),
        (lambda r: r["codec"].update(granularity="frame"), "codec.granularity"),
        (lambda r: r["codec"].update(decodes_to="text"), "codec.decodes_to"),
        (lambda r: r["metrics"].update(blocks=0), "metrics.blocks"),
        (lambda r: r["metrics"].update(bits_per_pixel=123.0), "metrics.bits_per_pixel"),
        (lambda r: r["metrics"].update(estimated_bits_per_sample=-1.0), "metrics.estimated_bits_per_sample"),
        (lambda r: r["dataset"].update(prior_counts=[50, 50, 0, 1]), "dataset.prior_counts"),
        (lambda r: r["task_model"].update(reference_accuracy=1.5), "task_model.reference_accuracy"),
        (lambda r: r.pop("codec"), "codec"),
        (lambda r: r["dataset"].update(samples="100"), "dataset"),
    ],
)
def test_a_bad_record_is_rejected_naming_file_and_field(tmp_path, mutate, field):
    raw = make_record().to_dict()
    mutate(raw)
    path = write_raw(tmp_path / "bad.json", raw)
    with pytest.raises(PublishError) as info:
        load_records([path])
    message = str(info.value)
    assert message.startswith(f"{path}: ") and field in message and "\n" not in message


def test_per_sample_codecs_must_send_one_bitstream_per_sample(tmp_path):
    write_record(tmp_path / "ok.json", make_record(granularity="sample", blocks=100))
    assert load_records([tmp_path / "ok.json"])
    write_record(tmp_path / "bad.json", make_record(granularity="sample", blocks=3))
    with pytest.raises(PublishError, match=r"bad\.json: metrics\.blocks"):
        load_records([tmp_path / "bad.json"])


def test_records_of_one_suite_must_share_the_test_set(tmp_path):
    write_record(tmp_path / "a.json", make_record("a"))
    write_record(tmp_path / "b.json", make_record("b", counts=(40, 20, 20, 20)))
    with pytest.raises(PublishError, match=r"b\.json: dataset\.prior_counts .* differs .* in .*a\.json"):
        load_records([tmp_path])


def test_records_of_one_suite_must_share_the_task_model_ceiling(tmp_path):
    write_record(tmp_path / "a.json", make_record("a"))
    write_record(tmp_path / "b.json", make_record("b", reference_accuracy=0.5))
    with pytest.raises(PublishError, match=r"task_model\.reference_accuracy"):
        load_records([tmp_path])


def test_the_same_operating_point_twice_is_refused(tmp_path):
    write_record(tmp_path / "a.json", make_record("a", q=1))
    write_record(tmp_path / "copy.json", make_record("a", q=1))
    write_record(tmp_path / "other.json", make_record("a", q=2))
    with pytest.raises(PublishError, match=r"codec\.params: operating point 'a'"):
        load_records([tmp_path])


def test_an_explicitly_named_file_must_be_a_record(tmp_path):
    path = write_raw(tmp_path / "reference.json", {"key": {}, "accuracy": 1.0})
    with pytest.raises(PublishError, match=r"reference\.json: "):
        load_records([path])
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(PublishError, match=r"broken\.json: not readable JSON"):
        load_records([tmp_path / "broken.json"])


def test_missing_paths_and_empty_folders_are_errors(tmp_path):
    with pytest.raises(PublishError, match="no such file or folder"):
        load_records([tmp_path / "nowhere"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(PublishError, match="no result records found"):
        load_records([tmp_path / "empty"])


def test_cli_rejects_a_bad_record_with_one_line_and_exit_2(tmp_path, capsys):
    raw = make_record().to_dict()
    raw["metrics"]["correct"] = 95  # accuracy no longer equals correct / samples
    path = write_raw(tmp_path / "runs" / "x.json", raw)
    code = main(["publish", str(tmp_path / "runs"), "--out", str(tmp_path / "site"), "--no-literature"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and str(path) in err and "metrics.accuracy" in err
    assert not (tmp_path / "site" / "index.html").exists()
