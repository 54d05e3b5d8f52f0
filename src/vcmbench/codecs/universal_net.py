"""Networks of the rate-distortion-classification experiment on MNIST (:mod:`vcmbench.codecs.universal`).

* a fixed-rate encoder: two strided convolutions and a linear map to ``dims`` numbers, each bounded
  by tanh and rounded to one of ``levels`` values (finite scalar quantisation, straight-through in
  training): exactly levels^dims cells, so the rate is dims·log2(levels) bits whatever is trained
  (3 dims × 3 levels = 4.75 bits, the rate of the universal RDC paper's MNIST figure);
* a decoder: a linear map from the code to a 7×7 feature map and two transposed convolutions up to
  the 28×28 digit in [0, 1] (a few thousand weights: the checkpoints of a dozen models ship);
* the fixed pre-trained classifier c of the classification term CE(s, c(x̂)) in training: a small
  CNN trained once on the training split (its checkpoint ships beside the codecs').

Codes of a block travel as one integer in base levels^dims (:func:`pack_codes`): ⌈N·dims·log2
levels / 8⌉ bytes for N digits, so the measured rate approaches the nominal one per block.
"""

from __future__ import annotations

import torch
from torch import nn

from vcmbench.errors import BitstreamError

SIDE = 28


class Classifier(nn.Module):
    """conv(8) → pool → conv(16) → pool → fc(32) → fc(classes)."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 7 * 7, 32), nn.ReLU(), nn.Linear(32, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class FixedRateEncoder(nn.Module):
    """x → ``dims`` integers in 0..levels−1 (finite scalar quantisation)."""

    def __init__(self, dims: int, levels: int, width: int = 8):
        super().__init__()
        self.dims, self.levels = dims, levels
        self.analysis = nn.Sequential(
            nn.Conv2d(1, width, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 5, stride=2, padding=2), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, dims),
            # Normalised before the bound: without it the pre-activations drift together into tanh's flat
            # tails within a few epochs and every digit gets the same code (measured: 1 code of 27).
            nn.BatchNorm1d(dims, affine=False),
        )

    def bounded(self, x: torch.Tensor) -> torch.Tensor:
        """The code before rounding, in [0, levels − 1]."""
        half = (self.levels - 1) / 2
        return half * torch.tanh(self.analysis(x)) + half

    def forward(self, x: torch.Tensor, noisy: bool = False) -> torch.Tensor:
        """Training: rounded code values with a straight-through gradient, N×dims floats in
        {0, ..., levels − 1}; or, ``noisy``, the bounded values plus uniform noise of one step's width
        (the usual relaxation of rounding, used first so that every cell gets digits before the hard
        rounding takes over)."""
        z = self.bounded(x)
        if noisy:
            return z + torch.rand_like(z) - 0.5
        return z + (torch.round(z) - z).detach()

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(self.bounded(x)).long().clamp(0, self.levels - 1)


class Decoder(nn.Module):
    """Code values → the digit in [0, 1]."""

    def __init__(self, dims: int, levels: int, width: int = 16):
        super().__init__()
        self.levels = levels
        self.layers = nn.Sequential(
            nn.Linear(dims, width * 7 * 7), nn.ReLU(), nn.Unflatten(1, (width, 7, 7)),
            nn.ConvTranspose2d(width, width // 2, 5, stride=2, padding=2, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(width // 2, 1, 5, stride=2, padding=2, output_padding=1),
        )

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        centred = code.float() / max(1, self.levels - 1) * 2 - 1
        return torch.sigmoid(self.layers(centred))


class FixedRateAutoencoder(nn.Module):
    def __init__(self, dims: int, levels: int):
        super().__init__()
        self.encoder = FixedRateEncoder(dims, levels)
        self.decoder = Decoder(dims, levels)

    def forward(self, x: torch.Tensor, noisy: bool = False) -> torch.Tensor:
        return self.decoder(self.encoder(x, noisy))


def packed_size(count: int, dims: int, levels: int) -> int:
    """Bytes of ``count`` codes packed as one integer in base levels^dims."""
    return ((levels ** (count * dims) - 1).bit_length() + 7) // 8


def pack_codes(codes: torch.Tensor, levels: int) -> bytes:
    """N×dims integers in 0..levels−1 as one big-endian integer Σ digit_k · levels^k."""
    count, dims = codes.shape
    value = 0
    for digit in reversed(codes.reshape(-1).tolist()):
        value = value * levels + int(digit)
    return value.to_bytes(packed_size(count, dims, levels), "big")


def unpack_codes(data: bytes, count: int, dims: int, levels: int) -> torch.Tensor:
    """The inverse of :func:`pack_codes`; BitstreamError unless the length and value fit ``count`` codes."""
    if len(data) != packed_size(count, dims, levels):
        raise BitstreamError(f"a block of {count} codes takes {packed_size(count, dims, levels)} bytes, "
                             f"got {len(data)}")
    value = int.from_bytes(data, "big")
    if value >= levels ** (count * dims):
        raise BitstreamError("corrupted code block (value out of range)")
    digits = []
    for _ in range(count * dims):
        value, digit = divmod(value, levels)
        digits.append(digit)
    return torch.tensor(digits, dtype=torch.long).reshape(count, dims)
