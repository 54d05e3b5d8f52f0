"""Reference results of the built-in baseline codecs (baselines/<suite>/), and the check that a fresh run
reproduces them — the role CompressAI's anchor results play for learned image codecs.

    python scripts/baselines.py regenerate [--suite mnist] [--dest baselines]   (make baselines)
    python scripts/baselines.py check      [--suite mnist] [--baselines baselines]

Only deterministic points belong here: their bits and predictions depend on nothing but the code, the
shipped data and checkpoints and the pinned libraries, so a fresh run must match bit for bit. A run
is made in a temporary folder with ``vcmbench run SUITE --codec ... --force`` and its records (with
their per-sample files) are copied to ``baselines/<suite>/``; ``check`` runs the same codecs again
and compares every record's bits_total, correct and samples.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Deterministic baseline codecs per suite that runs without external data. The label codecs are
# integer arithmetic; jpeg, webp and png are the pinned Pillow builds, draco the pinned DracoPy;
# passthrough sends the pixels; the learned students and modelnet40's PointNet use the shipped
# checkpoints, and both suites measured the same bits and accuracy with 1 and 2 threads.
# mnist-cnn is left out: its task model and split-feature codecs train with torch at run time;
# imagenet and coco need data (or weights) on disk.
BASELINE_CODECS: dict[str, tuple[str, ...]] = {
    "mnist": ("label-fixed", "label-huffman", "label-block", "label-ans", "label-lossy", "label-vq",
              "jpeg", "webp", "png", "passthrough", "entropic-student-block", "entropic-student"),
    "modelnet40": ("label-fixed", "label-huffman", "label-block", "label-ans", "label-lossy", "draco",
                   "pointcloud-student-block", "pointcloud-student"),
}
COMPARED = ("bits_total", "correct", "samples")


def run_suite(suite: str, codecs: tuple[str, ...], out: Path, limit: int | None = None) -> Path:
    """``vcmbench run`` (a shipped suite's name or a suite file) in this process; the suite's records
    folder. ``out`` keeps only its task-model cache between runs, so the folder holds this run's records."""
    from vcmbench.cli import main

    for old in _record_folders(out):
        shutil.rmtree(old)
    argv = ["run", suite, "--out", str(out), "--quiet", "--force"]
    for codec in codecs:
        argv += ["--codec", codec]
    if limit is not None:
        argv += ["--limit", str(limit)]
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    if code != 0:
        raise SystemExit(f"baselines: vcmbench {' '.join(argv)} exited with {code}")
    [folder] = _record_folders(out)
    return folder


def _record_folders(out: Path) -> list[Path]:
    return [p for p in out.iterdir() if p.is_dir() and p.name != "cache"] if out.is_dir() else []


def records(folder: Path) -> dict[str, dict]:
    """Result records under ``folder`` by path relative to it (reference.json files are not results)."""
    found = {}
    for path in sorted(folder.rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("kind") == "vcmbench.result":
            found[path.relative_to(folder).as_posix()] = data
    return found


@contextlib.contextmanager
def _work_folder(work: Path | None):
    """``work`` itself (a caller's folder, whose task-model cache later runs reuse) or a temporary one."""
    if work is not None:
        yield work
        return
    with tempfile.TemporaryDirectory(prefix="vcmbench-baselines-") as tmp:
        yield Path(tmp)


def regenerate(suite: str, dest: Path, limit: int | None = None, work: Path | None = None) -> list[str]:
    """Run the suite's baseline codecs and replace dest/<suite name> with the records; their names."""
    with _work_folder(work) as tmp:
        fresh = run_suite(suite, BASELINE_CODECS[suite], tmp, limit)
        found = records(fresh)
        failed = [name for name, r in found.items() if r.get("status") != "ok"]
        if failed:
            raise SystemExit(f"baselines: {suite}: points failed, nothing written: {', '.join(failed)}")
        staging = dest / f".{fresh.name}.new"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(fresh, staging, ignore=shutil.ignore_patterns("reference.json"))
    target = dest / fresh.name
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return sorted(found)


def compare(baseline: dict[str, dict], fresh: dict[str, dict]) -> list[str]:
    """One line per difference: a missing or extra record, or a compared metric that changed."""
    problems = [f"{name}: in the baselines, not produced by the fresh run" for name in baseline
                if name not in fresh]
    problems += [f"{name}: produced by the fresh run, not in the baselines" for name in fresh
                 if name not in baseline]
    for name in sorted(set(baseline) & set(fresh)):
        old, new = baseline[name].get("metrics") or {}, fresh[name].get("metrics") or {}
        for field in COMPARED:
            if old.get(field) != new.get(field):
                problems.append(f"{name}: {field} {old.get(field)} in the baselines, {new.get(field)} now")
    return problems


def check(suite: str, baselines: Path, limit: int | None = None, work: Path | None = None) -> list[str]:
    """Run the suite's baseline codecs afresh and compare with baselines/<suite>."""
    with _work_folder(work) as tmp:
        fresh = run_suite(suite, BASELINE_CODECS[suite], tmp, limit)
        return compare(records(baselines / fresh.name), records(fresh))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("regenerate", "check"))
    parser.add_argument("--suite", action="append", choices=sorted(BASELINE_CODECS),
                        help="a suite (repeatable; default: all)")
    parser.add_argument("--dest", "--baselines", dest="folder", type=Path, default=ROOT / "baselines")
    args = parser.parse_args(argv)
    for suite in args.suite or sorted(BASELINE_CODECS):
        if args.action == "regenerate":
            names = regenerate(suite, args.folder)
            print(f"baselines: {suite}: {len(names)} records in {args.folder / suite}")
        else:
            problems = check(suite, args.folder)
            for line in problems:
                print(f"baselines: {suite}: {line}", file=sys.stderr)
            if problems:
                return 1
            print(f"baselines: {suite}: reproduced exactly")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
