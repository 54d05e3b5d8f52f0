"""The PointNet network (Qi et al., CVPR 2017) without its alignment T-nets, in stages with names.

A shared MLP lifts every point to ``widths[-1]`` features, a max over the points makes the
cloud's global feature (order-invariant), and a small MLP head classifies it. The per-point MLP
is ``nn.Linear`` on (batch, points, channels) with batch norm over all points: the same function
as PointNet's 1×1 convolutions, several times faster on a CPU.

Stages, each a split point: ``points`` (per-point features, P×C), ``global`` (after the max-pool,
C), ``fc1``.. (after each hidden head layer), then the logits. The T-nets are left out: the
embedded set and ModelNet40 clouds are upright, and without them the model stays small enough to
ship and fast enough for a 2-core run.
Kept apart from :mod:`vcmbench.tasks.pointnet` so that torch loads only when a model is built.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class PointMLP(nn.Module):
    """Linear + batch norm + ReLU applied to every point of every cloud (B×P×C_in → B×P×C_out)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.linear = nn.Linear(c_in, c_out, bias=False)
        self.norm = nn.BatchNorm1d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            y = self.linear(x)
            b, p, c = y.shape
            return torch.relu(self.norm(y.reshape(b * p, c)).reshape(b, p, c))
        # Inference: batch norm is an affine map, folded into the linear layer (one pass over the
        # points instead of three; the same function up to float rounding).
        norm = self.norm
        scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        bias = norm.bias - norm.running_mean * scale
        return torch.relu_(nn.functional.linear(x, self.linear.weight * scale[:, None], bias))


class MaxPool(nn.Module):
    """The symmetric function: the max of each feature over the cloud's points."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=1)


def stage_names(head: Sequence[int]) -> tuple[str, ...]:
    """The split points of a network with these hidden head widths, in order."""
    return ("points", "global", *(f"fc{i + 1}" for i in range(len(head))))


class PointNetNet(nn.Module):
    """points → shared MLP → max-pool → head MLP → logits; each stage a split point."""

    def __init__(self, num_classes: int, widths: Sequence[int] = (32, 64, 128), head: Sequence[int] = (64,),
                 dropout: float = 0.3):
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for w in widths:
            layers.append(PointMLP(c, w))
            c = w
        stages: dict[str, nn.Module] = {"points": nn.Sequential(*layers), "global": MaxPool()}
        for i, h in enumerate(head):
            stages[f"fc{i + 1}"] = nn.Sequential(nn.Linear(c, h), nn.BatchNorm1d(h), nn.ReLU(),
                                                 nn.Dropout(dropout))
            c = h
        stages["logits"] = nn.Linear(c, num_classes)
        self.stages = nn.ModuleDict(stages)
        self.names = tuple(stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(None)(x)

    def forward_to(self, x: torch.Tensor, split: str) -> torch.Tensor:
        for name in self.names[: self.names.index(split) + 1]:
            x = self.stages[name](x)
        return x

    def tail(self, split: str | None) -> nn.Sequential:
        """The stages after ``split`` (all of them for None): what finishes the task from there."""
        start = 0 if split is None else self.names.index(split) + 1
        return nn.Sequential(*(self.stages[name] for name in self.names[start:]))
