"""Checkpoints for codecs built from several trained networks (the scalable and universal MNIST codecs).

A codec of that kind needs more than one checkpoint (a base and an enhancement; an encoder, a
decoder and the classifier that trained it). :class:`NetworkStore` finds each one where learned
codecs look (the run's cache, then the shipped ones), trains it only when the run allows it
(``CodecContext.allow_training``), saves it in float16 without the entropy coders' rebuilt tables,
loads it refusing weights of another shape, and says what a record should carry about it.

Shipped checkpoints must stay small (dozens of networks ship for one suite), so a network is stored
packed (:func:`pack`): weight tensors of :data:`INT8_MIN_SIZE` or more numbers as int8 with one
float16 scale per output row (symmetric, per-row: the usual post-training weight quantisation),
everything else in float16, all in two flat tensors with the names and shapes beside them (torch's
archive costs ~230 bytes per tensor, more than most of these tensors), and without what only
training uses (a network's ``training_only`` name prefixes, e.g. the proposed base's g_a). Encoder
and decoder load the same rounded weights, so the codec measured is the codec shipped.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from vcmbench.api.codec import CodecContext
from vcmbench.codecs.learned.checkpoints import (
    cache_folder,
    checkpoint_identity,
    checkpoint_name,
    find_checkpoint,
    load_checkpoint,
    origin_of,
    save_checkpoint,
)
from vcmbench.errors import DataError

Net = TypeVar("Net")
_REBUILT = ("_offset", "_quantized_cdf", "_cdf_length", "scale_table")  # coder tables rebuilt on load
INT8_MIN_SIZE = 256  # tensors this large (weight matrices, kernels) are stored as int8 rows
MIN_ROW = 16  # shorter rows share one scale per tensor (a scale per 3 weights costs more than it saves)
PACKED = "packed"


def weights_only(state: dict[str, Any]) -> dict[str, Any]:
    """A state dict without the entropy coders' tables (rebuilt from the weights; they change size)."""
    return {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] not in _REBUILT}


def float16(state: dict[str, Any]) -> dict[str, Any]:
    """Weights in float16 (encoder and decoder both load the same rounded weights)."""
    return {k: v.half() if v.is_floating_point() else v for k, v in weights_only(state).items()}


def pack(state: dict[str, Any], training_only: tuple[str, ...] = ()) -> dict[str, Any]:
    """A state dict as stored: flat tensors (int8 rows + their float16 scales, float16, int64), names, shapes.

    Integer tensors (a batch norm's step count) go to a third flat tensor, in int64.
    """
    import torch

    names, shapes, kinds = [], [], []
    halves: list[Any] = []
    bytes_: list[Any] = []
    longs: list[Any] = []
    for key, value in weights_only(state).items():
        if key.startswith(training_only):
            continue
        names.append(key)
        shapes.append(list(value.shape))
        if not value.is_floating_point():
            longs.append(value.detach().cpu().reshape(-1).long())
            kinds.append("int64")
            continue
        value = value.detach().float().cpu()
        if value.numel() >= INT8_MIN_SIZE and value.dim() >= 2:
            rows = value.reshape(_scale_rows(value.shape), -1)
            scale = (rows.abs().amax(1) / 127).clamp_min(1e-12).half()  # float16 may round it down: the
            # row's largest weight then clips at 127, by at most 127 · 2^-11 of a step (6 %)
            quantised = torch.round(rows / scale.float()[:, None]).clamp(-127, 127)
            bytes_.append(quantised.to(torch.int8).reshape(-1))
            halves.append(scale)
            kinds.append("int8")
        else:
            halves.append(value.reshape(-1).half())
            kinds.append("float16")
    def flat(parts: list[Any], dtype: Any) -> Any:
        return torch.cat(parts) if parts else torch.zeros(0, dtype=dtype)

    return {PACKED: {"names": names, "shapes": shapes, "kinds": kinds, "float16": flat(halves, torch.float16),
                     "int8": flat(bytes_, torch.int8), "int64": flat(longs, torch.int64)}}


def unpack(packed: dict[str, Any]) -> dict[str, Any]:
    """The float32 state dict of :func:`pack`'s output; DataError when the parts do not add up."""
    import math

    try:
        names, shapes, kinds = packed["names"], packed["shapes"], packed["kinds"]
        halves, bytes_, longs = packed["float16"].float(), packed["int8"].float(), packed["int64"]
        if not len(names) == len(shapes) == len(kinds):
            raise ValueError("names, shapes and kinds differ in length")
        state, h, b, i = {}, 0, 0, 0
        for name, shape, kind in zip(names, shapes, kinds, strict=True):
            size = math.prod(shape)
            if kind == "int8":
                rows = _scale_rows(shape)
                scale, h = halves[h:h + rows], h + rows
                values, b = bytes_[b:b + size].reshape(rows, -1) * scale[:, None], b + size
            elif kind == "float16":
                values, h = halves[h:h + size], h + size
            elif kind == "int64":
                values, i = longs[i:i + size], i + size
            else:
                raise ValueError(f"unknown kind {kind!r}")
            state[name] = values.reshape(shape).clone()
        if h != len(halves) or b != len(bytes_) or i != len(longs):
            raise ValueError("tensor sizes do not add up to the stored numbers")
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        raise DataError(f"packed weights are damaged ({exc})") from exc
    return state


def finished(history: list[dict[str, float]], what: str) -> dict[str, Any]:
    """A training's summary for its checkpoint; DataError when it ended in NaN or infinity (diverged),
    so a broken network is never saved as if trained."""
    import math

    final = history[-1] if history else {}
    if not final or not all(math.isfinite(v) for v in final.values()):
        raise DataError(f"{what}: training diverged (final losses {final}); nothing was saved")
    return {"epochs": len(history), "final": final}


class NetworkStore:
    """Find, load or (when the run allows) train the checkpoints one codec instance needs."""

    def __init__(self, ctx: CodecContext, label: str):
        self.ctx = ctx
        self.label = label

    def get(self, config: dict[str, Any], net: Net, fit: Callable[[Net], dict[str, Any]]) -> tuple[Net, Path]:
        """``net`` with the weights of ``config``'s checkpoint; ``fit(net)`` trains it first if allowed."""
        path = find_checkpoint(config, self.ctx.cache_dir)
        if path is None:
            target = cache_folder(self.ctx.cache_dir) / checkpoint_name(config)
            if not self.ctx.allow_training:
                raise DataError(f"{self.label}: no checkpoint {target.name} (looked in {target.parent} and "
                                f"among the shipped ones) for this training data and configuration; run with "
                                f"--train to train it (minutes on a CPU)")
            print(f"{self.label}: training {config['codec']} into {target}", file=sys.stderr)
            summary = fit(net)
            path = save_checkpoint(target, config, pack(net.state_dict(), _training_only(net)), summary)
        return self.load(net, path, config), path

    def load(self, net: Any, path: Path, config: dict[str, Any]) -> Any:
        payload = load_checkpoint(path, config)
        stored = payload["state"]
        state = unpack(stored[PACKED]) if isinstance(stored.get(PACKED), dict) else stored.get("model")
        if not isinstance(state, dict):
            raise DataError(f"checkpoint {path} has no model weights")
        try:
            missing, unexpected = net.load_state_dict(state, strict=False)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise DataError(f"checkpoint {path} does not fit the network: {first}") from exc
        missing = [k for k in weights_only(dict.fromkeys(missing)) if not k.startswith(_training_only(net))]
        if missing or unexpected:
            raise DataError(f"checkpoint {path} does not fit the network (missing {missing[:3]}, "
                            f"unexpected {list(unexpected)[:3]})")
        return net.float().eval()

    def identity(self, path: Path) -> dict[str, Any]:
        """``{"sha256", "origin", "name"}`` of a checkpoint file, as records carry it."""
        return checkpoint_identity(path, origin_of(path, self.ctx.cache_dir))["checkpoint"]


def _training_only(net: Any) -> tuple[str, ...]:
    """Name prefixes of the parameters a network uses in training only (never stored)."""
    return tuple(getattr(net, "training_only", ()))


def _scale_rows(shape: Any) -> int:
    """How many int8 scales a tensor of ``shape`` gets: one per output row, or one if rows are short."""
    import math

    return shape[0] if math.prod(shape) // max(1, shape[0]) >= MIN_ROW else 1
