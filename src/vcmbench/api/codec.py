"""The codec contract: task inputs to REAL bytes and back.

The rate the harness reports is always ``8 * len(bytes)`` of what ``encode`` returned.
``decode`` receives nothing but those bytes: shapes, parameters and side information
travel inside the bitstream and are counted. A codec may also estimate its own rate
(``estimate_bits``); that number is recorded separately and labelled as an estimate.

Two granularities, both first-class:

* :class:`SampleCodec` - one bitstream per sample (random access).
* :class:`BlockCodec` - one bitstream for a block of samples. The rate-distortion bound
  assumes block coding, so this is how a codec approaches it. Bits per sample is then
  total bits / samples. The block length is the ``block_size`` parameter
  (``None``: the whole split is one block).

A codec declares what it decodes to (``decodes_to``): ``"input"`` (an image or point cloud
for the unmodified task model), ``"features"`` (activations at the task model's split point
``split``, fed to :meth:`TaskModel.predict_from_features`) or ``"label"`` (the task output).

One codec instance is one operating point. ``operating_points()`` lists the codec's grid.

A :class:`LayeredCodec` (scalable coding) emits ordered layers per block; decoding any prefix of
them gives an output (the base layer a label, base + enhancement the reconstructed input), and
the harness counts every layer's bytes and measures every prefix.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from vcmbench.api.dataset import Dataset
from vcmbench.api.registry import Registry
from vcmbench.api.task import TaskModel
from vcmbench.entropy.framing import read_varint, write_varint
from vcmbench.errors import BitstreamError

DecodesTo = Literal["input", "features", "label"]
Granularity = Literal["sample", "block"]


@dataclass(frozen=True)
class CodecContext:
    """What a codec may use to get ready (train, fit a code, load a checkpoint)."""

    task_model: TaskModel | None
    train: Dataset | None
    num_classes: int
    train_prior_counts: tuple[int, ...] = ()
    device: str = "cpu"
    cache_dir: Path = field(default_factory=lambda: Path(".vcmbench-cache"))
    seed: int = 0
    # Training inside a run happens only when the user asked for it (`vcmbench run --train`);
    # otherwise a codec without its checkpoint raises a VcmbenchError saying how to train it.
    allow_training: bool = False
    progress: bool = False
    train_fingerprint: str | None = None  # content identity of ``train``, for checkpoint keys


class Codec(ABC):
    """Base of every codec. Subclasses take their operating point as keyword arguments."""

    name: ClassVar[str] = "?"  # set by @register_codec
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    decodes_to: ClassVar[DecodesTo]
    granularity: ClassVar[Granularity]
    split: ClassVar[str | None] = None  # the task model's split point, for decodes_to="features"

    def __init__(self, **params: Any):
        self.params: dict[str, Any] = dict(params)

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        """The codec's default grid: one dict of constructor arguments per point."""
        return [{}]

    def prepare(self, ctx: CodecContext) -> None:  # noqa: B027 - optional hook
        """Called once before encoding: fit a code, train, load weights."""

    def estimate_bits(self, inputs: Sequence[Any]) -> float | None:
        """The codec's own estimate of the total bits for ``inputs`` (labelled as such), if any."""
        return None

    def identity(self) -> dict[str, Any]:
        """What this prepared instance depends on beyond its parameters, as plain JSON.

        A learned codec returns its checkpoint, e.g. ``{"checkpoint": {"sha256": ..., "origin":
        "shipped" | "trained" | "file", "name": ...}}``. Records carry it and a rerun reuses a
        record only when it is unchanged. Called after :meth:`prepare`.
        """
        return {}

    def libraries(self) -> dict[str, str]:
        """The encoder/decoder libraries this codec wraps, name -> version (e.g. ``{"libjxl": "0.11.1"}``).

        Records carry them: the same quality setting of two library versions is not the same codec.
        """
        return {}

    def complexity(self) -> dict[str, float]:
        """Parameters and MACs per input pixel (or point) of encoder and decoder, where measurable.

        Keys: ``encoder_params``, ``decoder_params``, ``encoder_macs_per_pixel``,
        ``decoder_macs_per_pixel``. Counted by a maintained counter (ptflops), never typed in;
        conventional codecs return {}. Called after :meth:`prepare`.
        """
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


class SampleCodec(Codec):
    """One bitstream per sample."""

    granularity: ClassVar[Granularity] = "sample"

    @abstractmethod
    def encode(self, x: Any) -> bytes:
        """One task input to its bitstream."""

    @abstractmethod
    def decode(self, data: bytes) -> Any:
        """A bitstream to one decoded output; raise BitstreamError on a bad bitstream."""

    def encode_batch(self, xs: Sequence[Any]) -> list[bytes]:
        """Override for batched speed; the result must equal per-sample ``encode``."""
        return [self.encode(x) for x in xs]

    def decode_batch(self, streams: Sequence[bytes]) -> list[Any]:
        return [self.decode(s) for s in streams]


class BlockCodec(Codec):
    """One bitstream per block of samples; the sample count travels inside it."""

    granularity: ClassVar[Granularity] = "block"

    @property
    def block_size(self) -> int | None:
        return self.params.get("block_size")

    @abstractmethod
    def encode_block(self, xs: Sequence[Any]) -> bytes:
        """A block of task inputs to one bitstream."""

    @abstractmethod
    def decode_block(self, data: bytes) -> list[Any]:
        """One bitstream back to the block's decoded outputs, in order."""


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a layered bitstream: its name and what the prefix ending with it decodes to."""

    name: str
    decodes_to: DecodesTo


MAX_LAYERS = 16  # what a framed layered stream may claim (a damaged header is refused, not obeyed)


class LayeredCodec(BlockCodec):
    """A scalable codec: each block of inputs becomes ordered layers, and every prefix decodes.

    ``layers`` names the layers in order and says what decoding layers 0..i gives: e.g. the base
    ``LayerSpec("base", "label")`` and then ``LayerSpec("enhancement", "input")``. The codec's
    own ``decodes_to`` is the last layer's (the full stream's output).

    * :meth:`encode_layers` turns a block into one bytes object per layer;
    * :meth:`decode_prefix` turns the first k layers of a block (1 <= k <= len(layers)) into
      one output per input, of the kind ``layers[k - 1].decodes_to``.

    The rate of layer i is ``8 * len`` of its bytes, and a prefix's rate is the sum over its
    layers. Each layer is delivered as its own byte string (as a packet or file: its length is
    known to the receiver, as the length of any bitstream in vcmbench is); everything else a
    layer's decoding needs (shapes, counts, side information) is inside the layers and counted.
    An enhancement layer may depend on the layers before it, never on later ones.

    As a plain :class:`BlockCodec` (a harness that knows nothing of layers) the layers travel in
    one stream, framed by their count and lengths (varints, counted), and decode in full.
    """

    layers: ClassVar[tuple[LayerSpec, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.layers and getattr(cls, "decodes_to", None) != cls.layers[-1].decodes_to:
            raise TypeError(f"{cls.__name__}: decodes_to must be the last layer's "
                            f"({cls.layers[-1].decodes_to!r}), got {getattr(cls, 'decodes_to', None)!r}")

    @abstractmethod
    def encode_layers(self, xs: Sequence[Any]) -> list[bytes]:
        """A block of task inputs to one bitstream per layer, in the order of ``layers``."""

    @abstractmethod
    def decode_prefix(self, layers: Sequence[bytes]) -> list[Any]:
        """The first k layers of a block to the block's outputs (kind: ``layers[k - 1].decodes_to``).

        Raise BitstreamError on a bad layer or a prefix of the wrong length.
        """

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        streams = self.encode_layers(xs)
        return write_varint(len(streams)) + b"".join(write_varint(len(s)) + bytes(s) for s in streams)

    def decode_block(self, data: bytes) -> list[Any]:
        return self.decode_prefix(split_layers(data))


def split_layers(data: bytes) -> list[bytes]:
    """The layers of a framed layered stream (:meth:`LayeredCodec.encode_block`)."""
    count, pos = read_varint(data, 0)
    if not 1 <= count <= MAX_LAYERS:
        raise BitstreamError(f"corrupted layered stream (claims {count} layers)")
    layers = []
    for _ in range(count):
        size, pos = read_varint(data, pos)
        if pos + size > len(data):
            raise BitstreamError("truncated layered stream")
        layers.append(data[pos:pos + size])
        pos += size
    if pos != len(data):
        raise BitstreamError(f"layered stream has {len(data) - pos} bytes after its last layer")
    return layers


CODECS: Registry[type[Codec]] = Registry(
    "codec", "vcmbench.codecs", builtin_modules=["vcmbench.codecs"]
)
register_codec = CODECS.register
