"""The executive review: the scorecard's values, decisions requested, risks, summary.

Executives read one page: how the business performs against its targets, what
they are asked to decide (with the options and a recommendation that follows
the cycle's decision rubric), the top risks, and the locked near-term plan.
The functions here assemble that page from the files the earlier steps wrote;
they compute nothing that an earlier step owns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sopkit import kpi
from sopkit.labels import listing
from sopkit.periods import add_months, fmt_month

KPI_LABELS = {
    "forecast_wape_lag1": "Forecast error (WAPE, lag 1)",
    "forecast_wape_lag3": "Forecast error (WAPE, lag 3)",
    "forecast_bias": "Forecast bias",
    "fill_rate": "Fill rate",
    "tier1_fill_rate": "Tier-1 fill rate",
    "utilisation": "Capacity utilisation",
    "inventory_turns": "Inventory turns",
    "days_of_supply": "Days of supply",
    "schedule_adherence": "Schedule adherence",
    "data_quality_score": "Data-quality score",
    "revenue_vs_budget": "Revenue vs budget",
}

KPI_FORMATS = {
    "forecast_wape_lag1": "{:.1%}",
    "forecast_wape_lag3": "{:.1%}",
    "forecast_bias": "{:+.1%}",
    "fill_rate": "{:.1%}",
    "tier1_fill_rate": "{:.1%}",
    "utilisation": "{:.1%}",
    "inventory_turns": "{:.1f}",
    "days_of_supply": "{:.0f}",
    "schedule_adherence": "{:.1%}",
    "data_quality_score": "{:.1f}",
    "revenue_vs_budget": "{:+.1%}",
}

ADHERENCE_MONTHS = 3
ACCURACY_MONTHS = 3  # the scorecard's forecast accuracy: forecasts for the last 3 closed months
"""Closed months over which the scorecard measures schedule adherence, by default."""


def format_kpi(kpi_name: str, value) -> str:
    """A KPI value as people read it (``0.953`` fill rate → ``95.3%``); ``–`` if missing."""
    if value is None or pd.isna(value):
        return "–"
    return KPI_FORMATS.get(kpi_name, "{:,.2f}").format(float(value))


def scorecard_table(card: pd.DataFrame) -> pd.DataFrame:
    """The scorecard for display: labels, formatted values and targets, status.

    Returns
    -------
    DataFrame
        ``kpi, value, target, better, status`` as text, then ``trend`` when
        the card has one and ``note`` when a KPI has a note.
    """
    better = {"higher": "higher", "lower": "lower", "closer": "closer to target"}
    return pd.DataFrame({
        "kpi": [KPI_LABELS.get(k, k) for k in card["kpi"]],
        "value": [format_kpi(k, v) for k, v in zip(card["kpi"], card["value"], strict=True)],
        "target": [format_kpi(k, v) for k, v in zip(card["kpi"], card["target"], strict=True)],
        "better": [better.get(str(d), "" if pd.isna(d) else str(d)) for d in card["direction"]],
        "status": card["status"].astype(str).tolist(),
        **({"trend": [_trend_text(r) for r in card.itertuples(index=False)]}
           if "trend" in card.columns else {}),
        **({"note": card["note"].fillna("").astype(str).tolist()}
           if "note" in card.columns and card["note"].fillna("").astype(str).ne("").any()
           else {}),
    })


def _trend_text(row) -> str:
    arrow = {"improving": "▲ ", "worsening": "▼ ", "steady": "= "}.get(str(row.trend), "")
    if pd.isna(row.previous):
        return str(row.trend)
    when = getattr(row, "previous_cycle", None)
    if when is None or pd.isna(when):
        return f"{arrow}{row.trend} (last cycle {format_kpi(row.kpi, row.previous)})"
    where = str(when)
    if str(getattr(row, "previous_source", "recorded")) == "rebuilt":
        where += ", rebuilt from data"
    return f"{arrow}{row.trend} ({where}: {format_kpi(row.kpi, row.previous)})"


def kpi_values(
    *,
    accuracy: pd.DataFrame | None,
    plan: pd.DataFrame,
    products: pd.DataFrame,
    resource_load: pd.DataFrame,
    financials: pd.DataFrame,
    findings: pd.DataFrame,
    production: pd.DataFrame | None = None,
    cycle=None,
    adherence_months: int = ADHERENCE_MONTHS,
    budget: pd.DataFrame | None = None,
) -> dict[str, float]:
    """The current value of every KPI on the scorecard.

    Parameters
    ----------
    accuracy : DataFrame or None
        ``lag, wape, bias`` and optionally ``forecast``: the demand step's
        archived accuracy, of which the consensus rows are used.
    plan, resource_load : DataFrame
        The supply step's plan and resource load.
    products : DataFrame
        Product master (for tier-1 fill rate and the data-quality score's SKU count).
    financials : DataFrame
        The reconciliation step's priced plan.
    findings : DataFrame
        The product review's data-quality findings.
    production : DataFrame, optional
        Planned and actual production (the ``production`` table); without it
        schedule adherence is NaN (:func:`kpi_notes` says why).
    cycle : month, optional
        The cycle month: schedule adherence covers the ``adherence_months``
        closed months before it (default: before the month after the last
        production month).
    budget : DataFrame, optional
        ``family, period, revenue`` (the ``budget`` table): ``revenue_vs_budget``
        is the planned revenue of the months the budget covers against it
        (plan / budget − 1, :func:`sopkit.finance.summarise`); NaN without it.

    Returns
    -------
    dict
        ``forecast_wape_lag1``, ``forecast_wape_lag3``, ``forecast_bias``,
        ``fill_rate``, ``tier1_fill_rate``, ``utilisation``, ``inventory_turns``,
        ``days_of_supply``, ``schedule_adherence``, ``data_quality_score``,
        ``revenue_vs_budget``; NaN where there is no data.
    """
    from sopkit.quality import quality_score

    values: dict[str, float] = {}
    if accuracy is not None and "forecast" in accuracy.columns:
        # archived accuracy: the consensus is the forecast the business used
        accuracy = accuracy[accuracy["forecast"] == "consensus"]
    by_lag = {} if accuracy is None or accuracy.empty else accuracy.set_index("lag")
    for lag in (1, 3):
        values[f"forecast_wape_lag{lag}"] = (
            float(by_lag.loc[lag, "wape"]) if len(by_lag) and lag in by_lag.index else np.nan
        )
    values["forecast_bias"] = (
        float(by_lag.loc[1, "bias"]) if len(by_lag) and 1 in by_lag.index else np.nan
    )
    values["fill_rate"] = float(kpi.fill_rate(plan))
    values["tier1_fill_rate"] = float(kpi.fill_rate(plan, products, tier=1))
    values["utilisation"] = float(kpi.utilisation(resource_load))
    values["inventory_turns"] = float(kpi.inventory_turns(financials))
    values["days_of_supply"] = float(kpi.days_of_supply(financials))
    values["schedule_adherence"] = (
        float(kpi.schedule_adherence(production, months=adherence_months, as_of=cycle))
        if production is not None and len(production) else np.nan)
    values["data_quality_score"] = float(quality_score(findings, n_skus=len(products)))
    values["revenue_vs_budget"] = np.nan
    if budget is not None and len(budget) and len(financials):
        from sopkit.finance import summarise

        total = summarise(financials, by=(), budget=budget)
        values["revenue_vs_budget"] = float(total["revenue_vs_budget_pct"].iloc[0])
    return values


def scorecard_accuracy(archive: pd.DataFrame, actuals: pd.DataFrame, *,
                       months: int | None = ACCURACY_MONTHS) -> pd.DataFrame:
    """The forecast accuracy a monthly scorecard reports: the last ``months`` months only.

    The demand review's accuracy table pools every archived cycle, which
    suits forecast value added; a scorecard pooled that way becomes a running
    average that hardly moves, so its trend would say little about this
    month. This scores the archived forecasts (lags 1 and 3) *for* the last
    ``months`` months with actuals (:func:`sopkit.archive.accuracy`).

    Returns
    -------
    DataFrame
        As :func:`sopkit.archive.accuracy` (``lag, forecast, …, wape, bias``).
    """
    from sopkit import archive as archive_mod

    return archive_mod.accuracy(archive, actuals, lags=(1, 3), months=months)


def accuracy_by_value(archive: pd.DataFrame, actuals: pd.DataFrame, products: pd.DataFrame, *,
                      months: int | None = ACCURACY_MONTHS, lags=(1, 3)) -> pd.DataFrame:
    """The consensus's WAPE and bias weighted by value (price × units), per lag.

    The scorecard's accuracy counts units (:func:`scorecard_accuracy`), so a
    family sold by the thousand weighs more than one sold by the set: its
    bias can say the plan is a fifth too high while the revenue it plans is
    not. Weighted by each SKU's ``price``, the same forecasts give the error
    and bias of the revenue forecast: ``Σ price·|f − a| / Σ price·a`` and
    ``Σ price·(f − a) / Σ price·a``.

    Returns
    -------
    DataFrame
        ``lag, wape, bias`` (empty without prices or scored forecasts).
    """
    from sopkit import archive as archive_mod

    columns = ["lag", "wape", "bias"]
    if archive is None or archive.empty or "price" not in products.columns:
        return pd.DataFrame(columns=columns)
    keyed = products[["sku", "price"]].assign(_sku=products["sku"])
    per_sku = archive_mod.accuracy(archive, actuals, lags=lags, months=months, by="_sku",
                                   products=keyed)
    per_sku = per_sku[per_sku["forecast"] == "consensus"].merge(
        keyed[["_sku", "price"]], on="_sku", how="left")
    per_sku["price"] = pd.to_numeric(per_sku["price"], errors="coerce").fillna(0.0)
    value = per_sku["price"] * per_sku["qty_actual"]
    out = per_sku.assign(
        value=value, abs_value=per_sku["wape"].fillna(0.0) * value,
        err_value=per_sku["price"] * (per_sku["qty_forecast"] - per_sku["qty_actual"]),
        # a SKU with no actual demand: its whole forecast is error
        zero_value=np.where(per_sku["qty_actual"] > 0, 0.0,
                            per_sku["price"] * per_sku["qty_forecast"].abs()))
    out = out.groupby("lag", as_index=False)[["value", "abs_value", "err_value",
                                              "zero_value"]].sum()
    total = out["value"].where(out["value"] > 0)
    out["wape"] = (out["abs_value"] + out["zero_value"]) / total
    out["bias"] = out["err_value"] / total
    return out[columns]


REBUILT_KPIS = ("forecast_wape_lag1", "forecast_wape_lag3", "forecast_bias",
                "schedule_adherence")
"""Scorecard KPIs whose value at an earlier cycle the data still shows (:func:`rebuilt_kpis`)."""


def rebuilt_kpis(archive: pd.DataFrame, actuals: pd.DataFrame, *, cycle,
                 production: pd.DataFrame | None = None,
                 adherence_months: int = ADHERENCE_MONTHS,
                 accuracy_months: int | None = ACCURACY_MONTHS) -> pd.DataFrame:
    """The KPIs of :data:`REBUILT_KPIS` as they read at each earlier cycle, rebuilt from data.

    A workspace's KPI history starts with its first recorded cycle, so a
    fresh workspace would show no trend. Part of the scorecard can be
    recomputed for earlier cycles from what the data holds: for every cycle
    month ``c`` before ``cycle`` that has an archived forecast (the demand
    review backfills six), the forecast accuracy at lags 1 and 3 and the bias
    of the consensus archived before ``c`` for the ``accuracy_months`` months
    before ``c`` (what the scorecard of cycle ``c`` would have reported), and
    the schedule adherence of the ``adherence_months`` closed months before
    ``c``. Fill rate, utilisation, stock and data quality
    depend on plans and master data as they stood then, which are not kept:
    they are not rebuilt.

    Parameters
    ----------
    archive : DataFrame
        The forecast archive (:func:`sopkit.archive.read_archive`).
    actuals : DataFrame
        ``sku, period, qty``.
    cycle : month
        The current cycle; only earlier cycles are rebuilt.
    production : DataFrame, optional
        The production table (schedule adherence).
    adherence_months : int
        As for :func:`kpi_values`.
    accuracy_months : int or None
        The rolling window of the forecast accuracy (:func:`scorecard_accuracy`);
        None pools every archived month before ``c``.

    Returns
    -------
    DataFrame
        ``cycle`` (``YYYY-MM``), ``kpi``, ``value``; KPIs without data at a
        cycle are left out.
    """
    from sopkit.periods import cycle_month

    now = cycle_month(cycle)
    months = sorted({pd.Timestamp(m) for m in archive["snapshot"]} if len(archive) else set())
    rows = []
    for month in (m for m in months if m < now):
        past = archive[archive["snapshot"] < month]
        seen = actuals[pd.to_datetime(actuals["period"]) < month]
        table = scorecard_accuracy(past, seen, months=accuracy_months)
        table = table[table["forecast"] == "consensus"].set_index("lag")
        label = fmt_month(month)
        for lag in (1, 3):
            if lag in table.index and pd.notna(table.loc[lag, "wape"]):
                rows.append((label, f"forecast_wape_lag{lag}", float(table.loc[lag, "wape"])))
        if 1 in table.index and pd.notna(table.loc[1, "bias"]):
            rows.append((label, "forecast_bias", float(table.loc[1, "bias"])))
        if production is not None and len(production):
            value = kpi.schedule_adherence(production, months=adherence_months, as_of=month)
            if pd.notna(value):
                rows.append((label, "schedule_adherence", float(value)))
    return pd.DataFrame(rows, columns=["cycle", "kpi", "value"]).astype(
        {"cycle": "string", "kpi": "string", "value": float})


SHARE_KPIS = ("forecast_wape_lag1", "forecast_wape_lag3", "forecast_bias", "fill_rate",
              "schedule_adherence", "utilisation")
"""Scorecard KPIs measured as shares, which one chart of the KPI history shows in %."""


def kpi_history_chart(history: pd.DataFrame) -> pd.DataFrame:
    """The KPI history's share KPIs for a chart: ``month, kpi`` (label), ``percent``, ``source``.

    ``history`` as :func:`sopkit.workspace.read_kpi_history` returns it; rows
    without a value are left out.
    """
    part = history[history["kpi"].isin(SHARE_KPIS)].dropna(subset=["value"])
    return pd.DataFrame({
        "month": pd.to_datetime(part["cycle"].astype(str) + "-01"),
        "kpi": part["kpi"].map(KPI_LABELS).astype("string"),
        "percent": 100 * part["value"].astype(float),
        "source": part["source"] if "source" in part.columns else "recorded",
    }).reset_index(drop=True)


def kpi_notes(*, production: pd.DataFrame | None, cycle=None,
              adherence_months: int = ADHERENCE_MONTHS,
              budget: pd.DataFrame | None = None,
              plan: pd.DataFrame | None = None, products: pd.DataFrame | None = None,
              resource_load: pd.DataFrame | None = None, n_named: int = 3,
              accuracy_months: int | None = None,
              financials: pd.DataFrame | None = None,
              value_accuracy: pd.DataFrame | None = None,
              routings: pd.DataFrame | None = None,
              actuals: pd.DataFrame | None = None) -> dict[str, str]:
    """What a KPI of :func:`kpi_values` does not show, in words (for ``kpi.scorecard(notes=)``).

    A pooled KPI can be green while one part of it is not: the notes name
    that part next to the status.

    Parameters
    ----------
    production, cycle, adherence_months, budget
        As for :func:`kpi_values`.
    plan, products : DataFrame, optional
        The supply plan and the product master: the tier-1 fill rate's note
        says which tier-1 SKUs the plan takes below their safety stock
        (:func:`sopkit.kpi.safety_stock_cover`).
    resource_load : DataFrame, optional
        The supply plan's resource load: the utilisation's note names the
        resources over their regular hours, which the pooled figure hides.
    n_named : int
        How many SKUs or resources a note names before "and N more".
    accuracy_months : int, optional
        The forecast accuracy's rolling window (:func:`scorecard_accuracy`):
        its notes name the months the forecasts were for.
    financials : DataFrame, optional
        The priced plan (:func:`sopkit.finance.financials`): with ``budget``,
        the revenue-vs-budget note splits the gap into what demand falls
        short of the budget and what supply then fails to serve, and names
        the families furthest below it; the fill rate's note gives it by
        value and the family served worst.
    value_accuracy : DataFrame, optional
        :func:`accuracy_by_value`: the accuracy notes give the error and bias
        of the revenue forecast beside the units'.
    routings : DataFrame, optional
        With ``production`` and ``resource_load``: the utilisation note names
        the resources the plan's first months load beyond what they have
        delivered lately (:func:`sopkit.supply.adherence_risk`).
    actuals : DataFrame, optional
        With ``financials``, ``budget`` and ``products``: the budget note
        sets the plan beside the revenue of the same number of months just
        closed, at today's prices (is the budget or the forecast out of line?).

    Returns
    -------
    dict
        KPI name → sentence: ``schedule_adherence`` (no production table, or
        no production planned in the months measured; else the months
        measured), ``revenue_vs_budget`` without a budget, ``utilisation``
        when a resource is over its regular hours in some month,
        ``inventory_turns`` when stock runs more than 5 % below its
        safety-stock target in some month,
        ``tier1_fill_rate`` when a tier-1 SKU is planned below its safety
        stock, ``fill_rate`` (by value, and the family served worst) and the
        split of ``revenue_vs_budget`` with ``financials``.
    """
    notes = _adherence_note(production, cycle, adherence_months)
    if accuracy_months is not None and cycle is not None:
        first, end = kpi.closed_months(pd.Timestamp(cycle), accuracy_months)
        window = f"{fmt_month(first)} to {fmt_month(end)}" if first != end else fmt_month(end)
        for name in ("forecast_wape_lag1", "forecast_wape_lag3", "forecast_bias"):
            notes[name] = f"the consensus's forecasts for {window}"
    if value_accuracy is not None and len(value_accuracy):
        by_lag = value_accuracy.set_index("lag")
        for name, lag, column in (("forecast_wape_lag1", 1, "wape"),
                                  ("forecast_wape_lag3", 3, "wape"),
                                  ("forecast_bias", 1, "bias")):
            if lag in by_lag.index and pd.notna(by_lag.loc[lag, column]):
                figure = by_lag.loc[lag, column]
                shown = f"{figure:.1%}" if column == "wape" else f"{figure:+.1%}"
                notes[name] = (notes.get(name, "") + (", " if name in notes else "")
                               + f"in units; by value (price × units) {shown}")
    if budget is None or budget.empty:
        notes["revenue_vs_budget"] = "no budget: budget.csv was not given"
    if resource_load is not None and len(resource_load):
        text = _utilisation_note(resource_load, n_named)
        risk = _adherence_risk_note(resource_load, production, routings, cycle,
                                    adherence_months, n_named)
        text = "; ".join(t for t in (text, risk) if t)
        if text:
            notes["utilisation"] = text
    if plan is not None and len(plan) and products is not None:
        text = _buffer_note(plan, products, n_named)
        if text:
            notes["tier1_fill_rate"] = text
        text = _stock_note(plan, products)
        if text:
            notes["inventory_turns"] = text
    if financials is not None and len(financials):
        text = _fill_note(financials)
        if text:
            notes["fill_rate"] = text
        if budget is not None and len(budget):
            text = _budget_note(financials, budget, n_named)
            history = (_history_note(financials, budget, actuals, products)
                       if actuals is not None and products is not None else "")
            text = "; ".join(t for t in (text, history) if t)
            if text:
                notes["revenue_vs_budget"] = text
    return notes


def _history_note(financials: pd.DataFrame, budget: pd.DataFrame, actuals: pd.DataFrame,
                  products: pd.DataFrame, *, gap: float = 0.10) -> str:
    """The plan and the budget beside the revenue of as many months just closed, and the
    families whose plan and budget part most from it (by more than ``gap``)."""
    if actuals.empty or "price" not in products.columns:
        return ""
    months = set(pd.to_datetime(budget["period"])) & set(pd.to_datetime(financials["period"]))
    if not months:
        return ""
    fin = financials[pd.to_datetime(financials["period"]).isin(months)]
    periods = pd.to_datetime(actuals["period"])
    last = periods.max()
    window = periods > add_months(last, -len(months))
    master = products.set_index(products["sku"].astype(str))
    sold = actuals[window].assign(sku=actuals.loc[window, "sku"].astype(str))
    sold = sold.assign(revenue=sold["qty"].astype(float)
                       * sold["sku"].map(master["price"].astype(float)).fillna(0.0),
                       family=sold["sku"].map(master["family"]) if "family" in master else "")
    past = float(sold["revenue"].sum())
    if not past > 0:
        return ""
    by = pd.DataFrame({
        "past": sold.groupby("family")["revenue"].sum(),
        "plan": fin.assign(d=fin["revenue"] + fin["revenue_at_risk"]).groupby("family")["d"].sum(),
        "budget": budget[pd.to_datetime(budget["period"]).isin(months)].groupby(
            "family")["revenue"].sum()}).fillna(0.0)
    first = add_months(last, -len(months) + 1)
    text = (f"the last {len(months)} closed months ({fmt_month(first)} to {fmt_month(last)}) "
            f"sold {past:,.0f} at today's prices: the demand plan is "
            f"{by['plan'].sum() / past - 1:+.1%} on them, the budget "
            f"{by['budget'].sum() / past - 1:+.1%}")
    by = by[by["past"] > 0]
    by["apart"] = (by["budget"] - by["plan"]) / by["past"]
    apart = by[by["apart"].abs() > gap].sort_values("apart", key=abs, ascending=False)
    if len(apart):
        named = [f"{family} plan {r.plan / r.past - 1:+.0%}, budget {r.budget / r.past - 1:+.0%}"
                 for family, r in apart.head(2).iterrows()]
        text += f"; furthest apart: {'; '.join(named)}"
    return text


def _adherence_risk_note(resource_load: pd.DataFrame, production: pd.DataFrame | None,
                         routings: pd.DataFrame | None, cycle, adherence_months: int,
                         n_named: int, months: int = 3) -> str:
    """Resources the first months load beyond what they have delivered lately."""
    from sopkit.supply import adherence_risk

    if production is None or production.empty or routings is None:
        return ""
    adherence = kpi.schedule_adherence(production, by="resource", months=adherence_months,
                                       as_of=cycle, routings=routings)
    if adherence.empty:
        return ""
    risk = adherence_risk(resource_load, adherence, months=months)
    if risk.empty:
        return ""
    named = [f"{r.resource} ({r.hours_required:,.0f} h needed, {r.hours_demonstrated:,.0f} h "
             f"at its {r.schedule_adherence:.0%} adherence)"
             if r.hours_required > r.hours_demonstrated else
             f"{r.resource} (in {int(r.months_above)} of the {months} months: its peak month "
             f"needs {r.peak_share:.0%} of its hours, it delivered {r.schedule_adherence:.0%})"
             for r in risk.itertuples()]
    return (f"the first {months} months ask more than these resources have delivered lately: "
            f"{listing(named, n_named)}")


def _stock_note(plan: pd.DataFrame, products: pd.DataFrame, *, slack: float = 0.05) -> str:
    """Turns are high partly because stock runs below its safety-stock target: say so."""
    from sopkit.supply import inventory_projection

    if not {"inventory_end", "safety_stock", "qty_written_off"} <= set(plan.columns) \
            or "unit_cost" not in products.columns:
        return ""
    projection = inventory_projection(plan, products)
    worst = projection.loc[projection["below_target_value"].idxmax()]
    if not worst["below_target_value"] > slack * max(worst["safety_stock_value"], 1e-9):
        return ""
    return (f"stock is {worst['below_target_value']:,.0f} below its safety-stock target in "
            f"{fmt_month(worst['period'])} ({int(worst['skus_below_target'])} SKUs): the "
            "turns are high partly because stock runs short")


def _fill_note(financials: pd.DataFrame) -> str:
    """The fill rate by value, and the family served worst, beside the fill rate in units."""
    need = {"family", "qty_demand", "qty_served", "revenue", "revenue_at_risk"}
    if not need <= set(financials.columns):
        return ""
    demand_value = financials["revenue"] + financials["revenue_at_risk"]
    if not demand_value.sum() > 0:
        return ""
    text = f"in units; by value {financials['revenue'].sum() / demand_value.sum():.1%}"
    by = financials.assign(demand_value=demand_value).groupby("family").agg(
        qty_demand=("qty_demand", "sum"), qty_served=("qty_served", "sum"),
        revenue=("revenue", "sum"), demand_value=("demand_value", "sum"))
    by = by[by["qty_demand"] > 0]
    if len(by) > 1:
        by["units"] = by["qty_served"] / by["qty_demand"]
        worst = by.sort_values(["units", "demand_value"], ascending=[True, False]).iloc[0]
        if worst["units"] < 1 - 1e-9:
            value = (worst["revenue"] / worst["demand_value"] if worst["demand_value"] > 0
                     else np.nan)
            text += (f"; served worst: {worst.name} {worst['units']:.1%} "
                     f"({value:.1%} by value)")
    return text


def _budget_note(financials: pd.DataFrame, budget: pd.DataFrame, n_named: int) -> str:
    """The gap to the budget split into demand and supply, and the families furthest below it."""
    need = {"family", "period", "revenue", "revenue_at_risk"}
    if not need <= set(financials.columns) or not {"family", "period", "revenue"} <= set(
            budget.columns):
        return ""
    months = set(pd.to_datetime(budget["period"]))
    fin = financials[pd.to_datetime(financials["period"]).isin(months)]
    if fin.empty:
        return ""
    covered = budget[pd.to_datetime(budget["period"]).isin(
        set(pd.to_datetime(fin["period"])))]
    by = fin.groupby("family").agg(revenue=("revenue", "sum"),
                                   at_risk=("revenue_at_risk", "sum"))
    by = by.join(covered.groupby("family")["revenue"].sum().rename("budget"), how="outer")
    by = by.fillna(0.0)
    by["demand"] = by["revenue"] + by["at_risk"]
    by["demand_gap"] = by["demand"] - by["budget"]
    total_budget, total_demand = by["budget"].sum(), by["demand"].sum()
    if not total_budget > 0:
        return ""
    gap = total_demand - total_budget
    text = (f"the demand plan is {abs(gap):,.0f} {'below' if gap < 0 else 'above'} the budget "
            f"({gap / total_budget:+.1%}), and supply leaves {by['at_risk'].sum():,.0f} of the "
            "demand unserved")
    below = by[by["demand_gap"] < 0].sort_values("demand_gap")
    if len(below):
        named = [f"{family} {gap:+,.0f}" for family, gap in below["demand_gap"].items()]
        text += f"; demand furthest below budget: {listing(named, n_named)}"
    return text


def _months(n) -> str:
    return f"{int(n)} month" if int(n) == 1 else f"{int(n)} months"


def _utilisation_note(resource_load: pd.DataFrame, n_named: int) -> str:
    """The resources over their regular hours, which the pooled utilisation hides."""
    if "resource" not in resource_load.columns:
        return ""
    by = kpi.utilisation(resource_load, by="resource")
    over = by[by["months_over_capacity"] > 0].sort_values(
        ["months_over_capacity", "peak_utilisation", "resource"],
        ascending=[False, False, True], kind="stable")
    if over.empty:
        return ""
    months = resource_load["period"].nunique()
    named = [f"{r.resource} in {int(r.months_over_capacity)} of {_months(months)} "
             f"(peak {r.peak_utilisation:.0%})" for r in over.itertuples()]
    busiest = by.sort_values(["utilisation", "resource"], ascending=[False, True]).iloc[0]
    return (f"all {len(by)} resources pooled; busiest {busiest['resource']} at "
            f"{busiest['utilisation']:.0%} on average; over regular hours: "
            f"{listing(named, n_named)}")


def _buffer_note(plan: pd.DataFrame, products: pd.DataFrame, n_named: int) -> str:
    """The tier-1 SKUs the plan takes below their safety stock, which the fill rate hides."""
    if not {"inventory_end", "safety_stock"} <= set(plan.columns) \
            or "priority_tier" not in products.columns:
        return ""
    cover = kpi.safety_stock_cover(plan, products, tier=1)
    below = cover[cover["months_below"] > 0]
    if below.empty:
        return ""
    text = (f"{len(below)} of {len(cover)} tier-1 SKUs with a safety stock "
            f"{'is' if len(below) == 1 else 'are'} planned below it in some month")
    empty = cover[cover["months_empty"] > 0]
    if len(empty):
        named = [f"{r.sku} ({_months(r.months_empty)} from {fmt_month(r.first_empty)})"
                 for r in empty.itertuples()]
        text += (f"; {len(empty)} {'ends' if len(empty) == 1 else 'end'} a month with no "
                 f"stock: {listing(named, n_named)}")
    return text


def _adherence_note(production: pd.DataFrame | None, cycle, adherence_months: int
                    ) -> dict[str, str]:
    if production is None or production.empty:
        return {"schedule_adherence": "no production data: production.csv (planned and "
                                      "actual production) was not given"}
    last = (pd.Timestamp(cycle) if cycle is not None
            else pd.to_datetime(production["period"]).max() + pd.DateOffset(months=1))
    first, end = kpi.closed_months(last, adherence_months)
    window = f"{fmt_month(first)} to {fmt_month(end)}" if first != end else fmt_month(end)
    planned = production[(pd.to_datetime(production["period"]) >= first)
                         & (pd.to_datetime(production["period"]) <= end)]["planned_qty"]
    if planned.empty:
        return {"schedule_adherence": f"no production recorded in {window}"}
    if not (planned.astype(float) > 0).any():
        return {"schedule_adherence": f"no production planned in {window}"}
    return {"schedule_adherence": f"over {window}"}


KEEP_PLAN = "Keep the plan as it stands"
NO_CONSTRAINT = "no capacity limit"  # gaps whose explanation names no binding constraint
OPTION_COLUMNS = ["decision", "option", "rank", "cost", "revenue", "contribution_after_cost",
                  "delta_contribution", "tier1_fill_rate", "fill_rate", "revenue_at_risk",
                  "co2e_kg", "reason", "runs_from", "gain_before_start"]


def decision_options(results: pd.DataFrame, rubric, *, tolerance: float = 0.005
                     ) -> pd.DataFrame:
    """The priced options of each decision prepared in the reconciliation.

    Response scenarios that name the same ``decision`` are its options; the
    plan as it stands (the baseline) is always one more ("keep the plan").
    Each option is priced against the baseline: its ``cost`` over the months
    planned (one-off plus monthly, :func:`sopkit.scenarios.run_scenarios`; 0
    when not given) is taken off its margins, and the options
    are ranked on the cycle's decision rubric with those net margins
    (:func:`sopkit.scenarios.rank_scenarios` rules: ties within
    ``tolerance``). ``delta_contribution`` = the option's contribution after
    its cost − the baseline's contribution: what choosing it is worth.

    Parameters
    ----------
    results : DataFrame
        :func:`sopkit.scenarios.run_scenarios` output; optional columns
        ``decision`` and ``cost``. Without ``decision`` there are no
        decisions to price.
    rubric : list of str
        The cycle's ``decision_rubric``.

    Returns
    -------
    DataFrame
        :data:`OPTION_COLUMNS`, options of a decision in rank order.
    """
    from sopkit.scenarios import BASELINE, rank_scenarios

    if "decision" not in results.columns or results.empty:
        return pd.DataFrame(columns=OPTION_COLUMNS)
    frame = results.copy()
    frame["cost"] = (pd.to_numeric(frame["cost"], errors="coerce") if "cost" in frame.columns
                     else 0.0)
    frame["cost"] = frame["cost"].fillna(0.0).astype(float)
    kind = frame["kind"].astype("string") if "kind" in frame.columns else "response"
    decision = frame["decision"].astype("string").str.strip()
    base = frame[frame["scenario"].astype(str) == BASELINE]
    if base.empty:
        return pd.DataFrame(columns=OPTION_COLUMNS)
    base = base.iloc[0]
    monthly = results.attrs.get("contribution_by_month")
    if monthly:
        # each plan's monthly contribution less the baseline's, for gains before an option runs
        pivot = pd.DataFrame(monthly)
        pivot.index = pd.to_datetime(pivot.index)
        monthly = pivot.sub(pivot[BASELINE], axis=0) if BASELINE in pivot else None
    else:
        monthly = None
    out = []
    named = decision.notna() & decision.ne("") & pd.Series(kind, index=frame.index).ne("shock")
    for name in pd.unique(decision[named]):
        options = frame[named & decision.eq(name)]
        group = pd.concat([base.to_frame().T, options], ignore_index=True)
        group["scenario"] = group["scenario"].astype(str)
        group.loc[0, "scenario"] = KEEP_PLAN
        group.loc[0, "cost"] = 0.0
        group["kind"] = "response"
        ranked = rank_scenarios(group, rubric, tolerance=tolerance)  # margins net of cost
        contribution = ranked["contribution"].astype(float) - ranked["cost"].astype(float)
        before = [_gain_before_start(monthly, str(option), runs_from)
                  for option, runs_from in zip(ranked["scenario"], ranked.get(
                      "runs_from", pd.Series(pd.NaT, index=ranked.index)), strict=True)]
        out.append(pd.DataFrame({
            "decision": name, "option": ranked["scenario"].astype(str),
            "rank": ranked["rank"].astype("Int64"), "cost": ranked["cost"].astype(float),
            "revenue": ranked["revenue"].astype(float),
            "contribution_after_cost": contribution,
            "delta_contribution": contribution - float(base["contribution"]),
            "tier1_fill_rate": ranked["tier1_fill_rate"].astype(float),
            "fill_rate": ranked["fill_rate"].astype(float),
            "revenue_at_risk": ranked["revenue_at_risk"].astype(float),
            "co2e_kg": ranked["co2e_kg"].astype(float),
            "reason": ranked["reason"].astype(str),
            "runs_from": pd.to_datetime(ranked["runs_from"]) if "runs_from" in ranked
            else pd.NaT, "gain_before_start": before}))
    if not out:
        return pd.DataFrame(columns=OPTION_COLUMNS)
    return pd.concat(out, ignore_index=True)[OPTION_COLUMNS]


def _gain_before_start(gains: pd.DataFrame | None, option: str, runs_from) -> float:
    """An option's contribution against the baseline in the months before it runs (NaN when
    it runs from the first month, or the months were not kept)."""
    if gains is None or option not in gains.columns or pd.isna(runs_from):
        return np.nan
    early = gains.index < pd.Timestamp(runs_from)
    return float(gains.loc[early, option].sum()) if early.any() else np.nan


STRUCTURAL_MONTHS = 3  # a component short in the supply plan's last months stays short after


def structural_components(gaps: pd.DataFrame | None, components, *, cycle, supply_horizon: int,
                          last_months: int = STRUCTURAL_MONTHS) -> set[str]:
    """Components whose supply still binds in the last ``last_months`` of the supply plan.

    A shortage that lasts to the plan's end goes on after it: a decision on
    such a component pays off, or not, mostly beyond the supply plan's months
    (:func:`outlook_decision_options` prices it over the outlook's).

    Parameters
    ----------
    gaps : DataFrame or None
        The supply plan's gaps (``period, binding``: codes, comma-separated).
    components : iterable of str
        The component codes (``components.component``), to tell them from resources.
    """
    if gaps is None or gaps.empty or "binding" not in gaps.columns:
        return set()
    first = add_months(pd.Timestamp(cycle), supply_horizon - last_months)
    late = gaps[pd.to_datetime(gaps["period"]) >= first]
    codes = {c.strip() for text in late["binding"].dropna().astype(str) for c in text.split(",")}
    return codes & {str(c) for c in components}


def outlook_decision_options(demand_plan: pd.DataFrame, data, specs, flags: pd.DataFrame | None,
                             rubric, *, cycle, horizon: int, supply_horizon: int | None = None,
                             compute=None, gaps: pd.DataFrame | None = None,
                             adopted=None, **plan_kwargs) -> pd.DataFrame:
    """The prepared decisions on capacity short beyond the supply plan, priced over the outlook.

    The reconciliation prices every option over the supply plan's months. A
    decision whose options change a resource that the rough-cut outlook
    (:func:`sopkit.roughcut.capacity_flags` by resource) says needs new capacity
    (``decide_by`` set), or a component still short at the end of the supply
    plan (:func:`structural_components` of ``gaps``), pays off, or not,
    mostly after those months. Its options and the baseline are planned again
    over ``horizon`` months (the outlook's; fewer if the demand plan stops
    sooner) and priced as in :func:`decision_options`.

    Parameters
    ----------
    demand_plan, data
        The cycle's consensus demand plan and data.
    specs : list of dict
        The cycle's scenarios (:func:`sopkit.scenarios.validate_scenarios`).
    flags : DataFrame or None
        Capacity flags by resource (``resource, decide_by``).
    rubric : list of str
        The cycle's decision rubric.
    cycle, horizon, compute, **plan_kwargs
        As for :func:`sopkit.scenarios.run_scenarios`.
    supply_horizon : int, optional
        The months the options were priced over already: when the demand plan
        reaches no further, there is nothing new to price.
    gaps : DataFrame, optional
        The supply plan's gaps: decisions on a component short in its last
        months are priced too (needs ``supply_horizon``).
    adopted : list of dict, optional
        The options adopted into the plan
        (:func:`sopkit.scenarios.validate_adopted`): planned in every plan,
        their decisions not priced again.

    Returns
    -------
    DataFrame
        :data:`OPTION_COLUMNS` plus ``months`` (the months priced); empty when
        no decision changes a flagged resource or a structurally short
        component, or the demand plan does not reach beyond ``supply_horizon``.
    """
    from sopkit.roughcut import months_beyond
    from sopkit.scenarios import run_scenarios, validate_scenarios

    columns = [*OPTION_COLUMNS, "months"]
    empty = pd.DataFrame(columns=columns)
    flagged = (set(flags.loc[pd.to_datetime(flags["decide_by"]).notna(), "resource"].astype(str))
               if flags is not None and len(flags) and "decide_by" in flags.columns else set())
    short = (structural_components(gaps, data.components["component"].astype(str),
                                   cycle=cycle, supply_horizon=supply_horizon)
             if supply_horizon is not None and gaps is not None else set())
    if not flagged and not short:
        return empty
    validated = validate_scenarios(specs)
    taken = {spec["decision"] for spec in adopted or [] if spec["decision"]}

    def changes(spec, kind: str) -> set[str]:
        return {c for change in spec["capacity"] for c in change.get(kind, [])}

    chosen = {spec["decision"] for spec in validated
              if spec["decision"] and spec["kind"] != "shock" and spec["decision"] not in taken
              and (flagged & changes(spec, "resource") or short & changes(spec, "component"))}
    if not chosen:
        return empty
    months = months_beyond(demand_plan, cycle=cycle, horizon=horizon,
                           supply_horizon=supply_horizon)
    if not months:
        return empty
    results = run_scenarios(demand_plan, data,
                            [spec for spec in validated if spec["decision"] in chosen
                             and spec["kind"] != "shock"],
                            cycle=cycle, horizon=months, compute=compute, adopted=adopted,
                            **plan_kwargs)
    return decision_options(results, rubric).assign(months=months)[columns]


def _long_note(name: str, best_option: str, long: pd.DataFrame | None) -> tuple[str, str]:
    """The decision's options over the outlook's months (:func:`outlook_decision_options`):
    the recommendation there and its words; ``(best_option, "")`` without them."""
    if long is None or long.empty:
        return best_option, ""
    rows = long[long["decision"].astype(str) == name].sort_values("rank", kind="stable")
    if rows.empty:
        return best_option, ""
    months = int(rows["months"].iloc[0])
    keep = rows[rows["option"].astype(str) == KEEP_PLAN]
    keep_fill = float(keep["fill_rate"].iloc[0]) if len(keep) else np.nan
    parts = [f"'{r.option}' {r.delta_contribution:+,.0f} against keeping the plan (fill "
             f"{r.fill_rate:.1%} vs {keep_fill:.1%})"
             for r in rows.itertuples(index=False) if r.option != KEEP_PLAN]
    top = rows.loc[rows["rank"] == rows["rank"].min(), "option"].astype(str).tolist()
    if best_option in top:
        verdict = (f"so '{best_option}' comes first there too" if len(top) == 1 else
                   f"so over {months} months {' and '.join(repr(t) for t in top)} tie on the "
                   "rubric (its KPIs within half a percent)")
        first = best_option
    else:
        first = top[0]
        verdict = (f"so over {months} months '{first}' comes first, and it is recommended: "
                   "the capacity is needed after the supply plan's months")
    return first, f"priced over the outlook's {months} months: {'; '.join(parts)}, {verdict}"


def _option_text(row) -> str:
    parts = [f"{row.option}: cost {row.cost:,.0f}",
             f"contribution {row.delta_contribution:+,.0f} vs the plan"]
    if pd.notna(row.tier1_fill_rate):
        parts.append(f"tier-1 fill {row.tier1_fill_rate:.1%}")
    parts.append(f"fill {row.fill_rate:.1%}")
    return ", ".join(parts)


def _outlook_note(codes: list[str], flags: pd.DataFrame | None, *, priced: bool = False) -> str:
    """What the 24-month outlook says about the resources a decision's options change,
    when it asks for new capacity; "" otherwise. ``priced``: the options were also
    priced over the outlook's months (then the note says how the two differ)."""
    if flags is None or flags.empty or "decide_by" not in flags.columns:
        return ""
    notes = []
    for row in flags[flags["resource"].astype(str).isin(codes)].itertuples(index=False):
        if pd.isna(row.decide_by) or str(row.decide_by) == "":
            continue
        text = (f"{row.resource} over its regular, overtime and temporary-staff capacity in "
                f"{int(row.months_overloaded)} month(s) from {fmt_month(row.first_overload)}; "
                f"new capacity takes {int(row.lead_time_months)} month(s): decide by "
                f"{fmt_month(row.decide_by)}")
        checked = getattr(row, "plan_units_short", np.nan)  # sopkit.roughcut.supply_plan_check
        if pd.notna(checked) and str(checked) != "":
            checked = float(checked)
            text += (f" (the supply plan over the same months loses no sale to {row.resource}: "
                     "it builds stock earlier, so that date holds only if stock is not to be "
                     "built that far ahead)" if checked < 0.5 else
                     f" (the supply plan over the same months, building stock earlier, is "
                     f"still short {checked:,.0f} units where {row.resource} binds)")
        notes.append(text)
    if not notes:
        return ""
    if priced:
        ahead = (flags["build_ahead_months"].dropna() if "build_ahead_months" in flags.columns
                 else pd.Series(dtype=float))
        limit = (f"at most {int(ahead.iloc[0])} month(s) ahead" if len(ahead)
                 else "only a few months ahead")
        return ("note: the rough-cut capacity outlook, which weighs each month's load against "
                f"its capacity and lets stock be built {limit}, has " + " and ".join(notes))
    return ("note: these options are priced over the supply plan's months only; the "
            "24-month capacity outlook has " + " and ".join(notes))


def _plan_of_record_row(ranked: pd.DataFrame, chosen: list[str], *, decided: bool,
                        adopted: bool) -> dict:
    """The first decision: which plan becomes the plan of record.

    With prepared decisions, the recommendation is each one's recommended
    option, together (options of different decisions are not alternatives to
    one another), plus a response without a decision that the ranking puts
    first; without them, the top-ranked scenario. The draft a run records is
    the Baseline, so the reason says how to record a plan with the
    recommendation (the ``adopted`` parameter).
    """
    from sopkit.scenarios import BASELINE
    from sopkit.store import PLAN_OF_RECORD_DECISION

    best = ranked.iloc[0]
    top = str(best["scenario"])
    undecided = ("decision" not in ranked.columns or pd.isna(best.get("decision"))
                 or str(best.get("decision")) == "")
    picks = list(chosen) if decided else []
    if top != BASELINE and (not decided or undecided) and top not in picks:
        picks.insert(0, top)
    if not picks:
        recommendation, reason = BASELINE, str(best.get("reason", ""))
        if top != BASELINE:
            reason = "every prepared decision recommends keeping the plan as it stands"
        if adopted:
            reason += (". The Baseline is the plan with the adopted options (below), and it "
                       "is the draft version this run records: approve that version")
    else:
        recommendation = " + ".join(picks)
        reason = (str(best.get("reason", "")) if picks == [top] else
                  "each decision's recommended option, below; they were priced one at a time "
                  "against the plan as it stands, not together")
        several = len(picks) > 1
        reason += (". This run's draft version holds the Baseline (the plan as it stands"
                   + (", with the adopted options" if adopted else "") + "), not "
                   + " or ".join(f"'{p}'" for p in picks) + ": to approve a plan with "
                   + ("them" if several else "it") + ", add "
                   + " and ".join(f"'{p}'" for p in picks) + " to 'adopted' in the cycle "
                   "parameters and run the cycle again"
                   + (" (which plans them together)" if several else "")
                   + ", then approve the version that run records")
    return {"decision": PLAN_OF_RECORD_DECISION,
            "context": f"{len(ranked)} options priced in the reconciliation",
            "options": "; ".join(ranked["scenario"].astype(str)),
            "recommendation": recommendation, "reason": reason}


def decisions(
    gaps: pd.DataFrame,
    ranked_scenarios: pd.DataFrame,
    *,
    options: pd.DataFrame | None = None,
    max_gap_decisions: int = 3,
    capacity_flags: pd.DataFrame | None = None,
    outlook_options: pd.DataFrame | None = None,
    adopted: list[dict] | None = None,
    cycle=None,
    supply_horizon: int = 12,
) -> pd.DataFrame:
    """The decisions the executive meeting is asked to take.

    The first decision is always which scenario becomes the plan of record:
    its options are the scenarios the reconciliation ranked, its recommendation
    the top-ranked one with the rubric's reason. Then one decision per
    prepared decision of ``options`` (:func:`decision_options`: its priced
    options, the top-ranked recommended), and one per binding constraint
    behind the largest revenue at risk that no prepared decision addresses
    (how to close or accept that gap; a decision addresses a constraint when
    one of its options changes that resource's or component's capacity,
    ``capacity_codes`` of the scenario results).

    Parameters
    ----------
    gaps : DataFrame
        ``sku, period, qty_short, revenue_at_risk, binding, explanation``.
    ranked_scenarios : DataFrame
        :func:`sopkit.scenarios.rank_scenarios` output (``scenario, rank, reason``).
    options : DataFrame, optional
        :func:`decision_options` output.
    capacity_flags : DataFrame, optional
        The rough-cut outlook per resource
        (:func:`sopkit.roughcut.capacity_flags` with ``by="resource"``). A
        prepared decision whose options change the capacity of a resource
        that the outlook says needs new capacity (``decide_by``) gets a note
        in its reason: the options are priced over the supply plan's months
        only, and the overload the outlook sees may lie beyond them.
    outlook_options : DataFrame, optional
        :func:`outlook_decision_options`: such decisions priced over the
        outlook's months. Their reason then gives those figures too, and when
        another option comes first over the longer horizon it is the one
        recommended (the capacity is for the months after the supply plan).
    adopted : list of dict, optional
        The options already adopted into the plan
        (:func:`sopkit.scenarios.validate_adopted`): one row each, its
        decision taken, with its cost over ``supply_horizon`` months from
        ``cycle``.

    Returns
    -------
    DataFrame
        ``decision, context, options, recommendation, reason``.

    Notes
    -----
    The run records the Baseline — the plan as it stands, with the adopted
    options — as its draft version in the plan store. An option recommended
    here becomes part of the plan of record once the cycle is run again with
    it adopted; the plan-of-record row says so, so that approving the draft
    is not mistaken for approving the recommendation.
    """
    from sopkit.scenarios import adopted_cost

    rows = []
    adopted = list(adopted or [])
    ranked = ranked_scenarios.dropna(subset=["rank"]).sort_values("rank", kind="stable")
    if len(ranked):
        rows.append({})  # the plan of record: filled in once each decision is recommended
    for spec in adopted:
        cost = (adopted_cost([spec], cycle=cycle, months=supply_horizon) if cycle is not None
                else spec["cost"])
        rows.append({
            "decision": str(spec["decision"] or spec["name"]),
            "context": "adopted (cycle parameter 'adopted'): planned in this run's supply plan",
            "options": str(spec["name"]),
            "recommendation": f"adopted: {spec['name']}",
            "reason": (f"taken: its changes are in the demand and supply plans this run records "
                       f"(cost {cost:,.0f} over the {supply_horizon} months planned); to undo it, "
                       "remove it from 'adopted' and run the cycle again"),
        })
    addressed: set[str] = set()
    chosen: list[str] = []  # each prepared decision's recommended option, keeping the plan aside
    if options is not None and len(options):
        codes = {}
        if "capacity_codes" in ranked_scenarios.columns:
            codes = dict(zip(ranked_scenarios["scenario"].astype(str),
                             ranked_scenarios["capacity_codes"].fillna("").astype(str),
                             strict=True))
        for name, group in options.groupby("decision", sort=False):
            group = group.sort_values("rank", kind="stable")
            best = group.iloc[0]
            touched = [c for option in group["option"]
                       for c in codes.get(option, "").split(";") if c]
            addressed.update(touched)
            gain = ("" if best["option"] == KEEP_PLAN else
                    f"{best['delta_contribution']:+,.0f} contribution after its cost of "
                    f"{best['cost']:,.0f}, against keeping the plan")
            early = pd.to_numeric(pd.Series([best.get("gain_before_start")]),
                                  errors="coerce").iloc[0]
            early_text = ""
            if gain and pd.notna(early) and abs(early) > 0.05 * abs(best["delta_contribution"]):
                early_text = (f"{early:+,.0f} of its gain falls in the months before it runs "
                              f"(from {fmt_month(pd.Timestamp(best['runs_from']))}): the plan "
                              "releases stock it would hold back, counting on the option "
                              "arriving on time")
            if len(group) > 1:
                runner = group.iloc[1]
                lead = float(best["contribution_after_cost"] - runner["contribution_after_cost"])
                unpriced = ("costs this pricing leaves out would have to exceed that to "
                            "change the money side of the choice")
                if lead > 0 and gain and runner["option"] == KEEP_PLAN:
                    gain += f": {unpriced}"  # the lead is the gain just stated
                elif lead > 0:
                    gain = "; ".join(t for t in (gain, (
                        f"its lead over '{runner['option']}' is {lead:,.0f} contribution: "
                        f"{unpriced}")) if t)
            gain = "; ".join(t for t in (gain, early_text) if t)
            recommended, long_text = _long_note(str(name), str(best["option"]), outlook_options)
            if recommended != KEEP_PLAN:
                chosen.append(recommended)
            rows.append({
                "decision": str(name),
                "context": f"{len(group)} options priced against the plan as it stands",
                "options": "; ".join(_option_text(r) for r in group.itertuples(index=False)),
                "recommendation": recommended,
                "reason": "; ".join(t for t in (
                    str(best["reason"]), gain, long_text,
                    _outlook_note(touched, capacity_flags, priced=bool(long_text))) if t),
            })
    if len(ranked):
        rows[0] = _plan_of_record_row(ranked, chosen,
                                      decided=options is not None and len(options) > 0,
                                      adopted=bool(adopted))
    if len(gaps):
        gaps = gaps[~gaps["binding"].fillna("").astype(str).isin(addressed)]
    if len(gaps):
        if "explanation" not in gaps.columns:
            gaps = gaps.assign(explanation="")
        grouped = (
            gaps.assign(binding=gaps["binding"].fillna("").replace("", NO_CONSTRAINT))
            .groupby("binding", sort=False)
            .agg(qty_short=("qty_short", "sum"), revenue_at_risk=("revenue_at_risk", "sum"),
                 n_skus=("sku", "nunique"), first=("period", "min"), last=("period", "max"),
                 explanation=("explanation", "first"))
            .sort_values("revenue_at_risk", ascending=False)
            .head(max_gap_decisions)
        )
        for binding, gap in grouped.iterrows():
            months = fmt_month(gap["first"])
            if gap["last"] != gap["first"]:
                months += f" to {fmt_month(gap['last'])}"
            if binding == NO_CONSTRAINT:  # master data or priority: say what the plan says
                why = str(gap["explanation"]).split(": ", 1)[-1]
                rows.append({
                    "decision": "Close or accept the gaps no capacity limit explains",
                    "context": (f"{gap['qty_short']:,.0f} units short on {gap['n_skus']} "
                                f"SKU(s), {gap['revenue_at_risk']:,.0f} revenue at risk, "
                                f"{months}"),
                    "options": "act on the supply review's explanation; accept the shortfall",
                    "recommendation": "act on the explanation",
                    "reason": why,
                })
                continue
            rows.append({
                "decision": f"Close or accept the gap behind: {binding}",
                "context": (f"{gap['qty_short']:,.0f} units short on {gap['n_skus']} SKU(s), "
                            f"{gap['revenue_at_risk']:,.0f} revenue at risk, {months}"),
                "options": "accept the shortfall; add capacity (shift, overtime beyond limit, "
                           "second source); re-allocate to higher-margin or tier-1 items",
                "recommendation": "add capacity" if gap["revenue_at_risk"] > 0 else "accept",
                "reason": "the plan already uses every allowed option; only a decision "
                          "beyond the current limits closes this gap",
            })
    return pd.DataFrame(rows, columns=["decision", "context", "options", "recommendation",
                                       "reason"])


SHOCK_COLUMNS = ["shock", "description", "revenue", "delta_revenue", "delta_contribution",
                 "fill_rate", "revenue_at_risk", "delta_revenue_at_risk", "overtime_hours"]


def shocks(ranked_scenarios: pd.DataFrame) -> pd.DataFrame:
    """What could happen to the plan: the reconciliation's shocks against the Baseline.

    The shocks (``kind == "shock"``: a downturn, a supplier outage) are never
    recommended, so the decisions do not carry them; an executive review
    needs them all the same, to see what the plan of record is exposed to.

    Returns
    -------
    DataFrame
        :data:`SHOCK_COLUMNS` (``description`` only when a shock has one), the
        costliest shock (lowest contribution against the Baseline) first;
        ``delta_*`` are the shock's figure less the Baseline's. Empty without
        shocks or without a Baseline row.
    """
    from sopkit.scenarios import BASELINE

    if ranked_scenarios is None or ranked_scenarios.empty or "kind" not in ranked_scenarios:
        return pd.DataFrame(columns=SHOCK_COLUMNS)
    base = ranked_scenarios[ranked_scenarios["scenario"].astype(str) == BASELINE]
    rows = ranked_scenarios[ranked_scenarios["kind"].astype(str) == "shock"]
    if base.empty or rows.empty:
        return pd.DataFrame(columns=SHOCK_COLUMNS)
    base = base.iloc[0]
    out = pd.DataFrame({
        "shock": rows["scenario"].astype(str),
        "description": rows["description"].fillna("").astype(str)
        if "description" in rows.columns else "",
        "revenue": rows["revenue"].astype(float),
        "delta_revenue": rows["revenue"].astype(float) - float(base["revenue"]),
        "delta_contribution": rows["contribution"].astype(float) - float(base["contribution"]),
        "fill_rate": rows["fill_rate"].astype(float),
        "revenue_at_risk": rows["revenue_at_risk"].astype(float),
        "delta_revenue_at_risk": (rows["revenue_at_risk"].astype(float)
                                  - float(base["revenue_at_risk"])),
        "overtime_hours": rows["overtime_hours"].astype(float),
    })
    if not out["description"].str.strip().astype(bool).any():
        out = out.drop(columns=["description"])  # none of the shocks is described
    return out.sort_values("delta_contribution", kind="stable", ignore_index=True)


def top_risks(
    gaps: pd.DataFrame,
    plan: pd.DataFrame,
    products: pd.DataFrame,
    *,
    n: int = 5,
) -> pd.DataFrame:
    """The largest risks: revenue at risk by SKU and stock written off as expired.

    A product being launched (``lifecycle_status`` ``npi``) that the plan
    cannot serve is a risk to the launch itself, whatever its value: it is
    listed as a ``launch shortfall`` with the share of its launch demand
    short, and always shown, beyond the ``n`` largest if need be.

    Returns
    -------
    DataFrame
        ``risk, sku, family, value, detail`` sorted by value: the ``n``
        largest, and every launch shortfall.
    """
    from sopkit.supply import gaps_by_sku

    names = products.set_index("sku")["family"]
    status = (products.set_index("sku")["lifecycle_status"].astype("string").str.lower()
              if "lifecycle_status" in products.columns else pd.Series(dtype="string"))
    launches = set(status[status == "npi"].index.astype(str))
    demand = plan.groupby("sku")["qty_demand"].sum() if "qty_demand" in plan.columns else None
    rows = []
    # the value sums every month of a SKU's gap, and so do the words (gaps_by_sku)
    for gap in gaps_by_sku(gaps).itertuples():
        launch = str(gap.sku) in launches
        detail = str(gap.explanation)
        if launch and demand is not None and demand.get(gap.sku, 0) > 0:
            short = float(gaps.loc[gaps["sku"] == gap.sku, "qty_short"].sum())
            detail = (f"launch: {short:,.0f} of its {demand[gap.sku]:,.0f} units of demand "
                      f"short ({short / demand[gap.sku]:.0%}). {detail}")
        rows.append({"risk": "launch shortfall" if launch else "shortfall", "sku": gap.sku,
                     "family": names.get(gap.sku, ""), "value": float(gap.revenue_at_risk),
                     "detail": detail})
    if "qty_written_off" in plan.columns:
        cost = products.set_index("sku")["unit_cost"]
        waste = plan[plan["qty_written_off"] > 0].groupby("sku")["qty_written_off"].sum()
        for sku, qty in waste.items():
            rows.append({"risk": "expiry write-off", "sku": sku, "family": names.get(sku, ""),
                         "value": float(qty * cost.get(sku, 0.0)),
                         "detail": f"{qty:,.0f} units expire unsold over the horizon"})
    frame = pd.DataFrame(rows, columns=["risk", "sku", "family", "value", "detail"])
    frame = frame.sort_values("value", ascending=False, kind="stable").reset_index(drop=True)
    keep = (frame.index < n) | (frame["risk"] == "launch shortfall")
    return frame[keep].reset_index(drop=True)


def locked_horizon(plan: pd.DataFrame, products: pd.DataFrame, *, cycle, months: int = 3
                   ) -> pd.DataFrame:
    """Demand, supply and shortfall by family for the first ``months`` of the plan.

    Returns
    -------
    DataFrame
        ``family, period, qty_demand, qty_supply, qty_served, qty_short``.
    """
    start = pd.Timestamp(cycle)
    end = add_months(start, months - 1)
    window = plan[(plan["period"] >= start) & (plan["period"] <= end)]
    window = window.merge(products[["sku", "family"]], on="sku", how="left")
    return (window.groupby(["family", "period"], as_index=False)
            [["qty_demand", "qty_supply", "qty_served", "qty_short"]].sum())


def locked_brief(locked: pd.DataFrame) -> pd.DataFrame:
    """The locked horizon in a few lines: each month's total, then the families left short.

    ``locked`` as :func:`locked_horizon` returns it.
    """
    columns = ["family", "period", "qty_demand", "qty_supply", "qty_served", "qty_short"]
    if locked.empty:
        return pd.DataFrame(columns=columns)
    total = locked.groupby("period", as_index=False)[columns[2:]].sum().assign(
        family="all families")
    short = locked[locked["qty_short"] > 0]
    return pd.concat([total[columns], short[columns]], ignore_index=True)


def summary_html(card: pd.DataFrame, decision_table: pd.DataFrame, *,
                 risks: pd.DataFrame | None = None, locked: pd.DataFrame | None = None,
                 outlook: pd.DataFrame | None = None, n_risks: int = 5,
                 shock_table: pd.DataFrame | None = None) -> str:
    """An escaped HTML fragment for the cycle index: the executive review on one page.

    Status tiles of the scorecard, the decisions requested with their
    recommendation, and when given: the ``n_risks`` largest risks
    (:func:`top_risks`), the locked horizon in brief (:func:`locked_brief` of
    :func:`locked_horizon`) and the 24-month capacity outlook
    (``capacity_flags``: ``resource_family, status, decide_by, explanation``),
    and what the shocks would do to the plan (:func:`shocks`).
    """
    from sopkit.display import kpi_tiles, show_table

    def tile_text(row) -> str:
        note = str(getattr(row, "note", "") or "")
        if pd.isna(row.value) and note:
            return note.split(":")[0]  # "no production data", not the whole sentence
        return format_kpi(row.kpi, row.value)

    tiles = {f"{KPI_LABELS.get(row.kpi, row.kpi)} · {row.status}": tile_text(row)
             for row in card.itertuples(index=False)}
    parts = [kpi_tiles(tiles, caption="Scorecard").html]
    if len(decision_table):
        parts.append(show_table(decision_table[["decision", "recommendation", "reason"]],
                                caption="Decisions requested").html)
    if risks is not None and len(risks):
        parts.append(show_table(risks.head(n_risks), caption="Top risks").html)
    if shock_table is not None and len(shock_table):
        parts.append(show_table(shock_table.drop(columns=["description"], errors="ignore"),
                                caption="What could happen: the shocks priced against the "
                                "plan").html)
    if locked is not None and len(locked):
        parts.append(show_table(locked_brief(locked), caption="Locked horizon: each month's "
                                "total and the families left short (units)").html)
    if outlook is not None and len(outlook):
        columns = [c for c in ("resource_family", "status", "decide_by", "explanation")
                   if c in outlook.columns]
        parts.append(show_table(outlook[columns], caption="24-month capacity outlook").html)
    return "\n".join(parts)
