"""The deal editor: pure recomputation, and widgets wired to it."""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit.forecast import StatisticalForecaster
from sopkit.lumpy import LumpyDemandModel
from sopkit.widgets import DealEditor

MONTHS = pd.date_range("2025-01-01", periods=12, freq="MS")


@pytest.fixture
def editor():
    # A never sold; one open deal D1: 100 units in 2026-02 at a stated 0.5. No deal
    # history, so stated probabilities stand and nothing slips (as `sop forecast`).
    actuals = pd.DataFrame({"sku": pd.array(["A"] * 12 + ["B"] * 12, dtype="string"),
                            "period": list(MONTHS) * 2, "qty": [0.0] * 12 + [5.0] * 12})
    pipeline = pd.DataFrame({"snapshot": pd.to_datetime(["2025-12-01"]), "deal_id": ["D1"],
                             "sku": pd.array(["A"], dtype="string"),
                             "period": pd.to_datetime(["2026-02-01"]), "qty": [100.0],
                             "probability": [0.5]})
    cycle = pd.Timestamp("2026-01-01")
    forecast = StatisticalForecaster(horizon=3).fit(actuals).predict()
    model = LumpyDemandModel(random_state=0).fit(actuals, pipeline, cycle=cycle)
    model.predict(forecast)
    return DealEditor(model, forecast, pipeline)


def test_apply_recomputes_the_consensus(editor):
    plan = editor.apply("D1", probability=0.8).set_index("period")
    assert plan.loc[pd.Timestamp("2026-02-01"), "qty_consensus"] == pytest.approx(80.0)
    moved = editor.apply("D1", qty=40, period="2026-03").set_index("period")
    # probability back to the stated 0.5 (edits are not cumulative): 40 x 0.5 in March
    assert moved.loc[pd.Timestamp("2026-03-01"), "qty_consensus"] == pytest.approx(20.0)
    assert moved.loc[pd.Timestamp("2026-02-01"), "qty_consensus"] == pytest.approx(0.0)
    assert editor.pipeline.loc[0, "probability"] == 0.5  # the input is never changed
    with pytest.raises(ValueError, match="probability must be between 0 and 1"):
        editor.apply("D1", probability=1.5)
    with pytest.raises(KeyError):
        editor.apply("D9")


def test_widget_controls_drive_the_recomputation(editor):
    box = editor.widget()
    pick, row = box.children[0], box.children[1]
    probability = row.children[0]
    assert pick.value == "D1" and probability.value == 0.5
    probability.value = 1.0
    plan = editor.result_.set_index("period")
    assert plan.loc[pd.Timestamp("2026-02-01"), "qty_consensus"] == pytest.approx(100.0)
