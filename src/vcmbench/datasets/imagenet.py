"""ImageNet (ILSVRC2012) classification read from the user's own copy; nothing ships, nothing downloads.

Two layouts of a split folder (``val/`` or ``train/``) are understood:

* class folders: ``val/<wnid>/*.JPEG`` (what torchvision's ``ImageFolder`` reads);
* flat: ``val/*.JPEG`` plus a label file, either Kaggle's ``LOC_val_solution.csv`` or the
  ILSVRC2012 devkit's ``ILSVRC2012_validation_ground_truth.txt`` with its ``meta.mat``
  (looked for beside the images, next to ``val/``, and in ``ILSVRC2012_devkit_t12/data/``).

Class index = position in the sorted list of WordNet ids (index 0 = n01440764), the order of
every torchvision ImageNet model. The wnid list is, in this order of preference: Kaggle's
``LOC_synset_mapping.txt`` when present, the devkit's 1000 leaf synsets, the wnids of the label
file, or the sorted class-folder names. A subset of classes therefore only keeps the 1000-class
indices when ``LOC_synset_mapping.txt`` sits beside ``val/``; ``num_classes`` defaults to the
number of wnids found.

Samples are ordered by file name, so both layouts give the same order (and fingerprint), and
``--limit N`` takes a mix of classes rather than the first class folder. The task input is what
the model sees: RGB (grey and CMYK files are converted), resized to 256 on the short side,
centre-cropped to 224, as a uint8 (224, 224, 3) array; image codecs code exactly that.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from vcmbench.api.dataset import DatasetInfo, register_dataset
from vcmbench.errors import DataError

RESIZE = 256
CROP = 224
IMAGE_SUFFIXES = frozenset({".jpeg", ".jpg", ".png"})
WNID = re.compile(r"n\d{8}")
VAL_NUMBER = re.compile(r"ILSVRC2012_val_(\d{8})")
FULL_SIZES = {"val": 50_000, "train": 1_281_167}

KAGGLE_LABELS = "LOC_val_solution.csv"
KAGGLE_SYNSETS = "LOC_synset_mapping.txt"
DEVKIT_DIR = Path("ILSVRC2012_devkit_t12") / "data"
DEVKIT_LABELS = "ILSVRC2012_validation_ground_truth.txt"
DEVKIT_META = "meta.mat"

LAYOUT = ("expected DIR/val/<wnid>/*.JPEG, or DIR/val/*.JPEG with LOC_val_solution.csv or the "
          "ILSVRC2012 devkit (ILSVRC2012_devkit_t12/data/) beside val/")
OBTAIN = ("ImageNet is not bundled and never downloaded: get ILSVRC2012_img_val.tar from "
          "https://image-net.org/download-images.php (free registration) or Kaggle's "
          "imagenet-object-localization-challenge")


class ImageNetDataset:
    """A lazy split: file paths and labels up front, images decoded only in :meth:`inputs`."""

    def __init__(self, files: Sequence[Path], labels: Sequence[int], wnids: Sequence[str], split: str,
                 num_classes: int | None = None, resize: int = RESIZE, crop: int = CROP):
        if len(files) != len(labels):
            raise ValueError(f"{len(files)} files but {len(labels)} labels")
        k = len(wnids) if num_classes is None else num_classes
        if k < len(wnids):
            raise DataError(f"num_classes={k} but the data names {len(wnids)} wnids")
        self.files = list(files)
        self.wnids = tuple(wnids)
        self.resize, self.crop = resize, crop
        self._labels = np.asarray(labels, dtype=np.int64)
        stems = [f.stem for f in self.files]
        self._ids = stems if len(set(stems)) == len(stems) else [f"{f.parent.name}/{f.stem}" for f in files]
        full = len(files) == FULL_SIZES.get(split) and k == 1000
        self.info = DatasetInfo(
            id="imagenet" if full and split == "val" else f"imagenet-{split}-{len(files)}img",
            split=split, num_classes=k, fingerprint=self._fingerprint(), input_kind="image",
            pixels_per_sample=crop * crop, class_names=self.wnids,
        )

    def _fingerprint(self) -> str:
        """sha256 over wnids, preprocessing and each file's name, size and label (not the 6 GB of pixels)."""
        h = hashlib.sha256()
        h.update(f"{','.join(self.wnids)}|resize={self.resize}|crop={self.crop}\n".encode())
        for path, label in zip(self.files, self._labels, strict=True):
            try:
                size = path.stat().st_size
            except OSError as exc:
                raise DataError(f"{path}: cannot be read ({exc.strerror})") from exc
            h.update(f"{path.name}\t{size}\t{label}\n".encode())
        return h.hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.files)

    def ids(self) -> Sequence[str]:
        return self._ids

    def labels(self) -> np.ndarray:
        return self._labels

    def inputs(self, indices: Sequence[int]) -> list[np.ndarray]:
        return [load_image(self.files[i], self.resize, self.crop) for i in indices]


def load_image(path: Path, resize: int = RESIZE, crop: int = CROP) -> np.ndarray:
    """One file as the model sees it: RGB, short side ``resize`` (bilinear, antialiased), centre ``crop``."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as tvf

    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB")  # grey (L), CMYK (incl. Adobe-inverted) and palette files alike
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: not a decodable image ({exc})") from exc
    rgb = tvf.resize(rgb, resize, interpolation=InterpolationMode.BILINEAR, antialias=True)
    return np.asarray(tvf.center_crop(rgb, crop), dtype=np.uint8).copy()


def find_split_dir(root: Path, split: str) -> Path:
    """``root/<split>``, Kaggle's ``root/ILSVRC/Data/CLS-LOC/<split>``, or ``root`` itself.

    ``root`` itself is the split when it is named so, or, for val only, when it holds images or
    class folders (an extracted ILSVRC2012_img_val.tar): a val folder never passes as train.
    """
    if not root.is_dir():
        raise DataError(f"ImageNet folder {root} does not exist; {LAYOUT}. {OBTAIN}")
    for candidate in (root / split, root / "ILSVRC" / "Data" / "CLS-LOC" / split):
        if candidate.is_dir():
            return candidate
    if root.name == split:
        return root
    if split == "val" and root.name not in FULL_SIZES and (
            _images(root) or any(WNID.fullmatch(d.name) for d in _class_dirs(root))):
        return root
    raise DataError(f"no {split}/ folder in {root}; {LAYOUT}. {OBTAIN}")


def _images(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]


def _class_dirs(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]


def _label_dirs(root: Path, split_dir: Path) -> list[Path]:
    """Where label files may sit: beside the images, next to the split folder, the root, the Kaggle top."""
    dirs = [split_dir, split_dir.parent, root]
    if split_dir.parts[-4:-1] == ("ILSVRC", "Data", "CLS-LOC"):
        dirs.append(split_dir.parents[3])
    dirs += [d / DEVKIT_DIR for d in list(dirs)]
    return list(dict.fromkeys(dirs))


def _find(dirs: Sequence[Path], name: str) -> Path | None:
    return next((d / name for d in dirs if (d / name).is_file()), None)


def read_synset_mapping(path: Path) -> list[str]:
    """Kaggle's ``LOC_synset_mapping.txt``: one ``<wnid> <names>`` line per class."""
    wnids = [line.split(maxsplit=1)[0] for line in _read_lines(path) if line.strip()]
    _check_wnids(wnids, path)
    return sorted(wnids)


def read_kaggle_labels(path: Path) -> dict[str, str]:
    """Kaggle's ``LOC_val_solution.csv``: image id -> the wnid of its first box."""
    labels: dict[str, str] = {}
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                boxes = (row.get("PredictionString") or "").split()
                if not row.get("ImageId") or not boxes:
                    raise DataError(f"{path}: expected columns ImageId,PredictionString with a wnid first")
                labels[row["ImageId"]] = boxes[0]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: not readable as Kaggle's {KAGGLE_LABELS} ({exc})") from exc
    _check_wnids(labels.values(), path)
    return labels


def read_devkit_labels(ground_truth: Path, meta: Path) -> tuple[dict[int, str], list[str]]:
    """The devkit's per-image ILSVRC2012_ID list and ``meta.mat``: val image number -> wnid, leaf wnids."""
    from scipy.io import loadmat

    try:
        synsets = loadmat(str(meta), squeeze_me=True)["synsets"]
        by_id = {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets if int(s["num_children"]) == 0}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{meta}: not the ILSVRC2012 devkit's meta.mat ({exc})") from exc
    try:
        ids = [int(line) for line in _read_lines(ground_truth) if line.strip()]
        per_image = {number: by_id[i] for number, i in enumerate(ids, start=1)}
    except (ValueError, KeyError) as exc:
        raise DataError(f"{ground_truth}: expected one ILSVRC2012_ID (1..{len(by_id)}) per line") from exc
    return per_image, sorted(by_id.values())


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not readable ({exc})") from exc


def _check_wnids(wnids, where: Path) -> None:
    bad = next((w for w in wnids if not WNID.fullmatch(w)), None)
    if bad is not None:
        raise DataError(f"{where}: {bad!r} is not a WordNet id (like n01440764)")


def _index(wnids: Sequence[str], wnid: str, where: Path, source: Path | None) -> int:
    try:
        return wnids.index(wnid)
    except ValueError:
        origin = f" in {source}" if source else ""
        raise DataError(f"{where}: unknown wnid {wnid} (not among the {len(wnids)} wnids{origin})") from None


def _class_folder_samples(folders: list[Path], mapping: Path | None
                          ) -> tuple[list[Path], list[int], list[str]]:
    for folder in folders:
        if not WNID.fullmatch(folder.name):
            raise DataError(f"{folder} is not a class folder named by WordNet id (like n01440764); {LAYOUT}")
    wnids = read_synset_mapping(mapping) if mapping else sorted(f.name for f in folders)
    files, labels = [], []
    for folder in folders:
        images = _images(folder)
        if not images:
            raise DataError(f"class folder {folder} holds no images (*.JPEG); restore them or remove it")
        label = _index(wnids, folder.name, folder, mapping)
        files += images
        labels += [label] * len(images)
    return files, labels, wnids


def _flat_samples(root: Path, split_dir: Path, images: list[Path], mapping: Path | None
                  ) -> tuple[list[Path], list[int], list[str]]:
    dirs = _label_dirs(root, split_dir)
    kaggle = _find(dirs, KAGGLE_LABELS)
    ground_truth, meta = _find(dirs, DEVKIT_LABELS), _find(dirs, DEVKIT_META)
    if kaggle is not None:
        by_id = read_kaggle_labels(kaggle)
        wnids = read_synset_mapping(mapping) if mapping else sorted(set(by_id.values()))
        source = mapping or kaggle

        def wnid_of(path: Path) -> str | None:
            return by_id.get(path.stem)
    elif ground_truth is not None and meta is not None:
        by_number, leaf_wnids = read_devkit_labels(ground_truth, meta)
        wnids, source = leaf_wnids, meta

        def wnid_of(path: Path) -> str | None:
            match = VAL_NUMBER.fullmatch(path.stem)
            return by_number.get(int(match.group(1))) if match else None
    else:
        raise DataError(f"{split_dir} holds images but no labels: put {KAGGLE_LABELS} (Kaggle) or "
                        f"{DEVKIT_DIR}/{DEVKIT_LABELS} with {DEVKIT_META} (ILSVRC2012 devkit) beside it, "
                        f"or sort the images into <wnid>/ folders")
    labels = []
    for path in images:
        wnid = wnid_of(path)
        if wnid is None:
            raise DataError(f"{path}: no label for this image in {kaggle or ground_truth}")
        labels.append(_index(wnids, wnid, path, source))
    return images, labels, wnids


def open_imagenet(data_root: Path | str, split: str = "val", *, num_classes: int | None = None,
                  resize: int = RESIZE, crop: int = CROP) -> ImageNetDataset:
    """Index an ImageNet split on disk (no pixels read yet); DataError says what is missing and where."""
    if split not in FULL_SIZES:
        raise DataError(f"ImageNet split {split!r}: labels are public for 'val' and 'train' only")
    if not 0 < crop <= resize:
        raise DataError(f"ImageNet preprocessing needs 0 < crop <= resize, got crop={crop} resize={resize}")
    root = Path(data_root).expanduser()
    try:
        files, labels, wnids = _index_split(root, split)
    except OSError as exc:  # unreadable folders: a permissions or mount problem, named
        raise DataError(f"{exc.filename or root}: cannot be read ({exc.strerror or exc})") from exc
    order = sorted(range(len(files)), key=lambda i: (files[i].name, str(files[i])))
    return ImageNetDataset([files[i] for i in order], [labels[i] for i in order], wnids, split,
                           num_classes=num_classes, resize=resize, crop=crop)


def _index_split(root: Path, split: str) -> tuple[list[Path], list[int], list[str]]:
    split_dir = find_split_dir(root, split)
    images, folders = _images(split_dir), _class_dirs(split_dir)
    if images and folders:
        raise DataError(f"{split_dir} mixes images and class folders; {LAYOUT}")
    if not images and not folders:
        raise DataError(f"{split_dir} holds no images; {LAYOUT}. {OBTAIN}")
    mapping = _find(_label_dirs(root, split_dir), KAGGLE_SYNSETS)
    if folders:
        return _class_folder_samples(folders, mapping)
    if split != "val":
        raise DataError(f"{split_dir}: a flat {split} folder has no standard label file; use <wnid>/ folders")
    return _flat_samples(root, split_dir, images, mapping)


@register_dataset("imagenet")
def imagenet(split: str, data_root: Path | None) -> ImageNetDataset:
    """The registry's factory: ``--data-root`` names the folder that holds ``val/`` (or ``val/`` itself)."""
    if data_root is None:
        raise DataError(f"ImageNet needs --data-root DIR; {LAYOUT}. {OBTAIN}")
    return open_imagenet(data_root, split)
