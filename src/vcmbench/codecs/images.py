"""Conventional image codecs (JPEG, WebP, PNG) through Pillow: the baselines every learned codec must beat.

The bitstream is the file Pillow writes, headers included, so the rate is what a real
receiver would download. The image format carries the image's size and channel count, so
nothing else travels, with one exception: WebP has no greyscale mode (Pillow stores a grey
image as RGB), so a grey image's WebP stream is one marker byte ``b"L"`` followed by the WebP
file. That byte is part of the bitstream and counted; RGB WebP streams are Pillow's bytes as is.

Image formats can describe a huge flat image in a few bytes (zlib reaches 1:1032, WebP skips
whole macroblocks almost for free), so a stream's length cannot bound the size its header
claims. The codecs therefore accept images of at most :data:`MAX_PIXELS` = 2^25 pixels (an 8K
UHD frame, 7680×4320, fits) at both ends; a decoder reads the claimed size from the header and
refuses a larger one before any pixel memory is allocated (at most about 100 MB for RGB).
JPEG allows a tighter bound: a baseline (sequential, Huffman-coded) JPEG spends at least two
bits on every 8×8 block of every component (a DC and an end-of-block codeword, each at least
one bit), so it holds at most 256 pixels per byte (a flat grey image reaches 254). libjpeg pads
a truncated stream silently, so this bound is what turns a cut-short JPEG into a
BitstreamError; a progressive JPEG (end-of-band runs make it unbounded) is not what this codec
writes and is refused.
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
MAX_PIXELS = 1 << 25  # width × height of the largest image coded or decoded (see the module docstring)
JPEG_PIXELS_PER_BYTE = 256  # baseline JPEG: ≥ 2 bits per 8×8 block and component (module docstring)


def to_pillow(x: Any, codec: str) -> Image.Image:
    """A uint8 (H, W) grey or (H, W, 3) RGB array as a Pillow image; anything else is refused."""
    a = np.asarray(x)
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)) or 0 in a.shape:
        raise UsageError(f"{codec} codes uint8 images of shape (H, W) or (H, W, 3); "
                         f"got {a.dtype} {a.shape}")
    if a.shape[0] * a.shape[1] > MAX_PIXELS:
        raise UsageError(f"{codec} codes images of at most {MAX_PIXELS} pixels; "
                         f"got {a.shape[1]}×{a.shape[0]}")
    return Image.fromarray(np.ascontiguousarray(a), mode="L" if a.ndim == 2 else "RGB")


def from_pillow_bytes(data: bytes, fmt: str, codec: str, pixels_per_byte: int | None = None) -> np.ndarray:
    """Decode ``data`` as an image of format ``fmt`` into a uint8 array; BitstreamError otherwise.

    The size the header claims is checked before decoding: at most :data:`MAX_PIXELS`, and at
    most ``pixels_per_byte`` per byte of ``data`` for formats that cannot compress further.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise BitstreamError(f"{codec}: header claims a {width}×{height} image; "
                                         f"at most {MAX_PIXELS} pixels are decoded")
                if pixels_per_byte is not None and width * height > pixels_per_byte * len(data):
                    raise BitstreamError(f"{codec}: header claims a {width}×{height} image, more than "
                                         f"{len(data)} bytes can hold")
                if fmt == "JPEG" and img.info.get("progressive"):
                    raise BitstreamError(f"{codec}: a progressive JPEG; this codec writes baseline JPEG")
                img.load()
                mode = img.mode
                if mode not in ("L", "RGB"):
                    raise BitstreamError(f"{codec}: decoded a {mode} image; this codec writes L or RGB")
                return np.asarray(img, dtype=np.uint8).copy()
    except BitstreamError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, RuntimeError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:  # RuntimeError: Pillow's AVIF decoder on bad planes
        raise BitstreamError(f"{codec}: not a decodable {fmt} bitstream ({exc})") from exc


class PillowCodec(SampleCodec):
    """One image in, the file Pillow writes out; decoding returns the input's shape and dtype."""

    decodes_to = "input"
    pillow_format: ClassVar[str]
    pixels_per_byte: ClassVar[int | None] = None  # the format's most pixels per stream byte, if bounded
    # The library behind the format, as (name for records, Pillow's feature name).
    library: ClassVar[tuple[str, str] | None] = None

    def save_options(self) -> dict[str, Any]:
        """Keyword arguments for ``Image.save`` at this operating point."""
        return {}

    def libraries(self) -> dict[str, str]:
        """Pillow's version and the version of the library it was built with, read at run time."""
        import PIL
        from PIL import features

        out = {"Pillow": PIL.__version__}
        if self.library is not None:
            out[self.library[0]] = features.version(self.library[1]) or "unknown"
        return out

    def encode(self, x: Any) -> bytes:
        buf = io.BytesIO()
        to_pillow(x, self.name).save(buf, format=self.pillow_format, **self.save_options())
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        return from_pillow_bytes(data, self.pillow_format, self.name, self.pixels_per_byte)


def check_quality(value: Any, codec: str) -> int:
    """A 0..100 integer quality, or a UsageError naming the codec (shared by the image codecs)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise UsageError(f"{codec}: quality must be an integer from 0 to 100, got {value!r}")
    return value


@register_codec("jpeg")
class JpegCodec(PillowCodec):
    """Baseline JPEG (libjpeg via Pillow, 4:2:0 chroma, optimised Huffman tables)."""

    description = "JPEG via Pillow (optimised Huffman); quality 5..95"
    pillow_format = "JPEG"
    pixels_per_byte = JPEG_PIXELS_PER_BYTE
    library = ("libjpeg", "jpg")

    def __init__(self, quality: int = 75):
        super().__init__(quality=check_quality(quality, "jpeg"))

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{"quality": q} for q in QUALITY_GRID]

    def libraries(self) -> dict[str, str]:
        from PIL import features

        out = super().libraries()
        if features.version("libjpeg_turbo"):  # libjpeg's "6.2" is only the API version turbo implements
            del out["libjpeg"]
            out["libjpeg-turbo"] = features.version("libjpeg_turbo")
        return out

    def save_options(self) -> dict[str, Any]:
        # optimize: per-image Huffman tables, a few percent fewer bytes at no loss of quality.
        return {"quality": self.params["quality"], "optimize": True}


@register_codec("webp")
class WebpCodec(PillowCodec):
    """Lossy WebP (libwebp via Pillow); ``method`` trades encoder time for rate (0 fast .. 6 best)."""

    description = "lossy WebP via Pillow; quality 5..95"
    pillow_format = "WEBP"
    library = ("libwebp", "webp")

    def __init__(self, quality: int = 75, method: int = 4):
        if isinstance(method, bool) or not isinstance(method, int) or not 0 <= method <= 6:
            raise UsageError(f"webp: method must be an integer from 0 to 6, got {method!r}")
        super().__init__(quality=check_quality(quality, "webp"), method=method)

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
    library = ("zlib", "zlib")

    def __init__(self) -> None:  # lossless: a single operating point, no parameters
        super().__init__()

    def save_options(self) -> dict[str, Any]:
        return {"compress_level": 9}
