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
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from vcmbench.api.codec import CodecContext, LayeredCodec, LayerSpec
from vcmbench.api.dataset import Dataset
from vcmbench.api.record import LayerMetrics, Metrics, Provenance, ResultRecord, write_record
from vcmbench.api.task import TaskModel
from vcmbench.pipeline.evaluate import CodecFailure, _write_samples, batches, failed_record, new_decoder
from vcmbench.pipeline.refs import codec_ref, dataset_ref, task_ref
from vcmbench.tasks.distortion import CrossEntropyTally, DistortionTally
from vcmbench.theory.confidence import clopper_pearson

__all__ = ["evaluate_any", "evaluate_layered_point", "measure_layers"]


@dataclass
class _Prefix:
    """Running totals of one prefix (layers 0..i)."""

    spec: LayerSpec
    bits: int = 0  # this layer's own bytes × 8
    correct: int = 0
    distortion: DistortionTally = field(default_factory=DistortionTally)
    cross_entropy: CrossEntropyTally = field(default_factory=CrossEntropyTally)

    def scores(self) -> dict[str, float]:
        if self.spec.decodes_to != "input":
            return {}
        return {**self.distortion.scores(), **self.cross_entropy.scores()}


@dataclass
class LayeredMeasurement:
    """What :func:`measure_layers` found: per-prefix totals, full-stream predictions and timings."""

    prefixes: list[_Prefix]
    predictions: np.ndarray
    blocks: int
    encode_seconds: float
    decode_seconds: float
    estimated_bits: float | None

    @property
    def bits_total(self) -> int:
        return sum(p.bits for p in self.prefixes)

    def layer_metrics(self) -> list[LayerMetrics]:
        return [LayerMetrics(name=p.spec.name, bits_total=p.bits, correct=p.correct, scores=p.scores())
                for p in self.prefixes]


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


def _predictions(codec: LayeredCodec, spec: LayerSpec, task_model: TaskModel, xs: Sequence[Any],
                 outputs: list[Any], num_classes: int, batch_size: int) -> np.ndarray:
    """The task's answers from one prefix's outputs, checking the contract on the way."""
    if spec.decodes_to == "label":
        preds = np.asarray(outputs)
        if preds.ndim != 1 or not np.issubdtype(preds.dtype, np.integer):
            raise CodecFailure(f"layer {spec.name!r}: decoded labels are not a flat sequence of integers")
        if preds.size and (preds.min() < 0 or preds.max() >= num_classes):
            raise CodecFailure(f"layer {spec.name!r}: decoded label outside 0..{num_classes - 1}")
        return preds.astype(np.int64)
    parts = []
    for sub in batches(len(outputs), batch_size):
        chunk = [outputs[i] for i in sub]
        if spec.decodes_to == "input":
            for i in sub:
                if np.shape(outputs[i]) != np.shape(xs[i]):
                    raise CodecFailure(f"layer {spec.name!r}: decoded input has shape "
                                       f"{np.shape(outputs[i])}, expected {np.shape(xs[i])}")
            parts.append(np.asarray(task_model.predict(chunk), dtype=np.int64))
        else:
            if codec.split is None:
                raise CodecFailure("a features layer needs the codec's task model split point")
            stacked = np.stack([np.asarray(c) for c in chunk])
            parts.append(np.asarray(task_model.predict_from_features(stacked, codec.split), dtype=np.int64))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def measure_layers(codec: LayeredCodec, decoder: LayeredCodec, dataset: Dataset, task_model: TaskModel,
                   *, batch_size: int = 256, progress: bool = False, desc: str = "") -> LayeredMeasurement:
    """Encode the split block by block and decode every prefix with ``decoder``; raise CodecFailure."""
    specs = _check_specs(codec)
    n = len(dataset)
    labels = dataset.labels()
    block = codec.block_size or n
    if not isinstance(block, int) or isinstance(block, bool) or block < 1:
        raise CodecFailure(f"block_size must be a positive integer, got {block!r}")
    prefixes = [_Prefix(spec) for spec in specs]
    full: list[np.ndarray] = []
    blocks = 0
    encode_seconds = decode_seconds = 0.0
    estimated: float | None = 0.0
    with tqdm(total=n, desc=desc, unit="sample", disable=not progress, leave=False) as bar:
        for idx in batches(n, block):
            xs = dataset.inputs(idx)
            t0 = time.perf_counter()
            streams = codec.encode_layers(xs)
            encode_seconds += time.perf_counter() - t0
            if (not isinstance(streams, list | tuple) or len(streams) != len(specs)
                    or not all(isinstance(s, bytes | bytearray) for s in streams)):
                raise CodecFailure(f"encode_layers must return one bytes object per layer ({len(specs)})")
            streams = [bytes(s) for s in streams]
            blocks += 1
            if estimated is not None:
                estimate = codec.estimate_bits(xs)
                estimated = None if estimate is None else estimated + float(estimate)
            for k, prefix in enumerate(prefixes, start=1):
                prefix.bits += 8 * len(streams[k - 1])
                t1 = time.perf_counter()
                outputs = list(decoder.decode_prefix(streams[:k]))
                if k == len(prefixes):
                    decode_seconds += time.perf_counter() - t1
                if len(outputs) != len(xs):
                    raise CodecFailure(f"decoding layers 0..{k - 1} gave {len(outputs)} outputs for "
                                       f"{len(xs)} inputs")
                preds = _predictions(codec, prefix.spec, task_model, xs, outputs, dataset.info.num_classes,
                                     batch_size)
                prefix.correct += int((preds == labels[idx]).sum())
                if prefix.spec.decodes_to == "input":
                    prefix.distortion.add(xs, outputs)
                    prefix.cross_entropy.add(task_model, outputs, labels[idx])
                if k == len(prefixes):
                    full.append(preds)
            bar.update(len(idx))
    predictions = np.concatenate(full) if full else np.zeros(0, dtype=np.int64)
    return LayeredMeasurement(prefixes, predictions, blocks, encode_seconds, decode_seconds, estimated)


def evaluate_layered_point(codec: LayeredCodec, dataset: Dataset, task_model: TaskModel, *, suite: str,
                           reference_accuracy: float, out_path: Path,
                           codec_context: CodecContext | None = None, prepared: bool = False,
                           batch_size: int = 256, device: str = "cpu", seed: int = 0,
                           progress: bool = True) -> ResultRecord:
    """:func:`vcmbench.pipeline.evaluate.evaluate_point` for a layered codec (same arguments, same files).

    Preparation follows ``evaluate_point``: with a ``codec_context`` the decoder (always a new
    instance) and, unless ``prepared``, the encoder are prepared with it; a failure anywhere is
    a ``failed`` record, not an exception.
    """
    refs = {"suite": suite, "dataset": dataset_ref(dataset, codec_context),
            "task_model": task_ref(task_model, reference_accuracy)}
    identity: dict[str, Any] = {}
    try:
        decoder = new_decoder(codec)
        if not isinstance(decoder, LayeredCodec):
            raise CodecFailure("the decoder instance is not a layered codec")
        if codec_context is not None:
            if not prepared:
                codec.prepare(codec_context)
            decoder.prepare(codec_context)
        identity = codec.identity()
        if codec_context is not None and decoder.identity() != identity:
            raise CodecFailure(f"encoder and decoder prepared different artifacts: {identity} "
                               f"and {decoder.identity()}")
        label = " ".join([codec.name, *(f"{k}={v}" for k, v in codec.params.items())])
        found = measure_layers(codec, decoder, dataset, task_model, batch_size=batch_size, progress=progress,
                               desc=label)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:  # any codec fault is recorded; the suite goes on
        record = failed_record(codec, exc, **refs, identity=identity, device=device, seed=seed)
        write_record(out_path, record)
        return record
    n = len(dataset)
    labels = dataset.labels()
    correct = found.predictions == labels
    samples_path = out_path.with_suffix(".samples.csv")
    digest = _write_samples(samples_path, dataset.ids(), [None] * n, labels, found.predictions, correct)
    info = dataset.info
    layers = found.layer_metrics()
    bits = found.bits_total
    metrics = Metrics(
        accuracy=float(correct.mean()), correct=int(correct.sum()), samples=n,
        bits_total=bits, bits_per_sample=bits / n, blocks=found.blocks,
        encode_seconds=found.encode_seconds, decode_seconds=found.decode_seconds,
        bits_per_pixel=bits / n / info.pixels_per_sample if info.pixels_per_sample else None,
        bits_per_point=bits / n / info.points_per_sample if info.points_per_sample else None,
        estimated_bits_per_sample=None if found.estimated_bits is None else found.estimated_bits / n,
        accuracy_interval=list(clopper_pearson(int(correct.sum()), n)),
        scores=dict(layers[-1].scores), layers=layers,
    )
    record = ResultRecord(**refs, codec=codec_ref(codec, identity),
                          provenance=Provenance.collect(device, seed), metrics=metrics,
                          samples_file=samples_path.name, samples_sha256=digest)
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
