"""The COCO reader on a tiny on-disk layout, its refusals, and the embedded shapes-coco-synth set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from coco_fixture import IMAGES, instances, rgb_of, write_coco_fixture
from vcmbench.api.dataset import DetectionDataset
from vcmbench.datasets import coco_synth
from vcmbench.datasets.coco import coco, embedded, open_coco
from vcmbench.errors import DataError


@pytest.fixture
def root(tmp_path):
    return write_coco_fixture(tmp_path / "coco")


def test_reader_maps_categories_both_ways_and_counts_objects(root):
    ds = coco("val", root)
    assert isinstance(ds, DetectionDataset)
    assert ds.info.id == "coco" and ds.info.task == "detection"
    assert ds.info.categories == ("box", "disc", "bar")
    assert list(ds.category_ids()) == [2, 5, 7]
    # labels: non-crowd objects per image, in image-id order; num_classes = most objects + 1
    expected = [sum(1 for o in objs if not o[5]) for *_, objs in IMAGES]
    assert ds.labels().tolist() == expected
    assert ds.info.num_classes == max(expected) + 1
    assert list(ds.ids()) == [str(int(name[:-4])) for name, *_ in IMAGES]
    t = ds.targets([2])[0]
    # the CMYK image: category 7 -> class index 2, box [4, 40, 30, 6] in a 64x64 image
    k = int(np.flatnonzero(t.classes == 2)[0])
    assert np.allclose(t.boxes[k], [4 / 64, 40 / 64, 34 / 64, 46 / 64])
    assert np.all(t.scores == 1)


def test_crowd_regions_are_not_objects_but_stay_in_the_ground_truth(root):
    ds = coco("val", root)
    i = [name for name, *_ in IMAGES].index("000000000015.jpg")
    assert len(ds.targets([i])[0]) == 1
    gt = ds.coco()
    assert len(gt.getAnnIds(imgIds=[15])) == 2 and len(gt.getAnnIds(imgIds=[15], iscrowd=False)) == 1


def test_grey_cmyk_and_palette_images_arrive_as_rgb(root):
    ds = coco("val", root)
    for i, (name, w, h, *_rest) in enumerate(IMAGES):
        x = ds.inputs([i])[0]
        assert x.dtype == np.uint8 and x.shape == (h, w, 3)
        assert np.array_equal(x, rgb_of(root, name))
    grey = ds.inputs([1])[0]
    assert np.array_equal(grey[..., 0], grey[..., 2])


def test_bits_per_pixel_use_the_mean_original_image(root):
    ds = coco("val", root)
    assert ds.info.pixels_per_sample == round(np.mean([w * h for _, w, h, *_ in IMAGES]))


def test_fingerprint_follows_the_annotations(tmp_path):
    a = coco("val", write_coco_fixture(tmp_path / "a")).info.fingerprint
    assert coco("val", write_coco_fixture(tmp_path / "b")).info.fingerprint == a
    data = instances()
    data["annotations"][0]["bbox"] = [5, 4, 20, 16]
    assert coco("val", write_coco_fixture(tmp_path / "c", data=data)).info.fingerprint != a


def _broken(tmp_path, edit):
    data = instances()
    edit(data)
    return write_coco_fixture(tmp_path / "bad", data=data)


@pytest.mark.parametrize(("edit", "needle"), [
    (lambda d: d.pop("categories"), "not a COCO instances file"),
    (lambda d: d["annotations"][0].update(bbox=[50, 40, 20, 16]), "lies outside image"),
    (lambda d: d["annotations"][0].update(category_id=3), "unknown category id 3"),
    (lambda d: d["annotations"][0].update(image_id=999), "unknown image id 999"),
    (lambda d: d["annotations"][1].update(id=d["annotations"][0]["id"]), "appears twice"),
    (lambda d: d["images"][0].update(file_name="../escape.png"), "must be a file name"),
    (lambda d: d["annotations"][0].update(bbox=[1, 2, 0, 3]), "box of size"),
])
def test_bad_annotations_are_one_line_naming_the_file(tmp_path, edit, needle):
    root = _broken(tmp_path, edit)
    with pytest.raises(DataError, match=needle) as err:
        coco("val", root)
    assert "instances_val2017.json" in str(err.value) and "\n" not in str(err.value)


def test_a_json_that_is_not_json(tmp_path):
    root = write_coco_fixture(tmp_path / "c")
    (root / "annotations" / "instances_val2017.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(DataError, match="not JSON"):
        coco("val", root)


def test_a_missing_image_file_is_named(root):
    (root / "val2017" / "000000000013.jpg").unlink()
    with pytest.raises(DataError, match="000000000013.jpg is missing"):
        coco("val", root)


def test_an_undecodable_image_is_named(root):
    (root / "val2017" / "000000000012.png").write_bytes(b"\x89PNG not really")
    ds = coco("val", root)
    with pytest.raises(DataError, match="000000000012.png cannot be decoded"):
        ds.inputs([1])


def test_an_image_of_another_size_than_annotated_is_named(root):
    data = json.loads((root / "annotations" / "instances_val2017.json").read_text())
    data["images"][0]["width"] = 100
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != 11]
    (root / "annotations" / "instances_val2017.json").write_text(json.dumps(data))
    with pytest.raises(DataError, match="000000000011.png is 64×48 but the annotations say 100×48"):
        coco("val", root).inputs([0])


def test_a_data_root_without_coco_says_what_it_needs(tmp_path):
    with pytest.raises(DataError, match="annotations/instances_val2017.json and val2017/"):
        coco("val", tmp_path)


def test_the_embedded_set_is_deterministic_and_honestly_named():
    ds = embedded("val")
    assert ds.info.id == coco_synth.DATASET_ID != "coco"
    assert len(ds) == coco_synth.SPLIT_SIZES["val"]
    assert ds.info.categories == tuple(name for _, name in coco_synth.CATEGORIES)
    assert list(ds.category_ids()) == [cid for cid, _ in coco_synth.CATEGORIES]
    # several classes, varied sizes and numbers of objects, some empty images
    counts = ds.labels()
    assert counts.min() == 0 and counts.max() >= 5
    classes = np.concatenate([t.classes for t in ds.targets(range(len(ds)))])
    assert set(classes.tolist()) == set(range(len(coco_synth.CATEGORIES)))
    widths = np.concatenate([t.boxes[:, 2] - t.boxes[:, 0] for t in ds.targets(range(len(ds)))])
    assert widths.max() / widths.min() > 4
    # the train split is another set of images
    assert embedded("train").info.fingerprint != ds.info.fingerprint


def test_the_embedded_set_written_as_coco_reads_back_identically(tmp_path):
    coco_synth.write_coco(tmp_path, "val")
    ds = open_coco(tmp_path / "annotations" / "instances_val.json", tmp_path / "val",
                   dataset_id=coco_synth.DATASET_ID)
    mem = embedded("val")
    assert ds.labels().tolist() == mem.labels().tolist()
    for i in (0, 7, 199):
        assert np.array_equal(ds.inputs([i])[0], mem.inputs([i])[0])
        assert np.allclose(ds.targets([i])[0].boxes, mem.targets([i])[0].boxes)


def test_the_embedded_set_has_only_train_and_val():
    with pytest.raises(DataError, match="splits train, val"):
        coco("test", None)


@pytest.mark.data
def test_the_real_coco_val2017():
    """Needs VCMBENCH_DATA_ROOT/coco holding annotations/instances_val2017.json and val2017/."""
    import os
    from pathlib import Path

    root = Path(os.environ.get("VCMBENCH_DATA_ROOT", "")) / "coco"
    if not os.environ.get("VCMBENCH_DATA_ROOT") or not (root / "val2017").is_dir():
        pytest.skip("set VCMBENCH_DATA_ROOT to a folder holding coco/val2017")
    ds = coco("val", root)
    assert ds.info.id == "coco" and len(ds) == 5000 and len(ds.info.categories) == 80
    assert list(ds.category_ids())[:3] == [1, 2, 3] and max(ds.category_ids()) == 90
    x = ds.inputs([0])[0]
    assert x.ndim == 3 and x.shape[2] == 3
