"""On-disk cache of trained scikit-learn task models, keyed by everything that shaped them.

The key hashes the training data fingerprint, the model's name, parameters and code version
and the scikit-learn version, so a cached model is only ever reused for exactly what produced
it. The file name carries the key and the file repeats it; a file whose stored key differs, or
that cannot be unpickled, is reported with a warning and the model is trained again.

The files are pickles written by vcmbench itself into the user's cache folder (scikit-learn's
own persistence format); like any pickle, never load one from a source you do not trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import warnings
from pathlib import Path
from typing import Any

FORMAT = "vcmbench.sklearn-task-model/1"
SUBFOLDER = "tasks"


class CacheWarning(UserWarning):
    """A cached model could not be used (damaged or for another key) and is being retrained."""


def cache_key(parts: dict[str, Any]) -> str:
    """A short, stable digest of a JSON-able description of a trained model."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cache_path(cache_dir: Path, model_name: str, key: str) -> Path:
    return Path(cache_dir) / SUBFOLDER / f"{model_name}-{key}.pkl"


def load_cached(path: Path, key: str) -> Any | None:
    """The model stored at ``path`` for ``key``; None (with a CacheWarning if a file was there) otherwise."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            payload = pickle.load(fh)
    except Exception as exc:  # a damaged pickle raises almost any type
        warnings.warn(f"cached task model {path} is damaged ({type(exc).__name__}); training again",
                      CacheWarning, stacklevel=2)
        return None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "model" not in payload:
        warnings.warn(f"{path} is not a vcmbench task-model cache file; training again", CacheWarning,
                      stacklevel=2)
        return None
    if payload.get("key") != key:
        warnings.warn(f"cached task model {path} was trained for another configuration; training again",
                      CacheWarning, stacklevel=2)
        return None
    return payload["model"]


def save_cached(path: Path, key: str, model: Any, parts: dict[str, Any] | None = None) -> Path:
    """Write atomically (temp file + rename), so an interrupted run never leaves half a model."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "key": key, "parts": parts or {}, "model": model}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
