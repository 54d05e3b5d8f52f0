"""The coco suite end to end on a tiny on-disk COCO layout with a tiny, randomly initialised YOLO.

The YOLO is built from ultralytics' yaml (no training, no download), saved as a vcmbench YOLO
file, and named with ``weights:``; ultralytics is imported offline with its settings in a
temporary folder, never in the home folder.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import vcmbench.codecs.detections  # noqa: F401 - registers the codec
import vcmbench.datasets.coco  # noqa: F401 - registers the dataset
import vcmbench.tasks.yolo  # noqa: F401 - registers the task model
from coco_fixture import CATEGORIES, write_coco_fixture
from vcmbench.api.task import TaskContext
from vcmbench.errors import DataError
from vcmbench.pipeline.config import load_suite
from vcmbench.pipeline.suite import run_suite
from vcmbench.publish.build import publish
from vcmbench.report.detection import configuration_space, detection_points
from vcmbench.report.load import find_records
from vcmbench.report.show import show_report
from vcmbench.tasks.yolo import Yolo
from vcmbench.tasks.yolo_env import ultralytics_offline
from vcmbench.tasks.yolo_net import architecture, build, load_yolo, save_yolo

TINY_SCALE = (0.33, 0.0625, 256)  # 8-channel stem: builds and runs in well under a second


@pytest.fixture(scope="session")
def ultralytics_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("ultralytics-settings")
    ultralytics_offline(home)
    return home


def tiny_yolo(path, names, ultralytics_home, seed: int = 0, imgsz: int = 64):
    import torch

    arch = architecture(len(names), TINY_SCALE)
    torch.manual_seed(seed)
    model = build(arch, len(names))
    config = {"codec": "yolo", "architecture": arch, "names": list(names), "imgsz": imgsz}
    return save_yolo(path, model, config)


@pytest.fixture
def weights(tmp_path, ultralytics_home):
    return tiny_yolo(tmp_path / "tiny-yolo.pt", [c["name"] for c in CATEGORIES], ultralytics_home)


def suite_file(tmp_path, weights, codecs):
    raw = {"suite": "coco-tiny", "dataset": {"name": "coco", "split": "val"},
           "task_model": {"name": "yolo", "weights": str(weights), "params": {"grid": 4}},
           "train_split": None, "batch_size": 4, "accuracy_levels": [0.1], "codecs": codecs}
    path = tmp_path / "coco-tiny.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_a_yolo_file_round_trips_its_weights(tmp_path, weights):
    _, names, imgsz, sha = load_yolo(weights)
    assert names == [c["name"] for c in CATEGORIES] and imgsz == 64
    again = tiny_yolo(tmp_path / "again.pt", names, None, seed=0)
    other = tiny_yolo(tmp_path / "other.pt", names, None, seed=1)
    assert load_yolo(again)[3] == sha != load_yolo(other)[3]


def test_an_ultralytics_pickle_is_refused_with_the_conversion_command(tmp_path, ultralytics_home):
    import torch

    path = tmp_path / "yolov8n.pt"
    torch.save({"model": object(), "train_args": {}}, path)  # pickled objects, like ultralytics' files
    with pytest.raises(DataError, match="yolo_convert yolov8n.pt"):
        load_yolo(path)


def test_a_missing_weights_file_says_which_where_and_how(tmp_path):
    task = Yolo()
    with pytest.raises(DataError, match=r"nowhere\.pt .*does not exist.*yolo_convert"):
        task.prepare(TaskContext(train=None, cache_dir=tmp_path, weights=tmp_path / "nowhere.pt"))


def test_weights_for_other_classes_are_refused_before_any_work(tmp_path, ultralytics_home):
    root = write_coco_fixture(tmp_path / "coco")
    other = tiny_yolo(tmp_path / "other.pt", ["cat", "dog", "car"], ultralytics_home)
    config = load_suite(str(suite_file(tmp_path, other, [{"name": "png"}])))
    with pytest.raises(DataError, match="detect 3 classes .*cat.* but dataset coco has 3 categories .*box"):
        run_suite(config, data_root=root, out=tmp_path / "out", progress=False, log=lambda _: None)
    assert not list((tmp_path / "out").rglob("*.json"))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, ultralytics_home):
    """The suite run once on the fixture: (its results folder, its records)."""
    tmp = tmp_path_factory.mktemp("coco-run")
    weights = tiny_yolo(tmp / "tiny-yolo.pt", [c["name"] for c in CATEGORIES], ultralytics_home)
    root = write_coco_fixture(tmp / "coco")
    codecs = [{"name": "detections", "points": [{"grid": 4}, {"grid": 16, "threshold": 0.0}]},
              {"name": "jpeg", "points": [{"quality": 20}, {"quality": 90}]}, {"name": "png"}]
    config = load_suite(str(suite_file(tmp, weights, codecs)))
    out = tmp / "out"
    return out, run_suite(config, data_root=root, out=out, progress=False, log=lambda _: None)


def test_the_suite_runs_end_to_end(tiny_run):
    out, records = tiny_run
    assert [r.status for r in records] == ["ok"] * 5, [r.error for r in records]
    on_disk = find_records([out])  # validates every record and its per-sample file
    assert len(on_disk) == 5
    first = records[0]
    assert first.dataset.id == "coco" and first.task_model.metric == "mAP@[.5:.95]"
    assert set(first.task_model.reference_scores) == {"mAP@[.5:.95]", "mAP@.5"}
    assert first.task_model.params["classes"] == 3 and first.task_model.fingerprint
    for r in records:
        assert set(r.metrics.scores) == {"mAP@[.5:.95]", "mAP@.5"}
        assert all(0 <= v <= 1 for v in r.metrics.scores.values())
    png = next(r for r in records if r.codec.name == "png")
    # lossless: the detector sees the same pixels, so every score equals the uncompressed one
    assert png.metrics.scores == pytest.approx(png.task_model.reference_scores)
    assert png.metrics.accuracy == png.task_model.reference_accuracy
    pixels = png.dataset.pixels_per_sample
    assert png.metrics.bits_per_pixel == pytest.approx(png.metrics.bits_per_sample / pixels)
    # eq. 7 on this suite's space: 4x4 positions, 3 classes, up to the most objects of an image
    space = configuration_space(first)
    most = max(first.dataset.num_classes - 1, 1)
    k = sum(math.comb(16, i) * 3**i for i in range(1, most + 1))
    assert (space.positions, space.classes, space.max_objects) == (16, 3, most)
    assert space.configurations == k
    text = show_report(records, [0.1])
    assert f"log2 K = {math.log2(k):.2f} bits per image" in text
    assert "not a bound on mAP" in text
    points = {(p.codec, p.params.get("quality")): p for p in detection_points(records)}
    jpeg = points[("jpeg", 90)]
    assert jpeg.ratio_to_log2_k == pytest.approx(jpeg.bits_per_image / math.log2(k))


def test_the_leaderboard_has_a_detection_section_with_the_reported_coco_point(tiny_run, tmp_path):
    out, _ = tiny_run
    literature = Path(__file__).resolve().parents[1] / "leaderboard" / "literature"
    result = publish([out], tmp_path / "board", literature_dir=literature)
    board = next(b for b in result.boards if b.suite == "coco-tiny")
    assert board.detection is not None and len(board.detection.points) == 5
    text = (tmp_path / "board" / "README.md").read_text(encoding="utf-8")
    section = text.split("## coco-tiny · coco", 1)[1].split("\n## ", 1)[0]
    assert "not a bound on mAP" in section and "log2 K =" in section
    assert "bits / log2 K" in section and "R\\_K(1-acc)" in section
    # the reported YOLOv3 point belongs to suite coco, not to this suite's section
    assert "YOLOv3" not in section
    csv = (tmp_path / "board" / "coco-tiny.csv").read_text(encoding="utf-8")
    assert csv.count("mAP@[.5:.95]") >= 5 and "eq7_log2_k" in csv
    assert (tmp_path / "board" / "plots" / "coco-tiny.png").is_file()


def test_the_coco_section_shows_the_reported_yolov3_point(tiny_run, tmp_path):
    out, _ = tiny_run
    renamed = tmp_path / "results"
    shutil.copytree(out, renamed)
    for path in renamed.rglob("*.json"):  # the same records as suite "coco": the YOLOv3 point joins them
        if path.name != "reference.json" and "cache" not in path.parts:
            raw = json.loads(path.read_text())
            raw["suite"] = "coco"
            path.write_text(json.dumps(raw))
    literature = Path(__file__).resolve().parents[1] / "leaderboard" / "literature"
    publish([renamed], tmp_path / "board", literature_dir=literature)
    text = (tmp_path / "board" / "README.md").read_text(encoding="utf-8")
    section = text.split("## coco · coco", 1)[1].split("\n## ", 1)[0]
    assert "YOLOv3" in section and "0.5550" in section and "0.50000" in section
    paper = math.log2(sum(math.comb(98, i) * 80**i for i in range(1, 16)))  # eq. 7: 98 positions, 80 classes
    assert f"log2 K = {paper:.1f} bits per image" in section


def test_a_rerun_measures_the_same_numbers(tmp_path, weights):
    root = write_coco_fixture(tmp_path / "coco")
    config = load_suite(str(suite_file(tmp_path, weights, [{"name": "detections", "points": [{"grid": 8}]}])))
    first = run_suite(config, data_root=root, out=tmp_path / "out", progress=False, log=lambda _: None)
    again = run_suite(config, data_root=root, out=tmp_path / "out", progress=False, log=lambda _: None)
    assert again[0].metrics.scores == first[0].metrics.scores
    assert again[0].metrics.bits_total == first[0].metrics.bits_total
    assert again[0].task_model == first[0].task_model


def test_yolo_predictions_are_fractions_of_the_original_image(tmp_path, weights):
    task = Yolo()
    task.prepare(TaskContext(train=None, cache_dir=tmp_path, weights=weights))
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 255, (40, 90, 3), dtype=np.uint8)
    tall = rng.integers(0, 255, (70, 30, 3), dtype=np.uint8)
    for det in task.predict([wide, tall]):
        assert det.problem(3) is None
        assert len(det) <= task.params["max_det"]
    assert task.predict([wide])[0] is task.predict([wide])[0]  # remembered within the run


@pytest.mark.slow
def test_the_shipped_yolo_detects_the_embedded_set(tmp_path, ultralytics_home):
    import torch

    from vcmbench.datasets.coco import embedded
    from vcmbench.pipeline.data import LimitedDataset
    from vcmbench.pipeline.evaluate import reference_result
    from vcmbench.tasks.yolo import SHIPPED_DIR, SHIPPED_WEIGHTS

    path = SHIPPED_DIR / SHIPPED_WEIGHTS
    assert path.stat().st_size < 4_000_000
    config = torch.load(path, weights_only=True)["config"]
    # trained on the embedded train split as generated today (a changed generator needs a retrained file)
    assert config["train"] == embedded("train").info.fingerprint
    task = Yolo()
    task.prepare(TaskContext(train=None, cache_dir=tmp_path))
    assert task.categories == embedded("val").info.categories
    ref = reference_result(task, LimitedDataset(embedded("val"), 60), 30)
    assert ref.scores["mAP@.5"] > 0.4 and ref.scores["mAP@[.5:.95]"] > 0.25


def test_the_shipped_yolo_refuses_real_coco_categories(tmp_path, ultralytics_home):
    from vcmbench.datasets.coco import coco

    task = Yolo()
    task.prepare(TaskContext(train=None, cache_dir=tmp_path))
    with pytest.raises(DataError, match="name weights trained on its categories"):
        task.check_dataset(coco("val", write_coco_fixture(tmp_path / "coco")))
