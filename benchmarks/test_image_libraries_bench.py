"""Throughput of the codecs users compare against (HEIF, AVIF, JPEG 2000, JPEG XL) and the CompressAI
zoo, on 224×224 photographs (the crops an ImageNet model sees), one core per encoder.

The photographs are scikit-learn's two bundled sample images (no download), cut into 224×224 crops
by the shared helper. The zoo runs on seeded random weights (no download here): its network time is
that of the pretrained model; its entropy-coding time depends on the rate, which random weights do
not reproduce, so read the zoo rows as transform-dominated. torch uses its default thread count.
Run: ``python -m pytest benchmarks/test_image_libraries_bench.py --benchmark-only``.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import photo_crops
from vcmbench.api.codec import CodecContext
from vcmbench.codecs.image_libraries import AvifCodec, HeifCodec, Jpeg2000Codec, JpegXlCodec

BATCH = 8
ZOO_BATCH = 2


@pytest.fixture(scope="module")
def crops() -> list[np.ndarray]:
    return photo_crops(BATCH)


LIBRARY_CODECS = [HeifCodec(quality=50), HeifCodec(quality=50, preset="ultrafast"), AvifCodec(quality=50),
                  AvifCodec(quality=50, speed=10), Jpeg2000Codec(psnr=35), JpegXlCodec(quality=75),
                  JpegXlCodec(quality=75, effort=3)]


def _label(codec) -> str:
    return "-".join([codec.name, *(f"{k}{v}" for k, v in codec.params.items() if k != "weights")])


def _bpp(streams: list[bytes], images: list[np.ndarray]) -> float:
    return round(8 * sum(map(len, streams)) / sum(x.shape[0] * x.shape[1] for x in images), 4)


@pytest.mark.parametrize("codec", LIBRARY_CODECS, ids=_label)
def test_encode_throughput(benchmark, crops, codec):
    benchmark.group = f"image libraries: encode {BATCH} × 224²"
    streams = benchmark.pedantic(codec.encode_batch, args=(crops,), rounds=3, iterations=1)
    benchmark.extra_info["bits_per_pixel"] = _bpp(streams, crops)
    assert len(streams) == len(crops)


@pytest.mark.parametrize("codec", LIBRARY_CODECS, ids=_label)
def test_decode_throughput(benchmark, crops, codec):
    benchmark.group = f"image libraries: decode {BATCH} × 224²"
    streams = codec.encode_batch(crops)
    decoded = benchmark.pedantic(codec.decode_batch, args=(streams,), rounds=3, iterations=1)
    assert all(d.shape == c.shape for d, c in zip(decoded, crops, strict=True))


ZOO = ["bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean", "cheng2020-anchor"]


@pytest.fixture(scope="module", params=ZOO)
def zoo_codec(request):
    pytest.importorskip("compressai")
    from vcmbench.codecs.compressai_zoo import CompressAIZooCodec

    cls = next(c for c in CompressAIZooCodec.__subclasses__() if c.architecture == request.param)
    codec = cls(quality=4, weights="random")
    codec.prepare(CodecContext(task_model=None, train=None, num_classes=1000))
    return codec


def test_zoo_encode_throughput(benchmark, crops, zoo_codec):
    benchmark.group = f"compressai zoo (random weights): encode {ZOO_BATCH} × 224²"
    images = crops[:ZOO_BATCH]
    streams = benchmark.pedantic(zoo_codec.encode_batch, args=(images,), rounds=2, iterations=1)
    benchmark.extra_info.update(zoo_codec.complexity())
    assert len(streams) == len(images)


def test_zoo_decode_throughput(benchmark, crops, zoo_codec):
    benchmark.group = f"compressai zoo (random weights): decode {ZOO_BATCH} × 224²"
    streams = zoo_codec.encode_batch(crops[:ZOO_BATCH])
    decoded = benchmark.pedantic(zoo_codec.decode_batch, args=(streams,), rounds=2, iterations=1)
    assert all(d.shape == (224, 224, 3) for d in decoded)
