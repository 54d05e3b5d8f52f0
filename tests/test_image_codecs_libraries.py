"""HEIF, AVIF, JPEG 2000 and JPEG XL: real bitstreams, counted in full, decoded from the bytes alone."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

import vcmbench.codecs.image_libraries as lib
from conftest import OracleTask, make_toy_dataset
from vcmbench.api.codec import CODECS
from vcmbench.codecs.image_libraries import (
    AvifCodec,
    HeifCodec,
    Jpeg2000Codec,
    JpegXlCodec,
    jxl_header,
    strip_j2k_comments,
)
from vcmbench.errors import BitstreamError, UsageError
from vcmbench.pipeline.evaluate import evaluate_point


def photo(height: int = 64, width: int = 96, seed: int = 0) -> np.ndarray:
    """A smooth colour image with some texture: compresses like a photograph, not like noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([128 + 90 * np.sin(xx / 9 + c) * np.cos(yy / 13 - c) for c in range(3)], axis=-1)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def digit(seed: int = 1) -> np.ndarray:
    """A 28×28 grey stroke on black, like an MNIST digit."""
    img = np.zeros((28, 28), np.uint8)
    yy, xx = np.mgrid[0:28, 0:28]
    ring = np.abs(np.hypot(yy - 14, xx - 14 + seed) - 8) < 2.5
    img[ring] = 230
    return img


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


CLASSES = [HeifCodec, AvifCodec, Jpeg2000Codec, JpegXlCodec]
HIGH = {HeifCodec: {"quality": 90}, AvifCodec: {"quality": 90}, Jpeg2000Codec: {"psnr": 45},
        JpegXlCodec: {"quality": 95}}
LOW = {HeifCodec: {"quality": 5}, AvifCodec: {"quality": 5}, Jpeg2000Codec: {"psnr": 22},
       JpegXlCodec: {"quality": 5}}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
@pytest.mark.parametrize("image", [photo(), digit(), photo(37, 53, seed=3)], ids=["rgb", "grey", "odd-size"])
def test_round_trip_from_the_bytes_alone(cls, image):
    stream = cls(**HIGH[cls]).encode(image)
    assert isinstance(stream, bytes)
    out = cls(**HIGH[cls]).decode(bytes(stream))  # a separate instance sees nothing but the bytes
    assert out.shape == image.shape and out.dtype == np.uint8
    assert psnr(out, image) > 30


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
def test_lower_quality_spends_fewer_bytes_and_loses_more(cls):
    image = photo(96, 128)
    low, high = cls(**LOW[cls]), cls(**HIGH[cls])
    low_stream, high_stream = low.encode(image), high.encode(image)
    assert len(low_stream) < len(high_stream)
    assert psnr(low.decode(low_stream), image) < psnr(high.decode(high_stream), image)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
def test_the_stream_itself_says_grey_or_rgb(cls):
    """The same pixels as grey and as R = G = B decode to their own kind, with no marker outside."""
    image = photo(64, 64)[..., 1].copy()
    codec = cls(**HIGH[cls])
    grey_stream = codec.encode(image)
    rgb_stream = codec.encode(np.repeat(image[..., None], 3, axis=2))
    assert codec.decode(grey_stream).shape == (64, 64)
    assert codec.decode(rgb_stream).shape == (64, 64, 3)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
def test_libraries_name_versions_read_from_the_packages(cls):
    libs = cls().libraries()
    assert libs and all(isinstance(v, str) and re.search(r"\d", v) for v in libs.values())


def test_library_versions_are_the_loaded_ones():
    import imagecodecs
    import pillow_heif
    from PIL import features

    assert HeifCodec().libraries()["libheif"] == pillow_heif.libheif_version()
    assert AvifCodec().libraries()["libavif"] == features.version("avif")
    assert Jpeg2000Codec().libraries() == {"openjpeg": features.version("jpg_2000")}
    assert JpegXlCodec().libraries()["libjxl"] in imagecodecs.jpegxl_version()


def test_jpeg2000_is_pillows_codestream_minus_its_comment():
    image = photo()
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG2000", no_jp2=True, quality_mode="dB", quality_layers=[30.0])
    raw = buf.getvalue()
    stream = Jpeg2000Codec(psnr=30).encode(image)
    assert b"Created by OpenJPEG" in raw and b"Created by OpenJPEG" not in stream
    comment = raw.index(b"\xff\x64")
    length = int.from_bytes(raw[comment + 2:comment + 4], "big")
    assert stream == raw[:comment] + raw[comment + 2 + length:]
    assert stream == strip_j2k_comments(stream)  # nothing else is removed


def test_jpegxl_is_a_bare_codestream():
    stream = JpegXlCodec(quality=50).encode(photo())
    assert stream[:2] == b"\xff\x0a"


@pytest.mark.parametrize("size", [(28, 28), (224, 224), (53, 37), (1000, 8), (8, 1000), (640, 480),
                                  (400, 300), (2048, 1024), (5000, 3)])
def test_jxl_header_reads_the_size_libjxl_wrote(size):
    width, height = size
    assert jxl_header(JpegXlCodec(quality=50).encode(np.zeros((height, width), np.uint8))) == (width, height)


def test_heif_and_avif_files_carry_no_optional_metadata():
    for codec in (HeifCodec(quality=50), AvifCodec(quality=50)):
        stream = codec.encode(photo())
        assert b"Exif" not in stream and b"mime" not in stream  # no EXIF or XMP item
    assert b"nclx" not in HeifCodec(quality=50).encode(photo())


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated", "other-format"])
def test_bad_bytes_are_one_line_bitstream_errors(cls, damage):
    codec = cls(**HIGH[cls])
    good = codec.encode(photo())
    other = JpegXlCodec().encode(photo()) if cls is not JpegXlCodec else Jpeg2000Codec().encode(photo())
    data = {"empty": b"", "garbage": bytes(range(256)) * 4, "truncated": good[: len(good) // 3],
            "other-format": other}[damage]
    try:
        out = codec.decode(data)
    except BitstreamError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(cls.name)
        return
    # OpenJPEG decodes a truncated codestream's first layers, as JPEG 2000 is designed to: the
    # result must still be an image of the coded size.
    assert cls is Jpeg2000Codec and damage == "truncated" and out.shape == (64, 96, 3)


def _jxl_with_size_header(width_div8: int, height_div8: int) -> bytes:
    """A JXL signature and a 'small' SizeHeader claiming (8·w)×(8·h), then an all-default metadata bit."""
    bits = [1] + [(height_div8 - 1) >> i & 1 for i in range(5)] + [0, 0, 0] \
        + [(width_div8 - 1) >> i & 1 for i in range(5)] + [1]
    value = sum(b << i for i, b in enumerate(bits))
    return b"\xff\x0a" + value.to_bytes(4, "little")


def test_jxl_header_claims_are_checked_before_decoding(monkeypatch):
    assert jxl_header(_jxl_with_size_header(4, 3)) == (32, 24)
    monkeypatch.setattr(lib, "MAX_PIXELS", 32 * 24 - 1)
    with pytest.raises(BitstreamError, match="at most"):
        JpegXlCodec().decode(_jxl_with_size_header(4, 3) + bytes(100))


def test_heif_refuses_a_header_claiming_too_many_pixels(monkeypatch):
    stream = HeifCodec(quality=50).encode(photo())
    monkeypatch.setattr(lib, "MAX_PIXELS", 64 * 96 - 1)
    with pytest.raises(BitstreamError, match="at most"):
        HeifCodec().decode(stream)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
def test_bad_inputs_and_parameters_are_usage_errors(cls):
    with pytest.raises(UsageError):
        cls().encode(np.zeros((8, 8), np.float32))
    with pytest.raises(UsageError):
        cls(**{cls.grid_param: 1000})


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
def test_registered_with_a_grid_of_valid_points(cls):
    assert CODECS.get(cls.name) is cls
    points = cls.operating_points()
    assert len(points) >= 5
    for p in points:
        cls(**p)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
def test_pipeline_rate_is_eight_times_the_stream_bytes(tmp_path, cls):
    dataset = make_toy_dataset(n=6)
    codec = cls(**HIGH[cls])
    record = evaluate_point(codec, dataset, OracleTask(), suite="t", reference_accuracy=1.0,
                            out_path=tmp_path / "r.json", batch_size=4, progress=False)
    expected = sum(8 * len(codec.encode(x)) for x in dataset.inputs(range(len(dataset))))
    assert record.status == "ok" and record.metrics.bits_total == expected
