"""Checkpoints named by what produced them, so a run can never evaluate the wrong weights.

A checkpoint's file name carries a hash of its full training configuration (codec family,
parameters, beta, training data fingerprint, task model or teacher, seed, code version).
The file holds ``{"format", "config", "state", "summary"}`` written by ``torch.save`` and read
back with ``torch.load(weights_only=True)``: tensors and plain values only, no pickled code.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from vcmbench.errors import DataError

FORMAT = "vcmbench.learned-checkpoint/1"
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "data"  # package data: data/* in pyproject


def config_hash(config: dict[str, Any]) -> str:
    """A short, stable digest of a JSON-able configuration."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def checkpoint_name(config: dict[str, Any]) -> str:
    return f"{config['codec']}-{config_hash(config)}.pt"


def cache_folder(cache_dir: Path) -> Path:
    return Path(cache_dir) / "learned"


def find_checkpoint(config: dict[str, Any], cache_dir: Path) -> Path | None:
    """The checkpoint for ``config``: the user's cache first, then the ones shipped with vcmbench."""
    name = checkpoint_name(config)
    for folder in (cache_folder(cache_dir), SHIPPED_DIR):
        if (folder / name).is_file():
            return folder / name
    return None


def save_checkpoint(path: Path, config: dict[str, Any], state: dict[str, Any],
                    summary: dict[str, Any] | None = None) -> Path:
    """Write atomically (temp file + rename): an interrupted save never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "config": config, "state": state, "summary": dict(summary or {})}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: Path, expected_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read a checkpoint; DataError naming the file if it is unreadable or for another config."""
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
