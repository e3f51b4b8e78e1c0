"""How a tier short of capacity is shared: by units, by revenue or by margin (``allocate_by``).

Usage::

    .venv/bin/python benchmarks/supply_allocation.py [--skus 300]

Writes the sample company (seed 0) into a temporary folder and runs the demand
review, the supply review and the reconciliation (``sopkit.runner.run_cycle``,
papermill, the parameters of ``params/cycle.yaml``) three times, with
``allocate_by`` ``units``, ``revenue`` and ``margin``, then prints side by
side the supply review's units short and, per scenario of the
reconciliation, revenue at risk, fill rate, revenue and contribution; then the
SKUs of the supply review's plan whose shortfall moved, with their tier, price
and the bottleneck use that explains the move (revenue per unit of the
component or resource they are short of).
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

from sopkit.cli import load_params  # noqa: E402
from sopkit.io import load_data  # noqa: E402
from sopkit.runner import run_cycle  # noqa: E402
from sopkit.sample import write_sample  # noqa: E402

STEPS = ("02_demand_review", "03_supply_review", "04_reconciliation")
MODES = ("units", "revenue", "margin")


def run(mode: str, data_dir: Path, root: Path, params: dict) -> dict[str, pd.DataFrame]:
    """One run of the three steps with ``allocate_by=mode``; the frames compared."""
    started = time.perf_counter()
    run_cycle(cycle="2026-11", data_dir=str(data_dir), params={**params, "allocate_by": mode},
              workspace=root / mode / "runs", reports=root / mode / "reports", steps=STEPS,
              progress=None)
    folder = root / mode / "runs" / "2026-11"
    print(f"allocate_by {mode}: {time.perf_counter() - started:.1f} s", flush=True)
    return {name: pd.read_csv(folder / f"{name}.csv")
            for name in ("scenarios", "supply_plan", "supply_gaps")}


def cycle_params() -> dict:
    """The bundled cycle parameters (``params/cycle.yaml``), as the benchmarks run them."""
    return {k: v for k, v in load_params(ROOT / "params" / "cycle.yaml").items()
            if k != "__file__"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=300)
    args = parser.parse_args()
    params = cycle_params()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data_dir = root / "data"
        write_sample(data_dir, seed=0, n_skus=args.skus)
        data = load_data(data_dir)
        out = {mode: run(mode, data_dir, root, params) for mode in MODES}

    columns = ["revenue_at_risk", "fill_rate", "revenue", "contribution"]
    table = pd.concat([out[mode]["scenarios"].set_index("scenario")[columns]
                       .add_suffix(f" ({mode})") for mode in MODES], axis=1)
    print("\nsupply review's plan, units short (units → revenue → margin): " + " → ".join(
        f"{out[mode]['supply_plan']['qty_short'].sum():,.0f}" for mode in MODES))
    print("\n| scenario | revenue at risk, units → revenue → margin | fill rate | revenue "
          "| contribution |")
    print("|---|---|---|---|---|")
    for name, row in table.iterrows():
        cells = []
        for column, fmt in (("revenue_at_risk", "{:,.0f}"), ("fill_rate", "{:.2%}"),
                            ("revenue", "{:,.0f}"), ("contribution", "{:,.0f}")):
            cells.append(" → ".join(fmt.format(row[f"{column} ({mode})"]) for mode in MODES))
        print(f"| {name} | " + " | ".join(cells) + " |")

    products = data.products.set_index("sku")
    short = pd.concat({mode: out[mode]["supply_plan"].groupby("sku")["qty_short"].sum()
                       for mode in MODES}, axis=1).fillna(0.0)
    short["change"] = (short[list(MODES)].max(axis=1) - short[list(MODES)].min(axis=1))
    moved = short[short["change"].abs() > 0.5].copy()
    moved["tier"] = products["priority_tier"].reindex(moved.index)
    moved["price"] = products["price"].reindex(moved.index)
    bom = data.bom
    routes = data.routings
    binding = pd.concat([out[mode]["supply_gaps"][["sku", "binding"]] for mode in MODES])
    binding = binding.dropna().drop_duplicates("sku").set_index("sku")["binding"]
    uses = []
    for sku in moved.index:
        code = str(binding.get(sku, "")).split(", ")[0]
        per = bom[(bom["sku"] == sku) & (bom["component"] == code)]["qty_per"]
        if per.empty:
            per = routes[(routes["sku"] == sku) & (routes["resource"] == code)]["hours_per_unit"]
        use = float(per.iloc[0]) if len(per) else float("nan")
        uses.append((code, use, moved.loc[sku, "price"] / use if use else float("nan")))
    moved[["short of", "use a unit", "revenue per use"]] = pd.DataFrame(
        uses, index=moved.index)
    moved["margin per use"] = (moved["price"] - products["unit_cost"].reindex(moved.index)) / (
        moved["use a unit"])
    print("\n| SKU | tier | price | short of | use a unit | revenue per use | margin per use "
          "| units short, units → revenue → margin |")
    print("|---|---:|---:|---|---:|---:|---:|---|")
    for sku, row in moved.sort_values(["tier", "revenue per use"]).iterrows():
        print(f"| {sku} | {row['tier']} | {row['price']:,.2f} | {row['short of']} | "
              f"{row['use a unit']:g} | {row['revenue per use']:,.1f} | "
              f"{row['margin per use']:,.1f} | "
              + " → ".join(f"{row[mode]:,.0f}" for mode in MODES) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
