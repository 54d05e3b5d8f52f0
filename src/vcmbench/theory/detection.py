"""Object detection as classification (paper eq. 7): every configuration of objects is one class.

With up to N objects, each at one of P positions and of one of C classes, there are
K = Σ_{i=1..N} C(P, i)·C^i configurations. K is computed exactly as a Python int (6.4e45 for
YOLO-like COCO detection) and its log2 read off the integer, never from float(K).
"""

from __future__ import annotations

import math
import numbers

from vcmbench.errors import UsageError
from vcmbench.theory.uniform import log2_int


def _positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def detection_configurations(positions: int, classes: int, max_objects: int) -> int:
    """K = Σ_{i=1..N} C(P, i)·C^i: the number of distinct detection outputs with 1..N objects."""
    p = _positive_int(positions, "positions")
    c = _positive_int(classes, "classes")
    n = _positive_int(max_objects, "max_objects")
    return sum(math.comb(p, i) * c**i for i in range(1, min(n, p) + 1))


def detection_bits(positions: int, classes: int, max_objects: int) -> float:
    """log2 K: the lossless (accuracy 1) bound in bits per image for equally likely configurations."""
    return log2_int(detection_configurations(positions, classes, max_objects))


def detection_bits_per_pixel(positions: int, classes: int, max_objects: int, width: int,
                             height: int) -> float:
    """log2 K spread over a W×H image: the lossless detection bound in bits per pixel."""
    w = _positive_int(width, "width")
    h = _positive_int(height, "height")
    return detection_bits(positions, classes, max_objects) / (w * h)
