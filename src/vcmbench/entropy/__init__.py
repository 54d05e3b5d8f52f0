"""Entropy coders and code constructions used by codecs."""
