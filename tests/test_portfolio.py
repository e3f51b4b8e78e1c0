"""Portfolio: ABC/XYZ, the lifecycle calendar and slow movers, by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sopkit.errors import ParameterError
from sopkit.portfolio import (
    abc_xyz,
    lifecycle_calendar,
    pareto,
    plot_pareto,
    rationalisation,
    slow_movers,
)


def months(*texts):
    return [pd.Timestamp(t + "-01") for t in texts]


def frame(**columns) -> pd.DataFrame:
    out = pd.DataFrame(columns)
    for key in ("sku", "family", "lifecycle_status"):
        if key in out.columns:
            out[key] = out[key].astype("string")
    return out


@pytest.fixture
def products() -> pd.DataFrame:
    return frame(
        sku=["A", "B", "C", "D"], family=["F1", "F1", "F2", "F2"],
        lifecycle_status=["active", "active", "eol", "npi"],
        price=[20.0, 5.0, 2.0, 100.0], unit_cost=[6.0, 1.0, 3.0, 50.0],
    )


@pytest.fixture
def actuals() -> pd.DataFrame:
    rows = [("A", p, 10.0) for p in ("2026-09", "2026-10", "2026-11", "2026-12")]
    rows += [("A", "2026-08", 1000.0)]  # before the 4-month window: ignored
    rows += [("B", "2026-10", 30.0), ("B", "2026-12", 10.0)]
    rows += [("C", "2026-09", 100.0), ("C", "2026-12", 5.0)]
    sku, period, qty = zip(*rows, strict=True)
    return frame(sku=list(sku), period=months(*period), qty=list(qty))


def test_abc_xyz_by_hand(actuals, products):
    classes = abc_xyz(actuals, products, end="2026-12", months=4).set_index("sku")
    # revenue: A 40 × 20 = 800, C 105 × 2 = 210, B 40 × 5 = 200, D 0; total 1210
    assert list(classes.index) == ["A", "C", "B", "D"]
    assert classes.loc["A", "revenue_12m"] == 800.0
    assert classes.loc["C", "margin_12m"] == -105.0  # 105 × (2 − 3)
    assert classes.loc["C", "cum_revenue_share"] == pytest.approx(1010 / 1210)
    # shares ranked above: A 0 -> A; C 0.661 -> A; B 0.835 -> B; D has none -> C
    assert classes["abc"].tolist() == ["A", "A", "B", "C"]
    # margin: A 560, B 160 of 720 positive; B starts at 0.778 < 0.8 -> A; C negative -> C
    assert classes.loc["B", "abc_margin"] == "A"
    assert classes.loc["C", "abc_margin"] == "C"
    # A: 10,10,10,10 -> cv 0; B from its first month: 30,0,10 -> sqrt(1400)/40 = 0.935
    # C: 100,0,0,5 -> sqrt(29075)/105 = 1.624; D: no demand
    assert classes.loc["A", "cv"] == 0.0
    assert classes.loc["B", "cv"] == pytest.approx(math.sqrt(1400) / 40)
    assert classes.loc["C", "cv"] == pytest.approx(math.sqrt(29075) / 105)
    assert np.isnan(classes.loc["D", "cv"])
    assert classes["xyz"].tolist() == ["X", "Z", "Y", "Z"]
    assert classes.loc["D", "lifecycle_status"] == "npi"


def test_abc_xyz_rejects_bad_parameters(actuals, products):
    with pytest.raises(ParameterError, match="a_share"):
        abc_xyz(actuals, products, end="2026-12", a_share=0.96, b_share=0.95)
    with pytest.raises(ParameterError, match="end"):
        abc_xyz(actuals, products, end="December")


def test_pareto_curve_and_plot(actuals, products):
    curve = pareto(abc_xyz(actuals, products, end="2026-12", months=4))
    assert curve["rank"].tolist() == [1, 2, 3, 4]
    assert curve["sku_share"].tolist() == [0.25, 0.5, 0.75, 1.0]
    assert curve["cum_share"].iloc[0] == pytest.approx(800 / 1210)
    assert curve["cum_share"].iloc[-1] == pytest.approx(1.0)
    fig = plot_pareto(curve)
    assert fig.axes and fig.axes[0].get_xlabel().startswith("% of SKUs")


def test_lifecycle_calendar():
    products = frame(
        sku=["N1", "N2", "E1", "E2", "L"], family=["F"] * 5,
        lifecycle_status=["npi", "npi", "eol", "eol", "active"],
        launch_period=months("2027-03", "2026-10") + [pd.NaT, pd.NaT] + months("2026-12"),
        eol_period=[pd.NaT, pd.NaT] + months("2027-06", "2027-07", "2027-05"),
    )
    calendar = lifecycle_calendar(products, cycle="2027-01", horizon=6, lookback=2)
    # window 2026-11 .. 2027-06: N2 (2026-10) and E2 (2027-07) fall outside
    got = list(zip(calendar["sku"], calendar["event"], calendar["months_from_cycle"],
                   strict=True))
    assert got == [("L", "launch", -1), ("N1", "launch", 2), ("L", "end of life", 4),
                   ("E1", "end of life", 5)]
    assert calendar["period"].iloc[1] == pd.Timestamp("2027-03-01")


def test_lifecycle_calendar_without_month_columns():
    products = frame(sku=["A"], family=["F"], lifecycle_status=["active"])
    calendar = lifecycle_calendar(products, cycle="2027-01")
    assert calendar.empty
    assert "months_from_cycle" in calendar.columns


@pytest.fixture
def stock_case():
    products = frame(
        sku=["S1", "S2", "P", "Q"], family=["F"] * 4,
        lifecycle_status=["active", "eol", "active", "active"],
        price=[20.0, 10.0, 4.0, 1.0], unit_cost=[10.0, 5.0, 2.0, 1.0],
        shelf_life_months=pd.array([None, None, 6, None], dtype="Int64"),
    )
    history = months("2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12")
    actuals = pd.concat([
        frame(sku=["S1"] * 6, period=history, qty=[10.0] * 6),
        frame(sku=["P"] * 6, period=history, qty=[10.0] * 6),
        frame(sku=["S2"], period=months("2026-01"), qty=[50.0]),  # outside the 6 months
    ], ignore_index=True)
    inventory = frame(
        sku=["S1", "S2", "P", "P", "P", "P"],
        qty=[150.0, 20.0, 30.0, 40.0, 5.0, 5.0],
        produced_period=[pd.NaT, pd.NaT] + months("2026-08", "2026-12", "2026-05") + [pd.NaT],
    )
    return actuals, inventory, products


def test_slow_movers_by_hand(stock_case):
    actuals, inventory, products = stock_case
    slow = slow_movers(actuals, inventory, products, end="2026-12", months=6).set_index("sku")
    assert "Q" not in slow.index  # no stock
    assert slow.loc["S1", "months_of_supply"] == 15.0  # 150 / (60 / 6)
    assert bool(slow.loc["S1", "slow_mover"]) and not bool(slow.loc["S1", "dead_stock"])
    assert slow.loc["S2", "months_of_supply"] == np.inf
    assert bool(slow.loc["S2", "dead_stock"])
    assert slow.loc["S2", "inventory_value"] == 100.0  # 20 × 5
    # P sells 10 a month from the cycle 2027-01, first-expiring first:
    #   lot made 2026-05 (+6 -> expired 2026-11): 5 at risk
    #   lot made 2026-08 expires 2027-02, sellable 1 month -> 10 of 30 sold, 20 at risk
    #   lot made 2026-12 expires 2027-06, 5 months -> 50 − 10 = 40 sellable, all 40 sold
    assert slow.loc["P", "qty_on_hand"] == 80.0
    assert slow.loc["P", "months_of_supply"] == 8.0
    assert not bool(slow.loc["P", "slow_mover"])
    assert slow.loc["P", "qty_expiring"] == 75.0  # lot without a date is not examined
    assert slow.loc["P", "qty_at_risk"] == 25.0
    assert slow.loc["P", "value_at_risk"] == 50.0  # 25 × 2
    assert slow.index[0] == "P"  # largest value at risk first
    assert slow.loc["S1", "value_at_risk"] == 0.0


def test_slow_movers_expiry_window(stock_case):
    actuals, inventory, products = stock_case
    slow = slow_movers(actuals, inventory, products, end="2026-12", expiry_months=3)
    p = slow.set_index("sku").loc["P"]
    assert p["qty_expiring"] == 35.0  # the 2027-06 lot is beyond 3 months
    assert p["qty_at_risk"] == 25.0


def test_rationalisation_reasons():
    products = frame(
        sku=["BIG", "R1", "R2", "R3", "R4", "R5", "R6", "OLD", "NEW", "LATER"],
        family=["F", "F", "F", "G", "G", "G", "F", "F", "G", "G"],
        lifecycle_status=["active"] * 7 + ["eol", "npi", "npi"],
        price=[50.0, 10.0, 10.0, 90.0, 100.0, 200.0, 5.0, 1.0, 110.0, 100.0],
        launch_period=[pd.NaT] * 8 + months("2027-03", "2029-01"),
        analog_sku=[None] * 8 + ["R3", "R4"],
    )
    classes = frame(
        sku=["BIG", "R1", "R2", "R3", "R4", "R5", "R6", "OLD", "NEW", "LATER"],
        family=["F", "F", "F", "G", "G", "G", "F", "F", "G", "G"],
        abc=["A", "C", "C", "A", "C", "C", "C", "C", "C", "C"],
        abc_margin=["A", "C", "C", "A", "C", "C", "B", "C", "C", "C"],
        xyz=["X", "Z", "X", "X", "Y", "Z", "Y", "Z", "Z", "Z"],
        cv=[0.1, 1.5, 0.2, 0.3, 0.8, np.nan, 0.9, 2.0, np.nan, np.nan],
        revenue_12m=[1e5, 500.0, 400.0, 9e4, 800.0, 0.0, 300.0, 10.0, 0.0, 0.0],
        margin_12m=[4e4, 50.0, -80.0, 3e4, 100.0, 0.0, 90.0, 1.0, 0.0, 0.0],
    )
    stock = frame(sku=["R5", "R6", "BIG"], inventory_value=[700.0, 50.0, 10.0],
                  dead_stock=[True, False, False], slow_mover=[True, True, False],
                  months_of_supply=[np.inf, 20.0, 1.0], value_at_risk=[0.0, 12.0, 0.0],
                  qty_at_risk=[0.0, 3.0, 0.0])
    out = rationalisation(classes, products, cycle="2027-01", stock=stock, horizon=18)
    table = out.set_index("sku")
    # BIG: nothing wrong; OLD (eol), NEW and LATER (npi) are not regular products; R3 (class
    # A) is only the analog NEW's launch curve follows: no reason
    assert sorted(table.index) == ["R1", "R2", "R4", "R5", "R6"]
    assert table.loc["R1", "reasons"] == ("low margin and high variability (revenue and "
                                          "margin class C, cv 1.50)")
    assert "sold below cost" in table.loc["R2", "reasons"]
    # R4: class C, same family as NEW, price 100 vs 110 (9 %): a question, not a finding;
    # that LATER names it as analog adds nothing (LATER launches after the horizon anyway,
    # 2027-01 + 17 months = 2028-06)
    assert table.loc["R4", "reasons"] == ("may lose sales to NEW, launching in 2027-03 "
                                          "(class C, same family, price within 10%)")
    assert "cannibalised" not in " ".join(out["reasons"])
    # R5: margin C and Z without demand, and dead stock; price 200 is not near 110
    assert table.loc["R5", "reasons"] == ("no demand in the window (revenue and margin class "
                                          "C); dead stock: no demand in the window, 700 of "
                                          "stock")
    # R6: slow mover of class C and 3 units expiring unsold
    assert table.loc["R6", "n_reasons"] == 2
    assert "slow mover of class C: 20 months" in table.loc["R6", "reasons"]
    assert table.loc["R5", "inventory_value"] == 700.0
    # findings first, by money at stake = |margin| + stock: R5 0 + 700, R6 90 + 50, R2 |-80|,
    # R1 50; then R4's question (100 at stake)
    assert out["sku"].tolist() == ["R5", "R6", "R2", "R1", "R4"]
    assert out["value_at_stake"].tolist() == [700.0, 140.0, 80.0, 50.0, 100.0]
    with pytest.raises(ParameterError):
        rationalisation(classes, products, cycle="2027-01", price_band=-1)
    clean = rationalisation(classes[classes["sku"] == "BIG"], products, cycle="2027-01")
    assert clean.empty and "reasons" in clean.columns
    # sales still quote R1 (two lines open in the latest snapshot on or before the cycle),
    # not R2 (a line won: closed, not open); the older snapshot and the one after the
    # cycle do not count
    pipeline = pd.DataFrame({
        "snapshot": pd.to_datetime(["2026-11-01", "2027-01-01", "2027-01-01", "2027-01-01",
                                    "2027-02-01"]),
        "deal_id": ["D0", "D1", "D2", "D3", "D4"], "sku": ["R5", "R1", "R1", "R2", "R6"],
        "period": pd.to_datetime(["2027-01-01", "2027-02-01", "2027-04-01", "2027-02-01",
                                  "2027-03-01"]),
        "qty": [9.0, 4.0, 4.0, 3.0, 5.0], "probability": [0.9, 0.5, 0.75, 0.9, 0.9],
        "outcome": [None, None, None, "won", None]})
    quoted = rationalisation(classes, products, cycle="2027-01", stock=stock,
                             pipeline=pipeline).set_index("sku")["open_deals"]
    assert quoted["R1"] == "2 open deals, 8 units in 2027-02 to 2027-04, stated 50%-75%"
    assert (quoted.drop("R1") == "").all()
    assert "open_deals" in rationalisation(classes[classes["sku"] == "BIG"], products,
                                           cycle="2027-01", pipeline=pipeline).columns


def test_a_launch_analog_is_not_a_rationalisation_reason():
    # the sample's case: a class-A pump named as analog of a launch in another range
    # (different price) is not "cannibalised"; a class-C analog in the launch's family at a
    # similar price gets the same question as any SKU there, once
    products = frame(
        sku=["PUMP", "SMALL", "NEW1", "NEW2"], family=["P", "P", "P", "P"],
        lifecycle_status=["active", "active", "npi", "npi"],
        price=[3000.0, 105.0, 100.0, 2000.0],
        launch_period=[pd.NaT, pd.NaT, *months("2027-02", "2027-03")],
        analog_sku=[None, None, "SMALL", "PUMP"])
    classes = frame(
        sku=["PUMP", "SMALL", "NEW1", "NEW2"], family=["P"] * 4, abc=["A", "C", "C", "C"],
        abc_margin=["A", "C", "C", "C"], xyz=["X", "X", "Z", "Z"], cv=[0.2, 0.4, np.nan, np.nan],
        revenue_12m=[3.2e6, 2100.0, 0.0, 0.0], margin_12m=[7.4e5, 300.0, 0.0, 0.0])
    out = rationalisation(classes, products, cycle="2027-01", horizon=12)
    # SMALL: 105 / 100 - 1 = 5 % <= 10 %; PUMP: no reason at all
    assert out["sku"].tolist() == ["SMALL"]
    assert out["reasons"].tolist() == ["may lose sales to NEW1, launching in 2027-02 (class C, "
                                       "same family, price within 10%)"]
    assert out["value_at_stake"].tolist() == [300.0]
