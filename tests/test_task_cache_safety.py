"""Nothing in a cache folder runs code: crafted task-model cache files are ignored, never executed,
and the task model is trained again. Also the fitted model's content fingerprint."""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from vcmbench.api.dataset import DATASETS, ArrayDataset, DatasetInfo, fingerprint_arrays
from vcmbench.api.task import TaskContext
from vcmbench.tasks.cache import FORMAT, CacheWarning, cache_key, cache_path, load_cached
from vcmbench.tasks.svm import NearestCentroidTask, SVMTask


class TouchOnLoad:
    """A pickle payload that creates ``marker`` when unpickled: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def train() -> ArrayDataset:
    full = DATASETS.get("mnist")("train", None)
    images = np.stack(full.inputs(range(200)))
    labels = full.labels()[:200]
    info = DatasetInfo(id="sub200", split="train", num_classes=10,
                       fingerprint=fingerprint_arrays(images, labels), pixels_per_sample=784)
    return ArrayDataset(info, images, labels)


def key_of(model, train, cache_dir: Path) -> str:
    return cache_key(model.cache_parts(TaskContext(train=train, cache_dir=cache_dir)))


def prepare(model, train, cache_dir: Path):
    model.prepare(TaskContext(train=train, cache_dir=cache_dir))
    return model


def crafted_pickle(marker: Path, key: str) -> bytes:
    model = {"estimator": TouchOnLoad(marker), "input_shape": [28, 28]}
    payload = {"format": FORMAT, "key": key, "model": model}
    return pickle.dumps(payload)


def test_a_crafted_pickle_in_the_cache_folder_never_runs(train, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    key = key_of(SVMTask(), train, tmp_path)
    legacy = tmp_path / "tasks" / f"svm-{key}.pkl"  # where earlier versions kept (and loaded) the model
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(crafted_pickle(marker, key))
    current = cache_path(tmp_path, "svm", key)
    current.write_bytes(crafted_pickle(marker, key))  # and a pickle under the current name
    with pytest.warns(CacheWarning, match="damaged"):
        model = prepare(SVMTask(), train, tmp_path)
    assert not marker.exists()
    assert model.predict(train.inputs(range(5))).shape == (5,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the refit replaced the crafted file with a sound one
        prepare(SVMTask(), train, tmp_path)
    assert not marker.exists()


def test_a_skops_file_with_another_type_is_refused(train, tmp_path: Path) -> None:
    """skops itself trusts every scikit-learn class; the cache accepts only the model's own."""
    import skops.io
    from sklearn.linear_model import LogisticRegression

    key = key_of(SVMTask(), train, tmp_path)
    path = cache_path(tmp_path, "svm", key)
    path.parent.mkdir(parents=True)
    impostor = LogisticRegression(max_iter=5).fit(np.eye(4), [0, 1, 0, 1])
    path.write_bytes(skops.io.dumps({"format": FORMAT, "key": key, "parts": "{}",
                                     "model": {"estimator": impostor, "input_shape": [28, 28]}}))
    with pytest.warns(CacheWarning, match=r"LogisticRegression"):
        model = prepare(SVMTask(), train, tmp_path)
    assert type(model.estimator).__name__ == "SVC"


def test_load_cached_refuses_what_the_caller_did_not_name(train, tmp_path: Path) -> None:
    from sklearn.svm import SVC

    model = prepare(SVMTask(), train, tmp_path)
    path = cache_path(tmp_path, "svm", key_of(model, train, tmp_path))
    key = key_of(model, train, tmp_path)
    assert isinstance(load_cached(path, key, [SVC])["estimator"], SVC)
    with pytest.warns(CacheWarning, match=r"sklearn\.svm\._classes\.SVC"):
        assert load_cached(path, key, []) is None


def test_a_corrupt_cache_file_is_refit(train, tmp_path: Path) -> None:
    prepare(SVMTask(), train, tmp_path)
    [path] = (tmp_path / "tasks").glob("svm-*.skops")
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(data))
    with pytest.warns(CacheWarning):
        model = prepare(SVMTask(), train, tmp_path)
    assert model.fingerprint() is not None


def test_fingerprint_is_the_fitted_content(train, tmp_path: Path) -> None:
    assert SVMTask().fingerprint() is None  # not prepared
    fresh = prepare(SVMTask(), train, tmp_path)
    reloaded = prepare(SVMTask(), train, tmp_path)  # from the cache file
    assert re.fullmatch(r"[0-9a-f]{64}", fresh.fingerprint())
    assert reloaded.fingerprint() == fresh.fingerprint()
    other_c = prepare(SVMTask(C=1.0), train, tmp_path / "other")
    assert other_c.fingerprint() != fresh.fingerprint()
    images = np.stack(train.inputs(range(len(train))))
    labels = np.roll(train.labels(), 1)  # the same digits with other labels: another model
    info = DatasetInfo(id="rolled", split="train", num_classes=10,
                       fingerprint=fingerprint_arrays(images, labels), pixels_per_sample=784)
    relabelled = prepare(SVMTask(), ArrayDataset(info, images, labels), tmp_path)
    assert relabelled.fingerprint() != fresh.fingerprint()
    centroid = prepare(NearestCentroidTask(), train, tmp_path)
    assert centroid.fingerprint() not in (None, fresh.fingerprint())
