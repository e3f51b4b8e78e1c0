"""Step pages and cycle indexes, from hand-made executed notebooks (no kernel needed)."""

from __future__ import annotations

import base64
import html
import re
from datetime import datetime
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import sopkit
from sopkit.display import bar_chart, figure_png, line_chart, show_table
from sopkit.errors import StepFailedError
from sopkit.report import ReportHeader, export_step_html, make_offline, write_index
from sopkit.runner import CycleResult, StepResult
from sopkit.workspace import STEP_TITLES, STEPS

CODE = "import pandas as pd\nfrom sopkit.display import show_table\nsecret_variable = 42"
ANSI_TRACEBACK = [
    "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
    "\x1b[0;31mKeyError\x1b[0m                                  Traceback (most recent call last)",
    "File \x1b[0;32m<ipython-input-3>:1\x1b[0m\n----> 1 frame['qty_missing']",
    "\x1b[0;31mKeyError\x1b[0m: 'qty_missing'",
]
HEADER = ReportHeader(
    cycle="2024-05",
    title="Demand review",
    run_at=datetime(2024, 5, 2, 9, 30, 5),
    parameters={"horizon": 18, "service_level": 0.95, "note": "<b>bold</b>"},
    fingerprint="sha256:feedbeef",
)
# Every URL-valued attribute of an element the browser would fetch.
FETCHING = re.compile(
    r"<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*\s"
    r"""(?:src|href|data|srcset)\s*=\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)


def _executed_notebook(tmp_path: Path, *, failing: bool = False) -> Path:
    frame = pd.DataFrame(
        {
            "sku": ["A-1", "B-2"],
            "period": pd.to_datetime(["2024-05-01", "2024-06-01"]),
            "qty_consensus": [1234.0, 98765.0],
            "note": ["<script>alert('x')</script>", "ship & pray"],
        }
    )
    table = show_table(frame, caption="Consensus <demand>")
    png = base64.b64encode(
        figure_png(line_chart(frame, "period", "qty_consensus", title="Demand"))
    ).decode()
    cells = [
        new_markdown_cell("# Demand review\n\nWhat changed since **last month**."),
        new_code_cell("horizon = 18", metadata={"tags": ["parameters"]}),
        new_code_cell(
            CODE,
            execution_count=2,
            outputs=[
                new_output("stream", name="stderr", text="UserWarning: something noisy\n"),
            ],
        ),
        new_code_cell(
            "show_table(frame)",
            execution_count=3,
            outputs=[
                new_output(
                    "execute_result",
                    execution_count=3,
                    data={"text/html": table.html, "text/plain": table.text},
                ),
            ],
        ),
        new_code_cell(
            "frame",
            execution_count=4,
            outputs=[
                new_output(
                    "execute_result",
                    execution_count=4,
                    data={"text/html": frame.to_html(), "text/plain": repr(frame)},
                ),
            ],
        ),
        new_code_cell(
            "fig",
            execution_count=5,
            outputs=[
                new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"},
                           metadata={"image/png": {"alt": 'Demand "all" <SKUs>. y: units.'}}),
                new_output(
                    "display_data",
                    data={
                        "application/javascript": "console.log('x')",
                        "text/plain": "<Javascript>",
                    },
                ),
                new_output(
                    "display_data",
                    data={
                        "application/vnd.jupyter.widget-view+json": {"model_id": "abc"},
                        "text/plain": "IntSlider(value=3)",
                    },
                ),
                new_output(
                    "display_data",
                    data={
                        "text/html": '<div>cdn<script src="https://cdn.example.com/x.js"></script></div>',
                        "text/plain": "cdn",
                    },
                ),
            ],
        ),
        new_code_cell(
            "print('for JupyterLab only')",
            metadata={"tags": ["remove-cell"]},
            outputs=[new_output("stream", name="stdout", text="lab only\n")],
        ),
    ]
    if failing:
        cells.append(
            new_code_cell(
                "frame['qty_missing']",
                execution_count=6,
                outputs=[
                    new_output(
                        "error", ename="KeyError", evalue="'qty_missing'", traceback=ANSI_TRACEBACK
                    )
                ],
            )
        )
    nb = new_notebook(cells=cells)
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def page(tmp_path) -> str:
    out = export_step_html(_executed_notebook(tmp_path), tmp_path / "r" / "02.html", header=HEADER)
    assert out == tmp_path / "r" / "02.html"
    return out.read_text(encoding="utf-8")


def test_step_page_has_no_code(page):
    for line in CODE.splitlines():
        assert line not in page
    assert "secret_variable" not in page and "show_table(frame)" not in page
    assert "In&nbsp;[" not in page and "Out[" not in page
    assert "jp-InputPrompt" not in page and "highlight" not in page
    assert "lab only" not in page  # remove-cell tag


def test_step_page_has_header_fields(page):
    for text in (
        "2024-05",
        "Demand review",
        "2024-05-02 09:30:05",
        "sha256:feedbeef",
        sopkit.__version__,
        "horizon",
        "18",
        "service_level",
        "0.95",
    ):
        assert text in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    assert "<title>S&amp;OP 2024-05 — Demand review</title>" in page
    # back to the run's index (its sibling); the parameters folded away
    assert '<a href="index.html">← All steps of this run</a>' in page
    assert "<summary>3 parameters of this step</summary>" in page


def test_step_page_embeds_plots_and_tables(page):
    images = re.findall(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 1
    assert base64.b64decode(images[0]).startswith(b"\x89PNG")
    # the chart's alt text from its output metadata, escaped
    alts = re.findall(r'<img[^>]*\balt=(["\'])(.*?)\1', page)
    assert [html.unescape(text) for _, text in alts] == ['Demand "all" <SKUs>. y: units.']
    assert "<SKUs>" not in page
    assert "No description has been provided" not in page
    assert "Consensus &lt;demand&gt;" in page
    assert "98,765" in page and "2024-06" in page
    assert "What changed since <strong>last month</strong>." in page


def test_step_page_escapes_user_text(page):
    assert "<script>alert" not in page
    # the page is re-serialised by nbconvert, so quotes may be written plainly
    assert page.count("&lt;script&gt;alert('x')&lt;/script&gt;") == 2  # both tables
    assert "ship &amp; pray" in page


def test_step_page_is_offline_and_script_free(page):
    assert "<script" not in page.lower()
    assert not FETCHING.search(page)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", page)
    assert "cdn.example.com" not in page
    assert "IntSlider(value=3)" in page  # a widget shows its text fallback
    assert "Javascript" not in page
    assert "something noisy" not in page  # stderr


def test_failed_step_shows_error_without_traceback(tmp_path):
    out = export_step_html(
        _executed_notebook(tmp_path, failing=True), tmp_path / "f.html", header=HEADER
    )
    page = out.read_text()
    assert "Error in this step:</strong> KeyError: 'qty_missing'" in page
    assert "This step did not finish." in page
    assert "Traceback" not in page and "\x1b" not in page and "[0;31m" not in page
    assert "ipython-input" not in page and "-----" not in page


def test_make_offline_neutralises_remote_references():
    page = (
        '<link rel="stylesheet" href="https://cdn/x.css"><style>@import url("//f/a.css");'
        'body{background:url(https://x/y.png)}</style><img src="https://x/y.png">'
        '<iframe src=//x/y></iframe><a href="https://example.com/doc">doc</a>'
        '<script>alert(1)</script><img src="data:image/png;base64,AAAA">'
    )
    clean = make_offline(page)
    assert not FETCHING.search(clean)
    assert "<script" not in clean and "<link" not in clean and "@import" not in clean
    assert "url(https" not in clean
    assert '<a href="https://example.com/doc">doc</a>' in clean  # links are not fetches
    assert 'src="data:image/png;base64,AAAA"' in clean
    assert "external image left out" in clean


def _result(reports: Path, run_stamp: str, *, failed_at: int | None = None) -> CycleResult:
    run_dir = reports / "2024-05" / run_stamp
    run_dir.mkdir(parents=True)
    steps = []
    for number, step in enumerate(STEPS, start=1):
        report = run_dir / f"{step}.html"
        if failed_at is not None and number > failed_at:
            steps.append(StepResult(step, "skipped", 0.0, Path(f"{step}.ipynb"), None))
            continue
        report.write_text("<html><title>x</title><body>step</body></html>")
        error = None
        if number == failed_at:
            error = StepFailedError(step, 2, "DataError", "bad <row>", str(report))
        steps.append(
            StepResult(
                step,
                "failed" if error else "ok",
                1.25 * number,
                Path(f"{step}.ipynb"),
                report,
                error,
            )
        )
    return CycleResult(
        cycle="2024-05",
        run_stamp=run_stamp,
        steps=steps,
        index=reports / "2024-05" / "index.html",
        run_dir=run_dir,
        ok=failed_at is None,
        parameters={"horizon": 18},
        fingerprint="sha256:feedbeef",
        started_at=datetime.strptime(run_stamp, "%Y%m%d-%H%M%S"),
    )


def test_index_links_every_step(tmp_path):
    result = _result(tmp_path, "20240502-093000")
    index = write_index(result, tmp_path, summary_html='<div class="sop-kpis">KPI tiles</div>')
    assert index == tmp_path / "2024-05" / "index.html"
    run_page = (result.run_dir / "index.html").read_text()
    top = index.read_text()
    assert "All steps of this run" not in run_page + top  # no link to itself
    for step in STEPS:
        assert f'<a href="{step}.html">{STEP_TITLES[step]}</a>' in run_page
        assert f'<a href="20240502-093000/{step}.html">{STEP_TITLES[step]}</a>' in top
    assert top.count('class="sop-status sop-status-ok"') == 5
    assert "6.2 s" in top  # 1.25 * 5, one decimal
    assert '<div class="sop-kpis">KPI tiles</div>' in top and "KPI tiles" in run_page
    assert "sha256:feedbeef" in top and "first run of the cycle" in top
    assert "<summary>1 parameter of this run</summary>" in top  # the run's, not a step's
    assert "<script" not in top
    assert (result.run_dir / "run.json").is_file()


def test_second_run_keeps_the_first(tmp_path):
    first = _result(tmp_path, "20240502-093000", failed_at=3)
    write_index(first, tmp_path)
    first_page = (first.run_dir / "index.html").read_text()
    assert "bad &lt;row&gt;" in first_page and "sop-status-skipped" in first_page
    assert '<a href="04_reconciliation.html">' not in first_page  # skipped: no link

    second = _result(tmp_path, "20240503-101500")
    top = write_index(second, tmp_path).read_text()
    assert (first.run_dir / "index.html").read_text() == first_page  # untouched
    assert (first.run_dir / "03_supply_review.html").is_file()
    previous = top[top.index("Previous runs") :]
    assert '<a href="20240502-093000/index.html">2024-05-02 09:30:00</a>' in previous
    assert "sop-status-failed" in previous
    assert '<a href="20240503-101500/01_product_review.html">' in top
    assert "20240503-101500/index.html" not in previous  # the latest is not "previous"


def test_index_states_the_plan_status_escaped(tmp_path):
    from sopkit.report import NO_STORE_STATUS, PLAN_STATUS_END, PLAN_STATUS_START

    result = _result(tmp_path, "20240502-093000")
    hostile = 'Approved: version 1 by <script>alert("x")</script> on 2024-05-03 (note: a & b)'
    top = write_index(result, tmp_path, plan_status=hostile).read_text()
    run_page = (result.run_dir / "index.html").read_text()
    for page in (top, run_page):
        assert page.count(PLAN_STATUS_START) == page.count(PLAN_STATUS_END) == 1
        assert ("<p>Approved: version 1 by &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
                "on 2024-05-03 (note: a &amp; b)</p>") in page
        assert "<script" not in page
        assert 'data-run-stamp="20240502-093000"' in page
    # before the summary and the steps: the first thing after the outcome
    assert top.index("Plan of record") < top.index("<h2>Steps</h2>")
    plain = write_index(_result(tmp_path, "20240503-101500"), tmp_path).read_text()
    assert NO_STORE_STATUS in plain.replace("&#x27;", "'")


def test_refreshing_the_plan_status_changes_only_its_block(tmp_path):
    from sopkit.report import latest_run_stamp, refresh_plan_status, replace_plan_status

    first = _result(tmp_path, "20240502-093000")
    write_index(first, tmp_path, plan_status="Draft version 1, not approved.")
    second = _result(tmp_path, "20240503-101500")
    index = write_index(second, tmp_path, plan_status="Draft version 2, not approved.")
    cycle_reports = tmp_path / "2024-05"
    before = {p: p.read_text() for p in cycle_reports.rglob("index.html")}
    assert latest_run_stamp(cycle_reports) == "20240503-101500"
    assert latest_run_stamp(tmp_path / "2099-01") is None  # no index: nothing to refresh

    pages = refresh_plan_status(cycle_reports, "Approved: version 2 by <b>Ann</b>.",
                                run_stamp="20240503-101500")
    assert pages == [index, second.run_dir / "index.html"]
    for path in pages:
        old, new = before[path], path.read_text()
        assert "Approved: version 2 by &lt;b&gt;Ann&lt;/b&gt;." in new
        assert "Draft version 2" not in new
        start, end = old.index("<!-- sop:plan-status -->"), old.index("<!-- /sop:plan-status -->")
        assert new.startswith(old[:start]) and new.endswith(old[end:])  # the rest intact
    # the first run's own page is history: untouched
    assert (first.run_dir / "index.html").read_text() == before[first.run_dir / "index.html"]

    # a page written before the block existed gets one after its header
    legacy = "<html><body><header>h</header><h2>Steps</h2></body></html>"
    block = "<!-- sop:plan-status -->x<!-- /sop:plan-status -->"
    assert replace_plan_status(legacy, block) == (
        "<html><body><header>h</header>" + block + "<h2>Steps</h2></body></html>")
    # a damaged block is left as it is
    assert replace_plan_status(legacy + "<!-- sop:plan-status -->", block) is None


# ------------------------------------------------------------ display helpers
# (sopkit.display renders what the reports show; its tests live with the reports)


def test_show_table_formats_and_escapes():
    from sopkit.display import show_table

    frame = pd.DataFrame(
        {
            "period": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
            "units": pd.array([1234567, None, 3], dtype="Int64"),
            "share": [0.1234, 0.5, 0.25],
            "revenue": [1234.5, 99.0, 10.0],
            "note": ["<script>alert('x')</script>", None, "a & b"],
        }
    ).set_index("period")
    table = show_table(frame, caption="<Caption>", formats={"share": "{:.1%}"}, max_rows=2)
    html_text = table._repr_html_()
    assert "<th" in html_text and ">period</th>" in html_text  # named index shown as a column
    assert ">2024-01</td>" in html_text and ">2024-02</td>" in html_text
    assert ">1,234,567</td>" in html_text and ">12.3%</td>" in html_text
    assert ">1,234</td>" in html_text or ">1,235</td>" in html_text  # big floats: no decimals
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html_text
    assert "<script" not in html_text and "&lt;Caption&gt;" in html_text
    assert "2024-03" not in html_text  # max_rows
    assert "Showing the first 2 of 3 rows." in html_text
    assert "1,234,567" in repr(table)  # plain-text fallback


def test_show_table_says_when_there_is_nothing():
    from sopkit.display import show_table

    none = pd.DataFrame({"sku": pd.Series(dtype=str), "qty": pd.Series(dtype=float)})
    table = show_table(none, caption="Alerts", empty="No deal <that> large.")
    assert ">SKU</th>" in table.html and "<td" not in table.html
    assert '<p class="sop-footnote">No deal &lt;that&gt; large.</p>' in table.html
    assert repr(table) == "Alerts\nNo deal <that> large."
    assert "sop-footnote" not in show_table(pd.DataFrame({"sku": ["A"]})).html


def test_show_table_wide_pivot_labels_months():
    from sopkit.display import show_table

    long = pd.DataFrame(
        {
            "sku": ["A", "A", "B"],
            "period": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-01"]),
            "qty": [1.5, 2.25, 3.0],
        }
    )
    wide = long.pivot(index="sku", columns="period", values="qty")
    html_text = show_table(wide).html
    assert ">2024-01</th>" in html_text and ">2024-02</th>" in html_text
    assert ">1.50</td>" in html_text and '<td class="num" style="text-align:right"></td>' in (
        html_text
    )


def test_codes_stay_on_one_line_and_prose_wraps():
    frame = pd.DataFrame({"sku": ["SEA-0001"], "note": ["Customer asked for a revised quote"],
                          "qty": [3.0]})
    html_text = show_table(frame).html
    assert '<td style="text-align:left;white-space:nowrap">SEA-0001</td>' in html_text
    assert '<td style="text-align:left">Customer asked for a revised quote</td>' in html_text


def test_kpi_tiles_and_note_escape():
    from sopkit.display import kpi_tiles, note

    tiles = kpi_tiles(
        {"Fill <rate>": 0.953, "Units": 12345, "Status": "<b>ok</b>",
         "Revenue": 68999573.34, "Short": 12.34},
        formats={"Fill <rate>": "{:.1%}"},
    )
    assert "Fill &lt;rate&gt;" in tiles.html and "95.3%" in tiles.html
    assert ">68,999,573<" in tiles.html and ">12.3<" in tiles.html
    assert "12,345" in tiles.html and "&lt;b&gt;ok&lt;/b&gt;" in tiles.html
    assert "<b>" not in tiles.html
    assert "&lt;img" in note("<img src=x>", kind="warning").html
    with pytest.raises(ValueError, match="kind"):
        note("x", kind="loud")


def test_charts_return_small_figures():
    from matplotlib.figure import Figure

    from sopkit.display import bar_chart, figure_png, heatmap, line_chart

    periods = pd.date_range("2024-01-01", periods=12, freq="MS")
    frame = pd.DataFrame(
        {
            "sku": ["A"] * 12 + ["B"] * 12,
            "period": list(periods) * 2,
            "qty": range(24),
            "lo": range(24),
            "hi": range(1, 25),
        }
    )
    figures = [
        heatmap(frame, "sku", "period", "qty", title="Heat"),
        line_chart(frame, "period", "qty", hue="sku", title="Lines"),
        line_chart(frame, "period", "qty", band=("lo", "hi"), title="Band"),
        bar_chart(frame, "period", "qty", hue="sku", stacked=True, title="Bars"),
        bar_chart(frame, "sku", ["qty", "hi"], horizontal=True, title="Horizontal"),
    ]
    for fig in figures:
        assert isinstance(fig, Figure) and fig.dpi == 100
        assert fig.axes[0].get_title() in {"Heat", "Lines", "Band", "Bars", "Horizontal"}
        png = figure_png(fig)
        assert png.startswith(b"\x89PNG") and len(png) < 150_000
    labels = [t.get_text() for t in figures[0].axes[0].get_xticklabels()]
    assert labels[0] == "2024-01" and labels[-1] == "2024-12"
    # the colour bar's ticks are written like the cells
    shares = heatmap(frame.assign(util=frame["qty"] / 10), "sku", "period", "util",
                     title="Util", fmt="{:.0%}")
    shares.canvas.draw()
    ticks = [t.get_text() for t in shares.axes[1].get_yticklabels() if t.get_text()]
    assert ticks and all(t.endswith("%") for t in ticks) and "100%" in ticks



def test_bar_chart_keeps_a_ranking_in_order_and_marks_zero():
    ranking = pd.DataFrame({"option": ["Best", "Baseline", "Worst"],
                            "delta": [50.0, 0.0, -100.0]})
    fig = bar_chart(ranking, "option", "delta", horizontal=True, keep_order=True, title="t")
    ax = fig.axes[0]
    # the first row at the top: the axis is inverted, so tick order is the frame's
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Best", "Baseline", "Worst"]
    assert [p.get_width() for p in ax.patches] == [50.0, 0.0, -100.0]
    assert [line.get_xdata()[0] for line in ax.get_lines()] == [0]  # the zero line
    sorted_fig = bar_chart(ranking, "option", "delta", horizontal=True, title="t")
    assert [t.get_text() for t in sorted_fig.axes[0].get_yticklabels()] == [
        "Baseline", "Best", "Worst"]
    assert len(sorted_fig.axes[0].get_lines()) == 1  # a negative value: the zero line too
    positive = bar_chart(ranking.assign(delta=[1.0, 2.0, 3.0]), "option", "delta", title="t")
    assert not positive.axes[0].get_lines()

def test_line_chart_leaves_missing_months_as_gaps():
    # History has actuals but no forecast, the plan the reverse: neither line may
    # drop to zero where it has no data.
    frame = pd.DataFrame({
        "period": pd.date_range("2026-01-01", periods=4, freq="MS"),
        "qty_actual": [5.0, 6.0, float("nan"), float("nan")],
        "qty_plan": [float("nan"), float("nan"), 7.0, 8.0],
    })
    fig = line_chart(frame, x="period", y=["qty_actual", "qty_plan"], title="t")
    actual, plan = fig.axes[0].get_lines()
    assert list(actual.get_ydata()[:2]) == [5.0, 6.0]
    assert all(v != v for v in actual.get_ydata()[2:])  # NaN, not 0
    assert all(v != v for v in plan.get_ydata()[:2])


def test_chart_legends_name_columns_for_readers():
    # Reviewers read "actual" and "consensus", not column names; a band of forecast
    # quantiles reads as its percentage range, and a caller's own names win.
    frame = pd.DataFrame({
        "period": pd.date_range("2026-01-01", periods=3, freq="MS"),
        "qty_actual": [5.0, 6.0, float("nan")], "qty_consensus": [float("nan"), 6.0, 7.0],
        "qty_q10": [float("nan"), 5.0, 6.0], "qty_q90": [float("nan"), 7.0, 9.0],
        "units_left": [1.0, 2.0, 3.0],
    })
    fig = line_chart(frame, x="period", y=["qty_actual", "qty_consensus"],
                     band=("qty_q10", "qty_q90"), title="t")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["actual", "consensus", "10–90 % band"]
    assert fig.axes[0].get_xlabel() == "month"
    fig = line_chart(frame, x="period", y=["qty_actual", "units_left"], title="t",
                     labels={"qty_actual": "shipped"})
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["shipped", "units left"]  # other names in words


def test_infinite_numbers_read_as_infinity():
    from sopkit.display import format_column

    text, numeric = format_column(pd.Series([2.5, float("inf"), None, 12.25]))
    # the finite values choose the decimals; inf is not "inf"
    assert numeric and text[1] == "∞" and text[2] == ""
    assert text[0] == format_column(pd.Series([2.5, 12.25]))[0][0]
    assert format_column(pd.Series([float("-inf")]), "{:.0f}")[0] == ["−∞"]


def test_axis_ticks_keep_the_decimals_they_need():
    from sopkit.display import _thousands_format

    ticks = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 12.0, 12345.0]
    assert [_thousands_format(t, 0) for t in ticks] == [
        "0", "0.25", "0.5", "0.75", "1", "1.25", "12", "12,345"]


def test_charts_carry_alt_text_into_the_report():
    from sopkit.display import _figure_png_with_alt, alt_text

    frame = pd.DataFrame({"period": pd.date_range("2024-01-01", periods=3, freq="MS"),
                          "a": [1.0, 2.0, 3.0], "b": [3.0, 2.0, 1.0]})
    fig = line_chart(frame, "period", ["a", "b"], title="Demand, all SKUs", ylabel="units")
    png, metadata = _figure_png_with_alt(fig)
    assert png.startswith(b"\x89PNG")
    assert metadata == {"alt": alt_text(fig)}
    assert alt_text(fig).startswith("Demand, all SKUs. y: units")
    assert "Series: " in alt_text(fig)


def test_table_headings_read_as_words():
    from sopkit.display import column_heading, show_table

    frame = pd.DataFrame({"sku": ["A"], "tier1_fill_rate": [0.5], "change_pct": [1.0],
                          "qty_stat": [2.0], "n_skus": [3], "co2e_kg": [4.0],
                          "Approved by": ["Ann"], pd.Timestamp("2026-11-01"): [5.0]})
    html_text = show_table(frame).html
    headings = re.findall(r"<th style=[^>]*>(.*?)</th>", html_text)
    assert headings == ["SKU", "tier-1 fill rate", "change %", "statistical forecast", "SKUs",
                        "CO₂e (kg)", "Approved by", "2026-11"]
    # formats keep working with the column's own name
    assert ">50.0%</td>" in show_table(frame, formats={"tier1_fill_rate": "{:.1%}"}).html
    assert column_heading("contribution_after_cost") == "contribution after cost"
    assert column_heading("qty_demand_to_eol") == "qty demand to end of life"
    # a period column keeps its name (a month or a week), two equal headings keep both columns
    assert column_heading("period") == "period"
    twins = show_table(pd.DataFrame({"qty_stat": [1], "statistical forecast": [2]}))
    assert "1" in repr(twins) and "2" in repr(twins)


def test_shares_show_as_percentages_unless_told_otherwise():
    from sopkit.display import show_table

    frame = pd.DataFrame({"fill_rate": [0.943], "bias": [-0.0512], "utilisation": [1.174],
                          "gross_margin_pct": [0.25], "qty": [0.943]})
    cells = re.findall(r"<td[^>]*>(.*?)</td>", show_table(frame).html)
    assert cells == ["94.3%", "-5.1%", "117%", "25.0%", "0.94"]
    tiny = show_table(pd.DataFrame({"fva": [-0.0004, 0.0004, 0.012]})).html
    assert re.findall(r"<td[^>]*>(.*?)</td>", tiny) == ["+0.0%", "+0.0%", "+1.2%"]
    told = show_table(frame, formats={"fill_rate": "{:.3f}"}).html
    assert ">0.943</td>" in told and ">94.3%</td>" not in told
