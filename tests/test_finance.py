"""Finance: a priced plan checked against numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.errors import ParameterError
from sopkit.finance import financials, overtime_costs, summarise

JAN, FEB, MAR = pd.Timestamp("2027-01-01"), pd.Timestamp("2027-02-01"), pd.Timestamp("2027-03-01")


@pytest.fixture
def products() -> pd.DataFrame:
    return pd.DataFrame({
        "sku": pd.array(["A", "B"], dtype="string"),
        "family": pd.array(["Pumps", "Valves"], dtype="string"),
        "price": [100.0, 50.0],
        "unit_cost": [60.0, 20.0],
        "outsource_cost": [75.0, np.nan],
    })


@pytest.fixture
def plan() -> pd.DataFrame:
    return pd.DataFrame({
        "sku": pd.array(["A", "A", "B", "B"], dtype="string"),
        "period": [JAN, FEB, JAN, FEB],
        "qty_demand": [10.0, 12.0, 8.0, 4.0],
        "qty_regular": [6.0, 8.0, 4.0, 4.0],
        "qty_overtime": [2.0, 0.0, 0.0, 0.0],
        "qty_outsourced": [2.0, 0.0, 0.0, 0.0],
        "qty_supply": [10.0, 8.0, 4.0, 4.0],
        "inventory_end": [5.0, 1.0, 0.0, 2.0],
        "qty_served": [10.0, 12.0, 6.0, 4.0],
        "qty_short": [0.0, 0.0, 2.0, 0.0],
        "qty_written_off": [0.0, 0.0, 1.0, 0.0],
    })


@pytest.fixture
def resource_load() -> pd.DataFrame:
    return pd.DataFrame({
        "resource": pd.array(["R1", "R2", "R1", "R2"], dtype="string"),
        "period": [JAN, JAN, FEB, FEB],
        "overtime_hours": [3.0, 1.0, 0.0, 0.0],
    })


@pytest.fixture
def resources() -> pd.DataFrame:
    return pd.DataFrame({
        "resource": pd.array(["R1", "R2"], dtype="string"),
        "capacity_hours": [100.0, 100.0],
        "overtime_cost_per_hour": [10.0, 40.0],
    })


@pytest.fixture
def fin(plan, products, resource_load, resources) -> pd.DataFrame:
    return financials(plan, products, resource_load, resources, holding_cost_rate=0.24)


def row(frame, sku, period):
    return frame[(frame["sku"] == sku) & (frame["period"] == period)].iloc[0]


def test_financials_by_hand(fin):
    a_jan = row(fin, "A", JAN)
    assert a_jan["family"] == "Pumps"
    assert a_jan["revenue"] == pytest.approx(1000.0)  # 100 × 10
    assert a_jan["cogs"] == pytest.approx(600.0)  # 60 × 10
    assert a_jan["gross_margin"] == pytest.approx(400.0)
    assert a_jan["outsourcing_premium"] == pytest.approx(30.0)  # (75 − 60) × 2
    assert a_jan["overtime_cost"] == pytest.approx(70.0)  # 3 h × 10 + 1 h × 40, all on A
    assert a_jan["inventory_value"] == pytest.approx(300.0)  # 60 × 5
    assert a_jan["holding_cost"] == pytest.approx(6.0)  # 300 × 0.24 / 12
    assert a_jan["contribution"] == pytest.approx(294.0)  # 400 − 30 − 70 − 6

    b_jan = row(fin, "B", JAN)
    assert b_jan["revenue"] == pytest.approx(300.0)  # 50 × 6
    assert b_jan["revenue_at_risk"] == pytest.approx(100.0)  # 50 × 2 short
    assert b_jan["outsourcing_premium"] == 0.0  # blank outsource cost
    assert b_jan["write_off_cost"] == pytest.approx(20.0)  # 20 × 1
    assert b_jan["overtime_cost"] == 0.0
    assert b_jan["contribution"] == pytest.approx(160.0)  # 180 − 20

    b_feb = row(fin, "B", FEB)
    assert b_feb["holding_cost"] == pytest.approx(0.8)  # 20 × 2 × 0.02
    assert list(fin.columns[:3]) == ["sku", "period", "family"]
    assert len(fin) == 4


def test_summarise_by_period(fin):
    by_month = summarise(fin, by=("period",))
    jan = by_month[by_month["period"] == JAN].iloc[0]
    assert jan["revenue"] == pytest.approx(1300.0)  # 1000 + 300
    assert jan["overtime_cost"] == pytest.approx(70.0)
    assert jan["contribution"] == pytest.approx(454.0)  # 294 + 160
    assert jan["fill_rate"] == pytest.approx(16 / 18)
    feb = by_month[by_month["period"] == FEB].iloc[0]
    assert feb["contribution"] == pytest.approx(598.0)  # (480 − 1.2) + (120 − 0.8)
    assert feb["gross_margin_pct"] == pytest.approx(600 / 1400)


def test_summarise_total_averages_the_stock(fin):
    total = summarise(fin, by=())
    assert len(total) == 1
    assert total["revenue"].iloc[0] == pytest.approx(2700.0)
    # month-end stock value: Jan 300 + 0, Feb 60 + 40 -> average (300 + 100) / 2
    assert total["inventory_value"].iloc[0] == pytest.approx(200.0)
    assert total["contribution"].iloc[0] == pytest.approx(1052.0)


def test_summarise_against_budget(fin):
    budget = pd.DataFrame({
        "family": pd.array(["Pumps", "Pumps", "Valves", "Valves", "Pumps", "Motors"],
                           dtype="string"),
        "period": [JAN, FEB, JAN, FEB, MAR, JAN],
        "revenue": [1100.0, 1100.0, 400.0, 200.0, 999.0, 50.0],
    })
    by_family = summarise(fin, by=("family",), budget=budget).set_index("family")
    # March is outside the plan, so it is not compared.
    assert by_family.loc["Pumps", "revenue_budget"] == pytest.approx(2200.0)
    assert by_family.loc["Pumps", "revenue_vs_budget"] == pytest.approx(0.0)
    assert by_family.loc["Valves", "revenue_vs_budget"] == pytest.approx(-100.0)  # 500 − 600
    assert by_family.loc["Valves", "revenue_vs_budget_pct"] == pytest.approx(-1 / 6)
    assert by_family.loc["Motors", "revenue"] == 0.0  # budgeted, not planned
    assert by_family.loc["Motors", "revenue_vs_budget"] == pytest.approx(-50.0)

    total = summarise(fin, by=(), budget=budget)
    assert total["revenue_budget"].iloc[0] == pytest.approx(2850.0)  # 2200 + 600 + 50
    assert total["revenue_vs_budget"].iloc[0] == pytest.approx(-150.0)

    by_both = summarise(fin, by=("family", "period"), budget=budget)
    valves_jan = by_both[(by_both["family"] == "Valves") & (by_both["period"] == JAN)].iloc[0]
    assert valves_jan["revenue_vs_budget"] == pytest.approx(-100.0)  # 300 − 400


def test_overtime_priced_from_options_when_no_load(plan, products):
    options = pd.DataFrame({
        "option": ["overtime", "outsource"],
        "resource_or_sku": ["R1", "A"],
        "period": [JAN, JAN],
        "qty": [3.0, 2.0],
        "cost": [45.0, 30.0],
    })
    fin = financials(plan, products, options=options)
    assert fin["overtime_cost"].sum() == pytest.approx(45.0)
    assert overtime_costs()["overtime_cost"].sum() == 0.0


def test_overtime_spread_on_supply_when_no_overtime_units(plan, products, resources):
    plan = plan.assign(qty_overtime=0.0)
    load = pd.DataFrame({"resource": ["R1"], "period": [JAN], "overtime_hours": [4.0]})
    fin = financials(plan, products, load, resources)
    # 40 spread on January supply: A 10, B 4 -> A 40 × 10/14
    assert row(fin, "A", JAN)["overtime_cost"] == pytest.approx(40 * 10 / 14)
    assert fin["overtime_cost"].sum() == pytest.approx(40.0)


def test_minimal_plan_without_optional_columns(products):
    plan = pd.DataFrame({"sku": ["A"], "period": [JAN], "qty_served": [1.0], "qty_short": [0.0]})
    fin = financials(plan, products)
    assert fin["revenue"].iloc[0] == 100.0
    assert fin["inventory_value"].iloc[0] == 0.0


def test_errors(plan, products, fin):
    with pytest.raises(ParameterError, match="not in products: Z"):
        financials(plan.assign(sku="Z"), products)
    with pytest.raises(ParameterError, match="holding_cost_rate"):
        financials(plan, products, holding_cost_rate=-0.1)
    with pytest.raises(ParameterError, match="lacks column"):
        financials(plan.drop(columns="qty_short"), products)
    budget = pd.DataFrame({"family": ["Pumps"], "period": [JAN], "revenue": [1.0]})
    with pytest.raises(ParameterError, match="budget"):
        summarise(fin, by=("sku",), budget=budget)
    with pytest.raises(ParameterError, match="not a column"):
        summarise(fin, by=("region",))


def test_bridge_from_revenue_to_contribution_adds_up():
    from sopkit.finance import bridge

    fin = pd.DataFrame({"revenue": [600.0, 400.0], "cogs": [300.0, 250.0],
                        "gross_margin": [300.0, 150.0], "outsourcing_premium": [10.0, 0.0],
                        "overtime_cost": [5.0, 15.0], "holding_cost": [2.0, 3.0],
                        "write_off_cost": [0.0, 5.0], "contribution": [283.0, 127.0]})
    usage = pd.DataFrame({"component": ["B", "C"], "qty_backup": [4.0, 0.0]})
    components = pd.DataFrame({"component": ["B", "C"], "backup_extra_cost": [2.5, 9.0]})
    out = bridge(fin, component_usage=usage, components=components).set_index("line")
    assert out["amount"].tolist() == [1000.0, -550.0, 450.0, -10.0, -20.0, -5.0, -5.0, 410.0,
                                      -10.0]
    # the lines add up to the subtotals
    assert 1000.0 - 550.0 == out.loc["gross margin", "amount"]
    assert 450.0 - 10.0 - 20.0 - 5.0 - 5.0 == out.loc["contribution", "amount"]
    assert out.loc["contribution", "share_of_revenue"] == pytest.approx(0.41)
    # options adopted into the plan cost 60: a line and the contribution after it
    adopted = bridge(fin, decisions_cost=60.0).set_index("line")["amount"]
    assert adopted.iloc[-2:].tolist() == [-60.0, 350.0]
