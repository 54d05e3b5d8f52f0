"""baselines/: the machinery that regenerates the reference records, and the regression check that a
fresh run reproduces the shipped ones exactly."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_script():
    spec = importlib.util.spec_from_file_location("baselines_script", ROOT / "scripts" / "baselines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


baselines = load_script()


TINY_SUITE = """suite: tiny
dataset: {name: mnist, split: test}
task_model: {name: nearest-centroid}
codecs:
  - name: label-fixed
  - name: label-huffman
"""


def test_regenerate_then_check_and_catch_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a tiny suite of its own (a task model that trains in milliseconds, 40 digits)."""
    suite_file = tmp_path / "tiny.yaml"
    suite_file.write_text(TINY_SUITE)
    suite = str(suite_file)
    monkeypatch.setitem(baselines.BASELINE_CODECS, suite, ("label-fixed", "label-huffman"))
    work = tmp_path / "work"  # shared, so the task model trains once for the three runs
    names = baselines.regenerate(suite, tmp_path, limit=40, work=work)
    assert names and all(n.endswith(".json") for n in names)
    stored = baselines.records(tmp_path / "tiny")
    assert sorted(stored) == names
    assert not list((tmp_path / "tiny").rglob("reference.json"))
    for name in names:  # each record keeps its per-sample file beside it
        assert (tmp_path / "tiny" / name).with_name(stored[name]["samples_file"]).is_file()
    assert baselines.check(suite, tmp_path, limit=40, work=work) == []

    first = tmp_path / "tiny" / names[0]
    data = json.loads(first.read_text())
    data["metrics"]["bits_total"] += 8
    first.write_text(json.dumps(data))
    (tmp_path / "tiny" / names[-1]).unlink()
    problems = baselines.check(suite, tmp_path, limit=40, work=work)
    assert any(p.startswith(f"{names[0]}: bits_total") for p in problems)
    assert any(p.startswith(f"{names[-1]}: produced by the fresh run") for p in problems)


def test_compare_names_every_difference() -> None:
    base = {"a.json": {"metrics": {"bits_total": 8, "correct": 1, "samples": 2}},
            "b.json": {"metrics": {"bits_total": 8, "correct": 1, "samples": 2}}}
    fresh = {"a.json": {"metrics": {"bits_total": 8, "correct": 2, "samples": 2}},
             "c.json": {"metrics": {"bits_total": 1, "correct": 1, "samples": 2}}}
    assert baselines.compare(base, fresh) == [
        "b.json: in the baselines, not produced by the fresh run",
        "c.json: produced by the fresh run, not in the baselines",
        "a.json: correct 1 in the baselines, 2 now",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("suite", sorted(baselines.BASELINE_CODECS))
def test_a_fresh_run_reproduces_the_shipped_baselines(suite: str) -> None:
    """About a minute per suite: every baseline point is measured again."""
    if not baselines.records(ROOT / "baselines" / suite):
        pytest.skip(f"baselines/{suite} holds no records yet (make baselines)")
    assert baselines.check(suite, ROOT / "baselines") == []
