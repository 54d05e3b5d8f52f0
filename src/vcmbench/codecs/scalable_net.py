"""Networks of the scalable MNIST codec (base for the classifier, enhancement for the pixels) and the
coder of the enhancement latent, kept apart from :mod:`vcmbench.codecs.scalable` so registering the
codecs imports neither torch nor compressai.

After de Andrade & Bajić ("Towards task-compatible compressible representations", Fig. 1, eqs. 3-4),
scaled to 28×28 digits and a CPU:

* base: analysis f_b (two strided convolutions, a linear map) → a latent vector Y_b, rounded
  (straight-through in training) and coded with a compressai ``EntropyBottleneck``; g_b (a small
  MLP) turns Ŷ_b into class logits. With the proposed reconstruction reward (β > 0) a simple
  synthesis g_a (one linear layer) reconstructs the digit from Ŷ_b during training only.
* enhancement: analysis f_e (two strided convolutions) → a 7×7 latent Y_e, coded with a compressai
  ``GaussianConditional`` whose means and scales come from Ŷ_b (the side information) through a
  small network h; g_e (two transposed convolutions) reconstructs the digit from Ŷ_e alone. The
  "standalone" variant feeds h zeros: no side information, the same capacity otherwise.

Quantisation follows the paper's section 3.4: Ŷ = round(Y − μ) + μ with straight-through gradients
in training, so the rate measured on the bytes and the decoder's input are what training saw.
The rates in training are the entropy models' likelihoods (noise-relaxed for the bottleneck).
"""

from __future__ import annotations

import math

import torch
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from torch import nn

from vcmbench.entropy.framing import frame_nhw, unframe_nhw
from vcmbench.errors import BitstreamError

SIDE = 28  # the digits' side; the enhancement latent is SIDE/4 × SIDE/4
LATENT_SIDE = SIDE // 4
ENH_MAGIC = 0xE5
SCALE_MIN, SCALE_MAX, SCALE_LEVELS = 0.11, 64.0, 48  # the GaussianConditional's table of scales
_WORD = 4


def scale_table() -> list[float]:
    """Log-spaced scales, as compressai's models build them (``get_scale_table``)."""
    return torch.exp(torch.linspace(math.log(SCALE_MIN), math.log(SCALE_MAX), SCALE_LEVELS)).tolist()


def ste_round(x: torch.Tensor) -> torch.Tensor:
    """round(x) forward, identity gradient backward."""
    return x + (torch.round(x) - x).detach()


def bits_of(likelihoods: torch.Tensor) -> torch.Tensor:
    return -torch.log2(likelihoods).sum()


class BaseNet(nn.Module):
    """f_b, the bottleneck, g_b (classifier head) and, for the proposed variant, g_a (training only)."""

    training_only = ("reconstruction.",)  # g_a: not part of the codec, so never shipped

    def __init__(self, channels: int, width: int, num_classes: int, reconstruct: bool, head: int = 32):
        super().__init__()
        self.analysis = nn.Sequential(
            nn.Conv2d(1, width, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 5, stride=2, padding=2), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * width * LATENT_SIDE * LATENT_SIDE, channels),
        )
        self.bottleneck = EntropyBottleneck(channels)
        self.head = nn.Sequential(nn.Linear(channels, head), nn.ReLU(), nn.Linear(head, num_classes))
        self.reconstruction = nn.Linear(channels, SIDE * SIDE) if reconstruct else None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Y_b (N×C×1×1), unquantised."""
        return self.analysis(x)[:, :, None, None]

    def quantise(self, y: torch.Tensor) -> torch.Tensor:
        medians = self.bottleneck._get_medians().detach().reshape(1, -1, 1, 1)
        return ste_round(y - medians) + medians

    def forward(self, x: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Training pass: (Ŷ_b, estimated bits of the batch, logits, g_a's reconstruction or None)."""
        y = self.encode(x)
        _, likelihoods = self.bottleneck(y)
        y_hat = self.quantise(y)
        flat = y_hat.flatten(1)
        recon = None
        if self.reconstruction is not None:
            recon = torch.sigmoid(self.reconstruction(flat)).view(-1, 1, SIDE, SIDE)
        return y_hat, bits_of(likelihoods), self.head(flat), recon


class EnhancementNet(nn.Module):
    """f_e, g_e and h: the base latent (or zeros, standalone) to the means and scales of Y_e."""

    def __init__(self, channels: int, width: int, base_channels: int, side_information: bool,
                 hidden: int = 8):
        super().__init__()
        self.side_information = side_information
        self.base_channels = base_channels
        self.analysis = nn.Sequential(
            nn.Conv2d(1, width, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(width, channels, 5, stride=2, padding=2),
        )
        self.synthesis = nn.Sequential(
            nn.ConvTranspose2d(channels, width, 5, stride=2, padding=2, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 5, stride=2, padding=2, output_padding=1),
        )
        self.side = nn.Sequential(
            nn.Linear(base_channels, hidden * LATENT_SIDE * LATENT_SIDE), nn.ReLU(),
            nn.Unflatten(1, (hidden, LATENT_SIDE, LATENT_SIDE)),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, 2 * channels, 3, padding=1),
        )
        self.gaussian = GaussianConditional(None)

    def parameters_from(self, base_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(means, scales) of Y_e from Ŷ_b (N×C_b×1×1); zeros replace Ŷ_b without side information."""
        side = base_hat.flatten(1)
        if not self.side_information:
            side = torch.zeros_like(side)
        means, raw = self.side(side).chunk(2, dim=1)
        return means, nn.functional.softplus(raw) + SCALE_MIN

    def reconstruct(self, y_hat: torch.Tensor) -> torch.Tensor:
        """g_e: Ŷ_e to the digit, around [0, 1] (clipped when decoded). Linear, not a sigmoid: a
        sigmoid output saturated at 0 early in training gives a blank digit and no gradient to leave
        it (measured: 3 of 8 enhancement trainings stuck there)."""
        return self.synthesis(y_hat) + 0.5

    def forward(self, x: torch.Tensor, base_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training pass: (reconstruction in [0, 1], estimated bits of Ŷ_e for the batch)."""
        means, scales = self.parameters_from(base_hat)
        y = self.analysis(x)
        y_hat = ste_round(y - means) + means
        likelihoods = self.gaussian.likelihood_lower_bound(self.gaussian._likelihood(y_hat, scales, means))
        return self.reconstruct(y_hat), bits_of(likelihoods)

    def ready(self) -> None:
        """Build the coder's CDF tables (a function of the fixed scale table only)."""
        self.gaussian.update_scale_table(scale_table(), force=True)
        self.gaussian.update()


class EnhancementCoder:
    """Ŷ_e of a block as one compressai string: ``magic, varint N, varint H, varint W, crc32, rANS words``.

    The means and scales come from the base layer, which the decoder has already decoded, so
    nothing of them travels here. Lengths and shapes are validated before compressai's decoder
    (which trusts its input) runs, and the payload is zero-padded past the furthest word a decode
    can read, as in :mod:`vcmbench.codecs.learned.entropy_model`.
    """

    MAX_SYMBOLS = 1 << 26

    def __init__(self, net: EnhancementNet):
        self.net = net
        self.channels = int(net.analysis[-1].out_channels)

    @torch.no_grad()
    def encode(self, y: torch.Tensor, means: torch.Tensor, scales: torch.Tensor) -> bytes:
        n, _, h, w = y.shape
        gc = self.net.gaussian
        indexes = scale_indexes(gc, _side_by_side(scales))
        (payload,) = gc.compress(_side_by_side(y), indexes, means=_side_by_side(means))
        return frame_nhw(ENH_MAGIC, n, h, w, payload)

    @staticmethod
    def read_header(data: bytes) -> tuple[int, int, int, bytes]:
        """(N, H, W, payload) of an enhancement layer; BitstreamError when damaged."""
        n, h, w, payload = unframe_nhw(data, ENH_MAGIC, "scalable enhancement layer", "enhancement layer")
        if len(payload) < 2 * _WORD or len(payload) % _WORD:
            raise BitstreamError(f"truncated enhancement payload ({len(payload)} bytes)")
        return n, h, w, payload

    @torch.no_grad()
    def decode(self, payload: bytes, means: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        n, c, h, w = means.shape
        if n * c * h * w > self.MAX_SYMBOLS:
            raise BitstreamError(f"enhancement layer too large ({n}×{c}×{h}×{w})")
        gc = self.net.gaussian
        indexes = scale_indexes(gc, _side_by_side(scales))
        padding = bytes(_WORD * (n * c * h * w + 16))
        flat = gc.decompress([payload + padding], indexes, means=_side_by_side(means))
        if not torch.isfinite(flat).all() or flat.abs().max() > 2.0 ** 24:
            raise BitstreamError("corrupted enhancement payload (decoded latents out of range)")
        return flat.reshape(c, n, h, w).permute(1, 0, 2, 3).contiguous()


def scale_indexes(gaussian: GaussianConditional, scales: torch.Tensor) -> torch.Tensor:
    """compressai's ``build_indexes`` (the table entry each scale is coded with) by one binary search.

    ``build_indexes`` counts, for each scale, the table entries at or above it with one pass over the
    tensor per entry (48 here): seconds per block of 1,000 digits. The index it computes is the number
    of entries of ``scale_table[:-1]`` below the scale, which :func:`torch.bucketize` gives directly.
    """
    scales = gaussian.lower_bound_scale(scales)
    table = gaussian.scale_table[:-1].to(scales)
    return torch.bucketize(scales, table, right=False).int()


def _side_by_side(t: torch.Tensor) -> torch.Tensor:
    """N×C×H×W → 1×C×(N·H)×W: one string for the block."""
    n, c, h, w = t.shape
    return t.float().cpu().permute(1, 0, 2, 3).reshape(1, c, n * h, w)
