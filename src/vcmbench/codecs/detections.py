"""`detections`: detect at the encoder, send the objects, decode straight to detections.

The detection analogue of the paper's classify-then-code label codecs (its "Method 1"): the
encoder runs the suite's detector on each image, keeps the objects scoring at least
``threshold`` (at most ``max_objects``, the best first), quantises them and entropy-codes them;
the decoder rebuilds the detections from the bytes alone, with the detector's class list (shared
free, like any model's weights) and the operating point's parameters.

Per object: its box centre on a ``grid × grid`` lattice (cell x and y, decoded at the cell's
centre), its width and height on ``grid`` levels spaced evenly in log2 from 1/64 of the image's
side to all of it, and its class. Per image: the number of objects. Four symbol streams (object
counts; classes; centre cells, x and y interleaved; size levels, width and height interleaved)
are coded with constriction's ANS coder under adaptive Krichevsky–Trofimov models
(:mod:`vcmbench.entropy.ans`), which learn the statistics as they go (no table is sent). The
bitstream: the number of images (varint), then each stream's length (varint; the last stream
runs to the end) and bytes. Everything is counted. Boxes are fractions of the image, so the
image's size is not sent: the configuration space of the paper's eq. 7 has no image size in it,
and the evaluation maps fractions to pixels with the original image's size.

Decoded objects come in the order they were sent (best score first) with scores 1, 0.999,
0.998, ... (rank, not confidence: the scores are not sent), so COCOeval ranks them as the
encoder did. The codec decodes to the task output (``decodes_to = "label"``, the task model's
kind of output: here detections), and needs a detector (``output = "detections"``) as the
suite's task model. A block (``block_size``; None: the whole split) is one bitstream, so the
adaptive models' learning and the coder's few bytes of overhead are shared by its images.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from vcmbench.api.codec import BlockCodec, CodecContext, register_codec
from vcmbench.api.dataset import Detections
from vcmbench.entropy.ans import adaptive_code_length, decode_adaptive, encode_adaptive
from vcmbench.entropy.framing import read_count, read_varint, write_varint
from vcmbench.errors import BitstreamError, UsageError

SIZE_OCTAVES = 6  # sizes from 2^-6 of the image's side to all of it
RANK_STEP = 0.001  # decoded score of the k-th object sent: 1 - k * RANK_STEP
MAX_GRID = 1024
MAX_OBJECTS = 1000


def _int_param(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"detections: {name} must be an integer from {low} to {high}, got {value!r}")
    return value


@register_codec("detections")
class DetectionsCodec(BlockCodec):
    """Detector at the encoder; counts, classes, centre cells and size levels, ANS-coded."""

    description = "detect, quantise boxes to a grid, entropy-code the objects (decodes to detections)"
    version = "1"
    decodes_to: ClassVar[str] = "label"  # the task output itself: detections

    def __init__(self, grid: int = 16, threshold: float = 0.25, max_objects: int = 15,
                 block_size: int | None = None):
        _int_param("grid", grid, 2, MAX_GRID)
        _int_param("max_objects", max_objects, 1, MAX_OBJECTS)
        if block_size is not None:
            _int_param("block_size", block_size, 1, 1 << 24)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
            raise UsageError(f"detections: threshold must be a score in [0, 1], got {threshold!r}")
        super().__init__(grid=grid, threshold=float(threshold), max_objects=max_objects,
                         block_size=block_size)
        self.task_model: Any = None
        self.num_categories = 0

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"grid": 4}, {"grid": 8}, {"grid": 16}, {"grid": 32}, {"grid": 32, "threshold": 0.1},
                {"grid": 16, "threshold": 0.5}, {"grid": 16, "max_objects": 3}]

    def prepare(self, ctx: CodecContext) -> None:
        task = ctx.task_model
        if task is None or getattr(task, "output", "label") != "detections":
            raise UsageError("detections needs a detector as the suite's task model (e.g. yolo), got "
                             f"{getattr(task, 'name', None)!r}")
        categories = getattr(task, "categories", ())
        if not categories:
            raise UsageError(f"detections: task model {task.name!r} names no categories (prepare it first)")
        self.task_model, self.num_categories = task, len(categories)

    # -- quantisation ---------------------------------------------------------------------------
    def _size_levels(self) -> int:
        return self.params["grid"]

    def _quantise(self, det: Detections) -> tuple[np.ndarray, ...]:
        """(classes, cells x/y interleaved, size levels w/h interleaved) of the objects sent."""
        g, levels = self.params["grid"], self._size_levels()
        keep = np.flatnonzero(det.scores >= self.params["threshold"])
        keep = keep[np.argsort(-det.scores[keep], kind="stable")][: self.params["max_objects"]]
        b = det.boxes[keep]
        centre = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)
        cells = np.clip(np.floor(centre * g), 0, g - 1).astype(np.int64)
        size = np.maximum(np.stack([b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1), 2.0 ** -SIZE_OCTAVES)
        step = SIZE_OCTAVES / (levels - 1)
        level = np.clip(np.rint((np.log2(size) + SIZE_OCTAVES) / step), 0, levels - 1).astype(np.int64)
        return det.classes[keep], cells.reshape(-1), level.reshape(-1)

    def _dequantise(self, classes: np.ndarray, cells: np.ndarray, levels: np.ndarray) -> Detections:
        g = self.params["grid"]
        centre = (cells.reshape(-1, 2) + 0.5) / g
        size = 2.0 ** (levels.reshape(-1, 2) * (SIZE_OCTAVES / (self._size_levels() - 1)) - SIZE_OCTAVES)
        boxes = np.clip(np.concatenate([centre - size / 2, centre + size / 2], axis=1), 0.0, 1.0)
        scores = 1.0 - RANK_STEP * np.arange(len(classes))
        return Detections(boxes, classes, scores)

    # -- coding ---------------------------------------------------------------------------------
    def _streams(self, xs: Sequence[Any]) -> list[tuple[np.ndarray, int]]:
        """The four symbol streams of a block, each with its alphabet size."""
        if self.task_model is None:
            raise UsageError("detections: encode before prepare")
        counts, classes, cells, levels = [], [], [], []
        for det in self.task_model.predict(list(xs)):
            c, xy, wh = self._quantise(det)
            counts.append(len(c))
            classes.append(c)
            cells.append(xy)
            levels.append(wh)
        joined = [np.asarray(counts, dtype=np.int64)] + [np.concatenate(s) if s else np.zeros(0, np.int64)
                                                         for s in (classes, cells, levels)]
        sizes = [self.params["max_objects"] + 1, self.num_categories, self.params["grid"],
                 self._size_levels()]
        return list(zip(joined, sizes, strict=True))

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        parts = [_code(symbols, k) for symbols, k in self._streams(xs)]
        head = write_varint(len(xs)) + b"".join(write_varint(len(p)) + p for p in parts[:-1])
        return head + parts[-1]

    def estimate_bits(self, inputs: Sequence[Any]) -> float | None:
        """The adaptive models' ideal code length of the symbols (no coder overhead, no framing)."""
        return sum(adaptive_code_length(s, k) if k > 1 else 0.0 for s, k in self._streams(inputs))

    def decode_block(self, data: bytes) -> list[Detections]:
        if self.num_categories < 1:
            raise UsageError("detections: decode before prepare")
        n, pos = read_count(data, 0, "images")
        if n < 1:
            raise BitstreamError("detections: a block of zero images")
        parts = []
        for _ in range(3):
            size, pos = read_varint(data, pos)
            if pos + size > len(data):
                raise BitstreamError("detections: truncated bitstream")
            parts.append(data[pos:pos + size])
            pos += size
        parts.append(data[pos:])
        counts = _decode(parts[0], self.params["max_objects"] + 1, n)
        total = int(counts.sum())
        classes = _decode(parts[1], self.num_categories, total)
        cells = _decode(parts[2], self.params["grid"], 2 * total)
        levels = _decode(parts[3], self._size_levels(), 2 * total)
        out, start = [], 0
        for c in counts.tolist():
            end = start + c
            pair = slice(2 * start, 2 * end)
            out.append(self._dequantise(classes[start:end], cells[pair], levels[pair]))
            start = end
        return out


def _code(symbols: np.ndarray, alphabet: int) -> bytes:
    """A stream under the adaptive model; nothing at all for no symbols or a one-letter alphabet."""
    if len(symbols) == 0 or alphabet == 1:
        return b""
    return encode_adaptive(symbols, alphabet)


def _decode(data: bytes, alphabet: int, count: int) -> np.ndarray:
    if count == 0 or alphabet == 1:
        if data:
            raise BitstreamError(f"detections: {len(data)} bytes where no symbols are coded")
        return np.zeros(count, dtype=np.int64)
    return decode_adaptive(data, alphabet, count)
