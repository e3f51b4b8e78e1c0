"""The consensus demand plan: statistics, pipeline, promotions and adjustments in one number.

For every SKU and forecast month::

    qty_consensus = max(0, qty_stat_unannounced + qty_pipeline + qty_promo + qty_adjustment)

``qty_stat``
    The statistical forecast (``qty_forecast`` of :mod:`sopkit.forecast`); for a
    new product without history, its launch forecast from like-item analogs
    (``model = "npi_analog"``, or the linear ``"npi_ramp"`` when no analog
    launch is in the history; see :mod:`sopkit.lifecycle`).
``announced_share``
    Share of the SKU's past demand that sales had announced beforehand as a
    pipeline deal (see :func:`announced_share`); 0 for SKUs never in the pipeline.
``qty_stat_unannounced``
    ``qty_stat × (1 − announced_share)``: the part of the statistics that the
    pipeline does not already cover, so a deal is never counted twice.
``qty_pipeline``
    Σ qty × calibrated probability over the open deals of the latest pipeline
    snapshot on or before the cycle (see :func:`calibrate_stages`).
``qty_promo``
    ``qty_stat × lift`` in the months of a promotion (lifts of overlapping
    promotions add up).
``qty_adjustment``
    Σ ``qty_delta`` of the latest adjustments snapshot on or before the cycle,
    taken at face value in this version.

Lifecycle: a SKU with an ``eol_period`` has its statistical part (and the
promotion on it) faded over the last months before it
(:func:`sopkit.lifecycle.phase_out_factors`: 0.75, 0.5, 0.25 of normal with
the default 3 months) and gets zero in every part after it (``model =
"eol"``); a ``discontinued`` SKU gets zero throughout.

Quantiles (the same ``qty_q..`` columns as the forecast): the statistical
quantiles scaled by ``1 − announced_share + lift`` and shifted by the
adjustment; where open deals exist, a seeded Monte Carlo adds the deals as
independent Bernoulli(calibrated probability) × qty and reads the quantiles
off the simulated totals. Quantiles are non-decreasing in q and ≥ 0.

Extension points for the lumpy-demand model: :func:`deal_outcomes` (what
happened to each past deal), :func:`calibrate_stages` (stated vs realised win
rate), :func:`announced_share` and :func:`open_deals` are separate pure
functions; slip and debiasing of adjustments belong there, not in
:func:`build_consensus`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from sopkit.errors import DataError, ParameterError, Problem
from sopkit.lifecycle import launch_forecast, phase_out_multiplier
from sopkit.periods import cycle_month, fmt_month, month_range

WIN_WINDOW_MONTHS = 2  # a deal counts as won if demand came within ± this many months
WIN_QTY_SHARE = 0.8  # ... and that demand reached this share of the deal's quantity
PRIOR_STRENGTH = 10.0  # deals of evidence worth as much as the stated probability
NPI_RAMP_MONTHS = 3
NPI_CV = 0.5  # coefficient of variation assumed for a new product's monthly demand
_NO_ACTUALS = pd.DataFrame({"sku": pd.Series(dtype="string"),
                            "period": pd.Series(dtype="datetime64[ns]"),
                            "qty": pd.Series(dtype=float)})
DEFAULT_HORIZON = 18
UNKNOWN_STAGE = "unspecified"

_QUANTILE_RE = re.compile(r"^qty_q(\d+)(?:_(\d+))?$")

PARTS = ["qty_stat_unannounced", "qty_pipeline", "qty_promo", "qty_adjustment"]


# --------------------------------------------------------------------------- helpers


def _require(frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError([Problem(name, None, c, "required column is missing") for c in missing])


def _months(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.to_period("M").dt.to_timestamp()


def _month_number(values: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(values)
    return (stamps.dt.year * 12 + stamps.dt.month - 1).to_numpy(dtype=np.int64)


def quantile_levels(frame: pd.DataFrame) -> list[tuple[float, str]]:
    """``(level, column)`` of the ``qty_q..`` columns of a frame, sorted by level."""
    found = []
    for column in frame.columns:
        match = _QUANTILE_RE.match(str(column))
        if match:
            text = match.group(1) + ("." + match.group(2) if match.group(2) else "")
            found.append((float(text) / 100, column))
    return sorted(found)


def _clean_pipeline(pipeline: pd.DataFrame) -> pd.DataFrame:
    _require(pipeline, "pipeline", ["snapshot", "deal_id", "sku", "period", "qty", "probability"])
    if "outcome" in pipeline.columns:  # rows recording a closed deal's outcome are not open
        pipeline = pipeline[pipeline["outcome"].isna()]
    stage = pipeline["stage"] if "stage" in pipeline.columns else pd.Series(pd.NA,
                                                                             index=pipeline.index)
    return pd.DataFrame(
        {
            "snapshot": _months(pipeline["snapshot"]),
            "deal_id": pipeline["deal_id"].astype("string"),
            "sku": pipeline["sku"].astype("string"),
            "period": _months(pipeline["period"]),
            "qty": pd.to_numeric(pipeline["qty"]).astype(float),
            "probability": pd.to_numeric(pipeline["probability"]).astype(float).clip(0, 1),
            "stage": stage.astype("string").fillna(UNKNOWN_STAGE),
        }
    )


def _clean_actuals(actuals: pd.DataFrame, cycle: pd.Timestamp) -> pd.DataFrame:
    _require(actuals, "actuals", ["sku", "period", "qty"])
    frame = pd.DataFrame(
        {
            "sku": actuals["sku"].astype("string"),
            "period": _months(actuals["period"]),
            "qty": pd.to_numeric(actuals["qty"]).astype(float).fillna(0.0).clip(lower=0),
        }
    )
    return frame[frame["period"] < cycle]


# --------------------------------------------------------------------------- pipeline history


def deal_outcomes(
    pipeline: pd.DataFrame, actuals: pd.DataFrame, *, cycle: pd.Timestamp
) -> pd.DataFrame:
    """What became of each deal line (deal, SKU) of the pipeline snapshots up to the cycle.

    A deal line's *expected period* and *quantity* are those of the last
    snapshot it appears in (latest period and total quantity if that snapshot
    splits it over months). It is *resolved* when its expected period plus
    :data:`WIN_WINDOW_MONTHS` is no later than the last month of actuals before
    the cycle, and *won* when the SKU's actuals within ± that many months of the
    expected period reach :data:`WIN_QTY_SHARE` of the deal quantity.

    Returns
    -------
    DataFrame
        One row per deal line: ``deal_id, sku, first_snapshot, last_snapshot,
        period, qty, qty_actual_window, resolved, won`` (``won`` is False when
        unresolved).
    """
    cycle = cycle_month(cycle)
    deals = _clean_pipeline(pipeline)
    deals = deals[deals["snapshot"] <= cycle]
    history = _clean_actuals(actuals, cycle)
    columns = ["deal_id", "sku", "first_snapshot", "last_snapshot", "period", "qty",
               "qty_actual_window", "resolved", "won"]
    if deals.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    key = ["deal_id", "sku"]
    span = deals.groupby(key, sort=True, observed=True)["snapshot"].agg(["min", "max"])
    span.columns = ["first_snapshot", "last_snapshot"]
    last = deals.merge(span.reset_index(), on=key)
    last = last[last["snapshot"] == last["last_snapshot"]]
    lines = last.groupby(key, sort=True, observed=True).agg(
        first_snapshot=("first_snapshot", "first"),
        last_snapshot=("last_snapshot", "first"),
        period=("period", "max"),
        qty=("qty", "sum"),
    ).reset_index()

    last_actual = history["period"].max() if not history.empty else pd.NaT
    window = np.zeros(len(lines))
    if not history.empty:
        pairs = lines[["sku"]].assign(line=np.arange(len(lines)),
                                      centre=_month_number(lines["period"]))
        pairs = pairs.merge(history.assign(month=_month_number(history["period"])), on="sku")
        pairs = pairs[(pairs["month"] - pairs["centre"]).abs() <= WIN_WINDOW_MONTHS]
        np.add.at(window, pairs["line"].to_numpy(), pairs["qty"].to_numpy(dtype=float))
    lines["qty_actual_window"] = window
    if pd.isna(last_actual):
        resolved = np.zeros(len(lines), dtype=bool)
    else:
        limit = last_actual - pd.DateOffset(months=WIN_WINDOW_MONTHS)
        resolved = (lines["period"] <= limit).to_numpy()
    lines["resolved"] = resolved
    lines["won"] = resolved & (window >= WIN_QTY_SHARE * lines["qty"].to_numpy())
    return lines[columns]


def calibrate_stages(
    pipeline: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    cycle: pd.Timestamp,
    prior_strength: float = PRIOR_STRENGTH,
) -> pd.DataFrame:
    """Stated versus realised win rate per sales stage.

    Each resolved deal line counts once for every stage it was seen in (in
    snapshots up to the cycle), with the mean probability sales stated for it
    in that stage. The calibrated probability of an open deal with stated
    probability ``p`` in stage ``s`` is ``weight × win_rate + (1 − weight) × p``
    with ``weight = n_deals / (n_deals + prior_strength)``: with few past deals
    the stated probability stands, with many the stage's track record wins.

    Returns
    -------
    DataFrame
        One row per stage seen: ``stage, n_deals, stated_probability, win_rate,
        weight`` (``win_rate`` NaN and ``weight`` 0 for stages without resolved
        deals).
    """
    cycle = cycle_month(cycle)
    deals = _clean_pipeline(pipeline)
    deals = deals[deals["snapshot"] <= cycle]
    columns = ["stage", "n_deals", "stated_probability", "win_rate", "weight"]
    if deals.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}).astype(
            {"stage": "string", "n_deals": "int64"})
    per_stage = deals.groupby(["stage", "deal_id", "sku"], observed=True, sort=True)[
        "probability"].mean().reset_index()
    resolved = outcomes[outcomes["resolved"].astype(bool)][["deal_id", "sku", "won"]]
    per_stage = per_stage.merge(resolved, on=["deal_id", "sku"], how="left")
    per_stage["is_resolved"] = per_stage["won"].notna()
    per_stage["won"] = per_stage["won"].astype("boolean").astype("Float64")
    stages = sorted(per_stage["stage"].unique())
    rows = []
    for stage in stages:
        part = per_stage[(per_stage["stage"] == stage) & per_stage["is_resolved"]]
        n_deals = len(part)
        rows.append(
            {
                "stage": stage,
                "n_deals": n_deals,
                "stated_probability": float(part["probability"].mean()) if n_deals else np.nan,
                "win_rate": float(part["won"].mean()) if n_deals else np.nan,
                "weight": n_deals / (n_deals + prior_strength) if n_deals else 0.0,
            }
        )
    frame = pd.DataFrame(rows, columns=columns)
    frame["stage"] = frame["stage"].astype("string")
    return frame


def announced_share(
    outcomes: pd.DataFrame, actuals: pd.DataFrame, *, cycle: pd.Timestamp,
    first_snapshot: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Share of each SKU's past demand that had been announced as a deal beforehand.

    Over the months from the first pipeline snapshot to the last resolved month
    (last month of actuals minus :data:`WIN_WINDOW_MONTHS`):
    ``Σ qty of won deal lines expected in those months and first seen in a
    snapshot before their expected period / Σ actual demand``, capped at 1.

    Returns
    -------
    DataFrame
        ``sku, announced_share`` for SKUs with at least one such won deal line
        (every other SKU has 0).
    """
    cycle = cycle_month(cycle)
    history = _clean_actuals(actuals, cycle)
    empty = pd.DataFrame({"sku": pd.Series(dtype="string"),
                          "announced_share": pd.Series(dtype="float64")})
    if outcomes.empty or history.empty:
        return empty
    start = first_snapshot if first_snapshot is not None else outcomes["first_snapshot"].min()
    stop = history["period"].max() - pd.DateOffset(months=WIN_WINDOW_MONTHS)
    won = outcomes[
        outcomes["won"].astype(bool)
        & (outcomes["period"] >= start)
        & (outcomes["period"] <= stop)
        & (outcomes["first_snapshot"] < outcomes["period"])
    ]
    if won.empty:
        return empty
    announced = won.groupby("sku", observed=True)["qty"].sum()
    in_window = history[(history["period"] >= start) & (history["period"] <= stop)]
    demand = in_window.groupby("sku", observed=True)["qty"].sum()
    demand = demand.reindex(announced.index).fillna(0.0)
    share = np.where(demand > 0, np.minimum(announced / demand.where(demand > 0, 1.0), 1.0), 0.0)
    frame = pd.DataFrame({"sku": announced.index.astype("string"), "announced_share": share})
    return frame.reset_index(drop=True)


def open_deals(
    pipeline: pd.DataFrame, calibration: pd.DataFrame, *, cycle: pd.Timestamp,
    periods: pd.DatetimeIndex,
) -> pd.DataFrame:
    """Deals of the latest snapshot on or before the cycle, expected in ``periods``.

    Returns
    -------
    DataFrame
        ``deal_id, sku, period, qty, stage, probability, probability_calibrated,
        qty_expected`` (= qty × calibrated probability).
    """
    cycle = cycle_month(cycle)
    deals = _clean_pipeline(pipeline)
    deals = deals[deals["snapshot"] <= cycle]
    if deals.empty:
        deals = deals.assign(probability_calibrated=pd.Series(dtype=float),
                             qty_expected=pd.Series(dtype=float))
        return deals.drop(columns="snapshot")
    deals = deals[(deals["snapshot"] == deals["snapshot"].max()) & deals["period"].isin(periods)]
    deals = deals.merge(calibration[["stage", "win_rate", "weight"]], on="stage", how="left")
    weight = deals["weight"].fillna(0.0).to_numpy(dtype=float)
    win_rate = deals["win_rate"].fillna(0.0).to_numpy(dtype=float)
    stated = deals["probability"].to_numpy(dtype=float)
    deals["probability_calibrated"] = weight * win_rate + (1 - weight) * stated
    deals["qty_expected"] = deals["qty"] * deals["probability_calibrated"]
    return deals.drop(columns=["snapshot", "win_rate", "weight"]).reset_index(drop=True)


# --------------------------------------------------------------------------- lifecycle


def npi_ramp(
    products: pd.DataFrame, periods: pd.DatetimeIndex, *, months: int = NPI_RAMP_MONTHS
) -> pd.DataFrame:
    """A linear ramp to ``launch_volume`` for products with a launch period and volume.

    In month ``k`` after ``launch_period`` (``k = 0`` at launch) the forecast is
    ``launch_volume × min(1, (k + 1) / months)``; 0 before launch.

    Returns
    -------
    DataFrame
        ``sku, period, qty_stat`` for every such product and period.
    """
    needed = {"sku", "launch_period", "launch_volume"}
    if not needed <= set(products.columns):
        return pd.DataFrame({"sku": pd.Series(dtype="string"),
                             "period": pd.Series(dtype="datetime64[ns]"),
                             "qty_stat": pd.Series(dtype=float)})
    launches = products[products["launch_period"].notna() & products["launch_volume"].notna()]
    sku = np.repeat(launches["sku"].astype("string").to_numpy(), len(periods))
    launch = np.repeat(_month_number(_months(launches["launch_period"])), len(periods))
    volume = np.repeat(pd.to_numeric(launches["launch_volume"]).to_numpy(dtype=float),
                       len(periods))
    period = np.tile(periods.to_numpy(), len(launches))
    k = _month_number(pd.Series(period)) - launch
    qty = np.where(k >= 0, volume * np.minimum(1.0, (k + 1) / months), 0.0)
    return pd.DataFrame({"sku": pd.array(sku, dtype="string"), "period": period, "qty_stat": qty})


# --------------------------------------------------------------------------- quantiles


def _extended_quantile_function(levels: np.ndarray, values: np.ndarray):
    """Levels and values padded with linear extrapolation to 0 and 1 (values ≥ 0)."""
    if len(levels) == 1:
        lo = hi = values[:, :1]
    else:
        slope_lo = (values[:, 1] - values[:, 0]) / (levels[1] - levels[0])
        slope_hi = (values[:, -1] - values[:, -2]) / (levels[-1] - levels[-2])
        lo = np.maximum(values[:, 0] - slope_lo * levels[0], 0.0)[:, None]
        hi = (values[:, -1] + slope_hi * (1 - levels[-1]))[:, None]
    return np.concatenate([[0.0], levels, [1.0]]), np.concatenate([lo, values, hi], axis=1)


def _simulate_cells(
    stat_quantiles: np.ndarray, levels: np.ndarray, factor: np.ndarray, shift: np.ndarray,
    deal_cell: np.ndarray, deal_qty: np.ndarray, deal_prob: np.ndarray, n_cells: int,
    n_simulations: int, rng: np.random.Generator,
) -> np.ndarray:
    """Quantiles of ``stat × factor + shift + Σ Bernoulli(p) × qty`` per cell, by Monte Carlo.

    Returns an array (n_cells, n_levels).
    """
    grid, ext = _extended_quantile_function(levels, stat_quantiles)
    u = rng.random((n_cells, n_simulations))
    segment = np.clip(np.searchsorted(grid, u, side="right") - 1, 0, len(grid) - 2)
    left = grid[segment]
    width = grid[segment + 1] - left
    lo = np.take_along_axis(ext, segment, axis=1)
    hi = np.take_along_axis(ext, segment + 1, axis=1)
    stat_draws = lo + (hi - lo) * (u - left) / width
    total = stat_draws * factor[:, None] + shift[:, None]
    wins = rng.random((len(deal_qty), n_simulations)) < deal_prob[:, None]
    np.add.at(total, deal_cell, wins * deal_qty[:, None])
    return np.quantile(np.clip(total, 0.0, None), levels, axis=1).T


# --------------------------------------------------------------------------- consensus


def build_consensus(
    forecast: pd.DataFrame,
    *,
    cycle: pd.Timestamp,
    actuals: pd.DataFrame | None = None,
    pipeline: pd.DataFrame | None = None,
    adjustments: pd.DataFrame | None = None,
    promotions: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
    random_state: int = 0,
    n_simulations: int = 2000,
) -> pd.DataFrame:
    """The consensus demand plan of a cycle.

    Parameters
    ----------
    forecast : DataFrame
        :meth:`sopkit.forecast.StatisticalForecaster.predict` output: ``sku,
        period, qty_forecast``, optional ``qty_q..`` quantile columns, ``model``,
        ``demand_class``.
    cycle : Timestamp or "YYYY-MM"
        The cycle month: pipeline and adjustment snapshots up to it are used,
        actuals before it.
    actuals, pipeline, adjustments, promotions, products : DataFrame, optional
        Contract tables (:data:`sopkit.contract.TABLES`).
    random_state : int
        Seed of the deal simulation.
    n_simulations : int
        Monte-Carlo draws per SKU-month with open deals.

    Returns
    -------
    DataFrame
        One row per SKU and forecast month, sorted by ``sku, period``:
        ``sku, period, qty_stat, announced_share, qty_stat_unannounced,
        qty_pipeline, qty_promo, qty_adjustment, qty_consensus``, the quantile
        columns of the forecast (now of the consensus), ``model`` and
        ``demand_class``. See the module docstring for each part.

    Raises
    ------
    DataError
        If a required column is missing or the forecast repeats a (sku, period).
    ParameterError
        On a bad cycle or ``n_simulations``.
    """
    cycle = cycle_month(cycle)
    if int(n_simulations) != n_simulations or n_simulations < 10:
        raise ParameterError(f"n_simulations must be a whole number >= 10, got {n_simulations!r}")
    _require(forecast, "forecast", ["sku", "period", "qty_forecast"])
    quantiles = quantile_levels(forecast)
    levels = np.array([q for q, _ in quantiles])
    q_columns = [c for _, c in quantiles]
    base = pd.DataFrame(
        {
            "sku": forecast["sku"].astype("string"),
            "period": _months(forecast["period"]),
            "qty_stat": pd.to_numeric(forecast["qty_forecast"]).astype(float).fillna(0.0),
            **{c: pd.to_numeric(forecast[c]).astype(float).fillna(0.0) for c in q_columns},
            "model": (forecast["model"] if "model" in forecast else pd.Series(
                "unknown", index=forecast.index)).astype("string"),
            "demand_class": (forecast["demand_class"] if "demand_class" in forecast else
                             pd.Series("unknown", index=forecast.index)).astype("string"),
        }
    )
    dup = base.duplicated(["sku", "period"])
    if dup.any():
        raise DataError([Problem("forecast", None, "sku, period", "duplicated (sku, period)",
                                 f"{s} {fmt_month(p)}")
                         for s, p in zip(base.loc[dup, "sku"], base.loc[dup, "period"],
                                         strict=True)])
    periods = pd.DatetimeIndex(np.sort(base["period"].unique()), name="period")
    if len(periods) == 0:
        periods = month_range(cycle, DEFAULT_HORIZON)

    # --- new products without history: a launch ramp
    if products is not None and not products.empty:
        with_demand = set()
        if actuals is not None:
            hist = _clean_actuals(actuals, cycle)
            with_demand = set(hist.loc[hist["qty"] > 0, "sku"])
        ramp = launch_forecast(products, _clean_actuals(actuals, cycle) if actuals is not None
                               else _NO_ACTUALS, periods, cycle=cycle)
        ramp = ramp.loc[~ramp["sku"].isin(with_demand), ["sku", "period", "qty_stat", "model"]]
        if not ramp.empty:
            factors = stats.gamma.ppf(levels, a=1 / NPI_CV**2, scale=NPI_CV**2) if len(
                levels) else np.array([])
            ramp = ramp.assign(
                **{c: ramp["qty_stat"] * factors[k] for k, c in enumerate(q_columns)},
                demand_class="new",
            )
            ramp["model"] = ramp["model"].astype("string")
            ramp["demand_class"] = ramp["demand_class"].astype("string")
            base = pd.concat([base[~base["sku"].isin(set(ramp["sku"]))], ramp],
                             ignore_index=True)

    # --- deals, adjustments: SKUs without a forecast still get rows
    deals = None
    shares = None
    if pipeline is not None and not pipeline.empty:
        if actuals is not None:
            outcomes = deal_outcomes(pipeline, actuals, cycle=cycle)
            calibration = calibrate_stages(pipeline, outcomes, cycle=cycle)
            first = _months(pipeline["snapshot"]).min()
            shares = announced_share(outcomes, actuals, cycle=cycle, first_snapshot=first)
        else:  # no track record: stated probabilities stand
            calibration = pd.DataFrame({"stage": pd.Series(dtype="string"),
                                        "win_rate": pd.Series(dtype=float),
                                        "weight": pd.Series(dtype=float)})
        deals = open_deals(pipeline, calibration, cycle=cycle, periods=periods)
    adjust = None
    if adjustments is not None and not adjustments.empty:
        _require(adjustments, "adjustments", ["snapshot", "sku", "period", "qty_delta"])
        adjust = pd.DataFrame({
            "snapshot": _months(adjustments["snapshot"]),
            "sku": adjustments["sku"].astype("string"),
            "period": _months(adjustments["period"]),
            "qty_adjustment": pd.to_numeric(adjustments["qty_delta"]).astype(float).fillna(0.0),
        })
        adjust = adjust[adjust["snapshot"] <= cycle]
        adjust = adjust[(adjust["snapshot"] == adjust["snapshot"].max())
                        & adjust["period"].isin(periods)]
        adjust = adjust.groupby(["sku", "period"], observed=True, as_index=False)[
            "qty_adjustment"].sum()
    extra = set()
    if deals is not None:
        extra |= set(deals["sku"])
    if adjust is not None:
        extra |= set(adjust["sku"])
    extra -= set(base["sku"])
    if extra:
        skus = sorted(extra)
        filler = pd.DataFrame({
            "sku": pd.array(np.repeat(skus, len(periods)), dtype="string"),
            "period": np.tile(periods.to_numpy(), len(skus)),
            "qty_stat": 0.0, **dict.fromkeys(q_columns, 0.0),
            "model": pd.array(["none"] * (len(skus) * len(periods)), dtype="string"),
            "demand_class": pd.array(["new"] * (len(skus) * len(periods)), dtype="string"),
        })
        base = pd.concat([base, filler], ignore_index=True)
    base = base.sort_values(["sku", "period"], ignore_index=True)

    # --- the parts
    if shares is not None and not shares.empty:
        base = base.merge(shares, on="sku", how="left")
    else:
        base["announced_share"] = 0.0
    base["announced_share"] = base["announced_share"].astype(float).fillna(0.0)
    base["qty_stat_unannounced"] = base["qty_stat"] * (1 - base["announced_share"])
    if deals is not None and not deals.empty:
        expected = deals.groupby(["sku", "period"], observed=True, as_index=False)[
            "qty_expected"].sum().rename(columns={"qty_expected": "qty_pipeline"})
        base = base.merge(expected, on=["sku", "period"], how="left")
    else:
        base["qty_pipeline"] = 0.0
    lift = _promotion_lift(promotions, periods)
    if lift is not None:
        base = base.merge(lift, on=["sku", "period"], how="left")
    else:
        base["lift"] = 0.0
    base["lift"] = base["lift"].astype(float).fillna(0.0)
    base["qty_promo"] = base["qty_stat"] * base["lift"]
    if adjust is not None and not adjust.empty:
        base = base.merge(adjust, on=["sku", "period"], how="left")
    else:
        base["qty_adjustment"] = 0.0
    for column in ("qty_pipeline", "qty_adjustment"):
        base[column] = base[column].astype(float).fillna(0.0)

    # --- lifecycle: the statistics fade before end of life, nothing after it
    if products is not None and not products.empty and "sku" in products:
        fade = phase_out_multiplier(base, products)
        if (fade < 1).any():
            for column in ["qty_stat", "qty_stat_unannounced", "qty_promo", *q_columns]:
                base[column] = base[column] * fade
        dead = _end_of_life_mask(base, products)
        if dead.any():
            for column in ["qty_stat", "qty_stat_unannounced", *PARTS[1:], *q_columns]:
                base.loc[dead, column] = 0.0
            base.loc[dead, "model"] = "eol"
            if deals is not None and not deals.empty:
                gone = base.loc[dead, ["sku", "period"]].assign(_dead=True)
                deals = deals.merge(gone, on=["sku", "period"], how="left")
                deals = deals[deals["_dead"].isna()].drop(columns="_dead")

    base["qty_consensus"] = np.clip(base[PARTS].sum(axis=1).to_numpy(), 0.0, None)

    # --- quantiles of the consensus
    if q_columns:
        stat_q = base[q_columns].to_numpy(dtype=float)
        factor = np.clip(1 - base["announced_share"] + base["lift"], 0.0, None).to_numpy()
        shift = base["qty_adjustment"].to_numpy(dtype=float)
        out = stat_q * factor[:, None] + shift[:, None]
        if deals is not None and not deals.empty:
            cell_key = pd.MultiIndex.from_frame(base[["sku", "period"]])
            deal_key = pd.MultiIndex.from_frame(deals[["sku", "period"]])
            row_of_deal = cell_key.get_indexer(deal_key)
            keep = row_of_deal >= 0
            cells, deal_cell = np.unique(row_of_deal[keep], return_inverse=True)
            rng = np.random.default_rng(random_state)
            out[cells] = _simulate_cells(
                stat_q[cells], levels, factor[cells], shift[cells], deal_cell,
                deals["qty"].to_numpy(dtype=float)[keep],
                deals["probability_calibrated"].to_numpy(dtype=float)[keep],
                len(cells), int(n_simulations), rng,
            )
        out = np.maximum.accumulate(np.clip(out, 0.0, None), axis=1)
        base[q_columns] = out

    columns = ["sku", "period", "qty_stat", "announced_share", "qty_stat_unannounced",
               "qty_pipeline", "qty_promo", "qty_adjustment", "qty_consensus", *q_columns,
               "model", "demand_class"]
    return base[columns].reset_index(drop=True)


def _promotion_lift(promotions: pd.DataFrame | None, periods: pd.DatetimeIndex):
    """Summed lift per (sku, period) of the promotions running in ``periods``."""
    if promotions is None or promotions.empty:
        return None
    _require(promotions, "promotions", ["sku", "start_period", "end_period", "lift"])
    start = _month_number(_months(promotions["start_period"]))
    end = _month_number(_months(promotions["end_period"]))
    month = _month_number(pd.Series(periods))
    inside = (month[None, :] >= start[:, None]) & (month[None, :] <= end[:, None])
    promo_i, period_i = np.nonzero(inside)
    frame = pd.DataFrame({
        "sku": pd.array(promotions["sku"].astype("string").to_numpy()[promo_i], dtype="string"),
        "period": periods.to_numpy()[period_i],
        "lift": pd.to_numeric(promotions["lift"]).to_numpy(dtype=float)[promo_i],
    })
    return frame.groupby(["sku", "period"], observed=True, as_index=False)["lift"].sum()


def _end_of_life_mask(base: pd.DataFrame, products: pd.DataFrame) -> np.ndarray:
    info = products.assign(sku=products["sku"].astype("string")).set_index("sku")
    dead = np.zeros(len(base), dtype=bool)
    if "eol_period" in info:
        eol = _months(info["eol_period"].reindex(base["sku"]).reset_index(drop=True))
        dead |= (base["period"].reset_index(drop=True) > eol).fillna(False).to_numpy()
    if "lifecycle_status" in info:
        status = info["lifecycle_status"].astype("string").reindex(base["sku"])
        dead |= (status == "discontinued").fillna(False).to_numpy()
    return dead


def explain(consensus: pd.DataFrame, sku: str, period: pd.Timestamp | str) -> str:
    """One sentence stating the parts of a SKU-month of :func:`build_consensus`.

    Raises
    ------
    ParameterError
        If the SKU-month is not in ``consensus``.
    """
    month = cycle_month(period)
    row = consensus[(consensus["sku"] == sku) & (consensus["period"] == month)]
    if row.empty:
        raise ParameterError(f"no consensus row for SKU {sku!r} in {fmt_month(month)}")
    r = row.iloc[0]
    text = (
        f"{sku} in {fmt_month(month)}: consensus {r['qty_consensus']:,.0f} = statistical "
        f"{r['qty_stat']:,.0f} ({r['model']}, {r['demand_class']})"
    )
    if r["announced_share"] > 0:
        text += (f" less the {r['announced_share']:.0%} usually announced as deals "
                 f"({r['qty_stat_unannounced']:,.0f} left)")
    text += (f" + pipeline {r['qty_pipeline']:,.0f} + promotion {r['qty_promo']:,.0f}"
             f" + adjustments {r['qty_adjustment']:,.0f}")
    if r["qty_consensus"] == 0 and r[PARTS].sum() < 0:
        text += " (floored at 0)"
    quantiles = quantile_levels(consensus)
    if len(quantiles) >= 2:
        (lo_q, lo_c), (hi_q, hi_c) = quantiles[0], quantiles[-1]
        text += (f"; {hi_q - lo_q:.0%} range {r[lo_c]:,.0f} to {r[hi_c]:,.0f}"
                 f" (q{lo_q * 100:g}–q{hi_q * 100:g})")
    return text + "."




# --------------------------------------------------------------------------- review


def open_deal_table(pipeline: pd.DataFrame, actuals: pd.DataFrame | None, *,
                    cycle: pd.Timestamp) -> pd.DataFrame:
    """The open deals of the latest snapshot for the demand review, with their notes.

    Returns
    -------
    DataFrame
        ``deal_id, sku, period, qty, stage, owner, probability,
        probability_calibrated, qty_expected, note`` (notes exactly as entered;
        the display layer escapes them), sorted by ``qty_expected`` descending.
    """
    columns = ["deal_id", "sku", "period", "qty", "stage", "owner", "probability",
               "probability_calibrated", "qty_expected", "note"]
    if pipeline is None or pipeline.empty:
        return pd.DataFrame(columns=columns)
    cycle = cycle_month(cycle)
    if actuals is not None and not actuals.empty:
        outcomes = deal_outcomes(pipeline, actuals, cycle=cycle)
        calibration = calibrate_stages(pipeline, outcomes, cycle=cycle)
    else:
        calibration = pd.DataFrame({"stage": pd.Series(dtype="string"),
                                    "win_rate": pd.Series(dtype=float),
                                    "weight": pd.Series(dtype=float)})
    periods = pd.DatetimeIndex(sorted(_months(pipeline["period"]).unique()))
    periods = periods[periods >= cycle]
    deals = open_deals(pipeline, calibration, cycle=cycle, periods=periods)
    extra = [c for c in ("owner", "note") if c in pipeline.columns]
    if extra:
        latest = pipeline[_months(pipeline["snapshot"]) == _months(pipeline["snapshot"])
                          [_months(pipeline["snapshot"]) <= cycle].max()]
        info = latest.assign(period=_months(latest["period"]))[
            ["deal_id", "sku", "period", *extra]].drop_duplicates(["deal_id", "sku", "period"])
        info = info.astype({"deal_id": "string", "sku": "string"})
        deals = deals.merge(info, on=["deal_id", "sku", "period"], how="left")
    for col in columns:
        if col not in deals.columns:
            deals[col] = pd.NA
    return deals[columns].sort_values("qty_expected", ascending=False,
                                      kind="stable").reset_index(drop=True)


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
        ``[by], period, qty_actual, qty_stat, qty_pipeline, qty_promo,
        qty_adjustment, qty_consensus`` (NaN where a measure does not apply:
        no plan in history months, no actuals in plan months).
    """
    keys = [by] if by else []
    measures = ["qty_stat", "qty_pipeline", "qty_promo", "qty_adjustment", "qty_consensus"]
    plan = demand_plan
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
    if "qty_actual" not in frame.columns:
        frame["qty_actual"] = np.nan
    return frame[[*keys, "period", "qty_actual", *measures]].sort_values(
        [*keys, "period"], ignore_index=True)


def largest_changes(demand_plan: pd.DataFrame, n: int = 10, explainer=None) -> pd.DataFrame:
    """The SKU-months where the consensus departs most from the statistical forecast.

    Returns
    -------
    DataFrame
        ``sku, period, qty_stat, qty_consensus, change, explanation`` — the
        ``n`` largest absolute changes, each with :func:`explain`'s sentence
        (or ``explainer(sku, period)``'s when given).
    """
    change = demand_plan["qty_consensus"] - demand_plan["qty_stat"]
    top = demand_plan.assign(change=change).reindex(
        change.abs().sort_values(ascending=False, kind="stable").index[:n])
    top = top[top["change"].abs() > 0]
    if explainer is None:
        explanations = [explain(demand_plan, row.sku, row.period) for row in top.itertuples()]
    else:  # e.g. a fitted LumpyDemandModel's explain(sku, period)
        explanations = [explainer(row.sku, row.period) for row in top.itertuples()]
    return top.assign(explanation=explanations)[
        ["sku", "period", "qty_stat", "qty_consensus", "change", "explanation"]
    ].reset_index(drop=True)


# ------------------------------------------------------- the lumpy-demand model's review


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
        the records; ``calibrated`` is what the model now applies to them).
    """
    records = model.deal_snapshots_[model.deal_snapshots_["resolved"]].copy()
    records["calibrated"] = model.calibrated_probability(records)
    records["won"] = records["won"].astype(float)

    def summary(frame: pd.DataFrame) -> dict:
        return {"n_deals": frame["deal_id"].nunique(), "n_records": len(frame),
                "stated": frame["probability"].mean(), "realised": frame["won"].mean(),
                "calibrated": frame["calibrated"].mean()}

    rows = [{by: key, **summary(part)} for key, part in records.groupby(by, sort=True)]
    rows.append({by: "all", **summary(records)})
    return pd.DataFrame(rows, columns=[by, "n_deals", "n_records", "stated", "realised",
                                       "calibrated"])


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
