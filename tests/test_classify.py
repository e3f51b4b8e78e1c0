"""Demand classification and the dense demand matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.classify import classify_demand, to_matrix
from sopkit.errors import DataError, ParameterError

START = pd.Timestamp("2024-01-01")


def long_frame(series: dict[str, list[float]], start: pd.Timestamp = START) -> pd.DataFrame:
    rows = []
    for sku, values in series.items():
        for k, qty in enumerate(values):
            rows.append((sku, start + pd.DateOffset(months=k), qty))
    frame = pd.DataFrame(rows, columns=["sku", "period", "qty"])
    frame["sku"] = frame["sku"].astype("string")
    return frame


def test_to_matrix_cleaning_rules():
    actuals = long_frame({"A": [0, 0, 5, np.nan, -3, 7], "B": [1, 2, 3, 4, 5, 6]})
    actuals = actuals.drop(index=actuals[(actuals["sku"] == "B") & (actuals["qty"] == 3)].index)
    skus, periods, values, first = to_matrix(actuals, leading_zeros="prelaunch")
    assert list(skus) == ["A", "B"]
    assert len(periods) == 6 and periods[0] == START
    # prelaunch: leading zeros -> NaN; blank and negative (a return) -> 0
    np.testing.assert_array_equal(values[0], [np.nan, np.nan, 5, 0, 0, 7])
    # a missing month inside the series is zero demand
    np.testing.assert_array_equal(values[1], [1, 2, 0, 4, 5, 6])
    np.testing.assert_array_equal(first, [2, 0])
    # history (the default): A's two recorded zeros are demand history
    _, _, values, first = to_matrix(actuals)
    np.testing.assert_array_equal(values[0], [0, 0, 5, 0, 0, 7])
    np.testing.assert_array_equal(first, [0, 0])


def test_leading_zeros_history_starts_at_the_first_row_not_the_first_period():
    # C's rows start in month 3 (launch); its recorded zero in month 3 is history,
    # months 1-2 without rows are not. D has rows but never demand: no history.
    actuals = pd.concat([long_frame({"B": [1, 1, 1, 1]}),
                         long_frame({"C": [0, 6]}).assign(
                             period=pd.to_datetime(["2024-03-01", "2024-04-01"])),
                         long_frame({"D": [0, 0, 0, 0]})])
    _, _, values, first = to_matrix(actuals)
    np.testing.assert_array_equal(values[1], [np.nan, np.nan, 0, 6])
    assert first.tolist() == [0, 2, 4]
    assert np.isnan(values[2]).all()
    with pytest.raises(ParameterError, match="leading_zeros must be one of"):
        to_matrix(actuals, leading_zeros="ignore")


def test_to_matrix_end_truncates_and_extends():
    actuals = long_frame({"A": [1, 2, 3]})
    _, periods, values, _ = to_matrix(actuals, end=pd.Timestamp("2024-02-01"))
    np.testing.assert_array_equal(values, [[1, 2]])
    _, periods, values, _ = to_matrix(actuals, end=pd.Timestamp("2024-05-01"))
    assert periods[-1] == pd.Timestamp("2024-05-01")
    np.testing.assert_array_equal(values, [[1, 2, 3, 0, 0]])


def test_all_zero_series_is_all_nan_with_first_index_past_the_end():
    _, _, values, first = to_matrix(long_frame({"Z": [0, 0, 0]}))
    assert np.isnan(values).all()
    assert first.tolist() == [3]


def test_duplicates_raise_data_error():
    actuals = long_frame({"A": [1, 2]})
    actuals = pd.concat([actuals, actuals.iloc[[1]]], ignore_index=True)
    with pytest.raises(DataError) as info:
        to_matrix(actuals)
    assert info.value.problems[0].value == "A 2024-02"
    assert "duplicated" in info.value.problems[0].problem


def test_classes_with_hand_computed_adi_and_cv2():
    series = {
        # ADI 1; sizes 10,12 -> mean 11, population var 1 -> CV² 1/121
        "smooth": [10, 12, 10, 12, 10, 12, 10, 12],
        # ADI 1; sizes 1,10 -> mean 5.5, var 20.25 -> CV² 20.25/30.25 = 0.6694
        "erratic": [1, 10, 1, 10, 1, 10, 1, 10],
        # ADI 8/4 = 2; constant sizes -> CV² 0
        "intermittent": [5, 0, 5, 0, 5, 0, 5, 0],
        # ADI 2; sizes 1,10,1,10 -> CV² 0.6694
        "lumpy": [1, 0, 10, 0, 1, 0, 10, 0],
        # leading zeros are ignored: 5 months since the first demand < min_history 6
        "new": [0, 0, 0, 4, 4, 4, 4, 4],
        # no demand in the last 4 months
        "inactive": [3, 3, 3, 3, 0, 0, 0, 0],
        "never": [0, 0, 0, 0, 0, 0, 0, 0],
    }
    result = classify_demand(long_frame(series), inactive_months=4,
                             leading_zeros="prelaunch").set_index("sku")
    assert result.loc["smooth", "adi"] == 1
    assert result.loc["smooth", "cv2"] == pytest.approx(1 / 121)
    assert result.loc["erratic", "cv2"] == pytest.approx(20.25 / 30.25)
    assert result.loc["intermittent", "adi"] == 2
    assert result.loc["intermittent", "cv2"] == 0
    assert result.loc["lumpy", "adi"] == 2
    assert result.loc["lumpy", "cv2"] == pytest.approx(20.25 / 30.25)
    assert result.loc["new", "n_periods"] == 5
    assert result.loc["new", "n_nonzero"] == 5
    assert np.isnan(result.loc["never", "adi"])
    expected = {sku: sku for sku in series} | {"never": "inactive"}
    assert result["demand_class"].to_dict() == expected
    assert str(result["demand_class"].dtype) == "string"


def test_recorded_zeros_before_first_demand_make_a_spare_part_intermittent():
    # 7 recorded zeros then 4: as history, ADI 8/1 = 8 (intermittent, not "new")
    actuals = long_frame({"P": [0, 0, 0, 0, 0, 0, 0, 4]})
    result = classify_demand(actuals).set_index("sku")
    assert result.loc["P", "n_periods"] == 8 and result.loc["P", "adi"] == 8
    assert result.loc["P", "demand_class"] == "intermittent"
    prelaunch = classify_demand(actuals, leading_zeros="prelaunch").set_index("sku")
    assert prelaunch.loc["P", "demand_class"] == "new"


def test_cut_offs_are_parameters():
    actuals = long_frame({"A": [5, 0, 5, 0, 5, 0, 5, 0]})  # ADI 2
    assert classify_demand(actuals)["demand_class"].item() == "intermittent"
    assert classify_demand(actuals, adi_cut=2.5)["demand_class"].item() == "smooth"


def test_end_restricts_the_history():
    actuals = long_frame({"A": [5, 5, 5, 5, 5, 5, 5, 5, 0, 0, 0]})
    result = classify_demand(actuals, end=pd.Timestamp("2024-08-01"))
    assert result["n_periods"].item() == 8
    assert result["demand_class"].item() == "smooth"


@pytest.mark.parametrize("kwargs", [{"adi_cut": 0}, {"min_history": 0}, {"inactive_months": 1.5}])
def test_bad_parameters(kwargs):
    with pytest.raises(ParameterError):
        classify_demand(long_frame({"A": [1, 2, 3]}), **kwargs)


def test_to_matrix_weekly_moves_dates_to_mondays_and_fills_gaps():
    # a Monday, a Wednesday two weeks later (-> Monday 2024-01-15), week 2 missing -> 0
    actuals = pd.DataFrame({"sku": ["A", "A"],
                            "period": pd.to_datetime(["2024-01-01", "2024-01-17"]),
                            "qty": [4.0, 6.0]})
    _, periods, values, first = to_matrix(actuals, freq="W-MON")
    assert list(periods) == list(pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15"]))
    np.testing.assert_array_equal(values, [[4.0, 0.0, 6.0]])
    # across ISO week 53 of 2020: 2020-12-28 (W53) and 2021-01-04 (W01) are adjacent
    actuals = pd.DataFrame({"sku": ["B", "B"],
                            "period": pd.to_datetime(["2020-12-28", "2021-01-04"]),
                            "qty": [1.0, 2.0]})
    _, periods, values, _ = to_matrix(actuals, freq="W")
    assert len(periods) == 2 and values.tolist() == [[1.0, 2.0]]


def test_classify_weekly_counts_weeks():
    actuals = pd.DataFrame({"sku": ["A"] * 8,
                            "period": pd.date_range("2024-01-01", periods=8, freq="W-MON"),
                            "qty": [3.0, 0, 3, 0, 3, 0, 3, 0]})
    row = classify_demand(actuals, freq="W-MON").iloc[0]
    # 8 weeks from the first demand, 4 with demand: ADI 2 -> intermittent, sizes equal
    assert row["n_periods"] == 8 and row["adi"] == 2.0 and row["cv2"] == 0.0
    assert row["demand_class"] == "intermittent"


def test_unknown_frequency_rejected():
    with pytest.raises(ParameterError, match="freq must be"):
        to_matrix(pd.DataFrame({"sku": ["A"], "period": ["2024-01-01"], "qty": [1.0]}),
                  freq="D")
