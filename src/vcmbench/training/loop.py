"""One small training loop for every trained model here: seeded, deterministic on CPU, resumable.

Task models (mnist-cnn, PointNet) and learned codecs train with it. What is specific to a
learned codec (the entropy bottleneck's auxiliary quantile loss) comes in as an
:class:`AuxObjective`, so this module needs torch and nothing of the codecs.

Determinism: each epoch reseeds torch from (seed, epoch) and draws batch order and
augmentation from its own generator, so a run resumed after epoch k continues exactly as the
uninterrupted one would have. On the CPU, training runs with a fixed thread count
(:data:`TRAIN_THREADS`) and ``torch.use_deterministic_algorithms``: the order of floating-point
reductions in a convolution's gradient depends on how many threads share it, so the same seed
and data give bit-identical weights only with the same thread count.
On CUDA the forward pass runs under ``torch.autocast`` (float16) with a gradient scaler.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from vcmbench.training.checkpoints import load_checkpoint, save_checkpoint

if TYPE_CHECKING:
    from tqdm import tqdm

# loss_fn(model, inputs, targets, progress in [0, 1)) -> (loss to minimise, {metric name: float} for the log)
LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, float], tuple[torch.Tensor, dict[str, float]]]

TRAIN_THREADS = 1  # CPU threads while training: fixed, so results do not depend on the machine's cores


@dataclass
class AuxObjective:
    """Parameters trained by their own optimiser on their own loss (e.g. entropy-model quantiles)."""

    params: list[nn.Parameter]
    loss: Callable[[], torch.Tensor]
    lr: float = 1e-3


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def autocast(device: str) -> contextlib.AbstractContextManager:
    """Mixed precision on CUDA, nothing on the CPU (where float16 is slower, not faster)."""
    if device.startswith("cuda"):
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def deterministic(device: str, threads: int = TRAIN_THREADS) -> Iterator[None]:
    """Deterministic kernels and (on the CPU) a fixed thread count, restored afterwards."""
    saved_threads = torch.get_num_threads()
    saved_mode = torch.are_deterministic_algorithms_enabled()
    saved_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        if not device.startswith("cuda"):
            torch.set_num_threads(threads)
        # warn_only: CUDA has kernels without a deterministic version; they warn instead of failing.
        torch.use_deterministic_algorithms(True, warn_only=device.startswith("cuda"))
        yield
    finally:
        torch.use_deterministic_algorithms(saved_mode, warn_only=saved_warn)
        torch.set_num_threads(saved_threads)


@dataclass
class TrainSettings:
    epochs: int
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"
    progress: bool = True
    desc: str = "training"
    partial_path: Path | None = None  # where per-epoch state goes, for --resume
    partial_config: dict[str, Any] = field(default_factory=dict)
    resume: bool = False
    augment_shift: int = 0  # random translations of up to this many pixels (images only)
    threads: int = TRAIN_THREADS


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


def progress_bar(settings: TrainSettings, start: int, steps_per_epoch: int) -> tqdm:
    """A bar over optimiser steps (not epochs): it moves within the first epoch and shows an estimate."""
    from tqdm import tqdm

    return tqdm(total=settings.epochs * steps_per_epoch, initial=start * steps_per_epoch,
                desc=settings.desc, unit="step", disable=not settings.progress, leave=False,
                dynamic_ncols=True)


def train(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: LossFn,
          settings: TrainSettings, aux: AuxObjective | None = None) -> list[dict[str, float]]:
    """Minimise ``loss_fn`` over ``inputs``/``targets`` (tensors held in memory); return per-epoch means.

    ``aux`` parameters are left out of the main optimiser and trained on ``aux.loss`` after
    every step, as compressai intends for entropy-bottleneck quantiles.
    """
    with deterministic(settings.device, settings.threads):
        return _train(model, inputs, targets, loss_fn, settings, aux)


def _train(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: LossFn,
           settings: TrainSettings, aux: AuxObjective | None) -> list[dict[str, float]]:
    device = settings.device
    model.to(device)
    aux_ids = {id(p) for p in aux.params} if aux else set()
    main_params = [p for p in model.parameters() if p.requires_grad and id(p) not in aux_ids]
    optimizer = torch.optim.Adam(main_params, lr=settings.lr)
    aux_optimizer = torch.optim.Adam(aux.params, lr=aux.lr) if aux and aux.params else None
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
    bar = progress_bar(settings, start, steps_per_epoch)
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
                aux.loss().backward()
                aux_optimizer.step()
            for k, v in {"loss": float(loss.detach()), **logs}.items():
                sums[k] = sums.get(k, 0.0) + v * len(idx)
            count += len(idx)
            bar.update(1)
        history.append({k: v / count for k, v in sums.items()})
        bar.set_postfix({k: f"{v:.3g}" for k, v in history[-1].items()}, refresh=False)
        if settings.partial_path is not None:
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "schedule": schedule.state_dict(),
                     "aux_optimizer": aux_optimizer.state_dict() if aux_optimizer else {},
                     "history": history, "epoch": epoch + 1}
            save_checkpoint(settings.partial_path, settings.partial_config, state)
    bar.refresh()  # tqdm throttles redraws: show the final step count and loss before the bar is cleared
    bar.close()
    model.eval()
    return history
