"""Reports split each gap at the model-aware bound: classifier (model-aware − RA) and code."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from conftest import make_record
from vcmbench.api.record import Metrics
from vcmbench.report.gaps import NO_CONFUSION, gaps_at_levels, group_model_aware, point_gaps
from vcmbench.report.show import show_report
from vcmbench.report.table import format_levels
from vcmbench.theory import bound_bits
from vcmbench.theory.model_aware import symmetric_noise_bits, symmetric_noise_confusion

# 4 classes × 60 samples; the classifier errs on 12 of each class's 60, evenly: ε = 0.2
CONFUSION = symmetric_noise_confusion(4, 60, 12)
COUNTS = [60] * 4


def record(bits_total: int, correct: int, confusion=CONFUSION, codec: str = "c", **params):
    base = make_record()
    samples = sum(COUNTS)
    ds = replace(base.dataset, num_classes=4, samples=samples, prior_counts=list(COUNTS),
                 train_prior_counts=[100, 90, 90, 90])
    task = replace(base.task_model, reference_accuracy=0.8,
                   confusion=None if confusion is None else np.asarray(confusion).tolist())
    m = Metrics(accuracy=correct / samples, correct=correct, samples=samples, bits_total=bits_total,
                bits_per_sample=bits_total / samples, blocks=1, encode_seconds=0.0, decode_seconds=0.0)
    return replace(base, dataset=ds, task_model=task, metrics=m,
                   codec=replace(base.codec, name=codec, params=params))


def test_each_point_gap_splits_into_classifier_and_code():
    (g,) = point_gaps([record(bits_total=360, correct=168)])  # 1.5 bits at accuracy 0.7
    closed = symmetric_noise_bits(4, 0.2, 0.7)
    assert g.model_aware_bits == pytest.approx(closed, abs=1e-9)
    assert g.classifier_gap_bits == pytest.approx(closed - bound_bits(0.7, COUNTS), abs=1e-9)
    assert g.code_gap_bits == pytest.approx(1.5 - closed, abs=1e-9)
    assert g.classifier_gap_bits + g.code_gap_bits == pytest.approx(g.gap_bits, abs=1e-9)
    assert g.classifier_gap_bits > 0.1


def test_a_point_beyond_the_classifiers_reach_has_no_split():
    (g,) = point_gaps([record(bits_total=480, correct=204)])  # 0.85 > 1 − ε = 0.8
    assert g.beyond_classifier and g.model_aware_bits is None and g.code_gap_bits is None


def test_levels_split_on_each_codecs_hull():
    records = [record(bits_total=240, correct=150), record(bits_total=480, correct=186, q=2)]
    (lv,) = gaps_at_levels(records, [0.7])
    assert lv.bits_per_sample is not None
    closed = symmetric_noise_bits(4, 0.2, 0.7)
    assert lv.model_aware_bits == pytest.approx(closed, abs=1e-9)
    assert lv.code_gap_bits == pytest.approx(lv.bits_per_sample - closed, abs=1e-9)
    assert lv.classifier_gap_bits + lv.code_gap_bits == pytest.approx(lv.gap_bits, abs=1e-9)
    (beyond,) = gaps_at_levels(records, [0.8 + 1 / 240])
    assert beyond.beyond_classifier and beyond.model_aware_bits is None
    assert "beyond" in format_levels([beyond])


def test_without_a_confusion_matrix_nothing_is_guessed():
    plain = record(bits_total=360, correct=168, confusion=None)
    (g,) = point_gaps([plain])
    assert (g.model_aware_bits, g.classifier_gap_bits, g.code_gap_bits) == (None, None, None)
    assert not g.beyond_classifier
    assert group_model_aware([plain]).note == NO_CONFUSION
    # one record of the group without it: the group has no model-aware bound either
    assert group_model_aware([plain, record(bits_total=360, correct=168)]).note == NO_CONFUSION
    text = show_report([plain])
    assert "no model-aware bound (record has no confusion matrix)" in text


def test_records_with_different_confusion_matrices_get_no_bound():
    other = symmetric_noise_confusion(4, 60, 24)
    aware = group_model_aware([record(bits_total=360, correct=168), record(360, 168, confusion=other)])
    assert aware.confusion is None and "different confusion matrices" in aware.note


def test_the_terminal_report_shows_the_bound_and_the_split():
    text = show_report([record(bits_total=360, correct=168), record(bits_total=240, correct=150, q=2)],
                       levels=[0.7])
    assert "model-aware bound: fewest bits any code of task model oracle's output" in text
    assert "best reachable by any code of its output 0.8000" in text
    header = next(line for line in text.splitlines() if line.startswith("codec") and "accuracy  bits" in line)
    assert header.split()[-3:] == ["bound(model)", "classifier", "code"]


# --- the leaderboard's tables ---------------------------------------------------------------------------

def _boards(records):
    from pathlib import Path

    from vcmbench.publish.board import build_boards
    from vcmbench.publish.records import LoadedRecord

    loaded = [LoadedRecord(Path(f"{i}.json"), r) for i, r in enumerate(records)]
    return build_boards(loaded, levels=[0.5, 0.7], levels_of=lambda suite: None)


def test_leaderboard_tables_carry_the_model_aware_columns_and_split():
    from vcmbench.publish import tables

    records = [record(bits_total=240, correct=150), record(bits_total=480, correct=186, q=2)]
    (board,) = _boards(records)
    header = tables.POINT_HEADER
    assert header[-3:] == ["bound (model-aware)", "classifier gap", "code gap"]
    for row in tables.point_rows(board):
        assert len(row) == len(header)
    line = tables.model_aware_line(board)
    closed = symmetric_noise_bits(4, 0.2, 0.7)
    assert f"0.7 → {closed:.3f} bits (classifier +{closed - bound_bits(0.7, COUNTS):.3f})" in line
    split_header, rows = tables.split_rows(board)
    assert split_header == ["codec", "mode", "gap @ 0.5", "code gap @ 0.5", "gap @ 0.7", "code gap @ 0.7"]
    (row,) = rows
    (cell,) = [c for c in next(r for r in board.ranking if r.reported is None).cells if c.accuracy == 0.7]
    assert row[5][1] == pytest.approx(cell.bits_per_sample - closed, abs=1e-9)
    frame = tables.csv_frame([board])
    assert list(frame.columns[-3:]) == ["model_aware_bound_bits", "classifier_gap_bits", "code_gap_bits"]


def test_leaderboard_without_confusion_says_so_and_has_no_split_table():
    from vcmbench.publish import tables

    (board,) = _boards([record(bits_total=240, correct=150, confusion=None)])
    assert tables.model_aware_line(board) == "No model-aware bound (record has no confusion matrix)."
    assert tables.split_rows(board) == ([], [])


# --- `vcmbench bound --confusion` -------------------------------------------------------------------------

def test_bound_command_reads_a_confusion_matrix_or_a_record(tmp_path, capsys):
    import json

    from vcmbench.api.record import write_record
    from vcmbench.cli import main

    matrix = tmp_path / "confusion.json"
    matrix.write_text(json.dumps(CONFUSION.tolist()))
    assert main(["bound", "--confusion", str(matrix), "--accuracy", "0.7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    closed = symmetric_noise_bits(4, 0.2, 0.7)
    assert out["rate_bits"] == pytest.approx(closed, abs=1e-9)
    assert out["ra_bound_bits"] == pytest.approx(bound_bits(0.7, COUNTS), abs=1e-9)
    assert out["bayes_accuracy"] == pytest.approx(0.8)
    assert main(["bound", "--confusion", str(matrix), "--accuracy", "0.9"]) == 0
    assert "beyond what any code of this classifier's output reaches" in capsys.readouterr().out
    assert main(["bound", "--confusion", str(matrix), "--plot", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").stat().st_size > 1000
    capsys.readouterr()
    plain = tmp_path / "plain.json"
    write_record(plain, record(bits_total=360, correct=168, confusion=None))
    assert main(["bound", "--confusion", str(plain), "--accuracy", "0.7"]) == 2
    assert "no model-aware bound (record has no confusion matrix)" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[[1, 2], [3]]")
    assert main(["bound", "--confusion", str(bad), "--accuracy", "0.7"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_report_json_carries_the_model_aware_note(tmp_path, capsys):
    import json

    from vcmbench.api.record import write_record
    from vcmbench.cli import main

    write_record(tmp_path / "a.json", record(bits_total=360, correct=168))
    assert main(["report", str(tmp_path), "--json"]) == 0
    (group,) = json.loads(capsys.readouterr().out)["groups"]
    assert group["model_aware"]["raw_accuracy"] == pytest.approx(sum(CONFUSION[i][i] for i in range(4)) / 240)
