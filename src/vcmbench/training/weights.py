"""Reading third-party weights files: shared by task models (torchvision) and codecs (CompressAI's zoo).

Weights come from disk only (nothing downloads at run time). ``torch.load`` runs with
``weights_only=True``, so a weights file can hold tensors but never code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from vcmbench.errors import DataError


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks (weights files are hundreds of MB)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_state_dict(path: Path) -> dict[str, Any]:
    """A state dict from a weights file (plain, or under 'state_dict'/'model'), tensors only."""
    import pickle

    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, ValueError) as exc:
        raise DataError(f"weights file {path} is not a readable torch state dict ({exc})") from exc
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise DataError(f"weights file {path} holds a {type(obj).__name__}, not a state dict")
    if obj and all(k.startswith("module.") for k in obj):  # saved from DataParallel
        obj = {k.removeprefix("module."): v for k, v in obj.items()}
    return obj
