"""`vcmbench codecs` names the libraries each wrapping codec runs, with versions read at run time."""

from __future__ import annotations

import pytest
from PIL import features

from vcmbench.cli import main


def test_codecs_lists_library_versions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["codecs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    after = {line.split()[0]: lines[i + 1] for i, line in enumerate(lines[:-1]) if not line.startswith(" ")}
    assert f"zlib {features.version('zlib')}" in after["png"]
    assert f"libwebp {features.version('webp')}" in after["webp"]
    jpeg_library = features.version("libjpeg_turbo") or features.version("jpg")
    assert jpeg_library in after["jpeg"] and "libraries:" in after["jpeg"]
    assert "libjxl " in after["jpegxl"] and "openjpeg " in after["jpeg2000"]
    assert not after["label-fixed"].startswith(" ")  # a codec that wraps no library prints no such line
