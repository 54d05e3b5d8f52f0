"""`yolo`: an ultralytics YOLO detector (v8/11 family) as vcmbench's detection task model.

Weights come from disk, never the network:

1. ``weights:`` in the suite (``task_model: {name: yolo, weights: FILE}``): a vcmbench YOLO file
   (:mod:`vcmbench.tasks.yolo_net`), e.g. ultralytics' COCO-trained ``yolov8n.pt`` converted once
   with ``python -m vcmbench.tasks.yolo_convert yolov8n.pt yolov8n-vcmbench.pt``;
2. otherwise the detector shipped for the embedded ``shapes-coco-synth`` set
   (:data:`SHIPPED_WEIGHTS`, trained by :mod:`vcmbench.tasks.yolo_train`).

Before the first prediction on a test split the detector's class names must be the dataset's
categories, in order (:meth:`Yolo.check_dataset`): the shipped shapes detector never scores real
COCO, nor a COCO detector the shapes.

Inference follows ultralytics' predictor with its own pieces: ``LetterBox`` to ``imgsz`` (pad 114;
a batch of one image shape is padded only to a multiple of the stride, as ultralytics' predictor
does), the network, ``non_max_suppression`` (IoU 0.7, class-aware) and
``scale_boxes`` back to the original image; boxes become fractions of the image's size. For mAP
it keeps detections down to a score of 0.001 (at most ``max_det`` = 100 per image, what COCOeval
reads), as COCO evaluations do; the configuration an image is judged by (see
:mod:`vcmbench.tasks.detection`) keeps those scoring at least ``conf``.

ultralytics is imported offline with its settings inside the run's cache folder
(:mod:`vcmbench.tasks.yolo_env`). Predictions are remembered by the input's bytes for the run
(the detections codec runs the detector at its encoder on the same images as the reference).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vcmbench.api.dataset import Dataset, Detections
from vcmbench.api.task import TaskContext, TaskModel, register_task_model
from vcmbench.errors import DataError, UsageError
from vcmbench.tasks.detection import (
    MAP,
    check_detections,
    configuration_matches,
    detection_scores,
    detection_source,
)
from vcmbench.tasks.memo import MemoisedPredict, input_key
from vcmbench.tasks.yolo_env import ultralytics_offline

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data"
SHIPPED_WEIGHTS = "yolo-63720db4c1c9c4d2.pt"  # the detector for shapes-coco-synth (benchmarks/train-yolo.md)
MIN_SCORE = 0.001  # detections kept for mAP, as COCO evaluations do
IOU = 0.7  # NMS IoU of ultralytics' predictor and validator
MAX_MEMO = 200_000
CONVERT_HINT = ("for COCO, convert ultralytics' COCO-trained yolov8n.pt (from "
                "https://github.com/ultralytics/assets/releases) once with "
                "`python -m vcmbench.tasks.yolo_convert yolov8n.pt yolov8n-vcmbench.pt` and name that file "
                "with `weights:` under task_model in the suite")


def _few(names: Sequence[str]) -> str:
    return ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")


def _positive_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UsageError(f"yolo: {name} must be an integer ≥ {low}, got {value!r}")
    return value


@register_task_model("yolo")
class Yolo(MemoisedPredict, TaskModel):
    """An ultralytics YOLO detector; ranked by COCO mAP@[.5:.95], correct = exact configuration.

    Subclassing :class:`~vcmbench.tasks.memo.MemoisedPredict` tells the run not to wrap it in the
    label memo (which keeps integers): ``predict`` remembers its own detections.
    """

    version = "1"
    output = "detections"
    metric = MAP

    def __init__(self, grid: int = 8, conf: float = 0.25, imgsz: int | None = None, max_det: int = 100,
                 batch: int = 32, classes: int | None = None):
        _positive_int("grid", grid)
        _positive_int("max_det", max_det)
        _positive_int("batch", batch)
        if imgsz is not None:
            _positive_int("imgsz", imgsz, 32)
        if classes is not None:
            _positive_int("classes", classes)
        if isinstance(conf, bool) or not isinstance(conf, int | float) or not 0 < conf <= 1:
            raise UsageError(f"yolo: conf must be a score in (0, 1], got {conf!r}")
        # grid: the configuration's positions are grid × grid (P = grid², eq. 7); conf: the score an
        # object needs to be part of the configuration; classes: filled in from the weights.
        super().__init__(grid=grid, conf=float(conf), imgsz=imgsz, max_det=max_det, classes=classes)
        self.batch = batch
        self.model: Any = None
        self.categories: tuple[str, ...] = ()
        self.weights_path: Path | None = None
        self._fingerprint: str | None = None
        self._memo: dict[Hashable, Detections] = {}

    # -- getting ready ---------------------------------------------------------------------------
    def prepare(self, ctx: TaskContext) -> None:
        ultralytics_offline(Path(ctx.cache_dir))
        from vcmbench.tasks.yolo_net import load_yolo

        if ctx.weights is not None:
            path = Path(ctx.weights).expanduser()
            if not path.is_file():
                raise DataError(f"YOLO weights file {path} (named by `weights:` in the suite) does not "
                                f"exist; {CONVERT_HINT}")
        else:
            path = SHIPPED_DIR / SHIPPED_WEIGHTS
            if not path.is_file():
                raise DataError(f"the YOLO shipped for the embedded set ({path}) is missing from this "
                                f"install: reinstall vcmbench, or train it with `python -m "
                                f"vcmbench.tasks.yolo_train --out {SHIPPED_DIR}` (see "
                                f"benchmarks/train-yolo.md); {CONVERT_HINT}")
        model, names, imgsz, sha = load_yolo(path)
        if self.params["classes"] is not None and self.params["classes"] != len(names):
            raise DataError(f"weights file {path} detects {len(names)} classes, the suite says classes: "
                            f"{self.params['classes']}")
        self.model, self.categories, self.weights_path, self._fingerprint = model, tuple(names), path, sha
        self.params["classes"] = len(names)
        if self.params["imgsz"] is None:
            self.params["imgsz"] = imgsz
        self._memo = {}

    def fingerprint(self) -> str | None:
        return self._fingerprint

    def check_dataset(self, dataset: Dataset) -> None:
        source = detection_source(dataset)
        wanted = tuple(source.info.categories)
        if wanted != self.categories:
            raise DataError(
                f"the YOLO weights {self.weights_path} detect {len(self.categories)} classes "
                f"({_few(self.categories)}) but dataset {source.info.id} has {len(wanted)} categories "
                f"({_few(wanted)}); name weights trained on its categories, in order, with `weights:` in the "
                f"suite ({CONVERT_HINT})")

    # -- predictions ----------------------------------------------------------------------------
    def predict(self, inputs: Sequence[Any]) -> list[Detections]:
        """Detections for RGB uint8 images (H, W, 3), each answered once per run."""
        if self.model is None:
            raise UsageError("yolo: predict before prepare")
        keys = [input_key(np.asarray(x)) for x in inputs]
        todo = [i for i, k in enumerate(keys) if k not in self._memo]
        fresh: dict[int, Detections] = {}
        for start in range(0, len(todo), self.batch):
            chunk = todo[start:start + self.batch]
            for i, det in zip(chunk, self.detect([inputs[i] for i in chunk]), strict=True):
                fresh[i] = det
        out = []
        for i, k in enumerate(keys):
            det = fresh[i] if i in fresh else self._memo[k]
            out.append(det)
            if i in fresh:
                self._memo[k] = det
        while len(self._memo) > MAX_MEMO:
            del self._memo[next(iter(self._memo))]
        return out

    def detect(self, images: Sequence[Any]) -> list[Detections]:
        """Run the network on one batch of RGB images (no memory of earlier answers)."""
        import torch
        from ultralytics.data.augment import LetterBox
        from ultralytics.utils.nms import non_max_suppression
        from ultralytics.utils.ops import scale_boxes

        size = int(self.params["imgsz"])
        arrays = [np.asarray(x) for x in images]
        for a in arrays:
            if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
                raise UsageError(f"yolo takes uint8 RGB images (H, W, 3), got {a.dtype} {a.shape}")
        # Images of one shape are padded only to a multiple of the stride (ultralytics' rectangular
        # inference: 160×120 runs at 160×128, not 160×160); mixed shapes go to imgsz × imgsz.
        same = len({a.shape for a in arrays}) == 1
        letterbox = LetterBox((size, size), auto=same, stride=32)
        boxed = np.stack([letterbox(image=a) for a in arrays])
        batch = torch.from_numpy(boxed).permute(0, 3, 1, 2).float().div_(255)
        with torch.inference_mode():
            raw = self.model(batch)
        kept = non_max_suppression(raw, conf_thres=MIN_SCORE, iou_thres=IOU, max_det=self.params["max_det"],
                                   nc=len(self.categories))
        out = []
        for a, det in zip(images, kept, strict=True):
            h, w = np.asarray(a).shape[:2]
            boxes = scale_boxes(boxed.shape[1:3], det[:, :4].clone(), (h, w)).numpy().astype(np.float64)
            boxes = np.clip(boxes / np.array([w, h, w, h], dtype=np.float64), 0.0, 1.0)
            out.append(Detections(boxes, det[:, 5].numpy().astype(np.int64),
                                  np.clip(det[:, 4].numpy().astype(np.float64), 0.0, 1.0)))
        return out

    # -- judging --------------------------------------------------------------------------------
    def correct(self, dataset: Dataset, predictions: Any) -> np.ndarray:
        return configuration_matches(dataset, predictions, self.params["grid"], self.params["conf"])

    def scores(self, dataset: Dataset, predictions: Any) -> dict[str, float]:
        return detection_scores(dataset, predictions)

    def prediction_labels(self, predictions: Any) -> np.ndarray:
        return np.array([int((d.scores >= self.params["conf"]).sum()) for d in predictions], dtype=np.int64)

    def check_outputs(self, outputs: Sequence[Any], num_classes: int) -> Any:
        return check_detections(outputs, len(self.categories))
