"""KPIs: accuracy, service, stock, capacity and the scorecard, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit import kpi
from sopkit.errors import ParameterError
from sopkit.kpi import (
    days_of_supply,
    fill_rate,
    forecast_accuracy,
    inventory_turns,
    scorecard,
    utilisation,
    wape_by_lag,
)

JAN, FEB = pd.Timestamp("2027-01-01"), pd.Timestamp("2027-02-01")


@pytest.fixture
def backtest() -> pd.DataFrame:
    return pd.DataFrame({
        "sku": ["A", "A", "A", "A", "B"],
        "model": ["ets"] * 5,
        "origin": [pd.Timestamp("2026-06-01")] * 5,
        "step": [1, 1, 3, 2, 1],
        "qty_actual": [10.0, 20.0, 10.0, 5.0, 0.0],
        "qty_forecast": [12.0, 15.0, 5.0, 5.0, 3.0],
    })


def test_wape_by_lag(backtest):
    table = wape_by_lag(backtest).set_index("lag")
    assert list(table.index) == [1, 3]
    # lag 1: |10−12| + |20−15| + |0−3| = 10 over 30 actual; forecast 30 -> bias 0
    assert table.loc[1, "wape"] == pytest.approx(1 / 3)
    assert table.loc[1, "bias"] == pytest.approx(0.0)
    assert table.loc[1, "n_points"] == 3
    # lag 3: |10 − 5| / 10; (5 − 10) / 10
    assert table.loc[3, "wape"] == pytest.approx(0.5)
    assert table.loc[3, "bias"] == pytest.approx(-0.5)
    assert wape_by_lag(backtest, lags=None)["lag"].tolist() == [1, 2, 3]


def test_wape_by_sku_and_other_column_names(backtest):
    by_sku = wape_by_lag(backtest, lags=(1,), by="sku").set_index("sku")
    assert by_sku.loc["A", "wape"] == pytest.approx(7 / 30)  # (2 + 5) / 30
    assert by_sku.loc["A", "bias"] == pytest.approx(-0.1)  # (27 − 30) / 30
    assert np.isnan(by_sku.loc["B", "wape"])  # no actual demand
    renamed = backtest.rename(columns={"qty_actual": "actual", "qty_forecast": "forecast",
                                       "step": "lag"})
    assert forecast_accuracy(renamed, lag=1) == {"wape": pytest.approx(1 / 3),
                                                 "bias": pytest.approx(0.0), "n_points": 3}
    assert forecast_accuracy(backtest, lag=12)["n_points"] == 0
    with pytest.raises(ParameterError, match="no forecast column"):
        wape_by_lag(backtest.drop(columns="qty_forecast"))


@pytest.fixture
def plan() -> pd.DataFrame:
    return pd.DataFrame({"sku": ["A", "A", "B"], "period": [JAN, FEB, JAN],
                         "qty_demand": [10.0, 10.0, 20.0], "qty_served": [8.0, 10.0, 20.0]})


@pytest.fixture
def products() -> pd.DataFrame:
    return pd.DataFrame({"sku": ["A", "B"], "family": ["Pumps", "Valves"],
                         "priority_tier": pd.array([1, 2], dtype="Int64")})


def test_fill_rate(plan, products):
    assert fill_rate(plan) == pytest.approx(0.95)  # 38 / 40
    assert fill_rate(plan, products, tier=1) == pytest.approx(0.9)  # 18 / 20
    by_family = fill_rate(plan, products, by="family").set_index("family")
    assert by_family.loc["Valves", "fill_rate"] == 1.0
    by_month = fill_rate(plan, by="period").set_index("period")
    assert by_month.loc[JAN, "fill_rate"] == pytest.approx(28 / 30)
    assert np.isnan(fill_rate(plan.iloc[:0]))
    with pytest.raises(ParameterError, match="needs products"):
        fill_rate(plan, by="family")


@pytest.fixture
def fin() -> pd.DataFrame:
    return pd.DataFrame({"sku": ["A", "A", "B", "B"], "period": [JAN, FEB, JAN, FEB],
                         "cogs": [400.0, 500.0, 200.0, 100.0],
                         "inventory_value": [300.0, 100.0, 0.0, 0.0]})


def test_inventory_turns_and_days_of_supply(fin):
    # COGS 1200 over 2 months -> 7200 a year; stock (300 + 100) / 2 = 200 -> 36 turns
    assert inventory_turns(fin) == pytest.approx(36.0)
    assert days_of_supply(fin) == pytest.approx(365 / 36)
    by_sku = inventory_turns(fin, by="sku").set_index("sku")
    assert by_sku.loc["A", "inventory_turns"] == pytest.approx(27.0)  # 900 × 6 / 200
    assert np.isnan(by_sku.loc["B", "inventory_turns"])  # no stock
    assert by_sku.loc["B", "days_of_supply"] == 0.0


def test_utilisation():
    load = pd.DataFrame({
        "resource": ["R1", "R1", "R2", "R2"], "period": [JAN, FEB, JAN, FEB],
        "hours_required": [90.0, 110.0, 20.0, 0.0], "capacity_hours": [100.0, 100.0, 40.0, 40.0],
        "overtime_hours": [0.0, 10.0, 0.0, 0.0],
    })
    assert utilisation(load) == pytest.approx(220 / 280)
    table = utilisation(load, by="resource").set_index("resource")
    assert table.loc["R1", "utilisation"] == pytest.approx(1.0)  # 200 / 200
    assert table.loc["R1", "peak_utilisation"] == pytest.approx(1.1)
    assert table.loc["R1", "months_over_capacity"] == 1
    assert table.loc["R1", "overtime_hours"] == 10.0
    assert table.loc["R2", "utilisation"] == pytest.approx(0.25)
    assert table.loc["R2", "months_over_capacity"] == 0



def test_safety_stock_cover_finds_a_buffer_spent_while_demand_is_served():
    months = pd.to_datetime(["2027-01-01", "2027-02-01", "2027-03-01"])
    plan = pd.DataFrame({
        "sku": ["A"] * 3 + ["B"] * 3 + ["C"] * 3 + ["D"] * 3,
        "period": list(months) * 4,
        # A: full cover, then 50 of 100, then none; B: 99.5 of 100 is within the 1 % slack;
        # C: no safety stock at all; D (tier 2): 0 of 10 in March
        "inventory_end": [100.0, 50.0, 0.0, 99.5, 100.0, 120.0, 0.0, 0.0, 0.0, 10.0, 10.0, 0.0],
        "safety_stock": [100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 0.0, 0.0, 0.0,
                         10.0, 10.0, 10.0],
    })
    products = pd.DataFrame({"sku": ["A", "B", "C", "D"], "priority_tier": [1, 1, 1, 2]})
    cover = kpi.safety_stock_cover(plan, products, tier=1).set_index("sku")
    assert cover.index.tolist() == ["A", "B"]  # C holds no safety stock; D is tier 2
    assert cover.loc["A", ["months_with_target", "months_below", "months_empty"]].tolist() \
        == [3, 2, 1]
    assert cover.loc["A", "first_below"] == months[1]
    assert cover.loc["A", "first_empty"] == months[2]
    assert cover.loc["A", "lowest_cover"] == 0.0
    assert cover.loc["B", ["months_below", "months_empty"]].tolist() == [0, 0]
    assert pd.isna(cover.loc["B", "first_below"])
    assert cover.loc["B", "lowest_cover"] == pytest.approx(0.995)
    every = kpi.safety_stock_cover(plan)
    # most empty months first, then most months below: A and D each run out once, A is
    # below in two months, D in one
    assert every["sku"].tolist() == ["A", "D", "B"]
    # a tie on both goes to the larger safety stock
    tied = plan.assign(inventory_end=[100.0, 100.0, 0.0] * 2 + [0.0] * 3 + [10.0, 10.0, 0.0])
    assert kpi.safety_stock_cover(tied)["sku"].tolist()[:2] == ["A", "B"]
    assert kpi.safety_stock_cover(tied.assign(
        safety_stock=tied["safety_stock"].where(tied["sku"] != "D", 1000.0),
        inventory_end=tied["inventory_end"].where(tied["sku"] != "D", [1000.0, 1000.0, 0.0] * 4)
    ))["sku"].tolist()[0] == "D"
    with pytest.raises(ParameterError, match="priority_tier"):
        kpi.safety_stock_cover(plan, tier=1)

TARGETS = {
    "forecast_wape_lag1": {"target": 0.35, "direction": "lower"},
    "forecast_bias": {"target": 0.0, "direction": "closer"},
    "fill_rate": {"target": 0.95, "direction": "higher"},
    "tier1_fill_rate": {"target": 0.98, "direction": "higher"},
    "utilisation": {"target": 0.85, "direction": "lower"},
    "data_quality_score": {"target": 90, "direction": "higher"},
}


def test_scorecard():
    values = {"forecast_wape_lag1": 0.36, "forecast_bias": 0.07, "fill_rate": 0.96,
              "tier1_fill_rate": 0.90, "utilisation": 0.80, "inventory_turns": 5.0}
    card = scorecard(values, TARGETS).set_index("kpi")
    assert card.loc["forecast_wape_lag1", "status"] == "amber"  # 0.36 <= 0.35 + 0.0175
    assert card.loc["forecast_bias", "status"] == "amber"  # |0.07| within 2 × 0.05
    assert card.loc["fill_rate", "status"] == "green"
    assert card.loc["tier1_fill_rate", "status"] == "red"  # 0.90 < 0.98 − 0.049
    assert card.loc["utilisation", "status"] == "green"
    assert card.loc["data_quality_score", "status"] == "no data"
    assert card.loc["inventory_turns", "status"] == "no target"
    assert card.loc["fill_rate", "gap"] == pytest.approx(0.01)
    assert list(card.index[:6]) == list(TARGETS)


def test_scorecard_bands():
    assert scorecard({"x": 0.91}, {"x": 0.95})["status"].iloc[0] == "amber"  # 0.91 >= 0.9025
    assert scorecard({"x": 0.90}, {"x": 0.95})["status"].iloc[0] == "red"
    own = {"x": {"target": 0.95, "direction": "higher", "amber": 0.01}}
    assert scorecard({"x": 0.945}, own)["status"].iloc[0] == "amber"
    assert scorecard({"x": 0.93}, own)["status"].iloc[0] == "red"
    assert scorecard({"bias": -0.04}, {"bias": {"target": 0, "direction": "closer"}})[
        "status"].iloc[0] == "green"
    assert scorecard({"bias": -0.11}, {"bias": {"target": 0, "direction": "closer"}})[
        "status"].iloc[0] == "red"


def test_scorecard_rejects_bad_targets():
    with pytest.raises(ParameterError, match="direction"):
        scorecard({}, {"x": {"target": 1, "direction": "up"}})
    with pytest.raises(ParameterError, match="target is missing"):
        scorecard({}, {"x": {"direction": "higher"}})
    with pytest.raises(ParameterError, match="unknown key"):
        scorecard({}, {"x": {"target": 1, "goal": 2}})


def test_kpi_history_replaces_a_rerun_and_trend_follows_the_direction(tmp_path):
    from sopkit.workspace import read_kpi_history, record_kpis

    targets = {"fill_rate": {"target": 0.95, "direction": "higher"},
               "utilisation": {"target": 0.85, "direction": "lower"},
               "forecast_bias": {"target": 0.0, "direction": "closer"},
               "data_quality_score": {"target": 90, "direction": "higher"}}
    sept = kpi.scorecard({"fill_rate": 0.90, "utilisation": 0.80, "forecast_bias": 0.10,
                          "data_quality_score": 95.0}, targets)
    record_kpis(sept, tmp_path, "2026-09")
    octo = kpi.scorecard({"fill_rate": 0.99, "utilisation": 0.80, "forecast_bias": 0.20,
                          "data_quality_score": 95.0}, targets)
    record_kpis(octo, tmp_path, "2026-10")
    # a rerun of 2026-10 replaces its values
    octo = kpi.scorecard({"fill_rate": 0.93, "utilisation": 0.90, "forecast_bias": -0.05,
                          "data_quality_score": 95.2}, targets)
    history = record_kpis(octo, tmp_path, "2026-10")
    assert len(history) == 8 and history["cycle"].tolist()[:4] == ["2026-09"] * 4
    assert read_kpi_history(tmp_path).equals(history)
    t = kpi.with_trend(octo, history, cycle="2026-10").set_index("kpi")
    # fill rate 0.90 → 0.93: higher is better
    assert t.loc["fill_rate", "previous"] == 0.90
    assert t.loc["fill_rate", "change"] == pytest.approx(0.03)
    assert t.loc["fill_rate", "trend"] == "improving"
    # utilisation 0.80 → 0.90, lower is better
    assert t.loc["utilisation", "trend"] == "worsening"
    # bias 0.10 → −0.05: the distance to 0 shrank although the value fell
    assert t.loc["forecast_bias", "trend"] == "improving"
    # 95 → 95.2: +0.2 within 0.5 % × 95 = 0.475
    assert t.loc["data_quality_score", "trend"] == "steady"
    first = kpi.with_trend(sept, history, cycle="2026-09")
    assert set(first["trend"]) == {"first cycle"}


# ------------------------------------------------------------------ schedule adherence


@pytest.fixture
def production() -> pd.DataFrame:
    """Planned and actual production around the cycle 2027-04 (closed: up to 2027-03)."""
    m = pd.Timestamp
    return pd.DataFrame({
        "period": [m("2026-12-01"), m("2027-01-01"), m("2027-01-01"), m("2027-02-01"),
                   m("2027-02-01"), m("2027-03-01"), m("2027-03-01"), m("2027-04-01"),
                   m("2027-02-01"), m("2027-01-01")],
        "sku": ["A", "A", "B", "A", "B", "A", "B", "A", "C", "D"],
        "planned_qty": [100.0, 100.0, 50.0, 100.0, 40.0, 0.0, 0.0, 100.0, 10.0, 4.0],
        "actual_qty": [0.0, 90.0, 60.0, 100.0, 20.0, 30.0, 0.0, 10.0, 5.0, 4.0],
        "resource": [None, None, None, None, None, None, None, None, "R3", None],
    })


def test_schedule_adherence_by_hand(production):
    from sopkit.kpi import schedule_adherence

    # last 3 closed months before 2027-04: 2027-01..03. On plan: A 90 (under 10), B 50
    # (over 10), A 100, B 20 (under 20), C 5 (under 5), D 4; March is planned at 0.
    assert schedule_adherence(production, months=3, as_of="2027-04") == pytest.approx(269 / 304)
    by_month = schedule_adherence(production, by="period", months=3, as_of="2027-04")
    by_month = by_month.set_index("period")
    assert by_month.loc[JAN, "schedule_adherence"] == pytest.approx(144 / 154)  # A, B, D
    assert by_month.loc[FEB, "schedule_adherence"] == pytest.approx(125 / 150)  # A, B, C
    march = by_month.loc[pd.Timestamp("2027-03-01")]
    assert np.isnan(march["schedule_adherence"])  # a month with no plan
    assert march["qty_unplanned"] == 30.0 and march["planned_qty"] == 0.0
    assert by_month.loc[JAN, "qty_over"] == 10.0 and by_month.loc[JAN, "qty_under"] == 10.0
    assert by_month.loc[FEB, "qty_under"] == 25.0 and by_month.loc[FEB, "n_rows"] == 3
    # the identities: planned = on plan + under; actual = on plan + over + unplanned
    totals = by_month[["planned_qty", "actual_qty", "qty_on_plan", "qty_under", "qty_over",
                       "qty_unplanned"]].sum()
    assert totals["planned_qty"] == totals["qty_on_plan"] + totals["qty_under"] == 304
    assert totals["actual_qty"] == 309 == (totals["qty_on_plan"] + totals["qty_over"]
                                           + totals["qty_unplanned"])
    # every closed month (2026-12 adds 100 planned, 0 made); without as_of every month
    assert schedule_adherence(production, as_of="2027-04") == pytest.approx(269 / 404)
    assert schedule_adherence(production) == pytest.approx(279 / 504)
    assert np.isnan(schedule_adherence(production, months=1, as_of="2027-04"))


def test_schedule_adherence_by_resource_and_family(production):
    from sopkit.kpi import NO_RESOURCE, schedule_adherence

    routings = pd.DataFrame({"sku": ["A", "A", "B"], "resource": ["R1", "R2", "R2"],
                             "hours_per_unit": [1.0, 0.5, 2.0]})
    table = schedule_adherence(production, by="resource", months=3, as_of="2027-04",
                               routings=routings).set_index("resource")
    # A counts on R1 and R2, B on R2; C was recorded on R3; D has neither
    assert table.loc["R1", "schedule_adherence"] == pytest.approx(190 / 200)
    assert table.loc["R2", "schedule_adherence"] == pytest.approx(260 / 290)
    assert table.loc["R3", "schedule_adherence"] == pytest.approx(0.5)
    assert table.loc["(no routing: D)", "schedule_adherence"] == 1.0
    assert NO_RESOURCE.format(sku="D") == "(no routing: D)"
    assert table.loc["R2", "qty_unplanned"] == 30.0
    products = pd.DataFrame({"sku": ["A", "B", "C", "D"],
                             "family": ["Pumps", "Pumps", "Valves", "Valves"]})
    families = schedule_adherence(production, by="family", months=3, as_of="2027-04",
                                  products=products).set_index("family")
    assert families.loc["Pumps", "schedule_adherence"] == pytest.approx(260 / 290)
    assert families.loc["Valves", "schedule_adherence"] == pytest.approx(9 / 14)
    with pytest.raises(ParameterError, match="needs products for family"):
        schedule_adherence(production, by="family")
    with pytest.raises(ParameterError, match="needs the routings"):
        schedule_adherence(production, by="resource")
    with pytest.raises(ParameterError, match="at least 1"):
        schedule_adherence(production, months=0, as_of="2027-04")
    with pytest.raises(ParameterError, match="actual_qty"):
        schedule_adherence(production.drop(columns="actual_qty"))


def test_schedule_adherence_names_each_sku_without_a_routing():
    from sopkit.kpi import schedule_adherence

    # D and E have neither a resource nor a routing: a row each, named, not one pooled row.
    # D: 4 of 4 made; E: planned 10 + 10, made 6 + 12 (on plan 6 + 10 = 16 of 20); A on R1.
    m = pd.Timestamp
    production = pd.DataFrame({
        "period": [m("2027-01-01"), m("2027-01-01"), m("2027-01-01"), m("2027-02-01")],
        "sku": ["A", "D", "E", "E"], "planned_qty": [10.0, 4.0, 10.0, 10.0],
        "actual_qty": [9.0, 4.0, 6.0, 12.0], "resource": [None, None, None, None]})
    routings = pd.DataFrame({"sku": ["A"], "resource": ["R1"], "hours_per_unit": [1.0]})
    table = schedule_adherence(production, by="resource", routings=routings).set_index(
        "resource")
    assert table.index.tolist() == ["(no routing: D)", "(no routing: E)", "R1"]
    assert table.loc["(no routing: E)", "schedule_adherence"] == pytest.approx(16 / 20)
    assert table.loc["(no routing: E)", ["n_rows", "qty_over"]].tolist() == [2, 2.0]
    assert table.loc["(no routing: D)", "schedule_adherence"] == 1.0
    assert table.loc["R1", "schedule_adherence"] == pytest.approx(0.9)


def test_scorecard_notes_say_why_a_value_is_missing():
    card = scorecard({"schedule_adherence": np.nan, "fill_rate": 0.96},
                     {"schedule_adherence": {"target": 0.95}, "fill_rate": 0.95},
                     notes={"schedule_adherence": "no production data"}).set_index("kpi")
    assert card.loc["schedule_adherence", "status"] == "no data"
    assert card.loc["schedule_adherence", "note"] == "no production data"
    assert card.loc["fill_rate", "note"] == "" and card.loc["fill_rate", "status"] == "green"


def test_trend_without_a_target_follows_the_kpis_natural_side():
    """WAPE 48.6 % → 50.3 % with no target is worse (lower is better), bias −9 % → +4 %
    is closer to 0, utilisation 70 % → 60 % has no better side: "down"."""
    card = kpi.scorecard({"forecast_wape_lag3": 0.503, "forecast_bias": 0.04,
                          "utilisation": 0.60}, {})
    direction = card.set_index("kpi")["direction"]
    assert direction[["forecast_wape_lag3", "forecast_bias"]].tolist() == ["lower", "closer"]
    assert pd.isna(direction["utilisation"])
    history = pd.DataFrame({"cycle": ["2026-10"] * 3,
                            "kpi": ["forecast_wape_lag3", "forecast_bias", "utilisation"],
                            "value": [0.486, -0.09, 0.70]})
    trend = kpi.with_trend(card, history, cycle="2026-11").set_index("kpi")["trend"]
    assert trend.to_dict() == {"forecast_wape_lag3": "worsening", "forecast_bias": "improving",
                               "utilisation": "down"}
