"""Forecast accuracy on a hold-out: scaled errors per series and per data set.

Pure, vectorised functions on long frames (``sku, period, qty`` for actuals,
``sku, period, qty_forecast`` plus optional quantile columns ``qty_q10``… for
forecasts). Definitions (``a`` actual, ``f`` forecast, ``h`` hold-out periods of
a series, ``y`` its training history):

* scale ``s1 = mean |y_t − y_{t−1}|`` and ``s2 = mean (y_t − y_{t−1})²`` over the
  training part, from the series' first non-zero period on (leading zeros
  before launch are not history), non-seasonal;
* ``MASE = mean |f − a| / s1``; ``RMSSE = sqrt(mean (f − a)² / s2)``;
* scaled pinball loss of quantile ``q``: ``mean ρ_q(a, f_q) / s1`` with
  ``ρ_q = q (a − f_q)`` when ``a >= f_q`` else ``(1 − q)(f_q − a)``;
* ``WAPE = Σ |f − a| / Σ a`` and ``bias = Σ (f − a) / Σ a`` (positive =
  over-forecast), both pooled over every series of the data set, so they
  weigh series by volume.

Per data set (:func:`summarise_scores`), MASE, RMSSE and the scaled pinball
losses are the mean over series whose scale is positive; series with a zero
scale (constant or no training history: their scaled error is undefined) are
left out and counted in ``n_zero_scale``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sopkit.errors import DataError, Problem
from sopkit.forecast import quantile_column


def pinball_loss(actual, forecast, q: float) -> np.ndarray:
    """Pinball (quantile) loss of quantile ``q``, elementwise.

    ``q (a − f)`` where ``a >= f``, else ``(1 − q)(f − a)``.
    """
    diff = np.asarray(actual, dtype=float) - np.asarray(forecast, dtype=float)
    return np.where(diff >= 0, q * diff, (q - 1) * diff)


def series_scales(train: pd.DataFrame) -> pd.DataFrame:
    """Non-seasonal naive scales of every series' training history.

    Parameters
    ----------
    train : DataFrame
        ``sku, period, qty``; one row per series and period (missing periods
        are not filled here: pass a complete grid).

    Returns
    -------
    DataFrame
        One row per ``sku`` (sorted): ``n_train`` (periods from the first
        non-zero one), ``scale_mae`` (mean absolute one-step change) and
        ``scale_mse`` (mean squared one-step change); NaN with fewer than two
        periods.
    """
    frame = train[["sku", "period", "qty"]].sort_values(["sku", "period"], kind="stable")
    qty = frame["qty"].astype(float).fillna(0.0)
    started = (qty > 0).groupby(frame["sku"], sort=False).cummax()
    kept = frame.loc[started.to_numpy(), ["sku"]].assign(qty=qty[started.to_numpy()])
    change = kept.groupby("sku", sort=False)["qty"].diff()
    kept = kept.assign(abs_change=change.abs(), sq_change=change * change)
    grouped = kept.groupby("sku", sort=True)
    out = pd.DataFrame({
        "n_train": grouped["qty"].size(),
        "scale_mae": grouped["abs_change"].mean(),
        "scale_mse": grouped["sq_change"].mean(),
    })
    skus = pd.Index(np.sort(frame["sku"].unique()), name="sku")
    out = out.reindex(skus)
    out["n_train"] = out["n_train"].fillna(0).astype(np.int64)
    return out.reset_index()


def score_series(
    train: pd.DataFrame,
    actuals: pd.DataFrame,
    forecasts: pd.DataFrame,
    quantiles: Sequence[float] = (),
    forecast_column: str = "qty_forecast",
) -> pd.DataFrame:
    """Hold-out errors of every series.

    Parameters
    ----------
    train : DataFrame
        Training history ``sku, period, qty`` (for the scales).
    actuals : DataFrame
        Hold-out ``sku, period, qty``.
    forecasts : DataFrame
        ``sku, period``, ``forecast_column`` and, for each ``q`` of
        ``quantiles``, the column :func:`sopkit.forecast.quantile_column` (q).
    quantiles : sequence of float
        Quantile levels to score.

    Returns
    -------
    DataFrame
        One row per series of ``actuals``: ``sku, n_test, sum_actual,
        sum_forecast, sum_abs_error, scale_mae, scale_mse, mase, rmsse`` and
        one ``spl_q..`` (scaled pinball loss) column per quantile; the scaled
        measures are NaN where the scale is 0 or undefined.

    Raises
    ------
    DataError
        If a hold-out ``(sku, period)`` has no forecast.
    """
    columns = [forecast_column] + [quantile_column(q) for q in quantiles]
    merged = actuals[["sku", "period", "qty"]].merge(
        forecasts[["sku", "period", *columns]], on=["sku", "period"], how="left"
    )
    missing = merged[columns].isna().any(axis=1).to_numpy()
    if missing.any():
        first = merged.loc[missing].head(20)
        raise DataError(
            [Problem("forecasts", None, "sku, period", "no forecast for a hold-out period",
                     f"{s} {p}") for s, p in zip(first["sku"], first["period"], strict=True)],
            headline=f"{int(missing.sum())} hold-out periods have no forecast",
        )
    actual = merged["qty"].astype(float).fillna(0.0).to_numpy()
    point = merged[forecast_column].to_numpy(dtype=float)
    error = point - actual
    parts = {
        "n_test": np.ones(len(merged)),
        "sum_actual": actual,
        "sum_forecast": point,
        "sum_abs_error": np.abs(error),
        "sum_sq_error": error * error,
    }
    for q in quantiles:
        column = quantile_column(q)
        parts["pin_" + column] = pinball_loss(actual, merged[column].to_numpy(dtype=float), q)
    sums = pd.DataFrame(parts).groupby(merged["sku"].to_numpy(), sort=True).sum()
    sums.index.name = "sku"
    scales = series_scales(train).set_index("sku").reindex(sums.index)
    s1 = scales["scale_mae"].to_numpy()
    s2 = scales["scale_mse"].to_numpy()
    positive = np.isfinite(s1) & (s1 > 0)
    n_test = sums["n_test"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "n_test": n_test.astype(np.int64),
            "sum_actual": sums["sum_actual"].to_numpy(),
            "sum_forecast": sums["sum_forecast"].to_numpy(),
            "sum_abs_error": sums["sum_abs_error"].to_numpy(),
            "scale_mae": s1,
            "scale_mse": s2,
            "mase": np.where(positive, sums["sum_abs_error"].to_numpy() / n_test / s1, np.nan),
            "rmsse": np.where(positive, np.sqrt(sums["sum_sq_error"].to_numpy() / n_test / s2),
                              np.nan),
        }, index=sums.index)
        for q in quantiles:
            column = quantile_column(q)
            out["spl_" + column.removeprefix("qty_")] = np.where(
                positive, sums["pin_" + column].to_numpy() / n_test / s1, np.nan
            )
    return out.reset_index()


def summarise_scores(per_series: pd.DataFrame) -> dict[str, float]:
    """One data set's accuracy from :func:`score_series`.

    Returns
    -------
    dict
        ``n_series``, ``n_scored`` (positive scale), ``n_zero_scale``,
        ``mase``, ``rmsse`` (means over scored series), ``wape``, ``bias``
        (pooled over all series), one ``spl_q..`` per quantile column and
        ``spl`` (their mean; NaN without quantiles).
    """
    scored = per_series["scale_mae"].fillna(0.0).to_numpy() > 0
    total = per_series["sum_actual"].sum()
    summary = {
        "n_series": int(len(per_series)),
        "n_scored": int(scored.sum()),
        "n_zero_scale": int((~scored).sum()),
        "mase": float(per_series.loc[scored, "mase"].mean()),
        "rmsse": float(per_series.loc[scored, "rmsse"].mean()),
        "wape": float(per_series["sum_abs_error"].sum() / total) if total > 0 else np.nan,
        "bias": float((per_series["sum_forecast"].sum() - total) / total) if total > 0
        else np.nan,
    }
    spl_columns = [c for c in per_series.columns if c.startswith("spl_")]
    for column in spl_columns:
        summary[column] = float(per_series.loc[scored, column].mean())
    summary["spl"] = float(np.mean([summary[c] for c in spl_columns])) if spl_columns else np.nan
    return summary


def holdout_comparison(
    actuals: pd.DataFrame,
    *,
    end,
    holdout: int = 12,
    season_length: int = 12,
    quantiles: Sequence[float] = (0.1, 0.5, 0.9),
    forecaster_params: dict | None = None,
) -> pd.DataFrame:
    """The real-data benchmark's protocol on one company's own history.

    Holds out the last ``holdout`` months up to ``end``, forecasts them in one
    shot from the months before with sopkit's automatic selection and with
    three references that need nothing installed — naive (last month
    repeated), seasonal naive, and zero (what shrinking to nothing would
    score) — and scores each with :func:`score_series` /
    :func:`summarise_scores`. SKUs without any demand in the training months
    are left out; hold-out months without a row are zero demand.

    Returns
    -------
    DataFrame
        ``method, n_series, n_scored, mase, rmsse, wape, bias, spl`` (``spl``
        only for sopkit, whose quantiles are scored).
    """
    from sopkit.classify import to_matrix
    from sopkit.forecast import StatisticalForecaster, naive, seasonal_naive
    from sopkit.periods import add_months

    end = pd.Timestamp(end)
    train_end = add_months(end, -holdout)
    train = actuals[actuals["period"] <= train_end]
    skus, _, values, first = to_matrix(train, end=train_end)
    keep = first < values.shape[1]
    skus, values = skus[keep], values[keep]
    periods = pd.date_range(add_months(train_end, 1), periods=holdout, freq="MS")
    grid = pd.MultiIndex.from_product([skus, periods], names=["sku", "period"]).to_frame(
        index=False)
    test = grid.merge(actuals[["sku", "period", "qty"]].astype({"sku": "string"}),
                      on=["sku", "period"], how="left").fillna({"qty": 0.0})
    train = train[train["sku"].isin(skus)]
    dense = (pd.MultiIndex.from_product(
        [skus, pd.date_range(train["period"].min(), train_end, freq="MS")],
        names=["sku", "period"]).to_frame(index=False)
        .merge(train[["sku", "period", "qty"]].astype({"sku": "string"}),
               on=["sku", "period"], how="left").fillna({"qty": 0.0}))

    def frame_of(point: np.ndarray) -> pd.DataFrame:
        return grid.assign(qty_forecast=np.clip(np.nan_to_num(point, nan=0.0), 0, None).ravel())

    params = {"horizon": holdout, "season_length": season_length, "quantiles": quantiles,
              **dict(forecaster_params or {})}
    forecast = StatisticalForecaster(**params).fit(train, end=train_end).predict()
    forecast = forecast.astype({"sku": "string"})
    runs = [("sopkit", forecast, tuple(quantiles)),
            ("naive", frame_of(naive(values, holdout)), ()),
            ("seasonal naive", frame_of(seasonal_naive(values, holdout, season_length)), ()),
            ("zero", frame_of(np.zeros((len(skus), holdout))), ())]
    rows = []
    for method, predicted, levels in runs:
        summary = summarise_scores(score_series(dense, test, predicted, quantiles=levels))
        rows.append({"method": method, **{k: summary[k] for k in (
            "n_series", "n_scored", "mase", "rmsse", "wape", "bias", "spl")}})
    return pd.DataFrame(rows)
