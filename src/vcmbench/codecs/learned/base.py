"""What every learned codec shares: checkpoint lookup or training, and the two granularities.

A learned codec family (entropic student, split feature) says how to build, train and run its
network; this module turns that into a per-sample codec (one compressai string per sample,
shapes in a tiny header) and a block codec (one string for a whole block), both on the same
trained weights, so their difference in rate is purely the cost of per-sample streams.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from vcmbench.api.codec import BlockCodec, Codec, CodecContext, SampleCodec
from vcmbench.codecs.learned.checkpoints import (
    cache_folder,
    checkpoint_identity,
    checkpoint_name,
    find_checkpoint,
    load_checkpoint,
    origin_of,
    save_checkpoint,
)
from vcmbench.errors import DataError, UsageError

if TYPE_CHECKING:  # torch and compressai load on first use: registering a codec costs nothing
    import torch
    from torch import nn

    from vcmbench.codecs.learned.entropy_model import LatentCoder

CHUNK = 256  # samples per forward pass when encoding or decoding


class LearnedCodec(Codec):
    """A codec whose transforms and entropy model are trained; one instance is one trained point."""

    family: ClassVar[str] = "?"  # checkpoint family: the per-sample and block variants share weights
    defaults: ClassVar[dict[str, Any]] = {}  # every training/architecture parameter with its default
    needs_beta: ClassVar[bool] = False  # operating points are set by beta (the rate/task trade-off)
    # The per-sample latent height×width when the network fixes it (decoders refuse other headers).
    latent_hw: ClassVar[tuple[int, int] | None] = None

    def __init__(self, **params: Any):
        unknown = sorted(set(params) - set(self.defaults) - {"block_size"})
        if unknown:
            raise TypeError(f"unknown parameter(s) {', '.join(unknown)}; known: "
                            f"{', '.join(sorted(self.defaults))}")
        if self.needs_beta and "beta" not in params:
            raise TypeError("the parameter beta (rate vs task trade-off) is required")
        super().__init__(**params)
        self.settings: dict[str, Any] = {**self.defaults,
                                         **{k: v for k, v in params.items() if k != "block_size"}}
        self.validate()
        if self.needs_beta:  # `beta: 16` in a YAML and --beta 16 name the same point (and checkpoint)
            self.settings["beta"] = float(self.settings["beta"])
        self.model: nn.Module | None = None
        self.coder: LatentCoder | None = None
        self._identity: dict[str, Any] = {}
        self._last_latents: tuple[tuple[Any, ...], torch.Tensor] | None = None

    # -- what a family provides ------------------------------------------------------------
    def validate(self) -> None:
        """Raise UsageError for parameter values that make no sense."""
        beta = self.settings.get("beta")
        if self.needs_beta and (isinstance(beta, bool) or not isinstance(beta, int | float)
                                or not math.isfinite(beta) or beta <= 0):
            raise UsageError(f"{self.family}: beta must be a positive number, got {beta!r}")
        epochs = self.settings.get("epochs", 1)
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise UsageError(f"{self.family}: epochs must be a positive integer, got {epochs!r}")

    def checkpoint_config(self, ctx: CodecContext) -> dict[str, Any]:
        """Everything the trained weights depend on; its hash names the checkpoint."""
        raise NotImplementedError

    def build_model(self, ctx: CodecContext, config: dict[str, Any]) -> nn.Module:
        """The untrained network (with an ``EntropyBottleneck`` as ``.bottleneck``)."""
        raise NotImplementedError

    def fit(self, model: nn.Module, ctx: CodecContext, *, progress: bool, resume: bool,
            partial_path: Path, partial_config: dict[str, Any]) -> dict[str, Any]:
        """Train ``model`` in place; return a JSON-able summary (final losses, estimated bits)."""
        raise NotImplementedError

    def latents(self, xs: Sequence[Any]) -> torch.Tensor:
        """Unquantised latents N×C×H×W of a batch of task inputs."""
        raise NotImplementedError

    def outputs(self, y_hat: torch.Tensor) -> list[Any]:
        """Decoded latents N×C×H×W to one decoded output per sample (label or features)."""
        raise NotImplementedError

    # -- getting ready ---------------------------------------------------------------------
    def prepare(self, ctx: CodecContext) -> None:
        """Load the checkpoint trained for this exact configuration; train it only when allowed.

        Training inside a run is opt-in (``ctx.allow_training``, `vcmbench run --train`): a missing
        checkpoint otherwise stops this point with what to run, never a silent hour of training.
        """
        config = self.checkpoint_config(ctx)
        path = find_checkpoint(config, ctx.cache_dir)
        if path is None:
            if not ctx.allow_training:
                raise DataError(self.missing_checkpoint_message(ctx, config))
            path = self.train(ctx, progress=ctx.progress)
        self.load(path, ctx, config)

    def _point_params(self) -> list[tuple[str, Any]]:
        """The parameters that make this point, beta first (block_size only groups samples)."""
        given = {k: v for k, v in self.params.items() if k != "block_size"}
        return sorted(given.items(), key=lambda kv: (kv[0] != "beta", kv[0]))

    def point_label(self) -> str:
        """``entropic-student beta=16``: the family and the parameters that make this point."""
        return " ".join([self.family, *(f"{k}={_fmt(v)}" for k, v in self._point_params())])

    def train_command(self, ctx: CodecContext) -> str:
        """The `vcmbench train` command that makes this point's checkpoint where this run looks."""
        args = ["vcmbench", "train", self.family, "--suite", getattr(ctx, "suite", None) or "SUITE"]
        for key, value in self._point_params():
            if key == "beta" and self.needs_beta:
                args += ["--beta", _fmt(value)]
            elif key == "epochs":
                args += ["--epochs", _fmt(value)]
            else:
                args += ["--param", f"{key}={_fmt(value)}"]
        cache = Path(ctx.cache_dir)
        if cache.name == "cache" and cache.parent != Path("results"):
            args += ["--out", str(cache.parent)]
        return " ".join(args)

    def missing_checkpoint_message(self, ctx: CodecContext, config: dict[str, Any]) -> str:
        fingerprint = config.get("train")
        return (f"{self.point_label()}: no checkpoint for this training data ({fingerprint}) in "
                f"{cache_folder(ctx.cache_dir)}; train it with `{self.train_command(ctx)}` "
                f"or run with --train")

    def train(self, ctx: CodecContext, *, progress: bool = True, resume: bool = False,
              force: bool = False) -> Path:
        """Train this configuration and save its checkpoint in the cache; return the path."""
        config = self.checkpoint_config(ctx)
        target = cache_folder(ctx.cache_dir) / checkpoint_name(config)
        existing = find_checkpoint(config, ctx.cache_dir)
        if existing is not None and not force:
            return existing
        import torch

        from vcmbench.codecs.learned.entropy_model import coder_free_state, tighten_tails

        torch.manual_seed(ctx.seed)
        model = self.build_model(ctx, config)
        partial = target.with_suffix(".partial.pt")
        summary = self.fit(model, ctx, progress=progress, resume=resume, partial_path=partial,
                           partial_config={**config, "partial": True})
        tighten_tails(model.bottleneck)
        # float16 on disk halves the files (shipped ones too); encoder and decoder both load them, so
        # both run the same rounded weights.
        state = {k: v.half() if v.is_floating_point() else v
                 for k, v in coder_free_state(model.state_dict()).items()}
        save_checkpoint(target, config, {"model": state}, summary)
        partial.unlink(missing_ok=True)
        return target

    def load(self, path: Path, ctx: CodecContext, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Attach the weights of a checkpoint, refusing one trained for another configuration."""
        from vcmbench.codecs.learned.entropy_model import coder_free_state

        config = config or self.checkpoint_config(ctx)
        payload = load_checkpoint(path, config)
        identity = checkpoint_identity(path, origin_of(path, ctx.cache_dir))
        model = self.build_model(ctx, config)
        state = payload["state"].get("model")
        if not isinstance(state, dict):
            raise DataError(f"checkpoint {path} has no model weights")
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as exc:
            first_line = str(exc).splitlines()[0]
            raise DataError(f"checkpoint {path} does not fit the network: {first_line}") from exc
        missing = list(coder_free_state(dict.fromkeys(missing)))  # rebuilt CDF tables are not missing
        if missing or unexpected:
            raise DataError(f"checkpoint {path} does not fit the network (missing {missing[:3]}, "
                            f"unexpected {list(unexpected)[:3]})")
        self.attach(model)
        self._identity = identity
        return payload

    def attach(self, model: nn.Module) -> None:
        """Use ``model`` (trained, or random for throughput tests) for coding."""
        from vcmbench.codecs.learned.entropy_model import LatentCoder

        self.model = model.cpu().eval()
        self.coder = LatentCoder(model.bottleneck, self.latent_hw)
        self._last_latents = None  # latents of other weights
        self._identity = {}  # weights not from a checkpoint file: nothing to name

    def identity(self) -> dict[str, Any]:
        """The checkpoint in use: ``{"checkpoint": {"sha256", "origin", "name"}}`` (see Codec.identity)."""
        return dict(self._identity)

    def _coder(self) -> LatentCoder:
        if self.coder is None:
            raise UsageError(f"{self.name}: not prepared (call prepare(ctx) to load or train weights)")
        return self.coder

    def _latents_chunked(self, xs: Sequence[Any], *, keep: bool = False) -> torch.Tensor:
        """g_a of a batch. Encoding keeps (``keep``) the batch's latents until the next call, so
        estimating the rate of the batch just encoded (what the pipeline does next) reuses them
        instead of running the analysis transform again; the estimate releases them."""
        import torch

        items = tuple(xs)
        cached, self._last_latents = self._last_latents, None
        # The inputs themselves are held and compared (not their ids): a cached entry can never
        # match another batch that happens to reuse freed memory.
        if cached is not None and len(cached[0]) == len(items) and all(
                a is b for a, b in zip(cached[0], items, strict=True)):
            return cached[1]
        with torch.no_grad():
            y = torch.cat([self.latents(items[i:i + CHUNK]) for i in range(0, len(items), CHUNK)])
        if keep:
            self._last_latents = (items, y)
        return y

    def _outputs_chunked(self, y_hat: torch.Tensor) -> list[Any]:
        import torch

        out: list[Any] = []
        with torch.no_grad():
            for i in range(0, len(y_hat), CHUNK):
                out.extend(self.outputs(y_hat[i:i + CHUNK]))
        return out

    def estimate_bits(self, inputs: Sequence[Any]) -> float | None:
        """The entropy model's likelihood estimate of the payload bits (framing excluded)."""
        return self._coder().estimate_bits(self._latents_chunked(inputs))

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{}]


class LearnedSampleCodec(LearnedCodec, SampleCodec):
    """One compressai string per sample, behind a two-varint shape header."""

    def encode(self, x: Any) -> bytes:
        return self.encode_batch([x])[0]

    def encode_batch(self, xs: Sequence[Any]) -> list[bytes]:
        return self._coder().encode_samples(self._latents_chunked(xs, keep=True))

    def decode(self, data: bytes) -> Any:
        return self.decode_batch([data])[0]

    def decode_batch(self, streams: Sequence[bytes]) -> list[Any]:
        coder = self._coder()
        latents = [coder.decode_sample(s) for s in streams]
        if len({tuple(t.shape) for t in latents}) > 1:  # differently sized inputs: no stacking
            return [self._outputs_chunked(t[None])[0] for t in latents]
        import torch

        return self._outputs_chunked(torch.stack(latents))


class LearnedBlockCodec(LearnedCodec, BlockCodec):
    """The latents of a whole block in one compressai string, behind one small header."""

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        return self._coder().encode_block(self._latents_chunked(xs, keep=True))

    def decode_block(self, data: bytes) -> list[Any]:
        return self._outputs_chunked(self._coder().decode_block(data, max_samples=self.block_size))


def _fmt(value: Any) -> str:
    """16.0 -> 16, 0.5 -> 0.5, strings as they are: how a user would type the value."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def input_fingerprint(ctx: CodecContext) -> str:
    """The training data's identity; training without data is refused with what to do."""
    if ctx.train is None:
        raise DataError("training a learned codec needs the suite's training split "
                        "(the suite has train_split: null)")
    return ctx.train.info.fingerprint
