"""The modelnet40 suite run on tiny on-disk fixtures of each real layout, and on the embedded set."""

from __future__ import annotations

import numpy as np
import pytest

import vcmbench.codecs.pointcloud_student  # noqa: F401 - registered here until codecs/__init__ imports them
import vcmbench.codecs.pointclouds  # noqa: F401
from pointcloud_fixtures import write_hdf5, write_meshes, write_resampled
from vcmbench.cli import main
from vcmbench.codecs.pointclouds import DracoCodec
from vcmbench.datasets.modelnet import open_modelnet
from vcmbench.pipeline.config import parse_suite
from vcmbench.pipeline.suite import run_suite

WRITERS = {"hdf5": write_hdf5, "resampled": write_resampled, "off": write_meshes}
TINY_POINTNET = {"widths": [16, 32], "head": [16], "epochs": 20, "batch_size": 6, "train_points": 128}


def tiny_suite():
    return parse_suite({
        "suite": "modelnet40-tiny",
        "dataset": {"name": "modelnet40", "split": "test"},
        "task_model": {"name": "pointnet", "params": TINY_POINTNET},
        "codecs": [
            {"name": "draco", "points": [{"quantization_bits": 4}, {"quantization_bits": 9}]},
            {"name": "label-huffman", "points": [{"prior": "train"}]},
            {"name": "pointcloud-student-block", "points": [{"beta": 10, "epochs": 2, "size": "micro"}]},
        ],
    })


@pytest.mark.parametrize("layout", ["hdf5", "resampled", "off"])
def test_suite_runs_on_each_layout(tmp_path, layout):
    root = tmp_path / "data"
    WRITERS[layout](root)
    records = run_suite(tiny_suite(), data_root=root, out=tmp_path / "out", progress=False, train=True,
                        log=lambda _: None)
    assert [r.status for r in records] == ["ok"] * 4, [r.error for r in records]
    test = open_modelnet(root, "test")
    for r in records:
        assert r.dataset.id == "modelnet40-test-12pc" and r.dataset.fingerprint == test.info.fingerprint
        assert r.dataset.points_per_sample == 1024 and r.dataset.train_prior_counts == [4, 4, 4]
        assert r.metrics.bits_per_point == pytest.approx(r.metrics.bits_total / 12 / 1024)
        assert r.task_model.fingerprint is not None and len(r.task_model.fingerprint) == 64
    draco = {r.codec.params["quantization_bits"]: r for r in records if r.codec.name == "draco"}
    for bits, record in draco.items():  # the rate is every byte Draco wrote, recomputed here
        streams = [DracoCodec(quantization_bits=bits).encode(x) for x in test.inputs(range(12))]
        assert record.metrics.bits_total == 8 * sum(len(s) for s in streams)
    assert draco[4].metrics.bits_total < draco[9].metrics.bits_total
    label = next(r for r in records if r.codec.name == "label-huffman")
    assert label.metrics.accuracy == label.task_model.reference_accuracy  # a lossless label code
    student = next(r for r in records if r.codec.name == "pointcloud-student-block")
    assert student.codec.identity["checkpoint"]["origin"] == "trained"


def test_learned_points_without_a_checkpoint_fail_with_the_command_that_trains_them(tmp_path):
    root = tmp_path / "data"
    write_hdf5(root)
    records = run_suite(tiny_suite(), data_root=root, out=tmp_path / "out", progress=False,
                        codecs=["pointcloud-student-block"], log=lambda _: None)
    assert len(records) == 1 and records[0].status == "failed"
    assert "vcmbench train pointcloud-student" in records[0].error


def test_bad_data_is_one_line_and_nothing_is_written(tmp_path, capsys):
    root = tmp_path / "data"
    folder = write_hdf5(root)
    (folder / "ply_data_test1.h5").write_bytes(b"broken")
    out = tmp_path / "out"
    assert main(["run", "modelnet40", "--data-root", str(root), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ply_data_test1.h5" in err
    assert not list(out.rglob("*.json"))


@pytest.mark.slow
def test_embedded_suite_runs_from_shipped_checkpoints(tmp_path):
    records = run_suite("modelnet40", out=tmp_path, limit=100, progress=False, log=lambda _: None,
                        codecs=["draco", "label-fixed", "pointcloud-student-block"])
    assert all(r.status == "ok" for r in records), [r.error for r in records if r.error]
    assert {r.dataset.id for r in records} == {"shapes-synth-16"}
    assert not (tmp_path / "cache" / "tasks").exists()  # PointNet came from the shipped checkpoint
    draco = sorted((r for r in records if r.codec.name == "draco"), key=lambda r: r.metrics.bits_total)
    assert len(draco) >= 4 and draco[0].metrics.accuracy < draco[-1].metrics.accuracy
    students = [r for r in records if r.codec.name == "pointcloud-student-block"]
    assert len(students) >= 4 and {r.codec.identity["checkpoint"]["origin"] for r in students} == {"shipped"}
    bits = [r.metrics.bits_per_sample for r in sorted(students, key=lambda r: r.codec.params["beta"])]
    assert bits == sorted(bits) and np.ptp(bits) > 1
