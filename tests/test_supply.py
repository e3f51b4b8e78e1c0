"""Tests of the constrained supply plan, against plans computed by hand.

Unless a test says otherwise: cycle 2026-01, price 100, unit cost 50 and a
holding cost rate of 0.24 a year, so holding one unit for a month costs
50 * 0.24 / 12 = 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sopkit.dataset import Dataset
from sopkit.errors import DataError
from sopkit.supply import _synthetic_case, plan_supply

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
           "outsource_cost": np.nan, "outsource_max": np.nan}
    row.update(kw)
    return row


def dataset(products, resources, routings, components=(), bom=(), inventory=()) -> Dataset:
    def frame(rows, columns, strings):
        out = pd.DataFrame(list(rows), columns=columns)
        for col in strings:
            out[col] = out[col].astype("string")
        return out

    prods = frame(products, list(product("x")), ["sku", "family", "lifecycle_status"])
    prods["priority_tier"] = prods["priority_tier"].astype("Int64")
    prods["shelf_life_months"] = prods["shelf_life_months"].astype("Int64")
    inv = frame(inventory, ["sku", "qty", "produced_period"], ["sku"])
    inv["produced_period"] = pd.to_datetime(inv["produced_period"])
    return Dataset.from_frames({
        "products": prods,
        "resources": frame(resources, ["resource", "capacity_hours", "overtime_max_hours",
                                       "overtime_cost_per_hour"], ["resource"]),
        "routings": frame(routings, ["sku", "resource", "hours_per_unit"], ["sku", "resource"]),
        "components": frame(components, ["component", "supplier_capacity", "on_hand"],
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
    assert found == {
        ("routings.csv", None, "sku", "B"),  # demand but no routing
        ("products.csv", None, "sku", "Z"),  # not in the product master
        ("routings.csv", None, "sku", "Z"),
        ("routings.csv", 3, "resource", "R9"),  # no capacity row
        ("bom.csv", 3, "component", "C7"),  # dangling component
        ("bom.csv", 4, "component", "B"),  # a finished SKU used as a component
        ("bom.csv", 5, "sku", "CX"),  # a component with a BOM of its own
    }
    assert len(err.value.problems) == 7
    assert "SKU B has demand but no routing" in err.value.user_message()


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
