"""The entropic student (paper section V, Fig. 8 bottom): input image in, task output out.

encoder: image → analysis transform g_a → latents Y → quantise → EntropyBottleneck → bytes
decoder: bytes → Ŷ → synthesis "bridge" g_s → the remaining layers of a task network → label

Two training objectives, chosen by ``objective``:

* ``supervised`` (eq. 10): bits(Ŷ) + β · cross-entropy(head(g_s(Ŷ)), label); the head is trained too.
  ``index_ce`` > 0 adds index_ce · cross-entropy(scores of codewords 0..classes−1, label): the
  analysis transform learns to choose codeword k for class k, so the index it sends is itself a
  decision rather than a soft mixture that the hard choice at the end of training would destroy.
* ``distill`` (eq. 11): bits(Ŷ) + β · MSE(g_s(Ŷ), Y⁽ⁱ⁾), where Y⁽ⁱ⁾ are a trained teacher's
  activations at ``teacher_split``; the decoder finishes with the teacher's frozen layers. The
  teacher is the suite's task model when it has that split point, else an ``mnist-cnn`` from the
  task-model registry: the student knows task models only through the TaskModel API.

The codec carries its own task head, so it decodes to labels and runs in any suite, whatever
the suite's task model. The latent is a vector (C×1×1): what a classifier needs is global, and
a spatial latent would pay for positions the label does not depend on. β sets the operating
point: small β spends fewer bits, large β buys accuracy.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from vcmbench.api.codec import CodecContext, register_codec
from vcmbench.api.task import TASK_MODELS, TaskContext, TaskModel
from vcmbench.codecs.learned.base import (
    LearnedBlockCodec,
    LearnedCodec,
    LearnedSampleCodec,
    input_fingerprint,
)
from vcmbench.errors import UsageError

if TYPE_CHECKING:  # torch and compressai load on first use (student_net, entropy_model)
    import torch
    from torch import nn

    from vcmbench.codecs.learned.student_net import StudentNet

# The MNIST grid: each point trains in seconds on two CPU cores (see benchmarks/train-mnist.md).
DEFAULT_BETAS = (4.0, 8.0, 16.0, 32.0, 128.0)
TEACHER = "mnist-cnn"  # the task model a distilled student learns from when the suite's has no such split


class EntropicStudent(LearnedCodec):
    """Shared by the per-sample and block variants (same checkpoints)."""

    family = "entropic-student"
    version = "1"
    decodes_to = "label"
    needs_beta = True
    latent_hw = (1, 1)  # g_a ends in a linear layer: one C-vector (or codeword index) per image
    defaults: ClassVar[dict[str, Any]] = {
        "beta": None, "objective": "supervised", "latent_channels": 8, "width": 16, "hidden": 32,
        "features": 64, "in_channels": 1, "epochs": 24, "batch_size": 64, "lr": 3e-3,
        "teacher_split": "fc1", "teacher_epochs": 4, "augment": 2, "warmup": 0.3,
        "latent": "categorical", "codewords": 32, "hard_phase": 0.5, "index_ce": 0.0,
    }
    # Parameters added after checkpoints shipped: left out of the checkpoint's configuration (and so
    # of its hash-derived name) while at their default, so existing checkpoints keep their names.
    later_defaults: ClassVar[dict[str, Any]] = {"index_ce": 0.0}

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
        index_ce = s["index_ce"]
        if isinstance(index_ce, bool) or not isinstance(index_ce, int | float) or not index_ce >= 0:
            raise UsageError(f"{self.family}: index_ce must be a non-negative number, got {index_ce!r}")
        if index_ce and (s["latent"] != "categorical" or s["objective"] != "supervised"):
            raise UsageError(f"{self.family}: index_ce applies to a supervised categorical student")
        s["index_ce"] = float(index_ce)  # `index_ce: 128` and 128.0 name the same point (and checkpoint)
        for key in ("latent_channels", "width", "hidden", "features", "in_channels", "batch_size",
                    "codewords"):
            if isinstance(s[key], bool) or not isinstance(s[key], int) or s[key] < 1:
                raise UsageError(f"{self.family}: {key} must be a positive integer, got {s[key]!r}")
        from vcmbench.codecs.learned.entropy_model import MIN_SYMBOLS

        if s["latent"] == "vector" and s["latent_channels"] < MIN_SYMBOLS:
            raise UsageError(f"{self.family}: latent_channels must be at least {MIN_SYMBOLS} (the entropy "
                             f"coder's minimum per string), got {s['latent_channels']}")

    # -- configuration and network -----------------------------------------------------------
    def checkpoint_config(self, ctx: CodecContext) -> dict[str, Any]:
        teacher = None
        if self.settings["objective"] == "distill":
            net = self._teacher(ctx)
            teacher = {"name": net.name, "params": dict(net.params), "version": net.version,
                       "fingerprint": net.fingerprint(), "split": self.settings["teacher_split"]}
        params = {k: v for k, v in self.settings.items()
                  if k not in self.later_defaults or v != self.later_defaults[k]}
        return {"codec": self.family, "version": self.version, "params": params,
                "num_classes": ctx.num_classes, "train": input_fingerprint(ctx), "seed": ctx.seed,
                "teacher": teacher}

    def build_model(self, ctx: CodecContext, config: dict[str, Any]) -> StudentNet:
        from torch import nn

        from vcmbench.codecs.learned.student_net import StudentNet

        s = self.settings
        if s["objective"] == "distill":
            teacher, split = self._teacher(ctx), s["teacher_split"]
            shape = tuple(teacher.features(ctx.train.inputs([0]), split).shape[1:])
            tail = copy.deepcopy(teacher.tail(split)).cpu()  # frozen by fit; loaded from the checkpoint
        else:
            shape = (s["features"],)
            tail = nn.Linear(s["features"], ctx.num_classes)
        codewords = s["codewords"] if s["latent"] == "categorical" else 0
        return StudentNet(s["in_channels"], s["width"], s["latent_channels"], s["hidden"], shape, tail,
                          codewords)

    def _teacher(self, ctx: CodecContext) -> TaskModel:
        """The suite's task model if it has the split point ``teacher_split`` (and a ``tail``), else a
        ``mnist-cnn`` from the registry trained on the same split. Only the TaskModel API is used."""
        split = self.settings["teacher_split"]
        model = ctx.task_model
        if model is not None and split in getattr(model, "split_points", ()) and hasattr(model, "tail"):
            return model
        cached = getattr(self, "_own_teacher", None)
        if cached is not None:
            return cached
        teacher = TASK_MODELS.get(TEACHER)(epochs=self.settings["teacher_epochs"],
                                           num_classes=ctx.num_classes)
        teacher.prepare(TaskContext(train=ctx.train, cache_dir=ctx.cache_dir, device=ctx.device,
                                    seed=ctx.seed))
        self._own_teacher = teacher
        return teacher

    # -- training ------------------------------------------------------------------------------
    def fit(self, model: nn.Module, ctx: CodecContext, *, progress: bool, resume: bool,
            partial_path: Path, partial_config: dict[str, Any]) -> dict[str, Any]:
        import torch
        from torch import nn

        from vcmbench.codecs.learned.training import TrainSettings, train
        from vcmbench.training.inputs import dataset_tensors

        s = self.settings
        images, labels = dataset_tensors(ctx.train, s["in_channels"])
        beta = float(s["beta"])
        warmup = float(s["warmup"])
        hard_phase = float(s["hard_phase"])

        def ramp(done: float) -> float:
            """The rate term fades in: the task is learnt first, then squeezed into fewer bits."""
            return min(1.0, done / warmup) if warmup > 0 else 1.0
        if s["objective"] == "distill":
            teacher, split = self._teacher(ctx), s["teacher_split"]
            n = len(images)
            with torch.no_grad():
                model.tail.load_state_dict(copy.deepcopy(teacher.tail(split).state_dict()))
                chunks = [ctx.train.inputs(range(i, min(n, i + 512))) for i in range(0, n, 512)]
                targets = torch.cat([torch.as_tensor(teacher.features(xs, split)).float().cpu()
                                     for xs in chunks])
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
            index_ce = float(s["index_ce"])
            if index_ce and s["codewords"] < ctx.num_classes:
                raise UsageError(f"{self.family}: index_ce ties codeword k to class k, so it needs at "
                                 f"least {ctx.num_classes} codewords, got {s['codewords']}")

            def loss_fn(m: nn.Module, x: torch.Tensor, t: torch.Tensor, done: float
                        ) -> tuple[torch.Tensor, dict[str, float]]:
                m.hard_choice = done >= 1.0 - hard_phase
                feats, bits = m(x)
                bits = bits / len(x)
                ce = nn.functional.cross_entropy(m.tail(feats).float(), t)
                logs = {"bits": float(bits.detach()), "ce_nats": float(ce.detach())}
                loss = ramp(done) * bits + beta * ce
                if index_ce:  # the analysis' scores of codewords 0..classes-1 trained as a classifier
                    aux = nn.functional.cross_entropy(m.scores[:, :ctx.num_classes].float(), t)
                    logs["index_ce_nats"] = float(aux.detach())
                    loss = loss + index_ce * aux
                return loss, logs

        settings = TrainSettings(epochs=s["epochs"], batch_size=s["batch_size"], lr=s["lr"], seed=ctx.seed,
                                 device=ctx.device, progress=progress, desc=f"{self.family} beta={beta:g}",
                                 partial_path=partial_path, partial_config=partial_config, resume=resume,
                                 augment_shift=int(s["augment"]))
        history = train(model, images, targets, loss_fn, settings)
        return {"epochs": len(history), "first": history[0], "final": history[-1]}

    # -- coding ----------------------------------------------------------------------------------
    def latents(self, xs: Sequence[Any]) -> torch.Tensor:
        from vcmbench.training.inputs import to_image_batch

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
