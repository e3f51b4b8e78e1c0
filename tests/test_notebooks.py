"""The step notebooks follow the house skeleton and are committed without outputs."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from sopkit.runner import declared_parameters
from sopkit.workspace import STEPS

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = [NOTEBOOKS / f"{step}.ipynb" for step in STEPS]


def test_one_notebook_per_step_and_no_others():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == [p.name for p in PATHS]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name} has outputs: clear them before committing")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_skeleton(path):
    book = nbformat.read(path, as_version=4)
    assert book.cells[0].cell_type == "markdown" and book.cells[0].source.startswith("# ")
    tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is book.cells[1]
    # the parameters cell holds literals only (papermill injects overrides after it)
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign), ast.dump(node)
        ast.literal_eval(node.value)
    assert {"cycle", "data_dir", "workspace"} <= set(declared_parameters(path))
    # notebooks narrate, sopkit computes: no functions, classes or loops in cells
    for cell in book.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.For | ast.While), (
                f"{path.name}: move {type(node).__name__} into sopkit")
    assert "open_step(" in book.cells[2].source


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_default_workspace_is_blank(path):
    # Blank resolves to $SOPKIT_WORKSPACE, which the test session points at a folder of its
    # own: nbval's runs of the notebooks must not write into the analysts' runs/.
    assert ast.literal_eval(declared_parameters(path)["workspace"]) == ""


def test_blank_workspace_resolves_to_the_environment_then_runs(tmp_path, monkeypatch,
                                                               sample_dir):
    from sopkit.workspace import DEFAULT_WORKSPACE, WORKSPACE_ENV, open_step

    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "mine"))
    ctx = open_step("02_demand_review", data_dir=str(sample_dir))
    assert ctx.workspace == (tmp_path / "mine").resolve()
    explicit = open_step("02_demand_review", data_dir=str(sample_dir),
                         workspace=str(tmp_path / "given"))
    assert explicit.workspace == (tmp_path / "given").resolve()
    monkeypatch.delenv(WORKSPACE_ENV)
    monkeypatch.chdir(tmp_path / "mine")
    assert open_step("02_demand_review", data_dir=str(sample_dir)).workspace == (
        tmp_path / "mine" / DEFAULT_WORKSPACE).resolve()


def test_the_session_workspace_is_outside_the_project():
    import os

    folder = Path(os.environ["SOPKIT_WORKSPACE"]).resolve()
    assert folder.is_dir() and NOTEBOOKS.parent not in folder.parents


def test_every_step_states_the_data_it_plans_on(tmp_path):
    from helpers import TINY, write_folder

    from sopkit.workspace import open_step

    files = dict(TINY, **{"actuals.csv": TINY["actuals.csv"] + "ZZ,2024-01,3\nZZ,2024-02,1\n"})
    data = write_folder(tmp_path / "acme", files)
    ctx = open_step("02_demand_review", cycle="2024-03", data_dir=str(data),
                    workspace=str(tmp_path / "ws"))
    assert ctx.banner() == (
        "Cycle 2024-03 · demand history to 2024-02 · 2 SKUs in the product master · data: acme"
        " · 2 row(s) with a SKU not in the product master left out (data-quality check "
        "unknown_sku)")
    clean = open_step("02_demand_review", cycle="2024-03",
                      data_dir=str(write_folder(tmp_path / "clean", TINY)),
                      workspace=str(tmp_path / "ws"))
    assert clean.banner().endswith("2 SKUs in the product master · data: clean")


@pytest.mark.slow
def test_the_reconciliation_replans_the_supply_reviews_plan_as_its_baseline(tmp_path):
    """With overtime and temporary staff switched off for the cycle, the reconciliation's
    Baseline is the supply review's plan: no overtime, the same fill rate and contribution.
    (Before sopkit.supply.planner_options, step 04 did not declare the switches, so its
    scenarios planned with overtime: 963 hours and a fill rate of 99.7 % against 99.0 %.)"""
    import pandas as pd

    from sopkit.runner import run_cycle

    run_cycle(cycle="2026-11", data_dir="", params={"sample_skus": 60, "allow_overtime": False,
                                                     "allow_temp_staff": False},
              workspace=tmp_path / "runs", reports=tmp_path / "reports",
              steps=("02_demand_review", "03_supply_review", "04_reconciliation"), progress=None)
    folder = tmp_path / "runs" / "2026-11"
    plan = pd.read_csv(folder / "supply_plan.csv")
    load = pd.read_csv(folder / "resource_load.csv")
    fin = pd.read_csv(folder / "financials.csv")
    baseline = pd.read_csv(folder / "scenarios.csv").set_index("scenario").loc["Baseline"]
    assert load["overtime_hours"].sum() == 0 and load["temp_hours"].sum() == 0
    assert baseline["overtime_hours"] == 0
    assert baseline["fill_rate"] == pytest.approx(plan["qty_served"].sum()
                                                  / plan["qty_demand"].sum(), abs=1e-9)
    assert baseline["contribution"] == pytest.approx(fin["contribution"].sum(), rel=1e-9)
