"""The README's codec example must run as printed, through the real pipeline."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from vcmbench.api.codec import CODECS
from vcmbench.errors import BitstreamError

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def example_codec(monkeypatch):
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- example: codec -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README lost its codec example"
    monkeypatch.setattr(CODECS, "_entries", dict(CODECS._entries))  # registration is undone afterwards
    namespace: dict = {}
    exec(compile(match.group(1), str(README), "exec"), namespace)
    return CODECS.get("thumbnail-4bit")


@pytest.mark.parametrize("factor", [2, 4, 7])
def test_example_round_trips_with_counted_header(example_codec, factor):
    rng = np.random.default_rng(factor)
    levels = rng.integers(0, 16, size=(28 // factor, 28 // factor))
    image = np.kron(np.round(levels * 255 / 15), np.ones((factor, factor))).astype(np.uint8)
    codec = example_codec(factor=factor)
    data = codec.encode(image)
    n = (28 // factor) ** 2
    assert len(data) == 3 + (n + 1) // 2
    assert np.array_equal(codec.decode(data), image)
    with pytest.raises(BitstreamError):
        codec.decode(data[:-1])


def test_example_is_listed_and_has_a_grid(example_codec):
    assert "thumbnail-4bit" in CODECS.names()
    assert [p["factor"] for p in example_codec.operating_points()] == [2, 4, 7]
