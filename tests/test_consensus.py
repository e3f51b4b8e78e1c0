"""The demand review's tables: overview, largest changes, calibration summary, deals, audit."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sopkit.consensus import (
    audit_trail,
    calibration_curve,
    calibration_summary,
    deal_table,
    horizon_summary,
    largest_changes,
    overview,
    round_plan,
)
from sopkit.errors import ParameterError

M = pd.Timestamp


def plan_frame() -> pd.DataFrame:
    """Two SKUs of two families over 2024-07..08; B's consensus departs from its statistics."""
    return pd.DataFrame({
        "sku": ["A", "A", "B", "B"], "period": pd.to_datetime(["2024-07-01", "2024-08-01"] * 2),
        "qty_stat": [10.0, 10.0, 100.0, 100.0], "qty_pipeline": [0.0, 5.0, 0.0, 60.0],
        "qty_promo": [0.0, 0.0, 20.0, 0.0], "qty_adjustment": [0.0, 0.0, 0.0, -30.0],
        "qty_consensus": [10.0, 15.0, 120.0, 130.0]})


def test_overview_totals_history_and_plan_by_hand():
    actuals = pd.DataFrame({"sku": ["A", "B", "A", "B", "A"],
                            "period": pd.to_datetime(["2024-05-01"] * 2 + ["2024-06-01"] * 2
                                                     + ["2022-01-01"]),
                            "qty": [1.0, 2.0, 3.0, 4.0, 99.0]})
    total = overview(actuals, plan_frame(), months_back=2).set_index("period")
    assert total.index.tolist() == list(pd.date_range("2024-05-01", periods=4, freq="MS"))
    assert total["qty_actual"].iloc[:2].tolist() == [3.0, 7.0]  # 2022-01 is too far back
    assert total["qty_actual"].iloc[2:].isna().all() and total["qty_stat"].iloc[:2].isna().all()
    assert total.loc[M("2024-08-01"), ["qty_stat", "qty_pipeline", "qty_adjustment",
                                       "qty_consensus"]].tolist() == [110, 65, -30, 145]
    products = pd.DataFrame({"sku": ["A", "B"], "family": ["small", "big"]})
    family = overview(actuals, plan_frame(), products=products, by="family", history=False)
    assert family.set_index(["family", "period"]).loc[("big", M("2024-08-01")),
                                                      "qty_consensus"] == 130
    assert "qty_actual" not in family.columns  # no history asked for: no empty column
    assert family["qty_announced"].eq(0.0).all()  # a plan without qty_stat_unannounced
    # the part of the statistics the pipeline used to announce is shown, so the row adds up
    announced = plan_frame().assign(qty_stat_unannounced=[10.0, 6.0, 100.0, 40.0],
                                    qty_consensus=[10.0, 11.0, 120.0, 70.0])
    family = overview(actuals, announced, products=products, by="family", history=False)
    row = family.set_index(["family", "period"]).loc[("big", M("2024-08-01"))]
    assert row[["qty_stat", "qty_announced", "qty_pipeline", "qty_adjustment",
                "qty_consensus"]].tolist() == [100, 60, 60, -30, 70]  # 100 - 60 + 60 - 30
    with pytest.raises(ParameterError):
        overview(actuals, plan_frame(), by="family")


def test_largest_changes_by_hand():
    said = []

    def explainer(sku, period):
        said.append((sku, period))
        return f"{sku} {period:%Y-%m}"

    top = largest_changes(plan_frame(), explainer, n=3)
    # changes: A 0, 5; B 20, 30 -> B 2024-08, B 2024-07, A 2024-08 (A 2024-07: no change)
    assert list(zip(top["sku"], top["change"], strict=True)) == [("B", 30), ("B", 20), ("A", 5)]
    assert top["explanation"].tolist() == ["B 2024-08", "B 2024-07", "A 2024-08"]
    assert len(said) == 3
    assert largest_changes(plan_frame(), explainer, n=10)["change"].abs().min() > 0
    # the parts: B 2024-08 is +60 deals - 30 adjustment; B 2024-07 is +20 promotion
    assert top[["by_deals", "by_adjustments", "by_promotions"]].values.tolist() == [
        [60.0, -30.0, 0.0], [0.0, 0.0, 20.0], [5.0, 0.0, 0.0]]
    assert "by_netting" not in top.columns  # no qty_stat_unannounced in this plan
    # with netting: A 2024-08's +5 is +8 of deals less 3 of statistics netted off
    netted = plan_frame().assign(qty_stat_unannounced=[10.0, 7.0, 100.0, 100.0],
                                 qty_pipeline=[0.0, 8.0, 0.0, 60.0])
    row = largest_changes(netted, explainer, n=3).set_index("sku").loc["A"]
    assert (row["by_netting"], row["by_deals"], row["change"]) == (-3.0, 8.0, 5.0)
    assert np.isclose(largest_changes(plan_frame(), explainer, n=1)["qty_consensus"], 130).all()


def test_calibration_summary_and_deal_table_by_hand():
    records = pd.DataFrame({  # D1 seen twice (qualify, then commit)
        "deal_id": ["D1", "D1", "D2", "D3", "D4"],
        "stage": ["qualify", "commit", "commit", "qualify", "qualify"],
        "probability": [0.5, 0.9, 0.7, 0.4, 0.2], "won": [True, True, False, False, True],
        "resolved": [True, True, True, True, False],
    })
    model = SimpleNamespace(
        deal_snapshots_=records,
        calibrated_probability=lambda deals: deals["probability"].to_numpy() / 2,
        open_deals_=pd.DataFrame({
            "deal_id": ["D9", "D8"], "sku": ["A", "B"], "owner": ["Ann", "Bo"],
            "stage": ["commit", "qualify"], "snapshot": pd.to_datetime(["2026-10-01"] * 2),
            "period": pd.to_datetime(["2026-12-01", "2027-01-01"]), "qty": [10.0, 100.0],
            "probability": [0.8, 0.3], "probability_calibrated": [0.5, 0.2],
            "qty_expected": [5.0, 20.0]}))
    table = calibration_summary(model).set_index("stage")
    # commit records: D1 (0.9, won), D2 (0.7, lost): stated 0.8, realised 0.5, calibrated 0.4
    assert table.loc["commit", ["n_deals", "stated", "realised", "calibrated"]].tolist() == \
        pytest.approx([2, 0.8, 0.5, 0.4])
    # qualify records: D1 (0.5, won), D3 (0.4, lost); D4 is unresolved
    assert table.loc["qualify", ["n_records", "stated", "realised"]].tolist() == \
        pytest.approx([2, 0.45, 0.5])
    assert table.loc["all", ["n_deals", "n_records", "realised"]].tolist() == \
        pytest.approx([3, 4, 0.5])
    # a win inferred from demand counts with its chance of not being a false win
    model.deal_snapshots_ = records.assign(won_weight=[0.5, 0.5, 0.0, 0.0, 1.0])
    weighted = calibration_summary(model).set_index("stage")
    assert weighted.loc["commit", "realised"] == pytest.approx(0.25)  # (0.5 + 0) / 2
    assert weighted.loc["all", "realised"] == pytest.approx(0.25)  # (.5 + .5 + 0 + 0) / 4
    pipeline = pd.DataFrame({"snapshot": pd.to_datetime(["2026-10-01"]), "deal_id": ["D8"],
                             "sku": ["B"], "period": pd.to_datetime(["2027-01-01"]),
                             "note": ["<script>x</script>"]})
    deals = deal_table(model, pipeline)
    assert deals["deal_id"].tolist() == ["D8", "D9"]  # 20 expected before 5
    assert deals.loc[0, "note"] == "<script>x</script>"  # kept as entered; display escapes
    assert pd.isna(deals.loc[1, "note"])


def test_audit_trail_keeps_what_was_entered_and_what_was_applied():
    snap = pd.Timestamp("2026-10-01")
    model = SimpleNamespace(
        open_deals_=pd.DataFrame({
            "deal_id": ["D1"], "sku": ["A"], "owner": ["Ann"], "stage": ["commit"],
            "snapshot": [snap], "period": pd.to_datetime(["2026-12-01"]), "qty": [100.0],
            "probability": [0.8], "probability_calibrated": [0.6], "months_ahead": [2],
            "qty_expected": [60.0]}),
        open_adjustments_=pd.DataFrame({
            "snapshot": [snap], "owner": ["Bo"], "sku": ["A"],
            "period": pd.to_datetime(["2026-11-01"]), "qty_delta": [10.0],
            "direction": ["up"], "beta": [0.25], "qty_adjustment": [2.5]}))
    pipeline = pd.DataFrame({"snapshot": [snap], "deal_id": ["D1"], "sku": ["A"],
                             "period": pd.to_datetime(["2026-12-01"]), "note": ["=1+1"]})
    adjustments = pd.DataFrame({"snapshot": [snap], "owner": ["Bo"], "sku": ["A"],
                                "period": pd.to_datetime(["2026-11-01"]), "qty_delta": [10.0],
                                "reason": ["trade show lead"]})
    trail = audit_trail(model, pipeline, adjustments).set_index("source")
    assert trail.loc["deal", ["qty_entered", "stated_probability", "weight_applied",
                              "qty_applied"]].tolist() == [100.0, 0.8, 0.6, 60.0]
    assert trail.loc["deal", "text"] == "=1+1"  # kept exactly as typed
    assert trail.loc["adjustment", ["owner", "qty_entered", "weight_applied",
                                    "qty_applied"]].tolist() == ["Bo", 10.0, 0.25, 2.5]
    assert trail.loc["adjustment", "text"] == "trade show lead"


def test_calibration_curve_bands_by_hand():
    records = pd.DataFrame({
        "deal_id": ["D1", "D1", "D1", "D2", "D3", "D4", "D5"],
        "sku": ["A", "A", "A", "A", "B", "B", "B"],
        "owner": "Ann",
        "stage": ["qualify", "qualify", "commit", "qualify", "qualify", "commit", "commit"],
        "probability": [0.3, 0.4, 0.9, 0.35, 0.32, 1.0, 0.5],
        "won": [True, True, True, False, True, False, False],
        "won_weight": [1.0, 1.0, 1.0, 0.0, 0.5, 0.0, 0.0],
        "resolved": [True, True, True, True, True, True, False],
    })
    model = SimpleNamespace(deal_snapshots_=records, calibrate_by=("stage", "owner"),
                            calibrated_probability=lambda deals: deals["probability"] / 2)
    curve = calibration_curve(model).set_index("band")
    assert curve.index.tolist() == ["30–40 %", "90–100 %"]  # D5 is open; 1.0 is in the top band
    # 30-40 %: D1 at qualify (mean of 0.3 and 0.4, won), D2 (0.35, lost), D3 (0.32, half a win)
    low = curve.loc["30–40 %"]
    assert low[["n_deals", "stated", "realised", "calibrated"]].tolist() == pytest.approx(
        [3, 0.34, 0.5, 0.17])
    # Jeffreys: Beta(1.5 + 0.5, 1.5 + 0.5) = Beta(2, 2), CDF 3x² − 2x³ = 0.05 at x = 0.1354
    assert low[["realised_low", "realised_high"]].tolist() == pytest.approx([0.1354, 0.8646],
                                                                           abs=1e-4)
    top = curve.loc["90–100 %"]  # D1 at commit (0.9, won), D4 (1.0, lost)
    assert top[["n_deals", "stated", "realised"]].tolist() == pytest.approx([2, 0.95, 0.5])
    wide = calibration_curve(model, bands=(0.0, 0.5, 1.0)).set_index("band")
    assert wide["n_deals"].tolist() == [3, 2]
    assert wide.loc["0–50 %", "realised"] == pytest.approx(0.5)
    # a band where every deal was won (or none): the interval reaches 1 (or 0)
    edges = calibration_curve(model, bands=(0.0, 0.8, 0.95, 1.0)).set_index("band")
    assert edges.loc["80–95 %", ["realised", "realised_high"]].tolist() == [1.0, 1.0]
    assert edges.loc["95–100 %", ["realised", "realised_low"]].tolist() == [0.0, 0.0]
    with pytest.raises(ParameterError, match="rise from 0 to 1"):
        calibration_curve(model, bands=(0.0, 0.6, 0.5, 1.0))
    with pytest.raises(ParameterError, match="interval"):
        calibration_curve(model, interval=1.5)
    empty = calibration_curve(SimpleNamespace(
        deal_snapshots_=records.assign(resolved=False), calibrate_by=("stage", "owner"),
        calibrated_probability=lambda deals: deals["probability"]))
    assert empty.empty and "realised_high" in empty.columns


def test_horizon_summary_sums_spans_by_hand():
    plan = pd.DataFrame({
        "sku": ["A"] * 4 + ["B"] * 4,
        "period": list(pd.date_range("2024-07-01", periods=4, freq="MS")) * 2,
        "qty_stat": [10.0, 10.0, 10.0, 10.0, 100.0, 100.0, 100.0, 100.0],
        "qty_stat_unannounced": [10.0, 10.0, 10.0, 10.0, 60.0, 60.0, 80.0, 100.0],
        "qty_pipeline": [0.0, 5.0, 0.0, 0.0, 50.0, 0.0, 0.0, 0.0],
        "qty_promo": 0.0, "qty_adjustment": [0.0, 0.0, 0.0, 0.0, -10.0, 0.0, 0.0, 0.0]})
    plan["qty_consensus"] = plan[["qty_stat_unannounced", "qty_pipeline", "qty_promo",
                                  "qty_adjustment"]].sum(axis=1)
    products = pd.DataFrame({"sku": ["A", "B"], "family": ["small", "big"]})
    spans = horizon_summary(plan, products=products, buckets=((1, 3), (4, 12), (13, 24)))
    big = spans[spans["family"] == "big"].set_index("months")
    assert list(spans["months"]) == ["1–3", "4", "1–3", "4"]  # big first; no months 13+
    # big, months 1-3: stat 300, announced 40 + 40 + 20, pipeline 50, adjustment -10 -> 240
    assert big.loc["1–3", ["qty_stat", "qty_announced", "qty_pipeline", "qty_adjustment",
                           "qty_consensus"]].tolist() == [300, 100, 50, -10, 240]
    assert big.loc["4", "qty_consensus"] == 100 and big.loc["4", "first_period"] == M(
        "2024-10-01")
    company = horizon_summary(plan, by=None, buckets=((1, 2),))
    assert company[["months", "qty_consensus"]].values.tolist() == [["1–2", 10 + 15 + 100 + 60]]
    with pytest.raises(ParameterError, match="horizon buckets"):
        horizon_summary(plan, products=products, buckets=((0, 3),))


def test_promotion_track_record_by_hand():
    from sopkit.consensus import promotion_track_record

    months = pd.date_range("2026-01-01", periods=9, freq="MS")
    # A: 10 a month, then a two-month promotion stated at +50 % that sold 13 and 14
    # B: 20 a month (2026-01 missing: 0), a one-month promotion stated at +20 % that sold 30
    actuals = pd.DataFrame({
        "sku": ["A"] * 8 + ["B"] * 7,
        "period": list(months[:8]) + list(months[1:8]),
        "qty": [10, 10, 10, 10, 10, 10, 13, 14] + [24, 24, 24, 24, 24, 30, 24]})
    promotions = pd.DataFrame({
        "promo_id": ["P1", "P2", "P3"], "sku": ["A", "B", "A"],
        "start_period": ["2026-07", "2026-07", "2026-11"],
        "end_period": ["2026-08", "2026-07", "2026-11"], "lift": [0.5, 0.2, 0.9]})
    record = promotion_track_record(promotions, actuals, cycle="2026-10").set_index("promo_id")
    assert list(record.index) == ["P1", "P2", "all"]  # P3 has not run yet
    # P1: reference 10 (2026-01 … 06), promotion months 13.5: +35 % of +50 % stated
    assert record.loc["P1", "qty_reference"] == 10.0
    assert record.loc["P1", "lift_realised"] == pytest.approx(0.35)
    assert record.loc["P1", "share_delivered"] == pytest.approx(0.7)
    assert (record.loc["P1", "extra_stated"], record.loc["P1", "extra_realised"]) == (10.0, 7.0)
    # P2: reference (0 + 24 × 5) / 6 = 20, sold 30: +50 % against +20 % stated
    assert record.loc["P2", "qty_reference"] == pytest.approx(20.0)
    assert record.loc["P2", "share_delivered"] == pytest.approx(2.5)
    # pooled by volume: (7 + 10) / (10 + 4) — not the mean of 0.7 and 2.5
    assert record.loc["all", "share_delivered"] == pytest.approx(17 / 14)
    assert record.loc["all", "months"] == 3
    # its interval, promotions resampled: {P1, P1} 7/10, {P1, P2} 17/14, {P2, P2} 10/4,
    # drawn 1/4, 1/2, 1/4 of the time: the 5 % and 95 % points are the two extremes
    assert record.loc["all", "share_low"] == pytest.approx(0.7)
    assert record.loc["all", "share_high"] == pytest.approx(2.5)
    assert record.loc[["P1", "P2"], "share_low"].isna().all()
    assert promotion_track_record(None, actuals, cycle="2026-10").empty


def test_promotion_interval_resamples_campaigns_not_rows():
    from sopkit.consensus import promotion_track_record

    months = pd.date_range("2026-01-01", periods=8, freq="MS")
    # one campaign on two SKUs: A +50 % stated, sold 13.5 on 10 (share 0.7); B +20 % stated,
    # sold 30 on 20 (share 2.5). Resampling the campaign, every draw is the pooled 17/14;
    # resampling rows would give 0.7 … 2.5.
    actuals = pd.DataFrame({
        "sku": ["A"] * 8 + ["B"] * 7,
        "period": list(months) + list(months[:7]),
        "qty": [10, 10, 10, 10, 10, 10, 13, 14] + [20, 20, 20, 20, 20, 20, 30]})
    promotions = pd.DataFrame({
        "promo_id": ["P1", "P1"], "sku": ["A", "B"], "start_period": ["2026-07", "2026-07"],
        "end_period": ["2026-08", "2026-07"], "lift": [0.5, 0.2]})
    pooled = promotion_track_record(promotions, actuals, cycle="2026-10").iloc[-1]
    assert pooled["share_delivered"] == pytest.approx(17 / 14)
    assert (pooled["share_low"], pooled["share_high"]) == (pytest.approx(17 / 14),) * 2


def test_round_plan_hands_on_thousandths_and_keeps_the_consensus_the_sum_of_its_parts():
    plan = pd.DataFrame({
        "sku": ["A", "B"], "period": pd.to_datetime(["2024-07-01"] * 2),
        "qty_stat": [2.25, 10.0], "announced_share": [0.1166332271917, 0.0],
        "qty_stat_unannounced": [1.9874852388185606, 10.0000000301],
        "qty_pipeline": [0.3334, 0.0], "qty_adjustment": [0.0, -12.5], "qty_promo": [0.0, 0.0],
        "qty_consensus": [2.3208852388, 0.0], "qty_q90": [3.5334670912329966, 10.0004999],
        "model": ["ma12", "ses"]})
    out = round_plan(plan)
    # 1.98748… → 1.987 and 0.3334 → 0.333, so the consensus is 1.987 + 0.333 = 2.320,
    # not 2.3208852… rounded (2.321): the review's parts still add up to it
    np.testing.assert_array_equal(out["qty_stat_unannounced"], [1.987, 10.0])
    np.testing.assert_array_equal(out["qty_pipeline"], [0.333, 0.0])
    np.testing.assert_array_equal(out["qty_q90"], [3.533, 10.0])
    np.testing.assert_array_equal(out["qty_consensus"], [2.32, 0.0])  # 10 − 12.5 < 0 → 0
    assert out["announced_share"].iloc[0] == 0.116633
    assert out["model"].tolist() == ["ma12", "ses"]
    # the plan handed in is not changed
    assert plan["qty_pipeline"].iloc[0] == 0.3334
    # two machines' last-bit differences give one plan
    nudged = plan.assign(qty_stat_unannounced=plan["qty_stat_unannounced"] + 3e-8)
    pd.testing.assert_frame_equal(round_plan(nudged), out)
    with pytest.raises(ParameterError, match="decimals"):
        round_plan(plan, decimals=3.0)
