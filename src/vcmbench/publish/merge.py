"""`vcmbench publish NEW... --out BOARD --merge`: add a submitter's records to a published leaderboard.

The published board keeps its records in ``BOARD/records/`` (:mod:`vcmbench.publish.site`); a
merge reads them back, validates the new records exactly as a fresh publish would, and refuses a
new record measured on another test set than the board's: for a suite already on the board, the
record's (dataset id, test-set fingerprint) must be one the board was published from, since its
gaps are measured against that test set's bound and its hull shares that free point. A new suite
is welcome and gets a board of its own. Everything else (the same operating point twice, another
task model on the same test set) is refused by the usual consistency checks, each in one line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from vcmbench.publish.records import LoadedRecord, PublishError, load_records
from vcmbench.publish.site import RECORDS_DIR


def published_records(out_dir: Path) -> list[LoadedRecord]:
    """The records a published board was built from (PublishError if the folder holds none)."""
    folder = Path(out_dir) / RECORDS_DIR
    if not folder.is_dir() or not any(folder.rglob("*.json")):
        raise PublishError(f"--merge: {out_dir} holds no published records ({folder}/ is missing or empty); "
                           "publish the board first, or drop --merge")
    return load_records([folder])


def check_same_test_sets(existing: Sequence[LoadedRecord], new: Sequence[LoadedRecord]) -> None:
    """Refuse a new record of a published suite whose test set is not one the board was published from."""
    sets: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for item in existing:
        sets[item.record.suite].add((item.record.dataset.id, item.record.dataset.fingerprint))
    for item in new:
        r = item.record
        known = sets.get(r.suite)
        if known is None or (r.dataset.id, r.dataset.fingerprint) in known:
            continue
        published = ", ".join(f"{d} (fingerprint {f})" for d, f in sorted(known))
        raise PublishError(
            f"{item.path}: dataset {r.dataset.id} (fingerprint {r.dataset.fingerprint}) is not the test set "
            f"suite {r.suite!r} was published on: {published}; run the suite's own test set to submit"
        )


def merged_records(new_paths: Sequence[Path], out_dir: Path) -> list[LoadedRecord]:
    """The board's records plus the new ones, after the test-set check (new records validated first)."""
    existing = published_records(out_dir)
    new = load_records(new_paths)
    inside = {item.path.resolve() for item in existing}
    new = [item for item in new if item.path.resolve() not in inside]
    check_same_test_sets(existing, new)
    return [*existing, *new]
