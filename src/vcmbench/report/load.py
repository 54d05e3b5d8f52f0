"""Find and read result records under files and folders (shared by `report` and `publish`).

Which files are records is decided by name and place, never by whether they happen to parse,
so a damaged record can never pass for someone else's file and drop out of a table unseen:

* a file named on the command line is a record;
* in a folder, every ``*.json`` file below it is a record, except ``reference.json`` (the
  pipeline's cached uncompressed accuracy), anything inside a folder called ``cache``, and hidden
  files and folders (names starting with ``.``, such as temporary files of an atomic write);
* a record must be readable JSON and a valid record, and its per-sample file must agree with it
  (:mod:`vcmbench.report.samplefile`); otherwise reading stops with the file named.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vcmbench.api.record import RecordError, ResultRecord
from vcmbench.errors import UsageError
from vcmbench.report.samplefile import check_sample_file

FOREIGN_NAMES = frozenset({"reference.json"})
FOREIGN_FOLDERS = frozenset({"cache"})


@dataclass(frozen=True)
class FoundRecord:
    path: Path
    record: ResultRecord


def is_foreign(path: Path, root: Path) -> bool:
    """True for JSON in a results folder that is not a record: reference.json, cache/, hidden names."""
    parts = path.relative_to(root).parts
    return (path.name in FOREIGN_NAMES or any(p in FOREIGN_FOLDERS for p in parts[:-1])
            or any(p.startswith(".") for p in parts))


def record_files(paths: Iterable[Path]) -> list[Path]:
    """Every record file under ``paths``, each once: files as given, folders searched recursively."""
    files: list[Path] = []
    seen: set[Path] = set()
    for root in paths:
        root = Path(root)
        if root.is_file():
            found = [root]
        elif root.is_dir():
            found = [f for f in sorted(root.rglob("*.json")) if f.is_file() and not is_foreign(f, root)]
        else:
            raise UsageError(f"{root} does not exist (no such file or folder; give record files or "
                             "folders written by `vcmbench run --out DIR`)")
        for f in found:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                files.append(f)
    return files


def read_raw(path: Path) -> Any:
    """The parsed JSON of a record file; RecordError names the file when it is not readable JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RecordError(f"{path}: not readable JSON ({first}); a results folder holds other JSON only as "
                          "reference.json or inside cache/") from exc


def raw_records(paths: Iterable[Path]) -> list[tuple[Path, Any]]:
    """(file, parsed JSON) of every record file under ``paths``."""
    return [(path, read_raw(path)) for path in record_files(paths)]


def parse_found(path: Path, raw: Any) -> ResultRecord:
    """A parsed record checked against its sample file; RecordError names the file."""
    try:
        record = ResultRecord.from_dict(raw)
    except (RecordError, TypeError, AttributeError, KeyError) as exc:
        raise RecordError(f"{path}: {exc}") from exc
    check_sample_file(path, record)
    return record


def load_found(paths: Iterable[Path]) -> list[FoundRecord]:
    """Every result record under these files or folders, with its file; a bad one is an error naming it."""
    return [FoundRecord(path, parse_found(path, raw)) for path, raw in raw_records(paths)]


def find_records(paths: list[Path]) -> list[ResultRecord]:
    """Every result record under these files or folders; a malformed one is an error naming the file."""
    return [found.record for found in load_found(paths)]
