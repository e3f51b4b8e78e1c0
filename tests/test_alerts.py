"""Demand alerts on small hand-made series."""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit import alerts
from sopkit.errors import ParameterError

M = pd.date_range("2025-01-01", periods=12, freq="MS")


def frame(sku, values, months=M):
    out = pd.DataFrame({"sku": sku, "period": months[:len(values)], "qty": values})
    out["sku"] = out["sku"].astype("string")
    return out


def test_history_outlier_by_robust_score():
    # A: 10, 11, 9, 10, 12, 8, 10, 60 -> median of the 8 values = 10,
    # |dev| = 0,1,1,0,2,2,0,50 -> MAD = 1, scale 1.4826; 60 scores 50/1.4826 = 33.7
    actuals = pd.concat([frame("A", [10, 11, 9, 10, 12, 8, 10, 60]),
                         frame("B", [5, 5, 5, 5, 5, 5, 5, 5])])  # MAD 0: skipped
    found = alerts.history_outliers(actuals, end=M[7], threshold=5.0)
    assert found[["sku", "qty"]].values.tolist() == [["A", 60]]
    assert found["score"].iloc[0] == pytest.approx(50 / 1.4826)
    assert alerts.history_outliers(actuals, end=M[7], threshold=40.0).empty


def test_changes_vs_last_cycle_over_common_months():
    plan = pd.DataFrame({"sku": ["A", "A", "B", "B"], "period": [M[1], M[2], M[1], M[2]],
                         "qty_consensus": [10.0, 10.0, 5.0, 5.0]})
    previous = pd.DataFrame({"sku": ["A", "A", "B"], "period": [M[0], M[1], M[1]],
                             "qty_consensus": [99.0, 4.0, 5.0]})
    # common month: M[1] only. A: 4 -> 10 (+6, +150 %); B: 5 -> 5 (no change, dropped)
    changes = alerts.changes_vs_last_cycle(plan, previous)
    assert changes.to_dict("records") == [{"sku": "A", "qty_previous": 4.0, "qty_now": 10.0,
                                           "change": 6.0, "change_pct": 1.5}]


def test_worse_than_naive():
    archive = pd.DataFrame({
        "snapshot": M[:3], "sku": ["A"] * 3, "period": M[:3], "lag": [1, 1, 1],
        "qty_naive": [10.0, 10.0, 10.0], "qty_stat": [20.0, 20.0, 20.0],
        "qty_consensus": [0.0] * 3})
    archive["sku"] = archive["sku"].astype("string")
    actuals = frame("A", [10.0, 12.0, 8.0])
    # naive MAE (0 + 2 + 2) / 3 = 4/3; stat MAE (10 + 8 + 12) / 3 = 10; excess 26/3
    worse = alerts.worse_than_naive(archive, actuals, lag=1)
    assert worse["sku"].tolist() == ["A"]
    assert worse["excess"].iloc[0] == pytest.approx(10 - 4 / 3)
    assert alerts.worse_than_naive(archive.assign(qty_stat=10.0), actuals).empty


def test_sku_view_joins_history_and_plan():
    plan = pd.DataFrame({"sku": ["A"], "period": [M[3]], "qty_stat": [4.0],
                         "qty_consensus": [5.0], "qty_q10": [1.0], "qty_q90": [9.0]})
    view = alerts.sku_view(frame("A", [1.0, 2.0, 3.0]), plan, "A")
    assert view["qty_actual"].tolist()[:3] == [1.0, 2.0, 3.0]
    assert view["qty_consensus"].iloc[3] == 5.0 and pd.isna(view["qty_actual"].iloc[3])


def test_default_focus_sku_is_the_largest_revenue():
    plan = pd.DataFrame({"sku": ["A", "A", "B"], "period": [M[0], M[1], M[0]],
                         "qty_consensus": [10.0, 10.0, 3.0]})
    products = pd.DataFrame({"sku": ["A", "B"], "price": [1.0, 100.0]})
    assert alerts.default_focus_sku(plan, products) == "B"  # 300 > 20


def test_outsized_deals_against_the_largest_month():
    # A sold 30 at most in a month (Jan-Dec 2025: 12-month total 60); a 90 line is 3× that,
    # a 50 line 1.67×. B sold nothing in the window (only in 2022): its line is listed, ∞.
    actuals = pd.concat([frame("A", [0, 10, 30, 0, 20]),
                         frame("B", [40], months=pd.DatetimeIndex(["2022-06-01"]))])
    deals = pd.DataFrame({
        "deal_id": ["D1", "D2", "D3", "D4"], "sku": pd.array(["A", "A", "B", "A"], "string"),
        "owner": "Ann", "period": pd.Timestamp("2026-03-01"), "qty": [90.0, 50.0, 5.0, 60.0],
        "probability": 0.5, "probability_calibrated": 0.4,
        "qty_expected": [20.0, 15.0, 2.0, 24.0]})
    found = alerts.outsized_deals(deals, actuals, end=M[-1], months=24, ratio=2.0)
    assert found["deal_id"].tolist() == ["D4", "D1", "D3"]  # largest qty into the plan first
    assert found["times_max_month"].tolist() == [2.0, 3.0, float("inf")]
    assert found.loc[1, ["qty_max_month", "qty_last_12m"]].tolist() == [30.0, 60.0]
    assert found.loc[2, ["qty_max_month", "qty_last_12m"]].tolist() == [0.0, 0.0]
    # a shorter window that ends before A's 30: its largest month is 10, D2 is 5× it
    early = alerts.outsized_deals(deals, actuals, end=M[1], months=24, ratio=2.0)
    assert set(early["deal_id"]) == {"D1", "D2", "D3", "D4"}
    assert early.set_index("deal_id").loc["D2", "times_max_month"] == 5.0
    assert alerts.outsized_deals(deals.iloc[:0], actuals, end=M[-1]).empty


def test_planned_at_zero_lists_skus_that_sold_lately():
    months = pd.date_range("2026-11-01", periods=4, freq="MS")
    plan = pd.DataFrame({
        "sku": ["A"] * 4 + ["B"] * 4 + ["C"] * 4 + ["D"] * 4 + ["E"] * 4,
        "period": list(months) * 5,
        # A: zero for three months, then 9 (outside the window); E: 0.2 + 0.2 + 0.2 = 0.6
        "qty_consensus": [0, 0, 0, 9] + [0] * 4 + [5] * 4 + [0] * 4 + [0.2] * 4,
        "qty_q90": [3, 4, 2, 9] + [0] * 4 + [8] * 4 + [1] * 4 + [1] * 4,
        "model": ["zero"] * 4 + ["eol"] * 4 + ["ses"] * 4 + ["zero"] * 4 + ["ma3"] * 4,
    })
    actuals = pd.DataFrame({
        "sku": ["A", "A", "A", "B", "C", "D", "E"],
        "period": pd.to_datetime(["2025-10-01", "2026-02-01", "2026-06-01", "2026-09-01",
                                  "2026-10-01", "2025-10-01", "2026-10-01"]),
        "qty": [50.0, 7.0, 5.0, 40.0, 6.0, 30.0, 2.0],
    })
    out = alerts.planned_at_zero(plan, actuals, end="2026-10-01")
    # A: 7 + 5 in the twelve months 2025-11 … 2026-10 (2025-10 is outside); B is
    # discontinued, C is planned, D last sold 13 months ago, E plans 0.6 >= 0.5
    assert out["sku"].tolist() == ["A"]
    row = out.iloc[0]
    assert row["qty_last_12m"] == 12.0 and row["months_with_demand"] == 2
    assert row["last_demand"] == pd.Timestamp("2026-06-01")
    assert row["qty_plan"] == 0.0 and row["qty_q90_max"] == 4.0 and row["model"] == "zero"
    with_e = alerts.planned_at_zero(plan, actuals, end="2026-10-01", below=1.0)
    assert with_e["sku"].tolist() == ["A", "E"]
    # with prices, what the demand was worth ranks them: E's 2 units at 1,000 (2,000)
    # before A's 12 at 100 (1,200)
    priced = alerts.planned_at_zero(plan, actuals, end="2026-10-01", below=1.0,
                                    products=pd.DataFrame({"sku": ["A", "E"],
                                                           "price": [100.0, 1000.0]}))
    assert priced["sku"].tolist() == ["E", "A"]
    assert priced["revenue_last_12m"].tolist() == [2000.0, 1200.0]
    with pytest.raises(ParameterError):
        alerts.planned_at_zero(plan, actuals, end="2026-10-01", months=0)


def _pipeline(rows):
    out = pd.DataFrame(rows, columns=["snapshot", "deal_id", "sku", "period", "qty",
                                      "probability", "owner", "outcome"])
    out["snapshot"] = pd.to_datetime(out["snapshot"])
    out["period"] = pd.to_datetime(out["period"])
    return out


def test_pipeline_changes_deal_by_deal():
    pipeline = _pipeline([
        # September: four open deals, one already closed (not open then: not compared)
        ("2025-09", "D1", "A", "2025-10", 100.0, 0.8, "Ann", None),
        ("2025-09", "D2", "A", "2025-11", 50.0, 0.5, "Bo", None),
        ("2025-09", "D3", "B", "2025-10", 20.0, 0.9, "Bo", None),
        ("2025-09", "D4", "B", "2025-12", 10.0, 0.5, "Ann", None),
        ("2025-09", "D0", "B", "2025-09", 5.0, 1.0, "Ann", "won"),
        # October: D1 gone without an outcome, D2 slipped two months and re-rated, D3 won,
        # D4 as it was, D5 new; a snapshot after the cycle is not read
        ("2025-10", "D2", "A", "2026-01", 50.0, 0.3, "Bo", None),
        ("2025-10", "D3", "B", "2025-10", 20.0, 0.9, "Bo", "won"),
        ("2025-10", "D4", "B", "2025-12", 10.0, 0.5, "Ann", None),
        ("2025-10", "D5", "A", "2026-02", 40.0, 0.25, "Cy", None),
        ("2025-12", "D9", "A", "2026-02", 999.0, 1.0, "Cy", None),
    ])
    changes = alerts.pipeline_changes(pipeline, cycle="2025-11")
    # expected units: D1 80 -> 0, D3 18 -> 0 (closed), D2 25 -> 15, D5 0 -> 10; D4 unchanged
    assert changes[["deal_id", "change", "expected_change"]].values.tolist() == [
        ["D1", "came due (its month closed), no outcome recorded", -80.0],
        ["D3", "won", -18.0],
        ["D2", "slipped 2 month(s), probability 50% → 30%", -10.0],
        ["D5", "new", 10.0]]
    assert changes.loc[0, "owner"] == "Ann"
    # D1 was for October, closed by the October snapshot; with the actuals, what A sold then
    sold = alerts.pipeline_changes(pipeline, cycle="2025-11", actuals=pd.DataFrame(
        {"sku": ["A"], "period": pd.to_datetime(["2025-10-01"]), "qty": [95.0]}))
    assert sold.loc[0, "change"] == ("came due (its month closed), no outcome recorded; A sold "
                                     "95 in 2025-10")
    # moved to November, D1 would have left the pipeline before its month: dropped
    later = pipeline.assign(period=pipeline["period"].where(pipeline["deal_id"] != "D1",
                                                            pd.Timestamp("2025-11-01")))
    assert alerts.pipeline_changes(later, cycle="2025-11").loc[0, "change"] == \
        "dropped, no outcome recorded"
    assert alerts.pipeline_changes(pipeline[pipeline["snapshot"] < "2025-10-01"],
                                   cycle="2025-11").empty


def test_changes_vs_last_cycle_say_which_layer_moved_the_plan():
    # A: statistics 10 -> 8 a month, a deal worth 6 a month dropped: 16 -> 8 over the month
    plan = pd.DataFrame({"sku": ["A"], "period": [M[1]], "qty_stat": [8.0],
                         "qty_stat_unannounced": [8.0], "qty_pipeline": [0.0],
                         "qty_adjustment": [0.0], "qty_consensus": [8.0]})
    previous = pd.DataFrame({"sku": ["A"], "period": [M[1]], "qty_stat": [10.0],
                             "qty_with_pipeline": [16.0], "qty_with_adjustments": [16.0],
                             "qty_consensus": [16.0]})
    deals = pd.DataFrame({"deal_id": ["D1"], "sku": ["A"], "change": ["dropped, no outcome "
                                                                      "recorded"],
                          "expected_change": [-6.0]})
    row = alerts.changes_vs_last_cycle(plan, previous, pipeline_changes=deals).iloc[0]
    assert row[["change", "from_statistics", "from_pipeline", "from_adjustments",
                "from_promotions"]].tolist() == [-8.0, -2.0, -6.0, 0.0, 0.0]
    assert row["cause"] == ("pipeline -6 (D1 dropped, no outcome recorded); statistics -2")
