"""Rows of the published tables, shared by the CSV, the Markdown and the HTML writers.

Numbers are formatted once here so the three outputs agree; strings stay raw and each writer
escapes them for its own format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from vcmbench.publish.bdrate import BdRate
from vcmbench.publish.board import Board, Ranked
from vcmbench.publish.detection import csv_rows as detection_csv_rows
from vcmbench.publish.escape import csv_cell, params_text
from vcmbench.publish.literature import REPORTED_LABEL
from vcmbench.report.gaps import ModelAware, group_model_aware
from vcmbench.theory.confidence import CONFIDENCE

MISSING = "—"
CI = f"{CONFIDENCE:.0%} CI"


def fmt(value: float | None, digits: int = 3) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def fmt_ratio(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2f}×"


def fmt_percent(value: float | None) -> str:
    return MISSING if value is None else f"{value:+.1f}%"


def fmt_interval(low: float, high: float, digits: int = 3) -> str:
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def level_name(level: float) -> str:
    return f"{level:g}"


def ranking_rows(board: Board) -> tuple[list[str], list[list[tuple[str, float | None]]], list[Ranked]]:
    """Header, cells as (text, sort value), and the Ranked rows (for marking reported ones)."""
    header = ["rank", "codec", "mode"]
    for level in board.levels:
        name = level_name(level)
        header += [f"bits @ {name}", f"gap @ {name}", f"rank @ {name}"]
    header += ["levels reached", "mean gap, common levels"]
    rows = []
    for r in board.ranking:
        cells: list[tuple[str, float | None]] = [
            (str(r.rank) if r.rank is not None else MISSING, r.rank),
            (r.name if r.reported is None else f"{r.name} [{REPORTED_LABEL}]", None),
            (r.granularity, None),
        ]
        for c in r.cells:
            cells += [
                (
                    fmt(c.bits_per_sample) if c.bits_per_sample is not None else "not reached",
                    c.bits_per_sample,
                ),
                (fmt(c.gap_bits), c.gap_bits),
                (str(c.rank) if c.rank is not None else MISSING, c.rank),
            ]
        cells += [(f"{r.reached}/{len(r.cells)}", r.reached), (fmt(r.mean_gap), r.mean_gap)]
        rows.append(cells)
    return header, rows, board.ranking


def bound_line(board: Board) -> str:
    parts = [f"{level_name(lv)} → {board.bound(lv):.3f} bits" for lv in board.levels]
    return f"Bound ({board.bound_label}) at each level: " + ", ".join(parts) + "."


def board_model_aware(board: Board) -> ModelAware | None:
    """The model-aware bound of the board's reproduced records (None: literature-only or detection board)."""
    if not board.records or board.detection is not None:
        return None
    return group_model_aware([r.record for r in board.records])


def model_aware_line(board: Board) -> str:
    """The model-aware bound at each level and what the classifier costs there, or why there is none."""
    aware = board_model_aware(board)
    if aware is None:
        return ""
    note = aware.note[:1].upper() + aware.note[1:]
    if aware.confusion is None:
        return note + "."
    parts = []
    for level in board.levels:
        bound, classifier, _ = aware.split(level, None, board.bound(level))
        parts.append(f"{level_name(level)} → beyond the classifier's reach" if bound is None else
                     f"{level_name(level)} → {bound:.3f} bits (classifier +{classifier:.3f})")
    return f"{note}. At each level: " + ", ".join(parts) + "."


SPLIT_NOTE = (
    "Each codec's gap at a level (its hull against the RA bound) is the classifier's part (the same for "
    "every codec of this task model: model-aware − RA bound) plus the code's part shown here (bits − "
    "model-aware bound; negative where a codec that does not code the classifier's output beats it)."
)


def split_rows(board: Board) -> tuple[list[str], list[list[tuple[str, float | None]]]]:
    """Header and cells of the code-gap table: every ranked (reproduced) curve's bits − model-aware bound
    at each level. Empty when the board has no model-aware bound (no confusion matrix)."""
    aware = board_model_aware(board)
    if aware is None or aware.confusion is None:
        return [], []
    header = ["codec", "mode"]
    for level in board.levels:
        name = level_name(level)
        header += [f"gap @ {name}", f"code gap @ {name}"]
    rows = []
    for r in board.ranking:
        if r.reported is not None:
            continue
        cells: list[tuple[str, float | None]] = [(r.name, None), (r.granularity, None)]
        for c in r.cells:
            _, _, code = aware.split(c.accuracy, c.bits_per_sample, board.bound(c.accuracy))
            cells += [(fmt(c.gap_bits), c.gap_bits), (fmt(code), code)]
        rows.append(cells)
    return header, rows


def ranking_rule_line(board: Board) -> str:
    """Which levels the overall rank averages, for this board."""
    if not any(r.reported is None for r in board.ranking):
        return "Reported curves get no rank."
    if not board.common_levels:
        return ("No level is reached by every ranked codec, so there is no overall rank; "
                "see the rank at each level.")
    names = ", ".join(level_name(lv) for lv in board.common_levels)
    return f"Overall rank: mean gap over the levels every ranked codec reaches ({names})."


def free_point_line(board: Board) -> str:
    """The board's free point, or why its hulls have none (sentence-cased for a page)."""
    if board.free is None:
        return ""
    note = board.free.note
    return note[:1].upper() + note[1:] + "."


def prior_lines(board: Board) -> list[str]:
    """Which label prior each bound on this board uses (the records' and every literature entry's)."""
    lines = [f"Bound of the reproduced results: {board.bound_label}."] if board.records else []
    for entry in board.literature:
        if entry.is_accuracy:
            free = ("; free point from its training split" if entry.free_point is not None
                    else "; no free point (no training-split counts)")
            lines.append(f"{entry.label} [{REPORTED_LABEL}]: bound of its own test set, {entry.prior_label}"
                         f"{free}.")
    return lines


def bd_names(board: Board) -> list[str]:
    names: list[str] = []
    for row in board.bd_rates:
        for name in (row.test, row.anchor):
            if name not in names:
                names.append(name)
    return names


def _bd_cell(row: BdRate | None, kind: str) -> tuple[str, float | None]:
    if row is None:
        return "", None
    value = row.bits if kind == "bits" else row.percent
    where = f" ({row.overlap[0]:.3f}–{row.overlap[1]:.3f})" if row.overlap is not None else ""
    if value is None:
        return (f"{MISSING}{where}" if row.overlap else MISSING), None
    text = f"{value:+.3f}" if kind == "bits" else fmt_percent(value)
    return text + where, value


def bd_rows(board: Board, kind: str = "percent") -> tuple[list[str], list[list[tuple[str, float | None]]]]:
    """A matrix: row = codec under test, column = anchor; cell = BD-rate (%) or BD-bits, with its overlap."""
    names = bd_names(board)
    by_pair = {(r.test, r.anchor): r for r in board.bd_rates}
    header = ["codec \\ anchor", *names]
    rows = []
    for test in names:
        cells: list[tuple[str, float | None]] = [(test, None)]
        for anchor in names:
            cells.append(("", None) if test == anchor else _bd_cell(by_pair.get((test, anchor)), kind))
        rows.append(cells)
    return header, rows


def bd_left_out_line(board: Board) -> str:
    names = ", ".join(board.bd_left_out)
    return f"No BD numbers for {names}: its achievable hull is a single point (no free point to join)."


POINT_HEADER = [
    "codec",
    "params",
    "mode",
    "bits/sample",
    "bits/pixel",
    "accuracy",
    f"accuracy {CI}",
    "bound (uniform)",
    "bound (prior)",
    f"bound (prior) over the {CI}",
    "gap bits",
    "gap ratio",
    "estimated bits/sample",
    "bound (model-aware)",
    "classifier gap",
    "code gap",
]


def point_rows(board: Board) -> list[list[tuple[str, float | None]]]:
    rows = []
    for g in board.points:
        rows.append(
            [
                (g.codec, None),
                (params_text(g.params), None),
                (g.granularity, None),
                (fmt(g.bits_per_sample), g.bits_per_sample),
                (fmt(g.bits_per_pixel, 5), g.bits_per_pixel),
                (f"{g.accuracy:.4f}", g.accuracy),
                (fmt_interval(g.accuracy_low, g.accuracy_high, 4), g.accuracy_low),
                (fmt(g.bound_bits_uniform), g.bound_bits_uniform),
                (fmt(g.bound_bits_prior), g.bound_bits_prior),
                (fmt_interval(g.bound_bits_low, g.bound_bits_high), g.bound_bits_low),
                (fmt(g.gap_bits), g.gap_bits),
                (fmt_ratio(g.gap_ratio), g.gap_ratio),
                (fmt(g.estimated_bits_per_sample), g.estimated_bits_per_sample),
                (_aware(g.model_aware_bits, g.beyond_classifier), g.model_aware_bits),
                (_aware(g.classifier_gap_bits, g.beyond_classifier), g.classifier_gap_bits),
                (_aware(g.code_gap_bits, g.beyond_classifier), g.code_gap_bits),
            ]
        )
    return rows


def _aware(value: float | None, beyond: bool) -> str:
    return "beyond the classifier" if beyond else fmt(value)


REPORTED_HEADER = [
    "reported result",
    "params",
    "metric",
    "score",
    "bits/sample",
    "bits/pixel",
    "bound (uniform)",
    "bound (its test set)",
    "gap bits",
    "gap ratio",
    "ref.",
]


def reported_rows(board: Board, ref_number: dict[str, int]) -> list[list[tuple[str, float | None]]]:
    rows = []
    for r in board.reported:
        p = r.point
        rows.append(
            [
                (f"{r.entry.label} [{REPORTED_LABEL}]", None),
                (params_text(p.params), None),
                (r.entry.metric if r.entry.is_accuracy else "mAP (not accuracy)", None),
                (f"{p.score:.4f}", p.score),
                (fmt(p.bits_per_sample), p.bits_per_sample),
                (fmt(p.bits_per_pixel, 5), p.bits_per_pixel),
                (fmt(r.bound_bits_uniform), r.bound_bits_uniform),
                (fmt(r.bound_bits), r.bound_bits),
                (fmt(r.gap_bits), r.gap_bits),
                (fmt_ratio(r.gap_ratio), r.gap_ratio),
                (f"[{ref_number[r.entry.id]}]", ref_number[r.entry.id]),
            ]
        )
    return rows


def csv_frame(boards: Sequence[Board]) -> pd.DataFrame:
    """Every point of one suite's boards, reproduced and reported, one row each."""
    rows: list[dict[str, Any]] = []
    for board in boards:
        first = board.first
        free = board.free.point if board.free is not None else None
        if board.detection is not None and first is not None:
            rows += detection_csv_rows(board.detection, board.suite, board.dataset_id, board.fingerprint,
                                       first.task_model.id)
        for g in board.points:
            rows.append(
                {
                    "suite": board.suite,
                    "dataset": board.dataset_id,
                    "dataset_fingerprint": g.dataset_fingerprint,
                    "source": "reproduced",
                    "codec": g.codec,
                    "params": json.dumps(g.params, sort_keys=True, default=str),
                    "mode": g.granularity,
                    "metric": "accuracy",
                    "score": g.accuracy,
                    "score_ci_low": g.accuracy_low,
                    "score_ci_high": g.accuracy_high,
                    "bits_per_sample": g.bits_per_sample,
                    "bits_per_pixel": g.bits_per_pixel,
                    "bound_bits_uniform": g.bound_bits_uniform,
                    "bound_bits": g.bound_bits_prior,
                    "bound_bits_at_ci_low": g.bound_bits_low,
                    "bound_bits_at_ci_high": g.bound_bits_high,
                    "bound": board.bound_label,
                    "gap_bits": g.gap_bits,
                    "gap_ratio": g.gap_ratio,
                    "free_point_accuracy": free[0] if free is not None else None,
                    "estimated_bits_per_sample": g.estimated_bits_per_sample,
                    "task_model": first.task_model.id if first else None,
                    "reference_accuracy": g.reference_accuracy,
                    "citation": None,
                    "model_aware_bound_bits": g.model_aware_bits,
                    "classifier_gap_bits": g.classifier_gap_bits,
                    "code_gap_bits": g.code_gap_bits,
                }
            )
        for r in board.reported:
            entry_free = r.entry.free_point if r.entry.is_accuracy else None
            rows.append(
                {
                    "suite": board.suite,
                    "dataset": board.dataset_id or r.entry.dataset,
                    "dataset_fingerprint": None,
                    "source": REPORTED_LABEL,
                    "codec": r.entry.label,
                    "params": json.dumps(r.point.params, sort_keys=True, default=str),
                    "mode": "reported",
                    "metric": r.entry.metric,
                    "score": r.point.score,
                    "score_ci_low": None,
                    "score_ci_high": None,
                    "bits_per_sample": r.point.bits_per_sample,
                    "bits_per_pixel": r.point.bits_per_pixel,
                    "bound_bits_uniform": r.bound_bits_uniform,
                    "bound_bits": r.bound_bits,
                    "bound_bits_at_ci_low": None,
                    "bound_bits_at_ci_high": None,
                    "bound": r.entry.prior_label if r.bound_bits is not None else None,
                    "gap_bits": r.gap_bits,
                    "gap_ratio": r.gap_ratio,
                    "free_point_accuracy": entry_free[0] if entry_free is not None else None,
                    "estimated_bits_per_sample": None,
                    "task_model": None,
                    "reference_accuracy": None,
                    "citation": r.entry.citation.text(),
                    "model_aware_bound_bits": None,
                    "classifier_gap_bits": None,
                    "code_gap_bits": None,
                }
            )
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].map(csv_cell)
    return frame
