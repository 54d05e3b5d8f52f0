"""The network of the learned point-cloud codec (after Ulhaq & Bajić, MMSP 2023).

encoder g_a: every point through a shared MLP (Linear + batch norm + ReLU), then a max over the
points: an order-invariant vector y of ``widths[-1]`` channels. Quantised on the
``EntropyBottleneck``'s median-offset grid and entropy coded with its learned factorised prior.
decoder: ŷ → MLP (``hidden``) → logits. Classification happens at the decoder; the task model
of the suite is not involved.

Kept apart from :mod:`vcmbench.codecs.pointcloud_student` so that torch and compressai load
only when a codec is prepared.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from compressai.entropy_models import EntropyBottleneck
from torch import nn


class SharedPointMLP(nn.Module):
    """Linear + batch norm + ReLU on every point (B×P×C_in → B×P×C_out), PointNet's 1×1 convolution."""

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


class PointCloudStudentNet(nn.Module):
    """g_a (point MLP + max-pool) → EntropyBottleneck → MLP classifier."""

    def __init__(self, widths: Sequence[int], hidden: Sequence[int], num_classes: int, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for w in widths:
            layers.append(SharedPointMLP(c, w))
            c = w
        # The last layer is linear (no batch norm, no ReLU): the latent may take either sign, so the
        # entropy model's median sits inside its distribution rather than on a ReLU's zero floor.
        layers[-1] = nn.Linear(widths[-2] if len(widths) > 1 else 3, c)
        self.analysis = nn.Sequential(*layers)
        self.channels = c
        self.bottleneck = EntropyBottleneck(c)
        head: list[nn.Module] = []
        for h in hidden:
            head += [nn.Linear(c, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(dropout)]
            c = h
        head.append(nn.Linear(c, num_classes))
        self.head = nn.Sequential(*head)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Clouds B×P×3 to unquantised latents B×C×1×1 (the layout compressai's coder takes)."""
        return self.analysis(x).amax(dim=1)[:, :, None, None]

    def classify(self, y_hat: torch.Tensor) -> torch.Tensor:
        """Decoded latents B×C×1×1 to logits."""
        return self.head(y_hat.flatten(1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, total bits of the batch's latents under the entropy model)."""
        y_hat, likelihoods = self.bottleneck(self.encode(x))
        bits = -torch.log2(likelihoods).sum()
        return self.classify(y_hat), bits
