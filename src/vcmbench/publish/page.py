"""The static site: one ``index.html`` with sortable tables and the plots, beside its own JS and CSS.

Every string from a record or a literature file goes through ``html_text``; links are only made
for http(s) addresses; a Content-Security-Policy allows no inline script, as a second line of defence.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vcmbench.publish import detection, tables, texts
from vcmbench.publish.board import Board
from vcmbench.publish.escape import html_text, params_text
from vcmbench.publish.literature import REPORTED_LABEL, LiteratureEntry

Cells = list[tuple[str, float | None]]
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'"
)


def html_table(
    header: Sequence[str],
    rows: Sequence[Cells],
    *,
    caption: str = "",
    row_classes: Sequence[str] = (),
    text_columns: Sequence[int] = (),
) -> str:
    """A sortable table; numeric columns carry data-value so they sort as numbers."""
    numeric = [any(len(r) > i and r[i][1] is not None for r in rows) for i in range(len(header))]
    out = ['<div class="table-wrap"><table class="sortable">']
    if caption:
        out.append(f"<caption>{html_text(caption)}</caption>")
    out.append(
        "<thead><tr>" + "".join(f'<th scope="col">{html_text(h)}</th>' for h in header) + "</tr></thead>"
    )
    out.append("<tbody>")
    for n, row in enumerate(rows):
        cls = row_classes[n] if n < len(row_classes) and row_classes[n] else ""
        cells = []
        for i, (text, value) in enumerate(row):
            attrs = ""
            if numeric[i]:
                attrs += f' data-value="{"" if value is None else repr(float(value))}"'
            if i in text_columns:
                attrs += ' class="text"'
            cells.append(f"<td{attrs}>{html_text(text)}</td>")
        row_attr = f' class="{cls}"' if cls else ""
        out.append(f"<tr{row_attr}>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _link(url: str | None, text: str) -> str:
    if url and url.startswith(("https://", "http://")):
        return f'<a href="{html_text(url)}">{html_text(text)}</a>'
    return html_text(text)


def source_text(entry: LiteratureEntry) -> str:
    """Where the numbers were read, in words (plain text; escape before use)."""
    src = entry.source
    if src.get("kind") == "repository":
        return f"{src.get('repository')}, file {src.get('path')} at commit {src.get('commit')}"
    return str(src.get("where", "")) or ", ".join(f"{k}: {v}" for k, v in src.items())


def reference_numbers(boards: Sequence[Board]) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for board in boards:
        for entry in board.literature:
            numbers.setdefault(entry.id, len(numbers) + 1)
    return numbers


def _references(boards: Sequence[Board], numbers: dict[str, int]) -> str:
    entries = {e.id: e for b in boards for e in b.literature}
    if not entries:
        return ""
    items = []
    for entry_id, n in sorted(numbers.items(), key=lambda kv: kv[1]):
        e = entries[entry_id]
        c = e.citation
        items.append(
            f'<li id="ref-{n}">[{n}] {html_text(c.authors)}, “{_link(c.url, c.title)}”, '
            f'{html_text(c.venue)}, {c.year}. <span class="note">Numbers read from: '
            f"{html_text(source_text(e))}."
            + (f" {html_text(e.note)}." if e.note else "")
            + "</span></li>"
        )
    return (
        '<section id="references"><h2>References (reported, not reproduced)</h2><ol class="refs">'
        + "".join(items)
        + "</ol></section>"
    )


def _board_section(board: Board, numbers: dict[str, int], plots: dict[str, Path], out_dir: Path) -> str:
    title = board.suite if not board.dataset_id else f"{board.suite} · {board.dataset_id}"
    parts = [
        f'<section id="board-{html_text(board.slug)}"><h2>{html_text(title)}'
        + ("" if board.records else ' <span class="badge">reported results only</span>')
        + "</h2>"
    ]
    first = board.first
    if board.detection is not None and first is not None:
        return "\n".join([*parts, *_detection(board, numbers, plots, out_dir, title), "</section>"])
    if first is not None:
        ok = sum(1 for r in board.records if r.record.status == "ok")
        parts.append(
            f'<p class="meta">{first.dataset.samples} test samples (test-set fingerprint '
            f"{html_text(board.fingerprint)}), "
            f"K={first.dataset.num_classes} classes · task model {html_text(first.task_model.id)} "
            "(uncompressed accuracy "
            f"{first.task_model.reference_accuracy:.4f}) · {ok} operating point(s) · bound: "
            f"{html_text(board.bound_label)} · accuracy levels from {html_text(board.levels_from)}</p>"
        )
    elif board.has_bound:
        parts.append(
            f'<p class="meta">No reproduced results yet; bound: {html_text(board.bound_label)} · '
            f"accuracy levels from {html_text(board.levels_from)}</p>"
        )
    if plots:
        png, svg = (plots[k].relative_to(out_dir).as_posix() for k in ("png", "svg"))
        parts.append(
            f'<figure><img src="{html_text(png)}" alt="{html_text("rate-accuracy plot of " + title)}" '
            f'width="1430" height="728"><figcaption>Accuracy against bits per sample, with the bound '
            f"curve; hollow markers on dashed lines are {REPORTED_LABEL}. "
            f'<a href="{html_text(svg)}">SVG</a></figcaption></figure>'
        )
    notes = [n for n in (tables.free_point_line(board), *tables.prior_lines(board)) if n]
    if notes:
        parts.append('<ul class="note">' + "".join(f"<li>{html_text(n)}</li>" for n in notes) + "</ul>")
    if board.ranking:
        header, rows, ranked = tables.ranking_rows(board)
        parts.append("<h3>Ranking: bits above the bound at matched accuracy</h3>")
        rule = tables.bound_line(board) + " " + tables.ranking_rule_line(board)
        parts.append(f'<p class="note">{html_text(rule)}</p>')
        parts.append(
            html_table(
                header,
                rows,
                row_classes=["reported" if r.reported else "" for r in ranked],
                text_columns=(1,),
            )
        )
    for kind, title in (("bits", "BD-bits between codecs (bits per sample, row against column; overlap)"),
                        ("percent", "BD-rate between codecs (%, row against column; overlap)")):
        bd_header, bd = tables.bd_rows(board, kind)
        if bd:
            parts.append(f"<h3>{html_text(title)}</h3>")
            parts.append(html_table(bd_header, bd, text_columns=(0,)))
    if board.bd_left_out:
        parts.append(f'<p class="note">{html_text(tables.bd_left_out_line(board))}</p>')
    if board.points:
        parts.append("<h3>All operating points</h3>")
        parts.append(html_table(tables.POINT_HEADER, tables.point_rows(board), text_columns=(0, 1)))
    if board.reported:
        parts.append(f"<h3>Reported in the literature ({REPORTED_LABEL})</h3>")
        if any(not r.entry.is_accuracy for r in board.reported):
            parts.append(f'<p class="note">{html_text(texts.MAP_NOTE)}</p>')
        parts.append(
            html_table(
                tables.REPORTED_HEADER,
                tables.reported_rows(board, numbers),
                row_classes=["reported"] * len(board.reported),
                text_columns=(0, 1),
            )
        )
    if board.failed:
        items = "".join(
            f"<li>{html_text(f.record.codec.name)} {html_text(params_text(f.record.codec.params))}"
            f": {html_text(f.record.error or 'failed')}</li>"
            for f in board.failed
        )
        parts.append(f"<h3>Failed operating points</h3><ul>{items}</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def _detection(board: Board, numbers: dict[str, int], plots: dict[str, Path], out_dir: Path,
               title: str) -> list[str]:
    """A detection board's body: mAP ranking, every point with the eq. 7 readings, literature, failures."""
    d = board.detection
    first = board.first
    assert d is not None and first is not None
    ok = sum(1 for r in board.records if r.record.status == "ok")
    parts = [f'<p class="meta">{first.dataset.samples} test images (test-set fingerprint '
             f"{html_text(board.fingerprint)}) · task model {html_text(first.task_model.id)} · {ok} "
             f"operating point(s) · {html_text(d.metric)} levels from {html_text(board.levels_from)}</p>"]
    if plots:
        png, svg = (plots[k].relative_to(out_dir).as_posix() for k in ("png", "svg"))
        parts.append(
            f'<figure><img src="{html_text(png)}" alt="{html_text("rate-mAP plot of " + title)}" '
            f'width="1430" height="728"><figcaption>{html_text(d.metric)} against bits per pixel of the '
            f"original image, with log2 K of eq. 7 marked; hollow markers are {REPORTED_LABEL}. "
            f'<a href="{html_text(svg)}">SVG</a></figcaption></figure>')
    notes = detection.summary_lines(d, bool(board.literature))
    parts.append('<ul class="note">' + "".join(f"<li>{html_text(n)}</li>" for n in notes) + "</ul>")
    header, rows = detection.ranking_table(d)
    parts += [f"<h3>Ranking: fewest bits per image at each {html_text(d.metric)} level</h3>",
              f'<p class="note">{html_text(detection.ranking_rule(d))}</p>',
              html_table(header, rows, text_columns=(1,)),
              "<h3>All operating points</h3>",
              html_table(detection.point_header(d), detection.point_table(d), text_columns=(0, 1))]
    if board.reported:
        parts += [f"<h3>Reported in the literature ({REPORTED_LABEL})</h3>",
                  f'<p class="note">{html_text(texts.MAP_NOTE)}</p>',
                  html_table(tables.REPORTED_HEADER, tables.reported_rows(board, numbers),
                             row_classes=["reported"] * len(board.reported), text_columns=(0, 1))]
    if board.failed:
        items = "".join(f"<li>{html_text(f.record.codec.name)} "
                        f"{html_text(params_text(f.record.codec.params))}: "
                        f"{html_text(f.record.error or 'failed')}</li>" for f in board.failed)
        parts.append(f"<h3>Failed operating points</h3><ul>{items}</ul>")
    return parts


def render_page(
    boards: Sequence[Board], plots: dict[str, dict[str, Path]], out_dir: Path, summary: str
) -> str:
    numbers = reference_numbers(boards)
    nav = " · ".join(f'<a href="#board-{html_text(b.slug)}">{html_text(b.slug)}</a>' for b in boards)
    body = "\n".join(_board_section(b, numbers, plots.get(b.slug, {}), out_dir) for b in boards)
    rules = "\n".join(f"<p><strong>{html_text(t)}.</strong> {html_text(x)}</p>" for t, x in texts.RULES)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>vcmbench leaderboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="style.css">
<script src="sort.js" defer></script>
</head>
<body>
<header>
<h1>vcmbench leaderboard</h1>
<p class="meta">{html_text(summary)}</p>
<nav>{nav}</nav>
</header>
<section class="explain">
{rules}
<p>{html_text(texts.RATES)} {html_text(texts.REPORTED)}</p>
</section>
{body}
{_references(boards, numbers)}
</body>
</html>
"""
