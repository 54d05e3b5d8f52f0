"""Universal representations for the rate-distortion-classification trade-off on MNIST (Nguyen et al.).

Two codecs, both at a fixed rate set by the code (``dims`` numbers of ``levels`` values each;
3 × 3 levels = log2 27 = 4.75 bits per digit, the paper's R = 4.75):

* ``rdc-e2e``: an encoder and a decoder trained together for one (D, C) target, i.e. one
  classification weight λ_c in the loss ‖x − x̂‖² + λ_c·CE(s, c(x̂)) (c: a fixed pre-trained
  classifier, s: the label) — the paper's end-to-end models, one per target;
* ``rdc-universal``: ONE encoder (the end-to-end model's at λ_c = 0, trained for distortion alone)
  frozen, and a decoder trained separately for each λ_c — the paper's universal representation.

Comparing the two sets of (D, C) points at the same rate shows what fixing the encoder costs;
end-to-end points at other rates (dims 2 and 4) turn that into a rate penalty A(Θ) (measured by
:mod:`vcmbench.report.rd`). Both decode to the input, as a one-layer layered codec, so the
harness measures the distortion and the classification term (the suite's task model's
cross-entropy on the reconstructions) on every point.

Block stream: ``varint N`` then the N codes as one integer in base levels^dims (⌈N·dims·log2
levels/8⌉ bytes). The classifier of the training loss is the codec's own (trained once on the
training split, checkpoint shipped); the C the records report is measured by the suite's task
model, a different classifier, so the training objective is not graded by itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from vcmbench.api.codec import CodecContext, LayeredCodec, LayerSpec, register_codec
from vcmbench.codecs.learned.checkpoints import config_hash
from vcmbench.codecs.trained_store import NetworkStore, finished
from vcmbench.entropy.framing import read_varint, write_varint
from vcmbench.errors import BitstreamError, DataError, UsageError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from vcmbench.codecs.universal_net import Classifier, Decoder, FixedRateAutoencoder
    from vcmbench.training.loop import LossFn

VERSION = "3"  # 3: narrower encoder, convolutional decoder (small shipped checkpoints)
CLASSIFIER_VERSION = "2"  # 2: half the channels
NOISY_PHASE = 0.7  # the first 70 % of an end-to-end training rounds by uniform noise, the rest by rounding
SIDE = 28
LAMBDAS = (0.0, 3.0, 10.0, 30.0, 100.0)  # λ_c of the shipped points at the fixed rate
DIMS, LEVELS = 3, 3  # 4.75 bits
OTHER_DIMS = (2, 4)  # end-to-end points at 3.17 and 6.34 bits, for the rate penalty
OTHER_LAMBDAS = (0.0, 10.0, 100.0)  # λ_c of those: the ends and the middle of the D-C trade-off
CLASSIFIER_SETTINGS: dict[str, Any] = {"epochs": 6, "batch_size": 64, "lr": 2e-3, "augment": 2}
AE_SETTINGS: dict[str, Any] = {"epochs": 12, "batch_size": 64, "lr": 3e-3}
DECODER_SETTINGS: dict[str, Any] = {"epochs": 10, "batch_size": 64, "lr": 3e-3}


def rate_bits(dims: int, levels: int) -> float:
    """The nominal rate of a code: dims·log2(levels) bits per digit."""
    return dims * math.log2(levels)


def _fingerprint(ctx: CodecContext) -> str:
    if ctx.train is None:
        raise DataError("the rdc codecs are trained on the suite's training split (the suite has "
                        "train_split: null), and their checkpoints are named by it")
    return ctx.train_fingerprint or ctx.train.info.fingerprint


def classifier_config(ctx: CodecContext) -> dict[str, Any]:
    return {"codec": "rdc-classifier", "version": CLASSIFIER_VERSION, "params": dict(CLASSIFIER_SETTINGS),
            "num_classes": ctx.num_classes, "train": _fingerprint(ctx), "seed": ctx.seed}


def e2e_config(ctx: CodecContext, lambda_c: float, dims: int, levels: int) -> dict[str, Any]:
    return {"codec": "rdc-e2e", "version": VERSION, "lambda_c": lambda_c, "dims": dims, "levels": levels,
            "params": dict(AE_SETTINGS), "classifier": config_hash(classifier_config(ctx)),
            "train": _fingerprint(ctx), "seed": ctx.seed}


def universal_config(ctx: CodecContext, lambda_c: float, dims: int, levels: int) -> dict[str, Any]:
    return {"codec": "rdc-universal", "version": VERSION, "lambda_c": lambda_c, "dims": dims,
            "levels": levels, "encoder": config_hash(e2e_config(ctx, 0.0, dims, levels)),
            "params": dict(DECODER_SETTINGS), "classifier": config_hash(classifier_config(ctx)),
            "train": _fingerprint(ctx), "seed": ctx.seed}


# -- training (only with ctx.allow_training) ------------------------------------------------------------
def _settings(ctx: CodecContext, s: dict[str, Any], desc: str) -> Any:
    import sys

    from vcmbench.training.loop import TrainSettings

    return TrainSettings(epochs=s["epochs"], batch_size=s["batch_size"], lr=s["lr"], seed=ctx.seed,
                         device=ctx.device, progress=ctx.progress and sys.stderr.isatty(), desc=desc,
                         augment_shift=int(s.get("augment", 0)))


def _tensors(ctx: CodecContext) -> tuple[torch.Tensor, torch.Tensor]:
    from vcmbench.training.inputs import dataset_tensors

    images, labels = dataset_tensors(ctx.train, 1)
    if tuple(images.shape[1:]) != (1, SIDE, SIDE):
        raise UsageError(f"the rdc codecs are built for {SIDE}×{SIDE} grey digits")
    return images, labels


def train_classifier(net: Classifier, ctx: CodecContext) -> dict[str, Any]:
    import torch
    from torch import nn

    from vcmbench.training.loop import train

    images, labels = _tensors(ctx)

    def loss_fn(m: nn.Module, x: torch.Tensor, t: torch.Tensor, done: float
                ) -> tuple[torch.Tensor, dict[str, float]]:
        ce = nn.functional.cross_entropy(m(x), t)
        return ce, {"ce_nats": float(ce.detach())}

    torch.manual_seed(ctx.seed)
    history = train(net, images, labels, loss_fn, _settings(ctx, CLASSIFIER_SETTINGS, "rdc classifier"))
    return finished(history, "rdc classifier")


def rdc_loss(classifier: nn.Module, lambda_c: float, *, frozen_encoder: bool = False) -> LossFn:
    """‖x − x̂‖² (summed over the pixels, in [0, 1]) + λ_c·CE(s, c(x̂)) in nats, per sample.

    End to end, the code is relaxed by noise for the first :data:`NOISY_PHASE` of training, then
    rounded. Behind a frozen encoder the decoder learns from the exact codes, and the encoder is
    kept in evaluation mode (its normalisation statistics must not move).
    """
    import torch
    from torch import nn

    def loss_fn(m: nn.Module, x: Any, t: Any, done: float) -> tuple[Any, dict[str, float]]:
        if frozen_encoder:
            m.encoder.eval()
            with torch.no_grad():
                codes = m.encoder.codes(x).float()
            recon = m.decoder(codes)
        else:
            recon = m(x, noisy=done < NOISY_PHASE)
        sse = ((recon - x) ** 2).sum((1, 2, 3)).mean()
        ce = nn.functional.cross_entropy(classifier(recon), t)
        return sse + lambda_c * ce, {"sse": float(sse.detach()), "ce_nats": float(ce.detach())}

    return loss_fn


def train_autoencoder(net: FixedRateAutoencoder, classifier: Classifier, ctx: CodecContext,
                      config: dict[str, Any], settings: dict[str, Any], desc: str,
                      frozen_encoder: bool = False) -> dict[str, Any]:
    import torch

    from vcmbench.training.loop import train

    images, labels = _tensors(ctx)
    classifier.requires_grad_(False)
    torch.manual_seed(ctx.seed)
    history = train(net, images, labels,
                    rdc_loss(classifier, float(config["lambda_c"]), frozen_encoder=frozen_encoder),
                    _settings(ctx, settings, desc))
    return finished(history, desc)


# -- the codecs ------------------------------------------------------------------------------------------
class _RdcCodec(LayeredCodec):
    """A fixed-rate code of each digit, decoded to the digit; one layer, so its distortion is measured."""

    version = VERSION
    decodes_to = "input"
    layers = (LayerSpec("reconstruction", "input"),)
    kind: ClassVar[str] = "?"

    def __init__(self, lambda_c: float = 0.0, dims: int = DIMS, levels: int = LEVELS,
                 block_size: int | None = None):
        if (isinstance(lambda_c, bool) or not isinstance(lambda_c, int | float)
                or not 0 <= lambda_c < math.inf):
            raise UsageError(f"{self.name}: lambda_c must be a non-negative number, got {lambda_c!r}")
        for key, value, low in (("dims", dims, 1), ("levels", levels, 2)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 16:
                raise UsageError(f"{self.name}: {key} must be an integer in {low}..16, got {value!r}")
        if block_size is not None and (isinstance(block_size, bool) or not isinstance(block_size, int)
                                       or block_size < 1):
            raise UsageError(f"{self.name}: block_size must be a positive integer or null, "
                             f"got {block_size!r}")
        params: dict[str, Any] = {"lambda_c": lambda_c, "dims": dims, "levels": levels}
        if block_size is not None:
            params["block_size"] = block_size
        super().__init__(**params)
        self.lambda_c, self.dims, self.levels = float(lambda_c), dims, levels
        self.encoder: Any = None
        self.decoder: Decoder | None = None
        self._identity: dict[str, Any] = {}

    def _classifier(self, store: NetworkStore) -> tuple[Classifier, dict[str, Any]]:
        from vcmbench.codecs.universal_net import Classifier

        ctx = store.ctx
        net, path = store.get(classifier_config(ctx), Classifier(ctx.num_classes),
                              lambda n: train_classifier(n, ctx))
        return net, store.identity(path)

    def _e2e(self, store: NetworkStore, lambda_c: float, classifier: Classifier
             ) -> tuple[FixedRateAutoencoder, dict[str, Any]]:
        from vcmbench.codecs.universal_net import FixedRateAutoencoder

        config = e2e_config(store.ctx, lambda_c, self.dims, self.levels)
        net, path = store.get(config, FixedRateAutoencoder(self.dims, self.levels),
                              lambda n: train_autoencoder(n, classifier, store.ctx, config, AE_SETTINGS,
                                                          f"rdc e2e lambda_c={lambda_c:g}"))
        return net, store.identity(path)

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    def encode_layers(self, xs: Sequence[Any]) -> list[bytes]:
        import torch

        from vcmbench.codecs.universal_net import pack_codes
        from vcmbench.training.inputs import to_image_batch

        if self.encoder is None:
            raise UsageError(f"{self.name}: not prepared")
        shapes = {np.shape(x) for x in xs}
        if shapes != {(SIDE, SIDE)}:
            raise UsageError(f"{self.name} codes {SIDE}×{SIDE} grey digits, got shapes {sorted(shapes)}")
        with torch.no_grad():
            codes = self.encoder.codes(to_image_batch(list(xs), 1))
        return [write_varint(len(xs)) + pack_codes(codes, self.levels)]

    def decode_prefix(self, layers: Sequence[bytes]) -> list[Any]:
        import torch

        from vcmbench.codecs.universal_net import unpack_codes

        if len(layers) != 1:
            raise BitstreamError(f"{self.name}: one layer, got {len(layers)}")
        if self.decoder is None:
            raise UsageError(f"{self.name}: not prepared")
        count, pos = read_varint(layers[0], 0)
        if count > 1 << 20:
            raise BitstreamError(f"corrupted header (claims {count} digits)")
        codes = unpack_codes(layers[0][pos:], count, self.dims, self.levels)
        with torch.no_grad():
            pixels = self.decoder(codes)
        return list(torch.round(pixels.clamp(0, 1) * 255).to(torch.uint8)[:, 0].numpy())


@register_codec("rdc-e2e")
class EndToEndRdc(_RdcCodec):
    """Encoder and decoder trained together for one λ_c (one (D, C) target)."""

    description = "fixed-rate MNIST autoencoder trained end to end for MSE + lambda_c x classifier CE"

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return ([{"lambda_c": lam, "dims": DIMS} for lam in LAMBDAS]
                + [{"lambda_c": lam, "dims": d} for d in OTHER_DIMS for lam in OTHER_LAMBDAS])

    def prepare(self, ctx: CodecContext) -> None:
        store = NetworkStore(ctx, f"rdc-e2e lambda_c={self.lambda_c:g} dims={self.dims}")
        classifier, classifier_id = self._classifier(store)
        net, net_id = self._e2e(store, self.lambda_c, classifier)
        self.encoder, self.decoder = net.encoder, net.decoder
        self._identity = {"checkpoint": net_id, "classifier_checkpoint": classifier_id}


@register_codec("rdc-universal")
class UniversalRdc(_RdcCodec):
    """One encoder (the end-to-end one at λ_c = 0) frozen; a decoder trained for each λ_c."""

    description = "the fixed (lambda_c = 0) encoder with a decoder trained for each lambda_c"

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"lambda_c": lam} for lam in LAMBDAS]

    def prepare(self, ctx: CodecContext) -> None:
        from vcmbench.codecs.universal_net import Decoder

        store = NetworkStore(ctx, f"rdc-universal lambda_c={self.lambda_c:g} dims={self.dims}")
        classifier, classifier_id = self._classifier(store)
        shared, shared_id = self._e2e(store, 0.0, classifier)
        config = universal_config(ctx, self.lambda_c, self.dims, self.levels)

        def fit(decoder: Decoder) -> dict[str, Any]:
            """The decoder alone, behind the frozen encoder (an autoencoder whose encoder is not trained)."""
            from vcmbench.codecs.universal_net import FixedRateAutoencoder

            model = FixedRateAutoencoder(self.dims, self.levels)
            model.encoder = shared.encoder
            model.decoder = decoder
            shared.encoder.requires_grad_(False)
            summary = train_autoencoder(model, classifier, ctx, config, DECODER_SETTINGS,
                                        f"rdc universal decoder lambda_c={self.lambda_c:g}",
                                        frozen_encoder=True)
            shared.encoder.requires_grad_(True)
            return summary

        decoder, path = store.get(config, Decoder(self.dims, self.levels), fit)
        self.encoder, self.decoder = shared.encoder.eval(), decoder
        self._identity = {"checkpoint": store.identity(path), "encoder_checkpoint": shared_id,
                          "classifier_checkpoint": classifier_id}
