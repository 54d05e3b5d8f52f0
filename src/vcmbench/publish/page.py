"""The static site: one ``index.html`` people explore, beside its own JS, CSS and the records.

Filters (suite, mode, codec family, literature on/off) and a search box narrow every table and
interactive plot (``board.js``); each operating point links to its record JSON copied into the
site (:mod:`vcmbench.publish.site`) and names the codec's package, version and the vcmbench commit
that produced it; the plots are plotly figures (``figures.js``) drawn by the plotly.js shipped in
the folder, with the static PNG/SVG kept for print. Every string from a record or a literature file
goes through ``html_text``; links are only made for http(s) addresses and for files of the site;
a Content-Security-Policy allows no inline script, as a second line of defence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vcmbench.publish import detection, tables, texts
from vcmbench.publish.board import Board
from vcmbench.publish.escape import html_text, params_text
from vcmbench.publish.literature import REPORTED_LABEL, LiteratureEntry
from vcmbench.publish.records import LoadedRecord, codec_family

Cells = list[tuple[str, float | None]]
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'"
)
SCRIPTS = ("plotly.min.js", "figures.js", "sort.js", "board.js")
EXTRA_POINT_HEADER = ["package", "commit", "record"]
EXTRA_RANKING_HEADER = ["package", "commit", "records"]


class Html(str):
    """A table cell's markup, already escaped (links to the site's own files)."""


@dataclass
class SiteLinks:
    """What the page links to beside its tables: copied records (by record path) and interactive plots."""

    records: Mapping[Path, str] = field(default_factory=dict)
    figures: set[str] = field(default_factory=set)
    held_style_ids: Sequence[str] = ()  # plotly.js injects no <style> where an element has this id


def point_key(codec: str, params: Mapping) -> tuple[str, str]:
    return codec, json.dumps(params, sort_keys=True, default=str)


def package_text(item: LoadedRecord) -> str:
    c = item.record.codec
    if not c.package:
        return f"(unrecorded) {c.name} {c.version}"
    return f"{c.package} {c.package_version}" if c.package_version else c.package


def commit_text(item: LoadedRecord) -> str:
    return (item.record.provenance.git_commit or "unknown")[:10]


def _record_link(href: str | None, text: str = "JSON") -> Html:
    if not href:
        return Html("—")
    return Html(f'<a class="record" href="{html_text(href)}">{html_text(text)}</a>')


def _row_attrs(mode: str, family: str, reported: bool) -> str:
    return (f' data-mode="{html_text(mode)}" data-family="{html_text(family)}" '
            f'data-literature="{1 if reported else 0}"')


def html_table(
    header: Sequence[str],
    rows: Sequence[Cells],
    *,
    caption: str = "",
    row_classes: Sequence[str] = (),
    text_columns: Sequence[int] = (),
    row_attrs: Sequence[str] = (),
) -> str:
    """A sortable table; numeric columns carry data-value so they sort as numbers.

    A cell whose text is :class:`Html` is inserted as it is (it is already escaped markup); any
    other text is escaped. ``row_attrs`` are ready-made attributes of each ``<tr>`` (for the filters).
    """
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
            body = text if isinstance(text, Html) else html_text(text)
            cells.append(f"<td{attrs}>{body}</td>")
        row_attr = f' class="{cls}"' if cls else ""
        row_attr += row_attrs[n] if n < len(row_attrs) else ""
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


class _BoardRows:
    """The records behind a board's rows: by operating point, and every record of a codec."""

    def __init__(self, board: Board, links: SiteLinks):
        self.links = links
        self.by_point: dict[tuple[str, str], LoadedRecord] = {}
        self.by_codec: dict[str, list[LoadedRecord]] = {}
        for item in board.records:
            c = item.record.codec
            self.by_point[point_key(c.name, c.params)] = item
            self.by_codec.setdefault(c.name, []).append(item)

    def family(self, codec: str) -> str:
        items = self.by_codec.get(codec)
        return codec_family(items[0].record) if items else "reported"

    def point_cells(self, codec: str, params: Mapping) -> list[tuple[str, float | None]]:
        item = self.by_point.get(point_key(codec, params))
        if item is None:
            return [("—", None), ("—", None), (Html("—"), None)]
        return [(package_text(item), None), (commit_text(item), None),
                (_record_link(self.links.records.get(item.path)), None)]

    def codec_cells(self, codec: str) -> list[tuple[str, float | None]]:
        items = sorted(self.by_codec.get(codec, []),
                       key=lambda i: json.dumps(i.record.codec.params, sort_keys=True, default=str))
        if not items:
            return [("—", None), ("—", None), (Html("—"), None)]
        packages = " · ".join(sorted({package_text(i) for i in items}))
        commits = " · ".join(sorted({commit_text(i) for i in items}))
        links = " ".join(_record_link(self.links.records.get(i.path), params_text(i.record.codec.params))
                         for i in items if i.path in self.links.records)
        return [(packages, None), (commits, None), (Html(links or "—"), None)]


def _figure(board: Board, plots: dict[str, Path], out_dir: Path, alt: str, caption: str,
            links: SiteLinks) -> str:
    """The interactive plot (when the site has one), with the static PNG/SVG for print below it."""
    parts = []
    if board.slug in links.figures:
        parts.append(f'<div class="iplot" data-figure="{html_text(board.slug)}" role="img" '
                     f'aria-label="{html_text("interactive " + alt)}"></div>')
    if plots:
        png, svg = (plots[k].relative_to(out_dir).as_posix() for k in ("png", "svg"))
        image = (f'<img src="{html_text(png)}" alt="{html_text(alt)}" width="1430" height="728">'
                 f'<figcaption>{caption} <a href="{html_text(svg)}">SVG</a> · '
                 f'<a href="{html_text(png)}">PNG</a></figcaption>')
        if parts:
            image = f"<details><summary>Static figure for print</summary>{image}</details>"
        parts.append(image)
    return f"<figure>{''.join(parts)}</figure>" if parts else ""


def _commits_line(board: Board) -> str:
    commits = sorted({commit_text(i) for i in board.records})
    if not commits:
        return ""
    return (f'<p class="meta commits">Produced by vcmbench commit(s) '
            f'{html_text(", ".join(commits))} (from the published records).</p>')


def _board_section(board: Board, numbers: dict[str, int], plots: dict[str, Path], out_dir: Path,
                   links: SiteLinks | None = None) -> str:
    links = links or SiteLinks()
    rows_of = _BoardRows(board, links)
    title = board.suite if not board.dataset_id else f"{board.suite} · {board.dataset_id}"
    parts = [
        f'<section id="board-{html_text(board.slug)}" class="board" data-suite="{html_text(board.suite)}" '
        f'data-literature-only="{0 if board.records else 1}"><h2>{html_text(title)}'
        + ("" if board.records else ' <span class="badge">reported results only</span>')
        + "</h2>"
    ]
    first = board.first
    if board.detection is not None and first is not None:
        return "\n".join([*parts, *_detection(board, numbers, plots, out_dir, title, links), "</section>"])
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
        parts.append(_commits_line(board))
    elif board.has_bound:
        parts.append(
            f'<p class="meta">No reproduced results yet; bound: {html_text(board.bound_label)} · '
            f"accuracy levels from {html_text(board.levels_from)}</p>"
        )
    parts.append(_figure(
        board, plots, out_dir, "rate-accuracy plot of " + title,
        "Accuracy against bits per sample, with the bound curve; hollow markers on dashed lines are "
        f"{html_text(REPORTED_LABEL)}.", links))
    notes = [n for n in (tables.free_point_line(board), *tables.prior_lines(board),
                         tables.model_aware_line(board)) if n]
    if notes:
        parts.append('<ul class="note">' + "".join(f"<li>{html_text(n)}</li>" for n in notes) + "</ul>")
    if board.ranking:
        header, rows, ranked = tables.ranking_rows(board)
        parts.append("<h3>Ranking: bits above the bound at matched accuracy</h3>")
        rule = tables.bound_line(board) + " " + tables.ranking_rule_line(board)
        parts.append(f'<p class="note">{html_text(rule)}</p>')
        parts.append(
            html_table(
                [*header, *EXTRA_RANKING_HEADER],
                [[*row, *rows_of.codec_cells(r.name if r.reported is None else "")]
                 for row, r in zip(rows, ranked, strict=True)],
                row_classes=["reported" if r.reported else "" for r in ranked],
                text_columns=(1,),
                row_attrs=[_row_attrs("reported" if r.reported else r.granularity,
                                      "reported" if r.reported else rows_of.family(r.name), bool(r.reported))
                           for r in ranked],
            )
        )
    split_header, split = tables.split_rows(board)
    if split:
        parts.append("<h3>Where the gap is: classifier and code</h3>")
        parts.append(f'<p class="note">{html_text(tables.SPLIT_NOTE)}</p>')
        parts.append(html_table(split_header, split, text_columns=(0,),
                                row_attrs=[_row_attrs(str(row[1][0]), rows_of.family(str(row[0][0])), False)
                                           for row in split]))
    for kind, heading in (("bits", "BD-bits between codecs (bits per sample, row against column; overlap)"),
                          ("percent", "BD-rate between codecs (%, row against column; overlap)")):
        bd_header, bd = tables.bd_rows(board, kind)
        if bd:
            parts.append(f"<h3>{html_text(heading)}</h3>")
            parts.append(html_table(bd_header, bd, text_columns=(0,)))
    if board.bd_left_out:
        parts.append(f'<p class="note">{html_text(tables.bd_left_out_line(board))}</p>')
    if board.points:
        parts.append("<h3>All operating points</h3>")
        parts.append(html_table(
            [*tables.POINT_HEADER, *EXTRA_POINT_HEADER],
            [[*row, *rows_of.point_cells(g.codec, g.params)]
             for row, g in zip(tables.point_rows(board), board.points, strict=True)],
            text_columns=(0, 1),
            row_attrs=[_row_attrs(g.granularity, rows_of.family(g.codec), False) for g in board.points],
        ))
    if board.reported:
        parts.append(f"<h3>Reported in the literature ({REPORTED_LABEL})</h3>")
        if any(not r.entry.is_accuracy for r in board.reported):
            parts.append(f'<p class="note">{html_text(texts.MAP_NOTE)}</p>')
        parts.append(_reported_table(board, numbers))
    if board.failed:
        parts.append(_failed(board))
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def _reported_table(board: Board, numbers: dict[str, int]) -> str:
    return html_table(
        tables.REPORTED_HEADER,
        tables.reported_rows(board, numbers),
        row_classes=["reported"] * len(board.reported),
        text_columns=(0, 1),
        row_attrs=[_row_attrs("reported", "reported", True)] * len(board.reported),
    )


def _failed(board: Board) -> str:
    items = "".join(
        f"<li>{html_text(f.record.codec.name)} {html_text(params_text(f.record.codec.params))}"
        f": {html_text(f.record.error or 'failed')}</li>"
        for f in board.failed
    )
    return f"<h3>Failed operating points</h3><ul>{items}</ul>"


def _detection(board: Board, numbers: dict[str, int], plots: dict[str, Path], out_dir: Path,
               title: str, links: SiteLinks) -> list[str]:
    """A detection board's body: mAP ranking, every point with the eq. 7 readings, literature, failures."""
    d = board.detection
    first = board.first
    assert d is not None and first is not None
    rows_of = _BoardRows(board, links)
    ok = sum(1 for r in board.records if r.record.status == "ok")
    parts = [f'<p class="meta">{first.dataset.samples} test images (test-set fingerprint '
             f"{html_text(board.fingerprint)}) · task model {html_text(first.task_model.id)} · {ok} "
             f"operating point(s) · {html_text(d.metric)} levels from {html_text(board.levels_from)}</p>",
             _commits_line(board)]
    parts.append(_figure(
        board, plots, out_dir, "rate-mAP plot of " + title,
        f"{html_text(d.metric)} against bits per pixel of the original image, with log2 K of eq. 7 marked; "
        f"hollow markers are {html_text(REPORTED_LABEL)}.", links))
    notes = detection.summary_lines(d, bool(board.literature))
    parts.append('<ul class="note">' + "".join(f"<li>{html_text(n)}</li>" for n in notes) + "</ul>")
    header, rows = detection.ranking_table(d)
    mode = {p.codec: p.granularity for p in d.points}
    parts += [f"<h3>Ranking: fewest bits per image at each {html_text(d.metric)} level</h3>",
              f'<p class="note">{html_text(detection.ranking_rule(d))}</p>',
              html_table([*header, *EXTRA_RANKING_HEADER],
                         [[*row, *rows_of.codec_cells(r.codec)]
                          for row, r in zip(rows, d.ranking, strict=True)],
                         text_columns=(1,),
                         row_attrs=[_row_attrs(mode.get(r.codec, "block"), rows_of.family(r.codec), False)
                                    for r in d.ranking]),
              "<h3>All operating points</h3>",
              html_table([*detection.point_header(d), *EXTRA_POINT_HEADER],
                         [[*row, *rows_of.point_cells(p.codec, p.params)]
                          for row, p in zip(detection.point_table(d), d.points, strict=True)],
                         text_columns=(0, 1),
                         row_attrs=[_row_attrs(p.granularity, rows_of.family(p.codec), False)
                                    for p in d.points])]
    if board.reported:
        parts += [f"<h3>Reported in the literature ({REPORTED_LABEL})</h3>",
                  f'<p class="note">{html_text(texts.MAP_NOTE)}</p>', _reported_table(board, numbers)]
    if board.failed:
        parts.append(_failed(board))
    return [p for p in parts if p]


def _options(values: Sequence[str]) -> str:
    return '<option value="">all</option>' + "".join(
        f'<option value="{html_text(v)}">{html_text(v)}</option>' for v in values)


def _filters(boards: Sequence[Board]) -> str:
    """The filter bar (hidden until board.js shows it: without scripts it could do nothing)."""
    suites = sorted({b.suite for b in boards})
    modes = sorted({i.record.codec.granularity for b in boards for i in b.records})
    families = sorted({codec_family(i.record) for b in boards for i in b.records})
    return (
        '<div id="filters" class="filters" hidden>'
        f'<label>Suite <select id="filter-suite">{_options(suites)}</select></label>'
        f'<label>Mode <select id="filter-mode">{_options(modes)}</select></label>'
        f'<label>Codec family <select id="filter-family">{_options(families)}</select></label>'
        '<label><input type="checkbox" id="filter-literature" checked> literature (reported, not '
        "reproduced)</label>"
        '<label>Search <input type="search" id="filter-search" placeholder="codec, params, package, commit"'
        ' autocomplete="off"></label>'
        '<span id="filter-count" class="meta" aria-live="polite"></span>'
        "</div>"
    )


def _submit() -> str:
    steps = "".join(f"<li>{html_text(step)}</li>" for step in texts.SUBMIT_STEPS)
    return (f'<section id="submit"><h2>Submit results</h2><p>{html_text(texts.SUBMIT)}</p>'
            f"<ol>{steps}</ol></section>")


def render_page(
    boards: Sequence[Board], plots: dict[str, dict[str, Path]], out_dir: Path, summary: str,
    links: SiteLinks | None = None,
) -> str:
    links = links or SiteLinks()
    numbers = reference_numbers(boards)
    nav = " · ".join(f'<a href="#board-{html_text(b.slug)}">{html_text(b.slug)}</a>' for b in boards)
    body = "\n".join(_board_section(b, numbers, plots.get(b.slug, {}), out_dir, links) for b in boards)
    rules = "\n".join(f"<p><strong>{html_text(t)}.</strong> {html_text(x)}</p>" for t, x in texts.RULES)
    scripts = "\n".join(f'<script src="{name}" defer></script>' for name in SCRIPTS)
    held = "".join(f'<meta name="vcmbench-held-style" content="map styles unused" id="{html_text(i)}">\n'
                   for i in links.held_style_ids)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>vcmbench leaderboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="style.css">
<link rel="stylesheet" href="plotly.css" id="plotly.js-style-global" class="no-inline-styles">
{held}{scripts}
</head>
<body>
<header>
<h1>vcmbench leaderboard</h1>
<p class="meta" id="summary">{html_text(summary)}</p>
<nav>{nav} · <a href="#submit">submit results</a></nav>
</header>
{_filters(boards)}
<details class="explain"><summary>How the numbers are made: achievable curves, ranking, BD numbers,
uncertainty, priors, integrity</summary>
{rules}
<p>{html_text(texts.RATES)} {html_text(texts.REPORTED)}</p>
</details>
{body}
{_references(boards, numbers)}
{_submit()}
</body>
</html>
"""
