"""Rate-distortion of discrete label sources: the rate-accuracy bound every codec is measured against.

numpy/scipy only. Closed forms for uniform priors (paper eqs. 4–6), the exact Hamming R(D) for any
prior (water-filling), Blahut–Arimoto with a certified bracket for any prior and distortion matrix,
detection configuration counts (eq. 7) and unit conversions.
"""

from vcmbench.theory.blahut_arimoto import (
    RDCurve,
    RDPoint,
    blahut_arimoto,
    default_slopes,
    rate_at_distortion,
)
from vcmbench.theory.bounds import accuracy_rate_curve, bound_bits, is_uniform
from vcmbench.theory.detection import detection_bits, detection_bits_per_pixel, detection_configurations
from vcmbench.theory.entropy import binary_entropy, entropy_bits
from vcmbench.theory.hamming import (
    SlopeSolutions,
    WaterFilling,
    hamming_rate,
    output_at_slope,
    shannon_lower_bound,
    water_filling,
)
from vcmbench.theory.priors import prior_from_counts, prior_from_labels, uniform_prior
from vcmbench.theory.uniform import (
    accuracy_per_bit,
    linear_rate_approximation,
    log2_int,
    uniform_accuracy_at_rate,
    uniform_curve,
    uniform_rate,
)
from vcmbench.theory.units import (
    bits_per_pixel,
    bits_per_point,
    bits_per_sample_from_bpp,
    bits_per_sample_from_bpp_points,
)

__all__ = [
    "RDCurve",
    "RDPoint",
    "SlopeSolutions",
    "WaterFilling",
    "accuracy_per_bit",
    "accuracy_rate_curve",
    "binary_entropy",
    "bits_per_pixel",
    "bits_per_point",
    "bits_per_sample_from_bpp",
    "bits_per_sample_from_bpp_points",
    "blahut_arimoto",
    "bound_bits",
    "default_slopes",
    "detection_bits",
    "detection_bits_per_pixel",
    "detection_configurations",
    "entropy_bits",
    "hamming_rate",
    "is_uniform",
    "linear_rate_approximation",
    "log2_int",
    "output_at_slope",
    "prior_from_counts",
    "prior_from_labels",
    "rate_at_distortion",
    "shannon_lower_bound",
    "uniform_accuracy_at_rate",
    "uniform_curve",
    "uniform_prior",
    "uniform_rate",
    "water_filling",
]
