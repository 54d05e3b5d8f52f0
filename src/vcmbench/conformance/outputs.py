"""What a decoded output is, for the conformance checks: a comparable digest and a validity test.

Both sides of the kit (the caller's process and the separate decoder's) describe outputs the
same way, so the caller can tell whether the two decoders agree from digests alone, without
shipping images or feature maps between processes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def _is_torch(value: Any) -> bool:
    return type(value).__module__.split(".")[0] == "torch"


def as_array(value: Any) -> np.ndarray | None:
    """A numpy view of an array-like output (numpy or torch), or None for anything else."""
    if _is_torch(value) and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    return None


def is_label(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def describe(value: Any) -> dict[str, str]:
    """{"kind": ..., "shape": ..., "digest": ...}: equal for equal outputs in any process."""
    if is_label(value):
        return {"kind": "label", "shape": "", "digest": str(int(value))}
    array = as_array(value)
    if array is None:
        digest = hashlib.sha256(repr(value).encode()).hexdigest()
        return {"kind": type(value).__name__, "shape": "", "digest": digest}
    array = np.ascontiguousarray(array)
    h = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    h.update(array.tobytes())
    return {"kind": f"array {array.dtype}", "shape": str(tuple(array.shape)), "digest": h.hexdigest()}


def problem(value: Any, decodes_to: str, num_classes: int, like: Any = None,
            exact: bool = True) -> str | None:
    """Why ``value`` is not a valid decoded output, or None when it is.

    ``like`` is what the output should resemble: the original input for ``"input"`` codecs (the
    task model receives the decoded input in its place), an undamaged decode for ``"features"``.
    ``exact``: the same shape and dtype (an undamaged stream). A damaged stream may legitimately
    decode to an image of another size or type (its header was damaged): any finite numeric
    array is then valid, and the harness refuses the mismatch as a codec failure, not a crash.
    """
    if decodes_to == "label":
        if not is_label(value):
            return f"a {type(value).__name__} where a label (an integer) is due"
        if not 0 <= int(value) < num_classes:
            return f"label {int(value)} outside 0..{num_classes - 1}"
        return None
    array = as_array(value)
    if array is None:
        return f"a {type(value).__name__} where an array is due"
    if array.dtype.kind not in "biuf":
        return f"an array of dtype {array.dtype}"
    if array.dtype.kind == "f" and array.size and not np.isfinite(array).all():
        return "an array with NaN or infinite values"
    reference = as_array(like) if like is not None else None
    if reference is None or not exact:
        return None
    if decodes_to == "input" and array.dtype != reference.dtype:
        return f"dtype {array.dtype}, the input's is {reference.dtype}"
    if tuple(array.shape) != tuple(reference.shape):
        return f"shape {tuple(array.shape)}, expected {tuple(reference.shape)}"
    return None


def stack(outputs: Sequence[Any]) -> Any:
    """Decoded features as one batch, the way the pipeline hands them to the task model."""
    if outputs and _is_torch(outputs[0]):
        import torch

        return torch.stack(list(outputs))
    return np.stack([np.asarray(o) for o in outputs])


def finite_number(value: Any) -> bool:
    return (isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
            and math.isfinite(float(value)) and float(value) >= 0)
