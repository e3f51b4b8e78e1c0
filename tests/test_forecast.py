"""Statistical forecasting: hand-computed models, selection, quantiles, edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit import forecast as fc
from sopkit.errors import DataError, ParameterError
from sopkit.forecast import StatisticalForecaster, quantile_column, tsb

NAN = np.nan
START = pd.Timestamp("2021-01-01")


def long_frame(series: dict[str, list[float]], start: pd.Timestamp = START) -> pd.DataFrame:
    rows = [
        (sku, start + pd.DateOffset(months=k), qty)
        for sku, values in series.items()
        for k, qty in enumerate(values)
    ]
    frame = pd.DataFrame(rows, columns=["sku", "period", "qty"])
    frame["sku"] = frame["sku"].astype("string")
    return frame


def synthetic(n_skus: int, n_months: int, seed: int = 0) -> pd.DataFrame:
    """Seeded mix of smooth, seasonal, intermittent and late-starting series."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 4, n_skus)
    months = np.arange(n_months)
    season = 1 + 0.3 * np.sin(2 * np.pi * months / 12)[None, :] * (kind[:, None] == 0)
    values = rng.poisson(rng.gamma(2, 50, n_skus)[:, None] * season).astype(float)
    prob = np.where(kind >= 2, rng.uniform(0.1, 0.6, n_skus), 1.0)
    values *= rng.random((n_skus, n_months)) < prob[:, None]
    late = np.where(rng.random(n_skus) < 0.1, rng.integers(0, n_months, n_skus), 0)
    values[months[None, :] < late[:, None]] = 0
    frame = pd.DataFrame({
        "sku": np.repeat([f"S{i:05d}" for i in range(n_skus)], n_months),
        "period": np.tile(pd.date_range(START, periods=n_months, freq="MS"), n_skus),
        "qty": values.ravel(),
    })
    frame["sku"] = frame["sku"].astype("string")
    return frame


# --------------------------------------------------------------------------- naming


@pytest.mark.parametrize(
    ("q", "name"), [(0.1, "qty_q10"), (0.5, "qty_q50"), (0.975, "qty_q97_5"), (0.95, "qty_q95"),
                    (0.01, "qty_q1")]
)
def test_quantile_column(q, name):
    assert quantile_column(q) == name


@pytest.mark.parametrize("q", [0, 1, -0.2, "x"])
def test_quantile_column_rejects(q):
    with pytest.raises(ParameterError):
        quantile_column(q)


# --------------------------------------------------------------------------- models by hand


def test_croston_by_hand():
    # Series [0, 3, 0, 0, 5]: the leading 0 is before launch (NaN) -> history [3, 0, 0, 5].
    # Mean initialisation: z = mean size (3 + 5) / 2 = 4, p = 4 months / 2 demands = 2.
    # The first demand only starts the interval count; the 5 comes 3 months after the 3:
    # z = 4 + 0.1 (5 - 4) = 4.1 ; p = 2 + 0.1 (3 - 2) = 2.1 ; forecast 4.1 / 2.1 = 1.95238
    values = np.array([[NAN, 3, 0, 0, 5]])
    np.testing.assert_allclose(fc.croston(values, 2), [[4.1 / 2.1, 4.1 / 2.1]])
    # SBA = Croston × (1 - 0.1 / 2)
    np.testing.assert_allclose(fc.sba(values, 1), [[4.1 / 2.1 * 0.95]])


def test_tsb_by_hand():
    # History [3, 0, 0, 5]; prob0 = 2/4 = 0.5, size0 = mean size 4.
    # 3: prob 0.5 + 0.1 (1 - 0.5) = 0.55      size 4 + 0.1 (3 - 4) = 3.9
    # 0: prob 0.55 - 0.055 = 0.495
    # 0: prob 0.495 - 0.0495 = 0.4455
    # 5: prob 0.4455 + 0.1 (1 - 0.4455) = 0.50095, size 3.9 + 0.1 (5 - 3.9) = 4.01
    # forecast 0.50095 × 4.01 = 2.0088095
    values = np.array([[NAN, 3, 0, 0, 5]])
    np.testing.assert_allclose(fc.tsb(values, 1), [[0.50095 * 4.01]])


def test_ses_with_known_alpha():
    # level 10 -> 10 + 0.5 (20 - 10) = 15 -> 15 + 0.5 (10 - 15) = 12.5
    np.testing.assert_allclose(fc.ses(np.array([[10.0, 20, 10]]), 2, alpha=0.5), [[12.5, 12.5]])


def test_ses_grid_picks_alpha_by_one_step_sse():
    # A level shift: a high alpha tracks it better than a low one.
    values = np.array([[10.0] * 6 + [30.0] * 6])
    level, sse = fc._ses_state(values, fc.ALPHA_GRID)
    assert np.argmin(sse[0]) == len(fc.ALPHA_GRID) - 1
    assert fc.ses(values, 1)[0, 0] == pytest.approx(level[0, -1])


def test_naive_seasonal_naive_and_moving_average():
    values = np.arange(1.0, 25.0)[None, :]  # 1..24
    np.testing.assert_array_equal(fc.naive(values, 2), [[24, 24]])
    # month 25 repeats month 13, ..., month 37 repeats month 25 -> again 13
    np.testing.assert_array_equal(fc.seasonal_naive(values, 13), [list(range(13, 25)) + [13]])
    np.testing.assert_array_equal(fc.moving_average(values, 1, 3), [[23]])
    # less than one season / fewer months than the window -> NaN
    assert np.isnan(fc.seasonal_naive(values[:, :11], 1)).all()
    short = np.array([[NAN, NAN, 1, 2]])
    assert np.isnan(fc.moving_average(short, 1, 3)).all()


def test_adida_aggregation_by_hand():
    # End-aligned buckets of 2; the bucket reaching before launch is NaN.
    np.testing.assert_array_equal(fc.aggregate(np.array([[NAN, 1, 2, 3, 4, 5]]), 2),
                                  [[NAN, 5, 9]])
    # [4,0,0,2,0,0,6,0,0]: ADI 9/3 = 3 -> buckets [4, 2, 6].
    # SES SSE = 4 + (2 + 2a)², smallest at a = 0.05: 4 -> 3.9 -> 3.9 + 0.05 × 2.1 = 4.005
    # per month 4.005 / 3 = 1.335
    values = np.array([[4.0, 0, 0, 2, 0, 0, 6, 0, 0]])
    np.testing.assert_allclose(fc.adida(values, 2), [[1.335, 1.335]])


def test_imapa_is_the_mean_over_bucket_sizes():
    values = np.array([[4.0, 0, 0, 2, 0, 0, 6, 0, 0]])
    per_level = [fc.ses(fc.aggregate(values, k), 1)[0, 0] / k for k in (1, 2, 3)]
    np.testing.assert_allclose(fc.imapa(values, 1), [[np.mean(per_level)]])


def test_ets_reproduces_a_pure_seasonal_pattern():
    months = np.arange(48)
    pattern = 100 + 30 * np.sin(2 * np.pi * months / 12)
    np.testing.assert_allclose(fc.ets(pattern[None, :36], 12), pattern[None, 36:], atol=1e-6)
    assert np.isnan(fc.ets(pattern[None, :23], 3)).all()  # fewer than two seasons


@pytest.mark.parametrize("name", fc.MODEL_ORDER)
def test_models_are_vectorised_row_independent(name):
    # Each row forecast in a batch equals the row forecast alone (trimmed to its start).
    rng = np.random.default_rng(1)
    values = rng.poisson(20, (4, 30)).astype(float) * (rng.random((4, 30)) < 0.6)
    values[:, 0] = 7.0
    values[1, :5] = NAN
    values[1, 5] = 4.0
    values[2, :20] = NAN
    values[2, 20] = 9.0
    model = fc.model_registry()[name]
    batch = model(values, 5)
    for row in range(4):
        alone = values[row][np.isfinite(values[row])][None, :]
        if name in ("seasonal_naive", "ets"):
            # calendar-aligned seasonal slots: pad instead of trimming
            alone = values[row][None, :]
        np.testing.assert_allclose(batch[row], model(alone, 5)[0], equal_nan=True)


# --------------------------------------------------------------------------- quantiles


def test_compound_quantiles_by_hand():
    # Sizes 10 and 30 (mean 20); point 4 -> p = 0.2.
    # q50 <= 1 - p -> 0 ; q90: (0.9 - 0.8) / 0.2 = 0.5 -> ECDF inverse = 10 ;
    # q95: 0.75 -> 30
    values = np.array([[10.0, 0, 0, 0, 0, 30, 0, 0, 0, 0]])
    point = np.full((1, 2), 4.0)
    out = fc.compound_quantiles(values, point, [0.5, 0.9, 0.95])
    np.testing.assert_allclose(out[:, 0, 0], [0, 10, 30])
    # point above the mean size: p = 1 and sizes stretched by 40 / 20 = 2
    out = fc.compound_quantiles(values, np.full((1, 1), 40.0), [0.5, 0.9])
    np.testing.assert_allclose(out[:, 0, 0], [20, 60])


def test_intermittent_bernoulli_quantiles():
    # 0 in 80 % of months -> median 0, q90 positive, mean positive.
    pattern = [0, 0, 0, 0, 12] * 8
    model = StatisticalForecaster(horizon=6).fit(long_frame({"A": pattern}))
    result = model.predict()
    assert (result["demand_class"] == "intermittent").all()
    assert (result["qty_forecast"] > 0).all()
    assert (result["qty_q50"] == 0).all()
    assert (result["qty_q90"] > 0).all()


def test_quantiles_monotone_nonnegative_and_named():
    model = StatisticalForecaster(horizon=9, quantiles=(0.9, 0.5, 0.1, 0.5), service_level=0.975)
    result = model.fit(synthetic(60, 36)).predict()
    columns = ["qty_q10", "qty_q50", "qty_q90", "qty_q97_5"]
    assert list(result.columns) == ["sku", "period", "qty_forecast", *columns, "model",
                                    "demand_class"]
    q = result[columns].to_numpy()
    assert (q >= 0).all()
    assert (np.diff(q, axis=1) >= 0).all()
    smooth = result[result["demand_class"] == "smooth"]
    assert (smooth["qty_q90"] > smooth["qty_q10"]).all()
    # the bands widen with the horizon
    first = smooth.groupby("sku")["qty_q90"].first() - smooth.groupby("sku")["qty_q10"].first()
    last = smooth.groupby("sku")["qty_q90"].last() - smooth.groupby("sku")["qty_q10"].last()
    assert (last >= first - 1e-9).all()


# --------------------------------------------------------------------------- selection


def test_pure_seasonal_series_picks_a_seasonal_model():
    months = np.arange(48)
    pattern = list(100 + 40 * np.sin(2 * np.pi * months / 12))
    model = StatisticalForecaster(horizon=12).fit(long_frame({"S": pattern}))
    chosen = model.selection_["model"].item()
    assert chosen in ("seasonal_naive", "ets")
    assert model.selection_["mae"].item() == pytest.approx(0, abs=1e-6)
    np.testing.assert_allclose(model.predict()["qty_forecast"], pattern[36:48], atol=1e-6)


def test_constant_series_ties_go_to_the_simplest_model():
    model = StatisticalForecaster(horizon=3).fit(long_frame({"C": [50.0] * 30}))
    row = model.selection_.iloc[0]
    assert row["model"] == "naive"
    assert row["wape"] == 0 and row["bias"] == 0
    # ets (two seasons) can forecast only from the origins at months 24 and 27, so every
    # candidate is scored on those two windows
    assert row["n_windows"] == 2
    result = model.predict()
    assert (result["qty_forecast"] == 50).all()
    assert (result["qty_q10"] == 50).all() and (result["qty_q90"] == 50).all()


def test_selection_and_backtest_frames():
    model = StatisticalForecaster(horizon=6, n_windows=2, window_size=3).fit(synthetic(20, 30))
    assert list(model.selection_.columns) == ["sku", "demand_class", "model", "wape", "bias",
                                              "mae", "score", "n_windows", "previous_model",
                                              "kept"]
    assert model.selection_["previous_model"].isna().all() and not model.selection_["kept"].any()
    assert len(model.selection_) == 20
    bt = model.backtest_
    assert list(bt.columns) == ["sku", "model", "origin", "step", "period", "qty",
                                "qty_forecast", "error"]
    assert set(bt["step"]) == {1, 2, 3}
    assert set(bt["origin"]) == {pd.Timestamp("2022-12-01"), pd.Timestamp("2023-03-01")}
    np.testing.assert_allclose(bt["error"], bt["qty_forecast"] - bt["qty"])
    # the period is step months after the origin
    lag = (bt["period"].dt.year - bt["origin"].dt.year) * 12 + bt["period"].dt.month - \
        bt["origin"].dt.month
    assert (lag == bt["step"]).all()
    # the chosen single model's MAE is the mean |error| of its backtest rows (all windows
    # common for a smooth series with full history)
    smooth = model.selection_[
        model.selection_["model"].isin(["naive", "ses", "ma3", "ma6"])
        & (model.selection_["n_windows"] == 2)
    ]
    for _, row in smooth.iterrows():
        rows = bt[(bt["sku"] == row["sku"]) & (bt["model"] == row["model"])]
        assert rows["error"].abs().mean() == pytest.approx(row["mae"])


def test_models_parameter_restricts_candidates():
    model = StatisticalForecaster(horizon=3, models="ses").fit(synthetic(15, 30))
    fitted = model.selection_
    active = fitted[fitted["demand_class"].isin(["smooth", "erratic", "intermittent",
                                                 "lumpy"])]
    assert set(active["model"]) == {"ses"}


# --------------------------------------------------------------------------- edge cases


def test_edge_cases_inactive_all_zero_new_short_negative_blank():
    series = {
        "inactive": [5.0] * 6 + [0.0] * 14,
        "zeros": [0.0] * 20,
        "new": [0.0] * 17 + [4.0, 0.0, 8.0],
        "one": [0.0] * 19 + [7.0],
        "returns": [10.0, -4.0, 10.0] * 6 + [10.0, np.nan],
    }
    model = StatisticalForecaster(horizon=4, leading_zeros="prelaunch").fit(long_frame(series))
    result = model.predict().set_index(["sku", "period"])
    models = model.selection_.set_index("sku")["model"]
    # inactive: 6 months of 5 then 14 silent months -> TSB, whose probability has
    # decayed through the silence: positive, below the long-run rate 30 / 20 = 1.5
    assert models["inactive"] == "tsb" and models["zeros"] == "zero"
    expected = tsb(np.array([[5.0] * 6 + [0.0] * 14]), 4)[0]
    np.testing.assert_allclose(result.loc["inactive", "qty_forecast"], expected)
    assert 0 < expected[0] < 1.5
    assert (result.loc["inactive", "qty_q90"] >= result.loc["inactive", "qty_q10"]).all()
    assert (result.loc["zeros"].drop(columns=["model", "demand_class"]) == 0).all().all()
    zero_rule = StatisticalForecaster(horizon=4, leading_zeros="prelaunch",
                                      inactive_forecast="zero").fit(long_frame(series))
    assert zero_rule.selection_.set_index("sku").loc["inactive", "model"] == "zero"
    assert (zero_rule.predict().set_index("sku").loc["inactive", "qty_forecast"] == 0).all()
    # new: mean of the 3 months since launch = 4
    assert models["new"] == "history_mean"
    assert (result.loc["new", "qty_forecast"] == 4).all()
    assert (result.loc["new", "qty_q10"] == 0).all()  # p = 4 / 6 < 0.9
    assert models["one"] == "history_mean"
    assert (result.loc["one", "qty_forecast"] == 7).all()
    # returns clipped to 0, blank is 0: history alternates 10, 0, 10 -> nothing negative
    assert (result.loc["returns", "qty_forecast"] >= 0).all()
    assert model.classes_.set_index("sku").loc["returns", "n_nonzero"] == 13


def test_recorded_zeros_keep_a_late_first_demand_small():
    # 19 recorded zeros then 7: as history (the default) this is an intermittent
    # part with ADI 20, not a new product selling 7 a month.
    series = {"one": [0.0] * 19 + [7.0]}
    model = StatisticalForecaster(horizon=4).fit(long_frame(series))
    classes = model.classes_.set_index("sku")
    assert classes.loc["one", "adi"] == 20 and classes.loc["one", "demand_class"] == "intermittent"
    history = model.predict()["qty_forecast"]
    assert (history < 7 / 2).all()  # every intermittent candidate averages far below 7
    prelaunch = StatisticalForecaster(horizon=4, leading_zeros="prelaunch").fit(
        long_frame(series)).predict()["qty_forecast"]
    assert (prelaunch == 7).all()  # 'new': the mean of the one month since launch


def test_short_history_everything_falls_back():
    model = StatisticalForecaster(horizon=2).fit(long_frame({"A": [3.0, 5.0], "B": [1.0]}))
    result = model.predict()
    assert len(result) == 4
    assert set(result["model"]) == {"history_mean"}
    # B has a row for January only; February (before the common end) is zero -> mean 0.5
    np.testing.assert_allclose(result["qty_forecast"], [4, 4, 0.5, 0.5])
    assert result["period"].min() == pd.Timestamp("2021-03-01")


def test_duplicates_rejected():
    actuals = long_frame({"A": [1.0, 2.0, 3.0]})
    actuals = pd.concat([actuals, actuals.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataError):
        StatisticalForecaster().fit(actuals)


@pytest.mark.parametrize(
    "kwargs",
    [{"horizon": 0}, {"n_windows": 1.5}, {"window_size": 0}, {"quantiles": (0.5, 1.2)},
     {"service_level": 1}, {"models": ("prophet",)}, {"season_length": True}],
)
def test_bad_parameters_raise_in_fit(kwargs):
    model = StatisticalForecaster(**kwargs)  # __init__ only stores
    with pytest.raises(ParameterError):
        model.fit(long_frame({"A": [1.0, 2.0, 3.0]}))


def test_predict_before_fit():
    with pytest.raises(ParameterError):
        StatisticalForecaster().predict()


def test_deterministic():
    data = synthetic(30, 30, seed=3)
    first = StatisticalForecaster(horizon=6).fit(data).predict()
    second = StatisticalForecaster(horizon=6).fit(data).predict()
    pd.testing.assert_frame_equal(first, second)




def test_model_summary_counts_and_names_models():
    from sopkit.forecast import model_summary

    selection = pd.DataFrame({
        "sku": ["a", "b", "c", "d"],
        "demand_class": ["lumpy", "lumpy", "lumpy", "smooth"],
        "model": ["sba", "sba", "tsb", "ets"],
        "wape": [0.5, 0.7, 0.9, 0.1],
    })
    summary = model_summary(selection)
    assert summary.to_dict("records") == [
        {"demand_class": "lumpy", "n_skus": 3, "models": "sba 2, tsb 1", "median_wape": 0.7},
        {"demand_class": "smooth", "n_skus": 1, "models": "ets 1", "median_wape": 0.1},
    ]
    # products still to launch have no history to classify: a last row counts them; a
    # launch the engine already classified (d, sold before) stays in its class
    launches = pd.DataFrame({"sku": ["n1", "n1", "n2", "d"],
                             "model": ["npi_analog", "npi_analog", "npi_ramp", "npi_analog"]})
    last = model_summary(selection, launches=launches).iloc[-1]
    assert last.drop("median_wape").to_dict() == {
        "demand_class": "launch (no history yet)", "n_skus": 2,
        "models": "npi_analog 1, npi_ramp 1"}
    assert pd.isna(last["median_wape"])
    assert model_summary(selection, launches=launches)["n_skus"].sum() == 6
    # a launch in progress (d, sold for a month) keeps its class, with the model the plan uses
    ramping = launches.assign(launched=[False, False, False, True])
    smooth = model_summary(selection, launches=ramping).set_index("demand_class")
    assert smooth.loc["smooth", "models"] == "npi_analog 1"
    # against last cycle: d's statistical model (ets) is compared, not the curve that plans
    # it; a kept that another model beat, b changed, c new since
    compared = selection.assign(previous_model=["sba", "ma6", None, "ets"],
                                kept=[True, False, False, False])
    table = model_summary(compared, launches=ramping).set_index("demand_class")
    assert table[["changed", "kept"]].to_dict("index") == {
        "lumpy": {"changed": 1, "kept": 1}, "smooth": {"changed": 0, "kept": 0},
        "launch (no history yet)": {"changed": 0, "kept": 0}}


# --------------------------------------------------------------------------- pooled selection


def test_pooled_ranking_by_hand():
    # models: zero, A, B; rows 0-2 one class with scale 1 and 2 windows each, weight 2,
    # so the ranking value is (own + class average) / 2.
    score = np.array([
        [5.0, 5.0, 5.0, 0.5],      # zero
        [1.0, 1.0, 1.0, 2.0],      # A
        [0.9, 4.05, 4.05, np.inf],  # B (not eligible for row 3)
    ])
    scale = np.array([1.0, 1.0, 1.0, 0.0])  # row 3 is constant: scale 0
    classes = np.array(["lumpy"] * 4)
    rank = fc.pooled_ranking(score, np.array([2, 2, 2, 2]), scale, classes, weight=2.0,
                             zero_index=0)
    # class averages: A 1, B (0.9 + 4.05 + 4.05) / 3 = 3, zero 5 (row 3 left out: no scale)
    # row 0: A (1 + 1) / 2 = 1 beats B (0.9 + 3) / 2 = 1.95, although B won its own backtest
    np.testing.assert_allclose(rank[:, 0], [5.0, 1.0, 1.95])
    assert np.argmin(score[:, 0]) == 2 and np.argmin(rank[:, 0]) == 1
    # zero keeps the larger of own and shrunk: max(5, (5 + 5) / 2) = 5
    np.testing.assert_allclose(rank[0, :3], [5.0, 5.0, 5.0])
    # row 3 (scale 0) keeps its own unscaled scores; B stays ineligible
    np.testing.assert_allclose(rank[:, 3], [0.5, 2.0, np.inf])
    # weight 0: the SKU's own backtest only
    np.testing.assert_array_equal(
        fc.pooled_ranking(score, np.full(4, 2), scale, classes, weight=0.0), score)


def test_zero_is_not_helped_by_its_class():
    # zero is excellent for the class on average (prior 1) but poor for row 0 (own 3):
    # shrunk it would be (3 + 1) / 2 = 2 < A's 2.5; it keeps max(3, 2) = 3, so A wins
    score = np.array([[3.0, 0.5, 0.5, 0.0], [2.5, 2.5, 2.5, 2.5]])
    rank = fc.pooled_ranking(score, np.full(4, 2), np.ones(4), np.array(["lumpy"] * 4),
                             weight=2.0, zero_index=0)
    assert rank[0, 0] == pytest.approx(3.0) and np.argmin(rank[:, 0]) == 1


@pytest.mark.parametrize("kwargs", [{"pool_weight": -1}, {"pool_weight": "x"},
                                    {"freq": "D"}, {"season_length": 0}])
def test_bad_pooling_and_frequency(kwargs):
    with pytest.raises(ParameterError):
        StatisticalForecaster(**kwargs).fit(long_frame({"A": [1.0] * 12}))


# --------------------------------------------------------------------------- weekly data


def weekly_frame(series: dict[str, list[float]], start: str = "2024-01-01") -> pd.DataFrame:
    stamps = pd.date_range(start, periods=max(len(v) for v in series.values()), freq="W-MON")
    rows = [(sku, stamps[k], qty) for sku, values in series.items()
            for k, qty in enumerate(values)]
    return pd.DataFrame(rows, columns=["sku", "period", "qty"])


def test_weekly_periods_and_defaults():
    model = StatisticalForecaster(horizon=3, freq="W").fit(weekly_frame({"A": [10.0] * 60}))
    assert model.freq_ == "W-MON" and model.season_length_ == 52
    # 60 Mondays from 2024-01-01 end on 2025-02-17: the next three Mondays follow
    assert list(model.periods_) == list(pd.to_datetime(["2025-02-24", "2025-03-03",
                                                        "2025-03-10"]))
    out = model.predict()
    np.testing.assert_allclose(out["qty_forecast"], [10.0, 10.0, 10.0])


def test_weekly_inactive_after_a_year_not_after_twelve_weeks():
    # demand every 4th week, then 20 silent weeks: inactive if 12 periods, not if 52
    values = ([5.0, 0, 0, 0] * 15) + [0.0] * 20
    weekly = StatisticalForecaster(horizon=2, freq="W-MON").fit(weekly_frame({"A": values}))
    assert weekly.selection_["demand_class"].iloc[0] == "intermittent"
    twelve = StatisticalForecaster(horizon=2, freq="W-MON", inactive_months=12).fit(
        weekly_frame({"A": values}))
    assert twelve.selection_["demand_class"].iloc[0] == "inactive"


def test_weekly_moving_averages_span_a_quarter_half_year_and_year():
    values = np.arange(1.0, 61.0)[None, :]  # weeks 1..60
    registry = fc.model_registry(52, "W-MON")
    # ma3 = the last 13 weeks: mean of 48..60 = 54; ma6 = 26 weeks: 35..60 -> 47.5
    np.testing.assert_allclose(registry["ma3"](values, 1), [[54.0]])
    np.testing.assert_allclose(registry["ma6"](values, 1), [[47.5]])
    np.testing.assert_allclose(registry["ma12"](values, 1), [[34.5]])  # 9..60
    np.testing.assert_allclose(fc.model_registry()["ma3"](values, 1), [[59.0]])  # months


def test_ets_recursion_by_hand(monkeypatch):
    # One grid point: alpha 0.5, beta 0.1, gamma 0.1, phi 0.9; season length 2.
    # Series 2, 1, 4, 3. Initial state from the two seasons: means 1.5 and 3.5,
    # trend0 = (3.5 - 1.5) / 2 = 1, line 1, 2, 3, 4 -> detrended 1, -1, 1, -1,
    # seasons s0 = +1, s1 = -1, level0 = 1.5 - 1 * 3 / 2 = 0.
    # t0: yhat = 0 + 0.9 + 1 = 1.9, e = 0.1 -> level 0.95, trend 0.91, s0 1.01
    # t1: yhat = 0.95 + 0.819 - 1 = 0.769, e = 0.231 -> level 1.8845, trend 0.8421,
    #     s1 = -0.9769
    # t2: yhat = 1.8845 + 0.75789 + 1.01 = 3.65239, e = 0.34761 -> level 2.816195,
    #     trend 0.792651, s0 = 1.044761
    # t3: yhat = 2.816195 + 0.7133859 - 0.9769 = 2.5526809, e = 0.4473191 ->
    #     level 3.75324045, trend 0.75811781, s1 = -0.93216809
    # h1 (slot 0): 3.75324045 + 0.9 * 0.75811781 + 1.044761 = 5.48030748
    # h2 (slot 1): 3.75324045 + (0.9 + 0.81) * 0.75811781 - 0.93216809 = 4.11745382
    monkeypatch.setattr(fc, "ETS_GRID", np.array([[0.5, 0.1, 0.1, 0.9]]))
    result = fc.ets(np.array([[2.0, 1.0, 4.0, 3.0]]), 2, season_length=2)
    np.testing.assert_allclose(result, [[5.48030748, 4.11745382]], atol=1e-7)


def test_selected_backtest_includes_combinations_as_their_members_mean():
    model = StatisticalForecaster(horizon=6).fit(synthetic(200, 36))
    selected = model.selected_backtest()
    chosen = model.selection_
    backtested = chosen[chosen["n_windows"] > 0]
    # every SKU with a backtested model has rows, combinations included
    assert set(selected["sku"]) == set(backtested["sku"])
    combos = backtested[backtested["model"].str.startswith("combo:")]
    assert len(combos), "the synthetic mix should produce at least one combination"
    sku, label = combos.iloc[0]["sku"], combos.iloc[0]["model"]
    members = label.removeprefix("combo:").split("+")
    rows = model.backtest_[(model.backtest_["sku"] == sku)
                           & model.backtest_["model"].isin(members)]
    expected = rows.groupby(["origin", "step"])["qty_forecast"].mean().sort_index()
    got = selected[selected["sku"] == sku].set_index(["origin", "step"])["qty_forecast"]
    np.testing.assert_allclose(got.sort_index().to_numpy(), expected.to_numpy())
    assert selected.loc[selected["sku"] == sku, "model"].unique().tolist() == [label]


# --------------------------------------------------------------------------- when zero may win

# 9 units every third month, then 3 and two silent months: intermittent (ADI 3, sizes 9, 9,
# 9, 3: CV² 0.12). One backtest window of 3 months from origin 9: ma3 forecasts
# (9 + 0 + 0) / 3 = 3 against 3, 0, 0 -> MAE 2, mean error +2, score 4; zero: MAE 1, mean
# error -1, score 2. Zero wins the backtest although the SKU sold two months ago.
DIP = [9.0, 0.0, 0.0, 9.0, 0.0, 0.0, 9.0, 0.0, 0.0, 3.0, 0.0, 0.0]


def _dip_fit(**params):
    return StatisticalForecaster(horizon=3, n_windows=1, window_size=3, **params).fit(
        long_frame({"dip": DIP}))


def test_zero_is_not_chosen_for_a_sku_that_sells():
    model = _dip_fit()
    chosen = model.selection_.set_index("sku").loc["dip"]
    assert chosen["demand_class"] == "intermittent"
    assert chosen["model"] != "zero"
    assert "zero" not in set(model.backtest_["model"].astype(str))
    forecast = model.predict()
    assert (forecast["qty_forecast"] > 0).all()
    assert (forecast[quantile_column(0.95)] > 0).all()


def test_zero_after_states_the_silence_zero_needs():
    # models naming zero, without zero_after: zero stays a candidate and wins (score 2 < 4)
    assert _dip_fit(models=("zero", "ma3")).selection_["model"].tolist() == ["zero"]
    # silent for its last 2 months: zero_after=2 lets zero compete, and it wins
    assert _dip_fit(models=("zero", "ma3"), zero_after=2).selection_["model"].tolist() == ["zero"]
    # its last 3 months hold the 3 units: zero is out, ma3 forecasts (3 + 0 + 0) / 3 = 1
    model = _dip_fit(models=("zero", "ma3"), zero_after=3)
    assert model.selection_["model"].tolist() == ["ma3"]
    assert model.predict()["qty_forecast"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert model.selection_["score"].tolist() == pytest.approx([4.0])


@pytest.mark.parametrize("bad", [0, 2.5, True, "6"])
def test_zero_after_must_be_a_whole_number(bad):
    with pytest.raises(ParameterError, match="zero_after"):
        _dip_fit(zero_after=bad)


# ---------------------------------------------------------------- the last cycle's model
# One backtest window of one month, ranked on the SKU's own score (pool_weight 0), naive
# and ma3 only. Training months end 14, 15, 16: naive 16, ma3 15; the month after sold 20.
# Scores (MAE + |mean error|, one month): naive 2 * 4 = 8, ma3 2 * 5 = 10, their mean
# 15.5 scores 9. The choice is naive (8). On the whole history (…, 15, 16, 20) naive
# forecasts 20, ma3 17, the combination 18.5.
KEEP_SERIES = {"A": [10.0] * 9 + [14.0, 15.0, 16.0, 20.0]}


def keep_fit(margin, incumbent):
    model = StatisticalForecaster(horizon=1, n_windows=1, window_size=1, models=("naive", "ma3"),
                                  pool_weight=0.0, keep_margin=margin)
    return model.fit(long_frame(KEEP_SERIES), incumbent=incumbent)


@pytest.mark.parametrize("margin, incumbent, model, forecast, kept", [
    (0.3, None, "naive", 20.0, False),  # no last cycle: the best score
    (0.3, {"A": "ma3"}, "ma3", 17.0, True),  # 10 <= 8 * 1.3
    (0.2, {"A": "ma3"}, "naive", 20.0, False),  # 10 > 8 * 1.2
    (0.2, {"A": "combo:naive+ma3"}, "combo:naive+ma3", 18.5, True),  # 9 <= 9.6
    (0.1, {"A": "combo:naive+ma3"}, "naive", 20.0, False),  # 9 > 8.8
    (0.0, {"A": "ma3"}, "naive", 20.0, False),  # margin 0: the rule is off
    (0.3, {"A": "naive"}, "naive", 20.0, False),  # the incumbent is the choice anyway
    (0.3, {"A": "history_mean"}, "naive", 20.0, False),  # not a backtested model
    (0.3, {"A": "ets"}, "naive", 20.0, False),  # not eligible (not among the models)
    (0.3, {"B": "ma3"}, "naive", 20.0, False),  # another SKU's
])
def test_last_cycles_model_is_kept_within_the_margin(margin, incumbent, model, forecast, kept):
    fitted = keep_fit(margin, incumbent)
    row = fitted.selection_.iloc[0]
    assert row["model"] == model and bool(row["kept"]) is kept
    assert fitted.predict()["qty_forecast"].iloc[0] == pytest.approx(forecast)
    previous = (incumbent or {}).get("A")
    assert (row["previous_model"] if previous else pd.isna(row["previous_model"])) == (
        previous or True)
    # the selection's scores are the model's own: 10 for ma3, 9 for the mean, 8 for naive
    assert row["score"] == pytest.approx({"naive": 8.0, "ma3": 10.0}.get(model, 9.0))


def test_incumbent_as_a_frame_of_sku_and_model():
    fitted = keep_fit(0.3, pd.DataFrame({"sku": ["A"], "model": ["ma3"]}))
    assert fitted.selection_["model"].tolist() == ["ma3"]
    with pytest.raises(ParameterError, match="one model per SKU; A is given more than once"):
        keep_fit(0.3, pd.DataFrame({"sku": ["A", "A"], "model": ["ma3", "ses"]}))


def test_a_single_incumbent_also_needs_its_pooled_rank_within_the_margin():
    # two models, one row: own scores 8 (best, index 0) and 10 (incumbent, index 1)
    backtest = np.array([[[[12.0]]], [[[10.0]]]])  # forecasts; actual 20 -> errors -8 and -10
    actual = np.array([[[20.0]]])
    common = np.array([[True]])
    score = np.array([[16.0], [20.0]])  # the selection's scores (2 |e|)
    incumbent = np.array([[1, -1, -1]])
    components = np.array([[0, -1, -1]])
    args = (incumbent, components, np.array([16.0]), np.array([0]))
    tail = (score, np.array([True]), backtest, actual, common, 1.3)
    # own score 20 <= 16 * 1.3 = 20.8; rank 20 <= 20.8 -> kept
    kept, own = fc._keep_incumbent(*args, np.array([[16.0], [20.0]]), *tail)
    assert kept.tolist() == [True] and own["score"].tolist() == [20.0]
    # the class prior ranks it 21 (> 20.8): not kept, though its own score is close
    kept, _ = fc._keep_incumbent(*args, np.array([[16.0], [21.0]]), *tail)
    assert kept.tolist() == [False]


@pytest.mark.parametrize("bad", [-0.1, "0.1", float("nan"), True])
def test_keep_margin_must_be_a_number_at_least_zero(bad):
    with pytest.raises(ParameterError, match="keep_margin"):
        keep_fit(bad, None)


def test_model_summary_and_note_count_changes_against_the_last_cycle():
    kept = keep_fit(0.3, {"A": "ma3"}).selection_  # kept ma3 (10 <= 10.4)
    moved = keep_fit(0.2, {"A": "ma3"}).selection_  # changed to naive
    assert fc.model_summary(kept)[["n_skus", "changed", "kept"]].values.tolist() == [[1, 0, 1]]
    assert fc.model_summary(moved)[["n_skus", "changed", "kept"]].values.tolist() == [[1, 1, 0]]
    assert fc.model_changes(moved, 0.2) == (
        "Against the last cycle's models (1 SKU): 1 changed model; 0 stayed on theirs where "
        "a fresh choice would have changed it (their backtest within 20% of the fresh "
        "choice's: a forecast that changes model every month moves the plan without new "
        "information).")
    assert fc.model_changes(keep_fit(0.0, {"A": "ma3"}).selection_, 0.0) == (
        "Against the last cycle's models (1 SKU): 1 changed model (keep_margin 0: every "
        "model chosen afresh).")
    fresh = keep_fit(0.3, None).selection_
    assert "changed" not in fc.model_summary(fresh).columns
    assert fc.model_changes(fresh, 0.1, against="the previous forecast") == (
        "No SKU has a model from the previous forecast to keep: each model was chosen afresh.")


@pytest.mark.parametrize("label, parts", [
    ("ses", ["ses"]), ("zero", ["zero"]), ("combo:ma3+naive", ["naive", "ma3"]),
    ("combo:ets+ses+tsb", ["ses", "tsb", "ets"]),
    ("combo:ma12+ma12", None), ("combo:ma6+ma6+ma6", None), ("combo:naive", None),
    ("ma3+naive", None), ("combo:zero+ses", None), ("combo:ses+history_mean", None),
    ("combo:naive+ma3+ma6+ses", None), ("history_mean", None), ("SES", None), (None, None),
])
def test_only_labels_the_engine_chooses_are_incumbents(label, parts):
    assert fc.model_label_parts(label) == parts


def test_a_label_naming_a_model_twice_is_not_kept_and_cannot_shrink_the_forecast():
    # combo:naive+naive would average naive with itself: counted once per member it
    # halved the forecast; it is not a label the engine chooses, so it is ignored
    fitted = keep_fit(0.3, {"A": "combo:naive+naive"})
    row = fitted.selection_.iloc[0]
    assert (row["model"], bool(row["kept"])) == ("naive", False)
    assert fitted.predict()["qty_forecast"].iloc[0] == pytest.approx(20.0)
    # a combination spelt in another order is the same combination, and says so
    fitted = keep_fit(0.2, {"A": "combo:ma3+naive"})
    row = fitted.selection_.iloc[0]
    assert row["model"] == row["previous_model"] == "combo:naive+ma3" and row["kept"]
