"""YOLO networks as vcmbench stores them: an architecture dictionary, class names and plain weights.

ultralytics saves a checkpoint as a pickle of the whole model object, and reading one runs code
from the file. vcmbench's results and caches never hold such files, so a YOLO here is stored as
a vcmbench checkpoint (:mod:`vcmbench.training.checkpoints`, read with ``weights_only=True``):

* ``config``: ``{"codec": "yolo", "architecture": <the ultralytics model dictionary, as in its
  yolov8.yaml>, "names": [...], "imgsz": <training input size>, ...}``, and
* ``state``: ``{"model": <the DetectionModel's state dict, float16>}``.

The network is rebuilt from the architecture by ultralytics' own ``DetectionModel`` (offline:
the dictionary is complete, no file is fetched) and the weights are loaded into it. An
ultralytics ``.pt`` (e.g. the COCO-trained ``yolov8n.pt``) becomes such a file once, by a
command the user runs on a file they trust: ``python -m vcmbench.tasks.yolo_convert IN.pt OUT.pt``.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcmbench.errors import DataError
from vcmbench.training.checkpoints import FORMAT, load_checkpoint, save_checkpoint

if TYPE_CHECKING:
    import torch

NAME = "yolo"
# The shipped detector: YOLOv8's layers at depth 0.33 (as yolov8n) and width 0.125 (half of
# yolov8n's): 0.9 M weights, 1.9 MB in float16, ample for six shape classes at 160 pixels.
DEFAULT_SCALE = (0.33, 0.125, 1024)


def architecture(num_classes: int, scale: tuple[float, float, int] = DEFAULT_SCALE,
                 base: str = "yolov8.yaml") -> dict[str, Any]:
    """The model dictionary of ultralytics' ``base`` yaml (it ships the file) at one scale and class count."""
    from ultralytics.nn.tasks import yaml_model_load

    d = yaml_model_load(base)
    d = {k: v for k, v in d.items() if k not in ("yaml_file", "scale", "scales")}
    d["nc"] = int(num_classes)
    d["scales"] = {"t": [float(scale[0]), float(scale[1]), int(scale[2])]}
    d["scale"] = "t"
    return d


def build(arch: dict[str, Any], num_classes: int) -> Any:
    """An untrained ``DetectionModel`` of that architecture (ultralytics builds it; nothing downloads)."""
    from ultralytics.nn.tasks import DetectionModel

    try:
        return DetectionModel(cfg=copy.deepcopy(arch), nc=int(num_classes), verbose=False)
    except Exception as exc:  # a damaged architecture dictionary fails inside ultralytics in many ways
        raise DataError(f"YOLO architecture cannot be built ({type(exc).__name__}: {exc})") from exc


def state_sha256(state: dict[str, torch.Tensor]) -> str:
    """sha256 of a state dict's names, shapes, dtypes and bytes: the weights' identity."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        h.update(f"{key}|{tuple(t.shape)}|{t.dtype}|".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def save_yolo(path: Path, model: Any, config: dict[str, Any], summary: dict[str, Any] | None = None) -> Path:
    """Save a DetectionModel's weights (float16) with its config (architecture, names, imgsz)."""
    state = {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
             for k, v in model.state_dict().items()}
    return save_checkpoint(path, config, {"model": state}, summary)


def _check_config(config: dict[str, Any], path: Path) -> tuple[dict[str, Any], list[str], int]:
    arch, names, imgsz = config.get("architecture"), config.get("names"), config.get("imgsz")
    if config.get("codec") != NAME or not isinstance(arch, dict):
        raise DataError(f"weights file {path} is a vcmbench checkpoint but not a YOLO one "
                        f"(it is for {config.get('codec')!r})")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise DataError(f"weights file {path}: 'names' must list the class names")
    if isinstance(imgsz, bool) or not isinstance(imgsz, int) or not 32 <= imgsz <= 4096:
        raise DataError(f"weights file {path}: 'imgsz' must be the input size in pixels, got {imgsz!r}")
    return arch, names, imgsz


def load_yolo(path: Path) -> tuple[Any, list[str], int, str]:
    """(model in eval mode, class names, input size, weights sha256) from a vcmbench YOLO file.

    A missing file, an ultralytics pickle, or weights that do not fit the architecture are each
    a one-line DataError naming the file and what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"YOLO weights file {path} does not exist")
    try:
        payload = load_checkpoint(path)
    except DataError as exc:
        raise DataError(f"weights file {path} is not a vcmbench YOLO checkpoint ({FORMAT}); an ultralytics "
                        f".pt is a pickle, which vcmbench does not run: convert a file you trust once with "
                        f"`python -m vcmbench.tasks.yolo_convert {path.name} {path.stem}-vcmbench.pt`"
                        ) from exc
    arch, names, imgsz = _check_config(payload["config"], path)
    model = build(arch, len(names))
    state = payload["state"].get("model")
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise DataError(f"weights file {path}: the weights do not fit its architecture "
                        f"({str(exc).splitlines()[0][:200]})") from exc
    model = model.float().eval()
    model.names = dict(enumerate(names))
    return model, list(names), imgsz, state_sha256(state)
