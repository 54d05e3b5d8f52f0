"""Where a point's evaluation may be cut into shards, and the block a large split streams in.

A shard is a run of consecutive samples measured as one task (on one worker). Its results merge
exactly with the others' (:func:`vcmbench.pipeline.evaluate.merge_measured`) only if every batch
and every block is the one a measurement of the whole split makes, so shards start on those
boundaries: a multiple of the batch size for a per-sample codec (the task model sees the same
batches), a multiple of the block for a block codec (the same blocks are coded; inside a block
the decoded outputs are judged in batches counted from the block's start).

A block codec whose point leaves ``block_size`` at None codes the whole split as one block: on a
large split (ImageNet's 50,000 images) that block would not fit in memory, so such a point is
measured with ``block_size = DEFAULT_BLOCK`` instead, and its record says so in its parameters.
Layered codecs are measured in one piece (their evaluator is not sharded).
"""

from __future__ import annotations

import inspect

from vcmbench.api.codec import BlockCodec, Codec, LayeredCodec
from vcmbench.pipeline.plan import Point, instantiate, point_slug

# A split with more samples than this is "large": whole-split blocks are replaced by DEFAULT_BLOCK.
LARGE_SPLIT = 10_000
DEFAULT_BLOCK = 10_000
# Samples per task when a point is sharded (rounded up to a whole number of batches or blocks).
DEFAULT_SHARD = 5_000


def streaming_point(point: Point, samples: int) -> Point:
    """The point as measured on a split of ``samples``: a whole-split block on a large split
    becomes a block of ``DEFAULT_BLOCK`` (a new instance, a new record name that says so)."""
    codec = point.codec
    if (samples <= LARGE_SPLIT or not isinstance(codec, BlockCodec) or isinstance(codec, LayeredCodec)
            or codec.block_size is not None or not _takes_block_size(type(codec))):
        return point
    params = {**codec.params, "block_size": DEFAULT_BLOCK}
    streamed = instantiate("codec", type(codec), params)
    return Point(streamed, point.relative_path.parent / f"{point_slug(streamed.params)}.json")


def _takes_block_size(cls: type[Codec]) -> bool:
    try:
        parameters = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False
    return "block_size" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def shard_unit(codec: Codec, samples: int, batch_size: int) -> int:
    """The boundaries a shard of this codec's point may start on (see the module notes)."""
    if isinstance(codec, BlockCodec):
        block = codec.block_size or samples
        return block if isinstance(block, int) and block >= 1 else samples
    return batch_size


def shard_ranges(codec: Codec, samples: int, batch_size: int,
                 shard_size: int | None = None) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` tiling ``0..samples``: about ``shard_size`` samples each, cut only
    where a whole-split measurement has a batch or block boundary; one range for a layered codec."""
    if isinstance(codec, LayeredCodec) or samples <= 0:
        return [(0, max(samples, 0))]
    unit = shard_unit(codec, samples, batch_size)
    wanted = shard_size or DEFAULT_SHARD
    size = max(unit, -(-wanted // unit) * unit)
    return [(start, min(samples, start + size)) for start in range(0, samples, size)]
