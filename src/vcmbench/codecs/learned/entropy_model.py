"""Real bitstreams from a compressai ``EntropyBottleneck``: per-sample strings and whole blocks.

compressai returns strings and leaves the shape to the caller; here the shape travels inside
the bitstream and is counted. Two framings:

* sample: ``varint H, varint W, rANS words`` - one stream per latent tensor (C×H×W).
* block: ``magic, varint N, varint H, varint W, crc32, rANS words`` - the latents of N samples
  laid side by side as one 1×C×(N·H)×W tensor, so the coder's fixed cost (its 64-bit state
  flush, the header) is paid once per block instead of once per sample.

compressai's C++ decoder trusts its input, so every length and shape is validated before it
runs, the payload is zero-padded past the furthest word a decode can read, and block
streams carry a CRC: a damaged stream raises BitstreamError instead of reading out of bounds.

A header cannot claim more than its stream can hold: every coded position costs at least the
self-information of the most likely symbol of each channel (read off the coder's own CDF
tables), and a legitimate payload of B bytes carries at most 8·B bits of it. A header that
claims more, or a shape other than the model's known latent shape, is refused before any
memory is allocated for it (a 12-byte stream cannot make the decoder build a 4096×8192 tensor).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from vcmbench.entropy.framing import frame_nhw, read_varint, unframe_nhw, write_varint
from vcmbench.errors import BitstreamError

if TYPE_CHECKING:  # the bottleneck arrives built; importing compressai costs seconds
    from compressai.entropy_models import EntropyBottleneck

BLOCK_MAGIC = 0xB7
_WORD = 4  # compressai's rANS coder emits 32-bit words
_MIN_PAYLOAD = 2 * _WORD  # the flushed 64-bit coder state
# compressai's encoder sizes its output buffer at one 32-bit word per symbol, and its flush alone
# writes two: strings of very few symbols overrun the buffer (heap corruption). With at least 8
# symbols (each worth at most 16 bits, a word per 32) the buffer always suffices.
MIN_SYMBOLS = 8
_MAX_SYMBOLS = 1 << 28  # refuse headers that would make the decoder allocate absurd tensors
_CODER_BUFFERS = ("_offset", "_quantized_cdf", "_cdf_length")
_SLACK_BITS = 64  # rounding of the per-symbol minimum; a legitimate stream stays far inside the bound


def min_bits_per_position(bottleneck: EntropyBottleneck) -> float:
    """The fewest bits one latent position (all channels) can cost: Σ_c −log2(max symbol frequency).

    Read from the integer CDF tables the rANS coder actually uses (the escape symbol included).
    """
    precision = int(bottleneck.entropy_coder_precision)
    total = 0.0
    for cdf, length in zip(bottleneck._quantized_cdf, bottleneck._cdf_length.tolist(), strict=True):
        top = int(torch.diff(cdf[:length]).max()) if length > 1 else 1
        total += precision - math.log2(max(top, 1))
    return total


def coder_free_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict without the CDF tables ``update()`` rebuilds (they change size, so don't load)."""
    return {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] not in _CODER_BUFFERS}


def tighten_tails(bottleneck: EntropyBottleneck) -> None:
    """Re-find the tail quantiles by bisection, keeping the medians (the quantisation grid) fixed.

    The aux loss converges slowly; exact tails make the CDF tables no wider than needed.
    """
    with torch.no_grad():
        medians = bottleneck.quantiles[:, :, 1].clone()
        bottleneck._update_quantiles()
        bottleneck.quantiles[:, :, 1] = medians


class LatentCoder:
    """Entropy-codes latents (N×C×H×W) with a trained, ``update()``-d EntropyBottleneck.

    ``latent_hw``: the per-sample latent height and width when the model fixes them (a vector
    latent is 1×1); decoders then refuse any other shape. ``max_samples`` caps a block's count.
    """

    def __init__(self, bottleneck: EntropyBottleneck, latent_hw: tuple[int, int] | None = None):
        bottleneck.eval()
        bottleneck.update(force=True)
        self.bottleneck = bottleneck
        self.channels = int(bottleneck.channels)
        self.latent_hw = latent_hw
        self.min_bits_per_position = min_bits_per_position(bottleneck)

    # -- what the decoder reproduces -------------------------------------------------------
    @torch.no_grad()
    def quantize(self, y: torch.Tensor) -> torch.Tensor:
        """The latents the decoder will see: rounded on the grid offset by the learned medians."""
        medians = self.bottleneck._get_medians().reshape(1, -1, 1, 1).to(y)
        return self.bottleneck.quantize(y, "dequantize", medians)

    @torch.no_grad()
    def estimate_bits(self, y: torch.Tensor) -> float:
        """The model's own rate estimate, -log2 of the quantised latents' likelihoods (no framing)."""
        _, likelihoods = self.bottleneck(self._check(y), training=False)
        return float(-torch.log2(likelihoods).sum())

    # -- per sample ----------------------------------------------------------------------------
    @torch.no_grad()
    def encode_samples(self, y: torch.Tensor) -> list[bytes]:
        """One self-describing stream per sample of ``y`` (N×C×H×W)."""
        y = self._check(y)
        self._check_symbol_count(y[0].numel())
        header = write_varint(y.shape[2]) + write_varint(y.shape[3])
        return [header + s for s in self.bottleneck.compress(y.float().cpu())]

    @torch.no_grad()
    def decode_sample(self, data: bytes) -> torch.Tensor:
        """One stream back to its quantised latents (C×H×W)."""
        height, pos = read_varint(data, 0)
        width, pos = read_varint(data, pos)
        payload = data[pos:]
        self._check_payload(payload)
        self._check_shape(1, height, width, payload)
        return self._decompress(payload, 1, height, width)[0]

    # -- block ---------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_block(self, y: torch.Tensor) -> bytes:
        """All samples of ``y`` (N×C×H×W) as one stream."""
        y = self._check(y)
        self._check_symbol_count(y.numel())
        n, c, h, w = y.shape
        side_by_side = y.float().cpu().permute(1, 0, 2, 3).reshape(1, c, n * h, w)
        (payload,) = self.bottleneck.compress(side_by_side)
        return frame_nhw(BLOCK_MAGIC, n, h, w, payload)

    @torch.no_grad()
    def decode_block(self, data: bytes, max_samples: int | None = None) -> torch.Tensor:
        """A block stream back to its quantised latents (N×C×H×W); at most ``max_samples`` of them."""
        n, h, w, payload = unframe_nhw(data, BLOCK_MAGIC, "learned-codec block stream", "block stream")
        if max_samples is not None and n > max_samples:
            raise BitstreamError(f"corrupted block header ({n} samples in a block of at most {max_samples})")
        self._check_payload(payload)
        self._check_shape(n, h, w, payload)
        flat = self._decompress(payload, 1, n * h, w)
        return flat.reshape(self.channels, n, h, w).permute(1, 0, 2, 3).contiguous()

    # -- checks ----------------------------------------------------------------------------------
    def _check(self, y: torch.Tensor) -> torch.Tensor:
        if y.ndim != 4 or y.shape[1] != self.channels:
            raise ValueError(f"latents must be N×{self.channels}×H×W, got {tuple(y.shape)}")
        if y.numel() and not torch.isfinite(y).all():
            raise ValueError("latents contain NaN or infinity")
        return y

    @staticmethod
    def _check_symbol_count(count: int) -> None:
        if count < MIN_SYMBOLS:
            raise ValueError(f"a compressai string needs at least {MIN_SYMBOLS} symbols (its encoder "
                             f"overruns its buffer on fewer); this one would have {count}")

    def _check_shape(self, n: int, h: int, w: int, payload: bytes) -> None:
        shape = f"{n}×{self.channels}×{h}×{w}"
        if min(n, h, w) < 1 or n * h * w * self.channels > _MAX_SYMBOLS:
            raise BitstreamError(f"corrupted stream header (shape {shape})")
        if self.latent_hw is not None and (h, w) != tuple(self.latent_hw):
            raise BitstreamError(f"corrupted stream header (latents {h}×{w}; this model's are "
                                 f"{self.latent_hw[0]}×{self.latent_hw[1]})")
        least = n * h * w * self.min_bits_per_position
        if least > 8 * len(payload) + _SLACK_BITS:
            raise BitstreamError(f"corrupted stream header: shape {shape} needs at least {least:.0f} bits, "
                                 f"the payload holds {8 * len(payload)}")

    @staticmethod
    def _check_payload(payload: bytes) -> None:
        if len(payload) < _MIN_PAYLOAD or len(payload) % _WORD:
            raise BitstreamError(f"truncated or corrupted payload ({len(payload)} bytes; the entropy "
                                 f"coder writes whole 32-bit words, at least {_MIN_PAYLOAD} bytes)")

    def _decompress(self, payload: bytes, n: int, h: int, w: int) -> torch.Tensor:
        # A decode renormalises at most once per symbol: padding that many words keeps a damaged
        # payload's reads inside the buffer.
        padding = bytes(_WORD * (n * h * w * self.channels + 16))
        out = self.bottleneck.decompress([payload + padding], (h, w))
        if not torch.isfinite(out).all() or out.abs().max() > 2.0 ** 24:
            raise BitstreamError("corrupted payload (decoded latents out of range)")
        return out


def bits_from_likelihoods(likelihoods: torch.Tensor) -> torch.Tensor:
    """Differentiable rate: total -log2 likelihood (the training-time estimate of H(Y))."""
    return -torch.log(likelihoods).sum() / math.log(2)
