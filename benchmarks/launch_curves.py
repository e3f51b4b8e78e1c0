"""Launch curves, left out one at a time: the analogs' ramp alone against the pooled weighing.

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
