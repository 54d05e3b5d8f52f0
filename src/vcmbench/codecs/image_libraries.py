"""The image codecs the field compares against: HEVC intra (HEIF), AV1 intra (AVIF), JPEG 2000, JPEG XL.

Each wraps its reference library and counts every byte the decoder receives. What the bytes are:

* ``heif`` — a HEIF file as libheif writes it (x265 encoder, libde265 decoder via ``pillow-heif``),
  without the optional EXIF, XMP and nclx colour boxes. libheif decodes nothing but a file, so the
  container (ftyp, meta with iloc/iinf/iprp, the hvcC box with the HEVC parameter sets, ispe, pixi,
  clap when the size is not a multiple of 8, mdat header) is part of the real rate: about 380
  bytes per image, most of an MNIST digit's stream.
* ``avif`` — an AVIF file as libavif writes it (aom encoder, pinned; Pillow's decoder), no
  EXIF/XMP/ICC: the container (ftyp, meta with av1C, ispe, pixi and Pillow's colr box, mdat
  header) is about 260 bytes per image, and also part of the real rate.
* ``jpeg2000`` — a bare JPEG 2000 codestream (``.j2k``, no JP2 boxes), OpenJPEG via Pillow, with
  the comment marker OpenJPEG adds ("Created by OpenJPEG version ...", 39 bytes) removed: a
  decoder does not need it.
* ``jpegxl`` — a bare JPEG XL codestream (no ISOBMFF container), libjxl via ``imagecodecs``.

Grey images stay grey inside the stream (HEVC and AV1 4:0:0 monochrome, a one-component JPEG 2000
codestream, a one-channel JPEG XL image), so nothing outside it says which kind was coded and no
marker byte is needed. RGB is coded 4:2:0 by HEVC and AV1, as their encoders do by default.

Decoders are bounded like :mod:`vcmbench.codecs.images`: the size a header claims is read before
any pixel memory is allocated and refused beyond :data:`~vcmbench.codecs.images.MAX_PIXELS`; for
JPEG XL, whose library decodes in one call, the codestream's size header is parsed here
(:func:`jxl_header`), and animations, previews, extra channels and other bit depths (what this
codec never writes) are refused before decoding. Every failure is a one-line BitstreamError. A
JPEG 2000 codestream cut short decodes from the quality layers and code-blocks that arrived (the
format is built for that), so truncation there gives a coarser image rather than an error.

Encoders run single-threaded: the output does not depend on the machine's core count and
throughput figures are per core.
"""

from __future__ import annotations

import io
import re
from typing import Any, ClassVar

import numpy as np

from vcmbench.api.codec import SampleCodec, register_codec
from vcmbench.codecs.images import MAX_PIXELS, check_quality, from_pillow_bytes, to_pillow
from vcmbench.errors import BitstreamError, UsageError

HEIF_GRID = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90)
AVIF_GRID = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90)
JXL_GRID = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
J2K_PSNR_GRID = (20, 25, 30, 35, 40, 45, 50)  # OpenJPEG's rate allocation to a target PSNR (dB)
X265_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
                "veryslow", "placebo")


def _version_in(text: str) -> str:
    """'x265 HEVC encoder (4.3+1-e9b8812)' -> '4.3+1-e9b8812'; the whole text when no version shows."""
    found = re.search(r"(\d+\.\d+[\w.+\-]*)", text)
    return found.group(1) if found else text.strip()


def _decoded(a: np.ndarray, codec: str) -> np.ndarray:
    """A decoded array, refused unless it is what these codecs write: uint8 grey or RGB."""
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
        raise BitstreamError(f"{codec}: decoded a {a.dtype} {a.shape} image; this codec writes "
                             f"8-bit grey or RGB")
    return a


def _check_claimed_size(width: int, height: int, codec: str) -> None:
    if width * height > MAX_PIXELS:
        raise BitstreamError(f"{codec}: header claims a {width}×{height} image; at most {MAX_PIXELS} "
                             f"pixels are decoded")


class LibraryImageCodec(SampleCodec):
    """One image in, one library's stream out; decoding returns the input's shape and dtype."""

    decodes_to = "input"
    grid: ClassVar[tuple[Any, ...]] = ()
    grid_param: ClassVar[str] = "quality"

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{cls.grid_param: v} for v in cls.grid]


# -- HEVC intra -----------------------------------------------------------------------------------


@register_codec("heif")
class HeifCodec(LibraryImageCodec):
    """HEVC intra in a HEIF file (libheif + x265 + libde265 via pillow-heif); ``preset``: x265's speed."""

    description = "HEVC intra (HEIF: libheif, x265, libde265 via pillow-heif); quality 0..90"
    grid = HEIF_GRID

    def __init__(self, quality: int = 50, preset: str = "slow"):
        if preset not in X265_PRESETS:
            raise UsageError(f"heif: preset must be one of {', '.join(X265_PRESETS)}, got {preset!r}")
        super().__init__(quality=check_quality(quality, "heif"), preset=preset)

    def libraries(self) -> dict[str, str]:
        import pillow_heif

        info = pillow_heif.libheif_info()
        out = {"libheif": pillow_heif.libheif_version(), "pillow-heif": pillow_heif.__version__}
        for role in ("encoders", "decoders"):
            for name, text in (info.get(role) or {}).items():
                if name in ("x265", "libde265"):
                    out[name] = _version_in(text)
        return out

    def encode(self, x: Any) -> bytes:
        import pillow_heif

        image = to_pillow(x, self.name)
        buf = io.BytesIO()
        # No x265 thread pool and one frame thread: the stream does not depend on the core count
        # (no wavefront entry points), and x265's per-image pool start-up (most of a digit's time)
        # is skipped. nclx off: the default colour description, which the decoder assumes too.
        pillow_heif.from_pillow(image).save(
            buf, quality=self.params["quality"], save_nclx_profile=False,
            enc_params={"preset": self.params["preset"], "x265:pools": "none", "x265:frame-threads": "1"})
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        import pillow_heif

        try:
            heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
            width, height = heif.size
            _check_claimed_size(width, height, self.name)
            if heif.mode not in ("L", "RGB"):
                raise BitstreamError(f"heif: a {heif.mode} image; this codec writes L or RGB")
            image = heif[heif.primary_index]
            out = np.asarray(image, dtype=np.uint8).copy()
        except BitstreamError:
            raise
        except (ValueError, RuntimeError, OSError, EOFError, SyntaxError, TypeError, IndexError,
                KeyError) as exc:  # IndexError: a damaged file's primary item index
            raise BitstreamError(f"heif: not a decodable HEIF bitstream ({_one_line(exc)})") from exc
        return _decoded(out, self.name)


# -- AV1 intra ------------------------------------------------------------------------------------


@register_codec("avif")
class AvifCodec(LibraryImageCodec):
    """AV1 intra in an AVIF file (libavif + aom via Pillow); ``speed``: aom's 0 (best) .. 10 (fastest)."""

    description = "AV1 intra (AVIF: libavif + aom via Pillow); quality 0..90"
    grid = AVIF_GRID
    encoder = "aom"

    def __init__(self, quality: int = 50, speed: int = 6):
        if isinstance(speed, bool) or not isinstance(speed, int) or not 0 <= speed <= 10:
            raise UsageError(f"avif: speed must be an integer from 0 to 10, got {speed!r}")
        super().__init__(quality=check_quality(quality, "avif"), speed=speed)

    def libraries(self) -> dict[str, str]:
        from PIL import AvifImagePlugin, features

        out = {"libavif": features.version("avif") or "unavailable"}
        for codec in (self.encoder, "dav1d"):
            version = AvifImagePlugin.get_codec_version(codec)
            if version:
                out[codec] = version
        return out

    def encode(self, x: Any) -> bytes:
        from PIL import features

        if not features.check("avif"):
            raise UsageError("avif: this Pillow was built without AVIF support")
        from PIL import _avif

        if not _avif.encoder_codec_available(self.encoder):
            raise UsageError(f"avif: libavif here has no {self.encoder} encoder (the one this codec pins)")
        image = to_pillow(x, self.name)
        buf = io.BytesIO()
        # Pillow picks 4:0:0 for a grey image and 4:2:0 for RGB; the codec is pinned so that the
        # record's libraries name the encoder that ran.
        image.save(buf, format="AVIF", quality=self.params["quality"], speed=self.params["speed"],
                   codec=self.encoder, max_threads=1)
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        return _decoded(from_pillow_bytes(data, "AVIF", self.name), self.name)


# -- JPEG 2000 ------------------------------------------------------------------------------------

_SOC, _SOT, _COM = b"\xff\x4f", b"\xff\x90", b"\xff\x64"


def strip_j2k_comments(stream: bytes) -> bytes:
    """A J2K codestream without its main-header COM segments (tile-part lengths do not cover them)."""
    if stream[:2] != _SOC:
        raise ValueError("not a JPEG 2000 codestream")
    out, pos = bytearray(_SOC), 2
    while pos + 4 <= len(stream) and stream[pos:pos + 2] != _SOT:
        length = int.from_bytes(stream[pos + 2:pos + 4], "big")
        if stream[pos:pos + 2] != _COM:
            out += stream[pos:pos + 2 + length]
        pos += 2 + length
    return bytes(out + stream[pos:])


@register_codec("jpeg2000")
class Jpeg2000Codec(LibraryImageCodec):
    """JPEG 2000 (OpenJPEG via Pillow), rate allocated to a target PSNR; a bare codestream."""

    description = "JPEG 2000 (OpenJPEG via Pillow, bare codestream); psnr target 20..50 dB"
    grid = J2K_PSNR_GRID
    grid_param = "psnr"

    def __init__(self, psnr: float = 35):
        if isinstance(psnr, bool) or not isinstance(psnr, int | float) or not 5 <= psnr <= 100:
            raise UsageError(f"jpeg2000: psnr must be a target in dB from 5 to 100, got {psnr!r}")
        super().__init__(psnr=psnr)

    def libraries(self) -> dict[str, str]:
        from PIL import features

        return {"openjpeg": features.version("jpg_2000") or "unavailable"}

    def encode(self, x: Any) -> bytes:
        buf = io.BytesIO()
        # The PSNR target spans the useful range on 28×28 digits and on photographs alike; a
        # compression-ratio target would hit the codestream's header floor on digits.
        to_pillow(x, self.name).save(buf, format="JPEG2000", no_jp2=True, quality_mode="dB",
                                     quality_layers=[float(self.params["psnr"])])
        return strip_j2k_comments(buf.getvalue())

    def decode(self, data: bytes) -> np.ndarray:
        if data[:2] != _SOC:
            raise BitstreamError("jpeg2000: not a JPEG 2000 codestream (no SOC marker)")
        return _decoded(from_pillow_bytes(data, "JPEG2000", self.name), self.name)


# -- JPEG XL --------------------------------------------------------------------------------------


class _Bits:
    """JPEG XL's bit reader: least significant bit of each byte first."""

    def __init__(self, data: bytes, pos: int):
        self.data, self.bit = data, 8 * pos

    def u(self, n: int) -> int:
        if self.bit + n > 8 * len(self.data):
            raise BitstreamError("jpegxl: truncated codestream header")
        value = 0
        for i in range(n):
            b = self.bit + i
            value |= ((self.data[b >> 3] >> (b & 7)) & 1) << i
        self.bit += n
        return value

    def u32(self, *dists: tuple[int, int]) -> int:
        """JPEG XL's U32: a 2-bit selector, then offset + u(bits) of the selected distribution."""
        offset, bits = dists[self.u(2)]
        return offset + (self.u(bits) if bits else 0)


_JXL_RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}
_JXL_DIM = ((1, 9), (1, 13), (1, 18), (1, 30))


def _jxl_size(r: _Bits) -> tuple[int, int]:
    small = r.u(1)
    height = 8 * (r.u(5) + 1) if small else r.u32(*_JXL_DIM)
    ratio = r.u(3)
    if ratio:
        num, den = _JXL_RATIOS[ratio]
        width = height * num // den
    else:
        width = 8 * (r.u(5) + 1) if small else r.u32(*_JXL_DIM)
    return width, height


def jxl_header(data: bytes) -> tuple[int, int]:
    """(width, height) of a bare JPEG XL codestream, refusing what a still 8-bit image never has.

    Parses the SizeHeader and the start of ImageMetadata (ISO/IEC 18181-1): animation, preview,
    float or non-8-bit samples and extra channels are refused (this codec writes none of them).
    """
    if data[:2] != b"\xff\x0a":
        raise BitstreamError("jpegxl: not a bare JPEG XL codestream (bad signature)")
    r = _Bits(data, 2)
    width, height = _jxl_size(r)
    if not r.u(1):  # ImageMetadata.all_default is false
        if r.u(1):  # extra_fields
            r.u(3)  # orientation
            if r.u(1):  # have_intr_size
                _check_claimed_size(*_jxl_size(r), "jpegxl")
            if r.u(1):
                raise BitstreamError("jpegxl: a preview image; this codec writes still images only")
            if r.u(1):
                raise BitstreamError("jpegxl: an animation; this codec writes still images only")
        if r.u(1) or r.u32((8, 0), (10, 0), (12, 0), (1, 6)) != 8:  # float_sample, bits_per_sample
            raise BitstreamError("jpegxl: not 8-bit integer samples; this codec writes 8-bit images")
        r.u(1)  # modular_16_bit_buffer_sufficient
        if r.u32((0, 0), (1, 0), (2, 4), (1, 12)):
            raise BitstreamError("jpegxl: extra channels; this codec writes grey or RGB only")
    return width, height


@register_codec("jpegxl")
class JpegXlCodec(LibraryImageCodec):
    """JPEG XL (libjxl via imagecodecs), VarDCT at libjxl's quality 0..100; ``effort`` 1..9."""

    description = "JPEG XL (libjxl via imagecodecs, bare codestream); quality 5..95"
    grid = JXL_GRID

    def __init__(self, quality: int = 75, effort: int = 7):
        if isinstance(effort, bool) or not isinstance(effort, int) or not 1 <= effort <= 9:
            raise UsageError(f"jpegxl: effort must be an integer from 1 to 9, got {effort!r}")
        super().__init__(quality=check_quality(quality, "jpegxl"), effort=effort)

    def libraries(self) -> dict[str, str]:
        import imagecodecs

        return {"libjxl": _version_in(imagecodecs.jpegxl_version()), "imagecodecs": imagecodecs.__version__}

    def encode(self, x: Any) -> bytes:
        import imagecodecs

        image = np.asarray(to_pillow(x, self.name))  # the same input checks as every image codec
        # level is libjxl's quality (JxlEncoderDistanceFromQuality: 90 is distance 1.0).
        return bytes(imagecodecs.jpegxl_encode(image, level=self.params["quality"],
                                               effort=self.params["effort"], numthreads=1,
                                               usecontainer=False))

    def decode(self, data: bytes) -> np.ndarray:
        import imagecodecs

        width, height = jxl_header(data)
        _check_claimed_size(width, height, self.name)
        try:
            out = imagecodecs.jpegxl_decode(data, index=0, numthreads=1)
        except (imagecodecs.JpegxlError, ValueError, RuntimeError) as exc:
            raise BitstreamError(f"jpegxl: not a decodable JPEG XL codestream ({_one_line(exc)})") from exc
        out = np.asarray(out)
        if out.ndim == 3 and out.shape[2] == 1:
            out = out[..., 0]
        return _decoded(np.ascontiguousarray(out), self.name)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
