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
from vcmbench.codecs.learned.entropy_model import MIN_SYMBOLS, bits_from_likelihoods
from vcmbench.codecs.learned.inputs import dataset_tensors, to_image_batch
from vcmbench.codecs.learned.training import TrainSettings, rate_in_float32, train
from vcmbench.errors import UsageError

# The MNIST grid: each point trains in seconds on two CPU cores (see benchmarks/train-mnist.md).
DEFAULT_BETAS = (4.0, 8.0, 16.0, 32.0, 128.0)


class StudentNet(nn.Module):
    """g_a (two strided convs, pooled), the entropy bottleneck, g_s (the bridge) and a tail.

    Two latent kinds. ``vector``: g_a outputs a C-vector, rounded on the coder's grid (one
    EntropyBottleneck channel per element). ``categorical``: g_a scores K learned codewords and
    sends the index of the best one, a single integer whose distribution the bottleneck learns;
    the decoder looks the codeword up. The categorical latent lets the rate fall to the entropy
    of the codeword usage, which for a classifier approaches the label entropy.
    """

    def __init__(self, in_channels: int, width: int, latent_channels: int, hidden: int,
                 feature_shape: tuple[int, ...], tail: nn.Module, codewords: int = 0):
        super().__init__()
        self.codewords = codewords
        self.hard_choice = False
        self.analysis = nn.Sequential(
            nn.Conv2d(in_channels, width, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 5, stride=2, padding=2), nn.ReLU(),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(2 * width * 16, codewords or latent_channels),
        )
        # A categorical latent is one index, padded with constant channels that cost ~0 bits, because
        # compressai strings need MIN_SYMBOLS symbols (see entropy_model).
        self.bottleneck = EntropyBottleneck(MIN_SYMBOLS if codewords else latent_channels)
        self.codebook = nn.Parameter(torch.randn(codewords, latent_channels)) if codewords else None
        self.bridge = nn.Sequential(
            nn.Linear(latent_channels, hidden), nn.ReLU(),
            nn.Linear(hidden, math.prod(feature_shape)), nn.ReLU(), nn.Unflatten(1, feature_shape),
        )
        self.tail = tail

    def _medians(self) -> torch.Tensor:
        return self.bottleneck._get_medians().detach().reshape(-1)

    def _offset(self) -> torch.Tensor:
        """Where the coder's integer grid sits: codeword k is sent as the value k + offset."""
        m = self._medians()
        return m - torch.round(m)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """g_a: the latents the coder sends (N×C×1×1)."""
        z = self.analysis(x)
        if self.codewords:
            y = torch.zeros(len(z), MIN_SYMBOLS, device=z.device)
            y[:, 0] = z.argmax(1).float()
            return (y + self._offset())[:, :, None, None]
        return z[:, :, None, None]

    def synthesize(self, y_hat: torch.Tensor) -> torch.Tensor:
        """g_s: decoded latents to the bridge's features."""
        if self.codewords:
            index = torch.round(y_hat[:, 0, 0, 0] - self._offset()[0]).long().clamp(0, self.codewords - 1)
            return self.bridge(self.codebook[index])
        return self.bridge(y_hat.flatten(1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training pass: (bridge features, estimated bits for the whole batch)."""
        z = self.analysis(x)
        if self.codewords:
            return self._forward_categorical(z)
        y = z[:, :, None, None]
        with rate_in_float32(str(x.device)):
            _, likelihoods = self.bottleneck(y.float())
        m = self._medians().reshape(1, -1, 1, 1)
        y_hat = y + (torch.round(y - m) + m - y).detach()  # rounded forward, identity gradient backward
        return self.bridge(y_hat.flatten(1)), bits_from_likelihoods(likelihoods)

    def _forward_categorical(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # First trained on the soft assignment q (the expected codeword), which gives the classifier full
        # gradients (straight-through hard choices from the start collapsed the codebook); then, with
        # ``hard_choice`` set, on the hard index the decoder will see, so decoder and encoder agree.
        q = torch.softmax(z.float(), dim=1)
        if self.hard_choice:
            q_used = nn.functional.one_hot(q.argmax(1), self.codewords).to(q) + q - q.detach()
        else:
            q_used = q
        grid = torch.zeros(MIN_SYMBOLS, self.codewords, device=z.device)
        grid[0] = torch.arange(self.codewords, device=z.device)
        pmf, _, _ = self.bottleneck._likelihood((grid + self._offset()[:, None])[:, None, :])
        if self.bottleneck.use_likelihood_bound:
            pmf = self.bottleneck.likelihood_lower_bound(pmf)
        index_bits = -(q * torch.log2(pmf[0, 0][None])).sum()  # expected code length of the chosen index
        padding_bits = -torch.log2(pmf[1:, 0, 0]).sum() * len(z)
        bits = index_bits + padding_bits
        return self.bridge(q_used @ self.codebook), bits


class EntropicStudent(LearnedCodec):
    """Shared by the per-sample and block variants (same checkpoints)."""

    family = "entropic-student"
    version = "1"
    decodes_to = "label"
    needs_beta = True
    defaults: ClassVar[dict[str, Any]] = {
        "beta": None, "objective": "supervised", "latent_channels": 8, "width": 16, "hidden": 32,
        "features": 64, "in_channels": 1, "epochs": 24, "batch_size": 64, "lr": 3e-3,
        "teacher_split": "fc1", "teacher_epochs": 4, "augment": 2, "warmup": 0.3,
        "latent": "categorical", "codewords": 32, "hard_phase": 0.5,
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
        if s["latent"] not in ("vector", "categorical"):
            raise UsageError(f"{self.family}: latent must be 'vector' or 'categorical', got {s['latent']!r}")
        for key in ("latent_channels", "width", "hidden", "features", "in_channels", "batch_size",
                    "codewords"):
            if isinstance(s[key], bool) or not isinstance(s[key], int) or s[key] < 1:
                raise UsageError(f"{self.family}: {key} must be a positive integer, got {s[key]!r}")
        if s["latent"] == "vector" and s["latent_channels"] < MIN_SYMBOLS:
            raise UsageError(f"{self.family}: latent_channels must be at least {MIN_SYMBOLS} (the entropy "
                             f"coder's minimum per string), got {s['latent_channels']}")

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
        codewords = s["codewords"] if s["latent"] == "categorical" else 0
        return StudentNet(s["in_channels"], s["width"], s["latent_channels"], s["hidden"], shape, tail,
                          codewords)

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
        hard_phase = float(s["hard_phase"])

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
                feats, bits = m(x)
                bits = bits / len(x)
                mse = nn.functional.mse_loss(feats.float(), t.float())
                logs = {"bits": float(bits.detach()), "mse": float(mse.detach())}
                return ramp(done) * bits + beta * mse, logs
        else:
            targets = labels

            def loss_fn(m: nn.Module, x: torch.Tensor, t: torch.Tensor, done: float
                        ) -> tuple[torch.Tensor, dict[str, float]]:
                m.hard_choice = done >= 1.0 - hard_phase
                feats, bits = m(x)
                bits = bits / len(x)
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
        logits = self.model.tail(self.model.synthesize(y_hat))
        return [int(v) for v in logits.argmax(1)]


@register_codec("entropic-student")
class EntropicStudentCodec(EntropicStudent, LearnedSampleCodec):
    description = "learned g_a + EntropyBottleneck + bridge/head (eq. 10/11); one string per sample"


@register_codec("entropic-student-block")
class EntropicStudentBlockCodec(EntropicStudent, LearnedBlockCodec):
    description = "entropic student, all latents of a block in one string"
