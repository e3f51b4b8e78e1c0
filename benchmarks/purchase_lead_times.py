"""What purchase lead times change in the sample company's supply plan.

Usage::

    .venv/bin/python benchmarks/purchase_lead_times.py [--skus 300]

Writes the sample company (seed 0) into a temporary folder, runs its demand
review (``sopkit.runner.run_cycle``, papermill, the parameters of
``params/cycle.yaml``) and plans its supply twice with the planner's options
of those parameters: with the purchase orders of ``purchase_orders.csv`` (each
component's main supplier delivers only what is on order in its first
``lead_time_months`` months) and without them (up to the supplier's capacity
from the first month, sopkit before purchase lead times). Prints side by side
the units short and revenue at risk (all months, and the months inside the
longest lead time), the fill rate, the levers the plan pulls (backup
supplier, outsourcing, overtime, temporary staff, stock built ahead), the
safety-stock cover given up, and the components the orders hold back
(:func:`sopkit.supply.lead_time_bound`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from supply_allocation import cycle_params  # noqa: E402  (this folder, the script's own)

from sopkit.contract import TABLES, empty_frame  # noqa: E402
from sopkit.dataset import Dataset  # noqa: E402
from sopkit.io import load_data  # noqa: E402
from sopkit.runner import run_cycle  # noqa: E402
from sopkit.sample import write_sample  # noqa: E402
from sopkit.supply import lead_time_bound, plan_supply, planner_options  # noqa: E402

CYCLE = "2026-11"


def figures(plan, within: pd.Timestamp) -> dict:
    frame = plan.plan
    gaps = plan.gaps
    early = gaps[gaps["period"] < within]
    options = plan.options.groupby("option")[["qty", "cost"]].sum()

    def lever(name: str, column: str) -> str:
        return f"{options[column].get(name, 0.0):,.0f}"

    held = lead_time_bound(plan.component_usage)
    below = (frame["safety_stock"] - frame["inventory_end"]).clip(lower=0.0).sum()
    return {
        "units short": f"{frame['qty_short'].sum():,.0f}",
        "revenue at risk": f"{gaps['revenue_at_risk'].sum():,.0f}",
        "units short inside the lead times": f"{early['qty_short'].sum():,.0f}",
        "revenue at risk inside the lead times": f"{early['revenue_at_risk'].sum():,.0f}",
        "fill rate": f"{frame['qty_served'].sum() / frame['qty_demand'].sum():.2%}",
        "backup supplier, units": lever("backup supplier", "qty"),
        "backup supplier, extra cost": lever("backup supplier", "cost"),
        "outsourced, units": lever("outsourcing", "qty"),
        "outsourcing premium": lever("outsourcing", "cost"),
        "overtime, hours": lever("overtime", "qty"),
        "overtime, cost": lever("overtime", "cost"),
        "temporary staff, hours": lever("temporary staff", "qty"),
        "build-ahead stock, holding cost": lever("build-ahead inventory", "cost"),
        "unit-months below the safety-stock target": f"{below:,.0f}",
        "component-months held back by the orders": f"{len(held):,}",
        "components held back": f"{held['component'].nunique():,}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=300)
    args = parser.parse_args()
    params = cycle_params()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data_dir = root / "data"
        write_sample(data_dir, seed=0, n_skus=args.skus)
        run_cycle(cycle=CYCLE, data_dir=str(data_dir), params=params, workspace=root / "runs",
                  reports=root / "reports", steps=("02_demand_review",), progress=None)
        demand = pd.read_csv(root / "runs" / CYCLE / "demand_plan.csv", dtype={"sku": "string"})
        demand["period"] = pd.to_datetime(demand["period"])
        data = load_data(data_dir)
    options = planner_options(
        service_level=params["service_level"], holding_cost_rate=params["holding_cost_rate"],
        **{k: params[k] for k in ("allow_overtime", "allow_outsourcing", "allow_temp_staff",
                                  "allow_backup_supply", "allocate_by") if k in params})
    lead = int(pd.to_numeric(data.components["lead_time_months"]).max())
    within = pd.Timestamp(CYCLE + "-01") + pd.DateOffset(months=lead)
    without = Dataset(**{**data.tables(),
                         "purchase_orders": empty_frame(TABLES["purchase_orders"])})
    rows = {}
    for label, planned in (("without purchase orders", without),
                           ("with purchase orders", data)):
        plan = plan_supply(demand, planned, cycle=CYCLE, horizon=params["supply_horizon"],
                           **options)
        rows[label] = figures(plan, within)
    print(f"\nsample company (seed 0, {args.skus} SKUs), {params['supply_horizon']}-month plan "
          f"from {CYCLE}; lead times up to {lead} months "
          f"({len(data.purchase_orders)} purchase orders)\n")
    print("| | " + " | ".join(rows) + " |\n|---|" + "---|" * len(rows))
    for key in next(iter(rows.values())):
        print(f"| {key} | " + " | ".join(r[key] for r in rows.values()) + " |")
    print(f"\n{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
