"""COCO object detection: an instances JSON and its image folder, read through ``pycocotools``.

``--data-root DIR`` reads ``DIR/annotations/instances_<split>2017.json`` and ``DIR/<split>2017/``
(split ``val`` → val2017, the 5,000 images COCO results are reported on; ``train`` → train2017).
Without a data root the suite runs on the embedded procedural set ``shapes-coco-synth``
(:mod:`vcmbench.datasets.coco_synth`), a COCO dictionary checked by the same code.

What the reader guarantees, each as a one-line :class:`~vcmbench.errors.DataError` naming the file:
the annotations are a COCO instances file (``images``, ``annotations``, ``categories``, unique ids);
every annotation names a known image and category, its box has positive size and lies inside its
image (1 pixel of slack, then clipped); every image file exists, decodes, and has the size the
annotations give it. Grey, CMYK and palette images are converted to RGB (what the detectors take).

The contract (:class:`~vcmbench.api.dataset.DetectionDataset`): class indices 0..C-1 are the
categories in increasing id order (``category_ids()`` maps back to COCO's ids); an image's label
is its number of annotated objects (crowd regions are not objects: COCOeval ignores detections
on them, and they are left out of the counts); ``targets`` gives the objects with boxes as
fractions of the image; ``coco()`` is the ground truth as a ``pycocotools.coco.COCO`` (with the
crowd regions), for COCOeval. Rates of this dataset are per image, and bits per pixel are over
the original image: ``pixels_per_sample`` is the mean width × height of the split's images
(rounded), so bits per pixel is the split's total bits over its total pixels.

The fingerprint of real COCO is the sha256 of the annotation file's bytes and every image file's
name and byte size (hashing 800 MB of JPEGs would cost more than the run); the embedded set's
covers its pixels and annotations.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vcmbench.api.dataset import DatasetInfo, Detections, register_dataset
from vcmbench.datasets import coco_synth
from vcmbench.errors import DataError

BOX_SLACK = 1.0  # pixels a box may reach past the image's edge (rounding in the annotation tools)
SPLIT_FOLDERS = {"val": "val2017", "train": "train2017"}


@dataclass(frozen=True)
class CocoIndex:
    """A checked COCO instances dictionary, arranged by image (sorted by image id)."""

    data: dict[str, Any]
    image_ids: tuple[int, ...]
    file_names: tuple[str, ...]
    sizes: np.ndarray  # (N, 2) width, height
    category_ids: tuple[int, ...]  # class index -> COCO category id
    category_names: tuple[str, ...]
    targets: tuple[Detections, ...]  # non-crowd objects per image, boxes as fractions

    @property
    def counts(self) -> np.ndarray:
        return np.array([len(t) for t in self.targets], dtype=np.int64)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def index_instances(raw: Any, where: str) -> CocoIndex:
    """Check a COCO instances dictionary and index it; DataError (``where``: problem) otherwise."""
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), list)
                                            for k in ("images", "annotations", "categories")):
        raise DataError(f"{where}: not a COCO instances file (needs 'images', 'annotations' and "
                        "'categories' lists)")
    categories = {}
    for c in raw["categories"]:
        if not isinstance(c, dict) or not _is_int(c.get("id")) or not isinstance(c.get("name"), str):
            raise DataError(f"{where}: a category without an integer id and a name: {str(c)[:80]}")
        if c["id"] in categories:
            raise DataError(f"{where}: category id {c['id']} appears twice")
        categories[c["id"]] = c["name"]
    if not categories:
        raise DataError(f"{where}: no categories")
    images: dict[int, dict[str, Any]] = {}
    for im in raw["images"]:
        if not isinstance(im, dict) or not _is_int(im.get("id")) or not isinstance(im.get("file_name"), str):
            raise DataError(f"{where}: an image without an integer id and a file_name: {str(im)[:80]}")
        name, w, h = im["file_name"], im.get("width"), im.get("height")
        if not name or Path(name).name != name or name in (".", ".."):
            raise DataError(f"{where}: image {im['id']}: file_name {name!r} must be a file name in the "
                            "image folder")
        if not (_is_int(w) and _is_int(h) and w > 0 and h > 0):
            raise DataError(f"{where}: image {im['id']}: width and height must be positive integers")
        if im["id"] in images:
            raise DataError(f"{where}: image id {im['id']} appears twice")
        images[im["id"]] = im
    if not images:
        raise DataError(f"{where}: no images")
    category_ids = tuple(sorted(categories))
    class_of = {cid: i for i, cid in enumerate(category_ids)}
    boxes: dict[int, list[list[float]]] = {i: [] for i in images}
    classes: dict[int, list[int]] = {i: [] for i in images}
    seen: set[int] = set()
    for a in raw["annotations"]:
        if not isinstance(a, dict) or not _is_int(a.get("id")):
            raise DataError(f"{where}: an annotation without an integer id: {str(a)[:80]}")
        aid = a["id"]
        if aid in seen:
            raise DataError(f"{where}: annotation id {aid} appears twice")
        seen.add(aid)
        if a.get("image_id") not in images:
            raise DataError(f"{where}: annotation {aid}: unknown image id {a.get('image_id')!r}")
        if a.get("category_id") not in categories:
            raise DataError(f"{where}: annotation {aid}: unknown category id {a.get('category_id')!r}")
        bbox = a.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(_number(v) for v in bbox):
            raise DataError(f"{where}: annotation {aid}: bbox must be [x, y, width, height]")
        x, y, bw, bh = (float(v) for v in bbox)
        im = images[a["image_id"]]
        if bw <= 0 or bh <= 0:
            raise DataError(f"{where}: annotation {aid}: box of size {bw}×{bh}")
        if (x < -BOX_SLACK or y < -BOX_SLACK or x + bw > im["width"] + BOX_SLACK
                or y + bh > im["height"] + BOX_SLACK):
            raise DataError(f"{where}: annotation {aid}: box {bbox} lies outside image {im['id']} "
                            f"({im['width']}×{im['height']})")
        crowd = a.get("iscrowd", 0)
        if crowd not in (0, 1):
            raise DataError(f"{where}: annotation {aid}: iscrowd must be 0 or 1")
        if "area" in a and not _number(a["area"]):
            raise DataError(f"{where}: annotation {aid}: area must be a number")
        if not crowd:
            w, h = im["width"], im["height"]
            boxes[a["image_id"]].append([max(0.0, x) / w, max(0.0, y) / h,
                                         min(w, x + bw) / w, min(h, y + bh) / h])
            classes[a["image_id"]].append(class_of[a["category_id"]])
    order = sorted(images)
    targets = tuple(Detections(np.array(boxes[i]).reshape(-1, 4), np.array(classes[i], dtype=np.int64),
                               np.ones(len(classes[i]))) for i in order)
    return CocoIndex(
        data=raw, image_ids=tuple(order), file_names=tuple(images[i]["file_name"] for i in order),
        sizes=np.array([[images[i]["width"], images[i]["height"]] for i in order], dtype=np.int64),
        category_ids=category_ids, category_names=tuple(categories[c] for c in category_ids), targets=targets,
    )


def coco_ground_truth(data: dict[str, Any]) -> Any:
    """``pycocotools.coco.COCO`` built from a checked dictionary (its progress prints silenced).

    COCOeval reads ``area`` and ``iscrowd`` of every annotation; a file without them gets
    ``area`` = box area and ``iscrowd`` = 0, as COCO's own result loader does for detections.
    """
    from pycocotools.coco import COCO

    anns = [{**a, "area": float(a.get("area", a["bbox"][2] * a["bbox"][3])),
             "iscrowd": int(a.get("iscrowd", 0))} for a in data["annotations"]]
    gt = COCO()
    gt.dataset = {**data, "annotations": anns}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    return gt


class CocoDataset:
    """A COCO detection split: images as uint8 RGB (H, W, 3) arrays, labels = objects per image."""

    def __init__(self, index: CocoIndex, info: DatasetInfo, load_image: Callable[[int], np.ndarray]):
        self.index = index
        self.info = info
        self._load_image = load_image
        self._coco: Any = None

    def __len__(self) -> int:
        return len(self.index.image_ids)

    def ids(self) -> Sequence[str]:
        return [str(i) for i in self.index.image_ids]

    def labels(self) -> np.ndarray:
        return self.index.counts

    def inputs(self, indices: Sequence[int]) -> list[Any]:
        return [self._load_image(int(i)) for i in indices]

    def targets(self, indices: Sequence[int]) -> list[Detections]:
        return [self.index.targets[int(i)] for i in indices]

    def image_sizes(self) -> np.ndarray:
        return self.index.sizes

    def coco(self) -> Any:
        if self._coco is None:
            self._coco = coco_ground_truth(self.index.data)
        return self._coco

    def coco_image_ids(self) -> Sequence[int]:
        return self.index.image_ids

    def category_ids(self) -> Sequence[int]:
        return self.index.category_ids


def _info(index: CocoIndex, dataset_id: str, split: str, fingerprint: str, version: str = "1") -> DatasetInfo:
    counts = index.counts
    pixels = index.sizes[:, 0] * index.sizes[:, 1]
    most = max(1, int(counts.max(initial=0)))  # at least 2 "classes", as every dataset has
    return DatasetInfo(
        id=dataset_id, split=split, num_classes=most + 1, fingerprint=fingerprint,
        input_kind="image", pixels_per_sample=round(float(pixels.mean())),
        class_names=tuple(f"{k} objects" for k in range(most + 1)),
        version=version, task="detection", categories=index.category_names,
    )


def read_image(path: Path, width: int, height: int) -> np.ndarray:
    """One image file as uint8 RGB; DataError naming the file if it is missing, broken or the wrong size."""
    try:
        with Image.open(path) as img:
            img.load()
            rgb = img.convert("RGB")
    except FileNotFoundError:
        raise DataError(f"image file {path} is missing") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(f"image file {path} cannot be decoded ({type(exc).__name__}: {exc})") from exc
    if rgb.size != (width, height):
        raise DataError(f"image file {path} is {rgb.size[0]}×{rgb.size[1]} but the annotations say "
                        f"{width}×{height}")
    return np.asarray(rgb, dtype=np.uint8)


def open_coco(annotations: Path, images: Path, *, dataset_id: str = "coco",
              split: str = "val") -> CocoDataset:
    """A COCO split from its instances JSON and image folder (the reader's whole check, see the module)."""
    annotations, images = Path(annotations), Path(images)
    try:
        data = annotations.read_bytes()
    except FileNotFoundError:
        raise DataError(f"COCO annotations {annotations} not found") from None
    except OSError as exc:
        raise DataError(f"COCO annotations {annotations} cannot be read ({exc.strerror or exc})") from exc
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{annotations}: not JSON ({str(exc).splitlines()[0]})") from exc
    index = index_instances(raw, str(annotations))
    if not images.is_dir():
        raise DataError(f"COCO image folder {images} not found (beside {annotations.parent}: "
                        f"{images.name}/ with the split's images)")
    h = hashlib.sha256(data)
    missing = []
    for name in index.file_names:
        try:
            size = (images / name).stat().st_size
        except OSError:
            missing.append(name)
            continue
        h.update(f"{name}\0{size}\0".encode())
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(f"image file {images / missing[0]} is missing{more}; {annotations.name} lists "
                        f"{len(index.file_names)} images")

    def load(i: int) -> np.ndarray:
        w, h_ = index.sizes[i]
        return read_image(images / index.file_names[i], int(w), int(h_))

    return CocoDataset(index, _info(index, dataset_id, split, h.hexdigest()[:16]), load)


def embedded(split: str) -> CocoDataset:
    """The procedural ``shapes-coco-synth`` split, checked and indexed like a COCO file."""
    data, pixels = coco_synth.generate(split)
    index = index_instances(data, f"{coco_synth.DATASET_ID}/{split}")
    h = hashlib.sha256(json.dumps(data, sort_keys=True).encode())
    for array in pixels:
        h.update(array.tobytes())
    info = _info(index, coco_synth.DATASET_ID, split, h.hexdigest()[:16], version=coco_synth.VERSION)
    order = {image_id: k for k, image_id in enumerate(entry["id"] for entry in data["images"])}
    return CocoDataset(index, info, lambda i: pixels[order[index.image_ids[i]]])


@register_dataset("coco")
def coco(split: str, data_root: Path | None) -> CocoDataset:
    """COCO 2017 from ``data_root`` (``val`` → val2017), else the embedded ``shapes-coco-synth``."""
    if data_root is None:
        if split not in coco_synth.SPLITS:
            raise DataError(f"the embedded {coco_synth.DATASET_ID} set has splits "
                            f"{', '.join(coco_synth.SPLITS)}, not {split!r}")
        return embedded(split)
    root = Path(data_root).expanduser()
    stem = SPLIT_FOLDERS.get(split, split)
    annotations = root / "annotations" / f"instances_{stem}.json"
    if not annotations.is_file():
        raise DataError(f"COCO annotations {annotations} not found: --data-root must hold "
                        f"annotations/instances_{stem}.json and {stem}/ (from "
                        f"https://cocodataset.org/#download: '2017 Train/Val annotations' and "
                        f"'2017 {split.capitalize()} images')")
    return open_coco(annotations, root / stem, dataset_id="coco" if stem.endswith("2017") else f"coco-{stem}",
                     split=split)
