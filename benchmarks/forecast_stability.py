"""Stability of the model choice between cycles: a fresh choice every month against
keeping last month's model within a margin (``keep_margin``).

Usage::

    .venv/bin/python benchmarks/forecast_stability.py
        [--datasets oil_refinery man_weekly auto_ijf pbs] [--seeds 0 1 2 3]
        [--margins 0 0.05 0.1 0.2] [--origins 13]

Protocol. For each data set, ``--origins`` consecutive origins (months; weeks for
``man_weekly``), the last one 3 periods before the end of the data. At each
origin :class:`sopkit.forecast.StatisticalForecaster` (defaults: 3 backtest
windows of 6 periods; horizon 6) is fitted on the history up to the origin
and, with a margin above 0, handed the models it chose at the origin before
(the first origin has none) — what ``sop cycle`` does month after month with
the models it archives. Margin 0 is a fresh choice every time (sopkit before
``keep_margin``). Scores:

* *changed model*: share of the SKUs forecast at two consecutive origins whose
  model label (``ses``, ``combo:ma3+ses``...) differs, mean over the pairs;
* *revision*: Σ |F_k(m) − F_{k−1}(m)| / Σ F_{k−1}(m) over the months ``m`` both
  forecasts cover (the 5 after the later origin) and every SKU and pair of
  origins — how far the plan moves from one cycle to the next. New actuals
  move it too; that part is the same for every margin;
* accuracy at lags 1–3 of every origin: MASE and RMSSE (each SKU × origin a
  series, scaled by its training history, mean; :mod:`sopkit.evaluation`),
  WAPE and bias pooled.

Data: the real data sets of ``../shared/datasets`` as cleaned by
``forecast_accuracy.py`` (a data set whose folder is missing is skipped, and
said so) and the sample company of each seed (:func:`sopkit.sample.make_sample`,
300 SKUs, seed 0 is the bundled one).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sopkit.evaluation import score_series
from sopkit.forecast import StatisticalForecaster
from sopkit.sample import make_sample

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forecast_accuracy import DATASETS, datasets_folder, load  # noqa: E402

HORIZON = 6
LAGS = 3


def chain(long: pd.DataFrame, freq: str, season: int, margin: float, n_origins: int) -> dict:
    """Fit at consecutive origins, each handed the models of the one before; scores."""
    periods = np.sort(long["period"].unique())
    origins = periods[-(n_origins + LAGS):-LAGS]
    switched, moved, base = [], 0.0, 0.0
    scored = []
    previous = None
    for origin in origins:
        train = long[long["period"] <= origin]
        model = StatisticalForecaster(horizon=HORIZON, season_length=season, freq=freq,
                                      keep_margin=margin)
        incumbent = previous[0] if previous is not None and margin > 0 else None
        model.fit(train, incumbent=incumbent)
        forecast = model.predict()
        selection = model.selection_[["sku", "model"]]
        point = forecast.set_index(["sku", "period"])["qty_forecast"]
        if previous is not None:
            last_selection, last_point = previous
            both = selection.merge(last_selection, on="sku", suffixes=("", "_before"))
            switched.append(float((both["model"] != both["model_before"]).mean()))
            pair = point.to_frame("now").join(last_point.rename("before"), how="inner")
            moved += float((pair["now"] - pair["before"]).abs().sum())
            base += float(pair["before"].abs().sum())
        previous = (selection, point)
        ahead = periods[periods > origin][:LAGS]
        actual = long[long["period"].isin(ahead)]
        actual = actual[actual["sku"].isin(selection["sku"])]
        scored.append(score_series(train, actual, forecast).assign(origin=origin))
    per_series = pd.concat(scored, ignore_index=True)
    positive = per_series["scale_mae"].fillna(0.0) > 0
    total = per_series["sum_actual"].sum()
    return {
        "origins": len(origins),
        "skus": int(per_series["sku"].nunique()),
        "changed": float(np.mean(switched)),
        "revision": moved / base if base > 0 else np.nan,
        "mase": float(per_series.loc[positive, "mase"].mean()),
        "rmsse": float(per_series.loc[positive, "rmsse"].mean()),
        "wape": float(per_series["sum_abs_error"].sum() / total),
        "bias": float((per_series["sum_forecast"].sum() - total) / total),
    }


def data_sets(names: list[str], seeds: list[int]):
    folder = datasets_folder()
    for name in names:
        if not (folder / name / "demand.csv.gz").is_file():
            print(f"skipping {name}: {folder / name / 'demand.csv.gz'} not found "
                  "(set SOPKIT_DATASETS)")
            continue
        freq, _, season, _ = DATASETS[name]
        yield name, load(name)[0], freq, season
    for seed in seeds:
        actuals = make_sample(seed)["actuals"][["sku", "period", "qty"]]
        label = "sample company" + (" (bundled)" if seed == 0 else f", seed {seed}")
        yield label, actuals, "MS", 12


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*",
                        default=["oil_refinery", "man_weekly", "auto_ijf", "pbs"])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3])
    parser.add_argument("--margins", type=float, nargs="*", default=[0.0, 0.05, 0.1, 0.2])
    parser.add_argument("--origins", type=int, default=13)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print("| data | keep_margin | origins | SKUs | changed model | revision | MASE | RMSSE "
          "| WAPE | bias |\n|---|---|---|---|---|---|---|---|---|---|")
    for label, long, freq, season in data_sets(args.datasets, args.seeds):
        for margin in args.margins:
            r = chain(long, freq, season, margin, args.origins)
            shown = "0 (fresh choice)" if margin == 0 else f"{margin:g}"
            if margin == 0.1:
                shown += " (sopkit)"
            print(f"| {label} | {shown} | {r['origins']} | {r['skus']:,} | {r['changed']:.1%} "
                  f"| {r['revision']:.1%} | {r['mase']:.3f} | {r['rmsse']:.3f} | {r['wape']:.1%} "
                  f"| {r['bias']:+.1%} |", flush=True)
    print(f"\n{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
