"""Suites pass dataset parameters (e.g. points per cloud) to the dataset's factory."""

from __future__ import annotations

import pytest

from vcmbench.api.dataset import DATASETS
from vcmbench.errors import UsageError
from vcmbench.pipeline.config import parse_suite
from vcmbench.pipeline.data import load_dataset, open_split


def _suite(dataset):
    return parse_suite({"suite": "s", "dataset": dataset, "task_model": "svm", "codecs": ["label-fixed"]})


def test_suite_yaml_carries_dataset_params():
    assert _suite({"name": "modelnet40", "params": {"points": 256}}).dataset_params == {"points": 256}
    assert _suite({"name": "mnist"}).dataset_params == {}
    with pytest.raises(UsageError, match="dataset params must be a mapping"):
        _suite({"name": "mnist", "params": [1, 2]})


def test_params_reach_the_factory():
    clouds = load_dataset("modelnet40", "test", None, limit=3, params={"points": 256})
    assert clouds.info.points_per_sample == 256
    assert clouds.inputs([0])[0].shape == (256, 3)


def test_a_parameter_the_dataset_does_not_take_is_one_line():
    DATASETS.get("mnist")
    with pytest.raises(UsageError, match="does not take the parameters"):
        open_split("mnist", "test", None, {"points": 3})
