"""The `mnist-cnn` network: conv(16) → pool → conv(32) → pool → fc(128) → fc(classes).

Apart from the task model in :mod:`vcmbench.tasks.mnist_cnn` so that registering the task model
does not import torch.
"""

from __future__ import annotations

import torch
from torch import nn

from vcmbench.tasks.mnist_cnn import SPLITS, stage_index

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
        for name in _STAGES[: stage_index(split) + 1]:
            x = self.stages[name](x)
        return x

    def forward_from(self, features: torch.Tensor, split: str | None) -> torch.Tensor:
        return self.tail(split)(features)

    def tail(self, split: str | None) -> nn.Sequential:
        """The layers after ``split`` (all layers for None): what a decoder needs to finish the task."""
        start = 0 if split is None else stage_index(split) + 1
        return nn.Sequential(*(self.stages[name] for name in _STAGES[start:]))
