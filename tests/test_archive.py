"""Forecast archive: snapshots, lag accuracy and FVA, computed by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit import archive
from sopkit.dataset import Dataset
from sopkit.errors import DataError

M = pd.date_range("2026-01-01", periods=6, freq="MS")


def actuals(rows):
    frame = pd.DataFrame(rows, columns=["sku", "period", "qty"])
    frame["sku"] = frame["sku"].astype("string")
    return frame


def test_snapshot_lags_and_naive():
    plan = pd.DataFrame({"sku": ["A", "A"], "period": M[2:4], "qty_stat": [5.0, 6.0],
                         "qty_consensus": [7.0, 8.0]})
    hist = actuals([("A", M[0], 3.0), ("A", M[1], 4.0), ("B", M[0], 9.0)])
    snap = archive.snapshot(plan, hist, cycle=M[2])
    a = snap[snap["sku"] == "A"]
    assert a["lag"].tolist() == [1, 2]
    assert a["qty_naive"].tolist() == [4.0, 4.0]  # March's naive = February's demand
    b = snap[snap["sku"] == "B"]  # no plan, no February demand: zeros
    assert b[["qty_naive", "qty_stat", "qty_consensus"]].to_numpy().sum() == 0


def test_accuracy_and_fva_by_hand(tmp_path):
    # Two snapshots of SKU A; actual demand Mar 10, Apr 20, May 30.
    rows = pd.DataFrame({
        "snapshot": [M[2], M[2], M[2], M[3]],
        "sku": ["A"] * 4,
        "period": [M[2], M[3], M[4], M[3]],
        "lag": [1, 2, 3, 1],
        "qty_naive": [15.0, 15.0, 15.0, 10.0],
        "qty_stat": [12.0, 12.0, 12.0, 18.0],
        "qty_consensus": [10.0, 24.0, 36.0, 20.0],
    })
    rows["sku"] = rows["sku"].astype("string")
    for _cycle, part in rows.groupby("snapshot"):
        archive.write_snapshot(part, tmp_path)
    stored = archive.read_archive(tmp_path)
    assert len(stored) == 4
    hist = actuals([("A", M[2], 10.0), ("A", M[3], 20.0), ("A", M[4], 30.0)])
    table = archive.accuracy(stored, hist, lags=(1, 3))
    lag1 = table[table["lag"] == 1].set_index("forecast")
    # lag 1 points: (Mar, a=10) and (Apr, a=20); Σa = 30
    # naive |15-10| + |10-20| = 15 -> 0.5;  stat |12-10| + |18-20| = 4 -> 0.1333
    # consensus |10-10| + |20-20| = 0 -> 0
    assert lag1.loc["naive", "wape"] == pytest.approx(0.5)
    assert lag1.loc["statistical", "wape"] == pytest.approx(4 / 30)
    assert lag1.loc["consensus", "wape"] == pytest.approx(0.0)
    assert lag1.loc["naive", "bias"] == pytest.approx((5 - 10) / 30)
    assert lag1.loc["naive", "n_snapshots"] == 2
    lag3 = table[table["lag"] == 3].set_index("forecast")
    # lag 3: May only, a = 30: consensus |36-30| / 30 = 0.2
    assert lag3.loc["consensus", "wape"] == pytest.approx(0.2)
    staircase = archive.fva(table, lag=1)
    # snapshots without the middle streams read them back as the statistical forecast
    assert staircase["forecast"].tolist() == ["naive", "statistical", "+ pipeline",
                                              "+ adjustments", "consensus"]
    assert staircase["fva"].iloc[1] == pytest.approx(0.5 - 4 / 30)
    assert staircase["fva"].iloc[2] == pytest.approx(0.0)
    assert staircase["fva"].iloc[4] == pytest.approx(4 / 30)
    # only earlier cycles
    assert archive.read_archive(tmp_path, before=M[3])["snapshot"].unique().tolist() == [M[2]]
    # month by month at lag 1: March (stat 12, consensus 10 against 10), April (18, 20
    # against 20)
    monthly = archive.accuracy_by_month(stored, hist, lag=1)
    assert monthly["period"].tolist() == [M[2], M[3]]
    assert monthly["wape_statistical"].tolist() == pytest.approx([0.2, 0.1])
    assert monthly["bias_statistical"].tolist() == pytest.approx([0.2, -0.1])
    assert monthly["wape_consensus"].tolist() == pytest.approx([0.0, 0.0])
    # the last two months with actuals, April and May (May has no lag-1 forecast): April alone
    april = archive.accuracy(stored, hist, lags=(1,), months=2)
    assert april.set_index("forecast").loc["statistical", "wape"] == pytest.approx(2 / 20)


def test_rerun_replaces_only_its_own_cycle(tmp_path):
    base = pd.DataFrame({"snapshot": [M[2]], "sku": ["A"], "period": [M[2]], "lag": [1],
                         "qty_naive": [1.0], "qty_stat": [1.0], "qty_consensus": [1.0]})
    archive.write_snapshot(base, tmp_path)
    archive.write_snapshot(base.assign(snapshot=M[3], period=M[3]), tmp_path)
    archive.write_snapshot(base.assign(qty_stat=9.0), tmp_path)
    stored = archive.read_archive(tmp_path).set_index("snapshot")
    assert stored.loc[M[2], "qty_stat"] == 9.0 and stored.loc[M[3], "qty_stat"] == 1.0


def test_backfill_uses_only_what_was_known(tmp_path):
    hist = actuals([("A", m, float(q)) for m, q in zip(M, [5, 5, 5, 5, 50, 50], strict=True)])
    data = Dataset.from_frames({"actuals": hist})
    written = archive.backfill(data, cycle=M[5], months=2, workspace=tmp_path,
                               forecaster_params={"horizon": 3})
    assert [p.name for p in written] == ["forecasts_2026-04.csv", "forecasts_2026-05.csv"]
    stored = archive.read_archive(tmp_path)
    april = stored[stored["snapshot"] == M[3]]
    # April's cycle knew Jan-Mar (5, 5, 5) only: naive 5, and a flat statistic of 5
    assert april["qty_naive"].tolist() == [5.0, 5.0, 5.0]
    assert april["qty_stat"].round(6).tolist() == [5.0, 5.0, 5.0]
    # rebuilt from data, and says so
    assert stored["rebuilt"].tolist() == [True] * 6
    assert archive.describe_sources(archive.cycle_sources(stored)) == (
        "2 archived cycles, all rebuilt from data (not the forecasts planners saw)")
    # a second call writes nothing: the snapshots exist
    assert archive.backfill(data, cycle=M[5], months=2, workspace=tmp_path) == []


def test_rebuilt_flag_written_kept_and_counted(tmp_path):
    plan = pd.DataFrame({"sku": ["A"], "period": [M[2]], "qty_stat": [5.0],
                         "qty_consensus": [5.0]})
    hist = actuals([("A", M[1], 4.0)])
    assert archive.snapshot(plan, hist, cycle=M[2])["rebuilt"].tolist() == [False]
    assert archive.snapshot(plan, hist, cycle=M[2], rebuilt=True)["rebuilt"].tolist() == [True]
    # March: an archive written before the flag existed (no column); April rebuilt by a
    # backfill; May recorded by its cycle's run
    old = pd.DataFrame({"snapshot": [M[2], M[2]], "sku": ["A", "A"], "period": [M[2], M[3]],
                        "lag": [1, 2], "qty_naive": [1.0, 1.0], "qty_stat": [4.0, 4.0],
                        "qty_consensus": [4.0, 4.0]})
    archive.write_snapshot(old, tmp_path)
    for cycle, rebuilt in ((M[3], True), (M[4], False)):
        plan = pd.DataFrame({"sku": ["A"], "period": [cycle], "qty_stat": [6.0],
                             "qty_consensus": [6.0]})
        archive.write_snapshot(archive.snapshot(plan, hist, cycle=cycle, rebuilt=rebuilt),
                               tmp_path)
    stored = archive.read_archive(tmp_path)
    assert str(stored["rebuilt"].dtype) == "boolean"
    flags = stored.groupby("snapshot")["rebuilt"].first()
    assert pd.isna(flags[M[2]]) and flags[M[3]] and not flags[M[4]]
    every = archive.cycle_sources(stored)
    assert every["source"].tolist() == ["unknown", "rebuilt", "recorded"]
    assert every["n_points"].tolist() == [2, 1, 1]
    assert archive.describe_sources(every) == (
        "3 archived cycles: 1 recorded by its cycle's run, 1 rebuilt from data (not the "
        "forecasts planners saw), 1 of unknown origin (archived before rebuilt cycles were "
        "marked)")
    # actuals through April: March's lag-1 row (March) and April's (April) are scored; March's
    # lag-2 row is not a scored lag, May has no actuals yet
    seen = actuals([("A", M[2], 3.0), ("A", M[3], 6.0)])
    scored = archive.cycle_sources(stored, seen)
    assert scored["snapshot"].tolist() == [M[2], M[3]]
    assert scored["n_points"].tolist() == [1, 1]
    assert archive.describe_sources(scored) == (
        "2 archived cycles: 1 rebuilt from data (not the forecasts planners saw), 1 of unknown "
        "origin (archived before rebuilt cycles were marked)")
    # the scorecard's window, the last month with actuals (April): April's rebuilt cycle only
    assert archive.describe_sources(archive.cycle_sources(stored, seen, months=1)) == (
        "1 archived cycle, rebuilt from data (not the forecasts planners saw)")
    # the old snapshot is scored as before: March stat 4 against 3, April 6 against 6
    lag1 = archive.accuracy(stored, seen, lags=(1,)).set_index("forecast")
    assert lag1.loc["statistical", "wape"] == pytest.approx(1 / 9)
    assert archive.describe_sources(archive.cycle_sources(stored.iloc[0:0])) == (
        "no archived cycle")
    recorded = archive.cycle_sources(stored[stored["snapshot"] == M[4]])
    assert archive.describe_sources(recorded) == "1 archived cycle, recorded by its cycle's run"


def test_snapshot_streams_add_one_input_each():
    plan = pd.DataFrame({"sku": ["A"], "period": [M[2]], "qty_stat": [10.0],
                         "qty_stat_unannounced": [6.0], "qty_pipeline": [30.0],
                         "qty_adjustment": [-2.0], "qty_consensus": [40.0]})
    snap = archive.snapshot(plan, actuals([("A", M[1], 1.0)]), cycle=M[2]).iloc[0]
    # stat 10; less the announced 4, plus deals 30 -> 36; plus adjustment -2 -> 34
    assert snap[["qty_stat", "qty_with_pipeline", "qty_with_adjustments",
                 "qty_consensus"]].tolist() == [10.0, 36.0, 34.0, 40.0]


def test_adjustment_fva_by_owner_and_direction():
    arch = pd.DataFrame({"snapshot": [M[1], M[1]], "sku": ["A", "B"], "period": [M[2], M[2]],
                         "lag": [2, 2], "qty_naive": [0.0, 0.0], "qty_stat": [10.0, 50.0],
                         "qty_with_pipeline": [0.0, 0.0], "qty_with_adjustments": [0.0, 0.0],
                         "qty_consensus": [0.0, 0.0]})
    arch["sku"] = arch["sku"].astype("string")
    # recorded in M[0], so entered for the cycle M[1] against its archived statistics
    adjustments = pd.DataFrame({"snapshot": [M[0], M[0]], "owner": ["Ann", "Bo"],
                                "sku": ["A", "B"], "period": [M[2], M[2]],
                                "qty_delta": [5.0, -20.0]})
    hist = actuals([("A", M[2], 10.0), ("B", M[2], 30.0)])
    table = archive.adjustment_fva(arch, adjustments, hist).set_index("owner")
    # Ann: stat 10 was right; +5 makes it 15 -> error 0 -> 5: FVA -5/10 = -0.5
    # Bo: stat 50 vs 30 (error 20); -20 makes it 30 -> error 0: FVA +20/30
    assert table.loc["Ann", "direction"] == "up" and table.loc["Ann", "fva"] == pytest.approx(-0.5)
    assert table.loc["Bo", "direction"] == "down"
    assert table.loc["Bo", "fva"] == pytest.approx(20 / 30)


def test_adjustment_fva_ignores_forecasts_of_other_cycles():
    arch = pd.DataFrame({"snapshot": [M[2]], "sku": ["A"], "period": [M[2]], "lag": [1],
                         "qty_naive": [0.0], "qty_stat": [10.0], "qty_with_pipeline": [0.0],
                         "qty_with_adjustments": [0.0], "qty_consensus": [0.0]})
    arch["sku"] = arch["sku"].astype("string")
    # recorded in M[0] -> made for cycle M[1], which is not archived: nothing to judge
    adjustments = pd.DataFrame({"snapshot": [M[0]], "owner": ["Ann"], "sku": ["A"],
                                "period": [M[2]], "qty_delta": [5.0]})
    assert archive.adjustment_fva(arch, adjustments, actuals([("A", M[2], 10.0)])).empty


def _month(text):
    return pd.Timestamp(text + "-01")


def test_pipeline_fva_per_owner_by_hand():
    # Each owner's deals judged on the SKU-months they added to: the archived "+ pipeline"
    # forecast with them against the same without them (worked out in the comments).
    rows = [("2026-01", "A", "2026-01", 10.0), ("2026-01", "A", "2026-02", 20.0),
            ("2026-01", "B", "2026-01", 5.0), ("2026-02", "A", "2026-02", 18.0),
            ("2026-02", "A", "2026-03", 30.0)]
    past = pd.DataFrame(rows, columns=["snapshot", "sku", "period", "qty_with_pipeline"])
    past["snapshot"], past["period"] = past["snapshot"].map(_month), past["period"].map(_month)
    deals = pd.DataFrame(
        [("2026-01", "D1", "A", "Ann", "2026-01", 4.0),
         ("2026-01", "D1", "A", "Ann", "2026-02", 2.0),
         ("2026-01", "D2", "A", "Bob", "2026-01", 3.0),
         ("2026-01", "D3", "B", "Bob", "2026-01", 5.0),
         ("2026-02", "D1", "A", "Ann", "2026-02", 6.0),
         ("2026-02", "D4", "A", "Ann", "2026-03", 7.0)],  # no actuals yet: not judged
        columns=archive.DEAL_COLUMNS)
    deals["snapshot"], deals["period"] = deals["snapshot"].map(_month), deals["period"].map(_month)
    actuals = pd.DataFrame({"sku": ["A", "A"], "period": [_month("2026-01"), _month("2026-02")],
                            "qty": [12.0, 15.0]})  # B sold nothing in 2026-01
    out = archive.pipeline_fva(past, deals, actuals).set_index("owner")
    # Ann: |10-12|=2 vs |6-12|=6; |20-15|=5 vs |18-15|=3; |18-15|=3 vs |12-15|=3
    ann = out.loc["Ann"]
    assert (ann["n_cells"], ann["n_deal_lines"]) == (3, 1)
    assert (ann["qty_actual"], ann["qty_expected"]) == (42.0, 12.0)
    assert (ann["error_with"], ann["error_without"]) == (10.0, 12.0)
    assert ann["fva"] == pytest.approx(2 / 42)
    # Bob: |10-12|=2 vs |7-12|=5; |5-0|=5 vs |0-0|=0 -> his deal on B cost 5 units
    bob = out.loc["Bob"]
    assert (bob["n_cells"], bob["n_deal_lines"], bob["qty_actual"]) == (2, 2, 12.0)
    assert (bob["error_with"], bob["error_without"]) == (7.0, 5.0)
    assert bob["fva"] == pytest.approx(-2 / 12)
    # his deal on B moved his error most (-5 against +3 on A): without it, +3 / 12
    assert bob["top_sku"] == "B" and bob["fva_without_top"] == pytest.approx(3 / 12)
    assert ann["top_sku"] == "A" and pd.isna(ann["fva_without_top"])  # nothing else judged


def test_deal_snapshot_round_trip_keeps_owner_and_empty_cycles(tmp_path):
    open_deals = pd.DataFrame({"deal_id": ["D1", "D2"], "sku": ["A", "B"],
                               "owner": ["Ann", None], "stage": ["commit", "propose"]})
    months = pd.DataFrame({"deal_id": ["D1", "D1", "D2"], "sku": ["A", "A", "B"],
                           "period": [_month("2026-03"), _month("2026-04"), _month("2026-03")],
                           "share_landing": [0.6, 0.4, 1.0], "qty_expected": [6.0, 4.0, 2.5]})
    frame = archive.deal_snapshot(open_deals, months, cycle="2026-03")
    archive.write_deal_snapshot(frame, tmp_path, cycle="2026-03")
    empty = archive.deal_snapshot(open_deals.iloc[:0], months.iloc[:0], cycle="2026-04")
    path = archive.write_deal_snapshot(empty, tmp_path, cycle="2026-04")
    assert path.name == "deals_2026-04.csv" and path.read_text().startswith("snapshot,deal_id")
    back = archive.read_deal_archive(tmp_path)
    assert back["owner"].tolist() == ["Ann", "Ann", "unspecified"]
    assert back["qty_expected"].tolist() == [6.0, 4.0, 2.5]
    assert (back["snapshot"] == _month("2026-03")).all()
    assert archive.read_deal_archive(tmp_path, before="2026-03").empty


# ---------------------------------------------------------------- the models each cycle chose
def test_model_snapshots_round_trip_and_the_latest_before_a_cycle_is_the_incumbent(tmp_path):
    assert archive.previous_models(tmp_path, M[3]).empty  # a new workspace: none
    for cycle, model in ((M[1], "ses"), (M[2], "combo:naive+ma3"), (M[4], "ets")):
        selection = pd.DataFrame({"sku": ["B", "A"], "model": [model, "croston"],
                                  "wape": [0.1, 0.2]})
        path = archive.write_model_snapshot(archive.model_snapshot(selection, cycle=cycle),
                                            tmp_path, cycle=cycle)
        assert path.name == f"models_{cycle:%Y-%m}.csv"
    assert (tmp_path / "archive" / "models_2026-03.csv").read_text().splitlines() == [
        "snapshot,sku,model", "2026-03,A,croston", "2026-03,B,combo:naive+ma3"]
    # April's cycle: March's models (not May's, not its own on a rerun)
    last = archive.previous_models(tmp_path, M[3])
    assert last.to_dict("list") == {"sku": ["A", "B"], "model": ["croston", "combo:naive+ma3"]}
    assert archive.previous_models(tmp_path, M[4])["model"].tolist() == [
        "croston", "combo:naive+ma3"]
    assert archive.previous_models(tmp_path, M[5])["model"].tolist() == ["croston", "ets"]
    assert archive.previous_models(tmp_path, M[1]).empty


@pytest.mark.parametrize("text, where", [
    ("snapshot,sku\n2026-03,A\n", [(None, "model", "required column is missing")]),
    ("snapshot,sku,model\n2026-03,A,ses\n2026-03,,ses\n2026-03,C,\n",
     [(3, "sku", "blank cell; a value is required"),
      (4, "model", "blank cell; a value is required")]),
    ("snapshot,sku,model\n2026-03,A,ses\n2026-03,A,ma3\n",
     [(3, "model", "SKU A has another model in row 2 (ses)")]),
    ("snapshot,sku,model\n2026-03,A,combo:ses+ses\n2026-03,B,history_mean\n",
     [(2, "model", "not a model sopkit chooses (one of zero, naive, seasonal_naive, ma3, ma6, "
                   "ma12, ses, croston, sba, tsb, adida, imapa, ets, or combo: and 2 or 3 "
                   "different ones of them other than zero, joined by +)")]),
    ("", [(None, None, "file is empty")]),
    ('snapshot,sku,model\n2026-03,"A,ses\n',
     [(2, None, 'broken quoting: unexpected end of data; check that every opening " has a '
                'closing "')]),
])
def test_a_damaged_models_file_is_named_with_row_and_column(tmp_path, text, where):
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "models_2026-03.csv").write_text(text)
    with pytest.raises(DataError) as raised:
        archive.previous_models(tmp_path, M[3])
    problems = [(p.row, p.column, p.problem) for p in raised.value.problems]
    assert problems == where
    assert all(p.file.endswith("models_2026-03.csv") for p in raised.value.problems)


def test_backfill_archives_its_models_and_each_cycle_keeps_the_one_before(tmp_path,
                                                                          monkeypatch):
    from sopkit.forecast import StatisticalForecaster

    seen = []
    fit = StatisticalForecaster.fit

    def spy(self, actuals, *, end=None, incumbent=None):
        seen.append(None if incumbent is None or incumbent.empty
                    else incumbent.set_index("sku")["model"].to_dict())
        return fit(self, actuals, end=end, incumbent=incumbent)

    monkeypatch.setattr(StatisticalForecaster, "fit", spy)
    hist = actuals([(s, m, float(q)) for s in "AB"
                    for m, q in zip(M, [5, 6, 5, 7, 50, 50], strict=True)])
    archive.backfill(Dataset.from_frames({"actuals": hist}), cycle=M[5], months=2,
                     workspace=tmp_path, forecaster_params={"horizon": 3})
    names = sorted(p.name for p in (tmp_path / "archive").glob("models_*.csv"))
    assert names == ["models_2026-04.csv", "models_2026-05.csv"]
    april = archive.previous_models(tmp_path, M[4]).set_index("sku")["model"].to_dict()
    # April had no cycle before it; May's fit was handed April's models
    assert seen == [None, april] and set(april) == {"A", "B"}
