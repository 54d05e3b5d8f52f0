"""Where learned-codec checkpoints live: the user's cache first, then the ones shipped with vcmbench.

The store itself (configuration-hash names, safe save and load) is shared with trainable task
models in :mod:`vcmbench.training.checkpoints`; this module adds the two folders a learned
codec looks in and what a record says about the file it used (:func:`checkpoint_identity`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from vcmbench.training.checkpoints import (  # noqa: F401 - the codec side's one import point
    FORMAT,
    checkpoint_name,
    config_hash,
    file_sha256,
    load_checkpoint,
    save_checkpoint,
)

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "data"  # package data: data/* in pyproject
Origin = Literal["shipped", "trained", "file"]


def cache_folder(cache_dir: Path) -> Path:
    return Path(cache_dir) / "learned"


def find_checkpoint(config: dict[str, Any], cache_dir: Path) -> Path | None:
    """The checkpoint for ``config``: the user's cache first, then the ones shipped with vcmbench."""
    name = checkpoint_name(config)
    for folder in (cache_folder(cache_dir), SHIPPED_DIR):
        if (folder / name).is_file():
            return folder / name
    return None


def origin_of(path: Path, cache_dir: Path) -> Origin:
    """shipped (inside vcmbench), trained (in the run's cache, by `vcmbench train` or `run --train`)
    or file (anywhere else: a user-named checkpoint)."""
    folder = Path(path).resolve().parent
    if folder == SHIPPED_DIR:
        return "shipped"
    if folder == cache_folder(cache_dir).resolve():
        return "trained"
    return "file"


def checkpoint_identity(path: Path, origin: Origin) -> dict[str, Any]:
    """What a record carries about a checkpoint: its bytes' hash, where it came from, its name."""
    return {"checkpoint": {"sha256": file_sha256(path), "origin": origin, "name": Path(path).name}}
