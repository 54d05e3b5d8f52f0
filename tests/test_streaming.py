"""Block codecs stream: a block is read, coded, judged and released before the next is read, so the
memory a point needs follows its block, not its split; and kept bitstreams add up to the rate."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from collections.abc import Sequence
from typing import Any

import numpy as np

import distributed_toys
from vcmbench.api.codec import BlockCodec
from vcmbench.api.dataset import DatasetInfo
from vcmbench.pipeline.bitstreams import MANIFEST
from vcmbench.pipeline.config import parse_suite
from vcmbench.pipeline.evaluate import evaluate_point
from vcmbench.pipeline.suite import run_suite

SHAPE = (32, 32, 3)
SAMPLE_BYTES = int(np.prod(SHAPE))


class GeneratedImages:
    """``n`` images made on demand from their index (nothing held): a split larger than memory would be."""

    def __init__(self, n: int):
        self.n = n
        self.info = DatasetInfo(id="generated", split="test", num_classes=4, fingerprint=f"generated-{n}",
                                pixels_per_sample=SHAPE[0] * SHAPE[1])

    def __len__(self) -> int:
        return self.n

    def ids(self) -> Sequence[str]:
        return [str(i) for i in range(self.n)]

    def labels(self) -> np.ndarray:
        return np.arange(self.n, dtype=np.int64) % 4

    def inputs(self, indices: Sequence[int]) -> list[Any]:
        out = []
        for i in indices:
            image = np.random.default_rng(i).integers(0, 256, SHAPE, dtype=np.uint8)
            image[0, 0, 0] = i % 4
            out.append(image)
        return out


class RawBlocks(BlockCodec):
    """A block's images as raw bytes behind a count: what a block holds, and nothing more."""

    decodes_to = "input"

    def __init__(self, block_size: int | None = None):
        super().__init__(block_size=block_size)

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        return len(xs).to_bytes(4, "big") + b"".join(np.asarray(x).tobytes() for x in xs)

    def decode_block(self, data: bytes) -> list[np.ndarray]:
        count = int.from_bytes(data[:4], "big")
        flat = np.frombuffer(data, dtype=np.uint8, offset=4).reshape(count, *SHAPE)
        return list(flat)


def _peak(tmp_path, name: str, block_size: int | None, n: int, trace: bool = True) -> int:
    from conftest import OracleTask

    class ReadsFirstByte(OracleTask):
        def predict(self, inputs):
            return np.array([int(np.asarray(x).reshape(-1)[0]) for x in inputs], dtype=np.int64)

    dataset, task, codec = GeneratedImages(n), ReadsFirstByte(), RawBlocks(block_size=block_size)
    if trace:
        tracemalloc.start()
    try:
        record = evaluate_point(codec, dataset, task, suite="s", reference_accuracy=1.0,
                                out_path=tmp_path / f"{name}.json", batch_size=50, progress=False,
                                reference_scores={})
        _, peak = tracemalloc.get_traced_memory() if trace else (0, 0)
    finally:
        tracemalloc.stop()
    assert record.status == "ok" and record.metrics.accuracy == 1.0, record.error
    return peak


def test_a_block_codec_needs_memory_for_its_block_not_for_its_split(tmp_path):
    n, block = 400, 40  # a split ten times the block
    block_bytes = block * SAMPLE_BYTES
    _peak(tmp_path, "warm", 2, 4, trace=False)  # what the evaluation imports on first use is not its memory
    streamed = _peak(tmp_path, "streamed", block, n)
    whole = _peak(tmp_path, "whole", None, n)
    # one block's inputs, its bitstream and its decoded outputs, plus as much again for the rest
    assert streamed < 2 * 3 * block_bytes, (streamed, block_bytes)
    assert whole > n * SAMPLE_BYTES  # the same measurement sees a whole-split block in memory


def test_kept_bitstreams_are_the_bytes_the_rate_counts(tmp_path):
    codecs = [{"name": "t-quantise", "points": [{"q": 16}]},
              {"name": "t-sends-labels", "points": [{"block_size": 24}]}]
    config = parse_suite(distributed_toys.suite(codecs, n=60))
    plain = run_suite(config, out=tmp_path, progress=False, log=lambda _: None, device="cpu")
    assert all(r.bitstreams is None for r in plain)
    lines: list[str] = []
    records = run_suite(config, out=tmp_path, progress=False, log=lines.append, device="cpu",
                        save_bitstreams=True)
    assert not any(line.endswith("[reused]") for line in lines[1:])  # measured again to keep them
    run_dir = tmp_path / "dist-toy" / "dist-toy"
    for record, folder in zip(records, ("t-quantise", "t-sends-labels"), strict=True):
        assert record.status == "ok", record.error
        kept = run_dir / folder / record.bitstreams
        manifest = json.loads((kept / MANIFEST).read_text(encoding="utf-8"))
        files = sorted(p for p in kept.iterdir() if p.name != MANIFEST)
        assert [e["name"] for e in manifest["files"]] == [p.name for p in files]
        assert len(files) == record.metrics.blocks
        written = sum(p.stat().st_size for p in files)
        assert 8 * written == record.metrics.bits_total == 8 * manifest["bytes_total"]
        assert all(hashlib.sha256(p.read_bytes()).hexdigest() == e["sha256"]
                   for p, e in zip(files, manifest["files"], strict=True))
        assert not list(kept.parent.glob("*.partial"))
    assert records[1].metrics.blocks == 3  # 60 labels in blocks of 24
    lines.clear()
    again = run_suite(config, out=tmp_path, progress=False, log=lines.append, device="cpu",
                      save_bitstreams=True)
    assert again == records and all(line.endswith("[reused]") for line in lines[1:])
