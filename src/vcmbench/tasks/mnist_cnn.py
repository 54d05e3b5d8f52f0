"""`mnist-cnn`: a small CNN digit classifier with named split points for split-computing codecs.

Split points (activations after each stage): ``conv1`` 16×14×14, ``conv2`` 32×7×7, ``fc1`` 128.
Trained on the suite's training split in ``prepare`` and cached under the cache folder by a
hash of (training data fingerprint, parameters, seed, version), like the other trained models;
a damaged cache file is retrained with a warning.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from vcmbench.api.task import TaskContext, TaskModel, register_task_model
from vcmbench.codecs.learned.checkpoints import (
    cache_folder,
    checkpoint_name,
    load_checkpoint,
    save_checkpoint,
)
from vcmbench.codecs.learned.inputs import dataset_tensors, to_image_batch
from vcmbench.codecs.learned.training import TrainSettings, train
from vcmbench.errors import DataError, UsageError

SPLITS = ("conv1", "conv2", "fc1")
_STAGES = (*SPLITS, "logits")


class MnistCNNNet(nn.Module):
    """conv(16) → pool → conv(32) → pool → fc(128) → fc(classes); each stage a split point."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.stages = nn.ModuleDict({
            "conv1": nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
            "conv2": nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
            "fc1": nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU()),
            "logits": nn.Linear(128, num_classes),
        })

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from(x, None)

    def forward_to(self, x: torch.Tensor, split: str) -> torch.Tensor:
        for name in _STAGES[: _stage_index(split) + 1]:
            x = self.stages[name](x)
        return x

    def forward_from(self, features: torch.Tensor, split: str | None) -> torch.Tensor:
        return self.tail(split)(features)

    def tail(self, split: str | None) -> nn.Sequential:
        """The layers after ``split`` (all layers for None): what a decoder needs to finish the task."""
        start = 0 if split is None else _stage_index(split) + 1
        return nn.Sequential(*(self.stages[name] for name in _STAGES[start:]))


def feature_shape(split: str) -> tuple[int, ...]:
    """The per-sample activation shape at a split point."""
    _stage_index(split)
    return {"conv1": (16, 14, 14), "conv2": (32, 7, 7), "fc1": (128,)}[split]


def _stage_index(split: str) -> int:
    if split not in SPLITS:
        raise UsageError(f"mnist-cnn has no split point {split!r}; known: {', '.join(SPLITS)}")
    return SPLITS.index(split)


@register_task_model("mnist-cnn")
class MnistCNN(TaskModel):
    """A 2-conv, 2-fc digit classifier (~200k weights), trained in seconds on the embedded digits."""

    version = "1"
    split_points = SPLITS

    def __init__(self, epochs: int = 4, batch_size: int = 64, lr: float = 1e-3, num_classes: int = 10):
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise UsageError(f"mnist-cnn: epochs must be a positive integer, got {epochs!r}")
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, num_classes=num_classes)
        self.network: MnistCNNNet | None = None
        self.train_fingerprint: str | None = None

    def cache_config(self, ctx: TaskContext) -> dict[str, Any]:
        if ctx.train is None:
            raise DataError("mnist-cnn needs the training split (or `weights:` in the suite) to get ready")
        return {"codec": "mnist-cnn", "params": dict(self.params), "train": ctx.train.info.fingerprint,
                "seed": ctx.seed, "version": self.version}

    def prepare(self, ctx: TaskContext) -> None:
        net = MnistCNNNet(self.params["num_classes"])
        if ctx.weights is not None:
            payload = load_checkpoint(ctx.weights)
            if payload["config"].get("codec") != "mnist-cnn":
                raise DataError(f"weights file {ctx.weights} is not an mnist-cnn checkpoint")
            self._load_state(net, payload, ctx.weights)
            self.train_fingerprint = payload["config"].get("train")
            return
        config = self.cache_config(ctx)
        path = cache_folder(ctx.cache_dir) / checkpoint_name(config)
        if path.is_file():
            try:
                self._load_state(net, load_checkpoint(path, config), path)
                self.train_fingerprint = config["train"]
                return
            except DataError as exc:
                print(f"mnist-cnn: {exc}; retraining", file=sys.stderr)
        torch.manual_seed(ctx.seed)
        images, labels = dataset_tensors(ctx.train, 1)
        settings = TrainSettings(epochs=self.params["epochs"], batch_size=self.params["batch_size"],
                                 lr=self.params["lr"], seed=ctx.seed, device=ctx.device,
                                 desc="mnist-cnn", progress=sys.stderr.isatty())
        history = train(net, images, labels, _cross_entropy, settings)
        save_checkpoint(path, config, {"model": net.cpu().state_dict()}, history[-1])
        self.network = net.cpu().eval()
        self.train_fingerprint = config["train"]

    def _load_state(self, net: MnistCNNNet, payload: dict[str, Any], path: Any) -> None:
        try:
            net.load_state_dict(payload["state"]["model"])
        except (KeyError, RuntimeError) as exc:
            raise DataError(f"weights file {path} does not fit mnist-cnn ({type(exc).__name__})") from exc
        self.network = net.eval()

    def _net(self) -> MnistCNNNet:
        if self.network is None:
            raise UsageError("mnist-cnn: not prepared (call prepare first)")
        return self.network

    @torch.no_grad()
    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        return self.predict_from_features(to_image_batch(list(inputs), 1), None)

    @torch.no_grad()
    def features(self, inputs: Sequence[Any], split: str) -> torch.Tensor:
        _stage_index(split)
        x = to_image_batch(list(inputs), 1)
        return torch.cat([self._net().forward_to(x[i:i + 512], split) for i in range(0, len(x), 512)])

    @torch.no_grad()
    def predict_from_features(self, features: Any, split: str | None) -> np.ndarray:
        if split is not None:
            _stage_index(split)
        f = torch.as_tensor(np.asarray(features) if not isinstance(features, torch.Tensor) else features)
        f = f.float().cpu()
        tail = self._net().tail(split)
        logits = torch.cat([tail(f[i:i + 512]) for i in range(0, len(f), 512)])
        return logits.argmax(1).numpy().astype(np.int64)


def _cross_entropy(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                   _: float) -> tuple[torch.Tensor, dict[str, float]]:
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, y)
    return loss, {"accuracy": float((logits.argmax(1) == y).float().mean())}
