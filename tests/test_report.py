from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from scipy.stats import binomtest

from conftest import make_record, write_with_samples
from vcmbench.api.record import Metrics, write_record
from vcmbench.cli import main
from vcmbench.report.gaps import gaps_at_levels, point_gaps


def eq4(k: int, d: float) -> float:
    """Paper eq. 4, written out independently of vcmbench.theory."""
    if d >= 1 - 1 / k:
        return 0.0
    h = 0.0 if d in (0, 1) else -d * math.log2(d) - (1 - d) * math.log2(1 - d)
    return math.log2(k) - d * math.log2(k - 1) - h


def record(bits_total: int, correct: int, samples: int = 100, counts=(25, 25, 25, 25), codec="c",
           train=None, fingerprint="abc", blocks=1, granularity="block", **params):
    base = make_record()
    ds = replace(base.dataset, num_classes=len(counts), samples=samples, prior_counts=list(counts),
                 pixels_per_sample=784, train_prior_counts=None if train is None else list(train),
                 fingerprint=fingerprint)
    m = Metrics(accuracy=correct / samples, correct=correct, samples=samples, bits_total=bits_total,
                bits_per_sample=bits_total / samples, blocks=blocks, encode_seconds=0.0, decode_seconds=0.0)
    codec_ref = replace(base.codec, name=codec, params=params, granularity=granularity)
    return replace(base, dataset=ds, metrics=m, codec=codec_ref)


def test_uniform_prior_gap_matches_the_closed_form():
    (g,) = point_gaps([record(bits_total=800, correct=90)])
    assert g.bits_per_sample == 8.0 and g.accuracy == 0.9
    assert g.bound_bits_uniform == pytest.approx(eq4(4, 0.1), abs=1e-9)
    assert g.bound_bits_prior == pytest.approx(eq4(4, 0.1), abs=1e-6)
    assert g.gap_bits == pytest.approx(8.0 - g.bound_bits_prior)
    assert g.gap_ratio == pytest.approx(8.0 / g.bound_bits_prior)
    assert g.bits_per_pixel == pytest.approx(8.0 / 784)
    assert not g.impossible


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
    assert rows[("b", 0.7)].bits_per_sample == 9.0  # no training counts: no free point to time-share with
    assert rows[("a", 0.7)].gap_bits == pytest.approx(3.0 - eq4(4, 0.3), abs=1e-6)


def test_the_free_point_joins_every_hull():
    # label-fixed on MNIST: 4.016 bits at 0.97; guessing the training split's likeliest class is free
    # and right on 10 % of the test set, so accuracy 0.5 costs 4.016 · (0.5 − 0.1)/(0.97 − 0.1) bits.
    counts, train = (100,) * 10, (400,) * 10
    fixed = record(4016, 970, samples=1000, counts=counts, train=train, codec="label-fixed")
    (row,) = gaps_at_levels([fixed], [0.5])
    assert row.bits_per_sample == pytest.approx(4.016 * 0.4 / 0.87)
    assert row.gap_bits == pytest.approx(4.016 * 0.4 / 0.87 - eq4(10, 0.5), abs=1e-6)
    # The guess is the training split's most frequent class (ties: the lowest index, here class 1),
    # scored on the test set: 40 of 100 test samples, so 0 bits up to accuracy 0.4.
    skewed = record(400, 95, counts=(10, 40, 30, 20), train=(5, 9, 9, 1), codec="x")
    low, mid = gaps_at_levels([skewed], [0.4, 0.6])
    assert low.bits_per_sample == 0.0 and mid.bits_per_sample == pytest.approx(4.0 * 0.2 / 0.55)


def test_records_without_training_counts_say_there_is_no_free_point(tmp_path, capsys):
    write_record(tmp_path / "a.json", record(800, 90, codec="a"))
    write_record(tmp_path / "b.json", record(400, 80, codec="b", train=(1, 2, 3, 4)))
    assert main(["report", str(tmp_path / "a.json")]) == 0
    assert "no free point: the records carry no training-split counts" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "b.json")]) == 0
    assert "free point: 0 bits at accuracy 0.2500 (always guess class 3" in capsys.readouterr().out


def test_two_test_sets_under_one_id_are_never_mixed(tmp_path, capsys):
    full = record(800, 90, codec="a", fingerprint="full", q=1)
    limited = record(16, 9, samples=10, counts=(3, 3, 2, 2), codec="a", fingerprint="first10", q=2)
    rows = gaps_at_levels([full, limited], [0.85])
    # One hull would let the 10-sample run lend its 1.6 bits to the full run.
    found = sorted((r.dataset_fingerprint, r.bits_per_sample) for r in rows)
    assert found == [("first10", 1.6), ("full", 8.0)]
    write_record(tmp_path / "full.json", full)
    write_record(tmp_path / "limit.json", limited)
    assert main(["report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "fingerprint full" in out and "fingerprint first10" in out and "2 different test sets" in out
    assert main(["report", str(tmp_path), "--plot", str(tmp_path / "x.png")]) == 2
    assert "one test set at a time" in capsys.readouterr().err


def test_intervals_are_clopper_pearson_recomputed_and_bound_read_at_both_ends():
    (g,) = point_gaps([record(800, 90)])
    exact = binomtest(90, 100).proportion_ci(confidence_level=0.95, method="exact")
    assert (g.accuracy_low, g.accuracy_high) == pytest.approx((exact.low, exact.high), abs=1e-9)
    assert g.bound_bits_low == pytest.approx(eq4(4, 1 - exact.low), abs=1e-6)
    assert g.bound_bits_high == pytest.approx(eq4(4, 1 - exact.high), abs=1e-6)
    assert g.bound_bits_low < g.bound_bits_prior < g.bound_bits_high


def test_failed_records_have_no_gap():
    failed = replace(record(800, 90), status="failed", metrics=None, error="boom")
    assert point_gaps([failed]) == []


def test_report_command_json_and_plot(tmp_path, capsys):
    write_record(tmp_path / "runs" / "a.json", record(800, 90, codec="a", train=(1, 1, 1, 2)))
    write_record(tmp_path / "runs" / "b.json", record(400, 80, codec="b", train=(1, 1, 1, 2)))
    (tmp_path / "runs" / "reference.json").write_text('{"key": {}, "accuracy": 1.0}')  # not a record
    (tmp_path / "runs" / "cache").mkdir()
    (tmp_path / "runs" / "cache" / "state.json").write_text("[1, 2")  # caches are not records either
    assert main(["report", str(tmp_path / "runs"), "--json", "--plot", str(tmp_path / "fig.png")]) == 0
    data = json.loads(capsys.readouterr().out)
    point = {p["codec"]: p for p in data["points"]}["a"]
    for key in ("codec", "params", "bits_per_sample", "accuracy", "bound_bits_uniform", "bound_bits_prior",
                "gap_bits", "gap_ratio", "accuracy_low", "accuracy_high", "bound_bits_low", "bound_bits_high",
                "impossible"):
        assert key in point
    assert point["bits_per_sample"] == 8.0 and point["accuracy_low"] < 0.9 < point["accuracy_high"]
    (group,) = data["groups"]
    assert group["free_point"] == {"accuracy": 0.25, "bits_per_sample": 0.0, "guess_class": 3}
    assert (tmp_path / "fig.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_text_lists_points_and_levels(tmp_path, capsys):
    write_record(tmp_path / "a.json", record(800, 90, codec="mycodec"))
    assert main(["report", str(tmp_path), "--levels", "0.5,0.9"]) == 0
    out = capsys.readouterr().out
    assert "mycodec" in out and "gap ratio" in out and "0.9000" in out and "95% CI" in out


@pytest.mark.parametrize("damage", ['{"suite": "toy", "dataset": {', "", "[]", '{"kind": "other"}'])
def test_a_damaged_record_in_a_folder_stops_the_report_naming_it(tmp_path, capsys, damage):
    write_record(tmp_path / "a.json", record(800, 90, codec="a"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text(damage)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "sub" / "b.json") in err and err.count("\n") == 1


def test_a_record_must_agree_with_its_sample_file(tmp_path, capsys):
    write_with_samples(tmp_path / "ok.json", record(800, 90, codec="a"))
    assert main(["report", str(tmp_path)]) == 0
    capsys.readouterr()
    raw = json.loads((tmp_path / "ok.json").read_text())
    raw["metrics"].update(correct=95, accuracy=0.95)  # consistent within the record, not with its rows
    (tmp_path / "ok.json").write_text(json.dumps(raw))
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "ok.json" in err and "metrics.correct 95" in err


def test_an_edited_sample_file_breaks_its_hash(tmp_path, capsys):
    write_with_samples(tmp_path / "a.json", record(800, 90, codec="a"))
    csv_path = tmp_path / "a.samples.csv"
    csv_path.write_text(csv_path.read_text().replace("s0,", "t0,"))
    assert main(["report", str(tmp_path)]) == 2
    assert "samples_sha256 does not match" in capsys.readouterr().err


def test_a_point_below_the_bound_is_marked_impossible_and_fails_the_report(tmp_path, capsys):
    # 1.2 bits/sample at accuracy 0.9 with 4 equally likely classes: the bound is 1.37 bits.
    forged = record(120, 90, codec="forged")
    assert eq4(4, 0.1) > 1.3
    path = tmp_path / "forged.json"
    write_with_samples(path, forged)
    assert main(["report", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "IMPOSSIBLE" in captured.out and str(path) in captured.err and "IMPOSSIBLE" in captured.err


def test_free_stream_lengths_are_allowed_for_but_nothing_more():
    # 257 equally likely classes, one bitstream per sample: an empty stream for class 0 and one byte
    # for each other class is a real code at accuracy 1 with 8·256/257 < log2(257) bits per sample,
    # possible only because the stream's length is known to the decoder.
    counts = (1,) * 257
    real = record(8 * 256, 257, samples=257, counts=counts, blocks=257, granularity="sample", codec="byte")
    (g,) = point_gaps([real])
    assert g.bits_per_sample < math.log2(257) == pytest.approx(g.bound_bits_prior, abs=1e-9)
    assert not g.impossible
    # One block has that freedom once, not per sample: a few bits for its single length, in total.
    block = record(8 * 254, 257, samples=257, counts=counts, blocks=1, codec="block")
    (g,) = point_gaps([block])
    assert g.impossible and math.log2(257) - 0.05 < g.lowest_possible_bits < math.log2(257)


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


def test_plots_draw_hulls_straight_in_bits_on_an_axis_without_a_corner():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vcmbench.report.plot import draw_hull, set_rate_axis

    fig, ax = plt.subplots()
    set_rate_axis(ax, [0.05, 1000.0])
    transform = ax.xaxis.get_transform()

    def slope(x: float, eps: float = 1e-7) -> float:
        return (transform.transform([x + eps])[0] - transform.transform([x - eps])[0]) / (2 * eps)

    # symlog(linthresh=1) changes slope by 2.6x at 1 bit, bending every curve there; this axis is smooth.
    assert slope(0.999) / slope(1.001) == pytest.approx(1.0, abs=0.01)
    assert slope(1000.0) < slope(1.0) / 100  # and logarithmic far from 0
    draw_hull(ax, [(0.1, 0.0), (0.9, 500.0)], "k")
    (line,) = ax.get_lines()
    bits, acc = line.get_data()
    assert len(bits) > 40  # a two-point line would be straight on screen, not in bits
    assert all(a == pytest.approx(0.1 + 0.8 * b / 500.0) for b, a in zip(bits, acc, strict=True))
    plt.close(fig)
