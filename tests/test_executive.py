"""The executive review's assembly: decisions, risks, locked horizon, scorecard text."""

from __future__ import annotations

import pandas as pd

from sopkit import executive

M = pd.to_datetime(["2026-11-01", "2026-12-01", "2027-01-01", "2027-02-01"])


def test_decisions_recommend_the_top_response_and_group_gaps():
    ranked = pd.DataFrame({
        "scenario": ["Extra shift", "Baseline", "Boom"],
        "kind": ["response", "response", "shock"],
        "rank": pd.array([1, 2, pd.NA], dtype="Int64"),
        "reason": ["best: ahead of 'Baseline' on gross_margin 120 vs 100", "behind", "shock"],
    })
    gaps = pd.DataFrame({
        "sku": ["A", "B", "A", "C"],
        "period": [M[0], M[0], M[1], M[2]],
        "qty_short": [10.0, 5.0, 2.0, 1.0],
        "revenue_at_risk": [1000.0, 400.0, 200.0, 50.0],
        "binding": ["R1", "R1", "R1", ""],
    })
    table = executive.decisions(gaps, ranked)
    first = table.iloc[0]
    assert first["recommendation"] == "Extra shift"
    assert first["options"] == "Extra shift; Baseline"  # the shock is no option
    # R1: 10 + 5 + 2 = 17 units, 1000 + 400 + 200 = 1,600 at risk, 2 SKUs, Nov to Dec
    assert table.iloc[1]["decision"] == "Close or accept the gap behind: R1"
    assert table.iloc[1]["context"] == (
        "17 units short on 2 SKU(s), 1,600 revenue at risk, 2026-11 to 2026-12")
    # a gap with no binding constraint was lost to priority allocation
    assert table.iloc[2]["decision"].endswith("priority allocation")


def test_top_risks_orders_shortfalls_and_write_offs_by_value():
    products = pd.DataFrame({"sku": ["A", "B"], "family": ["F", "G"], "unit_cost": [10.0, 4.0]})
    gaps = pd.DataFrame({"sku": ["A", "A"], "period": M[:2], "qty_short": [1.0, 2.0],
                         "revenue_at_risk": [30.0, 60.0], "explanation": ["x", "y"]})
    plan = pd.DataFrame({"sku": ["B", "B"], "period": M[:2], "qty_written_off": [20.0, 5.0]})
    risks = executive.top_risks(gaps, plan, products)
    # write-off: (20 + 5) x 4 = 100 > shortfall 30 + 60 = 90
    assert risks[["risk", "sku", "value"]].values.tolist() == [
        ["expiry write-off", "B", 100.0], ["shortfall", "A", 90.0]]


def test_locked_horizon_sums_families_over_the_first_months():
    products = pd.DataFrame({"sku": ["A", "B"], "family": ["F", "F"]})
    plan = pd.DataFrame({
        "sku": ["A"] * 4 + ["B"] * 4, "period": list(M) * 2,
        "qty_demand": [1.0, 2, 3, 4, 10, 20, 30, 40], "qty_supply": [1.0] * 8,
        "qty_served": [1.0] * 8, "qty_short": [0.0] * 8,
    })
    locked = executive.locked_horizon(plan, products, cycle=M[0], months=3)
    assert locked["qty_demand"].tolist() == [11.0, 22.0, 33.0]
    assert locked["period"].tolist() == list(M[:3])


def test_scorecard_text_is_what_people_read():
    card = pd.DataFrame({"kpi": ["fill_rate", "forecast_bias", "data_quality_score"],
                         "value": [0.9534, -0.021, 88.25], "target": [0.95, 0.0, 90.0],
                         "direction": ["higher", "closer", "higher"],
                         "status": ["green", "green", "amber"]})
    table = executive.scorecard_table(card)
    assert table["kpi"].tolist() == ["Fill rate", "Forecast bias", "Data-quality score"]
    assert table["value"].tolist() == ["95.3%", "-2.1%", "88.2"]
    assert table["target"].tolist() == ["95.0%", "+0.0%", "90.0"]
    assert executive.format_kpi("fill_rate", float("nan")) == "–"
    html = executive.summary_html(card, pd.DataFrame(columns=["decision", "recommendation",
                                                              "reason"]))
    assert "Fill rate · green" in html and "95.3%" in html
