"""The site's own stylesheet, table sorter and filters, written beside index.html (no CDN: it works offline).

Kept as text here rather than as package data files, so an installed vcmbench can publish too.
"""

from __future__ import annotations

SORT_JS = """\
// Sortable tables for the vcmbench leaderboard: click (or Enter on) a column header.
// Cells with data-value sort as numbers; an empty data-value means "no value" and sorts last.
(function () {
  "use strict";

  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return null; }
    var raw = cell.getAttribute("data-value");
    if (raw !== null) { return raw === "" ? null : Number(raw); }
    return cell.textContent.trim().toLowerCase();
  }

  function compare(x, y) {
    if (typeof x === "number" && typeof y === "number") { return x - y; }
    return String(x).localeCompare(String(y), undefined, {numeric: true});
  }

  function sortBy(table, index, header) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    rows.sort(function (a, b) {
      var x = cellValue(a, index);
      var y = cellValue(b, index);
      if (x === null || y === null) { return (x === null) - (y === null); }
      return ascending ? compare(x, y) : compare(y, x);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function makeSortable(table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
      header.tabIndex = 0;
      header.title = "sort by this column";
      header.addEventListener("click", function () { sortBy(table, index, header); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(table, index, header);
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
  });
})();
"""

BOARD_JS = """\
// Filters, search and interactive plots of the vcmbench leaderboard.
// Rows carry data-mode, data-family and data-literature; board sections carry data-suite. A row shows
// when it passes every filter and its text contains the search words; plot traces follow the same rules.
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  function state() {
    return {
      suite: byId("filter-suite").value,
      mode: byId("filter-mode").value,
      family: byId("filter-family").value,
      literature: byId("filter-literature").checked,
      words: byId("filter-search").value.trim().toLowerCase().split(/\\s+/).filter(Boolean)
    };
  }

  function passes(s, mode, family, reported, text) {
    if (reported && !s.literature) { return false; }
    if (s.mode && !reported && mode !== s.mode) { return false; }
    if (s.family && family !== s.family) { return false; }
    return s.words.every(function (w) { return text.indexOf(w) >= 0; });
  }

  function applyToPlot(div, s) {
    if (!div.data || !window.Plotly) { return; }
    var visible = div.data.map(function (trace) {
      var m = trace.meta;
      if (!m || typeof m !== "object") { return true; }
      return passes(s, m.mode, m.family, m.reported, m.text) ? true : false;
    });
    window.Plotly.restyle(div, {visible: visible});
  }

  function apply() {
    var s = state();
    var shown = 0;
    var total = 0;
    Array.prototype.forEach.call(document.querySelectorAll("section.board"), function (section) {
      var on = (!s.suite || section.getAttribute("data-suite") === s.suite) &&
        (s.literature || section.getAttribute("data-literature-only") !== "1");
      section.hidden = !on;
      Array.prototype.forEach.call(section.querySelectorAll("tr[data-mode]"), function (row) {
        var ok = on && passes(s, row.getAttribute("data-mode"), row.getAttribute("data-family"),
          row.getAttribute("data-literature") === "1", row.textContent.toLowerCase());
        row.hidden = !ok;
        total += 1;
        if (ok) { shown += 1; }
      });
      Array.prototype.forEach.call(section.querySelectorAll("div.iplot"), function (div) {
        if (on) { applyToPlot(div, s); }
      });
    });
    byId("filter-count").textContent = shown + " of " + total + " rows shown";
  }

  function drawPlots() {
    var figures = window.VCMBENCH_FIGURES || {};
    Array.prototype.forEach.call(document.querySelectorAll("div.iplot"), function (div) {
      var figure = figures[div.getAttribute("data-figure")];
      if (!figure || !window.Plotly) { return; }
      window.Plotly.newPlot(div, figure.data, figure.layout, {displayModeBar: false, responsive: true});
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawPlots();
    byId("filters").hidden = false;
    ["filter-suite", "filter-mode", "filter-family", "filter-literature"].forEach(function (id) {
      byId(id).addEventListener("change", apply);
    });
    byId("filter-search").addEventListener("input", apply);
    apply();
  });
})();
"""

STYLE_CSS = """\
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 78rem;
       padding: 1rem 1.5rem 3rem; color: #1d1d1f; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; margin-top: 2.5rem; }
.meta, .note { color: #555; font-size: 0.92rem; }
.explain { background: #f6f7f9; border-left: 4px solid #8a9bb5; padding: 0.4rem 1rem; margin: 0.8rem 0; }
.explain summary { font-weight: 600; }
.table-wrap { overflow-x: auto; margin: 0.6rem 0 1.2rem; }
table { border-collapse: collapse; font-size: 0.88rem; }
th, td { border: 1px solid #d6d6d6; padding: 0.25rem 0.55rem; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td.text { text-align: left; }
td.text { white-space: normal; }
thead th { background: #eef1f5; position: sticky; top: 0; }
table.sortable thead th { cursor: pointer; user-select: none; }
table.sortable thead th::after { content: " \\2195"; color: #999; font-size: 0.8em; }
table.sortable thead th[aria-sort="ascending"]::after { content: " \\25B2"; color: #333; }
table.sortable thead th[aria-sort="descending"]::after { content: " \\25BC"; color: #333; }
tr.reported td { background: #fff7e6; font-style: italic; }
.badge { font-style: normal; font-size: 0.75rem; background: #c25e00; color: #fff; border-radius: 3px;
         padding: 0 0.3rem; margin-left: 0.3rem; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #555; }
ol.refs li { margin-bottom: 0.4rem; }
.filters { position: sticky; top: 0; z-index: 3; box-shadow: 0 1px 3px rgba(0, 0, 0, 0.15);
           display: flex; flex-wrap: wrap; gap: 0.4rem 1rem; align-items: center; font-size: 0.9rem;
           background: #f6f7f9; padding: 0.4rem 0.6rem; border-radius: 4px; }
.filters[hidden], [hidden] { display: none !important; }
.filters input[type="search"] { min-width: 16rem; }
div.iplot { width: 100%; min-height: 480px; position: relative; }
details summary { cursor: pointer; color: #555; font-size: 0.85rem; }
a.record { margin-right: 0.3rem; }
"""
