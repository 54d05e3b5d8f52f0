"""The conformance kit on layered codecs: a conforming toy passes, and each layered check fails on the toy
that breaks it. The toys live here; the kit's separate decoder imports them by this module's name.

The toy: layer 0 carries the labels (what the corner task reads off pixel [0, 0]), layer 1 the
pixels; each layer sealed with a CRC. The base decodes to labels, base + enhancement to the image.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from vcmbench.api.codec import CodecContext, LayeredCodec, LayerSpec
from vcmbench.conformance import CHECKS, check_codecs
from vcmbench.conformance.layered import frame
from vcmbench.entropy.framing import read_count, write_varint
from vcmbench.errors import BitstreamError

K = 4
SIDE = 6


def _seal(payload: bytes) -> bytes:
    return payload + zlib.crc32(payload).to_bytes(4, "big")


def _open(data: bytes) -> bytes:
    if len(data) < 4 or zlib.crc32(data[:-4]).to_bytes(4, "big") != data[-4:]:
        raise BitstreamError("damaged layer (checksum mismatch)")
    return data[:-4]


class GoodLayers(LayeredCodec):
    """Labels, then pixels: every prefix decodes, damage is refused."""

    decodes_to = "input"
    layers = (LayerSpec("base", "label"), LayerSpec("enhancement", "input"))

    def __init__(self, block_size: int | None = None):
        super().__init__(block_size=block_size)

    @classmethod
    def operating_points(cls) -> list[dict[str, Any]]:
        return [{}, {"block_size": 3}]

    def prepare(self, ctx: CodecContext) -> None:
        self.task = ctx.task_model

    def encode_layers(self, xs: Sequence[Any]) -> list[bytes]:
        labels = np.asarray(self.task.predict(xs), dtype=np.uint8)
        pixels = b"".join(np.asarray(x, dtype=np.uint8).tobytes() for x in xs)
        return [_seal(write_varint(len(xs)) + labels.tobytes()), _seal(pixels)]

    def _labels(self, data: bytes) -> list[int]:
        payload = _open(data)
        count, pos = read_count(payload)
        if len(payload) - pos != count or any(b >= K for b in payload[pos:]):
            raise BitstreamError("bad base layer")
        return list(payload[pos:])

    def decode_prefix(self, layers: Sequence[bytes]) -> list[Any]:
        if not 1 <= len(layers) <= 2:
            raise BitstreamError(f"1 or 2 layers, got {len(layers)}")
        labels = self._labels(layers[0])
        if len(layers) == 1:
            return labels
        pixels = _open(layers[1])
        if len(pixels) != len(labels) * SIDE * SIDE:
            raise BitstreamError("enhancement layer for another number of samples")
        return list(np.frombuffer(pixels, dtype=np.uint8).reshape(-1, SIDE, SIDE).copy())


class NoLayersDeclared(GoodLayers):
    layers = ()


class OneStreamTooFew(GoodLayers):
    def encode_layers(self, xs: Sequence[Any]) -> list[bytes]:
        return super().encode_layers(xs)[:1]


class FramingHidesBytes(GoodLayers):
    """Its framed stream carries a byte no layer counts: per-layer rates would not add up."""

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        return frame(self.encode_layers(xs)) + b"\x00"

    def decode_block(self, data: bytes) -> list[Any]:
        return super().decode_block(data[:-1])


class BaseOnlyFails(GoodLayers):
    """Decodes only the full stream: its base layer alone gives nothing."""

    def decode_prefix(self, layers: Sequence[bytes]) -> list[Any]:
        if len(layers) == 1:
            raise ValueError("needs the enhancement layer")
        return super().decode_prefix(layers)


class BaseLabelsOutOfRange(GoodLayers):
    def decode_prefix(self, layers: Sequence[bytes]) -> list[Any]:
        out = super().decode_prefix(layers)
        return [K + 1 for _ in out] if len(layers) == 1 else out


class BaseRemembersItsEncoder(GoodLayers):
    """Its base prefix decodes labels kept by the instance that encoded them, not from the bytes."""

    def encode_layers(self, xs: Sequence[Any]) -> list[bytes]:
        self.kept = [int(v) for v in self.task.predict(xs)]
        return super().encode_layers(xs)

    def decode_prefix(self, layers: Sequence[bytes]) -> list[Any]:
        if len(layers) == 1:
            return [(v + 1) % K for v in getattr(self, "kept", [])] or [0] * len(self._labels(layers[0]))
        return super().decode_prefix(layers)


class AcceptsAnyCount(GoodLayers):
    """Decodes three layers as two, and an empty prefix as nothing."""

    def decode_prefix(self, layers: Sequence[bytes]) -> list[Any]:
        return [] if not layers else super().decode_prefix(layers[:2])


class CrashesOnDamagedBase(GoodLayers):
    def _labels(self, data: bytes) -> list[int]:
        if len(data) < 4 or zlib.crc32(data[:-4]).to_bytes(4, "big") != data[-4:]:
            raise KeyError("damaged")
        return super()._labels(data)


BROKEN = {
    "NoLayersDeclared": "layers",
    "OneStreamTooFew": "layers",
    "FramingHidesBytes": "layer-bytes",
    "BaseOnlyFails": "prefix",
    "BaseLabelsOutOfRange": "prefix",
    "BaseRemembersItsEncoder": "prefix",
    "AcceptsAnyCount": "prefix-damage",
    "CrashesOnDamagedBase": "prefix-damage",
}


@pytest.fixture(scope="module")
def findings(tmp_path_factory) -> dict[str, set[str]]:
    names = ["GoodLayers", *BROKEN]
    found = check_codecs([f"{__name__}:{n}" for n in names], setup="conformance_toys:toy_setup",
                         cache_dir=tmp_path_factory.mktemp("layered"), time_limit=3.0, flips=8)
    by_toy: dict[str, set[str]] = {n: set() for n in names}
    for f in found:
        by_toy[f.codec.split(":")[-1].rstrip(")")].add(f.check)
    return by_toy


def test_a_conforming_layered_codec_has_no_findings(findings) -> None:
    assert findings["GoodLayers"] == set()


@pytest.mark.parametrize(("toy", "check"), BROKEN.items(), ids=list(BROKEN))
def test_each_layered_check_catches_the_codec_that_breaks_it(findings, toy, check) -> None:
    assert check in findings[toy], findings[toy]


def test_the_layered_checks_are_listed() -> None:
    assert {"layers", "layer-bytes", "prefix", "prefix-damage"} <= set(CHECKS)
