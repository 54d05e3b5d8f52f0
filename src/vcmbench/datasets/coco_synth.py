"""``shapes-coco-synth``: a procedural object-detection set in real COCO format, generated from seeds.

COCO cannot ship inside a pip package, so the detection suite's default is a deterministic set of
coloured geometric objects (circles and ellipses, rectangles, triangles, crosses, rings, stars)
on textured backgrounds: a smooth colour field, stripes and pixel noise, plus small unannotated
clutter (short lines and dots). Every image holds 0 to 7 objects of sizes from 8 to 56 pixels,
allowed to overlap a little (box IoU below 0.3 with the objects drawn before them), in random
colours, so the class is the shape, not the colour. Images are 160×120 RGB (COCO's 4:3).

The annotations are a COCO instances dictionary (``images``, ``annotations`` with ``bbox`` in
pixels, ``area`` and ``iscrowd``, ``categories`` with non-contiguous ids as in COCO), read by the
same reader as the real COCO files (:mod:`vcmbench.datasets.coco`), so the embedded set takes the
reader's whole path: validation, category mapping, ``pycocotools`` ground truth. Generation
takes about a second per 500 images and happens in memory; :func:`write_coco` writes the same
set as ``annotations/instances_<split>.json`` + ``<split>/*.png`` (what training with ultralytics
and the reader's tests use). Its benchmark id is ``shapes-coco-synth``, never ``coco``.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

DATASET_ID = "shapes-coco-synth"
VERSION = "1"
SEED = 20240917
WIDTH, HEIGHT = 160, 120
SPLIT_SIZES = {"train": 800, "val": 200}
SPLITS = tuple(SPLIT_SIZES)
# COCO's category ids have gaps (1..90 for 80 classes); these do too, so the mapping is exercised.
CATEGORIES = ((1, "circle"), (3, "rectangle"), (4, "triangle"), (6, "cross"), (8, "ring"), (9, "star"))
OBJECT_COUNTS = (0, 1, 2, 3, 4, 5, 6, 7)
COUNT_WEIGHTS = (0.04, 0.14, 0.2, 0.2, 0.16, 0.12, 0.08, 0.06)
MIN_SIZE, MAX_SIZE = 8, 56
MAX_IOU = 0.3


def _background(rng: np.random.Generator) -> np.ndarray:
    """A textured RGB background: smooth colour field, faint stripes, pixel noise."""
    coarse = rng.uniform(40, 215, size=(3, 4, 3)).astype(np.float32)
    field = np.asarray(Image.fromarray(coarse.astype(np.uint8), "RGB").resize((WIDTH, HEIGHT),
                                                                               Image.Resampling.BILINEAR),
                       dtype=np.float32)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    angle = rng.uniform(0, math.pi)
    period = rng.uniform(4, 14)
    stripes = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period)
    field += rng.uniform(4, 18) * stripes[..., None] * rng.uniform(0.5, 1.0, size=3)
    field += rng.normal(0, rng.uniform(3, 10), size=field.shape)
    return np.clip(field, 0, 255).astype(np.uint8)


def _colour(rng: np.random.Generator, under: np.ndarray) -> tuple[int, int, int]:
    """A random colour that stands out from the mean colour of the background under the object."""
    mean = under.reshape(-1, 3).mean(axis=0)
    for _ in range(20):
        c = rng.integers(0, 256, size=3)
        if np.abs(c - mean).sum() > 150:
            break
    return int(c[0]), int(c[1]), int(c[2])


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _star(x0: float, y0: float, x1: float, y1: float, turn: float) -> list[tuple[float, float]]:
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    return [(cx + rx * r * math.cos(turn + k * math.pi / 5), cy + ry * r * math.sin(turn + k * math.pi / 5))
            for k, r in zip(range(10), [1.0, 0.45] * 5, strict=True)]


def _draw(draw: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int], colour: tuple[int, int, int],
          rng: np.random.Generator) -> tuple[int, int, int, int]:
    """Draw one object filling ``box`` (inclusive pixel corners); return its exact pixel extent."""
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "rectangle":
        draw.rectangle(box, fill=colour)
    elif shape == "triangle":
        if rng.random() < 0.5:
            draw.polygon([(x0, y1), (x1, y1), ((x0 + x1) / 2, y0)], fill=colour)
        else:
            draw.polygon([(x0, y0), (x1, y0), ((x0 + x1) / 2, y1)], fill=colour)
    elif shape == "cross":
        tx, ty = max(1, round((x1 - x0) * 0.16)), max(1, round((y1 - y0) * 0.16))
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        draw.rectangle((x0, cy - ty, x1, cy + ty), fill=colour)
        draw.rectangle((cx - tx, y0, cx + tx, y1), fill=colour)
    elif shape == "ring":
        width = max(2, round(min(x1 - x0, y1 - y0) * 0.2))
        draw.ellipse(box, outline=colour, width=width)
    elif shape == "star":
        draw.polygon(_star(x0, y0, x1, y1, -math.pi / 2), fill=colour)
    return box


def _clutter(draw: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
    """Small unannotated distractors: short lines and dots."""
    for _ in range(int(rng.integers(0, 7))):
        x, y = rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT)
        colour = tuple(int(v) for v in rng.integers(0, 256, size=3))
        if rng.random() < 0.5:
            length, angle = rng.uniform(4, 14), rng.uniform(0, math.pi)
            draw.line((x, y, x + length * math.cos(angle), y + length * math.sin(angle)), fill=colour,
                      width=int(rng.integers(1, 3)))
        else:
            r = rng.uniform(1, 2.5)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)


def _image(rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, tuple[int, int, int, int]]]]:
    """One image and its objects as (category index, inclusive pixel box)."""
    pixels = _background(rng)
    img = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(img)
    _clutter(draw, rng)
    count = int(rng.choice(OBJECT_COUNTS, p=COUNT_WEIGHTS))
    objects: list[tuple[int, tuple[int, int, int, int]]] = []
    for _ in range(count):
        for _attempt in range(30):
            size = math.exp(rng.uniform(math.log(MIN_SIZE), math.log(MAX_SIZE)))
            ratio = math.exp(rng.uniform(-0.35, 0.35))
            w = max(MIN_SIZE - 2, min(WIDTH - 1, round(size * ratio)))
            h = max(MIN_SIZE - 2, min(HEIGHT - 1, round(size / ratio)))
            x0 = int(rng.integers(0, WIDTH - w))
            y0 = int(rng.integers(0, HEIGHT - h))
            box = (x0, y0, x0 + w - 1, y0 + h - 1)
            if all(_iou(box, other) < MAX_IOU for _, other in objects):
                break
        else:
            continue
        cat = int(rng.integers(0, len(CATEGORIES)))
        under = pixels[box[1]:box[3] + 1, box[0]:box[2] + 1]
        objects.append((cat, _draw(draw, CATEGORIES[cat][1], box, _colour(rng, under), rng)))
    return np.asarray(img, dtype=np.uint8).copy(), objects


@lru_cache(maxsize=4)
def generate(split: str) -> tuple[dict[str, Any], tuple[np.ndarray, ...]]:
    """The split as a COCO instances dictionary and its images (in the order of ``images``)."""
    if split not in SPLIT_SIZES:
        raise KeyError(split)
    rng = np.random.default_rng([SEED, SPLITS.index(split)])
    images, annotations, pixels = [], [], []
    for i in range(SPLIT_SIZES[split]):
        image_id = 1 + i
        array, objects = _image(rng)
        pixels.append(array)
        images.append({"id": image_id, "file_name": f"{image_id:06d}.png", "width": WIDTH, "height": HEIGHT})
        for cat, (x0, y0, x1, y1) in objects:
            w, h = x1 - x0 + 1, y1 - y0 + 1
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": CATEGORIES[cat][0], "bbox": [x0, y0, w, h],
                                "area": float(w * h), "iscrowd": 0})
    data = {"info": {"description": f"{DATASET_ID} {split} (vcmbench {VERSION}, seed {SEED})",
                     "version": VERSION},
            "images": images, "annotations": annotations,
            "categories": [{"id": cid, "name": name, "supercategory": "shape"} for cid, name in CATEGORIES]}
    for array in pixels:
        array.setflags(write=False)
    return data, tuple(pixels)


def coco_split_name(split: str) -> str:
    """The folder and annotation-file stem of a split, as COCO names them (``val2017``)."""
    return split


def write_coco(root: Path, split: str) -> Path:
    """Write ``root/annotations/instances_<split>.json`` and ``root/<split>/*.png``; return ``root``."""
    data, pixels = generate(split)
    root = Path(root)
    folder = root / split
    folder.mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for entry, array in zip(data["images"], pixels, strict=True):
        Image.fromarray(array, "RGB").save(folder / entry["file_name"], format="PNG")
    (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(data), encoding="utf-8")
    return root
