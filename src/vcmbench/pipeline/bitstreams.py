"""Keep every bitstream the decoder received beside its record (``vcmbench run --save-bitstreams``).

A referee can then re-decode a published point, or feed its bytes to another decoder, instead of
trusting the rate. The folder ``<point>.bitstreams/`` beside ``<point>.json`` holds one file per
bitstream (``sample-00000042.bin`` for a per-sample codec, ``block-00000000-00000999.bin`` for a
block: zero-padded, so name order is sample order) and ``manifest.json`` with each file's name,
byte count and sha256. The record names the folder (``ResultRecord.bitstreams``).

Files are written into ``<point>.bitstreams.partial/`` while the point is measured (by whichever
process measures it: shards on several workers write their own files) and the folder takes its
final name only when the record is written, after its byte total was checked against the rate:
a folder without ``.partial`` is always complete.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from vcmbench.api.record import write_text_atomic

MANIFEST = "manifest.json"
SUFFIX = ".bitstreams"
PARTIAL = ".partial"


def bitstream_folder(record_path: Path) -> Path:
    """Where the bitstreams of the record at ``record_path`` go: ``<stem>.bitstreams``."""
    return record_path.with_suffix(SUFFIX)


class BitstreamFolder:
    """Collects one point's bitstreams under ``<folder>.partial`` and publishes them with a manifest."""

    def __init__(self, folder: Path, *, fresh: bool = True):
        self.folder = Path(folder)
        self.partial = self.folder.with_name(self.folder.name + PARTIAL)
        if fresh and self.partial.exists():
            shutil.rmtree(self.partial)
        self.partial.mkdir(parents=True, exist_ok=True)

    def add(self, name: str, data: bytes) -> None:
        """Keep one bitstream (a retried shard writes the same name again with the same bytes)."""
        if "/" in name or name in ("", ".", "..", MANIFEST):
            raise ValueError(f"bad bitstream name {name!r}")
        (self.partial / name).write_bytes(data)

    def finish(self, record_dir: Path, bits_total: int) -> str:
        """Write the manifest, check the bytes against the rate, publish; return the folder's
        name relative to ``record_dir`` (what the record holds)."""
        entries = manifest_entries(self.partial)
        kept = sum(e["bytes"] for e in entries)
        if 8 * kept != bits_total:
            raise ValueError(f"kept bitstreams hold {kept} bytes but the rate counts {bits_total // 8}")
        manifest = {"files": entries, "bytes_total": kept}
        write_text_atomic(self.partial / MANIFEST, json.dumps(manifest, indent=1) + "\n")
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.partial.rename(self.folder)
        return str(self.folder.relative_to(record_dir))

    def discard(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)


def manifest_entries(folder: Path) -> list[dict[str, Any]]:
    """Name, byte count and sha256 of every bitstream file in ``folder``, in name order."""
    out = []
    for path in sorted(folder.iterdir()):
        if path.name == MANIFEST or not path.is_file():
            continue
        data = path.read_bytes()
        out.append({"name": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return out
