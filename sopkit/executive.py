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
    "data_quality_score": "Data-quality score",
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
    "data_quality_score": "{:.1f}",
}


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
        ``kpi, value, target, better, status`` as text.
    """
    better = {"higher": "higher", "lower": "lower", "closer": "closer to target"}
    return pd.DataFrame({
        "kpi": [KPI_LABELS.get(k, k) for k in card["kpi"]],
        "value": [format_kpi(k, v) for k, v in zip(card["kpi"], card["value"], strict=True)],
        "target": [format_kpi(k, v) for k, v in zip(card["kpi"], card["target"], strict=True)],
        "better": [better.get(str(d), "" if pd.isna(d) else str(d)) for d in card["direction"]],
        "status": card["status"].astype(str).tolist(),
    })


def kpi_values(
    *,
    accuracy: pd.DataFrame | None,
    plan: pd.DataFrame,
    products: pd.DataFrame,
    resource_load: pd.DataFrame,
    financials: pd.DataFrame,
    findings: pd.DataFrame,
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

    Returns
    -------
    dict
        ``forecast_wape_lag1``, ``forecast_wape_lag3``, ``forecast_bias``,
        ``fill_rate``, ``tier1_fill_rate``, ``utilisation``, ``inventory_turns``,
        ``days_of_supply``, ``data_quality_score``; NaN where there is no data.
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
    values["data_quality_score"] = float(quality_score(findings, n_skus=len(products)))
    return values


def decisions(
    gaps: pd.DataFrame,
    ranked_scenarios: pd.DataFrame,
    *,
    max_gap_decisions: int = 3,
) -> pd.DataFrame:
    """The decisions the executive meeting is asked to take.

    The first decision is always which scenario becomes the plan of record:
    its options are the scenarios the reconciliation ranked, its recommendation
    the top-ranked one with the rubric's reason. Then one decision per binding
    constraint behind the largest revenue at risk (how to close or accept that gap).

    Parameters
    ----------
    gaps : DataFrame
        ``sku, period, qty_short, revenue_at_risk, binding, explanation``.
    ranked_scenarios : DataFrame
        :func:`sopkit.scenarios.rank_scenarios` output (``scenario, rank, reason``).

    Returns
    -------
    DataFrame
        ``decision, context, options, recommendation, reason``.
    """
    rows = []
    ranked = ranked_scenarios.dropna(subset=["rank"]).sort_values("rank", kind="stable")
    if len(ranked):
        best = ranked.iloc[0]
        rows.append({
            "decision": "Which plan becomes the plan of record",
            "context": f"{len(ranked)} options priced in the reconciliation",
            "options": "; ".join(ranked["scenario"].astype(str)),
            "recommendation": str(best["scenario"]),
            "reason": str(best.get("reason", "")),
        })
    if len(gaps):
        grouped = (
            gaps.assign(binding=gaps["binding"].fillna("").replace("", "priority allocation"))
            .groupby("binding", sort=False)
            .agg(qty_short=("qty_short", "sum"), revenue_at_risk=("revenue_at_risk", "sum"),
                 n_skus=("sku", "nunique"), first=("period", "min"), last=("period", "max"))
            .sort_values("revenue_at_risk", ascending=False)
            .head(max_gap_decisions)
        )
        for binding, gap in grouped.iterrows():
            months = fmt_month(gap["first"])
            if gap["last"] != gap["first"]:
                months += f" to {fmt_month(gap['last'])}"
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


def top_risks(
    gaps: pd.DataFrame,
    plan: pd.DataFrame,
    products: pd.DataFrame,
    *,
    n: int = 5,
) -> pd.DataFrame:
    """The largest risks: revenue at risk by SKU and stock written off as expired.

    Returns
    -------
    DataFrame
        ``risk, sku, family, value, detail`` sorted by value, at most ``n`` rows.
    """
    names = products.set_index("sku")["family"]
    rows = []
    if len(gaps):
        per_sku = gaps.groupby("sku").agg(revenue_at_risk=("revenue_at_risk", "sum"),
                                          qty_short=("qty_short", "sum"),
                                          explanation=("explanation", "first"))
        for sku, gap in per_sku.iterrows():
            rows.append({"risk": "shortfall", "sku": sku, "family": names.get(sku, ""),
                         "value": float(gap["revenue_at_risk"]), "detail": gap["explanation"]})
    if "qty_written_off" in plan.columns:
        cost = products.set_index("sku")["unit_cost"]
        waste = plan[plan["qty_written_off"] > 0].groupby("sku")["qty_written_off"].sum()
        for sku, qty in waste.items():
            rows.append({"risk": "expiry write-off", "sku": sku, "family": names.get(sku, ""),
                         "value": float(qty * cost.get(sku, 0.0)),
                         "detail": f"{qty:,.0f} units expire unsold over the horizon"})
    frame = pd.DataFrame(rows, columns=["risk", "sku", "family", "value", "detail"])
    return frame.sort_values("value", ascending=False, kind="stable").head(n).reset_index(
        drop=True)


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


def summary_html(card: pd.DataFrame, decision_table: pd.DataFrame) -> str:
    """An escaped HTML fragment for the cycle index: status tiles and the decisions."""
    from sopkit.display import kpi_tiles, show_table

    tiles = {f"{KPI_LABELS.get(row.kpi, row.kpi)} · {row.status}": format_kpi(row.kpi, row.value)
             for row in card.itertuples(index=False)}
    parts = [kpi_tiles(tiles, caption="Scorecard").html]
    if len(decision_table):
        parts.append(show_table(decision_table[["decision", "recommendation", "reason"]],
                                caption="Decisions requested").html)
    return "\n".join(parts)
