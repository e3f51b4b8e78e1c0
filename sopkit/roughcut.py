"""The rough-cut capacity outlook: will the plant keep up with demand 18-24 months out?

The detailed supply plan (:mod:`sopkit.supply`) answers *what can we make in
the next months*. Capacity that takes a year to add — a machine, a test bench,
a second line — must be decided long before that plan shows a gap. The
rough-cut outlook answers the long-range question with simple arithmetic, per
resource family and month:

``load_hours``
    ``sum over SKUs and resources of the family of demand x hours_per_unit``:
    the hours the *unconstrained* demand plan would need if everything were
    made in-house (no outsourcing, no building ahead).
``capacity_hours``
    ``sum over the family's resources of capacity_hours + overtime_max_hours
    + temp_max_hours``: everything the family can work in a month with the
    levers it already has; in the months of an adopted option that changes
    capacity for some months only (``resource_capacity``), that month's
    capacity, as the supply plan counts it. ``regular_hours`` is the regular
    part.
``utilisation``
    ``load_hours / capacity_hours``.

:func:`capacity_flags` then names, per family, the first month in which load
exceeds capacity and the month by which new capacity must be decided: that
month minus the family's ``capacity_lead_time_months`` (the longest of its
resources: the slowest way to add capacity sets the deadline; contract
default 6 months). A decision month before the cycle is *overdue*. A peak that
building ahead for a few months can cover (``build_ahead_months``) is
reported, but calls for no new capacity. The hours a flag calls short
(``hours_short_at_peak``) are those building ahead leaves uncovered, in the
month it leaves most: a month whose load above capacity the months before
can build ahead is not short, however high its peak.

Demand beyond the demand plan
-----------------------------
The demand review forecasts ``horizon`` months (24 in ``params/cycle.yaml`` so
that the outlook rests on the same models, launches and pipeline as the
detailed plan). When the plan is shorter than the outlook — a demand review
run with a shorter horizon — :func:`extend_demand` carries each SKU forward
seasonally: month *t* is month *t - 12* times the SKU's yearly growth, the
ratio of the plan's last 12 months to the 12 months of actuals before the
cycle, annualised over the ``n`` months between the two windows
(``ratio ** (12 / n)``) and clipped to 0.5-2 a year so that a launch ramp is
not extrapolated into the sky. A SKU without actuals (a launch) keeps the
plan's last year as it is. Extended months are labelled ``source =
"extension"`` so a reader sees which part of the outlook is extrapolated.

A resource without ``resource_family`` forms a family of its own (its code).
SKUs without a routing load no resource and are counted in
``unrouted_qty`` of :func:`capacity_outlook`'s result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sopkit.dataset import Dataset
from sopkit.errors import ParameterError
from sopkit.periods import add_months, cycle_month, fmt_month, month_range, months_between

__all__ = ["capacity_flags", "capacity_outlook", "extend_demand", "months_beyond",
           "supply_plan_check"]

GROWTH_LIMITS = (0.5, 2.0)  # yearly growth of an extended SKU, lowest and highest
DEFAULT_LEAD_TIME = 6  # months, as in the data contract
TOL = 1e-9


def extend_demand(demand_plan: pd.DataFrame, actuals: pd.DataFrame, *,
                  cycle: pd.Timestamp | str, horizon: int,
                  demand_column: str = "qty_consensus") -> pd.DataFrame:
    """The demand plan over ``horizon`` months, extended seasonally where it stops short.

    Parameters
    ----------
    demand_plan : DataFrame
        ``sku, period`` and ``demand_column``.
    actuals : DataFrame
        ``sku, period, qty``: the history, for each SKU's yearly growth.
    cycle : Timestamp or str
        First month of the outlook.
    horizon : int
        Months of the outlook.
    demand_column : str
        The demand to use.

    Returns
    -------
    DataFrame
        ``sku, period, qty, source`` for every SKU of the plan and every month
        of the outlook; ``source`` is ``"plan"`` or ``"extension"``.
    """
    start = cycle_month(cycle)
    if horizon < 1:
        raise ParameterError(f"horizon must be at least 1 month, got {horizon}")
    missing = [c for c in ("sku", "period", demand_column) if c not in demand_plan.columns]
    if missing:
        raise ParameterError(f"demand plan has no column(s) {', '.join(missing)}")
    months = month_range(start, horizon)
    plan = demand_plan[["sku", "period", demand_column]].copy()
    plan["sku"] = plan["sku"].astype("string")
    plan["period"] = pd.to_datetime(plan["period"]).dt.to_period("M").dt.to_timestamp()
    plan = plan[plan["period"] >= start]
    skus = pd.Index(sorted(plan["sku"].dropna().unique()), dtype="string", name="sku")
    n_plan = int(months_between(start, plan["period"].max())) + 1 if len(plan) else 0
    span = max(n_plan, horizon)
    grid = np.zeros((len(skus), span))
    pos = months_between(pd.Series(start, index=plan.index), plan["period"])
    np.add.at(grid, (skus.get_indexer(plan["sku"]), pos),
              pd.to_numeric(plan[demand_column], errors="coerce").fillna(0.0).clip(lower=0.0))
    source = np.where(np.arange(span) < n_plan, "plan", "extension")

    if n_plan < horizon:
        if n_plan < 12:
            raise ParameterError(f"the demand plan covers {n_plan} month(s) from "
                                 f"{fmt_month(start)}; at least 12 are needed to extend it "
                                 f"seasonally to {horizon} months (raise the demand "
                                 "review's horizon)")
        growth = _yearly_growth(grid[:, n_plan - 12:n_plan].sum(axis=1), actuals, skus, start,
                                n_plan)
        for t in range(n_plan, horizon):
            grid[:, t] = grid[:, t - 12] * growth
    out = pd.DataFrame({
        "sku": pd.array(np.repeat(skus.to_numpy(), horizon), dtype="string"),
        "period": np.tile(months.to_numpy(), len(skus)),
        "qty": grid[:, :horizon].ravel(),
        "source": pd.array(np.tile(source[:horizon], len(skus)), dtype="string"),
    })
    return out


def _yearly_growth(plan_last_year: np.ndarray, actuals: pd.DataFrame, skus: pd.Index,
                   start: pd.Timestamp, n_plan: int) -> np.ndarray:
    """Per SKU: (plan's last 12 months / actuals' last 12 months) ** (12 / n_plan), clipped."""
    history = actuals[["sku", "period", "qty"]].copy()
    history["period"] = pd.to_datetime(history["period"])
    window = (history["period"] >= add_months(start, -12)) & (history["period"] < start)
    last_year = (history[window].assign(sku=lambda f: f["sku"].astype("string"))
                 .groupby("sku")["qty"].sum().reindex(skus).fillna(0.0).to_numpy())
    ratio = np.divide(plan_last_year, last_year, out=np.ones_like(plan_last_year),
                      where=last_year > 0)
    growth = np.power(np.clip(ratio, TOL, None), 12.0 / n_plan)
    return np.where(last_year > 0, np.clip(growth, *GROWTH_LIMITS), 1.0)


def _families(data: Dataset) -> pd.DataFrame:
    """Resources with their family (own code when blank), capacity and lead time."""
    res = data.resources.copy()
    res["resource"] = res["resource"].astype("string")
    res = res.drop_duplicates("resource")

    def column(name: str, default) -> pd.Series:
        if name in res.columns:
            return pd.to_numeric(res[name], errors="coerce").fillna(default)
        return pd.Series(default, index=res.index, dtype=float)

    family = (res["resource_family"].astype("string") if "resource_family" in res.columns
              else pd.Series(pd.NA, index=res.index, dtype="string"))
    family = family.str.strip().replace("", pd.NA).fillna(res["resource"])
    return pd.DataFrame({
        "resource": res["resource"],
        "resource_family": family.astype("string"),
        "regular_hours": column("capacity_hours", 0.0),
        "overtime_hours": column("overtime_max_hours", 0.0),
        "temp_hours": column("temp_max_hours", 0.0),
        "capacity_hours": (column("capacity_hours", 0.0) + column("overtime_max_hours", 0.0)
                           + column("temp_max_hours", 0.0)),
        "lead_time_months": column("capacity_lead_time_months", DEFAULT_LEAD_TIME).astype(int),
    })


def capacity_outlook(demand: pd.DataFrame, data: Dataset, *, by: str = "resource_family",
                     qty_column: str = "qty",
                     resource_capacity: pd.DataFrame | None = None) -> pd.DataFrame:
    """Load of the demand against capacity, per resource family (or resource) and month.

    Parameters
    ----------
    demand : DataFrame
        ``sku, period`` and ``qty_column``, e.g. :func:`extend_demand`'s result
        (its ``source`` column is carried along when present).
    data : Dataset
        ``resources`` and ``routings``.
    by : {"resource_family", "resource"}
        The level of the outlook.
    qty_column : str
        The demand column.
    resource_capacity : DataFrame, optional
        Per-month capacity overrides ``resource, period, capacity_hours`` (and
        optionally ``overtime_max_hours``, ``temp_max_hours``), as the supply
        plan takes them (:func:`sopkit.supply.resource_grids`): the month-limited
        capacity of the options adopted into the plan, so that the outlook
        counts the capacity the plan counts (overtime and temporary staff are
        counted even where the planner's options switch them off).

    Returns
    -------
    DataFrame
        ``<by>, period, load_hours, regular_hours, capacity_hours,
        utilisation, overloaded, source, unrouted_qty`` sorted by ``<by>``
        and period. ``overloaded`` is ``load_hours > capacity_hours``;
        ``unrouted_qty`` is the month's demand of SKUs without a routing (the
        same on every row of the month). ``utilisation`` is NaN where there is
        no capacity.
    """
    if by not in ("resource_family", "resource"):
        raise ParameterError(f"by must be 'resource_family' or 'resource', got {by!r}")
    missing = [c for c in ("sku", "period", qty_column) if c not in demand.columns]
    if missing:
        raise ParameterError(f"demand has no column(s) {', '.join(missing)}")
    resources = _families(data)
    routing = data.routings.assign(sku=data.routings["sku"].astype("string"),
                                   resource=data.routings["resource"].astype("string"))
    routing = routing.merge(resources[["resource", "resource_family"]], on="resource",
                            how="inner")
    frame = demand.assign(sku=demand["sku"].astype("string"),
                          period=pd.to_datetime(demand["period"]).dt.to_period("M")
                          .dt.to_timestamp(),
                          qty=pd.to_numeric(demand[qty_column], errors="coerce").fillna(0.0))
    periods = pd.DatetimeIndex(sorted(frame["period"].unique()), name="period")
    load = frame[["sku", "period", "qty"]].merge(routing[["sku", by, "hours_per_unit"]],
                                                 on="sku", how="inner")
    load["load_hours"] = load["qty"] * load["hours_per_unit"].astype(float)
    load = load.groupby([by, "period"])["load_hours"].sum()

    from sopkit.supply import resource_grids

    codes = pd.Index(resources["resource"], name="resource")
    regular, overtime, temp = resource_grids(
        codes, periods, resources["regular_hours"].to_numpy(dtype=float),
        resources["overtime_hours"].to_numpy(dtype=float),
        resources["temp_hours"].to_numpy(dtype=float), resource_capacity)
    grid = pd.DataFrame({
        "resource": np.repeat(codes.to_numpy(), len(periods)),
        "period": np.tile(periods.to_numpy(), len(codes)),
        "regular_hours": regular.ravel(),
        "capacity_hours": (regular + overtime + temp).ravel(),
    }).merge(resources[["resource", "resource_family"]], on="resource")
    capacity = grid.groupby([by, "period"])[["regular_hours", "capacity_hours"]].sum()
    groups = pd.Index(sorted(resources[by].unique()), name=by)
    index = pd.MultiIndex.from_product([groups, periods], names=[by, "period"])
    out = pd.DataFrame(index=index).reset_index()
    out["load_hours"] = load.reindex(index).fillna(0.0).to_numpy()
    out = out.merge(capacity.reset_index(), on=[by, "period"], how="left")
    out["utilisation"] = out["load_hours"] / out["capacity_hours"].where(
        out["capacity_hours"] > 0)
    out["overloaded"] = out["load_hours"] > out["capacity_hours"] + TOL
    if "source" in frame.columns:
        sources = frame.groupby("period")["source"].first()
        out["source"] = out["period"].map(sources).astype("string")
    else:
        out["source"] = pd.array(["plan"] * len(out), dtype="string")
    unrouted = frame[~frame["sku"].isin(routing["sku"])].groupby("period")["qty"].sum()
    out["unrouted_qty"] = out["period"].map(unrouted).fillna(0.0).astype(float)
    out[by] = out[by].astype("string")
    return out.sort_values([by, "period"], ignore_index=True)


def capacity_flags(outlook: pd.DataFrame, data: Dataset, *, cycle: pd.Timestamp | str,
                   by: str = "resource_family", build_ahead_months: int = 2,
                   min_short_months: int = 3) -> pd.DataFrame:
    """Per family (or resource): when load first exceeds capacity, and when to decide.

    A month's peak above capacity is not yet a reason to add capacity: stock
    built in the months before can cover it (the detailed plan does exactly
    that). A family is *short of capacity* in month *t* when its excess load
    cannot be covered by the spare hours of the ``build_ahead_months`` months
    before (each spare hour used once, oldest first). The shortage is
    *structural* when it lasts ``min_short_months`` months of the outlook (or
    every month from its start to the end of the outlook, for a trend that
    crosses capacity late): new capacity must then be in place by its first
    month. A shorter shortage — a promotion, a lumpy project — is reported
    as ``"short in peaks"``: build ahead earlier, outsource or move the
    demand; new capacity only if it recurs.

    Parameters
    ----------
    outlook : DataFrame
        :func:`capacity_outlook`'s result at the same ``by`` level.
    data : Dataset
        ``resources`` (for ``capacity_lead_time_months``).
    cycle : Timestamp or str
        The cycle month: a decision due before it is overdue.
    by : {"resource_family", "resource"}
    build_ahead_months : int
        How many months ahead stock may be built to cover a peak (>= 0; 0
        judges every month on its own).
    min_short_months : int
        Months of shortage that make it structural (>= 1).

    Returns
    -------
    DataFrame
        One row per family: ``<by>, peak_utilisation, peak_period,
        first_above_regular, first_peak_overload, first_overload,
        months_overloaded, hours_short_at_peak, lead_time_months, decide_by,
        status, explanation``. ``first_above_regular`` and
        ``first_peak_overload`` are the first months whose own load exceeds
        regular capacity and all capacity; ``first_overload`` is the first
        month short of capacity even with building ahead (NaT if never) and
        ``months_overloaded`` counts those months; ``hours_short_at_peak`` is
        the most hours one of those months is short once the months before
        have built ahead what they can (the peak of the shortage, not the
        load above capacity in ``peak_period``, which building ahead may cover;
        0 when building ahead covers every month); ``decide_by =
        first_overload - lead_time_months``. ``status`` is ``"overdue"``,
        ``"decide now"`` (due this cycle), ``"decide by YYYY-MM"`` (a
        structural shortage; ``decide_by`` is NaT otherwise), ``"short in
        peaks"``, ``"peaks only"`` (covered by building ahead) or ``"enough
        capacity"``; ``build_ahead_months`` as given. Sorted by ``decide_by``,
        then in that order.
    """
    if build_ahead_months < 0:
        raise ParameterError(f"build_ahead_months must be >= 0, got {build_ahead_months}")
    if min_short_months < 1:
        raise ParameterError(f"min_short_months must be >= 1, got {min_short_months}")
    start = cycle_month(cycle)
    resources = _families(data)
    lead = resources.groupby(by)["lead_time_months"].max()
    rows = []
    for key, group in outlook.groupby(by, sort=True):
        group = group.sort_values("period")
        periods = group["period"].reset_index(drop=True)
        util = group["utilisation"].fillna(np.inf).where(group["load_hours"] > TOL, 0.0)
        peak = int(np.argmax(util.to_numpy()))
        peak_over = group["overloaded"].to_numpy()
        hours_short = _hours_short_building_ahead(group["load_hours"].to_numpy(dtype=float),
                                                  group["capacity_hours"].to_numpy(dtype=float),
                                                  build_ahead_months)
        short_of = hours_short > TOL
        above = (group["load_hours"] > group["regular_hours"] + TOL).to_numpy()
        first_over, first_peak, first_above = (_first(periods, mask)
                                               for mask in (short_of, peak_over, above))
        lead_time = int(lead.get(key, DEFAULT_LEAD_TIME))
        # the shortfall the flag is about: what building ahead leaves uncovered, in the
        # month it leaves most (not the peak month's load above capacity, which building
        # ahead may cover in full)
        worst = int(np.argmax(hours_short))
        short = float(hours_short[worst]) if short_of.any() else 0.0
        peak_text = f"peak {_pct(util.iloc[peak])} in {fmt_month(periods.iloc[peak])}"
        n_short = int(short_of.sum())
        short_text = (f"{_hours(short)} short after building ahead" if n_short == 1 else
                      f"up to {_hours(short)} short a month after building ahead, most in "
                      f"{fmt_month(periods.iloc[worst])}")
        to_end = len(group) - int(np.argmax(short_of)) if n_short else 0
        if n_short and n_short < min(min_short_months, to_end):
            decide_by, status = pd.NaT, "short in peaks"
            when = ", ".join(fmt_month(m) for m in periods[short_of])
            text = (f"{key}: even with {build_ahead_months} month(s) of building ahead, load "
                    f"exceeds regular, overtime and temporary-staff capacity in {n_short} "
                    f"month(s) only ({when}; {short_text}; {peak_text}): build ahead earlier, "
                    "outsource or move the demand; new capacity only if it recurs")
        elif n_short:
            decide_by = add_months(first_over, -lead_time)
            late = int(months_between(decide_by, start))
            status = ("overdue" if late > 0 else "decide now" if late == 0
                      else f"decide by {fmt_month(decide_by)}")
            if pd.notna(first_peak) and first_peak < first_over:
                # the load is over capacity earlier than the shortage the outlook dates:
                # building ahead covers those months until the spare hours run out
                text = (f"{key}: load exceeds regular, overtime and temporary-staff capacity "
                        f"in {int(peak_over.sum())} month(s) from {fmt_month(first_peak)} "
                        f"({peak_text}); building up to {build_ahead_months} month(s) ahead "
                        f"covers that until {fmt_month(first_over)}, from when it is short in "
                        f"{n_short} month(s) of {len(group)} ({short_text}). New capacity "
                        f"takes {lead_time} month(s): ")
            else:
                text = (f"{key}: from {fmt_month(first_over)} load exceeds regular, overtime "
                        f"and temporary-staff capacity even with {build_ahead_months} month(s) "
                        f"of building ahead ({n_short} month(s) of {len(group)}; {short_text}; "
                        f"{peak_text}). New capacity takes {lead_time} month(s): ")
            text += (f"the decision was due in {fmt_month(decide_by)}, {late} month(s) ago"
                     if late > 0 else "decide in this cycle" if late == 0
                     else f"decide by {fmt_month(decide_by)}")
        elif peak_over.any():
            decide_by, status = pd.NaT, "peaks only"
            text = (f"{key}: load exceeds capacity only in peaks ({int(peak_over.sum())} "
                    f"month(s) from {fmt_month(first_peak)}; {peak_text}) that up to "
                    f"{build_ahead_months} month(s) of building ahead can cover: no new "
                    "capacity needed, but stock must be built in time")
        else:
            decide_by, status = pd.NaT, "enough capacity"
            text = f"{key}: load stays within capacity ({peak_text})"
            if not pd.isna(first_above):
                text += f"; above regular capacity from {fmt_month(first_above)} (overtime/temps)"
        rows.append({
            by: key, "peak_utilisation": float(util.iloc[peak]) if np.isfinite(
                util.iloc[peak]) else np.nan,
            "peak_period": periods.iloc[peak], "first_above_regular": first_above,
            "first_peak_overload": first_peak, "first_overload": first_over,
            "months_overloaded": int(short_of.sum()),
            "hours_short_at_peak": short, "lead_time_months": lead_time,
            "decide_by": decide_by, "status": status, "explanation": text + ".",
            "build_ahead_months": int(build_ahead_months),
        })
    columns = [by, "peak_utilisation", "peak_period", "first_above_regular",
               "first_peak_overload", "first_overload", "months_overloaded",
               "hours_short_at_peak", "lead_time_months", "decide_by", "status", "explanation",
               "build_ahead_months"]
    flags = pd.DataFrame(rows, columns=columns)
    for column in ("peak_period", "first_above_regular", "first_peak_overload",
                   "first_overload", "decide_by"):
        flags[column] = pd.to_datetime(flags[column])
    for column in (by, "status", "explanation"):
        flags[column] = flags[column].astype("string")
    flags["_rank"] = flags["status"].map(
        {"short in peaks": 1, "peaks only": 2, "enough capacity": 3}).fillna(0)
    return (flags.sort_values(["_rank", "decide_by", by], ignore_index=True)
            .drop(columns="_rank"))


def months_beyond(demand_plan: pd.DataFrame, *, cycle, horizon: int,
                  supply_horizon: int | None = None) -> int:
    """Months of an outlook plan: ``horizon``, or fewer if the demand plan stops sooner;
    0 when that is no longer than ``supply_horizon`` (nothing beyond the supply plan)."""
    periods = pd.to_datetime(demand_plan["period"])
    months = int(min(horizon, periods[periods >= cycle_month(cycle)].nunique()))
    return 0 if supply_horizon is not None and months <= supply_horizon else months


def supply_plan_check(flags: pd.DataFrame, demand_plan: pd.DataFrame, data: Dataset, *,
                      cycle, horizon: int, supply_horizon: int | None = None,
                      planner=None, **plan_kwargs) -> pd.DataFrame:
    """Resource flags short of capacity, checked against a supply plan over the outlook.

    The rough-cut outlook weighs each month's load against its capacity and
    lets stock be built only ``build_ahead_months`` ahead. The supply plan's
    LP may build further ahead at a holding cost. When a resource is short
    even so (a ``first_overload``: it asks for new capacity, or it is short
    in peaks), the supply plan is run over the outlook's months (``horizon``,
    fewer if the demand plan stops sooner; not when that is no longer than
    ``supply_horizon``, whose plan the review has already shown). For each
    such resource whose ``first_overload`` falls inside it, the units it
    leaves short in SKU-months where the resource binds, from
    ``first_overload`` on, and its overtime and temporary-staff hours on the
    resource are added to the explanation, so the reader sees both views.

    Parameters
    ----------
    flags : DataFrame
        :func:`capacity_flags` with ``by="resource"``.
    demand_plan, data, cycle
        As for :func:`sopkit.supply.plan_supply`.
    horizon : int
        Months of the outlook.
    supply_horizon : int, optional
        Months of the supply plan already made.
    planner : callable, optional
        Default :func:`sopkit.supply.plan_supply`; ``**plan_kwargs`` go to it.

    Returns
    -------
    DataFrame
        ``flags`` with ``plan_units_short`` and ``plan_extra_hours`` (NaN where
        not checked) and the explanation extended.
    """
    out = flags.copy()
    out["plan_units_short"] = np.nan
    out["plan_extra_hours"] = np.nan
    if out.empty or "first_overload" not in out.columns or out["first_overload"].isna().all():
        return out
    start = cycle_month(cycle)
    months = months_beyond(demand_plan, cycle=start, horizon=horizon,
                           supply_horizon=supply_horizon)
    if not months:
        return out
    if planner is None:
        from sopkit.supply import plan_supply as planner
    supply = planner(demand_plan, data, cycle=start, horizon=months, **plan_kwargs)
    gaps, load = supply.gaps, supply.resource_load
    end = add_months(start, months)
    binding = gaps["binding"].fillna("").astype(str).str.split(", ")
    explanation = out["explanation"].astype(str).tolist()
    for k, row in enumerate(out.itertuples(index=False)):
        if pd.isna(row.first_overload):
            continue
        since = pd.Timestamp(row.first_overload)
        if since >= end:
            continue
        code = str(row.resource)
        here = binding.map(lambda names, code=code: code in names) & (gaps["period"] >= since)
        short = float(gaps.loc[here, "qty_short"].sum())
        revenue = float(gaps.loc[here, "revenue_at_risk"].sum())
        mine = load[load["resource"].astype(str) == code]
        overtime, temp = float(mine["overtime_hours"].sum()), float(mine["temp_hours"].sum())
        extra = overtime + temp
        out.iloc[k, out.columns.get_loc("plan_units_short")] = short
        out.iloc[k, out.columns.get_loc("plan_extra_hours")] = extra
        levers = " and ".join(name for name, hours in (("overtime", overtime),
                                                        ("temporary staff", temp))
                              if hours >= 0.5) or "overtime or temporary staff"
        hours = f"{extra:,.0f} hours of {levers}" if extra >= 0.5 else f"no {levers}"
        text = (f" The {months}-month supply plan, which may build stock further ahead at a "
                "holding cost, ")
        if short >= 0.5:
            text += (f"is short {short:,.0f} units ({revenue:,.0f} revenue) where {code} binds "
                     f"from {fmt_month(since)}, after {hours} on it.")
        else:
            text += (f"loses no sale to {code}: it covers the load with {hours} on it and "
                     "with stock built earlier.")
        explanation[k] = explanation[k] + text
    out["explanation"] = pd.array(explanation, dtype="string")
    return out


def _hours_short_building_ahead(load: np.ndarray, capacity: np.ndarray,
                                build_ahead_months: int) -> np.ndarray:
    """Per month, the hours of load above capacity that the months before cannot cover.

    A month's excess is covered by the spare hours of the ``build_ahead_months``
    months before it, oldest first (they expire first), each spare hour once;
    what is left is short (0 where the month is covered).
    """
    spare = np.clip(capacity - load, 0.0, None)
    short = np.zeros(load.size, dtype=float)
    for t in range(load.size):
        need = load[t] - capacity[t]
        for s in range(max(t - build_ahead_months, 0), t):
            if need <= TOL:
                break
            used = min(spare[s], need)
            spare[s] -= used
            need -= used
        short[t] = max(need, 0.0)
    return short


def _first(periods: pd.Series, mask: np.ndarray) -> pd.Timestamp:
    """The first period where ``mask`` holds, NaT if none."""
    return periods.iloc[int(np.argmax(mask))] if mask.any() else pd.NaT


def _hours(value: float) -> str:
    """Hours as a flag's text shows them: ``"149 h"``, ``"less than 1 h"``."""
    return f"{value:,.0f} h" if value >= 0.5 else "less than 1 h"


def _pct(value: float) -> str:
    return "no capacity" if not np.isfinite(value) else f"{value * 100:.0f} %"


_STATUS_RANK = {"overdue": 0, "decide now": 1, "short in peaks": 3, "peaks only": 4,
                "enough capacity": 5}


def _urgency(status: pd.Series, decide_by: pd.Series) -> pd.DataFrame:
    """Sort keys: overdue, decide now, decide by (earliest first), short in peaks, ..."""
    rank = status.astype(str).map(_STATUS_RANK).fillna(2).astype(int)
    when = pd.to_datetime(decide_by).to_numpy(dtype="datetime64[D]")
    when = np.where(np.isnat(when), np.datetime64("9999-12-31"), when)
    return pd.DataFrame({"rank": rank.to_numpy(), "when": when})


def capacity_brief(family_flags: pd.DataFrame, resource_flags: pd.DataFrame,
                   data: Dataset) -> pd.DataFrame:
    """One row per resource family with the most urgent flag of the family *or* its resources.

    A family's pooled hours can hide one bottleneck: two assembly lines at 60 %
    and 121 % pool to 90 %, though a product routed over the second line cannot
    simply move to the first. For the executive summary each family takes the
    most urgent status among its pooled row (:func:`capacity_flags` with
    ``by="resource_family"``) and its resources' rows (``by="resource"``):
    overdue, decide now, decide by (earliest), short in peaks, peaks only,
    enough capacity.

    Returns
    -------
    DataFrame
        ``resource_family, status, decide_by, explanation`` — the explanation
        is the family's, followed by those of its resources that are more
        urgent than the family's own status — sorted most urgent first.
    """
    columns = ["resource_family", "status", "decide_by", "explanation"]
    families = family_flags[columns].copy()
    if resource_flags is None or resource_flags.empty:
        return families
    owner = _families(data).set_index("resource")["resource_family"]
    res = resource_flags.assign(
        resource_family=owner.reindex(resource_flags["resource"].astype("string")).to_numpy())
    res = res[res["resource_family"].notna()]
    fam_keys = _urgency(families["status"], families["decide_by"])
    res_keys = _urgency(res["status"], res["decide_by"])
    rows = []
    for k, fam in enumerate(families.itertuples(index=False)):
        mine = np.flatnonzero(res["resource_family"].to_numpy() == fam.resource_family)
        own = (fam_keys["rank"].iat[k], fam_keys["when"].iat[k])
        worse = [i for i in mine
                 if (res_keys["rank"].iat[i], res_keys["when"].iat[i]) < own]
        status, decide_by, text = fam.status, fam.decide_by, str(fam.explanation)
        if worse:
            worse.sort(key=lambda i: (res_keys["rank"].iat[i], res_keys["when"].iat[i]))
            top = res.iloc[worse[0]]
            status, decide_by = top["status"], top["decide_by"]
            text += (" Its resources, each on its own, are more urgent than the pooled hours: "
                     + " ".join(str(res["explanation"].iat[i]) for i in worse))
        rows.append({"resource_family": fam.resource_family, "status": status,
                     "decide_by": decide_by, "explanation": text})
    out = pd.DataFrame(rows, columns=columns)
    out["decide_by"] = pd.to_datetime(out["decide_by"])
    for column in ("resource_family", "status", "explanation"):
        out[column] = out[column].astype("string")
    keys = _urgency(out["status"], out["decide_by"])
    order = np.lexsort((out["resource_family"].astype(str).to_numpy(), keys["when"].to_numpy(),
                        keys["rank"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)
