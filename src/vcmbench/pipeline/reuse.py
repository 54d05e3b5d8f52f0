"""When a record already on disk may stand for a point of this run.

A rerun must never print a number that no longer describes what it would measure. A record is
reused only when everything it depends on is what this run would write, compared field by field
on the descriptions built by :mod:`vcmbench.pipeline.refs`:

* the data: test split fingerprint and the training split's fingerprint and label counts;
* the task model: id, version, parameters, content fingerprint and uncompressed accuracy;
* the codec: name, version, parameters, class (``module:Class``), the distribution that ships
  it and its version, and ``identity()`` after prepare (the checkpoint's hash);

and its per-sample file is on disk with the sha256 the record holds. Anything else (a failed
point, a schema-1 record without a sample hash, an unreadable file) is measured again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from vcmbench.api.record import CodecRef, DatasetRef, RecordError, ResultRecord, TaskRef, read_record


def reusable(path: Path, *, suite: str, dataset: DatasetRef, task_model: TaskRef,
             codec: CodecRef) -> ResultRecord | None:
    """The record at ``path`` if it can stand for this point unchanged, else None."""
    if not path.is_file():
        return None
    try:
        record = read_record(path)
    except RecordError:
        return None
    if record.status != "ok" or not record.samples_file or not record.samples_sha256:
        return None
    if (record.suite, record.dataset, record.task_model, record.codec) != (suite, dataset, task_model, codec):
        return None
    samples = path.parent / record.samples_file
    if Path(record.samples_file).name != record.samples_file or not samples.is_file():
        return None
    return record if file_sha256(samples) == record.samples_sha256 else None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
