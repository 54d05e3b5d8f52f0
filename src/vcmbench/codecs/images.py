"""Conventional image codecs (JPEG, WebP, PNG) through Pillow: the baselines every learned codec must beat.

The bitstream is the file Pillow writes, headers included, so the rate is what a real
receiver would download. The image format carries the image's size and channel count, so
nothing else travels, with one exception: WebP has no greyscale mode (Pillow stores a grey
image as RGB), so a grey image's WebP stream is one marker byte ``b"L"`` followed by the WebP
file. That byte is part of the bitstream and counted; RGB WebP streams are Pillow's bytes as is.
"""

from __future__ import annotations

import io
import warnings
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from vcmbench.api.codec import SampleCodec, register_codec
from vcmbench.errors import BitstreamError, UsageError

QUALITY_GRID = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)

_GREY_WEBP_MARKER = b"L"


def to_pillow(x: Any, codec: str) -> Image.Image:
    """A uint8 (H, W) grey or (H, W, 3) RGB array as a Pillow image; anything else is refused."""
    a = np.asarray(x)
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)) or 0 in a.shape:
        raise UsageError(f"{codec} codes uint8 images of shape (H, W) or (H, W, 3); "
                         f"got {a.dtype} {a.shape}")
    return Image.fromarray(np.ascontiguousarray(a), mode="L" if a.ndim == 2 else "RGB")


def from_pillow_bytes(data: bytes, fmt: str, codec: str) -> np.ndarray:
    """Decode ``data`` as an image of format ``fmt`` into a uint8 array; BitstreamError otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                img.load()
                mode = img.mode
                if mode not in ("L", "RGB"):
                    raise BitstreamError(f"{codec}: decoded a {mode} image; this codec writes L or RGB")
                return np.asarray(img, dtype=np.uint8).copy()
    except BitstreamError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise BitstreamError(f"{codec}: not a decodable {fmt} bitstream ({exc})") from exc


class PillowCodec(SampleCodec):
    """One image in, the file Pillow writes out; decoding returns the input's shape and dtype."""

    decodes_to = "input"
    pillow_format: ClassVar[str]

    def save_options(self) -> dict[str, Any]:
        """Keyword arguments for ``Image.save`` at this operating point."""
        return {}

    def encode(self, x: Any) -> bytes:
        buf = io.BytesIO()
        to_pillow(x, self.name).save(buf, format=self.pillow_format, **self.save_options())
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        return from_pillow_bytes(data, self.pillow_format, self.name)


def _quality(value: Any, codec: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise UsageError(f"{codec}: quality must be an integer from 0 to 100, got {value!r}")
    return value


@register_codec("jpeg")
class JpegCodec(PillowCodec):
    """Baseline JPEG (libjpeg via Pillow, 4:2:0 chroma, optimised Huffman tables)."""

    description = "JPEG via Pillow (optimised Huffman); quality 5..95"
    pillow_format = "JPEG"

    def __init__(self, quality: int = 75):
        super().__init__(quality=_quality(quality, "jpeg"))

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"quality": q} for q in QUALITY_GRID]

    def save_options(self) -> dict[str, Any]:
        # optimize: per-image Huffman tables, a few percent fewer bytes at no loss of quality.
        return {"quality": self.params["quality"], "optimize": True}


@register_codec("webp")
class WebpCodec(PillowCodec):
    """Lossy WebP (libwebp via Pillow); ``method`` trades encoder time for rate (0 fast .. 6 best)."""

    description = "lossy WebP via Pillow; quality 5..95"
    pillow_format = "WEBP"

    def __init__(self, quality: int = 75, method: int = 4):
        if isinstance(method, bool) or not isinstance(method, int) or not 0 <= method <= 6:
            raise UsageError(f"webp: method must be an integer from 0 to 6, got {method!r}")
        super().__init__(quality=_quality(quality, "webp"), method=method)

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"quality": q} for q in QUALITY_GRID]

    def save_options(self) -> dict[str, Any]:
        return {"quality": self.params["quality"], "method": self.params["method"], "lossless": False}

    def encode(self, x: Any) -> bytes:
        stream = super().encode(x)
        return _GREY_WEBP_MARKER + stream if np.ndim(x) == 2 else stream

    def decode(self, data: bytes) -> np.ndarray:
        grey = data[:1] == _GREY_WEBP_MARKER
        rgb = from_pillow_bytes(data[1:] if grey else data, self.pillow_format, self.name)
        if rgb.ndim != 3:
            raise BitstreamError(f"webp: decoded shape {rgb.shape}, expected an RGB image")
        # A grey image went in as R = G = B; the luma of the decoded RGB is the grey image.
        return np.asarray(Image.fromarray(rgb, mode="RGB").convert("L")) if grey else rgb


@register_codec("png")
class PngCodec(PillowCodec):
    """Lossless PNG (zlib level 9): the rate of keeping every pixel."""

    description = "lossless PNG via Pillow (zlib level 9)"
    pillow_format = "PNG"

    def __init__(self) -> None:  # lossless: a single operating point, no parameters
        super().__init__()

    def save_options(self) -> dict[str, Any]:
        return {"compress_level": 9}
