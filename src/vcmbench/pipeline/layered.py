"""Evaluate one operating point of a layered (scalable) codec: every layer's bytes, every prefix decoded.

For each block of the test split the encoder emits its layers; a separately constructed and
prepared decoder then decodes every prefix (layer 0, layers 0-1, ...) from those bytes alone.
What each prefix gives is measured by what it decodes to:

* ``label``: the task output itself; ``correct`` counts matches with the true labels;
* ``input``: a reconstruction, given to the suite's task model (``correct``), and compared with
  the original for distortion (``mse``, ``psnr``, ``ssim``/``ms_ssim``) and, where the task
  model gives class probabilities, the classification term ``cross_entropy_bits``
  (:mod:`vcmbench.tasks.distortion`);
* ``features``: activations at the codec's split point, finished by the task model.

The record: ``Metrics.layers[i]`` holds layer i's own bits and the metrics of the prefix 0..i;
``Metrics.bits_total`` is the sum over layers (every byte of every layer). ``Metrics.accuracy``,
``correct`` and ``scores`` are those of the FULL stream (all layers decoded): the record's point
is (all bits, what all bits give), so it sits on the same rate-accuracy plane as every other
codec, and ``layers[-1].correct == correct`` says so inside the record. The base layer's own
accuracy is ``layers[0].correct`` at ``layers[0].bits_total``. The per-sample file holds the
full stream's predictions. ``decode_seconds`` times the decoding of the full stream only (the
shorter prefixes are decoded too, for their metrics, but not timed).

A layered codec is a :class:`~vcmbench.api.codec.BlockCodec` too, so a harness that does not
dispatch here still measures it, as one framed stream decoded in full.

What is not specific to layers is :mod:`vcmbench.pipeline.evaluate`'s: preparing the encoder and a
separate decoder (``get_pair_ready``), the record's references (``point_refs``), routing decoded
outputs to the task model (``_predict``, here once per prefix with the prefix's kind), and judging
the full stream and writing the per-sample file, bitstreams and record (``finish_point``, fed the
full stream's measurement with one stream entry per block: its layers' bits added). The record is
then rewritten with the per-layer metrics and the full stream's distortion scores.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from vcmbench.api.codec import CodecContext, LayeredCodec, LayerSpec
from vcmbench.api.dataset import Dataset
from vcmbench.api.record import LayerMetrics, ResultRecord, write_record
from vcmbench.api.task import TaskModel
from vcmbench.pipeline.bitstreams import BitstreamFolder
from vcmbench.pipeline.evaluate import (
    CodecFailure,
    Measured,
    _predict,
    batches,
    collect_predictions,
    failed_record,
    finish_point,
    get_pair_ready,
    point_refs,
)
from vcmbench.tasks.distortion import CrossEntropyTally, DistortionTally

__all__ = ["evaluate_any", "evaluate_layered_point", "measure_layers"]


@dataclass(frozen=True)
class _As:
    """What ``_predict`` reads of a codec, for one prefix: the prefix's kind and the codec's split point."""

    decodes_to: str
    split: str | None


@dataclass
class _Prefix:
    """Running totals of one prefix (layers 0..i)."""

    spec: LayerSpec
    bits: int = 0  # this layer's own bytes × 8
    predictions: list[Any] = field(default_factory=list)  # the task model's answers, per batch
    distortion: DistortionTally = field(default_factory=DistortionTally)
    cross_entropy: CrossEntropyTally = field(default_factory=CrossEntropyTally)

    def scores(self) -> dict[str, float]:
        if self.spec.decodes_to != "input":
            return {}
        return {**self.distortion.scores(), **self.cross_entropy.scores()}


@dataclass
class LayeredMeasurement:
    """What :func:`measure_layers` found: per-prefix totals and the full stream as ``Measured``."""

    prefixes: list[_Prefix]
    full: Measured

    @property
    def bits_total(self) -> int:
        return sum(p.bits for p in self.prefixes)

    def layer_metrics(self, task_model: TaskModel, dataset: Dataset) -> list[LayerMetrics]:
        out = []
        for p in self.prefixes:
            correct = np.asarray(task_model.correct(dataset, collect_predictions(task_model, p.predictions)),
                                 dtype=bool)
            out.append(LayerMetrics(name=p.spec.name, bits_total=p.bits, correct=int(correct.sum()),
                                    scores=p.scores()))
        return out


def _check_specs(codec: LayeredCodec) -> tuple[LayerSpec, ...]:
    specs = tuple(codec.layers)
    if not specs:
        raise CodecFailure("a layered codec must declare its layers")
    for spec in specs:
        if spec.decodes_to not in ("input", "features", "label"):
            raise CodecFailure(f"layer {spec.name!r}: unknown decodes_to {spec.decodes_to!r}")
    if len({s.name for s in specs}) != len(specs):
        raise CodecFailure("layer names must be distinct")
    return specs


def _encode(codec: LayeredCodec, xs: Sequence[Any], count: int) -> list[bytes]:
    streams = codec.encode_layers(xs)
    if (not isinstance(streams, list | tuple) or len(streams) != count
            or not all(isinstance(s, bytes | bytearray) for s in streams)):
        raise CodecFailure(f"encode_layers must return one bytes object per layer ({count})")
    return [bytes(s) for s in streams]


def measure_layers(codec: LayeredCodec, decoder: LayeredCodec, dataset: Dataset, task_model: TaskModel,
                   *, batch_size: int = 256, progress: bool = False, desc: str = "",
                   keep: BitstreamFolder | None = None) -> LayeredMeasurement:
    """Encode the split block by block and decode every prefix with ``decoder``; raise CodecFailure.

    ``keep``: a folder for every layer the decoder received (``block-<first>-<last>.layer-<i>.bin``).
    """
    specs = _check_specs(codec)
    n = len(dataset)
    labels = dataset.labels()
    block = codec.block_size or n
    if not isinstance(block, int) or isinstance(block, bool) or block < 1:
        raise CodecFailure(f"block_size must be a positive integer, got {block!r}")
    prefixes = [_Prefix(spec) for spec in specs]
    full = Measured(0, n)
    with tqdm(total=n, desc=desc, unit="sample", disable=not progress, leave=False) as bar:
        for idx in batches(n, block):
            xs = dataset.inputs(idx)
            t0 = time.perf_counter()
            streams = _encode(codec, xs, len(specs))
            full.encode_seconds += time.perf_counter() - t0
            full.stream_bits.append(8 * sum(len(s) for s in streams))
            full.sample_bits.extend([None] * len(idx))
            if full.estimates is not None:
                estimate = codec.estimate_bits(xs)
                full.estimates = None if estimate is None else [*full.estimates, float(estimate)]
            for k, prefix in enumerate(prefixes, start=1):
                prefix.bits += 8 * len(streams[k - 1])
                if keep is not None:
                    keep.add(f"block-{idx[0]:08d}-{idx[-1]:08d}.layer-{k - 1}.bin", streams[k - 1])
                t1 = time.perf_counter()
                outputs = list(decoder.decode_prefix(streams[:k]))
                if k == len(prefixes):
                    full.decode_seconds += time.perf_counter() - t1
                if len(outputs) != len(xs):
                    raise CodecFailure(f"decoding layers 0..{k - 1} gave {len(outputs)} outputs for "
                                       f"{len(xs)} inputs")
                view = _As(prefix.spec.decodes_to, codec.split)
                for sub in batches(len(xs), batch_size):
                    judged = _predict(view, task_model, [xs[i] for i in sub], [outputs[i] for i in sub],
                                      dataset.info.num_classes)
                    prefix.predictions.append(judged)
                    if k == len(prefixes):
                        full.predictions.append(judged)
                if prefix.spec.decodes_to == "input":
                    prefix.distortion.add(xs, outputs)
                    prefix.cross_entropy.add(task_model, outputs, labels[idx])
            bar.update(len(idx))
    return LayeredMeasurement(prefixes, full)


def evaluate_layered_point(codec: LayeredCodec, dataset: Dataset, task_model: TaskModel, *, suite: str,
                           reference_accuracy: float, out_path: Path,
                           codec_context: CodecContext | None = None, prepared: bool = False,
                           batch_size: int = 256, device: str = "cpu", seed: int = 0,
                           progress: bool = True, reference_scores: dict[str, float] | None = None,
                           confusion: list[list[int]] | None = None,
                           bitstreams: Path | None = None) -> ResultRecord:
    """:func:`vcmbench.pipeline.evaluate.evaluate_point` for a layered codec (same arguments, same files).

    Preparation follows ``evaluate_point``: with a ``codec_context`` the decoder (always a new
    instance) and, unless ``prepared``, the encoder are prepared with it; a failure anywhere is
    a ``failed`` record, not an exception. ``bitstreams``: a folder to keep every layer in.
    """
    refs = point_refs(dataset, task_model, suite=suite, reference_accuracy=reference_accuracy,
                      codec_context=codec_context, reference_scores=reference_scores, confusion=confusion,
                      batch_size=batch_size)
    identity: dict[str, Any] = {}
    keeper = BitstreamFolder(bitstreams) if bitstreams is not None else None
    try:
        decoder, identity = get_pair_ready(codec, codec_context, prepared)
        if not isinstance(decoder, LayeredCodec):
            raise CodecFailure("the decoder instance is not a layered codec")
        label = " ".join([codec.name, *(f"{k}={v}" for k, v in codec.params.items())])
        found = measure_layers(codec, decoder, dataset, task_model, batch_size=batch_size, progress=progress,
                               desc=label, keep=keeper)
        layers = found.layer_metrics(task_model, dataset)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:  # any codec fault is recorded; the suite goes on
        if keeper is not None:
            keeper.discard()
        record = failed_record(codec, exc, **refs, identity=identity, device=device, seed=seed)
        write_record(out_path, record)
        return record
    record = finish_point(codec, dataset, task_model, [found.full], refs=refs, identity=identity,
                          out_path=out_path, device=device, seed=seed, bitstreams=keeper)
    if record.metrics is None:
        return record
    metrics = replace(record.metrics, scores={**record.metrics.scores, **layers[-1].scores}, layers=layers)
    record = replace(record, metrics=metrics)
    write_record(out_path, record)
    return record


def evaluate_any(codec: Any, dataset: Dataset, task_model: TaskModel, **kwargs: Any) -> ResultRecord:
    """:func:`evaluate_layered_point` for a layered codec, else the pipeline's ``evaluate_point``.

    The dispatch the pipeline needs (``evaluate_point`` delegating layered codecs here), as one call.
    """
    if isinstance(codec, LayeredCodec):
        return evaluate_layered_point(codec, dataset, task_model, **kwargs)
    from vcmbench.pipeline.evaluate import evaluate_point

    return evaluate_point(codec, dataset, task_model, **kwargs)
