"""The reports as a reviewer opens them: real headless Chromium, file:// URLs, offline."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from browser_check import check_reports_in_browser, require_chromium

from sopkit.errors import StepFailedError
from sopkit.runner import run_cycle

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_reports_open_cleanly_in_chromium(tmp_path):
    require_chromium()
    common = dict(
        cycle="2024-05",
        data_dir="",
        params={"label": "browser"},
        workspace=tmp_path / "runs",
        reports=tmp_path / "reports",
        notebooks=FIXTURES,
        progress=None,
    )
    # an earlier failed run, so the index has a previous run and an error page to check
    with pytest.raises(StepFailedError):
        run_cycle(**common, steps=["fx_fail"], now=datetime(2024, 5, 1, 8, 0, 0))
    result = run_cycle(**common, steps=["fx_table", "fx_plot"], now=datetime(2024, 5, 2, 8, 0, 0))

    problems = check_reports_in_browser(result.index, expected_links=2)
    assert problems == []


def test_browser_check_reports_problems(tmp_path):
    require_chromium()
    folder = tmp_path / "reports" / "2024-05"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(
        "<html><head><title>x</title></head><body>"
        '<table class="sop-steps"><tr><td><a href="missing.html">gone</a></td></tr></table>'
        '<img src="data:image/png;base64,AAAA"><script>console.error("oops")</script>'
        "</body></html>"
    )
    problems = check_reports_in_browser(folder / "index.html", expected_links=2)
    text = "\n".join(problems)
    assert "broken image" in text
    assert "console error" in text and "oops" in text
    assert "<script> element" in text
    assert "expected 2" in text
    assert "missing.html: linked page does not exist" in text
