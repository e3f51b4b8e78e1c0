"""Launch curves, left out one at a time: the analogs' ramp alone against the pooled weighing,
and launches in progress: the mean of their first months against the curve.

Usage::

    .venv/bin/python benchmarks/launch_curves.py [--seeds 0 1 2 3 4 5 6 7 8]

Protocol. For each sample company (``sopkit.sample.make_sample(seed)``; seed 0
is the bundled sample) every launch observed in the history that could serve
as an analog (:func:`sopkit.lifecycle.observed_launches` with a plateau CV of
at most :data:`sopkit.lifecycle.MAX_ANALOG_CV`) is taken out in turn: its
demand is removed, it becomes a product still to launch in the month it
launched (no ``analog_sku``, so the rule picks its analogs), and its launch
curve is built by :func:`sopkit.lifecycle.launch_curves` from the other
launches, twice — ``pooled=False`` (the analogs' mean, sopkit before
2026-12-07) and ``pooled=True`` (weighed against the mean ramp of all
launches, :func:`sopkit.lifecycle.pooled_ramp`). Score: the mean absolute
difference between the curve and the product's own normalised demand over
the ramp months (months 1–6; both are shares of the ramped-up level, so the
score is the error of a forecast made with the right ``launch_volume``).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from sopkit import lifecycle
from sopkit.sample import make_sample

CYCLE = "2026-11"


def left_out(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    products, actuals = frames["products"], frames["actuals"]
    seen = lifecycle.observed_launches(products, actuals, cycle=CYCLE)
    eligible = seen[seen["plateau_cv"] <= lifecycle.MAX_ANALOG_CV]
    ramp = lifecycle.CURVE_MONTHS - lifecycle.PLATEAU_MONTHS
    rows = []
    for launch in eligible.itertuples(index=False):
        sku = str(launch.sku)
        master = products.copy()
        at = master["sku"].astype(str) == sku
        master.loc[at, "launch_period"] = launch.launch
        master.loc[at, "analog_sku"] = pd.NA
        master.loc[at, "lifecycle_status"] = "npi"
        history = actuals[actuals["sku"].astype(str) != sku]
        analogs = lifecycle.choose_analogs(master, history, cycle=CYCLE)
        analogs = analogs[analogs["sku"].astype(str) == sku]
        truth = np.asarray(launch.curve, dtype=float)[:ramp]
        row = {"sku": sku, "family": launch.family,
               "n_analogs": int(analogs["analog_sku"].notna().sum()),
               "rule": str(analogs["rule"].iloc[0])}
        for name, pooled in (("analogs alone", False), ("pooled weighing", True)):
            curve = lifecycle.launch_curves(analogs, master, history, cycle=CYCLE, pooled=pooled)
            factor = curve.sort_values("month_since_launch")["factor"].to_numpy()[:ramp]
            row[name] = float(np.abs(factor - truth).mean())
            if pooled:
                row["weight"] = float(curve["weight"].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows)


def in_progress(frames: dict[str, pd.DataFrame], *, sold_months=(1, 2), ahead: int = 6,
                seed: int = 0) -> pd.DataFrame:
    """Launches in progress: forecast months ``m … m + ahead − 1`` after launch, ``m`` months in.

    For every observed launch (as in :func:`left_out`) and ``m`` in ``sold_months``, the
    cycle is set ``m`` months after its launch (only what was known then is used) and its
    next ``ahead`` months are forecast two ways: the mean of its ``m`` months so far (what a
    statistical forecast of a new item does) and :func:`sopkit.lifecycle.launch_forecast`
    (the launch curve, its volume updated by the months sold). Errors are shares of the
    product's ramped-up level. Two versions of the curve: without a ``launch_volume`` (the
    volume from the months sold alone), and with one as the sample's generator draws it for
    its new products (the true level over U(0.6, 1.1): planners' launch volumes run high).
    """
    rng = np.random.default_rng(seed)
    products, actuals = frames["products"], frames["actuals"]
    seen = lifecycle.observed_launches(products, actuals, cycle=CYCLE)
    eligible = seen[seen["plateau_cv"] <= lifecycle.MAX_ANALOG_CV]
    rows = []
    for launch in eligible.itertuples(index=False):
        sku = str(launch.sku)
        curve = np.asarray(launch.curve, dtype=float) * launch.level  # its demand, months 0-11
        for m in sold_months:
            cycle = pd.Timestamp(launch.launch) + pd.DateOffset(months=m)
            if m + ahead > len(curve):
                continue
            master = products.copy()
            at = master["sku"].astype(str) == sku
            master.loc[at, "launch_period"] = launch.launch
            master.loc[at, "analog_sku"] = pd.NA
            master.loc[at, "lifecycle_status"] = "npi"
            stated = launch.level / rng.uniform(0.6, 1.1)
            periods = pd.date_range(cycle, periods=ahead, freq="MS")
            truth = curve[m:m + ahead]
            flat = np.full(ahead, curve[:m].mean())
            row = {"sku": sku, "months_sold": m,
                   "mean so far": float(np.abs(flat - truth).mean() / launch.level)}
            for name, volume in (("launch curve", np.nan),
                                 ("launch curve, with a launch volume", stated)):
                master.loc[at, "launch_volume"] = volume
                forecast = lifecycle.launch_forecast(master, actuals, periods, cycle=cycle)
                mine = forecast[forecast["sku"].astype(str) == sku]
                # not forecast from its curve (no launch volume, one month sold): the plan
                # keeps the statistics, here the mean so far
                values = mine["qty_stat"].to_numpy() if len(mine) else flat
                row[name] = float(np.abs(values - truth).mean() / launch.level)
            rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(9)))
    args = parser.parse_args(argv)
    parts = []
    for seed in args.seeds:
        part = left_out(make_sample(seed))
        parts.append(part.assign(seed=seed))
    table = pd.concat(parts, ignore_index=True)
    methods = ["analogs alone", "pooled weighing"]
    print("| sample seed | launches | mean weight of the analogs | ramp MAE, analogs alone "
          "| ramp MAE, pooled weighing | launches better / worse |")
    print("|---|---|---|---|---|---|")
    for seed, part in [*table.groupby("seed"), ("all", table)]:
        better = int((part[methods[1]] < part[methods[0]] - 1e-12).sum())
        worse = int((part[methods[1]] > part[methods[0]] + 1e-12).sum())
        print(f"| {seed} | {len(part)} | {part['weight'].mean():.2f} | "
              f"{part[methods[0]].mean():.3f} | {part[methods[1]].mean():.3f} | "
              f"{better} / {worse} |")
    print()
    print("By number of analogs (all seeds):")
    print(table.groupby("n_analogs")[methods].agg(["mean", "size"]).round(3).to_string())
    print()
    progress = pd.concat([in_progress(make_sample(seed), seed=seed).assign(seed=seed)
                          for seed in args.seeds], ignore_index=True)
    print("| months sold | launches | mean so far | launch curve, no launch volume "
          "(better / worse) | launch curve, with a launch volume (better / worse) |")
    print("|---|---|---|---|---|")
    for m, part in progress.groupby("months_sold"):
        cells = []
        for name in ("launch curve", "launch curve, with a launch volume"):
            better = int((part[name] < part["mean so far"] - 1e-12).sum())
            worse = int((part[name] > part["mean so far"] + 1e-12).sum())
            cells.append(f"{part[name].mean():.3f} ({better} / {worse})")
        print(f"| {m} | {len(part)} | {part['mean so far'].mean():.3f} | {cells[0]} | "
              f"{cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
