"""The rate-distortion-classification codecs: a fixed-rate code whose bytes are counted exactly, and one
encoder shared by every universal decoder."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conftest import OracleTask
from test_scalable import tiny_split
from vcmbench.api.codec import CodecContext
from vcmbench.codecs import universal
from vcmbench.codecs.universal_net import pack_codes, packed_size, unpack_codes
from vcmbench.errors import BitstreamError, UsageError
from vcmbench.pipeline.layered import evaluate_layered_point


@given(st.integers(1, 4), st.integers(2, 5), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_codes_pack_into_the_fewest_whole_bytes_and_back(dims: int, levels: int, count: int,
                                                         seed: int) -> None:
    codes = torch.from_numpy(np.random.default_rng(seed).integers(0, levels, size=(count, dims)))
    data = pack_codes(codes, levels)
    fewest = math.ceil(math.log2(levels ** (count * dims)) / 8 - 1e-12)  # whole bytes for count·dims digits
    assert len(data) == packed_size(count, dims, levels) == fewest
    assert torch.equal(unpack_codes(data, count, dims, levels), codes)


def test_damaged_code_blocks_are_refused() -> None:
    data = pack_codes(torch.full((5, 3), 2), 3)  # the largest value 3^15 − 1
    with pytest.raises(BitstreamError):
        unpack_codes(data[:-1], 5, 3, 3)
    with pytest.raises(BitstreamError):
        unpack_codes(b"\xff" * len(data), 5, 3, 3)  # 2^24 − 1 > 3^15 − 1


class ZeroTask(OracleTask):
    def predict(self, inputs):
        return np.zeros(len(inputs), dtype=np.int64)


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CodecContext:
    for settings in (universal.CLASSIFIER_SETTINGS, universal.AE_SETTINGS, universal.DECODER_SETTINGS):
        monkeypatch.setitem(settings, "epochs", 1)
    train = tiny_split(64)
    return CodecContext(task_model=None, train=train, num_classes=10, cache_dir=tmp_path / "cache",
                        allow_training=True, train_fingerprint=train.info.fingerprint)


def test_the_rate_is_the_packed_code_and_its_count(quick: CodecContext, tmp_path: Path) -> None:
    test = tiny_split(30, offset=100, split="test")
    record = evaluate_layered_point(universal.EndToEndRdc(lambda_c=10.0, dims=2), test, ZeroTask(), suite="t",
                                    reference_accuracy=1.0, out_path=tmp_path / "p.json", codec_context=quick)
    assert record.status == "ok", record.error
    # varint 30, then ⌈60·log2 3 / 8⌉ bytes
    assert record.metrics.bits_total == 8 * (1 + packed_size(30, 2, 3))
    assert {"mse", "psnr", "ssim"} <= set(record.metrics.scores)
    assert set(record.codec.identity) == {"checkpoint", "classifier_checkpoint"}


def test_universal_decoders_share_one_encoder(quick: CodecContext) -> None:
    """The bytes do not depend on λ_c (one encoder); what is decoded from them does."""
    digits = tiny_split(24, offset=400).inputs(range(24))
    low, high = universal.UniversalRdc(lambda_c=0.0), universal.UniversalRdc(lambda_c=30.0)
    low.prepare(quick)
    high.prepare(quick)
    assert low.identity()["encoder_checkpoint"] == high.identity()["encoder_checkpoint"]
    assert low.identity()["checkpoint"] != high.identity()["checkpoint"]
    stream = low.encode_layers(digits)
    assert high.encode_layers(digits) == stream
    decoded_low, decoded_high = low.decode_prefix(stream), high.decode_prefix(stream)
    assert any(not np.array_equal(a, b) for a, b in zip(decoded_low, decoded_high, strict=True))


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(UsageError):
        universal.EndToEndRdc(lambda_c=-1.0)
    with pytest.raises(UsageError):
        universal.UniversalRdc(dims=0)
    with pytest.raises(UsageError):
        universal.EndToEndRdc(levels=1)


def test_the_default_grid_ships_for_the_embedded_digits(tmp_path: Path) -> None:
    from vcmbench.datasets.mnist import open_embedded

    train = open_embedded("train")
    ctx = CodecContext(task_model=None, train=train, num_classes=10, cache_dir=tmp_path / "cache",
                       train_fingerprint=train.info.fingerprint)
    for cls in (universal.EndToEndRdc, universal.UniversalRdc):
        for point in cls.operating_points():
            codec = cls(**point)
            codec.prepare(ctx)
            assert {v["origin"] for v in codec.identity().values()} == {"shipped"}, codec


def test_the_shipped_files_are_exactly_those_the_default_grids_load(tmp_path: Path) -> None:
    """No stale checkpoint ships beside the ones mnist-hm uses, and every one it uses is small."""
    from vcmbench.codecs import scalable
    from vcmbench.codecs.learned.checkpoints import SHIPPED_DIR
    from vcmbench.datasets.mnist import open_embedded

    train = open_embedded("train")
    ctx = CodecContext(task_model=None, train=train, num_classes=10, cache_dir=tmp_path / "cache",
                       train_fingerprint=train.info.fingerprint)
    used: set[str] = set()
    for cls in (universal.EndToEndRdc, universal.UniversalRdc, scalable.ScalableBaseline,
                scalable.ScalableProposed, scalable.ScalableStandalone, scalable.ScalableBaseOnly):
        for point in cls.operating_points():
            codec = cls(**point)
            codec.prepare(ctx)
            used |= {v["name"] for v in codec.identity().values()}
    shipped = {p.name for pattern in ("scalable-*.pt", "rdc-*.pt") for p in SHIPPED_DIR.glob(pattern)}
    assert used == shipped
    assert sum((SHIPPED_DIR / name).stat().st_size for name in shipped) < 700_000
