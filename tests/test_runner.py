"""The cycle runner on tiny fixture notebooks (real kernels, ~2 s per notebook)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from sopkit.errors import ParameterError, StepFailedError
from sopkit.runner import failing_code_cell, run_cycle, unknown_parameters

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
NOW = datetime(2024, 5, 2, 9, 30, 0)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ok_run(tmp_path_factory):
    """fx_table then fx_plot, run once for the module, with MPLBACKEND=Agg in the caller."""
    root = tmp_path_factory.mktemp("ok_run")
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPLBACKEND", "Agg")  # as CI often sets it; plots must still appear
        patch.chdir(root)
        result = run_cycle(
            cycle="2024-05",
            data_dir=root / "data",
            params={"label": "hello <b>", "horizon": 4},
            workspace="runs",
            reports="reports",
            notebooks=FIXTURES,
            steps=["fx_table", "fx_plot"],
            fingerprint="sha256:abc123",
            progress=lines.append,
            now=NOW,
        )
    return root, result, lines


def test_run_cycle_writes_reports_and_index(ok_run):
    root, result, lines = ok_run
    assert result.ok
    assert result.run_stamp == "20240502-093000"
    assert result.run_dir == Path("reports/2024-05/20240502-093000")
    assert [s.status for s in result.steps] == ["ok", "ok"]
    for step in result.steps:
        assert (root / step.report).is_file()
        assert (root / step.executed_notebook).is_file()
        assert step.executed_notebook == root / "runs/2024-05/executed" / f"{step.step}.ipynb"
    assert (root / result.index).is_file()
    assert (root / result.run_dir / "index.html").is_file()
    assert lines[0].startswith("[1/2] fx_table ... ok (") and lines[0].endswith(" s)")
    assert lines[1].startswith("[2/2] fx_plot ... ok (")


def test_parameters_reach_the_notebooks(ok_run):
    root, result, _ = ok_run
    received = json.loads((root / "runs/2024-05/fx_table_params.json").read_text())
    assert received == {
        "cycle": "2024-05",
        "data_dir": str(root / "data"),
        "workspace": str(root / "runs"),
        "label": "hello <b>",
        "n_rows": 3,
    }
    second = json.loads((root / "runs/2024-05/fx_plot_params.json").read_text())
    assert second == {"horizon": 4, "label_from_step_1": "hello <b>"}
    # a notebook only receives the parameters its parameters cell declares
    nb = nbformat.read(root / "runs/2024-05/executed/fx_table.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "label" in injected[0].source and "horizon" not in injected[0].source


def test_reports_have_plots_tables_and_no_code(ok_run):
    root, result, _ = ok_run
    table_page = (root / result.steps[0].report).read_text()
    plot_page = (root / result.steps[1].report).read_text()
    # pyplot figure drawn inline although the caller had MPLBACKEND=Agg
    assert table_page.count('src="data:image/png;base64,') == 1
    assert plot_page.count('src="data:image/png;base64,') == 2  # heatmap + bar chart
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in table_page
    assert "<script" not in table_page and "<script" not in plot_page
    assert "import pandas" not in table_page and "In&nbsp;[" not in table_page
    assert "a line for reviewers" in table_page
    assert "noisy" not in table_page  # stderr prints and warnings are not for reviewers
    assert "Javascript object" not in table_page
    assert "sha256:abc123" in table_page and "hello &lt;b&gt;" in table_page
    assert "2024-01" in table_page and "56,789" in table_page


def test_failing_step_stops_the_cycle(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines: list[str] = []
    with pytest.raises(StepFailedError) as caught:
        run_cycle(
            cycle="2024-05",
            data_dir="",
            params={},
            notebooks=FIXTURES,
            steps=["fx_fail", "fx_plot"],
            progress=lines.append,
            now=NOW,
        )
    error = caught.value
    assert (error.step, error.cell_index, error.ename, error.evalue) == (
        "fx_fail",
        3,
        "ValueError",
        "boom",
    )
    assert error.exit_code == 5
    report = Path(error.report)
    assert report == Path("reports/2024-05/20240502-093000/fx_fail.html")
    page = report.read_text()
    assert "Error in this step:</strong> ValueError: boom" in page
    assert "Traceback" not in page and "\x1b[" not in page and "[0;31m" not in page
    assert "raise ValueError" not in page and "never reached" not in page
    assert "An Exception was encountered" not in page  # papermill's own marker cell

    result = error.cycle_result
    assert [s.status for s in result.steps] == ["failed", "skipped"]
    assert result.steps[1].report is None and not result.ok
    assert not Path("reports/2024-05/20240502-093000/fx_plot.html").exists()
    index = Path("reports/2024-05/index.html").read_text()
    assert "sop-status-failed" in index and "sop-status-skipped" in index
    assert lines[0].startswith("[1/2] fx_fail ... FAILED (") and "ValueError: boom" in lines[0]
    assert lines[1] == "[2/2] fx_plot ... skipped"
    assert failing_code_cell("runs/2024-05/executed/fx_fail.ipynb") == 3


def test_unknown_parameters_finds_typos():
    steps = ["fx_table", "fx_plot", "fx_fail"]
    params = {"label": "x", "horizon": 3, "horizn": 3, "cycle": "2024-05"}
    assert unknown_parameters(params, FIXTURES, steps=steps) == ["horizn"]
    assert unknown_parameters({"n_rows": 1}, FIXTURES, steps=steps) == []


def test_bad_cycle_and_missing_notebook_fail_before_running(tmp_path):
    with pytest.raises(ParameterError, match="cycle"):
        run_cycle(
            cycle="May",
            data_dir="",
            params={},
            notebooks=FIXTURES,
            steps=["fx_fail"],
            workspace=tmp_path,
            reports=tmp_path,
            progress=None,
        )
    with pytest.raises(ParameterError, match="not found"):
        run_cycle(
            cycle="2024-05",
            data_dir="",
            params={},
            notebooks=FIXTURES,
            steps=["nope"],
            workspace=tmp_path,
            reports=tmp_path,
            progress=None,
        )
    assert not (tmp_path / "2024-05").exists()


# ------------------------------------------------------------ the plan of record on the index


def _plan_files(workspace: Path) -> None:
    """The three files a recorded version is made of, as steps 02-05 write them."""
    folder = workspace / "2024-05"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "demand_plan.csv").write_text("sku,period,qty_consensus\nA,2024-05,10\n")
    (folder / "supply_plan.csv").write_text("sku,period,qty_supply\nA,2024-05,8\n")
    (folder / "decisions.csv").write_text("decision,recommendation\nKeep,keep the plan\n")


def test_a_finished_run_is_recorded_and_its_index_says_draft(tmp_path, monkeypatch):
    from sopkit.store import ENV_VAR, open_store

    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    _plan_files(tmp_path / "runs")
    with open_store(workspace=tmp_path / "runs") as store:
        result = run_cycle(cycle="2024-05", data_dir="", params={}, workspace="runs",
                           reports="reports", notebooks=FIXTURES, steps=["fx_table"],
                           progress=None, now=NOW, store=store)
        assert result.plan_version.version == 1 and result.plan_version.status == "draft"
        assert store.versions("2024-05")["run_stamp"].tolist() == ["20240502-093000"]
    assert result.plan_status == ("Draft version 1, not approved. Approve it with: sop approve "
                                  "--cycle 2024-05 --by NAME --version 1")
    for page in (tmp_path / "reports/2024-05/index.html",
                 tmp_path / "reports/2024-05/20240502-093000/index.html"):
        text = page.read_text(encoding="utf-8")
        assert "<h2>Plan of record</h2><p>Draft version 1, not approved." in text
        assert 'data-run-stamp="20240502-093000"' in text


def test_a_store_that_cannot_be_opened_leaves_the_status_unknown_and_says_why(tmp_path,
                                                                             monkeypatch):
    import shutil

    from sopkit.errors import StoreError
    from sopkit.store import open_store

    monkeypatch.chdir(tmp_path)
    _plan_files(tmp_path / "runs")
    (tmp_path / "gone").mkdir()
    store = open_store(f"sqlite:///{tmp_path / 'gone' / 'plans.db'}")
    shutil.rmtree(tmp_path / "gone")  # the store's folder disappears during the run
    store.engine.dispose()
    with pytest.raises(StoreError, match="unable to open database file") as caught:
        run_cycle(cycle="2024-05", data_dir="", params={}, workspace="runs", reports="reports",
                  notebooks=FIXTURES, steps=["fx_table"], progress=None, now=NOW, store=store)
    store.close()
    result = caught.value.cycle_result  # the index was written all the same
    text = (tmp_path / result.index).read_text(encoding="utf-8")
    assert ("<p>Plan-of-record status unknown: this run&#x27;s plan could not be recorded in "
            "the plan store (cannot record cycle 2024-05 ") in text
    assert "unable to open database file" in text
    assert result.plan_version is None and result.ok  # the steps themselves finished


def test_without_a_store_the_index_says_the_run_was_not_recorded(ok_run):
    root, result, _ = ok_run
    text = (root / result.index).read_text(encoding="utf-8")
    assert "Plan-of-record status unknown: this run was not recorded in a plan store" in text
