"""Built-in dataset adapters, one module per family. Importing this package registers them all."""

import vcmbench.datasets.coco  # noqa: F401
import vcmbench.datasets.imagenet  # noqa: F401
import vcmbench.datasets.mnist  # noqa: F401
import vcmbench.datasets.modelnet  # noqa: F401
import vcmbench.datasets.shapes_synth  # noqa: F401
