"""Tests of the lumpy-demand model, on small hand-made cases with hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sopkit.errors import DataError, ParameterError
from sopkit.lumpy import GRID, LumpyDemandModel, _calibration_curve
from sopkit.sample import make_sample

M = pd.Timestamp


def pipe(rows) -> pd.DataFrame:
    """Pipeline rows ``(snapshot, deal_id, sku, period, qty, probability, owner, stage)``."""
    frame = pd.DataFrame(rows, columns=["snapshot", "deal_id", "sku", "period", "qty",
                                        "probability", "owner", "stage"])
    frame["snapshot"] = pd.to_datetime(frame["snapshot"])
    frame["period"] = pd.to_datetime(frame["period"])
    return frame


def acts(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["sku", "period", "qty"])
    frame["period"] = pd.to_datetime(frame["period"])
    return frame


def stat(skus, start, n, qty=0.0, quantiles=(0.1, 0.5, 0.9)) -> pd.DataFrame:
    periods = pd.date_range(start, periods=n, freq="MS")
    frame = pd.DataFrame({"sku": np.repeat(skus, n), "period": np.tile(periods, len(skus)),
                          "qty_forecast": float(qty)})
    for q in quantiles:
        frame[f"qty_q{round(q * 100)}"] = float(qty)
    return frame.assign(model="hand", demand_class="smooth")


# ---------------------------------------------------------------- calibration


def calibration_case():
    """Stage A: 10 deals stated 0.8, 4 won. Stage B: 10 deals stated 0.8, 8 won.

    Each deal has its own SKU, is listed only in snapshot 2024-01 (expected
    2024-02) and is gone in 2024-02 (an open deal keeps the pipeline going),
    so it can land in 2024-01..2024-02. Won deals show their 10 units in
    2024-02 on a zero baseline.
    """
    rows, demand = [], [("FILL", "2024-06-01", 0.0)]
    for stage, n_won in (("A", 4), ("B", 8)):
        for k in range(10):
            sku = f"{stage}{k}"
            rows.append(("2024-01-01", f"D-{sku}", sku, "2024-02-01", 10.0, 0.8, "Ann", stage))
            demand.append((sku, "2024-02-01", 10.0 if k < n_won else 0.0))
    rows.append(("2024-02-01", "D-OPEN", "X", "2024-08-01", 10.0, 0.8, "Ann", "A"))
    return acts(demand), pipe(rows)


def test_calibration_learns_realised_rate_and_shrinks_towards_global():
    actuals, pipeline = calibration_case()
    model = LumpyDemandModel(calibrate_by=("stage",), min_deals=5, prior_strength=10).fit(
        actuals, pipeline, cycle="2024-07")
    outcomes = model.deal_outcomes_.set_index("deal_id")
    assert outcomes.loc["D-A0", "won"] and not outcomes.loc["D-A9", "won"]
    assert outcomes["resolved"].sum() == 20  # D-OPEN is still open
    cal = model.calibration_
    at = cal[cal["stated_probability"] == 0.8].set_index("stage")
    # One stated value (0.8): the isotonic fit is the plain win rate, the logistic fit the
    # mean of Platt's targets (won (N+ + 1)/(N+ + 2), lost 1/(N- + 2)); blend n/(n + 50).
    # all: 12 won of 20: iso 0.6, Platt (12·13/14 + 8·1/10)/20 = 0.5971429,
    #      curve 2/7·0.6 + 5/7·0.5971429 = 0.5979592
    # A:   4 of 10: iso 0.4, Platt (4·5/6 + 6·1/8)/10 = 0.4083333 → 1/6·0.4 + 5/6·0.4083333
    #      = 0.4069444;  B: 8 of 10: iso 0.8, Platt (8·9/10 + 2·1/4)/10 = 0.77 → 0.775
    assert at.loc["*", "calibrated_probability"] == pytest.approx(0.5979592, abs=1e-6)
    assert at.loc["A", "realised_probability"] == pytest.approx(0.4069444, abs=1e-6)
    assert at.loc["B", "realised_probability"] == pytest.approx(0.775, abs=1e-6)
    # shrunk to the parent with weight 10 / (10 + 10) = 0.5:
    # A 0.5·0.4069444 + 0.5·0.5979592 = 0.5024518, B 0.5·0.775 + 0.5·0.5979592 = 0.6864796
    assert at.loc["A", "weight"] == pytest.approx(0.5)
    assert at.loc["A", "calibrated_probability"] == pytest.approx(0.5024518, abs=1e-6)
    assert at.loc["B", "calibrated_probability"] == pytest.approx(0.6864796, abs=1e-6)
    deals = pd.DataFrame({"probability": [0.8, 0.8, 0.8], "stage": ["A", "B", "never seen"]})
    # an unknown stage falls back to the global curve
    np.testing.assert_allclose(model.calibrated_probability(deals),
                               [0.5024518, 0.6864796, 0.5979592], atol=1e-6)


def test_calibration_by_an_extra_column_of_a_reordered_pipeline():
    """calibrate_by may name any pipeline column (here "region", the stages of the case
    above renamed). The pipeline comes shuffled, with a non-default index and with rows of
    a snapshot after the cycle in front: each row must keep its own region, so the curves
    are those of the stage case (A 0.5024518, B 0.6864796 at stated 0.8)."""
    actuals, pipeline = calibration_case()
    late = pipeline.head(3).assign(snapshot=M("2025-01-01"), stage="B")  # after the cycle
    regions = pd.concat([late, pipeline]).rename(columns={"stage": "region"})
    regions = regions.sample(frac=1.0, random_state=3)
    regions.index = np.arange(len(regions)) * 7 + 1000
    model = LumpyDemandModel(calibrate_by=("region",), min_deals=5, prior_strength=10).fit(
        actuals, regions, cycle="2024-07")
    at = model.calibration_[model.calibration_["stated_probability"] == 0.8].set_index("region")
    assert at.loc["A", "calibrated_probability"] == pytest.approx(0.5024518, abs=1e-6)
    assert at.loc["B", "calibrated_probability"] == pytest.approx(0.6864796, abs=1e-6)
    # the open deal D-OPEN (region A) gets region A's curve in predict
    model.predict(stat(["X"], "2024-07-01", 3), pipeline=regions)
    assert model.open_deals_["probability_calibrated"].tolist() == pytest.approx([0.5024518],
                                                                                abs=1e-6)


def test_calibration_curve_blends_platt_and_isotonic():
    # 10 deals stated 0.2 (2 won) and 10 stated 0.8 (8 won). Platt targets: won 11/12,
    # lost 1/12, so the logistic fit passes through 0.25 at 0.2 and 0.75 at 0.8:
    # slope logit(0.75)/logit(0.8) = 1.0986/1.3863 = 0.79248, intercept 0.
    # At stated 0.1 (logit −2.1972): Platt 1/(1 + e^1.7413) = 0.14914; the isotonic fit is
    # clipped at its first point, 0.2. Weight of the isotonic curve 20/(20 + 50) = 2/7:
    # 2/7·0.2 + 5/7·0.14914 = 0.16367.  At 0.2: 2/7·0.2 + 5/7·0.25 = 0.235714.
    stated = np.array([0.2] * 10 + [0.8] * 10)
    won = np.array([True] * 2 + [False] * 8 + [True] * 8 + [False] * 2)
    curve = _calibration_curve(stated, won)
    assert curve[GRID == 0.1][0] == pytest.approx(0.16367, abs=2e-5)
    assert curve[GRID == 0.2][0] == pytest.approx(0.235714, abs=1e-5)
    assert curve[GRID == 0.5][0] == pytest.approx(0.5, abs=1e-6)  # symmetric
    assert curve[GRID == 0.8][0] == pytest.approx(0.764286, abs=1e-5)
    assert np.all(np.diff(curve) >= -1e-12)  # never falls
    # stated probabilities that point the wrong way (0.2: 6 of 10 won, 0.8: 2 of 10):
    # the logistic slope is negative, so its part is flat at the mean Platt target
    # (8·9/10 + 12·1/14)/20 = 0.4028571; the isotonic fit pools both points to 8/20 = 0.4:
    # 2/7·0.4 + 5/7·0.4028571 = 0.4020408
    won = np.array([True] * 6 + [False] * 4 + [True] * 2 + [False] * 8)
    np.testing.assert_allclose(_calibration_curve(stated, won), 0.4020408, atol=1e-6)


def test_calibration_nested_owner_and_too_few_deals():
    actuals, pipeline = calibration_case()
    nested = LumpyDemandModel(min_deals=5, prior_strength=10).fit(actuals, pipeline,
                                                                 cycle="2024-07")
    deals = pd.DataFrame({"probability": [0.8], "stage": ["A"], "owner": ["Ann"]})
    # stage × owner A/Ann: own curve 0.4069444, weight 0.5, parent (stage A) 0.5024518
    assert nested.calibrated_probability(deals)[0] == pytest.approx(0.4546981, abs=1e-6)
    # fewer resolved deals than min_deals: the stated probability stands
    few = LumpyDemandModel(min_deals=50).fit(actuals, pipeline, cycle="2024-07")
    assert few.calibrated_probability(deals)[0] == pytest.approx(0.8)


# ---------------------------------------------------------------- slip


def slip_case():
    """Four deals expected 2024-03 land 0, 1, 1 and 2 months late (own SKUs, zero baseline).

    Each is listed every month from 2024-01 until the month before it lands;
    D-X (SKU X, 100 units, stated 0.5, expected 2024-10) keeps the pipeline
    going and is still open in the latest snapshot 2024-08.
    """
    rows, demand = [], [("FILL", "2024-08-01", 0.0)]
    for k, late in enumerate((0, 1, 1, 2)):
        landing = M("2024-03-01") + pd.DateOffset(months=late)
        for snap in pd.date_range("2024-01-01", landing - pd.DateOffset(months=1), freq="MS"):
            rows.append((snap, f"D-{k}", f"S{k}", "2024-03-01", 10.0, 0.5, "Ann", "commit"))
        demand.append((f"S{k}", landing, 10.0))
    for snap in pd.date_range("2024-01-01", "2024-08-01", freq="MS"):
        rows.append((snap, "D-X", "X", "2024-10-01", 100.0, 0.5, "Ann", "commit"))
    return acts(demand), pipe(rows)


def test_slip_pmf_and_open_deal_spread():
    actuals, pipeline = slip_case()
    model = LumpyDemandModel().fit(actuals, pipeline, cycle="2024-09")
    outcomes = model.deal_outcomes_.set_index("deal_id")
    assert outcomes.loc[["D-0", "D-1", "D-2", "D-3"], "slip"].tolist() == [0, 1, 1, 2]
    overall = model.slip_[model.slip_["months_ahead"] == "all"].set_index("slip")["probability"]
    # each deal counts once: {0: 1/4, 1: 2/4, 2: 1/4}
    assert overall.loc[0] == pytest.approx(0.25)
    assert overall.loc[1] == pytest.approx(0.5)
    assert overall.loc[2] == pytest.approx(0.25)
    assert overall.drop([0, 1, 2]).sum() == pytest.approx(0.0)
    # 4 resolved deals < min_deals: stated 0.5 stands; 100 × 0.5 = 50 spread 12.5 / 25 / 12.5
    plan = model.predict(stat(["X"], "2024-09-01", 6)).set_index("period")
    assert plan["qty_pipeline"].tolist() == pytest.approx([0, 12.5, 25, 12.5, 0, 0])
    assert model.open_deals_["qty_expected"].iloc[0] == pytest.approx(50)


def test_truncated_pmf_by_hand():
    """Slips 0..2; rows (slip, latest slip that could be seen): A (0, 2), B (1, 2), C (2, 2),
    D (0, 0), E (0, 1), F (1, 1).

    j=2: rows that could show 2 and landed by 2: A, B, C; one has 2 → P(S<=1) = 2/3.
    j=1: could show 1, landed by 1: A, B, E, F; two have 1 → P(S<=0) = 2/3 × 1/2 = 1/3.
    → 1/3 each, where a histogram says 3/6, 2/6, 1/6 (D and E could only land early).
    """
    from sopkit.lumpy import _truncated_pmf

    slip = np.array([0, 1, 2, 0, 0, 1])
    limit = np.array([2, 2, 2, 0, 1, 1])
    np.testing.assert_allclose(_truncated_pmf(slip, limit, np.ones(6), 3), [1 / 3] * 3)
    # Nothing truncated: the histogram.
    np.testing.assert_allclose(_truncated_pmf(slip, np.full(6, 2), np.ones(6), 3),
                               [3 / 6, 2 / 6, 1 / 6])


def test_slip_learnt_under_right_truncation():
    """Old deals expected 2024-03 land 0, 1 and 2 months late; recent ones expected 2024-07
    land 0 and 1 late. Actuals end 2024-08, so a recent deal that slipped 2 could not be
    seen yet. Reverse-time product-limit (slip classes 0, 1, 2):
    j=2: old deals, one of three slipped 2 → P(S<=1) = 2/3;
    j=1: old slips 0, 1 and recent 0, 1 → half slipped 1 → P(S<=0) = 1/3;
    → 1/3 each (a histogram of the five landed deals: 2/5, 2/5, 1/5)."""
    rows, demand = [], [("FILL", "2024-08-01", 0.0)]
    deals = [("2024-03-01", 0), ("2024-03-01", 1), ("2024-03-01", 2),
             ("2024-07-01", 0), ("2024-07-01", 1)]
    for k, (expected, late) in enumerate(deals):
        landing = M(expected) + pd.DateOffset(months=late)
        start = M(expected) - pd.DateOffset(months=2)
        for snap in pd.date_range(start, landing - pd.DateOffset(months=1), freq="MS"):
            rows.append((snap, f"D-{k}", f"S{k}", expected, 10.0, 0.5, "Ann", "commit"))
        demand.append((f"S{k}", landing, 10.0))
    for snap in pd.date_range("2024-01-01", "2024-09-01", freq="MS"):
        rows.append((snap, "D-X", "X", "2024-12-01", 100.0, 0.5, "Ann", "commit"))
    model = LumpyDemandModel().fit(acts(demand), pipe(rows), cycle="2024-09")
    assert model.deal_outcomes_.set_index("deal_id").loc[
        [f"D-{k}" for k in range(5)], "slip"].tolist() == [0, 1, 2, 0, 1]
    overall = model.slip_[model.slip_["months_ahead"] == "all"].set_index("slip")["probability"]
    np.testing.assert_allclose(overall.loc[[0, 1, 2]].to_numpy(), [1 / 3] * 3)
    assert overall.drop([0, 1, 2]).sum() == pytest.approx(0.0)


def test_open_deal_slip_conditioned_on_the_snapshot_and_the_cycle():
    """D-Y (100 at stated 0.5, expected 2024-09) is listed up to the snapshot of 2024-08.
    Slip probabilities set by hand: -2: 0.1, -1: 0.2, 0: 0.4, +1: 0.3, i.e. landing in
    2024-07, 08, 09, 10. July is before the snapshot: impossible, the rest renormalised
    (÷ 0.9). August lies between the snapshot and the cycle (2024-09): if the order came
    then, it is in the actuals — that share is dropped, not moved into the plan.
    September: 50 × 0.4 / 0.9 = 22.22; October: 50 × 0.3 / 0.9 = 16.67."""
    rows = [(snap, "D-Y", "Y", "2024-09-01", 100.0, 0.5, "Ann", "commit")
            for snap in pd.date_range("2024-05-01", "2024-08-01", freq="MS")]
    model = LumpyDemandModel().fit(acts([("FILL", "2024-08-01", 0.0)]), pipe(rows),
                                   cycle="2024-09")
    by_hand = {-2: 0.1, -1: 0.2, 0: 0.4, 1: 0.3}
    model.slip_["probability"] = model.slip_["slip"].map(by_hand).fillna(0.0)
    plan = model.predict(stat(["Y"], "2024-09-01", 3)).set_index("period")
    assert plan["qty_pipeline"].tolist() == pytest.approx([50 * 0.4 / 0.9, 50 * 0.3 / 0.9, 0])
    assert model.open_deals_["qty_expected"].iloc[0] == pytest.approx(50 * 0.7 / 0.9)
    months = model.open_deal_months_.set_index("period")["share_landing"]
    assert months.to_dict() == pytest.approx({M("2024-09-01"): 0.4 / 0.9,
                                              M("2024-10-01"): 0.3 / 0.9})


# ---------------------------------------------------------------- win rule


def test_win_rule_is_not_fooled_by_base_demand():
    """BIG sells 1,000 ± 10 a month. A 50-unit deal that leaves the pipeline is lost.

    The naive rule "the SKU sold ≥ 0.8 × 50 within ± 2 months" would call it
    won. BIG2 has the same history plus 50 units in 2024-03: won.
    """
    months = pd.date_range("2023-01-01", "2024-06-01", freq="MS")
    wiggle = np.resize([1000.0, 1010.0, 990.0], len(months))
    big2 = wiggle + np.where(months == M("2024-03-01"), 50.0, 0.0)
    actuals = pd.concat([acts({"sku": "BIG", "period": months, "qty": wiggle}),
                         acts({"sku": "BIG2", "period": months, "qty": big2})])
    rows = []
    for snap in ("2024-01-01", "2024-02-01"):
        rows.append((snap, "D-LOST", "BIG", "2024-03-01", 50.0, 0.9, "Ann", "commit"))
        rows.append((snap, "D-WON", "BIG2", "2024-03-01", 50.0, 0.9, "Ann", "commit"))
    for snap in ("2024-03-01", "2024-04-01"):
        rows.append((snap, "D-OTHER", "Y", "2024-09-01", 5.0, 0.5, "Ann", "qualify"))
    model = LumpyDemandModel().fit(actuals, pipe(rows), cycle="2024-07")
    out = model.deal_outcomes_.set_index("deal_id")
    assert out.loc["D-LOST", "resolved"] and not out.loc["D-LOST", "won"]
    assert out.loc["D-LOST", "baseline"] == pytest.approx(1000.0)  # median of deal-free months
    assert out.loc["D-WON", "won"]
    assert out.loc["D-WON", "landing_period"] == M("2024-03-01")
    # 2024-03 is a "990" month: 990 + 50 − baseline 1000 = 40 ≥ 0.5 × 50
    assert out.loc["D-WON", "qty_excess"] == pytest.approx(40.0)


def test_recorded_outcomes_beat_inference():
    """KIT sells 0 except an unannounced order of 40 in 2024-03 and 10 in 2024-05.

    D-LOST (40 units, expected 2024-03) left the pipeline; by demand alone it
    looks won. The CRM recorded it lost: it must stay lost, and its order
    stays free for nobody. D-SMALL (30 units, expected 2024-05) was recorded
    won, though only 10 units show up (less than win_share × 30): it is won,
    landing in 2024-05 (slip 0). A row with an outcome in the latest snapshot
    is not an open deal.
    """
    months = pd.date_range("2023-01-01", "2024-06-01", freq="MS")
    qty = np.where(months == M("2024-03-01"), 40.0, 0.0) + np.where(
        months == M("2024-05-01"), 10.0, 0.0)
    actuals = acts({"sku": "KIT", "period": months, "qty": qty})
    rows = [("2024-01-01", "D-LOST", "KIT", "2024-03-01", 40.0, 0.6, "Ann", "propose"),
            ("2024-02-01", "D-LOST", "KIT", "2024-03-01", 40.0, 0.6, "Ann", "propose"),
            ("2024-03-01", "D-SMALL", "KIT", "2024-05-01", 30.0, 0.7, "Ann", "commit"),
            ("2024-04-01", "D-SMALL", "KIT", "2024-05-01", 30.0, 0.7, "Ann", "commit"),
            ("2024-06-01", "D-OPEN", "KIT", "2024-09-01", 20.0, 0.5, "Ann", "qualify")]
    inferred = LumpyDemandModel().fit(actuals, pipe(rows), cycle="2024-07")
    out = inferred.deal_outcomes_.set_index("deal_id")
    assert out.loc["D-LOST", "won"] and out.loc["D-LOST", "outcome_source"] == "inferred"
    assert not out.loc["D-SMALL", "won"]  # 10 < 0.5 × 30

    recorded = pipe(rows + [
        ("2024-03-01", "D-LOST", "KIT", "2024-03-01", 40.0, 0.0, "Ann", "closed"),
        ("2024-05-01", "D-SMALL", "KIT", "2024-05-01", 30.0, 1.0, "Ann", "closed"),
        ("2024-06-01", "D-SMALL", "KIT", "2024-05-01", 30.0, 1.0, "Ann", "closed")])
    recorded["outcome"] = [None] * 5 + ["lost", "won", "won"]
    model = LumpyDemandModel().fit(actuals, recorded, cycle="2024-07")
    out = model.deal_outcomes_.set_index("deal_id")
    assert out.loc["D-LOST", "resolved"] and not out.loc["D-LOST", "won"]
    assert out.loc["D-LOST", "outcome_source"] == "recorded"
    assert out.loc["D-SMALL", "won"] and out.loc["D-SMALL", "landing_period"] == M("2024-05-01")
    assert out.loc["D-SMALL", "slip"] == 0
    # the closed rows carry no stated probability into the calibration records
    snaps = model.deal_snapshots_
    assert len(snaps[snaps["deal_id"] == "D-SMALL"]) == 2
    assert set(snaps.loc[snaps["deal_id"] == "D-SMALL", "probability"]) == {0.7}
    # only D-OPEN is open in the latest snapshot
    plan = model.predict(stat(["KIT"], "2024-07-01", 6), pipeline=recorded)
    assert list(model.open_deals_["deal_id"]) == ["D-OPEN"]
    assert plan["qty_consensus"].sum() > 0


def test_an_inferred_win_is_weighed_by_the_chance_of_a_false_win():
    """S sells 0 a month except 10 units in four deal-free months, and 10 in 2024-07.

    D1 (10 units at a stated 0.6, expected 2024-07) is listed in 2024-06 and
    gone in 2024-07, so it can have landed in 2024-06..2024-07 (2 months):
    the 10 units of 2024-07 make it look won. But S sold 10 without any deal
    in 4 of its 22 deal-free months (baseline 0, excess 10 ≥ 0.5 × 10), so
    an unannounced order alone would make it look won with chance
    f = 1 − (1 − 4/22)² = 0.33058; it was really won with probability
    0.6 / (0.6 + 0.4 × f) = 0.81941 (Bayes). Without the correction: 1.
    """
    months = pd.date_range("2023-01-01", "2024-12-01", freq="MS")
    spikes = pd.to_datetime(["2023-02-01", "2023-08-01", "2024-02-01", "2024-10-01",
                             "2024-07-01"])
    actuals = acts({"sku": "S", "period": months, "qty": np.where(months.isin(spikes), 10.0, 0)})
    rows = [("2024-06-01", "D1", "S", "2024-07-01", 10.0, 0.6, "Ann", "commit"),
            ("2024-07-01", "D-OPEN", "X", "2025-03-01", 5.0, 0.5, "Ann", "qualify")]
    f = 1 - (1 - 4 / 22) ** 2
    out = LumpyDemandModel().fit(actuals, pipe(rows), cycle="2025-01").deal_outcomes_
    d1 = out.set_index("deal_id").loc["D1"]
    assert d1["won"] and d1["landing_period"] == M("2024-07-01")
    assert d1["false_win_chance"] == pytest.approx(f)
    assert d1["won_weight"] == pytest.approx(0.6 / (0.6 + 0.4 * f))
    assert 0.8194 < d1["won_weight"] < 0.8195
    plain = LumpyDemandModel(false_wins=False).fit(actuals, pipe(rows), cycle="2025-01")
    d1 = plain.deal_outcomes_.set_index("deal_id").loc["D1"]
    assert d1["won"] and d1["won_weight"] == 1.0 and d1["false_win_chance"] == 0.0


def test_calibration_curve_takes_a_chance_of_having_won():
    """Four deals stated 0.5, labels 1, 0.5, 0, 0: one stated value, so both fits are flat.

    Isotonic: the mean label 0.375. Platt's targets with N₊ = 1.5, N₋ = 2.5:
    y × 2.5/3.5 + (1 − y) / 4.5 → 0.714286, 0.468254, 0.222222, 0.222222,
    mean 0.406746. Blend weight 4 / 54 on the isotonic fit.
    """
    curve = _calibration_curve(np.full(4, 0.5), np.array([1.0, 0.5, 0.0, 0.0]))
    platt = (2.5 / 3.5 + (0.5 * 2.5 / 3.5 + 0.5 / 4.5) + 2 / 4.5) / 4
    expected = 4 / 54 * 0.375 + 50 / 54 * platt
    np.testing.assert_allclose(curve, expected)
    assert expected == pytest.approx(0.404395, abs=1e-6)


# ---------------------------------------------------------------- announced share


def test_announced_share_prevents_double_counting():
    """All of P's demand came from deals listed at least a month ahead: share 1."""
    rows = [
        ("2024-01-01", "D1", "P", "2024-03-01", 10.0, 0.6, "Ann", "commit"),
        ("2024-02-01", "D1", "P", "2024-03-01", 10.0, 0.6, "Ann", "commit"),
        ("2024-03-01", "D2", "P", "2024-06-01", 20.0, 0.6, "Ann", "commit"),
        ("2024-04-01", "D2", "P", "2024-06-01", 20.0, 0.6, "Ann", "commit"),
        ("2024-05-01", "D2", "P", "2024-06-01", 20.0, 0.6, "Ann", "commit"),
        ("2024-06-01", "D3", "Q", "2024-12-01", 5.0, 0.6, "Ann", "commit"),
    ]
    actuals = acts([("P", "2024-03-01", 10.0), ("P", "2024-06-01", 20.0),
                    ("Q", "2024-01-01", 7.0), ("Q", "2024-07-01", 7.0)])
    model = LumpyDemandModel().fit(actuals, pipe(rows), cycle="2024-08")
    share = model.announced_share_.set_index("sku")
    # 30 announced / 30 demanded since 2024-02; the only pipeline SKU, so the prior is 1 too
    assert share.loc["P", "share_raw"] == pytest.approx(1.0)
    assert share.loc["P", "announced_share"] == pytest.approx(1.0)
    assert "Q" not in share.index  # no resolved deal: nothing announced, share 0
    # Leads: D1 listed 2 months ahead, D2 3 months. The latest snapshot is 2024-06, so
    # August-October are 2-4 months ahead of it: the pipeline holds all of P's announced
    # demand 2 and 3 months ahead, none 4 months ahead (no order was listed that early).
    profile = model.announced_lead_.set_index("months_ahead")["visible"]
    assert profile.to_dict() == {1: 1.0, 2: 1.0, 3: 1.0, 4: 0.0}
    plan = model.predict(stat(["P", "Q"], "2024-08-01", 3, qty=5.0))
    p = plan[plan["sku"] == "P"]
    q = plan[plan["sku"] == "Q"]
    assert (p["qty_stat"] == 5.0).all()
    assert p["announced_share"].tolist() == [1.0, 1.0, 0.0]
    assert p["qty_stat_unannounced"].tolist() == [0.0, 0.0, 5.0]
    assert (q["qty_stat_unannounced"] == 5.0).all()


def lead_case():
    """Four won lines, first snapshot 2024-01 (month 0 below), all of one SKU's demand.

    ======  ============  ======  ====  ==========================================
    line    first listed  landed  lead  room (longest lead the snapshots can show)
    ======  ============  ======  ====  ==========================================
    A (10)  2024-01       2024-02  1    1 (it may have been listed before 2024-01)
    B (20)  2024-02       2024-05  3    4
    C (10)  2024-04       2024-05  1    4
    D (10)  2024-03       2024-07  4    6
    ======  ============  ======  ====  ==========================================
    """
    from sopkit.lumpy import _Demand

    lines = pd.DataFrame({
        "deal_id": ["A", "B", "C", "D"], "sku": ["P", "P", "P", "R"],
        "qty": [10.0, 20.0, 10.0, 10.0], "resolved": True, "won": True,
        "first_snapshot": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-04-01",
                                          "2024-03-01"]),
        "landing_period": pd.to_datetime(["2024-02-01", "2024-05-01", "2024-05-01",
                                          "2024-07-01"])})
    demand = _Demand(acts([("P", "2024-01-01", 1.0), ("P", "2024-08-01", 1.0)]))
    first = int(pd.Timestamp("2024-01-01").year * 12)  # month number of 2024-01
    return lines, demand, first


def test_lead_profile_product_limit_with_left_truncation():
    """h(k): share of the quantity listed >= k-1 ahead that was listed >= k ahead, over lines
    that landed at least k months after the first snapshot.

    k=2: at risk B, C, D (A landed a month after the first snapshot: its lead can't show 2)
         = 40, listed >= 2 ahead B, D = 30 → 0.75; visible 0.75.
    k=3: at risk B, D = 30, both >= 3 → 1; visible 0.75.
    k=4: at risk B, D (room 4 and 6) = 30, only D >= 4 → 1/3; visible 0.25.
    k=5: at risk D = 10, none >= 5 → 0; visible 0.
    """
    from sopkit.lumpy import announced_lead_profile

    lines, demand, first = lead_case()
    out = announced_lead_profile(lines, demand, first_snapshot=first, prior_strength=10.0)
    assert set(out["family"]) == {"*"}
    out = out.set_index("months_ahead")
    np.testing.assert_allclose(out["visible"].to_numpy(), [1.0, 0.75, 0.75, 0.25, 0.0])
    np.testing.assert_allclose(out["qty_at_risk"].to_numpy(), [0.0, 40.0, 30.0, 30.0, 10.0])
    assert out["n_lines"].tolist() == [0, 3, 2, 2, 1]


def test_lead_profile_family_shrunk_towards_all():
    """Family F2 (line D only) at k=2: own share 1.0 from n=1 line, all families' 0.75,
    weight 1/(1+10): step 1/11 + 10/11 × 0.75 = 0.77273."""
    from sopkit.lumpy import announced_lead_profile

    lines, demand, first = lead_case()
    families = pd.Series({"P": "F1", "R": "F2"})
    out = announced_lead_profile(lines, demand, first_snapshot=first, prior_strength=10.0,
                                 families=families)
    f2 = out[out["family"] == "F2"].set_index("months_ahead")
    assert f2.loc[2, "step"] == pytest.approx(1 / 11 + 10 / 11 * 0.75)
    assert f2.loc[2, "weight"] == pytest.approx(1 / 11)
    # k=3: D still at risk and listed >= 3 ahead (own 1.0); all families' step is 1.0 too.
    assert f2.loc[3, "visible"] == pytest.approx(1 / 11 + 10 / 11 * 0.75)


# ---------------------------------------------------------------- adjustments


def adjustment_case():
    """A, B, C sell 100 a month; statistics said 100.

    Up (+10 on A, twice) never came true: Σδ(a − s) = 0 → β 0.
    Down (−50 on B, twice, B sold 50): Σδ(a − s) / Σδ² = 2·2500 / 2·2500 = 1.
    Half (+10 on C, twice, C sold 105): 2·50 / 2·100 = 0.5.
    """
    months = pd.date_range("2024-01-01", "2024-06-01", freq="MS")
    frames = []
    for sku in "ABC":
        qty = np.full(len(months), 100.0)
        hit = months.isin([M("2024-03-01"), M("2024-04-01")])
        qty[hit] = {"A": 100.0, "B": 50.0, "C": 105.0}[sku]
        frames.append(acts({"sku": sku, "period": months, "qty": qty}))
    actuals = pd.concat(frames, ignore_index=True)
    rows = []
    for period in ("2024-03-01", "2024-04-01"):
        rows += [("2024-02-01", "Up", "A", period, 10.0),
                 ("2024-02-01", "Down", "B", period, -50.0),
                 ("2024-02-01", "Half", "C", period, 10.0)]
    rows += [("2024-06-01", "Up", "A", "2024-07-01", 10.0),
             ("2024-06-01", "Down", "B", "2024-07-01", -50.0),
             ("2024-06-01", "New", "C", "2024-07-01", 20.0)]
    adjustments = pd.DataFrame(rows, columns=["snapshot", "owner", "sku", "period", "qty_delta"])
    adjustments["snapshot"] = pd.to_datetime(adjustments["snapshot"])
    adjustments["period"] = pd.to_datetime(adjustments["period"])
    history = pd.DataFrame({"snapshot": M("2024-02-01"), "sku": np.repeat(list("ABC"), 3),
                            "period": np.tile(pd.date_range("2024-02-01", periods=3, freq="MS"),
                                              3), "qty_stat": 100.0})
    return actuals, adjustments, history


def test_adjustment_bias_per_owner_and_direction():
    actuals, adjustments, history = adjustment_case()
    model = LumpyDemandModel(prior_strength=0).fit(actuals, None, cycle="2024-07",
                                                   adjustments=adjustments,
                                                   stat_history=history)
    beta = model.adjustment_bias_.set_index(["owner", "direction"])["beta"]
    assert beta.loc[("Up", "up")] == pytest.approx(0.0)
    assert beta.loc[("Down", "down")] == pytest.approx(1.0)
    assert beta.loc[("Half", "up")] == pytest.approx(0.5)
    # all ups pooled: (0 + 2·10·5) / (4·100) = 0.25
    assert beta.loc[("*", "up")] == pytest.approx(0.25)
    assert (model.adjustment_outcomes_["stat_source"] == "archive").all()
    plan = model.predict(stat(list("ABC"), "2024-07-01", 2, qty=100.0)).set_index("sku")
    july = plan[plan["period"] == M("2024-07-01")]
    assert july["qty_adjustment_raw"].tolist() == [10.0, -50.0, 20.0]
    # Up 10·0 = 0; Down −50·1; New is unknown: the pooled up β, 20 · 0.25 = 5
    assert july["qty_adjustment"].tolist() == pytest.approx([0.0, -50.0, 5.0])
    assert july.loc["B", "qty_consensus"] == pytest.approx(50.0)
    assert "Down -50.0 → -50.0" in model.explain("B", "2024-07")


def test_adjustment_shrinkage_and_fallback_without_archive():
    actuals, adjustments, history = adjustment_case()
    model = LumpyDemandModel(prior_strength=2).fit(actuals, None, cycle="2024-07",
                                                   adjustments=adjustments,
                                                   stat_history=history)
    beta = model.adjustment_bias_.set_index(["owner", "direction"])["beta"]
    # the ups pooled: raw 0.25 on 4 equal adjustments, weight 4 / (4 + 2), the rest face
    # value 1: 2/3 · 0.25 + 1/3 = 0.5
    assert beta.loc[("*", "up")] == pytest.approx(0.5)
    # two equal adjustments each: n = 2, weight 2 / (2 + 2) = 0.5, towards the pooled 0.5
    assert beta.loc[("Up", "up")] == pytest.approx(0.5 * 0.0 + 0.5 * 0.5)
    assert beta.loc[("Half", "up")] == pytest.approx(0.5 * 0.5 + 0.5 * 0.5)
    assert beta.loc[("Down", "down")] == pytest.approx(1.0)  # its own pooled β is 1
    # without the archive, the stand-in (trailing mean of the flat 100s) gives the same
    fallback = LumpyDemandModel(prior_strength=2).fit(actuals, None, cycle="2024-07",
                                                      adjustments=adjustments)
    assert (fallback.adjustment_outcomes_["stat_source"] == "trailing_mean").all()
    pd.testing.assert_frame_equal(fallback.adjustment_bias_, model.adjustment_bias_)


# ---------------------------------------------------------------- quantiles


def one_deal_model(seed=0):
    rows = [("2024-06-01", "D-1", "Z", "2024-08-01", 100.0, 0.5, "Ann", "commit")]
    model = LumpyDemandModel(random_state=seed).fit(acts([("Z", "2024-05-01", 0.0)]),
                                                    pipe(rows), cycle="2024-07")
    return model, model.predict(stat(["Z"], "2024-07-01", 3))


def test_bernoulli_mixture_quantiles():
    """One deal of 100 at p 0.5 on a zero baseline, no history: slip 0, p stays 0.5."""
    _, plan = one_deal_model()
    august = plan[plan["period"] == M("2024-08-01")].iloc[0]
    assert august["qty_pipeline"] == pytest.approx(50.0)
    assert august["qty_consensus"] == pytest.approx(50.0)
    assert august["qty_q10"] == 0.0 and august["qty_q90"] == 100.0
    other = plan[plan["period"] != M("2024-08-01")]
    assert (other[["qty_q10", "qty_q50", "qty_q90"]] == 0).all().all()


def test_simulation_is_deterministic():
    model, first = one_deal_model(seed=3)
    _, again = one_deal_model(seed=3)
    pd.testing.assert_frame_equal(first, again)
    assert "D-1" in model.explain("Z", "2024-08")


def test_cell_chunks_keep_skus_whole_by_hand():
    from sopkit.lumpy import _cell_chunks

    cell_sku = np.array(["A", "A", "B", "B", "B", "C", "X"])
    line_sku = np.array(["B", "A", "C", "B", "Q"])  # Q: a line with no cell in the plan
    cells = np.arange(6)
    # within both limits: one group with every line (as if there were no groups)
    (whole, lines), = _cell_chunks(cells, cell_sku, line_sku, 10, 10)
    assert whole.tolist() == cells.tolist() and lines.tolist() == [0, 1, 2, 3, 4]
    # at most 3 cells: A (2), then B (3) alone, then C; each with its own SKUs' lines
    groups = _cell_chunks(cells, cell_sku, line_sku, 3, 10)
    assert [(c.tolist(), n.tolist()) for c, n in groups] == [
        ([0, 1], [1]), ([2, 3, 4], [0, 3]), ([5], [2])]
    # at most 2 lines: A's one line and B's two are too many for one group; B's and C's too
    groups = _cell_chunks(cells, cell_sku, line_sku, 10, 2)
    assert [(c.tolist(), n.tolist()) for c, n in groups] == [
        ([0, 1], [1]), ([2, 3, 4], [0, 3]), ([5], [2])]
    assert _cell_chunks(np.array([], dtype=int), cell_sku, line_sku, 3, 3) == []


def test_simulation_in_groups_keeps_each_cells_distribution(monkeypatch):
    """A deal of 100 at p 0.5 on two SKUs, simulated in one group and in one group per SKU:
    each SKU-month is still 0 or 100 with even odds (the groups draw the deal anew)."""
    import sopkit.lumpy as lumpy_module

    rows = [("2024-06-01", "D-1", sku, "2024-08-01", 100.0, 0.5, "Ann", "commit")
            for sku in ("Y", "Z")]
    model = LumpyDemandModel(random_state=0).fit(
        acts([("Y", "2024-05-01", 0.0), ("Z", "2024-05-01", 0.0)]), pipe(rows), cycle="2024-07")
    together = model.predict(stat(["Y", "Z"], "2024-07-01", 3))
    monkeypatch.setattr(lumpy_module, "SIMULATION_CELLS", 1)
    apart = model.predict(stat(["Y", "Z"], "2024-07-01", 3))
    for plan in (together, apart):
        august = plan[plan["period"] == M("2024-08-01")]
        assert august["qty_consensus"].tolist() == pytest.approx([50.0, 50.0])
        assert august["qty_q10"].tolist() == [0.0, 0.0]
        assert august["qty_q90"].tolist() == [100.0, 100.0]


def test_parameters_are_checked_in_fit():
    actuals, pipeline = calibration_case()
    with pytest.raises(ParameterError):
        LumpyDemandModel(slip_window=(1, 3)).fit(actuals, pipeline, cycle="2024-07")
    with pytest.raises(ParameterError):
        LumpyDemandModel(win_share=0).fit(actuals, pipeline, cycle="2024-07")
    with pytest.raises(ParameterError):
        LumpyDemandModel().predict(stat(["X"], "2024-07-01", 2))


# ---------------------------------------------------------------- the sample company


@pytest.fixture(scope="module")
def sample():
    return make_sample(seed=0, n_skus=40, n_months=24)


def test_sample_fit_and_predict(sample):
    cycle = M("2026-11-01")
    model = LumpyDemandModel().fit(sample["actuals"], sample["pipeline"], cycle=cycle,
                                   adjustments=sample["adjustments"],
                                   products=sample["products"])
    snaps = model.deal_snapshots_
    resolved = snaps[snaps["resolved"].astype(bool)]
    assert len(resolved) > 0
    # the sample's sales are optimistic: calibrated below stated on average
    calibrated = model.calibrated_probability(resolved)
    assert calibrated.mean() < resolved["probability"].mean()
    recent = sample["actuals"][sample["actuals"]["period"] >= M("2026-05-01")]
    level = recent.groupby("sku")["qty"].mean()
    forecast = stat(list(level.index), cycle, 12)
    scale = np.repeat(level.to_numpy(), 12)
    forecast["qty_forecast"] = scale
    for column, factor in (("qty_q10", 0.5), ("qty_q50", 1.0), ("qty_q90", 1.6)):
        forecast[column] = scale * factor
    plan = model.predict(forecast, promotions=sample["promotions"],
                         products=sample["products"])
    assert not plan.duplicated(["sku", "period"]).any()
    q = plan[["qty_q10", "qty_q50", "qty_q90"]].to_numpy()
    assert (q >= 0).all() and (np.diff(q, axis=1) >= 0).all()
    parts = plan[["qty_stat_unannounced", "qty_pipeline", "qty_adjustment", "qty_promo"]]
    np.testing.assert_allclose(plan["qty_consensus"], parts.sum(axis=1).clip(lower=0))
    assert plan["qty_pipeline"].sum() > 0
    busiest = plan.loc[plan["qty_pipeline"].idxmax()]
    sentence = model.explain(busiest["sku"], busiest["period"])
    assert "calibrated" in sentence and sentence.endswith(".")


def test_adjustment_judged_against_the_forecast_of_the_cycle_it_was_made_for():
    # Recorded in 2024-02, so made in cycle 2024-03 against that cycle's statistics (90),
    # not the 2024-02 cycle's (100). A sold 100 after +10: with 90, δ·(a − s) = 10·10 →
    # β = 100 / 100 = 1; with the older 100 it would have been 0.
    actuals, adjustments, history = adjustment_case()
    later = history.assign(snapshot=M("2024-03-01"), qty_stat=90.0)
    model = LumpyDemandModel(prior_strength=0).fit(
        actuals, None, cycle="2024-07", adjustments=adjustments,
        stat_history=pd.concat([history, later], ignore_index=True))
    outcomes = model.adjustment_outcomes_
    assert (outcomes.loc[outcomes["owner"] == "Up", "qty_stat"] == 90.0).all()
    beta = model.adjustment_bias_.set_index(["owner", "direction"])["beta"]
    assert beta.loc[("Up", "up")] == pytest.approx(1.0)


# ---------------------------------------------------------------- the consensus arithmetic
# No past deal has resolved and no adjustment has a track record here, so stated
# probabilities stand, deals land in their stated month (slip 0), nothing is taken off
# the statistics and adjustments count at face value: every number below is by hand.

CYCLE = M("2024-07-01")
PLAN = pd.date_range("2024-07-01", periods=3, freq="MS")


def plan_forecast(skus=("A", "B", "D"), level=None) -> pd.DataFrame:
    """Statistics of 10 (A), 100 (B), 20 (D) a month; q10 / q50 / q90 = 0.5 / 1 / 1.5 × that."""
    level = level or {"A": 10.0, "B": 100.0, "D": 20.0}
    rows = [(sku, period, level[sku], 0.5 * level[sku], level[sku], 1.5 * level[sku])
            for sku in skus for period in PLAN]
    frame = pd.DataFrame(rows, columns=["sku", "period", "qty_forecast", "qty_q10", "qty_q50",
                                        "qty_q90"])
    return frame.assign(model="ses", demand_class="smooth")


def plan_inputs():
    # D, being phased out, still sells 20 a month: its run rate does not cap its statistics
    actuals = acts([(sku, p, {"B": 100.0, "D": 20.0}.get(sku, 0.0)) for sku in ("A", "B", "D")
                    for p in pd.date_range("2023-07-01", "2024-06-01", freq="MS")])
    pipeline = pipe([
        ("2024-07-01", "D4", "B", "2024-09-01", 200.0, 0.8, "Ann", "propose"),
        ("2024-07-01", "D5", "A", "2024-08-01", 40.0, 0.25, "Ann", "qualify"),
        ("2024-07-01", "D6", "N", "2024-08-01", 30.0, 0.5, "Bo", "commit"),  # no forecast
    ])
    adjustments = pd.DataFrame({
        "snapshot": pd.to_datetime(["2024-06-01", "2024-07-01", "2024-07-01"]),
        "owner": ["ann", "ann", "bob"], "sku": ["B", "B", "B"],
        "period": pd.to_datetime(["2024-09-01"] * 3), "qty_delta": [10.0, -5.0, 8.0]})
    promotions = pd.DataFrame({"promo_id": ["P1"], "sku": ["B"],
                               "start_period": [M("2024-08-01")],
                               "end_period": [M("2024-09-01")], "lift": [0.2]})
    products = pd.DataFrame({
        "sku": ["A", "B", "C", "D"], "family": "F",
        "lifecycle_status": ["active", "active", "npi", "eol"],
        "launch_period": [pd.NaT, pd.NaT, M("2024-08-01"), pd.NaT],
        "eol_period": [pd.NaT, pd.NaT, pd.NaT, M("2024-07-01")],
        "launch_volume": [np.nan, np.nan, 90.0, np.nan]})
    return actuals, pipeline, adjustments, promotions, products


@pytest.fixture(scope="module")
def hand_plan():
    actuals, pipeline, adjustments, promotions, products = plan_inputs()
    model = LumpyDemandModel(random_state=0).fit(actuals, pipeline, cycle=CYCLE,
                                                 adjustments=adjustments, products=products)
    plan = model.predict(plan_forecast(), promotions=promotions, products=products)
    return model, plan


def cell(plan: pd.DataFrame, sku: str, period: str) -> pd.Series:
    return plan.set_index(["sku", "period"]).loc[(sku, M(period))]


def test_consensus_parts_by_hand(hand_plan):
    model, plan = hand_plan
    assert list(plan.columns) == [
        "sku", "period", "qty_stat", "announced_share", "qty_stat_unannounced", "qty_pipeline",
        "qty_adjustment_raw", "qty_adjustment", "qty_promo", "qty_consensus", "qty_q10",
        "qty_q50", "qty_q90", "model", "demand_class"]
    assert sorted(plan["sku"].unique()) == ["A", "B", "C", "D", "N"]
    assert len(plan) == 5 * 3 and not plan.duplicated(["sku", "period"]).any()
    assert (plan["announced_share"] == 0).all()  # nothing announced has resolved yet
    b = cell(plan, "B", "2024-09")
    # D4: 200 at a stated 0.8 (no track record) in its own month; promotion 100 × 0.2;
    # only the latest adjustments snapshot counts: −5 + 8, at face value (β = 1).
    assert b[["qty_stat", "qty_stat_unannounced", "qty_pipeline", "qty_promo",
              "qty_adjustment_raw", "qty_adjustment"]].tolist() == pytest.approx(
        [100, 100, 160, 20, 3, 3])
    assert b["qty_consensus"] == pytest.approx(100 + 160 + 20 + 3)
    assert cell(plan, "B", "2024-07")["qty_consensus"] == pytest.approx(100)
    # D5: 40 × 0.25 on A's 10 of statistics
    assert cell(plan, "A", "2024-08")[["qty_pipeline", "qty_consensus"]].tolist() == \
        pytest.approx([10, 20])
    # D6 is for a SKU without a forecast: it still reaches the plan, on zero statistics
    n = plan[plan["sku"] == "N"]
    assert n["qty_consensus"].tolist() == pytest.approx([0, 15, 0])
    assert set(n["model"]) == {"none"}


def test_consensus_life_cycle_by_hand(hand_plan):
    _, plan = hand_plan
    # C launches 2024-08 with 90 a month and no analog: the linear ramp 90 × 1/3, 2/3
    c = plan[plan["sku"] == "C"]
    assert c["qty_consensus"].tolist() == pytest.approx([0, 30, 60])
    assert set(c["model"]) == {"npi_ramp"} and set(c["demand_class"]) == {"new"}
    assert (c["qty_q90"] > c["qty_q10"]).iloc[1:].all()
    # D's end of life is 2024-07: its last month at a quarter of the statistics, then nothing
    d = plan[plan["sku"] == "D"].set_index("period")
    assert d.loc[M("2024-07-01"), ["qty_consensus", "qty_q90"]].tolist() == \
        pytest.approx([20 * 0.25, 30 * 0.25])
    assert (d.loc[M("2024-08-01"):, ["qty_stat", "qty_consensus", "qty_q90"]] == 0).all().all()
    assert (d.loc[M("2024-08-01"):, "model"] == "eol").all()


def test_consensus_quantiles_by_hand(hand_plan):
    _, plan = hand_plan
    q = plan[["qty_q10", "qty_q50", "qty_q90"]].to_numpy()
    assert (q >= 0).all() and (np.diff(q, axis=1) >= 0).all()
    # no deal in B's August: the statistical quantiles × (1 + lift), exactly
    assert cell(plan, "B", "2024-08")[["qty_q10", "qty_q90"]].tolist() == \
        pytest.approx([50 * 1.2, 150 * 1.2])
    # September: statistics × 1.2 + 3, plus D4's 200 with probability 0.8. Lost in 20 % of
    # the draws, all below the won ones, so q10 is the no-deal median 100 × 1.2 + 3 = 123;
    # q50 and q90 are the won draws' 37.5th and 87.5th percentiles ((q − 0.2) / 0.8):
    # 203 + 1.2 × (100 − 0.125 / 0.4 × 50) and 203 + 1.2 × (100 + 0.375 / 0.4 × 50).
    b = cell(plan, "B", "2024-09")
    assert b["qty_q10"] == pytest.approx(123, rel=0.04)
    assert b["qty_q50"] == pytest.approx(203 + 1.2 * 84.375, rel=0.02)
    assert b["qty_q90"] == pytest.approx(203 + 1.2 * 146.875, rel=0.02)


def test_consensus_floors_at_zero_and_says_so():
    actuals, *_ = plan_inputs()
    adjustments = pd.DataFrame({"snapshot": [CYCLE], "owner": ["ann"], "sku": ["A"],
                                "period": [CYCLE], "qty_delta": [-500.0]})
    model = LumpyDemandModel().fit(actuals, None, cycle=CYCLE, adjustments=adjustments)
    first = model.predict(plan_forecast(("A",))).iloc[0]
    assert first[["qty_adjustment", "qty_consensus", "qty_q90"]].tolist() == [-500, 0, 0]
    assert "(floored at 0)" in model.explain("A", "2024-07")


def test_without_pipeline_or_adjustments_the_consensus_is_the_statistics():
    actuals, *_ = plan_inputs()
    forecast = plan_forecast()
    plan = LumpyDemandModel().fit(actuals, None, cycle=CYCLE).predict(forecast)
    np.testing.assert_allclose(plan["qty_consensus"], forecast["qty_forecast"])
    np.testing.assert_allclose(plan[["qty_q10", "qty_q50", "qty_q90"]],
                               forecast[["qty_q10", "qty_q50", "qty_q90"]])
    assert (plan["announced_share"] == 0).all() and (plan["qty_pipeline"] == 0).all()


def test_explain_names_every_part(hand_plan):
    model, plan = hand_plan
    text = model.explain("B", "2024-09")
    assert text.startswith("B in 2024-09: consensus 283.0 = baseline (statistical forecast, "
                           "ses) 100.0 + pipeline 160.0")
    assert "D4 (Ann, propose, 200 units): stated 80% → calibrated 80%, 100% of it" in text
    assert "promotion 20.0 + adjustments 3.0" in text
    assert "ann -5.0 → -5.0" in text and "bob +8.0 → +8.0" in text
    # every quantile of the plan, in order, so the words match any band a chart draws
    row = cell(plan, "B", "2024-09")
    assert text.endswith(f"; quantiles q10 {row['qty_q10']:,.1f}, q50 {row['qty_q50']:,.1f}, "
                         f"q90 {row['qty_q90']:,.1f}.")
    with pytest.raises(ParameterError):
        model.explain("Z", "2024-09")


def test_duplicate_forecast_rows_are_refused_by_name():
    actuals, *_ = plan_inputs()
    model = LumpyDemandModel().fit(actuals, None, cycle=CYCLE)
    frame = plan_forecast(("A",))
    with pytest.raises(DataError) as caught:
        model.predict(pd.concat([frame, frame]))
    assert "duplicated (sku, period)" in str(caught.value) and "A 2024-07" in str(caught.value)


def test_bands_do_not_depend_on_row_order_or_other_skus(hand_plan):
    # The simulation's draws are keyed by SKU-month and deal id: shuffling the pipeline's
    # rows, or adding a deal for another SKU, leaves every other band as it was.
    _, plan = hand_plan
    actuals, pipeline, adjustments, promotions, products = plan_inputs()

    def predict(deals):
        model = LumpyDemandModel(random_state=0).fit(actuals, deals, cycle=CYCLE,
                                                     adjustments=adjustments, products=products)
        return model.predict(plan_forecast(), promotions=promotions, products=products)

    shuffled = predict(pipeline.iloc[::-1].reset_index(drop=True))
    pd.testing.assert_frame_equal(shuffled, plan)
    extra = pipe([("2024-07-01", "D9", "A", "2024-09-01", 70.0, 0.5, "Bo", "commit")])
    more = predict(pd.concat([pipeline, extra], ignore_index=True))
    columns = ["qty_q10", "qty_q50", "qty_q90"]
    b = more["sku"] == "B"
    np.testing.assert_array_equal(more.loc[b, columns], plan.loc[plan["sku"] == "B", columns])
    assert not np.array_equal(more.loc[~b, columns], plan.loc[plan["sku"] != "B", columns])


def test_counter_based_uniforms_are_uniform_and_keyed():
    from sopkit.lumpy import _uniforms

    keys = np.arange(200, dtype=np.uint64)
    u = _uniforms(keys, 500)
    assert u.shape == (200, 500) and u.min() >= 0 and u.max() < 1
    # 100,000 draws: mean 1/2 and variance 1/12 within a few standard errors
    assert abs(u.mean() - 0.5) < 0.004 and abs(u.var() - 1 / 12) < 0.002
    assert stats.kstest(u.ravel(), "uniform").pvalue > 0.001
    # a key's draws are the same whatever else is drawn; neighbouring keys are unrelated
    np.testing.assert_array_equal(_uniforms(keys[[7]], 500)[0], u[7])
    assert abs(np.corrcoef(u[0], u[1])[0, 1]) < 0.2
