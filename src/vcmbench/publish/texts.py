"""The explanations the README and the page share, so the two never say different things."""

from __future__ import annotations

RANKING = (
    "Codecs are ranked by the bits per sample they spend above the rate-accuracy bound R(1 − accuracy) "
    "at the suite's accuracy levels, reading each codec's rate off the lower convex hull of its operating "
    "points (time-sharing between points), so every codec is compared at matched accuracy. "
    "A codec that reaches more of the levels ranks first, and among codecs reaching as many levels the "
    "smaller mean gap ranks higher."
)

BD_RATE = (
    "The BD-rate of a codec against an anchor is the average relative change in bits per sample at equal "
    "accuracy over the accuracy range both hulls cover (Bjøntegaard delta with PCHIP interpolation of the "
    "log rate, computed with the bjontegaard package). "
    "Negative values mean fewer bits than the anchor; a cell is empty when a hull has fewer than two points "
    "with non-zero rate or the two hulls do not overlap in accuracy."
)

RATES = (
    "Reproduced rates are real: 8 × the bytes a decoder receives, headers and side information included; "
    "bounds and gaps are recomputed from each record's bits and accuracy when the leaderboard is published."
)

REPORTED = (
    "Rows and markers labelled \u201creported, not reproduced\u201d are numbers quoted from papers or their "
    "published result files (see the references); vcmbench has not run them, and their rates were measured "
    "by their authors, so they may not count every byte the way reproduced rows do."
)

MAP_NOTE = (
    "mAP (mean average precision) is not classification accuracy: "
    "no rate-accuracy bound or gap is given for it."
)
