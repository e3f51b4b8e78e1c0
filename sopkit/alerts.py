"""Demand alerts: the exceptions worth a conversation in the demand review.

A demand review has no time to look at 300 SKUs. These functions pick the few
that deserve the meeting's attention, each with the number that makes the
case:

* :func:`history_outliers` — months whose demand is far outside the SKU's
  usual range (a data error, a one-off project, a stock-out catch-up) and that
  may distort its forecast;
* :func:`changes_vs_last_cycle` — SKUs whose plan moved most since the last
  cycle's archived forecast (who changed what, and why?);
* :func:`worse_than_naive` — SKUs whose archived statistical forecast did
  worse than simply repeating last month (the model is not earning its keep);
* :func:`outsized_deals` — open deals bigger than anything the SKU has sold in
  a month: the model calibrates probabilities by stage and owner, not by
  size, so one such deal can carry a SKU's plan and deserves a question;
* :func:`planned_at_zero` — SKUs that sold in the last year but whose plan for
  the next months rounds to zero (the statistics chose ``zero`` on a quiet
  backtest, or a moving average of silent months): right for a part that has
  gone quiet, wrong for one that will be ordered again — a planner's call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sopkit.errors import whole_number
from sopkit.periods import add_months

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation


def history_outliers(actuals: pd.DataFrame, *, end, months: int = 24, threshold: float = 5.0,
                     min_points: int = 6) -> pd.DataFrame:
    """Months of demand far outside each SKU's usual range.

    A month is an outlier when ``(qty − median) / (1.4826 · MAD) > threshold``,
    with median and MAD (median absolute deviation) of the SKU's non-zero
    months in the window: robust statistics, so the outlier itself does not
    widen the yardstick. Only upward outliers are flagged (a zero month is not
    an outlier for intermittent demand). SKUs with fewer than ``min_points``
    non-zero months, or a MAD of zero, are skipped.

    Returns
    -------
    DataFrame
        ``sku, period, qty, median, score`` sorted by ``score`` descending.
    """
    end = pd.Timestamp(end)
    start = add_months(end, -(months - 1))
    window = actuals[(actuals["period"] >= start) & (actuals["period"] <= end)
                     & (actuals["qty"] > 0)]
    columns = ["sku", "period", "qty", "median", "score"]
    if window.empty:
        return pd.DataFrame(columns=columns)
    grouped = window.groupby("sku")["qty"]
    median = grouped.transform("median")
    mad = (window["qty"] - median).abs().groupby(window["sku"]).transform("median")
    count = grouped.transform("size")
    scale = MAD_TO_SIGMA * mad
    score = (window["qty"] - median) / scale.where(scale > 0)
    flagged = window.assign(median=median, score=score)[
        (count >= min_points) & (score > threshold)]
    return flagged[columns].sort_values("score", ascending=False, ignore_index=True)


LAYERS = {"statistics": ("qty_stat", None), "pipeline": ("qty_with_pipeline", "qty_stat"),
          "adjustments": ("qty_with_adjustments", "qty_with_pipeline"),
          "promotions": ("qty_consensus", "qty_with_adjustments")}
"""The consensus's layers as the archive keeps them (cumulative columns, :mod:`sopkit.archive`):
each layer is its column less the one before. The statistics include the life cycle (launch
curves, phase-out fades and caps) and the announced share the pipeline replaces."""


def _layers(plan: pd.DataFrame) -> pd.DataFrame:
    """The archive's cumulative columns of a demand plan (as :func:`sopkit.archive.snapshot`)."""
    out = plan.copy()
    if "qty_with_pipeline" not in out.columns:
        out["qty_with_pipeline"] = (out["qty_stat_unannounced"] + out["qty_pipeline"]
                                    if {"qty_stat_unannounced", "qty_pipeline"} <= set(out)
                                    else out.get("qty_stat", 0.0))
    if "qty_with_adjustments" not in out.columns:
        out["qty_with_adjustments"] = out["qty_with_pipeline"] + out.get("qty_adjustment", 0.0)
    return out


def changes_vs_last_cycle(demand_plan: pd.DataFrame, previous: pd.DataFrame, *,
                          measure: str = "qty_consensus", n: int = 10,
                          products: pd.DataFrame | None = None,
                          pipeline_changes: pd.DataFrame | None = None) -> pd.DataFrame:
    """SKUs whose plan moved most against the previous cycle's archived forecast, and why.

    Compares the months both forecasts cover. With the consensus's layers in
    both (the archive keeps them), the change is split by layer:
    the statistics (life cycle included), the pipeline (net of the announced
    share it replaces), the adjustments, the promotions (:data:`LAYERS`); ``cause``
    names the layers that moved it, largest first.

    Parameters
    ----------
    demand_plan : DataFrame
        This cycle's plan (``sku, period`` and ``measure``; its layers
        ``qty_stat, qty_stat_unannounced, qty_pipeline, qty_adjustment``).
    previous : DataFrame
        The previous cycle's archive snapshot (:mod:`sopkit.archive`).
    pipeline_changes : DataFrame, optional
        :func:`pipeline_changes`: the cause of a pipeline move names the
        SKU's largest deal change (a deal dropped, slipped, won...).

    Returns
    -------
    DataFrame
        ``sku, [family], qty_previous, qty_now, change, change_pct`` over the
        common months, the ``n`` largest absolute changes; with the layers,
        also ``from_statistics, from_pipeline, from_adjustments,
        from_promotions`` (they add up to ``change``) and ``cause``.
    """
    columns = ["sku", "qty_previous", "qty_now", "change", "change_pct"]
    if previous.empty or demand_plan.empty:
        return pd.DataFrame(columns=columns)
    common = set(previous["period"]) & set(demand_plan["period"])
    now_rows = demand_plan[demand_plan["period"].isin(common)]
    before_rows = previous[previous["period"].isin(common)]
    now = now_rows.groupby("sku")[measure].sum()
    before = before_rows.groupby("sku")[measure].sum()
    frame = pd.DataFrame({"qty_previous": before, "qty_now": now}).fillna(0.0)
    frame["change"] = frame["qty_now"] - frame["qty_previous"]
    frame["change_pct"] = frame["change"] / frame["qty_previous"].where(frame["qty_previous"] > 0)
    layered = (measure == "qty_consensus" and "qty_stat" in demand_plan.columns
               and {c for c, _ in LAYERS.values()} <= set(previous.columns))
    if layered:
        mine, theirs = _layers(now_rows), _layers(before_rows)
        for name, (column, below) in LAYERS.items():
            key = f"from_{name}"

            def part(rows, column=column, below=below):
                value = rows[column] - (rows[below] if below else 0.0)
                return value.groupby(rows["sku"]).sum()

            frame[key] = (part(mine).reindex(frame.index).fillna(0.0) - part(theirs).reindex(
                frame.index).fillna(0.0)).round(3)
    frame = frame.reindex(frame["change"].abs().sort_values(ascending=False, kind="stable")
                          .index[:n])
    frame = frame[frame["change"] != 0].rename_axis("sku").reset_index()
    extra = []
    if layered:
        extra = [c for c in frame.columns if c.startswith("from_")]
        frame["cause"] = [_cause(row, extra, pipeline_changes) for row in frame.itertuples()]
        extra.append("cause")
    if products is not None:
        frame = frame.merge(products[["sku", "family"]], on="sku", how="left")
        return frame[["sku", "family", *columns[1:], *extra]]
    return frame[[*columns, *extra]]


def _cause(row, parts: list[str], deals: pd.DataFrame | None) -> str:
    """The layers that moved a SKU's plan, largest first, with its biggest deal change."""
    moves = sorted(((getattr(row, p), p.removeprefix("from_").replace("_", " "))
                    for p in parts), key=lambda m: -abs(m[0]))
    total = abs(row.change) or 1.0
    named = []
    for value, name in moves:
        if abs(value) < 0.1 * total and named:
            break
        text = f"{name} {value:+,.0f}"
        if name == "pipeline" and deals is not None and len(deals):
            own = deals[deals["sku"].astype(str) == str(row.sku)]
            if len(own):
                top = own.iloc[own["expected_change"].abs().to_numpy().argmax()]
                text += f" ({top['deal_id']} {top['change']})"
        named.append(text)
    return "; ".join(named)


def pipeline_changes(pipeline: pd.DataFrame, *, cycle, n: int | None = None,
                     actuals: pd.DataFrame | None = None) -> pd.DataFrame:
    """What changed in the pipeline since the snapshot before: deals won, lost, dropped,
    slipped, pulled in, re-rated or resized, and new ones.

    The latest snapshot on or before ``cycle`` (the one the plan uses) against
    the one before it, deal by deal (``deal_id, sku``), at the probabilities
    as stated (the plan calibrates them). A deal of the earlier snapshot
    missing from the latest without a recorded ``outcome`` is *dropped*: the
    model infers an outcome for it, and the sales owner should say which;
    one whose month is the latest snapshot's or earlier has simply *come due*
    (with ``actuals``, the change says what its SKU sold that month).

    Returns
    -------
    DataFrame
        ``deal_id, sku, owner, change`` (in words), ``period_before,
        period_now, qty_before, qty_now, probability_before, probability_now,
        expected_before, expected_now`` (qty × probability; 0 once closed or
        dropped) and ``expected_change``, the largest ``|expected_change|``
        first (all, or the first ``n``). Empty with fewer than two snapshots.
    """
    columns = ["deal_id", "sku", "owner", "change", "period_before", "period_now", "qty_before",
               "qty_now", "probability_before", "probability_now", "expected_before",
               "expected_now", "expected_change"]
    if pipeline is None or pipeline.empty:
        return pd.DataFrame(columns=columns)
    frame = pipeline[pipeline["snapshot"] <= pd.Timestamp(cycle)] if cycle is not None \
        else pipeline
    snapshots = sorted(frame["snapshot"].dropna().unique())
    if len(snapshots) < 2:
        return pd.DataFrame(columns=columns)
    keys = ["deal_id", "sku"]

    def one(snapshot) -> pd.DataFrame:
        rows = frame[frame["snapshot"] == snapshot].copy()
        rows["outcome"] = (rows["outcome"].astype("string").str.strip().str.lower()
                           if "outcome" in rows.columns else pd.NA)
        rows["owner"] = rows["owner"] if "owner" in rows.columns else pd.NA
        return rows.groupby(keys, as_index=False, observed=True).agg(
            period=("period", "min"), qty=("qty", "sum"), probability=("probability", "max"),
            owner=("owner", "first"), outcome=("outcome", "first"))

    before, now = one(snapshots[-2]), one(snapshots[-1])
    before = before[before["outcome"].isna()]  # deals open then
    both = before.merge(now, on=keys, how="outer", suffixes=("_before", "_now"),
                        indicator="side")
    both["owner"] = both["owner_now"].fillna(both["owner_before"])
    open_now = both["outcome_now"].isna() & both["side"].ne("left_only")
    both["expected_before"] = (both["qty_before"] * both["probability_before"]).fillna(0.0)
    both["expected_now"] = (both["qty_now"] * both["probability_now"]).where(open_now, 0.0)
    both["expected_now"] = both["expected_now"].fillna(0.0)
    both["expected_change"] = both["expected_now"] - both["expected_before"]
    latest = pd.Timestamp(snapshots[-1])
    sold = (actuals.groupby(["sku", "period"])["qty"].sum() if actuals is not None
            and len(actuals) else pd.Series(dtype=float))
    both["change"] = [_deal_change(row, latest, sold) for row in both.itertuples()]
    both = both[both["change"] != ""]
    order = both["expected_change"].abs().sort_values(ascending=False, kind="stable").index
    out = both.loc[order, columns].reset_index(drop=True)
    return out if n is None else out.head(n)


def _deal_change(row, latest: pd.Timestamp, sold: pd.Series) -> str:
    if row.side == "left_only":
        if pd.notna(row.period_before) and row.period_before <= latest:
            key = (str(row.sku), row.period_before)
            done = (f"; {row.sku} sold {sold[key]:,.0f} in {row.period_before:%Y-%m}"
                    if key in sold.index else "")
            return f"came due (its month closed), no outcome recorded{done}"
        return "dropped, no outcome recorded"
    if row.side == "right_only":
        return "" if pd.notna(row.outcome_now) else "new"
    if pd.notna(row.outcome_now):
        return str(row.outcome_now)
    parts = []
    moved = (row.period_now.year - row.period_before.year) * 12 + (
        row.period_now.month - row.period_before.month)
    if moved:
        parts.append(f"slipped {moved} month(s)" if moved > 0 else
                     f"pulled in {-moved} month(s)")
    if abs(row.probability_now - row.probability_before) > 1e-9:
        parts.append(f"probability {row.probability_before:.0%} → {row.probability_now:.0%}")
    if abs(row.qty_now - row.qty_before) > 1e-9:
        parts.append(f"qty {row.qty_before:,.0f} → {row.qty_now:,.0f}")
    return ", ".join(parts)


def worse_than_naive(archive: pd.DataFrame, actuals: pd.DataFrame, *, lag: int = 1,
                     min_points: int = 3) -> pd.DataFrame:
    """SKUs whose archived statistical forecast lost to the naive forecast.

    Per SKU over the archived months with actuals at ``lag``: MAE of the
    statistical and of the naive forecast. Listed when the statistical MAE is
    larger, with at least ``min_points`` scored months.

    Returns
    -------
    DataFrame
        ``sku, n_points, mae_naive, mae_stat, excess`` (``mae_stat −
        mae_naive``, units a month), largest excess first: a model that is
        off by 0.1 unit where naive was exact is not worth a meeting's time.
    """
    columns = ["sku", "n_points", "mae_naive", "mae_stat", "excess"]
    if archive.empty or actuals.empty:
        return pd.DataFrame(columns=columns)
    last = actuals["period"].max()
    rows = archive[(archive["lag"] == lag) & (archive["period"] <= last)]
    demand = actuals.groupby(["sku", "period"], as_index=False)["qty"].sum()
    rows = rows.merge(demand.astype({"sku": "string"}), on=["sku", "period"], how="left")
    rows["qty"] = rows["qty"].fillna(0.0)
    per_sku = rows.assign(err_naive=(rows["qty_naive"] - rows["qty"]).abs(),
                          err_stat=(rows["qty_stat"] - rows["qty"]).abs()).groupby("sku").agg(
        n_points=("qty", "size"), mae_naive=("err_naive", "mean"), mae_stat=("err_stat", "mean"))
    per_sku = per_sku[(per_sku["n_points"] >= min_points)
                      & (per_sku["mae_stat"] > per_sku["mae_naive"])]
    per_sku = per_sku.assign(excess=per_sku["mae_stat"] - per_sku["mae_naive"])
    return per_sku.sort_values("excess", ascending=False, kind="stable").reset_index()[columns]


def outsized_deals(open_deals: pd.DataFrame, actuals: pd.DataFrame, *, end,
                   months: int = 24, ratio: float = 2.0) -> pd.DataFrame:
    """Open deal lines far larger than any month the SKU has sold.

    A line is listed when its quantity is at least ``ratio`` times the SKU's
    largest month of demand in the ``months`` months up to ``end`` (or the SKU
    sold nothing then). The lumpy-demand model trusts a deal by its stage and
    owner's track record, whatever its size; history only rarely holds deals
    many times a SKU's usual order, so whether such a deal is real, and when,
    is a question for the review, not for the calibration.

    Parameters
    ----------
    open_deals : DataFrame
        :attr:`sopkit.lumpy.LumpyDemandModel.open_deals_` after ``predict``:
        ``deal_id, sku, owner, period, qty, probability,
        probability_calibrated, qty_expected``.
    actuals : DataFrame
        ``sku, period, qty``.

    Returns
    -------
    DataFrame
        ``deal_id, sku, owner, period, qty, probability,
        probability_calibrated, qty_expected, qty_max_month, qty_last_12m,
        times_max_month`` (``inf`` when the SKU sold nothing in the window),
        largest ``qty_expected`` (the quantity the line puts into the plan)
        first.
    """
    columns = ["deal_id", "sku", "owner", "period", "qty", "probability",
               "probability_calibrated", "qty_expected", "qty_max_month", "qty_last_12m",
               "times_max_month"]
    if open_deals is None or open_deals.empty:
        return pd.DataFrame(columns=columns)
    end = pd.Timestamp(end)
    window = actuals[(actuals["period"] > add_months(end, -months)) & (actuals["period"] <= end)]
    monthly = window.groupby(["sku", "period"], observed=True)["qty"].sum()
    largest = monthly.groupby(level="sku", observed=True).max()
    year = monthly[monthly.index.get_level_values("period") > add_months(end, -12)].groupby(
        level="sku", observed=True).sum()
    skus = open_deals["sku"].astype(str)
    lines = open_deals.assign(
        qty_max_month=largest.rename(index=str).reindex(skus).fillna(0.0).to_numpy(float),
        qty_last_12m=year.rename(index=str).reindex(skus).fillna(0.0).to_numpy(float))
    with np.errstate(divide="ignore"):
        lines["times_max_month"] = np.where(lines["qty_max_month"] > 0,
                                            lines["qty"] / lines["qty_max_month"].where(
                                                lines["qty_max_month"] > 0, 1.0), np.inf)
    flagged = lines[(lines["qty"] > 0) & (lines["times_max_month"] >= ratio)]
    return flagged[columns].sort_values(["qty_expected", "qty"], ascending=False,
                                        kind="stable", ignore_index=True)


def planned_at_zero(demand_plan: pd.DataFrame, actuals: pd.DataFrame, *, end,
                    months: int = 3, recent: int = 12, below: float = 0.5,
                    products: pd.DataFrame | None = None) -> pd.DataFrame:
    """SKUs that sold recently but whose plan for the next months is (about) zero.

    A SKU is listed when its consensus over the first ``months`` plan months
    adds up to less than ``below`` units while it had demand in the ``recent``
    months up to ``end``. Discontinued products (model ``eol``, zeroed by the
    product review) are left out: their zero is a decision already taken.

    Parameters
    ----------
    demand_plan : DataFrame
        The consensus plan: ``sku, period, qty_consensus, model``; ``qty_q90``
        if present.
    actuals : DataFrame
        ``sku, period, qty``.
    end : period-like
        Last month of history.
    products : DataFrame, optional
        ``sku, price``: the list is then ranked by what the demand was worth
        (``revenue_last_12m``), not by units: twelve project systems weigh
        more than three hundred gaskets.

    Returns
    -------
    DataFrame
        ``sku, model, qty_last_12m`` (demand in the ``recent`` months; the
        name keeps the default), ``revenue_last_12m`` (with ``products``:
        that demand at list price), ``months_with_demand, last_demand``
        (month of the latest demand), ``qty_plan`` (consensus over the first
        ``months`` plan months), ``qty_q90_max`` (the highest monthly 90 %
        quantile of those months: what the band still allows; NaN without
        ``qty_q90``), largest ``revenue_last_12m`` (else ``qty_last_12m``)
        first.
    """
    priced = products is not None and "price" in products.columns
    columns = ["sku", "model", "qty_last_12m", *(["revenue_last_12m"] if priced else []),
               "months_with_demand", "last_demand", "qty_plan", "qty_q90_max"]
    months = whole_number("planned_at_zero: months", months)
    recent = whole_number("planned_at_zero: recent", recent)
    if demand_plan.empty or actuals.empty:
        return pd.DataFrame(columns=columns)
    end = pd.Timestamp(end)
    first = demand_plan["period"].min()
    head = demand_plan[demand_plan["period"] < add_months(first, months)]
    has_band = "qty_q90" in head.columns
    plan = head.groupby("sku", observed=True).agg(
        model=("model", "first"), qty_plan=("qty_consensus", "sum"),
        qty_q90_max=("qty_q90" if has_band else "qty_consensus", "max"))
    if not has_band:
        plan["qty_q90_max"] = np.nan
    window = actuals[(actuals["period"] > add_months(end, -recent)) & (actuals["period"] <= end)]
    monthly = window.groupby(["sku", "period"], observed=True)["qty"].sum()
    monthly = monthly[monthly > 0].reset_index()
    sold = monthly.groupby("sku", observed=True).agg(
        qty_last_12m=("qty", "sum"), months_with_demand=("qty", "size"),
        last_demand=("period", "max"))
    sold.index = sold.index.astype(str)
    plan.index = plan.index.astype(str)
    rows = plan.join(sold, how="inner")
    rows = rows[(rows["qty_plan"] < below) & (rows["model"].astype(str) != "eol")]
    rows = rows.rename_axis("sku").reset_index()
    rows["months_with_demand"] = rows["months_with_demand"].astype("int64")
    key = "qty_last_12m"
    if priced:
        master = products.drop_duplicates("sku")
        price = pd.Series(pd.to_numeric(master["price"], errors="coerce").to_numpy(),
                          index=master["sku"].astype(str))
        rows["revenue_last_12m"] = rows["qty_last_12m"] * rows["sku"].map(price).to_numpy()
        key = "revenue_last_12m"
    return rows[columns].sort_values([key, "sku"], ascending=[False, True], kind="stable",
                                     na_position="last", ignore_index=True)


def sku_view(actuals: pd.DataFrame, demand_plan: pd.DataFrame, sku: str, *,
             months_back: int = 24, low: str = "qty_q10", high: str = "qty_q90") -> pd.DataFrame:
    """One SKU's history and plan on one time axis, for a chart.

    Returns
    -------
    DataFrame
        ``period, qty_actual, qty_stat, qty_consensus, <low>, <high>`` (NaN
        where a measure does not apply).
    """
    plan = demand_plan[demand_plan["sku"] == sku]
    keep = [c for c in ("qty_stat", "qty_consensus", low, high) if c in plan.columns]
    plan = plan[["period", *keep]]
    history = actuals[actuals["sku"] == sku][["period", "qty"]].rename(
        columns={"qty": "qty_actual"})
    if len(plan):
        start = add_months(plan["period"].min(), -months_back)
        history = history[(history["period"] >= start) & (history["period"] < plan["period"].min())]
    frame = pd.concat([history, plan], ignore_index=True)
    for column in ("qty_actual", *keep):
        if column not in frame.columns:
            frame[column] = np.nan
    return frame[["period", "qty_actual", *keep]].sort_values("period", ignore_index=True)


def default_focus_sku(demand_plan: pd.DataFrame, products: pd.DataFrame) -> str:
    """The SKU with the largest consensus revenue over the plan (for the SKU chart)."""
    price = products.set_index("sku")["price"]
    revenue = demand_plan.groupby("sku")["qty_consensus"].sum() * price.reindex(
        demand_plan["sku"].unique()).fillna(0.0)
    return str(revenue.idxmax())
