"""Find and read result records under a folder."""

from __future__ import annotations

import json
from pathlib import Path

from vcmbench.api.record import RECORD_KIND, ResultRecord, read_record
from vcmbench.errors import UsageError


def find_records(paths: list[Path]) -> list[ResultRecord]:
    """Every result record in these files or folders (searched recursively), oldest layout first.

    JSON files that are not result records (reference.json, caches) are skipped; a file that
    claims to be a record but is malformed is an error naming the file.
    """
    records = []
    for root in paths:
        if not root.exists():
            raise UsageError(f"{root} does not exist")
        files = [root] if root.is_file() else sorted(root.rglob("*.json"))
        for f in files:
            try:
                kind = json.loads(f.read_text(encoding="utf-8")).get("kind")
            except (ValueError, AttributeError, OSError):
                kind = None
            if kind == RECORD_KIND or root.is_file():
                records.append(read_record(f))
    return records
