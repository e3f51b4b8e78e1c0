"""Wall time of the constrained supply plan (:func:`sopkit.supply.plan_supply`).

Usage::

    .venv/bin/python benchmarks/supply_speed.py [--quick] [--markdown] [--allocate-by units]

Data: ``sopkit.supply._synthetic_case`` (seed 0): every SKU routes over two of
30 resources and uses three of 200 components, capacity a little below the
average load, a fifth of the SKUs perishable, safety stock from ``qty_q95``.

For each case the wall time is split into

* **build** — checking the data and building the sparse LP
  (``SupplyPlan.build_seconds``),
* **solve** — HiGHS (``SupplyPlan.solve_seconds``),
* **frames** — reading the solution back into the result frames (plan,
  resource load, component usage, gaps with their explanations, options):
  the rest of the call.

Cases: the reference 1,000 SKUs x 24 months (target: under 10 s), then
250 / 500 / 1,000 / 2,000 SKUs at 24 months and 6 / 12 / 24 / 36 months at
1,000 SKUs. Each case runs once, in this process, after one small warm-up
call (imports and first-call costs do not count). ``--quick`` runs only the
reference case. ``--allocate-by`` (default ``revenue``, the planner's default)
chooses how a tier short of capacity is served: ``revenue`` and ``margin``
re-solve the LP once per tier from the first one short, plus up to twice
(``solves`` in the output), ``units`` solves it once.
"""

from __future__ import annotations

import argparse
import platform
import time
from importlib.metadata import version

import numpy as np
import pandas as pd

from sopkit.supply import SOLVER, _Lp, _synthetic_case, plan_supply

N_RESOURCES = 30
N_COMPONENTS = 200
REFERENCE = (1_000, 24)
SKU_SWEEP = [(n, 24) for n in (250, 500, 1_000, 2_000)]
MONTH_SWEEP = [(1_000, t) for t in (6, 12, 24, 36)]


def measure(n_skus: int, n_months: int, allocate_by: str = "revenue") -> dict:
    """Build, solve and frame seconds of one synthetic case, and the number of LP solves."""
    demand, data, cycle = _synthetic_case(n_skus, n_months, N_RESOURCES, N_COMPONENTS, seed=0)
    solves = []
    run = _Lp.solve

    def counted(self, *args, **kwargs):
        solves.append(args[0] if args else kwargs["solver"])
        return run(self, *args, **kwargs)

    _Lp.solve = counted
    started = time.perf_counter()
    try:
        plan = plan_supply(demand, data, cycle=cycle, horizon=n_months,
                           safety_stock_column="qty_q95", allocate_by=allocate_by)
    finally:
        _Lp.solve = run
    total = time.perf_counter() - started
    return {
        "skus": n_skus,
        "months": n_months,
        "build_s": plan.build_seconds,
        "solve_s": plan.solve_seconds,
        "frames_s": total - plan.build_seconds - plan.solve_seconds,
        "total_s": total,
        "status": plan.status,
        "objective": plan.objective,
        "solves": "+".join(solves),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the reference case")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--allocate-by", choices=("revenue", "margin", "units"),
                        default="revenue")
    args = parser.parse_args(argv)

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas "
        f"{pd.__version__}, highspy {version('highspy')} (first solve {SOLVER!r}), "
        f"allocate_by {args.allocate_by!r}, {platform.machine()}",
        flush=True,
    )
    measure(40, 6, args.allocate_by)  # warm-up: imports and first calls
    cases = (
        [REFERENCE] if args.quick else list(dict.fromkeys([REFERENCE] + SKU_SWEEP + MONTH_SWEEP))
    )
    rows = []
    for n_skus, n_months in cases:
        row = measure(n_skus, n_months, args.allocate_by)
        rows.append(row)
        print(
            f"{n_skus:>6} SKUs x {n_months:>2} months: build {row['build_s']:6.2f} s, "
            f"solve {row['solve_s']:7.2f} s, frames {row['frames_s']:5.2f} s, "
            f"total {row['total_s']:7.2f} s  {row['status']}, "
            f"objective {row['objective']:,.2f}, solves {row['solves']}",
            flush=True,
        )
    if args.markdown:
        print("\n| SKUs | months | build s | solve s | frames s | total s | solves |")
        print("|---:|---:|---:|---:|---:|---:|---|")
        for row in rows:
            print(
                f"| {row['skus']:,} | {row['months']} | {row['build_s']:.2f} | "
                f"{row['solve_s']:.2f} | {row['frames_s']:.2f} | {row['total_s']:.2f} | "
                f"{row['solves']} |"
            )


if __name__ == "__main__":
    main()
