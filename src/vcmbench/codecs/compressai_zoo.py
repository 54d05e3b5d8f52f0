"""CompressAI's pretrained learned image codecs (the zoo), with real ``compress()`` bitstreams.

Registered under CompressAI's own names: ``bmshj2018-factorized``, ``bmshj2018-hyperprior``,
``mbt2018-mean`` (quality 1..8) and ``cheng2020-anchor`` (quality 1..6: CompressAI trains no more),
each for ``metric`` "mse" (default) or "ms-ssim".

Weights come from disk only, by the rule the ResNet-50 task model follows: CompressAI's own file
in the torch hub cache (``<torch.hub.get_dir()>/checkpoints/``, the file name CompressAI would
download, e.g. ``bmshj2018-hyperprior-3-5c6f152b.pth.tar``), or the file named by the
``weights`` parameter. A missing file stops the point with one line naming the file, the folder
it goes in and the URL CompressAI would fetch it from. The sha256 prefix in a hub file's name is
checked. ``weights="random"`` builds a seeded, untrained network: for tests and timing only, and
named so in the record's identity (``origin: random``); it is never a fallback.

The bitstream (everything the decoder gets, all counted):
``varint H, varint 2·W + grey, then per compressai string: varint length, the string``.
The model needs sizes that are multiples of 64 (the hyperprior's total stride), so the image is
padded at its bottom and right by repeating its edge pixels, coded, and the decoded image is
cropped back to H×W. A grey image (an MNIST digit) is replicated to three channels; its decoded
grey value is the mean of the three decoded channels (each estimates the same value). The string
count is fixed by the architecture (1 for the factorized prior, 2 with a hyperprior) and every
length is explicit, so a truncated stream is refused rather than decoded short.

compressai's C++ rANS decoder trusts its input: each string is zero-padded past the furthest
word a decode can read (as :mod:`vcmbench.codecs.learned.entropy_model` does), a header's size
is refused beyond :data:`MAX_PIXELS` before anything is allocated, and the hyper-latent string
must be long enough for the positions the header claims (at least the self-information of the
most likely symbol per position, read off the coder's CDF tables). Damage inside a string that
keeps its structure decodes to a wrong image, as with every entropy-coded format.

Encoder and decoder rebuild the entropy coder's CDF tables from the weights with ``update()``
unless the weights file carries them; both sides then use identical tables on one machine.

torch and compressai are imported on first use: registering these codecs costs nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from vcmbench.api.codec import CodecContext, SampleCodec, register_codec
from vcmbench.codecs.images import to_pillow
from vcmbench.entropy.framing import read_varint, write_varint
from vcmbench.errors import BitstreamError, DataError, UsageError

if TYPE_CHECKING:
    from torch import nn

RANDOM = "random"
METRICS = ("mse", "ms-ssim")
MULTIPLE = 64  # total stride of the hyperprior models (the factorized prior needs 16)
MAX_PIXELS = 1 << 21  # 2 MP (a 1920×1080 frame fits); feature maps stay near 0.5 GB at the cap
# Side of the square input complexity is counted on. At multiples of 64 every layer's output has
# exactly 1/stride² of the input's positions, so MACs per pixel are the same at 64, 128 or 256
# (checked); the smallest is the cheapest to count.
REFERENCE_SIZE = 64
_WORD = 4  # compressai's rANS coder emits 32-bit words
_MIN_STRING = 2 * _WORD  # the flushed 64-bit coder state
_SLACK_BITS = 64
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.pth(\.tar)?$")
_COUNTED: dict[tuple[str, tuple[int, ...]], dict[str, float]] = {}  # complexity per architecture


def _padded(n: int) -> int:
    return -(-n // MULTIPLE) * MULTIPLE


class CompressAIZooCodec(SampleCodec):
    """One CompressAI zoo network at one quality; one image in, its strings behind a shape header."""

    decodes_to = "input"
    architecture: ClassVar[str] = "?"
    qualities: ClassVar[range] = range(1, 9)
    strings: ClassVar[int] = 2  # compressai strings per image: y (and z with a hyperprior)

    def __init__(self, quality: int = 4, metric: str = "mse", weights: str | None = None):
        if isinstance(quality, bool) or not isinstance(quality, int) or quality not in self.qualities:
            raise UsageError(f"{self.architecture}: quality must be an integer from {self.qualities.start} "
                             f"to {self.qualities.stop - 1}, got {quality!r}")
        if metric not in METRICS:
            raise UsageError(f"{self.architecture}: metric must be one of {', '.join(METRICS)}, "
                             f"got {metric!r}")
        params: dict[str, Any] = {"quality": quality, "metric": metric}
        if weights is not None:
            params["weights"] = str(weights)
        super().__init__(**params)
        self.model: nn.Module | None = None
        self._identity: dict[str, Any] = {}

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"quality": q} for q in cls.qualities]

    def libraries(self) -> dict[str, str]:
        import compressai
        import torch

        return {"compressai": compressai.__version__, "torch": torch.__version__}

    # -- weights ----------------------------------------------------------------------------------
    def hub_file(self) -> tuple[str, Path]:
        """(URL, path in the torch hub cache) of CompressAI's weights for this point."""
        import torch
        from compressai.zoo.image import model_urls

        url = model_urls[self.architecture][self.params["metric"]][self.params["quality"]]
        return url, Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name

    def weights_file(self) -> Path:
        given = self.params.get("weights")
        if given is not None:
            path = Path(given).expanduser()
            if not path.is_file():
                raise DataError(f"{self.architecture}: weights file {path} not found (named by `weights`)")
            return path
        url, path = self.hub_file()
        if not path.is_file():
            point = f"{self.architecture} quality {self.params['quality']} ({self.params['metric']})"
            raise DataError(f"{point}: no weights: put {path.name} (from {url}) into {path.parent}/, "
                            f"or name a weights file with the `weights` parameter")
        return path

    def prepare(self, ctx: CodecContext) -> None:
        import torch
        from compressai.zoo.image import cfgs, model_architectures

        arch = model_architectures[self.architecture]
        if self.params.get("weights") == RANDOM:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(ctx.seed)
                model = arch(*cfgs[self.architecture][self.params["quality"]])
            model.update(force=True)
            self._identity = {"checkpoint": {"origin": RANDOM, "seed": ctx.seed}}
        else:
            model = self._load(arch, self.weights_file())
        self.model = model.eval()

    def _load(self, arch: type, path: Path) -> nn.Module:
        from compressai.zoo.pretrained import load_pretrained

        from vcmbench.training.weights import file_sha256, load_state_dict

        digest = file_sha256(path)
        named = _HASH_IN_NAME.search(path.name) if "weights" not in self.params else None
        if named and not digest.startswith(named.group(1)):
            raise DataError(f"weights file {path} is damaged: its sha256 starts {digest[:8]}, its name "
                            f"says {named.group(1)}; fetch it again")
        state = load_pretrained(load_state_dict(path))
        try:
            model = arch.from_state_dict(state)
        except (RuntimeError, KeyError, ValueError) as exc:
            raise DataError(f"weights file {path} does not fit {self.architecture}: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
        if not any(k.endswith("_quantized_cdf") and v.numel() for k, v in state.items()):
            model.update(force=True)  # the file has no CDF tables: build them from its densities
        origin = "file" if "weights" in self.params else "torch-hub"
        self._identity = {"checkpoint": {"sha256": digest, "origin": origin, "name": path.name}}
        return model

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    def _model(self) -> nn.Module:
        if self.model is None:
            raise UsageError(f"{self.name}: not prepared (call prepare(ctx) to load the weights)")
        return self.model

    # -- complexity -------------------------------------------------------------------------------
    def stages(self, size: int) -> tuple[list[Any], list[Any], list[Any]]:
        """(encoder stages, decoder stages, modules both hold) for a size×size input."""
        import torch

        from vcmbench.complexity import Stage

        m = self._model()
        with torch.no_grad():
            y = m.g_a(torch.zeros(1, 3, size, size))
        y_shape = tuple(y.shape[1:])
        if not hasattr(m, "h_a"):
            return [Stage(m.g_a, (3, size, size))], [Stage(m.g_s, y_shape)], [m.entropy_bottleneck]
        with torch.no_grad():
            z = m.h_a(y)
        hyper = [Stage(m.h_s, tuple(z.shape[1:]))]
        if hasattr(m, "context_prediction"):  # autoregressive context: run on both sides, per position
            hw = y_shape[1:]
            hyper += [Stage(m.context_prediction, y_shape),
                      Stage(m.entropy_parameters, (_in_channels(m.entropy_parameters), *hw))]
        encoder = [Stage(m.g_a, (3, size, size)), Stage(m.h_a, y_shape), *hyper]
        return encoder, [*hyper, Stage(m.g_s, y_shape)], [m.entropy_bottleneck, m.gaussian_conditional]

    def complexity(self) -> dict[str, float]:
        """Parameters and MACs per pixel of what compress() and decompress() run (ptflops-counted).

        A hyperprior encoder runs h_s too (it needs the scales to code y), so it counts on both
        sides; so do an autoregressive model's context and entropy-parameter networks.
        """
        from vcmbench.complexity import codec_complexity

        m = self._model()
        key = (self.architecture, tuple(int(p.numel()) for p in m.parameters()))
        if key not in _COUNTED:
            encoder, decoder, held = self.stages(REFERENCE_SIZE)
            _COUNTED[key] = codec_complexity(encoder, decoder, REFERENCE_SIZE ** 2,
                                             encoder_held=held, decoder_held=held)
        return dict(_COUNTED[key])

    # -- coding -----------------------------------------------------------------------------------
    def encode(self, x: Any) -> bytes:
        import torch

        a = np.asarray(to_pillow(x, self.name))  # the same input checks as every image codec
        height, width = a.shape[:2]
        if _padded(height) * _padded(width) > MAX_PIXELS:
            raise UsageError(f"{self.name} codes images of at most {MAX_PIXELS} pixels (padded to "
                             f"multiples of {MULTIPLE}); got {width}×{height}")
        grey = a.ndim == 2
        rgb = np.repeat(a[..., None], 3, axis=2) if grey else a
        rgb = np.pad(rgb, ((0, _padded(height) - height), (0, _padded(width) - width), (0, 0)), mode="edge")
        t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float().div_(255)
        with torch.no_grad():
            out = self._model().compress(t)
        strings = [s[0] for s in out["strings"]]
        if len(strings) != self.strings:
            raise RuntimeError(f"{self.name}: compress() gave {len(strings)} strings, "
                               f"expected {self.strings}")
        header = write_varint(height) + write_varint(2 * width + int(grey))
        return header + b"".join(write_varint(len(s)) + s for s in strings)

    def decode(self, data: bytes) -> np.ndarray:
        import torch

        height, pos = self._varint(data, 0)
        packed, pos = self._varint(data, pos)
        width, grey = packed >> 1, bool(packed & 1)
        if min(height, width) < 1 or _padded(height) * _padded(width) > MAX_PIXELS:
            raise BitstreamError(f"{self.name}: corrupted header (a {width}×{height} image; at most "
                                 f"{MAX_PIXELS} pixels, padded, are decoded)")
        strings = []
        for _ in range(self.strings):
            size, pos = self._varint(data, pos)
            if pos + size > len(data):
                raise BitstreamError(f"{self.name}: truncated bitstream")
            if size < _MIN_STRING or size % _WORD:
                raise BitstreamError(f"{self.name}: corrupted bitstream (a {size}-byte string; the entropy "
                                     f"coder writes whole 32-bit words, at least {_MIN_STRING} bytes)")
            strings.append(data[pos:pos + size])
            pos += size
        if pos != len(data):
            raise BitstreamError(f"{self.name}: {len(data) - pos} bytes after the last string")
        m = self._model()
        hp, wp = _padded(height), _padded(width)
        stride = 16 if self.strings == 1 else MULTIPLE
        shape = (hp // stride, wp // stride)
        self._check_hyper_string(strings[-1], shape)
        # A decode renormalises at most once per symbol: padding that many words keeps the
        # reads of a damaged string inside its buffer.
        symbols = _in_channels(m.g_s) * (hp // 16) * (wp // 16)  # the latent y; z has fewer
        padding = bytes(_WORD * (symbols + 16))
        with torch.no_grad():
            x_hat = m.decompress([[s + padding] for s in strings], shape)["x_hat"]
        if x_hat.shape[-2:] != (hp, wp) or not torch.isfinite(x_hat).all():
            raise BitstreamError(f"{self.name}: corrupted bitstream (decoded {tuple(x_hat.shape)})")
        img = x_hat[0, :, :height, :width]
        img = img.mean(0) if grey else img.permute(1, 2, 0)
        return (img.clamp(0, 1) * 255).round().to(torch.uint8).numpy().copy()

    def _varint(self, data: bytes, pos: int) -> tuple[int, int]:
        try:
            return read_varint(data, pos)
        except BitstreamError as exc:
            raise BitstreamError(f"{self.name}: {exc}") from exc

    def _check_hyper_string(self, string: bytes, shape: tuple[int, int]) -> None:
        """The string the entropy bottleneck codes must hold the positions the header claims."""
        from vcmbench.codecs.learned.entropy_model import min_bits_per_position

        least = shape[0] * shape[1] * min_bits_per_position(self._model().entropy_bottleneck)
        if least > 8 * len(string) + _SLACK_BITS:
            raise BitstreamError(f"{self.name}: corrupted header: {shape[0]}×{shape[1]} latent positions "
                                 f"need at least {least:.0f} bits, the string holds {8 * len(string)}")


def _in_channels(module: nn.Module) -> int:
    """Input channels of the first convolution inside ``module``."""
    for sub in module.modules():
        if hasattr(sub, "in_channels"):
            return int(sub.in_channels)
    raise ValueError(f"{type(module).__name__} has no convolution")


@register_codec("bmshj2018-factorized")
class Bmshj2018Factorized(CompressAIZooCodec):
    """Ballé et al. 2018, factorized prior (CompressAI zoo); one string per image."""

    description = "CompressAI bmshj2018-factorized (pretrained, from the torch hub cache); quality 1..8"
    architecture = "bmshj2018-factorized"
    strings = 1


@register_codec("bmshj2018-hyperprior")
class Bmshj2018Hyperprior(CompressAIZooCodec):
    """Ballé et al. 2018, scale hyperprior (CompressAI zoo)."""

    description = "CompressAI bmshj2018-hyperprior (pretrained, from the torch hub cache); quality 1..8"
    architecture = "bmshj2018-hyperprior"


@register_codec("mbt2018-mean")
class Mbt2018Mean(CompressAIZooCodec):
    """Minnen et al. 2018, mean-scale hyperprior without context (CompressAI zoo)."""

    description = "CompressAI mbt2018-mean (pretrained, from the torch hub cache); quality 1..8"
    architecture = "mbt2018-mean"


@register_codec("cheng2020-anchor")
class Cheng2020Anchor(CompressAIZooCodec):
    """Cheng et al. 2020, anchor with autoregressive context (CompressAI zoo, quality 1..6)."""

    description = "CompressAI cheng2020-anchor (pretrained, from the torch hub cache); quality 1..6"
    architecture = "cheng2020-anchor"
    qualities = range(1, 7)

    def __init__(self, quality: int = 3, metric: str = "mse", weights: str | None = None):
        super().__init__(quality=quality, metric=metric, weights=weights)
