"""Quality checks: each one fires on a broken case and stays quiet on a clean one."""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit.dataset import Dataset
from sopkit.errors import ParameterError
from sopkit.io import validate_folder
from sopkit.quality import (
    CHECKS,
    COLUMNS,
    normalise_code,
    quality_findings,
    quality_score,
    score_record,
)
from sopkit.workspace import read_quality_history, record_quality_score

CYCLE = "2027-01"


def months(*texts):
    return [pd.Timestamp(t + "-01") for t in texts]


def strings(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("sku", "family", "name", "unit", "lifecycle_status", "resource", "deal_id"):
        if column in frame.columns:
            frame[column] = frame[column].astype("string")
    return frame


def clean_frames() -> dict[str, pd.DataFrame]:
    products = strings(pd.DataFrame({
        "sku": ["A-1", "B-2", "N-3"], "name": ["Pump A", "Valve B", "New pump"],
        "family": ["Pumps", "Valves", "Pumps"], "unit": ["ea", "ea", "ea"],
        "lifecycle_status": ["active", "active", "npi"],
        "price": [100.0, 50.0, 80.0], "unit_cost": [60.0, 20.0, 40.0],
        "priority_tier": pd.array([1, 2, 1], dtype="Int64"),
        "lead_time_months": pd.array([1, 2, 1], dtype="Int64"),
        "launch_period": months("2027-03", "2025-01", "2027-03"),
        "analog_sku": pd.array([None, None, "A-1"], dtype="string"),
    }))
    products.loc[products["sku"] != "N-3", "launch_period"] = pd.NaT
    actuals = strings(pd.DataFrame({
        "sku": ["A-1", "A-1", "A-1", "B-2", "B-2"],
        "period": months("2026-10", "2026-11", "2026-12", "2026-11", "2026-12"),
        "qty": [10.0, 0.0, 12.0, 4.0, 5.0],
    }))
    routings = strings(pd.DataFrame({"sku": ["A-1", "B-2", "N-3"], "resource": ["R1"] * 3,
                                     "hours_per_unit": [1.0, 0.5, 1.0]}))
    resources = strings(pd.DataFrame({"resource": ["R1"], "capacity_hours": [100.0]}))
    inventory = strings(pd.DataFrame({"sku": ["A-1"], "qty": [5.0]}))
    pipeline = strings(pd.DataFrame({
        "snapshot": months("2027-01"), "deal_id": ["D1"], "sku": ["B-2"],
        "period": months("2027-03"), "qty": [10.0], "probability": [0.5],
    }))
    return {"products": products, "actuals": actuals, "routings": routings,
            "resources": resources, "inventory": inventory, "pipeline": pipeline}


def dataset(**changes) -> Dataset:
    frames = clean_frames()
    frames.update(changes)
    return Dataset.from_frames(frames)


def findings_of(check: str, data: Dataset) -> pd.DataFrame:
    found = quality_findings(data, cycle=CYCLE)
    return found[found["check"] == check]


def loaded(tmp_path, **files) -> Dataset:
    """The tiny data folder with ``files`` replaced (``pipeline_csv=...``), loaded cleanly."""
    from helpers import TINY, write_folder

    contents = dict(TINY)
    contents.update({name.replace("_csv", ".csv"): text for name, text in files.items()})
    data, problems = validate_folder(write_folder(tmp_path / "d", contents))
    assert problems == []
    return data


def discontinue(sku: str) -> pd.DataFrame:
    products = clean_frames()["products"]
    products.loc[products["sku"] == sku, "lifecycle_status"] = "discontinued"
    return products


def test_clean_data_has_no_findings():
    found = quality_findings(dataset(), cycle=CYCLE)
    assert list(found.columns) == COLUMNS
    assert found.empty


def test_no_routing():
    routings = clean_frames()["routings"].iloc[:2]  # N-3 (npi) loses its routing
    hit = findings_of("no_routing", dataset(routings=routings))
    assert hit["sku"].tolist() == ["N-3"]
    # supply still plans (the demand shows as a gap): a warning, not a stop
    assert hit["severity"].iloc[0] == "warning"
    assert hit["owner"].iloc[0] == "master data"
    assert "supply gap" in hit["detail"].iloc[0]
    assert "add its resources and hours_per_unit to routings.csv" in hit["detail"].iloc[0]
    products = clean_frames()["products"].assign(outsource_cost=[None, None, 50.0])
    hit = findings_of("no_routing", dataset(routings=routings, products=products))
    assert "contract manufacturer" in hit["detail"].iloc[0]
    # a discontinued SKU needs no routing
    products = discontinue("N-3")
    assert findings_of("no_routing", dataset(routings=routings, products=products)).empty


def production(rows) -> pd.DataFrame:
    """The production table from ``(month, sku, planned_qty, actual_qty, resource)`` rows."""
    frame = pd.DataFrame(rows, columns=["period", "sku", "planned_qty", "actual_qty",
                                        "resource"])
    frame["period"] = pd.to_datetime(frame["period"] + "-01")
    return strings(frame.astype({"planned_qty": float, "actual_qty": float}))


def test_no_routing_of_a_sku_the_plant_makes_is_an_error():
    # B-2 loses its routing, but production.csv shows it made. The cycle is 2027-01, so the
    # last 12 closed months are 2026-01 to 2026-12: 2025-12's 50 units are older; July was
    # scheduled but nothing made; November's two rows (7 on R1, 3 without a resource) are
    # one month. Made: 10 + 7 + 3 = 20 units in 2 of the 12 months, on R1.
    routings = clean_frames()["routings"]
    routings = routings[routings["sku"] != "B-2"]
    made = production([("2025-12", "B-2", 50, 50, None), ("2026-03", "B-2", 12, 10, None),
                       ("2026-07", "B-2", 5, 0, None), ("2026-11", "B-2", 7, 7, "R1"),
                       ("2026-11", "B-2", 3, 3, None), ("2026-11", "A-1", 9, 9, None)])
    hit = findings_of("no_routing", dataset(routings=routings, production=made))
    assert hit["sku"].tolist() == ["B-2"] and hit["severity"].tolist() == ["error"]
    assert hit["detail"].iloc[0] == (
        "active SKU B-2: made 20 units on R1 in 2 of the last 12 months (2026-01 to 2026-12) "
        "per production.csv: its routing is missing from routings.csv, so the plan cannot "
        "make it and its demand shows as a supply gap. Add its resources and hours_per_unit "
        "to routings.csv")
    assert (hit["table"].iloc[0], hit["column"].iloc[0]) == ("routings", "sku")
    # an error weighs 1 in the score: 100 × (1 − 1 / 3)
    found = quality_findings(dataset(routings=routings, production=made), cycle=CYCLE)
    assert quality_score(found, n_skus=3) == pytest.approx(100 * 2 / 3)
    # made only before the window: the plant may have stopped making it, a warning
    older = made[made["period"] < pd.Timestamp("2026-01-01")]
    hit = findings_of("no_routing", dataset(routings=routings, production=older))
    assert hit["severity"].tolist() == ["warning"]
    assert "production.csv" not in hit["detail"].iloc[0]
    # without a cycle the window is the 12 months up to the latest month recorded
    # (2025-12 to 2026-11): 50 + 10 + 7 + 3 = 70 units in 3 months
    found = quality_findings(dataset(routings=routings, production=made))
    detail = found.loc[found["check"] == "no_routing", "detail"].iloc[0]
    assert "made 70 units on R1 in 3 of the last 12 months (2025-12 to 2026-11)" in detail


def test_price_below_cost():
    products = clean_frames()["products"]
    products.loc[products["sku"] == "B-2", "price"] = 19.0
    hit = findings_of("price_below_cost", dataset(products=products))
    assert hit["sku"].tolist() == ["B-2"]
    assert "19.00" in hit["detail"].iloc[0] and hit["owner"].iloc[0] == "finance"
    products.loc[products["sku"] == "B-2", "price"] = 20.0  # at cost: not below
    assert findings_of("price_below_cost", dataset(products=products)).empty


def test_near_duplicate_codes_and_names():
    assert normalise_code(" Pump-A_1. ") == "pumpa1"
    products = clean_frames()["products"]
    extra = strings(pd.DataFrame({
        "sku": ["a 1", "C-9"], "name": ["Other", "valve-b"], "family": ["Pumps", "Valves"],
        "unit": ["ea", "ea"], "lifecycle_status": ["active", "active"],
        "price": [1.0, 1.0], "unit_cost": [0.5, 0.5],
        "priority_tier": pd.array([1, 1], dtype="Int64"),
        "lead_time_months": pd.array([1, 1], dtype="Int64"),
    }))
    products = pd.concat([products, extra], ignore_index=True)
    routings = strings(pd.DataFrame({"sku": products["sku"], "resource": ["R1"] * 5,
                                     "hours_per_unit": [1.0] * 5}))
    hit = findings_of("near_duplicate", dataset(products=products, routings=routings))
    assert sorted(hit["sku"]) == ["C-9", "a 1"]
    assert any("A-1" in d for d in hit["detail"])
    # similar but different codes ("A-1" vs "A-11") are not flagged
    products.loc[products["sku"] == "a 1", "sku"] = "A-11"
    products.loc[products["sku"] == "C-9", "name"] = "Valve C"
    routings = strings(pd.DataFrame({"sku": products["sku"], "resource": ["R1"] * 5,
                                     "hours_per_unit": [1.0] * 5}))
    assert findings_of("near_duplicate", dataset(products=products, routings=routings)).empty


def test_no_history():
    actuals = clean_frames()["actuals"]
    actuals = actuals[actuals["sku"] != "B-2"]
    hit = findings_of("no_history", dataset(actuals=actuals))
    assert hit["sku"].tolist() == ["B-2"]  # N-3 is npi: expected to have none
    assert hit["severity"].iloc[0] == "warning"
    # discontinued without history is only information
    hit = findings_of("no_history", dataset(actuals=actuals, products=discontinue("B-2")))
    assert hit["severity"].tolist() == ["info"]
    assert findings_of("no_history", dataset()).empty


def test_history_gap():
    actuals = clean_frames()["actuals"]
    actuals = actuals[~((actuals["sku"] == "A-1") & (actuals["period"] == months("2026-11")[0]))]
    hit = findings_of("history_gap", dataset(actuals=actuals))
    assert hit["sku"].tolist() == ["A-1"]
    assert "2026-11" in hit["detail"].iloc[0]
    # a zero month given explicitly is not a gap (the clean data has A-1 2026-11 = 0)
    assert findings_of("history_gap", dataset()).empty


def test_discontinued_in_pipeline():
    hit = findings_of("discontinued_in_pipeline", dataset(products=discontinue("B-2")))
    assert hit["sku"].tolist() == ["B-2"] and hit["owner"].iloc[0] == "sales ops"
    # a deal for a month before the cycle is closed history, not an open deal
    pipeline = clean_frames()["pipeline"].assign(period=months("2026-12")[0])
    assert findings_of("discontinued_in_pipeline",
                       dataset(products=discontinue("B-2"), pipeline=pipeline)).empty
    assert findings_of("discontinued_in_pipeline", dataset()).empty


def test_discontinued_with_stock():
    hit = findings_of("discontinued_with_stock", dataset(products=discontinue("A-1")))
    assert hit["sku"].tolist() == ["A-1"] and hit["owner"].iloc[0] == "supply planning"
    inventory = clean_frames()["inventory"].assign(qty=0.0)
    assert findings_of("discontinued_with_stock",
                       dataset(products=discontinue("A-1"), inventory=inventory)).empty


def test_unit_mismatch():
    products = clean_frames()["products"]
    products.loc[products["sku"] == "N-3", "unit"] = "kg"
    hit = findings_of("unit_mismatch", dataset(products=products))
    assert hit["sku"].tolist() == ["N-3"]
    assert "'ea'" in hit["detail"].iloc[0]
    # different units in different families are fine; case and blanks do not matter
    products.loc[products["sku"] == "N-3", "unit"] = " EA "
    products.loc[products["sku"] == "B-2", "unit"] = "kg"
    assert findings_of("unit_mismatch", dataset(products=products)).empty


def test_every_check_registered_and_errors_first():
    assert set(CHECKS) == {"no_routing", "price_below_cost", "near_duplicate", "no_history",
                           "history_gap", "discontinued_in_pipeline",
                           "discontinued_with_stock", "unit_mismatch", "unknown_sku",
                           "missing_price_cost", "unread_file", "unknown_column",
                           "no_lead_time", "launch_data", "snapshot_after_cycle",
                           "stale_export", "stale_deal", "reopened_deal", "after_end_of_life",
                           "component_use_above_capacity"}
    routings = clean_frames()["routings"].iloc[:2]
    products = clean_frames()["products"]
    products.loc[products["sku"] == "B-2", "price"] = 1.0
    aside = pd.DataFrame({"table": ["actuals"], "file": ["actuals.csv"], "row": [9],
                          "column": ["sku"], "value": ["Z"], "period": months("2026-12"),
                          "qty": [100.0]})
    data = dataset(routings=routings, products=products)
    data.set_aside = aside
    found = quality_findings(data, cycle=None)
    assert found["severity"].tolist() == ["error", "warning", "warning", "warning"]
    assert found["check"].iloc[0] == "unknown_sku"
    with pytest.raises(ParameterError, match="unknown quality check"):
        quality_findings(dataset(), cycle=CYCLE, checks=["spelling"])


def test_empty_dataset_runs():
    assert quality_findings(Dataset(), cycle=CYCLE).empty


def test_quality_score():
    findings = pd.DataFrame({
        "check": ["a", "b", "c", "d", "e"],
        "severity": ["error", "warning", "warning", "info", "warning"],
        "sku": pd.array(["A", "A", "B", "C", None], dtype="string"),
    })
    # worst per SKU: A error 1, B warning 0.5, C info 0; unkeyed warning 0.5
    # 100 × (1 − 2 / 20) = 90
    assert quality_score(findings, 20) == pytest.approx(90.0)
    assert quality_score(findings.iloc[:0], 20) == 100.0
    assert quality_score(findings, 1) == 0.0  # clipped
    with pytest.raises(ParameterError):
        quality_score(findings, 0)
    with pytest.raises(ParameterError, match="severity"):
        quality_score(findings.assign(severity="fatal"), 20)


def test_unknown_sku_set_aside_by_the_loader(tmp_path):
    from helpers import TINY, write_folder

    files = dict(TINY)
    files["actuals.csv"] = TINY["actuals.csv"].rstrip("\n") + "\nZZ-9,2024-01,7\nZZ-9,2024-02,5\n"
    files["inventory.csv"] = "sku,qty\nQQ,3\n"
    data, problems = validate_folder(write_folder(tmp_path / "d", files))
    assert problems == []
    assert "ZZ-9" not in set(data.actuals["sku"])  # left out of planning ...
    found = findings_of("unknown_sku", data)
    # 12 of 38 units of demand on an unknown code: the master is out of date, an error
    assert found["severity"].tolist() == ["error", "warning", "warning"]
    assert "32%" in found["detail"].iloc[0]
    hit = found[found["sku"].notna()].set_index("sku")
    assert sorted(hit.index) == ["QQ", "ZZ-9"]  # ... and reported, with file, row, column
    n_rows = TINY["actuals.csv"].strip().count("\n") + 1  # header + records
    assert hit.loc["ZZ-9", "row"] == n_rows + 1
    assert hit.loc["ZZ-9", "column"] == "sku" and hit.loc["ZZ-9", "table"] == "actuals"
    assert "2 row(s), 12 units" in hit.loc["ZZ-9", "detail"]
    assert hit.loc["QQ", "severity"] == "warning" and hit.loc["QQ", "owner"] == "master data"
    clean, _ = validate_folder(write_folder(tmp_path / "c", dict(TINY)))
    assert clean.set_aside.empty and findings_of("unknown_sku", clean).empty


def test_snapshot_after_the_cycle_is_named_by_file_and_row(tmp_path):
    # actuals to 2024-02: exports dated up to 2024-03 are possible
    pipeline_csv = ("snapshot,deal_id,sku,period,qty,probability\n"
                    "2024-02,D1,A,2024-04,5,0.5\n"
                    "2024-03,D1,A,2024-04,5,0.6\n"
                    "2025-03,D2,B,2024-05,9,0.7\n")  # 2025 for 2024: a typo
    adjustments_csv = ("snapshot,owner,sku,period,qty_delta,reason\n"
                       "2024-02,Ann,A,2024-04,3,fair\n")
    data = loaded(tmp_path, pipeline_csv=pipeline_csv, adjustments_csv=adjustments_csv)
    found = quality_findings(data, cycle="2024-03")
    late = found[found["check"] == "snapshot_after_cycle"]
    assert late[["severity", "table", "row", "column", "owner"]].values.tolist() == [
        ["warning", "pipeline", 4, "snapshot", "sales ops"]]
    assert "pipeline.csv: 1 row(s) dated in snapshot 2025-03" in late["detail"].iloc[0]
    assert "(row 4)" in late["detail"].iloc[0]
    # re-planning an earlier cycle: the 2024-03 export is later than that cycle on purpose
    earlier = quality_findings(data, cycle="2024-02")
    assert earlier[earlier["check"] == "snapshot_after_cycle"]["row"].tolist() == [4]
    # kept rows are found by their key, whatever else the loader left out
    assert data.source_rows["pipeline"]["row"].tolist() == [2, 3, 4]


def test_stale_deal_named_by_row(tmp_path):
    pipeline_csv = ("snapshot,deal_id,sku,period,qty,probability,outcome\n"
                    "2024-02,D1,A,2023-08,5,0.5,\n"      # 6 months late: may land
                    "2024-02,D2,B,2023-07,9,0.7,\n"      # 7 months late: stale
                    "2024-02,D3,B,2022-01,9,0.7,lost\n"  # closed: not open
                    "2024-01,D4,A,2023-01,9,0.7,\n")     # not the latest snapshot
    data = loaded(tmp_path, pipeline_csv=pipeline_csv)
    stale = quality_findings(data, cycle="2024-03")
    stale = stale[stale["check"] == "stale_deal"]
    assert stale[["severity", "sku", "row", "column", "owner"]].values.tolist() == [
        ["warning", "B", 3, "period", "sales ops"]]
    assert "open deal D2 expected in 2023-07, 7 months before its snapshot 2024-02" in \
        stale["detail"].iloc[0]
    # as seen from an earlier cycle, the latest snapshot is 2024-01: D4 is 12 months late
    earlier = quality_findings(data, cycle="2024-01")
    assert earlier.loc[earlier["check"] == "stale_deal", "row"].tolist() == [5]


def test_reopened_deal_named_by_row(tmp_path):
    pipeline_csv = ("snapshot,deal_id,sku,period,qty,probability,outcome\n"
                    "2024-01,D1,A,2024-02,5,0.9,won\n"    # won in January ...
                    "2024-02,D1,A,2024-04,5,0.9,\n"       # ... open again
                    "2024-01,D2,B,2024-03,9,0.3,lost\n"   # lost and gone
                    "2024-02,D3,B,2024-03,9,0.6,\n")      # simply open
    data = loaded(tmp_path, pipeline_csv=pipeline_csv)
    found = quality_findings(data, cycle="2024-03")
    found = found[found["check"] == "reopened_deal"]
    assert found[["severity", "sku", "row", "column"]].values.tolist() == [
        ["warning", "A", 3, "outcome"]]
    assert "deal D1 was recorded as won in snapshot 2024-01 but is listed open again in " \
        "2024-02" in found["detail"].iloc[0]


def test_deals_and_adjustments_after_end_of_life_named_by_row(tmp_path):
    products_csv = ("sku,name,family,lifecycle_status,price,unit_cost,priority_tier,"
                    "eol_period\n"
                    "A,Pump A,Pumps,eol,100,60,1,2024-03\n"
                    "B,Valve B,Valves,discontinued,50,20,2,\n")
    pipeline_csv = ("snapshot,deal_id,sku,period,qty,probability\n"
                    "2024-02,D1,A,2024-05,5,0.5\n"    # after A's end of life
                    "2024-02,D2,A,2024-03,5,0.5\n"    # in its last month: fine
                    "2024-02,D3,B,2024-04,5,0.5\n"    # discontinued: its own check
                    "2024-01,D4,A,2024-06,5,0.5\n")   # an older snapshot
    adjustments_csv = ("snapshot,owner,sku,period,qty_delta,reason\n"
                       "2024-02,Ann,A,2024-04,3,fair\n"   # after A's end of life
                       "2024-02,Ann,B,2024-03,3,fair\n"   # B is discontinued
                       "2024-02,Ann,A,2024-03,3,fair\n")  # fine
    data = loaded(tmp_path, products_csv=products_csv, pipeline_csv=pipeline_csv,
                  adjustments_csv=adjustments_csv)
    found = quality_findings(data, cycle="2024-03")
    late = found[found["check"] == "after_end_of_life"]
    assert late[["table", "row", "sku", "column"]].values.tolist() == [
        ["pipeline", 2, "A", "period"], ["adjustments", 2, "A", "period"],
        ["adjustments", 3, "B", "period"]]
    assert "open deal D1 for 2024-05, but the product ends its life in 2024-03" in \
        late["detail"].iloc[0]
    assert "adjustment by Ann for 2024-03, but the product is discontinued" in \
        late["detail"].iloc[2]


def test_unknown_sku_in_routings_still_stops_the_load(tmp_path):
    from helpers import TINY, write_folder

    files = dict(TINY)
    files["routings.csv"] = TINY["routings.csv"].rstrip("\n") + "\nZZ-9,R1,1\n"
    data, problems = validate_folder(write_folder(tmp_path / "d", files))
    assert data is None
    assert any(p.file == "routings.csv" and "'ZZ-9' is not in products.csv" in p.problem
               for p in problems)


def test_unknown_sku_stops_planning_when_the_master_is_out_of_date():
    # known demand in the last 12 months: 10 + 0 + 12 + 4 + 5 = 31
    def with_orders(qty, period="2026-12"):
        data = dataset()
        data.set_aside = pd.DataFrame({
            "table": ["actuals"], "file": ["actuals.csv"], "row": [7], "column": ["sku"],
            "value": ["Z-1"], "period": months(period), "qty": [qty]})
        return findings_of("unknown_sku", data)

    # 3 / 34 = 8.8 %: a warning; 4 / 35 = 11.4 % of the demand: an error (stale master)
    assert with_orders(3.0)["severity"].tolist() == ["warning"]
    hit = with_orders(4.0)
    assert hit["severity"].tolist() == ["error", "warning"]
    assert "11%" in hit["detail"].iloc[0]
    # old orders on an unknown code do not count against the last 12 months
    assert with_orders(400.0, "2024-01")["severity"].tolist() == ["warning"]


def test_missing_price_cost():
    products = clean_frames()["products"]
    products.loc[products["sku"] == "B-2", "unit_cost"] = 0.0
    products.loc[products["sku"] == "N-3", "price"] = 0.0
    hit = findings_of("missing_price_cost", dataset(products=products))
    assert sorted(zip(hit["sku"], hit["column"], strict=True)) == [("B-2", "unit_cost"),
                                                                   ("N-3", "price")]
    assert set(hit["owner"]) == {"finance"}
    # a discontinued SKU's price no longer matters
    products.loc[products["sku"].isin(["B-2", "N-3"]), "lifecycle_status"] = "discontinued"
    assert findings_of("missing_price_cost", dataset(products=products)).empty


def test_no_lead_time():
    products = clean_frames()["products"]
    products.loc[products["sku"] == "B-2", "lead_time_months"] = pd.NA
    hit = findings_of("no_lead_time", dataset(products=products))
    assert hit["sku"].tolist() == ["B-2"] and hit["owner"].iloc[0] == "supply planning"
    # no plan reads the column: information, which says so, and weighs nothing in the score
    assert hit["severity"].tolist() == ["info"]
    detail = hit["detail"].iloc[0]
    assert detail.startswith("products.csv: lead_time_months of B-2 is blank. No plan reads it: "
                             "the supply plan does not model production lead times")
    assert "as made in the month it is needed" not in detail and "Fill it in" in detail
    found = quality_findings(dataset(products=products), cycle=CYCLE)
    assert quality_score(found, n_skus=3) == 100.0
    # no lead time anywhere: one finding for the file, not one per SKU
    hit = findings_of("no_lead_time", dataset(products=products.drop(columns="lead_time_months")))
    assert len(hit) == 1 and hit["sku"].isna().all() and "3 live SKUs" in hit["detail"].iloc[0]
    assert hit["severity"].tolist() == ["info"]
    assert findings_of("no_lead_time", dataset()).empty


def test_launch_data():
    products = clean_frames()["products"]
    products.loc[products["sku"] == "N-3", "analog_sku"] = "X-404"
    hit = findings_of("launch_data", dataset(products=products))
    assert hit["sku"].tolist() == ["N-3"] and "'X-404'" in hit["detail"].iloc[0]
    products.loc[products["sku"] == "N-3", ["analog_sku", "launch_period"]] = [pd.NA, pd.NaT]
    hit = findings_of("launch_data", dataset(products=products))
    assert hit["column"].tolist() == ["launch_period"]
    assert findings_of("launch_data", dataset()).empty


def test_score_record_and_history(tmp_path):
    findings = quality_findings(dataset(routings=clean_frames()["routings"].iloc[:2]),
                                cycle=CYCLE)
    record = score_record(findings, n_skus=3, cycle=CYCLE, fingerprint="abc")
    # N-3 has a warning (no routing): 100 × (1 − 0.5 / 3)
    assert record["score"].iloc[0] == pytest.approx(100 * 2.5 / 3)
    assert record[["n_errors", "n_warnings", "n_info"]].iloc[0].tolist() == [0, 1, 0]
    assert read_quality_history(tmp_path).empty
    record_quality_score(record, tmp_path)
    later = score_record(findings.iloc[:0], n_skus=3, cycle="2027-02")
    history = record_quality_score(later, tmp_path)
    assert history["cycle"].tolist() == ["2027-01", "2027-02"]
    assert history["score"].tolist() == pytest.approx([100 * 2.5 / 3, 100.0])
    # a rerun of a cycle replaces its row
    history = record_quality_score(later.assign(score=95.0), tmp_path)
    assert history["score"].tolist() == pytest.approx([100 * 2.5 / 3, 95.0])


def test_score_trend_and_summary():
    from sopkit.quality import score_trend, summary

    history = pd.DataFrame({"cycle": ["2026-11", "2026-12"], "score": [80.0, 85.0],
                            "n_skus": [3, 3], "n_errors": [0, 0], "n_warnings": [1, 1],
                            "n_info": [0, 0], "fingerprint": ["a", "b"]})
    record = history.iloc[:1].assign(cycle="2027-01", score=82.5)
    trend = score_trend(history, record)
    assert trend["cycle"].tolist() == ["2026-11", "2026-12", "2027-01"]
    assert trend["change"].tolist()[1:] == pytest.approx([5.0, -2.5])
    rerun = score_trend(trend.drop(columns="change"), record.assign(cycle="2026-12", score=70.0))
    assert rerun["score"].tolist() == pytest.approx([80.0, 70.0, 82.5])  # replaced, not added
    products = clean_frames()["products"]
    products.loc[products["sku"] == "B-2", "price"] = 1.0
    products.loc[products["sku"] == "A-1", "lead_time_months"] = pd.NA
    products.loc[products["sku"] == "N-3", "lead_time_months"] = pd.NA
    table = summary(quality_findings(dataset(products=products), cycle=CYCLE))
    assert table[["check", "owner", "findings", "skus"]].values.tolist() == [
        ["price_below_cost", "finance", 1, 1], ["no_lead_time", "supply planning", 2, 2]]
    assert summary(quality_findings(dataset(), cycle=CYCLE)).empty


def test_plot_score_trend():
    from sopkit.quality import plot_score_trend

    history = pd.DataFrame({"cycle": ["2026-11", "2026-12"], "score": [80.0, 85.0]})
    fig = plot_score_trend(history, target=90)
    ax = fig.axes[0]
    assert list(ax.lines[0].get_ydata()) == [80.0, 85.0]
    assert list(ax.lines[1].get_ydata()) == [90, 90]  # the target


def test_a_misnamed_file_and_a_misspelt_column_are_named(tmp_path):
    pipeline = ("snapshot,deal_id,sku,period,qty,probability,outcomes\n"
                "2024-05,D1,A,2024-07,10,0.5,lost\n")
    data = loaded(tmp_path, pipeline_csv=pipeline)
    folder = tmp_path / "d"
    (folder / "adjustment.csv").write_text("snapshot,owner,sku,period,qty_delta\n")
    (folder / "promotions.csv.csv").write_text("promo_id,sku,start_period,end_period,lift\n")
    (folder / "notes.txt").write_text("read me")
    (folder / "README.md").write_text("not data")  # not a data file: not reported
    found = quality_findings(data, cycle=CYCLE, checks=["unread_file", "unknown_column"])
    files = found[found["check"] == "unread_file"].set_index("table", drop=False)
    assert sorted(files["detail"].str.split(" ").str[0]) == [
        "adjustment.csv", "notes.txt", "promotions.csv.csv"]
    assert files.loc["adjustments", "detail"] == (
        "adjustment.csv is not a file of the data contract and was not read; if it holds the "
        "adjustments table, name it adjustments.csv (or adjustments.xlsx) — without it the "
        "plan has no adjustments")
    assert files.loc["adjustments", "owner"] == "demand planning"
    assert "name it promotions.csv" in files.loc["promotions", "detail"]
    assert files["table"].isna().sum() == 1  # notes.txt: no table it could be
    column = found[found["check"] == "unknown_column"].iloc[0]
    assert (column["table"], column["column"], column["owner"]) == (
        "pipeline", "outcomes", "sales ops")
    assert column["detail"] == ("pipeline: column 'outcomes' is not in the data contract and "
                                "is not used; if it is 'outcome', rename it")
    # the folder as the contract wants it: nothing to say
    assert quality_findings(loaded(tmp_path / "ok"), cycle=CYCLE,
                            checks=["unread_file", "unknown_column"]).empty


def test_an_old_pipeline_export_is_named():
    # latest pipeline snapshot 2024-03 against cycle 2024-06: 3 months, more than 2
    pipeline = pd.DataFrame({
        "snapshot": pd.to_datetime(["2024-02-01", "2024-03-01"]), "deal_id": ["D1", "D1"],
        "sku": ["A", "A"], "period": pd.to_datetime(["2024-07-01"] * 2), "qty": [5.0, 5.0],
        "probability": [0.5, 0.5]})
    data = dataset(pipeline=pipeline)
    found = quality_findings(data, cycle="2024-06", checks=["stale_export"])
    assert found[["table", "column", "owner"]].values.tolist() == [
        ["pipeline", "snapshot", "sales ops"]]
    assert found["detail"].iloc[0] == (
        "pipeline.csv: the latest snapshot is 2024-03, 3 months before the cycle 2024-06; the "
        "plan counts its open deals as if they were current. Add this month's export as a "
        "new snapshot")
    # two months old is a normal lag (the export of the month before the cycle, and one)
    assert quality_findings(data, cycle="2024-05", checks=["stale_export"]).empty


def test_a_component_used_beyond_its_suppliers_capacity_is_questioned():
    # demand Oct-Dec 2026 (cycle 2027-01, 12 months back from it): A-1 22 units, B-2 9; A-1
    # takes 2 of C1 a unit, B-2 one: 44 + 9 = 53 over 12 months, 4.4 a month against a
    # capacity of 3 (+ backup 1): more than 10 % above. C2 (only B-2, 9 over 12 months =
    # 0.75 a month) against 1: fine.
    components = strings(pd.DataFrame({"component": ["C1", "C2"], "supplier_capacity": [3.0, 1.0],
                                       "backup_capacity": [1.0, 0.0]}))
    bom = strings(pd.DataFrame({"sku": ["A-1", "B-2", "B-2"], "component": ["C1", "C1", "C2"],
                                "qty_per": [2.0, 1.0, 1.0]}))
    found = quality_findings(dataset(components=components, bom=bom), cycle="2027-01",
                             checks=["component_use_above_capacity"])
    assert len(found) == 1
    row = found.iloc[0]
    assert (row["table"], row["row"], row["column"], row["owner"]) == (
        "components", 2, "supplier_capacity", "procurement")
    assert row["detail"] == (
        "component C1: the last 12 months' demand used 4.4 a month on average (most 29 in "
        "2026-12) against a supplier capacity of 4 a month (backup included): is "
        "components.csv current? The supply plan holds to it")
    roomy = components.assign(supplier_capacity=[4.0, 1.0])
    assert quality_findings(dataset(components=roomy, bom=bom), cycle="2027-01",
                            checks=["component_use_above_capacity"]).empty
