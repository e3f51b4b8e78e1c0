"""Time and memory of the lumpy-demand model's prediction on a large pipeline.

Usage::

    .venv/bin/python benchmarks/lumpy_scale.py [--skus 20000 50000] [--copies 8]

Data: the seeded synthetic history of ``benchmarks/synthetic.py`` (48 months,
four demand patterns), its statistical forecast (:class:`sopkit.forecast.
StatisticalForecaster`, horizon 18) and the simulated pipeline of
``benchmarks/lumpy_blend.py`` (:func:`lumpy_blend.simulate_pipeline`, seed 0)
with the latest snapshot's deals listed ``--copies`` times under other deal
ids, so that the open pipeline is as large as a big company's CRM export (the
simulator alone leaves about one open line per ten SKUs).

Measured: :meth:`sopkit.lumpy.LumpyDemandModel.predict` on the fitted model —
the Monte Carlo of the consensus bands is most of it — with the deal lines
simulated in groups of whole SKUs (the default, :data:`sopkit.lumpy.
SIMULATION_CELLS` / :data:`~sopkit.lumpy.SIMULATION_LINES`) and, side by side
in the same run, all at once (both limits raised beyond the case: what the
model did before the groups). Each runs in its own subprocess; peak memory is
the largest NumPy/Python allocation :mod:`tracemalloc` saw during ``predict``
plus the process's peak resident size. The two runs' point forecasts and
quantiles must be identical (the simulation's draws are keyed by SKU-month and
deal id, not by the order they are made in); both are checked.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import lumpy_blend  # noqa: E402
import synthetic  # noqa: E402

import sopkit.lumpy as lumpy  # noqa: E402
from sopkit.forecast import StatisticalForecaster  # noqa: E402

N_MONTHS = 48
HORIZON = 18


def case(n_skus: int, copies: int):
    """History, statistical forecast and pipeline of one case, and its cycle."""
    values, _ = synthetic.demand_matrix(n_skus, N_MONTHS, seed=0)
    history = synthetic.long_frame(values)
    history = history.assign(sku=history["sku"].astype(str))
    pipeline = lumpy_blend.simulate_pipeline(history, np.random.default_rng(0))
    latest = pipeline[pipeline["snapshot"] == pipeline["snapshot"].max()]
    pipeline = pd.concat([pipeline, *(latest.assign(deal_id=latest["deal_id"] + f"-{k}")
                                      for k in range(1, copies))], ignore_index=True)
    cycle = history["period"].max() + pd.DateOffset(months=1)
    stat = StatisticalForecaster(horizon=HORIZON).fit(history).predict()
    return history, stat, pipeline, cycle


def run(n_skus: int, copies: int, grouped: bool, out: str) -> dict:
    """One measurement (in a subprocess of its own)."""
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    if not grouped:
        lumpy.SIMULATION_CELLS = lumpy.SIMULATION_LINES = 10**12
    history, stat, pipeline, cycle = case(n_skus, copies)
    model = lumpy.LumpyDemandModel(random_state=0).fit(history, pipeline, cycle=cycle)
    tracemalloc.start()
    started = time.perf_counter()
    plan = model.predict(stat)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    plan.to_pickle(out)
    return {"skus": n_skus, "open_lines": len(model.open_deals_), "grouped": grouped,
            "predict_s": seconds, "traced_peak_mb": peak / 1e6,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3}


def compare(grouped: pd.DataFrame, whole: pd.DataFrame) -> dict:
    """Point forecasts identical? How far apart are the quantiles?"""
    same = np.array_equal(grouped["qty_consensus"].to_numpy(), whole["qty_consensus"].to_numpy())
    out = {"consensus_identical": bool(same)}
    for column in ("qty_q10", "qty_q50", "qty_q90"):
        a, b = grouped[column].to_numpy(float), whole[column].to_numpy(float)
        moved = a != b
        out[f"{column}_cells_moved"] = int(moved.sum())
        out[f"{column}_mean_abs_pct"] = (float(np.abs(a - b)[moved].sum() / b[moved].sum())
                                         if moved.any() else 0.0)
        out[f"{column}_total_pct"] = float((a.sum() - b.sum()) / b.sum()) if b.sum() else 0.0
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, nargs="*", default=[20_000, 50_000])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--one", nargs=4, metavar=("SKUS", "COPIES", "GROUPED", "OUT"),
                        help=argparse.SUPPRESS)  # internal: one measurement
    args = parser.parse_args()
    if args.one:
        n, copies, grouped, out = args.one
        print(json.dumps(run(int(n), int(copies), grouped == "1", out)))
        return 0
    rows = []
    for n in args.skus:
        plans = {}
        for grouped in (True, False):
            out = f"/tmp/lumpy_scale_{n}_{int(grouped)}.pkl"
            done = subprocess.run([sys.executable, __file__, "--one", str(n), str(args.copies),
                                   str(int(grouped)), out], capture_output=True, text=True,
                                  check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            plans[grouped] = pd.read_pickle(out)
            Path(out).unlink()
            rows.append(row)
            print(row, flush=True)
        print(compare(plans[True], plans[False]), flush=True)
    print()
    print("| SKUs | open deal lines | simulation | predict s | peak traced MB | peak RSS MB |")
    print("|---:|---:|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['skus']:,} | {r['open_lines']:,} | "
              f"{'groups of whole SKUs' if r['grouped'] else 'all at once'} | "
              f"{r['predict_s']:.1f} | {r['traced_peak_mb']:,.0f} | {r['max_rss_mb']:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
