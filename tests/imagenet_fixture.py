"""A tiny ImageNet written by the tests themselves: a few wnids, a few JPEGs, in any standard layout.

File names follow ILSVRC2012 (``ILSVRC2012_val_%08d.JPEG``) with classes interleaved, so sorting
by name mixes classes, as in the real validation set. Some images are grey (L) JPEGs and one is
a CMYK JPEG, the two odd kinds ImageNet really contains.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

WNIDS = ("n01440764", "n01443537", "n01484850")  # the first three ILSVRC2012 classes
COLOURS = ((200, 40, 40), (40, 200, 40), (40, 40, 200))
SIZES = ((300, 240), (260, 400), (500, 375), (240, 240))  # (width, height): both orientations


@dataclass(frozen=True)
class FixtureImage:
    name: str  # file name, e.g. ILSVRC2012_val_00000001.JPEG
    wnid: str
    mode: str  # "RGB" | "L" | "CMYK"


def fixture_images(per_class: int = 4, wnids: tuple[str, ...] = WNIDS) -> list[FixtureImage]:
    """Which images the tree holds; the 2nd image of every class is grey, the 3rd of the first is CMYK."""
    images = []
    for i in range(per_class):
        for c, wnid in enumerate(wnids):
            mode = "L" if i == 1 else "CMYK" if (i == 2 and c == 0) else "RGB"
            images.append(FixtureImage(f"ILSVRC2012_val_{i * len(wnids) + c + 1:08d}.JPEG", wnid, mode))
    return images


def picture(index: int, wnid_index: int) -> Image.Image:
    """A class-coloured image with stripes, so content differs per class and per image."""
    width, height = SIZES[index % len(SIZES)]
    rng = np.random.default_rng(index)
    yy, xx = np.mgrid[0:height, 0:width]
    stripes = (40 * np.sin(xx / (5 + wnid_index) + yy / 17))[..., None]
    base = np.array(COLOURS[wnid_index % len(COLOURS)], dtype=float) + stripes
    return Image.fromarray(np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8))


def write_imagenet(root: Path, layout: str = "folders", per_class: int = 4,
                   wnids: tuple[str, ...] = WNIDS) -> list[FixtureImage]:
    """Write ``root/val`` in ``layout``: "folders" (val/<wnid>/), "kaggle" or "devkit" (flat val/)."""
    images = fixture_images(per_class, wnids)
    val = root / "val"
    for k, item in enumerate(images):
        folder = val / item.wnid if layout == "folders" else val
        folder.mkdir(parents=True, exist_ok=True)
        image = picture(k, wnids.index(item.wnid)).convert(item.mode)
        image.save(folder / item.name, format="JPEG", quality=90)
    if layout == "kaggle":
        rows = [f"{Path(i.name).stem},{i.wnid} 10 10 100 100 " for i in images]
        (root / "LOC_val_solution.csv").write_text("ImageId,PredictionString\n" + "\n".join(rows) + "\n")
    elif layout == "devkit":
        write_devkit(root, images, wnids)
    elif layout != "folders":
        raise ValueError(layout)
    return images


def write_devkit(root: Path, images: list[FixtureImage], wnids: tuple[str, ...]) -> None:
    """meta.mat with ILSVRC2012_IDs in reverse wnid order (the devkit's ids are not sorted-wnid order)
    plus one non-leaf synset, and the ground truth file listing an id per val image number."""
    from scipy.io import savemat

    data = root / "ILSVRC2012_devkit_t12" / "data"
    data.mkdir(parents=True)
    ids = {w: len(wnids) - i for i, w in enumerate(wnids)}
    rows = [(ids[w], w, 0) for w in wnids] + [(len(wnids) + 1, "n00001740", 2)]
    synsets = np.array(rows, dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O"), ("num_children", "O")])
    savemat(str(data / "meta.mat"), {"synsets": synsets})
    by_number = {int(Path(i.name).stem.rsplit("_", 1)[1]): i.wnid for i in images}
    lines = [str(ids[by_number[n]]) for n in sorted(by_number)]
    (data / "ILSVRC2012_validation_ground_truth.txt").write_text("\n".join(lines) + "\n")
