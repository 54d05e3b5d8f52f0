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
      words: byId("filter-search").value.trim().toLowerCase().split(/\s+/).filter(Boolean)
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
