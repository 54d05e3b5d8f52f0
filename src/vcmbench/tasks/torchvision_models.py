"""`resnet50`: torchvision's ImageNet ResNet as the task model, with split points for split computing.

Weights come from disk only: the file named by the suite (``weights:``, or the ``weights`` parameter)
or torchvision's own file in the torch hub cache (``<torch.hub.get_dir()>/checkpoints/``, e.g.
``resnet50-0676ba61.pth`` for IMAGENET1K_V1, preferred, or ``resnet50-11ad3fa6.pth`` for V2).
``weights: random`` builds a seeded, untrained network, for tests and timing only; it is never a
fallback. The record's task parameters name the weights file and its sha256, so results from
different weights are never mixed.

``arch`` picks any torchvision ResNet-family network (resnet18 ... resnet152, resnext, wide_resnet):
they share one stage structure, so the split-point logic below serves them all. Split points are
the outputs of ``layer1`` .. ``layer4`` (for ResNet-50 at 224²: 256×56², 512×28², 1024×14², 2048×7²).

torch and torchvision are imported inside functions: registering this model costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vcmbench.api.task import TaskContext, TaskModel, register_task_model
from vcmbench.errors import DataError, UsageError
from vcmbench.training.weights import file_sha256, load_state_dict

if TYPE_CHECKING:
    import torch
    from torch import nn

SPLITS = ("layer1", "layer2", "layer3", "layer4")
RANDOM = "random"
# The channel statistics every torchvision ImageNet model was trained with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_FAMILIES = ("resnet", "resnext", "wide_resnet")
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.pth?$")


def resnet_archs() -> list[str]:
    """The torchvision ResNet-family architectures (same stem, layer1..4 and fc)."""
    import torchvision.models as tvm

    return sorted(a for a in tvm.list_models(module=tvm) if a.startswith(_FAMILIES))


def _split_index(split: str) -> int:
    if split not in SPLITS:
        raise UsageError(f"ResNet has no split point {split!r}; known: {', '.join(SPLITS)}")
    return SPLITS.index(split)


def resnet_stages(net: nn.Module) -> list[nn.Module]:
    """stem, layer1, layer2, layer3, layer4, classifier: the network as a chain of stages."""
    from torch import nn

    stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
    head = nn.Sequential(net.avgpool, nn.Flatten(1), net.fc)
    return [stem, net.layer1, net.layer2, net.layer3, net.layer4, head]


def resnet_head(net: nn.Module, split: str) -> nn.Sequential:
    """The layers up to and including ``split``: what the sender runs."""
    from torch import nn

    return nn.Sequential(*resnet_stages(net)[: _split_index(split) + 2])


def resnet_tail(net: nn.Module, split: str | None) -> nn.Sequential:
    """The layers after ``split`` (the whole network for None): what the receiver runs."""
    from torch import nn

    start = 0 if split is None else _split_index(split) + 2
    return nn.Sequential(*resnet_stages(net)[start:])


def hub_weight_files(arch: str) -> list[tuple[str, str, Path]]:
    """(weights name, URL, path in the torch hub cache) of torchvision's files for ``arch``, V1 first."""
    import torch
    import torchvision.models as tvm

    folder = Path(torch.hub.get_dir()) / "checkpoints"
    try:
        members = list(tvm.get_model_weights(arch))
    except (ValueError, KeyError):
        return []
    return [(w.name, w.url, folder / Path(w.url).name) for w in members]


@register_task_model("resnet50")
class TorchvisionResNet(TaskModel):
    """torchvision ResNet-50 (or another ResNet-family ``arch``) on uint8 (H, W, 3) images."""

    version = "1"
    split_points = SPLITS
    ranks = 5  # predict returns the five most likely classes: records score top-5 beside accuracy

    def __init__(self, arch: str = "resnet50", num_classes: int = 1000, weights: str | None = None,
                 batch_size: int = 32):
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise UsageError(f"resnet50: num_classes must be an integer >= 2, got {num_classes!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise UsageError(f"resnet50: batch_size must be a positive integer, got {batch_size!r}")
        params: dict[str, Any] = {"arch": arch, "num_classes": num_classes, "batch_size": batch_size}
        if weights is not None:
            params["weights"] = str(weights)
        super().__init__(**params)
        self.requested_weights = params.get("weights")  # params["weights"] is rewritten by prepare
        self.network: nn.Module | None = None
        self.device = "cpu"

    def prepare(self, ctx: TaskContext) -> None:
        import torch
        import torchvision.models as tvm

        arch = self.params["arch"]
        if arch not in resnet_archs():
            raise UsageError(f"resnet50: arch {arch!r} is not a torchvision ResNet; known: "
                             f"{', '.join(resnet_archs())}")
        source = self._weights_source(ctx)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.seed)
            net = tvm.get_model(arch, weights=None, num_classes=self.params["num_classes"])
        if source == RANDOM:
            self.params.update(weights=RANDOM, weights_seed=ctx.seed)
        else:
            path = self._weights_file(source, arch)
            digest = file_sha256(path)
            named = _HASH_IN_NAME.search(path.name) if source is None else None  # torch hub naming
            if named and not digest.startswith(named.group(1)):
                raise DataError(f"weights file {path} is damaged: its sha256 starts {digest[:8]}, "
                                f"its name says {named.group(1)}; fetch it again")
            try:
                net.load_state_dict(load_state_dict(path))
            except RuntimeError as exc:
                raise DataError(f"weights file {path} does not fit {arch} with {self.params['num_classes']} "
                                f"classes: {str(exc).splitlines()[0]}") from exc
            self.params.update(weights=path.name, weights_sha256=digest[:16])
        self.device = ctx.device
        self.network = net.eval().to(ctx.device)

    def _weights_source(self, ctx: TaskContext) -> str | Path | None:
        given = self.requested_weights
        if given is not None and ctx.weights is not None and str(ctx.weights) != given:
            raise UsageError(f"resnet50: weights given twice ({given!r} and {str(ctx.weights)!r})")
        if given is None and ctx.weights is None:
            return None
        value = given if given is not None else str(ctx.weights)
        return RANDOM if value == RANDOM else Path(value).expanduser()

    def _weights_file(self, source: str | Path | None, arch: str) -> Path:
        if source is not None:
            path = Path(source)
            if not path.is_file():
                raise DataError(f"weights file {path} not found (named by the suite's `weights:`)")
            return path
        candidates = hub_weight_files(arch)
        found = next((p for _, _, p in candidates if p.is_file()), None)
        if found is not None:
            return found
        if not candidates:
            raise DataError(f"torchvision publishes no ImageNet weights for {arch}; name a file with "
                            f"`weights:` in the suite")
        name, url, path = candidates[0]
        raise DataError(f"no weights for {arch}: put {path.name} ({name}, from {url}) into {path.parent}/, "
                        f"or name a weights file with `weights:` in the suite")

    def _net(self) -> nn.Module:
        if self.network is None:
            raise UsageError("resnet50: not prepared (call prepare first)")
        return self.network

    def to_batch(self, inputs: Sequence[Any]) -> torch.Tensor:
        """uint8 (H, W, 3) images (or grey (H, W)) to a normalised float batch N×3×H×W on the device."""
        import torch

        arrays = [np.asarray(x) for x in inputs]
        arrays = [np.repeat(a[..., None], 3, axis=2) if a.ndim == 2 else a for a in arrays]
        if not arrays or any(a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3 for a in arrays):
            raise UsageError("resnet50 takes uint8 (H, W, 3) images")
        x = torch.from_numpy(np.stack(arrays)).to(self.device).permute(0, 3, 1, 2).float().div_(255)
        mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)
        return (x - mean) / std

    def _chunks(self, n: int) -> range:
        return range(0, n, self.params["batch_size"])

    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        return self._run_tail(self.to_batch(inputs), None)

    def features(self, inputs: Sequence[Any], split: str) -> torch.Tensor:
        """Activations after ``split`` for a batch of images, as a float32 CPU tensor N×C×H×W."""
        import torch

        head = resnet_head(self._net(), split)
        x = self.to_batch(inputs)
        size = self.params["batch_size"]
        with torch.inference_mode():
            return torch.cat([head(x[i:i + size]).float().cpu() for i in self._chunks(len(x))])

    def predict_from_features(self, features: Any, split: str) -> np.ndarray:
        import torch

        _split_index(split)
        f = features if isinstance(features, torch.Tensor) else torch.from_numpy(np.asarray(features))
        return self._run_tail(f.to(self.device).float(), split)

    def _run_tail(self, x: torch.Tensor, split: str | None) -> np.ndarray:
        import torch

        tail = resnet_tail(self._net(), split)
        size = self.params["batch_size"]
        with torch.inference_mode():  # the five most likely classes, the label first (top-5 accuracy)
            preds = [_top(tail(x[i:i + size]), self.ranks).cpu() for i in self._chunks(len(x))]
        return torch.cat(preds).numpy().astype(np.int64)

    def tail(self, split: str | None) -> nn.Sequential:
        """The receiver's layers after ``split`` (shared modules, frozen by the caller if it trains)."""
        return resnet_tail(self._net(), split)

    def feature_shape(self, split: str, size: int = 224) -> tuple[int, ...]:
        """Per-sample activation shape at ``split`` for size×size inputs (one dry run)."""
        return tuple(self.features([np.zeros((size, size, 3), np.uint8)], split).shape[1:])


def _top(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` largest logits per row, largest first (ties: lowest index first, like argmax)."""
    import torch

    k = min(k, logits.shape[1])
    order = torch.argsort(-logits.float(), dim=1, stable=True)
    return order[:, :k]
