"""Training a learned codec: the shared loop plus what entropy models need.

The loop itself lives in :mod:`vcmbench.training.loop` (task models use it too). A codec's
networks carry compressai ``EntropyBottleneck`` s whose tail quantiles are trained by their own
optimiser on the auxiliary loss, and whose likelihoods must stay in float32 under mixed precision.
compressai is imported on first use only.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vcmbench.training import loop
from vcmbench.training.loop import AuxObjective, LossFn

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass
class TrainSettings(loop.TrainSettings):
    aux_lr: float = 1e-3  # learning rate of the entropy bottlenecks' quantiles


def rate_in_float32(device: str) -> contextlib.AbstractContextManager:
    """Likelihoods of tiny probabilities underflow in float16: keep the entropy model in float32."""
    if device.startswith("cuda"):
        import torch

        return torch.autocast(device_type="cuda", enabled=False)
    return contextlib.nullcontext()


def bottlenecks(model: nn.Module) -> list[Any]:
    """The compressai ``EntropyBottleneck`` s inside ``model``."""
    from compressai.entropy_models import EntropyBottleneck

    return [m for m in model.modules() if isinstance(m, EntropyBottleneck)]


def entropy_aux(model: nn.Module, lr: float) -> AuxObjective | None:
    """The bottlenecks' quantiles and their auxiliary loss (None for a model without one)."""
    found = bottlenecks(model)
    if not found:
        return None
    return AuxObjective(params=[eb.quantiles for eb in found], loss=lambda: sum(eb.loss() for eb in found),
                        lr=lr)


def train(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: LossFn,
          settings: loop.TrainSettings) -> list[dict[str, float]]:
    """The shared loop, with the entropy bottlenecks' quantiles on their own optimiser."""
    aux_lr = settings.aux_lr if isinstance(settings, TrainSettings) else 1e-3
    return loop.train(model, inputs, targets, loss_fn, settings, aux=entropy_aux(model, aux_lr))
