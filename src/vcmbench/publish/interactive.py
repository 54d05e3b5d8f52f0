"""The page's interactive plots: plotly figures (data + layout as JSON) in ``figures.js``.

The same drawing rules as the static plots (:mod:`vcmbench.report.plot`): hulls and the bound are
sampled straight in bits, so switching the rate axis between linear and log shows time-sharing as
it is; codecs keep their colour, marker and dash; target accuracies are labelled lines. The data
sit in a script file rather than a JSON file because a page opened from disk may not fetch files.
Every string goes through ``html.escape``: plotly reads a few HTML tags in its labels.
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Sequence
from typing import Any

from vcmbench.publish.board import Board
from vcmbench.publish.escape import params_text
from vcmbench.publish.literature import REPORTED_LABEL
from vcmbench.publish.records import codec_family
from vcmbench.report.hull import dense_segments
from vcmbench.report.plot import codec_style, straight_in_bits

FIGURES_JS = "figures.js"
_SYMBOLS = {"o": "circle", "s": "square", "^": "triangle-up", "D": "diamond", "v": "triangle-down",
            "P": "cross", "X": "x"}
_DASHES = {"-": "solid", "--": "dash", "-.": "dashdot", ":": "dot"}


def _rgb(color: Sequence[float]) -> str:
    return "rgb({},{},{})".format(*(round(255 * c) for c in color[:3]))


def _text(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _round(values: Sequence[float], digits: int = 6) -> list[float]:
    return [round(float(v), digits) for v in values]


def _axis_buttons(axis: str) -> list[dict[str, Any]]:
    """Buttons switching the rate axis; the active one is the axis the figure opens with."""
    return [{"type": "buttons", "direction": "right", "x": 0.0, "y": 1.13, "xanchor": "left",
             "active": 0 if axis == "linear" else 1,
             "buttons": [{"label": "linear rate axis", "method": "relayout",
                          "args": [{"xaxis.type": "linear"}]},
                         {"label": "log rate axis (0 bits hidden)", "method": "relayout",
                          "args": [{"xaxis.type": "log"}]}]}]


def rate_axis(rates: Sequence[float], ratio: float = 30.0) -> str:
    """``log`` when the positive rates span more than ``ratio`` (static plots go asinh), else ``linear``."""
    positive = [r for r in rates if r > 0]
    return "log" if positive and max(positive) / max(min(positive), 1e-3) > ratio else "linear"


def _levels(levels: Sequence[float], name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    shapes = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": lv, "y1": lv,
               "line": {"color": "grey", "width": 1, "dash": "dot"}} for lv in levels]
    notes = [{"xref": "paper", "x": 0.005, "y": lv, "yanchor": "bottom", "xanchor": "left",
              "showarrow": False,
              "text": _text(f"{name} {lv:g}"), "font": {"size": 10, "color": "dimgrey"}} for lv in levels]
    return shapes, notes


def hull_samples(hull: Sequence[tuple[float, float]], steps: int = 16) -> tuple[list[float], list[float]]:
    """(bits, accuracy) along the hull's straight segments; a segment leaving 0 bits (the free point) is
    also sampled at 10^-k of its length, so on a log rate axis it bends down to the free point's accuracy
    as a straight line in bits does, instead of jumping."""
    bits, acc = dense_segments(hull, steps=steps)
    extra = []
    for (a0, b0), (a1, b1) in itertools.pairwise(hull):
        if b0 == 0.0 < b1:
            extra += [(b1 * 10.0**-k, a0 + (a1 - a0) * 10.0**-k) for k in range(1, 7)]
    if extra:
        merged = sorted([*zip(bits, acc, strict=True), *extra])
        bits, acc = [b for b, _ in merged], [a for _, a in merged]
    return bits, acc


def _meta(mode: str, family: str, reported: bool, *words: str) -> dict[str, Any]:
    """What the page's filters match a trace against (as they match a table row)."""
    return {"mode": mode, "family": family, "reported": reported, "text": " ".join(words).lower()}


def _families(board: Board) -> dict[str, str]:
    return {i.record.codec.name: codec_family(i.record) for i in board.records}


def _words(board: Board, codec: str) -> list[str]:
    """What a search can find a codec's traces by, beyond its name and parameters: package, commit."""
    from vcmbench.publish.page import commit_text, package_text

    items = [i for i in board.records if i.record.codec.name == codec]
    return sorted({package_text(i) for i in items} | {commit_text(i) for i in items})


def board_figure_json(board: Board) -> dict[str, Any] | None:
    """A plotly figure for the board (None: nothing to draw)."""
    if board.detection is not None:
        return _detection_json(board)
    if not board.has_bound:
        return None
    from vcmbench.publish.plots import bound_curve

    acc, bits = bound_curve(board)
    b, a = straight_in_bits(acc, bits, steps=2)
    data: list[dict[str, Any]] = [{"type": "scatter", "mode": "lines", "x": _round(b), "y": _round(a),
                                   "name": _text(f"bound ({board.bound_label})"), "hoverinfo": "skip",
                                   "line": {"color": "black", "width": 2}}]
    families = _families(board)
    for i, codec in enumerate(sorted({g.codec for g in board.points})):
        style = codec_style(i)
        color = _rgb(style["color"])
        mine = [g for g in board.points if g.codec == codec]
        meta = _meta(mine[0].granularity, families.get(codec, ""), False, codec,
                     *(params_text(g.params) for g in mine), *_words(board, codec))
        hb, ha = hull_samples(board.hulls[codec])
        data.append({"type": "scatter", "mode": "lines", "x": _round(hb), "y": _round(ha),
                     "legendgroup": codec,
                     "showlegend": False, "hoverinfo": "skip", "name": _text(codec), "meta": meta,
                     "line": {"color": color, "width": 1.5, "dash": _DASHES[style["ls"]]}})
        data.append({
            "type": "scatter", "mode": "markers", "name": _text(codec), "legendgroup": codec, "meta": meta,
            "x": _round([g.bits_per_sample for g in mine]), "y": _round([g.accuracy for g in mine]),
            "error_y": {"type": "data", "symmetric": False,
                        "array": _round([g.accuracy_high - g.accuracy for g in mine]),
                        "arrayminus": _round([g.accuracy - g.accuracy_low for g in mine]),
                        "color": color, "thickness": 1, "width": 3},
            "marker": {"color": color, "symbol": _SYMBOLS[style["marker"]], "size": 7},
            "text": [_text(f"{codec} {params_text(g.params)}<br>{g.bits_per_sample:.3f} bits, accuracy "
                           f"{g.accuracy:.4f} [{g.accuracy_low:.4f}, {g.accuracy_high:.4f}]<br>gap "
                           f"{g.gap_bits:.3f} bits") for g in mine],
            "hovertemplate": "%{text}<extra></extra>",
        })
    if board.free is not None and board.free.point is not None:
        data.append({"type": "scatter", "mode": "markers", "x": [0.0],
                     "y": [round(board.free.point[0], 6)],
                     "name": "free point (0 bits)",
                     "marker": {"symbol": "star", "size": 12, "color": "black"}})
    for entry in board.literature:
        pts = [p for p in entry.points if p.bits_per_sample is not None]
        if not entry.is_accuracy or not pts:
            continue
        data.append({"type": "scatter", "mode": "markers", "name": _text(f"{entry.label} [{REPORTED_LABEL}]"),
                     "x": _round([p.bits_per_sample for p in pts]), "y": _round([p.score for p in pts]),
                     "marker": {"symbol": "diamond-open", "size": 8, "color": "darkred"},
                     "meta": _meta("reported", "reported", True, entry.label)})
    shapes, notes = _levels(board.levels, "target accuracy")
    title = board.suite if not board.dataset_id else f"{board.suite} · {board.dataset_id}"
    rates = [g.bits_per_sample for g in board.points]
    rates += [p.point.bits_per_sample for p in board.reported if p.point.bits_per_sample is not None]
    axis = rate_axis(rates)
    layout = {"title": {"text": _text(title)}, "height": 480, "margin": {"t": 70, "r": 20},
              "xaxis": {"title": {"text": "bits per sample (8 × bytes received)"}, "type": axis},
              "yaxis": {"title": {"text": "accuracy (bars: 95% Clopper–Pearson)"}, "range": [0, 1.01]},
              "legend": {"x": 1.02, "y": 0.5, "xanchor": "left", "font": {"size": 10}},
              "shapes": shapes, "annotations": notes, "updatemenus": _axis_buttons(axis)}
    return {"data": data, "layout": layout}


def _detection_json(board: Board) -> dict[str, Any] | None:
    d = board.detection
    assert d is not None
    data: list[dict[str, Any]] = []
    families = _families(board)
    for i, codec in enumerate(sorted({p.codec for p in d.points})):
        style = codec_style(i)
        mine = [p for p in d.points if p.codec == codec and p.score is not None and p.bits_per_pixel]
        if not mine:
            continue
        meta = _meta(mine[0].granularity, families.get(codec, ""), False, codec,
                     *(params_text(p.params) for p in mine), *_words(board, codec))
        data.append({"type": "scatter", "mode": "markers", "name": _text(codec), "meta": meta,
                     "x": [p.bits_per_pixel for p in mine], "y": [p.score for p in mine],
                     "marker": {"color": _rgb(style["color"]), "symbol": _SYMBOLS[style["marker"]],
                                "size": 7},
                     "text": [_text(f"{codec} {params_text(p.params)}") for p in mine],
                     "hovertemplate": "%{text}<br>%{x:.5f} bpp, %{y:.4f}<extra></extra>"})
    if not data:
        return None
    rates = [x for t in data for x in t["x"]]
    if d.log2_k_per_pixel is not None:
        rates.append(d.log2_k_per_pixel)
        data.append({"type": "scatter", "mode": "lines", "x": [d.log2_k_per_pixel] * 2, "y": [0, 1],
                     "line": {"color": "black", "width": 2}, "hoverinfo": "skip",
                     "name": _text(f"log2 K = {d.space.log2_k:.1f} bits per image (eq. 7; bounds "
                                   "configurations, not mAP)")})
    ref = d.reference_scores.get(d.metric)
    if ref is not None:
        data.append({"type": "scatter", "mode": "lines", "x": [min(rates), max(rates)], "y": [ref, ref],
                     "line": {"color": "grey", "width": 1, "dash": "dash"}, "hoverinfo": "skip",
                     "name": _text(f"uncompressed {d.metric} {ref:.3f}")})
    for entry in board.literature:
        pts = [p for p in entry.points if p.bits_per_pixel is not None]
        if pts:
            data.append({"type": "scatter", "mode": "markers",
                         "name": _text(f"{entry.label} [{REPORTED_LABEL}; {entry.dataset}]"),
                         "x": [p.bits_per_pixel for p in pts], "y": [p.score for p in pts],
                         "marker": {"symbol": "diamond-open", "size": 8, "color": "darkred"},
                         "meta": _meta("reported", "reported", True, entry.label)})
    shapes, notes = _levels(d.levels, f"target {d.metric}")
    axis = rate_axis(rates)
    title = board.suite if not board.dataset_id else f"{board.suite} · {board.dataset_id}"
    layout = {"title": {"text": _text(title)}, "height": 480, "margin": {"t": 70, "r": 20},
              "xaxis": {"title": {"text": "bits per pixel of the original image"}, "type": axis},
              "yaxis": {"title": {"text": _text(f"{d.metric} (COCOeval)")}, "range": [0, 1]},
              "legend": {"x": 1.02, "y": 0.5, "xanchor": "left"}, "shapes": shapes, "annotations": notes,
              "updatemenus": _axis_buttons(axis)}
    return {"data": data, "layout": layout}


def figures_js(boards: Sequence[Board]) -> tuple[str, set[str]]:
    """The script defining ``window.VCMBENCH_FIGURES`` (slug -> figure), and the slugs it holds."""
    figures = {}
    for board in boards:
        figure = board_figure_json(board)
        if figure is not None:
            figures[board.slug] = figure
    text = json.dumps(figures, sort_keys=True, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return f"window.VCMBENCH_FIGURES = {text};\n", set(figures)
