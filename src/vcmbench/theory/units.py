"""Rate units: the bound is in bits per sample (per image, per point cloud); papers quote bpp, bits/point."""

from __future__ import annotations

import numbers

from vcmbench.errors import UsageError


def _positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise UsageError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _bits(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise UsageError(f"{name} must be a number of bits ≥ 0, got {value!r}")
    return float(value)


def bits_per_pixel(bits_per_sample: float, width: int, height: int) -> float:
    """Bits per sample spread over a W×H image."""
    pixels = _positive(width, "width") * _positive(height, "height")
    return _bits(bits_per_sample, "bits per sample") / pixels


def bits_per_sample_from_bpp(bpp: float, width: int, height: int) -> float:
    """Inverse of :func:`bits_per_pixel`: bits per W×H image at ``bpp`` bits per pixel."""
    return _bits(bpp, "bits per pixel") * _positive(width, "width") * _positive(height, "height")


def bits_per_point(bits_per_sample: float, points: int) -> float:
    """Bits per sample spread over a point cloud of ``points`` points."""
    return _bits(bits_per_sample, "bits per sample") / _positive(points, "points")


def bits_per_sample_from_bpp_points(bits_per_point: float, points: int) -> float:
    """Inverse of :func:`bits_per_point`: bits per point cloud at ``bits_per_point`` bits per point."""
    return _bits(bits_per_point, "bits per point") * _positive(points, "points")
