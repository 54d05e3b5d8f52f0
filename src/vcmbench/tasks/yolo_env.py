"""Import ultralytics offline, with its settings kept inside vcmbench's cache, never in the home folder.

ultralytics reads its environment once, when it is first imported: ``YOLO_OFFLINE`` (no network
calls: no hub, no update checks, no downloads of fonts or weights), ``YOLO_AUTOINSTALL`` (never
pip-install a missing package at run time) and ``YOLO_CONFIG_DIR`` (where it writes
``settings.json``; by default ``~/.config/Ultralytics``). :func:`ultralytics_offline` sets all
three before the first import, the settings folder inside the cache folder it is given, and
leaves a user's own values of them alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType

SETTINGS_SUBFOLDER = "ultralytics"


def ultralytics_offline(cache_dir: Path) -> ModuleType:
    """The ``ultralytics`` package, imported offline with its settings under ``cache_dir/ultralytics``."""
    if "ultralytics" not in sys.modules:
        settings = Path(cache_dir) / SETTINGS_SUBFOLDER
        settings.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("YOLO_CONFIG_DIR", str(settings.resolve()))
        os.environ.setdefault("YOLO_OFFLINE", "1")
        os.environ.setdefault("YOLO_AUTOINSTALL", "False")
        os.environ.setdefault("YOLO_VERBOSE", "False")
    from PIL import Image

    pil_open = Image.open
    import ultralytics

    # ultralytics replaces PIL.Image.open process-wide with a wrapper that, on an image PIL cannot
    # identify, tries to install and import a HEIF plugin: every later decode of a damaged image
    # (codecs, dataset readers) would then raise ModuleNotFoundError instead of PIL's own error.
    Image.open = pil_open
    return ultralytics
