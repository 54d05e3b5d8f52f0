"""Report and leaderboard views of layered and distortion-classification records, on hand-made records."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import make_record
from vcmbench.api.record import CodecRef, LayerMetrics, Metrics
from vcmbench.publish.rd import plot_rd, rd_markdown, rd_sections
from vcmbench.report import rd

N = 1000


def record(codec: str, params: dict, layers: list[tuple[str, int, int | None, dict]]):
    """A record of ``N`` samples with ``layers`` as (name, bits, correct, scores); the record's point is
    the last layer's, as the layered evaluator writes it."""
    lay = [LayerMetrics(name, b, c, s) for name, b, c, s in layers]
    total = sum(x.bits_total for x in lay)
    base = make_record()
    metrics = Metrics(accuracy=lay[-1].correct / N, correct=lay[-1].correct, samples=N, bits_total=total,
                      bits_per_sample=total / N, blocks=1, encode_seconds=0.1, decode_seconds=0.1,
                      scores=dict(lay[-1].scores), layers=lay)
    ds = replace(base.dataset, num_classes=10, samples=N, prior_counts=[100] * 10,
                 train_prior_counts=[400] * 10)
    codec_ref = CodecRef(name=codec, version="1", params=params, granularity="block", decodes_to="input")
    return replace(base, dataset=ds, metrics=metrics, codec=codec_ref)


def scalable(codec: str, rate_scale: float, base_bits: int = 8000):
    """Four points whose full-stream rate is ``rate_scale`` × a common curve at the same PSNRs."""
    out = []
    for i, (enh, psnr) in enumerate([(60_000, 15.0), (100_000, 18.0), (160_000, 21.0), (250_000, 24.0)]):
        total = round(rate_scale * (base_bits + enh) / 8) * 8
        layers = [("base", base_bits, 930, {}), ("enhancement", total - base_bits, 920, {"psnr": psnr})]
        out.append(record(codec, {"lmbda": 4.0 ** i, "base": 16.0}, layers))
    return out


def test_layer_rows_give_each_layers_own_bits_and_its_prefixs_metrics() -> None:
    r = record("scalable-proposed", {"lmbda": 4.0},
               [("base", 8000, 930, {}), ("enhancement", 92_000, 910, {"psnr": 18.5, "ssim": 0.7})])
    base, enh = rd.layer_rows([r])
    assert (base.layer, base.bits_per_sample, base.prefix_bits_per_sample) == ("base", 8.0, 8.0)
    assert base.accuracy == 0.93
    assert (enh.bits_per_sample, enh.prefix_bits_per_sample, enh.accuracy) == (92.0, 100.0, 0.91)
    assert enh.scores["psnr"] == 18.5


def test_bd_rate_of_a_uniformly_cheaper_curve() -> None:
    records = scalable("scalable-baseline", 1.0) + scalable("scalable-proposed", 0.9)
    rows = {(b.anchor, b.test, b.stream): b for b in rd.bd_rates(records)}
    full = rows[("scalable-baseline", "scalable-proposed", "full")]
    assert full.percent == pytest.approx(-10.0, abs=0.01)  # 10 % fewer bits at every PSNR
    enhancement_only = rows[("scalable-baseline", "scalable-proposed", "enhancement")]
    assert enhancement_only.percent < -10.0  # the same saving, on fewer bits (the base is equal)


def test_curves_that_do_not_overlap_get_a_reason_not_a_number() -> None:
    records = scalable("scalable-baseline", 1.0)
    records += [replace(r, codec=replace(r.codec, name="scalable-standalone"),
                        metrics=replace(r.metrics, scores={"psnr": r.metrics.scores["psnr"] + 40}))
                for r in records]  # PSNR ranges 15-24 and 55-64 dB: nothing to compare
    row = next(b for b in rd.bd_rates(records) if b.stream == "full")
    assert row.percent is None and row.reason


def rdc(codec: str, dims: int, lam: float, mse: float, ce: float):
    bits = {2: 400, 3: 600, 4: 800}[dims] * 8  # 3.2, 4.8, 6.4 bits per sample
    scores = {"mse": mse, "psnr": 20.0, "cross_entropy_bits": ce}
    params = {"lambda_c": lam, "dims": dims, "levels": 3}
    return record(codec, params, [("reconstruction", bits, 800, scores)])


def test_rate_penalty_is_the_rate_end_to_end_time_sharing_needs() -> None:
    records = [rdc("rdc-e2e", 2, 0.0, 3000.0, 2.0), rdc("rdc-e2e", 4, 0.0, 1000.0, 1.0),
               rdc("rdc-universal", 3, 10.0, 2000.0, 1.5),  # the midpoint: e2e needs (3.2 + 6.4) / 2 bits
               rdc("rdc-universal", 3, 30.0, 2500.0, 1.2)]  # λ=1/2 by D, 0.8 by C: the larger, 5.76 bits
    penalties, total = rd.rate_penalty(records)
    assert [p.e2e_bits_needed for p in penalties] == pytest.approx([4.8, 5.76], abs=1e-9)
    assert [p.penalty_bits for p in penalties] == pytest.approx([0.0, 4.8 - 5.76], abs=1e-9)
    assert total == pytest.approx(4.8 - 5.76, abs=1e-9)
    beyond = [*records[:2], rdc("rdc-universal", 3, 0.0, 500.0, 0.5)]  # better than every e2e point
    penalties, total = rd.rate_penalty(beyond)
    assert penalties[0].e2e_bits_needed is None and total is None


def test_report_and_leaderboard_say_what_was_measured(tmp_path) -> None:
    records = scalable("scalable-baseline", 1.0) + scalable("scalable-proposed", 0.9) + [
        rdc("rdc-e2e", 2, 0.0, 3000.0, 2.0), rdc("rdc-e2e", 4, 0.0, 1000.0, 1.0),
        rdc("rdc-universal", 3, 10.0, 2000.0, 1.5)]
    text = rd.format_rd_report(records)
    assert "scalable-proposed vs scalable-baseline [full stream, psnr]: -10.0 %" in text
    assert "[reproduced] task-compatible" in text  # proposed saves bits here, as in the paper
    penalty = text.split("A(Theta) over the targets the universal decoders reach = ")[1].split(" bits")[0]
    assert abs(float(penalty)) < 1e-6  # the universal point is the end-to-end points' midpoint
    assert "no R(D, C) bound" in text
    plots = plot_rd(records, tmp_path, "mnist-hm")
    assert plots["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_rd(records, tmp_path, "mnist-hm")["svg"].read_bytes() == plots["svg"].read_bytes()
    markdown = rd_markdown(records, plots, tmp_path)
    assert "| scalable-proposed | scalable-baseline | full | psnr | -10.0 % |" in markdown
    assert "(mnist-hm-rd.png)" in markdown
    assert rd_markdown([make_record()]) == ""


def test_an_effect_that_does_not_reproduce_says_so() -> None:
    records = scalable("scalable-baseline", 1.0) + scalable("scalable-proposed", 1.2)  # proposed costs more
    verdicts = rd.paper_verdicts(records)
    first = verdicts[0]
    assert first.reproduced is False and first.word == "NOT reproduced" and "+20.0 %" in first.measured
    assert "[NOT reproduced]" in rd.format_rd_report(records)
    untested = next(v for v in verdicts if "standalone" in v.claim)
    assert untested.reproduced is None  # no standalone curve: not measured, neither yes nor no


def test_ssim_bd_rate_is_taken_on_ssim_in_decibels() -> None:
    def with_ssim(records, shift_db):
        out = []
        for r in records:
            ssim = 1 - 10 ** (-(r.metrics.scores["psnr"] / 2 + shift_db) / 10)  # a curve in SSIM dB
            scores = {**r.metrics.scores, "ssim": ssim}
            lay = [*r.metrics.layers[:-1], replace(r.metrics.layers[-1], scores=scores)]
            out.append(replace(r, metrics=replace(r.metrics, scores=scores, layers=lay)))
        return out

    records = [*with_ssim(scalable("scalable-baseline", 1.0), 0.0),
               *with_ssim(scalable("scalable-proposed", 0.9), 0.0)]
    assert rd.quality({"ssim": 0.9}, "ssim_db") == pytest.approx(10.0)
    rows = {(b.stream, b.metric): b.percent for b in rd.bd_rates(records) if b.test == "scalable-proposed"}
    assert rows[("full", "ssim_db")] == pytest.approx(-10.0, abs=0.01)  # the same 10 % on the SSIM axis


def test_sections_per_suite_for_the_leaderboard(tmp_path) -> None:
    records = scalable("scalable-baseline", 1.0) + scalable("scalable-proposed", 0.9)
    other = [replace(r, suite="other-hm") for r in records]
    text, files = rd_sections([*records, *other, make_record()], tmp_path)
    assert text.count("### Coding for humans and machines: ") == 2
    pngs = sorted(p.name for p in files if p.suffix == ".png")
    assert pngs == sorted(["other-hm-rd.png", f"{records[0].suite}-rd.png"])
    assert "(plots/other-hm-rd.png)" in text


def test_the_fixed_encoder_must_reach_every_end_to_end_target_at_its_rate() -> None:
    e2e = [rdc("rdc-e2e", 2, 0.0, 3000.0, 2.0), rdc("rdc-e2e", 4, 0.0, 1000.0, 0.5),
           rdc("rdc-e2e", 3, 0.0, 2000.0, 1.5), rdc("rdc-e2e", 3, 10.0, 2200.0, 0.8)]
    close = [rdc("rdc-universal", 3, 0.0, 2050.0, 1.52), rdc("rdc-universal", 3, 10.0, 2250.0, 0.81)]
    targets = rd.coverage(e2e + close)
    assert [t.reached for t in targets] == [True, True]  # within 5 % on D and on C
    far = [close[0], rdc("rdc-universal", 3, 10.0, 2100.0, 1.4)]  # its decoder barely lowers C
    assert [t.reached for t in rd.coverage(e2e + far)] == [True, False]
    verdict = rd.paper_verdicts(e2e + far)[-1]
    assert verdict.reproduced is False and "1 of 2 end-to-end targets reached" in verdict.measured


def test_report_command_and_publish_show_the_layered_section(tmp_path, capsys) -> None:
    from vcmbench.api.record import write_record
    from vcmbench.cli import main
    from vcmbench.publish.build import publish

    folder = tmp_path / "results"
    for i, r in enumerate(scalable("scalable-baseline", 1.0) + scalable("scalable-proposed", 0.9)):
        write_record(folder / f"r{i}.json", r)
    assert main(["report", str(folder)]) == 0
    assert "layered points" in capsys.readouterr().out
    out = tmp_path / "board"
    result = publish([folder], out)
    assert "### Coding for humans and machines: " in (out / "README.md").read_text(encoding="utf-8")
    assert out / "plots" / f"{make_record().suite}-rd.png" in result.files
