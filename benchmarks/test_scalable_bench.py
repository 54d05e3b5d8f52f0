"""The mnist-hm suite on a fresh results folder: under 5 minutes on 2 CPU cores, training nothing but
its task model (every scalable and rdc point loads a shipped checkpoint), and the layered views.

The run times the whole of ``run_suite`` (mnist-cnn task model trained into an empty cache, the
reference accuracy, 34 points: encode, decode every prefix, task model on the reconstructions,
SSIM, records; the pipeline dispatches the layered codecs to their evaluator itself). The rest of
the report is printed (``-s``) so the measured numbers can be copied into benchmarks/README.md.
Run: ``python -m pytest benchmarks/test_scalable_bench.py --benchmark-only -s``.
"""

from __future__ import annotations

import time

import vcmbench.pipeline.suite as suite_module
from vcmbench.report.rd import format_rd_report

TARGET_SECONDS = 300.0


def test_mnist_hm_suite_runs_within_five_minutes(benchmark, tmp_path) -> None:
    times: list[float] = []
    found: dict[str, list] = {}

    def run() -> None:
        out = tmp_path / f"round{len(times)}"
        t0 = time.perf_counter()
        records = suite_module.run_suite("mnist-hm", out=out, progress=False, log=lambda _: None,
                                         device="cpu")
        times.append(time.perf_counter() - t0)
        found["records"] = records

    benchmark.group = "mnist-hm suite, fresh results folder"
    benchmark.pedantic(run, rounds=1, warmup_rounds=0)
    records = found["records"]
    failed = [f"{r.codec.name} {r.codec.params}: {r.error}" for r in records if r.status != "ok"]
    assert not failed, failed
    assert all(r.metrics.layers for r in records)
    trained = {v["origin"] for r in records for v in r.codec.identity.values()}
    assert trained == {"shipped"}  # no codec trained anything
    benchmark.extra_info.update(points=len(records), seconds=times[0])
    print(f"\nmnist-hm: {len(records)} points in {times[0]:.1f} s\n")
    print(format_rd_report(records))
    assert times[0] < TARGET_SECONDS
