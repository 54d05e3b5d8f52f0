"""Digit classifiers from scikit-learn on raw pixels: ``svm`` (the paper's MNIST task model) and
``nearest-centroid`` (a crude one that trains in milliseconds, for quick tests and smoke runs).

Both take grey images (H×W, or H×W×1) of the size they were trained on, scale the pixels from
0..255 to [0, 1] and, by default, deskew each digit: shift its centre of mass to the image centre
and undo its slant (the shear that makes the second moment's row/column covariance zero). That
classic normalisation costs ~0.1 ms per digit; on the embedded mnist-5k digits it lifts the RBF
SVM from 95.4 % to 97.0 % test accuracy (4-fold cross-validation on the training split: 95.6 % →
97.2 %), and the SVM fits about twice as fast since it needs fewer support vectors.

Models train in ``prepare`` on the suite's training split and are cached on disk in a format that
cannot run code (see :mod:`vcmbench.tasks.cache`) under a key of (training fingerprint, parameters,
model version, scikit-learn version); a damaged or unsafe cache file is retrained with a warning.
``fingerprint()`` hashes the fitted model's content, so records name the exact model they used.
"""

from __future__ import annotations

import hashlib
import warnings
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from vcmbench.api.task import TaskContext, TaskModel, register_task_model
from vcmbench.errors import DataError, UsageError
from vcmbench.tasks.cache import CacheWarning, cache_key, cache_path, load_cached, save_cached

PREDICT_BATCH = 1000  # bounds the kernel matrix (batch × support vectors) an SVM builds per call


def to_grey_stack(inputs: Sequence[Any], model: str) -> np.ndarray:
    """A list of grey images (H×W or H×W×1, any numeric dtype on the 0..255 scale) as one (N, H, W) array."""
    arrays = [np.asarray(x) for x in inputs]
    arrays = [a[..., 0] if a.ndim == 3 and a.shape[-1] == 1 else a for a in arrays]
    shapes = sorted({a.shape for a in arrays})
    if len(shapes) != 1 or len(shapes[0]) != 2:
        raise UsageError(f"{model} takes grey images of one size (H×W), got arrays of shape "
                         f"{', '.join(str(s) for s in shapes[:3])}")
    return np.stack(arrays)


def deskew(images: np.ndarray) -> np.ndarray:
    """Centre each image's mass and remove its slant; images (N, H, W) as floats, returned alike."""
    from scipy import ndimage

    n, height, width = images.shape
    rows, cols = np.mgrid[:height, :width].astype(np.float64)
    mass = images.sum(axis=(1, 2), dtype=np.float64)
    empty = mass <= 0
    weight = np.where(empty, 1.0, mass)
    centre = np.array([(height - 1) / 2, (width - 1) / 2])
    mean_r = np.where(empty, centre[0], np.einsum("nhw,hw->n", images, rows) / weight)
    mean_c = np.where(empty, centre[1], np.einsum("nhw,hw->n", images, cols) / weight)
    dr = rows[None] - mean_r[:, None, None]
    dc = cols[None] - mean_c[:, None, None]
    var_r = (images * dr * dr).sum(axis=(1, 2)) / weight
    cov = (images * dr * dc).sum(axis=(1, 2)) / weight
    slant = np.divide(cov, var_r, out=np.zeros(n), where=var_r > 1e-12)
    out = np.empty_like(images)
    for i in range(n):
        # output pixel o samples input pixel M·o + offset, mapping the centre onto the centre of mass
        matrix = np.array([[1.0, 0.0], [slant[i], 1.0]])
        offset = np.array([mean_r[i], mean_c[i]]) - matrix @ centre
        out[i] = ndimage.affine_transform(images[i], matrix, offset=offset, order=1, mode="constant")
    return out


def pixel_features(images: np.ndarray, use_deskew: bool) -> np.ndarray:
    """(N, H, W) pixels on the 0..255 scale → (N, H·W) float32 features in [0, 1]."""
    x = np.clip(images.astype(np.float32) / 255.0, 0.0, 1.0)
    if use_deskew:
        x = deskew(x)
    return x.reshape(len(x), -1)


def _is_shape(value: Any) -> bool:
    return (isinstance(value, list | tuple) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value))


def _feed(digest: Any, value: Any) -> None:
    """Hash a fitted attribute by content: arrays by dtype, shape and bytes; containers in order."""
    if isinstance(value, np.ndarray | np.generic):
        a = np.ascontiguousarray(value)
        if a.dtype == object:
            digest.update(b"O")
            for item in a.ravel():
                _feed(digest, item)
        else:
            digest.update(f"A{a.dtype.str}{a.shape}".encode())
            digest.update(a.tobytes())
    elif isinstance(value, dict):
        digest.update(f"D{len(value)}".encode())
        for k in sorted(value, key=str):
            _feed(digest, str(k))
            _feed(digest, value[k])
    elif isinstance(value, list | tuple):
        digest.update(f"L{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    else:
        digest.update(f"S{type(value).__name__}:{value!r}".encode())


def model_fingerprint(name: str, params: dict[str, Any], input_shape: tuple[int, int], estimator: Any) -> str:
    """sha256 over the model's name, parameters, input size and every fitted attribute of the estimator.

    The same on a fresh fit and on a reload from the cache (skops restores the arrays bit for bit),
    and unlike a hash of the cache file it does not depend on zip timestamps.
    """
    digest = hashlib.sha256()
    _feed(digest, [name, params, list(input_shape), type(estimator).__qualname__, vars(estimator)])
    return digest.hexdigest()


class PixelClassifier(TaskModel):
    """A scikit-learn classifier on (deskewed) pixels, trained in ``prepare`` and cached on disk."""

    version: ClassVar[str] = "1"

    def __init__(self, deskew: bool = True, max_train_samples: int | None = None, **params: Any):
        if not isinstance(deskew, bool):
            raise UsageError(f"{self.name}: deskew must be true or false, got {deskew!r}")
        limit = max_train_samples
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise UsageError(f"{self.name}: max_train_samples must be a positive integer, got {limit!r}")
        super().__init__(deskew=deskew, max_train_samples=max_train_samples, **params)
        self.estimator: Any = None
        self.input_shape: tuple[int, int] | None = None
        self.train_fingerprint: str | None = None
        self._fingerprint: str | None = None

    @abstractmethod
    def make_estimator(self) -> Any:
        """A fresh, unfitted scikit-learn estimator for ``self.params``."""

    def cache_parts(self, ctx: TaskContext) -> dict[str, Any]:
        """Everything that determines the trained model: what the cache key hashes."""
        import sklearn

        if ctx.train is None:
            raise DataError(f"task model {self.name} trains on the suite's training split, but the suite "
                            f"has none (set train_split in the suite)")
        return {"model": self.name, "version": self.version, "params": dict(self.params),
                "train": ctx.train.info.fingerprint, "sklearn": sklearn.__version__}

    def prepare(self, ctx: TaskContext) -> None:
        if ctx.weights is not None:
            raise UsageError(f"task model {self.name} trains itself on the training split and loads no "
                             f"weights file ({ctx.weights}); remove `weights:` from the suite")
        parts = self.cache_parts(ctx)
        key = cache_key(parts)
        path = cache_path(ctx.cache_dir, self.name, key)
        kind = type(self.make_estimator())
        cached = load_cached(path, key, [kind])
        if cached is not None and not (isinstance(cached.get("estimator"), kind)
                                       and _is_shape(cached.get("input_shape"))):
            warnings.warn(f"cached task model {path} holds no fitted {kind.__name__}; training again",
                          CacheWarning, stacklevel=2)
            cached = None
        if cached is not None:
            self.estimator, self.input_shape = cached["estimator"], tuple(cached["input_shape"])
        else:
            self.estimator, self.input_shape = self._fit(ctx)
            model = {"estimator": self.estimator, "input_shape": list(self.input_shape)}
            save_cached(path, key, model, parts)
        self.train_fingerprint = parts["train"]
        self._fingerprint = model_fingerprint(self.name, self.params, self.input_shape, self.estimator)

    def fingerprint(self) -> str | None:
        """sha256 of the fitted model's content (see :func:`model_fingerprint`); None before ``prepare``."""
        return self._fingerprint

    def _fit(self, ctx: TaskContext) -> tuple[Any, tuple[int, int]]:
        train = ctx.train
        assert train is not None  # checked in cache_parts
        n = len(train) if self.params["max_train_samples"] is None else min(len(train),
                                                                            self.params["max_train_samples"])
        labels = np.asarray(train.labels())[:n]
        if n == 0 or len(np.unique(labels)) < 2:
            raise DataError(f"task model {self.name}: the training split {train.info.id!r} needs samples "
                            f"of at least two classes, has {len(np.unique(labels))}")
        images = to_grey_stack(train.inputs(range(n)), self.name)
        estimator = self.make_estimator()
        with warnings.catch_warnings():  # NearestCentroid flags pixels blank in a whole class: harmless
            warnings.filterwarnings("ignore", message=".*zero standard deviation", category=UserWarning)
            estimator.fit(pixel_features(images, self.params["deskew"]), labels)
        return estimator, (int(images.shape[1]), int(images.shape[2]))

    def predict(self, inputs: Sequence[Any]) -> np.ndarray:
        if self.estimator is None or self.input_shape is None:
            raise UsageError(f"task model {self.name} is not prepared (call prepare first)")
        if len(inputs) == 0:
            return np.zeros(0, dtype=np.int64)
        images = to_grey_stack(inputs, self.name)
        if images.shape[1:] != self.input_shape:
            h, w = self.input_shape
            raise UsageError(f"task model {self.name} was trained on {h}×{w} images, got "
                             f"{images.shape[1]}×{images.shape[2]}")
        out = [self.estimator.predict(pixel_features(images[i:i + PREDICT_BATCH], self.params["deskew"]))
               for i in range(0, len(images), PREDICT_BATCH)]
        return np.concatenate(out).astype(np.int64)


@register_task_model("svm")
class SVMTask(PixelClassifier):
    """scikit-learn's SVC with an RBF kernel: 97 % on mnist-5k after about a second of training."""

    def __init__(self, C: float = 5.0, gamma: float | str = "scale", deskew: bool = True,
                 max_train_samples: int | None = None):
        if isinstance(C, bool) or not isinstance(C, int | float) or not C > 0:
            raise UsageError(f"svm: C must be a positive number, got {C!r}")
        if gamma not in ("scale", "auto") and (isinstance(gamma, bool) or not isinstance(gamma, int | float)
                                               or not gamma > 0):
            raise UsageError(f"svm: gamma must be 'scale', 'auto' or a positive number, got {gamma!r}")
        super().__init__(deskew=deskew, max_train_samples=max_train_samples, C=float(C),
                         gamma=gamma if isinstance(gamma, str) else float(gamma))

    def make_estimator(self) -> Any:
        from sklearn.svm import SVC

        return SVC(kernel="rbf", C=self.params["C"], gamma=self.params["gamma"])


@register_task_model("nearest-centroid")
class NearestCentroidTask(PixelClassifier):
    """The class whose mean image is nearest: weak (~80 % on MNIST) but trains in milliseconds."""

    def make_estimator(self) -> Any:
        from sklearn.neighbors import NearestCentroid

        return NearestCentroid()
