"""Argument parsing shared by several subcommands."""

from __future__ import annotations

from vcmbench.errors import UsageError


def parse_levels(text: str | None) -> tuple[float, ...] | None:
    """``--levels 0.5,0.9`` -> (0.5, 0.9); None when the option was not given."""
    if text is None:
        return None
    try:
        levels = tuple(float(t) for t in text.split(","))
    except ValueError:
        raise UsageError(f"--levels must be comma-separated numbers, got {text!r}") from None
    if not all(0 <= a <= 1 for a in levels):
        raise UsageError(f"--levels must lie in [0, 1], got {text!r}")
    return levels
