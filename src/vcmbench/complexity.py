"""Encoder and decoder complexity of learned codecs: parameters and MACs per input pixel, counted.

CompressAI-Vision and the learned-compression literature report both sides' parameter counts and
multiply-accumulates (MACs). They are counted here with ptflops, never typed in, on the modules a
side actually runs (e.g. a hyperprior encoder runs g_a, h_a and h_s, since it needs the scales to
code y). ptflops' ``aten`` backend is used because it counts every convolution the network
executes, including the functional ones inside layers such as GDN (the module backend misses
those). MACs of a fully convolutional network grow with the number of pixels, so one count at a
reference size divided by its pixel count gives MACs per pixel.

torch and ptflops are imported inside functions: importing this module costs nothing.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class Stage:
    """One module a side runs, with the shape (no batch dimension) of the input it gets."""

    module: nn.Module
    input_shape: tuple[int, ...]


def count_macs(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """MACs of one forward pass of ``module`` on a batch of one input of ``input_shape`` (ptflops)."""
    import ptflops

    sink = io.StringIO()  # ptflops prints its own failures; they become an exception here
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        warnings.simplefilter("ignore")
        macs, _ = ptflops.get_model_complexity_info(
            module, tuple(input_shape), as_strings=False, print_per_layer_stat=False,
            backend="aten", verbose=False)
    if macs is None:
        raise RuntimeError(f"ptflops could not count {type(module).__name__}: {sink.getvalue().strip()}")
    return int(macs)


def count_params(modules: Iterable[nn.Module]) -> int:
    """Parameters of ``modules``, each tensor counted once even if two modules share it."""
    seen: dict[int, int] = {}
    for module in modules:
        for p in module.parameters():
            seen[id(p)] = p.numel()
    return sum(seen.values())


def side_complexity(stages: Sequence[Stage], held: Sequence[nn.Module] = ()) -> tuple[int, int]:
    """(MACs, parameters) of one side: its stages' MACs and the parameters of its stages and of
    ``held`` (modules whose weights it holds without a network pass, e.g. an entropy model)."""
    macs = sum(count_macs(s.module, s.input_shape) for s in stages)
    return macs, count_params([*(s.module for s in stages), *held])


def codec_complexity(encoder: Sequence[Stage], decoder: Sequence[Stage], pixels: int,
                     encoder_held: Sequence[nn.Module] = (),
                     decoder_held: Sequence[nn.Module] = ()) -> dict[str, float]:
    """The four schema keys (``encoder_params``, ``decoder_params``, ``encoder_macs_per_pixel``,
    ``decoder_macs_per_pixel``) for stages counted on an input of ``pixels`` pixels."""
    if pixels < 1:
        raise ValueError(f"pixels must be positive, got {pixels}")
    enc_macs, enc_params = side_complexity(encoder, encoder_held)
    dec_macs, dec_params = side_complexity(decoder, decoder_held)
    return {"encoder_params": float(enc_params), "decoder_params": float(dec_params),
            "encoder_macs_per_pixel": enc_macs / pixels, "decoder_macs_per_pixel": dec_macs / pixels}
