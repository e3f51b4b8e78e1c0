"""Quality checks: each one fires on a broken case and stays quiet on a clean one."""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit.dataset import Dataset
from sopkit.errors import ParameterError
from sopkit.quality import CHECKS, COLUMNS, normalise_code, quality_findings, quality_score

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
    }))
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
    assert hit["severity"].iloc[0] == "error"
    assert hit["owner"].iloc[0] == "master data"
    # a discontinued SKU needs no routing
    products = discontinue("N-3")
    assert findings_of("no_routing", dataset(routings=routings, products=products)).empty


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
                           "discontinued_with_stock", "unit_mismatch"}
    routings = clean_frames()["routings"].iloc[:2]
    products = clean_frames()["products"]
    products.loc[products["sku"] == "B-2", "price"] = 1.0
    found = quality_findings(dataset(routings=routings, products=products), cycle=None)
    assert found["severity"].tolist() == ["error", "warning"]
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
