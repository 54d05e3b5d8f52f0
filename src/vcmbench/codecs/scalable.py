"""Scalable coding for humans and machines on MNIST: a base layer for the classifier, an enhancement
layer for the pixels coded with the base as side information (de Andrade & Bajić, "Towards
task-compatible compressible representations"; networks in :mod:`vcmbench.codecs.scalable_net`).

Three variants, named as in the paper:

* ``scalable-baseline``: the base is trained for classification only (rate + λ_b·cross-entropy,
  β = 0); the enhancement latent is coded with a Gaussian model whose means and scales come from
  the base latent.
* ``scalable-proposed``: the base also earns a reconstruction reward (+ β·‖x − g_a(Ŷ_b)‖², g_a a
  single linear layer used in training only, β = :data:`PROPOSED_BETA`); enhancement as above.
* ``scalable-standalone``: the proposed variant's enhancement transforms, frozen, with the entropy
  model fine-tuned on a zeroed base (the paper's "standalone"): the same pixels, no side
  information, so any rate difference to ``scalable-proposed`` is what the side information saves.

Each codec is layered (:class:`~vcmbench.api.codec.LayeredCodec`): layer 0 is the base latent of
the block (a compressai ``EntropyBottleneck`` string), which decodes to the label through the
base head g_b; layer 1 is the enhancement latent (a compressai ``GaussianConditional`` string,
conditioned on layer 0), which decodes with it to the 28×28 digit (uint8). The operating point
is ``lmbda`` (λ_e: the enhancement's distortion weight) on the base trained at ``base`` (λ_b).
``scalable-base`` (variant ``baseline`` or ``proposed``) sends the base layer alone, for the base
task's rate-accuracy curve.

Checkpoints: one per trained network (a base, an enhancement), named by the hash of everything
it depends on (variant, λ, architecture, training split fingerprint, seed, and for an enhancement
the base it was trained on). The default grids ship for mnist-5k, so ``vcmbench run mnist-hm``
trains nothing; anything else is trained only when the run allows it (``--train``), otherwise
the point fails saying so. Records name every checkpoint used (``codec.identity``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from vcmbench.api.codec import CodecContext, LayeredCodec, LayerSpec, register_codec
from vcmbench.codecs.learned.checkpoints import config_hash
from vcmbench.codecs.trained_store import NetworkStore, finished, weights_only
from vcmbench.errors import BitstreamError, DataError, UsageError

if TYPE_CHECKING:
    import torch

    from vcmbench.codecs.scalable_net import BaseNet, EnhancementNet

BASE_FAMILY = "scalable-base"
ENH_FAMILY = "scalable-enhancement"
VERSION = "2"  # 2: narrower (width 8, head 32): the shipped checkpoints stay small
ENH_VERSION = "3"  # 2: linear synthesis output (the sigmoid of version 1 could die), lr 2e-3; 3: narrower
PROPOSED_BETA = 0.3  # the reconstruction reward on the base (the paper uses 0.1 on its own scale of losses)
VARIANT_BETA = {"baseline": 0.0, "proposed": PROPOSED_BETA}
# Training budget: every shipped network of mnist-hm trains in about 20 CPU-minutes in all on one thread.
BASE_SETTINGS: dict[str, Any] = {"channels": 12, "width": 8, "head": 32, "epochs": 12, "batch_size": 64,
                                 "lr": 3e-3, "augment": 2}
ENH_SETTINGS: dict[str, Any] = {"channels": 8, "width": 16, "hidden": 8, "epochs": 15, "batch_size": 64,
                                "lr": 2e-3}
STANDALONE_SETTINGS: dict[str, Any] = {"epochs": 6, "batch_size": 64, "lr": 1e-3}
BASE_GRID = (4.0, 16.0, 64.0)  # λ_b of the shipped bases
BASE_DEFAULT = 16.0  # the base every shipped enhancement is trained on
ENH_GRID = (1.0, 4.0, 16.0, 64.0)  # λ_e of the shipped enhancements
SIDE = 28


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or value != value:
        raise UsageError(f"{what} must be a positive number, got {value!r}")
    return float(value)


def _fingerprint(ctx: CodecContext) -> str:
    if ctx.train is None:
        raise DataError("the scalable codecs are trained on the suite's training split (the suite has "
                        "train_split: null), and their checkpoints are named by it")
    return ctx.train_fingerprint or ctx.train.info.fingerprint


def base_config(ctx: CodecContext, variant: str, lmbda: float) -> dict[str, Any]:
    return {"codec": BASE_FAMILY, "version": VERSION, "variant": variant, "beta": VARIANT_BETA[variant],
            "lmbda": lmbda, "params": dict(BASE_SETTINGS), "num_classes": ctx.num_classes,
            "train": _fingerprint(ctx), "seed": ctx.seed}


def enhancement_config(ctx: CodecContext, variant: str, base_lmbda: float, lmbda: float) -> dict[str, Any]:
    """An enhancement's configuration; the standalone one is a fine-tune of the proposed one."""
    if variant == "standalone":
        source = enhancement_config(ctx, "proposed", base_lmbda, lmbda)
        return {"codec": ENH_FAMILY, "version": ENH_VERSION, "variant": variant, "from": config_hash(source),
                "base": source["base"], "lmbda": lmbda, "params": dict(STANDALONE_SETTINGS),
                "train": source["train"], "seed": ctx.seed}
    return {"codec": ENH_FAMILY, "version": ENH_VERSION, "variant": variant,
            "base": config_hash(base_config(ctx, variant, base_lmbda)), "lmbda": lmbda,
            "params": dict(ENH_SETTINGS), "train": _fingerprint(ctx), "seed": ctx.seed}


class _Store(NetworkStore):
    """The base and enhancement networks of one scalable codec instance."""

    def base(self, variant: str, lmbda: float) -> tuple[BaseNet, Path]:
        from vcmbench.codecs.scalable_net import BaseNet

        config = base_config(self.ctx, variant, lmbda)
        s = config["params"]
        net = BaseNet(s["channels"], s["width"], self.ctx.num_classes, reconstruct=config["beta"] > 0,
                      head=s["head"])
        return self.get(config, net, lambda n: train_base(n, self.ctx, config))

    def enhancement(self, variant: str, base_lmbda: float, lmbda: float, base: BaseNet
                    ) -> tuple[EnhancementNet, Path]:
        from vcmbench.codecs.scalable_net import EnhancementNet

        config = enhancement_config(self.ctx, variant, base_lmbda, lmbda)
        s = ENH_SETTINGS
        net = EnhancementNet(s["channels"], s["width"], base.bottleneck.channels,
                             side_information=variant != "standalone", hidden=s["hidden"])

        def fit(n: EnhancementNet) -> dict[str, Any]:
            if variant != "standalone":
                return train_enhancement(n, base, self.ctx, config)
            source, _ = self.enhancement("proposed", base_lmbda, lmbda, base)
            n.load_state_dict(weights_only(source.state_dict()), strict=False)
            return fine_tune_standalone(n, base, self.ctx, config)

        net, path = self.get(config, net, fit)
        net.ready()
        return net, path


# -- training (only with ctx.allow_training) ------------------------------------------------------------
def _images(ctx: CodecContext) -> tuple[torch.Tensor, torch.Tensor]:
    from vcmbench.training.inputs import dataset_tensors

    images, labels = dataset_tensors(ctx.train, 1)
    if tuple(images.shape[1:]) != (1, SIDE, SIDE):
        raise UsageError(f"the scalable codecs are built for {SIDE}×{SIDE} grey digits, "
                         f"got {tuple(images.shape[1:])}")
    return images, labels


def _settings(ctx: CodecContext, s: dict[str, Any], desc: str, augment: int = 0) -> Any:
    from vcmbench.codecs.learned.training import TrainSettings

    return TrainSettings(epochs=s["epochs"], batch_size=s["batch_size"], lr=s["lr"], seed=ctx.seed,
                         device=ctx.device, progress=ctx.progress and sys.stderr.isatty(), desc=desc,
                         augment_shift=augment, aux_lr=1e-2)


def train_base(net: BaseNet, ctx: CodecContext, config: dict[str, Any]) -> dict[str, Any]:
    """Eq. 3: bits(Ŷ_b) + λ_b·CE(g_b(Ŷ_b), s) [+ β·‖x − g_a(Ŷ_b)‖²], per sample."""
    import torch
    from torch import nn

    from vcmbench.codecs.learned.entropy_model import tighten_tails
    from vcmbench.codecs.learned.training import train

    images, labels = _images(ctx)
    lmbda, beta = float(config["lmbda"]), float(config["beta"])

    def loss_fn(m: nn.Module, x: torch.Tensor, t: torch.Tensor, done: float
                ) -> tuple[torch.Tensor, dict[str, float]]:
        _, bits, logits, recon = m(x)
        ce = nn.functional.cross_entropy(logits, t)
        loss = bits / len(x) + lmbda * ce
        logs = {"bits": float(bits.detach()) / len(x), "ce_nats": float(ce.detach())}
        if recon is not None:
            sse = ((recon - x) ** 2).sum((1, 2, 3)).mean()
            loss = loss + beta * sse
            logs["sse"] = float(sse.detach())
        return loss, logs

    torch.manual_seed(ctx.seed)
    history = train(net, images, labels, loss_fn,
                    _settings(ctx, config["params"], f"scalable base {config['variant']}",
                              int(config["params"]["augment"])))
    tighten_tails(net.bottleneck)
    return finished(history, f"scalable base {config['variant']}")


def _base_latents(base: BaseNet, images: torch.Tensor) -> torch.Tensor:
    """Ŷ_b of every training image, as the decoder will see them (rounded on the coder's grid)."""
    import torch

    base.eval()
    with torch.no_grad():
        return torch.cat([base.quantise(base.encode(images[i:i + 512])) for i in range(0, len(images), 512)])


def train_enhancement(net: EnhancementNet, base: BaseNet, ctx: CodecContext, config: dict[str, Any]
                      ) -> dict[str, Any]:
    """Eq. 4: bits(Ŷ_e | Ŷ_b) + λ_e·‖x − g_e(Ŷ_e)‖², per sample; the base is frozen."""
    import torch
    from torch import nn

    from vcmbench.codecs.learned.training import train

    images, _ = _images(ctx)
    side = _base_latents(base, images)
    lmbda = float(config["lmbda"])

    def loss_fn(m: nn.Module, x: torch.Tensor, t: torch.Tensor, done: float
                ) -> tuple[torch.Tensor, dict[str, float]]:
        recon, bits = m(x, side[t])
        sse = ((recon - x) ** 2).sum((1, 2, 3)).mean()
        logs = {"bits": float(bits.detach()) / len(x), "sse": float(sse.detach())}
        return bits / len(x) + lmbda * sse, logs

    torch.manual_seed(ctx.seed)
    history = train(net, images, torch.arange(len(images)), loss_fn,
                    _settings(ctx, config["params"], f"scalable enhancement {config['variant']}"))
    return finished(history, f"scalable enhancement {config['variant']}")


def fine_tune_standalone(net: EnhancementNet, base: BaseNet, ctx: CodecContext, config: dict[str, Any]
                         ) -> dict[str, Any]:
    """The proposed enhancement's transforms frozen; its entropy model (h on a zeroed base) retrained."""
    net.analysis.requires_grad_(False)
    net.synthesis.requires_grad_(False)
    summary = train_enhancement(net, base, ctx, {**config, "params": {**config["params"]}})
    net.requires_grad_(True)
    return summary


# -- the codecs ------------------------------------------------------------------------------------------
class _ScalableBase(LayeredCodec):
    """Shared by every scalable codec: the base network, its coder and the shape checks."""

    version = VERSION

    def _base_ready(self) -> tuple[BaseNet, Any]:
        if getattr(self, "base_net", None) is None:
            raise UsageError(f"{self.name}: not prepared (call prepare(ctx) to load the checkpoints)")
        return self.base_net, self.base_coder

    def _attach_base(self, net: BaseNet) -> None:
        from vcmbench.codecs.learned.entropy_model import LatentCoder

        self.base_net = net
        self.base_coder = LatentCoder(net.bottleneck)

    @staticmethod
    def _batch(xs: Sequence[Any]) -> torch.Tensor:
        from vcmbench.training.inputs import to_image_batch

        shapes = {np.shape(x) for x in xs}
        if shapes != {(SIDE, SIDE)}:
            raise UsageError(f"the scalable codecs code {SIDE}×{SIDE} grey digits, "
                             f"got shapes {sorted(shapes)}")
        return to_image_batch(list(xs), 1)

    def _encode_base(self, x: torch.Tensor) -> tuple[bytes, torch.Tensor]:
        """Layer 0 and the Ŷ_b the decoder will get from it (decoded from the bytes, not assumed)."""
        import torch

        net, coder = self._base_ready()
        with torch.no_grad():
            stream = coder.encode_block(net.encode(x))
        return stream, coder.decode_block(stream)

    def _decode_base(self, data: bytes) -> torch.Tensor:
        return self._base_ready()[1].decode_block(data)

    def _labels(self, base_hat: torch.Tensor) -> list[int]:
        import torch

        with torch.no_grad():
            return [int(v) for v in self.base_net.head(base_hat.flatten(1)).argmax(1)]


class ScalableCodec(_ScalableBase):
    """Base (label) + enhancement (pixels, conditioned on the base): one variant of the paper."""

    decodes_to = "input"
    layers = (LayerSpec("base", "label"), LayerSpec("enhancement", "input"))
    variant: ClassVar[str] = "?"

    def __init__(self, lmbda: float = 4.0, base: float = BASE_DEFAULT, block_size: int | None = None):
        self.lmbda = _number(lmbda, f"{self.name}: lmbda (the enhancement's distortion weight)")
        self.base_lmbda = _number(base, f"{self.name}: base (the base's lambda_b)")
        if block_size is not None and (isinstance(block_size, bool) or not isinstance(block_size, int)
                                       or block_size < 1):
            raise UsageError(f"{self.name}: block_size must be a positive integer or null, "
                             f"got {block_size!r}")
        params: dict[str, Any] = {"lmbda": lmbda, "base": base}
        if block_size is not None:
            params["block_size"] = block_size
        super().__init__(**params)
        self.base_net: BaseNet | None = None
        self.enh_net: EnhancementNet | None = None
        self._identity: dict[str, Any] = {}

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"lmbda": lam} for lam in ENH_GRID]

    def prepare(self, ctx: CodecContext) -> None:
        store = _Store(ctx, f"{self.name} lmbda={self.lmbda:g} base={self.base_lmbda:g}")
        base_variant = "proposed" if self.variant == "standalone" else self.variant
        base, base_path = store.base(base_variant, self.base_lmbda)
        enh, enh_path = store.enhancement(self.variant, self.base_lmbda, self.lmbda, base)
        self._attach_base(base)
        from vcmbench.codecs.scalable_net import EnhancementCoder

        self.enh_net, self.enh_coder = enh, EnhancementCoder(enh)
        self._identity = {"checkpoint": store.identity(enh_path),
                          "base_checkpoint": store.identity(base_path)}

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    def encode_layers(self, xs: Sequence[Any]) -> list[bytes]:
        import torch

        x = self._batch(xs)
        base_stream, base_hat = self._encode_base(x)
        with torch.no_grad():
            means, scales = self.enh_net.parameters_from(base_hat)
            y = self.enh_net.analysis(x)
        return [base_stream, self.enh_coder.encode(y, means, scales)]

    def decode_prefix(self, layers: Sequence[bytes]) -> list[Any]:
        import torch

        if not 1 <= len(layers) <= 2:
            raise BitstreamError(f"{self.name}: a prefix has 1 or 2 layers, got {len(layers)}")
        base_hat = self._decode_base(layers[0])
        if len(layers) == 1:
            return self._labels(base_hat)
        n, h, w, payload = self.enh_coder.read_header(layers[1])
        if n != len(base_hat):
            raise BitstreamError(f"enhancement layer for {n} samples on a base layer of {len(base_hat)}")
        with torch.no_grad():
            means, scales = self.enh_net.parameters_from(base_hat)
            if tuple(means.shape[2:]) != (h, w):
                raise BitstreamError(f"enhancement latent of {h}×{w}, expected {tuple(means.shape[2:])}")
            y_hat = self.enh_coder.decode(payload, means, scales)
            pixels = self.enh_net.reconstruct(y_hat)
        digits = torch.round(pixels.clamp(0, 1) * 255).to(torch.uint8)[:, 0].numpy()
        return list(digits)


@register_codec("scalable-baseline")
class ScalableBaseline(ScalableCodec):
    description = "scalable MNIST codec: base for the classifier, enhancement conditioned on it (beta = 0)"
    variant = "baseline"


@register_codec("scalable-proposed")
class ScalableProposed(ScalableCodec):
    description = "scalable MNIST codec whose base earns a reconstruction reward (de Andrade & Bajic)"
    variant = "proposed"


@register_codec("scalable-standalone")
class ScalableStandalone(ScalableCodec):
    description = "the proposed codec's enhancement coded without side information (entropy model fine-tuned)"
    variant = "standalone"


@register_codec("scalable-base")
class ScalableBaseOnly(_ScalableBase):
    """The base layer alone (label), for the base task's rate-accuracy curve of each variant."""

    description = "the base layer of the scalable MNIST codec alone: the label"
    decodes_to = "label"
    layers = (LayerSpec("base", "label"),)

    def __init__(self, variant: str = "baseline", base: float = BASE_DEFAULT,
                 block_size: int | None = None):
        if variant not in VARIANT_BETA:
            raise UsageError(f"scalable-base: variant must be one of {', '.join(VARIANT_BETA)}, "
                             f"got {variant!r}")
        self.variant = variant
        self.base_lmbda = _number(base, "scalable-base: base (the base's lambda_b)")
        params: dict[str, Any] = {"variant": variant, "base": base}
        if block_size is not None:
            params["block_size"] = block_size
        super().__init__(**params)
        self.base_net = None
        self._identity: dict[str, Any] = {}

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"variant": v, "base": b} for v in VARIANT_BETA for b in BASE_GRID]

    def prepare(self, ctx: CodecContext) -> None:
        store = _Store(ctx, f"scalable-base variant={self.variant} base={self.base_lmbda:g}")
        net, path = store.base(self.variant, self.base_lmbda)
        self._attach_base(net)
        self._identity = {"checkpoint": store.identity(path)}

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    def encode_layers(self, xs: Sequence[Any]) -> list[bytes]:
        return [self._encode_base(self._batch(xs))[0]]

    def decode_prefix(self, layers: Sequence[bytes]) -> list[Any]:
        if len(layers) != 1:
            raise BitstreamError(f"scalable-base: one layer, got {len(layers)}")
        return self._labels(self._decode_base(layers[0]))
