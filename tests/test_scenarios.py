"""Scenarios: specs checked, applied without touching the inputs, planned and ranked."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sopkit.dataset import Dataset
from sopkit.errors import InfeasiblePlanError, ParameterError
from sopkit.scenarios import (
    apply_scenario,
    rank_scenarios,
    run_scenarios,
    scenario_kpis,
    validate_scenarios,
)

CYCLE = "2027-01"
JAN, FEB, MAR = pd.Timestamp("2027-01-01"), pd.Timestamp("2027-02-01"), pd.Timestamp("2027-03-01")


def s(values):
    return pd.array(values, dtype="string")


@pytest.fixture
def demand_plan() -> pd.DataFrame:
    # A: 10 a month (promotion 4 of it in January); B: 20 a month
    return pd.DataFrame({
        "sku": s(["A", "A", "A", "B", "B", "B"]),
        "period": [JAN, FEB, MAR] * 2,
        "qty_stat": [6.0, 10.0, 10.0, 20.0, 20.0, 20.0],
        "qty_pipeline": 0.0,
        "qty_promo": [4.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        "qty_adjustment": 0.0,
        "qty_consensus": [10.0, 10.0, 10.0, 20.0, 20.0, 20.0],
        "qty_q10": [5.0, 5.0, 5.0, 15.0, 15.0, 15.0],
        "qty_q50": [10.0, 10.0, 10.0, 20.0, 20.0, 20.0],
        "qty_q90": [15.0, 15.0, 15.0, 25.0, 25.0, 25.0],
        "qty_q95": [16.0, 16.0, 16.0, 26.0, 26.0, 26.0],
        "model": s(["ets"] * 6),
        "demand_class": s(["smooth"] * 6),
    })


@pytest.fixture
def data() -> Dataset:
    products = pd.DataFrame({
        "sku": s(["A", "B"]), "family": s(["Pumps", "Valves"]),
        "lifecycle_status": s(["active", "active"]),
        "price": [100.0, 50.0], "unit_cost": [60.0, 20.0], "outsource_cost": [75.0, np.nan],
        "priority_tier": pd.array([1, 2], dtype="Int64"),
    })
    resources = pd.DataFrame({
        "resource": s(["R1", "R2"]), "capacity_hours": [25.0, 50.0],
        "overtime_max_hours": [10.0, 0.0], "overtime_cost_per_hour": [0.0, 0.0],
        "co2e_kg_per_hour": [2.0, 1.0],
    })
    components = pd.DataFrame({"component": s(["CTRL"]), "supplier_capacity": [200.0]})
    return Dataset.from_frames({"products": products, "resources": resources,
                                "components": components})


class FakePlanner:
    """Serves the consensus except A in months where CTRL has no capacity.

    R1 needs 1 hour a unit; hours above its capacity are overtime. A keeps one
    unit in stock at month end.
    """

    def __init__(self):
        self.calls = []

    def __call__(self, demand_plan, data, *, cycle, horizon=12, component_capacity=None,
                 resource_capacity=None, allow_overtime=True, **kwargs):
        self.calls.append({"cycle": cycle, "horizon": horizon, "allow_overtime": allow_overtime,
                           "component_capacity": component_capacity,
                           "resource_capacity": resource_capacity})
        plan = demand_plan[["sku", "period"]].copy()
        plan["qty_demand"] = demand_plan["qty_consensus"]
        blocked = set()
        if component_capacity is not None:
            blocked = set(component_capacity.loc[component_capacity["supplier_capacity"] == 0,
                                                 "period"])
        stop = (plan["sku"] == "A") & plan["period"].isin(blocked)
        plan["qty_served"] = plan["qty_demand"].where(~stop, 0.0)
        plan["qty_short"] = plan["qty_demand"] - plan["qty_served"]
        plan["qty_outsourced"] = 0.0
        plan["inventory_end"] = np.where(plan["sku"] == "A", 1.0, 0.0)
        hours = plan.groupby("period", as_index=False)["qty_served"].sum()
        capacity = float(data.resources.set_index("resource").loc["R1", "capacity_hours"])
        load = pd.DataFrame({
            "resource": s(["R1"] * len(hours)), "period": hours["period"],
            "hours_required": hours["qty_served"], "capacity_hours": capacity,
            "overtime_hours": (hours["qty_served"] - capacity).clip(lower=0.0),
        })
        if not allow_overtime and load["overtime_hours"].sum() > 0:
            raise InfeasiblePlanError("no plan without overtime")
        return SimpleNamespace(plan=plan, resource_load=load, status="optimal")


# ------------------------------------------------------------------ validation


def test_validate_normalises():
    specs = validate_scenarios([
        {"name": " Downturn 10 % ", "demand": [{"scope": "ALL", "factor": 0.9}]},
        {"name": "Pumps push", "demand": {"scope": "family", "family": "Pumps", "factor": 2,
                                          "from": "2026-12", "to": "+1"}},
        {"name": "Outage", "capacity": [{"component": "CTRL", "factor": 0, "from": "+1"}]},
        {"name": "Spike", "costs": [{"unit_cost_factor": 1.1}], "supply": {
            "allow_outsourcing": False}},
    ])
    assert [x["name"] for x in specs] == ["Downturn 10 %", "Pumps push", "Outage", "Spike"]
    assert specs[0]["demand"] == [{"scope": "all", "factor": 0.9, "from": None, "to": None}]
    assert specs[1]["demand"][0]["family"] == ["Pumps"]
    assert specs[1]["demand"][0]["factor"] == 2.0
    assert specs[2]["capacity"][0] == {"component": ["CTRL"], "factor": 0.0, "from": "+1",
                                       "to": None}
    assert validate_scenarios(specs) == specs  # a normalised spec is a valid spec
    assert specs[3]["costs"][0]["scope"] == "all"
    assert specs[3]["supply"] == {"allow_outsourcing": False}
    assert validate_scenarios(None) == []


@pytest.mark.parametrize("spec, message", [
    ({"demand": [{"scope": "all", "factor": 0.9}]}, r"#1: name: missing"),
    ({"name": "X", "demnd": []}, r"'X': scenario.demnd: unknown key"),
    ({"name": "X", "demand": [{"scope": "all", "factor": -1}]}, r"'X': demand\[0\].factor"),
    ({"name": "X", "demand": [{"scope": "all", "factor": "big"}]}, r"demand\[0\].factor"),
    ({"name": "X", "demand": [{"scope": "all"}]}, r"demand\[0\].factor: missing"),
    ({"name": "X", "demand": [{"scope": "region", "factor": 1}]}, r"demand\[0\].scope"),
    ({"name": "X", "demand": [{"scope": "family", "factor": 1}]}, r"demand\[0\].family"),
    ({"name": "X", "demand": [{"scope": "all", "sku": "A", "factor": 1}]}, r"demand\[0\].sku"),
    ({"name": "X", "demand": [{"scope": "all", "factor": 1, "from": "Jan"}]},
     r"demand\[0\].from: not a month"),
    ({"name": "X", "capacity": [{"resource": "R1", "component": "C", "factor": 1}]},
     r"capacity\[0\]: give exactly one"),
    ({"name": "X", "costs": [{"scope": "all", "unit_cost_factor": 1.1, "from": "+1"}]},
     r"costs\[0\].from"),
    ({"name": "X", "costs": [{"scope": "all"}]}, r"costs\[0\]: give at least one"),
    ({"name": "X", "supply": {"allow_overtime": "no"}}, r"supply.allow_overtime"),
    ({"name": "X"}, r"'X': scenario: changes nothing"),
    ({"name": "X", "decision": 3, "demand": [{"scope": "all", "factor": 1}]},
     r"'X': decision: must be the decision's name"),
    ({"name": "X", "kind": "shock", "decision": "D", "demand": [{"scope": "all", "factor": 1}]},
     r"'X': decision: a shock is not an option"),
    ({"name": "X", "cost": -5, "demand": [{"scope": "all", "factor": 1}]},
     r"'X': scenario.cost: must be a number >= 0"),
    ({"name": "X", "cost_per_month": "7.5k", "demand": [{"scope": "all", "factor": 1}]},
     r"'X': scenario.cost_per_month: must be a number, got '7.5k'"),
])
def test_validate_rejects(spec, message):
    with pytest.raises(ParameterError, match=message):
        validate_scenarios([spec])


def test_validate_rejects_duplicate_names():
    spec = {"name": "Same", "demand": [{"scope": "all", "factor": 1.0}]}
    with pytest.raises(ParameterError, match="'same': name: used twice"):
        validate_scenarios([spec, {**spec, "name": "same"}])


# ------------------------------------------------------------------ applying


def test_demand_all_scales_every_quantity_and_leaves_inputs(demand_plan, data):
    before = demand_plan.copy()
    inputs = apply_scenario(demand_plan, data, {"name": "Down", "demand": [
        {"scope": "all", "factor": 0.9}]}, cycle=CYCLE)
    pd.testing.assert_frame_equal(demand_plan, before)
    assert inputs.demand_plan["qty_consensus"].tolist() == pytest.approx([9.0] * 3 + [18.0] * 3)
    assert inputs.demand_plan["qty_q95"].iloc[0] == pytest.approx(14.4)  # 16 × 0.9
    assert inputs.demand_plan["qty_promo"].iloc[0] == pytest.approx(3.6)
    assert inputs.resource_capacity is None and inputs.component_capacity is None
    assert inputs.data.products.equals(data.products)


def test_demand_family_in_a_month_range(demand_plan, data):
    spec = {"name": "Pumps push", "demand": [
        {"scope": "family", "family": "Pumps", "factor": 1.2, "from": "2027-02", "to": "+2"}]}
    plan = apply_scenario(demand_plan, data, spec, cycle=CYCLE).demand_plan
    # A in February and March (+2 = 2027-03): 10 × 1.2 = 12; January and B unchanged
    assert plan["qty_consensus"].tolist() == pytest.approx([10, 12, 12, 20, 20, 20])


def test_demand_promotions_scales_only_the_promoted_units(demand_plan, data):
    spec = {"name": "Campaign x2", "demand": [{"scope": "promotions", "factor": 2.0}]}
    plan = apply_scenario(demand_plan, data, spec, cycle=CYCLE).demand_plan
    # A January: promotion 4 -> 8, so consensus 10 + 4 = 14 and every quantile + 4
    assert plan["qty_promo"].iloc[0] == 8.0
    assert plan["qty_consensus"].tolist() == [14.0, 10.0, 10.0, 20.0, 20.0, 20.0]
    assert plan["qty_q10"].iloc[0] == 9.0
    assert plan["qty_stat"].iloc[0] == 6.0


def test_costs_by_family(demand_plan, data):
    spec = {"name": "Valve costs", "costs": [
        {"scope": "family", "family": "Valves", "unit_cost_factor": 1.1, "price_factor": 1.2}]}
    products = apply_scenario(demand_plan, data, spec, cycle=CYCLE).data.products
    assert products["unit_cost"].tolist() == pytest.approx([60.0, 22.0])
    assert products["price"].tolist() == pytest.approx([100.0, 60.0])
    assert data.products["unit_cost"].tolist() == [60.0, 20.0]


def test_capacity_for_every_month_changes_the_data(demand_plan, data):
    spec = {"name": "Added shift", "capacity": [{"resource": "R1", "factor": 1.25}]}
    inputs = apply_scenario(demand_plan, data, spec, cycle=CYCLE)
    resources = inputs.data.resources.set_index("resource")
    assert resources.loc["R1", "capacity_hours"] == 31.25  # 25 × 1.25
    assert resources.loc["R1", "overtime_max_hours"] == 12.5
    assert resources.loc["R2", "capacity_hours"] == 50.0
    assert inputs.resource_capacity is None
    assert data.resources.set_index("resource").loc["R1", "capacity_hours"] == 25.0


def test_capacity_for_some_months_gives_overrides(demand_plan, data):
    spec = {"name": "Outage", "capacity": [
        {"component": "CTRL", "factor": 0.0, "from": "+1", "to": "+2"},
        {"resource": "R1", "factor": 0.5, "from": "2027-02"},  # open end: to March
        {"resource": "R1", "factor": 2.0},  # every month, applied first
    ]}
    inputs = apply_scenario(demand_plan, data, spec, cycle=CYCLE)
    comp = inputs.component_capacity
    assert list(comp.columns) == ["component", "period", "supplier_capacity"]
    assert comp["period"].tolist() == [FEB, MAR]
    assert comp["supplier_capacity"].tolist() == [0.0, 0.0]
    assert inputs.data.components["supplier_capacity"].tolist() == [200.0]
    res = inputs.resource_capacity
    assert res["period"].tolist() == [FEB, MAR]
    assert res["capacity_hours"].tolist() == [25.0, 25.0]  # 25 × 2 × 0.5
    assert res["overtime_max_hours"].tolist() == [10.0, 10.0]  # 10 × 2 × 0.5
    assert inputs.data.resources.set_index("resource").loc["R1", "capacity_hours"] == 50.0
    kwargs = inputs.planner_kwargs(horizon=3)
    assert kwargs["horizon"] == 3 and kwargs["component_capacity"] is comp
    # an outlook reaching two months further: the open-ended change runs through it, the
    # month-limited one does not move
    longer = apply_scenario(demand_plan, data, spec, cycle=CYCLE,
                            until=MAR + pd.DateOffset(months=2))
    assert longer.resource_capacity["period"].tolist() == list(
        pd.date_range(FEB, periods=4, freq="MS"))
    assert longer.component_capacity["period"].tolist() == [FEB, MAR]


@pytest.mark.parametrize("change, message", [
    ({"demand": [{"scope": "family", "family": "Pmups", "factor": 1.1}]},
     r"'Typo': demand\[0\].family: unknown 'Pmups'"),
    ({"capacity": [{"resource": "R9", "factor": 1.1}]}, r"capacity\[0\].resource: unknown"),
    ({"capacity": [{"component": "CTRL", "factor": 0, "from": "+2", "to": "+1"}]},
     r"capacity\[0\].to: ends before it starts"),
    ({"demand": [{"scope": "all", "factor": 1.1, "from": "2027-03", "to": "2027-02"}]},
     r"demand\[0\].to: ends before it starts"),
    ({"demand": [{"scope": "sku", "sku": ["A", "Z"], "factor": 1.1}]},
     r"demand\[0\].sku: unknown 'Z'"),
])
def test_apply_rejects_what_the_data_does_not_know(demand_plan, data, change, message):
    with pytest.raises(ParameterError, match=message):
        apply_scenario(demand_plan, data, {"name": "Typo", **change}, cycle=CYCLE)


# ------------------------------------------------------------------ running


SPECS = [
    {"name": "Downturn 10 %", "demand": [{"scope": "all", "factor": 0.9}]},
    {"name": "Outage", "capacity": [{"component": "CTRL", "factor": 0, "from": "+1",
                                     "to": "+2"}]},
    {"name": "Added shift", "capacity": [{"resource": "R1", "factor": 1.25}]},
    {"name": "No overtime", "supply": {"allow_overtime": False}},
]


def test_run_scenarios_by_hand(demand_plan, data):
    planner = FakePlanner()
    results = run_scenarios(demand_plan, data, SPECS, cycle=CYCLE, planner=planner, horizon=3)
    assert results["scenario"].tolist() == ["Baseline", "Downturn 10 %", "Outage",
                                            "Added shift", "No overtime"]
    assert all(call["horizon"] == 3 for call in planner.calls)
    r = results.set_index("scenario")
    # Baseline: A 30 × 100 + B 60 × 50 = 6000; margin 30 × 40 + 60 × 30 = 3000
    assert r.loc["Baseline", "revenue"] == pytest.approx(6000.0)
    assert r.loc["Baseline", "gross_margin"] == pytest.approx(3000.0)
    assert r.loc["Baseline", "fill_rate"] == 1.0
    # R1 works 30 h a month on 25 h capacity: 5 h overtime × 3 months; 90 h × 2 kg
    assert r.loc["Baseline", "overtime_hours"] == pytest.approx(15.0)
    assert r.loc["Baseline", "co2e_kg"] == pytest.approx(180.0)
    assert r.loc["Baseline", "inventory_value"] == pytest.approx(60.0)  # 1 unit of A × 60
    assert r.loc["Baseline", "status"] == "optimal"
    # Downturn: everything × 0.9; 27 h a month -> 2 h overtime × 3
    assert r.loc["Downturn 10 %", "revenue"] == pytest.approx(5400.0)
    assert r.loc["Downturn 10 %", "overtime_hours"] == pytest.approx(6.0)
    # Outage: no A in February and March -> A served 10 of 30
    assert r.loc["Outage", "revenue"] == pytest.approx(4000.0)  # 1000 + 3000
    assert r.loc["Outage", "fill_rate"] == pytest.approx(70 / 90)
    assert r.loc["Outage", "tier1_fill_rate"] == pytest.approx(10 / 30)
    assert r.loc["Outage", "revenue_at_risk"] == pytest.approx(2000.0)
    assert r.loc["Outage", "co2e_kg"] == pytest.approx(140.0)  # (30 + 20 + 20) × 2
    assert planner.calls[2]["component_capacity"] is not None
    assert planner.calls[1]["component_capacity"] is None
    # Added shift: 31.25 h capacity, no overtime
    assert r.loc["Added shift", "overtime_hours"] == 0.0
    # No overtime: the planner finds no plan; the row stays, without numbers
    assert r.loc["No overtime", "status"].startswith("infeasible")
    assert np.isnan(r.loc["No overtime", "revenue"])


def test_run_scenarios_carries_decision_cost_and_capacity_codes(demand_plan, data):
    specs = [{"name": "Second source", "decision": " Board shortage ", "cost": 1500,
              "cost_per_month": 250, "capacity": [{"component": "CTRL", "factor": 1.3}]},
             {"name": "Added shift", "capacity": [{"resource": "R1", "factor": 1.25}]}]
    r = run_scenarios(demand_plan, data, specs, cycle=CYCLE, planner=FakePlanner(),
                      horizon=3).set_index("scenario")
    assert r.loc["Second source", "decision"] == "Board shortage"
    assert r.loc["Second source", "cost"] == 1500.0 + 250.0 * 3  # one-off + 3 months
    assert r.loc["Second source", "capacity_codes"] == "CTRL"
    assert r.loc["Added shift", "capacity_codes"] == "R1"
    assert pd.isna(r.loc["Added shift", "decision"]) and r.loc["Added shift", "cost"] == 0.0
    assert r.loc["Baseline", "cost"] == 0.0
    assert r.loc["Second source", "cost_per_month"] == 250.0
    assert r.loc["Added shift", "cost_per_month"] == 0.0


def test_a_monthly_cost_is_paid_for_the_months_an_option_runs():
    from sopkit.scenarios import months_running, validate_scenarios

    late, window, flags = validate_scenarios([
        {"name": "Late source", "cost_per_month": 250,
         "capacity": [{"component": "CTRL", "factor": 1.3, "from": "+4"}]},
        {"name": "Two windows", "demand": [{"scope": "all", "factor": 0.9, "from": "+1",
                                            "to": "+2"}],
         "capacity": [{"resource": "R1", "factor": 1.2, "from": "+2", "to": "+5"}]},
        {"name": "Flags only", "supply": {"allow_overtime": False}}])
    # from the fifth month of twelve: 8 months; over the 24-month outlook: 20
    assert months_running(late, cycle="2026-11", months=12) == 8
    assert months_running(late, cycle="2026-11", months=24) == 20
    # months 2-3 and 3-6 overlap: months 2 to 6, 5 of them
    assert months_running(window, cycle="2026-11", months=12) == 5
    assert months_running(flags, cycle="2026-11", months=12) == 12


def test_an_open_ended_change_from_a_later_month_passes_the_check_before_planning(data):
    from sopkit.scenarios import apply_scenario

    # the parameters are checked against the data before any demand plan exists: a change
    # "from +4" with no end must not read as ending at the cycle
    spec = {"name": "Late source", "capacity": [{"component": "CTRL", "factor": 1.3,
                                                  "from": "+4"}]}
    empty = pd.DataFrame({"sku": pd.Series(dtype="string"),
                          "period": pd.Series(dtype="datetime64[ns]")})
    inputs = apply_scenario(empty, data, spec, cycle=CYCLE)
    assert inputs.component_capacity["period"].tolist() == [pd.Timestamp(CYCLE)
                                                           + pd.DateOffset(months=4)]


def test_month_limited_capacity_needs_a_planner_that_takes_it(demand_plan, data):
    def old_planner(demand_plan, data, *, cycle, horizon=12):  # no capacity overrides
        raise AssertionError("must not be called")

    with pytest.raises(ParameterError, match="'Outage': capacity: the planner does not accept"):
        run_scenarios(demand_plan, data, SPECS, cycle=CYCLE, planner=old_planner)


def test_run_scenarios_validates_before_planning(demand_plan, data):
    planner = FakePlanner()
    bad = [*SPECS, {"name": "Broken", "demand": [{"scope": "all"}]}]
    with pytest.raises(ParameterError, match="'Broken'"):
        run_scenarios(demand_plan, data, bad, cycle=CYCLE, planner=planner)
    assert planner.calls == []
    with pytest.raises(ParameterError, match="reserved"):
        run_scenarios(demand_plan, data, [{"name": "baseline", "demand": [
            {"scope": "all", "factor": 1}]}], cycle=CYCLE, planner=planner)


# ------------------------------------------------------------------ ranking


@pytest.fixture
def results() -> pd.DataFrame:
    return pd.DataFrame({
        "scenario": ["Baseline", "Downturn", "Outage", "Shift", "Failed"],
        "status": ["optimal"] * 4 + ["infeasible: no plan"],
        "tier1_fill_rate": [1.0, 1.0, 1 / 3, 0.998, np.nan],
        "gross_margin": [3000.0, 2700.0, 2200.0, 3100.0, np.nan],
        "fill_rate": [1.0, 1.0, 0.778, 1.0, np.nan],
        "co2e_kg": [180.0, 162.0, 140.0, 180.0, np.nan],
    })


def test_rank_lexicographic_with_tolerance(results):
    ranked = rank_scenarios(results, ["tier1_fill_rate", "gross_margin", "fill_rate"])
    # tier-1 fill: 1.0, 1.0 and 0.998 tie (within 0.5 %) -> margin decides among them
    assert ranked["scenario"].tolist() == ["Shift", "Baseline", "Downturn", "Outage", "Failed"]
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]
    reasons = dict(zip(ranked["scenario"], ranked["reason"], strict=True))
    assert reasons["Shift"] == ("best: ahead of 'Baseline' on gross margin 3,100 vs 3,000 "
                                "(tied on tier-1 fill rate within 0.5%)")
    assert reasons["Outage"] == "behind 'Downturn' on tier-1 fill rate 33.3% vs 100.0%"
    assert reasons["Failed"] == "no result (infeasible: no plan)"


def test_rank_without_tolerance_and_lower_is_better(results):
    strict = rank_scenarios(results, ["tier1_fill_rate", "gross_margin"], tolerance=0.0)
    assert strict["scenario"].tolist()[:3] == ["Baseline", "Downturn", "Shift"]
    greenest = rank_scenarios(results, ["co2e_kg"])  # lower is better
    assert greenest["scenario"].tolist()[:2] == ["Outage", "Downturn"]
    # Baseline and Shift tie on CO2e: same rank, input order kept
    assert greenest["rank"].tolist()[:4] == [1, 2, 3, 3]
    assert greenest["reason"].iloc[3] == "tied with 'Baseline' on every rubric KPI"
    dirtiest = rank_scenarios(results, ["+co2e_kg"])
    assert dirtiest["scenario"].iloc[0] == "Baseline"


def test_rank_rejects_unknown_kpi(results):
    with pytest.raises(ParameterError, match="'profit' is not a scenario KPI"):
        rank_scenarios(results, ["profit"])
    with pytest.raises(ParameterError, match="at least one"):
        rank_scenarios(results, [])


def test_shocks_are_listed_but_never_ranked():
    from sopkit.scenarios import rank_scenarios, validate_scenarios

    spec = {"name": "X", "supply": {"allow_overtime": False}}
    assert validate_scenarios([spec])[0]["kind"] == "response"
    with pytest.raises(ParameterError, match="kind: must be one of response, shock"):
        validate_scenarios([{**spec, "kind": "wish"}])
    results = pd.DataFrame({
        "scenario": ["Baseline", "Boom", "Extra shift"],
        "kind": ["response", "shock", "response"],
        "gross_margin": [100.0, 500.0, 120.0],
    })
    ranked = rank_scenarios(results, ["gross_margin"])
    # the boom has the best margin but is not a choice: Extra shift is recommended
    assert ranked["scenario"].tolist() == ["Extra shift", "Baseline", "Boom"]
    assert ranked["rank"].tolist()[:2] == [1, 2] and pd.isna(ranked["rank"].iloc[2])
    assert ranked["reason"].iloc[2] == "a shock to prepare for, not an option to choose"


def test_rank_takes_each_options_cost_off_its_margins():
    results = pd.DataFrame({
        "scenario": ["Baseline", "Dear option", "Cheap option"],
        "kind": ["response"] * 3,
        "cost": [0.0, 300.0, 50.0],
        "gross_margin": [1000.0, 1200.0, 1100.0],
        "fill_rate": [0.9, 0.95, 0.95],
    })
    ranked = rank_scenarios(results, ["gross_margin"])
    # net of cost: 1000, 1200 − 300 = 900, 1100 − 50 = 1050
    assert ranked["scenario"].tolist() == ["Cheap option", "Baseline", "Dear option"]
    assert ranked["rank"].tolist() == [1, 2, 3]
    # the rows keep the planned margins; the reason says what was compared
    assert ranked["gross_margin"].tolist() == [1100.0, 1000.0, 1200.0]
    assert "1,050 vs 1,000" in ranked["reason"].iloc[0]
    assert ranked["reason"].iloc[0].endswith("(margins net of each option's cost)")



def test_an_option_that_only_costs_more_does_not_tie_with_the_plan():
    results = pd.DataFrame({
        "scenario": ["Baseline", "Second shift", "Re-plan", "Trade-off"],
        "kind": ["response"] * 4,
        # the second shift changes nothing but costs 2 (0.2 % of the margin: within the
        # 0.5 % tolerance); re-plan is the baseline again; trade-off gains 2 of margin
        # for 0.2 points of fill rate (both within the tolerance, and 998 vs 1,002 too)
        "cost": [0.0, 2.0, 0.0, 0.0],
        "gross_margin": [1000.0, 1000.0, 1000.0, 1002.0],
        "fill_rate": [0.95, 0.95, 0.95, 0.948],
    })
    ranked = rank_scenarios(results, ["fill_rate", "gross_margin"])
    by = ranked.set_index("scenario")
    # Baseline, Re-plan and Trade-off: nobody is better on both, so they tie at rank 1
    assert by.loc[["Baseline", "Re-plan", "Trade-off"], "rank"].tolist() == [1, 1, 1]
    # the second shift is no better on any KPI and worse on margin (998 net): behind
    assert ranked["scenario"].tolist()[-1] == "Second shift"
    assert by.loc["Second shift", "rank"] == 4
    # (named against the nearest of its tie that beats it: Re-plan, the Baseline again)
    assert by.loc["Second shift", "reason"] == (
        "behind 'Re-plan' on gross margin 998 vs 1,000: within 0.5%, but no better on any "
        "rubric KPI (margins net of each option's cost)")
    # two options only: the plan is best, and says why
    pair = rank_scenarios(results.iloc[:2], ["fill_rate", "gross_margin"])
    assert pair["scenario"].tolist() == ["Baseline", "Second shift"]
    assert pair["reason"].iloc[0] == (
        "best: 'Second shift' is within 0.5% on every rubric KPI but better on none "
        "(margins net of each option's cost)")

def test_against_baseline_nets_each_options_cost_in_rank_order():
    from sopkit.scenarios import against_baseline, rank_scenarios

    results = pd.DataFrame({
        "scenario": ["Baseline", "Dear option", "Cheap option", "Slump"],
        "kind": ["response", "response", "response", "shock"],
        "cost": [0.0, 300.0, 50.0, 0.0],
        "gross_margin": [1000.0, 1200.0, 1100.0, 700.0],
        "contribution": [800.0, 1000.0, 850.0, 500.0],
    })
    table = against_baseline(rank_scenarios(results, ["gross_margin"]))
    # net: Cheap 1100 − 50 = 1050, Baseline 1000, Dear 1200 − 300 = 900; the shock after them
    assert table["scenario"].tolist() == ["Cheap option", "Baseline", "Dear option",
                                          "Slump (shock)"]
    assert table["delta_gross_margin"].tolist() == [50.0, 0.0, -100.0, -300.0]
    from sopkit.scenarios import side_by_side

    table = side_by_side(rank_scenarios(results, ["gross_margin"])).set_index("scenario")
    assert "cost" not in table.columns and "reason" not in table.columns
    # Cheap option: contribution 850 before its cost of 50, 800 after; shown side by side
    assert table.loc["Cheap option", ["contribution", "cost_total",
                                      "contribution_after_cost"]].tolist() == [850.0, 50.0, 800.0]
    assert list(table.columns).index("contribution_after_cost") == \
        list(table.columns).index("contribution") + 1
    by_contribution = against_baseline(results, "contribution").set_index("scenario")
    assert by_contribution.loc["Cheap option", "delta_contribution"] == 0.0  # 850 − 50 − 800
    assert by_contribution.loc["Dear option", "contribution_net"] == 700.0
    # an infeasible scenario has no margin to compare
    failed = results.assign(gross_margin=[1000.0, np.nan, 1100.0, 700.0])
    assert "Dear option" not in against_baseline(failed)["scenario"].tolist()
    with pytest.raises(ParameterError, match="no Baseline"):
        against_baseline(results[results["scenario"] != "Baseline"])
    with pytest.raises(ParameterError, match="gross_margin or contribution"):
        against_baseline(results, "revenue")

def test_co2e_counts_hours_and_outsourced_units(demand_plan, data):
    products = data.products.assign(outsource_co2e_kg_per_unit=[5.0, np.nan])
    data = Dataset.from_frames({"products": products, "resources": data.resources,
                                "components": data.components})
    supply = FakePlanner()(demand_plan, data, cycle=CYCLE, horizon=3)
    supply.plan.loc[supply.plan["sku"] == "A", "qty_outsourced"] = 2.0
    kpis = scenario_kpis(supply, data)
    # 90 h on R1 × 2 kg + 3 months × 2 outsourced units of A × 5 kg (B: none)
    assert kpis["co2e_kg"] == pytest.approx(180.0 + 30.0)
    assert kpis["outsourced_units"] == pytest.approx(6.0)
    assert kpis["status"] == "optimal"
    # a plan whose solver left a stage out says so in the scenario's status
    supply.notes = ["the plan's shortfalls were not moved as late as they could go"]
    assert scenario_kpis(supply, data)["status"] == (
        "optimal; the plan's shortfalls were not moved as late as they could go")


# ------------------------------------------------------------------ adopted options

OPTIONS = [
    {"name": "Second source", "decision": "Board shortage", "cost": 1000, "cost_per_month": 100,
     "capacity": [{"component": "CTRL", "factor": 1.5, "from": "+1"}]},
    {"name": "Air freight", "decision": "Board shortage", "cost": 400,
     "capacity": [{"component": "CTRL", "factor": 1.2}]},
    {"name": "Call off campaign", "decision": "Campaign", "demand": [{"scope": "promotions",
                                                                      "factor": 0.0}]},
    {"name": "Added shift", "decision": "Line R1", "cost": 300,
     "capacity": [{"resource": "R1", "factor": 2.0}]},
    {"name": "Outage", "kind": "shock", "capacity": [{"component": "CTRL", "factor": 0.0,
                                                      "from": "+1", "to": "+2"}]},
]


@pytest.mark.parametrize("adopted, message", [
    (["Second sorce"], "'Second sorce' is not the name of a scenario (did you mean "
                       "'Second source'?)"),
    (["Outage"], "'Outage' is a shock"),
    (["Second source", "second source"], "'Second source' is named twice"),
    (["Second source", "Air freight"], "'Second source' and 'Air freight' are two options of "
                                       "the same decision (Board shortage)"),
    ("Second source; Air freight", "not the name of a scenario"),
    ([1], "expected a list of scenario names"),
])
def test_adopted_names_are_checked(adopted, message):
    from sopkit.scenarios import validate_adopted

    with pytest.raises(ParameterError, match=re.escape(message)):
        validate_adopted(OPTIONS, adopted)


def test_adopted_in_the_order_named_and_none_is_empty():
    from sopkit.scenarios import validate_adopted

    assert [s["name"] for s in validate_adopted(OPTIONS, ["added shift", "Second source"])] == \
        ["Added shift", "Second source"]
    assert validate_adopted(OPTIONS, None) == [] and validate_adopted(OPTIONS, []) == []


def test_adopted_demand_changes_enter_the_demand_plan_once(demand_plan, data):
    from sopkit.scenarios import adopt_demand, adopt_supply, adopted_note, validate_adopted

    adopted = ["Call off campaign", "Added shift"]
    after = adopt_demand(demand_plan, data, OPTIONS, adopted, cycle=CYCLE)
    # the 4 promoted units of A in January go; nothing else moves
    assert after["qty_consensus"].tolist() == [6.0, 10.0, 10.0, 20.0, 20.0, 20.0]
    assert after["qty_q90"].tolist()[0] == 11.0 and after["qty_promo"].sum() == 0.0
    assert demand_plan["qty_consensus"].iloc[0] == 10.0  # the input is not changed
    note = adopted_note(validate_adopted(OPTIONS, adopted), demand_plan, after)
    assert note == ("Adopted by the executive review (cycle parameter 'adopted'): 'Call off "
                    "campaign' and 'Added shift'. This run plans them as part of the plan; their "
                    "demand changes move the consensus by -4 units (2027-01).")
    # the supply side leaves demand alone (the demand review applied it) and doubles R1
    inputs = adopt_supply(after, data, OPTIONS, adopted, cycle=CYCLE)
    assert inputs.demand_plan["qty_consensus"].tolist() == after["qty_consensus"].tolist()
    assert inputs.data.resources.set_index("resource").loc["R1", "capacity_hours"] == 50.0
    # an option without demand changes leaves the demand plan as it is
    assert adopt_demand(demand_plan, data, OPTIONS, ["Added shift"], cycle=CYCLE) is demand_plan


def test_adopted_month_limited_capacity_reaches_the_planner(demand_plan, data):
    from sopkit.scenarios import adopt_supply

    inputs = adopt_supply(demand_plan, data, OPTIONS, ["Second source"], cycle=CYCLE)
    kwargs = inputs.planner_kwargs(horizon=3)
    # 200 boards a month × 1.5 from February on; January keeps the data's 200
    assert kwargs["horizon"] == 3
    assert kwargs["component_capacity"]["period"].tolist() == [FEB, MAR]
    assert kwargs["component_capacity"]["supplier_capacity"].tolist() == [300.0, 300.0]
    assert inputs.data.components["supplier_capacity"].tolist() == [200.0]


def test_adopted_cost_counts_each_options_months():
    from sopkit.scenarios import adopted_cost, adopted_text, validate_adopted

    chosen = validate_adopted(OPTIONS, ["Second source", "Added shift"])
    # 1000 + 100 × 11 months (from the second of 12) + 300
    assert adopted_cost(chosen, cycle=CYCLE, months=12) == 2400.0
    assert adopted_text(chosen, cycle=CYCLE, months=12) == (
        "'Second source' and 'Added shift' (cost 2,400 over the 12 months planned)")


def test_run_scenarios_plans_every_scenario_on_top_of_the_adopted_options(demand_plan, data):
    from sopkit.scenarios import validate_adopted

    planner = FakePlanner()
    adopted = validate_adopted(OPTIONS, ["Added shift"])
    results = run_scenarios(demand_plan, data, OPTIONS, cycle=CYCLE, planner=planner,
                            horizon=3, adopted=adopted)
    # the adopted option and the other options of its decision are not priced again
    assert results["scenario"].tolist() == ["Baseline", "Second source", "Air freight",
                                            "Call off campaign", "Outage"]
    r = results.set_index("scenario")
    assert r.loc["Baseline", "description"] == (
        "the plan as it stands, with the adopted 'Added shift' (cost 300 over the 3 months "
        "planned)")
    # R1 doubled to 50 h in every plan: the baseline's 30 h a month need no overtime,
    # and the outage shock keeps the doubled line too
    assert r.loc["Baseline", "overtime_hours"] == 0.0
    assert r.loc["Outage", "overtime_hours"] == 0.0
    # the outage's month-limited change still reaches the planner, on top of the shift
    outage = planner.calls[results["scenario"].tolist().index("Outage")]
    assert outage["component_capacity"]["supplier_capacity"].tolist() == [0.0, 0.0]
    assert r.loc["Baseline", "cost"] == 0.0 and r.loc["Second source", "cost"] == 1000 + 100 * 2
    # without the adoption, the baseline works 5 h overtime a month
    plain = run_scenarios(demand_plan, data, OPTIONS, cycle=CYCLE, planner=FakePlanner(),
                          horizon=3).set_index("scenario")
    assert plain.loc["Baseline", "overtime_hours"] == pytest.approx(15.0)


def test_a_scenario_may_set_a_supply_flag_the_adopted_options_set_otherwise(demand_plan, data):
    from sopkit.scenarios import combine, validate_adopted, validate_scenarios

    flags = validate_scenarios([{"name": "Overtime on", "supply": {"allow_overtime": True}},
                                {"name": "Overtime off", "supply": {"allow_overtime": False}}])
    with pytest.raises(ParameterError, match="set supply.allow_overtime differently"):
        combine(flags)
    assert combine(flags, strict=False)["supply"] == {"allow_overtime": False}
    planner = FakePlanner()
    run_scenarios(demand_plan, data, flags[1:], cycle=CYCLE, planner=planner, horizon=3,
                  adopted=validate_adopted(flags, ["Overtime on"]))
    assert [call["allow_overtime"] for call in planner.calls] == [True, False]


def test_the_adopted_note_gives_the_cost_and_ignores_rounding(demand_plan):
    from sopkit.scenarios import adopted_note, validate_adopted

    chosen = validate_adopted(OPTIONS, ["Second source"])
    # rounding the plan to 0.001 unit is no demand change
    nudged = demand_plan.assign(qty_consensus=demand_plan["qty_consensus"] + 0.0004)
    assert adopted_note(chosen, demand_plan, nudged, cycle=CYCLE, months=12) == (
        "Adopted by the executive review (cycle parameter 'adopted'): 'Second source' (cost "
        "2,100 over the 12 months planned). This run plans it as part of the plan; no demand "
        "change.")


def test_run_scenarios_keep_each_plans_contribution_by_month(demand_plan, data):
    from sopkit.scenarios import first_month_running

    # the outage runs from the second month (its first change, "+1")
    outage = validate_scenarios([s for s in SPECS if s["name"] == "Outage"])[0]
    assert first_month_running(outage, cycle=CYCLE) == FEB
    results = run_scenarios(demand_plan, data, SPECS, cycle=CYCLE, planner=FakePlanner(),
                            horizon=3)
    r = results.set_index("scenario")
    assert pd.isna(r.loc["Baseline", "runs_from"]) and r.loc["Outage", "runs_from"] == FEB
    monthly = results.attrs["contribution_by_month"]
    # the baseline month by month adds up to its contribution; the outage loses A (margin
    # 40 a unit, 10 a month) in February and March only
    assert sum(monthly["Baseline"].values()) == pytest.approx(r.loc["Baseline", "contribution"])
    assert [monthly["Outage"][m] - monthly["Baseline"][m]
            for m in ("2027-01", "2027-02", "2027-03")] == pytest.approx([0.0, -400.0, -400.0])
