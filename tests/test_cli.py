"""The `sop` command line: readable messages, non-zero exits, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import TINY, write_folder

from sopkit.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run_sop(*args, cwd=None):
    """Run the real console entry point in a subprocess."""
    proc = subprocess.run([sys.executable, "-m", "sopkit", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_validate_ok(tiny_dir, capsys):
    assert main(["validate", str(tiny_dir)]) == 0
    out = capsys.readouterr().out
    # five files given; the seven optional tables not given are named, not counted as read
    assert "the 5 tables given follow the data contract" in out
    assert ("not given (optional): pipeline, adjustments, promotions, components, bom, "
            "budget, production") in out


def test_validate_bad_input_subprocess(tmp_path):
    files = dict(TINY)
    files["actuals.csv"] = "sku,period,qty\nA,2024-01,ten\nA,13-2024,1\nZ,2024-02,-4\n"
    folder = write_folder(tmp_path / "bad", files)
    code, out, err = run_sop("validate", folder)
    assert code == 3
    assert "Traceback" not in out + err
    assert "actuals.csv, row 2, column 'qty': not a number (value: 'ten')" in err
    assert "actuals.csv, row 3, column 'period': not a month in the form YYYY-MM" in err
    assert "actuals.csv, row 4, column 'qty': must be >= 0" in err
    # an unknown SKU in the actuals does not stop planning: a data-quality finding instead
    assert "'Z' is not in products.csv" not in err


def test_validate_missing_folder(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "absent")]) == 3
    assert "data folder not found" in capsys.readouterr().err


@pytest.mark.parametrize("content, expected", [
    ("horizon: [1, 2\n", "line 2"),
    ("- just\n- a list\n", "expected a mapping"),
    ("cycle: 2026-11\n", "'cycle' is set on the command line"),
])
def test_bad_params_file(tmp_path, tiny_dir, capsys, content, expected):
    params = tmp_path / "p.yaml"
    params.write_text(content)
    assert main(["cycle", "--data", str(tiny_dir), "--params", str(params)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_params_file_missing(tmp_path, tiny_dir, capsys):
    assert main(["cycle", "--data", str(tiny_dir), "--params", str(tmp_path / "x.yaml")]) == 2
    assert "parameters file not found" in capsys.readouterr().err


def test_wrong_parameter_values_named_by_line_before_any_step(tmp_path, tiny_dir, capsys):
    params = tmp_path / "p.yaml"
    params.write_text("# my cycle\n"
                      "horizon: two years\n"
                      "service_level: 0.95\n"
                      "holding_cost_rate: 24%\n"
                      "quantiles: [0.5, 0.1]\n"
                      "allow_overtime: 'no'\n"
                      "season_length: 12.0\n")
    reports = tmp_path / "reports"
    code = main(["cycle", "--data", str(tiny_dir), "--params", str(params),
                 "--reports", str(reports), "--workspace", str(tmp_path / "ws")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "5 problem(s) in the parameters" in err
    assert (f"{params}, line 2, 'horizon': expected a whole number of months of at least 1, "
            "got 'two years'") in err
    assert f"{params}, line 4, 'holding_cost_rate': " in err and "(write 0.24 for 24%)" in err
    assert f"{params}, line 5, 'quantiles': expected a list of increasing shares" in err
    assert f"{params}, line 6, 'allow_overtime': expected true or false, got 'no'" in err
    assert f"{params}, line 7, 'season_length': " in err and "got 12.0" in err
    assert "service_level" not in err  # 0.95 is fine
    assert not reports.exists()  # stopped before the first step


def test_scenarios_rubric_and_targets_checked_before_any_step(tmp_path, tiny_dir, capsys):
    params = tmp_path / "p.yaml"
    params.write_text("scenarios:\n"
                      "  - {name: Shift, kind: shok}\n"
                      "decision_rubric: [margin]\n"
                      "kpi_targets:\n"
                      "  fill_rte: {target: 0.95}\n")
    reports = tmp_path / "reports"
    args = ["cycle", "--data", str(tiny_dir), "--params", str(params), "--reports", str(reports),
            "--workspace", str(tmp_path / "ws")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "3 problem(s) in the parameters" in err
    # the line of the scenario's own key, not of 'scenarios:'
    assert (f"{params}, line 2, 'scenarios': scenario 'Shift': kind: must be one of response, "
            "shock, got 'shok'") in err
    assert f"{params}, line 3, 'decision_rubric': 'margin' is not a scenario KPI" in err
    assert f"{params}, line 4, 'kpi_targets': fill_rte: unknown KPI; known: " in err
    # a well-formed scenario naming a resource the data does not have: named before any step
    params.write_text("scenarios:\n"
                      "  - {name: Shift, capacity: [{resource: NOPE-9, factor: 1.5}]}\n"
                      "focus_sku: NOPE-1\n")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "2 problem(s) in the parameters against the data" in err
    assert (f"{params}, line 2, 'scenarios': scenario 'Shift': capacity[0].resource: "
            "unknown 'NOPE-9'") in err
    assert f"{params}, line 3, 'focus_sku': 'NOPE-1' is not a SKU of products.csv" in err
    # block style: the line of the very key, in the second scenario
    params.write_text("scenarios:\n"
                      "  - name: Shock\n"
                      "    kind: shock\n"
                      "    demand: [{scope: all, factor: 0.9}]\n"
                      "  - name: Shift\n"
                      "    decision: Line 2\n"
                      "    cost: 60000\n"
                      "    cost_per_month: 7.5k\n"
                      "    capacity: [{resource: R1, factor: 1.5}]\n")
    assert main(args) == 2
    assert (f"{params}, line 8, 'scenarios': scenario 'Shift': scenario.cost_per_month: must be "
            "a number, got '7.5k'") in capsys.readouterr().err
    sku = pd.read_csv(tiny_dir / "products.csv")["sku"].iloc[0]
    params.write_text(f"focus_sku: {sku.lower()}\n")
    assert main(args) == 2
    assert f"(did you mean {sku!r}?)" in capsys.readouterr().err
    assert not reports.exists()


def test_parameter_rules():
    from sopkit.parameters import check_parameters

    defaults = {"sample_skus": "60", "focus_sku": '""', "mystery": "1.5"}
    assert check_parameters({"horizon": 24, "service_level": 0.5, "abc_shares": [0.8, 1.0],
                             "xyz_cv": [0.5, 1.0], "holding_cost_rate": 0,
                             "backfill_months": 0, "mystery": 2, "compute": {"backend": "dask"}},
                            defaults) == []
    problems = check_parameters({"horizon": True, "service_level": 1, "abc_shares": [0.8],
                                 "backfill_months": -1, "mystery": "x", "focus_sku": 7,
                                 "decision_rubric": [], "holding_cost_rate": float("nan")},
                                defaults)
    assert [p.split(":")[0] for p in problems] == [
        "'horizon'", "'service_level'", "'abc_shares'", "'backfill_months'", "'mystery'",
        "'focus_sku'", "'decision_rubric'", "'holding_cost_rate'"]
    assert problems[0].endswith("got true")  # a yes/no is not a number of months
    assert check_parameters({"allocate_by": "margin"}, defaults) == []
    assert check_parameters({"allocate_by": "value"}, defaults) == [
        "'allocate_by': expected one of 'revenue', 'margin', 'units', got 'value'"]


def test_unknown_parameter_rejected(tmp_path, tiny_dir, capsys):
    params = tmp_path / "p.yaml"
    params.write_text("horizonn: 12\n")
    assert main(["cycle", "--data", str(tiny_dir), "--params", str(params)]) == 2
    assert "unknown parameter(s) horizonn" in capsys.readouterr().err


def test_bad_cycle_month(tiny_dir, capsys):
    assert main(["cycle", "--data", str(tiny_dir), "--cycle", "2026-13"]) == 2
    assert "cycle: month 13 out of range" in capsys.readouterr().err


def test_cycle_stops_on_bad_data_before_any_step(tmp_path, capsys):
    files = dict(TINY)
    files["routings.csv"] = "sku,resource,hours_per_unit\nA,R1,abc\n"
    folder = write_folder(tmp_path / "bad", files)
    assert main(["cycle", "--data", str(folder), "--workspace", str(tmp_path / "runs"),
                 "--reports", str(tmp_path / "reports")]) == 3
    err = capsys.readouterr().err
    assert "routings.csv, row 2, column 'hours_per_unit': not a number" in err
    assert not (tmp_path / "reports").exists()


def test_internal_error_has_no_traceback(monkeypatch, tiny_dir, capsys):
    import sopkit.io

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(sopkit.io, "validate_folder", broken)
    assert main(["validate", str(tiny_dir)]) == 70
    err = capsys.readouterr().err
    assert "internal error ZeroDivisionError" in err and "Traceback" not in err


def test_unknown_command_exit_code():
    code, _, err = run_sop("frobnicate")
    assert code == 2 and "invalid choice" in err and "Traceback" not in err


def test_validate_lists_quality_findings_and_fails_on_errors(tmp_path, capsys):
    # passes the contract, but SKU B has no routing: a warning, planning goes on
    files = dict(TINY)
    files["routings.csv"] = "sku,resource,hours_per_unit\nA,R1,1.5\n"
    folder = write_folder(tmp_path / "dq", files)
    assert main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "the 5 tables given follow the data contract" in out
    assert "no_routing" in out and "(0 error(s): the plan cannot be trusted" in out
    # a quarter of the demand on a SKU missing from the product master: that stops planning
    files["actuals.csv"] = TINY["actuals.csv"] + "Z,2024-02,9\n"
    folder = write_folder(tmp_path / "stale", files)
    assert main(["validate", str(folder)]) == 3
    out = capsys.readouterr().out
    assert "1 row(s) with a SKU not in the product master" in out
    assert "unknown_sku" in out and "(1 error(s): the plan cannot be trusted" in out


def test_sample_never_overwrites_data_files(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "actuals.csv").write_text("sku,period,qty\nA,2026-01,5\n")
    (mine / "products.xlsx").write_bytes(b"not really a workbook")
    assert main(["sample", str(mine), "--skus", "30"]) == 2
    err = capsys.readouterr().err
    assert f"{mine} already holds actuals.csv, products.xlsx: the sample company" in err
    assert (mine / "actuals.csv").read_text() == "sku,period,qty\nA,2026-01,5\n"
    assert not (mine / "products.csv").exists()  # nothing written
    assert main(["sample", str(mine), "--skus", "30", "--force"]) == 0
    assert (mine / "actuals.csv").read_text().startswith("sku,period,qty\n")
    assert "A,2026-01,5" not in (mine / "actuals.csv").read_text()
    fresh = tmp_path / "fresh"
    assert main(["sample", str(fresh), "--skus", "30"]) == 0 and (fresh / "bom.csv").is_file()


def test_cycle_must_follow_the_actuals(tmp_path, tiny_dir, capsys):
    # the tiny data's actuals end 2024-02: its cycle is 2024-03
    common = ["--data", str(tiny_dir), "--workspace", str(tmp_path / "ws"),
              "--reports", str(tmp_path / "reports")]
    assert main(["cycle", "--cycle", "2024-06", *common]) == 2
    err = capsys.readouterr().err
    assert "the 3 months 2024-03 to 2024-05 would count as zero demand" in err
    assert "plan cycle 2024-03 (leave --cycle out)" in err and "Traceback" not in err
    assert main(["cycle", "--cycle", "2024-04", *common]) == 2
    assert "the month 2024-03 would count as zero demand" in capsys.readouterr().err
    assert main(["cycle", "--cycle", "2024-02", *common]) == 2
    err = capsys.readouterr().err
    assert "actuals in" in err and "run to 2024-02, past the cycle's first month" in err
    assert not (tmp_path / "reports").exists()


def test_adopted_options_are_checked_against_the_files_scenarios(tmp_path, tiny_dir, capsys):
    from sopkit.parameters import check_parameters

    scenarios = [{"name": "Shift", "decision": "Line 2", "capacity": [{"resource": "R1",
                                                                       "factor": 1.5}]},
                 {"name": "Outage", "kind": "shock", "demand": [{"scope": "all", "factor": 0.5}]}]
    assert check_parameters({"scenarios": scenarios, "adopted": ["Shift"]}, {}) == []
    assert check_parameters({"scenarios": scenarios, "adopted": []}, {}) == []
    assert check_parameters({"scenarios": scenarios, "adopted": ["Outage"]}, {}) == [
        "'adopted': 'Outage' is a shock, something that may happen to the business, not an "
        "option it can take"]
    assert check_parameters({"adopted": "Shift"}, {}) == [
        "'adopted': expected a list of scenario names, got 'Shift'"]
    # named in the file, by line, before any step runs
    params = tmp_path / "p.yaml"
    params.write_text("scenarios:\n"
                      "  - {name: Shift, capacity: [{resource: R1, factor: 1.5}]}\n"
                      "adopted: [Shfit]\n")
    args = ["cycle", "--data", str(tiny_dir), "--params", str(params), "--reports",
            str(tmp_path / "reports"), "--workspace", str(tmp_path / "ws")]
    assert main(args) == 2
    assert (f"{params}, line 3, 'adopted': 'Shfit' is not the name of a scenario (did you mean "
            "'Shift'?)") in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()
    # a block list: the line of the item at fault
    params.write_text("scenarios:\n"
                      "  - {name: Shift, capacity: [{resource: R1, factor: 1.5}]}\n"
                      "adopted:\n"
                      "  - Shift\n"
                      "  - Shfit\n")
    assert main(args) == 2
    assert f"{params}, line 5, 'adopted': 'Shfit' is not the name" in capsys.readouterr().err
    # options adopted from a file without scenarios
    params.write_text("adopted: [Shift]\n")
    assert main(args) == 2
    assert (f"{params}, line 1, 'adopted': names options, but the file defines no scenarios"
            in capsys.readouterr().err)
