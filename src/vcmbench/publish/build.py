"""Publish: records (and literature) in, README.md, <suite>.csv, plots and the static site out.

Only the files named here are (over)written; anything else in the output folder, such as
``literature/``, is left alone, so the leaderboard folder can hold its own data files.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vcmbench.api.record import write_text_atomic
from vcmbench.publish.board import Board, build_boards
from vcmbench.publish.literature import LiteratureEntry, load_literature
from vcmbench.publish.markdown import render_markdown
from vcmbench.publish.page import render_page
from vcmbench.publish.plots import plot_board
from vcmbench.publish.records import LoadedRecord, PublishError, load_records
from vcmbench.publish.static import SORT_JS, STYLE_CSS
from vcmbench.publish.tables import csv_frame


@dataclass(frozen=True)
class PublishResult:
    out_dir: Path
    boards: list[Board]
    files: list[Path]  # everything written, relative paths resolved against out_dir


def summary_line(loaded: Sequence[LoadedRecord], literature: Sequence[LiteratureEntry]) -> str:
    """Where the numbers come from, without a timestamp: the same records publish the same page."""
    commits = sorted({(i.record.provenance.git_commit or "unknown")[:10] for i in loaded})
    dates = sorted(i.record.provenance.date[:10] for i in loaded)
    span = f"runs of {dates[0]}" if dates[0] == dates[-1] else f"runs from {dates[0]} to {dates[-1]}"
    return (
        f"Published from {len(loaded)} result record(s) ({span}; vcmbench commit(s) {', '.join(commits)}) "
        f"and {len(literature)} literature reference(s)."
    )


def publish(
    results: Sequence[Path],
    out_dir: Path,
    *,
    literature_dir: Path | None = None,
    levels: Sequence[float] | None = None,
) -> PublishResult:
    """Validate every record, recompute bounds and gaps, and write the leaderboard into ``out_dir``."""
    loaded = load_records(results)
    literature = load_literature(literature_dir) if literature_dir is not None else []
    boards = build_boards(loaded, literature, levels=levels)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise PublishError(f"{out_dir}: exists and is not a folder (--out names the leaderboard folder)")
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    plots = {}
    for board in boards:
        written = plot_board(board, out_dir / "plots")
        plots[board.slug] = written
        files += written.values()
    by_suite: dict[str, list[Board]] = defaultdict(list)
    for board in boards:
        by_suite[board.suite].append(board)
    for suite, suite_boards in by_suite.items():
        path = out_dir / f"{suite}.csv"
        write_text_atomic(path, csv_frame(suite_boards).to_csv(index=False, lineterminator="\n"))
        files.append(path)
    summary = summary_line(loaded, literature)
    for name, text in (
        ("README.md", render_markdown(boards, plots, out_dir, summary)),
        ("index.html", render_page(boards, plots, out_dir, summary)),
        ("sort.js", SORT_JS),
        ("style.css", STYLE_CSS),
    ):
        write_text_atomic(out_dir / name, text)
        files.append(out_dir / name)
    return PublishResult(out_dir=out_dir, boards=boards, files=files)
