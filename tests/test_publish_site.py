"""The site folder stands on its own: records copied beside the page, links that resolve, a merge flow.

``vcmbench publish --merge`` rebuilds a board from the records its site holds plus a submitter's,
and refuses records of another test set in one line; the page names the commits the published
records came from, not the checkout's.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import write_with_samples
from test_publish_records import make_record
from vcmbench.cli import main
from vcmbench.publish.board import build_boards
from vcmbench.publish.interactive import board_figure_json
from vcmbench.publish.records import LoadedRecord, codec_family, load_records
from vcmbench.report.hull import bits_on_hull

COUNTS = (10,) * 10
COMMIT = "c0ffee0123456789abcd"
ROOT = Path(__file__).resolve().parents[1]


def _record(codec: str, bits: int, correct: int, *, commit: str = COMMIT, fingerprint: str = "fp", **params):
    r = make_record(codec, bits, correct, counts=COUNTS, suite="mnist", dataset_id="mnist-5k",
                    fingerprint=fingerprint, train_counts=COUNTS, **params)
    codec_ref = replace(r.codec, qualname="vcmbench.codecs.labels:Lossy", package="vcmbench",
                        package_version="9.9.9")
    return replace(r, codec=codec_ref, provenance=replace(r.provenance, git_commit=commit))


def _runs(folder: Path) -> Path:
    write_with_samples(folder / "a1.json", _record("label-lossy", 96, 50, t=1))
    write_with_samples(folder / "a2.json", _record("label-lossy", 352, 97, t=2))
    write_with_samples(folder / "f #1.json", _record("label-fixed", 400, 98))  # '#' would cut a raw link
    return folder


def _publish(runs: Path, out: Path, *extra: str) -> int:
    return main(["publish", str(runs), "--out", str(out), "--no-literature", *extra])


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("href", "src"):
            if a.get(key):
                self.targets.append(a[key])
        if a.get("id"):
            self.ids.add(a["id"])


@pytest.fixture
def board(tmp_path) -> Path:
    out = tmp_path / "board"
    assert _publish(_runs(tmp_path / "runs"), out) == 0
    return out


def test_every_link_of_the_page_resolves_to_a_file_of_the_site(board):
    parser = _Links()
    parser.feed((board / "index.html").read_text(encoding="utf-8"))
    local = [t for t in parser.targets if not t.startswith(("http://", "https://", "data:", "#"))]
    assert {"plotly.min.js", "plotly.css", "figures.js", "board.js", "sort.js", "style.css"} <= set(local)
    records = [t for t in local if t.startswith("records/")]
    assert len(records) >= 3  # every operating point links its record
    for target in local:
        assert (board / unquote(urlsplit(target).path)).is_file(), target
    for anchor in (t[1:] for t in parser.targets if t.startswith("#") and len(t) > 1):
        assert anchor in parser.ids, anchor


def test_copied_records_are_the_published_bytes_and_still_validate(board, tmp_path):
    copied = load_records([board / "records"])  # with their sample files: sha256 and rows re-checked
    originals = {p.name: p.read_bytes() for p in (tmp_path / "runs").glob("*.json")}
    assert sorted(i.path.read_bytes() for i in copied) == sorted(originals.values())
    assert all(i.path.with_suffix(".samples.csv").is_file() for i in copied)


def test_the_page_names_the_records_commits_not_the_checkouts(board):
    html = (board / "index.html").read_text(encoding="utf-8")
    assert COMMIT[:10] in html
    run = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    head = run.stdout.strip()
    assert not head or head[:10] not in html  # (outside a git checkout there is no HEAD to confuse)
    assert "vcmbench 9.9.9" in html  # the codec's package and version


def test_merge_adds_records_of_the_same_test_set(board, tmp_path, capsys):
    new = tmp_path / "submission"
    write_with_samples(new / "s.json", _record("newcodec", 200, 80, commit="fedcba9876543210"))
    assert _publish(new, board, "--merge") == 0
    assert "published (merged) 4 record(s)" in capsys.readouterr().out
    html = (board / "index.html").read_text(encoding="utf-8")
    assert "newcodec" in html and "fedcba9876" in html and COMMIT[:10] in html
    assert sorted(i.record.codec.name for i in load_records([board / "records"])) == [
        "label-fixed", "label-lossy", "label-lossy", "newcodec"]
    # The same submission again: its operating point is on the board already.
    assert _publish(new, board, "--merge") == 2
    err = capsys.readouterr().err
    assert "also in" in err and err.count("\n") == 1


def test_merge_refuses_another_test_set_in_one_line_and_leaves_the_board(board, tmp_path, capsys):
    before = {p: p.read_bytes() for p in board.rglob("*") if p.is_file()}
    new = tmp_path / "submission"
    write_with_samples(new / "s.json", _record("newcodec", 200, 80, fingerprint="another-test-set"))
    assert _publish(new, board, "--merge") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "another-test-set" in err and "fp" in err and "not the test set" in err
    assert {p: p.read_bytes() for p in board.rglob("*") if p.is_file()} == before


def test_merge_needs_a_published_board(tmp_path, capsys):
    assert _publish(_runs(tmp_path / "runs"), tmp_path / "empty", "--merge") == 2
    err = capsys.readouterr().err
    assert "holds no published records" in err and err.count("\n") == 1


def test_republishing_fewer_records_drops_the_others_from_the_site(board, tmp_path):
    (tmp_path / "runs" / "f #1.json").unlink()
    (tmp_path / "runs" / "f #1.samples.csv").unlink()
    assert _publish(tmp_path / "runs", board) == 0
    assert sorted(i.record.codec.name for i in load_records([board / "records"])) == [
        "label-lossy", "label-lossy"]
    assert "label-fixed" not in (board / "index.html").read_text(encoding="utf-8")


def test_codec_family_from_module_package_or_name():
    r = make_record("label-lossy")
    assert codec_family(r) == "label"  # no qualname (schema 1): the name's first word
    assert codec_family(replace(r, codec=replace(r.codec, qualname="vcmbench.codecs.images:Jpeg",
                                                 package="vcmbench"))) == "images"
    assert codec_family(replace(r, codec=replace(r.codec, qualname="acme.codec:C", package="acme-vcm"))) == \
        "acme-vcm"


def test_interactive_hulls_are_straight_in_bits_and_labels_escaped(tmp_path):
    records = [_record("label-lossy", 96, 50, t=1), _record("label-lossy", 352, 97, t=2),
               _record("<b>x</b>", 400, 98)]
    boards = build_boards([LoadedRecord(tmp_path / f"{i}.json", r) for i, r in enumerate(records)], [],
                          levels=[0.9])
    (b,) = boards
    figure = json.loads(json.dumps(board_figure_json(b)))
    hull = b.hulls["label-lossy"]
    (line,) = [t for t in figure["data"] if t["mode"] == "lines" and t.get("legendgroup") == "label-lossy"]
    assert len(line["x"]) > 3 * (len(hull) - 1)  # sampled along each segment, not a chord per segment
    for x, y in zip(line["x"], line["y"], strict=True):
        assert x == pytest.approx(bits_on_hull(hull, y), abs=1e-4)
    names = {t["name"] for t in figure["data"]}
    assert "&lt;b&gt;x&lt;/b&gt;" in names and "<b>x</b>" not in names
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["target accuracy 0.9"]


def test_board_plots_shade_bands_only_when_asked(tmp_path):
    import matplotlib.pyplot as plt

    from vcmbench.publish.plots import board_figure

    records = [_record("label-lossy", 96, 50, t=1), _record("label-lossy", 352, 97, t=2),
               _record("label-fixed", 400, 98)]
    (b,) = build_boards([LoadedRecord(tmp_path / f"{i}.json", r) for i, r in enumerate(records)], [],
                        levels=[0.9])
    plain, banded = board_figure(b), board_figure(b, bands=True)
    assert len(plain.axes[0].patches) == 0
    assert len(banded.axes[0].patches) == 2  # one band per codec
    plt.close(plain)
    plt.close(banded)
    out = tmp_path / "site"
    assert _publish(_runs(tmp_path / "runs"), out, "--bands") == 0
    assert (out / "plots" / "mnist.png").is_file()


def test_the_model_aware_table_of_tables_py_is_rendered_and_filterable(tmp_path):
    confusion = [[10 if k == y else 0 for k in range(10)] for y in range(5)]
    confusion += [[9 if k == y else (1 if k == (y + 1) % 10 else 0) for k in range(10)] for y in range(5, 10)]
    runs = tmp_path / "runs"
    for name, (bits, correct, t) in {"a1": (96, 50, 1), "a2": (352, 90, 2)}.items():
        r = _record("label-lossy", bits, correct, t=t)
        r = replace(r, task_model=replace(r.task_model, confusion=confusion))
        write_with_samples(runs / f"{name}.json", r)
    assert _publish(runs, tmp_path / "site") == 0
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    section = html[html.index("Where the gap is"):]
    table = section[:section.index("</table>")]
    assert '<tr data-mode="block" data-family="labels" data-literature="0">' in table
    assert "label-lossy" in table
