"""Evaluate one operating point: the codec's real bytes, the task's accuracy, and timings.

The decoder gets nothing but the bytes: it is a separately constructed instance of the codec
(same class, same parameters) prepared on its own, never the instance that encoded, so a codec
that smuggles state from its encoder to its decoder fails here instead of passing unnoticed.

A codec failure (an exception in prepare/encode/decode, outputs of the wrong shape or count) is
not a crash: it becomes a record with ``status = "failed"`` and the error, so a suite goes on
with its other codecs.

What the task model predicts need not be a label: a detector returns one set of detections per
image. Predictions flow through as the task model made them; the task model says which samples
are correct (:meth:`~vcmbench.api.task.TaskModel.correct`) and computes its dataset-level scores
(:meth:`~vcmbench.api.task.TaskModel.scores`, e.g. COCO mAP), which the record carries in
``Metrics.scores`` beside the same scores on uncompressed input (``TaskRef.reference_scores``).
A codec that decodes to the task output (``decodes_to = "label"``) hands the task model's kind of
output straight to the scoring (labels, or detections for a detector).
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from vcmbench.api.codec import BlockCodec, Codec, CodecContext, SampleCodec
from vcmbench.api.dataset import Dataset
from vcmbench.api.record import Metrics, Provenance, ResultRecord, write_record, write_text_atomic
from vcmbench.api.task import TaskModel
from vcmbench.pipeline.bitstreams import BitstreamFolder
from vcmbench.pipeline.loader import Reading
from vcmbench.pipeline.refs import REFERENCE_SCORES_ATTR, codec_ref, dataset_ref, jsonable, task_ref
from vcmbench.theory.confidence import clopper_pearson

__all__ = ["CodecFailure", "Measured", "Reference", "batches", "evaluate_point", "finish_point",
           "get_pair_ready", "jsonable", "measure_range", "merge_measured", "new_decoder", "point_refs",
           "reference_accuracy", "reference_result"]


class CodecFailure(Exception):
    """The codec broke its contract at one operating point (recorded, not raised to the user)."""


@dataclass
class Measured:
    """What measuring samples ``start..stop-1`` of one operating point gives.

    Everything is kept per sample, per bitstream or per batch, in order, so parts measured apart
    (shards on several workers) merge exactly by concatenation (:func:`merge_measured`): the
    record of a point measured in shards is the record of the point measured in one piece.
    """

    start: int
    stop: int
    sample_bits: list[int | None] = field(default_factory=list)  # per sample; None inside a block
    stream_bits: list[int] = field(default_factory=list)  # 8 × bytes of each bitstream, in order
    estimates: list[float] | None = field(default_factory=list)  # the codec's estimate per encode call
    predictions: list[Any] = field(default_factory=list)  # the task model's answers, one entry per batch
    encode_seconds: float = 0.0
    decode_seconds: float = 0.0


def batches(n: int, size: int) -> Iterator[list[int]]:
    yield from batches_between(0, n, size)


def batches_between(start: int, stop: int, size: int) -> Iterator[list[int]]:
    """Consecutive index lists of ``size`` (the last may be shorter) from ``start`` to ``stop``."""
    for first in range(start, stop, size):
        yield list(range(first, min(stop, first + size)))


@dataclass(frozen=True)
class Reference:
    """The task model on uncompressed inputs: its accuracy, its dataset-level scores and, for a
    classifier, its confusion matrix (true class by row; the model-aware bound is computed from it)."""

    accuracy: float
    scores: dict[str, float]
    confusion: list[list[int]] | None = None


def reference_result(task_model: TaskModel, dataset: Dataset, batch_size: int,
                     reading: Reading | None = None) -> Reference:
    """The ceiling every result carries: the task model's accuracy and scores on uncompressed inputs.

    The scores are also kept on the task model instance (by test-set fingerprint), so the record
    descriptions of the run (:func:`vcmbench.pipeline.refs.task_ref`) carry them.
    """
    task_model.check_dataset(dataset)
    index_batches = list(batches(len(dataset), batch_size))
    parts = [task_model.predict(xs) for xs in (reading or Reading()).batches(dataset, index_batches)]
    predictions = collect_predictions(task_model, parts)
    correct = np.asarray(task_model.correct(dataset, predictions), dtype=bool)
    scores = {k: float(v) for k, v in task_model.scores(dataset, predictions).items()}
    task_model.__dict__.setdefault(REFERENCE_SCORES_ATTR, {})[dataset.info.fingerprint] = scores
    confusion = confusion_matrix(task_model, dataset, predictions, correct)
    return Reference(float(correct.mean()), scores, confusion)


def confusion_matrix(task_model: TaskModel, dataset: Dataset, predictions: Any,
                     correct: np.ndarray) -> list[list[int]] | None:
    """confusion[y][k]: samples of true class y predicted as k; None where it means nothing.

    Only a classifier has one (a detector's "label" is an object count, not a class), and only
    when its verdicts are plain label equality: a task model whose ``correct`` says otherwise
    would give a diagonal that disagrees with its accuracy.
    """
    info = dataset.info
    if task_model.output != "label" or info.task != "classification":
        return None
    k = info.num_classes
    truth = np.asarray(dataset.labels(), dtype=np.int64).reshape(-1)
    guess = np.asarray(task_model.prediction_labels(predictions), dtype=np.int64).reshape(-1)
    if guess.shape != truth.shape or (guess.size and (guess.min() < 0 or guess.max() >= k)):
        return None
    if not np.array_equal(guess == truth, np.asarray(correct, dtype=bool).reshape(-1)):
        return None
    counts = np.bincount(truth * k + guess, minlength=k * k).reshape(k, k)
    return counts.astype(int).tolist()


def reference_accuracy(task_model: TaskModel, dataset: Dataset, batch_size: int) -> float:
    """The task model on uncompressed inputs: the accuracy ceiling every result carries."""
    return reference_result(task_model, dataset, batch_size).accuracy


def _reference_scores(task_model: TaskModel, dataset: Dataset, batch_size: int) -> dict[str, float]:
    """The task model's scores on the uncompressed split (computed once per instance and split)."""
    if type(task_model).scores is TaskModel.scores:
        return {}
    known = task_model.__dict__.get(REFERENCE_SCORES_ATTR, {})
    if dataset.info.fingerprint in known:
        return dict(known[dataset.info.fingerprint])
    return reference_result(task_model, dataset, batch_size).scores


def collect_predictions(task_model: TaskModel, parts: Sequence[Any]) -> Any:
    """Per-batch predictions joined in sample order: one int64 array for labels (N, or N×k ranked
    classes), else one list."""
    if task_model.output == "label":
        arrays = [label_rows(p) for p in parts]
        if len({a.ndim for a in arrays}) > 1:  # a point's predictions all come by one route
            raise CodecFailure("a point mixes ranked predictions with single labels")
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)
    return [p for part in parts for p in part]


def label_rows(predicted: Any) -> np.ndarray:
    """Labels as an int64 array: (N,) for one label per sample, (N, k) for k ranked classes."""
    out = np.asarray(predicted, dtype=np.int64)
    return out.reshape(-1) if out.ndim <= 1 else out.reshape(len(out), -1)


def _as_predictions(task_model: TaskModel, predicted: Any, count: int) -> Any:
    """The task model's answers for one batch, in its own kind, checked for their number."""
    out = label_rows(predicted) if task_model.output == "label" else list(predicted)
    if len(out) != count:
        raise CodecFailure(f"the task model returned {len(out)} predictions for {count} inputs")
    return out


def _predict(codec: Codec, task_model: TaskModel, inputs: Sequence[Any], decoded: list[Any],
             num_classes: int) -> Any:
    """Route decoded outputs by what the codec decodes to, checking the contract on the way."""
    if len(decoded) != len(inputs):
        raise CodecFailure(f"decode returned {len(decoded)} outputs for {len(inputs)} inputs")
    if codec.decodes_to == "label":  # the task output itself: labels, or detections for a detector
        try:
            return _as_predictions(task_model, task_model.check_outputs(decoded, num_classes), len(inputs))
        except ValueError as exc:
            raise CodecFailure(str(exc)) from exc
    if codec.decodes_to == "input":
        for x, y in zip(inputs, decoded, strict=True):
            if np.shape(y) != np.shape(x):
                raise CodecFailure(f"decoded input has shape {np.shape(y)}, expected {np.shape(x)}")
        return _as_predictions(task_model, task_model.predict(decoded), len(inputs))
    if codec.decodes_to == "features":
        if codec.split is None:
            raise CodecFailure("a features codec must name its task model split point")
        return _as_predictions(task_model, task_model.predict_from_features(_stack(decoded), codec.split),
                               len(inputs))
    raise CodecFailure(f"unknown decodes_to {codec.decodes_to!r}")


def _stack(items: list[Any]) -> Any:
    first = items[0]
    if type(first).__module__.startswith("torch"):
        import torch

        return torch.stack(items)
    return np.stack(items)


# A place bitstreams can be kept (``vcmbench run --save-bitstreams``): name, the bytes the decoder received.
BitstreamSink = Callable[[str, bytes], None]


def _run_sample_codec(codec: SampleCodec, decoder: SampleCodec, dataset: Dataset, task_model: TaskModel,
                      batch_size: int, out: Measured, bar: tqdm | None, sink: BitstreamSink | None,
                      reading: Reading) -> None:
    index_batches = list(batches_between(out.start, out.stop, batch_size))
    for idx, xs in zip(index_batches, reading.batches(dataset, index_batches), strict=True):
        t0 = time.perf_counter()
        streams = codec.encode_batch(xs)
        t1 = time.perf_counter()
        if len(streams) != len(xs) or not all(isinstance(s, bytes | bytearray) for s in streams):
            raise CodecFailure("encode_batch must return one bytes object per input")
        received = [bytes(s) for s in streams]
        decoded = decoder.decode_batch(received)
        t2 = time.perf_counter()
        out.encode_seconds += t1 - t0
        out.decode_seconds += t2 - t1
        sizes = [8 * len(s) for s in received]
        out.stream_bits.extend(sizes)
        out.sample_bits.extend(sizes)
        if sink is not None:
            for i, data in zip(idx, received, strict=True):
                sink(f"sample-{i:08d}.bin", data)
        _add_estimate(codec, xs, out)
        out.predictions.append(_predict(codec, task_model, xs, list(decoded), dataset.info.num_classes))
        del xs, streams, received, decoded
        if bar is not None:
            bar.update(len(idx))


def _run_block_codec(codec: BlockCodec, decoder: BlockCodec, dataset: Dataset, task_model: TaskModel,
                     batch_size: int, out: Measured, bar: tqdm | None, sink: BitstreamSink | None,
                     reading: Reading) -> None:
    """Blocks are read, coded, judged and released one at a time: memory follows the block, not the split."""
    block = codec.block_size or len(dataset)
    if not isinstance(block, int) or block < 1:
        raise CodecFailure(f"block_size must be a positive integer, got {block!r}")
    index_batches = list(batches_between(out.start, out.stop, block))
    for idx, xs in zip(index_batches, reading.batches(dataset, index_batches), strict=True):
        t0 = time.perf_counter()
        stream = codec.encode_block(xs)
        t1 = time.perf_counter()
        if not isinstance(stream, bytes | bytearray):
            raise CodecFailure("encode_block must return bytes")
        received = bytes(stream)
        decoded = decoder.decode_block(received)
        t2 = time.perf_counter()
        out.encode_seconds += t1 - t0
        out.decode_seconds += t2 - t1
        out.stream_bits.append(8 * len(received))
        out.sample_bits.extend([None] * len(idx))
        if sink is not None:
            sink(f"block-{idx[0]:08d}-{idx[-1]:08d}.bin", received)
        _add_estimate(codec, xs, out)
        decoded = list(decoded)
        if len(decoded) != len(xs):
            raise CodecFailure(f"decode_block returned {len(decoded)} outputs for {len(xs)} inputs")
        for sub in batches(len(xs), batch_size):
            judged = _predict(codec, task_model, [xs[i] for i in sub], [decoded[i] for i in sub],
                              dataset.info.num_classes)
            out.predictions.append(judged)
        del xs, stream, received, decoded
        if bar is not None:
            bar.update(len(idx))


def _add_estimate(codec: Codec, xs: Sequence[Any], out: Measured) -> None:
    if out.estimates is None:
        return
    estimate = codec.estimate_bits(xs)
    out.estimates = None if estimate is None else [*out.estimates, float(estimate)]


def new_decoder(codec: Codec) -> Codec:
    """A second instance of the codec's class with the same parameters: the receiving side."""
    return type(codec)(**codec.params)


def get_pair_ready(codec: Codec, codec_context: CodecContext | None,
                   prepared: bool) -> tuple[Codec, dict[str, Any]]:
    """The decoder instance and the encoder's identity, both prepared; raises on any fault.

    With a context the decoder (and the encoder unless ``prepared``) is prepared with it, and the
    two must have loaded the same artifacts.
    """
    decoder = new_decoder(codec)
    if codec_context is not None:
        if not prepared:
            codec.prepare(codec_context)
        decoder.prepare(codec_context)
    identity = dict(codec.identity())
    if codec_context is not None and decoder.identity() != identity:
        raise CodecFailure(f"encoder and decoder prepared different artifacts: {identity} "
                           f"and {decoder.identity()}")
    return decoder, identity


def measure_range(codec: Codec, decoder: Codec, dataset: Dataset, task_model: TaskModel, start: int,
                  stop: int, batch_size: int, bar: tqdm | None = None,
                  sink: BitstreamSink | None = None, reading: Reading | None = None) -> Measured:
    """Encode, decode and classify samples ``start..stop-1``; raise on a codec fault.

    ``start`` must sit on a batch boundary (sample codecs) or a block boundary (block codecs), as
    :mod:`vcmbench.pipeline.shards` places them, so every batch and block is the one a
    measurement of the whole split makes.
    """
    out = Measured(start, stop)
    reading = reading or Reading()
    if isinstance(codec, BlockCodec) and isinstance(decoder, BlockCodec):
        _run_block_codec(codec, decoder, dataset, task_model, batch_size, out, bar, sink, reading)
    elif isinstance(codec, SampleCodec) and isinstance(decoder, SampleCodec):
        _run_sample_codec(codec, decoder, dataset, task_model, batch_size, out, bar, sink, reading)
    else:
        raise CodecFailure("a codec must subclass SampleCodec or BlockCodec")
    return out


def point_refs(dataset: Dataset, task_model: TaskModel, *, suite: str, reference_accuracy: float,
               codec_context: CodecContext | None, reference_scores: dict[str, float] | None,
               confusion: list[list[int]] | None, batch_size: int) -> dict[str, Any]:
    """What the record says about its suite, data and task model (``suite``, ``dataset``, ``task_model``)."""
    if reference_scores is None:
        reference_scores = _reference_scores(task_model, dataset, batch_size)
    return {"suite": suite, "dataset": dataset_ref(dataset, codec_context),
            "task_model": task_ref(task_model, reference_accuracy, reference_scores, confusion=confusion)}


def evaluate_point(codec: Codec, dataset: Dataset, task_model: TaskModel, *, suite: str,
                   reference_accuracy: float, out_path: Path, codec_context: CodecContext | None = None,
                   prepared: bool = False, batch_size: int = 256, device: str = "cpu", seed: int = 0,
                   progress: bool = True, reference_scores: dict[str, float] | None = None,
                   confusion: list[list[int]] | None = None,
                   bitstreams: Path | None = None, reading: Reading | None = None) -> ResultRecord:
    """Run one operating point over the whole dataset and write its record (and per-sample CSV).

    ``codec`` encodes; a separate instance built by :func:`new_decoder` decodes. With a
    ``codec_context`` both are prepared here with it (the encoder only if not ``prepared``
    already), so a failure to get ready (a missing checkpoint) is recorded like any other codec
    fault. Without one, neither is prepared: the caller prepared the encoder, and the decoder
    must be a codec that needs no preparation. The record carries the training split of the
    context (fingerprint and label counts: the free point) and the encoder's ``identity()``.

    The per-sample CSV is written first and the record last, both atomically: a record on
    disk always has its samples beside it, and the record holds the CSV's sha256.

    ``reference_scores``: the task model's scores on uncompressed input (``TaskRef.reference_scores``);
    None computes them here when the task model has scores (once per task model and split).
    ``confusion``: its confusion matrix on uncompressed input (``TaskRef.confusion``), if known.
    ``bitstreams``: a folder (beside ``out_path``) to keep every bitstream the decoder received in.
    ``reading``: how inputs are read (:mod:`vcmbench.pipeline.loader`; default: in the loop).
    """
    refs = point_refs(dataset, task_model, suite=suite, reference_accuracy=reference_accuracy,
                      codec_context=codec_context, reference_scores=reference_scores, confusion=confusion,
                      batch_size=batch_size)
    identity: dict[str, Any] = {}
    label = f"{codec.name} {_describe(codec.params)}".strip()
    keeper = BitstreamFolder(bitstreams) if bitstreams is not None else None
    with tqdm(total=len(dataset), desc=label, unit="sample", disable=not progress, leave=False) as bar:
        try:
            decoder, identity = get_pair_ready(codec, codec_context, prepared)
            measured = measure_range(codec, decoder, dataset, task_model, 0, len(dataset), batch_size, bar,
                                     keeper.add if keeper is not None else None, reading)
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except Exception as exc:  # any codec fault is recorded; the suite goes on
            if keeper is not None:
                keeper.discard()
            record = failed_record(codec, exc, **refs, identity=identity, device=device, seed=seed)
            write_record(out_path, record)
            return record
    return finish_point(codec, dataset, task_model, [measured], refs=refs, identity=identity,
                        out_path=out_path, device=device, seed=seed, bitstreams=keeper)


def finish_point(codec: Codec, dataset: Dataset, task_model: TaskModel, parts: Sequence[Measured], *,
                 refs: dict[str, Any], identity: dict[str, Any], out_path: Path, device: str, seed: int,
                 bitstreams: BitstreamFolder | None = None) -> ResultRecord:
    """Judge the measured samples (all of them, merged in order) and write the point's files.

    Whatever the parts were measured on (one process, or shards on many workers), the merge is
    exact: counts and byte totals add, per-sample rows concatenate, and the task model's
    dataset-level scores (COCO mAP) are computed on the merged predictions, never averaged.
    """
    n = len(dataset)
    try:
        merged = merge_measured(parts, n)
        predictions = collect_predictions(task_model, merged.predictions)
        correct = np.asarray(task_model.correct(dataset, predictions), dtype=bool).reshape(-1)
        if correct.shape != (n,):
            raise CodecFailure(f"the task model judged {correct.size} samples of {n}")
        scores = {k: float(v) for k, v in task_model.scores(dataset, predictions).items()}
        shown = np.asarray(task_model.prediction_labels(predictions), dtype=np.int64).reshape(-1)
    except CodecFailure as exc:
        if bitstreams is not None:
            bitstreams.discard()
        record = failed_record(codec, exc, **refs, identity=identity, device=device, seed=seed)
        write_record(out_path, record)
        return record
    samples_path = out_path.with_suffix(".samples.csv")
    digest = _write_samples(samples_path, dataset.ids(), merged.sample_bits, dataset.labels(), shown, correct,
                            header=sample_header(task_model))
    bits_total = sum(merged.stream_bits)
    kept = None
    if bitstreams is not None:
        kept = bitstreams.finish(out_path.parent, bits_total)
    estimated = None if merged.estimates is None else _fold(merged.estimates)
    info = dataset.info
    metrics = Metrics(
        accuracy=float(correct.mean()), correct=int(correct.sum()), samples=n,
        bits_total=bits_total, bits_per_sample=bits_total / n, blocks=len(merged.stream_bits),
        encode_seconds=merged.encode_seconds, decode_seconds=merged.decode_seconds,
        bits_per_pixel=bits_total / n / info.pixels_per_sample if info.pixels_per_sample else None,
        bits_per_point=bits_total / n / info.points_per_sample if info.points_per_sample else None,
        estimated_bits_per_sample=None if estimated is None else estimated / n,
        accuracy_interval=list(clopper_pearson(int(correct.sum()), n)),
        scores=scores,
    )
    record = ResultRecord(
        **refs, codec=codec_ref(codec, identity), provenance=Provenance.collect(device, seed),
        metrics=metrics, samples_file=samples_path.name, samples_sha256=digest, bitstreams=kept,
    )
    write_record(out_path, record)
    return record


def merge_measured(parts: Sequence[Measured], n: int) -> Measured:
    """The parts joined in sample order; they must tile ``0..n-1`` exactly (no gap, no overlap)."""
    ordered = sorted(parts, key=lambda p: p.start)
    merged = Measured(0, 0)
    for part in ordered:
        if part.start != merged.stop:
            raise CodecFailure(f"measured parts do not tile the split: a part starts at {part.start}, "
                               f"expected {merged.stop}")
        merged.stop = part.stop
        merged.sample_bits.extend(part.sample_bits)
        merged.stream_bits.extend(part.stream_bits)
        merged.predictions.extend(part.predictions)
        merged.estimates = None if merged.estimates is None or part.estimates is None \
            else [*merged.estimates, *part.estimates]
        merged.encode_seconds += part.encode_seconds
        merged.decode_seconds += part.decode_seconds
    if merged.stop != n or len(merged.sample_bits) != n:
        raise CodecFailure(f"measured {len(merged.sample_bits)} samples of {n}")
    return merged


def _fold(values: Sequence[float]) -> float:
    """Left-to-right float sum (not ``sum``'s compensated one): the same total however it was split."""
    total = 0.0
    for v in values:
        total += v
    return total


def failed_record(codec: Codec, exc: BaseException, *, suite: str, dataset: Any, task_model: Any,
                  identity: dict[str, Any] | None = None, device: str = "cpu", seed: int = 0) -> ResultRecord:
    """The record of a point that could not be measured: what failed, in the codec's own words."""
    return ResultRecord(
        suite=suite, dataset=dataset, task_model=task_model, codec=codec_ref(codec, identity, prepared=False),
        provenance=Provenance.collect(device, seed), status="failed",
        error=f"{type(exc).__name__}: {exc}"[:2000],
    )


LABEL_HEADER = ("id", "bits", "label", "prediction", "correct")
# Detection: the annotated objects of the image, the objects of its predicted configuration, and
# whether that configuration is exactly the annotated one (the task model's "correct").
DETECTION_HEADER = ("id", "bits", "objects", "detections", "correct")


def sample_header(task_model: TaskModel) -> tuple[str, ...]:
    """The per-sample file's columns for this task model's kind of output."""
    return DETECTION_HEADER if task_model.output == "detections" else LABEL_HEADER


def _write_samples(path: Path, ids: Sequence[str], bits: list[int | None], labels: np.ndarray,
                   predictions: np.ndarray, correct: np.ndarray,
                   header: Sequence[str] = LABEL_HEADER) -> str:
    """Write the per-sample rows; return the sha256 of the file's bytes (kept in the record)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(list(header))
    for row in zip(ids, bits, labels.tolist(), predictions.tolist(), correct.astype(int).tolist(),
                   strict=True):
        writer.writerow(["" if v is None else v for v in row])
    text = buf.getvalue()
    write_text_atomic(path, text)  # UTF-8, newlines untranslated: these are exactly the bytes on disk
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _describe(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())
