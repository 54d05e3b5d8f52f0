"""Evaluate operating points and run suites: encode -> bytes -> decode -> task -> metrics."""
