"""Split computing (paper section V, Fig. 8 top): code a trained task model's own features.

encoder: image → the task model up to ``split`` → features / step → round → EntropyBottleneck → bytes
decoder: bytes → features × step → (the pipeline) the task model from ``split`` on → label

The early layers remove task-irrelevant information; the codec only removes statistical
redundancy, with a factorized entropy model fitted to the features of the training split.
``step`` (the quantisation step, in feature units) sets the operating point. It needs a task
model with split points (``mnist-cnn``, ``resnet50``); the suite's task model finishes the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from compressai.entropy_models import EntropyBottleneck
from torch import nn

from vcmbench.api.codec import CodecContext, register_codec
from vcmbench.api.task import TaskModel
from vcmbench.codecs.learned.base import (
    LearnedBlockCodec,
    LearnedCodec,
    LearnedSampleCodec,
    input_fingerprint,
)
from vcmbench.codecs.learned.entropy_model import bits_from_likelihoods
from vcmbench.codecs.learned.training import TrainSettings, train
from vcmbench.errors import BitstreamError, UsageError

DEFAULT_STEPS = (0.5, 1.0, 2.0, 4.0, 8.0)
FIT_ELEMENTS = 50_000_000  # cap on feature values held in memory for fitting (large layers use fewer samples)


class FeatureEntropyModel(nn.Module):
    """The learned density of one layer's (scaled) features, channel by channel, and their rank.

    The rank of the features at the split (2: N×C vectors, 3: N×C×L, 4: N×C×H×W) is how the
    decoder turns decoded latents back into features of the right shape. It is a property of
    the task model's split point, learned with the weights and saved with them, so a decoder
    knows it from its checkpoint alone, whatever its own instance has (not) encoded.
    """

    def __init__(self, channels: int, feature_rank: int = 4):
        super().__init__()
        if feature_rank not in (2, 3, 4):
            raise UsageError(f"split-feature codes N×C[×H[×W]] features, not rank {feature_rank}")
        self.bottleneck = EntropyBottleneck(channels)
        self.register_buffer("feature_rank", torch.tensor(feature_rank, dtype=torch.int64))


def as_latents(features: torch.Tensor) -> torch.Tensor:
    """N×C (vectors), N×C×L or N×C×H×W features as N×C×H×W latents."""
    f = torch.as_tensor(features).float()
    if f.ndim == 2:
        return f[:, :, None, None]
    if f.ndim == 3:
        return f[:, :, :, None]
    if f.ndim == 4:
        return f
    raise UsageError(f"split-feature codes N×C[×H[×W]] features, got shape {tuple(f.shape)}")


class SplitFeature(LearnedCodec):
    """Shared by the per-sample and block variants (same fitted entropy model)."""

    family = "split-feature"
    version = "2"  # 2: the feature rank is in the checkpoint (a decoder no longer learns it by encoding)
    decodes_to = "features"
    defaults: ClassVar[dict[str, Any]] = {"split": "fc1", "step": 1.0, "fit_samples": 4000, "epochs": 10,
                                          "batch_size": 256, "lr": 1e-2}

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.split: str = str(self.settings["split"])  # per instance: the split is a parameter here
        self.task_model: TaskModel | None = None
        self._feature_rank: int | None = None  # from the weights (attach), never from encoding

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"split": "fc1", "step": s} for s in DEFAULT_STEPS]

    def validate(self) -> None:
        super().validate()
        step = self.settings["step"]
        if isinstance(step, bool) or not isinstance(step, int | float) or not 0 < step < float("inf"):
            raise UsageError(f"split-feature: step must be a positive number, got {step!r}")
        if not isinstance(self.settings["split"], str):
            raise UsageError(f"split-feature: split must be a split point name, "
                             f"got {self.settings['split']!r}")

    def use_task_model(self, task_model: TaskModel) -> None:
        """The network whose features are coded (its split point must exist)."""
        if type(task_model).features is TaskModel.features:
            raise UsageError(f"split-feature needs a task model with split points (e.g. mnist-cnn, "
                             f"resnet50); {task_model.id!r} has none")
        self.task_model = task_model

    def prepare(self, ctx: CodecContext) -> None:
        if ctx.task_model is None:
            raise UsageError("split-feature needs the suite's task model")
        self.use_task_model(ctx.task_model)
        super().prepare(ctx)

    def train(self, ctx: CodecContext, **kwargs: Any) -> Path:
        if ctx.task_model is not None:
            self.use_task_model(ctx.task_model)
        return super().train(ctx, **kwargs)

    def checkpoint_config(self, ctx: CodecContext) -> dict[str, Any]:
        tm = ctx.task_model
        if tm is None:
            raise UsageError("split-feature needs the suite's task model")
        task = {"id": tm.id, "version": tm.version, "params": dict(tm.params),
                "train": getattr(tm, "train_fingerprint", None)}
        return {"codec": self.family, "version": self.version, "params": dict(self.settings),
                "task_model": task, "train": input_fingerprint(ctx), "seed": ctx.seed}

    def build_model(self, ctx: CodecContext, config: dict[str, Any]) -> FeatureEntropyModel:
        if ctx.train is None:
            raise UsageError("split-feature needs the suite's training split to size its entropy model")
        probe = self._features(ctx.train.inputs([0]))
        return FeatureEntropyModel(int(as_latents(probe).shape[1]), probe.ndim)

    def attach(self, model: nn.Module) -> None:
        super().attach(model)
        self._feature_rank = int(model.feature_rank)

    def _features(self, xs: Sequence[Any]) -> torch.Tensor:
        if self.task_model is None:
            raise UsageError("split-feature: no task model (prepare(ctx) or use_task_model first)")
        f = torch.as_tensor(self.task_model.features(list(xs), self.split))
        if self._feature_rank is not None and f.ndim != self._feature_rank:
            raise UsageError(f"split-feature: features at {self.split!r} have rank {f.ndim}; the entropy "
                             f"model was trained on rank {self._feature_rank}")
        return f

    def fit(self, model: nn.Module, ctx: CodecContext, *, progress: bool, resume: bool,
            partial_path: Path, partial_config: dict[str, Any]) -> dict[str, Any]:
        s = self.settings
        per_sample = as_latents(self._features(ctx.train.inputs([0]))).numel()
        n = max(1, min(int(s["fit_samples"]), len(ctx.train), FIT_ELEMENTS // per_sample))
        y = torch.cat([self.latents(ctx.train.inputs(range(i, min(n, i + 256)))) for i in range(0, n, 256)])

        def loss_fn(m: nn.Module, x: torch.Tensor, _: torch.Tensor, __: float
                    ) -> tuple[torch.Tensor, dict[str, float]]:
            _, likelihoods = m.bottleneck(x)
            bits = bits_from_likelihoods(likelihoods) / len(x)
            return bits, {"bits": float(bits.detach())}

        settings = TrainSettings(epochs=s["epochs"], batch_size=s["batch_size"], lr=s["lr"], aux_lr=1e-2,
                                 seed=ctx.seed, device=ctx.device, progress=progress,
                                 desc=f"split-feature {self.split} step={s['step']:g}",
                                 partial_path=partial_path, partial_config=partial_config, resume=resume)
        history = train(model, y, torch.zeros(len(y)), loss_fn, settings)
        return {"fit_samples": n, "epochs": len(history), "first": history[0], "final": history[-1]}

    @torch.no_grad()
    def latents(self, xs: Sequence[Any]) -> torch.Tensor:
        return as_latents(self._features(xs)) / float(self.settings["step"])

    def outputs(self, y_hat: torch.Tensor) -> list[Any]:
        """Decoded latents N×C×H×W back to features of the split's rank (known from the weights)."""
        rank = self._feature_rank
        if rank is None:
            raise UsageError(f"{self.name}: not prepared (call prepare(ctx) to load or train weights)")
        if (rank == 2 and y_hat.shape[2:] != (1, 1)) or (rank == 3 and y_hat.shape[3] != 1):
            raise BitstreamError(f"{self.name}: decoded latents of shape {tuple(y_hat.shape[1:])} are not "
                                 f"rank-{rank} features of split {self.split!r}")
        f = y_hat * float(self.settings["step"])
        if rank == 2:
            f = f[:, :, 0, 0]
        elif rank == 3:
            f = f[:, :, :, 0]
        return list(f.contiguous())


@register_codec("split-feature")
class SplitFeatureCodec(SplitFeature, LearnedSampleCodec):
    description = "task-model features at a split point, quantised + EntropyBottleneck; per sample"


@register_codec("split-feature-block")
class SplitFeatureBlockCodec(SplitFeature, LearnedBlockCodec):
    description = "split-feature, all features of a block in one string"
