"""The published page in a real headless Chromium: tables render, filter and sort, plots load, no XSS.

Needs chromium and chromedriver on PATH; ``scripts/install-browser`` installs Debian's (``.ci/run`` runs
it before the tests). Without them the test skips and says so; it never installs anything itself.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from test_publish_records import make_record
from vcmbench.api.record import write_record
from vcmbench.publish.build import publish

ROOT = Path(__file__).resolve().parents[1]
XSS = "<script>alert(1)</script>"
SAMPLE_COMMIT = "feedc0ffee1234567890"
ATTRIBUTE_XSS = '"><img src=x onerror="window.pwned=1">'
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _binaries() -> tuple[str | None, str | None]:
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
    return browser, shutil.which("chromedriver")


def _browser_or_skip() -> tuple[str, str]:
    """The browser and its driver from PATH, or a skip that says how to get them. The tests never install
    anything: that changes the machine outside the repository (``.ci/run`` installs them first)."""
    browser, driver = _binaries()
    if not (browser and driver):
        missing = " and ".join(n for n, p in (("chromium", browser), ("chromedriver", driver)) if not p)
        pytest.skip(f"{missing} not on PATH; install them with scripts/install-browser (needs root), "
                    "as .ci/run does before the tests")
    return browser, driver


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    _browser_or_skip()  # before publishing: a skip should not cost a publish
    root = tmp_path_factory.mktemp("site")
    counts = (10,) * 10
    for i, (bits, correct) in enumerate([(96, 50), (200, 80), (352, 97)]):
        write_record(
            root / "runs" / f"lossy{i}.json",
            make_record("label-lossy", bits, correct, counts=counts, suite="mnist", t=i),
        )
    write_record(
        root / "runs" / "fixed.json", make_record("label-fixed", 400, 98, counts=counts, suite="mnist")
    )
    write_record(
        root / "runs" / "xss.json", make_record(XSS, 504, 92, counts=counts, suite="mnist", q=ATTRIBUTE_XSS)
    )
    write_record(
        root / "runs" / "attr.json", make_record(ATTRIBUTE_XSS, 800, 95, counts=counts, suite="mnist")
    )
    # One codec coded sample by sample, measured at another commit; and a second suite.
    sample = make_record("label-sample", 800, 60, counts=counts, suite="mnist", granularity="sample",
                         blocks=100)
    write_record(root / "runs" / "sample.json",
                 replace(sample, provenance=replace(sample.provenance, git_commit=SAMPLE_COMMIT)))
    for i, (bits, correct) in enumerate([(200, 40), (800, 90)]):
        write_record(root / "runs" / "other" / f"{i}.json",
                     make_record("other-codec", bits, correct, suite="othersuite", t=i))
    publish([root / "runs"], root / "site", literature_dir=ROOT / "leaderboard" / "literature")
    return root / "site"


@pytest.fixture(scope="module")
def driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, chromedriver = _browser_or_skip()
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="vcmbench-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = browser
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # chromium and chromedriver keep crash reports and settings under $HOME: point HOME at the profile,
    # so the test changes nothing outside the repository and the temporary folder.
    service = Service(executable_path=chromedriver, env={**os.environ, "HOME": profile})
    drv = webdriver.Chrome(options=options, service=service)
    drv.set_page_load_timeout(60)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _table_after(drv, heading: str):
    from selenium.webdriver.common.by import By

    return drv.find_element(
        By.XPATH, f"//h3[starts-with(normalize-space(.), '{heading}')]/following::table[1]"
    )


def _column(table, index: int) -> list[str | None]:
    return table.parent.execute_script(
        "const i = arguments[1];"
        "return Array.from(arguments[0].tBodies[0].rows,"
        " r => r.cells[i].getAttribute('data-value') ?? r.cells[i].textContent);",
        table,
        index,
    )


def test_page_in_headless_chromium(site, driver):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    driver.get((site / "index.html").as_uri())
    assert driver.execute_script("return document.readyState") == "complete"

    # The tables render, with the hostile codec names as plain text.
    ranking = _table_after(driver, "Ranking")
    names = [
        row.find_elements(By.TAG_NAME, "td")[1].text
        for row in ranking.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]
    assert XSS in names and ATTRIBUTE_XSS in names and "label-lossy" in names
    assert any("reported, not reproduced" in n for n in names)
    scripts = driver.execute_script("return Array.from(document.scripts, s => s.getAttribute('src'))")
    assert scripts == ["plotly.min.js", "figures.js", "sort.js", "board.js"]  # files beside the page
    assert driver.execute_script("return window.pwned") is None
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - reading it is the check

    # Clicking a numeric header sorts by value, again reverses; a text header sorts by name.
    points = _table_after(driver, "All operating points")
    headers = points.find_elements(By.CSS_SELECTOR, "thead th")
    bits_col = [h.text.strip() for h in headers].index("bits/sample")
    before = [float(v) for v in _column(points, bits_col)]
    assert before != sorted(before)  # the page lists points by codec, so sorting must move rows
    headers[bits_col].click()
    assert [float(v) for v in _column(points, bits_col)] == sorted(before)
    assert headers[bits_col].get_attribute("aria-sort") == "ascending"
    headers[bits_col].click()
    assert [float(v) for v in _column(points, bits_col)] == sorted(before, reverse=True)
    headers[0].click()
    codecs = [c.strip().lower() for c in _column(points, 0)]
    assert headers[0].get_attribute("aria-sort") == "ascending"
    assert codecs == driver.execute_script(
        "return arguments[0].slice().sort((a, b) => a.localeCompare(b, undefined, {numeric: true}))", codecs
    )

    # Every plot image loaded (the static ones sit in closed <details> for print).
    images = driver.find_elements(By.TAG_NAME, "img")
    assert len(images) >= 2
    for img in images:
        assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 0

    # The interactive plots were drawn by the plotly.js in the folder, hostile names shown as text.
    legend = driver.execute_script(
        "const d = document.querySelector('section[data-suite=mnist] div.iplot');"
        "return d && d.querySelector('.main-svg') ? Array.from(d.querySelectorAll('.legendtext'),"
        " t => t.textContent) : null;")
    assert legend is not None and XSS in legend and "label-lossy" in legend
    assert driver.execute_script("return window.pwned") is None

    # No errors in the console (CSP violations from injected markup or styles would show here) ...
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    # ... and the console log is really being read.
    driver.execute_script("console.error('vcmbench-probe')")
    assert any("vcmbench-probe" in e["message"] for e in driver.get_log("browser"))


def _visible_rows(drv, table) -> list:
    from selenium.webdriver.common.by import By

    return [r for r in table.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()]


def _cell_texts(drv, table, index: int) -> list[str]:
    from selenium.webdriver.common.by import By

    return [r.find_elements(By.TAG_NAME, "td")[index].text for r in _visible_rows(drv, table)]


def test_page_filters_search_and_sorts_in_headless_chromium(site, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get((site / "index.html").as_uri())
    assert driver.find_element(By.ID, "filters").is_displayed()
    mnist = driver.find_element(By.CSS_SELECTOR, "section[data-suite=mnist]")
    points = mnist.find_element(By.XPATH, ".//h3[starts-with(., 'All operating points')]/following::table[1]")
    headers = points.find_elements(By.CSS_SELECTOR, "thead th")
    names = [h.text.strip() for h in headers]
    mode_col, bits_col = names.index("mode"), names.index("bits/sample")
    everything = len(_visible_rows(driver, points))
    assert everything == 7

    # Mode: block only, then sorted by bits: the visible rows are the block ones, in order.
    Select(driver.find_element(By.ID, "filter-mode")).select_by_value("block")
    assert set(_cell_texts(driver, points, mode_col)) == {"block"}
    assert len(_visible_rows(driver, points)) == everything - 1
    headers[bits_col].click()
    bits = [float(t) for t in _cell_texts(driver, points, bits_col)]
    assert bits == sorted(bits) and len(bits) == everything - 1
    # ... and the plot hides the sample-coded codec's traces.
    hidden = driver.execute_script(
        "const d = document.querySelector('section[data-suite=mnist] div.iplot');"
        "return d.data.filter(t => t.meta && t.meta.mode === 'sample').map(t => t.visible);")
    assert hidden and all(v is False for v in hidden)
    Select(driver.find_element(By.ID, "filter-mode")).select_by_value("sample")
    assert _cell_texts(driver, points, 0) == ["label-sample"]
    Select(driver.find_element(By.ID, "filter-mode")).select_by_value("")

    # Search narrows every table to rows holding the words; sorting keeps the filter.
    box = driver.find_element(By.ID, "filter-search")
    box.send_keys("lossy")
    assert set(_cell_texts(driver, points, 0)) == {"label-lossy"}
    shown = driver.execute_script(
        "const d = document.querySelector('section[data-suite=mnist] div.iplot');"
        "return d.data.filter(t => t.meta && t.visible !== false).map(t => t.name);")
    assert set(shown) == {"label-lossy"}  # the plot follows the search too
    headers[bits_col].click()  # descending now
    bits = [float(t) for t in _cell_texts(driver, points, bits_col)]
    assert bits == sorted(bits, reverse=True) and len(bits) == 3
    box.clear()
    box.send_keys("x")  # the input event fires on typing; clear() alone does not
    box.send_keys("\b")
    assert len(_visible_rows(driver, points)) == everything

    # Literature off: reported rows and literature-only boards disappear; suite filter hides other suites.
    ranking = mnist.find_element(By.XPATH, ".//h3[starts-with(., 'Ranking')]/following::table[1]")
    assert any("reported" in t for t in _cell_texts(driver, ranking, 1))
    driver.find_element(By.ID, "filter-literature").click()
    assert not any("reported" in t for t in _cell_texts(driver, ranking, 1))
    literature_only = driver.find_elements(By.CSS_SELECTOR, "section[data-literature-only='1']")
    assert literature_only and not any(s.is_displayed() for s in literature_only)
    driver.find_element(By.ID, "filter-literature").click()
    Select(driver.find_element(By.ID, "filter-suite")).select_by_value("othersuite")
    assert not mnist.is_displayed()
    assert driver.find_element(By.CSS_SELECTOR, "section[data-suite=othersuite]").is_displayed()
    Select(driver.find_element(By.ID, "filter-suite")).select_by_value("")

    # Codec family: the built-in-less test records fall back to the codec name's first word.
    Select(driver.find_element(By.ID, "filter-family")).select_by_value("label")
    assert set(_cell_texts(driver, points, 0)) == {"label-lossy", "label-fixed", "label-sample"}
    Select(driver.find_element(By.ID, "filter-family")).select_by_value("")


def test_every_link_resolves_and_rows_name_their_record_package_and_commit(site, driver):
    from selenium.webdriver.common.by import By

    driver.get((site / "index.html").as_uri())
    targets = driver.execute_script(
        "return Array.from(document.querySelectorAll('[href], [src]'),"
        " e => e.getAttribute('href') ?? e.getAttribute('src'));")
    local = [t for t in targets if not t.startswith(("http://", "https://", "#", "data:"))]
    assert len(local) > 10
    for target in local:
        assert (site / unquote(urlsplit(target).path)).is_file(), target
    for anchor in (t for t in targets if t.startswith("#") and len(t) > 1):
        assert driver.find_elements(By.ID, anchor[1:]), anchor

    # Each operating point links to its own record, and names its package and the commit it came from.
    points = _table_after(driver, "All operating points")
    names = [h.text.strip() for h in points.find_elements(By.CSS_SELECTOR, "thead th")]
    for row in points.find_elements(By.CSS_SELECTOR, "tbody tr"):
        cells = row.find_elements(By.TAG_NAME, "td")
        href = cells[names.index("record")].find_element(By.TAG_NAME, "a").get_attribute("href")
        record = json.loads(Path(unquote(urlsplit(href).path)).read_text(encoding="utf-8"))
        assert record["codec"]["name"] == cells[0].text
        assert cells[names.index("commit")].text == record["provenance"]["git_commit"][:10]
    summary = driver.find_element(By.ID, "summary").text
    assert SAMPLE_COMMIT[:10] in summary and "0123456789" in summary
