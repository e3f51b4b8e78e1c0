"""Open a cycle's reports in real headless Chromium and list what a reviewer would see broken.

Reusable by any test (the end-to-end test runs it on the real cycle)::

    from browser_check import check_reports_in_browser, require_chromium

    require_chromium()
    assert check_reports_in_browser(result.index, expected_links=5) == []

Selenium Manager is never asked to download anything: the Debian
``chromium`` and ``chromedriver`` binaries are passed explicitly and
``SE_OFFLINE`` is set.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

CHROMIUM = Path(os.environ.get("SOPKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("SOPKIT_CHROMEDRIVER", "/usr/bin/chromedriver"))

# Images that did not decode, and resources fetched from anywhere but the page's own files.
BROKEN_IMAGES_JS = """
return Array.from(document.images)
  .filter(img => !img.complete || img.naturalWidth === 0)
  .map(img => (img.getAttribute('src') || '(no src)').slice(0, 80));
"""
REMOTE_FETCHES_JS = """
return performance.getEntriesByType('resource')
  .map(entry => entry.name)
  .filter(url => !url.startsWith('file:') && !url.startsWith('data:'));
"""
COUNT_SCRIPTS_JS = "return document.scripts.length;"


def require_chromium() -> None:
    """Skip when Chromium is missing — or fail, when running in CI (``CI=true``)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if not missing:
        return
    message = (
        f"headless Chromium is needed for the browser checks but {', '.join(missing)} "
        "is missing (apt-get install chromium chromium-driver)"
    )
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(message + " — failing because CI is set", pytrace=False)
    pytest.skip(message)


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium WebDriver with browser console logging, closed afterwards."""
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="sopkit-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _page_problems(driver, label: str) -> list[str]:
    problems = []
    for entry in driver.get_log("browser"):
        if entry.get("level") == "SEVERE":
            problems.append(f"{label}: console error: {entry.get('message')}")
    for src in driver.execute_script(BROKEN_IMAGES_JS):
        problems.append(f"{label}: broken image {src}")
    for url in driver.execute_script(REMOTE_FETCHES_JS):
        problems.append(f"{label}: fetched from the network: {url}")
    scripts = driver.execute_script(COUNT_SCRIPTS_JS)
    if scripts:
        problems.append(f"{label}: has {scripts} <script> element(s)")
    if not driver.title.strip():
        problems.append(f"{label}: page has no title")
    return problems


def check_reports_in_browser(index_path: str | Path, expected_links: int = 5) -> list[str]:
    """Open ``index_path`` and every step page it links to; return the problems found.

    A problem is a console error (level SEVERE), an image that did not load,
    a resource fetched from outside the report folder, a ``<script>`` element,
    a link that does not lead to an existing page, or a number of step links
    other than ``expected_links``. An empty list means all is well.
    """
    from selenium.webdriver.common.by import By

    index_path = Path(index_path).resolve()
    if not index_path.is_file():
        return [f"{index_path} does not exist"]
    problems: list[str] = []
    with chromium() as driver:
        driver.get(index_path.as_uri())
        problems += _page_problems(driver, index_path.name)
        links = [
            a.get_attribute("href")
            for a in driver.find_elements(By.CSS_SELECTOR, "table.sop-steps a[href]")
        ]
        others = [
            a.get_attribute("href")
            for a in driver.find_elements(By.CSS_SELECTOR, "ul.sop-runs a[href]")
        ]
        if len(links) != expected_links:
            problems.append(f"index links to {len(links)} step page(s), expected {expected_links}")
        for href in links + others:
            if not href.startswith("file://"):
                problems.append(f"link {href} does not point to a local file")
                continue
            label = "/".join(href.split("/")[-2:])
            if not Path(url2pathname(urlparse(href).path)).is_file():
                problems.append(f"{label}: linked page does not exist")
                continue
            driver.get(href)
            if driver.execute_script(
                "return document.body === null || document.body.innerText.trim() === ''"
            ):
                problems.append(f"{label}: page is empty or missing")
                continue
            problems += _page_problems(driver, label)
    return problems
