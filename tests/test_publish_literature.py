"""Literature reference points: the shipped data files, and refusal of malformed ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vcmbench.publish.literature import load_literature, read_literature
from vcmbench.publish.records import PublishError

SHIPPED = Path(__file__).resolve().parents[1] / "leaderboard" / "literature"


@pytest.fixture(scope="module")
def shipped():
    return {e.id: e for e in load_literature(SHIPPED)}


def test_vic_on_mnist_is_99_1_percent_at_5_7_bits(shipped):
    vic = shipped["dubois2021-vic-mnist"]
    assert vic.suite == "mnist" and vic.metric == "accuracy" and vic.num_classes == 10
    (point,) = vic.points
    assert point.bits_per_sample == 5.7 and point.score == 0.991
    assert "Lossy compression for lossless prediction" in vic.citation.title and vic.citation.year == 2021


def test_ulhaq_points_come_from_the_repository_results_file(shipped):
    entry = shipped["ulhaq2023-pointnet-modelnet40"]
    assert entry.num_classes == 40 and entry.points_per_sample == 1024
    src = entry.source
    assert src["repository"].endswith("multimedialabsfu/learned-point-cloud-compression-for-classification")
    assert src["path"].endswith("modelnet40/sfu-pcc-cls-only-pointnet_size=full_points=1024.json")
    assert len(src["commit"]) == 40
    points = {round(p.bits_per_sample, 1): round(p.score, 3) for p in entry.points}
    assert points[21.0] == 0.765 and points[46.5] == 0.840


def test_accuracy_entries_carry_their_test_sets_label_counts(shipped):
    ulhaq = shipped["ulhaq2023-pointnet-modelnet40"]
    assert sum(ulhaq.test_prior.counts) == 2468 and len(ulhaq.test_prior.counts) == 40
    assert "ModelNet40" in ulhaq.test_prior.source and "ModelNet40 test split" in ulhaq.prior_label
    assert ulhaq.free_point == (100 / 2468, 0.0)
    vic = shipped["dubois2021-vic-mnist"]
    assert sum(vic.test_prior.counts) == 10_000 and vic.free_point == (1135 / 10_000, 0.0)  # digit 1


def test_a_prior_can_be_given_inline_with_its_source(tmp_path):
    raw = _valid()
    raw["test_prior"] = {"counts": [1] * 10, "source": "table 2 of the paper"}
    path = tmp_path / "inline.json"
    path.write_text(json.dumps(raw))
    entry = read_literature(path)
    assert entry.test_prior.counts == (1,) * 10 and entry.test_prior.source == "table 2 of the paper"
    assert entry.train_prior is None and entry.free_point is None


def test_yolo_on_coco_is_map_not_accuracy(shipped):
    entry = shipped["harell2025-yolov3-coco"]
    assert entry.metric == "mAP" and not entry.is_accuracy
    (point,) = entry.points
    assert point.bits_per_pixel == 0.5 and point.score == 0.555 and point.bits_per_sample is None


def test_every_shipped_entry_cites_its_source(shipped):
    assert len(shipped) >= 3
    for entry in shipped.values():
        assert entry.citation.authors and entry.citation.title and entry.citation.venue
        assert entry.source


def _valid() -> dict:
    return {
        "kind": "vcmbench.literature",
        "id": "x",
        "suite": "mnist",
        "dataset": "d",
        "num_classes": 10,
        "method": "m",
        "metric": "accuracy",
        "points": [{"bits_per_sample": 5.0, "score": 0.9}],
        "citation": {"authors": "A. B", "title": "T", "venue": "V", "year": 2020},
        "source": {"kind": "paper", "where": "table 1"},
    }


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d.update(kind="other"), "kind"),
        (lambda d: d.update(suite="../x"), "suite"),
        (lambda d: d.update(metric="top5"), "metric"),
        (lambda d: d.pop("num_classes"), "num_classes"),
        (lambda d: d.update(points=[]), "points"),
        (lambda d: d["points"][0].update(score=91.0), "points[0].score"),
        (lambda d: d["points"][0].update(bits_per_sample=float("nan")), "points[0].bits_per_sample"),
        (lambda d: d["points"][0].pop("bits_per_sample"), "points[0].bits_per_sample"),
        (lambda d: d["citation"].pop("title"), "citation.title"),
        (lambda d: d["citation"].update(year="2020"), "citation.year"),
        (lambda d: d.pop("source"), "source"),
        (lambda d: d.update(source={"kind": "repository", "repository": "r", "path": "p"}), "source.commit"),
        (lambda d: d.update(test_prior="modelnet40-test"), "test_prior: 40 classes but num_classes is 10"),
        (lambda d: d.update(test_prior="mnist-tset"), "test_prior: no known prior 'mnist-tset'"),
        (lambda d: d.update(test_prior={"counts": [1] * 10}), "test_prior.source"),
        (lambda d: d.update(test_prior={"counts": [0] * 10, "source": "s"}), "test_prior.counts"),
        (lambda d: d.update(train_prior="mnist-train"), "train_prior: given without test_prior"),
        (lambda d: d.update(metric="mAP", test_prior="mnist-test"), "test_prior: only an accuracy"),
    ],
)
def test_a_bad_literature_file_is_refused_naming_the_field(tmp_path, mutate, field):
    raw = _valid()
    mutate(raw)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(PublishError) as info:
        read_literature(path)
    assert str(info.value).startswith(f"{path}: {field}")


def test_yaml_files_and_duplicate_ids(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_valid()))
    (tmp_path / "b.yaml").write_text("kind: vcmbench.literature\nid: x\n")
    with pytest.raises(PublishError, match=r"b\.yaml: suite"):
        load_literature(tmp_path)
    (tmp_path / "b.yaml").write_text(json.dumps(_valid()))  # JSON is valid YAML
    with pytest.raises(PublishError, match=r"b\.yaml: id: 'x' is also used by .*a\.json"):
        load_literature(tmp_path)
    (tmp_path / "b.yaml").write_text("kind: [unclosed")
    with pytest.raises(PublishError, match=r"b\.yaml: not readable YAML"):
        load_literature(tmp_path)
    assert load_literature(tmp_path / "missing") == []
