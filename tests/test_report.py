from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from conftest import make_record
from vcmbench.api.record import Metrics, write_record
from vcmbench.cli import main
from vcmbench.report.gaps import gaps_at_levels, point_gaps


def eq4(k: int, d: float) -> float:
    """Paper eq. 4, written out independently of vcmbench.theory."""
    if d >= 1 - 1 / k:
        return 0.0
    h = 0.0 if d in (0, 1) else -d * math.log2(d) - (1 - d) * math.log2(1 - d)
    return math.log2(k) - d * math.log2(k - 1) - h


def record(bits_total: int, correct: int, samples: int = 100, counts=(25, 25, 25, 25), codec="c", **params):
    base = make_record()
    ds = replace(base.dataset, num_classes=len(counts), samples=samples, prior_counts=list(counts),
                 pixels_per_sample=784)
    m = Metrics(accuracy=correct / samples, correct=correct, samples=samples, bits_total=bits_total,
                bits_per_sample=bits_total / samples, blocks=1, encode_seconds=0.0, decode_seconds=0.0)
    return replace(base, dataset=ds, metrics=m, codec=replace(base.codec, name=codec, params=params))


def test_uniform_prior_gap_matches_the_closed_form():
    (g,) = point_gaps([record(bits_total=800, correct=90)])
    assert g.bits_per_sample == 8.0 and g.accuracy == 0.9
    assert g.bound_bits_uniform == pytest.approx(eq4(4, 0.1), abs=1e-9)
    assert g.bound_bits_prior == pytest.approx(eq4(4, 0.1), abs=1e-6)
    assert g.gap_bits == pytest.approx(8.0 - g.bound_bits_prior)
    assert g.gap_ratio == pytest.approx(8.0 / g.bound_bits_prior)
    assert g.bits_per_pixel == pytest.approx(8.0 / 784)


def test_gaps_are_recomputed_not_read_from_the_record():
    honest = record(bits_total=800, correct=90)
    lying = replace(honest, metrics=replace(honest.metrics, bits_per_sample=0.001, accuracy=1.0))
    assert point_gaps([lying]) == point_gaps([honest])


def test_skewed_prior_has_a_lower_bound_and_zero_below_the_mode():
    (g,) = point_gaps([record(bits_total=800, correct=90, counts=(70, 10, 10, 10))])
    assert g.bound_bits_prior < g.bound_bits_uniform
    (g,) = point_gaps([record(bits_total=0, correct=70, counts=(70, 10, 10, 10))])
    assert g.bound_bits_prior == pytest.approx(0.0, abs=1e-6) and g.gap_ratio is None


def test_levels_are_read_on_each_codecs_hull():
    records = [record(100, 50, codec="a", p=1), record(500, 90, codec="a", p=2), record(900, 95, codec="b")]
    rows = {(r.codec, r.accuracy): r for r in gaps_at_levels(records, [0.7, 0.95])}
    assert rows[("a", 0.7)].bits_per_sample == pytest.approx(3.0)  # halfway between 1 and 5 bits
    assert rows[("a", 0.95)].bits_per_sample is None and rows[("a", 0.95)].gap_bits is None
    assert rows[("b", 0.7)].bits_per_sample == 9.0
    assert rows[("a", 0.7)].gap_bits == pytest.approx(3.0 - eq4(4, 0.3), abs=1e-6)


def test_failed_records_have_no_gap():
    failed = replace(record(800, 90), status="failed", metrics=None, error="boom")
    assert point_gaps([failed]) == []


def test_report_command_json_and_plot(tmp_path, capsys):
    write_record(tmp_path / "runs" / "a.json", record(800, 90, codec="a"))
    write_record(tmp_path / "runs" / "b.json", record(400, 80, codec="b"))
    (tmp_path / "runs" / "reference.json").write_text('{"key": {}, "accuracy": 1.0}')  # not a record
    assert main(["report", str(tmp_path / "runs"), "--json", "--plot", str(tmp_path / "fig.png")]) == 0
    data = json.loads(capsys.readouterr().out)
    point = {p["codec"]: p for p in data["points"]}["a"]
    for key in ("codec", "params", "bits_per_sample", "accuracy", "bound_bits_uniform", "bound_bits_prior",
                "gap_bits", "gap_ratio"):
        assert key in point
    assert point["bits_per_sample"] == 8.0
    assert (tmp_path / "fig.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_text_lists_points_and_levels(tmp_path, capsys):
    write_record(tmp_path / "a.json", record(800, 90, codec="mycodec"))
    assert main(["report", str(tmp_path), "--levels", "0.5,0.9"]) == 0
    out = capsys.readouterr().out
    assert "mycodec" in out and "gap ratio" in out and "0.9000" in out


@pytest.mark.parametrize("args,message", [
    (["report", "/no/such/dir"], "does not exist"),
    (["report", ".", "--levels", "x"], "--levels"),
])
def test_report_errors_are_one_line(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_empty_folder_is_an_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no result records" in capsys.readouterr().err
