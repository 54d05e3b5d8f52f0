"""Inputs read ahead by DataLoader workers (``--loader-workers``, the default with a CUDA device) are the
inputs read in the loop, in order, and give the same record; pinned batches on a GPU too."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import distributed_toys
from vcmbench.pipeline.evaluate import evaluate_point, reference_result
from vcmbench.pipeline.loader import Reading, default_loader_workers, input_batches


def _batches(n: int, size: int) -> list[list[int]]:
    return [list(range(i, min(n, i + size))) for i in range(0, n, size)]


def test_the_cpu_reads_in_the_loop_unless_told_otherwise():
    assert default_loader_workers("cpu") == 0 and Reading.for_device("cpu") == Reading(0, False)
    assert Reading.for_device("cpu", 2) == Reading(2, False)
    assert Reading.for_device("cuda").workers >= 1 and Reading.for_device("cuda").pin


def _same_record(tmp_path, reading: Reading, device: str = "cpu"):
    dataset = distributed_toys.toy_split("test", None, n=40)
    task, codec = distributed_toys.ReadsCorner(), distributed_toys.Quantise(q=32)
    direct = list(input_batches(dataset, _batches(40, 7)))
    read = list(reading.batches(dataset, _batches(40, 7)))
    assert [len(b) for b in read] == [7, 7, 7, 7, 7, 5]
    pairs = [(a, b) for x, y in zip(direct, read, strict=True) for a, b in zip(x, y, strict=True)]
    assert len(pairs) == 40 and all(np.array_equal(a, b) for a, b in pairs)
    plain = evaluate_point(codec, dataset, task, suite="s", reference_accuracy=0.9,
                           out_path=tmp_path / "a.json", batch_size=8, progress=False)
    ahead = evaluate_point(codec, dataset, task, suite="s", reference_accuracy=0.9,
                           out_path=tmp_path / "b.json", batch_size=8, progress=False, reading=reading,
                           device=device)
    timings = {"encode_seconds": 0.0, "decode_seconds": 0.0}
    assert replace(ahead.metrics, **timings) == replace(plain.metrics, **timings)
    assert (tmp_path / "a.samples.csv").read_bytes() == (tmp_path / "b.samples.csv").read_bytes()
    assert reference_result(task, dataset, 8, reading) == reference_result(task, dataset, 8)


def test_inputs_read_ahead_are_those_read_in_the_loop_and_give_the_same_record(tmp_path):
    _same_record(tmp_path, Reading(workers=1))


@pytest.mark.gpu
def test_pinned_batches_on_a_gpu_give_the_same_record(tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    _same_record(tmp_path, Reading.for_device("cuda"), device="cuda")
