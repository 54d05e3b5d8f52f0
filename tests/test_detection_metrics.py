"""COCO mAP (COCOeval) and the exact-configuration "correct" of detection, on hand-made detections."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from coco_fixture import IMAGES, write_coco_fixture
from vcmbench.api.dataset import Detections
from vcmbench.datasets.coco import coco
from vcmbench.pipeline.data import LimitedDataset
from vcmbench.tasks.detection import (
    MAP,
    MAP50,
    cells,
    check_detections,
    coco_results,
    configuration,
    configuration_matches,
    detection_scores,
)


@pytest.fixture
def ds(tmp_path):
    return coco("val", write_coco_fixture(tmp_path / "coco"))


def perfect(ds, score: float = 0.9) -> list[Detections]:
    return [Detections(t.boxes, t.classes, np.full(len(t), score)) for t in ds.targets(range(len(ds)))]


def cocoeval_direct(ds, predictions) -> tuple[float, float]:
    """COCOeval run by hand on the same results, without vcmbench's wrapper."""
    from pycocotools.cocoeval import COCOeval

    results = coco_results(predictions, ds.coco_image_ids(), ds.image_sizes(), ds.category_ids())
    with contextlib.redirect_stdout(io.StringIO()):
        e = COCOeval(ds.coco(), ds.coco().loadRes(results), "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
    return float(e.stats[0]), float(e.stats[1])


def test_perfect_detections_score_map_one(ds):
    scores = detection_scores(ds, perfect(ds))
    assert scores[MAP] == pytest.approx(1.0) and scores[MAP50] == pytest.approx(1.0)
    assert (scores[MAP], scores[MAP50]) == pytest.approx(cocoeval_direct(ds, perfect(ds)))


def test_one_swapped_class_drops_map_by_the_known_amount(ds):
    preds = perfect(ds)
    # the CMYK image holds box (0), bar (2) and disc (1); call its disc a box, at the lowest score
    i = [name for name, *_ in IMAGES].index("000000000013.jpg")
    t = preds[i]
    k = int(np.flatnonzero(t.classes == 1)[0])
    classes, scores = t.classes.copy(), t.scores.copy()
    classes[k], scores[k] = 0, 0.5
    preds[i] = Detections(t.boxes, classes, scores)
    got = detection_scores(ds, preds)
    # COCO's AP: precision interpolated at 101 recall points 0, 0.01, ..., 1.
    discs = sum(1 for *_, objs in IMAGES for o in objs if o[0] == 5 and not o[5])
    recall = (discs - 1) / discs  # the disc class finds all but one, with perfect precision
    ap_disc = sum(1 for r in np.linspace(0, 1, 101) if r <= recall + 1e-12) / 101
    ap_box = 1.0  # the extra box detection comes after every true box (lower score): precision 1 to recall 1
    expected = (ap_disc + ap_box + 1.0) / 3  # the bar class is untouched
    assert got[MAP] == pytest.approx(expected) and got[MAP50] == pytest.approx(expected)
    assert (got[MAP], got[MAP50]) == pytest.approx(cocoeval_direct(ds, preds))
    assert got[MAP] < 1.0


def test_no_detections_score_zero_and_boxes_that_miss_score_at_map50_only(ds):
    assert detection_scores(ds, [Detections.empty() for _ in range(len(ds))]) == {MAP: 0.0, MAP50: 0.0}
    # shift every box right by a fifth of its width: IoU 2/3, found at thresholds 0.5-0.65, not above
    shifted = []
    for t in perfect(ds):
        w = t.boxes[:, 2] - t.boxes[:, 0]
        b = t.boxes + np.stack([w / 5, 0 * w, w / 5, 0 * w], axis=1)
        shifted.append(Detections(np.clip(b, 0, 1), t.classes, t.scores))
    got = detection_scores(ds, shifted)
    assert (got[MAP], got[MAP50]) == pytest.approx(cocoeval_direct(ds, shifted))
    assert got[MAP50] == pytest.approx(1.0) and got[MAP] == pytest.approx(4 / 10)  # 4 of 10 IoU thresholds


def test_a_first_n_view_is_scored_on_its_own_images(ds):
    view = LimitedDataset(ds, 2)
    preds = perfect(ds)[:2]
    assert detection_scores(view, preds)[MAP] == pytest.approx(1.0)
    assert configuration_matches(view, preds, 8, 0.25).tolist() == [True, True]


def test_configuration_is_positions_and_classes_of_centres():
    boxes = np.array([[0.0, 0.0, 0.2, 0.2], [0.5, 0.5, 1.0, 1.0], [0.9, 0.0, 1.0, 0.05]])
    assert cells(boxes, 4).tolist() == [0, 3 * 4 + 3, 0 * 4 + 3]
    det = Detections(boxes, np.array([1, 0, 2]), np.array([0.9, 0.3, 0.1]))
    assert configuration(det, 4, 0.25) == ((0, 1), (15, 0))
    assert configuration(det, 4) == ((0, 1), (3, 2), (15, 0))


def test_correct_means_the_exact_configuration(ds):
    preds = perfect(ds)
    assert configuration_matches(ds, preds, 8, 0.25).all()
    # an extra low-score detection is not part of the configuration; an extra confident one is
    t = preds[0]
    extra = np.array([[0.0, 0.9, 0.05, 1.0]])
    preds[0] = Detections(np.vstack([t.boxes, extra]), np.append(t.classes, 0), np.append(t.scores, 0.1))
    assert configuration_matches(ds, preds, 8, 0.25)[0]
    preds[0] = Detections(np.vstack([t.boxes, extra]), np.append(t.classes, 0), np.append(t.scores, 0.9))
    assert not configuration_matches(ds, preds, 8, 0.25)[0]
    # a box moved within its cell keeps the configuration; into the next cell it does not
    b = preds[1].boxes.copy()
    cx = (b[0, 0] + b[0, 2]) / 2
    room = (np.floor(cx * 8) + 1) / 8 - cx
    for step, same in ((room / 2, True), (room + 1e-3, False)):
        moved = b + np.array([step, 0, step, 0])
        assert configuration_matches(ds, [*preds[:1], Detections(moved, preds[1].classes, preds[1].scores),
                                          *preds[2:]], 8, 0.25)[1] == same


def test_decoded_outputs_must_be_detections_of_known_classes():
    ok = Detections(np.array([[0.1, 0.1, 0.2, 0.2]]), np.array([2]), np.array([1.0]))
    assert check_detections([ok], 3) == [ok]
    with pytest.raises(ValueError, match="not Detections"):
        check_detections([3], 3)
    with pytest.raises(ValueError, match="class outside"):
        check_detections([ok], 2)
    bad = Detections(np.array([[0.3, 0.1, 0.2, 0.2]]), np.array([0]), np.array([1.0]))
    with pytest.raises(ValueError, match="box outside"):
        check_detections([bad], 3)
