"""What `vcmbench publish` writes: README tables, CSV, PNG/SVG plots and the page, all escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import binomtest

from test_publish_board import eq4
from test_publish_records import make_record
from vcmbench.api.record import write_record
from vcmbench.cli import main
from vcmbench.publish.escape import csv_cell, html_text, markdown_text, plot_label

SHIPPED = Path(__file__).resolve().parents[1] / "leaderboard" / "literature"
XSS = "<script>alert(1)</script>"
NASTY = 'x|y`z` *b* [l](javascript:alert(2)) "><img src=q onerror=alert(3)> $\\alpha$ =cmd'


def write_runs(folder: Path) -> None:
    write_record(
        folder / "lossy" / "a.json",
        make_record("label-lossy", 96, 50, counts=(10,) * 10, suite="mnist", dataset_id="mnist-5k", t=1),
    )
    write_record(
        folder / "lossy" / "b.json",
        make_record("label-lossy", 352, 97, counts=(10,) * 10, suite="mnist", dataset_id="mnist-5k", t=2),
    )
    write_record(
        folder / "xss.json",
        make_record(XSS, 504, 92, counts=(10,) * 10, suite="mnist", dataset_id="mnist-5k", note=NASTY),
    )
    write_record(
        folder / "nasty.json",
        make_record(NASTY, 704, 95, counts=(10,) * 10, suite="mnist", dataset_id="mnist-5k"),
    )
    write_record(
        folder / "formula.json",
        make_record("=1+1", 800, 95, counts=(10,) * 10, suite="mnist", dataset_id="mnist-5k"),
    )
    write_record(
        folder / "failed.json",
        make_record("broken", counts=(10,) * 10, suite="mnist", dataset_id="mnist-5k", status="failed"),
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("publish")
    write_runs(root / "runs")
    out = root / "site"
    assert main(["publish", str(root / "runs"), "--out", str(out), "--literature", str(SHIPPED)]) == 0
    return out


def test_writes_every_artefact(site):
    for name in (
        "README.md",
        "index.html",
        "sort.js",
        "style.css",
        "mnist.csv",
        "modelnet40.csv",
        "coco.csv",
    ):
        assert (site / name).is_file(), name
    for stem in ("mnist", "modelnet40"):
        assert (site / "plots" / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        root = ET.parse(site / "plots" / f"{stem}.svg").getroot()
        assert root.tag.endswith("svg")
    assert not (site / "plots" / "coco.png").exists()  # mAP has no rate-accuracy plot


def test_csv_holds_recomputed_numbers_and_reported_rows(site):
    frame = pd.read_csv(site / "mnist.csv")
    row = frame[frame.codec == "label-lossy"].sort_values("score").iloc[1]
    assert row.bits_per_sample == pytest.approx(3.52) and row.score == pytest.approx(0.97)
    assert row.gap_bits == pytest.approx(3.52 - eq4(10, 0.03), abs=1e-6)
    vic = frame[frame.source == "reported, not reproduced"]
    assert len(vic) == 1 and vic.iloc[0].bits_per_sample == 5.7 and vic.iloc[0].score == 0.991
    assert "Dubois" in vic.iloc[0].citation
    assert {XSS, NASTY, "'=1+1"} <= set(frame.codec)  # verbatim, but no cell starts a spreadsheet formula


def test_csv_cells_never_start_a_formula():
    assert (
        csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and csv_cell("@x") == "'@x" and csv_cell("ok") == "ok"
    )
    assert csv_cell(-1.5) == -1.5


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_markdown_tables_keep_their_columns_and_show_names_as_text(site):
    text = (site / "README.md").read_text(encoding="utf-8")
    assert "<script" not in text and "<img" not in text
    assert not re.search(r"(?<!\\)\]\(javascript", text)  # the bracket is escaped: no link
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    for block in re.findall(r"((?:^\|.*\|$\n?)+)", text, flags=re.M):
        lines = block.strip().splitlines()
        assert len({_unescaped_pipes(line) for line in lines}) == 1, lines[0]
    assert "reported, not reproduced" in text and "mAP" in text and "not classification accuracy" in text
    assert text.count("**Ranking.**") == 1 and text.count("**BD-bits and BD-rate.**") == 1
    for title in ("Achievable curves", "Uncertainty", "Priors", "Integrity"):
        assert f"**{title}.**" in text


def test_each_board_says_which_prior_and_free_point_it_uses(site):
    text = (site / "README.md").read_text(encoding="utf-8")
    assert "No free point: the records carry no training-split counts" in text
    assert "bound of its own test set, label prior of the MNIST test split (10,000 samples" in text
    assert "bound: label prior of the ModelNet40 test split (2,468 samples, K=40)" in text
    assert "Overall rank: mean gap over the levels every ranked codec reaches" in text


def test_csv_and_tables_carry_the_confidence_interval(site):
    frame = pd.read_csv(site / "mnist.csv")
    row = frame[frame.codec == "label-lossy"].sort_values("score").iloc[1]  # 97 of 100 correct
    exact = binomtest(97, 100).proportion_ci(confidence_level=0.95, method="exact")
    assert (row.score_ci_low, row.score_ci_high) == pytest.approx((exact.low, exact.high), abs=1e-9)
    assert row.bound_bits_at_ci_low == pytest.approx(eq4(10, 1 - exact.low), abs=1e-6)
    assert row.bound_bits_at_ci_high == pytest.approx(eq4(10, 1 - exact.high), abs=1e-6)
    text = (site / "README.md").read_text(encoding="utf-8")
    assert "accuracy 95% CI" in text and f"\\[{exact.low:.4f}, {exact.high:.4f}\\]" in text


def test_markdown_escaping_rules():
    assert markdown_text("a|b") == "a\\|b"
    assert markdown_text("`x` *y* _z_ [l]") == "\\`x\\` \\*y\\* \\_z\\_ \\[l\\]"
    assert markdown_text("<b>&") == "&lt;b&gt;&amp;"
    assert markdown_text("two\nlines") == "two lines"
    assert html_text('<a href="x">') == "&lt;a href=&quot;x&quot;&gt;"
    assert plot_label("$x$") == r"\$x\$"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.cells: list[str] = []
        self._in_td = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_td = tag == "td"
        if self._in_td:
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_td = False

    def handle_data(self, data):
        if self._in_td:
            self.cells[-1] += data


def test_page_is_offline_escaped_and_explains_the_ranking(site):
    html = (site / "index.html").read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(html)
    scripts = [a for t, a in parser.tags if t == "script"]
    # The only scripts: files beside the page (plotly's own JS is copied there, no CDN).
    assert scripts == [{"src": name, "defer": None} for name in ("plotly.min.js", "figures.js", "sort.js",
                                                                  "board.js")]
    assert all((site / a["src"]).is_file() for a in scripts)
    assert not any("onerror" in a for _, a in parser.tags)
    for tag, attrs in parser.tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not value.startswith(("http://", "https://", "//")) or tag == "a", (tag, value)
    assert XSS in parser.cells and NASTY in parser.cells  # shown as text, exactly
    imgs = [a["src"] for t, a in parser.tags if t == "img"]
    assert sorted(imgs) == ["plots/mnist.png", "plots/modelnet40.png"]
    assert "Content-Security-Policy" in html and "script-src 'self'" in html
    assert "reported, not reproduced" in html and "not classification accuracy" in html
    assert "piecewise-linear" in html and "matched accuracy" in html and "free point" in html
    assert "Failed operating points" in html and "broken" in html


def test_sorter_and_styles_are_local_files(site):
    for name in ("sort.js", "board.js", "figures.js"):
        js = (site / name).read_text(encoding="utf-8")
        assert "http" not in js, name
    assert "addEventListener" in (site / "sort.js").read_text(encoding="utf-8")
    assert "url(" not in (site / "style.css").read_text(encoding="utf-8")


def test_publishing_twice_gives_the_same_files(site, tmp_path):
    out = tmp_path / "again"
    assert main(["publish", str(site.parent / "runs"), "--out", str(out), "--literature", str(SHIPPED)]) == 0
    for name in ("README.md", "index.html", "mnist.csv", "plots/mnist.svg", "figures.js"):
        assert (out / name).read_bytes() == (site / name).read_bytes(), name


def test_bad_levels_and_a_file_as_out_are_one_line_errors(site, tmp_path, capsys):
    assert main(["publish", str(site.parent / "runs"), "--levels", "0.5,x", "--out", str(tmp_path)]) == 2
    assert "--levels" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert (
        main(["publish", str(site.parent / "runs"), "--out", str(tmp_path / "file"), "--no-literature"]) == 2
    )
    assert "is not a folder" in capsys.readouterr().err
