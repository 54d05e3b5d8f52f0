"""The stable contracts: codecs, datasets, task models, result records, the registry."""

from vcmbench.api.codec import (
    CODECS,
    BlockCodec,
    Codec,
    CodecContext,
    SampleCodec,
    register_codec,
)
from vcmbench.api.dataset import DATASETS, ArrayDataset, Dataset, DatasetInfo, register_dataset
from vcmbench.api.registry import Registry
from vcmbench.api.task import TASK_MODELS, TaskContext, TaskModel, register_task_model

__all__ = [
    "CODECS",
    "DATASETS",
    "TASK_MODELS",
    "ArrayDataset",
    "BlockCodec",
    "Codec",
    "CodecContext",
    "Dataset",
    "DatasetInfo",
    "Registry",
    "SampleCodec",
    "TaskContext",
    "TaskModel",
    "register_codec",
    "register_dataset",
    "register_task_model",
]
