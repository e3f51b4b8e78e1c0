"""The demand review's tables of the consensus plan: totals, changes, deals, audit.

The consensus itself is built by :class:`sopkit.lumpy.LumpyDemandModel`
(statistics less what the pipeline already holds, plus the calibrated open
deals, promotions and debiased adjustments). This module turns its output
and its fitted tables into what the demand review shows and keeps:

:func:`overview`
    Monthly totals of history and plan, for the company or per family.
:func:`horizon_summary`
    The same summed over months 1–3, 4–12 and 13–24 of the plan.
:func:`largest_changes`
    The SKU-months where the consensus departs most from the statistics,
    each with the model's explanation.
:func:`calibration_summary`
    Stated, realised and calibrated win probability of past deals per stage
    or owner.
:func:`calibration_curve` and :func:`plot_calibration`
    The same in bands of stated probability: how often deals stated at 40 %,
    70 %, 90 % were won, with an interval, against the model's curve.
:func:`deal_table`
    The open deals behind the plan, largest expected quantity first, with
    their notes as entered.
:func:`audit_trail`
    Every deal and adjustment the cycle used, as entered and as applied.
:func:`promotion_track_record`
    Past promotions: the lift stated against the lift the demand showed.
:func:`round_plan`
    The plan as it is handed on: quantities to a thousandth of a unit, so
    that every machine plans supply from the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from sopkit.errors import ParameterError, whole_number

PLAN_DECIMALS = 3  # quantities of the demand plan handed on: a thousandth of a unit
SHARE_DECIMALS = 6  # its announced share


def round_plan(demand_plan: pd.DataFrame, *, decimals: int = PLAN_DECIMALS) -> pd.DataFrame:
    """The demand plan as the cycle hands it on: every ``qty_*`` column to ``decimals``.

    The forecasts are sums and fits of floating-point numbers whose last bits
    depend on the processor (NumPy picks AVX2 or AVX-512 code at run time):
    on the sample company two machines' plans differed by up to 3e-8 units
    in 38 SKU-months — enough for the supply LP to pick another of its
    equally cheap plans (the scenarios' CO₂e moved by 2,272 kg) and for the
    plan of record's fingerprint to differ. Rounded to a thousandth of a unit
    before anything downstream reads it, the plan is the same everywhere
    unless a value lies within those 3e-8 of a rounding boundary.

    ``qty_consensus`` stays the sum of its rounded parts
    (``qty_stat_unannounced + qty_pipeline + qty_adjustment + qty_promo``,
    0 where that is negative) when the plan has them, so the demand review's
    tables still add up; ``announced_share`` keeps :data:`SHARE_DECIMALS`.

    Returns
    -------
    DataFrame
        A copy, same columns and rows.
    """
    decimals = whole_number("decimals", decimals, minimum=0)
    plan = demand_plan.copy()
    quantities = [c for c in plan.columns
                  if c.startswith("qty_") and pd.api.types.is_float_dtype(plan[c])]
    plan[quantities] = plan[quantities].round(decimals)
    parts = ["qty_stat_unannounced", "qty_pipeline", "qty_adjustment", "qty_promo"]
    if "qty_consensus" in plan.columns and set(parts) <= set(plan.columns):
        plan["qty_consensus"] = plan[parts].sum(axis=1).clip(lower=0.0).round(decimals)
    if "announced_share" in plan.columns:
        plan["announced_share"] = plan["announced_share"].astype(float).round(SHARE_DECIMALS)
    return plan


def overview(actuals: pd.DataFrame, demand_plan: pd.DataFrame, *,
             products: pd.DataFrame | None = None, by: str | None = None,
             history: bool = True, months_back: int = 24) -> pd.DataFrame:
    """Monthly totals of history and plan, for the demand review's charts and tables.

    Parameters
    ----------
    by : str, optional
        ``"family"`` to total per product family (needs ``products``).
    history : bool
        Include ``months_back`` months of actuals before the plan.

    Returns
    -------
    DataFrame
        ``[by], period, qty_actual`` (only with ``history``), ``qty_stat,
        qty_announced, qty_pipeline, qty_promo, qty_adjustment, qty_consensus``
        (NaN where a measure does not apply: no plan in history months, no
        actuals in plan months). ``qty_announced`` is the part of the
        statistics taken off because the pipeline used to announce it
        (``qty_stat − qty_stat_unannounced`` of the plan; 0 when the plan has
        no such column), so that ``qty_stat − qty_announced + qty_pipeline +
        qty_promo + qty_adjustment`` is the consensus, except where a SKU-month
        came out negative and the consensus holds 0 instead.
    """
    keys = [by] if by else []
    measures = ["qty_stat", "qty_announced", "qty_pipeline", "qty_promo", "qty_adjustment",
                "qty_consensus"]
    plan = demand_plan.assign(qty_announced=(
        demand_plan["qty_stat"] - demand_plan["qty_stat_unannounced"]
        if "qty_stat_unannounced" in demand_plan.columns else 0.0))
    hist = actuals
    if by:
        if products is None:
            raise ParameterError(f"overview by {by!r} needs the products table")
        lookup = products[["sku", by]]
        plan = plan.merge(lookup, on="sku", how="left")
        hist = hist.merge(lookup, on="sku", how="left")
    planned = plan.groupby([*keys, "period"], as_index=False)[measures].sum()
    parts = [planned]
    if history and not hist.empty:
        start = plan["period"].min() - pd.DateOffset(months=months_back)
        recent = hist[(hist["period"] >= start) & (hist["period"] < plan["period"].min())]
        parts.insert(0, recent.groupby([*keys, "period"], as_index=False)["qty"].sum()
                     .rename(columns={"qty": "qty_actual"}))
    frame = pd.concat(parts, ignore_index=True)
    if history and "qty_actual" not in frame.columns:
        frame["qty_actual"] = np.nan
    return frame[[*keys, "period", *(["qty_actual"] if history else []), *measures]].sort_values(
        [*keys, "period"], ignore_index=True)


HORIZON_BUCKETS = ((1, 3), (4, 12), (13, 24))  # months of the plan summed together


def horizon_summary(demand_plan: pd.DataFrame, *, products: pd.DataFrame | None = None,
                    by: str | None = "family",
                    buckets=HORIZON_BUCKETS) -> pd.DataFrame:
    """The consensus and its parts summed over spans of the horizon, per group.

    A family's 24 monthly rows are too many to read in a meeting; the sums
    over months 1–3 (what supply is committing to), 4–12 and 13–24 say the
    same with three rows, each adding up as in :func:`overview`.

    Parameters
    ----------
    by : str or None
        ``"family"`` (needs ``products``) or ``None`` for the company.
    buckets : sequence of (int, int)
        First and last month of each span, counted from 1 = the first month
        of the plan; spans past the plan's end are left out.

    Returns
    -------
    DataFrame
        ``[by], months`` (e.g. ``"1–3"``), ``first_period, last_period`` and
        the measures of :func:`overview` summed over the span.
    """
    spans = [(int(a), int(b)) for a, b in buckets]
    if any(a < 1 or b < a for a, b in spans):
        raise ParameterError(f"horizon buckets must be (first, last) months from 1, got {spans!r}")
    no_history = pd.DataFrame({"sku": pd.Series(dtype="string"),
                               "period": pd.Series(dtype="datetime64[ns]"),
                               "qty": pd.Series(dtype=float)})
    monthly = overview(no_history, demand_plan, products=products, by=by, history=False)
    keys = [by] if by else []
    measures = [c for c in monthly.columns if c.startswith("qty_")]
    periods = pd.DatetimeIndex(np.sort(monthly["period"].unique()))
    rows = []
    for a, b in spans:
        chosen = periods[a - 1:b]
        if len(chosen) == 0:
            continue
        part = monthly[monthly["period"].isin(chosen)]
        summed = part.groupby(keys, sort=True)[measures].sum().reset_index() if keys else (
            part[measures].sum().to_frame().T)
        end = a + len(chosen) - 1
        summed.insert(len(keys), "months", f"{a}–{end}" if end > a else f"{a}")
        summed.insert(len(keys) + 1, "first_period", chosen[0])
        summed.insert(len(keys) + 2, "last_period", chosen[-1])
        rows.append(summed)
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values([*keys, "first_period"], ignore_index=True, kind="stable")


def largest_changes(demand_plan: pd.DataFrame, explainer: Callable[[str, pd.Timestamp], str],
                    n: int = 10) -> pd.DataFrame:
    """The SKU-months where the consensus departs most from the statistical forecast.

    Parameters
    ----------
    demand_plan : DataFrame
        :meth:`sopkit.lumpy.LumpyDemandModel.predict` output.
    explainer : callable
        ``explainer(sku, period)`` → one sentence, e.g. the fitted model's
        :meth:`~sopkit.lumpy.LumpyDemandModel.explain`.
    n : int
        How many SKU-months.

    Returns
    -------
    DataFrame
        ``sku, period, qty_stat, qty_consensus, change``, then the change in
        its parts where the plan has them — ``by_netting`` (statistics taken
        off for the demand the pipeline announces: ``qty_stat_unannounced −
        qty_stat``), ``by_deals`` (``qty_pipeline``), ``by_adjustments``
        (``qty_adjustment``), ``by_promotions`` (``qty_promo``); they add up to
        ``change`` — and ``explanation``: the ``n`` largest absolute changes
        (ties in plan order; changes of 0 left out). The parts tell a model's
        netting from a person's judgement.
    """
    change = demand_plan["qty_consensus"] - demand_plan["qty_stat"]
    top = demand_plan.assign(change=change).reindex(
        change.abs().sort_values(ascending=False, kind="stable").index[:n])
    top = top[top["change"].abs() > 0]
    parts = {}
    if "qty_stat_unannounced" in top.columns:
        parts["by_netting"] = top["qty_stat_unannounced"] - top["qty_stat"]
    for name, column in (("by_deals", "qty_pipeline"), ("by_adjustments", "qty_adjustment"),
                         ("by_promotions", "qty_promo")):
        if column in top.columns:
            parts[name] = top[column]
    explanations = [explainer(row.sku, row.period) for row in top.itertuples()]
    return top.assign(**parts, explanation=explanations)[
        ["sku", "period", "qty_stat", "qty_consensus", "change", *parts, "explanation"]
    ].reset_index(drop=True)


# ------------------------------------------------------- the model's inputs


def calibration_summary(model, by: str = "stage") -> pd.DataFrame:
    """Stated, realised and calibrated win probability of past deals, per group.

    Counted over every snapshot record of every resolved deal line — a deal
    seen in six snapshots counts six times, with the stage and probability it
    had in each — because that is how the model meets open deals: at some
    stage of their life. (Counting each deal once at its *final* stage would
    mislead: lost deals tend to leave the pipeline at early stages, so late
    stages would look far better than they were when the deals were open.)

    Parameters
    ----------
    model : sopkit.lumpy.LumpyDemandModel
        A fitted model.
    by : str
        ``"stage"`` or ``"owner"``.

    Returns
    -------
    DataFrame
        ``[by], n_deals, n_records, stated, realised, calibrated`` (means over
        the records; ``realised`` counts each win inferred from demand with its
        ``won_weight``, as the model learnt it; ``calibrated`` is what the
        model now applies to them).
    """
    records = model.deal_snapshots_[model.deal_snapshots_["resolved"]].copy()
    records["calibrated"] = model.calibrated_probability(records)
    # an inferred win counts with the chance it was not an unannounced order (won_weight)
    records["won"] = (records["won_weight"] if "won_weight" in records.columns
                      else records["won"]).astype(float)

    def summary(frame: pd.DataFrame) -> dict:
        return {"n_deals": frame["deal_id"].nunique(), "n_records": len(frame),
                "stated": frame["probability"].mean(), "realised": frame["won"].mean(),
                "calibrated": frame["calibrated"].mean()}

    rows = [{by: key, **summary(part)} for key, part in records.groupby(by, sort=True)]
    rows.append({by: "all", **summary(records)})
    return pd.DataFrame(rows, columns=[by, "n_deals", "n_records", "stated", "realised",
                                       "calibrated"])


CALIBRATION_BANDS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))  # stated-probability bands
CALIBRATION_INTERVAL = 0.9  # coverage of the realised rate's interval


def calibration_curve(model, bands=CALIBRATION_BANDS,
                      interval: float = CALIBRATION_INTERVAL) -> pd.DataFrame:
    """Realised against stated win probability of past deals, in bands of stated probability.

    The observations are the ones the model's calibration curves are fitted
    on (:func:`sopkit.lumpy.calibration_observations`): each resolved deal
    line once per stage (and owner) it was listed under, at the mean
    probability stated there; a win inferred from demand counts with its
    ``won_weight``. Band ``[a, b)`` holds stated probabilities ``a <= p < b``
    (the last band includes 1).

    Parameters
    ----------
    model : sopkit.lumpy.LumpyDemandModel
        A fitted model.
    bands : sequence of float
        Band edges from 0 to 1, rising.
    interval : float
        Coverage of the interval around the realised rate: Jeffreys' interval,
        the ``(1 ± interval) / 2`` quantiles of Beta(wins + ½, losses + ½),
        from 0 when none was won and to 1 when all were.

    Returns
    -------
    DataFrame
        One row per band with deals: ``band`` (e.g. ``"40–50 %"``),
        ``n_deals`` (observations), ``stated`` (mean), ``realised`` (share
        won), ``realised_low, realised_high`` and ``calibrated`` (mean of what
        the model now applies to them, by their stage and owner).
    """
    from scipy.stats import beta

    from sopkit.lumpy import calibration_observations

    edges = np.asarray(bands, dtype=float)
    if (len(edges) < 2 or edges[0] != 0.0 or edges[-1] != 1.0
            or not np.all(np.diff(edges) > 0)):
        raise ParameterError(f"calibration bands must rise from 0 to 1, got {list(bands)!r}")
    if not 0.0 < interval < 1.0:
        raise ParameterError(f"interval must be between 0 and 1, got {interval!r}")
    by = list(getattr(model, "calibrate_by", ("stage",)))
    obs = calibration_observations(model.deal_snapshots_, by)
    columns = ["band", "n_deals", "stated", "realised", "realised_low", "realised_high",
               "calibrated"]
    if obs.empty:
        return pd.DataFrame({c: pd.Series(dtype="string" if c == "band" else float)
                             for c in columns})
    obs["calibrated"] = model.calibrated_probability(obs)
    obs["band"] = np.clip(np.searchsorted(edges, obs["probability"].to_numpy(float),
                                          side="right") - 1, 0, len(edges) - 2)
    rows = []
    for k, part in obs.groupby("band", sort=True):
        n, wins = len(part), float(part["won"].astype(float).sum())
        low, high = beta.ppf([(1 - interval) / 2, (1 + interval) / 2], wins + 0.5,
                             n - wins + 0.5)
        # Jeffreys' boundary rule: none won, the interval starts at 0; all won, it ends at 1
        low, high = (0.0 if wins <= 0 else min(low, wins / n),
                     1.0 if wins >= n else max(high, wins / n))
        rows.append({"band": f"{edges[k]:.0%}–{edges[k + 1]:.0%}".replace("%–", "–")
                     .replace("%", " %"),
                     "n_deals": n, "stated": part["probability"].mean(),
                     "realised": wins / n, "realised_low": low, "realised_high": high,
                     "calibrated": part["calibrated"].mean()})
    out = pd.DataFrame(rows, columns=columns)
    out["band"] = out["band"].astype("string")
    out.attrs["interval"] = interval
    return out


def plot_calibration(curve: pd.DataFrame, model, *,
                     title: str = "Stated against realised win probability of past deals"):
    """:func:`calibration_curve` as a chart: each band's realised rate (with its interval)
    at its mean stated probability, the diagonal where stated = realised, and the
    model's calibration curve over all stages and owners."""
    import matplotlib

    from sopkit.display import STYLE, new_figure

    interval = curve.attrs.get("interval", CALIBRATION_INTERVAL)
    with matplotlib.rc_context(STYLE):
        fig = new_figure(width=7.0, height=4.8)
        ax = fig.add_subplot()
        ax.plot([0, 100], [0, 100], linestyle="--", color="0.6", linewidth=1,
                label="stated = realised")
        overall = model.calibration_[model.calibration_["level"] == 0]
        ax.plot(overall["stated_probability"] * 100, overall["calibrated_probability"] * 100,
                color="tab:orange", linewidth=1.8, label="what the model applies (all deals)")
        if len(curve):
            x = curve["stated"].to_numpy(float) * 100
            y = curve["realised"].to_numpy(float) * 100
            error = np.vstack([y - curve["realised_low"].to_numpy(float) * 100,
                               curve["realised_high"].to_numpy(float) * 100 - y])
            ax.errorbar(x, y, yerr=error, fmt="o", color="tab:blue", capsize=3,
                        label=f"won, with {interval:.0%} interval".replace("%", " %"))
            for xi, yi, n in zip(x, y, curve["n_deals"], strict=True):
                ax.annotate(f"{int(n)}", (xi, yi), textcoords="offset points", xytext=(6, -10),
                            fontsize=8, color="0.35")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_xlabel("stated probability, % (number: deals in the band)")
        ax.set_ylabel("won, %")
        ax.set_title(title)
        ax.legend(loc="upper left")
    return fig


def deal_table(model, pipeline: pd.DataFrame) -> pd.DataFrame:
    """The open deals behind the consensus, largest expected quantity first, with notes.

    Returns
    -------
    DataFrame
        ``deal_id, sku, period, qty, stage, owner, probability,
        probability_calibrated, qty_expected, note`` (notes exactly as entered).
    """
    deals = model.open_deals_.copy()
    columns = ["deal_id", "sku", "period", "qty", "stage", "owner", "probability",
               "probability_calibrated", "qty_expected", "note"]
    if "note" in pipeline.columns and len(deals):
        notes = pipeline[["snapshot", "deal_id", "sku", "period", "note"]].astype(
            {"deal_id": "string", "sku": "string"})
        deals = deals.astype({"deal_id": "string", "sku": "string"}).merge(
            notes, on=["snapshot", "deal_id", "sku", "period"], how="left")
    for column in columns:
        if column not in deals.columns:
            deals[column] = pd.NA
    return deals[columns].sort_values("qty_expected", ascending=False,
                                      kind="stable").reset_index(drop=True)


def audit_trail(model, pipeline: pd.DataFrame, adjustments: pd.DataFrame | None) -> pd.DataFrame:
    """Every human input the consensus used, as entered and as applied.

    One row per open deal line and per manual adjustment of the cycle, so that
    a reviewer can trace any consensus number back to who entered what, when
    and why — and see how much of it the model applied. The input files are
    never changed; this is the record of what this cycle did with them.

    Returns
    -------
    DataFrame
        ``source`` (deal / adjustment), ``reference`` (deal id, or blank),
        ``snapshot`` (when it was entered), ``owner, sku, period``,
        ``qty_entered`` (deal quantity or adjustment), ``stated_probability``,
        ``weight_applied`` (calibrated probability, or the owner's β),
        ``qty_applied`` (expected deal quantity, or the debiased adjustment),
        ``text`` (the deal note or the adjustment's reason, as entered).
    """
    columns = ["source", "reference", "snapshot", "owner", "sku", "period", "qty_entered",
               "stated_probability", "weight_applied", "qty_applied", "text"]
    deals = deal_table(model, pipeline) if len(model.open_deals_) else pd.DataFrame()
    snapshots = model.open_deals_.drop_duplicates(["deal_id", "sku", "period"])[
        ["deal_id", "sku", "period", "snapshot"]] if len(model.open_deals_) else None
    parts = []
    if len(deals):
        deals = deals.merge(snapshots.astype({"deal_id": "string", "sku": "string"}),
                            on=["deal_id", "sku", "period"], how="left")
        parts.append(pd.DataFrame({
            "source": "deal", "reference": deals["deal_id"], "snapshot": deals["snapshot"],
            "owner": deals["owner"], "sku": deals["sku"], "period": deals["period"],
            "qty_entered": deals["qty"], "stated_probability": deals["probability"],
            "weight_applied": deals["probability_calibrated"],
            "qty_applied": deals["qty_expected"], "text": deals["note"]}))
    used = getattr(model, "open_adjustments_", None)
    if used is not None and len(used):
        keys = ["snapshot", "owner", "sku", "period"]
        reasons = (adjustments[[*keys, "reason"]].astype({"sku": "string", "owner": "string"})
                   if adjustments is not None and "reason" in adjustments.columns else None)
        rows = used.astype({"sku": "string", "owner": "string"})
        if reasons is not None:
            rows = rows.merge(reasons, on=keys, how="left")
        parts.append(pd.DataFrame({
            "source": "adjustment", "reference": pd.NA, "snapshot": rows["snapshot"],
            "owner": rows["owner"], "sku": rows["sku"], "period": rows["period"],
            "qty_entered": rows["qty_delta"], "stated_probability": np.nan,
            "weight_applied": rows["beta"], "qty_applied": rows["qty_adjustment"],
            "text": rows["reason"] if "reason" in rows.columns else pd.NA}))
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


PROMOTION_COLUMNS = ["promo_id", "sku", "start_period", "end_period", "months", "lift",
                     "qty_reference", "qty_promo_months", "lift_realised", "extra_stated",
                     "extra_realised", "share_delivered", "share_low", "share_high"]
PROMOTION_INTERVAL = (0.05, 0.95)  # the pooled share's bootstrap interval
PROMOTION_RESAMPLES = 2000


def promotion_track_record(promotions: pd.DataFrame | None, actuals: pd.DataFrame, *, cycle,
                           reference_months: int = 6) -> pd.DataFrame:
    """Past promotions: the lift marketing stated against the lift demand showed.

    For each promotion row (one SKU) that ended before ``cycle``, the
    reference is the SKU's mean monthly demand over the ``reference_months``
    months before the promotion began (a month without a row counts as 0);
    the realised lift is the mean demand of the promotion's months over that
    reference, minus 1; ``share_delivered`` = realised extra volume / stated
    extra volume. A last row ``all`` pools them by volume: ``Σ extra_realised
    / Σ extra_stated``, with ``share_low … share_high``, the 5 – 95 %
    bootstrap interval of that pooled share (promotions, not rows, resampled
    with replacement :data:`PROMOTION_RESAMPLES` times with a fixed seed: the
    SKUs of one campaign rise and fall together). The reference ignores season
    and trend, so a single promotion's figure is rough. Rows without a
    reference (no demand before) are left out.

    The plan takes promotions at their stated lift: on twenty draws of the
    sample company, with their true delivered shares known, the pooled share
    — and a precision-weighted one — missed the truth by more than the
    stated lift did (``benchmarks/promotion_lift.py``, docs/benchmarks.md).
    The interval says how little a company's few promotions can tell.

    Returns
    -------
    DataFrame
        :data:`PROMOTION_COLUMNS`; ``extra_stated = lift × qty_reference ×
        months``, ``extra_realised`` = promotion months' demand − reference ×
        months. Empty without past promotions.
    """
    from sopkit.periods import add_months, cycle_month

    whole_number("reference_months", reference_months)
    if promotions is None or promotions.empty or actuals.empty:
        return pd.DataFrame(columns=PROMOTION_COLUMNS)
    start_cycle = cycle_month(cycle)
    demand = {sku: part.droplevel("sku") for sku, part in actuals.assign(
        period=pd.to_datetime(actuals["period"])).groupby(["sku", "period"])["qty"].sum()
        .groupby(level="sku")}
    rows = []
    for promo in promotions.itertuples(index=False):
        first, last = pd.Timestamp(promo.start_period), pd.Timestamp(promo.end_period)
        if last >= start_cycle:
            continue
        series = demand.get(promo.sku)
        if series is None:
            continue
        before = pd.date_range(add_months(first, -reference_months), periods=reference_months,
                               freq="MS")
        inside = pd.date_range(first, last, freq="MS")
        reference = float(series.reindex(before, fill_value=0.0).mean())
        if reference <= 0:
            continue
        promo_months = float(series.reindex(inside, fill_value=0.0).mean())
        lift = float(promo.lift)
        rows.append({"promo_id": getattr(promo, "promo_id", ""), "sku": promo.sku,
                     "start_period": first, "end_period": last, "months": len(inside),
                     "lift": lift, "qty_reference": reference,
                     "qty_promo_months": promo_months,
                     "lift_realised": promo_months / reference - 1,
                     "extra_stated": lift * reference * len(inside),
                     "extra_realised": (promo_months - reference) * len(inside),
                     "share_delivered": ((promo_months / reference - 1) / lift
                                         if lift > 0 else np.nan)})
    if not rows:
        return pd.DataFrame(columns=PROMOTION_COLUMNS)
    out = pd.DataFrame(rows, columns=PROMOTION_COLUMNS)
    stated, realised = out["extra_stated"].sum(), out["extra_realised"].sum()
    low, high = _pooled_interval(out)
    pooled = {"promo_id": "all", "sku": "", "start_period": pd.NaT, "end_period": pd.NaT,
              "months": int(out["months"].sum()), "lift": np.nan, "qty_reference": np.nan,
              "qty_promo_months": np.nan,
              "lift_realised": np.nan, "extra_stated": stated, "extra_realised": realised,
              "share_delivered": realised / stated if stated > 0 else np.nan,
              "share_low": low, "share_high": high}
    return pd.concat([out, pd.DataFrame([pooled])], ignore_index=True)


def _pooled_interval(rows: pd.DataFrame) -> tuple[float, float]:
    """5 – 95 % bootstrap interval of ``Σ extra_realised / Σ extra_stated``, promotions
    resampled (all SKU rows of a promotion together), seed 0."""
    per_promo = rows.groupby(rows["promo_id"].astype("string").fillna(""), sort=True)[
        ["extra_stated", "extra_realised"]].sum()
    stated = per_promo["extra_stated"].to_numpy(float)
    realised = per_promo["extra_realised"].to_numpy(float)
    draws = np.random.default_rng(0).integers(0, len(per_promo),
                                              size=(PROMOTION_RESAMPLES, len(per_promo)))
    denominator = stated[draws].sum(axis=1)
    ok = denominator > 0
    if not ok.any():
        return np.nan, np.nan
    shares = realised[draws].sum(axis=1)[ok] / denominator[ok]
    low, high = np.quantile(shares, PROMOTION_INTERVAL)
    return float(low), float(high)
