"""Throughput of the conventional image codecs on 224×224 photographs (the crops an ImageNet model sees).

The photographs are scikit-learn's two bundled sample images (no download), cut into 224×224 crops.
Run: ``python -m pytest benchmarks/test_image_codecs_bench.py --benchmark-only``.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import photo_crops
from vcmbench.codecs.images import JpegCodec, PngCodec, WebpCodec

BATCH = 32


@pytest.fixture(scope="module")
def crops() -> list[np.ndarray]:
    return photo_crops(BATCH)


CODECS = [JpegCodec(quality=50), JpegCodec(quality=90), WebpCodec(quality=50), WebpCodec(quality=90),
          PngCodec()]


def _label(codec) -> str:
    return f"{codec.name}-q{codec.params['quality']}" if "quality" in codec.params else codec.name


@pytest.mark.parametrize("codec", CODECS, ids=_label)
def test_encode_throughput(benchmark, crops, codec):
    benchmark.group = "image codecs: encode 32 × 224²"
    streams = benchmark(codec.encode_batch, crops)
    bits = 8 * sum(len(s) for s in streams)
    benchmark.extra_info["bits_per_pixel"] = round(bits / (len(crops) * 224 * 224), 4)
    assert len(streams) == len(crops)


@pytest.mark.parametrize("codec", CODECS, ids=_label)
def test_decode_throughput(benchmark, crops, codec):
    benchmark.group = "image codecs: decode 32 × 224²"
    streams = codec.encode_batch(crops)
    decoded = benchmark(codec.decode_batch, streams)
    assert all(d.shape == c.shape for d, c in zip(decoded, crops, strict=True))
