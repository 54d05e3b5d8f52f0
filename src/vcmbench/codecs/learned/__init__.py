"""Learned codecs for machines: the entropic student and split-feature coding (paper section V)."""

from vcmbench.codecs.learned import split_feature, student  # noqa: F401
