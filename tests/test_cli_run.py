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
