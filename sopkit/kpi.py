"""How are we doing? The cycle's KPIs and the executive scorecard.

Definitions
-----------
WAPE
    ``Σ |actual − forecast| / Σ actual`` over the points of a lag.
Bias
    ``Σ (forecast − actual) / Σ actual``: positive means over-forecasting.
Fill rate
    ``Σ qty_served / Σ qty_demand`` of the supply plan.
Inventory turns
    Cost of goods sold per year over the average stock value:
    ``(Σ cogs × 12 / months) / mean(month-end inventory value)``.
Days of supply
    ``365 / turns``: the days of cost of goods sold the average stock covers.
Utilisation
    ``Σ hours_required / Σ capacity_hours`` (above 1 means overtime).
Safety-stock cover
    Month-end stock against the safety stock the plan aims for: a plan can
    serve all demand by spending its buffer (:func:`safety_stock_cover`).
Schedule adherence
    ``Σ min(actual_qty, planned_qty) / Σ planned_qty`` over the rows of the
    production the ERP recorded (SKU × month, or SKU × month × resource) in the
    last closed months: what was made of what was scheduled, in the month it
    was scheduled. Making more than planned does not offset making less
    elsewhere.

Each function returns a single number by default and a table when given
``by`` keys to break it down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sopkit.errors import ParameterError

DIRECTIONS = ("higher", "lower", "closer")
# Which side is better for the scorecard's KPIs when the parameters give no target (the
# trend still says improving / worsening); utilisation and days of supply have no
# natural side (too high and too low both hurt), so their trend says up / down.
NATURAL_DIRECTIONS = {
    "forecast_wape_lag1": "lower", "forecast_wape_lag3": "lower", "forecast_bias": "closer",
    "fill_rate": "higher", "tier1_fill_rate": "higher", "inventory_turns": "higher",
    "schedule_adherence": "higher", "data_quality_score": "higher",
    "revenue_vs_budget": "higher",
}
AMBER_BAND = 0.05
"""Default width of the amber band of :func:`scorecard`, relative to the target."""

_ACTUAL_NAMES = ("qty_actual", "actual", "qty", "y")
_FORECAST_NAMES = ("qty_forecast", "forecast", "qty_consensus", "yhat")
_STEP_NAMES = ("step", "lag", "horizon_step")


def _pick(frame: pd.DataFrame, given: str | None, candidates: Sequence[str], what: str) -> str:
    if given is not None:
        if given not in frame.columns:
            raise ParameterError(f"no {what} column {given!r} in the frame")
        return given
    for name in candidates:
        if name in frame.columns:
            return name
    raise ParameterError(f"no {what} column: expected one of {', '.join(candidates)}")


def _keys(by) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(f"{what} lacks column(s) {', '.join(missing)}")


def _ratio(numerator, denominator):
    """numerator / denominator, NaN where the denominator is not positive."""
    if isinstance(denominator, pd.Series):
        return numerator / denominator.where(denominator > 0)
    return float(numerator / denominator) if denominator > 0 else np.nan


# ------------------------------------------------------------------ forecast accuracy


def wape_by_lag(
    frame: pd.DataFrame,
    lags: Sequence[int] | None = (1, 3),
    *,
    by: str | Sequence[str] | None = None,
    actual: str | None = None,
    forecast: str | None = None,
    step: str | None = None,
) -> pd.DataFrame:
    """WAPE and bias of forecasts per lag.

    Parameters
    ----------
    frame : DataFrame
        One row per forecast point, e.g. the forecast engine's backtest
        (``sku, model, origin, step, qty_actual, qty_forecast``). Any frame
        with an actual, a forecast and a lag column will do; the columns are
        found by name (``qty_actual``/``actual``/``qty``,
        ``qty_forecast``/``forecast``, ``step``/``lag``) unless given.
    lags : sequence of int, optional
        Lags to report (1 = the first month forecast); ``None`` for all.
    by : str or sequence of str, optional
        Extra keys to break the result down by, e.g. ``"model"`` or ``"sku"``.

    Returns
    -------
    DataFrame
        The ``by`` keys, then ``lag, n_points, qty_actual, qty_forecast, wape,
        bias`` (NaN when the actuals sum to zero), one row per key and lag.
    """
    actual = _pick(frame, actual, _ACTUAL_NAMES, "actual")
    forecast = _pick(frame, forecast, _FORECAST_NAMES, "forecast")
    step = _pick(frame, step, _STEP_NAMES, "lag (step)")
    keys = _keys(by)
    _check_columns(frame, keys, "the forecast frame")
    data = frame[[*keys, step]].copy()
    data = data.rename(columns={step: "lag"})
    data["qty_actual"] = frame[actual].astype(float)
    data["qty_forecast"] = frame[forecast].astype(float)
    data = data.dropna(subset=["qty_actual", "qty_forecast"])
    if lags is not None:
        data = data[data["lag"].isin(list(lags))]
    data["abs_error"] = (data["qty_actual"] - data["qty_forecast"]).abs()
    out = data.groupby([*keys, "lag"], as_index=False).agg(
        n_points=("qty_actual", "size"),
        qty_actual=("qty_actual", "sum"),
        qty_forecast=("qty_forecast", "sum"),
        abs_error=("abs_error", "sum"),
    )
    out["wape"] = _ratio(out["abs_error"], out["qty_actual"])
    out["bias"] = _ratio(out["qty_forecast"] - out["qty_actual"], out["qty_actual"])
    return out.drop(columns="abs_error").sort_values([*keys, "lag"], ignore_index=True)


def forecast_accuracy(frame: pd.DataFrame, *, lag: int = 1, **columns) -> dict:
    """WAPE and bias at one lag, over the whole frame, for the scorecard.

    Parameters
    ----------
    frame : DataFrame
        As for :func:`wape_by_lag`.
    lag : int
        The lag measured.
    **columns
        ``actual=``, ``forecast=``, ``step=`` column names, when not the usual.

    Returns
    -------
    dict
        ``{"wape": float, "bias": float, "n_points": int}`` (NaN without
        points at that lag).
    """
    table = wape_by_lag(frame, lags=(lag,), **columns)
    if table.empty:
        return {"wape": np.nan, "bias": np.nan, "n_points": 0}
    row = table.iloc[0]
    return {"wape": float(row["wape"]), "bias": float(row["bias"]),
            "n_points": int(row["n_points"])}


# ------------------------------------------------------------------ service, stock, capacity


def fill_rate(
    plan: pd.DataFrame,
    products: pd.DataFrame | None = None,
    *,
    by: str | Sequence[str] | None = None,
    tier: int | None = None,
):
    """Share of demand served.

    Parameters
    ----------
    plan : DataFrame
        The supply plan (``sku, period, qty_demand, qty_served``) or the
        output of :func:`sopkit.finance.financials`.
    products : DataFrame, optional
        Needed to break down by ``family`` or ``priority_tier``, or to filter
        on ``tier``, when ``plan`` lacks those columns.
    by : str or sequence of str, optional
        Keys to break down by (e.g. ``"period"``, ``"family"``,
        ``"priority_tier"``).
    tier : int, optional
        Only SKUs of this priority tier (1 = the tier served first).

    Returns
    -------
    float or DataFrame
        Without ``by``: the fill rate (NaN without demand). With ``by``: the
        keys, ``qty_demand, qty_served, fill_rate``.
    """
    _check_columns(plan, ("qty_demand", "qty_served"), "the plan")
    keys = _keys(by)
    frame = plan
    needed = [k for k in [*keys, *(["priority_tier"] if tier is not None else [])]
              if k not in frame.columns]
    if needed:
        if products is None:
            raise ParameterError(f"fill_rate needs products for {', '.join(needed)}")
        _check_columns(products, ["sku", *needed], "products")
        frame = frame.merge(products[["sku", *needed]], on="sku", how="left")
    if tier is not None:
        frame = frame[frame["priority_tier"] == tier]
    if not keys:
        return _ratio(frame["qty_served"].sum(), frame["qty_demand"].sum())
    out = frame.groupby(keys, as_index=False)[["qty_demand", "qty_served"]].sum()
    out["fill_rate"] = _ratio(out["qty_served"], out["qty_demand"])
    return out


def safety_stock_cover(
    plan: pd.DataFrame,
    products: pd.DataFrame | None = None,
    *,
    tier: int | None = None,
) -> pd.DataFrame:
    """Where the plan's month-end stock falls below the safety stock it aims for.

    A plan can serve all demand and still spend its buffer: the fill rate
    then reads 100 % while the next surprise has nothing to meet it. This
    says which SKUs are planned below their safety stock, and which run it
    out altogether.

    Parameters
    ----------
    plan : DataFrame
        The supply plan: ``sku, period, inventory_end, safety_stock``.
    products : DataFrame, optional
        ``sku, priority_tier``; needed with ``tier`` when the plan lacks
        ``priority_tier``.
    tier : int, optional
        Only SKUs of this priority tier.

    Returns
    -------
    DataFrame
        One row per SKU that holds a safety stock in some month: ``sku``,
        ``months_with_target`` (months with a safety stock above 0),
        ``months_below`` (month-end stock below 99 % of it), ``months_empty``
        (stock at most 1 % of it), ``first_below`` and ``first_empty``
        (first such month, NaT if none), ``lowest_cover`` (the lowest
        stock / safety stock, capped at 1) and ``mean_safety_stock`` (units,
        over the months with a target); SKUs with the most empty months,
        then the most months below, then the largest safety stock, first.
    """
    _check_columns(plan, ("sku", "period", "inventory_end", "safety_stock"), "the plan")
    frame = plan
    if tier is not None:
        if "priority_tier" not in frame.columns:
            if products is None:
                raise ParameterError("safety_stock_cover needs products for priority_tier")
            _check_columns(products, ("sku", "priority_tier"), "products")
            frame = frame.merge(products[["sku", "priority_tier"]], on="sku", how="left")
        frame = frame[frame["priority_tier"] == tier]
    columns = ["sku", "months_with_target", "months_below", "months_empty", "first_below",
               "first_empty", "lowest_cover", "mean_safety_stock"]
    held = frame[frame["safety_stock"].astype(float) > 1e-6].copy()
    if held.empty:
        return pd.DataFrame(columns=columns)
    target = held["safety_stock"].astype(float)
    stock = held["inventory_end"].astype(float).clip(lower=0.0)
    held["period"] = pd.to_datetime(held["period"])
    held["below"] = stock < 0.99 * target - 1e-9
    held["empty"] = stock <= 0.01 * target + 1e-9
    held["cover"] = (stock / target).clip(upper=1.0)
    held["below_at"] = held["period"].where(held["below"])
    held["empty_at"] = held["period"].where(held["empty"])
    out = held.groupby("sku", as_index=False).agg(
        months_with_target=("period", "size"), months_below=("below", "sum"),
        months_empty=("empty", "sum"), first_below=("below_at", "min"),
        first_empty=("empty_at", "min"), lowest_cover=("cover", "min"),
        mean_safety_stock=("safety_stock", "mean"))
    return out[columns].sort_values(
        ["months_empty", "months_below", "mean_safety_stock", "sku"],
        ascending=[False, False, False, True], ignore_index=True)


def _turns_table(fin: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    _check_columns(fin, ("period", "cogs", "inventory_value", *keys), "the financials")
    per_month = fin.groupby([*keys, "period"], as_index=False)[["cogs", "inventory_value"]].sum()
    if keys:
        out = per_month.groupby(keys, as_index=False).agg(
            n_months=("period", "nunique"), cogs=("cogs", "sum"),
            inventory_value=("inventory_value", "mean"))
    else:
        out = pd.DataFrame({"n_months": [per_month["period"].nunique()],
                            "cogs": [per_month["cogs"].sum()],
                            "inventory_value": [per_month["inventory_value"].mean()]})
    yearly_cogs = out["cogs"] * 12.0 / out["n_months"].where(out["n_months"] > 0)
    out["inventory_turns"] = _ratio(yearly_cogs, out["inventory_value"])
    out["days_of_supply"] = 365.0 * _ratio(out["inventory_value"], yearly_cogs)
    return out


def inventory_turns(fin: pd.DataFrame, *, by: str | Sequence[str] | None = None):
    """Inventory turns per year from the priced plan.

    Parameters
    ----------
    fin : DataFrame
        The output of :func:`sopkit.finance.financials` (``period, cogs,
        inventory_value`` and the ``by`` keys).
    by : str or sequence of str, optional
        Keys to break down by (``"sku"``, ``"family"``).

    Returns
    -------
    float or DataFrame
        Without ``by``: the turns (NaN without stock). With ``by``: the keys,
        ``n_months, cogs, inventory_value`` (average month-end),
        ``inventory_turns, days_of_supply``.
    """
    table = _turns_table(fin, _keys(by))
    return float(table["inventory_turns"].iloc[0]) if by is None else table


def days_of_supply(fin: pd.DataFrame, *, by: str | Sequence[str] | None = None):
    """Days of cost of goods sold that the average stock covers (``365 / turns``).

    Returns
    -------
    float or DataFrame
        As :func:`inventory_turns` (the table is the same); NaN when nothing
        is sold.
    """
    table = _turns_table(fin, _keys(by))
    return float(table["days_of_supply"].iloc[0]) if by is None else table


def utilisation(resource_load: pd.DataFrame, *, by: str | Sequence[str] | None = None):
    """Load of resources against their regular capacity.

    Parameters
    ----------
    resource_load : DataFrame
        ``resource, period, hours_required, capacity_hours`` and optionally
        ``overtime_hours`` (the supply plan's resource load).
    by : str or sequence of str, optional
        Keys to break down by: ``"resource"``, ``"period"``, or both.

    Returns
    -------
    float or DataFrame
        Without ``by``: ``Σ hours_required / Σ capacity_hours`` over all
        resources and months. With ``by``: the keys, ``hours_required,
        capacity_hours, overtime_hours, utilisation``, ``peak_utilisation``
        (the highest monthly utilisation within the group) and
        ``months_over_capacity`` (months of the group above 100 %).
    """
    _check_columns(resource_load, ("period", "hours_required", "capacity_hours"),
                   "the resource load")
    load = resource_load.copy()
    if "overtime_hours" not in load.columns:
        load["overtime_hours"] = 0.0
    keys = _keys(by)
    if not keys:
        return _ratio(load["hours_required"].sum(), load["capacity_hours"].sum())
    _check_columns(load, keys, "the resource load")
    load["monthly"] = _ratio(load["hours_required"].astype(float),
                             load["capacity_hours"].astype(float))
    # Over capacity: more hours than regular capacity (or any hours on none).
    load["over"] = load["hours_required"] > load["capacity_hours"] + 1e-9
    out = load.groupby(keys, as_index=False).agg(
        hours_required=("hours_required", "sum"), capacity_hours=("capacity_hours", "sum"),
        overtime_hours=("overtime_hours", "sum"), peak_utilisation=("monthly", "max"),
        months_over_capacity=("over", "sum"))
    out["utilisation"] = _ratio(out["hours_required"], out["capacity_hours"])
    columns = [*keys, "hours_required", "capacity_hours", "overtime_hours", "utilisation",
               "peak_utilisation", "months_over_capacity"]
    return out[columns].sort_values(keys, ignore_index=True)


# ------------------------------------------------------------------ production

ADHERENCE_COLUMNS = ["n_rows", "planned_qty", "actual_qty", "qty_on_plan", "qty_under",
                     "qty_over", "qty_unplanned", "schedule_adherence"]
NO_RESOURCE = "(no routing: {sku})"
"""Resource of a row whose SKU has neither a resource nor a routing (one row per such SKU,
``NO_RESOURCE.format(sku=...)``): it names the SKU whose routing is missing."""


def closed_months(as_of, months: int | None) -> tuple[pd.Timestamp | None, pd.Timestamp]:
    """The window of :func:`schedule_adherence`: first and last closed month before ``as_of``.

    ``months=None`` leaves the start open (``None``).
    """
    end = pd.Timestamp(as_of).to_period("M").to_timestamp() - pd.DateOffset(months=1)
    if months is None:
        return None, end
    if int(months) < 1:
        raise ParameterError(f"adherence months must be at least 1, got {months!r}")
    return end - pd.DateOffset(months=int(months) - 1), end


def _production_rows(production: pd.DataFrame, keys: list[str], *, months: int | None,
                     as_of, products: pd.DataFrame | None,
                     routings: pd.DataFrame | None) -> pd.DataFrame:
    _check_columns(production, ("period", "sku", "planned_qty", "actual_qty"), "the production")
    frame = production.copy()
    frame["period"] = pd.to_datetime(frame["period"])
    if as_of is None:
        as_of = frame["period"].max() + pd.DateOffset(months=1) if len(frame) else None
    if as_of is not None:
        first, last = closed_months(as_of, months)
        inside = frame["period"] <= last
        if first is not None:
            inside &= frame["period"] >= first
        frame = frame[inside]
    if "resource" in keys:
        given = (frame["resource"].astype("string") if "resource" in frame.columns
                 else pd.Series(pd.NA, index=frame.index, dtype="string"))
        frame = frame.assign(resource=given)
        blank = frame["resource"].isna()
        if blank.any():
            if routings is None:
                raise ParameterError("schedule adherence by resource needs the routings for "
                                     "rows without a resource")
            _check_columns(routings, ("sku", "resource"), "routings")
            routed = routings[["sku", "resource"]].drop_duplicates().astype(
                {"sku": "string", "resource": "string"})
            spread = frame[blank].drop(columns="resource").merge(routed, on="sku", how="left")
            label = spread["sku"].map(lambda sku: NO_RESOURCE.format(sku=sku))
            spread["resource"] = spread["resource"].fillna(label.astype("string"))
            frame = pd.concat([frame[~blank], spread], ignore_index=True)
    needed = [k for k in keys if k not in frame.columns]
    if needed:
        if products is None:
            raise ParameterError(f"schedule adherence needs products for {', '.join(needed)}")
        _check_columns(products, ["sku", *needed], "products")
        frame = frame.merge(products[["sku", *needed]].drop_duplicates("sku"), on="sku",
                            how="left")
    planned = frame["planned_qty"] = frame["planned_qty"].astype(float)
    actual = frame["actual_qty"] = frame["actual_qty"].astype(float)
    frame["qty_on_plan"] = np.minimum(actual, planned)
    frame["qty_under"] = (planned - actual).clip(lower=0.0)
    frame["qty_over"] = (actual - planned).clip(lower=0.0).where(planned > 0, 0.0)
    frame["qty_unplanned"] = actual.where(planned <= 0, 0.0)
    return frame


def schedule_adherence(
    production: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    months: int | None = None,
    as_of=None,
    products: pd.DataFrame | None = None,
    routings: pd.DataFrame | None = None,
):
    """How much of the scheduled production was made, in the month it was scheduled.

    ``Σ min(actual_qty, planned_qty) / Σ planned_qty`` over the rows of the
    production table (one row per SKU and month, or per SKU, month and
    resource): production above plan does not make up for production below
    it in another row, and a row planned at 0 is unplanned production (it
    adds to neither sum).

    Parameters
    ----------
    production : DataFrame
        ``period, sku, planned_qty, actual_qty`` and optionally ``resource``
        (the ``production`` table of the data contract).
    by : str or sequence of str, optional
        Keys to break down by: ``"period"``, ``"sku"``, ``"resource"``,
        ``"family"`` (from ``products``) or any column of ``production``.
        By ``resource``, a row without a resource counts on every resource of
        its SKU's routing (``routings``); a SKU without a routing gets a row of
        its own, ``(no routing: <sku>)`` (:data:`NO_RESOURCE`).
    months : int, optional
        Only the last ``months`` closed months: those before ``as_of``.
        ``None``: every month before ``as_of``.
    as_of : month, optional
        The first month not closed (the cycle month). Default: the month after
        the latest month in ``production``.
    products, routings : DataFrame, optional
        Needed for ``family`` and for ``resource`` as described above.

    Returns
    -------
    float or DataFrame
        Without ``by``: the adherence, NaN when nothing was planned in the
        window. With ``by``: the keys, then ``n_rows, planned_qty,
        actual_qty, qty_on_plan`` (Σ min), ``qty_under`` (planned, not made),
        ``qty_over`` (made beyond a plan), ``qty_unplanned`` (made where the
        plan was 0), ``schedule_adherence`` (NaN where nothing was planned).
        ``planned_qty = qty_on_plan + qty_under`` and ``actual_qty =
        qty_on_plan + qty_over + qty_unplanned``.
    """
    keys = _keys(by)
    frame = _production_rows(production, keys, months=months, as_of=as_of, products=products,
                             routings=routings)
    measures = ["planned_qty", "actual_qty", "qty_on_plan", "qty_under", "qty_over",
                "qty_unplanned"]
    if not keys:
        return _ratio(frame["qty_on_plan"].sum(), frame["planned_qty"].sum())
    out = frame.groupby(keys, as_index=False, dropna=False).agg(
        n_rows=("sku", "size"), **{m: (m, "sum") for m in measures})
    out["schedule_adherence"] = _ratio(out["qty_on_plan"], out["planned_qty"])
    return out[[*keys, *ADHERENCE_COLUMNS]].sort_values(keys, ignore_index=True)


# ------------------------------------------------------------------ scorecard


def _target(kpi: str, spec) -> tuple[float, str, float | None]:
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"target", "direction", "amber"}
        if unknown:
            raise ParameterError(f"kpi_targets.{kpi}: unknown key(s) {', '.join(sorted(unknown))}")
        if "target" not in spec:
            raise ParameterError(f"kpi_targets.{kpi}: target is missing")
        target, direction, amber = spec["target"], spec.get("direction", "higher"), spec.get(
            "amber")
    else:
        target, direction, amber = spec, "higher", None
    try:
        target = float(target)
    except (TypeError, ValueError):
        raise ParameterError(f"kpi_targets.{kpi}.target: not a number: {target!r}") from None
    direction = str(direction).strip().lower()
    if direction not in DIRECTIONS:
        raise ParameterError(f"kpi_targets.{kpi}.direction: one of {', '.join(DIRECTIONS)}, "
                             f"got {direction!r}")
    if amber is not None:
        try:
            amber = float(amber)
        except (TypeError, ValueError):
            raise ParameterError(f"kpi_targets.{kpi}.amber: not a number: {amber!r}") from None
        if amber < 0:
            raise ParameterError(f"kpi_targets.{kpi}.amber: must be >= 0, got {amber}")
    return target, direction, amber


def validate_targets(targets, known=None) -> None:
    """Check KPI targets (``kpi_targets`` of the cycle parameters) before use.

    Raises :class:`ParameterError` naming the KPI and the key for a target
    that :func:`scorecard` would refuse, and for a KPI not in ``known`` (a
    typo such as ``fill_rte`` would otherwise show as "no data" for ever).
    """
    if not isinstance(targets, Mapping):
        raise ParameterError(f"kpi_targets: expected a mapping of KPI to target, got {targets!r}")
    for name, spec in targets.items():
        if known is not None and name not in known:
            raise ParameterError(f"kpi_targets.{name}: unknown KPI; known: {', '.join(known)}")
        _target(name, spec)


def rag_status(value: float, target: float, direction: str, band: float) -> str:
    """``green``, ``amber`` or ``red`` of a value (see :func:`scorecard`)."""
    if value is None or pd.isna(value):
        return "no data"
    if direction == "higher":
        return "green" if value >= target else "amber" if value >= target - band else "red"
    if direction == "lower":
        return "green" if value <= target else "amber" if value <= target + band else "red"
    distance = abs(value - target)
    return "green" if distance <= band else "amber" if distance <= 2 * band else "red"


def scorecard(values: Mapping, targets: Mapping, *,
              amber_band: float = AMBER_BAND, notes: Mapping[str, str] | None = None
              ) -> pd.DataFrame:
    """The KPI scorecard: each KPI against its target, red/amber/green.

    Parameters
    ----------
    values : mapping
        KPI name → value (e.g. ``{"fill_rate": 0.93}``).
    targets : mapping
        KPI name → ``{"target": x, "direction": "higher"|"lower"|"closer",
        "amber": width}`` (as ``kpi_targets`` in the cycle parameters), or
        KPI name → a number (higher is better). ``amber`` is optional.
    amber_band : float
        Default width of the amber band, relative to the target:
        ``band = amber_band × |target|`` (``amber_band`` itself when the
        target is 0); a target's ``amber`` gives the width in the KPI's own
        units instead.
    notes : mapping, optional
        KPI name → a sentence for people, typically why a value is missing
        ("no production data: production.csv not given").

    Returns
    -------
    DataFrame
        ``kpi, value, target, direction, gap`` (value − target), ``status``,
        ``note`` (blank unless ``notes`` has one):

        * ``higher`` — green at or above target; amber within the band below
          it; red further below.
        * ``lower`` — green at or below target; amber within the band above;
          red further above.
        * ``closer`` — green within the band either side of target; amber
          within twice the band; red beyond.

        A target without a value is ``no data``; a value without a target is
        listed last with status ``no target`` and the KPI's natural direction
        (:data:`NATURAL_DIRECTIONS`, else none). Rows follow the order of
        ``targets``.
    """
    notes = dict(notes or {})
    if amber_band is None or not amber_band >= 0:
        raise ParameterError(f"amber_band must be >= 0, got {amber_band!r}")
    rows = []
    for kpi, spec in targets.items():
        target, direction, amber = _target(kpi, spec)
        band = amber if amber is not None else (amber_band * abs(target) if target != 0
                                                else amber_band)
        value = values.get(kpi, np.nan)
        value = np.nan if value is None else float(value)
        rows.append({"kpi": kpi, "value": value, "target": target, "direction": direction,
                     "gap": value - target, "status": rag_status(value, target, direction, band)})
    for kpi, value in values.items():
        if kpi not in targets:
            value = np.nan if value is None else float(value)
            rows.append({"kpi": kpi, "value": value, "target": np.nan,
                         "direction": NATURAL_DIRECTIONS.get(kpi, pd.NA),
                         "gap": np.nan, "status": "no target"})
    out = pd.DataFrame(rows, columns=["kpi", "value", "target", "direction", "gap", "status"])
    out["note"] = [str(notes.get(kpi, "") or "") for kpi in out["kpi"]]
    for column in ("kpi", "direction", "status", "note"):
        out[column] = out[column].astype("string")
    return out


# ------------------------------------------------------------------ trend over cycles

TREND_TOLERANCE = 0.005  # relative change below which a KPI is "steady" (as the rubric's ties)


def scorecard_history(history: pd.DataFrame | None, card: pd.DataFrame, *, cycle: str,
                      rebuilt: pd.DataFrame | None = None) -> pd.DataFrame:
    """The KPI history across cycles with this cycle's scorecard in it.

    ``history`` is long: ``cycle`` (``YYYY-MM``), ``kpi``, ``value`` and
    ``source`` (``recorded`` by a cycle's run, or ``rebuilt`` from data;
    missing: recorded). Rows of ``cycle`` are replaced by the card's values
    (a rerun of the cycle), so the history holds the latest value of each KPI
    per cycle, oldest cycle first. ``rebuilt`` (``cycle, kpi, value``, e.g.
    :func:`sopkit.executive.rebuilt_kpis`) fills earlier cycles' missing
    values and refreshes earlier rebuilt ones; it never replaces a recorded value.
    """
    columns = ["cycle", "kpi", "value", "source"]
    now = pd.DataFrame({"cycle": str(cycle), "kpi": card["kpi"].astype(str),
                        "value": card["value"].astype(float), "source": "recorded"})[columns]
    if history is None or history.empty:
        out = now
    else:
        past = history.assign(source=history["source"] if "source" in history.columns
                              else "recorded")[columns]
        past = past.astype({"cycle": str, "kpi": str, "value": float, "source": str})
        out = pd.concat([past[past["cycle"] != str(cycle)], now], ignore_index=True)
    if rebuilt is not None and len(rebuilt):
        # first row of each (cycle, kpi) wins: recorded, then this rebuild, then an older one
        extra = rebuilt.assign(source="rebuilt")[columns].astype(
            {"cycle": str, "kpi": str, "value": float, "source": str})
        recorded = out["source"] == "recorded"
        out = pd.concat([out[recorded], extra[extra["cycle"] < str(cycle)], out[~recorded]],
                        ignore_index=True).drop_duplicates(["cycle", "kpi"], keep="first")
    out = out.sort_values(["cycle", "kpi"], kind="stable", ignore_index=True)
    return out.astype({"cycle": "string", "kpi": "string", "value": float, "source": "string"})


def with_trend(card: pd.DataFrame, history: pd.DataFrame, *, cycle: str,
               tolerance: float = TREND_TOLERANCE) -> pd.DataFrame:
    """The scorecard with each KPI's trend against the previous recorded cycle.

    Adds ``previous`` (the KPI's value in the latest cycle before ``cycle``
    that has one), ``previous_cycle`` and ``previous_source`` (``recorded`` or
    ``rebuilt``), ``change`` (value − previous) and ``trend``:
    ``improving`` / ``worsening`` in the KPI's direction (``closer``: the
    distance to target, or to 0 without one, shrank or grew), ``up`` / ``down``
    for a KPI with no direction, ``steady`` when the change is within
    ``tolerance`` × |previous|, ``first cycle`` without an earlier value,
    ``no data`` without a value now.
    """
    past = history[(history["cycle"].astype(str) < str(cycle))].dropna(subset=["value"])
    if "source" not in past.columns:
        past = past.assign(source="recorded")
    last = past.sort_values("cycle", kind="stable").groupby("kpi")[
        ["value", "cycle", "source"]].last()
    out = card.copy()
    names = out["kpi"].astype(str)
    out["previous"] = names.map(last["value"]).astype(float)
    out["previous_cycle"] = names.map(last["cycle"].astype(str)).astype("string")
    out["previous_source"] = names.map(last["source"].astype(str)).astype("string")
    out["change"] = out["value"] - out["previous"]
    trends = []
    for row in out.itertuples(index=False):
        if pd.isna(row.value):
            trends.append("no data")
        elif pd.isna(row.previous):
            trends.append("first cycle")
        elif abs(row.change) <= tolerance * abs(row.previous):
            trends.append("steady")
        else:
            if pd.isna(row.direction):  # no known better side: say which way it moved
                trends.append("up" if row.change > 0 else "down")
                continue
            direction = str(row.direction)
            if direction == "closer":
                goal = 0.0 if pd.isna(row.target) else row.target
                better = abs(row.value - goal) < abs(row.previous - goal)
            else:
                better = (row.change > 0) == (direction == "higher")
            trends.append("improving" if better else "worsening")
    out["trend"] = pd.array(trends, dtype="string")
    return out
