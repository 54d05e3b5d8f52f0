"""The entropic student (paper section V, Fig. 8 bottom): input image in, task output out.

encoder: image → analysis transform g_a → latents Y → quantise → EntropyBottleneck → bytes
decoder: bytes → Ŷ → synthesis "bridge" g_s → the remaining layers of a task network → label

Two training objectives, chosen by ``objective``:

* ``supervised`` (eq. 10): bits(Ŷ) + β · cross-entropy(head(g_s(Ŷ)), label); the head is trained too.
* ``distill`` (eq. 11): bits(Ŷ) + β · MSE(g_s(Ŷ), Y⁽ⁱ⁾), where Y⁽ⁱ⁾ are a trained ``mnist-cnn``
  teacher's activations at ``teacher_split``; the decoder finishes with the teacher's frozen layers.

The codec carries its own task head, so it decodes to labels and runs in any suite, whatever
the suite's task model. The latent is a vector (C×1×1): what a classifier needs is global, and
a spatial latent would pay for positions the label does not depend on. β sets the operating
point: small β spends fewer bits, large β buys accuracy.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from compressai.entropy_models import EntropyBottleneck
from torch import nn

from vcmbench.api.codec import CodecContext, register_codec
from vcmbench.api.task import TaskContext
from vcmbench.codecs.learned.base import (
    LearnedBlockCodec,
    LearnedCodec,
    LearnedSampleCodec,
    input_fingerprint,
)
from vcmbench.codecs.learned.entropy_model import bits_from_likelihoods
from vcmbench.codecs.learned.inputs import dataset_tensors, to_image_batch
from vcmbench.codecs.learned.training import TrainSettings, rate_in_float32, train
from vcmbench.errors import UsageError

# The MNIST grid: each point trains in seconds on two CPU cores (see benchmarks/train-mnist.md).
DEFAULT_BETAS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


class StudentNet(nn.Module):
    """g_a (two strided convs, pooled to a C-vector), the entropy bottleneck, g_s and a tail."""

    def __init__(self, in_channels: int, width: int, latent_channels: int, hidden: int,
                 feature_shape: tuple[int, ...], tail: nn.Module, simplex: bool = False):
        super().__init__()
        self.simplex = simplex
        self.scale = nn.Parameter(torch.tensor(2.0))
        self.analysis = nn.Sequential(
            nn.Conv2d(in_channels, width, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 5, stride=2, padding=2), nn.ReLU(),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(2 * width * 16, latent_channels),
            nn.Unflatten(1, (latent_channels, 1, 1)),
        )
        self.bottleneck = EntropyBottleneck(latent_channels)
        self.bridge = nn.Sequential(
            nn.Flatten(), nn.Linear(latent_channels, hidden), nn.ReLU(),
            nn.Linear(hidden, math.prod(feature_shape)), nn.ReLU(), nn.Unflatten(1, feature_shape),
        )
        self.tail = tail

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """g_a; a simplex latent is a scaled softmax, which rounds to (nearly) one-hot codes."""
        y = self.analysis(x)
        return self.scale * torch.softmax(y, dim=1) if self.simplex else y

    def quantize_ste(self, y: torch.Tensor) -> torch.Tensor:
        """Round on the coder's grid in the forward pass, identity gradient in the backward pass."""
        medians = self.bottleneck._get_medians().detach().reshape(1, -1, 1, 1)
        return y + (torch.round(y - medians) + medians - y).detach()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training pass: bridge features from rounded latents, likelihoods from noisy ones."""
        y = self.encode(x)
        with rate_in_float32(str(x.device)):
            _, likelihoods = self.bottleneck(y.float())
        return self.bridge(self.quantize_ste(y)), likelihoods


class EntropicStudent(LearnedCodec):
    """Shared by the per-sample and block variants (same checkpoints)."""

    family = "entropic-student"
    version = "1"
    decodes_to = "label"
    needs_beta = True
    defaults: ClassVar[dict[str, Any]] = {
        "beta": None, "objective": "supervised", "latent_channels": 8, "width": 8, "hidden": 32,
        "features": 64, "in_channels": 1, "epochs": 20, "batch_size": 64, "lr": 3e-3,
        "teacher_split": "fc1", "teacher_epochs": 4, "augment": 2, "warmup": 0.3,
        "latent": "linear",
    }

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"beta": b} for b in DEFAULT_BETAS]

    def validate(self) -> None:
        super().validate()
        s = self.settings
        if s["objective"] not in ("supervised", "distill"):
            raise UsageError(f"{self.family}: objective must be 'supervised' or 'distill', "
                             f"got {s['objective']!r}")
        for key in ("latent_channels", "width", "hidden", "features", "in_channels", "batch_size"):
            if isinstance(s[key], bool) or not isinstance(s[key], int) or s[key] < 1:
                raise UsageError(f"{self.family}: {key} must be a positive integer, got {s[key]!r}")

    # -- configuration and network -----------------------------------------------------------
    def checkpoint_config(self, ctx: CodecContext) -> dict[str, Any]:
        teacher = None
        if self.settings["objective"] == "distill":
            net = self._teacher(ctx)
            teacher = {"name": "mnist-cnn", "params": dict(net.params), "version": net.version,
                       "train": net.train_fingerprint, "split": self.settings["teacher_split"]}
        return {"codec": self.family, "version": self.version, "params": dict(self.settings),
                "num_classes": ctx.num_classes, "train": input_fingerprint(ctx), "seed": ctx.seed,
                "teacher": teacher}

    def build_model(self, ctx: CodecContext, config: dict[str, Any]) -> StudentNet:
        s = self.settings
        if s["objective"] == "distill":
            from vcmbench.tasks.mnist_cnn import MnistCNNNet, feature_shape

            shape = feature_shape(s["teacher_split"])
            tail = MnistCNNNet(ctx.num_classes).tail(s["teacher_split"])
        else:
            shape = (s["features"],)
            tail = nn.Linear(s["features"], ctx.num_classes)
        simplex = s["latent"] == "simplex"
        channels = ctx.num_classes if simplex else s["latent_channels"]
        return StudentNet(s["in_channels"], s["width"], channels, s["hidden"], shape, tail, simplex)

    def _teacher(self, ctx: CodecContext) -> Any:
        """The suite's mnist-cnn if that is its task model, else an mnist-cnn trained on the same split."""
        from vcmbench.tasks.mnist_cnn import MnistCNN

        if isinstance(ctx.task_model, MnistCNN) and ctx.task_model.network is not None:
            return ctx.task_model
        teacher = MnistCNN(epochs=self.settings["teacher_epochs"], num_classes=ctx.num_classes)
        teacher.prepare(TaskContext(train=ctx.train, cache_dir=ctx.cache_dir, device=ctx.device,
                                    seed=ctx.seed))
        return teacher

    # -- training ------------------------------------------------------------------------------
    def fit(self, model: nn.Module, ctx: CodecContext, *, progress: bool, resume: bool,
            partial_path: Path, partial_config: dict[str, Any]) -> dict[str, Any]:
        s = self.settings
        images, labels = dataset_tensors(ctx.train, s["in_channels"])
        beta = float(s["beta"])
        warmup = float(s["warmup"])

        def ramp(done: float) -> float:
            """The rate term fades in: the task is learnt first, then squeezed into fewer bits."""
            return min(1.0, done / warmup) if warmup > 0 else 1.0
        if s["objective"] == "distill":
            teacher = self._teacher(ctx).network
            with torch.no_grad():
                model.tail.load_state_dict(copy.deepcopy(teacher.tail(s["teacher_split"]).state_dict()))
                targets = torch.cat([teacher.forward_to(images[i:i + 512], s["teacher_split"])
                                     for i in range(0, len(images), 512)])
            model.tail.requires_grad_(False)

            def loss_fn(m: nn.Module, x: torch.Tensor, t: torch.Tensor, done: float
                        ) -> tuple[torch.Tensor, dict[str, float]]:
                feats, likelihoods = m(x)
                bits = bits_from_likelihoods(likelihoods) / len(x)
                mse = nn.functional.mse_loss(feats.float(), t.float())
                logs = {"bits": float(bits.detach()), "mse": float(mse.detach())}
                return ramp(done) * bits + beta * mse, logs
        else:
            targets = labels

            def loss_fn(m: nn.Module, x: torch.Tensor, t: torch.Tensor, done: float
                        ) -> tuple[torch.Tensor, dict[str, float]]:
                feats, likelihoods = m(x)
                bits = bits_from_likelihoods(likelihoods) / len(x)
                ce = nn.functional.cross_entropy(m.tail(feats).float(), t)
                logs = {"bits": float(bits.detach()), "ce_nats": float(ce.detach())}
                return ramp(done) * bits + beta * ce, logs

        settings = TrainSettings(epochs=s["epochs"], batch_size=s["batch_size"], lr=s["lr"], seed=ctx.seed,
                                 device=ctx.device, progress=progress, desc=f"{self.family} beta={beta:g}",
                                 partial_path=partial_path, partial_config=partial_config, resume=resume,
                                 augment_shift=int(s["augment"]))
        history = train(model, images, targets, loss_fn, settings)
        return {"epochs": len(history), "first": history[0], "final": history[-1]}

    # -- coding ----------------------------------------------------------------------------------
    def latents(self, xs: Sequence[Any]) -> torch.Tensor:
        return self.model.encode(to_image_batch(xs, self.settings["in_channels"]))

    def outputs(self, y_hat: torch.Tensor) -> list[Any]:
        logits = self.model.tail(self.model.bridge(y_hat))
        return [int(v) for v in logits.argmax(1)]


@register_codec("entropic-student")
class EntropicStudentCodec(EntropicStudent, LearnedSampleCodec):
    description = "learned g_a + EntropyBottleneck + bridge/head (eq. 10/11); one string per sample"


@register_codec("entropic-student-block")
class EntropicStudentBlockCodec(EntropicStudent, LearnedBlockCodec):
    description = "entropic student, all latents of a block in one string"
