"""The executive review's assembly: decisions, risks, locked horizon, scorecard text."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from sopkit import executive, kpi

M = pd.to_datetime(["2026-11-01", "2026-12-01", "2027-01-01", "2027-02-01"])


def test_decisions_recommend_the_top_response_and_group_gaps():
    ranked = pd.DataFrame({
        "scenario": ["Extra shift", "Baseline", "Boom"],
        "kind": ["response", "response", "shock"],
        "rank": pd.array([1, 2, pd.NA], dtype="Int64"),
        "reason": ["best: ahead of 'Baseline' on gross margin 120 vs 100", "behind", "shock"],
    })
    gaps = pd.DataFrame({
        "sku": ["A", "B", "A", "C"],
        "period": [M[0], M[0], M[1], M[2]],
        "qty_short": [10.0, 5.0, 2.0, 1.0],
        "revenue_at_risk": [1000.0, 400.0, 200.0, 50.0],
        "binding": ["R1", "R1", "R1", ""],
        "explanation": ["a", "b", "c", "Short 1 unit in 2027-01: C has no routing"],
    })
    table = executive.decisions(gaps, ranked)
    first = table.iloc[0]
    assert first["recommendation"] == "Extra shift"
    assert first["options"] == "Extra shift; Baseline"  # the shock is no option
    # R1: 10 + 5 + 2 = 17 units, 1000 + 400 + 200 = 1,600 at risk, 2 SKUs, Nov to Dec
    assert table.iloc[1]["decision"] == "Close or accept the gap behind: R1"
    assert table.iloc[1]["context"] == (
        "17 units short on 2 SKU(s), 1,600 revenue at risk, 2026-11 to 2026-12")
    # a gap with no binding constraint: the supply review's explanation is the reason
    assert table.iloc[2]["decision"] == "Close or accept the gaps no capacity limit explains"
    assert table.iloc[2]["reason"] == "C has no routing"


def _results():
    """Scenario results: the baseline, two options of one decision, an unrelated response."""
    return pd.DataFrame({
        "scenario": ["Baseline", "Second source", "Re-allocate", "Extra shift", "Outage"],
        "kind": ["response", "response", "response", "response", "shock"],
        "decision": [None, "Board shortage", "Board shortage", None, "Board shortage"],
        "cost": [None, 150_000.0, None, 40_000.0, None],
        "capacity_codes": ["", "CMP-1", "", "R1", "CMP-1"],
        "revenue": [1_000_000.0, 1_300_000.0, 1_000_000.0, 1_050_000.0, 800_000.0],
        "gross_margin": [400_000.0, 600_000.0, 420_000.0, 430_000.0, 300_000.0],
        "contribution": [300_000.0, 500_000.0, 310_000.0, 320_000.0, 200_000.0],
        "fill_rate": [0.90, 0.99, 0.90, 0.92, 0.70],
        "tier1_fill_rate": [0.97, 0.99, 0.99, 0.97, 0.80],
        "revenue_at_risk": [100_000.0, 10_000.0, 100_000.0, 80_000.0, 300_000.0],
        "co2e_kg": [1000.0, 1100.0, 1000.0, 1050.0, 800.0],
    })


def test_decision_options_are_priced_net_of_their_cost_and_ranked_on_the_rubric():
    options = executive.decision_options(_results(), ["tier1_fill_rate", "gross_margin"])
    # one decision; the shock naming it is no option; the baseline is "keep the plan"
    assert list(options["decision"].unique()) == ["Board shortage"]
    assert set(options["option"]) == {executive.KEEP_PLAN, "Second source", "Re-allocate"}
    by = options.set_index("option")
    # tier-1 fill: second source 99 % and re-allocate 99 % tie, keep 97 % is last;
    # among the tied, gross margin net of cost: 600k − 150k = 450k beats 420k − 0
    assert by.loc["Second source", "rank"] == 1
    assert by.loc["Re-allocate", "rank"] == 2
    assert by.loc[executive.KEEP_PLAN, "rank"] == 3
    # contribution after cost: 500k − 150k = 350k, +50k against the baseline's 300k
    assert by.loc["Second source", "contribution_after_cost"] == 350_000.0
    assert by.loc["Second source", "delta_contribution"] == 50_000.0
    assert by.loc["Re-allocate", "delta_contribution"] == 10_000.0
    assert by.loc[executive.KEEP_PLAN, "cost"] == 0.0
    assert by.loc[executive.KEEP_PLAN, "delta_contribution"] == 0.0


def test_a_prepared_decision_replaces_the_generic_gap_decision_it_addresses():
    results = _results()
    ranked = results.assign(rank=pd.array([2, 1, 3, 4, pd.NA], dtype="Int64"),
                            reason=["r"] * 5)
    options = executive.decision_options(results, ["tier1_fill_rate", "gross_margin"])
    gaps = pd.DataFrame({"sku": ["A", "B"], "period": [M[0], M[1]], "qty_short": [5.0, 3.0],
                         "revenue_at_risk": [500.0, 300.0], "binding": ["CMP-1", "R2"]})
    table = executive.decisions(gaps, ranked, options=options)
    assert list(table["decision"]) == ["Which plan becomes the plan of record",
                                       "Board shortage", "Close or accept the gap behind: R2"]
    board = table.iloc[1]
    assert board["recommendation"] == "Second source"
    assert board["options"].startswith(
        "Second source: cost 150,000, contribution +50,000 vs the plan, tier-1 fill 99.0%")
    assert "+50,000 contribution after its cost of 150,000" in board["reason"]


def test_a_decision_on_a_resource_the_outlook_flags_says_its_price_stops_at_the_plan():
    results = _results()
    ranked = results.assign(rank=pd.array([2, 1, 3, 4, pd.NA], dtype="Int64"),
                            reason=["r"] * 5)
    options = executive.decision_options(results, ["tier1_fill_rate", "gross_margin"])
    flags = pd.DataFrame({"resource": ["CMP-1", "R9"], "first_overload": ["2027-07", "2027-02"],
                          "months_overloaded": [8, 3], "lead_time_months": [6, 2],
                          "decide_by": ["2027-01", "2026-12"],
                          "status": ["decide by 2027-01", "decide by 2026-12"]})
    empty = pd.DataFrame(columns=["sku", "period", "qty_short", "revenue_at_risk", "binding"])
    board = executive.decisions(empty, ranked, options=options, capacity_flags=flags).iloc[1]
    assert board["reason"].endswith(
        "note: these options are priced over the supply plan's months only; the 24-month "
        "capacity outlook has CMP-1 over its regular, overtime and temporary-staff capacity "
        "in 8 month(s) from 2027-07; new capacity takes 6 month(s): decide by 2027-01")
    assert "R9" not in board["reason"]  # no option of this decision changes R9
    calm = flags.assign(decide_by=[None, None])  # short in peaks only: nothing to add
    board = executive.decisions(empty, ranked, options=options, capacity_flags=calm).iloc[1]
    assert "note:" not in board["reason"]


def test_top_risks_orders_shortfalls_and_write_offs_by_value():
    products = pd.DataFrame({"sku": ["A", "B"], "family": ["F", "G"], "unit_cost": [10.0, 4.0]})
    gaps = pd.DataFrame({"sku": ["A", "A"], "period": M[:2], "qty_short": [1.0, 2.0],
                         "revenue_at_risk": [30.0, 60.0], "explanation": ["x", "y"]})
    plan = pd.DataFrame({"sku": ["B", "B"], "period": M[:2], "qty_written_off": [20.0, 5.0]})
    risks = executive.top_risks(gaps, plan, products)
    # write-off: (20 + 5) x 4 = 100 > shortfall 30 + 60 = 90
    assert risks[["risk", "sku", "value"]].values.tolist() == [
        ["expiry write-off", "B", 100.0], ["shortfall", "A", 90.0]]
    # the value sums both months, and so does the detail (1 + 2 units)
    assert risks["detail"].tolist() == [
        "25 units expire unsold over the horizon",
        f"3 units short in 2 months ({M[0]:%Y-%m} to {M[1]:%Y-%m}); the first: x"]
    # a launch short, however small, is shown and named for what it is: N is short 4 of the
    # 16 units of its launch demand; with n=1 only the largest risk and the launch remain
    products = pd.concat([products.assign(lifecycle_status="active"), pd.DataFrame({
        "sku": ["N"], "family": ["F"], "unit_cost": [1.0], "lifecycle_status": ["npi"]})])
    gaps = pd.concat([gaps, pd.DataFrame({"sku": ["N"], "period": M[1:2], "qty_short": [4.0],
                                          "revenue_at_risk": [8.0], "explanation": ["z"]})])
    plan = pd.concat([plan.assign(qty_demand=10.0), pd.DataFrame({
        "sku": ["N", "N"], "period": M[:2], "qty_written_off": [0.0, 0.0],
        "qty_demand": [6.0, 10.0]})])
    risks = executive.top_risks(gaps, plan, products, n=1)
    assert risks[["risk", "sku", "value"]].values.tolist() == [
        ["expiry write-off", "B", 100.0], ["launch shortfall", "N", 8.0]]
    assert risks["detail"].iloc[1] == "launch: 4 of its 16 units of demand short (25%). z"


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


def test_scorecard_shows_the_trend_against_last_cycle():
    card = pd.DataFrame({"kpi": ["fill_rate", "utilisation"], "value": [0.95, 0.9],
                         "target": [0.95, 0.85], "direction": ["higher", "lower"],
                         "status": ["green", "amber"], "previous": [0.93, float("nan")],
                         "change": [0.02, float("nan")],
                         "trend": ["improving", "first cycle"]})
    table = executive.scorecard_table(card)
    assert table["trend"].tolist() == ["▲ improving (last cycle 93.0%)", "first cycle"]


def _kpi_inputs():
    plan = pd.DataFrame({"sku": ["A"], "period": [M[0]], "qty_demand": [10.0],
                         "qty_served": [9.0]})
    products = pd.DataFrame({"sku": ["A"], "family": ["Pumps"], "priority_tier": [1]})
    load = pd.DataFrame({"resource": ["R1"], "period": [M[0]], "hours_required": [80.0],
                         "capacity_hours": [100.0]})
    fin = pd.DataFrame({"period": [M[0]], "cogs": [100.0], "inventory_value": [50.0]})
    findings = pd.DataFrame(columns=["check", "severity", "sku"])
    return {"accuracy": None, "plan": plan, "products": products, "resource_load": load,
            "financials": fin, "findings": findings}


def test_schedule_adherence_on_the_scorecard_or_a_plain_note_without_production():
    from sopkit import kpi

    targets = {"schedule_adherence": {"target": 0.95, "direction": "higher"}}
    values = executive.kpi_values(**_kpi_inputs())
    assert pd.isna(values["schedule_adherence"])
    notes = executive.kpi_notes(production=None, cycle=M[3])
    card = kpi.scorecard(values, targets, notes=notes)
    row = card.set_index("kpi").loc["schedule_adherence"]
    assert row["status"] == "no data"
    assert row["note"] == ("no production data: production.csv (planned and actual "
                           "production) was not given")
    table = executive.scorecard_table(card).set_index("kpi")
    assert table.loc["Schedule adherence", "note"].startswith("no production data")
    assert table.loc["Schedule adherence", "value"] == "–"
    html = executive.summary_html(card, pd.DataFrame(columns=["decision", "recommendation",
                                                              "reason"]))
    assert "Schedule adherence · no data" in html and "no production data" in html

    # planned 10 + 20 in Nov-Dec, made 8 + 25; January is the cycle month, not closed
    production = pd.DataFrame({"period": [M[0], M[1], M[2]], "sku": ["A", "A", "A"],
                               "planned_qty": [10.0, 20.0, 5.0],
                               "actual_qty": [8.0, 25.0, 0.0]})
    values = executive.kpi_values(**_kpi_inputs(), production=production, cycle=M[2],
                                  adherence_months=3)
    assert values["schedule_adherence"] == (8 + 20) / 30
    notes = executive.kpi_notes(production=production, cycle=M[2], adherence_months=3)
    assert notes["schedule_adherence"] == "over 2026-10 to 2026-12"
    card = kpi.scorecard(values, targets, notes=notes)
    # 93.3 % is below 95 % but within the amber band (95 % − 5 % × 95 % = 90.25 %)
    assert card.set_index("kpi").loc["schedule_adherence", "status"] == "amber"
    assert executive.scorecard_table(card)["value"].iloc[0] == "93.3%"
    assert executive.kpi_notes(production=production, cycle="2027-06", adherence_months=2)[
        "schedule_adherence"] == "no production recorded in 2027-04 to 2027-05"
    unplanned = production.assign(planned_qty=0.0)
    assert executive.kpi_notes(production=unplanned, cycle=M[2], adherence_months=1)[
        "schedule_adherence"] == "no production planned in 2026-12"


def test_revenue_against_the_budget_on_the_scorecard():
    from sopkit import kpi

    inputs = _kpi_inputs()
    inputs["financials"] = pd.DataFrame({
        "sku": ["A", "A", "A"], "family": ["Pumps"] * 3, "period": M[:3],
        "revenue": [90.0, 100.0, 50.0], "cogs": [60.0, 60.0, 30.0],
        "inventory_value": [50.0, 50.0, 50.0]})
    # the budget's third month (M[3]) is outside the plan: 100 + 110 + 60 = 270 compared
    budget = pd.DataFrame({"family": ["Pumps"] * 4, "period": M[:4],
                           "revenue": [100.0, 110.0, 60.0, 999.0]})
    values = executive.kpi_values(**inputs, budget=budget)
    assert values["revenue_vs_budget"] == pytest.approx(240 / 270 - 1)  # -11.1 %
    targets = {"revenue_vs_budget": {"target": 0.0, "direction": "higher", "amber": 0.05}}
    card = kpi.scorecard({"revenue_vs_budget": values["revenue_vs_budget"]}, targets)
    assert card["status"].tolist() == ["red"]  # more than 5 points below budget
    assert executive.scorecard_table(card)[["kpi", "value"]].values.tolist() == [
        ["Revenue vs budget", "-11.1%"]]
    # without a budget: no value, and the note says why
    values = executive.kpi_values(**inputs)
    assert pd.isna(values["revenue_vs_budget"])
    notes = executive.kpi_notes(production=None, cycle=M[3])
    assert notes["revenue_vs_budget"] == "no budget: budget.csv was not given"
    assert "revenue_vs_budget" not in executive.kpi_notes(production=None, cycle=M[3],
                                                          budget=budget)


def test_kpi_notes_name_what_a_pooled_kpi_hides():
    # R1 runs over its regular hours in two of three months (110 %, 120 %), R2 in one
    # (150 %), R3 never; pooled: (110 + 120 + 90 + 150 + 10 + 10 + 50 × 3) / 600 = 106.7 %
    load = pd.DataFrame({
        "resource": ["R1"] * 3 + ["R2"] * 3 + ["R3"] * 3, "period": list(M[:3]) * 3,
        "hours_required": [110.0, 120.0, 90.0, 150.0, 10.0, 10.0, 50.0, 50.0, 50.0],
        "capacity_hours": [100.0] * 9})
    notes = executive.kpi_notes(production=None, resource_load=load, n_named=1)
    assert notes["utilisation"] == (
        "all 3 resources pooled; busiest R1 at 107% on average; over regular hours: R1 in 2 "
        "of 3 months (peak 120%) and 1 more")
    assert "R2 in 1 of 3 months (peak 150%)" in executive.kpi_notes(
        production=None, resource_load=load)["utilisation"]
    assert "utilisation" not in executive.kpi_notes(
        production=None, resource_load=load.assign(capacity_hours=200.0))
    # tier-1 A serves all demand but spends its safety stock: below it in Dec, out in Jan
    plan = pd.DataFrame({
        "sku": ["A"] * 3 + ["B"] * 3 + ["C"] * 3, "period": list(M[:3]) * 3,
        "inventory_end": [50.0, 20.0, 0.0, 50.0, 50.0, 50.0, 0.0, 0.0, 0.0],
        "safety_stock": [50.0] * 9})
    products = pd.DataFrame({"sku": ["A", "B", "C"], "priority_tier": [1, 1, 2]})
    notes = executive.kpi_notes(production=None, plan=plan, products=products)
    assert notes["tier1_fill_rate"] == (
        "1 of 2 tier-1 SKUs with a safety stock is planned below it in some month; 1 ends a "
        "month with no stock: A (1 month from 2027-01)")
    card = kpi.scorecard({"tier1_fill_rate": 1.0}, {"tier1_fill_rate": 0.98}, notes=notes)
    assert card["status"].tolist() == ["green"]  # the status is the KPI's; the note says more
    assert executive.scorecard_table(card)["note"].iloc[0].startswith("1 of 2 tier-1 SKUs")
    assert "tier1_fill_rate" not in executive.kpi_notes(
        production=None, plan=plan.assign(inventory_end=60.0), products=products)
    # stock below target, valued at unit cost 2: most in January, A 50 + C 50 = 100 units
    # missing (B holds its 50), 200 of a target of 300
    valued = executive.kpi_notes(production=None, plan=plan.assign(qty_written_off=0.0),
                                 products=products.assign(unit_cost=2.0))
    assert valued["inventory_turns"] == (
        "stock is 200 below its safety-stock target in 2027-01 (2 SKUs): the turns are high "
        "partly because stock runs short")
    # within 5 % of the target: nothing to say
    assert "inventory_turns" not in executive.kpi_notes(
        production=None, plan=plan.assign(qty_written_off=0.0, inventory_end=49.0),
        products=products.assign(unit_cost=2.0))


def test_kpi_notes_split_the_budget_gap_and_give_the_fill_rate_by_value():
    # two months; pumps: 10 units at 100 demanded, 8 served; seals: 990 units at 1, all
    # served. Fill 998 / 1,000 in units; by value (800 + 990) / (1,000 + 990)
    fin = pd.DataFrame({
        "sku": ["P", "P", "S", "S"], "family": ["Pumps", "Pumps", "Seals", "Seals"],
        "period": [M[0], M[1], M[0], M[1]],
        "qty_demand": [5.0, 5.0, 495.0, 495.0], "qty_served": [4.0, 4.0, 495.0, 495.0],
        "revenue": [400.0, 400.0, 495.0, 495.0], "revenue_at_risk": [100.0, 100.0, 0.0, 0.0]})
    # budget 1,500 for pumps and 1,000 for seals over the two months, and a third month
    # the plan does not cover (left out)
    budget = pd.DataFrame({"family": ["Pumps", "Pumps", "Seals", "Seals", "Pumps"],
                           "period": [M[0], M[1], M[0], M[1], M[2]],
                           "revenue": [750.0, 750.0, 500.0, 500.0, 999.0]})
    notes = executive.kpi_notes(production=None, financials=fin, budget=budget)
    assert notes["fill_rate"] == ("in units; by value 89.9%; served worst: Pumps 80.0% "
                                  "(80.0% by value)")
    # demand 1,000 + 990 = 1,990 against 2,500: 510 below (−20.4 %); 200 unserved; pumps
    # 1,000 − 1,500 = −500, seals 990 − 1,000 = −10
    assert notes["revenue_vs_budget"] == (
        "the demand plan is 510 below the budget (-20.4%), and supply leaves 200 of the "
        "demand unserved; demand furthest below budget: Pumps -500, Seals -10")
    assert executive.kpi_notes(production=None, financials=fin, budget=budget, n_named=1)[
        "revenue_vs_budget"].endswith("Pumps -500 and 1 more")
    # without a budget the note says so, as before
    assert executive.kpi_notes(production=None, financials=fin)["revenue_vs_budget"] == (
        "no budget: budget.csv was not given")


# ------------------------------------------------------------ KPI history rebuilt from data


def _archive(rows):
    frame = pd.DataFrame(rows, columns=["snapshot", "sku", "period", "lag", "qty_consensus"])
    for column in ("qty_naive", "qty_stat", "qty_with_pipeline", "qty_with_adjustments"):
        frame[column] = frame["qty_consensus"]
    frame["snapshot"] = pd.to_datetime(frame["snapshot"])
    frame["period"] = pd.to_datetime(frame["period"])
    return frame.astype({"sku": "string"})


def test_rebuilt_kpis_read_as_each_earlier_cycle_saw_them():
    """Consensus archived at 2026-08/09/10, actuals Aug 8, Sep 25, Oct 10, cycle 2026-11.

    2026-08: nothing archived before it → no accuracy; adherence of July 5/10 = 0.5.
    2026-09: the Aug snapshot scored on actuals up to Aug: lag 1 |10 − 8| / 8 = 0.25,
    bias +0.25; its lag-3 month (Oct) had no actual yet → none; adherence Aug 8/10.
    2026-10: Aug and Sep snapshots, actuals to Sep: lag 1 (2 + 5) / 33, bias −3 / 33;
    adherence Sep min(12, 10)/10 = 1. 2026-11 itself is the current cycle: not rebuilt.
    """
    archive = _archive([
        ("2026-08-01", "A", "2026-08-01", 1, 10.0), ("2026-08-01", "A", "2026-10-01", 3, 30.0),
        ("2026-09-01", "A", "2026-09-01", 1, 20.0), ("2026-10-01", "A", "2026-10-01", 1, 12.0),
        ("2026-11-01", "A", "2026-11-01", 1, 11.0)])
    actuals = pd.DataFrame({"sku": ["A"] * 3, "period": pd.to_datetime(
        ["2026-08-01", "2026-09-01", "2026-10-01"]), "qty": [8.0, 25.0, 10.0]})
    production = pd.DataFrame({"period": pd.to_datetime(["2026-07-01", "2026-08-01",
                                                         "2026-09-01"]),
                               "sku": ["A"] * 3, "planned_qty": [10.0, 10.0, 10.0],
                               "actual_qty": [5.0, 8.0, 12.0]})
    rebuilt = executive.rebuilt_kpis(archive, actuals, cycle="2026-11", production=production,
                                     adherence_months=1)
    got = {(c, k): v for c, k, v in rebuilt.itertuples(index=False)}
    assert got == pytest.approx({
        ("2026-08", "schedule_adherence"): 0.5,
        ("2026-09", "forecast_wape_lag1"): 0.25, ("2026-09", "forecast_bias"): 0.25,
        ("2026-09", "schedule_adherence"): 0.8,
        ("2026-10", "forecast_wape_lag1"): 7 / 33, ("2026-10", "forecast_bias"): -3 / 33,
        ("2026-10", "schedule_adherence"): 1.0})
    # a one-month window: 2026-10 scores only the forecast for September, |20 − 25| / 25,
    # not the running average of August and September (7 / 33)
    rolling = executive.rebuilt_kpis(archive, actuals, cycle="2026-11", accuracy_months=1)
    got = {(c, k): v for c, k, v in rolling.itertuples(index=False)}
    assert got[("2026-10", "forecast_wape_lag1")] == pytest.approx(5 / 25)
    assert got[("2026-10", "forecast_bias")] == pytest.approx(-5 / 25)
    # the scorecard of 2026-11 itself, over the last two months: Sep and Oct,
    # (|20 − 25| + |12 − 10|) / 35; the lag-3 forecast for Oct (30) too: |30 − 10| / 10
    now = executive.scorecard_accuracy(archive[archive["snapshot"] < "2026-11-01"], actuals,
                                       months=2)
    now = now[now["forecast"] == "consensus"].set_index("lag")
    assert now.loc[1, "wape"] == pytest.approx(7 / 35)
    assert now.loc[3, "wape"] == pytest.approx(2.0)
    assert executive.kpi_notes(production=None, cycle="2026-11", accuracy_months=2)[
        "forecast_wape_lag1"] == "the consensus's forecasts for 2026-09 to 2026-10"


def test_rebuilt_values_fill_gaps_and_never_replace_recorded_ones(tmp_path):
    from sopkit.workspace import read_kpi_history, record_kpis

    targets = {"fill_rate": {"target": 0.95, "direction": "higher"},
               "forecast_wape_lag1": {"target": 0.3, "direction": "lower"}}
    sept = kpi.scorecard({"fill_rate": 0.90, "forecast_wape_lag1": 0.40}, targets)
    record_kpis(sept, tmp_path, "2026-09")
    rebuilt = pd.DataFrame({"cycle": ["2026-08", "2026-09", "2026-11"],
                            "kpi": ["forecast_wape_lag1"] * 3, "value": [0.50, 0.99, 0.1]})
    octo = kpi.scorecard({"fill_rate": 0.93, "forecast_wape_lag1": 0.35}, targets)
    history = record_kpis(octo, tmp_path, "2026-10", rebuilt=rebuilt)
    rows = {(c, k): (v, s) for c, k, v, s in history.itertuples(index=False)}
    assert rows[("2026-08", "forecast_wape_lag1")] == (0.50, "rebuilt")
    assert rows[("2026-09", "forecast_wape_lag1")] == (0.40, "recorded")  # not 0.99
    assert ("2026-11", "forecast_wape_lag1") not in rows  # not before the cycle
    assert len(history) == 5
    # a later rebuild refreshes its own rows only
    record_kpis(octo, tmp_path, "2026-10", rebuilt=rebuilt.assign(value=[0.45, 0.98, 0.1]))
    again = read_kpi_history(tmp_path).set_index(["cycle", "kpi"])
    assert again.loc[("2026-08", "forecast_wape_lag1"), "value"] == 0.45
    assert again.loc[("2026-09", "forecast_wape_lag1"), "value"] == 0.40
    card = kpi.with_trend(octo, read_kpi_history(tmp_path), cycle="2026-10")
    table = executive.scorecard_table(card).set_index("kpi")
    assert table.loc["Fill rate", "trend"] == "▲ improving (2026-09: 90.0%)"
    assert table.loc["Forecast error (WAPE, lag 1)", "trend"] == "▲ improving (2026-09: 40.0%)"
    # only rebuilt history: the text says so
    fresh = kpi.with_trend(octo, pd.DataFrame({
        "cycle": ["2026-09"], "kpi": ["forecast_wape_lag1"], "value": [0.30],
        "source": ["rebuilt"]}), cycle="2026-10")
    text = executive.scorecard_table(fresh).set_index("kpi").loc[
        "Forecast error (WAPE, lag 1)", "trend"]
    assert text == "▼ worsening (2026-09, rebuilt from data: 30.0%)"


def test_kpi_history_chart_keeps_the_share_kpis_in_percent():
    history = pd.DataFrame({"cycle": ["2026-09", "2026-10", "2026-10", "2026-10"],
                            "kpi": ["forecast_wape_lag1", "forecast_wape_lag1",
                                    "data_quality_score", "schedule_adherence"],
                            "value": [0.25, 0.2, 97.5, float("nan")],
                            "source": ["rebuilt", "recorded", "recorded", "recorded"]})
    chart = executive.kpi_history_chart(history)
    assert chart["kpi"].tolist() == ["Forecast error (WAPE, lag 1)"] * 2
    assert chart["percent"].tolist() == pytest.approx([25.0, 20.0])
    assert chart["month"].tolist() == [pd.Timestamp("2026-09-01"), pd.Timestamp("2026-10-01")]
    assert chart["source"].tolist() == ["rebuilt", "recorded"]


def test_the_index_summary_holds_risks_locked_horizon_and_outlook_escaped():
    """Locked horizon: Nov demand 10 + 5, supply 10 + 3, short 0 + 2 → one total line per
    month, then the one family left short; risks cut to the top n; text escaped."""
    locked = pd.DataFrame({"family": ["Pumps", "Valves", "Pumps", "Valves"],
                           "period": [M[0], M[0], M[1], M[1]],
                           "qty_demand": [10.0, 5.0, 8.0, 4.0], "qty_supply": [10.0, 3.0, 8.0, 4.0],
                           "qty_served": [10.0, 3.0, 8.0, 4.0], "qty_short": [0.0, 2.0, 0.0, 0.0]})
    brief = executive.locked_brief(locked)
    assert brief["family"].tolist() == ["all families", "all families", "Valves"]
    assert brief["qty_demand"].tolist() == [15.0, 12.0, 5.0]
    assert brief["qty_short"].tolist() == [2.0, 0.0, 2.0]
    card = kpi.scorecard({"fill_rate": 0.9}, {"fill_rate": 0.95})
    decisions = pd.DataFrame({"decision": ["Second source"], "recommendation": ["approve"],
                              "reason": ["+172,799"]})
    risks = pd.DataFrame({"risk": [f"risk {k}" for k in range(7)], "sku": ["A"] * 7,
                          "family": ["Pumps"] * 7, "value": range(7, 0, -1),
                          "detail": ["<script>x</script>"] + ["d"] * 6})
    outlook = pd.DataFrame({"resource_family": ["testing"], "status": ["decide now"],
                            "decide_by": ["2026-12"], "explanation": ["peak 112 %"]})
    html = executive.summary_html(card, decisions, risks=risks, locked=locked, outlook=outlook,
                                  n_risks=5)
    for caption in ("Decisions requested", "Top risks", "Locked horizon",
                    "24-month capacity outlook"):
        assert caption in html
    assert "risk 4" in html and "risk 5" not in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "decide now" in html and "all families" in html


def _long(margins, contributions, fills, tier1=(0.99, 0.99, 0.99)):
    """Outlook-horizon options of 'Board shortage' (baseline, second source, re-allocate)."""
    results = _results().iloc[:3].assign(gross_margin=margins, contribution=contributions,
                                         fill_rate=fills, tier1_fill_rate=list(tier1))
    return executive.decision_options(results, ["tier1_fill_rate",
                                                "gross_margin"]).assign(months=24)


def test_a_capacity_decision_priced_over_the_outlook_is_recommended_by_it():
    results = _results()
    ranked = results.assign(rank=pd.array([2, 1, 3, 4, pd.NA], dtype="Int64"),
                            reason=["r"] * 5)
    options = executive.decision_options(results, ["tier1_fill_rate", "gross_margin"])
    empty = pd.DataFrame(columns=["sku", "period", "qty_short", "revenue_at_risk", "binding"])
    # over 24 months (tier-1 tied at 99 %): re-allocate 880k > baseline 800k > second source
    # 900k − 150k = 750k; contribution after cost: 680k − 600k = +80k, 700k − 150k − 600k
    # = −50k
    long = _long([800_000.0, 900_000.0, 880_000.0], [600_000.0, 700_000.0, 680_000.0],
                 [0.95, 0.99, 0.96])
    board = executive.decisions(empty, ranked, options=options, outlook_options=long).iloc[1]
    assert board["recommendation"] == "Re-allocate"  # over 12 months: second source
    assert ("priced over the outlook's 24 months: 'Re-allocate' +80,000 against keeping the "
            "plan (fill 96.0% vs 95.0%); 'Second source' -50,000 against keeping the plan "
            "(fill 99.0% vs 95.0%), so over 24 months 'Re-allocate' comes first, and it is "
            "recommended") in board["reason"]
    # with the outlook's flags, the note says how far ahead the rough-cut let stock be built
    flags = pd.DataFrame({"resource": ["CMP-1"], "first_overload": ["2027-07"],
                          "months_overloaded": [8], "lead_time_months": [6],
                          "decide_by": ["2027-01"], "build_ahead_months": [2]})
    board = executive.decisions(empty, ranked, options=options, capacity_flags=flags,
                                outlook_options=long).iloc[1]
    assert board["reason"].endswith(
        "recommended: the capacity is needed after the supply plan's months; note: the "
        "rough-cut capacity outlook, which weighs each month's load against its capacity and "
        "lets stock be built at most 2 month(s) ahead, has CMP-1 over its regular, overtime "
        "and temporary-staff capacity in 8 month(s) from 2027-07; new capacity takes 6 "
        "month(s): decide by 2027-01")
    # with the supply plan's check of the outlook, the note says what the LP does there
    for short, said in ((0.0, "(the supply plan over the same months loses no sale to CMP-1: "
                               "it builds stock earlier, so that date holds only if stock is "
                               "not to be built that far ahead)"),
                        (1234.4, "(the supply plan over the same months, building stock "
                                 "earlier, is still short 1,234 units where CMP-1 binds)")):
        board = executive.decisions(empty, ranked, options=options, outlook_options=long,
                                    capacity_flags=flags.assign(plan_units_short=short)).iloc[1]
        assert board["reason"].endswith("decide by 2027-01 " + said)
    # the same 12-month winner over 24 months, and a tie, keep the recommendation
    same = _long([800_000.0, 1_000_000.0, 810_000.0], [600_000.0, 800_000.0, 610_000.0],
                 [0.95, 0.99, 0.96])
    board = executive.decisions(empty, ranked, options=options, outlook_options=same).iloc[1]
    assert board["recommendation"] == "Second source"
    assert "so 'Second source' comes first there too" in board["reason"]
    # 951k − 150k = 801k: within 0.5 % of 800k, bought with a tier-1 fill rate lower by
    # 0.2 points (also within 0.5 %): a trade-off too small to tell, so a tie
    tie = _long([800_000.0, 951_000.0, 800_000.0], [600_000.0, 700_000.0, 600_000.0],
                [0.95, 0.95, 0.95], tier1=(0.99, 0.988, 0.99))
    board = executive.decisions(empty, ranked, options=options, outlook_options=tie).iloc[1]
    assert board["recommendation"] == "Second source"
    assert "so over 24 months 'Keep the plan as it stands' and 'Second source' and " \
           "'Re-allocate' tie on the rubric (its KPIs within half a percent)" in board["reason"]


def test_outlook_prices_only_decisions_on_flagged_resources(monkeypatch):
    from sopkit import scenarios

    calls = []

    def fake_run(demand_plan, data, specs, *, cycle, horizon, **kwargs):
        calls.append(([s["name"] for s in specs], horizon))
        return _results().iloc[:3].assign(decision=[None, "Shift", "Shift"])

    monkeypatch.setattr(scenarios, "run_scenarios", fake_run)
    specs = [{"name": "Extra shift", "decision": "Shift", "cost": 1000,
              "capacity": [{"resource": "R1", "factor": 1.5}]},
             {"name": "Overtime", "decision": "Shift", "supply": {"allow_overtime": True}},
             {"name": "Second source", "decision": "Board",
              "capacity": [{"component": "R1", "factor": 1.3}]},
             {"name": "Outage", "kind": "shock", "capacity": [{"resource": "R1", "factor": 0}]}]
    plan = pd.DataFrame({"sku": ["A"] * 18, "period": pd.date_range("2026-11-01", periods=18,
                                                                      freq="MS")})
    flags = pd.DataFrame({"resource": ["R1", "R2"], "decide_by": ["2027-01", None]})
    out = executive.outlook_decision_options(plan, None, specs, flags, ["gross_margin"],
                                             cycle="2026-11", horizon=24)
    # R1 is flagged: the decision 'Shift' (both its options) is planned again, over the
    # 18 months the demand plan has; 'Board' changes a component called R1, not the resource
    assert calls == [(["Extra shift", "Overtime"], 18)]
    assert set(out["months"]) == {18} and list(out.columns)[-1] == "months"
    # a demand plan no longer than the supply plan's months has nothing new to price
    assert executive.outlook_decision_options(plan, None, specs, flags, ["gross_margin"],
                                              cycle="2026-11", horizon=24,
                                              supply_horizon=18).empty
    calm = flags.assign(decide_by=[None, None])
    assert executive.outlook_decision_options(plan, None, specs, calm, ["gross_margin"],
                                              cycle="2026-11", horizon=24).empty
    assert len(calls) == 1
    # a component still short in the supply plan's last three months (12 planned: from
    # 2027-08) is short after them too: 'Board' is priced over the outlook; a shortage that
    # ended in 2027-07 asks nothing
    data = SimpleNamespace(components=pd.DataFrame({"component": ["R1", "C9"]}))
    gaps = pd.DataFrame({"period": pd.to_datetime(["2027-07-01", "2027-09-01"]),
                         "binding": ["C9", "R1, R2"]})
    executive.outlook_decision_options(plan, data, specs, calm, ["gross_margin"],
                                       cycle="2026-11", horizon=24, supply_horizon=12, gaps=gaps)
    assert calls[-1] == (["Second source"], 18)
    assert executive.structural_components(gaps, ["R1", "C9"], cycle="2026-11",
                                           supply_horizon=12) == {"R1"}
    assert executive.structural_components(gaps.iloc[:1], ["R1", "C9"], cycle="2026-11",
                                           supply_horizon=12) == set()


def test_the_plan_of_record_row_says_the_draft_holds_the_baseline_and_adopted_rows_are_taken():
    from sopkit.scenarios import validate_adopted

    ranked = pd.DataFrame({
        "scenario": ["Second source", "Baseline"], "kind": ["response", "response"],
        "rank": pd.array([1, 2], dtype="Int64"),
        "reason": ["best: ahead of 'Baseline' on contribution 500 vs 300", "behind"],
    })
    no_gaps = pd.DataFrame(columns=["sku", "period", "qty_short", "revenue_at_risk", "binding"])
    first = executive.decisions(no_gaps, ranked).iloc[0]
    # approving this run's draft does not approve the recommended option: the row says how to
    assert first["recommendation"] == "Second source"
    assert first["reason"].endswith(
        ". This run's draft version holds the Baseline (the plan as it stands), not 'Second "
        "source': to approve a plan with it, add 'Second source' to 'adopted' in the cycle "
        "parameters and run the cycle again, then approve the version that run records")
    # once adopted, the decision is listed as taken, with its cost over the months planned
    specs = [{"name": "Added shift", "decision": "Line R1", "cost": 600, "cost_per_month": 50,
              "capacity": [{"resource": "R1", "factor": 1.5, "from": "+2"}]}]
    table = executive.decisions(no_gaps, ranked.iloc[[1]].assign(rank=1),
                                adopted=validate_adopted(specs, ["Added shift"]),
                                cycle="2026-11", supply_horizon=12)
    assert table["decision"].tolist() == ["Which plan becomes the plan of record", "Line R1"]
    # the Baseline is recommended, and with the adoption it is the plan to approve
    assert table.iloc[0]["reason"] == (
        "behind. The Baseline is the plan with the adopted options (below), and it is the draft "
        "version this run records: approve that version")
    taken = table.iloc[1]
    assert taken["recommendation"] == "adopted: Added shift"
    # 600 + 50 × 10 months (from the third of 12)
    assert "(cost 1,100 over the 12 months planned)" in taken["reason"]


def test_accuracy_by_value_weighs_each_sku_by_its_price():
    """A: 1,000 units at 1, over-forecast by 20 %; P: 2 sets at 10,000, under by one set.

    C: 5 units forecast at 100, none sold. In units the bias is (200 − 1 + 5) / 1,002 =
    +20.4 %; by value A's error is 200 × 1 = 200, P's −1 × 10,000 and C's 5 × 100 = 500:
    bias (200 − 10,000 + 500) / (1,000 + 20,000) = −44.3 %, WAPE 10,700 / 21,000 = 51.0 %.
    """
    archive = _archive([("2026-10-01", "A", "2026-10-01", 1, 1200.0),
                        ("2026-10-01", "P", "2026-10-01", 1, 1.0),
                        ("2026-10-01", "C", "2026-10-01", 1, 5.0)])
    actuals = pd.DataFrame({"sku": ["A", "P"], "period": pd.to_datetime(["2026-10-01"] * 2),
                            "qty": [1000.0, 2.0]})
    products = pd.DataFrame({"sku": ["A", "P", "C"], "price": [1.0, 10_000.0, 100.0]})
    units = executive.scorecard_accuracy(archive, actuals, months=1)
    units = units[units["forecast"] == "consensus"].set_index("lag")
    assert units.loc[1, "bias"] == pytest.approx((200 + 5 - 1) / 1002)
    value = executive.accuracy_by_value(archive, actuals, products, months=1).set_index("lag")
    assert value.loc[1, "bias"] == pytest.approx((200 - 10_000 + 500) / 21_000)
    assert value.loc[1, "wape"] == pytest.approx((200 + 10_000 + 500) / 21_000)
    notes = executive.kpi_notes(production=None, cycle="2026-11", accuracy_months=1,
                                value_accuracy=value.reset_index())
    assert notes["forecast_bias"] == ("the consensus's forecasts for 2026-10, in units; by "
                                      "value (price × units) -44.3%")
    assert notes["forecast_wape_lag1"].endswith("by value (price × units) 51.0%")


def test_the_budget_note_sets_plan_and_budget_beside_the_months_just_closed():
    # two months planned at 1,100 + 100 at risk, budget 1,500; the two closed months sold
    # 10 + 10 units at today's price 50 = 1,000: the plan is +20 % on them, the budget +50 %
    fin = pd.DataFrame({"family": ["F", "F"], "period": M[:2], "revenue": [500.0, 600.0],
                        "revenue_at_risk": [100.0, 0.0], "qty_demand": [12.0, 12.0],
                        "qty_served": [10.0, 12.0]})
    budget = pd.DataFrame({"family": ["F", "F"], "period": M[:2], "revenue": [750.0, 750.0]})
    actuals = pd.DataFrame({"sku": ["A", "A", "A"], "qty": [99.0, 10.0, 10.0],
                            "period": pd.to_datetime(["2026-08-01", "2026-09-01",
                                                      "2026-10-01"])})
    products = pd.DataFrame({"sku": ["A"], "family": ["F"], "price": [50.0]})
    note = executive.kpi_notes(production=None, budget=budget, financials=fin,
                               actuals=actuals, products=products)["revenue_vs_budget"]
    assert note.endswith("; the last 2 closed months (2026-09 to 2026-10) sold 1,000 at "
                         "today's prices: the demand plan is +20.0% on them, the budget +50.0%; "
                         "furthest apart: F plan +20%, budget +50%")
    # a family whose plan and budget agree within 10 % of what it sold is not named
    close = executive.kpi_notes(production=None, budget=budget.assign(revenue=[600.0, 650.0]),
                                financials=fin, actuals=actuals,
                                products=products)["revenue_vs_budget"]
    assert close.endswith("the demand plan is +20.0% on them, the budget +25.0%")


def _utilisation_note(hours: list[float], made: float) -> str:
    """The utilisation note for R1 needing ``hours`` of its 100 h in the first 3 months, when
    it made ``made`` of the 10 units planned last month (its adherence)."""
    load = pd.DataFrame({"resource": ["R1"] * 3, "period": M[:3], "hours_required": hours,
                         "capacity_hours": 100.0, "overtime_hours": 0.0,
                         "overtime_max_hours": 0.0, "temp_max_hours": 0.0})
    production = pd.DataFrame({"period": pd.to_datetime(["2026-10-01"]), "sku": ["A"],
                               "resource": ["R1"], "planned_qty": [10.0], "actual_qty": [made]})
    routings = pd.DataFrame({"sku": ["A"], "resource": ["R1"], "hours_per_unit": [1.0]})
    return executive.kpi_notes(production=production, cycle="2026-11", adherence_months=1,
                               resource_load=load, routings=routings)["utilisation"]


def test_the_utilisation_note_names_a_resource_planned_beyond_what_it_delivered():
    # R1 made 8 of 10 planned lately (80 %); the plan needs 90 h of its 100 available a
    # month: 90 > 80 demonstrated in each of the first 3 months
    assert _utilisation_note([90.0] * 3, 8.0).endswith(
        "the first 3 months ask more than these resources have delivered lately: R1 (270 h "
        "needed, 240 h at its 80% adherence)")


def test_shocks_are_set_against_the_baseline_costliest_first():
    ranked = pd.DataFrame({
        "scenario": ["Baseline", "Option", "Downturn", "Outage"],
        "kind": ["response", "response", "shock", "shock"],
        "description": ["", "", "all demand × 0.9", "no boards for 2 months"],
        "revenue": [1000.0, 1100.0, 900.0, 950.0],
        "contribution": [400.0, 450.0, 340.0, 300.0],
        "fill_rate": [0.99, 1.0, 0.99, 0.90],
        "revenue_at_risk": [10.0, 0.0, 9.0, 110.0],
        "overtime_hours": [5.0, 0.0, 0.0, 8.0],
    })
    table = executive.shocks(ranked)
    assert table["shock"].tolist() == ["Outage", "Downturn"]
    assert table["delta_contribution"].tolist() == [-100.0, -60.0]
    assert table["delta_revenue"].tolist() == [-50.0, -100.0]
    assert table["delta_revenue_at_risk"].tolist() == [100.0, -1.0]
    assert executive.shocks(ranked[ranked["kind"] == "response"]).empty
    assert "description" not in executive.shocks(ranked.assign(description="")).columns


def test_a_decision_says_how_much_unpriced_cost_would_change_its_money_side():
    ranked = pd.DataFrame({"scenario": ["Baseline"], "kind": ["response"],
                           "rank": pd.array([1], dtype="Int64"), "reason": ["only"]})
    options = pd.DataFrame({
        "decision": ["Campaign", "Campaign"], "option": [executive.KEEP_PLAN, "Call it off"],
        "rank": pd.array([1, 2], dtype="Int64"), "cost": [0.0, 0.0],
        "revenue": [1000.0, 800.0], "contribution_after_cost": [500.0, 380.0],
        "delta_contribution": [0.0, -120.0], "tier1_fill_rate": [1.0, 1.0],
        "fill_rate": [1.0, 1.0], "revenue_at_risk": [0.0, 0.0], "co2e_kg": [0.0, 0.0],
        "reason": ["best", "behind"]})
    no_gaps = pd.DataFrame(columns=["sku", "period", "qty_short", "revenue_at_risk", "binding"])
    row = executive.decisions(no_gaps, ranked, options=options).iloc[1]
    assert row["reason"] == ("best; its lead over 'Call it off' is 120 contribution: costs this "
                             "pricing leaves out would have to exceed that to change the money "
                             "side of the choice")


def test_a_resource_above_its_delivered_hours_in_one_month_only_is_named_by_that_month():
    # 3 months need 70, 95, 70 h of 100; adherence 90 %: only the second month is above,
    # the total (235 h) is below the 270 h demonstrated
    assert _utilisation_note([70.0, 95.0, 70.0], 9.0).endswith(
        "R1 (in 1 of the 3 months: its peak month needs 95% of its hours, it delivered 90%)")


def test_the_plan_of_record_takes_each_decisions_recommended_option_together():
    # two decisions, each with an option better than keeping the plan: options of different
    # decisions are not alternatives, so the plan of record recommends both
    ranked = pd.DataFrame({"scenario": ["Source", "Shift", "Baseline"],
                           "kind": ["response"] * 3, "decision": ["Board", "Line", None],
                           "rank": pd.array([1, 2, 3], dtype="Int64"),
                           "reason": ["best", "behind", "behind"]})

    def option_rows(name, option, gain):
        return pd.DataFrame({
            "decision": [name, name], "option": [option, executive.KEEP_PLAN],
            "rank": pd.array([1, 2], dtype="Int64"), "cost": [10.0, 0.0],
            "revenue": [1000.0, 900.0], "contribution_after_cost": [400.0 + gain, 400.0],
            "delta_contribution": [gain, 0.0], "tier1_fill_rate": [1.0, 1.0],
            "fill_rate": [1.0, 0.9], "revenue_at_risk": [0.0, 100.0], "co2e_kg": [0.0, 0.0],
            "reason": ["best", "behind"]})

    options = pd.concat([option_rows("Board", "Source", 50.0), option_rows("Line", "Shift", 20.0)],
                        ignore_index=True)
    no_gaps = pd.DataFrame(columns=["sku", "period", "qty_short", "revenue_at_risk", "binding"])
    first = executive.decisions(no_gaps, ranked, options=options).iloc[0]
    assert first["recommendation"] == "Source + Shift"
    assert first["reason"].startswith("each decision's recommended option, below; they were "
                                      "priced one at a time against the plan as it stands, not "
                                      "together. This run's draft version holds the Baseline")
    assert "add 'Source' and 'Shift' to 'adopted'" in first["reason"]
    assert "(which plans them together)" in first["reason"]
    # ahead of keeping the plan: the gain is the lead, said once
    board = executive.decisions(no_gaps, ranked, options=options).iloc[1]
    assert board["reason"] == ("best; +50 contribution after its cost of 10, against keeping "
                               "the plan: costs this pricing leaves out would have to exceed "
                               "that to change the money side of the choice")
    # every decision keeping the plan: the Baseline is the plan of record
    keep = options.assign(option=options["option"].where(
        options["option"] == executive.KEEP_PLAN, "Other"), rank=pd.array([2, 1] * 2,
                                                                           dtype="Int64"))
    keep = keep.sort_values(["decision", "rank"], ignore_index=True)
    first = executive.decisions(no_gaps, ranked, options=keep).iloc[0]
    assert first["recommendation"] == "Baseline"
    assert first["reason"] == "every prepared decision recommends keeping the plan as it stands"


def test_a_decision_says_how_much_of_its_gain_comes_before_the_option_runs():
    # the option runs from February; its plan gains 30 in January already (stock released
    # against the extra supply to come), 50 and 70 after: +150 in all, 30 of it before
    results = pd.DataFrame({
        "scenario": ["Baseline", "Source"], "kind": ["response"] * 2,
        "decision": [None, "Board"], "cost": [0.0, 0.0],
        "runs_from": pd.to_datetime([pd.NaT, "2027-02-01"]),
        "revenue": [1000.0, 1300.0], "gross_margin": [400.0, 550.0],
        "contribution": [300.0, 450.0], "fill_rate": [0.9, 1.0],
        "tier1_fill_rate": [1.0, 1.0], "revenue_at_risk": [100.0, 0.0],
        "co2e_kg": [0.0, 0.0]})
    results.attrs["contribution_by_month"] = {
        "Baseline": {"2027-01": 100.0, "2027-02": 100.0, "2027-03": 100.0},
        "Source": {"2027-01": 130.0, "2027-02": 150.0, "2027-03": 170.0}}
    options = executive.decision_options(results, ["contribution"])
    source = options.set_index("option").loc["Source"]
    assert source["delta_contribution"] == 150.0 and source["gain_before_start"] == 30.0
    ranked = pd.DataFrame({"scenario": ["Source", "Baseline"], "kind": ["response"] * 2,
                           "rank": pd.array([1, 2], dtype="Int64"), "reason": ["best", "x"]})
    no_gaps = pd.DataFrame(columns=["sku", "period", "qty_short", "revenue_at_risk", "binding"])
    reason = executive.decisions(no_gaps, ranked, options=options).iloc[1]["reason"]
    assert ("; +30 of its gain falls in the months before it runs (from 2027-02): the plan "
            "releases stock it would hold back, counting on the option arriving on time") in reason
