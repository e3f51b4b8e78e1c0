"""sopkit.errors.whole_number: one rule for every whole-number parameter."""

import re

import numpy as np
import pandas as pd
import pytest

from sopkit.errors import ParameterError, whole_number


def test_whole_number_takes_integer_types_only():
    assert whole_number("n", 3) == 3 and type(whole_number("n", np.int64(3))) is int
    assert whole_number("n", 0, minimum=0) == 0
    for bad in (0, -2, 3.0, 2.5, True, "3", None, float("nan")):
        with pytest.raises(ParameterError, match=rf"^n must be a whole number >= 1, got "
                                                  rf"{re.escape(repr(bad))}$"):
            whole_number("n", bad)
    with pytest.raises(ParameterError, match=r"n_simulations must be a whole number >= 10, got 9"):
        whole_number("n_simulations", 9, minimum=10)


def test_every_whole_number_parameter_refuses_a_float():
    # these accepted 12.0 or 3.0 before (or crashed on None inside int()); one rule now
    from sopkit.alerts import planned_at_zero
    from sopkit.classify import classify_demand
    from sopkit.consensus import promotion_track_record
    from sopkit.forecast import StatisticalForecaster
    from sopkit.lumpy import LumpyDemandModel

    history = pd.DataFrame({"sku": ["A"] * 3, "qty": [1.0, 2.0, 3.0],
                            "period": pd.date_range("2024-01-01", periods=3, freq="MS")})
    with pytest.raises(ParameterError, match="season_length must be a whole number"):
        StatisticalForecaster(season_length=12.0).fit(history)
    with pytest.raises(ParameterError, match="min_history must be a whole number"):
        classify_demand(history, min_history=3.0)
    with pytest.raises(ParameterError, match="inactive_months must be a whole number"):
        classify_demand(history, inactive_months=None)
    with pytest.raises(ParameterError, match="min_deals must be a whole number >= 1"):
        LumpyDemandModel(min_deals=20.0).fit(history, None, cycle="2024-04")
    with pytest.raises(ParameterError, match="reference_months must be a whole number"):
        promotion_track_record(None, history, cycle="2024-04", reference_months=6.0)
    with pytest.raises(ParameterError, match="planned_at_zero: recent must be a whole number"):
        planned_at_zero(history.assign(qty_consensus=0.0), history, end="2024-03",
                        recent=2.0)
