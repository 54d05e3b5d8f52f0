"""`vcmbench run --workers N`: the points measured in shards on a local Dask cluster give the records
of a run in one process, a worker killed mid-run loses nothing, and the workers write nowhere but
the run's folders.

Clusters here are small (two single-thread worker processes) and shut down by the run itself,
whatever happens; toys are numpy only so workers start fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import distributed_toys
from vcmbench.cli import main
from vcmbench.pipeline.config import parse_suite
from vcmbench.pipeline.shards import shard_ranges
from vcmbench.pipeline.suite import run_suite

SHARD = 16  # samples per task: 96 samples -> 6 shards of the per-sample points, 4 of the blocks of 24


def _codecs(marker: Path) -> list[dict]:
    return [{"name": "t-quantise", "points": [{"q": 16}, {"q": 64}]},
            {"name": "t-sends-labels", "points": [{"block_size": 24}, {"block_size": None}]},
            {"name": "t-crash-once", "points": [{"q": 32, "marker": str(marker)}]}]


def _comparable(path: Path) -> dict:
    """A record as JSON without what may differ between two runs of the same point: dates, timings."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw.pop("provenance")
    for key in ("encode_seconds", "decode_seconds"):
        raw["metrics"].pop(key)
    return raw


def _files(out: Path) -> dict[str, Path]:
    return {str(p.relative_to(out)): p for p in out.rglob("*") if p.is_file() and "cache" not in p.parts}


def test_workers_give_the_records_of_a_run_in_one_process_even_when_one_dies(tmp_path, monkeypatch):
    """One cluster (they take seconds to start on two shared cores) for both promises: the records
    of ``--workers 2`` are those of a plain run, and a worker process that dies mid-run (the
    crash-once codec kills its own process on its first encode) loses nothing."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # the workers inherit it: nothing may land there
    marker = tmp_path / "killed-once"
    marker.write_text("not in the plain run", encoding="utf-8")
    config = parse_suite(distributed_toys.suite(_codecs(marker)))
    serial = run_suite(config, out=tmp_path / "serial", progress=False, log=lambda _: None, device="cpu")
    assert [r.status for r in serial] == ["ok"] * 5, [r.error for r in serial]
    quant = serial[0]
    assert len(shard_ranges(distributed_toys.Quantise(q=16), 96, 8, SHARD)) == 6  # really sharded
    marker.unlink()
    lines: list[str] = []
    spread = run_suite(config, out=tmp_path / "spread", progress=False, log=lines.append, device="cpu",
                       workers=2, shard_size=SHARD)
    assert marker.read_text(encoding="utf-8").isdigit()  # a worker process did die
    assert [r.status for r in spread] == ["ok"] * 5, [r.error for r in spread]
    assert len(lines) == 6 and not any("[reused]" in line for line in lines)
    a, b = _files(tmp_path / "serial"), _files(tmp_path / "spread")
    assert sorted(a) == sorted(b) and len(a) == 1 + 2 * 5  # reference + record and samples per point
    for name, path in a.items():
        if name.endswith(".samples.csv") or name.endswith("reference.json"):
            assert path.read_bytes() == b[name].read_bytes(), name
        else:
            assert _comparable(path) == _comparable(b[name]), name
    assert quant.metrics.estimated_bits_per_sample == spread[0].metrics.estimated_bits_per_sample
    assert quant.metrics.accuracy < 1 and quant.task_model.reference_accuracy < 1  # the toys can be wrong
    assert not any(home.rglob("*")), list(home.rglob("*"))
    assert not list((tmp_path / "spread").glob("vcmbench-dask-*"))  # the cluster's scratch is gone
    # a rerun (in one process) resumes from what the workers wrote: nothing is measured again
    lines.clear()
    run_suite(config, out=tmp_path / "spread", progress=False, log=lines.append, device="cpu")
    assert len(lines) == 6 and all(line.endswith("[reused]") for line in lines[1:])


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "--workers must be a positive integer"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
    (["--shard-size", "0", "--workers", "2"], "--shard-size must be a positive integer"),
])
def test_bad_cluster_options_are_one_line(tmp_path, capsys, args, message):
    assert main(["run", "mnist", "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())


def test_a_shard_that_failed_for_good_stops_the_run_in_one_line():
    from vcmbench.errors import VcmbenchError
    from vcmbench.pipeline.distributed import _result
    from vcmbench.pipeline.plan import Point
    from vcmbench.pipeline.suite import PointJob

    class Dead:
        def result(self):
            raise RuntimeError("Attempted to run task x on 4 different workers, but all those workers "
                               "died\n...")

    job = PointJob(0, Point(distributed_toys.Quantise(q=8), Path("t-quantise/q=8.json")), {},
                   Path("out/t-quantise/q=8.json"))
    expected = (r"^t-quantise q=8, samples 16\.\.31: RuntimeError: Attempted .*died "
                r"\(see the Dask worker logs\)$")
    with pytest.raises(VcmbenchError, match=expected):
        _result(Dead(), job, 16, 32)
