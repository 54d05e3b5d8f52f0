"""Plots a paper would print: time-sharing straight in bits, 20 distinct codecs, legend outside the data.

Each test reads the drawn matplotlib artists back (line data, colours, window extents), so a plot that
bends a segment, reuses a colour or puts its legend over the data fails.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from test_report import record
from vcmbench.api.record import write_record
from vcmbench.cli import main
from vcmbench.report.gaps import group_free_point, point_gaps
from vcmbench.report.hull import achievable_hull, bits_on_hull
from vcmbench.report.plot import codec_style, gaps_figure

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

TRAIN = (1, 1, 1, 2)  # free point: class 3, a quarter of the uniform test set


def _records(n_codecs: int = 2):
    out = []
    for c in range(n_codecs):
        # From a fraction of a bit to hundreds of bits: the rate axis becomes asinh, not linear.
        out += [record(8 * (2 + c), 40 + c, codec=f"c{c:02d}", train=TRAIN, q=1),
                record(8 * 100 * (c + 1), 70 + c, codec=f"c{c:02d}", train=TRAIN, q=2),
                record(8 * 6000, 95, codec=f"c{c:02d}", train=TRAIN, q=3)]
    return out


def _figure(records, **kwargs):
    gaps = point_gaps(records)
    free = group_free_point(records).point
    return gaps_figure(gaps, records[0].dataset.prior_counts, "t", free=free, **kwargs), gaps, free


def _codec_lines(ax, codec: str, color) -> list:
    """The drawn hull of a codec: a line (not the markers) in the codec's colour."""
    return [ln for ln in ax.get_lines()
            if ln.get_color() == color and ln.get_linestyle() not in ("None", "none", "")]


def test_hull_segments_are_drawn_straight_in_bits_at_their_mid_points():
    records = _records()
    fig, gaps, free = _figure(records)
    ax = fig.axes[0]
    assert ax.get_xscale() == "asinh"  # an axis on which a two-point line would not be straight in bits
    for i, codec in enumerate(sorted({g.codec for g in gaps})):
        hull = achievable_hull([(g.accuracy, g.bits_per_sample) for g in gaps if g.codec == codec], free)
        (line,) = _codec_lines(ax, codec, codec_style(i)["color"])
        bits, acc = (np.asarray(v, dtype=float) for v in line.get_data())
        for (a0, b0), (a1, b1) in itertools.pairwise(hull):
            mid = (b0 + b1) / 2
            k = int(np.argmin(np.abs(bits - mid)))
            # A sample within 3 % of the segment's length from its middle, on the straight line in bits.
            assert abs(bits[k] - mid) <= 0.03 * (b1 - b0)
            assert acc[k] == pytest.approx(a0 + (a1 - a0) * (bits[k] - b0) / (b1 - b0), abs=1e-9)
        # Every sample lies on the hull: rate at that accuracy read by time-sharing.
        for b, a in zip(bits, acc, strict=True):
            assert b == pytest.approx(bits_on_hull(hull, a), abs=1e-9)
    plt.close(fig)


def test_the_bound_is_drawn_densely_and_never_above_a_codec_line():
    records = _records()
    fig, gaps, _ = _figure(records)
    ax = fig.axes[0]
    bound = next(ln for ln in ax.get_lines() if ln.get_label().startswith("rate-accuracy bound"))
    bits, acc = (np.asarray(v, dtype=float) for v in bound.get_data())
    assert np.max(np.diff(acc)) < 0.01 and np.max(np.diff(bits)) < 0.05  # no long chords to bend on screen
    # Each codec line, at every sample, spends at least what the bound needs at that accuracy.
    for i, codec in enumerate(sorted({g.codec for g in gaps})):
        (line,) = _codec_lines(ax, codec, codec_style(i)["color"])
        lb, la = (np.asarray(v, dtype=float) for v in line.get_data())
        assert np.all(lb >= np.interp(la, acc, bits) - 1e-6)
    plt.close(fig)


def test_twenty_codecs_get_twenty_distinct_colours_and_distinct_styles():
    styles = [codec_style(i) for i in range(20)]
    colours = [to_rgb(s["color"]) for s in styles]
    assert len(set(colours)) == 20
    closest = min(np.linalg.norm(np.subtract(a, b)) for a, b in itertools.combinations(colours, 2))
    assert closest > 0.2  # in RGB units of 0..1: no light/dark pair of one hue (tab20 has 0.098)
    assert len({(to_rgb(s["color"]), s["marker"], s["ls"]) for s in map(codec_style, range(140))}) == 140
    # And the figure really uses them: 20 codecs, 20 colours among the drawn hulls.
    fig, _, _ = _figure(_records(20))
    drawn = {to_rgb(ln.get_color()) for ln in fig.axes[0].get_lines() if ln.get_linestyle() != "None"}
    assert set(colours) <= drawn
    plt.close(fig)


def test_the_legend_sits_outside_the_axes_and_inside_the_saved_image(tmp_path):
    fig, _, _ = _figure(_records(20))
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend, axes = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
    assert legend.x0 >= axes.x1  # entirely to the right of the data
    assert not legend.overlaps(axes)
    tight = fig.get_tightbbox(renderer)  # what bbox_inches="tight" saves (in inches)
    assert legend.x1 / fig.dpi <= tight.x1 + 1e-6
    plt.close(fig)


def test_target_accuracy_lines_are_labelled_with_their_value():
    fig, _, _ = _figure(_records(), levels=(0.5, 0.9))
    ax = fig.axes[0]
    labels = {t.get_text(): t.get_position()[1] for t in ax.texts}
    assert labels == {"target accuracy 0.5": 0.5, "target accuracy 0.9": 0.9}
    levels = [ln for ln in ax.get_lines() if list(ln.get_ydata()) in ([0.5, 0.5], [0.9, 0.9])]
    assert len(levels) == 2
    plt.close(fig)


def test_confidence_bands_span_each_points_interval_and_are_optional():
    records = _records(1)
    fig, gaps, _ = _figure(records)
    assert list(fig.axes[0].patches) == []  # off by default
    plt.close(fig)
    fig, gaps, _ = _figure(records, bands=True)
    (band,) = fig.axes[0].patches
    verts = band.get_xy()
    for g in gaps:
        at = verts[np.isclose(verts[:, 0], g.bits_per_sample)][:, 1]
        # The band's edges at this rate are the Clopper-Pearson ends (recorded as Metrics.accuracy_interval).
        assert min(at) == pytest.approx(g.accuracy_low) and max(at) == pytest.approx(g.accuracy_high)
    plt.close(fig)


def test_report_plot_into_a_folder_writes_a_file_there(tmp_path, capsys):
    write_record(tmp_path / "runs" / "a.json", record(800, 90, codec="a", train=TRAIN))
    folder = tmp_path / "figures"
    assert main(["report", str(tmp_path / "runs"), "--plot", f"{folder}/"]) == 0
    (written,) = folder.iterdir()
    assert written.name == "toy-toy.png" and written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot written to {written}" in capsys.readouterr().out
    folder2 = tmp_path / "existing"
    folder2.mkdir()
    assert main(["report", str(tmp_path / "runs"), "--plot", str(folder2), "--bands"]) == 0
    assert [p.name for p in folder2.iterdir()] == ["toy-toy.png"]


@pytest.mark.parametrize("target,message", [("fig.jpg", "unknown image format"),
                                            ("two.png", "one test set at a time")])
def test_report_plot_targets_it_cannot_honour_are_one_line_errors(tmp_path, capsys, target, message):
    write_record(tmp_path / "runs" / "a.json", record(800, 90, codec="a", train=TRAIN))
    write_record(tmp_path / "runs" / "b.json", record(800, 90, codec="a", train=TRAIN, fingerprint="other"))
    runs = tmp_path / "runs" / "a.json" if target == "fig.jpg" else tmp_path / "runs"
    assert main(["report", str(runs), "--plot", str(tmp_path / target)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.glob("*.png")) == list(tmp_path.glob("*.jpg")) == []


def test_report_json_carries_detection_points(tmp_path, capsys):
    from test_detection_report import record as detection_record
    from vcmbench.theory.uniform import uniform_rate

    write_record(tmp_path / "det.json", detection_record("dets", 800, 5, 0.5, {"q": 1}))
    write_record(tmp_path / "cls.json", record(800, 90, codec="a", train=TRAIN))
    assert main(["report", str(tmp_path), "--json", "--levels", "0.4,0.6"]) == 0
    data = json.loads(capsys.readouterr().out)
    (group,) = data["detection"]
    (point,) = group["points"]
    k = int(group["configuration_space"]["configurations"])
    assert point["codec"] == "dets" and point["params"] == {"q": 1}
    assert point["bits_per_image"] == 80 and point["score"] == 0.5 and point["accuracy"] == 0.5
    assert point["bound_bits"] == pytest.approx(uniform_rate(k, 0.5))
    assert point["accuracy_low"] < 0.5 < point["accuracy_high"]
    reached = {lv["level"]: lv["point"] for lv in group["levels"]}
    assert reached[0.4]["bits_per_image"] == 80 and reached[0.6] is None
    assert [p["codec"] for p in data["points"]] == ["a"]  # the classification point stays where it was
