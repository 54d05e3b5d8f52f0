"""The numbers behind the leaderboard: recomputed gaps, the ranking, BD-rate, literature bounds."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from test_publish_records import make_record
from vcmbench import theory
from vcmbench.publish.bdrate import bd_on_hulls, bd_rate, min_overlap
from vcmbench.publish.board import build_boards
from vcmbench.publish.literature import Citation, LiteratureEntry, LiteraturePrior, ReportedPoint
from vcmbench.publish.records import LoadedRecord, load_records
from vcmbench.report.hull import achievable_hull, bits_on_hull
from vcmbench.theory.known_priors import known_prior, known_prior_info


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


def _known(name: str) -> LiteraturePrior:
    info = known_prior_info(name)
    return LiteraturePrior(info.counts, info.label(), info.source)


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


def test_ranking_is_per_level_and_overall_on_the_levels_every_codec_reaches():
    records = loaded(
        make_record("cheap", 100, 50, t=1),
        make_record("cheap", 300, 96, t=2),  # reaches every level
        make_record("costly", 600, 96),  # reaches every level, more bits
        make_record("partial", 150, 80),  # 1.5 bits at 0.5, never reaches 0.9
    )
    (board,) = build_boards(records, levels=[0.5, 0.9], levels_of=no_suite)
    assert board.common_levels == (0.5,)  # "partial" never reaches 0.9, so 0.9 is not averaged
    assert [(r.rank, r.name) for r in board.ranking] == [(1, "cheap"), (2, "partial"), (3, "costly")]
    cheap, partial, costly = board.ranking
    bits_at_09 = 1 + (3 - 1) * (0.9 - 0.5) / (0.96 - 0.5)  # time-sharing between the two points
    assert cheap.cells[1].bits_per_sample == pytest.approx(bits_at_09)
    assert cheap.cells[1].gap_bits == pytest.approx(bits_at_09 - eq4(4, 0.1), abs=1e-6)
    assert [c.rank for c in cheap.cells] == [1, 1] and [c.rank for c in costly.cells] == [3, 2]
    assert partial.reached == 1 and partial.cells[1].bits_per_sample is None and partial.cells[1].rank is None
    assert partial.mean_gap == pytest.approx(1.5 - eq4(4, 0.5), abs=1e-6)


VQ_POINTS = [(100, 48), (150, 59), (200, 71)]


def test_a_cheap_codec_is_not_ranked_below_a_costly_one_for_reaching_fewer_levels():
    # label-vq on MNIST: best gap at 0.5, never reaches 0.9; passthrough reaches all levels at 63 bits.
    records = loaded(
        *(make_record("label-vq", b, c, bits=i) for i, (b, c) in enumerate(VQ_POINTS)),
        make_record("passthrough", 630_400, 97, granularity="sample", blocks=100),
    )
    (board,) = build_boards(records, levels=[0.5, 0.9, 0.95], levels_of=no_suite)
    assert [r.name for r in board.ranking] == ["label-vq", "passthrough"]
    assert board.ranking[0].rank == 1 and board.common_levels == (0.5,)


def test_the_free_point_joins_every_hull_on_the_board():
    counts, train = (10,) * 10, (40,) * 10  # guessing class 0: accuracy 0.1 for 0 bits
    records = loaded(make_record("label-fixed", 402, 97, counts=counts, train_counts=train))
    (board,) = build_boards(records, levels=[0.5], levels_of=no_suite)
    (row,) = board.ranking
    assert board.free.point == (0.1, 0.0)
    assert row.cells[0].bits_per_sample == pytest.approx(4.02 * 0.4 / 0.87)  # ≈ 1.85, not 4.02
    assert board.hulls["label-fixed"] == [(0.1, 0.0), (0.97, 4.02)]
    assert board.bd_left_out == []  # one point plus the free point is a curve


def test_records_without_training_counts_get_no_free_point():
    (board,) = build_boards(loaded(make_record("a", 402, 97)), levels=[0.5], levels_of=no_suite)
    assert board.free.point is None and "no free point" in board.free.note
    assert board.ranking[0].cells[0].bits_per_sample == pytest.approx(4.02)


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
    assert value is None and "two vertices" in reason
    value, _ = bd_rate([(0.9, 3.0)], [(0.5, 1.0), (0.9, 2.0)], free=(0.1, 0.0))
    assert value is not None  # the free point makes a single point a curve


def test_bd_cells_need_a_meaningful_overlap():
    # 7 test samples' worth of shared accuracy, as the old leaderboard published: no cell.
    row = bd_on_hulls([(0.5, 1.0), (0.907, 3.0)], [(0.9, 2.0), (0.99, 4.0)], samples=1000)
    assert row.percent is None and row.bits is None and row.overlap == pytest.approx((0.9, 0.907))
    assert "overlap 0.007 < 0.062" in row.reason
    assert min_overlap(1000) == pytest.approx(1.959964 / math.sqrt(1000), rel=1e-5)
    assert min_overlap(100_000) == 0.05


def _dense_bd(anchor, test, lo, hi, n=200_001):
    """BD by brute force: the two piecewise-linear curves sampled densely, trapezoids."""
    x = np.linspace(lo, hi, n)
    ra = np.interp(x, [a for a, _ in anchor], [b for _, b in anchor])
    rt = np.interp(x, [a for a, _ in test], [b for _, b in test])
    inner = slice(1, None)  # skip x = lo where a free point makes both rates 0
    log_ratio = np.trapz(np.log(rt[inner] / ra[inner]), x[inner]) / (hi - lo)
    return 100 * (np.exp(log_ratio) - 1), np.trapz(rt - ra, x) / (hi - lo)


# Hull vertices of three MNIST codecs (accuracy, bits per sample) from a run of the mnist suite.
LABEL_LOSSY = [(0.1, 0.048), (0.185, 0.384), (0.312, 0.88), (0.532, 1.72), (0.752, 2.552), (0.881, 3.048),
               (0.97, 3.384)]
LABEL_VQ = [(0.106, 0.016), (0.223, 0.272), (0.292, 0.52), (0.475, 1.016), (0.589, 1.52), (0.714, 2.016)]
STUDENT_BLOCK = [(0.367, 3.016), (0.665, 3.976), (0.943, 4.296), (0.951, 4.712)]


def test_bd_is_integrated_exactly_along_the_piecewise_linear_hulls():
    for anchor, test in ((LABEL_VQ, LABEL_LOSSY), (LABEL_LOSSY, STUDENT_BLOCK)):
        ha, ht = achievable_hull(anchor, None), achievable_hull(test, None)
        row = bd_on_hulls(ha, ht, samples=1000)
        percent, bits = _dense_bd(ha, ht, *row.overlap)
        assert row.percent == pytest.approx(percent, abs=0.01) and row.bits == pytest.approx(bits, abs=1e-5)
        free = (0.1, 0.0)
        ha, ht = achievable_hull(anchor, free), achievable_hull(test, free)
        row = bd_on_hulls(ha, ht, samples=1000)
        assert row.overlap[0] == 0.1  # both curves start at the free point
        percent, bits = _dense_bd(ha, ht, *row.overlap)
        assert row.percent == pytest.approx(percent, abs=0.05) and row.bits == pytest.approx(bits, abs=1e-5)


def test_bd_has_the_sign_of_the_curves():
    # label-vq needs fewer bits than label-lossy at every accuracy both reach; the smooth fit of the
    # old leaderboard gave label-lossy −62.3 % against label-vq.
    lossy, vq = achievable_hull(LABEL_LOSSY, (0.1, 0.0)), achievable_hull(LABEL_VQ, (0.1, 0.0))
    grid = np.linspace(0.1005, 0.714, 500)
    assert all(bits_on_hull(vq, a) < bits_on_hull(lossy, a) for a in grid)
    row = bd_on_hulls(vq, lossy, samples=1000)
    assert row.percent > 0 and row.bits > 0
    reverse = bd_on_hulls(lossy, vq, samples=1000)
    assert reverse.bits == pytest.approx(-row.bits)
    assert (1 + reverse.percent / 100) * (1 + row.percent / 100) == pytest.approx(1.0)


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


def test_literature_joins_its_suite_and_uses_the_bound_of_its_own_test_set():
    skewed = (70, 10, 10, 10)
    records = loaded(make_record("a", 200, 80, counts=skewed))
    lit = entry([(0.8, 3.0), (0.9, 5.0)])  # no test counts in the file: the uniform bound, said so
    (board,) = build_boards(records, [lit], levels=[0.85], levels_of=no_suite)
    assert [r.point.score for r in board.reported] == [0.8, 0.9]
    first = board.reported[0]
    assert board.points[0].bound_bits_prior < first.bound_bits == pytest.approx(eq4(4, 0.2), abs=1e-9)
    assert first.gap_bits == pytest.approx(3.0 - first.bound_bits)
    assert "uniform" in lit.prior_label
    lit = replace(lit, test_prior=LiteraturePrior(skewed, "its test set", "table 1"))
    (board,) = build_boards(records, [lit], levels=[0.85], levels_of=no_suite)
    first = board.reported[0]
    assert first.bound_bits == pytest.approx(board.points[0].bound_bits_prior)  # same counts, same bound
    reported = [r for r in board.ranking if r.reported is not None]
    assert (
        len(reported) == 1 and reported[0].rank is None and reported[0].name.startswith("Author et al. 2020")
    )
    assert reported[0].cells[0].bits_per_sample == pytest.approx(4.0)
    # "a" (0.8 at best) misses the only level: no level every ranked codec reaches, so no overall rank.
    assert [r.rank for r in board.ranking if r.reported is None] == [None] and board.common_levels == ()


def test_modelnet40_literature_uses_the_real_test_prior():
    lit = replace(entry([(0.6, 10.0), (0.8, 30.0)], suite="modelnet40", k=40),
                  test_prior=_known("modelnet40-test"), train_prior=_known("modelnet40-train"))
    (board,) = build_boards(loaded(), [lit], levels=[0.7], levels_of=no_suite)
    counts = known_prior("modelnet40-test")
    assert board.prior_counts == tuple(counts) and "ModelNet40 test split (2,468 samples" in board.bound_label
    first = board.reported[0]
    assert first.bound_bits == pytest.approx(theory.bound_bits(0.6, counts))
    assert 0.25 < first.bound_bits_uniform - first.bound_bits < 0.33  # the uniform bound understated gaps
    # Free point: guess "chair" (889 training shapes), right on 100 of 2,468 test shapes.
    assert board.hulls[lit.label][0] == (100 / 2468, 0.0)


def test_literature_without_records_gets_a_uniform_bound_board():
    boards = build_boards(
        loaded(make_record("a")), [entry([(0.6, 10.0)], suite="other", k=40)], levels_of=no_suite
    )
    other = next(b for b in boards if b.suite == "other")
    assert other.prior_counts is None and not other.records
    assert other.reported[0].bound_bits == pytest.approx(eq4(40, 0.4), abs=1e-9)
    assert [b.slug for b in boards] == ["toy", "other"]


def test_map_entries_get_no_bound_and_other_classes_get_their_own_board():
    boards = build_boards(
        loaded(make_record("a")),
        [entry([(0.55, 100.0)], suite="coco", k=None, metric="mAP")],
        levels_of=no_suite,
    )
    coco = next(b for b in boards if b.suite == "coco")
    assert not coco.has_bound and coco.reported[0].gap_bits is None and coco.reported[0].bound_bits is None
    # A curve reported on the real benchmark (10 classes) beside records of an embedded stand-in
    # (4 classes) is never measured against the stand-in's bound: it gets a section of its own.
    boards = build_boards(loaded(make_record("a")), [entry([(0.6, 1.0)], k=10)], levels_of=no_suite)
    measured, reported = boards
    assert measured.num_classes == 4 and measured.reported == []
    assert reported.num_classes == 10 and reported.dataset_id == "" and len(reported.reported) == 1
    assert reported.reported[0].bound_bits == pytest.approx(eq4(10, 1 - 0.6), abs=1e-9)
    assert [b.slug for b in boards] == [f"toy-{measured.dataset_id}", "toy-reported"]


def test_two_datasets_of_one_suite_get_two_boards():
    boards = build_boards(
        loaded(make_record("a", dataset_id="small"), make_record("a", dataset_id="full")), levels_of=no_suite
    )
    assert sorted(b.slug for b in boards) == ["toy-full", "toy-small"]
