"""vcmbench: benchmark codecs for machines against the theoretical rate-accuracy bound."""

__version__ = "0.1.0"
