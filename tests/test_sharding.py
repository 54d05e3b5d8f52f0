"""Shards: cut where a whole-split measurement has a batch or block boundary, merged exactly.

A point measured in shards (in any order of arrival) has the record of the point measured in one
piece: counts and byte totals add, per-sample rows concatenate, and COCO mAP is computed on the
merged detections (averaging the shards' mAPs would give another number).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import distributed_toys
import vcmbench.codecs.passthrough  # noqa: F401 - registers the codec
from coco_fixture import write_coco_fixture
from vcmbench.api.codec import CODECS, BlockCodec
from vcmbench.api.dataset import Detections
from vcmbench.api.task import TaskModel
from vcmbench.pipeline.evaluate import (
    CodecFailure,
    Measured,
    evaluate_point,
    finish_point,
    get_pair_ready,
    measure_range,
    merge_measured,
    point_refs,
)
from vcmbench.pipeline.plan import Point, point_slug
from vcmbench.pipeline.shards import DEFAULT_BLOCK, LARGE_SPLIT, shard_ranges, streaming_point
from vcmbench.tasks.detection import MAP, coco_map, coco_results, configuration_matches, detection_scores
from vcmbench.tasks.memo import input_key


@pytest.mark.parametrize("codec, n, batch, shard", [
    (distributed_toys.Quantise(q=8), 100, 8, 20),  # per-sample: cut on batches of 8 -> shards of 24
    (distributed_toys.SendsLabels(block_size=30), 100, 8, 20),  # blocks of 30: one block per shard
    (distributed_toys.SendsLabels(block_size=30), 100, 8, 70),  # -> 90 samples (3 blocks) per shard
    (distributed_toys.SendsLabels(block_size=None), 100, 8, 20),  # the whole split is one block
])
def test_shards_tile_the_split_on_batch_or_block_boundaries(codec, n, batch, shard):
    ranges = shard_ranges(codec, n, batch, shard)
    unit = codec.block_size or n if isinstance(codec, BlockCodec) else batch
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert all(start % unit == 0 for start, _ in ranges)
    assert all(stop - start >= min(shard, n - start) for start, stop in ranges)


def test_a_whole_split_block_on_a_large_split_streams_in_default_blocks():
    whole = distributed_toys.SendsLabels(block_size=None)
    point = Point(whole, Path("t-sends-labels") / "block_size=None.json")
    assert streaming_point(point, LARGE_SPLIT) is point
    streamed = streaming_point(point, LARGE_SPLIT + 1)
    assert streamed.codec.params == {"block_size": DEFAULT_BLOCK} == {"block_size": streamed.codec.block_size}
    assert streamed.relative_path == Path("t-sends-labels") / f"{point_slug(streamed.codec.params)}.json"
    chosen = Point(distributed_toys.SendsLabels(block_size=7), Path("x.json"))
    assert streaming_point(chosen, 10 * LARGE_SPLIT) is chosen
    sample = Point(distributed_toys.Quantise(q=4), Path("y.json"))
    assert streaming_point(sample, 10 * LARGE_SPLIT) is sample


def test_parts_must_tile_the_split():
    with pytest.raises(CodecFailure, match="do not tile"):
        merge_measured([Measured(0, 4, sample_bits=[8] * 4), Measured(5, 8, sample_bits=[8] * 3)], 8)
    with pytest.raises(CodecFailure, match="measured 4 samples of 8"):
        merge_measured([Measured(0, 4, sample_bits=[8] * 4)], 8)


def test_a_point_measured_in_shards_in_any_order_has_the_record_of_one_piece(tmp_path):
    dataset = distributed_toys.toy_split("test", None, n=50)
    task = distributed_toys.ReadsCorner()
    codec = distributed_toys.Quantise(q=32)
    whole = evaluate_point(codec, dataset, task, suite="s", reference_accuracy=0.9,
                           out_path=tmp_path / "a.json", batch_size=8, progress=False)
    decoder, identity = get_pair_ready(codec, None, prepared=True)
    ranges = shard_ranges(codec, 50, 8, 10)
    assert len(ranges) == 4
    parts = [measure_range(codec, decoder, dataset, task, a, b, 8) for a, b in reversed(ranges)]
    refs = point_refs(dataset, task, suite="s", reference_accuracy=0.9, codec_context=None,
                      reference_scores=None, confusion=None, batch_size=8)
    merged = finish_point(codec, dataset, task, parts, refs=refs, identity=identity,
                          out_path=tmp_path / "b.json", device="cpu", seed=0)
    assert (tmp_path / "a.samples.csv").read_bytes() == (tmp_path / "b.samples.csv").read_bytes()
    strip = {"encode_seconds": 0.0, "decode_seconds": 0.0}
    assert replace(merged.metrics, **strip) == replace(whole.metrics, **strip)
    assert merged.metrics.estimated_bits_per_sample == whole.metrics.estimated_bits_per_sample


class ShiftedTruth(TaskModel):
    """A detector that knows each image's objects but places them a little off, more so for later
    images: mAP below 1 that differs from image to image (so shard averages would be wrong)."""

    name = "t-shifted-truth"
    output = "detections"
    metric = MAP

    def __init__(self, dataset: Any = None):
        super().__init__()
        self.answers: dict[Any, Detections] = {}
        if dataset is not None:
            truth = dataset.targets(range(len(dataset)))
            for i, (x, t) in enumerate(zip(dataset.inputs(range(len(dataset))), truth, strict=True)):
                shift = 0.03 * i
                boxes = np.clip(t.boxes + np.array([shift, 0, shift, 0]), 0, 1)
                self.answers[input_key(np.asarray(x))] = Detections(boxes, t.classes, np.full(len(t), 0.9))

    def predict(self, inputs: Sequence[Any]) -> list[Detections]:
        return [self.answers[input_key(np.asarray(x))] for x in inputs]

    def correct(self, dataset, predictions):
        return configuration_matches(dataset, predictions, 4, 0.0)

    def scores(self, dataset, predictions):
        return detection_scores(dataset, predictions)

    def prediction_labels(self, predictions):
        return np.array([len(d) for d in predictions], dtype=np.int64)


def test_coco_map_of_a_sharded_point_is_computed_on_the_merged_detections(tmp_path):
    import vcmbench.datasets.coco  # noqa: F401 - registers the dataset
    from vcmbench.datasets.coco import coco

    dataset = coco("val", write_coco_fixture(tmp_path / "coco"))
    task = ShiftedTruth(dataset)
    codec = CODECS.get("passthrough")()
    whole = evaluate_point(codec, dataset, task, suite="s", reference_accuracy=1.0,
                           out_path=tmp_path / "a.json", batch_size=2, progress=False, reference_scores={})
    decoder, identity = get_pair_ready(codec, None, prepared=True)
    ranges = shard_ranges(codec, len(dataset), 2, 2)
    assert len(ranges) == 3
    parts = [measure_range(codec, decoder, dataset, task, a, b, 2) for a, b in ranges]
    refs = point_refs(dataset, task, suite="s", reference_accuracy=1.0, codec_context=None,
                      reference_scores={}, confusion=None, batch_size=2)
    merged = finish_point(codec, dataset, task, parts[::-1], refs=refs, identity=identity,
                          out_path=tmp_path / "b.json", device="cpu", seed=0)
    assert merged.metrics.scores == whole.metrics.scores and 0 < merged.metrics.scores[MAP] < 1
    assert (tmp_path / "a.samples.csv").read_bytes() == (tmp_path / "b.samples.csv").read_bytes()
    # what averaging the shards' own mAPs would have said instead: another number
    ids, sizes, cats = dataset.coco_image_ids(), dataset.image_sizes(), dataset.category_ids()
    shard_maps = []
    for (a, b), part in zip(ranges, parts, strict=True):
        predictions = [d for batch in part.predictions for d in batch]
        found = coco_map(dataset.coco(), coco_results(predictions, ids[a:b], sizes[a:b], cats), ids[a:b])
        if MAP in found:
            shard_maps.append(found[MAP])
    assert abs(np.mean(shard_maps) - merged.metrics.scores[MAP]) > 1e-3
