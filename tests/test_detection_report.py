"""The detection report: eq. 7 read from a record, cheapest points per mAP level, and the board's ranking."""

from __future__ import annotations

import math

import pytest

from vcmbench.api.record import CodecRef, DatasetRef, Metrics, Provenance, ResultRecord, TaskRef, validate
from vcmbench.publish.detection import build_detection
from vcmbench.report.detection import (
    cheapest_at_levels,
    configuration_space,
    detection_point,
    detection_points,
    is_detection,
)
from vcmbench.report.show import show_report
from vcmbench.theory.uniform import uniform_rate


def record(codec: str, bits_total: int, correct: int, map_: float,
           params: dict | None = None) -> ResultRecord:
    n = 10
    return ResultRecord(
        suite="coco", provenance=Provenance.collect("cpu", 0),
        dataset=DatasetRef(id="shapes", split="val", fingerprint="f", num_classes=4, samples=n,
                           prior_counts=[1, 3, 4, 2], pixels_per_sample=100),
        task_model=TaskRef(id="yolo", version="1", params={"grid": 3, "conf": 0.25, "classes": 2},
                           reference_accuracy=0.6, metric="mAP@[.5:.95]",
                           reference_scores={"mAP@[.5:.95]": 0.7, "mAP@.5": 0.9}),
        codec=CodecRef(name=codec, version="1", params=params or {}, granularity="block", decodes_to="label"),
        metrics=Metrics(accuracy=correct / n, correct=correct, samples=n, bits_total=bits_total,
                        bits_per_sample=bits_total / n, blocks=1, encode_seconds=0.0, decode_seconds=0.0,
                        bits_per_pixel=bits_total / n / 100, scores={"mAP@[.5:.95]": map_, "mAP@.5": map_}),
    )


def test_eq7_is_read_from_the_record():
    r = record("a", 800, 5, 0.5)
    assert validate(r.to_dict()) == []
    assert is_detection(r)
    space = configuration_space(r)
    k = sum(math.comb(9, i) * 2**i for i in range(1, 4))  # 3×3 positions, 2 classes, up to 3 objects
    assert (space.positions, space.classes, space.max_objects, space.configurations) == (9, 2, 3, k)
    p = detection_point(r)
    assert p.bits_per_image == 80 and p.bits_per_pixel == pytest.approx(0.8)
    assert p.log2_k == pytest.approx(math.log2(k))
    assert p.ratio_to_log2_k == pytest.approx(80 / math.log2(k))
    assert p.bound_bits == pytest.approx(uniform_rate(k, 0.5))


def test_a_classification_record_is_not_a_detection_one():
    r = record("a", 800, 5, 0.5)
    plain = ResultRecord(**{**r.__dict__, "task_model": TaskRef(id="svm", version="1", params={},
                                                                reference_accuracy=0.9)})
    assert not is_detection(plain)


def test_the_cheapest_point_reaching_each_level():
    points = detection_points([record("a", 800, 5, 0.5, {"q": 1}), record("a", 1600, 6, 0.65, {"q": 2}),
                               record("a", 400, 2, 0.3, {"q": 0}), record("b", 100, 1, 0.55)])
    rows = {(lv.codec, lv.level): lv.point for lv in cheapest_at_levels(points, [0.3, 0.5, 0.6, 0.9])}
    assert rows[("a", 0.3)].params == {"q": 0}
    assert rows[("a", 0.5)].params == {"q": 1}
    assert rows[("a", 0.6)].params == {"q": 2}
    assert rows[("a", 0.9)] is None
    assert rows[("b", 0.5)].bits_per_image == 10 and rows[("b", 0.6)] is None


def test_the_board_ranks_by_bits_at_levels_every_codec_reaches():
    records = [record("a", 800, 5, 0.5), record("a", 1600, 6, 0.65), record("b", 100, 1, 0.55),
               record("c", 50, 0, 0.2)]
    board = build_detection(records, [0.1, 0.5, 0.6])
    rows = {r.codec: r for r in board.ranking}
    assert board.common_levels == (0.1,)  # c reaches only the lowest level
    assert rows["b"].bits == (10.0, 10.0, None) and rows["b"].ranks == (2, 1, None)
    assert [r.codec for r in board.ranking] == ["c", "b", "a"] and rows["c"].rank == 1
    board = build_detection(records[:3], [0.1, 0.5])
    rows = {r.codec: r for r in board.ranking}
    assert board.common_levels == (0.1, 0.5)
    assert (rows["b"].rank, rows["a"].rank) == (1, 2) and rows["a"].mean_bits == pytest.approx(80.0)


def test_the_text_report_labels_the_bound_and_shows_the_ratio():
    text = show_report([record("a", 800, 5, 0.5), record("b", 100, 1, 0.55)], [0.5])
    assert "uncompressed mAP@[.5:.95] 0.7000 (mAP@.5 0.9000), configuration accuracy 0.6000" in text
    assert "not a bound on mAP" in text and "bits/log2 K" in text
    k = sum(math.comb(9, i) * 2**i for i in range(1, 4))
    assert f"{80 / math.log2(k):.2f}x" in text
