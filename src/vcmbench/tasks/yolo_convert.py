"""Convert an ultralytics YOLO checkpoint (``.pt``, a pickle) into a vcmbench YOLO file, once.

    python -m vcmbench.tasks.yolo_convert yolov8n.pt yolov8n-vcmbench.pt [--imgsz 640]

An ultralytics ``.pt`` holds the whole pickled model object; reading it runs code from the file,
so vcmbench never reads one during a run. This command is the one place it does, on a file the
user names and trusts (e.g. ``yolov8n.pt`` from ultralytics' releases), and writes the network's
architecture dictionary, class names, input size and float16 weights as a vcmbench checkpoint
(:mod:`vcmbench.tasks.yolo_net`), which runs read with ``weights_only=True``. Detection models of
the YOLOv8/11 family convert; the input size defaults to the one the model was trained at.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from vcmbench.errors import DataError, VcmbenchError
from vcmbench.tasks.yolo_env import ultralytics_offline
from vcmbench.tasks.yolo_net import NAME, save_yolo


def convert(source: Path, target: Path, imgsz: int | None = None) -> Path:
    """Read an ultralytics detection checkpoint (trusted: it is unpickled) and save it for vcmbench."""
    with tempfile.TemporaryDirectory(prefix="vcmbench-yolo-") as tmp:
        ultralytics_offline(Path(tmp))
        from ultralytics.nn.tasks import DetectionModel, load_checkpoint

        if not Path(source).is_file():
            raise DataError(f"ultralytics checkpoint {source} does not exist")
        try:
            model, _ = load_checkpoint(str(source))
        except Exception as exc:  # ultralytics and torch raise many kinds for a bad file
            raise DataError(f"{source} is not an ultralytics checkpoint ({type(exc).__name__}: {exc})"
                            ) from exc
        if not isinstance(model, DetectionModel) or type(model).__name__ != "DetectionModel":
            raise DataError(f"{source} holds a {type(model).__name__}, not a YOLO detection model")
        names = model.names if isinstance(model.names, dict) else dict(enumerate(model.names))
        args: Any = getattr(model, "args", {}) or {}
        size = imgsz or (args.get("imgsz") if isinstance(args, dict) else None) or 640
        arch = {k: v for k, v in dict(model.yaml).items() if k != "yaml_file"}
        config = {"codec": NAME, "architecture": arch, "names": [str(names[i]) for i in range(len(names))],
                  "imgsz": int(size), "source": Path(source).name, "version": "1"}
        return save_yolo(Path(target), model.float(), config, {"converted_from": Path(source).name})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vcmbench.tasks.yolo_convert",
                                     description="convert a trusted ultralytics YOLO .pt for vcmbench")
    parser.add_argument("source", type=Path, help="ultralytics checkpoint (e.g. yolov8n.pt)")
    parser.add_argument("target", type=Path, help="vcmbench YOLO file to write")
    parser.add_argument("--imgsz", type=int, default=None, help="inference size (default: the training size)")
    args = parser.parse_args(argv)
    try:
        path = convert(args.source, args.target, args.imgsz)
    except VcmbenchError as exc:
        print(f"yolo_convert: {exc}", file=sys.stderr)
        return 2
    print(f"{path}: name it with `weights: {path}` under task_model in a suite")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
