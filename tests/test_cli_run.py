"""`vcmbench run` end to end on the embedded MNIST subset."""

from __future__ import annotations

import pytest

from vcmbench import theory
from vcmbench.cli import main
from vcmbench.report.load import find_records


@pytest.mark.slow
def test_run_mnist_prints_the_recomputed_gap(tmp_path, capsys):
    out = tmp_path / "results"
    args = ["run", "mnist", "--codec", "label-block", "--limit", "200", "--out", str(out), "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    records = find_records([out])
    assert len(records) == 6 and all(r.dataset.id == "mnist-5k" and r.metrics.samples == 200 for r in records)
    n3 = next(r for r in records if r.codec.params == {"n": 3, "block_size": None})
    bits, acc = n3.metrics.bits_total / 200, n3.metrics.correct / 200
    gap = bits - theory.bound_bits(acc, n3.dataset.prior_counts)
    row = next(line for line in printed.splitlines() if line.startswith("label-block") and " n=3 " in line
               and "block_size=None" in line)
    assert f"{bits:.3f}" in row and f"{gap:.3f}" in row
    assert "uncompressed accuracy" in printed and "at matched accuracy" in printed


def test_run_refuses_an_unknown_codec_in_one_line(tmp_path, capsys):
    assert main(["run", "mnist", "--codec", "label-hufman", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'label-huffman'" in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())


# --- --point: a codec's operating points on the command line -------------------------------------

def test_a_point_spec_is_every_combination_of_its_values():
    from vcmbench.pipeline.points import parse_point

    assert parse_point("webp:quality=10,50;method=6") == ("webp", [{"quality": 10, "method": 6},
                                                                   {"quality": 50, "method": 6}])
    assert parse_point("label-block: n = 3 ; block_size=None,8") == (
        "label-block", [{"n": 3, "block_size": None}, {"n": 3, "block_size": 8}])
    assert parse_point("x:prior=train,uniform;t=0.5,true") == (
        "x", [{"prior": "train", "t": 0.5}, {"prior": "train", "t": True},
              {"prior": "uniform", "t": 0.5}, {"prior": "uniform", "t": True}])


@pytest.mark.parametrize("bad, message", [
    ("jpeg", "expected CODEC:KEY=V1,V2"),
    ("jpeg:", "is not KEY=V1,V2"),
    ("jpeg:quality", "is not KEY=V1,V2"),
    ("jpeg:quality=", "an empty value for 'quality'"),
    ("jpeg:quality=1,,2", "an empty value for 'quality'"),
    ("jpeg:quality=1;quality=2", "given twice"),
    ("jpeg:1q=2", "is not KEY=V1,V2"),
    ("jpeg:quality={a: 1}", "is not a number, a word"),
    ("jpeg:a=1,2,3,4,5,6,7,8,9,10;b=1,2,3,4,5,6,7,8,9,10;c=1,2,3,4,5,6,7,8,9,10,11", "more than 1000"),
])
def test_a_bad_point_spec_is_one_line_before_any_work(tmp_path, capsys, bad, message):
    assert main(["run", "mnist", "--point", bad, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())


def test_points_on_the_command_line_replace_the_suites_grid_and_run_alone(tmp_path):
    import distributed_toys
    from vcmbench.pipeline.config import parse_suite
    from vcmbench.pipeline.suite import run_suite

    codecs = [{"name": "t-quantise", "points": [{"q": 16}]}, {"name": "t-sends-labels"}]
    config = parse_suite(distributed_toys.suite(codecs, n=24))
    records = run_suite(config, out=tmp_path, progress=False, log=lambda _: None, device="cpu",
                        points=["t-quantise:q=8,64"])
    assert [(r.codec.name, r.codec.params) for r in records] == [("t-quantise", {"q": 8}),
                                                                  ("t-quantise", {"q": 64})]
    both = run_suite(config, out=tmp_path, progress=False, log=lambda _: None, device="cpu",
                     points=["t-quantise:q=8"], codecs=["t-sends-labels"])
    assert sorted((r.codec.name, r.codec.params) for r in both) == [("t-quantise", {"q": 8}),
                                                                     ("t-sends-labels", {"block_size": None})]
