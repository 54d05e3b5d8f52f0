"""On-disk cache of trained scikit-learn task models, in a format that cannot run code.

A cache folder (like a results folder) is data, and anyone who can write a file there must not be able
to make the next run execute code. So models are stored with skops (``skops.io``: a zip of a JSON
schema and ``.npy`` arrays that numpy reads with ``allow_pickle=False``), and a file is loaded only
after its schema has been checked against an explicit allow-list: the estimator classes the caller
names, plain containers, JSON scalars and numpy arrays — nothing else is ever constructed. A file
that holds anything else, is damaged, or was written for another key is ignored with a warning and
the model trained again. Pickles (``.pkl``, which older versions wrote here) are never opened.

The key hashes the training data fingerprint, the model's name, parameters and code version and the
scikit-learn version, so a cached model is only ever reused for exactly what produced it; the file
name carries the key and the file repeats it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

FORMAT = "vcmbench.sklearn-task-model/2"
SUBFOLDER = "tasks"
SUFFIX = ".skops"
MAX_BYTES = 1 << 30  # far above any pixel classifier here; a bigger file is not read at all

# (module, class, skops loader) of everything besides the estimators a cache file may contain
PLAIN_NODES = frozenset({
    ("builtins", "dict", "DictNode"),
    ("builtins", "list", "ListNode"),
    ("builtins", "tuple", "TupleNode"),
    ("builtins", "str", "JsonNode"),  # JSON scalars: str, int, float, bool, None
    ("builtins", "str", "TypeNode"),  # the type of a dict key (str)
    *(("numpy", name, "NdArrayNode") for name in (
        "ndarray", "float64", "float32", "int64", "int32", "uint8", "bool_")),
})


class CacheWarning(UserWarning):
    """A cached model could not be used (damaged, unsafe or for another key) and is being retrained."""


def cache_key(parts: dict[str, Any]) -> str:
    """A short, stable digest of a JSON-able description of a trained model."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cache_path(cache_dir: Path, model_name: str, key: str) -> Path:
    return Path(cache_dir) / SUBFOLDER / f"{model_name}-{key}{SUFFIX}"


def _nodes(node: Any) -> Iterable[tuple[Any, Any, Any]]:
    """Every (module, class, loader) triple in a skops schema."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__class__" in item or "__loader__" in item:
                yield item.get("__module__"), item.get("__class__"), item.get("__loader__")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _forbidden(data: bytes, estimator_types: Sequence[type]) -> str | None:
    """The first node type of the file outside the allow-list, or None if all are allowed."""
    allowed = PLAIN_NODES | {(t.__module__, t.__qualname__, "ObjectNode") for t in estimator_types}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
    for triple in _nodes(schema):
        if triple not in allowed:
            module, cls, loader = triple
            return f"{module}.{cls} ({loader})"
    return None


def load_cached(path: Path, key: str, estimator_types: Sequence[type]) -> dict[str, Any] | None:
    """The model stored at ``path`` for ``key``; None (with a CacheWarning if a file was there) otherwise.

    ``estimator_types`` are the only classes the file may construct besides plain data.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES} bytes")
        data = path.read_bytes()
        bad = _forbidden(data, estimator_types)
        if bad is not None:
            warnings.warn(f"cached task model {path} contains a type it may not ({bad}); ignored, training "
                          f"again", CacheWarning, stacklevel=2)
            return None
        import skops.io

        payload = skops.io.loads(data, trusted=[_type_name(t) for t in estimator_types]
                                 + sorted({f"{m}.{c}" for m, c, _ in PLAIN_NODES}))
    except Exception as exc:  # a damaged zip, schema or array raises almost any type
        warnings.warn(f"cached task model {path} is damaged ({type(exc).__name__}); training again",
                      CacheWarning, stacklevel=2)
        return None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(
            payload.get("model"), dict):
        warnings.warn(f"{path} is not a vcmbench task-model cache file; training again", CacheWarning,
                      stacklevel=2)
        return None
    if payload.get("key") != key:
        warnings.warn(f"cached task model {path} was trained for another configuration; training again",
                      CacheWarning, stacklevel=2)
        return None
    return payload["model"]


def save_cached(path: Path, key: str, model: dict[str, Any], parts: dict[str, Any] | None = None) -> Path:
    """Write atomically (temp file + rename), so an interrupted run never leaves half a model."""
    import skops.io

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "key": key, "parts": json.dumps(parts or {}, sort_keys=True, default=str),
               "model": model}
    data = skops.io.dumps(payload)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
