"""`pointnet`: the point-cloud classifier of the modelnet40 suite, with named split points.

Where its weights come from, in this order:

1. ``weights:`` in the suite (``task_model: {name: pointnet, weights: FILE}``): a checkpoint
   file, e.g. one trained on the real ModelNet40 and copied from another machine. A missing or
   unfitting file is a one-line DataError that says how to make one.
2. the checkpoint for exactly this (training split fingerprint, parameters, seed, version), in
   ``<cache>/tasks/`` (trained earlier) or shipped with vcmbench. One ships for the embedded
   shapes-synth-16 set, so ``vcmbench run modelnet40`` trains nothing.
3. otherwise it is trained here on the suite's training split with the shared training loop
   (:mod:`vcmbench.training.loop`) and saved in ``<cache>/tasks/`` for the next run; a note on
   stderr says so (on the real ModelNet40 expect minutes per epoch on a laptop CPU).

Split points: ``points`` (per-point features, P×C), ``global`` (after the max-pool) and
``fc1``.. (after each hidden head layer); see :mod:`vcmbench.tasks.pointnet_net`.
The fingerprint is the sha256 of the weights. Clouds of different sizes may share a batch.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vcmbench.api.task import TaskContext, TaskModel, register_task_model
from vcmbench.datasets.pointclouds import augment_clouds, stack_clouds
from vcmbench.errors import DataError, UsageError
from vcmbench.training.checkpoints import checkpoint_name, load_checkpoint, save_checkpoint

if TYPE_CHECKING:
    import torch

    from vcmbench.tasks.pointnet_net import PointNetNet

NAME = "pointnet"
SUBFOLDER = "tasks"  # <cache>/tasks/, beside the other task models
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data"  # package data: data/* in pyproject
_CHUNK = 128
# One CPU thread while training: these networks are too small to gain from two, and a second
# thread on a busy machine costs up to 10× (measured); the weights are bit-identical for a
# given thread count, so this also fixes what a shipped checkpoint reproduces.
TRAIN_THREADS = 1


def state_fingerprint(state: dict[str, torch.Tensor]) -> str:
    """sha256 of a state dict's names, shapes, dtypes and bytes: the weights' identity."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        h.update(f"{key}|{tuple(t.shape)}|{t.dtype}|".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def _positive_ints(name: str, value: Any, allow_empty: bool = False) -> list[int]:
    if not isinstance(value, list | tuple) or (not value and not allow_empty) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise UsageError(f"pointnet: {name} must be a list of positive integers, got {value!r}")
    return [int(v) for v in value]


@register_task_model(NAME)
class PointNet(TaskModel):
    """PointNet without T-nets: shared point MLP, max-pool, MLP head (~20k weights by default)."""

    version = "1"

    def __init__(self, widths: Sequence[int] = (32, 64, 128), head: Sequence[int] = (64,),
                 dropout: float = 0.3, epochs: int = 30, batch_size: int = 32, lr: float = 2e-3,
                 train_points: int | None = 256, augment: bool = True):
        widths, head = _positive_ints("widths", widths), _positive_ints("head", head, allow_empty=True)
        for key, value in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"pointnet: {key} must be a positive integer, got {value!r}")
        if train_points is not None and (isinstance(train_points, bool) or not isinstance(train_points, int)
                                         or train_points < 1):
            raise UsageError(f"pointnet: train_points must be a positive integer or null, "
                             f"got {train_points!r}")
        if not isinstance(dropout, int | float) or not 0 <= dropout < 1:
            raise UsageError(f"pointnet: dropout must be in [0, 1), got {dropout!r}")
        if not isinstance(lr, int | float) or not lr > 0:
            raise UsageError(f"pointnet: lr must be a positive number, got {lr!r}")
        super().__init__(widths=widths, head=head, dropout=float(dropout), epochs=epochs,
                         batch_size=batch_size, lr=float(lr), train_points=train_points,
                         augment=bool(augment))
        self.network: PointNetNet | None = None
        self.num_classes: int | None = None
        self.origin: str | None = None  # "file", "shipped", "cached" or "trained"
        self._fingerprint: str | None = None

    @property
    def split_points(self) -> tuple[str, ...]:
        from vcmbench.tasks.pointnet_net import stage_names

        return stage_names(self.params["head"])

    # -- getting ready ---------------------------------------------------------------------------
    def checkpoint_config(self, train: Any, seed: int) -> dict[str, Any]:
        """Everything the trained weights depend on; its hash names the checkpoint file."""
        if train is None:
            raise DataError("pointnet needs the suite's training split, or a weights file named with "
                            "`weights:` under task_model in the suite")
        info = train.info
        return {"codec": NAME, "params": dict(self.params), "num_classes": int(info.num_classes),
                "train": info.fingerprint, "seed": seed, "version": self.version}

    def find_checkpoint(self, config: dict[str, Any], cache_dir: Path) -> Path | None:
        name = checkpoint_name(config)
        for folder in (Path(cache_dir) / SUBFOLDER, SHIPPED_DIR):
            if (folder / name).is_file():
                return folder / name
        return None

    def prepare(self, ctx: TaskContext) -> None:
        if ctx.weights is not None:
            self.load_file(Path(ctx.weights))
            return
        config = self.checkpoint_config(ctx.train, ctx.seed)
        path = self.find_checkpoint(config, ctx.cache_dir)
        if path is not None:
            self._load(path, config)
            self.origin = "shipped" if path.parent == SHIPPED_DIR else "cached"
            return
        target = Path(ctx.cache_dir) / SUBFOLDER / checkpoint_name(config)
        print(f"pointnet: no weights for training split {ctx.train.info.id} "
              f"({ctx.train.info.fingerprint}) in {target.parent} or shipped with vcmbench; training "
              f"{self.params['epochs']} epochs now (name a trained file with `weights:` in the suite to "
              f"skip this)",
              file=sys.stderr)
        self.train(ctx.train, target, config, seed=ctx.seed, device=ctx.device, progress=sys.stderr.isatty())

    def load_file(self, path: Path) -> None:
        """A user-named weights file: it must exist and be a pointnet checkpoint of these parameters."""
        if not path.is_file():
            raise DataError(f"pointnet weights file {path} does not exist; drop `weights:` from the suite "
                            f"and run it once on your data to train them (they land in "
                            f"OUT/cache/{SUBFOLDER}/pointnet-*.pt), then name that file")
        payload = load_checkpoint(path)
        config = payload["config"]
        if config.get("codec") != NAME:
            raise DataError(f"weights file {path} is not a pointnet checkpoint (it is for "
                            f"{config.get('codec')!r})")
        if config.get("params") != dict(self.params):
            diff = sorted(k for k in self.params if config.get("params", {}).get(k) != self.params[k])
            raise DataError(f"weights file {path} was trained with other pointnet parameters "
                            f"(differs in: {', '.join(diff) or 'unknown keys'}); set them in the suite")
        self._load(path, config, payload)
        self.origin = "file"

    def _load(self, path: Path, config: dict[str, Any], payload: dict[str, Any] | None = None) -> None:
        from vcmbench.tasks.pointnet_net import PointNetNet

        payload = payload or load_checkpoint(path, config)
        num_classes = config.get("num_classes")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise DataError(f"weights file {path}: num_classes {num_classes!r} is not a class count")
        net = PointNetNet(num_classes, self.params["widths"], self.params["head"], self.params["dropout"])
        try:
            net.load_state_dict(payload["state"]["model"])
        except (KeyError, RuntimeError, TypeError) as exc:
            raise DataError(f"weights file {path} does not fit pointnet {self.params} "
                            f"({type(exc).__name__})") from exc
        self._attach(net.float())

    def train(self, train: Any, target: Path, config: dict[str, Any], *, seed: int = 0, device: str = "cpu",
              progress: bool = True) -> Path:
        """Train on ``train`` and save the float16 weights to ``target``; return it."""
        import torch

        from vcmbench.tasks.pointnet_net import PointNetNet
        from vcmbench.training.loop import TrainSettings
        from vcmbench.training.loop import train as run_training

        clouds = torch.from_numpy(stack_clouds(train.inputs(range(len(train)))))
        labels = torch.as_tensor(np.array(train.labels()), dtype=torch.int64)
        torch.manual_seed(seed)  # the initial weights are part of what the seed fixes
        net = PointNetNet(config["num_classes"], self.params["widths"], self.params["head"],
                          self.params["dropout"])
        settings = TrainSettings(epochs=self.params["epochs"], batch_size=self.params["batch_size"],
                                 lr=self.params["lr"], seed=seed, device=device, desc=NAME, progress=progress,
                                 threads=TRAIN_THREADS)
        loss = CloudClassificationLoss(self.params["train_points"], self.params["augment"])
        history = run_training(net, clouds, labels, loss, settings)
        # float16 on disk (the shipped file stays small); every user loads the same rounded weights.
        state = {k: v.half() if v.is_floating_point() else v for k, v in net.cpu().state_dict().items()}
        save_checkpoint(target, config, {"model": state}, history[-1])
        self._load(target, config)
        self.origin = "trained"
        return target

    def _attach(self, net: PointNetNet) -> None:
        self.network = net.eval()
        self.num_classes = int(net.stages["logits"].out_features)
        self._fingerprint = state_fingerprint(net.state_dict())

    def fingerprint(self) -> str | None:
        return self._fingerprint

    def _net(self) -> PointNetNet:
        if self.network is None:
            raise UsageError("pointnet: not prepared (call prepare first)")
        return self.network

    def _check_split(self, split: str | None) -> None:
        if split is not None and split not in self.split_points:
            raise UsageError(f"pointnet has no split point {split!r}; known: {', '.join(self.split_points)}")

    # -- inference ---------------------------------------------------------------------------------
    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        import torch

        net, xs = self._net(), list(inputs)
        with torch.no_grad():
            parts = [net(torch.from_numpy(stack_clouds(xs[i:i + _CHUNK]))).argmax(1)
                     for i in range(0, len(xs), _CHUNK)]
        return torch.cat(parts).numpy().astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def features(self, inputs: Sequence[Any], split: str) -> torch.Tensor:
        import torch

        self._check_split(split)
        net, xs = self._net(), list(inputs)
        if split == "points" and len({len(x) for x in xs}) > 1:
            raise UsageError("pointnet: per-point features need clouds of one size in a batch")
        with torch.no_grad():
            return torch.cat([net.forward_to(torch.from_numpy(stack_clouds(xs[i:i + _CHUNK])), split)
                              for i in range(0, len(xs), _CHUNK)])

    def predict_from_features(self, features: Any, split: str | None) -> np.ndarray:
        import torch

        self._check_split(split)
        f = features if isinstance(features, torch.Tensor) else torch.as_tensor(np.asarray(features))
        f = f.float().cpu()
        tail = self._net().tail(split)
        with torch.no_grad():
            logits = torch.cat([tail(f[i:i + _CHUNK]) for i in range(0, len(f), _CHUNK)])
        return logits.argmax(1).numpy().astype(np.int64)


class CloudClassificationLoss:
    """Cross-entropy on augmented random subsets of each batch's points.

    Augmentation (a turn about the vertical axis, an anisotropic scale of 0.8-1.25, jitter of
    0.01) is drawn from torch's generator, which the training loop reseeds every epoch, so
    training stays deterministic and resumable. ``points``: train on that many random points of
    each cloud (4× faster at 256 of 1,024; the max-pool makes the network indifferent to the
    count at test time); None: all points.
    """

    def __init__(self, points: int | None, augment: bool):
        self.points, self.augment = points, augment

    def __call__(self, model: Any, x: torch.Tensor, y: torch.Tensor, _: float) -> tuple[torch.Tensor, dict]:
        from torch import nn

        x = augment_clouds(x, self.points, self.augment)
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        return loss, {"accuracy": float((logits.argmax(1) == y).float().mean())}
