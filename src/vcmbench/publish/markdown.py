"""The leaderboard as Markdown (``README.md`` of the output folder): the same tables as the page."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vcmbench.publish import detection, tables, texts
from vcmbench.publish.board import Board
from vcmbench.publish.escape import markdown_text, params_text
from vcmbench.publish.literature import REPORTED_LABEL
from vcmbench.publish.page import reference_numbers, source_text

Cells = list[tuple[str, float | None]]


def md_table(header: Sequence[str], rows: Sequence[Cells]) -> str:
    lines = [
        "| " + " | ".join(markdown_text(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(markdown_text(text) if text else " " for text, _ in row) + " |")
    return "\n".join(lines)


def _board(board: Board, numbers: dict[str, int], plots: dict[str, Path], out_dir: Path) -> list[str]:
    title = board.suite if not board.dataset_id else f"{board.suite} · {board.dataset_id}"
    out = [f"## {markdown_text(title)}" + ("" if board.records else " (reported results only)"), ""]
    first = board.first
    if board.detection is not None and first is not None:
        return out + _detection(board, numbers, plots, out_dir, title)
    if first is not None:
        out += [
            f"{first.dataset.samples} test samples (fingerprint {markdown_text(board.fingerprint)}), "
            f"K={first.dataset.num_classes} classes; task model "
            f"{markdown_text(first.task_model.id)} (uncompressed accuracy "
            f"{first.task_model.reference_accuracy:.4f}); bound: {markdown_text(board.bound_label)}; "
            f"accuracy levels from {markdown_text(board.levels_from)}.",
            "",
        ]
    elif board.has_bound:
        out += [f"No reproduced results yet; bound: {markdown_text(board.bound_label)}.", ""]
    if plots:
        png, svg = (plots[k].relative_to(out_dir).as_posix() for k in ("png", "svg"))
        out += [
            f"![rate-accuracy plot of {markdown_text(title)}]({png}) ([SVG]({svg}); hollow markers on dashed "
            f"lines are {REPORTED_LABEL})",
            "",
        ]
    notes = [tables.free_point_line(board), *tables.prior_lines(board), tables.model_aware_line(board)]
    out += [f"- {markdown_text(n)}" for n in notes if n]
    if any(notes):
        out.append("")
    if board.ranking:
        header, rows, _ = tables.ranking_rows(board)
        out += [
            "### Ranking: bits above the bound at matched accuracy",
            "",
            markdown_text(tables.bound_line(board)) + " " + markdown_text(tables.ranking_rule_line(board)),
            "",
            md_table(header, rows),
            "",
        ]
    split_header, split = tables.split_rows(board)
    if split:
        out += [
            "### Where the gap is: classifier and code",
            "",
            markdown_text(tables.SPLIT_NOTE),
            "",
            md_table(split_header, split),
            "",
        ]
    for kind, title in (("bits", "BD-bits between codecs (bits per sample, row against column; overlap)"),
                        ("percent", "BD-rate between codecs (%, row against column; overlap)")):
        bd_header, bd = tables.bd_rows(board, kind)
        if bd:
            out += [f"### {title}", "", md_table(bd_header, bd), ""]
    if board.bd_left_out:
        out += [markdown_text(tables.bd_left_out_line(board)), ""]
    if board.points:
        out += ["### All operating points", "", md_table(tables.POINT_HEADER, tables.point_rows(board)), ""]
    if board.reported:
        out += [f"### Reported in the literature ({REPORTED_LABEL})", ""]
        if any(not r.entry.is_accuracy for r in board.reported):
            out += [markdown_text(texts.MAP_NOTE), ""]
        out += [md_table(tables.REPORTED_HEADER, tables.reported_rows(board, numbers)), ""]
    if board.failed:
        out += ["### Failed operating points", ""]
        out += [
            f"- {markdown_text(f.record.codec.name)} {markdown_text(params_text(f.record.codec.params))}: "
            f"{markdown_text(f.record.error or 'failed')}"
            for f in board.failed
        ]
        out.append("")
    return out


def _detection(board: Board, numbers: dict[str, int], plots: dict[str, Path], out_dir: Path,
               title: str) -> list[str]:
    """A detection board: mAP ranking, every point with the eq. 7 readings, literature, failures."""
    d = board.detection
    first = board.first
    assert d is not None and first is not None
    out = [f"{first.dataset.samples} test images (fingerprint {markdown_text(board.fingerprint)}); task "
           f"model {markdown_text(first.task_model.id)}; {markdown_text(d.metric)} levels from "
           f"{markdown_text(board.levels_from)}.", ""]
    if plots:
        png, svg = (plots[k].relative_to(out_dir).as_posix() for k in ("png", "svg"))
        out += [f"![rate-mAP plot of {markdown_text(title)}]({png}) ([SVG]({svg}); {markdown_text(d.metric)} "
                f"against bits per pixel of the original image; hollow markers are {REPORTED_LABEL})", ""]
    out += [f"- {markdown_text(line)}" for line in detection.summary_lines(d, bool(board.literature))] + [""]
    header, rows = detection.ranking_table(d)
    out += [f"### Ranking: fewest bits per image at each {markdown_text(d.metric)} level", "",
            markdown_text(detection.ranking_rule(d)), "", md_table(header, rows), ""]
    out += ["### All operating points", "", md_table(detection.point_header(d), detection.point_table(d)), ""]
    if board.reported:
        out += [f"### Reported in the literature ({REPORTED_LABEL})", "", markdown_text(texts.MAP_NOTE), "",
                md_table(tables.REPORTED_HEADER, tables.reported_rows(board, numbers)), ""]
    if board.failed:
        out += ["### Failed operating points", ""]
        out += [f"- {markdown_text(f.record.codec.name)} {markdown_text(params_text(f.record.codec.params))}"
                f": {markdown_text(f.record.error or 'failed')}" for f in board.failed]
        out.append("")
    return out


def _link(url: str | None, text: str) -> str:
    """A Markdown link for http(s) addresses only; anything else stays plain text."""
    if url and url.startswith(("https://", "http://")) and not any(ch.isspace() for ch in url):
        safe = url.replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")
        return f"[{markdown_text(text)}]({safe})"
    return markdown_text(text)


def render_markdown(
    boards: Sequence[Board], plots: dict[str, dict[str, Path]], out_dir: Path, summary: str
) -> str:
    numbers = reference_numbers(boards)
    lines = [
        "# vcmbench leaderboard",
        "",
        markdown_text(summary),
        "",
        "Open `index.html` for sortable tables. Per-suite numbers are in `<suite>.csv`.",
        "",
        *(line for title, text in texts.RULES for line in (f"**{title}.** {markdown_text(text)}", "")),
        f"{markdown_text(texts.RATES)} {markdown_text(texts.REPORTED)}",
        "",
    ]
    for board in boards:
        lines += _board(board, numbers, plots.get(board.slug, {}), out_dir)
    entries = {e.id: e for b in boards for e in b.literature}
    if entries:
        lines += ["## References (reported, not reproduced)", ""]
        for entry_id, n in sorted(numbers.items(), key=lambda kv: kv[1]):
            e = entries[entry_id]
            c = e.citation
            note = f" {markdown_text(e.note)}." if e.note else ""
            lines.append(
                f"{n}. {markdown_text(c.authors)}, “{_link(c.url, c.title)}”, {markdown_text(c.venue)}, "
                f"{c.year}. Numbers read from: {markdown_text(source_text(e))}.{note}"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
