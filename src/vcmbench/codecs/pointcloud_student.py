"""`pointcloud-student[-block]`: a learned point-cloud codec for classification (Ulhaq & Bajić, MMSP 2023).

encoder: cloud → shared point MLP → max-pool → latent vector y → quantise → EntropyBottleneck → bytes
decoder: bytes → ŷ → MLP → label (classification happens at the decoder)

Trained end to end on the suite's training split with bits(ŷ) + β · cross-entropy (the rate term
fades in over the first ``warmup`` of training, so the classifier is learnt before it is
squeezed): β sets the operating point, small β spends fewer bits, large β buys accuracy.
``size`` picks the analysis transform, as in the paper: ``micro`` (one linear layer of 16
projections: the cloud's support function in 16 learned directions), ``lite`` (8-8-16-16-32) and
``full`` (PointNet's 64-64-64-128-1024). Per-sample mode sends one compressai string per cloud
(at least 8 bytes of coder state and a 2-byte shape header); block mode codes a block's latents
in one string, so that fixed cost is paid once per block.

A checkpoint ships for every β of :data:`DEFAULT_BETAS` at size ``lite`` trained on the
embedded shapes-synth-16 set; for anything else prepare() trains only when the run allows it
(``vcmbench run --train``), otherwise the point fails with the command that trains it.
"""

from __future__ import annotations

import hashlib
import sys
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from vcmbench.api.codec import CodecContext, register_codec
from vcmbench.codecs.learned.base import (
    LearnedBlockCodec,
    LearnedCodec,
    LearnedSampleCodec,
    input_fingerprint,
)
from vcmbench.codecs.learned.checkpoints import (
    cache_folder,
    checkpoint_identity,
    checkpoint_name,
    find_checkpoint,
    origin_of,
)
from vcmbench.datasets.pointclouds import augment_clouds, stack_clouds
from vcmbench.entropy.framing import read_varint
from vcmbench.errors import BitstreamError, DataError, UsageError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from vcmbench.codecs.pointcloud_student_net import PointCloudStudentNet

FAMILY = "pointcloud-student"
_LATENT_MEMO = 8  # chunks of latents remembered (CHUNK clouds each)
TRAIN_THREADS = 1  # small networks: a second thread gains little and costs much on a busy machine
DEFAULT_BETAS = (10.0, 30.0, 100.0, 300.0, 1000.0)
SIZES: dict[str, dict[str, list[int]]] = {
    "micro": {"widths": [16], "hidden": [32]},
    "lite": {"widths": [8, 8, 16, 16, 32], "hidden": [64]},
    "full": {"widths": [64, 64, 64, 128, 1024], "hidden": [512, 256]},
}


class PointCloudStudent(LearnedCodec):
    """Shared by the per-sample and block variants (same checkpoints)."""

    family = FAMILY
    version = "1"
    decodes_to = "label"
    needs_beta = True
    defaults: ClassVar[dict[str, Any]] = {
        "beta": None, "size": "lite", "epochs": 30, "batch_size": 32, "lr": 3e-3, "train_points": 256,
        "augment": True, "warmup": 0.3, "dropout": 0.1,
    }

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"beta": b} for b in DEFAULT_BETAS]

    def validate(self) -> None:
        super().validate()
        s = self.settings
        if s["size"] not in SIZES:
            raise UsageError(f"{self.family}: size must be one of {', '.join(SIZES)}, got {s['size']!r}")
        if isinstance(s["batch_size"], bool) or not isinstance(s["batch_size"], int) or s["batch_size"] < 2:
            raise UsageError(f"{self.family}: batch_size must be an integer of at least 2, "
                             f"got {s['batch_size']!r}")
        points = s["train_points"]
        if points is not None and (isinstance(points, bool) or not isinstance(points, int) or points < 1):
            raise UsageError(f"{self.family}: train_points must be a positive integer or null, "
                             f"got {points!r}")
        for key, low, high in (("warmup", 0.0, 1.0), ("dropout", 0.0, 0.99)):
            if isinstance(s[key], bool) or not isinstance(s[key], int | float) or not low <= s[key] <= high:
                raise UsageError(f"{self.family}: {key} must be a number in [{low}, {high}], got {s[key]!r}")
        if isinstance(s["lr"], bool) or not isinstance(s["lr"], int | float) or not s["lr"] > 0:
            raise UsageError(f"{self.family}: lr must be a positive number, got {s['lr']!r}")

    # -- getting ready: load a checkpoint; train only when the run allows it ---------------------
    def prepare(self, ctx: CodecContext) -> None:
        config = self.checkpoint_config(ctx)
        path = find_checkpoint(config, ctx.cache_dir)
        if path is None:
            target = cache_folder(ctx.cache_dir) / checkpoint_name(config)
            if not ctx.allow_training:
                raise DataError(
                    f"{self.name}: no checkpoint for {self.params} on training split "
                    f"{input_fingerprint(ctx)} "
                    f"(looked for {target.name} in {target.parent} and among the shipped ones); train it "
                    f"with `vcmbench train {self.family} --suite SUITE --beta {self.settings['beta']:g}` "
                    f"(same --data-root as the run) or add --train to the run")
            print(f"{self.name}: training {self.params} into {target}", file=sys.stderr)
            path = self.train(ctx, progress=ctx.progress and sys.stderr.isatty())
        self.load(path, ctx, config)
        self.checkpoint_path, self.checkpoint_origin = path, origin_of(path, ctx.cache_dir)

    def identity(self) -> dict[str, Any]:
        path = getattr(self, "checkpoint_path", None)
        return checkpoint_identity(path, self.checkpoint_origin) if path is not None else {}

    # -- configuration and network ---------------------------------------------------------------
    def checkpoint_config(self, ctx: CodecContext) -> dict[str, Any]:
        return {"codec": self.family, "version": self.version, "params": dict(self.settings),
                "num_classes": ctx.num_classes, "train": input_fingerprint(ctx), "seed": ctx.seed}

    def build_model(self, ctx: CodecContext, config: dict[str, Any]) -> PointCloudStudentNet:
        from vcmbench.codecs.pointcloud_student_net import PointCloudStudentNet

        size = SIZES[self.settings["size"]]
        return PointCloudStudentNet(size["widths"], size["hidden"], int(config["num_classes"]),
                                    float(self.settings["dropout"]))

    def fit(self, model: nn.Module, ctx: CodecContext, *, progress: bool, resume: bool,
            partial_path: Path, partial_config: dict[str, Any]) -> dict[str, Any]:
        import numpy as np
        import torch

        from vcmbench.codecs.learned.training import TrainSettings, train

        s = self.settings
        clouds = torch.from_numpy(stack_clouds(ctx.train.inputs(range(len(ctx.train)))))
        labels = torch.as_tensor(np.array(ctx.train.labels()), dtype=torch.int64)
        loss = RateTaskLoss(float(s["beta"]), float(s["warmup"]), s["train_points"], bool(s["augment"]))
        settings = TrainSettings(epochs=s["epochs"], batch_size=s["batch_size"], lr=s["lr"], aux_lr=1e-2,
                                 seed=ctx.seed, device=ctx.device, progress=progress,
                                 desc=f"{self.family} {s['size']} beta={s['beta']:g}",
                                 partial_path=partial_path, partial_config=partial_config, resume=resume,
                                 threads=TRAIN_THREADS)
        history = train(model, clouds, labels, loss, settings)
        return {"epochs": len(history), "first": history[0], "final": history[-1]}

    # -- coding ------------------------------------------------------------------------------------
    def attach(self, model: nn.Module) -> None:
        super().attach(model)
        self.__dict__.pop("_latent_memo", None)  # latents of another network are no longer valid

    def latents(self, xs: Sequence[Any]) -> torch.Tensor:
        """The analysis of a chunk of clouds, remembered by content for the last few chunks: the
        harness asks for the rate estimate of the batch it has just encoded, and the analysis of
        800 clouds costs more than all the entropy coding."""
        import torch

        stacked = stack_clouds(xs)
        key = hashlib.blake2b(f"{stacked.shape}".encode() + stacked.tobytes(), digest_size=16).digest()
        memo: OrderedDict[bytes, torch.Tensor] = self.__dict__.setdefault("_latent_memo", OrderedDict())
        if key not in memo:
            memo[key] = self.model.encode(torch.from_numpy(stacked))
            if len(memo) > _LATENT_MEMO:
                memo.popitem(last=False)
        return memo[key]

    def outputs(self, y_hat: torch.Tensor) -> list[Any]:
        return [int(v) for v in self.model.classify(y_hat).argmax(1)]


class RateTaskLoss:
    """bits per cloud + β · cross-entropy (nats), the rate term ramped in over ``warmup``."""

    def __init__(self, beta: float, warmup: float, points: int | None, augment: bool):
        self.beta, self.warmup, self.points, self.augment = beta, warmup, points, augment

    def __call__(self, model: Any, x: torch.Tensor, y: torch.Tensor, done: float
                 ) -> tuple[torch.Tensor, dict[str, float]]:
        from torch import nn

        logits, bits = model(augment_clouds(x, self.points, self.augment))
        bits = bits / len(x)
        ce = nn.functional.cross_entropy(logits.float(), y)
        ramp = min(1.0, done / self.warmup) if self.warmup > 0 else 1.0
        logs = {"bits": float(bits.detach()), "ce_nats": float(ce.detach()),
                "accuracy": float((logits.argmax(1) == y).float().mean())}
        return ramp * bits + self.beta * ce, logs


# What a stream may claim, checked before the entropy decoder sizes anything by it: the latent is
# one vector per cloud (shape 1×1), and a block holds at most MAX_BLOCK_SYMBOLS latent values
# (a block of 131,072 lite clouds or 4,096 full ones; the decoder then needs ~32 MB, not GBs).
MAX_BLOCK_SYMBOLS = 1 << 22
_SAMPLE_HEADER = b"\x01\x01"  # varint height 1, varint width 1


@register_codec("pointcloud-student")
class PointCloudStudentCodec(PointCloudStudent, LearnedSampleCodec):
    description = "learned point MLP + max-pool + EntropyBottleneck, classifier at the decoder; per cloud"

    def decode_batch(self, streams: Sequence[bytes]) -> list[Any]:
        for stream in streams:
            if stream[:2] != _SAMPLE_HEADER:
                raise BitstreamError("not a pointcloud-student stream (its latent shape must be 1×1)")
        return super().decode_batch(streams)


@register_codec("pointcloud-student-block")
class PointCloudStudentBlockCodec(PointCloudStudent, LearnedBlockCodec):
    description = "learned point-cloud codec for classification, all latents of a block in one string"

    def _max_clouds(self) -> int:
        return MAX_BLOCK_SYMBOLS // SIZES[self.settings["size"]]["widths"][-1]

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        if len(xs) > self._max_clouds():
            raise UsageError(f"{self.name}: a block holds at most {self._max_clouds()} clouds at size "
                             f"{self.settings['size']}; set block_size")
        return super().encode_block(xs)

    def decode_block(self, data: bytes) -> list[Any]:
        from vcmbench.codecs.learned.entropy_model import BLOCK_MAGIC

        if not data or data[0] != BLOCK_MAGIC:
            raise BitstreamError("not a pointcloud-student block stream (bad magic byte)")
        clouds, pos = read_varint(data, 1)
        height, pos = read_varint(data, pos)
        width, _ = read_varint(data, pos)
        if (height, width) != (1, 1) or not 1 <= clouds <= self._max_clouds():
            raise BitstreamError(f"corrupted pointcloud-student block header ({clouds} clouds of "
                                 f"{height}×{width} latents; at most {self._max_clouds()} clouds of 1×1)")
        return super().decode_block(data)
