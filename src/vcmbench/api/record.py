"""The result record: one operating point of one codec on one dataset, with its provenance.

Records are JSON, carry ``schema_version``, and are written atomically (temp file + rename),
so an interrupted run never leaves half a record. Per-sample rows (id, bits where defined,
prediction, label) go to a CSV beside the record, named in ``samples_file``.
Old records stay readable: :func:`migrate` lifts any older schema to the current one.

Schema 2 adds what a referee needs to trust and reproduce a number: the training split's
fingerprint and label counts (the free operating point and the side-information rule), the task
model's content fingerprint, the codec's class, package and version and the identity of any
artifact it loaded (``codec.identity``: checkpoint hash and origin), the accuracy's confidence
interval, and the sha256 of the per-sample file.

Schema 3 adds what a comparison across tools needs: the task model's confusion matrix on
uncompressed input (the model-aware bound is computed from it), the encoder libraries a codec
wraps and their versions, the codec's complexity (parameters and MACs per pixel of encoder and
decoder), and the folder of kept bitstreams (``vcmbench run --save-bitstreams``).
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import MISSING, asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import vcmbench
from vcmbench.errors import VcmbenchError

SCHEMA_VERSION = 3
RECORD_KIND = "vcmbench.result"


@dataclass(frozen=True)
class DatasetRef:
    id: str
    split: str
    fingerprint: str
    num_classes: int
    samples: int
    prior_counts: list[int]  # label counts of the evaluated samples: the source the bound is for
    pixels_per_sample: int | None = None
    points_per_sample: int | None = None
    # The training split the task model and codecs learned from (shared free by encoder and
    # decoder). Its label counts define the free operating point: 0 bits, always guessing the
    # training split's most likely class. None: no training split was used.
    train_fingerprint: str | None = None
    train_prior_counts: list[int] | None = None


@dataclass(frozen=True)
class TaskRef:
    id: str
    version: str
    params: dict[str, Any]
    reference_accuracy: float  # the task model on uncompressed input: the accuracy ceiling
    fingerprint: str | None = None  # content hash of the fitted or loaded model (weights), if known
    metric: str = "accuracy"  # the metric this task is ranked by: "accuracy" or a key of Metrics.scores
    reference_scores: dict[str, float] = field(default_factory=dict)  # its scores on uncompressed input
    # confusion[y][k]: evaluated samples of true class y that the model, on uncompressed input,
    # assigns to class k. The model-aware (indirect) bound is computed from it. None: not a classifier.
    confusion: list[list[int]] | None = None


@dataclass(frozen=True)
class CodecRef:
    name: str
    version: str
    params: dict[str, Any]
    granularity: str  # "sample" | "block"
    decodes_to: str  # "input" | "features" | "label"
    qualname: str | None = None  # "module:Class" of the implementation
    package: str | None = None  # the installed distribution that provides it, e.g. "vcmbench"
    package_version: str | None = None
    # What the codec loaded or learned beyond its parameters, e.g.
    # {"checkpoint": {"sha256": ..., "origin": "shipped" | "trained" | "file", "name": ...}}.
    identity: dict[str, Any] = field(default_factory=dict)
    # Encoder/decoder libraries the codec wraps, name -> version, e.g. {"libheif": "1.19.5"}.
    libraries: dict[str, str] = field(default_factory=dict)
    # Complexity where measurable: "encoder_params", "decoder_params", "encoder_macs_per_pixel",
    # "decoder_macs_per_pixel" (per input pixel or point; a maintained counter, never typed in).
    complexity: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LayerMetrics:
    """One layer of a layered (scalable) bitstream, and what decoding the prefix up to it gives.

    Layers are ordered: entry i holds the bytes of layer i alone (``bits_total``) and the metrics
    obtained by decoding layers 0..i (``correct`` for the task, ``scores`` such as ``psnr``).
    The layers' bits add up to the record's ``bits_total``.
    """

    name: str
    bits_total: int
    correct: int | None = None  # samples the task gets right from this prefix, where it has a task output
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Metrics:
    accuracy: float
    correct: int
    samples: int
    bits_total: int  # 8 × bytes the decoder received, side information included
    bits_per_sample: float
    blocks: int  # bitstreams produced: samples for per-sample codecs
    encode_seconds: float
    decode_seconds: float
    bits_per_pixel: float | None = None
    bits_per_point: float | None = None
    estimated_bits_per_sample: float | None = None  # the codec's own estimate, not a rate
    # Clopper–Pearson interval of the accuracy at CONFIDENCE (vcmbench.theory.confidence).
    accuracy_interval: list[float] | None = None
    # Dataset-level metrics beyond accuracy, by name: "mAP@[.5:.95]", "mAP@.5", "psnr", "ms_ssim",
    # "cross_entropy_bits", "top5"... (TaskRef.metric names the one a suite ranks by).
    scores: dict[str, float] = field(default_factory=dict)
    layers: list[LayerMetrics] | None = None  # None: a single-layer bitstream


@dataclass(frozen=True)
class Provenance:
    vcmbench_version: str
    git_commit: str | None
    date: str
    python: str
    numpy: str
    torch: str | None
    platform: str
    device: str
    seed: int

    @classmethod
    def collect(cls, device: str, seed: int) -> Provenance:
        import numpy

        torch = sys.modules.get("torch")
        return cls(
            vcmbench_version=vcmbench.__version__,
            git_commit=_git_commit(),
            date=datetime.now(UTC).isoformat(timespec="seconds"),
            python=platform.python_version(),
            numpy=numpy.__version__,
            torch=getattr(torch, "__version__", None),
            platform=platform.platform(),
            device=device,
            seed=seed,
        )


@dataclass(frozen=True)
class ResultRecord:
    suite: str
    dataset: DatasetRef
    task_model: TaskRef
    codec: CodecRef
    provenance: Provenance
    status: str = "ok"  # "ok" | "failed"
    metrics: Metrics | None = None  # None when the point failed
    error: str | None = None
    samples_file: str | None = None
    samples_sha256: str | None = None  # sha256 of the per-sample CSV, so an edited file is caught
    # Folder (relative to the record's folder) holding every bitstream the decoder received, one
    # file per bitstream, with a manifest of names, byte counts and sha256; None when not kept.
    bitstreams: str | None = None
    schema_version: int = SCHEMA_VERSION
    kind: str = field(default=RECORD_KIND)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ResultRecord:
        """Parse (and migrate) a record; raise RecordError naming the bad field."""
        problems = validate(raw)
        if problems:
            raise RecordError(problems[0])
        raw = migrate(raw)
        return cls(
            suite=raw["suite"],
            dataset=DatasetRef(**raw["dataset"]),
            task_model=TaskRef(**raw["task_model"]),
            codec=CodecRef(**raw["codec"]),
            provenance=Provenance(**raw["provenance"]),
            status=raw["status"],
            metrics=_metrics(raw["metrics"]) if raw.get("metrics") else None,
            error=raw.get("error"),
            samples_file=raw.get("samples_file"),
            samples_sha256=raw.get("samples_sha256"),
            bitstreams=raw.get("bitstreams"),
        )


def _metrics(raw: dict[str, Any]) -> Metrics:
    layers = raw.get("layers")
    return Metrics(**{**raw, "layers": None if layers is None else [LayerMetrics(**lay) for lay in layers]})


class RecordError(VcmbenchError, ValueError):
    """A record that is malformed or inconsistent; the message names the field."""


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Lift an older record to SCHEMA_VERSION.

    Version 1 lacks the fields schema 2 added; they become None (unknown), never a guess:
    a v1 record has no free point (no training counts) and no sample-file hash to check.
    """
    version = raw.get("schema_version")
    if version == SCHEMA_VERSION:
        return raw
    if version == 2:
        # Schema 3's additions are all optional: unknown (None / empty) on a schema 2 record.
        lifted = {**raw, "schema_version": 3, "bitstreams": None}
        lifted["task_model"] = {"confusion": None, **raw["task_model"]}
        lifted["codec"] = {"libraries": {}, "complexity": {}, **raw["codec"]}
        return lifted
    if version == 1:
        lifted = {**raw, "schema_version": 2, "samples_sha256": None}
        lifted["dataset"] = {"train_fingerprint": None, "train_prior_counts": None, **raw["dataset"]}
        lifted["task_model"] = {"fingerprint": None, "metric": "accuracy", "reference_scores": {},
                                **raw["task_model"]}
        lifted["codec"] = {"qualname": None, "package": None, "package_version": None, "identity": {},
                           **raw["codec"]}
        if isinstance(raw.get("metrics"), dict):
            lifted["metrics"] = {"accuracy_interval": None, "scores": {}, "layers": None, **raw["metrics"]}
        return migrate(lifted)
    raise RecordError(f"schema_version {version!r} is not readable by vcmbench {vcmbench.__version__}")


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def validate(raw: Any) -> list[str]:
    """Every problem with a raw record, as 'field: reason' strings (empty when valid).

    Checks types and internal consistency (bits_per_sample = bits_total / samples,
    accuracy = correct / samples, 0 <= accuracy <= 1, prior counts sum to the samples), so
    that a published number can be recomputed from the record rather than taken on trust.
    """
    if not isinstance(raw, dict):
        return ["record: not a JSON object"]
    if raw.get("kind", RECORD_KIND) != RECORD_KIND:
        return [f"kind: expected {RECORD_KIND!r}, got {raw.get('kind')!r}"]
    if not isinstance(raw.get("schema_version"), int):
        return ["schema_version: missing or not an integer"]
    if raw["schema_version"] > SCHEMA_VERSION:
        return [f"schema_version: {raw['schema_version']} is newer than this vcmbench reads"]
    problems: list[str] = []
    for section, cls in (("dataset", DatasetRef), ("task_model", TaskRef), ("codec", CodecRef),
                         ("provenance", Provenance)):
        value = raw.get(section)
        if not isinstance(value, dict):
            problems.append(f"{section}: missing or not an object")
            continue
        for name, f in cls.__dataclass_fields__.items():
            if name not in value and f.default is MISSING and f.default_factory is MISSING:
                problems.append(f"{section}.{name}: missing")
    if not isinstance(raw.get("suite"), str) or not raw.get("suite"):
        problems.append("suite: missing or not a string")
    if raw.get("status") not in ("ok", "failed"):
        problems.append(f"status: expected 'ok' or 'failed', got {raw.get('status')!r}")
    if problems:
        return problems
    ds = raw["dataset"]
    if not isinstance(ds["num_classes"], int) or ds["num_classes"] < 2:
        problems.append("dataset.num_classes: must be an integer >= 2")
    counts = ds["prior_counts"]
    if (not isinstance(counts, list) or len(counts) != ds.get("num_classes")
            or not all(isinstance(c, int) and c >= 0 for c in counts) or sum(counts) == 0):
        problems.append("dataset.prior_counts: must be num_classes non-negative integers, not all zero")
    elif sum(counts) != ds["samples"]:
        problems.append(f"dataset.prior_counts: sum {sum(counts)} != dataset.samples {ds['samples']}")
    train_counts = ds.get("train_prior_counts")
    if train_counts is not None and (
            not isinstance(train_counts, list) or len(train_counts) != ds.get("num_classes")
            or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in train_counts)
            or sum(train_counts) == 0):
        problems.append("dataset.train_prior_counts: must be num_classes non-negative integers, not all zero")
    identity = raw["codec"].get("identity", {})
    if not isinstance(identity, dict):
        problems.append("codec.identity: must be an object")
    metric = raw["task_model"].get("metric", "accuracy")
    if not isinstance(metric, str) or not metric:
        problems.append("task_model.metric: must be a metric name")
    ref = raw["task_model"].get("reference_accuracy")
    if not _is_number(ref) or not 0 <= ref <= 1:
        problems.append("task_model.reference_accuracy: must be a number in [0, 1]")
    elif raw["task_model"].get("confusion") is not None:
        problems += _validate_confusion(raw["task_model"]["confusion"], ds, ref)
    for key in ("libraries", "complexity"):
        value = raw["codec"].get(key, {})
        kinds = str if key == "libraries" else (int, float)
        if not isinstance(value, dict) or not all(
                isinstance(v, kinds) and not isinstance(v, bool) for v in value.values()):
            what = "versions" if key == "libraries" else "numbers"
            problems.append(f"codec.{key}: must map names to {what}")
    if raw["status"] == "ok":
        problems += _validate_metrics(raw.get("metrics"), ds)
    return problems


def _validate_confusion(confusion: Any, ds: dict[str, Any], reference_accuracy: float) -> list[str]:
    """The confusion matrix must be counts over the evaluated samples, agreeing with the prior and
    the reference accuracy (both are derived from the same predictions)."""
    k = ds.get("num_classes")
    if (not isinstance(confusion, list) or len(confusion) != k
            or not all(isinstance(row, list) and len(row) == k for row in confusion)
            or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0
                       for row in confusion for c in row)):
        return ["task_model.confusion: must be num_classes rows of num_classes non-negative integers"]
    if [sum(row) for row in confusion] != ds.get("prior_counts"):
        return ["task_model.confusion: row sums differ from dataset.prior_counts"]
    samples = sum(sum(row) for row in confusion)
    diagonal = sum(confusion[i][i] for i in range(k))
    if samples and abs(diagonal / samples - reference_accuracy) > 1e-9:
        return [f"task_model.confusion: diagonal {diagonal}/{samples} != "
                f"reference_accuracy {reference_accuracy}"]
    return []


def _validate_metrics(m: Any, ds: dict[str, Any]) -> list[str]:
    if not isinstance(m, dict):
        return ["metrics: missing on a record with status 'ok'"]
    missing = [n for n, f in Metrics.__dataclass_fields__.items()
               if n not in m and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        return [f"metrics.{n}: missing" for n in missing]
    problems = []
    for key in ("accuracy", "bits_per_sample", "encode_seconds", "decode_seconds"):
        if not _is_number(m[key]) or m[key] < 0:
            problems.append(f"metrics.{key}: must be a finite non-negative number")
    for key in ("correct", "samples", "bits_total", "blocks"):
        if not isinstance(m[key], int) or isinstance(m[key], bool) or m[key] < 0:
            problems.append(f"metrics.{key}: must be a non-negative integer")
    if problems:
        return problems
    if m["samples"] != ds["samples"]:
        problems.append(f"metrics.samples: {m['samples']} != dataset.samples {ds['samples']}")
    if m["samples"] == 0:
        return [*problems, "metrics.samples: zero samples"]
    if m["accuracy"] > 1:
        problems.append("metrics.accuracy: above 1")
    if abs(m["accuracy"] - m["correct"] / m["samples"]) > 1e-9:
        problems.append("metrics.accuracy: != correct / samples")
    if abs(m["bits_per_sample"] - m["bits_total"] / m["samples"]) > 1e-9 * max(1, m["bits_per_sample"]):
        problems.append("metrics.bits_per_sample: != bits_total / samples")
    if m["bits_total"] % 8:
        problems.append("metrics.bits_total: not a whole number of bytes")
    interval = m.get("accuracy_interval")
    if interval is not None:
        problems += _validate_interval(interval, m["correct"], m["samples"])
    scores = m.get("scores", {})
    if not isinstance(scores, dict) or not all(_is_number(v) for v in scores.values()):
        problems.append("metrics.scores: must map names to finite numbers")
    if m.get("layers") is not None:
        problems += _validate_layers(m["layers"], m["bits_total"], m["samples"])
    return problems


def _validate_layers(layers: Any, bits_total: int, samples: int) -> list[str]:
    """Layer rates must add up to the record's rate; every prefix's counts must be possible."""
    fields = set(LayerMetrics.__dataclass_fields__)
    if not isinstance(layers, list) or not layers or not all(
            isinstance(lay, dict) and {"name", "bits_total"} <= set(lay) <= fields for lay in layers):
        return ["metrics.layers: must be a non-empty list of {name, bits_total, correct, scores}"]
    problems = []
    for i, lay in enumerate(layers):
        bits = lay["bits_total"]
        if not isinstance(bits, int) or isinstance(bits, bool) or bits < 0 or bits % 8:
            problems.append(f"metrics.layers[{i}].bits_total: must be a non-negative whole number of bytes")
        correct = lay.get("correct")
        if correct is not None and (not isinstance(correct, int) or not 0 <= correct <= samples):
            problems.append(f"metrics.layers[{i}].correct: must be an integer in 0..samples")
        scores = lay.get("scores", {})
        if not isinstance(scores, dict) or not all(_is_number(v) for v in scores.values()):
            problems.append(f"metrics.layers[{i}].scores: must map names to finite numbers")
    if not problems and sum(lay["bits_total"] for lay in layers) != bits_total:
        problems.append(f"metrics.layers: layer bits add up to {sum(lay['bits_total'] for lay in layers)}, "
                        f"not bits_total {bits_total}")
    return problems


def _validate_interval(interval: Any, correct: int, samples: int) -> list[str]:
    """The stored interval must be the one recomputed from correct/samples (it is derived data)."""
    from vcmbench.theory.confidence import clopper_pearson

    if (not isinstance(interval, list) or len(interval) != 2 or not all(_is_number(v) for v in interval)
            or correct > samples):
        return ["metrics.accuracy_interval: must be [low, high]"]
    low, high = clopper_pearson(correct, samples)
    if abs(interval[0] - low) > 1e-9 or abs(interval[1] - high) > 1e-9:
        return [f"metrics.accuracy_interval: {interval} is not the Clopper–Pearson interval of "
                f"{correct}/{samples} ({low:.6f}, {high:.6f})"]
    return []


def write_text_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see either the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; published files must be readable
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process umask (read by setting and restoring it; there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json_atomic(path: Path, payload: Any) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, allow_nan=False) + "\n")


def write_record(path: Path, record: ResultRecord) -> None:
    write_json_atomic(path, record.to_dict())


def read_record(path: Path) -> ResultRecord:
    """Load a record file; RecordError names the file and the field on any problem."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RecordError(f"{path}: not readable JSON ({exc})") from exc
    try:
        return ResultRecord.from_dict(raw)
    except (RecordError, TypeError) as exc:
        raise RecordError(f"{path}: {exc}") from exc


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
