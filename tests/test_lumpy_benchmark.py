"""The lumpy benchmark's oracle rows (benchmarks/lumpy_blend.py), on a hand-made case."""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import lumpy_blend  # noqa: E402


def test_oracles_place_the_true_outcomes_and_months():
    jan, feb, mar = pd.to_datetime(["2027-01-01", "2027-02-01", "2027-03-01"])
    periods = pd.DatetimeIndex([jan, feb, mar])
    index = pd.MultiIndex.from_arrays([pd.array(["A"] * 3, dtype="string"), periods])
    lines = pd.DataFrame({"deal_id": ["D1", "D2"], "sku": ["A", "A"], "qty": [10.0, 4.0],
                          "probability_calibrated": [0.5, 0.25], "period": [jan, mar]})
    # D1 spread 60/40 over January and February by the slip; D2 all in March.
    months = pd.DataFrame({"deal_id": ["D1", "D1", "D2"], "sku": ["A", "A", "A"],
                           "period": [jan, feb, mar], "share_landing": [0.6, 0.4, 1.0]})
    model = SimpleNamespace(open_deals_=lines.astype({"deal_id": "string", "sku": "string"}),
                            open_deal_months_=months.astype({"deal_id": "string",
                                                             "sku": "string"}))
    truth = pd.DataFrame({"deal_id": ["D1", "D2"], "sku": ["A", "A"], "won": [True, False],
                          "landing": [feb, pd.NaT]}).astype({"deal_id": "string",
                                                              "sku": "string"})
    rest = np.array([1.0, 1.0, 1.0])  # unannounced statistics and adjustments
    out = lumpy_blend.oracles(model, truth, index, periods, rest)
    # Outcomes known: won D1 at full quantity, still spread 6 / 4; lost D2 gone.
    np.testing.assert_allclose(out[lumpy_blend.ORACLE_OUTCOMES], [7.0, 5.0, 1.0])
    # Months known: D1 (10 × 0.5) in February where it landed; lost D2 (4 × 0.25) stays in March.
    np.testing.assert_allclose(out[lumpy_blend.ORACLE_MONTHS], [1.0, 6.0, 2.0])
    # Both: D1's 10 in February, nothing for D2.
    np.testing.assert_allclose(out[lumpy_blend.ORACLE_BOTH], [1.0, 11.0, 1.0])


def test_sample_truth_dates_won_lines_only():
    truth = lumpy_blend.sample_outcomes(open_at_end=True)
    closed = lumpy_blend.sample_outcomes()
    assert len(truth) > len(closed) > 0  # lines open at the end are kept only when asked
    assert truth.loc[truth["won"], "landing"].notna().all()
    assert truth.loc[~truth["won"], "landing"].isna().all()
    assert (closed["landing"].dropna() < pd.Timestamp("2026-11-01")).all()


def _rows(method, values):
    return [{"sku": sku, "method": method, "sum_actual": a, "sum_abs_error": e}
            for sku, a, e in values]


def test_gain_uncertainty_pools_skus_and_leaves_one_out():
    # A over two origins: actual 10, |e| 10 vs 4 (saves 6); B: 20, 8 vs 10 (costs 2);
    # C: 10, 6 vs 6. Gain 100 × 4 / 40 = 10 points; without B 100 × 6 / 20 = 30; without
    # A 100 × (-2) / 30 = -6.67. Another method's rows are ignored.
    scores = pd.DataFrame(
        _rows("statistical", [("A", 4, 5), ("A", 6, 5), ("B", 20, 8), ("C", 10, 6)])
        + _rows("lumpy model", [("A", 4, 1), ("A", 6, 3), ("B", 20, 10), ("C", 10, 6)])
        + _rows("sales as-is", [("A", 4, 100), ("A", 6, 100), ("B", 20, 0), ("C", 10, 0)]))
    out = lumpy_blend.gain_uncertainty(scores, n_boot=500)
    assert out["n_skus"] == 3
    assert out["gain"] == pytest.approx(10.0)
    assert (out["worst"], out["worst_points"], out["without_worst"]) == ("B", pytest.approx(-5.0),
                                                                        pytest.approx(30.0))
    assert (out["best"], out["best_points"], out["without_best"]) == ("A", pytest.approx(15.0),
                                                                     pytest.approx(-20 / 3))
    assert out["low"] < 10.0 < out["high"]
    # A draw's gain is an actual-weighted mean of the SKUs' own gains (A 60, B -10, C 0).
    assert -10.0 <= out["low"] and out["high"] <= 60.0
    assert "| +10.0 points |" in lumpy_blend.gain_markdown([{"data": "x", **out}])


def test_gain_uncertainty_interval_collapses_when_every_sku_gains_alike():
    # Every SKU saves 20 % of its actual: every bootstrap draw gains exactly 20 points.
    values = [("A", 10, 5), ("B", 30, 9), ("C", 5, 2)]
    scores = pd.DataFrame(_rows("statistical", values) + _rows(
        "lumpy model", [(s, a, e - 0.2 * a) for s, a, e in values]))
    out = lumpy_blend.gain_uncertainty(scores, n_boot=200)
    assert out["gain"] == pytest.approx(20.0)
    assert out["low"] == pytest.approx(20.0) and out["high"] == pytest.approx(20.0)


def test_whole_share_takes_the_whole_announced_share_off_every_month():
    # P: share 0.4 → 10 × 0.6 + 3 pipeline + 1 adjustment = 10; Q (no share): 5 + 0 − 7 → 0.
    model = SimpleNamespace(announced_share_=pd.DataFrame({
        "sku": pd.array(["P"], "string"), "announced_share": [0.4]}))
    consensus = pd.DataFrame({
        "sku": pd.array(["P", "P", "Q"], "string"),
        "period": pd.to_datetime(["2026-01-01", "2026-09-01", "2026-01-01"]),
        "qty_stat": [10.0, 10.0, 5.0], "qty_pipeline": [3.0, 0.0, 0.0],
        "qty_adjustment": [1.0, 0.0, -7.0], "qty_promo": [0.0, 2.0, 0.0]}).set_index(
        ["sku", "period"])
    np.testing.assert_allclose(lumpy_blend.whole_share(model, consensus), [10.0, 8.0, 0.0])


def test_redrawn_summary_counts_by_hand():
    """Two redrawn companies. Seed 1: statistical 1.30 → model 1.15 (gain 15 points), model
    RMSSE 0.60 < global 0.62, WAPE 1.15 > global 1.10, bias −0.30 (outside ±25 %), CRM 1.13.
    Seed 2: 1.20 → 1.12 (gain 8), RMSSE 0.70 > 0.69, WAPE 1.12 < 1.18, bias +0.05, CRM 1.08.
    Mean gain 11.5, median 11.5; gain ≥ 12 in 1; RMSSE beats global in 1, WAPE in 1; bias
    within ±25 % in 1; CRM gains (2 + 4) / 2 = 3 points on average."""
    rows = []
    for seed, values in {1: {"statistical": (0.80, 1.30, 0.0), "global calibration":
                             (0.62, 1.10, -0.1), "lumpy model": (0.60, 1.15, -0.30),
                             lumpy_blend.CRM: (0.59, 1.13, -0.2)},
                         2: {"statistical": (0.90, 1.20, 0.0), "global calibration":
                             (0.69, 1.18, 0.0), "lumpy model": (0.70, 1.12, 0.05),
                             lumpy_blend.CRM: (0.68, 1.08, 0.02)}}.items():
        rows += [{"seed": seed, "method": m, "rmsse": r, "wape": w, "bias": b}
                 for m, (r, w, b) in values.items()]
    text = lumpy_blend.redrawn_markdown(pd.DataFrame(rows))
    assert "| 1 | 130.0% | 110.0% / 0.620 | 115.0% / 0.600 / -30.0% | +15.0 points |" in text
    assert "| +11.5 points (median +11.5) |" in text
    assert text.endswith("Of 2 redrawn companies: WAPE gain ≥ 12 points in 1; the model beats "
                         "the global calibration on RMSSE in 1 and on WAPE in 1; its bias is "
                         "within ±25 % in 1; told the recorded outcomes it gains +3.0 WAPE "
                         "points on average.")


def test_band_scores_by_hand():
    jan, feb = pd.to_datetime(["2027-01-01", "2027-02-01"])
    train = pd.DataFrame({"sku": "A", "qty": [0.0, 2.0, 0.0, 2.0],
                          "period": pd.date_range("2026-09-01", periods=4, freq="MS")})
    test = pd.DataFrame({"sku": ["A", "A"], "period": [jan, feb], "qty": [0.0, 5.0]})
    plan = pd.DataFrame({
        "sku": ["A", "A"], "period": [jan, feb],
        "lumpy model": [1.0, 1.0], "lumpy model qty_q10": [0.0, 0.0],
        "lumpy model qty_q50": [0.0, 1.0], "lumpy model qty_q90": [2.0, 3.0],
        "statistical": [0.0, 0.0], **{f"statistical qty_q{q}": [0.0, 0.0] for q in (10, 50, 90)}})
    scores = pd.concat([lumpy_blend.band_scores(train, test, plan, method)
                        for method in lumpy_blend.BAND_METHODS], ignore_index=True)
    scores["demand_class"] = "lumpy"
    bands = lumpy_blend.summarise_bands("x", scores, {"A"}).set_index(["segment", "method"])
    model = bands.loc[("lumpy/intermittent", "lumpy model")]
    # scale: mean |month-on-month change| of the history = 2. February's 5 is above q90 = 3.
    # pinball, mean of the two months / 2: q10 (0 + 0.1 × 5) / 2 / 2; q50 (0 + 0.5 × 4) / 2 / 2;
    # q90 (0.1 × 2 + 0.9 × 2) / 2 / 2
    assert model[["n_months", "below", "above", "spl_q10", "spl_q50", "spl_q90", "spl"]].tolist() \
        == pytest.approx([2, 0.0, 0.5, 0.125, 0.5, 0.5, 0.375])
    stat = bands.loc[("pipeline SKUs", "statistical")]  # all quantiles 0
    assert stat[["above", "spl_q10", "spl_q50", "spl_q90"]].tolist() == pytest.approx(
        [0.5, 0.125, 0.625, 1.125])
