"""What the plan is worth: revenue, cost and margin of a supply plan.

:func:`financials` prices a supply plan per SKU and month from the product
master; :func:`summarise` rolls it up (per month, per family and month, or in
total) and compares revenue with the budget.

Cost conventions
----------------
* ``cogs`` is the standard ``unit_cost`` of every unit served, whatever its
  source; an outsourced unit costs ``outsource_cost − unit_cost`` more, shown
  apart as ``outsourcing_premium``.
* ``overtime_cost_per_hour`` of a resource is the *extra* cost of an overtime
  hour (the regular hour is already in the unit cost), so overtime costs
  ``overtime_hours × overtime_cost_per_hour``.
* Holding cost is charged monthly on the month-end stock at standard cost:
  ``inventory_value × holding_cost_rate / 12`` (the rate is per year).
* ``contribution`` is ``gross_margin`` less the costs the plan adds on top of
  standard cost: outsourcing premium, overtime, holding and write-offs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sopkit.errors import ParameterError

# Quantity columns of the supply plan that are optional in a hand-made plan
# (a missing one reads as zero).
_OPTIONAL_QTY = ("qty_demand", "qty_outsourced", "inventory_end", "qty_written_off")

MEASURES = (
    "qty_demand",
    "qty_served",
    "qty_short",
    "revenue",
    "cogs",
    "gross_margin",
    "revenue_at_risk",
    "outsourcing_premium",
    "overtime_cost",
    "inventory_value",
    "holding_cost",
    "write_off_cost",
    "contribution",
)
"""Additive measures of :func:`financials` (summed by :func:`summarise`)."""

# Measures that are stocks, not flows: a total over months is not meaningful,
# so summarise() reports their average over the months it rolls up.
STOCKS = ("inventory_value",)


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(f"{what} lacks column(s) {', '.join(missing)}")


def overtime_costs(
    resource_load: pd.DataFrame | None = None,
    resources: pd.DataFrame | None = None,
    options: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Cost of overtime per month, temporary staff included.

    From ``resource_load.overtime_hours × resources.overtime_cost_per_hour``
    (plus ``temp_hours × temp_cost_per_hour`` where both columns exist: an
    hour of temporary staff is, like overtime, an hour beyond regular
    capacity at an extra cost) when both are given; otherwise from the rows
    of the supply plan's ``options`` whose ``option`` starts with
    ``"overtime"`` or is ``"temporary staff"`` (their ``cost``).

    Returns
    -------
    DataFrame
        ``period, overtime_hours, overtime_cost`` (``overtime_hours`` is NaN
        when priced from ``options``); empty when nothing is given.
    """
    if resource_load is not None and resources is not None:
        _require(resource_load, ("resource", "period", "overtime_hours"), "resource_load")
        _require(resources, ("resource",), "resources")
        rate = resources[["resource"]].copy()
        rate["overtime_cost_per_hour"] = (
            resources["overtime_cost_per_hour"].astype(float)
            if "overtime_cost_per_hour" in resources.columns
            else 0.0
        )
        load = resource_load[["resource", "period", "overtime_hours"]].merge(
            rate, on="resource", how="left"
        )
        load["overtime_cost"] = load["overtime_hours"].astype(float) * load[
            "overtime_cost_per_hour"
        ].fillna(0.0)
        if "temp_hours" in resource_load.columns and "temp_cost_per_hour" in resources.columns:
            temp = resource_load[["resource", "period", "temp_hours"]].merge(
                resources[["resource", "temp_cost_per_hour"]], on="resource", how="left"
            )
            load["overtime_cost"] += (
                temp["temp_hours"].astype(float) * temp["temp_cost_per_hour"].astype(float)
            ).fillna(0.0).to_numpy()
        return load.groupby("period", as_index=False)[["overtime_hours", "overtime_cost"]].sum()
    if options is not None and len(options):
        _require(options, ("option", "period", "cost"), "options")
        kind = options["option"].astype(str).str.lower()
        picked = options[kind.str.startswith("overtime") | (kind == "temporary staff")]
        out = picked.groupby("period", as_index=False)["cost"].sum()
        out = out.rename(columns={"cost": "overtime_cost"})
        out.insert(1, "overtime_hours", np.nan)
        return out
    return pd.DataFrame(
        {
            "period": pd.Series(dtype="datetime64[ns]"),
            "overtime_hours": pd.Series(dtype=float),
            "overtime_cost": pd.Series(dtype=float),
        }
    )


def _allocate_overtime(frame: pd.DataFrame, per_period: pd.DataFrame) -> pd.Series:
    """Spread each month's overtime cost over the SKUs of that month.

    Weights: the units made on overtime (``qty_overtime``); in a month where
    no SKU has any, the units supplied, and failing that equal shares. The
    allocation is exact per month and in total, approximate per SKU (the plan
    does not say which resource's overtime a unit used).
    """
    cost = frame["period"].map(per_period.set_index("period")["overtime_cost"]).fillna(0.0)
    weights = []
    for column in ("qty_overtime", "qty_supply"):
        if column in frame.columns:
            weights.append(frame[column].astype(float).fillna(0.0).clip(lower=0))
    weights.append(pd.Series(1.0, index=frame.index))
    share = pd.Series(np.nan, index=frame.index)
    for weight in weights:
        total = weight.groupby(frame["period"]).transform("sum")
        usable = share.isna() & (total > 0)
        share = share.where(~usable, weight / total.where(total > 0))
    return (cost * share.fillna(0.0)).astype(float)


def financials(
    plan: pd.DataFrame,
    products: pd.DataFrame,
    resource_load: pd.DataFrame | None = None,
    resources: pd.DataFrame | None = None,
    options: pd.DataFrame | None = None,
    holding_cost_rate: float = 0.24,
) -> pd.DataFrame:
    """Price a supply plan per SKU and month.

    Parameters
    ----------
    plan : DataFrame
        The supply plan (``SupplyPlan.plan``): needs ``sku, period, qty_served,
        qty_short``; ``qty_demand, qty_outsourced, inventory_end,
        qty_written_off`` are used when present (absent reads as zero), and
        ``qty_overtime``/``qty_supply`` weight the overtime allocation.
    products : DataFrame
        The product master: ``sku, family, price, unit_cost`` and, optionally,
        ``outsource_cost`` (blank means the outsourced unit costs the standard
        cost).
    resource_load, resources : DataFrame, optional
        Both together price overtime (see :func:`overtime_costs`); each
        month's overtime cost is spread over that month's SKUs in proportion
        to their overtime units.
    options : DataFrame, optional
        The supply plan's priced options (``option, resource_or_sku, period,
        qty, cost``); used only to price overtime when ``resource_load`` and
        ``resources`` are not given (rows whose option starts with
        ``"overtime"``).
    holding_cost_rate : float
        Yearly cost of holding stock as a fraction of its standard value.

    Returns
    -------
    DataFrame
        One row per SKU and month: ``sku, period, family, qty_demand,
        qty_served, qty_short, revenue`` (price × served), ``cogs`` (unit cost ×
        served), ``gross_margin``, ``revenue_at_risk`` (price × short),
        ``outsourcing_premium`` ((outsource cost − unit cost) × outsourced),
        ``overtime_cost`` (allocated), ``inventory_value`` (unit cost × month-end
        stock), ``holding_cost``, ``write_off_cost`` (unit cost × written off),
        ``contribution``.

    Raises
    ------
    ParameterError
        If a column is missing, a plan SKU is not in the product master, or
        the holding-cost rate is negative.
    """
    if holding_cost_rate is None or not np.isfinite(holding_cost_rate) or holding_cost_rate < 0:
        raise ParameterError(f"holding_cost_rate must be >= 0, got {holding_cost_rate!r}")
    _require(plan, ("sku", "period", "qty_served", "qty_short"), "the supply plan")
    _require(products, ("sku", "family", "price", "unit_cost"), "products")

    master = products[["sku", "family", "price", "unit_cost"]].copy()
    master["outsource_cost"] = (
        products["outsource_cost"].astype(float) if "outsource_cost" in products.columns else np.nan
    )
    frame = plan.copy()
    for column in _OPTIONAL_QTY:
        if column not in frame.columns:
            frame[column] = 0.0
    unknown = sorted(set(frame["sku"].dropna()) - set(master["sku"].dropna()))
    if unknown:
        shown = ", ".join(map(str, unknown[:10]))
        raise ParameterError(f"SKU(s) in the plan but not in products: {shown}")
    frame = frame.merge(master, on="sku", how="left", validate="many_to_one")

    def qty(column: str) -> pd.Series:
        return frame[column].astype(float).fillna(0.0)

    price = frame["price"].astype(float)
    unit_cost = frame["unit_cost"].astype(float)
    outsource_cost = frame["outsource_cost"].astype(float).fillna(unit_cost)

    out = frame[["sku", "period", "family"]].copy()
    out["qty_demand"] = qty("qty_demand")
    out["qty_served"] = qty("qty_served")
    out["qty_short"] = qty("qty_short")
    out["revenue"] = price * out["qty_served"]
    out["cogs"] = unit_cost * out["qty_served"]
    out["gross_margin"] = out["revenue"] - out["cogs"]
    out["revenue_at_risk"] = price * out["qty_short"]
    out["outsourcing_premium"] = (outsource_cost - unit_cost) * qty("qty_outsourced")
    out["overtime_cost"] = _allocate_overtime(
        frame, overtime_costs(resource_load, resources, options)
    )
    out["inventory_value"] = unit_cost * qty("inventory_end")
    out["holding_cost"] = out["inventory_value"] * holding_cost_rate / 12.0
    out["write_off_cost"] = unit_cost * qty("qty_written_off")
    out["contribution"] = out["gross_margin"] - (
        out["outsourcing_premium"]
        + out["overtime_cost"]
        + out["holding_cost"]
        + out["write_off_cost"]
    )
    return out.sort_values(["sku", "period"], ignore_index=True)


def summarise(
    fin: pd.DataFrame,
    by: Sequence[str] = ("period",),
    budget: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Roll the priced plan up, optionally against the budget.

    Parameters
    ----------
    fin : DataFrame
        The output of :func:`financials`.
    by : sequence of str
        Keys to group on: ``("period",)``, ``("family", "period")``,
        ``("family",)`` or ``()`` for one total row (any columns of ``fin`` are
        accepted, but a budget can only be compared on family and period).
    budget : DataFrame, optional
        ``family, period, revenue``. Only the budget months that the plan
        covers are compared; a family budgeted but absent from the plan shows
        with zero plan revenue.

    Returns
    -------
    DataFrame
        The ``by`` keys, then the sums of :data:`MEASURES` — except
        ``inventory_value``, which is the average over the months rolled up of
        the month-end value — then ``gross_margin_pct`` (margin / revenue) and
        ``fill_rate`` (served / demand); with a budget also
        ``revenue_budget``, ``revenue_vs_budget`` (plan − budget) and
        ``revenue_vs_budget_pct`` (plan / budget − 1).

    Raises
    ------
    ParameterError
        If a ``by`` column is unknown, or a budget is given with keys other
        than family and period.
    """
    keys = list(by)
    unknown = [k for k in keys if k not in fin.columns]
    if unknown:
        raise ParameterError(f"cannot summarise by {', '.join(unknown)}: not a column")
    measures = [m for m in MEASURES if m in fin.columns]
    flows = [m for m in measures if m not in STOCKS]
    stocks = [m for m in measures if m in STOCKS]

    # Stocks: total over SKUs within a month, then the average over months.
    month_keys = list(dict.fromkeys([*keys, "period"]))
    per_month = fin.groupby(month_keys, as_index=False, dropna=False)[stocks].sum()
    if keys:
        out = fin.groupby(keys, as_index=False, dropna=False)[flows].sum()
        if stocks:
            out = out.merge(per_month.groupby(keys, as_index=False, dropna=False)[stocks].mean(),
                            on=keys, how="left")
    else:
        out = pd.DataFrame({m: [float(fin[m].sum())] for m in flows})
        for stock in stocks:
            out[stock] = per_month[stock].mean() if len(per_month) else 0.0
    out = out[[*keys, *measures]]

    if budget is not None:
        if not set(keys) <= {"family", "period"}:
            raise ParameterError(
                f"the budget is by family and period; cannot compare it by {', '.join(keys)}"
            )
        _require(budget, ("family", "period", "revenue"), "budget")
        months = set(fin["period"].dropna())
        covered = budget[budget["period"].isin(months)]
        if keys:
            target = covered.groupby(keys, as_index=False)["revenue"].sum()
            target = target.rename(columns={"revenue": "revenue_budget"})
            out = out.merge(target, on=keys, how="outer")
            out[measures] = out[measures].fillna(0.0)
        else:
            out["revenue_budget"] = float(covered["revenue"].sum())
        out["revenue_vs_budget"] = out["revenue"] - out["revenue_budget"]
        out["revenue_vs_budget_pct"] = out["revenue"] / out["revenue_budget"].where(
            out["revenue_budget"] > 0
        ) - 1.0

    if "gross_margin" in out.columns and "revenue" in out.columns:
        out["gross_margin_pct"] = out["gross_margin"] / out["revenue"].where(out["revenue"] != 0)
    if "qty_served" in out.columns and "qty_demand" in out.columns:
        out["fill_rate"] = out["qty_served"] / out["qty_demand"].where(out["qty_demand"] > 0)
    front = [*keys, *measures, "gross_margin_pct", "fill_rate"]
    front = [c for c in front if c in out.columns]
    rest = [c for c in out.columns if c not in front]
    out = out[front + rest]
    if keys:
        out = out.sort_values(keys, ignore_index=True)
    return out.reset_index(drop=True)


BRIDGE = (("revenue", "revenue", 1), ("cost of goods at standard cost", "cogs", -1),
          ("gross margin", "gross_margin", 0), ("outsourcing premium", "outsourcing_premium", -1),
          ("overtime and temporary staff", "overtime_cost", -1),
          ("holding cost", "holding_cost", -1), ("write-offs", "write_off_cost", -1),
          ("contribution", "contribution", 0))
"""The lines of :func:`bridge`: (label, measure, sign; 0 for a subtotal)."""


def bridge(fin: pd.DataFrame, *, component_usage: pd.DataFrame | None = None,
           components: pd.DataFrame | None = None,
           decisions_cost: float = 0.0) -> pd.DataFrame:
    """From revenue to contribution, line by line, over the whole plan.

    Gross margin and contribution are both reported; what lies between them
    (the costs the plan adds on top of standard cost) is otherwise read off
    several tables. The lines add up: revenue − cost of goods = gross
    margin; gross margin − outsourcing premium − overtime and temporary staff
    − holding − write-offs = contribution.

    With ``component_usage`` and ``components`` (``backup_extra_cost``), one
    more line gives what the backup suppliers cost above the regular price,
    which the plan paid but the per-SKU figures do not carry (memo: not
    deducted above). With ``decisions_cost`` (what the options adopted into
    the plan cost over its months, :func:`sopkit.scenarios.adopted_cost`),
    two more: that cost and the contribution after it.

    Returns
    -------
    DataFrame
        ``line, amount, share_of_revenue``; costs are negative.
    """
    rows = []
    revenue = float(fin["revenue"].sum()) if "revenue" in fin.columns else 0.0
    for label, measure, sign in BRIDGE:
        if measure not in fin.columns:
            continue
        value = float(fin[measure].sum())
        rows.append({"line": label, "amount": value if sign >= 0 else -value})
    if decisions_cost and "contribution" in fin.columns:
        rows.append({"line": "adopted options (one-off and monthly cost)",
                     "amount": -float(decisions_cost)})
        rows.append({"line": "contribution after the adopted options",
                     "amount": float(fin["contribution"].sum()) - float(decisions_cost)})
    if component_usage is not None and components is not None and \
            {"component", "qty_backup"} <= set(component_usage.columns) and \
            "backup_extra_cost" in components.columns:
        extra = components.set_index(components["component"].astype(str))["backup_extra_cost"]
        cost = (component_usage["qty_backup"].astype(float)
                * component_usage["component"].astype(str).map(extra).astype(float).fillna(0.0))
        if cost.sum() > 0:
            rows.append({"line": "memo: backup-supplier premium (not deducted above)",
                         "amount": -float(cost.sum())})
    out = pd.DataFrame(rows, columns=["line", "amount"])
    out["share_of_revenue"] = out["amount"] / revenue if revenue else np.nan
    return out

