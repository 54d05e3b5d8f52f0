"""Layered (scalable) bitstreams: every layer's bytes counted, every prefix decoded by a separate decoder."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from conftest import OracleTask, make_toy_dataset
from vcmbench.api.codec import LayeredCodec, LayerSpec, split_layers
from vcmbench.api.record import read_record, validate
from vcmbench.entropy.framing import read_varint, write_varint
from vcmbench.errors import BitstreamError
from vcmbench.pipeline.evaluate import evaluate_point
from vcmbench.pipeline.layered import evaluate_layered_point


def quantise(x: np.ndarray, shift: int) -> np.ndarray:
    return (x >> shift).astype(np.uint8)


def reconstruct(q: np.ndarray, shift: int) -> np.ndarray:
    return ((q.astype(np.int64) << shift) + (1 << (shift - 1))).astype(np.uint8)


class ToyScalable(LayeredCodec):
    """Base: the label (read off pixel [0, 0], as a classifier would); enhancement: pixels >> shift.

    The enhancement layer does not carry pixel [0, 0]: its reconstruction takes the label from the
    base layer, so decoding it needs the base (a real dependency between layers).
    """

    name = "t-toy-scalable"
    decodes_to = "input"
    layers = (LayerSpec("base", "label"), LayerSpec("enhancement", "input"))

    def __init__(self, shift: int = 4, block_size: int | None = None):
        super().__init__(shift=shift, block_size=block_size)
        self.shift = shift

    def encode_layers(self, xs: Sequence[Any]) -> list[bytes]:
        arr = np.stack([np.asarray(x) for x in xs])
        base = write_varint(len(xs)) + bytes(int(v) for v in arr[:, 0, 0])
        shape = write_varint(arr.shape[1]) + write_varint(arr.shape[2])
        return [base, shape + quantise(arr, self.shift).tobytes()]

    def decode_prefix(self, layers: Sequence[bytes]) -> list[Any]:
        if not 1 <= len(layers) <= 2:
            raise BitstreamError(f"expected 1 or 2 layers, got {len(layers)}")
        n, pos = read_varint(layers[0], 0)
        labels = list(layers[0][pos:pos + n])
        if len(layers) == 1:
            return labels
        h, pos = read_varint(layers[1], 0)
        w, pos = read_varint(layers[1], pos)
        q = np.frombuffer(layers[1], dtype=np.uint8, offset=pos).reshape(n, h, w)
        images = reconstruct(q, self.shift)
        images[:, 0, 0] = labels
        return list(images)


class EncoderMemory(ToyScalable):
    """The enhancement decodes only with the encoder's memory: a separate decoder must fail."""

    name = "t-encoder-memory"

    def encode_layers(self, xs: Sequence[Any]) -> list[bytes]:
        self.kept = np.stack([np.asarray(x) for x in xs])
        return [b"\x00" * 8, b"\x00"]

    def decode_prefix(self, layers: Sequence[bytes]) -> list[Any]:
        return list(self.kept[:, 0, 0]) if len(layers) == 1 else list(self.kept)


class WrongLayerCount(ToyScalable):
    name = "t-wrong-layer-count"

    def encode_layers(self, xs: Sequence[Any]) -> list[bytes]:
        return super().encode_layers(xs)[:1]


def expected_psnr(dataset, shift: int) -> tuple[float, float]:
    """MSE and PSNR of the toy reconstruction, computed here independently of the harness."""
    x = np.stack(dataset.inputs(range(len(dataset)))).astype(np.float64)
    rec = reconstruct(quantise(x.astype(np.uint8), shift), shift).astype(np.float64)
    rec[:, 0, 0] = x[:, 0, 0]
    mse = float(((x - rec) ** 2).mean())
    return mse, 10 * math.log10(255**2 / mse)


@pytest.mark.parametrize("block_size", [None, 7, 1])
def test_every_prefix_decodes_and_layer_bits_add_up(tmp_path, block_size) -> None:
    data = make_toy_dataset(n=40, num_classes=4)
    codec = ToyScalable(shift=4, block_size=block_size)
    record = evaluate_layered_point(codec, data, OracleTask(), suite="t", reference_accuracy=1.0,
                                    out_path=tmp_path / "p.json", progress=False)
    assert record.status == "ok", record.error
    m = record.metrics
    blocks = math.ceil(40 / (block_size or 40))
    base_bytes = 40 + blocks * len(write_varint(block_size or 40))
    enh_bytes = 40 * 36 + blocks * 2
    assert [lay.name for lay in m.layers] == ["base", "enhancement"]
    assert [lay.bits_total for lay in m.layers] == [8 * base_bytes, 8 * enh_bytes]
    assert m.bits_total == sum(lay.bits_total for lay in m.layers) == 8 * (base_bytes + enh_bytes)
    assert m.blocks == blocks
    assert m.layers[0].correct == 40 and m.layers[0].scores == {}  # the base decodes to the labels
    mse, psnr = expected_psnr(data, 4)
    assert m.layers[1].scores["mse"] == pytest.approx(mse, rel=1e-12)
    assert m.layers[1].scores["psnr"] == pytest.approx(psnr, rel=1e-12)
    assert "ssim" not in m.layers[1].scores  # 6×6 images: smaller than the SSIM window
    # the record's point is the full stream's, and it says so: its correct is the last prefix's
    assert m.correct == m.layers[-1].correct == 40 and m.scores == m.layers[-1].scores
    raw = json.loads((tmp_path / "p.json").read_text())
    assert validate(raw) == []
    assert read_record(tmp_path / "p.json").metrics.layers[1].bits_total == 8 * enh_bytes


def test_a_coarser_enhancement_costs_less_and_distorts_more(tmp_path) -> None:
    data = make_toy_dataset(n=40, num_classes=4)
    fine = evaluate_layered_point(ToyScalable(shift=2), data, OracleTask(), suite="t", reference_accuracy=1.0,
                                  out_path=tmp_path / "a.json", progress=False).metrics
    coarse = evaluate_layered_point(ToyScalable(shift=6), data, OracleTask(), suite="t",
                                    reference_accuracy=1.0, out_path=tmp_path / "b.json",
                                    progress=False).metrics
    # same byte count here (one byte per quantised pixel), so only the distortion may differ
    assert coarse.layers[1].scores["psnr"] < fine.layers[1].scores["psnr"]
    assert coarse.layers[1].scores["psnr"] == pytest.approx(expected_psnr(data, 6)[1])


def test_decoder_is_a_separate_instance(tmp_path) -> None:
    record = evaluate_layered_point(EncoderMemory(), make_toy_dataset(), OracleTask(), suite="t",
                                    reference_accuracy=1.0, out_path=tmp_path / "p.json", progress=False)
    assert record.status == "failed" and "kept" in record.error


def test_one_bytes_object_per_declared_layer(tmp_path) -> None:
    record = evaluate_layered_point(WrongLayerCount(), make_toy_dataset(), OracleTask(), suite="t",
                                    reference_accuracy=1.0, out_path=tmp_path / "p.json", progress=False)
    assert record.status == "failed" and "one bytes object per layer" in record.error


def test_a_plain_harness_measures_the_framed_stream(tmp_path) -> None:
    """Without the layered dispatch a layered codec still runs, as one stream with counted framing."""
    data = make_toy_dataset(n=40, num_classes=4)
    layered = evaluate_layered_point(ToyScalable(), data, OracleTask(), suite="t", reference_accuracy=1.0,
                                     out_path=tmp_path / "a.json", progress=False).metrics
    plain = evaluate_point(ToyScalable(), data, OracleTask(), suite="t", reference_accuracy=1.0,
                           out_path=tmp_path / "b.json", progress=False).metrics
    framing = 1 + sum(len(write_varint(b // 8)) for b in (lay.bits_total for lay in layered.layers))
    assert plain.bits_total == layered.bits_total + 8 * framing
    assert plain.correct == layered.correct and plain.layers is None


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x02\x01a", b"\x01\x01ab", b"\x11" + b"\x00" * 17])
def test_damaged_frames_are_refused(data: bytes) -> None:
    with pytest.raises(BitstreamError):
        split_layers(data)


def test_the_full_stream_decodes_to_what_the_last_layer_declares() -> None:
    with pytest.raises(TypeError, match="decodes_to"):
        type("Bad", (ToyScalable,), {"decodes_to": "label"})


def test_kept_bitstreams_are_every_layer_and_add_up_to_the_rate(tmp_path) -> None:
    data = make_toy_dataset(n=20, num_classes=4)
    codec = ToyScalable(shift=4, block_size=8)
    record = evaluate_layered_point(codec, data, OracleTask(), suite="t", reference_accuracy=1.0,
                                    out_path=tmp_path / "p.json", progress=False,
                                    bitstreams=tmp_path / "p.bitstreams")
    assert record.status == "ok", record.error
    manifest = json.loads((tmp_path / record.bitstreams / "manifest.json").read_text())
    names = [f["name"] for f in manifest["files"]]
    assert len(names) == 3 * 2  # blocks of 8, 8 and 4 samples, two layers each
    assert 8 * manifest["bytes_total"] == record.metrics.bits_total
    base = sum(f["bytes"] for f in manifest["files"] if f["name"].endswith(".layer-0.bin"))
    assert 8 * base == record.metrics.layers[0].bits_total
    first = (tmp_path / record.bitstreams / names[0]).read_bytes()
    assert first == codec.encode_layers(data.inputs(range(8)))[0]
