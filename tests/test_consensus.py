"""Consensus: announced share, pipeline calibration, promotions, adjustments, lifecycle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.consensus import (
    announced_share,
    build_consensus,
    calibrate_stages,
    deal_outcomes,
    explain,
    npi_ramp,
)
from sopkit.errors import DataError, ParameterError
from sopkit.forecast import StatisticalForecaster

M = pd.Timestamp
CYCLE = M("2024-07-01")
HISTORY = pd.date_range("2023-07-01", "2024-06-01", freq="MS")  # last actual 2024-06
FUTURE = pd.date_range("2024-07-01", periods=3, freq="MS")


def actuals_frame() -> pd.DataFrame:
    """A: only the 50 units of deal D1 (2024-03). B: 100 every month."""
    a = [50.0 if p == M("2024-03-01") else 0.0 for p in HISTORY]
    frame = pd.DataFrame({
        "sku": ["A"] * 12 + ["B"] * 12,
        "period": list(HISTORY) * 2,
        "qty": a + [100.0] * 12,
    })
    frame["sku"] = frame["sku"].astype("string")
    return frame


def pipeline_frame() -> pd.DataFrame:
    rows = [
        # snapshot, deal, sku, period, qty, probability, stage
        ("2024-01", "D1", "A", "2024-03", 50, 0.9, "commit"),
        ("2024-02", "D1", "A", "2024-03", 50, 0.9, "commit"),
        ("2024-01", "D2", "B", "2024-02", 100, 0.8, "propose"),
        ("2024-01", "D3", "B", "2024-04", 1000, 0.8, "propose"),
        ("2024-02", "D3", "B", "2024-04", 1000, 0.8, "propose"),
        # the current snapshot
        ("2024-07", "D4", "B", "2024-09", 200, 0.8, "propose"),
        ("2024-07", "D5", "A", "2024-08", 40, 0.25, "qualify"),
    ]
    frame = pd.DataFrame(rows, columns=["snapshot", "deal_id", "sku", "period", "qty",
                                        "probability", "stage"])
    for column in ("snapshot", "period"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("deal_id", "sku", "stage"):
        frame[column] = frame[column].astype("string")
    return frame


def forecast_frame(skus=("A", "B", "D"), level=None) -> pd.DataFrame:
    level = level or {"A": 10.0, "B": 100.0, "D": 20.0}
    rows = []
    for sku in skus:
        for period in FUTURE:
            mean = level[sku]
            rows.append((sku, period, mean, 0.5 * mean, mean, 1.5 * mean, "ses", "smooth"))
    frame = pd.DataFrame(rows, columns=["sku", "period", "qty_forecast", "qty_q10", "qty_q50",
                                        "qty_q90", "model", "demand_class"])
    frame["sku"] = frame["sku"].astype("string")
    return frame


def products_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "sku": pd.array(["A", "B", "C", "D"], dtype="string"),
        "lifecycle_status": ["active", "active", "npi", "eol"],
        "launch_period": [pd.NaT, pd.NaT, M("2024-08-01"), pd.NaT],
        "eol_period": [pd.NaT, pd.NaT, pd.NaT, M("2024-07-01")],
        "launch_volume": [np.nan, np.nan, 90.0, np.nan],
    })


# --------------------------------------------------------------------------- pipeline history


def test_deal_outcomes_by_hand():
    outcomes = deal_outcomes(pipeline_frame(), actuals_frame(), cycle=CYCLE).set_index("deal_id")
    # last actual 2024-06 -> resolved if expected by 2024-04
    assert outcomes["resolved"].to_dict() == {"D1": True, "D2": True, "D3": True,
                                              "D4": False, "D5": False}
    # D1: A sold 50 within 2024-01..2024-05 >= 0.8 × 50
    # D2: B sold 500 within 2023-12..2024-04 >= 80 (base demand counts: a known limit)
    # D3: B sold 500 within 2024-02..2024-06 <  800
    assert outcomes["won"].to_dict() == {"D1": True, "D2": True, "D3": False,
                                         "D4": False, "D5": False}
    assert outcomes.loc["D3", "qty_actual_window"] == 500
    assert outcomes.loc["D1", "first_snapshot"] == M("2024-01-01")
    assert outcomes.loc["D1", "last_snapshot"] == M("2024-02-01")


def test_stage_calibration_by_hand():
    outcomes = deal_outcomes(pipeline_frame(), actuals_frame(), cycle=CYCLE)
    table = calibrate_stages(pipeline_frame(), outcomes, cycle=CYCLE).set_index("stage")
    # commit: D1 won -> 1 deal, stated 0.9, realised 1.0, weight 1 / (1 + 10)
    assert table.loc["commit", "n_deals"] == 1
    assert table.loc["commit", "win_rate"] == 1.0
    assert table.loc["commit", "weight"] == pytest.approx(1 / 11)
    # propose: D2 won, D3 lost -> stated 0.8, realised 0.5, weight 2 / 12
    assert table.loc["propose", "n_deals"] == 2
    assert table.loc["propose", "stated_probability"] == pytest.approx(0.8)
    assert table.loc["propose", "win_rate"] == 0.5
    assert table.loc["propose", "weight"] == pytest.approx(2 / 12)
    # qualify: only the open D5 -> no evidence
    assert table.loc["qualify", "n_deals"] == 0
    assert table.loc["qualify", "weight"] == 0


def test_announced_share_by_hand():
    outcomes = deal_outcomes(pipeline_frame(), actuals_frame(), cycle=CYCLE)
    shares = announced_share(outcomes, actuals_frame(), cycle=CYCLE).set_index("sku")
    # window 2024-01 (first snapshot) .. 2024-04 (last actual - 2)
    # A: won D1 (50) / A's demand 50 -> 1.0 ; B: won D2 (100) / B's demand 4 × 100 -> 0.25
    assert shares["announced_share"].to_dict() == {"A": 1.0, "B": 0.25}


# --------------------------------------------------------------------------- the consensus


@pytest.fixture
def consensus() -> pd.DataFrame:
    promotions = pd.DataFrame({
        "promo_id": ["P1"], "sku": pd.array(["B"], dtype="string"),
        "start_period": [M("2024-08-01")], "end_period": [M("2024-09-01")], "lift": [0.2],
    })
    adjustments = pd.DataFrame({
        "snapshot": [M("2024-06-01"), M("2024-07-01"), M("2024-07-01")],
        "owner": ["ann", "ann", "bob"],
        "sku": pd.array(["B", "B", "B"], dtype="string"),
        "period": [M("2024-09-01")] * 3,
        "qty_delta": [10.0, -5.0, 8.0],
    })
    return build_consensus(
        forecast_frame(), cycle=CYCLE, actuals=actuals_frame(), pipeline=pipeline_frame(),
        adjustments=adjustments, promotions=promotions, products=products_frame(),
    )


def row(frame: pd.DataFrame, sku: str, period: str) -> pd.Series:
    return frame.set_index(["sku", "period"]).loc[(sku, M(period))]


def test_consensus_columns(consensus):
    assert list(consensus.columns) == [
        "sku", "period", "qty_stat", "announced_share", "qty_stat_unannounced", "qty_pipeline",
        "qty_promo", "qty_adjustment", "qty_consensus", "qty_q10", "qty_q50", "qty_q90",
        "model", "demand_class",
    ]
    assert len(consensus) == 4 * 3  # A, B, C (npi), D (eol)
    assert not consensus.duplicated(["sku", "period"]).any()


def test_parts_by_hand(consensus):
    b = row(consensus, "B", "2024-09")
    assert b["qty_stat"] == 100
    assert b["announced_share"] == 0.25
    assert b["qty_stat_unannounced"] == 75
    # D4: propose 0.8 calibrated to (2/12) × 0.5 + (10/12) × 0.8 = 0.75 -> 200 × 0.75
    assert b["qty_pipeline"] == pytest.approx(150)
    assert b["qty_promo"] == pytest.approx(20)  # 100 × 0.2
    assert b["qty_adjustment"] == 3  # latest snapshot only: -5 + 8
    assert b["qty_consensus"] == pytest.approx(75 + 150 + 20 + 3)
    b7 = row(consensus, "B", "2024-07")
    assert b7["qty_promo"] == 0 and b7["qty_pipeline"] == 0
    assert b7["qty_consensus"] == 75


def test_no_double_counting_of_announced_demand(consensus):
    # All of A's past demand came through the pipeline: the statistics are not added again.
    a = consensus[consensus["sku"] == "A"]
    assert (a["announced_share"] == 1).all()
    assert (a["qty_stat_unannounced"] == 0).all()
    # D5: an unseen stage keeps its stated probability, 40 × 0.25
    assert row(consensus, "A", "2024-08")["qty_pipeline"] == pytest.approx(10)
    assert row(consensus, "A", "2024-08")["qty_consensus"] == pytest.approx(10)
    assert row(consensus, "A", "2024-07")["qty_consensus"] == 0


def test_npi_ramp_and_end_of_life(consensus):
    c = consensus[consensus["sku"] == "C"]
    # launch 2024-08 with 90/month, linear over 3 months: 0, 30, 60
    np.testing.assert_allclose(c["qty_stat"], [0, 30, 60])
    assert set(c["model"]) == {"npi_ramp"}
    assert set(c["demand_class"]) == {"new"}
    assert (c["qty_q90"] > c["qty_q10"]).iloc[1:].all()
    d = consensus[consensus["sku"] == "D"].set_index("period")
    # eol 2024-07: its last month, faded to a quarter of the statistics (20 × 0.25), nothing after
    assert d.loc[M("2024-07-01"), "qty_consensus"] == pytest.approx(5.0)
    assert d.loc[M("2024-07-01"), "qty_q90"] == pytest.approx(30 * 0.25)
    assert (d.loc[M("2024-08-01"):, ["qty_stat", "qty_consensus", "qty_q90"]] == 0).all().all()
    assert (d.loc[M("2024-08-01"):, "model"] == "eol").all()


def test_npi_ramp_function():
    ramp = npi_ramp(products_frame(), pd.date_range("2024-07-01", periods=5, freq="MS"))
    np.testing.assert_allclose(ramp["qty_stat"], [0, 30, 60, 90, 90])


def test_consensus_quantiles(consensus):
    q = consensus[["qty_q10", "qty_q50", "qty_q90"]].to_numpy()
    assert (q >= 0).all()
    assert (np.diff(q, axis=1) >= 0).all()
    # no deal: stat quantiles × (1 - share + lift) + adjustment, exactly
    b8 = row(consensus, "B", "2024-08")
    assert b8["qty_q10"] == pytest.approx(50 * (1 - 0.25 + 0.2))
    assert b8["qty_q90"] == pytest.approx(150 * (1 - 0.25 + 0.2))
    # with D4 (won 75 %): q10 mostly without the deal, q90 with it
    b9 = row(consensus, "B", "2024-09")
    assert b9["qty_q10"] < 100 * 0.95 + 3 + 50
    assert b9["qty_q90"] > 200
    # the mean of the simulated consensus is the consensus (up to Monte-Carlo noise)
    assert b9["qty_q10"] < b9["qty_consensus"] < b9["qty_q90"]


def test_consensus_is_seeded():
    args = {"cycle": CYCLE, "actuals": actuals_frame(), "pipeline": pipeline_frame()}
    first = build_consensus(forecast_frame(), **args)
    again = build_consensus(forecast_frame(), **args)
    other = build_consensus(forecast_frame(), random_state=1, **args)
    pd.testing.assert_frame_equal(first, again)
    assert not first["qty_q90"].equals(other["qty_q90"])


def test_without_optional_tables_consensus_is_the_statistics():
    result = build_consensus(forecast_frame(), cycle="2024-07")
    np.testing.assert_allclose(result["qty_consensus"], result["qty_stat"])
    np.testing.assert_allclose(result["qty_q90"], forecast_frame()["qty_q90"])
    assert (result["announced_share"] == 0).all()


def test_negative_adjustment_floors_at_zero():
    adjustments = pd.DataFrame({
        "snapshot": [CYCLE], "owner": ["ann"], "sku": pd.array(["A"], dtype="string"),
        "period": [M("2024-07-01")], "qty_delta": [-500.0],
    })
    result = build_consensus(forecast_frame(("A",)), cycle=CYCLE, adjustments=adjustments)
    first = result.iloc[0]
    assert first["qty_adjustment"] == -500
    assert first["qty_consensus"] == 0
    assert first["qty_q90"] == 0
    assert "floored at 0" in explain(result, "A", "2024-07")


def test_pipeline_without_actuals_uses_stated_probabilities():
    result = build_consensus(forecast_frame(("B",)), cycle=CYCLE, pipeline=pipeline_frame())
    assert row(result, "B", "2024-09")["qty_pipeline"] == pytest.approx(160)  # 200 × 0.8
    # a deal for a SKU without forecast still reaches the plan
    assert row(result, "A", "2024-08")["qty_pipeline"] == pytest.approx(10)


def test_explain(consensus):
    text = explain(consensus, "B", M("2024-09-01"))
    assert text.startswith("B in 2024-09: consensus 248 = statistical 100 (ses, smooth)")
    assert "25% usually announced" in text
    assert "pipeline 150" in text and "promotion 20" in text and "adjustments 3" in text
    with pytest.raises(ParameterError):
        explain(consensus, "Z", "2024-09")


def test_duplicate_forecast_rows_rejected():
    frame = forecast_frame(("A",))
    with pytest.raises(DataError):
        build_consensus(pd.concat([frame, frame]), cycle=CYCLE)


def test_end_to_end_with_the_forecaster():
    forecast = StatisticalForecaster(horizon=3).fit(actuals_frame()).predict()
    result = build_consensus(forecast, cycle=CYCLE, actuals=actuals_frame(),
                             pipeline=pipeline_frame())
    assert list(result["period"].unique()) == list(FUTURE)
    assert (result["qty_consensus"] >= 0).all()
    q = result[["qty_q10", "qty_q50", "qty_q90", "qty_q95"]].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all()


def test_calibration_summary_and_deal_table_by_hand():
    from types import SimpleNamespace

    from sopkit.consensus import calibration_summary, deal_table

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
    pipeline = pd.DataFrame({"snapshot": pd.to_datetime(["2026-10-01"]), "deal_id": ["D8"],
                             "sku": ["B"], "period": pd.to_datetime(["2027-01-01"]),
                             "note": ["<script>x</script>"]})
    deals = deal_table(model, pipeline)
    assert deals["deal_id"].tolist() == ["D8", "D9"]  # 20 expected before 5
    assert deals.loc[0, "note"] == "<script>x</script>"  # kept as entered; display escapes
    assert pd.isna(deals.loc[1, "note"])


def test_audit_trail_keeps_what_was_entered_and_what_was_applied():
    from types import SimpleNamespace

    from sopkit.consensus import audit_trail

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
