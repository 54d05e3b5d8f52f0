"""Device choice for torch models: CUDA when present, the CPU otherwise."""

from __future__ import annotations

from vcmbench.errors import UsageError


def resolve_device(name: str = "auto") -> str:
    """'auto' -> 'cuda' if torch sees a GPU, else 'cpu'; 'cuda' without a GPU is an error."""
    if name not in ("auto", "cpu") and not name.startswith("cuda"):
        raise UsageError(f"unknown device {name!r}; use auto, cpu or cuda[:N]")
    if name == "cpu":
        return "cpu"
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        available = False
    else:
        available = torch.cuda.is_available()
    if name == "auto":
        return "cuda" if available else "cpu"
    if not available:
        raise UsageError(f"device {name!r} asked for, but torch sees no CUDA device")
    return name
