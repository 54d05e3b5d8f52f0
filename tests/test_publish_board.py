"""The numbers behind the leaderboard: recomputed gaps, the ranking, BD-rate, literature bounds."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from test_publish_records import make_record
from vcmbench.publish.bdrate import bd_rate
from vcmbench.publish.board import build_boards
from vcmbench.publish.literature import Citation, LiteratureEntry, ReportedPoint
from vcmbench.publish.records import LoadedRecord, PublishError, load_records


def eq4(k: int, d: float) -> float:
    """Paper eq. 4 written out independently of vcmbench."""
    if d >= 1 - 1 / k:
        return 0.0
    h = 0.0 if d in (0, 1) else -d * math.log2(d) - (1 - d) * math.log2(1 - d)
    return math.log2(k) - d * math.log2(k - 1) - h


def loaded(*records):
    return [LoadedRecord(Path(f"r{i}.json"), r) for i, r in enumerate(records)]


def no_suite(_name):
    return None


def entry(points, *, suite="toy", k=4, metric="accuracy", entry_id="lit") -> LiteratureEntry:
    return LiteratureEntry(
        id=entry_id,
        suite=suite,
        dataset="d",
        method="M",
        metric=metric,
        points=tuple(ReportedPoint(score=a, bits_per_sample=b) for a, b in points),
        citation=Citation("A. Author, B. Other, C. Third", "T", "V", 2020),
        source={"kind": "paper", "where": "x"},
        path=Path("lit.json"),
        num_classes=k,
    )


def test_gaps_are_recomputed_from_bits_and_accuracy_not_read(tmp_path):
    raw = make_record("a", bits_total=800, correct=90).to_dict()
    raw["gap_bits"] = -100.0  # a stored number a publisher must ignore
    raw["bound_bits"] = 0.0
    (tmp_path / "a.json").write_text(json.dumps(raw))
    (board,) = build_boards(load_records([tmp_path]), levels_of=no_suite)
    (g,) = board.points
    assert g.bits_per_sample == 8.0 and g.accuracy == 0.9
    assert g.gap_bits == pytest.approx(8.0 - eq4(4, 0.1), abs=1e-6)


def test_ranking_is_by_gap_at_matched_accuracy_on_each_hull():
    records = loaded(
        make_record("cheap", 100, 50, t=1),
        make_record("cheap", 300, 96, t=2),  # reaches every level
        make_record("costly", 600, 96),  # reaches every level, more bits
        make_record("partial", 150, 80),  # cheapest at 0.5, never reaches 0.9
    )
    (board,) = build_boards(records, levels=[0.5, 0.9], levels_of=no_suite)
    assert [(r.rank, r.name) for r in board.ranking] == [(1, "cheap"), (2, "costly"), (3, "partial")]
    cheap = board.ranking[0]
    bits_at_09 = 1 + (3 - 1) * (0.9 - 0.5) / (0.96 - 0.5)  # time-sharing between the two points
    assert cheap.cells[1].bits_per_sample == pytest.approx(bits_at_09)
    assert cheap.cells[1].gap_bits == pytest.approx(bits_at_09 - eq4(4, 0.1), abs=1e-6)
    partial = board.ranking[2]
    assert partial.reached == 1 and partial.cells[1].bits_per_sample is None
    assert partial.mean_gap == pytest.approx(1.5 - eq4(4, 0.5), abs=1e-6)


def test_bd_rate_of_half_the_bits_is_minus_50_percent():
    anchor = [(0.5, 2.0), (0.7, 4.0), (0.9, 8.0)]
    half = [(a, b / 2) for a, b in anchor]
    value, _ = bd_rate(anchor, half)
    assert value == pytest.approx(-50.0, abs=1e-6)
    value, _ = bd_rate(half, anchor)
    assert value == pytest.approx(100.0, abs=1e-6)


def test_bd_rate_is_none_without_overlap_or_enough_points():
    assert bd_rate([(0.1, 1.0), (0.2, 2.0)], [(0.5, 1.0), (0.6, 2.0)]) == (
        None,
        "the accuracy ranges do not overlap",
    )
    value, reason = bd_rate([(0.9, 3.0)], [(0.5, 1.0), (0.9, 2.0)])
    assert value is None and "two hull points" in reason


def test_board_bd_matrix_covers_every_ordered_pair_of_usable_curves():
    records = loaded(
        *(make_record("a", b, c, p=i) for i, (b, c) in enumerate([(200, 50), (400, 70), (800, 90)])),
        *(make_record("b", b, c, p=i) for i, (b, c) in enumerate([(100, 50), (200, 70), (400, 90)])),
        make_record("single", 300, 80),
    )
    (board,) = build_boards(records, levels=[0.5], levels_of=no_suite)
    table = {(r.test, r.anchor): r.percent for r in board.bd_rates}
    assert set(table) == {("a", "b"), ("b", "a")}
    assert table[("b", "a")] == pytest.approx(-50.0, abs=1e-6)
    assert table[("a", "b")] == pytest.approx(100.0, abs=1e-6)
    assert board.bd_left_out == ["single"]


def test_levels_come_from_the_suite_file_unless_given():
    records = loaded(make_record("a"))
    (board,) = build_boards(records, levels_of=lambda s: ((0.9, 0.6), "benchmarks/toy.yaml"))
    assert board.levels == (0.6, 0.9) and board.levels_from == "benchmarks/toy.yaml"
    (board,) = build_boards(records, levels=[0.7], levels_of=lambda s: ((0.9,), "x"))
    assert board.levels == (0.7,) and board.levels_from == "--levels"


def test_mnist_suite_levels_are_read_from_its_yaml():
    from vcmbench.pipeline.config import load_suite

    (board,) = build_boards(loaded(replace(make_record("a", counts=(10,) * 10), suite="mnist")))
    assert board.levels == tuple(sorted(load_suite("mnist").accuracy_levels)) and len(board.levels) >= 1
    assert "mnist.yaml" in board.levels_from


def test_literature_joins_its_suite_and_uses_the_suites_bound():
    skewed = (70, 10, 10, 10)
    records = loaded(make_record("a", 200, 80, counts=skewed))
    lit = entry([(0.8, 3.0), (0.9, 5.0)])
    (board,) = build_boards(records, [lit], levels=[0.85], levels_of=no_suite)
    assert [r.point.score for r in board.reported] == [0.8, 0.9]
    first = board.reported[0]
    assert first.bound_bits == pytest.approx(board.points[0].bound_bits_prior)  # same accuracy, same bound
    assert first.bound_bits < first.bound_bits_uniform == pytest.approx(eq4(4, 0.2), abs=1e-9)
    assert first.gap_bits == pytest.approx(3.0 - first.bound_bits)
    reported = [r for r in board.ranking if r.reported is not None]
    assert (
        len(reported) == 1 and reported[0].rank is None and reported[0].name.startswith("Author et al. 2020")
    )
    assert reported[0].cells[0].bits_per_sample == pytest.approx(4.0)
    assert [r.rank for r in board.ranking if r.reported is None] == [1]


def test_literature_without_records_gets_a_uniform_bound_board():
    boards = build_boards(
        loaded(make_record("a")), [entry([(0.6, 10.0)], suite="other", k=40)], levels_of=no_suite
    )
    other = next(b for b in boards if b.suite == "other")
    assert other.prior_counts is None and not other.records
    assert other.reported[0].bound_bits == pytest.approx(eq4(40, 0.4), abs=1e-9)
    assert [b.slug for b in boards] == ["toy", "other"]


def test_map_entries_get_no_bound_and_a_class_mismatch_is_an_error():
    boards = build_boards(
        loaded(make_record("a")),
        [entry([(0.55, 100.0)], suite="coco", k=None, metric="mAP")],
        levels_of=no_suite,
    )
    coco = next(b for b in boards if b.suite == "coco")
    assert not coco.has_bound and coco.reported[0].gap_bits is None and coco.reported[0].bound_bits is None
    with pytest.raises(PublishError, match="num_classes: 10 but suite 'toy' has 4 classes"):
        build_boards(loaded(make_record("a")), [entry([(0.6, 1.0)], k=10)], levels_of=no_suite)


def test_two_datasets_of_one_suite_get_two_boards():
    boards = build_boards(
        loaded(make_record("a", dataset_id="small"), make_record("a", dataset_id="full")), levels_of=no_suite
    )
    assert sorted(b.slug for b in boards) == ["toy-full", "toy-small"]
