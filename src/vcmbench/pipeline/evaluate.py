"""Evaluate one operating point: the codec's real bytes, the task's accuracy, and timings.

The decoder gets nothing but the bytes: it is a separately constructed instance of the codec
(same class, same parameters) prepared on its own, never the instance that encoded, so a codec
that smuggles state from its encoder to its decoder fails here instead of passing unnoticed.

A codec failure (an exception in prepare/encode/decode, outputs of the wrong shape or count) is
not a crash: it becomes a record with ``status = "failed"`` and the error, so a suite goes on
with its other codecs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from vcmbench.api.codec import BlockCodec, Codec, CodecContext, SampleCodec
from vcmbench.api.dataset import Dataset
from vcmbench.api.record import Metrics, Provenance, ResultRecord, write_record, write_text_atomic
from vcmbench.api.task import TaskModel
from vcmbench.pipeline.refs import codec_ref, dataset_ref, jsonable, task_ref
from vcmbench.theory.confidence import clopper_pearson

__all__ = ["CodecFailure", "batches", "evaluate_point", "jsonable", "new_decoder", "reference_accuracy"]


class CodecFailure(Exception):
    """The codec broke its contract at one operating point (recorded, not raised to the user)."""


@dataclass
class _Tally:
    """Running totals of one operating point."""

    bits_total: int = 0
    blocks: int = 0
    encode_seconds: float = 0.0
    decode_seconds: float = 0.0
    estimated_bits: float | None = 0.0


def batches(n: int, size: int) -> Iterator[list[int]]:
    for start in range(0, n, size):
        yield list(range(start, min(n, start + size)))


def reference_accuracy(task_model: TaskModel, dataset: Dataset, batch_size: int) -> float:
    """The task model on uncompressed inputs: the accuracy ceiling every result carries."""
    labels = dataset.labels()
    correct = 0
    for idx in batches(len(dataset), batch_size):
        correct += int((np.asarray(task_model.predict(dataset.inputs(idx))) == labels[idx]).sum())
    return correct / len(dataset)


def _predict(codec: Codec, task_model: TaskModel, inputs: Sequence[Any], decoded: list[Any],
             num_classes: int) -> np.ndarray:
    """Route decoded outputs by what the codec decodes to, checking the contract on the way."""
    if len(decoded) != len(inputs):
        raise CodecFailure(f"decode returned {len(decoded)} outputs for {len(inputs)} inputs")
    if codec.decodes_to == "label":
        preds = np.asarray(decoded)
        if preds.ndim != 1 or not np.issubdtype(preds.dtype, np.integer):
            raise CodecFailure("decoded labels are not a flat sequence of integers")
        if preds.size and (preds.min() < 0 or preds.max() >= num_classes):
            raise CodecFailure(f"decoded label outside 0..{num_classes - 1}")
        return preds.astype(np.int64)
    if codec.decodes_to == "input":
        for x, y in zip(inputs, decoded, strict=True):
            if np.shape(y) != np.shape(x):
                raise CodecFailure(f"decoded input has shape {np.shape(y)}, expected {np.shape(x)}")
        return np.asarray(task_model.predict(decoded), dtype=np.int64)
    if codec.decodes_to == "features":
        if codec.split is None:
            raise CodecFailure("a features codec must name its task model split point")
        return np.asarray(task_model.predict_from_features(_stack(decoded), codec.split), dtype=np.int64)
    raise CodecFailure(f"unknown decodes_to {codec.decodes_to!r}")


def _stack(items: list[Any]) -> Any:
    first = items[0]
    if type(first).__module__.startswith("torch"):
        import torch

        return torch.stack(items)
    return np.stack(items)


def _run_sample_codec(codec: SampleCodec, decoder: SampleCodec, dataset: Dataset, task_model: TaskModel,
                      batch_size: int, tally: _Tally, bits: list[int | None], preds: list[np.ndarray],
                      bar: tqdm) -> None:
    for idx in batches(len(dataset), batch_size):
        xs = dataset.inputs(idx)
        t0 = time.perf_counter()
        streams = codec.encode_batch(xs)
        t1 = time.perf_counter()
        if len(streams) != len(xs) or not all(isinstance(s, bytes | bytearray) for s in streams):
            raise CodecFailure("encode_batch must return one bytes object per input")
        decoded = decoder.decode_batch([bytes(s) for s in streams])
        t2 = time.perf_counter()
        tally.encode_seconds += t1 - t0
        tally.decode_seconds += t2 - t1
        sizes = [8 * len(s) for s in streams]
        tally.bits_total += sum(sizes)
        tally.blocks += len(streams)
        bits.extend(sizes)
        _add_estimate(codec, xs, tally)
        preds.append(_predict(codec, task_model, xs, list(decoded), dataset.info.num_classes))
        bar.update(len(idx))


def _run_block_codec(codec: BlockCodec, decoder: BlockCodec, dataset: Dataset, task_model: TaskModel,
                     batch_size: int, tally: _Tally, bits: list[int | None], preds: list[np.ndarray],
                     bar: tqdm) -> None:
    block = codec.block_size or len(dataset)
    if not isinstance(block, int) or block < 1:
        raise CodecFailure(f"block_size must be a positive integer, got {block!r}")
    for idx in batches(len(dataset), block):
        xs = dataset.inputs(idx)
        t0 = time.perf_counter()
        stream = codec.encode_block(xs)
        t1 = time.perf_counter()
        if not isinstance(stream, bytes | bytearray):
            raise CodecFailure("encode_block must return bytes")
        decoded = decoder.decode_block(bytes(stream))
        t2 = time.perf_counter()
        tally.encode_seconds += t1 - t0
        tally.decode_seconds += t2 - t1
        tally.bits_total += 8 * len(stream)
        tally.blocks += 1
        bits.extend([None] * len(idx))
        _add_estimate(codec, xs, tally)
        decoded = list(decoded)
        if len(decoded) != len(xs):
            raise CodecFailure(f"decode_block returned {len(decoded)} outputs for {len(xs)} inputs")
        for sub in batches(len(xs), batch_size):
            preds.append(_predict(codec, task_model, [xs[i] for i in sub], [decoded[i] for i in sub],
                                  dataset.info.num_classes))
        bar.update(len(idx))


def _add_estimate(codec: Codec, xs: Sequence[Any], tally: _Tally) -> None:
    if tally.estimated_bits is None:
        return
    estimate = codec.estimate_bits(xs)
    tally.estimated_bits = None if estimate is None else tally.estimated_bits + float(estimate)


def new_decoder(codec: Codec) -> Codec:
    """A second instance of the codec's class with the same parameters: the receiving side."""
    return type(codec)(**codec.params)


def evaluate_point(codec: Codec, dataset: Dataset, task_model: TaskModel, *, suite: str,
                   reference_accuracy: float, out_path: Path, codec_context: CodecContext | None = None,
                   prepared: bool = False, batch_size: int = 256, device: str = "cpu", seed: int = 0,
                   progress: bool = True) -> ResultRecord:
    """Run one operating point over the whole dataset and write its record (and per-sample CSV).

    ``codec`` encodes; a separate instance built by :func:`new_decoder` decodes. With a
    ``codec_context`` both are prepared here with it (the encoder only if not ``prepared``
    already), so a failure to get ready (a missing checkpoint) is recorded like any other codec
    fault. Without one, neither is prepared: the caller prepared the encoder, and the decoder
    must be a codec that needs no preparation. The record carries the training split of the
    context (fingerprint and label counts: the free point) and the encoder's ``identity()``.

    The per-sample CSV is written first and the record last, both atomically: a record on
    disk always has its samples beside it, and the record holds the CSV's sha256.
    """
    labels = dataset.labels()
    n = len(dataset)
    refs = {"suite": suite, "dataset": dataset_ref(dataset, codec_context),
            "task_model": task_ref(task_model, reference_accuracy)}
    identity: dict[str, Any] = {}
    tally = _Tally()
    bits: list[int | None] = []
    preds: list[np.ndarray] = []
    label = f"{codec.name} {_describe(codec.params)}".strip()
    with tqdm(total=n, desc=label, unit="sample", disable=not progress, leave=False) as bar:
        try:
            decoder = new_decoder(codec)
            if codec_context is not None:
                if not prepared:
                    codec.prepare(codec_context)
                decoder.prepare(codec_context)
            identity = codec.identity()
            if codec_context is not None and decoder.identity() != identity:
                raise CodecFailure(f"encoder and decoder prepared different artifacts: {identity} "
                                   f"and {decoder.identity()}")
            if isinstance(codec, BlockCodec) and isinstance(decoder, BlockCodec):
                _run_block_codec(codec, decoder, dataset, task_model, batch_size, tally, bits, preds, bar)
            elif isinstance(codec, SampleCodec) and isinstance(decoder, SampleCodec):
                _run_sample_codec(codec, decoder, dataset, task_model, batch_size, tally, bits, preds, bar)
            else:
                raise CodecFailure("a codec must subclass SampleCodec or BlockCodec")
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except Exception as exc:  # any codec fault is recorded; the suite goes on
            record = failed_record(codec, exc, **refs, identity=identity, device=device, seed=seed)
            write_record(out_path, record)
            return record
    predictions = np.concatenate(preds) if preds else np.zeros(0, dtype=np.int64)
    correct = predictions == labels
    samples_path = out_path.with_suffix(".samples.csv")
    digest = _write_samples(samples_path, dataset.ids(), bits, labels, predictions, correct)
    info = dataset.info
    metrics = Metrics(
        accuracy=float(correct.mean()), correct=int(correct.sum()), samples=n,
        bits_total=tally.bits_total, bits_per_sample=tally.bits_total / n, blocks=tally.blocks,
        encode_seconds=tally.encode_seconds, decode_seconds=tally.decode_seconds,
        bits_per_pixel=tally.bits_total / n / info.pixels_per_sample if info.pixels_per_sample else None,
        bits_per_point=tally.bits_total / n / info.points_per_sample if info.points_per_sample else None,
        estimated_bits_per_sample=None if tally.estimated_bits is None else tally.estimated_bits / n,
        accuracy_interval=list(clopper_pearson(int(correct.sum()), n)),
    )
    record = ResultRecord(
        **refs, codec=codec_ref(codec, identity), provenance=Provenance.collect(device, seed),
        metrics=metrics, samples_file=samples_path.name, samples_sha256=digest,
    )
    write_record(out_path, record)
    return record


def failed_record(codec: Codec, exc: BaseException, *, suite: str, dataset: Any, task_model: Any,
                  identity: dict[str, Any] | None = None, device: str = "cpu", seed: int = 0) -> ResultRecord:
    """The record of a point that could not be measured: what failed, in the codec's own words."""
    return ResultRecord(
        suite=suite, dataset=dataset, task_model=task_model, codec=codec_ref(codec, identity),
        provenance=Provenance.collect(device, seed), status="failed",
        error=f"{type(exc).__name__}: {exc}"[:2000],
    )


def _write_samples(path: Path, ids: Sequence[str], bits: list[int | None], labels: np.ndarray,
                   predictions: np.ndarray, correct: np.ndarray) -> str:
    """Write the per-sample rows; return the sha256 of the file's bytes (kept in the record)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", "bits", "label", "prediction", "correct"])
    for row in zip(ids, bits, labels.tolist(), predictions.tolist(), correct.astype(int).tolist(),
                   strict=True):
        writer.writerow(["" if v is None else v for v in row])
    text = buf.getvalue()
    write_text_atomic(path, text)  # UTF-8, newlines untranslated: these are exactly the bytes on disk
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _describe(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())
