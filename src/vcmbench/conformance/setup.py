"""What a codec is checked on: a codec context, test inputs, and the suite's operating points.

The separate decoder runs in another process, which must rebuild exactly the same context from
a description it can receive as JSON: a :class:`SetupSpec`. Two kinds exist:

* a suite (``vcmbench.pipeline``'s own loading: data, the task model from the cache, the
  training split's counts), limited to its first ``limit`` test samples;
* a factory, ``"module:function"`` returning a :class:`Setup`, called with ``cache_dir`` (a
  folder both processes share, for its task model and checkpoints) and any JSON keyword
  arguments: how a codec package tests its codec on its own small data.

A codec is named by its registered name or as ``"module:Class"`` (a codec under development
need not be registered); either way both processes import the same class.
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcmbench.api.codec import CODECS, Codec, CodecContext
from vcmbench.errors import UsageError


@dataclass
class Setup:
    """A prepared context, the inputs to code, and (from a suite) its operating points per codec."""

    context: CodecContext
    inputs: list[Any]
    points: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class SetupSpec:
    """A JSON-able recipe for a :class:`Setup`, rebuilt identically in each process."""

    suite: str | None = None
    limit: int = 20
    data_root: str | None = None
    cache_dir: str | None = None
    device: str = "cpu"
    train: bool = False
    factory: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"suite": self.suite, "limit": self.limit, "data_root": self.data_root,
                "cache_dir": self.cache_dir, "device": self.device, "train": self.train,
                "factory": self.factory, "kwargs": dict(self.kwargs)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SetupSpec:
        return cls(**raw)


def resolve(target: str, what: str) -> Any:
    """``"module:attribute"`` to the attribute; a one-line UsageError otherwise."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"{what} {target!r}: expected 'module:name'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"{what} {target!r}: cannot import {module_name!r} ({exc})") from exc
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise UsageError(f"{what} {target!r}: {module_name!r} has no {attribute!r}") from None


def resolve_codec(spec: str) -> type[Codec]:
    """A registered codec name, or ``"module:Class"``."""
    if ":" in spec:
        cls = resolve(spec, "codec")
        if not (isinstance(cls, type) and issubclass(cls, Codec)):
            raise UsageError(f"codec {spec!r} is not a Codec subclass")
        return cls
    return CODECS.get(spec)


def codec_label(spec: str, cls: type[Codec]) -> str:
    return spec if ":" not in spec else f"{cls.name if cls.name != '?' else cls.__name__} ({spec})"


def build_setup(spec: SetupSpec) -> Setup:
    """The setup ``spec`` describes (the same in every process that builds it)."""
    if spec.factory is not None:
        factory: Callable[..., Setup] = resolve(spec.factory, "setup")
        setup = factory(cache_dir=spec.cache_dir, **spec.kwargs)
        if not isinstance(setup, Setup):
            raise UsageError(f"setup {spec.factory!r} returned a {type(setup).__name__}, not a Setup")
        return setup
    if spec.suite is None:
        raise UsageError("a conformance setup needs a suite or a factory")
    return _suite_setup(spec)


def _suite_setup(spec: SetupSpec) -> Setup:
    from vcmbench.pipeline.config import load_suite
    from vcmbench.pipeline.suite import prepare_suite

    if spec.cache_dir is None:
        raise UsageError("a suite setup needs a cache folder shared by both processes")
    config = load_suite(spec.suite)
    with tempfile.TemporaryDirectory(prefix="vcmbench-conformance-") as out:  # the run folder is not kept
        run = prepare_suite(config, data_root=Path(spec.data_root) if spec.data_root else None,
                            out=Path(out), limit=spec.limit, device=spec.device,
                            cache_dir=Path(spec.cache_dir))
    context = CodecContext(
        task_model=run.task_model, train=run.train, num_classes=run.dataset.info.num_classes,
        train_prior_counts=run.train_counts, device=run.device, cache_dir=run.cache_dir, seed=config.seed,
        allow_training=spec.train, progress=False, train_fingerprint=run.train_fingerprint,
    )
    points: dict[str, list[dict[str, Any]]] = {}
    for entry in config.codecs:  # the suite's points, or its shared parameters over the codec's grid
        if entry.points is not None:
            points[entry.name] = [{**entry.params, **p} for p in entry.points]
        elif entry.params:
            points[entry.name] = [{**entry.params, **p} for p in CODECS.get(entry.name).operating_points()]
    return Setup(context, run.dataset.inputs(range(len(run.dataset))), points)
