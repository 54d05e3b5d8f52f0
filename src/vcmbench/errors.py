"""Errors a user can act on. The CLI prints them as one line and exits with code 2."""


class VcmbenchError(Exception):
    """Bad input, a missing file or a refused operation: the message says what to do."""


class UsageError(VcmbenchError):
    """Arguments that make no sense (K < 2, an accuracy outside [0, 1], ...)."""


class DataError(VcmbenchError):
    """A dataset or weights file that is missing or malformed; the message names the file."""


class BitstreamError(VcmbenchError):
    """A bitstream that is truncated, corrupted or not of this codec."""


class UnknownNameError(VcmbenchError, KeyError):
    """A registry lookup for a name nobody registered."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""
