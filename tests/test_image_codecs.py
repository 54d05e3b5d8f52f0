from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import OracleTask, make_toy_dataset
from vcmbench.api.codec import CODECS
from vcmbench.codecs.images import JpegCodec, PngCodec, WebpCodec
from vcmbench.errors import BitstreamError, UsageError
from vcmbench.pipeline.evaluate import evaluate_point


def photo(height: int = 64, width: int = 96, seed: int = 0) -> np.ndarray:
    """A smooth colour image with some texture: compresses like a photograph, not like noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([128 + 90 * np.sin(xx / 9 + c) * np.cos(yy / 13 - c) for c in range(3)], axis=-1)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def grey(height: int = 28, width: int = 28, seed: int = 1) -> np.ndarray:
    return photo(height, width, seed)[..., 1].copy()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


CODEC_CASES = [JpegCodec(quality=90), WebpCodec(quality=90), PngCodec()]


@pytest.mark.parametrize("codec", CODEC_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("image", [photo(), grey()], ids=["rgb", "grey"])
def test_decode_returns_the_input_shape_and_dtype(codec, image):
    out = codec.decode(codec.encode(image))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert psnr(out, image) > 30


@pytest.mark.parametrize("image", [photo(), grey()], ids=["rgb", "grey"])
def test_png_is_lossless(image):
    codec = PngCodec()
    assert np.array_equal(codec.decode(codec.encode(image)), image)


@pytest.mark.parametrize("cls", [JpegCodec, WebpCodec])
def test_lower_quality_spends_fewer_bits_and_loses_more(cls):
    image = photo(96, 128)
    low, high = cls(quality=10), cls(quality=90)
    low_stream, high_stream = low.encode(image), high.encode(image)
    assert len(low_stream) < len(high_stream)
    assert psnr(low.decode(low_stream), image) < psnr(high.decode(high_stream), image)


def test_jpeg_stream_is_exactly_what_pillow_writes():
    image = photo()
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=30, optimize=True)
    assert JpegCodec(quality=30).encode(image) == buf.getvalue()


def test_rgb_webp_stream_is_one_riff_file_and_nothing_else():
    stream = WebpCodec(quality=50).encode(photo())
    assert stream[:4] == b"RIFF" and stream[8:12] == b"WEBP"
    assert int.from_bytes(stream[4:8], "little") + 8 == len(stream)  # the RIFF size covers every byte


def test_grey_webp_costs_one_marker_byte_and_stays_grey():
    image = grey()
    stream = WebpCodec(quality=50).encode(image)
    buf = io.BytesIO()
    Image.fromarray(image, mode="L").save(buf, format="WEBP", quality=50, method=4, lossless=False)
    assert stream == b"L" + buf.getvalue()
    assert WebpCodec(quality=50).decode(stream).shape == (28, 28)


@pytest.mark.parametrize("codec", CODEC_CASES, ids=lambda c: c.name)
def test_damaged_or_foreign_bitstreams_are_refused(codec):
    good = codec.encode(photo())
    foreign = PngCodec().encode(photo()) if codec.name != "png" else JpegCodec().encode(photo())
    for bad in (b"", b"not an image at all", good[: len(good) // 2], foreign):
        with pytest.raises(BitstreamError, match=codec.name):
            codec.decode(bad)


@pytest.mark.parametrize("bad", [np.zeros((8, 8), np.float32), np.zeros((8, 8, 4), np.uint8),
                                 np.zeros((0, 8), np.uint8), np.zeros((2, 8, 8), np.uint8)],
                         ids=["float", "rgba", "empty", "planar"])
def test_inputs_that_are_not_uint8_grey_or_rgb_are_refused(bad):
    with pytest.raises(UsageError, match=r"uint8 images of shape \(H, W\) or \(H, W, 3\)"):
        JpegCodec().encode(bad)


@pytest.mark.parametrize("make", [lambda: JpegCodec(quality=101), lambda: WebpCodec(quality="high"),
                                  lambda: WebpCodec(quality=50, method=9), lambda: JpegCodec(quality=True)])
def test_bad_operating_points_are_refused(make):
    with pytest.raises(UsageError):
        make()


def test_grids_and_registration():
    assert [CODECS.get(n) for n in ("jpeg", "webp", "png")] == [JpegCodec, WebpCodec, PngCodec]
    qualities = [p["quality"] for p in JpegCodec.operating_points()]
    assert qualities == sorted(qualities) and qualities[0] == 5 and qualities[-1] == 95
    assert [p["quality"] for p in WebpCodec.operating_points()] == qualities
    for cls in (JpegCodec, WebpCodec, PngCodec):
        assert cls.decodes_to == "input" and cls.granularity == "sample"


@pytest.mark.parametrize("codec", [JpegCodec(quality=50), WebpCodec(quality=50), PngCodec()],
                         ids=lambda c: c.name)
def test_pipeline_counts_every_byte_of_every_stream(tmp_path, codec):
    dataset = make_toy_dataset(n=12)
    record = evaluate_point(codec, dataset, OracleTask(), suite="t", reference_accuracy=1.0,
                            out_path=tmp_path / "r.json", batch_size=5, progress=False)
    expected = sum(8 * len(codec.encode(x)) for x in dataset.inputs(range(len(dataset))))
    assert record.status == "ok" and record.metrics.bits_total == expected
    if codec.name == "png":  # lossless: the oracle reads the label pixel back exactly
        assert record.metrics.accuracy == 1.0
