"""Built-in codecs, one module per family. Importing this package registers them all."""

import vcmbench.codecs.images  # noqa: F401
import vcmbench.codecs.labels as labels  # noqa: F401
import vcmbench.codecs.learned  # noqa: F401
from vcmbench.codecs import (
    compressai_zoo,  # noqa: F401
    detections,  # noqa: F401
    image_libraries,  # noqa: F401
    label_bound,  # noqa: F401
    passthrough,  # noqa: F401
    pointclouds,  # noqa: F401
    scalable,  # noqa: F401
    universal,  # noqa: F401
)
