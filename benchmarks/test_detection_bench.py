"""Detection throughput: the shipped YOLO, the detections codec, and COCOeval, on the embedded set.

Inputs are the first images of ``shapes-coco-synth``'s val split (160×120 RGB). Targets (asserted):
the detections codec codes and decodes a split's detections in a small fraction of the time the
detector takes to find them (ratio ≤ 0.25), and COCOeval scores a split in less time than the
detector takes to produce it (ratio ≤ 1). Run:
``python -m pytest benchmarks/test_detection_bench.py --benchmark-only``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from vcmbench.api.codec import CodecContext
from vcmbench.api.task import TaskContext
from vcmbench.codecs.detections import DetectionsCodec
from vcmbench.datasets.coco import embedded
from vcmbench.tasks.detection import detection_scores
from vcmbench.tasks.yolo import SHIPPED_DIR, SHIPPED_WEIGHTS, Yolo

IMAGES = 64


@pytest.fixture(scope="module")
def split():
    return embedded("val")


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    if not (SHIPPED_DIR / SHIPPED_WEIGHTS).is_file():
        pytest.skip("the shipped YOLO is not in this install")
    task = Yolo()
    task.prepare(TaskContext(train=None, cache_dir=Path(tmp_path_factory.mktemp("cache"))))
    return task


def _detector_seconds(detector, images) -> float:
    start = time.perf_counter()
    detector.detect(images)
    return time.perf_counter() - start


def test_detector_throughput(benchmark, split, detector):
    benchmark.group = f"detection: {IMAGES} images of 160×120"
    images = split.inputs(range(IMAGES))
    found = benchmark.pedantic(detector.detect, args=(images,), rounds=3, iterations=1)
    benchmark.extra_info["images_per_second"] = round(IMAGES / benchmark.stats.stats.min, 1)
    assert len(found) == IMAGES


@pytest.mark.parametrize("grid", [8, 32])
def test_detections_codec_against_the_detector(benchmark, split, detector, grid):
    benchmark.group = f"detection: {IMAGES} images of 160×120"
    images = split.inputs(range(IMAGES))
    ctx = CodecContext(task_model=detector, train=None, num_classes=split.info.num_classes)
    encoder, decoder = DetectionsCodec(grid=grid), DetectionsCodec(grid=grid)
    encoder.prepare(ctx)
    decoder.prepare(ctx)
    detector.predict(images)  # the encoder's detector answers are remembered, as in a run

    def code() -> list:
        return decoder.decode_block(encoder.encode_block(images))

    out = benchmark.pedantic(code, rounds=5, iterations=1)
    assert len(out) == IMAGES
    network = min(_detector_seconds(detector, images) for _ in range(3))
    benchmark.extra_info["bits_per_image"] = round(8 * len(encoder.encode_block(images)) / IMAGES, 2)
    benchmark.extra_info["ratio_to_detector"] = round(benchmark.stats.stats.min / network, 4)
    assert benchmark.stats.stats.min <= 0.25 * network


def test_cocoeval_against_the_detector(benchmark, split, detector):
    benchmark.group = f"detection: {IMAGES} images of 160×120"
    images = split.inputs(range(IMAGES))
    found = detector.detect(images)
    view = _first(split, IMAGES)
    scores = benchmark.pedantic(detection_scores, args=(view, found), rounds=3, iterations=1)
    network = min(_detector_seconds(detector, images) for _ in range(3))
    benchmark.extra_info["ratio_to_detector"] = round(benchmark.stats.stats.min / network, 4)
    assert 0 <= scores["mAP@[.5:.95]"] <= 1
    assert benchmark.stats.stats.min <= network


def _first(split, n):
    from vcmbench.pipeline.data import LimitedDataset

    return LimitedDataset(split, n)
