"""Tests of the rough-cut capacity outlook, against figures computed by hand.

Cycle 2026-01 unless a test says otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.dataset import Dataset
from sopkit.errors import ParameterError
from sopkit.roughcut import capacity_flags, capacity_outlook, extend_demand

CYCLE = pd.Timestamp("2026-01-01")


def months(n: int, start=CYCLE) -> list[pd.Timestamp]:
    return list(pd.date_range(start, periods=n, freq="MS"))


def demand(rows: dict[str, list[float]]) -> pd.DataFrame:
    frames = [pd.DataFrame({"sku": sku, "period": months(len(q)), "qty": q})
              for sku, q in rows.items()]
    out = pd.concat(frames, ignore_index=True)
    out["sku"] = out["sku"].astype("string")
    return out


def plant() -> Dataset:
    """Family ASM: R1 (100 h + 10 overtime + 10 temps, lead 3) and R2 (50 h, lead 2);
    R3 has no family (40 h, no lead time given: the default 6)."""
    resources = pd.DataFrame({
        "resource": pd.array(["R1", "R2", "R3"], dtype="string"),
        "resource_family": pd.array(["ASM", "ASM", None], dtype="string"),
        "capacity_hours": [100.0, 50.0, 40.0],
        "overtime_max_hours": [10.0, 0.0, 0.0],
        "temp_max_hours": [10.0, 0.0, 0.0],
        "capacity_lead_time_months": pd.array([3, 2, None], dtype="Int64"),
    })
    routings = pd.DataFrame({
        "sku": pd.array(["X", "X", "Y"], dtype="string"),
        "resource": pd.array(["R1", "R2", "R3"], dtype="string"),
        "hours_per_unit": [1.0, 0.5, 2.0],
    })
    return Dataset.from_frames({"resources": resources, "routings": routings})


def test_load_capacity_and_first_overload_by_hand():
    # X needs 1 h on R1 + 0.5 h on R2 = 1.5 h of family ASM a unit. Demand 100 a month
    # for four months, then 120 and 130 a month: load 150 (x4), 180, 195 (x3) h. Capacity
    # of ASM: 100 + 10 + 10 + 50 = 170 h (regular 150). May is the first month above it
    # (180 > 170), but May's 10 h can be built in Mar (20 h spare). June needs 25 h: Apr's
    # 20 (May has none), 5 h short; July and August find no spare hours at all. Short in
    # 3 months from Jun 2026: structural. The family's longest lead time is 3 months:
    # decide by Mar 2026.
    # Y (2 h on R3, a family of its own, 40 h): 10 a month = 20 h, 25 in Mar = 50 h: a
    # peak that Jan-Feb's spare hours cover (20 + 20 + 50 = 90 <= 120): peaks only.
    # Z has no routing: its 7 units a month are counted as unrouted.
    plan = demand({"X": [100, 100, 100, 100, 120, 130, 130, 130],
                   "Y": [10, 10, 25, 10, 10, 10, 10, 10], "Z": [7] * 8})
    outlook = capacity_outlook(plan, plant())
    asm = outlook[outlook["resource_family"] == "ASM"]
    assert asm["load_hours"].tolist() == pytest.approx([150] * 4 + [180] + [195] * 3)
    assert asm["capacity_hours"].tolist() == pytest.approx([170] * 8)
    assert asm["regular_hours"].tolist() == pytest.approx([150] * 8)
    assert asm["utilisation"].iloc[4] == pytest.approx(180 / 170)
    assert asm["overloaded"].tolist() == [False] * 4 + [True] * 4
    r3 = outlook[outlook["resource_family"] == "R3"]
    assert r3["load_hours"].tolist() == pytest.approx([20, 20, 50, 20, 20, 20, 20, 20])
    assert outlook["unrouted_qty"].unique().tolist() == [7.0]

    flags = capacity_flags(outlook, plant(), cycle=CYCLE).set_index("resource_family")
    asm = flags.loc["ASM"]
    assert asm["first_peak_overload"] == pd.Timestamp("2026-05-01")
    assert asm["first_above_regular"] == pd.Timestamp("2026-05-01")  # 150 is not above 150
    assert asm["first_overload"] == pd.Timestamp("2026-06-01")
    assert asm["months_overloaded"] == 3
    assert asm["lead_time_months"] == 3
    assert asm["decide_by"] == pd.Timestamp("2026-03-01")
    assert asm["status"] == "decide by 2026-03"
    # after building ahead June is 5 h short, July and August 25 h each (nothing spare)
    assert asm["hours_short_at_peak"] == pytest.approx(25)
    assert asm["peak_utilisation"] == pytest.approx(195 / 170)
    # over capacity from May (4 months), short even building ahead from June: both said
    assert asm["explanation"] == (
        "ASM: load exceeds regular, overtime and temporary-staff capacity in 4 month(s) from "
        "2026-05 (peak 115 % in 2026-06); building up to 2 month(s) ahead covers that until "
        "2026-06, from when it is short in 3 month(s) of 8 (up to 25 h short a month after "
        "building ahead, most in 2026-07). New capacity takes 3 month(s): decide by 2026-03.")
    r3 = flags.loc["R3"]
    assert r3["status"] == "peaks only" and pd.isna(r3["decide_by"])
    assert r3["first_peak_overload"] == pd.Timestamp("2026-03-01")
    assert pd.isna(r3["first_overload"]) and r3["months_overloaded"] == 0
    assert r3["lead_time_months"] == 6  # contract default
    assert r3["hours_short_at_peak"] == 0.0  # March's 10 h above capacity are built ahead
    assert r3["peak_utilisation"] == pytest.approx(1.25)
    assert r3["explanation"] == (
        "R3: load exceeds capacity only in peaks (1 month(s) from 2026-03; peak 125 % in "
        "2026-03) that up to 2 month(s) of building ahead can cover: no new capacity needed, "
        "but stock must be built in time.")
    assert flags.index.tolist() == ["ASM", "R3"]  # a decision first

    # Without building ahead every month stands alone: ASM is short from May; R3 is short
    # in March only: a peak to plan for, not new capacity.
    alone = capacity_flags(outlook, plant(), cycle=CYCLE, build_ahead_months=0)
    assert set(alone["build_ahead_months"]) == {0}  # the policy travels with the flags
    alone = alone.set_index("resource_family")
    assert alone.loc["ASM", "first_overload"] == pd.Timestamp("2026-05-01")
    assert alone.loc["ASM", "decide_by"] == pd.Timestamp("2026-02-01")
    assert alone.loc["R3", "first_overload"] == pd.Timestamp("2026-03-01")
    assert alone.loc["R3", "status"] == "short in peaks" and pd.isna(alone.loc["R3", "decide_by"])
    assert alone.loc["R3", "explanation"] == (
        "R3: even with 0 month(s) of building ahead, load exceeds regular, overtime and "
        "temporary-staff capacity in 1 month(s) only (2026-03; 10 h short after building "
        "ahead; peak 125 % in 2026-03): build ahead earlier, outsource or move the demand; new "
        "capacity only if it recurs.")
    assert alone.loc["R3", "hours_short_at_peak"] == pytest.approx(10)
    # ... unless one month is enough to call it structural
    strict = capacity_flags(outlook, plant(), cycle=CYCLE, build_ahead_months=0,
                            min_short_months=1).set_index("resource_family")
    assert strict.loc["R3", "status"] == "overdue"  # 2026-03 - 6 months < 2026-01


def test_adopted_month_limited_capacity_counts_in_the_outlook():
    # The same plan with an adopted second shift on R1 from June to August: 200 regular hours
    # instead of 100; its temporary staff work that shift too (10 h scale to 20), overtime
    # stays 10. ASM then has 200 + 10 + 20 + 50 = 280 h in Jun-Aug (regular 250): June's 195
    # h fit, and the shortage the flags found from June is gone.
    plan = demand({"X": [100, 100, 100, 100, 120, 130, 130, 130]})
    shift = pd.DataFrame({"resource": ["R1"] * 3, "period": months(8)[5:],
                          "capacity_hours": [200.0] * 3})
    outlook = capacity_outlook(plan, plant(), resource_capacity=shift)
    asm = outlook[outlook["resource_family"] == "ASM"]
    assert asm["capacity_hours"].tolist() == pytest.approx([170] * 5 + [280] * 3)
    assert asm["regular_hours"].tolist() == pytest.approx([150] * 5 + [250] * 3)
    assert asm["overloaded"].tolist() == [False] * 4 + [True] + [False] * 3
    flags = capacity_flags(outlook, plant(), cycle=CYCLE).set_index("resource_family")
    assert pd.isna(flags.loc["ASM", "first_overload"])  # May's peak: built ahead in March
    # per resource, R1 alone: 100 + 10 + 10 = 120 h, then 200 + 10 + 20 = 230 h
    by_resource = capacity_outlook(plan, plant(), by="resource", resource_capacity=shift)
    r1 = by_resource[by_resource["resource"] == "R1"]
    assert r1["capacity_hours"].tolist() == pytest.approx([120] * 5 + [230] * 3)
    # demand dated mid-month is the month's: the overrides still apply
    mid = capacity_outlook(plan.assign(period=plan["period"] + pd.Timedelta(days=14)), plant(),
                           resource_capacity=shift)
    pd.testing.assert_frame_equal(mid, outlook)


def test_overdue_decide_now_and_enough_capacity():
    # Loads 180, 195, 195 h against 170: short from the first month (nothing to build
    # ahead with); lead time 3: the decision was due in 2025-10, 3 months ago.
    plan = demand({"X": [120, 130, 130]})
    flags = capacity_flags(capacity_outlook(plan, plant()), plant(), cycle=CYCLE)
    asm = flags.set_index("resource_family").loc["ASM"]
    assert asm["first_overload"] == pd.Timestamp("2026-01-01")
    assert asm["decide_by"] == pd.Timestamp("2025-10-01")
    assert asm["status"] == "overdue"
    assert "the decision was due in 2025-10, 3 month(s) ago" in asm["explanation"]

    # Per resource: R2 (50 h, lead 2) carries 0.5 h a unit of X: 50, 50, 60, 60, 60 h, no
    # spare hours: short in Mar-May, decide in Jan = now. R1 (100 h + 20) carries 100, 100,
    # 120, 120, 120 h: above regular from Mar, within capacity.
    plan = demand({"X": [100, 100, 120, 120, 120]})
    by_resource = capacity_outlook(plan, plant(), by="resource")
    flags = capacity_flags(by_resource, plant(), cycle=CYCLE, by="resource").set_index(
        "resource")
    assert flags.loc["R2", "first_overload"] == pd.Timestamp("2026-03-01")
    assert flags.loc["R2", "status"] == "decide now"
    assert flags.loc["R1", "status"] == "enough capacity"
    assert flags.loc["R1", "explanation"] == (
        "R1: load stays within capacity (peak 100 % in 2026-03); above regular capacity "
        "from 2026-03 (overtime/temps).")
    with pytest.raises(ParameterError, match="build_ahead_months"):
        capacity_flags(by_resource, plant(), cycle=CYCLE, by="resource",
                       build_ahead_months=-1)


def test_extension_repeats_the_last_year_with_its_growth():
    # 12 months of plan; actuals of the 12 months before the cycle sum to 120, the plan to
    # 144 (ratio 1.2 over 12 months: growth 1.2 a year). Month 13 = month 1 * 1.2.
    # W grows 10-fold: clipped to 2 a year. L has no history: its last year repeats.
    plan = pd.DataFrame({
        "sku": pd.array(["A"] * 12 + ["W"] * 12 + ["L"] * 12, dtype="string"),
        "period": months(12) * 3,
        "qty_consensus": [10.0, 14.0] * 6 + [100.0] * 12 + [5.0] * 12,
    })
    actuals = pd.DataFrame({
        "sku": pd.array(["A"] * 12 + ["W"] * 12, dtype="string"),
        "period": months(12, pd.Timestamp("2025-01-01")) * 2,
        "qty": [10.0] * 12 + [10.0] * 12,
    })
    out = extend_demand(plan, actuals, cycle=CYCLE, horizon=15)
    a = out[out["sku"] == "A"]
    assert a["qty"].tolist() == pytest.approx([10, 14] * 6 + [12, 16.8, 12])
    assert a["source"].tolist() == ["plan"] * 12 + ["extension"] * 3
    w = out[out["sku"] == "W"]
    assert w["qty"].iloc[12:].tolist() == pytest.approx([200, 200, 200])
    assert out[out["sku"] == "L"]["qty"].iloc[12:].tolist() == pytest.approx([5, 5, 5])


def test_extension_annualises_growth_over_the_plan_length():
    # 18 months of plan at 12 a month vs actuals of 10 a month: ratio 1.2 over 18 months,
    # growth 1.2 ** (12 / 18) a year; month 19 = month 7 * that.
    plan = pd.DataFrame({"sku": pd.array(["A"] * 18, dtype="string"), "period": months(18),
                         "qty_consensus": [12.0] * 18})
    actuals = pd.DataFrame({"sku": pd.array(["A"] * 12, dtype="string"),
                            "period": months(12, pd.Timestamp("2025-01-01")),
                            "qty": [10.0] * 12})
    out = extend_demand(plan, actuals, cycle=CYCLE, horizon=24)
    assert len(out) == 24
    assert out["qty"].iloc[18] == pytest.approx(12 * 1.2 ** (12 / 18))
    # a plan longer than the outlook is cut, not extended
    short = extend_demand(plan, actuals, cycle=CYCLE, horizon=6)
    assert short["source"].unique().tolist() == ["plan"] and len(short) == 6


def test_extension_needs_a_year_of_plan():
    plan = pd.DataFrame({"sku": pd.array(["A"] * 6, dtype="string"), "period": months(6),
                         "qty_consensus": [1.0] * 6})
    actuals = pd.DataFrame({"sku": pd.array([], dtype="string"), "period": [], "qty": []})
    with pytest.raises(ParameterError, match="covers 6 month"):
        extend_demand(plan, actuals, cycle=CYCLE, horizon=24)


def test_resource_without_capacity_is_flagged_as_overloaded_now():
    # R3 with 0 h and work routed to it: overloaded from the first month, no utilisation.
    data = plant()
    data.resources.loc[2, "capacity_hours"] = 0.0
    outlook = capacity_outlook(demand({"Y": [1, 1]}), data)
    r3 = outlook[outlook["resource_family"] == "R3"]
    assert r3["overloaded"].all() and r3["utilisation"].isna().all()
    flag = capacity_flags(outlook, data, cycle=CYCLE).set_index("resource_family").loc["R3"]
    assert flag["status"] == "overdue"  # 2026-01 - 6 months
    assert "peak no capacity" in flag["explanation"]
    assert np.isnan(flag["peak_utilisation"])


def test_spare_hours_are_used_once_and_only_before_the_peak():
    # R3: 40 h, 2 h a unit of Y. Loads 28, 48, 40, 40: February's 8 h come from January's
    # 12 spare hours; March and April are full but not over: peaks only (a rolling sum of
    # Feb-Apr, 128 > 120, would wrongly flag April: spare hours do not move backwards).
    outlook = capacity_outlook(demand({"Y": [14, 24, 20, 20]}), plant())
    flag = capacity_flags(outlook, plant(), cycle=CYCLE).set_index("resource_family").loc["R3"]
    assert flag["status"] == "peaks only" and flag["months_overloaded"] == 0
    # Loads 28, 48, 48, 40: February takes 8 of January's 12 spare hours, March needs 8 more
    # and finds 4: short in March.
    outlook = capacity_outlook(demand({"Y": [14, 24, 24, 20]}), plant())
    flag = capacity_flags(outlook, plant(), cycle=CYCLE, min_short_months=1).set_index(
        "resource_family").loc["R3"]
    assert flag["first_overload"] == pd.Timestamp("2026-03-01")
    assert flag["months_overloaded"] == 1


def test_hours_short_are_those_building_ahead_leaves_uncovered():
    # R3 (40 h, 2 h a unit of Y): loads 30, 30, 56, 54, 30, 30 h. March, the peak (140 %),
    # is 16 h over: January's 10 spare hours and 6 of February's build it ahead. April is
    # 14 h over and finds February's last 4 (March has none): 10 h short. The flag is about
    # April's 10 h, not March's 16 (which building ahead covers).
    outlook = capacity_outlook(demand({"Y": [15, 15, 28, 27, 15, 15]}), plant())
    flag = capacity_flags(outlook, plant(), cycle=CYCLE).set_index("resource_family").loc["R3"]
    assert flag["status"] == "short in peaks"
    assert flag["peak_period"] == pd.Timestamp("2026-03-01")
    assert flag["first_overload"] == pd.Timestamp("2026-04-01")
    assert flag["hours_short_at_peak"] == pytest.approx(10)
    assert flag["explanation"] == (
        "R3: even with 2 month(s) of building ahead, load exceeds regular, overtime and "
        "temporary-staff capacity in 1 month(s) only (2026-04; 10 h short after building "
        "ahead; peak 140 % in 2026-03): build ahead earlier, outsource or move the demand; new "
        "capacity only if it recurs.")
    # one month of building ahead: March takes February's 10 spare hours and is 6 h short;
    # April finds none: 14 h short, the most
    one = capacity_flags(outlook, plant(), cycle=CYCLE, build_ahead_months=1).set_index(
        "resource_family").loc["R3"]
    assert one["months_overloaded"] == 2
    assert one["hours_short_at_peak"] == pytest.approx(14)
    assert "(2026-03, 2026-04; up to 14 h short a month after building ahead, most in 2026-04;" \
        in one["explanation"]
    # none: every month on its own, March the most short (16 h)
    alone = capacity_flags(outlook, plant(), cycle=CYCLE, build_ahead_months=0).set_index(
        "resource_family").loc["R3"]
    assert alone["hours_short_at_peak"] == pytest.approx(16)
    assert "most in 2026-03" in alone["explanation"]


def test_a_late_trend_is_structural_even_in_few_months():
    # R3 (40 h): 20 h a month, then 50 h in the last two months of the outlook: short in
    # both, i.e. in every month from the first shortage to the end: structural, although
    # fewer than min_short_months (3) months.
    outlook = capacity_outlook(demand({"Y": [10, 10, 10, 25, 25]}), plant())
    flag = capacity_flags(outlook, plant(), cycle=CYCLE, build_ahead_months=0).set_index(
        "resource_family").loc["R3"]
    assert flag["first_overload"] == pd.Timestamp("2026-04-01")
    assert flag["status"] == "overdue"  # 2026-04 - 6 months
    assert flag["decide_by"] == pd.Timestamp("2025-10-01")


def test_capacity_brief_takes_the_most_urgent_resource():
    # X: 100, 100, 120, 120, 120. Pooled, ASM (R1 + R2: 170 h) is short only in May even
    # with two months of building ahead: decide by 2026-02 (lead time 3). R2 alone (50 h,
    # 0.5 h a unit, lead time 2) is short from March: decide now. The brief shows "decide
    # now" for ASM and both explanations; R3 (its own family) stays as it is.
    from sopkit.roughcut import capacity_brief

    plan = demand({"X": [100, 100, 120, 120, 120]})
    family = capacity_flags(capacity_outlook(plan, plant()), plant(), cycle=CYCLE)
    resource = capacity_flags(capacity_outlook(plan, plant(), by="resource"), plant(),
                              cycle=CYCLE, by="resource")
    assert family.set_index("resource_family").loc["ASM", "status"] == "decide by 2026-02"
    brief = capacity_brief(family, resource, plant())
    assert brief["resource_family"].tolist() == ["ASM", "R3"]
    asm = brief.iloc[0]
    assert asm["status"] == "decide now" and asm["decide_by"] == pd.Timestamp("2026-01-01")
    assert asm["explanation"].startswith(
        "ASM: load exceeds regular, overtime and temporary-staff capacity in 3 month(s) from "
        "2026-03")
    assert "covers that until 2026-05, from when it is short" in asm["explanation"]
    assert ("more urgent than the pooled hours: R2: from 2026-03 load exceeds"
            in asm["explanation"])
    assert "R1:" not in asm["explanation"]  # enough capacity: not more urgent
    assert brief.iloc[1]["status"] == "enough capacity"
    # without resource flags the family table is returned as it is
    same = capacity_brief(family, resource.iloc[:0], plant())
    assert same["status"].tolist() == family["status"].tolist()


def test_supply_plan_check_adds_what_the_lp_does_over_the_outlook():
    from types import SimpleNamespace

    from sopkit.roughcut import supply_plan_check

    calls = []

    def planner(demand_plan, data, *, cycle, horizon, **kwargs):
        calls.append((horizon, kwargs))
        gaps = pd.DataFrame({
            "sku": ["A", "A", "B", "C"],
            "period": pd.to_datetime(["2027-01-01", "2027-03-01", "2027-04-01", "2027-03-01"]),
            "qty_short": [3.0, 5.0, 2.0, 7.0], "revenue_at_risk": [300.0, 500.0, 200.0, 700.0],
            "binding": ["R1", "R1, CMP-1", "CMP-1", "R2"]})
        load = pd.DataFrame({"resource": ["R1", "R1", "R2"], "overtime_hours": [10.0, 0.0, 9.0],
                             "temp_hours": [0.0, 5.0, 9.0]})
        return SimpleNamespace(gaps=gaps, resource_load=load)

    flags = pd.DataFrame({
        "resource": ["R1", "R2", "R3", "R4"],
        "status": ["decide by 2026-12", "short in peaks", "decide by", "enough"],
        "first_overload": pd.to_datetime(["2027-02-01", "2027-03-01", "2028-06-01", None]),
        "decide_by": pd.to_datetime(["2026-12-01", None, "2027-12-01", None]),
        "explanation": ["R1: decide by 2026-12.", "R2: peaks.", "R3: later.", "R4: fine."]})
    plan = pd.DataFrame({"sku": ["A"] * 18,
                         "period": pd.date_range("2026-11-01", periods=18, freq="MS")})
    out = supply_plan_check(flags, plan, None, cycle="2026-11", horizon=24, supply_horizon=12,
                            planner=planner, holding_cost_rate=0.2).set_index("resource")
    # planned once, over the 18 months the demand plan has; the options passed through
    assert calls == [(18, {"holding_cost_rate": 0.2})]
    # R1 binds in 2027-03 (5 units) from its first overload 2027-02 on; 2027-01 is before
    # it and 'CMP-1' alone is another constraint; 10 + 5 extra hours on R1
    assert (out.loc["R1", "plan_units_short"], out.loc["R1", "plan_extra_hours"]) == (5.0, 15.0)
    assert out.loc["R1", "explanation"] == (
        "R1: decide by 2026-12. The 18-month supply plan, which may build stock further ahead "
        "at a holding cost, is short 5 units (500 revenue) where R1 binds from 2027-02, after "
        "15 hours of overtime and temporary staff on it.")
    # R4 is never short; R3's overload (2028-06) lies beyond the 18 months planned
    assert out.loc[["R4", "R3"], "plan_units_short"].isna().all()
    # R2, short in peaks (no decision date), is checked too: C's 7 units in 2027-03
    assert out.loc["R2", "plan_units_short"] == 7.0
    assert out.loc["R2", "explanation"] == (
        "R2: peaks. The 18-month supply plan, which may build stock further ahead at a holding "
        "cost, is short 7 units (700 revenue) where R2 binds from 2027-03, after 18 hours of "
        "overtime and temporary staff on it.")
    assert out.loc["R3", "explanation"] == "R3: later."
    # a demand plan no longer than the supply plan: nothing new to plan
    assert supply_plan_check(flags, plan, None, cycle="2026-11", horizon=24, supply_horizon=18,
                             planner=planner)["plan_units_short"].isna().all()
    assert len(calls) == 1

    def calm_planner(demand_plan, data, *, cycle, horizon, **kwargs):
        full = planner(demand_plan, data, cycle=cycle, horizon=horizon)
        return SimpleNamespace(gaps=full.gaps.iloc[:0], resource_load=full.resource_load)

    calm = supply_plan_check(flags, plan, None, cycle="2026-11", horizon=24,
                             planner=calm_planner).set_index("resource")
    assert calm.loc["R1", "plan_units_short"] == 0.0
    assert calm.loc["R1", "explanation"].endswith(
        "loses no sale to R1: it covers the load with 15 hours of overtime and temporary "
        "staff on it and with stock built earlier.")

    # only the levers it used are named: R1 with overtime alone, then with neither
    def planner_with(overtime, temp):
        def plan_it(demand_plan, data, *, cycle, horizon, **kwargs):
            full = planner(demand_plan, data, cycle=cycle, horizon=horizon)
            load = pd.DataFrame({"resource": ["R1"], "overtime_hours": [overtime],
                                 "temp_hours": [temp]})
            return SimpleNamespace(gaps=full.gaps.iloc[:0], resource_load=load)
        return plan_it

    texts = [supply_plan_check(flags, plan, None, cycle="2026-11", horizon=24,
                               planner=planner_with(o, t)).set_index("resource").loc[
        "R1", "explanation"] for o, t in ((15.0, 0.0), (0.0, 0.0))]
    assert texts[0].endswith("covers the load with 15 hours of overtime on it and with stock "
                             "built earlier.")
    assert texts[1].endswith("covers the load with no overtime or temporary staff on it and "
                             "with stock built earlier.")
