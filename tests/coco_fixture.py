"""A tiny COCO 2017 layout written by the tests: DIR/annotations/instances_val2017.json + DIR/val2017/.

Six images of different sizes and colour modes (RGB PNG, grey PNG, CMYK JPEG, palette PNG, RGB
JPEG), three categories with COCO-style gaps in their ids (2, 5, 7), a crowd region, and an image
without objects. Objects are flat rectangles and discs on a plain background, easy to find.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

CATEGORIES = [{"id": 2, "name": "box", "supercategory": "shape"},
              {"id": 5, "name": "disc", "supercategory": "shape"},
              {"id": 7, "name": "bar", "supercategory": "shape"}]
# (file name, width, height, mode, format, objects as (category id, x, y, w, h, iscrowd))
IMAGES = [
    ("000000000011.png", 64, 48, "RGB", "PNG", [(2, 4, 4, 20, 16, 0), (5, 36, 20, 16, 16, 0)]),
    ("000000000012.png", 48, 64, "L", "PNG", [(7, 10, 8, 8, 40, 0)]),
    ("000000000013.jpg", 64, 64, "CMYK", "JPEG", [(2, 30, 30, 24, 20, 0), (7, 4, 40, 30, 6, 0),
                                                  (5, 6, 6, 12, 12, 0)]),
    ("000000000014.png", 40, 40, "P", "PNG", []),
    ("000000000015.jpg", 72, 48, "RGB", "JPEG", [(5, 40, 8, 20, 20, 0), (2, 2, 2, 30, 40, 1)]),
    ("000000000016.png", 64, 48, "RGB", "PNG", [(7, 20, 10, 30, 8, 0)]),
]
FILL = {2: (200, 30, 30), 5: (30, 200, 30), 7: (30, 30, 200)}


def instances(images: list[tuple[Any, ...]] = IMAGES) -> dict[str, Any]:
    """The COCO instances dictionary of ``images`` (image ids from the file names, as COCO's)."""
    out_images, anns = [], []
    for name, w, h, _, _, objects in images:
        image_id = int(Path(name).stem)
        out_images.append({"id": image_id, "file_name": name, "width": w, "height": h})
        for cat, x, y, bw, bh, crowd in objects:
            anns.append({"id": len(anns) + 100, "image_id": image_id, "category_id": cat,
                         "bbox": [x, y, bw, bh], "area": float(bw * bh), "iscrowd": crowd})
    return {"images": out_images, "annotations": anns, "categories": CATEGORIES}


def draw(w: int, h: int, objects: list[tuple[int, ...]]) -> Image.Image:
    img = Image.new("RGB", (w, h), (128, 128, 110))
    pen = ImageDraw.Draw(img)
    for cat, x, y, bw, bh, _ in objects:
        box = (x, y, x + bw - 1, y + bh - 1)
        (pen.ellipse if cat == 5 else pen.rectangle)(box, fill=FILL[cat])
    return img


def write_coco_fixture(root: Path, images: list[tuple[Any, ...]] = IMAGES,
                       data: dict[str, Any] | None = None) -> Path:
    """Write the layout under ``root``; return ``root`` (the --data-root)."""
    folder = root / "val2017"
    folder.mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for name, w, h, mode, fmt, objects in images:
        draw(w, h, objects).convert(mode).save(folder / name, format=fmt)
    payload = instances(images) if data is None else data
    (root / "annotations" / "instances_val2017.json").write_text(json.dumps(payload), encoding="utf-8")
    return root


def rgb_of(root: Path, name: str) -> np.ndarray:
    with Image.open(root / "val2017" / name) as img:
        return np.asarray(img.convert("RGB"))
