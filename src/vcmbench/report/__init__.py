"""Distances to the rate-accuracy bound: per point, on each codec's hull, as tables and plots."""
