"""The published page in a real headless Chromium: tables render and sort, plots load, no errors, no XSS.

Needs chromium and chromedriver on PATH; ``scripts/install-browser`` installs Debian's (``.ci/run`` runs
it before the tests). Without them the test skips and says so; it never installs anything itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from test_publish_records import make_record
from vcmbench.api.record import write_record
from vcmbench.publish.build import publish

ROOT = Path(__file__).resolve().parents[1]
XSS = "<script>alert(1)</script>"
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
    assert driver.execute_script("return document.scripts.length") == 1  # only sort.js
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

    # Every plot image loaded.
    images = driver.find_elements(By.TAG_NAME, "img")
    assert len(images) >= 2
    for img in images:
        assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 0

    # No errors in the console (CSP violations from injected markup would show here) ...
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    # ... and the console log is really being read.
    driver.execute_script("console.error('vcmbench-probe')")
    assert any("vcmbench-probe" in e["message"] for e in driver.get_log("browser"))
