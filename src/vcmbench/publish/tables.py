"""Rows of the published tables, shared by the CSV, the Markdown and the HTML writers.

Numbers are formatted once here so the three outputs agree; strings stay raw and each writer
escapes them for its own format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from vcmbench.publish.board import Board, Ranked
from vcmbench.publish.escape import csv_cell, params_text
from vcmbench.publish.literature import REPORTED_LABEL

MISSING = "—"


def fmt(value: float | None, digits: int = 3) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def fmt_ratio(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2f}×"


def fmt_percent(value: float | None) -> str:
    return MISSING if value is None else f"{value:+.1f}%"


def level_name(level: float) -> str:
    return f"{level:g}"


def ranking_rows(board: Board) -> tuple[list[str], list[list[tuple[str, float | None]]], list[Ranked]]:
    """Header, cells as (text, sort value), and the Ranked rows (for marking reported ones)."""
    header = ["rank", "codec", "mode"]
    for level in board.levels:
        header += [f"bits @ {level_name(level)}", f"gap @ {level_name(level)}"]
    header += ["levels reached", "mean gap (bits)"]
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
            ]
        cells += [(f"{r.reached}/{len(r.cells)}", r.reached), (fmt(r.mean_gap), r.mean_gap)]
        rows.append(cells)
    return header, rows, board.ranking


def bound_line(board: Board) -> str:
    parts = [f"{level_name(lv)} → {board.bound(lv):.3f} bits" for lv in board.levels]
    return "bound at each level: " + ", ".join(parts)


def bd_names(board: Board) -> list[str]:
    names: list[str] = []
    for row in board.bd_rates:
        for name in (row.test, row.anchor):
            if name not in names:
                names.append(name)
    return names


def bd_rows(board: Board) -> tuple[list[str], list[list[tuple[str, float | None]]]]:
    """A matrix: row = codec under test, column = anchor, cell = BD-rate in percent."""
    names = bd_names(board)
    value = {(r.test, r.anchor): r.percent for r in board.bd_rates}
    header = ["codec \\ anchor", *names]
    rows = []
    for test in names:
        cells: list[tuple[str, float | None]] = [(test, None)]
        for anchor in names:
            v = value.get((test, anchor))
            cells.append(("" if test == anchor else fmt_percent(v), v))
        rows.append(cells)
    return header, rows


def bd_left_out_line(board: Board) -> str:
    names = ", ".join(board.bd_left_out)
    return f"No BD-rate for {names}: it needs at least two hull points with non-zero rate."


POINT_HEADER = [
    "codec",
    "params",
    "mode",
    "bits/sample",
    "bits/pixel",
    "accuracy",
    "bound (uniform)",
    "bound (prior)",
    "gap bits",
    "gap ratio",
    "estimated bits/sample",
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
                (fmt(g.bound_bits_uniform), g.bound_bits_uniform),
                (fmt(g.bound_bits_prior), g.bound_bits_prior),
                (fmt(g.gap_bits), g.gap_bits),
                (fmt_ratio(g.gap_ratio), g.gap_ratio),
                (fmt(g.estimated_bits_per_sample), g.estimated_bits_per_sample),
            ]
        )
    return rows


REPORTED_HEADER = [
    "reported result",
    "params",
    "metric",
    "score",
    "bits/sample",
    "bits/pixel",
    "bound (uniform)",
    "bound (this board)",
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
        for g in board.points:
            rows.append(
                {
                    "suite": board.suite,
                    "dataset": board.dataset_id,
                    "source": "reproduced",
                    "codec": g.codec,
                    "params": json.dumps(g.params, sort_keys=True, default=str),
                    "mode": g.granularity,
                    "metric": "accuracy",
                    "score": g.accuracy,
                    "bits_per_sample": g.bits_per_sample,
                    "bits_per_pixel": g.bits_per_pixel,
                    "bound_bits_uniform": g.bound_bits_uniform,
                    "bound_bits": g.bound_bits_prior,
                    "bound": board.bound_label,
                    "gap_bits": g.gap_bits,
                    "gap_ratio": g.gap_ratio,
                    "estimated_bits_per_sample": g.estimated_bits_per_sample,
                    "task_model": first.task_model.id if first else None,
                    "reference_accuracy": g.reference_accuracy,
                    "citation": None,
                }
            )
        for r in board.reported:
            rows.append(
                {
                    "suite": board.suite,
                    "dataset": board.dataset_id or r.entry.dataset,
                    "source": REPORTED_LABEL,
                    "codec": r.entry.label,
                    "params": json.dumps(r.point.params, sort_keys=True, default=str),
                    "mode": "reported",
                    "metric": r.entry.metric,
                    "score": r.point.score,
                    "bits_per_sample": r.point.bits_per_sample,
                    "bits_per_pixel": r.point.bits_per_pixel,
                    "bound_bits_uniform": r.bound_bits_uniform,
                    "bound_bits": r.bound_bits,
                    "bound": board.bound_label if r.bound_bits is not None else None,
                    "gap_bits": r.gap_bits,
                    "gap_ratio": r.gap_ratio,
                    "estimated_bits_per_sample": None,
                    "task_model": None,
                    "reference_accuracy": None,
                    "citation": r.entry.citation.text(),
                }
            )
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].map(csv_cell)
    return frame
