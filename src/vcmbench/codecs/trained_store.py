"""Checkpoints for codecs built from several trained networks (the scalable and universal MNIST codecs).

A codec of that kind needs more than one checkpoint (a base and an enhancement; an encoder, a
decoder and the classifier that trained it). :class:`NetworkStore` finds each one where learned
codecs look (the run's cache, then the shipped ones), trains it only when the run allows it
(``CodecContext.allow_training``), saves it in float16 without the entropy coders' rebuilt tables,
loads it refusing weights of another shape, and says what a record should carry about it.
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


def weights_only(state: dict[str, Any]) -> dict[str, Any]:
    """A state dict without the entropy coders' tables (rebuilt from the weights; they change size)."""
    return {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] not in _REBUILT}


def float16(state: dict[str, Any]) -> dict[str, Any]:
    """Weights as stored: float16 (encoder and decoder both load the same rounded weights)."""
    return {k: v.half() if v.is_floating_point() else v for k, v in weights_only(state).items()}


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
            path = save_checkpoint(target, config, {"model": float16(net.state_dict())}, summary)
        return self.load(net, path, config), path

    def load(self, net: Any, path: Path, config: dict[str, Any]) -> Any:
        payload = load_checkpoint(path, config)
        state = payload["state"].get("model")
        if not isinstance(state, dict):
            raise DataError(f"checkpoint {path} has no model weights")
        try:
            missing, unexpected = net.load_state_dict(state, strict=False)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise DataError(f"checkpoint {path} does not fit the network: {first}") from exc
        missing = list(weights_only(dict.fromkeys(missing)))
        if missing or unexpected:
            raise DataError(f"checkpoint {path} does not fit the network (missing {missing[:3]}, "
                            f"unexpected {list(unexpected)[:3]})")
        return net.float().eval()

    def identity(self, path: Path) -> dict[str, Any]:
        """``{"sha256", "origin", "name"}`` of a checkpoint file, as records carry it."""
        return checkpoint_identity(path, origin_of(path, self.ctx.cache_dir))["checkpoint"]
