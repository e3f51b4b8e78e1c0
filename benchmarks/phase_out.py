"""Products being phased out: the statistical level against the recent run rate.

Usage::

    .venv/bin/python benchmarks/phase_out.py [--seeds 0 1 2 3 4 5 6 7] [--datasets pbs oil_refinery]

Protocol. A product with a known end of life (``eol_period``) is forecast
from origins 1 to 6 months before it, 3 months ahead (months after the end
of life left out), and every method is faded the same way before the end of
life (:func:`sopkit.lifecycle.phase_out_multiplier`). The statistical
forecast is :class:`sopkit.forecast.StatisticalForecaster` fitted on the
history before the origin. Methods:

* ``statistical``: the statistical forecast, faded (sopkit before 2026-12-07);
* ``capped (sopkit)``: capped at the recent run rate first
  (:func:`sopkit.lifecycle.run_rate_cap`: the mean of the last 3 months when
  each sold, else of the last 6);
* ``capped at the 6-month mean``: the same cap with the 6-month mean always;
* ``run rate``: the recent run rate itself, faded (what the product review's
  run-out uses, :func:`sopkit.lifecycle.phase_out_demand`).

Data. (1) Real series that stop selling (``../shared/datasets``, monthly sets):
a series whose last sale is followed by at least 6 months without demand,
with 18 months of history before it and sales in at least 6 of its last 12
months; the last month sold is taken as its ``eol_period``, as if announced.
(2) Sample companies (:func:`sopkit.sample.make_sample`, seeds given): their
``eol`` products, origins in the last 6 months of the history (their end of
life lies after it, so the hold-out is the decline before it).

Scores pooled over every product × origin × month: WAPE = Σ|f − a| / Σa and
bias = Σ(f − a) / Σa.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sopkit.forecast import StatisticalForecaster
from sopkit.lifecycle import phase_out_multiplier, recent_run_rate, run_rate_cap
from sopkit.periods import add_months
from sopkit.sample import make_sample

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forecast_accuracy import datasets_folder, load  # noqa: E402

HORIZON = 3
ORIGINS = 6
METHODS = ("statistical", "capped (sopkit)", "capped at the 6-month mean", "run rate")


def forecast_at(history: pd.DataFrame, products: pd.DataFrame, origin: pd.Timestamp,
                actuals: pd.DataFrame) -> pd.DataFrame:
    """Every method's forecast for ``products`` from ``origin``, with the actuals."""
    fc = StatisticalForecaster(horizon=HORIZON, season_length=12, n_windows=3).fit(
        history, end=add_months(origin, -1)).predict()
    fc = fc.rename(columns={"qty_forecast": "qty_stat"})
    fc = fc.merge(products[["sku", "eol_period"]], on="sku")
    fc = fc[fc["period"] <= fc["eol_period"]].reset_index(drop=True)
    fade = phase_out_multiplier(fc, products)
    six = recent_run_rate(history, origin, recent_months=6, run_rate_months=6)
    rate = recent_run_rate(history, origin)
    level = fc.groupby("sku")["qty_stat"].transform("mean")
    six_cap = fc["sku"].map(six).fillna(0.0).to_numpy(float)
    fc["statistical"] = fc["qty_stat"] * fade
    fc["capped (sopkit)"] = fc["qty_stat"] * run_rate_cap(fc, products, history,
                                                          cycle=origin) * fade
    fc["capped at the 6-month mean"] = np.minimum(fc["qty_stat"], six_cap * fc["qty_stat"]
                                                  / level.where(level > 0, 1.0)) * fade
    fc["run rate"] = fc["sku"].map(rate).fillna(0.0).to_numpy(float) * fade
    fc = fc.merge(actuals, on=["sku", "period"], how="left").fillna({"qty": 0.0})
    return fc


def real_dataset(name: str) -> pd.DataFrame:
    long, _ = load(name)
    wide = long.pivot(index="sku", columns="period", values="qty")
    periods = wide.columns
    ending = []
    for sku, row in wide.iterrows():
        values = np.nan_to_num(row.to_numpy(float))
        sold = np.flatnonzero(values > 0)
        if len(sold) < 8:
            continue
        last = sold[-1]
        if last > len(values) - 7 or last < 18 or (values[last - 11:last + 1] > 0).sum() < 6:
            continue
        ending.append((sku, periods[last], last))
    parts = []
    for k in range(1, ORIGINS + 1):
        for origin_index in sorted({last - k + 1 for _, _, last in ending}):
            skus = [(s, e) for s, e, last in ending if last - k + 1 == origin_index]
            origin = periods[origin_index]
            products = pd.DataFrame({"sku": pd.array([s for s, _ in skus], dtype="string"),
                                     "eol_period": [e for _, e in skus],
                                     "lifecycle_status": "eol"})
            history = long[long["sku"].isin(set(products["sku"])) & (long["period"] < origin)]
            parts.append(forecast_at(history.astype({"sku": "string"}), products, origin,
                                     long.astype({"sku": "string"})))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return out.assign(data=f"{name} ({len(ending)} series)")


def sample_company(seed: int) -> pd.DataFrame:
    frames = make_sample(seed=seed)
    products, actuals = frames["products"], frames["actuals"]
    ending = products[products["eol_period"].notna()]
    actuals = actuals[actuals["sku"].isin(set(ending["sku"]))]
    last = actuals["period"].max()
    parts = []
    for k in range(ORIGINS, 0, -1):
        origin = add_months(last, -k + 1)
        live = ending[pd.to_datetime(ending["eol_period"]) >= origin]
        history = actuals[actuals["sku"].isin(set(live["sku"])) & (actuals["period"] < origin)]
        parts.append(forecast_at(history, live, origin, actuals[["sku", "period", "qty"]]))
    return pd.concat(parts, ignore_index=True).assign(data="sample companies")


def scores(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for data, group in frame.groupby("data", sort=False):
        actual = group["qty"].sum()
        for method in METHODS:
            error = group[method] - group["qty"]
            rows.append({"data": data, "method": method, "points": len(group),
                         "WAPE": error.abs().sum() / actual, "bias": error.sum() / actual})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=list(range(8)))
    parser.add_argument("--datasets", nargs="*", default=["pbs", "oil_refinery"])
    args = parser.parse_args(argv)
    frames = []
    folder = datasets_folder()
    if args.datasets and not folder.is_dir():
        print(f"skipping the real data sets: {folder} not found (set SOPKIT_DATASETS)")
    elif args.datasets:
        frames += [real_dataset(name) for name in args.datasets]
    if args.seeds:
        companies = pd.concat([sample_company(seed) for seed in args.seeds], ignore_index=True)
        frames.append(companies.assign(data=f"sample companies (seeds {args.seeds[0]}"
                                             f"–{args.seeds[-1]})"))
    table = scores(pd.concat(frames, ignore_index=True))
    print("| data | method | points | WAPE | bias |\n|---|---|---|---|---|")
    for row in table.itertuples(index=False):
        print(f"| {row.data} | {row.method} | {row.points:,} | {row.WAPE:.1%} | {row.bias:+.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
