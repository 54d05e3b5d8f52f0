"""`mnist-cnn`: a small CNN digit classifier with named split points for split-computing codecs.

Split points (activations after each stage): ``conv1`` 16×14×14, ``conv2`` 32×7×7, ``fc1`` 128.
Trained on the suite's training split in ``prepare`` with the shared training loop and cached
under ``<cache>/tasks/`` by a hash of (training data fingerprint, parameters, seed, version),
like the other trained models; a damaged cache file is retrained with a warning.
torch loads on first use (the network is in :mod:`vcmbench.tasks.mnist_cnn_net`).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vcmbench.api.task import TaskContext, TaskModel, register_task_model
from vcmbench.errors import DataError, UsageError
from vcmbench.training.checkpoints import checkpoint_name, load_checkpoint, save_checkpoint

if TYPE_CHECKING:
    import torch
    from torch import nn

    from vcmbench.tasks.mnist_cnn_net import MnistCNNNet

SPLITS = ("conv1", "conv2", "fc1")
SUBFOLDER = "tasks"  # <cache>/tasks/, beside the other task models
_CHUNK = 512


def feature_shape(split: str) -> tuple[int, ...]:
    """The per-sample activation shape at a split point."""
    stage_index(split)
    return {"conv1": (16, 14, 14), "conv2": (32, 7, 7), "fc1": (128,)}[split]


def stage_index(split: str) -> int:
    if split not in SPLITS:
        raise UsageError(f"mnist-cnn has no split point {split!r}; known: {', '.join(SPLITS)}")
    return SPLITS.index(split)


def state_fingerprint(state: dict[str, torch.Tensor]) -> str:
    """sha256 of a state dict's names, shapes, dtypes and bytes: the weights' identity."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        h.update(f"{key}|{tuple(t.shape)}|{t.dtype}|".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


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
        self._fingerprint: str | None = None

    def cache_config(self, ctx: TaskContext) -> dict[str, Any]:
        if ctx.train is None:
            raise DataError("mnist-cnn needs the training split (or `weights:` in the suite) to get ready")
        return {"codec": "mnist-cnn", "params": dict(self.params), "train": ctx.train.info.fingerprint,
                "seed": ctx.seed, "version": self.version}

    def prepare(self, ctx: TaskContext) -> None:
        from vcmbench.tasks.mnist_cnn_net import MnistCNNNet

        net = MnistCNNNet(self.params["num_classes"])
        if ctx.weights is not None:
            payload = load_checkpoint(ctx.weights)
            if payload["config"].get("codec") != "mnist-cnn":
                raise DataError(f"weights file {ctx.weights} is not an mnist-cnn checkpoint")
            self._load_state(net, payload, ctx.weights)
            self.train_fingerprint = payload["config"].get("train")
            return
        config = self.cache_config(ctx)
        path = Path(ctx.cache_dir) / SUBFOLDER / checkpoint_name(config)
        if path.is_file():
            try:
                self._load_state(net, load_checkpoint(path, config), path)
                self.train_fingerprint = config["train"]
                return
            except DataError as exc:
                print(f"mnist-cnn: {exc}; retraining", file=sys.stderr)
        net, summary = self._train(ctx)
        save_checkpoint(path, config, {"model": net.state_dict()}, summary)
        self.train_fingerprint = config["train"]

    def _train(self, ctx: TaskContext) -> tuple[MnistCNNNet, dict[str, float]]:
        import torch

        from vcmbench.tasks.mnist_cnn_net import MnistCNNNet
        from vcmbench.training.inputs import dataset_tensors
        from vcmbench.training.loop import TrainSettings, train

        torch.manual_seed(ctx.seed)  # the initial weights are part of what the seed fixes
        net = MnistCNNNet(self.params["num_classes"])
        images, labels = dataset_tensors(ctx.train, 1)
        settings = TrainSettings(epochs=self.params["epochs"], batch_size=self.params["batch_size"],
                                 lr=self.params["lr"], seed=ctx.seed, device=ctx.device,
                                 desc="mnist-cnn", progress=sys.stderr.isatty())
        history = train(net, images, labels, _cross_entropy, settings)
        self._attach(net.cpu())
        return net, history[-1]

    def _load_state(self, net: MnistCNNNet, payload: dict[str, Any], path: Any) -> None:
        try:
            net.load_state_dict(payload["state"]["model"])
        except (KeyError, RuntimeError) as exc:
            raise DataError(f"weights file {path} does not fit mnist-cnn ({type(exc).__name__})") from exc
        self._attach(net)

    def _attach(self, net: MnistCNNNet) -> None:
        self.network = net.eval()
        self._fingerprint = state_fingerprint(net.state_dict())

    def fingerprint(self) -> str | None:
        return self._fingerprint

    def _net(self) -> MnistCNNNet:
        if self.network is None:
            raise UsageError("mnist-cnn: not prepared (call prepare first)")
        return self.network

    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        from vcmbench.training.inputs import to_image_batch

        return self.predict_from_features(to_image_batch(list(inputs), 1), None)

    def features(self, inputs: Sequence[Any], split: str) -> torch.Tensor:
        import torch

        from vcmbench.training.inputs import to_image_batch

        stage_index(split)
        x = to_image_batch(list(inputs), 1)
        with torch.no_grad():
            parts = [self._net().forward_to(x[i:i + _CHUNK], split) for i in range(0, len(x), _CHUNK)]
        return torch.cat(parts)

    def predict_from_features(self, features: Any, split: str | None) -> np.ndarray:
        import torch

        if split is not None:
            stage_index(split)
        f = torch.as_tensor(np.asarray(features) if not isinstance(features, torch.Tensor) else features)
        f = f.float().cpu()
        tail = self._net().tail(split)
        with torch.no_grad():
            logits = torch.cat([tail(f[i:i + _CHUNK]) for i in range(0, len(f), _CHUNK)])
        return logits.argmax(1).numpy().astype(np.int64)

    def tail(self, split: str | None) -> nn.Sequential:
        """The layers after ``split`` (shared modules; a caller that trains on them freezes a copy)."""
        if split is not None:
            stage_index(split)
        return self._net().tail(split)


def _cross_entropy(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                   _: float) -> tuple[torch.Tensor, dict[str, float]]:
    from torch import nn

    logits = model(x)
    loss = nn.functional.cross_entropy(logits, y)
    return loss, {"accuracy": float((logits.argmax(1) == y).float().mean())}
