"""Publish: records (and literature) in, README.md, <suite>.csv, plots and the static site out.

Only the files named here are (over)written, plus ``records/`` (the published records, kept in
step with the board: :mod:`vcmbench.publish.site`); anything else in the output folder, such as
``literature/``, is left alone, so the leaderboard folder can hold its own data files. With
``merge`` the board's own records are read back and the new ones added (:mod:`vcmbench.publish.merge`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from vcmbench.api.record import write_text_atomic
from vcmbench.publish.board import Board, build_boards
from vcmbench.publish.interactive import FIGURES_JS, figures_js
from vcmbench.publish.literature import LiteratureEntry, load_literature
from vcmbench.publish.markdown import render_markdown
from vcmbench.publish.merge import merged_records
from vcmbench.publish.page import SiteLinks, render_page
from vcmbench.publish.plots import plot_board
from vcmbench.publish.rd import rd_sections
from vcmbench.publish.records import LoadedRecord, PublishError, check_consistency, load_records
from vcmbench.publish.site import copy_records, write_plotly
from vcmbench.publish.static import BOARD_JS, SORT_JS, STYLE_CSS
from vcmbench.publish.tables import csv_frame


@dataclass(frozen=True)
class PublishResult:
    out_dir: Path
    boards: list[Board]
    files: list[Path]  # everything written, relative paths resolved against out_dir


def summary_line(loaded: Sequence[LoadedRecord], literature: Sequence[LiteratureEntry]) -> str:
    """Where the numbers come from, without a timestamp: the same records publish the same page.

    The commits are those the published records were produced by, never the checkout's: a board
    republished from older records still names the code that measured them.
    """
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
    merge: bool = False,
    bands: bool = False,
) -> PublishResult:
    """Validate every record, recompute bounds and gaps, and write the leaderboard into ``out_dir``.

    ``merge``: publish the records already on the board in ``out_dir`` together with ``results``.
    ``bands``: shade each codec's confidence band along its hull in the static plots.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise PublishError(f"{out_dir}: exists and is not a folder (--out names the leaderboard folder)")
    if merge:
        loaded = merged_records(results, out_dir)
        check_consistency(loaded)
    else:
        loaded = load_records(results)
    literature = load_literature(literature_dir) if literature_dir is not None else []
    boards = build_boards(loaded, literature, levels=levels)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    plots = {}
    for board in boards:
        written = plot_board(board, out_dir / "plots", bands=bands)
        plots[board.slug] = written
        files += written.values()
    by_suite: dict[str, list[Board]] = defaultdict(list)
    for board in boards:
        by_suite[board.suite].append(board)
    for suite, suite_boards in by_suite.items():
        path = out_dir / f"{suite}.csv"
        write_text_atomic(path, csv_frame(suite_boards).to_csv(index=False, lineterminator="\n"))
        files.append(path)
    hrefs = copy_records(loaded, out_dir)
    files += [out_dir / unquote(href) for href in hrefs.values()]
    plotly_files, style_ids = write_plotly(out_dir)
    files += plotly_files
    figures, slugs = figures_js(boards)
    summary = summary_line(loaded, literature)
    # Human+machine suites: per-layer rates, BD-rates per stream and metric, D–C at a fixed rate.
    rd_text, rd_files = rd_sections([i.record for i in loaded], out_dir)
    files += rd_files
    markdown = render_markdown(boards, plots, out_dir, summary)
    if rd_text:
        markdown = markdown.rstrip("\n") + "\n\n" + rd_text.strip("\n") + "\n"
    links = SiteLinks(records=hrefs, figures=slugs, held_style_ids=style_ids)
    for name, text in (
        ("README.md", markdown),
        ("index.html", render_page(boards, plots, out_dir, summary, links)),
        (FIGURES_JS, figures),
        ("sort.js", SORT_JS),
        ("board.js", BOARD_JS),
        ("style.css", STYLE_CSS),
    ):
        write_text_atomic(out_dir / name, text)
        files.append(out_dir / name)
    return PublishResult(out_dir=out_dir, boards=boards, files=files)
