"""The site's own stylesheet and table sorter, written beside index.html (no CDN: it works offline).

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

STYLE_CSS = """\
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 78rem;
       padding: 1rem 1.5rem 3rem; color: #1d1d1f; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; margin-top: 2.5rem; }
.meta, .note { color: #555; font-size: 0.92rem; }
.explain { background: #f6f7f9; border-left: 4px solid #8a9bb5; padding: 0.4rem 1rem; }
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
"""
