from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from imagenet_fixture import COLOURS, WNIDS, write_imagenet
from vcmbench.api.codec import CODECS, SampleCodec
from vcmbench.api.dataset import DATASETS
from vcmbench.api.task import TASK_MODELS, TaskContext
from vcmbench.cli import main
from vcmbench.datasets.imagenet import open_imagenet
from vcmbench.entropy.framing import pack_array, unpack_array
from vcmbench.errors import DataError, UsageError
from vcmbench.pipeline.config import find_suite, parse_suite
from vcmbench.pipeline.evaluate import evaluate_point
from vcmbench.pipeline.suite import LimitedDataset, run_suite
from vcmbench.tasks.torchvision_models import SPLITS, TorchvisionResNet

TINY = {"arch": "resnet18", "num_classes": 3, "weights": "random"}


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("imagenet")
    write_imagenet(root)
    return root


@pytest.fixture(scope="module")
def tiny_model() -> TorchvisionResNet:
    model = TorchvisionResNet(**TINY)
    model.prepare(TaskContext(train=None, cache_dir=Path("unused")))
    return model


# ---------------------------------------------------------------- the adapter


def test_class_folders_give_sorted_wnid_indices_and_model_inputs(tree):
    ds = open_imagenet(tree)
    assert len(ds) == 12 and ds.info.num_classes == 3 and ds.info.class_names == WNIDS
    assert ds.info.pixels_per_sample == 224 * 224 and ds.info.split == "val"
    assert ds.labels().tolist() == [0, 1, 2] * 4  # names interleave the classes
    assert ds.ids()[0] == "ILSVRC2012_val_00000001"
    x = ds.inputs([0, 5])
    assert [a.shape for a in x] == [(224, 224, 3)] * 2 and all(a.dtype == np.uint8 for a in x)


def test_grey_and_cmyk_files_become_rgb(tree):
    ds = open_imagenet(tree)
    names = [p.name for p in ds.files]
    grey = ds.inputs([names.index("ILSVRC2012_val_00000004.JPEG")])[0]  # 2nd image of class 0: grey
    assert Image.open(ds.files[names.index("ILSVRC2012_val_00000004.JPEG")]).mode == "L"
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    cmyk_file = ds.files[names.index("ILSVRC2012_val_00000007.JPEG")]  # 3rd image of class 0: CMYK
    assert Image.open(cmyk_file).mode == "CMYK"
    mean = ds.inputs([names.index(cmyk_file.name)])[0].reshape(-1, 3).mean(0)
    assert np.argmin([np.abs(mean - c).sum() for c in COLOURS]) == 0  # still the class-0 red


def test_inputs_are_exactly_the_standard_torchvision_preprocessing(tree):
    from torchvision.models import ResNet50_Weights

    ds = open_imagenet(tree)
    reference = ResNet50_Weights.IMAGENET1K_V1.transforms()(Image.open(ds.files[2]).convert("RGB"))
    ours = TorchvisionResNet().to_batch(ds.inputs([2]))[0]
    assert ours.shape == reference.shape and float((ours - reference).abs().max()) < 1e-5


@pytest.mark.parametrize("layout", ["kaggle", "devkit"])
def test_flat_layouts_give_the_same_samples_labels_and_fingerprint(tmp_path, tree, layout):
    write_imagenet(tmp_path, layout)
    flat, folders = open_imagenet(tmp_path), open_imagenet(tree)
    assert list(flat.ids()) == list(folders.ids())
    assert flat.labels().tolist() == folders.labels().tolist()
    assert flat.info.fingerprint == folders.info.fingerprint and flat.info.class_names == WNIDS


def test_root_may_be_val_itself_or_the_kaggle_tree(tmp_path, tree):
    kaggle = tmp_path / "kaggle"
    write_imagenet(kaggle, "kaggle")
    nested = kaggle / "ILSVRC" / "Data" / "CLS-LOC"
    nested.mkdir(parents=True)
    (kaggle / "val").rename(nested / "val")
    expected = open_imagenet(tree).info.fingerprint
    assert open_imagenet(tree / "val").info.fingerprint == expected
    assert open_imagenet(kaggle).info.fingerprint == expected  # labels found at the Kaggle top level
    assert open_imagenet(nested).info.fingerprint == expected


def test_synset_mapping_keeps_the_thousand_class_indices_for_a_subset(tmp_path):
    write_imagenet(tmp_path, wnids=WNIDS[1:])
    all_wnids = ["n01440764", "n01443537", "n01484850", "n01491361"]
    (tmp_path / "LOC_synset_mapping.txt").write_text("".join(f"{w} some fish\n" for w in all_wnids))
    ds = open_imagenet(tmp_path)
    assert ds.info.num_classes == 4 and sorted(set(ds.labels().tolist())) == [1, 2]


def test_num_classes_widens_the_label_space_and_the_fingerprint_tracks_content(tmp_path):
    write_imagenet(tmp_path, per_class=2)
    base = open_imagenet(tmp_path)
    assert open_imagenet(tmp_path, num_classes=1000).info.num_classes == 1000
    with pytest.raises(DataError, match="num_classes=2"):
        open_imagenet(tmp_path, num_classes=2)
    victim = base.files[0]
    victim.write_bytes(victim.read_bytes() + b"\0")
    assert open_imagenet(tmp_path).info.fingerprint != base.info.fingerprint


def test_registered_factory_and_a_missing_root(tmp_path, tree):
    factory = DATASETS.get("imagenet")
    assert factory("val", tree).info.fingerprint == open_imagenet(tree).info.fingerprint
    with pytest.raises(DataError, match=r"needs --data-root.*val/<wnid>/\*\.JPEG.*image-net\.org"):
        factory("val", None)
    with pytest.raises(DataError, match=rf"{tmp_path / 'nowhere'} does not exist.*image-net\.org"):
        factory("val", tmp_path / "nowhere")
    with pytest.raises(DataError, match="'val' and 'train' only"):
        factory("test", tree)


def test_a_root_without_a_split_folder_is_explained(tmp_path):
    (tmp_path / "ILSVRC2012_devkit_t12").mkdir()
    with pytest.raises(DataError, match=rf"no val/ folder in {tmp_path}; expected DIR/val/<wnid>"):
        open_imagenet(tmp_path)


def test_an_unreadable_folder_is_named(tree, monkeypatch):
    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", refuse)
    with pytest.raises(DataError, match=rf"{tree / 'val'}: cannot be read \(Permission denied\)"):
        open_imagenet(tree)


def _broken_copy(tree: Path, tmp_path: Path) -> Path:
    shutil.copytree(tree, tmp_path / "copy")
    return tmp_path / "copy"


def test_an_undecodable_image_names_the_file(tmp_path, tree):
    root = _broken_copy(tree, tmp_path)
    bad = root / "val" / WNIDS[1] / "ILSVRC2012_val_00000002.JPEG"
    bad.write_bytes(b"\xff\xd8 this is not a jpeg")
    ds = open_imagenet(root)  # lazy: listing works, decoding names the file
    with pytest.raises(DataError, match="ILSVRC2012_val_00000002.JPEG: not a decodable image"):
        ds.inputs([1])


@pytest.mark.parametrize("damage,message", [
    (lambda val: (val / "n09999999").mkdir(), "class folder .*n09999999 holds no images"),
    (lambda val: (val / "misc").mkdir(), "misc is not a class folder named by WordNet id"),
    (lambda val: shutil.copy(next((val / WNIDS[0]).iterdir()), val / "stray.JPEG"), "mixes images and class"),
])
def test_broken_class_folder_layouts_are_explained(tmp_path, tree, damage, message):
    root = _broken_copy(tree, tmp_path)
    damage(root / "val")
    with pytest.raises(DataError, match=message):
        open_imagenet(root)


def test_flat_layout_problems_are_explained(tmp_path):
    write_imagenet(tmp_path, "kaggle")
    solution = tmp_path / "LOC_val_solution.csv"
    lines = solution.read_text().splitlines()
    solution.write_text("\n".join(lines[:-1]) + "\n")  # the last image loses its label
    with pytest.raises(DataError, match="ILSVRC2012_val_00000012.JPEG: no label"):
        open_imagenet(tmp_path)
    solution.write_text("\n".join(lines).replace("n01484850", "n0148485x") + "\n")
    with pytest.raises(DataError, match="'n0148485x' is not a WordNet id"):
        open_imagenet(tmp_path)
    (tmp_path / "LOC_synset_mapping.txt").write_text("n01440764 tench\nn01443537 goldfish\n")
    solution.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="unknown wnid n01484850"):
        open_imagenet(tmp_path)
    solution.unlink()
    with pytest.raises(DataError, match="holds images but no labels: put LOC_val_solution.csv"):
        open_imagenet(tmp_path)


# ------------------------------------------------------------ the task model


def test_every_split_point_finishes_to_the_same_prediction(tree, tiny_model):
    images = open_imagenet(tree, resize=73, crop=64).inputs(range(6))  # small crops: fast, same network
    direct = tiny_model.predict(images)
    widths = []
    for split in SPLITS:
        feats = tiny_model.features(images, split)
        widths.append(feats.shape[1:])
        assert np.array_equal(tiny_model.predict_from_features(feats, split), direct)
        assert np.array_equal(tiny_model.predict_from_features(feats.numpy(), split), direct)
    assert widths == [(64, 16, 16), (128, 8, 8), (256, 4, 4), (512, 2, 2)]
    assert tiny_model.feature_shape("layer3") == (256, 14, 14)  # at 224 × 224
    with pytest.raises(UsageError, match="no split point 'fc'"):
        tiny_model.features(images, "fc")


def test_random_weights_are_seeded_and_recorded(tiny_model):
    again = TorchvisionResNet(**TINY)
    again.prepare(TaskContext(train=None, cache_dir=Path("unused")))
    image = [np.full((64, 64, 3), 90, np.uint8)]
    assert again.features(image, "layer4").equal(tiny_model.features(image, "layer4"))
    assert again.params["weights"] == "random" and again.params["weights_seed"] == 0
    assert TASK_MODELS.get("resnet50") is TorchvisionResNet


@pytest.fixture
def empty_hub(tmp_path, monkeypatch) -> Path:
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints"


def test_missing_weights_say_which_file_goes_where(empty_hub):
    model = TorchvisionResNet()
    with pytest.raises(DataError, match=rf"put resnet50-0676ba61\.pth .*IMAGENET1K_V1.* into {empty_hub}/"):
        model.prepare(TaskContext(train=None, cache_dir=Path("unused")))


def test_a_damaged_hub_file_is_refused(empty_hub):
    empty_hub.mkdir(parents=True)
    (empty_hub / "resnet18-f37072fd.pth").write_bytes(b"half a download")
    with pytest.raises(DataError, match="resnet18-f37072fd.pth is damaged"):
        TorchvisionResNet(arch="resnet18").prepare(TaskContext(train=None, cache_dir=Path("unused")))


def test_a_hub_cache_file_is_found_and_its_hash_checked(tiny_model, empty_hub, monkeypatch):
    import torch

    from vcmbench.tasks import torchvision_models
    from vcmbench.tasks.torchvision_models import file_sha256

    empty_hub.mkdir(parents=True)
    staged = empty_hub / "staged.pth"
    torch.save(tiny_model.network.state_dict(), staged)
    final = staged.rename(empty_hub / f"resnet18-{file_sha256(staged)[:8]}.pth")  # torchvision's naming
    missing = empty_hub / "resnet18-00000000.pth"
    monkeypatch.setattr(torchvision_models, "hub_weight_files",
                        lambda arch: [("V1", "https://x/v1", missing), ("V2", "https://x/v2", final)])
    model = TorchvisionResNet(arch="resnet18", num_classes=3)
    model.prepare(TaskContext(train=None, cache_dir=Path("unused")))
    assert model.params["weights"] == final.name
    image = [np.full((64, 64, 3), 200, np.uint8)]
    assert model.features(image, "layer1").equal(tiny_model.features(image, "layer1"))


def test_a_named_weights_file_is_loaded_and_identified(tmp_path, tiny_model, empty_hub):
    import torch

    path = tmp_path / "tiny.pth"
    torch.save({"state_dict": tiny_model.network.state_dict()}, path)
    model = TorchvisionResNet(arch="resnet18", num_classes=3)
    model.prepare(TaskContext(train=None, cache_dir=Path("unused"), seed=7, weights=path))
    image = [np.full((64, 64, 3), 30, np.uint8)]
    assert model.features(image, "layer2").equal(tiny_model.features(image, "layer2"))
    assert model.params["weights"] == "tiny.pth" and len(model.params["weights_sha256"]) == 16
    model.prepare(TaskContext(train=None, cache_dir=Path("unused"), seed=7, weights=path))  # again: same
    assert model.params["weights"] == "tiny.pth"
    dated = path.rename(tmp_path / "run-20240101.pth")  # hex-like digits in a user's own name are no hash
    TorchvisionResNet(arch="resnet18", num_classes=3).prepare(TaskContext(None, Path("u"), weights=dated))
    path = dated
    wrong = TorchvisionResNet(arch="resnet18", num_classes=10)
    with pytest.raises(DataError, match="does not fit resnet18 with 10 classes"):
        wrong.prepare(TaskContext(train=None, cache_dir=Path("unused"), weights=path))
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not torch")
    with pytest.raises(DataError, match="junk.pth is not a readable torch state dict"):
        TorchvisionResNet(arch="resnet18").prepare(TaskContext(train=None, cache_dir=Path("u"), weights=junk))
    with pytest.raises(DataError, match="nothere.pth not found"):
        TorchvisionResNet().prepare(TaskContext(None, Path("u"), weights=tmp_path / "nothere.pth"))
    with pytest.raises(UsageError, match="weights given twice"):
        TorchvisionResNet(weights="random").prepare(TaskContext(None, Path("u"), weights=path))


def test_bad_architectures_are_refused():
    with pytest.raises(UsageError, match="not a torchvision ResNet"):
        TorchvisionResNet(arch="vgg16", weights="random").prepare(TaskContext(None, Path("u")))
    with pytest.raises(UsageError, match="num_classes"):
        TorchvisionResNet(num_classes=1)


# ------------------------------------------------------------- the pipeline


class RawFeatures(SampleCodec):
    """float32 activations at layer3, framed: what a split-computing codec hands the receiver."""

    decodes_to = "input"

    def prepare(self, ctx):
        self.model = ctx.task_model

    def encode(self, x):
        return pack_array(self.model.features([x], self.split)[0].numpy())

    def decode(self, data):
        import torch

        return torch.from_numpy(unpack_array(data))


def test_features_route_through_the_pipeline_to_the_same_accuracy(tmp_path, tree, tiny_model):
    from vcmbench.api.codec import CodecContext

    codec_cls = type("RawFeaturesLayer3", (RawFeatures,), {"decodes_to": "features", "split": "layer3",
                                                          "name": "t-features"})
    ds = LimitedDataset(open_imagenet(tree, resize=73, crop=64), 6)
    codec = codec_cls()
    reference = float((tiny_model.predict(ds.inputs(range(len(ds))))[:, 0] == ds.labels()).mean())
    record = evaluate_point(codec, ds, tiny_model, suite="t", reference_accuracy=reference,
                            out_path=tmp_path / "r.json", codec_context=CodecContext(tiny_model, None, 3),
                            batch_size=5, progress=False)
    assert record.status == "ok", record.error
    assert record.metrics.accuracy == reference
    assert record.metrics.bits_per_sample > 32 * 256 * 4 * 4  # float32 activations, plus a header


def suite_config(**changes):
    raw = yaml.safe_load(find_suite("imagenet").read_text())
    raw.update(changes)
    return parse_suite(raw)


def test_the_imagenet_suite_names_resnet50_and_its_codecs():
    config = suite_config()
    assert config.dataset == "imagenet" and config.split == "val" and config.task_model == "resnet50"
    assert [c.name for c in config.codecs] == [
        "entropic-student", "split-feature", "jpeg", "webp", "jpeg2000", "jpegxl", "avif", "heif",
        "bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean", "cheng2020-anchor"]
    assert config.train_split == "train"  # the learned codecs train on ILSVRC2012 train
    for entry in config.codecs:
        if entry.name not in CODECS:  # a codec family that has not landed yet
            continue
        cls = CODECS.get(entry.name)
        points = entry.points if entry.points is not None else cls.operating_points()
        codecs = [cls(**{**entry.params, **point}) for point in points]  # every point is a valid codec
        if cls.decodes_to == "features":
            assert {c.split for c in codecs} <= set(TorchvisionResNet.split_points)


def test_a_train_folder_is_read_like_val(tmp_path, tree):
    shutil.copytree(tree / "val", tmp_path / "train")
    ds = DATASETS.get("imagenet")("train", tmp_path)
    assert ds.info.split == "train" and ds.info.id == "imagenet-train-12img" and len(ds) == 12
    assert DATASETS.get("imagenet")("train", tmp_path / "train").info.fingerprint == ds.info.fingerprint
    with pytest.raises(DataError, match="no train/ folder in"):  # a val folder never passes as train
        DATASETS.get("imagenet")("train", tree / "val")
    renamed = (tmp_path / "train").rename(tmp_path / "ILSVRC2012_img_val")
    assert open_imagenet(renamed).info.split == "val"  # an extracted tar under its own name is val


@pytest.mark.slow
def test_suite_end_to_end_on_the_tiny_tree(tmp_path, tree, tiny_model):
    config = suite_config(
        task_model={"name": "resnet50", "params": TINY},
        codecs=[{"name": "jpeg", "points": [{"quality": 10}]}, {"name": "webp", "points": [{"quality": 50}]},
                {"name": "png"}],
        batch_size=4, train_split=None,  # image codecs use no training split
    )
    records = run_suite(config, data_root=tree, out=tmp_path, limit=3, device="cpu", progress=False,
                        log=lambda _: None)
    assert [r.status for r in records] == ["ok"] * 3
    ds = LimitedDataset(open_imagenet(tree), 3)
    images = ds.inputs(range(len(ds)))
    model = tiny_model  # same architecture, same seed: the same weights as the suite's
    ranked = model.predict(images)  # the most likely classes, label first (3 classes: all three)
    assert ranked.shape == (3, 3)
    reference = float((ranked[:, 0] == ds.labels()).mean())
    for record in records:
        codec = CODECS.get(record.codec.name)(**record.codec.params)
        assert record.metrics.bits_total == sum(8 * len(codec.encode(x)) for x in images)
        assert record.metrics.bits_per_pixel == pytest.approx(record.metrics.bits_per_sample / 224**2)
        assert record.task_model.reference_accuracy == reference
        assert record.task_model.params["weights"] == "random"
        assert record.dataset.id == "imagenet-val-12img" and record.dataset.prior_counts == [1, 1, 1]
    jpeg, webp, png = records
    assert max(jpeg.metrics.bits_total, webp.metrics.bits_total) < png.metrics.bits_total
    rows = list(csv.DictReader((tmp_path / "imagenet" / "imagenet-val-12img-first3" / "png" /
                                png.samples_file).open()))
    assert [int(r["prediction"]) for r in rows] == ranked[:, 0].tolist()  # lossless: same answers


def test_cli_explains_a_missing_dataset_in_one_line(tmp_path, capsys):
    code = main(["run", "imagenet", "--data-root", str(tmp_path / "none"), "--codec", "jpeg",
                 "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "image-net.org" in err and "val/<wnid>" in err


def test_cli_explains_missing_weights_in_one_line(tmp_path, tree, empty_hub, capsys):
    shutil.copytree(tree / "val", tmp_path / "data" / "val")
    shutil.copytree(tree / "val", tmp_path / "data" / "train")
    code = main(["run", "imagenet", "--data-root", str(tmp_path / "data"), "--codec", "jpeg",
                 "--out", str(tmp_path), "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "resnet50-0676ba61.pth" in err


@pytest.mark.data
def test_real_imagenet_validation_set():
    """Needs VCMBENCH_DATA_ROOT/imagenet holding the ILSVRC2012 validation set."""
    root = Path(os.environ.get("VCMBENCH_DATA_ROOT", "")) / "imagenet"
    if not os.environ.get("VCMBENCH_DATA_ROOT") or not root.is_dir():
        pytest.skip("set VCMBENCH_DATA_ROOT to a folder holding imagenet/val")
    ds = open_imagenet(root)
    assert ds.info.id == "imagenet" and len(ds) == 50_000 and ds.info.num_classes == 1000
    assert ds.info.class_names[0] == "n01440764" and np.bincount(ds.labels()).tolist() == [50] * 1000
    assert ds.inputs([0])[0].shape == (224, 224, 3)
