"""The entropic student's network: analysis g_a, entropy bottleneck, bridge g_s and a task tail.

Kept apart from the codec classes in :mod:`vcmbench.codecs.learned.student` so that
registering the codec imports neither torch nor compressai; this module loads on first use.
"""

from __future__ import annotations

import math

import torch
from compressai.entropy_models import EntropyBottleneck
from torch import nn

from vcmbench.codecs.learned.entropy_model import MIN_SYMBOLS, bits_from_likelihoods
from vcmbench.codecs.learned.training import rate_in_float32


class StudentNet(nn.Module):
    """g_a (two strided convs, pooled), the entropy bottleneck, g_s (the bridge) and a tail.

    Two latent kinds. ``vector``: g_a outputs a C-vector, rounded on the coder's grid (one
    EntropyBottleneck channel per element). ``categorical``: g_a scores K learned codewords and
    sends the index of the best one, a single integer whose distribution the bottleneck learns;
    the decoder looks the codeword up. The categorical latent lets the rate fall to the entropy
    of the codeword usage, which for a classifier approaches the label entropy.
    """

    def __init__(self, in_channels: int, width: int, latent_channels: int, hidden: int,
                 feature_shape: tuple[int, ...], tail: nn.Module, codewords: int = 0):
        super().__init__()
        self.codewords = codewords
        self.hard_choice = False
        self.scores: torch.Tensor | None = None  # set by each categorical training pass
        self.analysis = nn.Sequential(
            nn.Conv2d(in_channels, width, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 5, stride=2, padding=2), nn.ReLU(),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(2 * width * 16, codewords or latent_channels),
        )
        # A categorical latent is one index, padded with constant channels that cost ~0 bits, because
        # compressai strings need MIN_SYMBOLS symbols (see entropy_model).
        self.bottleneck = EntropyBottleneck(MIN_SYMBOLS if codewords else latent_channels)
        self.codebook = nn.Parameter(torch.randn(codewords, latent_channels)) if codewords else None
        self.bridge = nn.Sequential(
            nn.Linear(latent_channels, hidden), nn.ReLU(),
            nn.Linear(hidden, math.prod(feature_shape)), nn.ReLU(), nn.Unflatten(1, feature_shape),
        )
        self.tail = tail

    def _medians(self) -> torch.Tensor:
        return self.bottleneck._get_medians().detach().reshape(-1)

    def _offset(self) -> torch.Tensor:
        """Where the coder's integer grid sits: codeword k is sent as the value k + offset."""
        m = self._medians()
        return m - torch.round(m)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """g_a: the latents the coder sends (N×C×1×1)."""
        z = self.analysis(x)
        if self.codewords:
            y = torch.zeros(len(z), MIN_SYMBOLS, device=z.device)
            y[:, 0] = z.argmax(1).float()
            return (y + self._offset())[:, :, None, None]
        return z[:, :, None, None]

    def synthesize(self, y_hat: torch.Tensor) -> torch.Tensor:
        """g_s: decoded latents to the bridge's features."""
        if self.codewords:
            index = torch.round(y_hat[:, 0, 0, 0] - self._offset()[0]).long().clamp(0, self.codewords - 1)
            return self.bridge(self.codebook[index])
        return self.bridge(y_hat.flatten(1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training pass: (bridge features, estimated bits for the whole batch)."""
        z = self.analysis(x)
        if self.codewords:
            return self._forward_categorical(z)
        y = z[:, :, None, None]
        with rate_in_float32(str(x.device)):
            _, likelihoods = self.bottleneck(y.float())
        m = self._medians().reshape(1, -1, 1, 1)
        y_hat = y + (torch.round(y - m) + m - y).detach()  # rounded forward, identity gradient backward
        return self.bridge(y_hat.flatten(1)), bits_from_likelihoods(likelihoods)

    def _forward_categorical(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # First trained on the soft assignment q (the expected codeword), which gives the classifier full
        # gradients (straight-through hard choices from the start collapsed the codebook); then, with
        # ``hard_choice`` set, on the hard index the decoder will see, so decoder and encoder agree.
        self.scores = z  # the codeword scores of this pass, for losses on the choice itself
        q = torch.softmax(z.float(), dim=1)
        if self.hard_choice:
            q_used = nn.functional.one_hot(q.argmax(1), self.codewords).to(q) + q - q.detach()
        else:
            q_used = q
        grid = torch.zeros(MIN_SYMBOLS, self.codewords, device=z.device)
        grid[0] = torch.arange(self.codewords, device=z.device)
        pmf, _, _ = self.bottleneck._likelihood((grid + self._offset()[:, None])[:, None, :])
        if self.bottleneck.use_likelihood_bound:
            pmf = self.bottleneck.likelihood_lower_bound(pmf)
        index_bits = -(q * torch.log2(pmf[0, 0][None])).sum()  # expected code length of the chosen index
        padding_bits = -torch.log2(pmf[1:, 0, 0]).sum() * len(z)
        bits = index_bits + padding_bits
        return self.bridge(q_used @ self.codebook), bits
