"""Train the detector that ships for the embedded set, with ultralytics' own trainer, offline on CPU.

    python -m vcmbench.tasks.yolo_train --epochs 60 --out src/vcmbench/data/

trains YOLOv8 at depth 0.33 / width 0.125 (:data:`vcmbench.tasks.yolo_net.DEFAULT_SCALE`) from
random weights on the ``train`` split of ``shapes-coco-synth`` at 160 pixels and writes
``yolo-<config hash>.pt`` (a vcmbench checkpoint, float16, about 2 MB) into ``--out``. The
``yolo`` task model finds it there by name: the name hashes everything the training depended on
(the training split's fingerprint, the architecture, input size, epochs, seed), so a changed
recipe never passes for the shipped file. benchmarks/train-yolo.md records the run that made it.

The split is written in ultralytics' layout (``images/train/*.png``, ``labels/train/*.txt`` with
``class cx cy w h`` as fractions) into a temporary folder, which also holds ultralytics'
settings and run folder; nothing is written outside it and ``--out``. ultralytics runs with
``plots=False`` (no font download), ``amp=False`` (no AMP check, which downloads weights),
``workers=0`` and validation only after the last epoch.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from vcmbench.tasks.yolo_env import ultralytics_offline
from vcmbench.tasks.yolo_net import DEFAULT_SCALE, NAME, architecture, save_yolo
from vcmbench.training.checkpoints import checkpoint_name

VERSION = "1"
DEFAULT_IMGSZ = 160
DEFAULT_EPOCHS = 60
DEFAULT_BATCH = 32


def write_yolo_layout(dataset: Any, root: Path, split: str) -> None:
    """``root/images/<split>/*.png`` and ``root/labels/<split>/*.txt`` for a detection dataset."""
    images, labels = root / "images" / split, root / "labels" / split
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    for i, sample_id in enumerate(dataset.ids()):
        Image.fromarray(dataset.inputs([i])[0], "RGB").save(images / f"{sample_id}.png")
        t = dataset.targets([i])[0]
        rows = [f"{c} {(b[0] + b[2]) / 2:.6f} {(b[1] + b[3]) / 2:.6f} {b[2] - b[0]:.6f} {b[3] - b[1]:.6f}"
                for b, c in zip(t.boxes, t.classes, strict=True)]
        (labels / f"{sample_id}.txt").write_text("".join(r + "\n" for r in rows), encoding="utf-8")


def training_config(train: Any, *, imgsz: int, epochs: int, seed: int, batch: int,
                    scale: tuple[float, float, int] = DEFAULT_SCALE) -> dict[str, Any]:
    """Everything the trained weights depend on (its hash names the file)."""
    import ultralytics

    names = list(train.info.categories)
    return {"codec": NAME, "architecture": architecture(len(names), scale), "names": names, "imgsz": imgsz,
            "train": train.info.fingerprint, "train_id": train.info.id, "epochs": epochs, "seed": seed,
            "batch": batch, "trainer": f"ultralytics {ultralytics.__version__}", "version": VERSION}


def train_yolo(train: Any, out_dir: Path, *, imgsz: int = DEFAULT_IMGSZ, epochs: int = DEFAULT_EPOCHS,
               seed: int = 0, batch: int = DEFAULT_BATCH, scale: tuple[float, float, int] = DEFAULT_SCALE,
               verbose: bool = False) -> Path:
    """Train on a detection split with ultralytics' trainer; save ``yolo-<hash>.pt`` into ``out_dir``."""
    with tempfile.TemporaryDirectory(prefix="vcmbench-yolo-") as tmp:
        work = Path(tmp)
        ultralytics_offline(work)
        from ultralytics import YOLO
        from ultralytics.nn.tasks import load_checkpoint

        config = training_config(train, imgsz=imgsz, epochs=epochs, seed=seed, batch=batch, scale=scale)
        write_yolo_layout(train, work / "data", "train")
        names = dict(enumerate(config["names"]))
        data = {"path": str(work / "data"), "train": "images/train", "val": "images/train", "names": names}
        (work / "data.yaml").write_text(json.dumps(data), encoding="utf-8")
        (work / "model.yaml").write_text(json.dumps(config["architecture"]), encoding="utf-8")
        model = YOLO(str(work / "model.yaml"), task="detect")
        start = time.perf_counter()
        model.train(data=str(work / "data.yaml"), epochs=epochs, imgsz=imgsz, batch=batch, device="cpu",
                    workers=0, plots=False, amp=False, val=False, seed=seed, deterministic=True,
                    pretrained=False, project=str(work / "runs"), name="train", exist_ok=True,
                    verbose=verbose)
        seconds = time.perf_counter() - start
        trained, _ = load_checkpoint(model.trainer.last)  # ultralytics' own file, written just now
        target = Path(out_dir) / checkpoint_name(config)
        save_yolo(target, trained, config, {"train_seconds": round(seconds, 1), "images": len(train)})
        return target


def main(argv: list[str] | None = None) -> int:
    from vcmbench.datasets.coco import embedded

    parser = argparse.ArgumentParser(prog="python -m vcmbench.tasks.yolo_train",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for yolo-<hash>.pt")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--imgsz", type=int, default=DEFAULT_IMGSZ)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    path = train_yolo(embedded("train"), args.out, imgsz=args.imgsz, epochs=args.epochs, seed=args.seed,
                      batch=args.batch, verbose=args.verbose)
    seconds = time.perf_counter() - start
    print(f"{path} ({path.stat().st_size / 1e6:.2f} MB) in {seconds:.0f} s", file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
