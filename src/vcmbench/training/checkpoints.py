"""Checkpoints named by what produced them, so a run can never evaluate the wrong weights.

A checkpoint's file name carries a hash of its full training configuration (model or codec
family, parameters, training data fingerprint, teacher, seed, code version). The file holds
``{"format", "config", "state", "summary"}`` written by ``torch.save`` and read back with
``torch.load(weights_only=True)``: tensors and plain values only, no pickled code runs.
Trainable task models and learned codecs both keep their weights this way.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from vcmbench.errors import DataError

FORMAT = "vcmbench.learned-checkpoint/1"


def config_hash(config: dict[str, Any]) -> str:
    """A short, stable digest of a JSON-able configuration."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def checkpoint_name(config: dict[str, Any]) -> str:
    """``<codec>-<config hash>.pt``: the name says what trained it."""
    return f"{config['codec']}-{config_hash(config)}.pt"


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file's bytes: a checkpoint's identity in records."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_checkpoint(path: Path, config: dict[str, Any], state: dict[str, Any],
                    summary: dict[str, Any] | None = None) -> Path:
    """Write atomically (temp file + rename): an interrupted save never leaves half a file.

    The bytes depend only on the payload (torch names the archive after the file it writes to,
    so it writes to a buffer first): the same weights always give the same file hash.
    """
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "config": config, "state": state, "summary": dict(summary or {})}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buffer.getvalue())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a checkpoint is as shareable as any file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load_checkpoint(path: Path, expected_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read a checkpoint; DataError naming the file if it is unreadable or for another config."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for damaged zips and pickles
        raise DataError(f"checkpoint {path} is corrupted or not a vcmbench checkpoint "
                        f"({type(exc).__name__}); delete it and train again") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(
            payload.get("config"), dict) or not isinstance(payload.get("state"), dict):
        raise DataError(f"checkpoint {path} is not a vcmbench learned-codec checkpoint ({FORMAT})")
    if expected_config is not None and payload["config"] != expected_config:
        found, wanted = payload["config"], expected_config
        diff = sorted(k for k in set(found) | set(wanted) if found.get(k) != wanted.get(k))
        raise DataError(f"checkpoint {path} was trained for another configuration "
                        f"(codec {found.get('codec')!r}; differs in: {', '.join(diff)})")
    return payload
