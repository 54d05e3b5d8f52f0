"""The task model on uncompressed input, kept beside the records: accuracy, scores and confusion.

A rerun takes the stored reference (``reference.json``), so the records it would write describe
the task model as the stored ones do and are reused; a changed reference is measured again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import yaml

import vcmbench.codecs.passthrough  # noqa: F401 - registers the codec
from conftest import make_toy_dataset
from vcmbench.api.codec import CODECS
from vcmbench.api.dataset import DATASETS
from vcmbench.api.record import validate
from vcmbench.api.task import TASK_MODELS, TaskModel
from vcmbench.pipeline.config import load_suite, parse_suite
from vcmbench.pipeline.data import LazyDataset, LimitedDataset
from vcmbench.pipeline.evaluate import reference_result
from vcmbench.pipeline.suite import run_suite


class Confuses(TaskModel):
    """Reads the label off pixel [0, 0] but calls every class 3 a 0: a known confusion matrix."""

    name = "t-confuses"

    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        labels = np.array([int(np.asarray(x)[0, 0]) for x in inputs], dtype=np.int64)
        return np.where(labels == 3, 0, labels)


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(DATASETS._entries, "toy-ref", lambda split, root: make_toy_dataset(n=40, split=split))
    monkeypatch.setitem(TASK_MODELS._entries, "t-confuses", Confuses)


SUITE = {"suite": "toy-ref", "dataset": {"name": "toy-ref", "split": "test"}, "task_model": "t-confuses",
         "train_split": None, "codecs": [{"name": "passthrough"}], "batch_size": 8}


def test_the_confusion_matrix_is_the_task_models_on_uncompressed_input(tmp_path, toy):
    (record,) = run_suite(parse_suite(SUITE), out=tmp_path, progress=False, log=lambda _: None, device="cpu")
    assert record.status == "ok", record.error
    confusion = np.array(record.task_model.confusion)
    labels = make_toy_dataset(n=40).labels()
    counts = np.bincount(labels, minlength=4).tolist()
    assert confusion.sum(axis=1).tolist() == record.dataset.prior_counts == counts
    assert confusion[3, 0] == np.sum(labels == 3) and confusion[3, 3] == 0
    assert np.trace(confusion) / 40 == record.task_model.reference_accuracy == np.mean(labels != 3)
    raw = json.loads((tmp_path / "toy-ref" / "toy" / "passthrough" / "default.json").read_text())
    assert raw["task_model"]["confusion"] == confusion.tolist() and validate(raw) == []
    stored = json.loads((tmp_path / "toy-ref" / "toy" / "reference.json").read_text())
    assert stored["confusion"] == confusion.tolist()


def test_a_rerun_reuses_the_classifier_records_with_their_confusion(tmp_path, toy):
    lines: list[str] = []
    first = run_suite(parse_suite(SUITE), out=tmp_path, progress=False, log=lambda _: None, device="cpu")
    again = run_suite(parse_suite(SUITE), out=tmp_path, progress=False, log=lines.append, device="cpu")
    assert again == first and "[reused]" in lines[-1]


def test_no_confusion_for_predictions_outside_the_classes(toy):
    class Wild(Confuses):
        def predict(self, inputs):
            return np.full(len(inputs), 9, dtype=np.int64)

    ref = reference_result(Wild(), make_toy_dataset(n=8), 4)
    assert ref.accuracy == 0.0 and ref.confusion is None


def test_views_expose_the_split_they_show():
    whole = make_toy_dataset(n=10)
    assert LimitedDataset(whole, 4).base is whole
    opened = []
    lazy = LazyDataset(lambda: opened.append(1) or whole)
    assert not opened and lazy.base is whole and opened == [1]


# --- detection: the reference's scores (mAP) are stored too, so a rerun reuses every record ---

@pytest.fixture(scope="module")
def coco_suite(tmp_path_factory):
    import vcmbench.codecs.detections  # noqa: F401 - registers the codec
    import vcmbench.datasets.coco  # noqa: F401 - registers the dataset
    import vcmbench.tasks.yolo  # noqa: F401 - registers the task model
    from coco_fixture import CATEGORIES, write_coco_fixture
    from vcmbench.tasks.yolo_env import ultralytics_offline
    from vcmbench.tasks.yolo_net import architecture, build, save_yolo

    tmp = tmp_path_factory.mktemp("coco-ref")
    ultralytics_offline(tmp / "ultralytics")
    import torch

    names = [c["name"] for c in CATEGORIES]
    arch = architecture(len(names), (0.33, 0.0625, 256))
    torch.manual_seed(0)
    weights = save_yolo(tmp / "tiny.pt", build(arch, len(names)),
                        {"codec": "yolo", "architecture": arch, "names": names, "imgsz": 64})
    raw = {"suite": "coco-ref", "dataset": {"name": "coco", "split": "val"},
           "task_model": {"name": "yolo", "weights": str(weights), "params": {"grid": 4}},
           "train_split": None, "batch_size": 4,
           "codecs": [{"name": "detections", "points": [{"grid": 8}]}, {"name": "png"}]}
    path = tmp / "coco-ref.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_suite(str(path)), write_coco_fixture(tmp / "coco")


def test_a_detection_rerun_reuses_every_record_and_a_changed_reference_is_remeasured(tmp_path, coco_suite):
    assert "png" in CODECS
    config, root = coco_suite
    first_lines: list[str] = []
    first = run_suite(config, data_root=root, out=tmp_path, progress=False, log=first_lines.append)
    assert [r.status for r in first] == ["ok", "ok"], [r.error for r in first]
    assert first[0].task_model.reference_scores and first[0].task_model.confusion is None
    metric = first[0].task_model.metric
    assert metric in first_lines[0] and all(f"{metric} " in line for line in first_lines[1:])
    lines: list[str] = []
    again = run_suite(config, data_root=root, out=tmp_path, progress=False, log=lines.append)
    assert again == first and all(line.endswith("[reused]") for line in lines[1:])
    stored = tmp_path / "coco-ref" / "coco" / "reference.json"
    raw = json.loads(stored.read_text())
    assert raw["scores"] == first[0].task_model.reference_scores
    raw["scores"] = {k: 0.5 * v + 0.125 for k, v in raw["scores"].items()}  # another reference: stale
    stored.write_text(json.dumps(raw))
    lines.clear()
    third = run_suite(config, data_root=root, out=tmp_path, progress=False, log=lines.append)
    assert not any(line.endswith("[reused]") for line in lines[1:])
    assert third[0].task_model.reference_scores == raw["scores"]
    assert third[0].metrics.bits_total == first[0].metrics.bits_total


def test_a_layered_point_carries_the_confusion_and_is_reused(tmp_path, toy, monkeypatch):
    from test_layered import ToyScalable

    monkeypatch.setitem(CODECS._entries, "t-toy-scalable", ToyScalable)
    suite = {**SUITE, "codecs": [{"name": "t-toy-scalable", "points": [{"shift": 4}]}]}
    (first,) = run_suite(parse_suite(suite), out=tmp_path, progress=False, log=lambda _: None, device="cpu")
    assert first.status == "ok" and first.metrics.layers is not None, first.error
    assert first.task_model.confusion is not None
    lines: list[str] = []
    (again,) = run_suite(parse_suite(suite), out=tmp_path, progress=False, log=lines.append, device="cpu")
    assert again == first and lines[-1].endswith("[reused]")
