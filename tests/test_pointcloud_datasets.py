"""ModelNet readers on tiny on-disk fixtures of all three layouts, bad-input errors, the embedded set."""

from __future__ import annotations

import zlib

import h5py
import numpy as np
import pytest

from pointcloud_fixtures import (
    CLASSES,
    box_mesh,
    fixture_split,
    off_text,
    write_hdf5,
    write_meshes,
    write_resampled,
)
from vcmbench.api.dataset import DATASETS
from vcmbench.datasets import shapes_synth
from vcmbench.datasets.modelnet import open_modelnet
from vcmbench.datasets.pointclouds import normalize_cloud, stack_clouds
from vcmbench.errors import DataError, UsageError

WRITERS = {"hdf5": write_hdf5, "resampled": write_resampled, "off": write_meshes}


def expected_clouds(split: str) -> dict[int, list[np.ndarray]]:
    """The fixture's clouds per label, cut to 1,024 points and normalised as the reader must."""
    clouds, labels = fixture_split(split, per_class=4)
    out: dict[int, list[np.ndarray]] = {}
    for cloud, label in zip(clouds, labels, strict=True):
        out.setdefault(label, []).append(normalize_cloud(cloud[:1024]))
    return out


@pytest.mark.parametrize("layout", ["hdf5", "resampled"])
def test_stored_clouds_are_read_cut_and_normalised(tmp_path, layout):
    WRITERS[layout](tmp_path)
    for split in ("train", "test"):
        ds = open_modelnet(tmp_path, split)
        assert len(ds) == 12 and ds.info.num_classes == 3 and ds.info.class_names == CLASSES
        assert ds.info.id == f"modelnet40-{split}-12pc" and ds.info.points_per_sample == 1024
        assert np.bincount(ds.labels(), minlength=3).tolist() == [4, 4, 4]
        want = expected_clouds(split)
        for i, label in enumerate(ds.labels()):
            cloud = ds.inputs([i])[0]
            assert cloud.shape == (1024, 3) and cloud.dtype == np.float32
            # the reader's cloud is one of its class's fixture clouds (text files keep 6 decimals)
            assert any(np.allclose(cloud, w, atol=2e-5) for w in want[int(label)]), (split, i)


def test_meshes_are_sampled_on_the_surface_with_a_fixed_seed(tmp_path):
    write_meshes(tmp_path)
    ds = open_modelnet(tmp_path, "test")
    assert len(ds) == 12 and ds.info.class_names == ("ball", "plate", "rod")  # sorted folder names
    again = open_modelnet(tmp_path, "test")
    other_seed = open_modelnet(tmp_path, "test", seed=1)
    assert ds.info.fingerprint == again.info.fingerprint != other_seed.info.fingerprint
    first, second, third = (d.inputs(range(12)) for d in (ds, again, other_seed))
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not np.array_equal(first[0], third[0])
    for cloud, label in zip(first, ds.labels(), strict=True):
        radius = np.linalg.norm(cloud, axis=1)
        if ds.info.class_names[label] == "ball":  # an icosphere: every sample close to one radius
            assert radius.min() > 0.9  # flat icosphere faces dip to ~0.94 of the radius
        else:  # a box: every sample lies on a face, i.e. one coordinate at its extreme
            low, high = cloud.min(axis=0), cloud.max(axis=0)
            on_face = (np.abs(cloud - low) < 1e-5) | (np.abs(cloud - high) < 1e-5)
            assert on_face.any(axis=1).all()


def test_the_same_shapes_read_the_same_from_hdf5_and_text(tmp_path):
    write_hdf5(tmp_path / "a")
    write_resampled(tmp_path / "b")
    h5, txt = open_modelnet(tmp_path / "a", "test"), open_modelnet(tmp_path / "b", "test")
    # different files, different orders and 6-decimal text: different fingerprints, same clouds
    assert h5.info.fingerprint != txt.info.fingerprint
    a = sorted(h5.inputs(range(12)), key=lambda c: float(c[0, 0]))
    b = sorted(txt.inputs(range(12)), key=lambda c: float(c[0, 0]))
    assert all(np.allclose(x, y, atol=2e-5) for x, y in zip(a, b, strict=True))


def test_points_parameter_and_id(tmp_path):
    write_hdf5(tmp_path)
    ds = open_modelnet(tmp_path, "test", points=512)
    assert ds.inputs([0])[0].shape == (512, 3) and ds.info.id == "modelnet40-test-12pc-512pt"
    assert ds.info.points_per_sample == 512
    factory = DATASETS.get("modelnet40")
    assert factory("test", tmp_path, points=256).inputs([0])[0].shape == (256, 3)
    with pytest.raises(UsageError, match="unknown parameter"):
        factory("test", tmp_path, npoints=256)
    with pytest.raises(UsageError, match="points"):
        open_modelnet(tmp_path, "test", points=0)


def test_a_changed_file_changes_the_fingerprint(tmp_path):
    folder = write_resampled(tmp_path)
    before = open_modelnet(tmp_path, "test").info.fingerprint
    path = folder / "rod" / "rod_0005.txt"
    lines = path.read_text().splitlines()
    lines[3] = "0.1,0.2,0.3,0,0,1"
    path.write_text("\n".join(lines) + "\n")
    assert open_modelnet(tmp_path, "test").info.fingerprint != before


def test_full_split_sizes_give_the_plain_id():
    from vcmbench.datasets.modelnet import ModelNetDataset, SplitIndex

    index = SplitIndex([str(i) for i in range(2468)], np.zeros(2468, dtype=np.int64),
                       tuple(f"c{i}" for i in range(40)), lambda: np.zeros((0, 1024, 3)), "hdf5")
    assert ModelNetDataset("modelnet40", "test", 1024, index).benchmark_id() == "modelnet40"
    assert ModelNetDataset("modelnet40", "test", 2048, index).benchmark_id() == "modelnet40-2048pt"


def test_modelnet10_comes_from_the_same_code(tmp_path):
    write_resampled(tmp_path, name="modelnet10")  # the ModelNet10 lists sit in the same folder
    with pytest.raises(DataError, match="ModelNet10 has 10"):
        open_modelnet(tmp_path, "test", "modelnet10")
    names = tmp_path / "modelnet40_normal_resampled" / "modelnet10_shape_names.txt"
    names.write_text("\n".join([*CLASSES, *(f"extra{i}" for i in range(7))]) + "\n")
    ds = open_modelnet(tmp_path, "test", "modelnet10")
    assert ds.info.num_classes == 10 and ds.info.id == "modelnet10-test-12pc" and len(ds) == 12
    with pytest.raises(DataError, match="--data-root"):
        DATASETS.get("modelnet10")("test", None)


# --- bad input: one DataError naming the file and the problem -----------------------------------------

def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_hdf5_without_label(tmp_path):
    folder = write_hdf5(tmp_path)
    with h5py.File(folder / "ply_data_test1.h5", "a") as fh:
        del fh["label"]
    with pytest.raises(DataError) as exc:
        open_modelnet(tmp_path, "test")
    assert "ply_data_test1.h5" in one_line(exc) and "'label'" in str(exc.value)


def test_hdf5_with_mismatched_lengths(tmp_path):
    folder = write_hdf5(tmp_path)
    with h5py.File(folder / "ply_data_test0.h5", "a") as fh:
        labels = fh["label"][()]
        del fh["label"]
        fh["label"] = labels[:-1]
    with pytest.raises(DataError) as exc:
        open_modelnet(tmp_path, "test")
    text = one_line(exc)
    assert "ply_data_test0.h5" in text and "6 clouds" in text and "5 labels" in text


def test_hdf5_that_is_not_hdf5(tmp_path):
    folder = write_hdf5(tmp_path)
    (folder / "ply_data_test1.h5").write_bytes(b"not an hdf5 file")
    with pytest.raises(DataError) as exc:
        open_modelnet(tmp_path, "test")
    assert "ply_data_test1.h5" in one_line(exc)


def test_hdf5_label_beyond_the_class_names(tmp_path):
    folder = write_hdf5(tmp_path)
    (folder / "shape_names.txt").write_text("plate\nrod\n")
    with pytest.raises(DataError, match="label 2 outside 0..1"):
        open_modelnet(tmp_path, "test")


@pytest.mark.parametrize("layout", ["hdf5", "resampled"])  # meshes are sampled: never short of points
def test_fewer_points_than_asked(tmp_path, layout):
    WRITERS[layout](tmp_path)
    ds = open_modelnet(tmp_path, "test", points=2000)
    with pytest.raises(DataError) as exc:
        ds.inputs([0])
    text = one_line(exc)
    assert "fewer than the 2000 asked" in text and (".h5" in text or ".txt" in text)


def test_text_file_missing_or_short(tmp_path):
    folder = write_resampled(tmp_path)
    short = folder / "ball" / "ball_0005.txt"
    short.write_text("\n".join(short.read_text().splitlines()[:100]) + "\n")
    with pytest.raises(DataError) as exc:
        open_modelnet(tmp_path, "test").inputs([0])
    assert "ball_0005.txt" in one_line(exc) and "holds 100 points" in str(exc.value)
    short.unlink()
    with pytest.raises(DataError, match="ball_0005.txt: listed in the split file but missing"):
        open_modelnet(tmp_path, "test").info  # noqa: B018 - reading the info reads the clouds


def test_off_without_faces(tmp_path):
    folder = write_meshes(tmp_path)
    vertices, _ = box_mesh(np.ones(3))
    bad = folder / "rod" / "test" / "rod_0020.off"
    bad.write_text(off_text(vertices, np.zeros((0, 3), dtype=int)))
    with pytest.raises(DataError) as exc:
        open_modelnet(tmp_path, "test").clouds()
    assert "rod_0020.off" in one_line(exc) and "no faces" in str(exc.value)


def test_off_with_nan_coordinates(tmp_path):
    folder = write_meshes(tmp_path)
    vertices, faces = box_mesh(np.ones(3))
    vertices[2, 1] = np.nan
    bad = folder / "plate" / "test" / "plate_0014.off"
    bad.write_text(off_text(vertices, faces))
    with pytest.raises(DataError) as exc:
        open_modelnet(tmp_path, "test").clouds()
    assert "plate_0014.off" in one_line(exc) and "NaN" in str(exc.value)


def test_off_that_is_not_off(tmp_path):
    folder = write_meshes(tmp_path)
    (folder / "ball" / "test" / "ball_0015.off").write_text("this is not a mesh\n")
    ds = open_modelnet(tmp_path, "test")
    bad = ds.ids().index("ball_0015")
    assert len(ds.inputs([i for i in range(12) if i != bad])) == 11  # meshes are sampled one by one
    with pytest.raises(DataError, match="ball_0015.off: not a readable OFF mesh"):
        ds.inputs([bad])
    with pytest.raises(DataError, match="ball_0015.off"):
        open_modelnet(tmp_path, "test").clouds()


def test_empty_class_folder(tmp_path):
    folder = write_meshes(tmp_path)
    for path in (folder / "rod" / "test").iterdir():
        path.unlink()
    with pytest.raises(DataError) as exc:
        open_modelnet(tmp_path, "test")
    assert f"{folder / 'rod' / 'test'}" in one_line(exc) and "holds no .off meshes" in str(exc.value)


def test_nothing_recognisable(tmp_path):
    (tmp_path / "stuff").mkdir()
    with pytest.raises(DataError) as exc:
        open_modelnet(tmp_path, "test")
    assert "no modelnet40 data" in one_line(exc) and "ply_data" in str(exc.value)
    with pytest.raises(DataError, match="does not exist"):
        open_modelnet(tmp_path / "missing", "test")


# --- the embedded set ----------------------------------------------------------------------------------

def test_embedded_set_is_what_it_says():
    test = DATASETS.get("modelnet40")("test", None)
    train = DATASETS.get("modelnet40")("train", None)
    assert test.info.id == train.info.id == "shapes-synth-16" and test.info.num_classes == 16
    assert len(test) == 800 and len(train) == 1600 and test.info.points_per_sample == 1024
    counts = np.bincount(test.labels(), minlength=16)
    assert counts.tolist() == shapes_synth.split_counts("test").tolist()
    assert counts.max() >= 5 * counts.min()  # deliberately not uniform, like ModelNet40's test set
    assert test.info.fingerprint != train.info.fingerprint
    clouds = stack_clouds(test.inputs(range(50)))
    assert clouds.shape == (50, 1024, 3) and np.isfinite(clouds).all()
    assert len({zlib.crc32(c.tobytes()) for c in clouds}) == 50  # no two clouds alike


def test_embedded_set_is_generated_the_same_every_time():
    clouds, labels = shapes_synth.generate.__wrapped__("test", 64)  # bypass the in-process cache
    again, labels_again = shapes_synth.generate.__wrapped__("test", 64)
    assert np.array_equal(clouds, again) and np.array_equal(labels, labels_again)
    small = DATASETS.get("shapes-synth")("test", None, points=64)
    assert small.info.id == "shapes-synth-16-64pt" and np.array_equal(small.inputs([3])[0], clouds[3])


def test_embedded_set_refuses_a_data_root(tmp_path):
    with pytest.raises(UsageError, match="generated"):
        DATASETS.get("shapes-synth")("test", tmp_path)
