"""Tests of the constrained supply plan, against plans computed by hand.

Unless a test says otherwise: cycle 2026-01, price 100, unit cost 50 and a
holding cost rate of 0.24 a year, so holding one unit for a month costs
50 * 0.24 / 12 = 1.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sopkit.dataset import Dataset
from sopkit.errors import DataError, ParameterError
from sopkit.supply import (
    _synthetic_case,
    capacity_pressure,
    expiry_risk,
    inventory_projection,
    lead_time_bound,
    lead_time_note,
    options_summary,
    plan_supply,
    planner_options,
)

CYCLE = pd.Timestamp("2026-01-01")


def months(n: int) -> list[pd.Timestamp]:
    return list(pd.date_range(CYCLE, periods=n, freq="MS"))


def demand_frame(rows: dict[str, list[float]], q95: dict[str, list[float]] | None = None):
    frames = []
    for sku, qty in rows.items():
        frame = pd.DataFrame({"sku": sku, "period": months(len(qty)), "qty_consensus": qty})
        if q95 is not None:
            frame["qty_q95"] = q95[sku]
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["sku"] = out["sku"].astype("string")
    return out


def product(sku: str, **kw) -> dict:
    row = {"sku": sku, "family": "F", "lifecycle_status": "active", "price": 100.0,
           "unit_cost": 50.0, "priority_tier": 1, "shelf_life_months": None,
           "outsource_cost": np.nan, "outsource_max": np.nan, "eol_period": None,
           "stocking": "mts"}
    row.update(kw)
    return row


def dataset(products, resources, routings, components=(), bom=(), inventory=()) -> Dataset:
    def frame(rows, columns, strings):
        out = pd.DataFrame(list(rows), columns=columns)
        for col in strings:
            out[col] = out[col].astype("string")
        return out

    prods = frame(products, list(product("x")), ["sku", "family", "lifecycle_status", "stocking"])
    prods["priority_tier"] = prods["priority_tier"].astype("Int64")
    prods["shelf_life_months"] = prods["shelf_life_months"].astype("Int64")
    prods["eol_period"] = pd.to_datetime(prods["eol_period"])
    inv = frame(inventory, ["sku", "qty", "produced_period"], ["sku"])
    inv["produced_period"] = pd.to_datetime(inv["produced_period"])
    # resources: (code, capacity, overtime max, overtime cost[, temp max, temp cost]);
    # components: (code, supplier capacity, on hand[, backup capacity, backup extra cost])
    resources = [tuple(r) + (0.0,) * (6 - len(r)) for r in resources]
    components = [tuple(c) + (0.0,) * (5 - len(c)) for c in components]
    return Dataset.from_frames({
        "products": prods,
        "resources": frame(resources, ["resource", "capacity_hours", "overtime_max_hours",
                                       "overtime_cost_per_hour", "temp_max_hours",
                                       "temp_cost_per_hour"], ["resource"]),
        "routings": frame(routings, ["sku", "resource", "hours_per_unit"], ["sku", "resource"]),
        "components": frame(components, ["component", "supplier_capacity", "on_hand",
                                         "backup_capacity", "backup_extra_cost"],
                            ["component"]),
        "bom": frame(bom, ["sku", "component", "qty_per"], ["sku", "component"]),
        "inventory": inv,
    })


def rows_of(plan, sku):
    return plan.plan[plan.plan["sku"] == sku].reset_index(drop=True)


def one_sku_one_resource(demand):
    """1 SKU, 1 resource of 100 h with 20 h overtime at 30 a hour, 1 h a unit."""
    data = dataset([product("A")], [("R1", 100.0, 20.0, 30.0)], [("A", "R1", 1.0)])
    return plan_supply(demand_frame({"A": demand}), data, cycle=CYCLE, horizon=len(demand))


def test_overtime_and_build_ahead_by_hand():
    # Demand 80 + 150 = 230 > 200 regular hours, <= 240 with overtime: no shortfall.
    # Feb needs 150 h: 120 (100 regular + 20 overtime) in Feb, 30 built ahead in Jan.
    # Jan makes 80 + 30 = 110 (10 overtime). Making 120 in Jan instead would hold
    # 10 more units for a month (+10) for the same overtime: worse.
    plan = one_sku_one_resource([80, 150])
    assert plan.status == "optimal"
    a = rows_of(plan, "A")
    assert a["qty_supply"].tolist() == pytest.approx([110, 120])
    assert a["qty_regular"].tolist() == pytest.approx([100, 100])
    assert a["qty_overtime"].tolist() == pytest.approx([10, 20])
    assert a["inventory_end"].tolist() == pytest.approx([30, 0])
    assert a["qty_served"].tolist() == pytest.approx([80, 150])
    assert a["qty_short"].sum() == pytest.approx(0)
    assert plan.gaps.empty
    load = plan.resource_load
    assert load["overtime_hours"].tolist() == pytest.approx([10, 20])
    assert load["utilisation"].tolist() == pytest.approx([1.1, 1.2])
    # margin: 230 * (100 - 50) - 30 h * 30 - 30 units held one month * 1 = 10 570
    assert plan.objective == pytest.approx(10_570, abs=1e-2)
    options = plan.options.set_index(["option", "period"])
    assert options.loc[("overtime", CYCLE), "qty"] == pytest.approx(10)
    assert options.loc[("overtime", CYCLE), "cost"] == pytest.approx(300)
    assert options.loc[("build-ahead inventory", CYCLE), "qty"] == pytest.approx(30)
    assert options.loc[("build-ahead inventory", CYCLE), "cost"] == pytest.approx(30)


def test_shortfall_and_gap_names_the_binding_resource():
    # Demand 80 + 170 = 250 > 240 hours: everything is made (120 + 120), 10 short in Feb.
    plan = one_sku_one_resource([80, 170])
    a = rows_of(plan, "A")
    assert a["qty_supply"].tolist() == pytest.approx([120, 120])
    assert a["inventory_end"].tolist() == pytest.approx([40, 0])
    assert a["qty_short"].tolist() == pytest.approx([0, 10])
    gaps = plan.gaps
    assert len(gaps) == 1
    gap = gaps.iloc[0]
    assert gap["period"] == pd.Timestamp("2026-02-01")
    assert gap["qty_short"] == pytest.approx(10)
    assert gap["revenue_at_risk"] == pytest.approx(1_000)
    assert gap["binding"] == "R1"
    assert gap["explanation"] == ("Short 10 units in 2026-02: resource R1 is at 100 % of "
                                  "regular and overtime capacity (Jan–Feb 2026).")
    assert (plan.resource_load["shadow_price"] > 0).all()


def test_tier_1_beats_a_more_profitable_tier_2_on_a_shared_resource():
    # R1 has 100 h, no overtime. T1 (tier 1) earns 5 a unit and needs 2 h; HI (tier 2)
    # earns 990 a unit and needs 1 h. By margin HI would take all 50 h it wants; by
    # priority T1 takes 2 * 40 = 80 h first and HI gets the remaining 20 h.
    data = dataset(
        [product("T1", price=20.0, unit_cost=15.0, priority_tier=1),
         product("HI", price=1000.0, unit_cost=10.0, priority_tier=2)],
        [("R1", 100.0, 0.0, 0.0)],
        [("T1", "R1", 2.0), ("HI", "R1", 1.0)])
    plan = plan_supply(demand_frame({"T1": [40], "HI": [50]}), data, cycle=CYCLE, horizon=1)
    assert rows_of(plan, "T1")["qty_served"].tolist() == pytest.approx([40])
    assert rows_of(plan, "HI")["qty_served"].tolist() == pytest.approx([20])
    gap = plan.gaps.set_index("sku").loc["HI"]
    assert gap["qty_short"] == pytest.approx(30)
    assert "given to tier-1 items (T1)" in gap["explanation"]
    assert "resource R1 is at 100 % of capacity" in gap["explanation"]


@pytest.mark.parametrize("hours_tier1", [0.5, 1.0, 3.0])
def test_tier_priority_holds_whatever_the_margin_and_hours(hours_tier1):
    # Tier 1 loses money on every unit, tier 2 is hugely profitable: tier 1 is still served.
    data = dataset(
        [product("T1", price=1.0, unit_cost=60.0, priority_tier=1),
         product("T2", price=900.0, unit_cost=1.0, priority_tier=2),
         product("T3", price=900.0, unit_cost=1.0, priority_tier=3)],
        [("R1", 60.0, 0.0, 0.0)],
        [("T1", "R1", hours_tier1), ("T2", "R1", 1.0), ("T3", "R1", 0.5)])
    demand = demand_frame({"T1": [60 / hours_tier1 / 2], "T2": [40], "T3": [40]})
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=1)
    served = plan.plan.set_index("sku")["qty_served"]
    assert served["T1"] == pytest.approx(30 / hours_tier1)  # all of it, 30 h
    assert served["T2"] == pytest.approx(30)  # the other 30 h
    assert served["T3"] == pytest.approx(0)


def test_shelf_life_writes_off_expiring_opening_stock():
    # Shelf life 2 months. Lot of 50 made in Dec can be sold in Dec and Jan only; a lot of
    # 5 made in Oct expired before the cycle. Jan sells 30 of the Dec lot, 20 are written
    # off, 5 more for the Oct lot. Feb's 30 are made in Feb.
    data = dataset([product("P", shelf_life_months=2)], [("R1", 1000.0, 0.0, 0.0)],
                   [("P", "R1", 1.0)],
                   inventory=[("P", 50.0, "2025-12-01"), ("P", 5.0, "2025-10-01")])
    plan = plan_supply(demand_frame({"P": [30, 30]}), data, cycle=CYCLE, horizon=2)
    p = rows_of(plan, "P")
    assert p["inventory_start"].tolist() == pytest.approx([55, 0])
    assert p["qty_served"].tolist() == pytest.approx([30, 30])
    assert p["qty_written_off"].tolist() == pytest.approx([25, 0])
    assert p["qty_supply"].tolist() == pytest.approx([0, 30])
    assert p["inventory_end"].tolist() == pytest.approx([0, 0])


def test_shelf_life_limits_build_ahead():
    # Shelf life 1 month: nothing can be built ahead. Capacity 60 a month, demand 0 then 100:
    # 60 made in Feb, 40 short, although January's capacity sat idle.
    data = dataset([product("P", shelf_life_months=1)], [("R1", 60.0, 0.0, 0.0)],
                   [("P", "R1", 1.0)])
    plan = plan_supply(demand_frame({"P": [0, 100]}), data, cycle=CYCLE, horizon=2)
    p = rows_of(plan, "P")
    assert p["qty_supply"].tolist() == pytest.approx([0, 60])
    assert p["qty_short"].tolist() == pytest.approx([0, 40])
    assert "shelf life of 1 month(s) limits building ahead" in plan.gaps["explanation"].iloc[0]


def test_component_bound_on_two_skus_sharing_a_component():
    # C1: supplier 100 a month + 20 on hand. A uses 1, B uses 2 per unit; same tier, so
    # units count: A's 60 first (60 components), B gets 60 components = 30 units, 10 short.
    data = dataset([product("A"), product("B")], [("R1", 1000.0, 0.0, 0.0)],
                   [("A", "R1", 1.0), ("B", "R1", 1.0)],
                   components=[("C1", 100.0, 20.0)],
                   bom=[("A", "C1", 1.0), ("B", "C1", 2.0)])
    plan = plan_supply(demand_frame({"A": [60], "B": [40]}), data, cycle=CYCLE, horizon=1)
    served = plan.plan.set_index("sku")["qty_served"]
    assert served["A"] == pytest.approx(60)
    assert served["B"] == pytest.approx(30)
    usage = plan.component_usage.iloc[0]
    assert usage["qty_used"] == pytest.approx(120)
    assert usage["qty_purchased"] == pytest.approx(100)
    assert usage["utilisation"] == pytest.approx(1.0)
    assert usage["shadow_price"] > 0
    gap = plan.gaps.iloc[0]
    assert (gap["sku"], gap["binding"]) == ("B", "C1")
    assert "supplier capacity of component C1 is used up (Jan 2026)" in gap["explanation"]


def test_a_gap_says_when_the_component_is_kept_for_later_months():
    # C1: 10 a month. A (tier 3) wants 10 in January, B (tier 1) 15 in February: 20
    # components for 25 units. B comes first: February's 10 plus 5 bought in January and
    # kept. A gets January's other 5 and is short 5 while 5 components sit in stock: the
    # sentence names that stock, or the reader would look for the shortage in January.
    data = dataset([product("A", priority_tier=3), product("B", priority_tier=1)],
                   [("R1", 1000.0, 0.0, 0.0)], [("A", "R1", 1.0), ("B", "R1", 1.0)],
                   components=[("C1", 10.0, 0.0)], bom=[("A", "C1", 1.0), ("B", "C1", 1.0)])
    plan = plan_supply(demand_frame({"A": [10, 0], "B": [0, 15]}), data, cycle=CYCLE,
                       horizon=2)
    assert rows_of(plan, "B")["qty_served"].tolist() == pytest.approx([0, 15])
    assert plan.component_usage["stock_end"].tolist() == pytest.approx([5, 0])
    gap = plan.gaps.iloc[0]
    assert (gap["sku"], gap["qty_short"]) == ("A", pytest.approx(5))
    assert gap["explanation"] == (
        "Short 5 units in 2026-01: supplier capacity of component C1 is used up (Jan 2026), "
        "and the 5 units of it left at the end of Jan 2026 are kept for later months, when "
        "more of it is needed than its supplier delivers; capacity on C1 was given to "
        "tier-1 items (B).")


def test_opening_inventory_is_consumed():
    # 50 on hand, 10 h a month, demand 30 then 40 = 70 = 50 + 2 * 10: make 10 each month.
    data = dataset([product("A")], [("R1", 10.0, 0.0, 0.0)], [("A", "R1", 1.0)],
                   inventory=[("A", 50.0, None)])
    plan = plan_supply(demand_frame({"A": [30, 40]}), data, cycle=CYCLE, horizon=2)
    a = rows_of(plan, "A")
    assert a["inventory_start"].tolist() == pytest.approx([50, 30])
    assert a["qty_supply"].tolist() == pytest.approx([10, 10])
    assert a["inventory_end"].tolist() == pytest.approx([30, 0])
    assert a["qty_short"].sum() == pytest.approx(0)


def test_safety_stock_from_quantile_is_kept_when_capacity_allows():
    # q95 70 vs demand 50: target 20. Ample capacity: make 70 then 50, hold 20 each month.
    data = dataset([product("A")], [("R1", 1000.0, 0.0, 0.0)], [("A", "R1", 1.0)])
    demand = demand_frame({"A": [50, 50]}, q95={"A": [70, 70]})
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=2, safety_stock_column="qty_q95")
    a = rows_of(plan, "A")
    assert a["safety_stock"].tolist() == pytest.approx([20, 20])
    assert a["qty_supply"].tolist() == pytest.approx([70, 50])
    assert a["inventory_end"].tolist() == pytest.approx([20, 20])


def test_safety_stock_gives_way_to_demand():
    # Capacity 50 a month = demand: the target of 20 is missed rather than a sale.
    data = dataset([product("A")], [("R1", 50.0, 0.0, 0.0)], [("A", "R1", 1.0)])
    demand = demand_frame({"A": [50, 50]}, q95={"A": [70, 70]})
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=2, safety_stock_column="qty_q95")
    a = rows_of(plan, "A")
    assert a["qty_served"].tolist() == pytest.approx([50, 50])
    assert a["inventory_end"].tolist() == pytest.approx([0, 0])


def test_stock_serves_the_earliest_orders_before_its_safety_target():
    # 3 on hand, nothing can be made (R1 has no hours), demand 2 a month, target 5 (q95 7).
    # Every unit short is lost whenever it is lost, so keeping the stock at the target
    # until the last months and letting January's and February's orders go would lose
    # as many sales; it would only hold stock while customers are refused. The stock
    # serves the first orders: 2 in January, 1 in February, then nothing is left.
    data = dataset([product("A")], [("R1", 0.0, 0.0, 0.0)], [("A", "R1", 1.0)],
                   inventory=[("A", 3.0, None)])
    demand = demand_frame({"A": [2, 2, 2]}, q95={"A": [7, 7, 7]})
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=3, safety_stock_column="qty_q95")
    a = rows_of(plan, "A")
    assert a["qty_served"].tolist() == pytest.approx([2, 1, 0])
    assert a["qty_short"].tolist() == pytest.approx([0, 1, 2])
    assert a["inventory_end"].tolist() == pytest.approx([1, 0, 0])


def test_a_phase_out_holds_no_safety_stock_after_its_last_sale():
    # Last month of sales Feb; demand 10, 10, then nothing; q95 15 → target 5 in Jan and Feb.
    # Stock left at the end of February would never be sold: its target there is the
    # demand still to come, 0. January keeps 5 (10 units are still to come), so the plan
    # makes 15 then 5, not 15 then 10, and ends with nothing on the shelf.
    # A SKU without an end of life keeps its target in a month without demand.
    data = dataset([product("A", eol_period="2026-02-01"), product("B")],
                   [("R1", 100.0, 0.0, 0.0)], [("A", "R1", 1.0), ("B", "R1", 1.0)])
    demand = demand_frame({"A": [10, 10, 0, 0], "B": [10, 10, 0, 0]},
                          q95={"A": [15, 15, 0, 0], "B": [15, 15, 0, 0]})
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=3, safety_stock_column="qty_q95")
    a, b = rows_of(plan, "A"), rows_of(plan, "B")
    assert a["safety_stock"].tolist() == pytest.approx([5, 0, 0])
    assert a["qty_supply"].tolist() == pytest.approx([15, 5, 0])
    assert a["inventory_end"].tolist() == pytest.approx([5, 0, 0])
    assert b["safety_stock"].tolist() == pytest.approx([5, 5, 0])
    assert b["inventory_end"].tolist()[:2] == pytest.approx([5, 5])


def test_outsourcing_up_to_its_limit():
    # 100 h, demand 115; outsourcing at 70 (premium 20) up to 10 a month: 100 + 10, 5 short.
    data = dataset([product("A", outsource_cost=70.0, outsource_max=10.0)],
                   [("R1", 100.0, 0.0, 0.0)], [("A", "R1", 1.0)])
    plan = plan_supply(demand_frame({"A": [115]}), data, cycle=CYCLE, horizon=1)
    a = rows_of(plan, "A")
    assert a["qty_outsourced"].tolist() == pytest.approx([10])
    assert a["qty_short"].tolist() == pytest.approx([5])
    option = plan.options.set_index("option").loc["outsourcing"]
    assert (option["qty"], option["cost"]) == pytest.approx((10, 200))
    assert "outsourcing is at its limit of 10 units" in plan.gaps["explanation"].iloc[0]

    closed = plan_supply(demand_frame({"A": [115]}), data, cycle=CYCLE, horizon=1,
                         allow_outsourcing=False)
    assert rows_of(closed, "A")["qty_short"].tolist() == pytest.approx([15])


def test_zero_capacity_means_shortfall_not_an_error():
    data = dataset([product("A")], [("R1", 0.0, 0.0, 0.0)], [("A", "R1", 1.0)])
    plan = plan_supply(demand_frame({"A": [10]}), data, cycle=CYCLE, horizon=1)
    assert plan.status == "optimal"
    assert rows_of(plan, "A")["qty_short"].tolist() == pytest.approx([10])
    assert "resource R1 has no capacity (Jan 2026)" in plan.gaps["explanation"].iloc[0]


def test_bad_master_data_lists_every_problem():
    data = dataset(
        [product("A"), product("B")],
        [("R1", 100.0, 0.0, 0.0)],
        [("A", "R1", 1.0), ("A", "R9", 1.0)],
        components=[("C1", 10.0, 0.0), ("CX", 10.0, 0.0)],
        bom=[("A", "C1", 1.0), ("A", "C7", 1.0), ("A", "B", 1.0), ("CX", "C1", 1.0)])
    demand = demand_frame({"A": [10], "B": [10], "Z": [5]})
    with pytest.raises(DataError) as err:
        plan_supply(demand, data, cycle=CYCLE, horizon=1)
    found = {(p.file, p.row, p.column, p.value) for p in err.value.problems}
    # B has demand but no routing: not a stopping problem (see the test below)
    assert found == {
        ("products.csv", None, "sku", "Z"),  # not in the product master
        ("routings.csv", 3, "resource", "R9"),  # no capacity row
        ("bom.csv", 3, "component", "C7"),  # dangling component
        ("bom.csv", 4, "component", "B"),  # a finished SKU used as a component
        ("bom.csv", 5, "sku", "CX"),  # a component with a BOM of its own
    }
    assert len(err.value.problems) == 5
    message = err.value.user_message()
    assert "component C7 (BOM of SKU A) is not in components.csv" in message
    assert "component B is also a finished SKU; the BOM must be single level" in message
    assert "resource R9 (routing of SKU A) has no capacity row in resources.csv" in message


def test_synthetic_plan_balances_and_bounds():
    demand, data, cycle = _synthetic_case(40, 6, 4, 10, seed=1)
    plan = plan_supply(demand, data, cycle=cycle, horizon=6, safety_stock_column="qty_q95")
    assert plan.status == "optimal"
    p = plan.plan
    assert len(p) == 40 * 6
    assert not p.isna().any().any()
    balance = p["inventory_start"] + p["qty_supply"] - p["qty_served"] - p["qty_written_off"]
    assert np.allclose(balance, p["inventory_end"], atol=1e-5)
    assert np.allclose(p["qty_served"] + p["qty_short"], p["qty_demand"], atol=1e-5)
    assert np.allclose(p["qty_regular"] + p["qty_overtime"] + p["qty_outsourced"],
                       p["qty_supply"], atol=1e-5)
    load = plan.resource_load
    assert (load["hours_required"]
            <= load["capacity_hours"] + load["overtime_max_hours"] + 1e-5).all()
    usage = plan.component_usage
    assert (usage["qty_purchased"] <= usage["supplier_capacity"] + 1e-5).all()
    assert (plan.gaps["explanation"].str.startswith("Short ")).all()
    assert p["sku"].dtype == "string" and p["period"].dtype.kind == "M"


def test_month_limited_capacity_overrides():
    # Resource R1: 100 h/month, 20 h overtime at 30; month 2 is an outage (0 h, no
    # overtime). Demand 80, 80. By hand: month 1 can make 120 (100 + 20 overtime),
    # 80 for month 1 and 40 built ahead for month 2 (margin 50 > overtime 30 +
    # holding 1); month 2 makes nothing, so 80 - 40 = 40 units are short.
    data = dataset([product("A")], [("R1", 100.0, 20.0, 30.0)], [("A", "R1", 1.0)])
    outage = pd.DataFrame({"resource": ["R1"], "period": [months(2)[1]],
                           "capacity_hours": [0.0], "overtime_max_hours": [0.0]})
    plan = plan_supply(demand_frame({"A": [80.0, 80.0]}), data, cycle=CYCLE, horizon=2,
                       resource_capacity=outage)
    rows = rows_of(plan, "A")
    assert rows["qty_supply"].round(6).tolist() == [120.0, 0.0]
    assert rows["qty_short"].round(6).tolist() == [0.0, 40.0]
    load = plan.resource_load
    assert load["capacity_hours"].tolist() == [100.0, 0.0]
    assert load["overtime_max_hours"].tolist() == [20.0, 0.0]
    assert "R1 has no capacity" in plan.gaps.loc[0, "explanation"]


def test_component_override_and_unknown_code():
    # Component C: 50 a month, 30 in month 1 only; SKU A needs 1 C a unit, demand 40, 40,
    # ample resource. By hand: month 1 makes 30 (10 short), month 2 makes 40
    # (building ahead in month 1 is impossible: its components are all used).
    data = dataset([product("A")], [("R1", 1000.0, 0.0, 0.0)], [("A", "R1", 1.0)],
                   components=[("C", 50.0, 0.0)], bom=[("A", "C", 1.0)])
    limit = pd.DataFrame({"component": ["C"], "period": [months(1)[0]],
                          "supplier_capacity": [30.0]})
    plan = plan_supply(demand_frame({"A": [40.0, 40.0]}), data, cycle=CYCLE, horizon=2,
                       component_capacity=limit)
    assert rows_of(plan, "A")["qty_short"].round(6).tolist() == [10.0, 0.0]
    with pytest.raises(Exception, match="unknown component"):
        plan_supply(demand_frame({"A": [40.0, 40.0]}), data, cycle=CYCLE, horizon=2,
                    component_capacity=limit.assign(component="ZZ"))


# --------------------------------------------------------------------------- closing options


def test_temp_staff_cheaper_than_outsourcing_is_used_first():
    # R1: 100 h regular, 10 h overtime at 30 an hour, 20 h of temporary staff at 12 an hour;
    # 1 h a unit. A can be outsourced at 70 (premium 20 a unit) up to 50 a month.
    # Per extra unit: temp staff 12 < outsourcing 20 < overtime 30.
    # Demand 140: 100 regular + 20 temp staff + 20 outsourced, no overtime.
    # Margin: 140 * 100 - 120 * 50 - 20 * 12 - 20 * 70 = 6 360.
    data = dataset([product("A", outsource_cost=70.0, outsource_max=50.0)],
                   [("R1", 100.0, 10.0, 30.0, 20.0, 12.0)], [("A", "R1", 1.0)])
    plan = plan_supply(demand_frame({"A": [140]}), data, cycle=CYCLE, horizon=1)
    a = rows_of(plan, "A").iloc[0]
    assert (a["qty_regular"], a["qty_temp_staff"], a["qty_overtime"],
            a["qty_outsourced"]) == pytest.approx((100, 20, 0, 20))
    assert a["qty_short"] == pytest.approx(0)
    assert plan.objective == pytest.approx(6_360, abs=1e-2)
    load = plan.resource_load.iloc[0]
    assert (load["temp_hours"], load["temp_max_hours"], load["overtime_hours"],
            load["utilisation"]) == pytest.approx((20, 20, 0, 1.2))
    options = plan.options.set_index("option")
    assert set(options.index) == {"temporary staff", "outsourcing"}
    assert options.loc["temporary staff", "resource_or_sku"] == "R1"
    assert (options.loc["temporary staff", "qty"],
            options.loc["temporary staff", "cost"]) == pytest.approx((20, 240))
    assert (options.loc["outsourcing", "qty"],
            options.loc["outsourcing", "cost"]) == pytest.approx((20, 400))

    # Without temporary staff the next cheapest lever, outsourcing (20 < 30), takes over.
    closed = plan_supply(demand_frame({"A": [140]}), data, cycle=CYCLE, horizon=1,
                         allow_temp_staff=False)
    a = rows_of(closed, "A").iloc[0]
    assert (a["qty_regular"], a["qty_temp_staff"], a["qty_overtime"],
            a["qty_outsourced"]) == pytest.approx((100, 0, 0, 40))
    assert closed.resource_load["temp_max_hours"].tolist() == [0.0]


def test_gap_left_after_every_lever_says_so():
    # Same data, demand 185: 100 regular + 20 temp + 50 outsourced (its limit) + 10 overtime
    # = 180; 5 short. Every lever is exhausted and the explanation names them.
    data = dataset([product("A", outsource_cost=70.0, outsource_max=50.0)],
                   [("R1", 100.0, 10.0, 30.0, 20.0, 12.0)], [("A", "R1", 1.0)])
    plan = plan_supply(demand_frame({"A": [185]}), data, cycle=CYCLE, horizon=1)
    a = rows_of(plan, "A").iloc[0]
    assert (a["qty_regular"], a["qty_overtime"], a["qty_temp_staff"], a["qty_outsourced"],
            a["qty_short"]) == pytest.approx((100, 10, 20, 50, 5))
    costs = plan.options.set_index("option")["cost"]
    assert costs.to_dict() == pytest.approx({"overtime": 300, "temporary staff": 240,
                                             "outsourcing": 1_000})
    assert plan.gaps["explanation"].iloc[0] == (
        "Short 5 units in 2026-01: resource R1 is at 100 % of regular, overtime and "
        "temporary-staff capacity (Jan 2026), even with 20 h of temporary staff in Jan 2026; "
        "outsourcing is at its limit of 50 units.")


def test_backup_supplier_closes_a_shared_component_gap():
    # As test_component_bound_on_two_skus_sharing_a_component (C1: 100 a month + 20 on
    # hand; A uses 1, B uses 2; demand 60 and 40 needs 140), plus a backup supplier of 30
    # a month at 5 extra a unit: 20 bought from it, nothing short.
    # Margin: 100 units * (100 - 50) - 20 * 5 = 4 900.
    data = dataset([product("A"), product("B")], [("R1", 1000.0, 0.0, 0.0)],
                   [("A", "R1", 1.0), ("B", "R1", 1.0)],
                   components=[("C1", 100.0, 20.0, 30.0, 5.0)],
                   bom=[("A", "C1", 1.0), ("B", "C1", 2.0)])
    plan = plan_supply(demand_frame({"A": [60], "B": [40]}), data, cycle=CYCLE, horizon=1)
    assert plan.plan["qty_short"].sum() == pytest.approx(0)
    assert plan.gaps.empty
    usage = plan.component_usage.iloc[0]
    assert (usage["qty_used"], usage["qty_purchased"], usage["qty_backup"],
            usage["backup_capacity"], usage["utilisation"]) == pytest.approx((140, 120, 20, 30,
                                                                              1.2))
    option = plan.options.set_index("option").loc["backup supplier"]
    assert option["resource_or_sku"] == "C1"
    assert (option["qty"], option["cost"]) == pytest.approx((20, 100))
    assert plan.objective == pytest.approx(4_900, abs=1e-2)


@pytest.mark.parametrize("allocate_by", ["revenue", "units"])
def test_backup_supplier_too_small_leaves_a_gap_that_says_so(allocate_by):
    # Backup of 10 only: 130 components. A's 60 first (same tier and price: A earns 100 per
    # C1, B 50; by units, A needs one C1 and B two), B gets 70 / 2 = 35 units, 5 short.
    data = dataset([product("A"), product("B")], [("R1", 1000.0, 0.0, 0.0)],
                   [("A", "R1", 1.0), ("B", "R1", 1.0)],
                   components=[("C1", 100.0, 20.0, 10.0, 5.0)],
                   bom=[("A", "C1", 1.0), ("B", "C1", 2.0)])
    plan = plan_supply(demand_frame({"A": [60], "B": [40]}), data, cycle=CYCLE, horizon=1,
                       allocate_by=allocate_by)
    served = plan.plan.set_index("sku")["qty_served"]
    assert (served["A"], served["B"]) == pytest.approx((60, 35))
    gap = plan.gaps.iloc[0]
    assert (gap["sku"], gap["binding"], gap["qty_short"]) == ("B", "C1", pytest.approx(5))
    # and says why A came first
    why = {"revenue": "items that earn more per hour or unit of it (A): the plan keeps as much "
                    "of a tier's revenue as it can.",
           "units": "items that need less of it per unit (A): the plan serves as many units of "
                    "a tier as it can."}[allocate_by]
    assert gap["explanation"] == (
        "Short 5 units in 2026-01: supplier capacity of component C1 is used up (Jan 2026), "
        "even with 10 units from the backup supplier in Jan 2026; within tier 1, C1 went to "
        f"{why}")


def _two_tiers_on_ten_hours():
    # R1: 10 h in one month, no overtime. Tier 1: C (1 h, price 10), 4 units. Tier 2:
    # A (1 h, price 100), 10 units, and B (2 h, price 500), 5 units.
    data = dataset(
        [product("C", price=10.0, unit_cost=5.0, priority_tier=1),
         product("A", price=100.0, unit_cost=50.0, priority_tier=2),
         product("B", price=500.0, unit_cost=50.0, priority_tier=2)],
        [("R1", 10.0, 0.0, 0.0)],
        [("C", "R1", 1.0), ("A", "R1", 1.0), ("B", "R1", 2.0)])
    return demand_frame({"C": [4], "A": [10], "B": [5]}), data


def test_within_a_tier_capacity_goes_to_the_revenue_per_hour():
    # C takes 4 h first (tier 1). The 6 h left earn 100 an hour on A and 250 on B: by revenue
    # B gets them, 3 units (1,500), A none. Tier 2 loses 10 * 100 + 2 * 500 = 2,000.
    demand, data = _two_tiers_on_ten_hours()
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=1)
    served = plan.plan.set_index("sku")["qty_served"]
    assert (served["C"], served["A"], served["B"]) == pytest.approx((4, 0, 3))
    assert plan.gaps["revenue_at_risk"].sum() == pytest.approx(2_000)
    gap = plan.gaps.set_index("sku").loc["A"]
    assert "within tier 2, R1 went to items that earn more per hour or unit of it (B)" in (
        gap["explanation"])


def test_a_gap_does_not_name_items_made_only_by_the_re_solves_rounding():
    # The case above times 10,000 with 70,000 of C, and tier 3: D (1 h, price 50) and E
    # (1 h, price 300), 10 each. C takes 70,000 h, B the other 30,000 (15,000 units): tier 2
    # loses 100,000 * 100 + 35,000 * 500 = 27,500,000. Later solves may add 1e-9 of tier 2's
    # demand value (35,000,000): 0.035, i.e. 0.00007 of a unit of B, 0.00014 h, which the
    # tier-3 solve gives to E. E is not "made" for that: D's gap must not say its hours
    # went to E. The items it names come in the order of the hours they took: C, then B.
    demand, data = _two_tiers_on_ten_hours()
    products = data.products.copy()
    products = pd.concat([products, pd.DataFrame([
        {**products.iloc[0].to_dict(), "sku": "D", "price": 50.0, "priority_tier": 3},
        {**products.iloc[0].to_dict(), "sku": "E", "price": 300.0, "priority_tier": 3}])],
        ignore_index=True).astype(products.dtypes.to_dict())
    routings = pd.concat([data.routings, pd.DataFrame(
        {"sku": ["D", "E"], "resource": ["R1", "R1"], "hours_per_unit": [1.0, 1.0]})],
        ignore_index=True).astype(data.routings.dtypes.to_dict())
    resources = data.resources.assign(capacity_hours=100_000.0)
    data = Dataset.from_frames({**{name: getattr(data, name) for name in (
        "components", "bom", "inventory")}, "products": products, "routings": routings,
        "resources": resources})
    demand = demand.assign(qty_consensus=demand["qty_consensus"] * 10_000
                           * np.where(demand["sku"] == "C", 7 / 4, 1))
    demand = pd.concat([demand, demand_frame({"D": [10], "E": [10]})], ignore_index=True)
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=1)
    served = plan.plan.set_index("sku")["qty_served"]
    assert (served["C"], served["A"], served["B"]) == pytest.approx((70_000, 0, 15_000))
    assert served["D"] == pytest.approx(0, abs=1e-3) and served["E"] < 0.01
    gaps = plan.gaps.set_index("sku")
    assert "within tier 3" not in gaps.loc["D", "explanation"]
    assert "given to higher-priority (tier 1–2) items (C, B)" in gaps.loc["D", "explanation"]


@pytest.mark.parametrize("allocate_by, a_short", [("revenue", [0, 10]), ("units", [5, 5])])
def test_a_shortfall_is_planned_as_late_as_the_plan_allows(allocate_by, a_short):
    # R1: 10 h a month for 2 months. A (1 h, price 100) wants 10 + 10; B (1 h, price 300)
    # wants 0 + 10, with a safety-stock target of 5 in month 1 (q95 5, demand 0). 30 h of
    # demand, 20 h of capacity: 10 of A are lost whatever the plan (B earns more an hour).
    # By revenue, the loss falls as late as it can: A in full in January, 10 short in
    # February; B's January target gives way. The single LP (by units) instead makes 5 of
    # B in January for its target (its penalty, 0.5 * 300 / 2 = 75 a unit-month, beats
    # A's 25 for a month earlier) and loses 5 of A in each month.
    data = dataset([product("A"), product("B", price=300.0)], [("R1", 10.0, 0.0, 0.0)],
                   [("A", "R1", 1.0), ("B", "R1", 1.0)])
    demand = demand_frame({"A": [10, 10], "B": [0, 10]}, q95={"A": [10, 10], "B": [5, 10]})
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=2, safety_stock_column="qty_q95",
                       allocate_by=allocate_by)
    assert rows_of(plan, "A")["qty_short"].tolist() == pytest.approx(a_short)
    assert rows_of(plan, "B")["qty_served"].tolist() == pytest.approx([0, 10])
    assert plan.gaps["revenue_at_risk"].sum() == pytest.approx(1_000)


@pytest.mark.parametrize("slow_from, said", [
    (1, "was not tried"), (2, "needed more simplex iterations than allowed")])
def test_where_the_timing_re_solve_is_too_slow_the_plan_says_it_was_left_out(monkeypatch,
                                                                               slow_from, said):
    # The case above with the simplex re-solves "too slow" from the first one (tier 1's
    # revenue, then re-solved by the interior point method; the timing stage is then not
    # tried) or from the second (the timing stage itself; its basis is put back). Either
    # way the plan loses 5 of A in each month, as the single LP does, and says why.
    from sopkit import supply

    run, simplex_calls = supply._Lp.solve, []

    def slow(self, solver, **kwargs):
        if solver == "simplex":
            simplex_calls.append(1)
            if len(simplex_calls) >= slow_from:
                return "iteration limit"
        return run(self, solver, **kwargs)

    monkeypatch.setattr(supply._Lp, "solve", slow)
    data = dataset([product("A"), product("B", price=300.0)], [("R1", 10.0, 0.0, 0.0)],
                   [("A", "R1", 1.0), ("B", "R1", 1.0)])
    demand = demand_frame({"A": [10, 10], "B": [0, 10]}, q95={"A": [10, 10], "B": [5, 10]})
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=2, safety_stock_column="qty_q95")
    assert rows_of(plan, "A")["qty_short"].tolist() == pytest.approx([5, 5])
    assert plan.notes == [
        "the plan's shortfalls were not moved as late as they could go: the re-solve that "
        f"does it {said} on this plan, so a safety-stock target may take capacity from "
        "earlier orders (allocate_by: units plans in one solve)"]
    assert plan_supply(demand, data, cycle=CYCLE, horizon=2, safety_stock_column="qty_q95",
                       allocate_by="units").notes == []


def test_by_units_a_tier_serves_as_many_units_as_it_can():
    # The same case by units: the 6 h make 6 of A (600), B none. Tier 2 loses
    # 4 * 100 + 5 * 500 = 2,900: 900 more than by revenue, with 9 units short instead of 12.
    demand, data = _two_tiers_on_ten_hours()
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=1, allocate_by="units")
    served = plan.plan.set_index("sku")["qty_served"]
    assert (served["C"], served["A"], served["B"]) == pytest.approx((4, 6, 0))
    assert plan.gaps["revenue_at_risk"].sum() == pytest.approx(2_900)
    assert plan.gaps["qty_short"].sum() == pytest.approx(9)


@pytest.mark.parametrize("failure, solved", [
    # a failure (badly scaled tier penalties: "excessive dual values" on a 60-SKU sample
    # plan): the interior point method solves that LP, the next re-solve tries again
    ("solve error", ["ipm", "simplex", "ipm", "simplex", "ipm"]),
    # too slow: the interior point method solves that one and every later one
    ("iteration limit", ["ipm", "simplex", "ipm", "ipm"]),
])
def test_a_failed_warm_resolve_falls_back_to_the_interior_point_method(monkeypatch, failure,
                                                                       solved):
    # Re-solves (tier 2's revenue, then the final objective; one month, so no timing stage)
    # start from the last basis by the simplex method; here it never succeeds, and the plan
    # is the same.
    from sopkit import supply

    calls = []
    run = supply._Lp.solve

    def failing_simplex(self, solver, **kwargs):
        calls.append(solver)
        return failure if solver == "simplex" else run(self, solver, **kwargs)

    monkeypatch.setattr(supply._Lp, "solve", failing_simplex)
    demand, data = _two_tiers_on_ten_hours()
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=1)
    assert calls == solved
    served = plan.plan.set_index("sku")["qty_served"]
    assert (served["C"], served["A"], served["B"]) == pytest.approx((4, 0, 3))


def test_the_warm_re_solve_is_limited_in_iterations_not_seconds(monkeypatch):
    # With a budget of 1 simplex iteration HiGHS itself stops the re-solve (no mock): the
    # interior point method takes over, and the plan is the one the simplex method finds.
    from sopkit import supply

    demand, data = _two_tiers_on_ten_hours()
    free = plan_supply(demand, data, cycle=CYCLE, horizon=1)
    calls, run = [], supply._Lp.solve

    def logged(self, solver, **kwargs):
        status = run(self, solver, **kwargs)
        calls.append((solver, status))
        return status

    monkeypatch.setattr(supply, "WARM_ITERATIONS", 1)
    monkeypatch.setattr(supply, "WARM_ITERATIONS_PER_ROW", 0.0)
    monkeypatch.setattr(supply._Lp, "solve", logged)
    capped = plan_supply(demand, data, cycle=CYCLE, horizon=1)
    assert ("simplex", "iteration limit") in calls and calls[-1] == ("ipm", "optimal")
    pd.testing.assert_frame_equal(capped.plan, free.plan)


def test_allocate_by_must_be_revenue_margin_or_units():
    demand, data = _two_tiers_on_ten_hours()
    with pytest.raises(ParameterError, match="allocate_by must be one of 'revenue', 'margin', "
                                             "'units', got 'value'"):
        plan_supply(demand, data, cycle=CYCLE, horizon=1, allocate_by="value")


def test_by_margin_a_tier_keeps_its_margin_not_its_revenue():
    # The two-tier case with B costing 480: per hour B brings 250 of revenue but only
    # (500 - 480) / 2 = 10 of margin, A 100 of revenue and 50 of margin. By margin the 6 h
    # left after C go to A (6 units, margin 300), by revenue to B (3 units, margin 60).
    demand, data = _two_tiers_on_ten_hours()
    products = data.products.copy()
    products.loc[products["sku"] == "B", "unit_cost"] = 480.0
    data = Dataset.from_frames({**{name: getattr(data, name) for name in (
        "resources", "routings", "components", "bom", "inventory")}, "products": products})
    by_margin = plan_supply(demand, data, cycle=CYCLE, horizon=1, allocate_by="margin")
    served = by_margin.plan.set_index("sku")["qty_served"]
    assert (served["C"], served["A"], served["B"]) == pytest.approx((4, 6, 0))
    assert "within tier 2, R1 went to items that earn more margin per hour or unit of it (A): " \
           "the plan keeps as much of a tier's margin as it can" in (
               by_margin.gaps.set_index("sku").loc["B", "explanation"])
    by_revenue = plan_supply(demand, data, cycle=CYCLE, horizon=1)
    served = by_revenue.plan.set_index("sku")["qty_served"]
    assert (served["C"], served["A"], served["B"]) == pytest.approx((4, 0, 3))


def test_backup_supplier_bridges_an_outage_of_the_main_supplier():
    # C: 50 a month from the main supplier, none in month 1 (outage override); a backup of
    # 30 a month at 5 extra. Demand 40, 40 of A (1 C a unit): month 1 makes 30 from the
    # backup, 10 short; month 2 makes 40 from the main supplier.
    data = dataset([product("A")], [("R1", 1000.0, 0.0, 0.0)], [("A", "R1", 1.0)],
                   components=[("C", 50.0, 0.0, 30.0, 5.0)], bom=[("A", "C", 1.0)])
    outage = pd.DataFrame({"component": ["C"], "period": [months(1)[0]],
                           "supplier_capacity": [0.0]})
    plan = plan_supply(demand_frame({"A": [40.0, 40.0]}), data, cycle=CYCLE, horizon=2,
                       component_capacity=outage)
    assert rows_of(plan, "A")["qty_short"].tolist() == pytest.approx([10, 0])
    assert plan.component_usage["qty_backup"].tolist() == pytest.approx([30, 0])


def test_temp_staff_stop_with_their_line():
    # R1: 100 h and 20 h of temporary staff at 1 an hour; month 2 is an outage (capacity 0):
    # the temporary staff stop too. Demand 80, 80: month 1 makes 120, 40 built ahead;
    # month 2 makes nothing, 40 short.
    data = dataset([product("A")], [("R1", 100.0, 0.0, 0.0, 20.0, 1.0)], [("A", "R1", 1.0)])
    outage = pd.DataFrame({"resource": ["R1"], "period": [months(2)[1]],
                           "capacity_hours": [0.0]})
    plan = plan_supply(demand_frame({"A": [80.0, 80.0]}), data, cycle=CYCLE, horizon=2,
                       resource_capacity=outage)
    assert plan.resource_load["temp_max_hours"].tolist() == [20.0, 0.0]
    assert rows_of(plan, "A")["qty_supply"].tolist() == pytest.approx([120, 0])
    assert rows_of(plan, "A")["qty_short"].tolist() == pytest.approx([0, 40])
    assert plan.gaps["explanation"].iloc[0] == (
        "Short 40 units in 2026-02: resource R1 has no capacity (Feb 2026).")
    # An override that names temporary staff itself wins.
    plan = plan_supply(demand_frame({"A": [80.0, 80.0]}), data, cycle=CYCLE, horizon=2,
                       resource_capacity=outage.assign(temp_max_hours=[30.0]))
    assert plan.resource_load["temp_max_hours"].tolist() == [20.0, 30.0]


# --------------------------------------------------------------------------- bad input


def test_sku_without_routing_is_planned_short_and_named():
    # B has demand 10 but no routing: it cannot be made, 5 can be outsourced, 5 are short.
    # A is planned as usual. The plan does not stop.
    data = dataset([product("A"), product("B", outsource_cost=60.0, outsource_max=5.0)],
                   [("R1", 100.0, 0.0, 0.0)], [("A", "R1", 1.0)])
    plan = plan_supply(demand_frame({"A": [10], "B": [10]}), data, cycle=CYCLE, horizon=1)
    assert plan.status == "optimal"
    b = rows_of(plan, "B").iloc[0]
    assert (b["qty_regular"], b["qty_outsourced"], b["qty_short"]) == pytest.approx((0, 5, 5))
    assert rows_of(plan, "A")["qty_served"].tolist() == pytest.approx([10])
    assert [(p.file, p.column, p.value) for p in plan.problems] == [("routings.csv", "sku", "B")]
    assert "SKU B has demand (10 units) but no routing" in plan.problems[0].problem
    assert plan.problem_table()["value"].tolist() == ["B"]
    assert plan.gaps["explanation"].iloc[0] == (
        "Short 5 units in 2026-01: B has no routing, so it cannot be made in-house (add its "
        "routing to routings.csv); outsourcing is at its limit of 5 units.")


def test_resource_without_capacity_is_named_and_its_skus_go_short():
    # R0 has no hours at all (capacity 0, no overtime, no temporary staff) but A is routed
    # through it; R1 serves B. A is short in full, B is served, and R0 is named.
    data = dataset([product("A"), product("B")],
                   [("R0", 0.0, 0.0, 0.0), ("R1", 100.0, 0.0, 0.0)],
                   [("A", "R0", 1.0), ("B", "R1", 1.0)])
    plan = plan_supply(demand_frame({"A": [10, 10], "B": [20, 20]}), data, cycle=CYCLE,
                       horizon=2)
    assert rows_of(plan, "A")["qty_short"].tolist() == pytest.approx([10, 10])
    assert rows_of(plan, "B")["qty_short"].tolist() == pytest.approx([0, 0])
    (problem,) = plan.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "resources.csv", 2, "capacity_hours", "R0")
    assert "resource R0 has no capacity" in problem.problem and "(A)" in problem.problem
    assert plan.gaps["explanation"].iloc[1] == (
        "Short 10 units in 2026-02: resource R0 has no capacity (Jan–Feb 2026).")


def test_unreachable_minimums_give_the_best_plan_not_an_error():
    # The only minimums of the model are soft: a safety-stock target (q95 - demand) that the
    # capacity cannot reach, and perishable opening stock already past its shelf life.
    # Capacity 30, demand 50, target 40: 30 served, 20 short, no stock, the expired lot
    # of 15 (made 2025-10, shelf life 2) written off.
    data = dataset([product("P", shelf_life_months=2)], [("R1", 30.0, 0.0, 0.0)],
                   [("P", "R1", 1.0)], inventory=[("P", 15.0, "2025-10-01")])
    demand = demand_frame({"P": [50]}, q95={"P": [90]})
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=1, safety_stock_column="qty_q95")
    p = rows_of(plan, "P").iloc[0]
    assert plan.status == "optimal"
    assert (p["safety_stock"], p["qty_served"], p["qty_short"], p["inventory_end"],
            p["qty_written_off"]) == pytest.approx((40, 30, 20, 0, 15))


def test_negative_capacity_override_is_a_clear_parameter_error():
    data = dataset([product("A")], [("R1", 100.0, 0.0, 0.0)], [("A", "R1", 1.0)])
    bad = pd.DataFrame({"resource": ["R1"], "period": [months(2)[1]],
                        "capacity_hours": [-5.0]})
    with pytest.raises(ParameterError, match=r"capacity_hours overrides must be >= 0; "
                                             r"negative for R1 in 2026-02 \(-5\)"):
        plan_supply(demand_frame({"A": [10, 10]}), data, cycle=CYCLE, horizon=2,
                    resource_capacity=bad)


def test_dangling_and_cyclic_bom_in_a_data_folder(tmp_path):
    # The loader names a BOM line whose component does not exist (file, row, column);
    # a component code that is also a SKU is refused by the planner (single-level BOM).
    from sopkit.io import load_data
    from sopkit.sample import write_sample

    write_sample(tmp_path, seed=0, n_skus=40)
    bom_path = tmp_path / "bom.csv"
    lines = bom_path.read_text().splitlines()
    sku = lines[1].split(",")[0]
    bom_path.write_text("\n".join([*lines, f"{sku},CMP-999,1"]) + "\n")
    with pytest.raises(DataError) as err:
        load_data(tmp_path)
    (problem,) = err.value.problems
    assert (problem.file, problem.row, problem.column) == ("bom.csv", len(lines) + 1,
                                                           "component")
    assert "'CMP-999' is not in components.csv" in problem.problem

    # a SKU used as a component: listed in components.csv too, so the loader accepts it
    bom_path.write_text("\n".join([*lines, f"{sku},{sku},1"]) + "\n")
    comp_path = tmp_path / "components.csv"
    comp_lines = comp_path.read_text().splitlines()
    header = comp_lines[0].split(",")
    row = ["" for _ in header]
    row[header.index("component")], row[header.index("supplier_capacity")] = sku, "10"
    comp_path.write_text("\n".join([*comp_lines, ",".join(row)]) + "\n")
    data = load_data(tmp_path)
    demand = pd.DataFrame({"sku": pd.array([sku], dtype="string"),
                           "period": [pd.Timestamp("2026-11-01")], "qty_consensus": [5.0]})
    with pytest.raises(DataError) as err:
        plan_supply(demand, data, cycle="2026-11", horizon=1)
    found = {(p.file, p.row, p.column, p.value): p.problem for p in err.value.problems}
    assert "the BOM must be single level" in found[("bom.csv", len(lines) + 1, "component",
                                                    sku)]
    # and, as the SKU is now a component too, each of its BOM lines is named
    assert all(key[2] == "sku" and "cannot have a BOM of its own" in text
               for key, text in found.items() if key[2] != "component")


# --------------------------------------------------------------------------- review tables


def test_inventory_projection_and_expiry_risk_by_hand():
    # P (shelf life 2, unit cost 50): the Dec lot of 50 sells 30 in Jan, 20 expire in Jan
    # (value 1 000) and the Oct lot of 5 is written off too (250). Q (unit cost 20, not
    # perishable): q95 target 10 above demand 40, ample capacity: made 50 then 40, stock 10.
    data = dataset([product("P", shelf_life_months=2), product("Q", unit_cost=20.0)],
                   [("R1", 1000.0, 0.0, 0.0)], [("P", "R1", 1.0), ("Q", "R1", 1.0)],
                   inventory=[("P", 50.0, "2025-12-01"), ("P", 5.0, "2025-10-01")])
    demand = demand_frame({"P": [30, 30], "Q": [40, 40]},
                          q95={"P": [30, 30], "Q": [50, 50]})
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=2, safety_stock_column="qty_q95")
    projection = inventory_projection(plan.plan, data.products)
    assert projection["inventory_value"].tolist() == pytest.approx([200, 200])
    assert projection["safety_stock_value"].tolist() == pytest.approx([200, 200])
    assert projection["below_target_value"].tolist() == pytest.approx([0, 0])
    assert projection["written_off_units"].tolist() == pytest.approx([25, 0])
    assert projection["written_off_value"].tolist() == pytest.approx([1_250, 0])

    risk = expiry_risk(plan.plan, data.products)
    assert len(risk) == 1
    row = risk.iloc[0]
    assert (row["sku"], row["first_write_off"]) == ("P", CYCLE)
    assert (row["written_off_units"], row["written_off_value"], row["inventory_start"],
            row["demand_horizon"]) == pytest.approx((25, 1_250, 55, 60))


def test_options_summary_totals_each_lever():
    data = dataset([product("A", outsource_cost=70.0, outsource_max=50.0)],
                   [("R1", 100.0, 10.0, 30.0, 20.0, 12.0)], [("A", "R1", 1.0)])
    plan = plan_supply(demand_frame({"A": [185, 185]}), data, cycle=CYCLE, horizon=2)
    summary = options_summary(plan.options).set_index("option")
    # each month: 10 overtime hours (300), 20 temp hours (240), 50 outsourced (1 000)
    assert summary.loc["outsourcing", ["qty", "cost", "months"]].tolist() == [100, 2_000, 2]
    assert summary.loc["overtime", "unit"] == "hours"
    assert summary.loc["temporary staff", "cost_per_unit"] == pytest.approx(12)
    assert summary.index.tolist() == ["outsourcing", "overtime", "temporary staff"]
    assert options_summary(plan.options.iloc[0:0]).empty


def test_capacity_pressure_names_the_promotion_and_the_plan_answer():
    # R1: 100 h, 20 h overtime at 30; 1 h a unit. A: 50, 50, then 90 in March (promotion
    # P1, +80 %); B: 40 a month, shelf life 1 (cannot be built ahead). March needs 130 h:
    # the plan builds 10 A in Jan and 10 in Feb (holding 2 + 1 < overtime 30 a unit) and
    # makes 10 on overtime in March. A's average month needs 63.3 h, March 26.7 h more.
    base = dataset([product("A"), product("B", shelf_life_months=1)],
                   [("R1", 100.0, 20.0, 30.0)], [("A", "R1", 1.0), ("B", "R1", 1.0)])
    promotions = pd.DataFrame({"promo_id": pd.array(["P1"], dtype="string"),
                               "sku": pd.array(["A"], dtype="string"),
                               "start_period": [months(3)[2]], "end_period": [months(3)[2]],
                               "lift": [0.8]})
    data = Dataset.from_frames({**{name: getattr(base, name) for name in (
        "products", "resources", "routings", "components", "bom", "inventory")},
        "promotions": promotions})
    plan = plan_supply(demand_frame({"A": [50, 50, 90], "B": [40, 40, 40]}), data,
                       cycle=CYCLE, horizon=3)
    assert rows_of(plan, "A")["inventory_end"].tolist() == pytest.approx([10, 20, 0])
    pressure = capacity_pressure(plan, data)
    assert len(pressure) == 1
    row = pressure.iloc[0]
    assert row["period"] == months(3)[2]
    assert (row["demand_hours"], row["capacity_hours"], row["demand_utilisation"],
            row["overtime_hours"], row["temp_hours"], row["built_ahead_units"],
            row["units_short"]) == pytest.approx((130, 100, 1.3, 10, 0, 20, 0))
    assert (row["drivers"], row["promotions"]) == ("A", "P1 on A (+80 %, Mar 2026)")
    assert row["explanation"] == (
        "R1 in Mar 2026: demand needs 130 h, 130 % of its 100 h regular capacity. Above its "
        "usual month mainly because of A (+27 h); promotion P1 on A (+80 %, Mar 2026). The "
        "plan covers it with 10 h overtime (Jan–Mar 2026) and 20 units built ahead (20 of A); "
        "nothing of it is short.")
    calm = plan_supply(demand_frame({"A": [50, 50, 50], "B": [40, 40, 40]}), data,
                       cycle=CYCLE, horizon=3)
    assert capacity_pressure(calm, data).empty


def test_finance_prices_temporary_staff_with_overtime():
    # The 185-unit case: 10 overtime hours at 30 (300) and 20 temp hours at 12 (240).
    from sopkit.finance import financials

    data = dataset([product("A", outsource_cost=70.0, outsource_max=50.0)],
                   [("R1", 100.0, 10.0, 30.0, 20.0, 12.0)], [("A", "R1", 1.0)])
    plan = plan_supply(demand_frame({"A": [185]}), data, cycle=CYCLE, horizon=1)
    fin = financials(plan.plan, data.products, resource_load=plan.resource_load,
                     resources=data.resources)
    assert fin["overtime_cost"].sum() == pytest.approx(540)
    fin = financials(plan.plan, data.products, options=plan.options)
    assert fin["overtime_cost"].sum() == pytest.approx(540)


def test_gaps_by_sku_sums_months_and_names_every_binding_constraint():
    from sopkit.supply import gaps_by_sku

    months = pd.to_datetime(["2026-11-01", "2026-12-01", "2027-01-01"])
    gaps = pd.DataFrame({
        "sku": ["A", "B", "A", "A"], "period": [months[1], months[0], months[0], months[2]],
        "priority_tier": [2, 1, 2, 2], "qty_short": [3.0, 1.0, 2.0, 5.0],
        "revenue_at_risk": [30.0, 100.0, 20.0, 50.0],
        "binding": ["CMP-1", "PKG-1", "CMP-1", "MCH-1"],
        "explanation": ["a-dec", "b-nov", "a-nov", "a-jan"]})
    out = gaps_by_sku(gaps)
    # A: 2 + 3 + 5 = 10 units, 20 + 30 + 50 = 100 at risk, tied with B (100): by SKU
    assert out["sku"].tolist() == ["A", "B"]
    a = out.iloc[0]
    assert (a["months"], a["qty_short"], a["revenue_at_risk"]) == (3, 10.0, 100.0)
    assert (a["first"], a["last"]) == (months[0], months[2])
    assert a["binding"] == "CMP-1, MCH-1"  # each once, in the order they first bind
    assert a["explanation"] == "10 units short in 3 months (2026-11 to 2027-01); the first: a-nov"
    assert out.iloc[1]["explanation"] == "b-nov"  # one month: its own words
    assert list(out.columns) == ["sku", "priority_tier", "months", "first", "last", "qty_short",
                                 "revenue_at_risk", "binding", "explanation"]
    assert gaps_by_sku(gaps.iloc[:0]).empty
    # with the demand of those months (plan_supply's gaps): A lost all 10 it was asked for
    whole = gaps_by_sku(gaps.assign(qty_demand=[3.0, 4.0, 2.0, 5.0])).set_index("sku")
    assert whole.loc["A", "explanation"] == (
        "10 units short in 3 months (2026-11 to 2027-01), none of its demand served then; "
        "the first: a-nov")
    part = gaps_by_sku(gaps.assign(qty_demand=[3.0, 4.0, 2.0, 6.0])).set_index("sku")
    assert part.loc["A", "explanation"].startswith("10 units short in 3 months (2026-11 to "
                                                   "2027-01); the first")


def test_units_text():
    from sopkit.supply import units_text

    assert [units_text(q) for q in (0.0, 0.4, 0.96, 1.2, 2.5, 1234.4)] == [
        "0 units", "0.4 units", "1 unit", "1 unit", "2 units", "1,234 units"]


def test_planner_options_state_the_cycles_switches_once():
    assert planner_options(service_level=0.95, holding_cost_rate=0.2, allow_overtime=False) == {
        "safety_stock_column": "qty_q95", "holding_cost_rate": 0.2, "allow_overtime": False,
        "allow_outsourcing": True, "allow_temp_staff": True, "allow_backup_supply": True,
        "allocate_by": "revenue"}
    with pytest.raises(ParameterError, match="allow_temp_staff must be true or false"):
        planner_options(service_level=0.9, holding_cost_rate=0.2, allow_temp_staff="no")
    with pytest.raises(ParameterError,
                       match="allocate_by must be one of 'revenue', 'margin', 'units'"):
        planner_options(service_level=0.9, holding_cost_rate=0.2, allocate_by="value")


def test_a_zero_unit_cost_is_costed_by_its_family_and_said():
    # A costs half its price; Z's cost is a placeholder 0. Planned as if it cost
    # 200 × 0.5 = 100, so making and holding it are not free: no stock built for nothing.
    data = dataset([product("A"), product("Z", price=200.0, unit_cost=0.0),
                    product("B", family="G", price=10.0, unit_cost=9.0)],
                   [("R1", 1000.0, 0.0, 0.0)],
                   [("A", "R1", 1.0), ("Z", "R1", 1.0), ("B", "R1", 1.0)])
    plan = plan_supply(demand_frame({"A": [10.0] * 4, "Z": [10.0] * 4, "B": [5.0] * 4}), data,
                       cycle=CYCLE, horizon=4)
    z = rows_of(plan, "Z")
    assert z["qty_supply"].tolist() == pytest.approx([10.0] * 4)
    assert z["inventory_end"].tolist() == pytest.approx([0.0] * 4)
    said = [p for p in plan.problems if p.column == "unit_cost"]
    assert len(said) == 1 and said[0].value == "Z" and said[0].row == 3
    assert said[0].problem == (
        "unit_cost of Z is 0 or blank: the plan costs and holds it at 100.00 (the F family's "
        "median cost-to-price ratio 0.50 × its price 200.00), so its stock is not built up "
        "for free; the financials keep 0")
    # no SKU of its family has a cost: all SKUs' median ratio, (0.5 + 0.9) / 2
    alone = dataset([product("A", family="H"), product("Z", price=200.0, unit_cost=0.0),
                     product("B", family="G", price=10.0, unit_cost=9.0)],
                    [("R1", 1000.0, 0.0, 0.0)],
                    [("A", "R1", 1.0), ("Z", "R1", 1.0), ("B", "R1", 1.0)])
    plan = plan_supply(demand_frame({"Z": [10.0] * 2}), alone, cycle=CYCLE, horizon=2)
    said = [p for p in plan.problems if p.column == "unit_cost"]
    assert "at 140.00 (all SKUs' median cost-to-price ratio 0.70" in said[0].problem


def test_a_product_made_to_order_holds_no_safety_stock():
    # the same demand and 95 % quantile for both; M is made to order
    data = dataset([product("S"), product("M", stocking="mto")], [("R1", 1000.0, 0.0, 0.0)],
                   [("S", "R1", 1.0), ("M", "R1", 1.0)])
    demand = demand_frame({"S": [10.0] * 3, "M": [10.0] * 3},
                          q95={"S": [16.0] * 3, "M": [16.0] * 3})
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=3, safety_stock_column="qty_q95")
    s, m = rows_of(plan, "S"), rows_of(plan, "M")
    # S, made to stock, holds 16 − 10 = 6 at the end of each month
    assert s["safety_stock"].tolist() == pytest.approx([6.0] * 3)
    assert s["inventory_end"].tolist() == pytest.approx([6.0] * 3)
    assert m["safety_stock"].tolist() == pytest.approx([0.0] * 3)
    assert m["inventory_end"].tolist() == pytest.approx([0.0] * 3)
    assert m["qty_served"].tolist() == pytest.approx([10.0] * 3)


def test_stock_no_later_month_sells_is_not_counted_as_built_ahead():
    # safety stock 20 in Jan and Feb (q95 30, demand 10), none in March, when demand
    # stops: the 20 units made for the target stay, but they are not built ahead of any
    # demand. In January, 60 h of capacity is idle: nothing is built ahead there either.
    data = dataset([product("A")], [("R1", 100.0, 0.0, 0.0)], [("A", "R1", 1.0)])
    demand = demand_frame({"A": [10.0, 10.0, 0.0]}, q95={"A": [30.0, 30.0, 0.0]})
    plan = plan_supply(demand, data, cycle=CYCLE, horizon=3, safety_stock_column="qty_q95")
    a = rows_of(plan, "A")
    assert a["inventory_end"].tolist() == pytest.approx([20.0, 20.0, 20.0])
    assert a["safety_stock"].tolist() == pytest.approx([20.0, 20.0, 0.0])
    assert not (plan.options["option"] == "build-ahead inventory").any()
    # a peak the capacity cannot make in its month is built ahead: 130 in Feb, 100 h a month
    peak = plan_supply(demand_frame({"A": [50.0, 130.0]}), data, cycle=CYCLE, horizon=2)
    ahead = peak.options[peak.options["option"] == "build-ahead inventory"]
    assert ahead["qty"].tolist() == pytest.approx([30.0])
    summary = options_summary(peak.options)
    assert summary["unit"].tolist() == ["unit-months"]
    # 30 units for one month at 50 × 0.24 / 12 = 1 a unit-month
    assert summary["cost_per_unit"].tolist() == pytest.approx([1.0])


def test_a_phase_outs_stock_left_after_its_end_of_life_is_listed():
    from sopkit.supply import end_of_life_stock

    # P's last month is February: 30 on hand, demand 10 + 5, nothing made: 15 left;
    # Q (end of life before the plan) holds 4; R sells out; S's end of life lies beyond
    plan = pd.DataFrame({
        "sku": ["P"] * 3 + ["Q"] * 3 + ["R"] * 3 + ["S"] * 3,
        "period": months(3) * 4,
        "inventory_start": [30.0, 20.0, 15.0, 4.0, 4.0, 4.0, 5.0, 0.0, 0.0, 9.0, 9.0, 9.0],
        "qty_demand": [10.0, 5.0, 0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        "qty_supply": [0.0] * 12,
        "inventory_end": [20.0, 15.0, 15.0, 4.0, 4.0, 4.0, 0.0, 0.0, 0.0, 9.0, 9.0, 9.0]})
    master = pd.DataFrame({"sku": ["P", "Q", "R", "S"], "family": ["F"] * 4,
                           "unit_cost": [2.0, 10.0, 1.0, 1.0],
                           "eol_period": pd.to_datetime(["2026-02-01", "2025-06-01",
                                                         "2026-01-01", "2026-06-01"])})
    out = end_of_life_stock(plan, master)
    assert out["sku"].tolist() == ["Q", "P"]  # dearest first: 40 before 30
    p = out.set_index("sku").loc["P"]
    assert (p["qty_demand_to_eol"], p["qty_made"], p["qty_left"], p["value_left"]) == (
        15.0, 0.0, 15.0, 30.0)
    assert out.set_index("sku").loc["Q", "qty_left"] == 4.0
    # an end of life in the plan's last month still leaves S's 9 units after it
    last = end_of_life_stock(plan, master.assign(eol_period=master["eol_period"].where(
        master["sku"] != "S", pd.Timestamp("2026-03-01"))))
    assert last.set_index("sku").loc["S", "qty_left"] == 9.0


def test_resources_planned_beyond_what_they_delivered_lately():
    from sopkit.supply import adherence_risk

    # R1 can give 100 + 20 + 0 = 120 h a month; it made 80 % of its schedule lately, so
    # it has shown 96 h. The plan needs 100 h in Jan and Feb (above), 90 in March, and
    # 200 in April (outside the three months looked at). R2 made 100 %.
    load = pd.DataFrame({
        "resource": ["R1"] * 4 + ["R2"] * 4, "period": months(4) * 2,
        "hours_required": [100.0, 100.0, 90.0, 200.0, 50.0, 50.0, 50.0, 50.0],
        "capacity_hours": [100.0] * 4 + [50.0] * 4,
        "overtime_max_hours": [20.0] * 4 + [0.0] * 4,
        "temp_max_hours": [0.0] * 8})
    adherence = pd.DataFrame({"resource": ["R1", "R2"], "schedule_adherence": [0.8, 1.0]})
    out = adherence_risk(load, adherence, months=3)
    assert out["resource"].tolist() == ["R1"]
    r1 = out.iloc[0]
    assert (r1["hours_required"], r1["hours_available"]) == (290.0, 360.0)
    assert r1["hours_demonstrated"] == pytest.approx(288.0)
    assert r1["months_above"] == 2 and r1["first_above"] == months(1)[0]
    assert r1["peak_share"] == pytest.approx(100 / 120)
    assert adherence_risk(load, adherence.assign(schedule_adherence=1.0)).empty


def test_stock_run_down_says_how_much_service_comes_from_stock_not_rebuilt():
    from sopkit.supply import stock_run_down

    # Board B (capacity 10 a month, bought in full every month) goes into X (1 per unit) and
    # Y (2 per unit). X starts with 12 in stock and ends with 0, Y with 3 and ends with 1;
    # B's own 6 on hand are used up. Over 3 months: (12 − 0) × 1 + (3 − 1) × 2 + 6 − 0 = 22
    # boards of stock, 22 / 3 a month. X is short 2, 1, 3 and Y 0, 1, 0: in boards 2, 3, 3.
    months = pd.to_datetime(["2027-01-01", "2027-02-01", "2027-03-01"])
    plan = pd.DataFrame({
        "sku": ["X"] * 3 + ["Y"] * 3, "period": list(months) * 2,
        "inventory_start": [12.0, 8.0, 4.0, 3.0, 2.0, 2.0],
        "inventory_end": [8.0, 4.0, 0.0, 2.0, 2.0, 1.0],
        "safety_stock": [5.0, 5.0, 5.0, 2.0, 2.0, 2.0],
        "qty_demand": [10.0, 10.0, 12.0, 4.0, 4.0, 4.0],
        "qty_short": [2.0, 1.0, 3.0, 0.0, 1.0, 0.0]})
    usage = pd.DataFrame({"component": ["B"] * 3 + ["FREE"] * 3, "period": list(months) * 2,
                          "qty_purchased": [10.0] * 3 + [1.0] * 3,
                          "supplier_capacity": [10.0] * 3 + [50.0] * 3,
                          "stock_end": [3.0, 1.0, 0.0, 0.0, 0.0, 0.0]})
    bom = pd.DataFrame({"sku": ["X", "Y", "X"], "component": ["B", "B", "FREE"],
                        "qty_per": [1.0, 2.0, 1.0]})
    components = pd.DataFrame({"component": ["B", "FREE"], "on_hand": [6.0, 0.0]})
    products = pd.DataFrame({"sku": ["X", "Y"], "price": [5.0, 20.0]})
    out = stock_run_down(plan, usage, bom, components, products=products)
    assert out["component"].tolist() == ["B"]  # FREE is short of nothing itself
    row = out.iloc[0]
    assert row[["stock_start", "stock_end", "safety_stock_end", "component_start",
                "component_end"]].tolist() == [15.0, 1.0, 7.0, 6.0, 0.0]
    assert row["drawn_per_month"] == pytest.approx(22 / 3)
    assert row["short_per_month"] == pytest.approx(8 / 3)
    # the items need 10 + 2·4, 10 + 2·4, 12 + 2·4 boards a month: 56 / 3 against 10 delivered;
    # their short units were worth 2·5 + 1·5 + 3·5 + 1·20 = 50 for 8 boards short: 6.25 a board
    assert row["need_per_month"] == pytest.approx(56 / 3)
    assert row["supply_per_month"] == 10.0
    assert row["short_after"] == pytest.approx(56 / 3 - 10)
    assert row["revenue_at_risk_a_year"] == pytest.approx((56 / 3 - 10) * 12 * 6.25)
    assert row["explanation"].endswith("so once the stock is gone about 9 a month go short at "
                                       "that demand without added supply, about 650 of revenue "
                                       "a year")
    # not short in the last month: nothing to say
    assert stock_run_down(plan.assign(qty_short=[2.0, 1.0, 0.0, 0.0, 1.0, 0.0]), usage, bom,
                          components).empty


def test_premium_hours_for_stock_split_by_the_months_own_demand():
    from sopkit.supply import premium_hours_for_stock

    # R: 100 regular hours a month, 1 hour a unit. January: demand 80 h, 15 overtime hours
    # -> all 15 build stock. February: demand 130 h, 10 overtime + 30 temp -> 30 of the 40
    # serve the month's excess, 10 build stock. March: no premium hours.
    months = pd.to_datetime(["2027-01-01", "2027-02-01", "2027-03-01"])
    plan = pd.DataFrame({"sku": ["A"] * 3, "period": months, "qty_demand": [80.0, 130.0, 90.0]})
    load = pd.DataFrame({"resource": ["R"] * 3, "period": months,
                         "capacity_hours": [100.0] * 3, "overtime_hours": [15.0, 10.0, 0.0],
                         "temp_hours": [0.0, 30.0, 0.0]})
    data = Dataset.from_frames({"routings": pd.DataFrame({
        "sku": pd.array(["A"], dtype="string"), "resource": pd.array(["R"], dtype="string"),
        "hours_per_unit": [1.0]})})
    out = premium_hours_for_stock(SimpleNamespace(plan=plan, resource_load=load), data)
    row = out.set_index("resource").loc["R"]
    assert row[["premium_hours", "hours_for_stock", "months_for_stock"]].tolist() == [
        55.0, 25.0, 2]
    assert row["share_for_stock"] == pytest.approx(25 / 55)


# ---------------------------------------------------------------- purchase lead times
def _lead_time_case(orders, backup=(0.0, 0.0), lead=2, demand=(50.0, 50.0, 50.0), **kw):
    """A (1 C a unit) wants ``demand`` a month; C: supplier 100 a month, 10 on hand, a
    purchase lead time of ``lead`` months; ``orders``: (month due, qty)."""
    data = dataset([product("A")], [("R1", 1000.0, 0.0, 0.0)], [("A", "R1", 1.0)],
                   components=[("C", 100.0, 10.0, *backup)], bom=[("A", "C", 1.0)])
    data.components["lead_time_months"] = pd.array([lead], dtype="Int64")
    if orders is not None:
        data.purchase_orders = pd.DataFrame({
            "component": pd.array(["C"] * len(orders), dtype="string"),
            "period": pd.to_datetime([p for p, _ in orders]),
            "qty": [float(q) for _, q in orders]})
    return plan_supply(demand_frame({"A": list(demand)}), data, cycle=CYCLE,
                       horizon=len(demand), **kw)


def _explained(plan, month):
    return plan.gaps.set_index("period").loc[pd.Timestamp(month), "explanation"]


def test_inside_its_lead_time_a_component_arrives_only_as_ordered():
    # January: 10 on hand + 25 due + 5 overdue since December = 40 boards, 10 short;
    # February: nothing due, no stock left: 50 short; March is past the 2-month lead time:
    # the supplier's 100 (the 40 due then are within it)
    plan = _lead_time_case([("2026-01", 25), ("2025-12", 5), ("2026-03", 40)])
    assert rows_of(plan, "A")["qty_short"].tolist() == pytest.approx([10, 50, 0])
    usage = plan.component_usage
    assert usage["supplier_capacity"].tolist() == pytest.approx([100, 100, 100])
    assert usage["main_supply_limit"].tolist() == pytest.approx([30, 0, 100])
    assert usage["qty_on_order"].tolist() == pytest.approx([30, 0, 40])
    assert usage["inside_lead_time"].tolist() == [True, True, False]
    assert usage["utilisation"].tolist() == pytest.approx([0.3, 0.0, 0.5])
    assert _explained(plan, "2026-01") == (
        "Short 10 units in 2026-01: component C is inside its 2-month purchase lead time: "
        "only the 30 units on order arrive in Jan 2026, below what its supplier could "
        "deliver, and an order placed now arrives in Mar 2026 at the earliest.")
    assert _explained(plan, "2026-02") == (
        "Short 50 units in 2026-02: component C is inside its 2-month purchase lead time: "
        "nothing is on order for Feb 2026, below what its supplier could deliver, and an "
        "order placed now arrives in Mar 2026 at the earliest.")
    note = lead_time_note(usage)
    assert note.startswith("Purchase lead times: 1 component is inside its lead time")
    assert "hold the plan back for C:" in note and "Nothing is on order" not in note
    # both months inside the lead time take all that is on order, and more would have helped
    bound = lead_time_bound(usage).sort_values("period")
    assert bound["period"].tolist() == [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-02-01")]
    assert bound["qty_main_supplier"].tolist() == pytest.approx([30, 0])
    assert (bound["shadow_price"] > 0).all()


def test_orders_above_the_capacity_or_an_outage_leave_the_capacity_binding():
    # 80 due in each of Oct, Nov (overdue) and Jan: 240 in January, where the supplier makes
    # 100: it delivers 100, and the gap names its capacity, not the orders
    plan = _lead_time_case([("2025-10", 80), ("2025-11", 80), ("2026-01", 80)],
                           demand=(200.0,), lead=2)
    usage = plan.component_usage.iloc[0]
    assert (usage["qty_on_order"], usage["main_supply_limit"]) == pytest.approx((240, 100))
    assert rows_of(plan, "A")["qty_short"].tolist() == pytest.approx([90])
    assert "supplier capacity of component C is used up (Jan 2026)" in _explained(plan,
                                                                                  "2026-01")
    assert lead_time_bound(plan.component_usage).empty
    # a supplier outage inside the lead time (capacity 0 in January, 40 on order): 10 from
    # stock, 40 short, said as the capacity it is
    outage = pd.DataFrame({"component": ["C"], "period": [months(1)[0]],
                           "supplier_capacity": [0.0]})
    plan = _lead_time_case([("2026-01", 40)], demand=(50.0,), lead=1,
                           component_capacity=outage)
    assert rows_of(plan, "A")["qty_short"].tolist() == pytest.approx([40])
    assert "supplier capacity of component C is used up (Jan 2026)" in _explained(plan,
                                                                                  "2026-01")


def test_a_component_with_stock_to_spare_is_not_blamed_for_a_gap():
    # A is short because R1 makes 20 a month; C has 500 on hand and nothing on order inside
    # its lead time: it limits nothing, and neither the gap nor the note names it
    data = dataset([product("A")], [("R1", 20.0, 0.0, 0.0)], [("A", "R1", 1.0)],
                   components=[("C", 100.0, 500.0), ("D", 100.0, 0.0)],
                   bom=[("A", "C", 1.0)])
    data.components["lead_time_months"] = pd.array([2, 2], dtype="Int64")
    data.purchase_orders = pd.DataFrame({"component": pd.array(["D"], dtype="string"),
                                         "period": pd.to_datetime(["2026-03"]),
                                         "qty": [5.0]})
    plan = plan_supply(demand_frame({"A": [50.0, 50.0]}), data, cycle=CYCLE, horizon=2)
    assert rows_of(plan, "A")["qty_short"].tolist() == pytest.approx([30, 30])
    assert all("component" not in text for text in plan.gaps["explanation"])
    # the 500 on hand stay on the shelf, 20 a month used (the LP may not drop them to save
    # their holding cost), and nothing is bought
    usage = plan.component_usage.set_index(["component", "period"])
    assert usage.loc["C", "stock_end"].tolist() == pytest.approx([480, 460])
    assert usage["qty_purchased"].tolist() == pytest.approx([0, 0, 0, 0])
    assert lead_time_bound(plan.component_usage).empty
    note = lead_time_note(plan.component_usage)
    assert "Nothing is on order inside the lead time of C, D" in note
    assert note.endswith("The orders on file cover what the plan needs there.")


def test_without_purchase_orders_no_lead_time_is_applied_and_the_note_says_so():
    plan = _lead_time_case(None)
    assert rows_of(plan, "A")["qty_short"].tolist() == pytest.approx([0, 0, 0])
    assert plan.component_usage["qty_on_order"].isna().all()
    assert not plan.component_usage["inside_lead_time"].any()
    assert lead_time_note(plan.component_usage).startswith(
        "Purchase lead times are not applied: the data has no purchase orders")
    # a lead time of 0 leaves the supplier free from the first month
    plan = _lead_time_case([("2026-01", 5)], lead=0)
    assert rows_of(plan, "A")["qty_short"].tolist() == pytest.approx([0, 0, 0])
    assert "no component has a lead time inside the plan" in lead_time_note(
        plan.component_usage)


def test_the_backup_supplier_is_not_bound_by_the_lead_time():
    # 20 a month from the backup (5 extra a unit): January has 10 on hand + 30 due + 20
    # from the backup = 60 for 50 of demand, and keeps 10 for February, which gets 20 more
    # from the backup: 30 of its 50, 20 short. March: past the lead time, no backup needed
    plan = _lead_time_case([("2026-01", 30)], backup=(20.0, 5.0))
    assert rows_of(plan, "A")["qty_short"].tolist() == pytest.approx([0, 20, 0])
    assert plan.component_usage["qty_backup"].tolist() == pytest.approx([20, 20, 0])
