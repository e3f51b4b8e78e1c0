"""Analog launch curves, phase-out, run-out and last-time buys on small hand-made cases."""

import numpy as np
import pandas as pd
import pytest

from sopkit import lifecycle
from sopkit.errors import ParameterError
from sopkit.periods import month_range

CYCLE = "2025-01"
M = pd.Timestamp


def _products(rows):
    columns = ["sku", "family", "lifecycle_status", "launch_period", "eol_period", "price",
               "unit_cost", "analog_sku", "launch_volume"]
    frame = pd.DataFrame(rows, columns=columns)
    for c in ("launch_period", "eol_period"):
        frame[c] = pd.to_datetime(frame[c]).astype("datetime64[ns]")
    for c in ("sku", "family", "lifecycle_status", "analog_sku"):
        frame[c] = frame[c].astype("string")
    return frame


def _actuals(series: dict[str, tuple[str, list[float]]]) -> pd.DataFrame:
    rows = []
    for sku, (start, values) in series.items():
        for period, qty in zip(month_range(M(start), len(values)), values, strict=True):
            rows.append((sku, period, float(qty)))
    return pd.DataFrame(rows, columns=["sku", "period", "qty"]).astype({"sku": "string"})


# History 2024-01 .. 2024-12, cycle 2025-01. Curves over 4 months, the last 2 the plateau.
KW = {"curve_months": 4, "plateau_months": 2}


@pytest.fixture
def launch_case():
    products = _products([
        # analogs: A1 launched 2024-03 (given), A2 first sold 2024-04, OLD sold since the start
        ("A1", "F", "active", "2024-03", None, 100.0, 60.0, None, None),
        ("A2", "F", "active", None, None, 120.0, 70.0, None, None),
        ("OLD", "F", "active", None, None, 101.0, 60.0, None, None),
        ("G1", "G", "active", "2024-02", None, 50.0, 30.0, None, None),
        # new products
        ("NEW", "F", "npi", "2025-02", None, 110.0, 60.0, None, 100.0),
        ("NEW2", "F", "npi", "2025-02", None, 110.0, 60.0, "OLD", 100.0),
        ("NEW3", "G", "npi", "2025-01", None, 60.0, 30.0, "A1", None),
        ("NEW4", "H", "npi", "2025-03", None, 55.0, 30.0, "NOPE", 40.0),
    ])
    actuals = _actuals({
        "A1": ("2024-03", [2, 6, 10, 10, 10, 10, 10, 10, 10, 10]),    # level 10: .2 .6 1 1
        "A2": ("2024-04", [5, 10, 20, 20, 20, 20, 20, 20, 20]),       # level 20: .25 .5 1 1
        "OLD": ("2024-01", [9] * 12),
        "G1": ("2024-02", [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),         # level 1: 1 1 1 1
    })
    return products, actuals


def test_observed_launches(launch_case):
    products, actuals = launch_case
    seen = lifecycle.observed_launches(products, actuals, cycle=CYCLE, **KW).set_index("sku")
    assert sorted(seen.index) == ["A1", "A2", "G1"]  # OLD: sold since the history's start
    assert seen.loc["A1", "launch"] == M("2024-03")
    assert seen.loc["A2", "launch"] == M("2024-04")  # first month with demand
    assert seen.loc["A1", "level"] == pytest.approx(10.0)
    assert seen.loc["A2", "curve"] == pytest.approx([0.25, 0.5, 1.0, 1.0])
    # a curve not yet complete before the cycle is not a launch to learn from
    late = lifecycle.observed_launches(products, actuals, cycle="2024-07", **KW)
    assert sorted(late["sku"]) == ["A1", "G1"]


def test_choose_analogs_rules(launch_case):
    products, actuals = launch_case
    chosen = lifecycle.choose_analogs(products, actuals, cycle=CYCLE, n_analogs=2, **KW)
    by = {sku: g for sku, g in chosen.groupby("sku")}
    # NEW: no analog given; family F by price: A2 (ln 120/110 = .087) before A1 (.095)
    assert by["NEW"]["analog_sku"].tolist() == ["A2", "A1"]
    assert set(by["NEW"]["rule"]) == {"family and price"}
    assert by["NEW"]["price_ratio"].tolist() == pytest.approx([120 / 110, 100 / 110])
    # NEW2: the given analog was sold before the history, so the rule picks and says why
    assert by["NEW2"]["analog_sku"].tolist() == ["A2", "A1"]
    assert "not in the history" in by["NEW2"]["note"].iloc[0]
    # NEW3: given analog with an observed launch is used alone
    assert by["NEW3"]["analog_sku"].tolist() == ["A1"]
    assert by["NEW3"]["rule"].tolist() == ["given"]
    # NEW4: unknown analog, no launch in family H: nearest price over all families
    assert by["NEW4"]["analog_sku"].tolist() == ["G1", "A1"]
    assert set(by["NEW4"]["rule"]) == {"price"}
    assert "not in the product master" in by["NEW4"]["note"].iloc[0]
    one = lifecycle.choose_analogs(products, actuals, cycle=CYCLE, n_analogs=1, **KW)
    assert one.loc[one["sku"] == "NEW", "analog_sku"].tolist() == ["A2"]
    with pytest.raises(ParameterError):
        lifecycle.choose_analogs(products, actuals, cycle=CYCLE, n_analogs=0)


# The ramps (months 0-1) of the launch case's three launches: A1 .2 .6 and A2 .25 .5
# (family F), G1 1 1 (family G). Pooled: (.2 + .25 + 1) / 3, (.6 + .5 + 1) / 3.
POOLED = np.array([1.45 / 3, 2.1 / 3])
# sigma2: F's two ramps around their mean (.225, .55): 2 x (.025² + .05²) over 2 degrees of
# freedom; tau2: the family means' squared distance from the pooled mean, averaged over 2
# families x 2 months, less sigma2 x mean(1/2, 1/1)
SIGMA2 = 2 * (0.025**2 + 0.05**2) / 2
TAU2 = (((0.225 - POOLED[0]) ** 2 + (0.55 - POOLED[1]) ** 2
         + (1 - POOLED[0]) ** 2 + (1 - POOLED[1]) ** 2) / 4 - SIGMA2 * 0.75)
W2 = 2 / (2 + SIGMA2 / TAU2)  # two analogs: 0.986


def test_pooled_ramp_weighs_family_ramps_by_how_much_they_differ(launch_case):
    products, actuals = launch_case
    seen = lifecycle.observed_launches(products, actuals, cycle=CYCLE, **KW)
    pooled, k = lifecycle.pooled_ramp(seen, 2)
    assert pooled == pytest.approx(POOLED)
    assert k == pytest.approx(SIGMA2 / TAU2)  # 0.0286: F and G differ far beyond the noise
    # two families whose ramps differ no more than their noise: the pooled ramp alone
    alike = pd.DataFrame({"family": ["F", "F", "G", "G"],
                          "curve": [[0.2, 0.6], [0.4, 0.4], [0.4, 0.4], [0.2, 0.6]]})
    assert lifecycle.pooled_ramp(alike, 2)[1] == np.inf
    # one family, or no family with two launches: the spread cannot be told apart from noise
    assert np.isnan(lifecycle.pooled_ramp(alike.assign(family="F"), 2)[1])
    assert np.isnan(lifecycle.pooled_ramp(alike.iloc[[0, 2]], 2)[1])
    assert lifecycle.pooled_ramp(alike.iloc[:0], 2) == (None, pytest.approx(np.nan, nan_ok=True))



def test_where_families_ramp_alike_every_launch_gets_the_mean_ramp():
    products = _products([
        ("L1", "F", "active", "2024-03", None, 100.0, 60.0, None, None),
        ("L2", "F", "active", "2024-03", None, 100.0, 60.0, None, None),
        ("L3", "G", "active", "2024-03", None, 100.0, 60.0, None, None),
        ("L4", "G", "active", "2024-03", None, 100.0, 60.0, None, None),
        ("OLD", "F", "active", None, None, 100.0, 60.0, None, None),
        ("N1", "F", "npi", "2025-02", None, 100.0, 60.0, None, 10.0),
        ("N2", "G", "npi", "2025-02", None, 100.0, 60.0, None, 10.0),
    ])
    # ramps .2 .6 and .4 .4 in both families: the families differ by nothing but noise
    actuals = _actuals({"L1": ("2024-03", [2, 6] + [10] * 8), "L2": ("2024-03", [4, 4] + [10] * 8),
                        "L3": ("2024-03", [4, 4] + [10] * 8), "L4": ("2024-03", [2, 6] + [10] * 8),
                        "OLD": ("2024-01", [9] * 12)})
    chosen = lifecycle.choose_analogs(products, actuals, cycle=CYCLE, **KW)
    curves = lifecycle.launch_curves(chosen, products, actuals, cycle=CYCLE, **KW)
    assert set(curves["weight"]) == {0.0}
    assert curves.loc[curves["sku"] == "N1", "factor"].tolist() == pytest.approx(
        [0.3, 0.5, 1.0, 1.0])
    # the analogs no longer shape the curve: one line for both products
    shared = lifecycle.shared_curves(curves)
    assert shared["curve"].unique().tolist() == ["N1, N2 (mean of all 4 launches observed)"]

def test_launch_forecast_from_averaged_analog_curves(launch_case):
    products, actuals = launch_case
    periods = month_range(M("2025-01"), 5)
    fc = lifecycle.launch_forecast(products, actuals, periods, cycle=CYCLE, n_analogs=2, **KW)
    new = fc[fc["sku"] == "NEW"].set_index("period")
    # analogs' ramp (.2+.25)/2 = .225, (.6+.5)/2 = .55, weighed W2 against the pooled ramp,
    # then 1 x launch_volume 100; launch 2025-02
    ramp = W2 * np.array([0.225, 0.55]) + (1 - W2) * POOLED
    assert new["qty_stat"].tolist() == pytest.approx([0.0, *(100 * ramp), 100.0, 100.0])
    assert new["qty_stat"].iloc[1] == pytest.approx(22.86, abs=0.01)
    assert new["month_since_launch"].tolist() == [-1, 0, 1, 2, 3]
    assert set(new["model"]) == {"npi_analog"}
    # NEW3: no launch_volume: scaled by its analog's ramped-up level (A1: 10); the analog is
    # the product master's, used as it is
    new3 = fc[fc["sku"] == "NEW3"]
    assert new3["qty_stat"].tolist() == pytest.approx([2.0, 6.0, 10.0, 10.0, 10.0])
    # analogs with history that already sold are not new products
    assert not set(fc["sku"]) & {"A1", "A2", "OLD", "G1"}


def test_launch_forecast_falls_back_to_linear_ramp():
    products = _products([("N", "F", "npi", "2025-01", None, 10.0, 5.0, None, 30.0),
                          ("M", "F", "npi", "2025-01", None, 10.0, 5.0, None, None)])
    actuals = _actuals({"X": ("2024-01", [1] * 12)})
    fc = lifecycle.launch_forecast(products, actuals, month_range(M("2025-01"), 4), cycle=CYCLE)
    assert fc["sku"].tolist() == ["N"] * 4  # M: no volume and no analog to scale by
    assert fc["qty_stat"].tolist() == pytest.approx([10.0, 20.0, 30.0, 30.0])
    assert set(fc["model"]) == {"npi_ramp"}
    chosen = lifecycle.choose_analogs(products, actuals, cycle=CYCLE)
    assert set(chosen["rule"]) == {"linear ramp"}


def test_products_with_the_same_analogs_share_one_curve(launch_case):
    products, actuals = launch_case
    chosen = lifecycle.choose_analogs(products, actuals, cycle=CYCLE, n_analogs=2, **KW)
    curves = lifecycle.launch_curves(chosen, products, actuals, cycle=CYCLE, **KW)
    assert curves.loc[curves["sku"] == "NEW", "analogs"].iloc[0] == "A2, A1"
    shared = lifecycle.shared_curves(curves)
    lines = {name: group["factor"].tolist() for name, group in shared.groupby("curve", sort=False)}
    # NEW and NEW2 both average A1 and A2, weighed against all three launches: one line
    ramp = W2 * np.array([0.225, 0.55]) + (1 - W2) * POOLED
    assert lines["NEW, NEW2 (analogs A1, A2 99%, all 3 launches observed 1%)"] == pytest.approx(
        [*ramp, 1.0, 1.0])
    assert lines["NEW3 (analog A1)"] == pytest.approx([0.2, 0.6, 1.0, 1.0])  # given: as it is
    new = curves[curves["sku"] == "NEW"]
    assert new["factor_analogs"].tolist() == pytest.approx([0.225, 0.55, 1.0, 1.0])
    assert new["weight"].iloc[0] == pytest.approx(W2) and new["n_pooled"].iloc[0] == 3
    # NEW4 (no launch in its family): G1 and A1 by price, (1+.2)/2, (1+.6)/2, weighed likewise
    ramp4 = W2 * np.array([0.6, 0.8]) + (1 - W2) * POOLED
    assert lines["NEW4 (analogs A1, G1 99%, all 3 launches observed 1%)"] == pytest.approx(
        [*ramp4, 1.0, 1.0])
    assert len(lines) == 3 and set(shared["n_skus"]) == {1, 2}
    fallback = lifecycle.launch_curves(
        pd.DataFrame({"sku": ["N", "P"], "analog_sku": [None, None]}), products, actuals,
        cycle=CYCLE, **KW)
    assert lifecycle.shared_curves(fallback, max_skus=1)["curve"].iloc[0] == (
        "N and 1 more (linear ramp)")
    assert lifecycle.shared_curves(curves.iloc[:0]).empty


@pytest.fixture
def eol_case():
    products = _products([
        ("E", "F", "eol", None, "2025-03", 10.0, 4.0, None, None),
        ("E2", "F", "eol", None, "2025-02", 10.0, 2.0, None, None),
        ("LIVE", "F", "active", None, None, 10.0, 4.0, None, None),
        ("GONE", "F", "eol", None, "2024-10", 10.0, 4.0, None, None),
    ])
    actuals = _actuals({"E": ("2024-07", [90, 90, 90, 30, 30, 30]),
                        "E2": ("2024-10", [12, 12, 12]), "LIVE": ("2024-01", [5] * 12)})
    inventory = pd.DataFrame({"sku": ["E", "E2", "E2", "LIVE"], "qty": [30.0, 60.0, 40.0, 7.0]})
    bom = pd.DataFrame({"sku": ["E", "E", "LIVE", "E2"], "component": ["C1", "C2", "C2", "C3"],
                        "qty_per": [2.0, 1.0, 1.0, 5.0]})
    components = pd.DataFrame({"component": ["C1", "C2", "C3"], "supplier": ["S1", "S2", "S3"],
                               "on_hand": [10.0, 100.0, 0.0], "lead_time_months": [2, 1, 1]})
    return products, actuals, inventory, bom, components


def test_phase_out_factors(eol_case):
    products = eol_case[0]
    factors = lifecycle.phase_out_factors(products, month_range(M("2024-12"), 5))
    e = factors[factors["sku"] == "E"]
    # eol 2025-03, 3 months of phase-out: Dec 1, Jan .75, Feb .5, Mar .25, Apr 0
    assert e["factor"].tolist() == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
    assert e["months_to_eol"].tolist() == [3, 2, 1, 0, -1]
    assert "LIVE" not in set(factors["sku"])
    sharp = lifecycle.phase_out_factors(products, month_range(M("2025-02"), 3),
                                        phase_out_months=0)
    assert sharp[sharp["sku"] == "E"]["factor"].tolist() == [1.0, 1.0, 0.0]


def test_phase_out_demand_and_run_out(eol_case):
    products, actuals, inventory, bom, components = eol_case
    demand = lifecycle.phase_out_demand(actuals, products, cycle=CYCLE, run_rate_months=3)
    e = demand[demand["sku"] == "E"]
    # run rate: Oct-Dec mean 30; x .75, .5, .25
    assert e["qty"].tolist() == pytest.approx([22.5, 15.0, 7.5])
    assert demand[demand["sku"] == "E2"]["qty"].tolist() == pytest.approx([6.0, 3.0])
    assert "GONE" not in set(demand["sku"])  # ended before the cycle
    out = lifecycle.run_out(products, inventory, demand, cycle=CYCLE).set_index("sku")
    assert list(out.index) == ["E", "E2"]
    # E: 30 on hand covers January (22.5) and half of February (7.5 of 15)
    assert out.loc["E", "qty_demand_to_eol"] == pytest.approx(45.0)
    assert out.loc["E", "months_of_stock"] == pytest.approx(1.5)
    assert out.loc["E", "runs_out"] == M("2025-02")
    assert out.loc["E", "qty_to_make"] == pytest.approx(15.0)
    assert out.loc["E", "qty_left_at_eol"] == 0.0
    # E2: 100 on hand against 9 of demand: 91 left, worth 91 x 2
    assert out.loc["E2", "months_of_stock"] == pytest.approx(2.0)
    assert pd.isna(out.loc["E2", "runs_out"])
    assert out.loc["E2", "qty_left_at_eol"] == pytest.approx(91.0)
    assert out.loc["E2", "value_left_at_eol"] == pytest.approx(182.0)
    assert out.loc["E2", "qty_to_make"] == 0.0
    with pytest.raises(ParameterError, match="no column"):
        lifecycle.run_out(products, inventory, demand, cycle=CYCLE, qty="qty_consensus")


def test_run_out_against_plan_by_hand(eol_case):
    products, actuals, inventory, _, _ = eol_case
    plan = pd.DataFrame({"sku": ["E", "E", "E", "E", "LIVE"],
                         "period": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01",
                                                   "2025-04-01", "2025-01-01"]),
                         "qty_consensus": [20.0, 20.0, 20.0, 99.0, 5.0]})
    both = lifecycle.run_out_against_plan(products, inventory, actuals, plan, cycle=CYCLE,
                                          run_rate_months=3).set_index("sku")
    assert list(both.index) == ["E", "E2"]  # the products still to phase out
    # E, review: run rate 30 faded to 22.5 + 15 + 7.5 = 45; plan: 20 a month to March (the
    # 99 in April is after end of life) = 60. 30 on hand: February runs out either way.
    e = both.loc["E"]
    assert e[["qty_demand_to_eol_review", "qty_demand_to_eol_plan", "qty_to_make_review",
              "qty_to_make_plan", "qty_difference", "difference_pct"]].tolist() == \
        pytest.approx([45.0, 60.0, 15.0, 30.0, 15.0, 1 / 3])
    assert e["runs_out_review"] == e["runs_out_plan"] == M("2025-02")
    # E2: the review expects 6 + 3, the plan nothing
    assert both.loc["E2", ["qty_demand_to_eol_plan", "qty_difference", "difference_pct"]].tolist() \
        == pytest.approx([0.0, -9.0, -1.0])


def test_last_time_buy(eol_case):
    products, actuals, inventory, bom, components = eol_case
    demand = lifecycle.phase_out_demand(actuals, products, cycle=CYCLE, run_rate_months=3)
    runout = lifecycle.run_out(products, inventory, demand, cycle=CYCLE)
    ltb = lifecycle.last_time_buy(runout, products, bom, components).set_index("component")
    # only E still needs making (15): C1 2 per unit = 30, 10 on hand -> buy 20;
    # C2 1 per unit = 15, but LIVE uses it too: purchasing goes on, no last-time buy
    assert sorted(ltb.index) == ["C1", "C2"]
    assert ltb.loc["C1", "qty_needed"] == pytest.approx(30.0)
    assert ltb.loc["C1", "qty_last_time_buy"] == pytest.approx(20.0)
    assert not ltb.loc["C1", "used_by_live"]
    assert ltb.loc["C2", "qty_needed"] == pytest.approx(15.0)
    assert ltb.loc["C2", "used_by_live"]
    assert ltb.loc["C2", "qty_last_time_buy"] == 0.0
    assert ltb.loc["C1", "used_by"] == "E"
    empty = lifecycle.last_time_buy(runout.assign(qty_to_make=0.0), products, bom, components)
    assert empty.empty and "qty_last_time_buy" in empty.columns


def test_lifecycle_impact(launch_case, eol_case):
    products = pd.concat([launch_case[0], eol_case[0]], ignore_index=True)
    actuals = pd.concat([launch_case[1], eol_case[1]], ignore_index=True)
    impact = lifecycle.lifecycle_impact(products, actuals, cycle=CYCLE, horizon=4,
                                        run_rate_months=3).set_index("period")
    # phase-out lost in January: E 30 x (1 - .75) + E2 12 x (1 - .5) = 7.5 + 6
    assert impact.loc[M("2025-01"), "qty_phase_out_lost"] == pytest.approx(13.5)
    assert impact.loc[M("2025-01"), "revenue_phase_out_lost"] == pytest.approx(135.0)
    # April: both gone: 30 + 12 lost
    assert impact.loc[M("2025-04"), "qty_phase_out_lost"] == pytest.approx(42.0)
    assert (impact["qty_net"] == impact["qty_launch"] - impact["qty_phase_out_lost"]).all()
    assert np.all(impact["qty_launch"] >= 0)


def test_demand_plan_uses_the_analog_launch_and_the_phase_out():
    from sopkit.lumpy import LumpyDemandModel

    products = _products([
        ("A", "F", "active", "2023-03", None, 10.0, 5.0, None, None),
        ("E", "F", "eol", None, "2025-02", 10.0, 5.0, None, None),
        ("NEW", "F", "npi", "2025-02", None, 11.0, 5.0, "A", 50.0),
    ])
    # A's launch: .2 .4 .6 .8 1 1.2 of its ramped-up level 10 (mean of months 7-12)
    actuals = _actuals({"A": ("2023-03", [2, 4, 6, 8, 10, 12] + [10] * 16),
                        "E": ("2023-01", [40] * 24)})
    periods = month_range(M("2025-01"), 4)
    forecast = pd.DataFrame({
        "sku": pd.array(["A"] * 4 + ["E"] * 4, dtype="string"), "period": list(periods) * 2,
        "qty_forecast": [10.0] * 4 + [40.0] * 4, "qty_q10": [5.0] * 4 + [20.0] * 4,
        "qty_q90": [15.0] * 4 + [60.0] * 4, "model": "ses", "demand_class": "smooth"})
    by_hand_new = [0.0, 10.0, 20.0, 30.0]  # 50 × (0, .2, .4, .6), launch in February
    by_hand_e = [40 * 0.5, 40 * 0.25, 0.0, 0.0]  # eol 2025-02: fade .5, .25, then nothing
    model = LumpyDemandModel().fit(actuals, None, cycle=CYCLE, products=products)
    plan = model.predict(forecast, products=products)
    new = plan[plan["sku"] == "NEW"]
    assert new["qty_consensus"].tolist() == pytest.approx(by_hand_new)
    assert set(new["model"]) == {"npi_analog"}
    e = plan[plan["sku"] == "E"]
    assert e["qty_consensus"].tolist() == pytest.approx(by_hand_e)
    assert e["qty_q90"].tolist() == pytest.approx([30.0, 15.0, 0.0, 0.0])
    assert plan.loc[plan["sku"] == "A", "qty_consensus"].tolist() == pytest.approx([10.0] * 4)


def test_sporadic_first_orders_and_erratic_analogs_are_not_launch_curves():
    products = _products([
        ("SPOR", "F", "active", None, None, 100.0, 60.0, None, None),
        ("BASE", "G", "active", None, None, 100.0, 60.0, None, None),
        ("NOISY", "F", "active", "2024-02", None, 100.0, 60.0, None, None),
        ("NEW", "F", "npi", "2025-02", None, 100.0, 60.0, None, 10.0),
        ("NEW2", "F", "npi", "2025-02", None, 100.0, 60.0, "NOISY", 10.0),
    ])
    actuals = _actuals({
        # first order in 2024-03, then orders in 2 of the next 3 months: not a launch
        "SPOR": ("2024-03", [5, 0, 7, 0, 6, 0, 5, 0, 4, 0]),
        # a launch, but its plateau (months 3-4) swings 0, 20: cv 1
        "NOISY": ("2024-02", [1, 2, 0, 20, 0, 20, 0, 20, 0, 20, 0]),
        "BASE": ("2024-01", [9] * 12),  # the history starts in 2024-01
    })
    seen = lifecycle.observed_launches(products, actuals, cycle=CYCLE, **KW).set_index("sku")
    assert list(seen.index) == ["NOISY"]
    assert seen.loc["NOISY", "plateau_cv"] == pytest.approx(1.0)
    chosen = lifecycle.choose_analogs(products, actuals, cycle=CYCLE, **KW).set_index("sku")
    # chosen by the rule: too erratic to tell a launch curve, so the linear ramp
    assert chosen.loc["NEW", "rule"] == "linear ramp"
    # named by the product master: used as given
    assert chosen.loc["NEW2", "analog_sku"] == "NOISY" and chosen.loc["NEW2", "rule"] == "given"
    relaxed = lifecycle.choose_analogs(products, actuals, cycle=CYCLE, max_cv=1.0, **KW)
    assert relaxed.set_index("sku").loc["NEW", "analog_sku"] == "NOISY"


def test_a_launch_in_progress_follows_its_curve_scaled_by_what_it_sold(launch_case):
    from sopkit.lumpy import LumpyDemandModel

    products, actuals = launch_case
    # RAMP launched in December (the month before the cycle) and sold 30; its planner
    # expected 100 a month. BARE launched then too, without a launch volume.
    products = pd.concat([products, _products([
        ("RAMP", "F", "npi", "2024-12", None, 110.0, 60.0, None, 100.0),
        ("BARE", "F", "npi", "2024-12", None, 110.0, 60.0, None, None)])], ignore_index=True)
    actuals = pd.concat([actuals, _actuals({"RAMP": ("2024-12", [30]),
                                            "BARE": ("2024-12", [30])})], ignore_index=True)
    periods = month_range(M("2025-01"), 3)
    fc = lifecycle.launch_forecast(products, actuals, periods, cycle=CYCLE, n_analogs=2, **KW)
    ramp = fc[fc["sku"] == "RAMP"]
    # its curve: the analogs' ramp weighed against all launches (as NEW's); the volume the
    # planner's 100 (weight 1 month) updated by 30 sold in a month worth factor[0]
    factor = W2 * np.array([0.225, 0.55]) + (1 - W2) * POOLED
    volume = (100 + 30) / (1 + factor[0])
    assert ramp["volume"].iloc[0] == pytest.approx(volume)  # 105.8
    assert ramp["qty_stat"].tolist() == pytest.approx([volume * factor[1], volume, volume])
    assert ramp["launched"].all() and ramp["month_since_launch"].tolist() == [1, 2, 3]
    # one month sold and no launch volume: too little to scale a curve by; statistics stay
    assert "BARE" not in set(fc["sku"])
    # the demand plan takes the curve over the statistics' flat 30
    forecast = pd.DataFrame({
        "sku": pd.array(["RAMP"] * 3, dtype="string"), "period": periods,
        "qty_forecast": [30.0] * 3, "qty_q10": [10.0] * 3, "qty_q90": [50.0] * 3,
        "model": "history_mean", "demand_class": "new"})
    model = LumpyDemandModel().fit(actuals, None, cycle=CYCLE, products=products)
    plan = model.predict(forecast, products=products)
    mine = plan[plan["sku"] == "RAMP"]
    expected = lifecycle.launch_forecast(products, actuals, periods, cycle=CYCLE)  # 12-month
    expected = expected[expected["sku"] == "RAMP"]["qty_stat"].tolist()           # curves
    assert mine["qty_consensus"].tolist() == pytest.approx(expected)
    assert mine["qty_consensus"].iloc[1] > 30.0  # not the statistics' flat 30
    # (no launch in this short history covers 12 months: the linear ramp)
    assert set(mine["model"]) == {"npi_ramp"}


def test_recent_run_rate_three_months_when_each_sold_else_six():
    actuals = _actuals({
        "DOWN": ("2024-07", [100, 90, 80, 60, 40, 20]),  # Oct-Dec all sold: (60+40+20)/3
        "LUMPY": ("2024-07", [0, 30, 0, 0, 30, 0]),  # December had none: 60 / 6
        "LATE": ("2024-11", [50, 50]),  # October has no row: it counts as 0, so 100 / 6
    })
    rate = lifecycle.recent_run_rate(actuals, CYCLE)
    assert rate.to_dict() == pytest.approx({"DOWN": 40.0, "LUMPY": 10.0, "LATE": 100 / 6})
    with pytest.raises(ParameterError, match="recent_months must be between 1 and"):
        lifecycle.recent_run_rate(actuals, CYCLE, recent_months=7)


def test_a_phase_out_is_planned_at_most_at_its_recent_run_rate():
    from sopkit.lumpy import LumpyDemandModel

    # E and LIVE sold the same run-down; the model levels it at 80 a month. E ends in
    # 2025-06: its statistics are capped at its run rate 40 (factor 0.5), then faded
    # (eol June: Jan-Mar 1, April .75); LIVE keeps its forecast.
    products = _products([
        ("E", "F", "eol", None, "2025-06", 10.0, 5.0, None, None),
        ("LIVE", "F", "active", None, None, 10.0, 5.0, None, None),
        ("UP", "F", "eol", None, "2025-06", 10.0, 5.0, None, None),
    ])
    down = [100, 90, 80, 60, 40, 20]
    actuals = _actuals({"E": ("2024-07", down), "LIVE": ("2024-07", down),
                        "UP": ("2024-07", [10] * 6)})
    periods = month_range(M("2025-01"), 4)
    forecast = pd.DataFrame({
        "sku": pd.array(["E"] * 4 + ["LIVE"] * 4 + ["UP"] * 4, dtype="string"),
        "period": list(periods) * 3, "qty_forecast": [80.0] * 8 + [8.0] * 4,
        "qty_q90": [120.0] * 8 + [12.0] * 4, "model": "sba", "demand_class": "smooth"})
    model = LumpyDemandModel().fit(actuals, None, cycle=CYCLE, products=products)
    plan = model.predict(forecast, products=products).set_index(["sku", "period"])
    assert plan.loc["E", "qty_consensus"].tolist() == pytest.approx([40.0, 40.0, 40.0, 30.0])
    assert plan.loc["E", "qty_q90"].tolist() == pytest.approx([60.0, 60.0, 60.0, 45.0])
    assert plan.loc["LIVE", "qty_consensus"].tolist() == pytest.approx([80.0] * 4)
    # a phase-out forecast below its run rate (10) is not raised
    assert plan.loc["UP", "qty_consensus"].tolist() == pytest.approx([8.0, 8.0, 8.0, 6.0])


def test_run_out_against_plan_shows_the_run_rate_and_last_month(eol_case):
    products, actuals, inventory, _, _ = eol_case
    plan = pd.DataFrame({"sku": ["E"], "period": [M("2025-01-01")], "qty_consensus": [20.0]})
    both = lifecycle.run_out_against_plan(products, inventory, actuals, plan,
                                          cycle=CYCLE).set_index("sku")
    # E: Oct-Dec 30 each; E2: Oct-Dec 12 each
    assert both[["run_rate", "qty_last_month"]].to_dict("index") == {
        "E": {"run_rate": 30.0, "qty_last_month": 30.0},
        "E2": {"run_rate": 12.0, "qty_last_month": 12.0}}
