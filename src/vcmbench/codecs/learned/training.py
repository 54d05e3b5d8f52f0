"""One small training loop for every learned model here: seeded, resumable, progress-barred.

Determinism: each epoch reseeds torch from (seed, epoch) and shuffles with its own generator,
so a run resumed after epoch k continues exactly as the uninterrupted run would have.
On CUDA the forward pass runs under ``torch.autocast`` (float16) with a gradient scaler;
entropy models compute their likelihoods in float32 regardless (see ``rate_in_float32``).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from compressai.entropy_models import EntropyBottleneck
from torch import nn
from tqdm import tqdm

from vcmbench.codecs.learned.checkpoints import load_checkpoint, save_checkpoint

# loss_fn(model, inputs, targets, progress in [0, 1)) -> (loss to minimise, {metric name: float} for the log)
LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, float], tuple[torch.Tensor, dict[str, float]]]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def autocast(device: str) -> contextlib.AbstractContextManager:
    """Mixed precision on CUDA, nothing on the CPU (where float16 is slower, not faster)."""
    if device.startswith("cuda"):
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def rate_in_float32(device: str) -> contextlib.AbstractContextManager:
    """Likelihoods of tiny probabilities underflow in float16: keep the entropy model in float32."""
    if device.startswith("cuda"):
        return torch.autocast(device_type="cuda", enabled=False)
    return contextlib.nullcontext()


def bottlenecks(model: nn.Module) -> list[EntropyBottleneck]:
    return [m for m in model.modules() if isinstance(m, EntropyBottleneck)]


@dataclass
class TrainSettings:
    epochs: int
    batch_size: int = 128
    lr: float = 1e-3
    aux_lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"
    progress: bool = True
    desc: str = "training"
    partial_path: Path | None = None  # where per-epoch state goes, for --resume
    partial_config: dict[str, Any] = field(default_factory=dict)
    resume: bool = False
    augment_shift: int = 0  # random translations of up to this many pixels (images only)


def _minibatches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels (zero fill): cheap augmentation for digits."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (max_shift,) * 4)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator).tolist()
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


def train(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: LossFn,
          settings: TrainSettings) -> list[dict[str, float]]:
    """Minimise ``loss_fn`` over ``inputs``/``targets`` (tensors held in memory); return per-epoch means.

    Entropy-bottleneck quantiles get their own optimiser on the aux loss, as compressai intends.
    """
    device = settings.device
    model.to(device)
    quantile_params = [eb.quantiles for eb in bottlenecks(model)]
    quantile_ids = {id(p) for p in quantile_params}
    main_params = [p for p in model.parameters() if p.requires_grad and id(p) not in quantile_ids]
    optimizer = torch.optim.Adam(main_params, lr=settings.lr)
    aux_optimizer = torch.optim.Adam(quantile_params, lr=settings.aux_lr) if quantile_params else None
    steps_per_epoch = -(-len(inputs) // settings.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(  # warm start, cosine decay: settles in few epochs
        optimizer, max_lr=settings.lr, total_steps=max(1, settings.epochs * steps_per_epoch), pct_start=0.15)
    scaler = torch.amp.GradScaler("cuda", enabled=device.startswith("cuda"))
    history: list[dict[str, float]] = []
    start = 0
    if settings.resume and settings.partial_path is not None and settings.partial_path.is_file():
        state = load_checkpoint(settings.partial_path, settings.partial_config)["state"]
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        if aux_optimizer is not None:
            aux_optimizer.load_state_dict(state["aux_optimizer"])
        history = list(state["history"])
        start = int(state["epoch"])
    bar = tqdm(total=settings.epochs, initial=start, desc=settings.desc, unit="epoch",
               disable=not settings.progress, leave=False)
    for epoch in range(start, settings.epochs):
        seed_everything(settings.seed * 100_003 + epoch)
        generator = torch.Generator().manual_seed(settings.seed * 100_003 + epoch)
        model.train()
        sums: dict[str, float] = {}
        count = 0
        for idx in _minibatches(len(inputs), settings.batch_size, generator):
            x, t = inputs[idx], targets[idx].to(device)
            if settings.augment_shift:
                x = random_shift(x, settings.augment_shift, generator)
            with autocast(device):
                loss, logs = loss_fn(model, x.to(device), t, (epoch + count / len(inputs)) / settings.epochs)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            schedule.step()
            if aux_optimizer is not None:
                aux_optimizer.zero_grad(set_to_none=True)
                aux_loss = sum(eb.loss() for eb in bottlenecks(model))
                aux_loss.backward()
                aux_optimizer.step()
            for k, v in {"loss": float(loss.detach()), **logs}.items():
                sums[k] = sums.get(k, 0.0) + v * len(idx)
            count += len(idx)
        history.append({k: v / count for k, v in sums.items()})
        bar.set_postfix({k: f"{v:.3g}" for k, v in history[-1].items()})
        bar.update(1)
        if settings.partial_path is not None:
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "schedule": schedule.state_dict(),
                     "aux_optimizer": aux_optimizer.state_dict() if aux_optimizer else {},
                     "history": history, "epoch": epoch + 1}
            save_checkpoint(settings.partial_path, settings.partial_config, state)
    bar.close()
    model.eval()
    return history
