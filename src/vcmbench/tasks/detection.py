"""Detection as a task: COCO mAP by COCOeval, and the paper's configurations (eq. 7) as "correct".

A detector's predictions are one :class:`~vcmbench.api.dataset.Detections` per image. Two
measures come out of them, never converted into each other:

* **mAP** (what the field reports): the predictions as COCO results (boxes in pixels of the
  original image, COCO category ids), scored by ``pycocotools.cocoeval.COCOeval`` against the
  split's ground truth: ``mAP@[.5:.95]`` (stats[0], the ranking metric) and ``mAP@.5`` (stats[1]).
* **configuration accuracy** (what the paper's eq. 7 bound is about): the image is divided into a
  ``grid × grid`` lattice of P = grid² positions; an image's configuration is the multiset of
  (position of each object's box centre, class) over its annotated objects, and over the
  detections scoring at least ``conf``. A sample is correct when the two are equal: exact
  recovery of the configuration, the "class" of the image in the detection-as-classification
  view. Boxes' extents do not enter it (eq. 7 counts positions and classes only).

Everything here takes the predictions for every sample of the evaluated dataset, in order; a
``--limit`` run's first-N view of a split is scored against those N images only.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from vcmbench.api.dataset import Dataset, Detections
from vcmbench.errors import DataError

MAP = "mAP@[.5:.95]"
MAP50 = "mAP@.5"


def detection_source(dataset: Dataset) -> Any:
    """The detection dataset behind ``dataset`` (a first-N view of a split is unwrapped).

    The view keeps ``ids``, ``labels`` and ``inputs`` of its first N samples; annotations, sizes and
    the COCO ground truth are the full split's, indexed by position, so the first N rows of each
    are the view's.
    """
    seen = dataset
    for _ in range(8):
        if hasattr(seen, "targets") and hasattr(seen, "coco"):
            return seen
        inner = getattr(seen, "_base", None)
        if inner is None and hasattr(seen, "_get"):
            inner = seen._get()
        if inner is None:
            break
        seen = inner
    raise DataError(f"dataset {dataset.info.id!r} has no object annotations: a detector needs a detection "
                    "dataset such as coco")


def cells(boxes: np.ndarray, grid: int) -> np.ndarray:
    """The position index (row-major on a grid × grid lattice) of each box's centre."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    ix = np.clip(np.floor(cx * grid), 0, grid - 1).astype(np.int64)
    iy = np.clip(np.floor(cy * grid), 0, grid - 1).astype(np.int64)
    return iy * grid + ix


def configuration(objects: Detections, grid: int, min_score: float = 0.0) -> tuple[tuple[int, int], ...]:
    """The sorted (position, class) pairs of the objects scoring at least ``min_score``."""
    keep = objects.scores >= min_score
    pairs = zip(cells(objects.boxes[keep], grid).tolist(), objects.classes[keep].tolist(), strict=True)
    return tuple(sorted(pairs))


def configuration_matches(dataset: Dataset, predictions: Sequence[Detections], grid: int,
                          min_score: float) -> np.ndarray:
    """Per image: do the predicted objects (score ≥ min_score) form exactly the annotated configuration?"""
    source = detection_source(dataset)
    truth = source.targets(range(len(predictions)))
    return np.array([configuration(p, grid, min_score) == configuration(t, grid)
                     for p, t in zip(predictions, truth, strict=True)], dtype=bool)


def coco_results(predictions: Sequence[Detections], image_ids: Sequence[int], sizes: np.ndarray,
                 category_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Detections as COCO results: ``image_id``, ``category_id``, ``bbox`` [x, y, w, h] in pixels, score."""
    out = []
    cats = np.asarray(category_ids)
    for det, image_id, (w, h) in zip(predictions, image_ids, sizes, strict=True):
        if not len(det):
            continue
        px = det.boxes * np.array([w, h, w, h], dtype=np.float64)
        rows = zip(px.tolist(), cats[det.classes].tolist(), det.scores.tolist(), strict=True)
        for (x0, y0, x1, y1), c, s in rows:
            out.append({"image_id": int(image_id), "category_id": int(c), "bbox": [x0, y0, x1 - x0, y1 - y0],
                        "score": float(s)})
    return out


def coco_map(ground_truth: Any, results: list[dict[str, Any]], image_ids: Sequence[int]) -> dict[str, float]:
    """COCOeval (bbox) over ``image_ids``: {mAP@[.5:.95], mAP@.5}; 0 for no detections at all.

    A metric COCOeval cannot define (no annotated object among the images: it reports -1) is
    left out rather than recorded as a number.
    """
    from pycocotools.cocoeval import COCOeval

    if not any(ground_truth.getAnnIds(imgIds=list(image_ids), iscrowd=False)):
        return {}
    if not results:
        return {MAP: 0.0, MAP50: 0.0}
    with contextlib.redirect_stdout(io.StringIO()):
        detections = ground_truth.loadRes(results)
        evaluator = COCOeval(ground_truth, detections, "bbox")
        evaluator.params.imgIds = [int(i) for i in image_ids]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = evaluator.stats
    return {name: float(stats[k]) for name, k in ((MAP, 0), (MAP50, 1)) if stats[k] >= 0}


def detection_scores(dataset: Dataset, predictions: Sequence[Detections]) -> dict[str, float]:
    """COCO mAP of one set of predictions for every sample of ``dataset`` (in order)."""
    source = detection_source(dataset)
    n = len(predictions)
    image_ids = list(source.coco_image_ids())[:n]
    results = coco_results(predictions, image_ids, source.image_sizes()[:n], source.category_ids())
    return coco_map(source.coco(), results, image_ids)


def check_detections(outputs: Sequence[Any], num_categories: int) -> list[Detections]:
    """Decoded task outputs that must be Detections of ``num_categories`` classes; ValueError otherwise."""
    checked = []
    for i, d in enumerate(outputs):
        if not isinstance(d, Detections):
            raise ValueError(f"decoded output {i} is a {type(d).__name__}, not Detections")
        problem = d.problem(num_categories)
        if problem:
            raise ValueError(f"decoded detections {i}: {problem}")
        checked.append(d)
    return checked
