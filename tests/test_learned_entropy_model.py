"""The EntropyBottleneck bitstreams: exact round trips, counted headers, block savings, damage detection."""

from __future__ import annotations

import math
import zlib

import pytest
import torch
from compressai.entropy_models import EntropyBottleneck

from vcmbench.codecs.learned.entropy_model import BLOCK_MAGIC, LatentCoder, coder_free_state, tighten_tails
from vcmbench.entropy.framing import write_varint
from vcmbench.errors import BitstreamError


def _latents(n: int = 64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    scales = torch.tensor([0.2, 1.0, 3.0, 0.5]).reshape(1, 4, 1, 1)
    return torch.randn(n, 4, 2, 3, generator=g) * scales + 0.3


@pytest.fixture(scope="module")
def coder() -> LatentCoder:
    torch.manual_seed(0)
    eb = EntropyBottleneck(4)
    y = _latents(256)
    opt = torch.optim.Adam(eb.parameters(), lr=1e-2)
    for _ in range(60):
        _, likelihoods = eb(y)
        loss = -torch.log2(likelihoods).sum() / len(y) + eb.loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
    tighten_tails(eb)
    return LatentCoder(eb)


def test_per_sample_round_trip_is_exact(coder: LatentCoder) -> None:
    y = _latents(16, seed=1)
    streams = coder.encode_samples(y)
    assert len(streams) == 16
    decoded = torch.stack([coder.decode_sample(s) for s in streams])
    assert torch.equal(decoded, coder.quantize(y))
    assert not torch.equal(decoded, y)  # it is lossy: the test compares against the quantised latents


def test_block_round_trip_is_exact_and_ordered(coder: LatentCoder) -> None:
    y = _latents(16, seed=2)
    decoded = coder.decode_block(coder.encode_block(y))
    assert decoded.shape == y.shape
    assert torch.equal(decoded, coder.quantize(y))


def test_stream_carries_its_shape(coder: LatentCoder) -> None:
    small = _latents(1, seed=3)[:, :, :1, :2]
    stream = coder.encode_samples(small)[0]
    assert coder.decode_sample(stream).shape == (4, 1, 2)
    assert stream[:2] == bytes([1, 2])  # the header: varint H, varint W, counted in len(stream)


def test_block_spends_fewer_bits_than_per_sample(coder: LatentCoder) -> None:
    y = _latents(32, seed=4)
    per_sample_bits = sum(8 * len(s) for s in coder.encode_samples(y))
    block_bits = 8 * len(coder.encode_block(y))
    assert block_bits < per_sample_bits
    # every per-sample stream pays at least the coder's 64-bit state flush
    assert per_sample_bits >= 32 * 64


def test_estimate_is_close_to_real_block_rate(coder: LatentCoder) -> None:
    y = _latents(128, seed=5)
    estimate = coder.estimate_bits(y)
    real = 8 * len(coder.encode_block(y))
    assert 0.8 * real < estimate < real  # the real stream adds a header and coder overhead


def test_truncated_sample_stream_is_a_bitstream_error(coder: LatentCoder) -> None:
    stream = coder.encode_samples(_latents(1, seed=6))[0]
    for cut in range(len(stream)):
        if (len(stream) - cut) % 4 == 0 and cut > 2:
            continue  # a whole-word truncation of a per-sample stream is not detectable without a checksum
        with pytest.raises(BitstreamError):
            coder.decode_sample(stream[:cut])


def test_garbage_sample_header_is_a_bitstream_error(coder: LatentCoder) -> None:
    with pytest.raises(BitstreamError):
        coder.decode_sample(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f" + bytes(8))
    with pytest.raises(BitstreamError):
        coder.decode_sample(bytes([0, 1]) + bytes(8))  # zero height


def test_any_damage_to_a_block_stream_is_detected(coder: LatentCoder) -> None:
    stream = coder.encode_block(_latents(8, seed=7))
    for i in range(len(stream)):
        damaged = bytearray(stream)
        damaged[i] ^= 0x41
        with pytest.raises(BitstreamError):
            coder.decode_block(bytes(damaged))
    for cut in range(len(stream)):
        with pytest.raises(BitstreamError):
            coder.decode_block(stream[:cut])


def test_damaged_sample_payload_never_crashes(coder: LatentCoder) -> None:
    stream = coder.encode_samples(_latents(1, seed=8))[0]
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        damaged = bytearray(stream)
        damaged[2 + int(torch.randint(len(stream) - 2, (1,), generator=g))] ^= 0xFF
        try:
            out = coder.decode_sample(bytes(damaged))
        except BitstreamError:
            continue
        assert out.shape == (4, 2, 3) and torch.isfinite(out).all()


def test_strings_too_short_for_compressai_are_refused(coder: LatentCoder) -> None:
    # compressai's encoder would write past its buffer for fewer than 8 symbols per string
    with pytest.raises(ValueError, match="at least 8 symbols"):
        coder.encode_samples(torch.zeros(3, 4, 1, 1))
    with pytest.raises(ValueError, match="at least 8 symbols"):
        coder.encode_block(torch.zeros(1, 4, 1, 1))
    assert len(coder.encode_block(torch.zeros(2, 4, 1, 1))) > 0


def test_wrong_latent_shape_is_refused(coder: LatentCoder) -> None:
    with pytest.raises(ValueError, match="N×4×H×W"):
        coder.encode_block(torch.zeros(2, 3, 1, 1))


def test_coder_free_state_drops_only_cdf_tables(coder: LatentCoder) -> None:
    kept = coder_free_state(coder.bottleneck.state_dict())
    assert "quantiles" in kept
    assert not any(k.endswith(("_offset", "_quantized_cdf", "_cdf_length")) for k in kept)


def _refuse_decompress(coder: LatentCoder, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("the decoder ran on a header the stream cannot hold")

    monkeypatch.setattr(coder.bottleneck, "decompress", boom)


def _block(n: int, h: int, w: int, payload: bytes) -> bytes:
    header = bytes([BLOCK_MAGIC]) + write_varint(n) + write_varint(h) + write_varint(w)
    return header + zlib.crc32(header + payload).to_bytes(4, "little") + payload


def test_headers_claiming_more_than_the_stream_holds_are_refused_before_decoding(
        coder: LatentCoder, monkeypatch: pytest.MonkeyPatch) -> None:
    _refuse_decompress(coder, monkeypatch)
    bomb = write_varint(4096) + write_varint(8192) + bytes(8)  # 12 bytes claiming 4096×8192 latents
    assert len(bomb) == 12
    with pytest.raises(BitstreamError, match="needs at least"):
        coder.decode_sample(bomb)
    with pytest.raises(BitstreamError, match="needs at least"):
        coder.decode_block(_block(1_000_000, 2, 3, bytes(64)))  # a valid checksum does not help
    with pytest.raises(BitstreamError, match="at most 16"):
        coder.decode_block(_block(17, 2, 3, bytes(64)), max_samples=16)


def test_the_bound_is_what_the_coder_tables_allow(coder: LatentCoder) -> None:
    """Σ_c −log2 of each channel's most likely symbol frequency, from the rANS tables themselves."""
    eb = coder.bottleneck
    expected = 0.0
    for c in range(eb.channels):
        cdf = eb._quantized_cdf[c, : eb._cdf_length[c]].double()
        expected += -math.log2(float((cdf[1:] - cdf[:-1]).max()) / 2 ** eb.entropy_coder_precision)
    assert coder.min_bits_per_position == pytest.approx(expected)
    assert coder.min_bits_per_position > 0


def test_the_most_compressible_stream_still_decodes(coder: LatentCoder) -> None:
    """Latents all at each channel's most likely symbol: the cheapest legitimate stream passes the bound."""
    eb = coder.bottleneck
    top = torch.stack([torch.diff(eb._quantized_cdf[c, : eb._cdf_length[c]]).argmax() for c in range(4)])
    values = (top + eb._offset).float() + eb._get_medians().reshape(-1)  # symbol -> latent value
    y = values.reshape(1, 4, 1, 1).expand(400, 4, 2, 3).contiguous()
    stream = coder.encode_block(y)
    positions = 400 * 2 * 3
    assert positions * coder.min_bits_per_position <= 8 * len(stream)
    assert torch.equal(coder.decode_block(stream), coder.quantize(y))


def test_a_fixed_latent_shape_refuses_other_headers(coder: LatentCoder,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = LatentCoder(coder.bottleneck, latent_hw=(2, 3))
    stream = fixed.encode_samples(_latents(1, seed=9))[0]
    assert fixed.decode_sample(stream).shape == (4, 2, 3)
    _refuse_decompress(fixed, monkeypatch)
    with pytest.raises(BitstreamError, match="this model's are 2×3"):
        fixed.decode_sample(write_varint(3) + write_varint(2) + stream[2:])
