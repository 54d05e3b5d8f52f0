"""Find and read result records under files and folders (shared by `report` and `publish`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vcmbench.api.record import RECORD_KIND, RecordError, ResultRecord
from vcmbench.errors import UsageError


def looks_like_record(raw: Any) -> bool:
    """In a folder, JSON that is neither marked as a record nor shaped like one is someone else's file."""
    if not isinstance(raw, dict):
        return False
    if "kind" in raw:
        return raw["kind"] == RECORD_KIND
    return "codec" in raw and "metrics" in raw


def record_files(paths: Iterable[Path]) -> list[tuple[Path, bool]]:
    """(file, named explicitly) for every path given; folders are searched recursively for *.json."""
    files = []
    for root in paths:
        root = Path(root)
        if root.is_file():
            files.append((root, True))
        elif root.is_dir():
            files += [(f, False) for f in sorted(root.rglob("*.json")) if f.is_file()]
        else:
            raise UsageError(f"{root} does not exist (no such file or folder; give record files or "
                             "folders written by `vcmbench run --out DIR`)")
    return files


def raw_records(paths: Iterable[Path]) -> list[tuple[Path, Any]]:
    """(file, parsed JSON) of every record under ``paths``, each file once.

    A file named explicitly must be readable JSON; in a folder, unreadable or foreign JSON
    (reference.json, caches) is skipped.
    """
    found = []
    seen: set[Path] = set()
    for path, explicit in record_files(paths):
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            if explicit:
                raise RecordError(f"{path}: not readable JSON ({exc})") from exc
            continue
        if explicit or looks_like_record(raw):
            found.append((path, raw))
    return found


def find_records(paths: list[Path]) -> list[ResultRecord]:
    """Every result record under these files or folders; a malformed one is an error naming the file."""
    records = []
    for path, raw in raw_records(paths):
        try:
            records.append(ResultRecord.from_dict(raw))
        except (RecordError, TypeError) as exc:
            raise RecordError(f"{path}: {exc}") from exc
    return records
