"""Built-in task models and metrics. Importing this package registers them all."""

import vcmbench.tasks.mnist_cnn  # noqa: F401
import vcmbench.tasks.pointnet  # noqa: F401
import vcmbench.tasks.svm  # noqa: F401
import vcmbench.tasks.torchvision_models  # noqa: F401
import vcmbench.tasks.yolo  # noqa: F401
