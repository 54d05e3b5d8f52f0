"""The package layers: lower packages never import higher ones, and tasks and codecs never each other.

    errors, theory, entropy  <  api, complexity  <  training, datasets  <  tasks | codecs  <  pipeline, ...

Trainable task models and learned codecs share what they both need through ``vcmbench.training``,
so a new modality adds a module to each room without the rooms knowing each other. Every
``import`` statement counts, including those inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "vcmbench"
BASE = {"vcmbench", "vcmbench.errors", "vcmbench.theory", "vcmbench.entropy"}
ROOM = BASE | {"vcmbench.api", "vcmbench.training", "vcmbench.datasets", "vcmbench.complexity"}
ALLOWED = {  # package -> the vcmbench packages its modules may import (besides itself)
    "vcmbench.theory": {"vcmbench", "vcmbench.errors", "vcmbench.theory"},
    "vcmbench.api": BASE,
    "vcmbench.complexity": BASE,
    "vcmbench.training": BASE | {"vcmbench.api"},
    "vcmbench.tasks": ROOM,
    "vcmbench.codecs": ROOM,
}


def package_of(module: str) -> str:
    """``vcmbench.codecs.learned.base`` -> ``vcmbench.codecs``; ``vcmbench.errors`` stays."""
    return ".".join(module.split(".")[:2])


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every vcmbench module a source file imports, relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return {m for m in found if m == "vcmbench" or m.startswith("vcmbench.")}


def violations(package: str) -> list[str]:
    allowed = ALLOWED[package] | {package}
    bad = []
    for path in sorted((SRC / package.split(".")[1]).rglob("*.py")):
        for target in sorted(imported_modules(path)):
            if package_of(target) not in allowed:
                bad.append(f"{module_name(path)} imports {target}")
    return bad


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_layers(package: str) -> None:
    assert violations(package) == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A codec module that imports a task module (even inside a function) is caught."""
    fake = tmp_path / "src" / "vcmbench"
    (fake / "codecs").mkdir(parents=True)
    (fake / "codecs" / "x.py").write_text("def f():\n    from vcmbench.tasks import mnist_cnn\n")
    (fake / "codecs" / "y.py").write_text("from ..tasks.svm import SVMTask\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", fake)
    assert violations("vcmbench.codecs") == ["vcmbench.codecs.x imports vcmbench.tasks",
                                             "vcmbench.codecs.x imports vcmbench.tasks.mnist_cnn",
                                             "vcmbench.codecs.y imports vcmbench.tasks.svm",
                                             "vcmbench.codecs.y imports vcmbench.tasks.svm.SVMTask"]
