"""`sop forecast`: real-world history files handled as documented."""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit.cli import main


def history(tmp_path, text):
    path = tmp_path / "history.csv"
    path.write_text(text)
    return path


def run(tmp_path, text, *extra):
    out = tmp_path / "forecast.csv"
    code = main(["forecast", str(history(tmp_path, text)), "--horizon", "3", "--out", str(out),
                 *extra])
    return code, out


def test_forecast_columns_and_rows(tmp_path):
    rows = "\n".join(f"A,2025-{m:02d},10" for m in range(1, 13))
    code, out = run(tmp_path, "sku,period,qty\n" + rows + "\n", "--quantiles", "0.2,0.8")
    assert code == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["sku", "period", "qty_forecast", "qty_q20", "qty_q80",
                                   "qty_q95", "model", "demand_class"]
    assert frame["period"].tolist() == ["2026-01", "2026-02", "2026-03"]
    # a constant series of 10 is forecast at 10 by every candidate model
    assert frame["qty_forecast"].round(6).tolist() == [10.0, 10.0, 10.0]
    assert frame["demand_class"].unique().tolist() == ["smooth"]


def test_negative_returns_blanks_and_gaps(tmp_path):
    # B: a return (-4) is clipped to 0, a blank is 0, 2025-03 is missing (0):
    # history 6, 0, 0, 0, 6, 0 -> four zero months: intermittent, never negative
    text = ("sku,period,qty\nB,2025-01,6\nB,2025-02,-4\nB,2025-04,\nB,2025-05,6\n"
            "B,2025-06,0\nC,2025-01,0\nC,2025-06,0\n")
    code, out = run(tmp_path, text)
    assert code == 0
    frame = pd.read_csv(out)
    assert (frame.drop(columns=["sku", "period", "model", "demand_class"]) >= 0).all().all()
    # C never had demand: zero forecast
    assert frame.loc[frame["sku"] == "C", "qty_forecast"].tolist() == [0.0, 0.0, 0.0]


def test_duplicates_rejected_with_both_rows(tmp_path, capsys):
    code, _ = run(tmp_path, "sku,period,qty\nA,2025-01,1\nA,2025-01,2\n")
    assert code == 3
    assert "row 3, column 'sku, period': duplicate key (sku, period) = (A, 2025-01); " \
           "first seen on row 2" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--quantiles", "0.5,1.5"], "1.5 is not strictly between 0 and 1"),
    (["--quantiles", "x"], "'x' is not a number"),
    (["--service-level", "2"], "--service-level must be between 0 and 1"),
    (["--season-length", "0"], "--season-length must be at least 1 period, got 0"),
])
def test_bad_options(tmp_path, capsys, args, message):
    code, _ = run(tmp_path, "sku,period,qty\nA,2025-01,1\n", *args)
    assert code == 2 and message in capsys.readouterr().err


def test_empty_and_missing_files(tmp_path, capsys):
    code, _ = run(tmp_path, "sku,period,qty\n")
    assert code == 3 and "has a header but no data rows" in capsys.readouterr().err
    assert main(["forecast", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.csv")]) == 3
    assert "file not found" in capsys.readouterr().err


def test_weekly_history(tmp_path, capsys):
    # 60 ISO weeks, 2024-W01 (Monday 2024-01-01) … 2025-W08; 2024 has 52 weeks
    stamps = pd.date_range("2024-01-01", periods=60, freq="W-MON")
    rows = "\n".join(f"A,{s.isocalendar()[0]}-W{s.isocalendar()[1]:02d},{5 + k % 2}"
                     for k, s in enumerate(stamps))
    code, out = run(tmp_path, "sku,period,qty\n" + rows + "\n")
    assert code == 0
    assert "1 series × 3 weeks" in capsys.readouterr().out
    frame = pd.read_csv(out)
    # the last week is 2025-W08, so the forecast weeks are W09…W11, written as weeks
    assert frame["period"].tolist() == ["2025-W09", "2025-W10", "2025-W11"]
    assert (frame["qty_forecast"] > 0).all()


def test_weekly_history_across_week_53(tmp_path):
    # 2020 has an ISO week 53: 2020-W52, 2020-W53, 2021-W01 are consecutive weeks
    text = "sku,period,qty\n" + "\n".join(
        f"A,2020-W{w:02d},4" for w in range(40, 54)) + "\nA,2021-W01,4\n"
    code, out = run(tmp_path, text)
    assert code == 0
    assert pd.read_csv(out)["period"].tolist() == ["2021-W02", "2021-W03", "2021-W04"]


def test_mixed_months_and_weeks_rejected(tmp_path, capsys):
    text = "sku,period,qty\nA,2025-01,1\nA,2025-02,1\nA,2025-W09,1\n"
    code, _ = run(tmp_path, text)
    err = capsys.readouterr().err
    assert code == 3
    assert "mixes months (2 rows) and ISO weeks (1 rows)" in err
    assert "row 4" in err and "2025-W09" in err


def test_ordinal_and_bad_weeks_rejected(tmp_path, capsys):
    code, _ = run(tmp_path, "sku,period,qty\nA,t01,1\nA,t02,1\n")
    err = capsys.readouterr().err
    assert code == 3 and "ordinal period label without a calendar date" in err
    assert "row 2" in err and "row 3" in err
    code, _ = run(tmp_path, "sku,period,qty\nA,2021-W53,1\n")  # 2021 has 52 ISO weeks
    assert code == 3 and "not a valid ISO week" in capsys.readouterr().err


def test_leading_zeros_option(tmp_path):
    rows = "".join(f"P,2025-{m:02d},0\n" for m in range(1, 12)) + "P,2025-12,12\n"
    out_history = tmp_path / "h.csv"
    out_prelaunch = tmp_path / "p.csv"
    src = history(tmp_path, "sku,period,qty\n" + rows)
    assert main(["forecast", str(src), "--horizon", "2", "--out", str(out_history)]) == 0
    assert main(["forecast", str(src), "--horizon", "2", "--out", str(out_prelaunch),
                 "--leading-zeros", "prelaunch"]) == 0
    as_history = pd.read_csv(out_history)
    as_prelaunch = pd.read_csv(out_prelaunch)
    # one order of 12 in 12 recorded months is intermittent; as a launch it is "new" at 12
    assert as_history["demand_class"].unique().tolist() == ["intermittent"]
    assert as_prelaunch["qty_forecast"].tolist() == [12.0, 12.0]
    assert (as_history["qty_forecast"] < 12).all()


def test_pipeline_blended_by_the_lumpy_model(tmp_path, capsys):
    # A never sold; B sells 5 a month. One open deal: 100 units of A in February
    # at a stated 0.5. With no resolved deals to learn from, the stated
    # probability stands and nothing slips: A's February is 100 x 0.5 = 50.
    rows = "".join(f"A,2025-{m:02d},0\nB,2025-{m:02d},5\n" for m in range(1, 13))
    src = history(tmp_path, "sku,period,qty\n" + rows)
    pipe = tmp_path / "pipeline.csv"
    pipe.write_text("snapshot,deal_id,sku,period,qty,probability\n2025-12,D1,A,2026-02,100,0.5\n")
    out = tmp_path / "o.csv"
    assert main(["forecast", str(src), "--horizon", "3", "--out", str(out),
                 "--pipeline", str(pipe)]) == 0
    frame = pd.read_csv(out).set_index(["sku", "period"])
    assert frame.loc[("A", "2026-02"), "qty_forecast"] == pytest.approx(50.0)
    assert frame.loc[("A", "2026-02"), "qty_pipeline"] == pytest.approx(50.0)
    assert frame.loc[("A", "2026-01"), "qty_forecast"] == 0
    assert frame.xs("B")["qty_forecast"].tolist() == [5.0, 5.0, 5.0]
    assert "50 units expected from open deals" in capsys.readouterr().out


def test_pipeline_problems_and_weekly_rejected(tmp_path, capsys):
    src = history(tmp_path, "sku,period,qty\nA,2025-W01,1\nA,2025-W02,2\n")
    pipe = tmp_path / "pipeline.csv"
    pipe.write_text("snapshot,deal_id,sku,period,qty,probability\n2025-12,D1,A,2026-02,100,1.5\n")
    assert main(["forecast", str(src), "--out", str(tmp_path / "o.csv"),
                 "--pipeline", str(pipe)]) == 2
    assert "--pipeline: the lumpy-demand model plans in months" in capsys.readouterr().err
    monthly = history(tmp_path, "sku,period,qty\nA,2025-01,1\nA,2025-02,2\n")
    assert main(["forecast", str(monthly), "--out", str(tmp_path / "o.csv"),
                 "--pipeline", str(pipe)]) == 3
    assert "pipeline.csv, row 2, column 'probability': must be <= 1" in capsys.readouterr().err


def test_pipeline_codes_checked_against_the_history(tmp_path, capsys):
    # 'a' is SKU A spelt in lower case: its deal would be planned as a product of its own
    # and count as lost when the model learns from the past, so the run stops and names
    # the row; a wholly new SKU C is planned from its deal with a warning
    rows = "".join(f"A,2025-{m:02d},0\nB,2025-{m:02d},5\n" for m in range(1, 13))
    src = history(tmp_path, "sku,period,qty\n" + rows)
    pipe = tmp_path / "pipeline.csv"
    header = "snapshot,deal_id,sku,period,qty,probability\n"
    pipe.write_text(header + "2025-12,D1,A,2026-02,100,0.5\n2025-12,D2,a,2026-02,40,0.5\n")
    out = tmp_path / "o.csv"
    args = ["forecast", str(src), "--horizon", "3", "--out", str(out), "--pipeline", str(pipe)]
    assert main(args) == 3
    err = capsys.readouterr().err
    assert ("pipeline.csv, row 3, column 'sku': 'a' is not in history.csv, but 'A' is" in err)
    assert not out.exists()
    pipe.write_text(header + "2025-12,D1,A,2026-02,100,0.5\n2025-12,D3,C,2026-01,30,1.0\n"
                    "2026-05,D4,B,2026-06,10,0.5\n")
    assert main(args) == 0
    err = capsys.readouterr().err
    assert ("warning: pipeline.csv: SKU 'C' has no demand history in history.csv; its deals "
            "are planned as a new product's (row 3)") in err
    # a snapshot after the forecast starts (2026-01) cannot have been taken: named, not used
    assert ("pipeline.csv: 1 row(s) dated in snapshot 2026-05, after the cycle 2026-01 and "
            "the last actuals (2025-12), are not used by this plan (row 4)") in err
    frame = pd.read_csv(out).set_index(["sku", "period"])
    assert frame.loc[("C", "2026-01"), "qty_pipeline"] == pytest.approx(30.0)
    assert frame.loc[("B", "2026-03"), "qty_pipeline"] == 0


def test_history_codes_that_differ_only_in_spelling_are_named(tmp_path, capsys):
    code, _ = run(tmp_path, "sku,period,qty\nVLV-1,2025-01,4\nVLV-1,2025-02,5\n"
                            "vlv 1,2025-03,6\nP,2025-01,1\n")
    assert code == 0
    err = capsys.readouterr().err
    assert ("warning: history.csv: SKU codes 'VLV-1', 'vlv 1' differ only in case, spaces or "
            "punctuation and are forecast as separate products ('VLV-1' row 2, 3; 'vlv 1' "
            "row 4)") in err


def test_out_never_overwrites_an_input(tmp_path, capsys):
    text = "sku,period,qty\n" + "\n".join(f"A,2025-{m:02d},10" for m in range(1, 13)) + "\n"
    src = history(tmp_path, text)
    pipeline = tmp_path / "pipeline.csv"
    pipeline.write_text("snapshot,deal_id,sku,period,qty,probability\n"
                        "2025-12,D1,A,2026-02,5,0.5\n")
    base = ["forecast", str(src), "--horizon", "2"]
    for out, extra, named in [
        (src, [], "the history file"),
        (tmp_path / "sub" / ".." / "history.csv", [], "the history file"),
        (pipeline, ["--pipeline", str(pipeline)], "the pipeline file"),
        (tmp_path, [], "the history file"),  # a Parquet folder output replaces its parts
    ]:
        (tmp_path / "sub").mkdir(exist_ok=True)
        assert main([*base, "--out", str(out), *extra]) == 2
        assert f"would overwrite {named}" in capsys.readouterr().err
    assert src.read_text() == text  # untouched
    assert main([*base, "--out", str(tmp_path / "forecast.csv")]) == 0


def test_adjustments_debiased_and_promotions_added(tmp_path, capsys):
    # A sells 10 a month, 15 in 2025-06: Ann's +10 for that month (entered 2025-05) came
    # true by half: β = 10 × (15 − 10) / 10² = 0.5 on one adjustment (n 1). The overall β,
    # the same single adjustment, is shrunk towards face value with weight 1 / (1 + 10):
    # 0.5 / 11 + 10 / 11 = 10.5 / 11; hers towards that: 0.5 / 11 + 10 / 11 × 10.5 / 11.
    # Her +20 for 2026-02 then counts 20 × that = 18.26.
    # B sells 5 a month; a +40 % promotion in 2026-03 adds 5 × 0.4 = 2.
    rows = "".join(f"A,2025-{m:02d},{15 if m == 6 else 10}\nB,2025-{m:02d},5\n"
                   for m in range(1, 13))
    src = history(tmp_path, "sku,period,qty\n" + rows)
    adjust = tmp_path / "adjustments.csv"
    adjust.write_text("snapshot,owner,sku,period,qty_delta,reason\n"
                      "2025-05,Ann,A,2025-06,10,tender\n2025-12,Ann,A,2026-02,20,tender\n")
    promos = tmp_path / "promotions.csv"
    promos.write_text("promo_id,sku,start_period,end_period,lift\nP1,B,2026-03,2026-03,0.4\n")
    out = tmp_path / "o.csv"
    assert main(["forecast", str(src), "--horizon", "3", "--out", str(out),
                 "--adjustments", str(adjust), "--promotions", str(promos)]) == 0
    frame = pd.read_csv(out).set_index(["sku", "period"])
    feb = frame.loc[("A", "2026-02")]
    beta = 0.5 / 11 + 10 / 11 * (10.5 / 11)
    assert (feb["qty_adjustment_raw"], feb["qty_adjustment"]) == (20.0, pytest.approx(20 * beta))
    assert feb["qty_forecast"] == pytest.approx(feb["qty_stat"] + 20 * beta)
    assert frame.loc[("A", "2026-01"), "qty_adjustment"] == 0
    assert frame.loc[("B", "2026-03"), "qty_promo"] == pytest.approx(2.0)
    assert frame.loc[("B", "2026-03"), "qty_forecast"] == pytest.approx(7.0)
    assert frame.loc[("B", "2026-02"), "qty_forecast"] == pytest.approx(5.0)
    printed = capsys.readouterr().out
    assert "adjustments: +20 units as entered, +18 after debiasing" in printed
    assert "promotions: +2 units at their stated lift" in printed


def a_year_of_a(tmp_path):
    """history.csv: SKU A sells 10 a month in 2025."""
    return history(tmp_path, "sku,period,qty\n" + "".join(f"A,2025-{m:02d},10\n"
                                                          for m in range(1, 13)))


def test_adjustment_and_promotion_files_checked(tmp_path, capsys):
    src = a_year_of_a(tmp_path)
    promos = tmp_path / "promotions.csv"
    promos.write_text("promo_id,sku,start_period,end_period,lift\nP1,a,2026-03,2026-03,0.4\n"
                      "P2,A,2026-03,2026-02,0.4\n")
    out = tmp_path / "o.csv"
    args = ["forecast", str(src), "--out", str(out), "--promotions", str(promos)]
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "promotions.csv, row 3" in err and "Traceback" not in err  # ends before it starts
    promos.write_text("promo_id,sku,start_period,end_period,lift\nP1,a,2026-03,2026-03,0.4\n")
    assert main(args) == 3
    assert ("promotions.csv, row 2, column 'sku': 'a' is not in history.csv, but 'A' is"
            in capsys.readouterr().err)
    assert not out.exists()
    assert main(["forecast", str(src), "--out", str(promos), "--promotions", str(promos)]) == 2
    assert "would overwrite the promotions file" in capsys.readouterr().err
    weekly = history(tmp_path, "sku,period,qty\nA,2025-W01,1\nA,2025-W02,2\n")
    assert main(["forecast", str(weekly), "--out", str(out), "--adjustments",
                 str(tmp_path / "x.csv")]) == 2
    assert "--adjustments: the lumpy-demand model plans in months" in capsys.readouterr().err


def test_adjustments_dated_after_the_forecast_or_stale_are_named(tmp_path, capsys):
    src = a_year_of_a(tmp_path)
    adjust = tmp_path / "my_adjustments.csv"
    # row 2: recorded in 2025-08, the latest snapshot before the forecast (2026-01): five
    # months old; row 3: recorded in 2026-04, after the forecast starts: not used
    adjust.write_text("snapshot,owner,sku,period,qty_delta\n2025-08,Ann,A,2026-02,5\n"
                      "2026-04,Ann,A,2026-05,7\n")
    out = tmp_path / "o.csv"
    assert main(["forecast", str(src), "--horizon", "6", "--out", str(out),
                 "--adjustments", str(adjust)]) == 0
    err = capsys.readouterr().err
    assert ("my_adjustments.csv: 1 row(s) dated in snapshot 2026-04, after the cycle 2026-01 "
            "and the last actuals (2025-12), are not used by this plan (row 3)") in err
    assert ("my_adjustments.csv: the latest snapshot is 2025-08, 5 months before the cycle "
            "2026-01; the plan counts its adjustments as if they were current") in err
    frame = pd.read_csv(out).set_index(["sku", "period"])
    assert frame.loc[("A", "2026-05"), "qty_adjustment_raw"] == 0  # row 3 not used
    assert frame.loc[("A", "2026-02"), "qty_adjustment_raw"] == 5


def test_previous_forecasts_models_are_kept(tmp_path, capsys):
    # a constant 10: every model forecasts 10 and scores 0, so a fresh choice is the first
    # in tie-break order (naive); last run's ma3 scores 0 too, within any margin: kept
    text = "sku,period,qty\n" + "\n".join(f"A,2025-{m:02d},10" for m in range(1, 13)) + "\n"
    code, out = run(tmp_path, text)
    assert code == 0 and pd.read_csv(out)["model"].unique().tolist() == ["naive"]
    last = tmp_path / "last.csv"
    last.write_text("sku,period,qty_forecast,model\nA,2025-12,10,ma3\nA,2026-01,10,ma3\n"
                    "Z,2026-01,1,ets\n")
    capsys.readouterr()
    code, out = run(tmp_path, text, "--previous", str(last))
    assert code == 0
    frame = pd.read_csv(out)
    assert frame["model"].unique().tolist() == ["ma3"] and (frame["qty_forecast"] == 10).all()
    assert ("Against the previous forecast's models (1 SKU): 0 changed model; 1 stayed on "
            "theirs") in capsys.readouterr().out
    # SKUs of the previous forecast missing from the history are named, not silently dropped
    last.write_text("sku,model\nZ,ses\nY,ses\n")
    code, out = run(tmp_path, text, "--previous", str(last))
    captured = capsys.readouterr()
    assert code == 0 and pd.read_csv(out)["model"].unique().tolist() == ["naive"]
    assert ("--previous: 2 of its 2 SKUs are not in history.csv (e.g. Z, Y); no model was "
            "kept.") in captured.err
    assert "No SKU has a model from the previous forecast to keep" in captured.out


@pytest.mark.parametrize("previous, message", [
    ("sku,qty\nA,1\n", "last.csv, column 'model': required column is missing"),
    ("sku,model\nA,sess\n", "last.csv, row 2, column 'model': not a model sopkit chooses"),
    ("sku,model\nA,combo:ses+ets+x\n", "row 2, column 'model': not a model sopkit chooses"),
    ("sku,model\nA,combo:ma12+ma12\n", "row 2, column 'model': not a model sopkit chooses"),
    ("sku,model\nA,ses\nA,ses\nA,ma3\n",
     "row 4, column 'model': SKU A has another model in row 2 (ses)"),
    ("sku,model\n", "last.csv: has a header but no data rows"),
])
def test_previous_forecast_problems_are_named(tmp_path, capsys, previous, message):
    last = tmp_path / "last.csv"
    last.write_text(previous)
    code, _ = run(tmp_path, "sku,period,qty\nA,2025-01,1\nA,2025-02,2\n", "--previous",
                  str(last))
    err = capsys.readouterr().err
    assert code == 3 and message in err and "Traceback" not in err


def test_previous_with_a_parquet_history_is_refused(tmp_path, capsys):
    code = main(["forecast", str(tmp_path / "history.parquet"), "--out", str(tmp_path / "o"),
                 "--previous", str(tmp_path / "last.csv")])
    assert code == 2 and "--previous: a Parquet history" in capsys.readouterr().err
