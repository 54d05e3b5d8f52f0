"""One generic registry for codecs, datasets and task models.

Built-ins register with a decorator in their own module; the registry imports those modules
on first lookup, so `import vcmbench` stays cheap. Other packages plug in through a Python
entry-point group (e.g. ``vcmbench.codecs``) with ``name = "pkg.mod:Attr"`` entries, loaded
only when asked for.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from vcmbench.errors import UnknownNameError, VcmbenchError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to objects, with lazy built-in modules and third-party entry points."""

    def __init__(self, kind: str, entry_point_group: str, builtin_modules: Iterable[str] = ()):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._builtin_modules = tuple(builtin_modules)
        self._entries: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
        self._loaded_builtins = False

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@registry.register("name")``. A second object under one name is refused."""

        def decorate(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorate

    def add(self, name: str, obj: T) -> None:
        existing = self._entries.get(name)
        if existing is not None and existing is not obj:
            raise VcmbenchError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = obj
        if hasattr(obj, "__dict__") and isinstance(obj, type):
            obj.name = name  # type: ignore[attr-defined]

    def add_lazy(self, name: str, target: str) -> None:
        """Register ``"module:attr"`` to be imported on first use."""
        if name in self._entries or self._lazy.get(name, target) != target:
            raise VcmbenchError(f"{self.kind} {name!r} is registered twice")
        self._lazy[name] = target

    def _load_builtins(self) -> None:
        if self._loaded_builtins:
            return
        self._loaded_builtins = True
        for module in self._builtin_modules:
            importlib.import_module(module)
        for ep in entry_points(group=self.entry_point_group):
            if ep.name not in self._entries and ep.name not in self._lazy:
                self._lazy[ep.name] = ep.value

    def names(self) -> list[str]:
        self._load_builtins()
        return sorted(set(self._entries) | set(self._lazy))

    def get(self, name: str) -> T:
        self._load_builtins()
        if name in self._entries:
            return self._entries[name]
        if name in self._lazy:
            module, _, attr = self._lazy[name].partition(":")
            try:
                obj = getattr(importlib.import_module(module), attr) if attr else None
            except (ImportError, AttributeError) as exc:
                raise VcmbenchError(
                    f"{self.kind} {name!r} points at {self._lazy[name]!r}, which cannot be loaded: {exc}"
                ) from exc
            if obj is None:
                raise VcmbenchError(f"{self.kind} {name!r}: entry {self._lazy[name]!r} names no attribute")
            del self._lazy[name]
            self.add(name, obj)
            return obj
        hint = difflib.get_close_matches(name, self.names(), n=3)
        suggestion = f"; did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""
        known = ", ".join(self.names()) or "none"
        raise UnknownNameError(f"unknown {self.kind} {name!r}{suggestion} (known: {known})")

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()
