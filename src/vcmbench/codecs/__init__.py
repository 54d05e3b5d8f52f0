"""Built-in codecs, one module per family. Importing this package registers them all."""

from vcmbench.codecs import passthrough  # noqa: F401
