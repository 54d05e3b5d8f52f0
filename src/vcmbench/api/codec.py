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


CODECS: Registry[type[Codec]] = Registry(
    "codec", "vcmbench.codecs", builtin_modules=["vcmbench.codecs"]
)
register_codec = CODECS.register
