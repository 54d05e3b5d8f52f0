"""A record checked against its per-sample file: the second witness of every number it states.

The pipeline writes the per-sample CSV (id, bits, label, prediction, correct) before the record,
and schema 2 stores the file's sha256 in the record. A record whose totals were edited no longer
matches its rows; a sample file edited after the run no longer matches the hash. Checked:

* ``samples_file`` is a plain file name beside the record (never a path to elsewhere);
* ``samples_sha256``, when present, is the sha256 of the file's bytes;
* the header, one row per sample, integer labels inside [0, K), ``correct`` = (label == prediction);
* the rows add up to the record: correct count, label counts (= ``dataset.prior_counts``), and
  for codecs coded sample by sample the per-sample bits (whole bytes) sum to ``bits_total``.

A detection record's file (its task model ranks by a metric other than accuracy) has the columns
id, bits, objects (annotated objects: the label), detections (objects in the predicted
configuration) and correct (the configuration is exactly the annotated one), so a correct row
must have as many detections as objects; the rest is checked as above.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from vcmbench.api.record import RecordError, ResultRecord

HEADER = ["id", "bits", "label", "prediction", "correct"]
DETECTION_HEADER = ["id", "bits", "objects", "detections", "correct"]


def _int(text: str, where: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise RecordError(f"{where}: {text!r} is not an integer") from None


def sample_file_path(record_path: Path, record: ResultRecord) -> Path | None:
    """Where the record's per-sample file is; None when it names none. Refuses names with a folder part."""
    name = record.samples_file
    if name is None:
        if record.samples_sha256 is not None:
            raise RecordError(f"{record_path}: samples_sha256 is set but samples_file is not")
        return None
    if not name or "/" in name or "\\" in name or name in (".", "..") or Path(name).is_absolute():
        raise RecordError(f"{record_path}: samples_file {name!r} must be a file name beside the record")
    return record_path.parent / name


def check_sample_file(record_path: Path, record: ResultRecord) -> None:
    """Raise RecordError (naming the record file) unless the per-sample file agrees with the record."""
    if record.status != "ok" or record.metrics is None:
        return
    path = sample_file_path(record_path, record)
    if path is None:
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc
        raise RecordError(f"{record_path}: samples_file {path.name} is not readable ({reason})") from exc
    if record.samples_sha256 is not None and hashlib.sha256(data).hexdigest() != record.samples_sha256:
        raise RecordError(f"{record_path}: samples_sha256 does not match {path.name} (the sample file was "
                          "changed after the run)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordError(f"{record_path}: {path.name} is not UTF-8 text") from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = HEADER if record.task_model.metric == "accuracy" else DETECTION_HEADER
    if not rows or rows[0] != header:
        raise RecordError(f"{record_path}: {path.name} must start with the header {','.join(header)}")
    _check_rows(record_path, path.name, rows[1:], record, exact=header is HEADER)


def _check_rows(record_path: Path, name: str, rows: list[list[str]], record: ResultRecord,
                exact: bool = True) -> None:
    """``exact``: correct must equal (label == prediction); otherwise a correct row needs them equal."""
    m, ds = record.metrics, record.dataset
    assert m is not None
    if len(rows) != m.samples:
        raise RecordError(f"{record_path}: {name} has {len(rows)} rows for metrics.samples {m.samples}")
    counts = [0] * ds.num_classes
    correct = 0
    bits: list[int] = []
    for i, row in enumerate(rows, start=2):
        where = f"{record_path}: {name} line {i}"
        if len(row) != len(HEADER):
            raise RecordError(f"{where}: {len(row)} fields, expected {len(HEADER)}")
        label, prediction, ok = (_int(row[k], where) for k in (2, 3, 4))
        if not 0 <= label < ds.num_classes:
            raise RecordError(f"{where}: label {label} outside [0, {ds.num_classes})")
        if ok not in (0, 1) or (exact and ok != int(label == prediction)) or (ok and label != prediction):
            raise RecordError(f"{where}: correct is {ok} but label {label}, prediction {prediction}")
        counts[label] += 1
        correct += ok
        if row[1] != "":
            value = _int(row[1], where)
            if value < 0 or value % 8:
                raise RecordError(f"{where}: bits {value} is not a whole number of bytes")
            bits.append(value)
    if correct != m.correct:
        raise RecordError(f"{record_path}: metrics.correct {m.correct} but {name} has {correct} correct rows")
    if counts != list(ds.prior_counts):
        raise RecordError(f"{record_path}: dataset.prior_counts differ from the labels in {name}")
    if record.codec.granularity == "sample" and len(bits) != len(rows):
        raise RecordError(f"{record_path}: {name} lacks per-sample bits for a codec coded sample by sample")
    if bits and (len(bits) != len(rows) or sum(bits) != m.bits_total):
        raise RecordError(f"{record_path}: metrics.bits_total {m.bits_total} but the bits in {name} add up "
                          f"to {sum(bits)}")
