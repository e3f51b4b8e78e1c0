"""Hold-out accuracy measures, checked against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sopkit.errors import DataError
from sopkit.evaluation import pinball_loss, score_series, series_scales, summarise_scores


def long(series: dict[str, list[float]], start: int = 0, column: str = "qty") -> pd.DataFrame:
    rows = [(sku, start + k, value) for sku, values in series.items()
            for k, value in enumerate(values)]
    return pd.DataFrame(rows, columns=["sku", "period", column])


TRAIN = long({"A": [0, 2, 4, 1], "B": [5, 5, 5]})
ACTUAL = long({"A": [3, 0], "B": [5, 5]}, start=4)
FORECAST = long({"A": [2, 2], "B": [5, 6]}, start=4, column="qty_forecast").assign(
    qty_q90=[4.0, 1.0, 5.0, 5.0])


def test_pinball_loss_by_hand():
    # q = 0.9: under-forecast by 2 costs 0.9 × 2, over-forecast by 2 costs 0.1 × 2
    np.testing.assert_allclose(pinball_loss([5, 1, 3], [3, 3, 3], 0.9), [1.8, 0.2, 0.0])


def test_scales_skip_leading_zeros():
    # A: leading 0 dropped -> 2, 4, 1: changes 2, -3 -> s1 = 2.5, s2 = (4 + 9) / 2 = 6.5
    scales = series_scales(TRAIN).set_index("sku")
    assert scales.loc["A", "n_train"] == 3
    assert scales.loc["A", "scale_mae"] == pytest.approx(2.5)
    assert scales.loc["A", "scale_mse"] == pytest.approx(6.5)
    assert scales.loc["B", "scale_mae"] == 0.0
    never = series_scales(long({"Z": [0, 0]})).set_index("sku")
    assert never.loc["Z", "n_train"] == 0 and np.isnan(never.loc["Z", "scale_mae"])


def test_scores_by_hand():
    per_series = score_series(TRAIN, ACTUAL, FORECAST, quantiles=[0.9]).set_index("sku")
    # A: errors -1, +2 -> MAE 1.5 / 2.5 = 0.6; MSE 2.5 / 6.5 -> RMSSE sqrt(5 / 13)
    assert per_series.loc["A", "mase"] == pytest.approx(0.6)
    assert per_series.loc["A", "rmsse"] == pytest.approx(math.sqrt(2.5 / 6.5))
    # q90 forecasts 4, 1 against 3, 0: losses 0.1, 0.1 -> mean 0.1 / 2.5 = 0.04
    assert per_series.loc["A", "spl_q90"] == pytest.approx(0.04)
    # B is constant: scale 0, its scaled errors are undefined
    assert np.isnan(per_series.loc["B", "mase"]) and np.isnan(per_series.loc["B", "spl_q90"])

    summary = summarise_scores(per_series.reset_index())
    assert summary["n_series"] == 2 and summary["n_scored"] == 1
    assert summary["n_zero_scale"] == 1
    assert summary["mase"] == pytest.approx(0.6)
    assert summary["spl_q90"] == pytest.approx(0.04) and summary["spl"] == pytest.approx(0.04)
    # pooled over both series: |errors| 1 + 2 + 0 + 1 = 4, actuals 13, Σ(f - a) = 15 - 13
    assert summary["wape"] == pytest.approx(4 / 13)
    assert summary["bias"] == pytest.approx(2 / 13)


def test_mean_over_series_not_pooled():
    train = long({"A": [1, 3], "C": [1, 2]})  # scales 2 and 1
    actual = long({"A": [3], "C": [2]}, start=2)
    forecast = long({"A": [1], "C": [2]}, start=2, column="qty_forecast")
    summary = summarise_scores(score_series(train, actual, forecast))
    # MASE A = 2 / 2 = 1, C = 0 -> mean 0.5; no quantiles -> spl NaN
    assert summary["mase"] == pytest.approx(0.5) and np.isnan(summary["spl"])


def test_missing_forecast_is_an_error():
    with pytest.raises(DataError, match="1 hold-out periods have no forecast"):
        score_series(TRAIN, ACTUAL, FORECAST.iloc[:3])


def test_holdout_comparison_naive_by_hand():
    from sopkit.evaluation import holdout_comparison

    # A: train 2, 4, 6, 8; hold-out 10, 12. Naive repeats 8: errors 2, 4.
    # scale_mae = mean |Δ| of the training part = 2 -> MASE (2 + 4) / 2 / 2 = 1.5
    # scale_mse = 4 -> RMSSE sqrt(((4 + 16) / 2) / 4) = sqrt(2.5)
    # WAPE (2 + 4) / 22; bias (16 - 22) / 22
    months = pd.date_range("2025-01-01", periods=6, freq="MS")
    actuals = pd.DataFrame({"sku": pd.array(["A"] * 6, dtype="string"), "period": months,
                            "qty": [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]})
    table = holdout_comparison(actuals, end=months[-1], holdout=2, season_length=2,
                               forecaster_params={"n_windows": 1})
    naive_row = table.set_index("method").loc["naive"]
    assert naive_row["mase"] == pytest.approx(1.5)
    assert naive_row["rmsse"] == pytest.approx(np.sqrt(2.5))
    assert naive_row["wape"] == pytest.approx(6 / 22)
    assert naive_row["bias"] == pytest.approx(-6 / 22)
    zero_row = table.set_index("method").loc["zero"]
    assert zero_row["bias"] == pytest.approx(-1.0)
    assert table["method"].tolist() == ["sopkit", "naive", "seasonal naive", "zero"]
