"""The lumpy-demand model: how far to trust the pipeline and the overrides, learnt from history.

Statistics see the past; sales see the next big order. For SKUs whose demand
comes in a few large orders (project systems, framework call-offs) neither is
enough alone. :class:`LumpyDemandModel` blends the statistical forecast with
the open deals of the sales pipeline and the manual adjustments, and it learns
from the company's own history how much each of those is worth. For every SKU
and forecast month::

    qty_consensus = max(0, qty_stat × (1 − announced share × visible(k)) + qty_pipeline
                           + qty_promo + qty_adjustment)

(``k``: months from the pipeline snapshot to the forecast month.)

What it learns (each a table on the fitted model, names ending in ``_``):

``deal_outcomes_`` — what became of every past deal line
    When the pipeline records it (``outcome`` = won / lost on a row of a
    later snapshot, as a CRM export shows closed deals), the recorded
    outcome is used (``outcome_source = "recorded"``); a recorded win still
    lands in its best month of the window below, and a recorded loss can
    never claim an order. Otherwise the outcome is inferred from demand:
    a deal line (deal, SKU) that has left the pipeline is *won* when the
    SKU's demand, **above its usual level**, reached ``win_share`` of the
    deal quantity in a month when the deal can have landed: from the last
    snapshot that still listed it to the first that no longer did, and within
    ``slip_window`` months of its last expected month. The usual level
    (*baseline*) is the median demand of nearby months (± 6) in which no deal
    can have landed. Measuring the excess matters: a best-seller that sells
    1,000 a month would otherwise "win" every 50-unit deal. One month's excess
    is used up by the first deal that claims it, so two deals cannot both be
    won with the same order. Failure modes: an unannounced order in the same
    month makes a lost deal look won; a won deal delivered later than the
    month after it left the pipeline, or partly, looks lost; a SKU whose
    every month holds a deal has no clean baseline (the median of all nearby
    months is used instead).

    The first failure is measured and allowed for (``false_wins=True``): the
    SKU's deal-free months show how often demand alone clears ``win_share``
    of the deal's quantity (share ``q``), so a line whose window spans ``m``
    months would look won with chance ``f = 1 − (1 − q)^m`` even if lost. An
    inferred win then counts as won with weight ``p / (p + (1 − p) f)``
    (``won_weight``; Bayes with the stated probability ``p`` as the prior)
    in the calibration below; recorded wins count 1, losses 0. The second
    failure (missed wins) is not corrected: nothing in the data measures it.

``calibration_`` — stated versus realised win probability
    Sales state a probability; history tells what such deals really did. A
    curve (realised rate rising with the stated probability: a logistic fit in
    the log-odds bent towards an isotonic regression as deals accumulate) is
    fitted to all resolved deals, then per stage, then per stage and owner
    (``calibrate_by``). Each finer curve is shrunk towards the coarser one
    with weight ``n / (n + prior_strength)`` (``n`` deals behind it), and a
    group with fewer than ``min_deals`` resolved deals uses the coarser curve.
    Without ``min_deals`` resolved deals at all, stated probabilities stand.

``slip_`` — how late deals land
    The distribution of *landing month − expected month* of won deals, per
    how many months ahead the deal was expected when it was listed (shrunk
    towards the overall distribution the same way). Only deals that have
    landed are seen, so recent ones are seen only if they came early: the
    distribution is estimated under that right truncation, not as a plain
    histogram. An open deal's expected quantity is spread over the
    neighbouring months by it — conditioned on what the snapshot says: months
    before the snapshot are ruled out (the rest renormalised), and the share
    that may have landed between the snapshot and the cycle is dropped, since
    such an order is in the actuals already.

``announced_share_`` — how much of a SKU's past demand sales had announced
    Demand of won deals listed at least a month before they landed, as a share
    of the SKU's demand since the first pipeline snapshot; shrunk towards the
    family's (or all pipeline SKUs') mean share by the number of resolved
    deals. The statistical forecast was fitted on history that holds those
    orders, so the part of them the pipeline holds now is taken off it
    before the open deals are added: no order is counted twice.

``announced_lead_`` — how far ahead those orders were listed
    ``visible(k)``: the share of announced demand already in the pipeline
    ``k`` months before it landed (a product-limit estimate that allows for
    the pipeline's short memory, per family shrunk towards all families'; see
    :func:`announced_lead_profile`). A forecast month ``k`` months after the
    snapshot gives up ``announced share × visible(k)`` of its statistics:
    orders that will be listed later are not in the pipeline yet, so the
    statistics keep them, and months beyond the longest lead keep all of
    their statistics instead of losing the announced share to deals no one
    has listed.

``adjustment_bias_`` — how much of an override usually comes true
    Per owner and direction (up or down) ``β = clip(Σ δ·(actual − stat) / Σ δ²,
    0, 1)`` over past adjustments ``δ`` whose month has actuals, shrunk towards
    the direction's overall β by the effective number of adjustments
    ``(Σ δ²)² / Σ δ⁴`` (a few big adjustments on a best-seller count as few).
    ``stat`` is the statistical forecast the adjustment was made against
    (``stat_history``: archived forecasts, see :mod:`sopkit.archive`); without
    an archived value, the SKU's mean demand of the six months before the
    adjustment, times the target month's seasonal index, is used instead (a
    naive stand-in: its errors land on the adjuster). A new adjustment counts
    ``β × δ``. With no track record at all an adjustment is taken at face value (β = 1).

Uncertainty: the quantile columns of the statistical forecast (``qty_q10``...)
become quantiles of the consensus by Monte Carlo: the statistical part drawn
from its quantiles, each open deal won with its calibrated probability (all
lines of a deal together) and landing in a month drawn from ``slip_``.
Seeded by ``random_state``; quantiles never decrease with the level and are
never negative. The draws are counter-based: each SKU-month's and each deal's
random numbers are a hash of ``random_state``, its key (SKU and month, deal
id) and the draw's number (:func:`_uniforms`), so a band depends only on its
own SKU's deal lines — not on the order of the pipeline's rows nor on other
SKUs' deals. Large pipelines are therefore simulated in groups of whole SKUs
(:data:`SIMULATION_CELLS` SKU-months, :data:`SIMULATION_LINES` lines), which
bounds the memory and changes no draw.

Known limits: without a recorded ``outcome`` deal outcomes are inferred from
demand; the chance of a false win is allowed for, that of a missed win is
not (on the sample company the two roughly cancelled, so the correction
leaves its probabilities a little low: docs/benchmarks.md); owners and
stages are assumed to mean the same thing over the history; adjustments
by two people to the same SKU-month are each credited with the whole
surprise; orders listed later than usual are added back as
statistics, a mean spread over the months, which on sparse series costs
absolute error at short leads against taking the whole share off every
month (measured in docs/benchmarks.md, "Where it wins and loses", with the
far months that trade buys).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from sopkit.errors import DataError, ParameterError, Problem, whole_number
from sopkit.lifecycle import launch_forecast, phase_out_multiplier, run_rate_cap
from sopkit.periods import cycle_month, fmt_month

BASELINE_RADIUS = 6  # months either side used for a deal's baseline demand
MIN_BASELINE_MONTHS = 4  # deal-free months needed for a clean baseline
FALSE_WIN_MONTHS = 6  # deal-free months needed to estimate a SKU's false-win chance
TRAILING_MONTHS = 6  # stand-in statistical forecast for adjustments without an archive
MONTHS_AHEAD_BUCKETS = (0, 1, 2, 3, 6)  # lower bounds of the months-ahead classes of slip_
GRID = np.round(np.linspace(0.0, 1.0, 101), 2)  # stated probabilities of calibration_
ISOTONIC_PRIOR = 50.0  # deals at which a calibration curve's own shape weighs half
ALL = "*"  # group label meaning "every owner / stage"
NPI_CV = 0.5  # coefficient of variation assumed for a new product's monthly demand
SLIP_WINDOW = (-2, 6)  # default months a deal may land before / after its expected month
SIMULATION_CELLS = 4096  # SKU-months simulated at once (memory: cells × n_simulations)
SIMULATION_LINES = 2048  # deal lines simulated at once (memory: lines × n_simulations)
_QUANTILE_RE = re.compile(r"^qty_q(\d+)(?:_(\d+))?$")
UNKNOWN = "unspecified"

OUTCOME_COLUMNS = [
    "deal_id", "sku", "owner", "stage", "first_snapshot", "last_snapshot", "n_snapshots",
    "period", "qty", "probability", "probability_mean", "probability_history", "resolved",
    "won", "outcome_source", "landing_period", "baseline", "qty_excess", "slip",
    "false_win_chance", "won_weight",
]


# --------------------------------------------------------------------------- helpers


def _month_number(values) -> np.ndarray:
    stamps = pd.to_datetime(pd.Series(values))
    return (stamps.dt.year * 12 + stamps.dt.month - 1).to_numpy(dtype=np.int64)


def _month_stamp(numbers) -> pd.Series:
    numbers = np.asarray(numbers)
    valid = ~pd.isna(numbers)
    out = pd.Series(pd.NaT, index=range(len(numbers)), dtype="datetime64[ns]")
    if valid.any():
        n = numbers[valid].astype(np.int64)
        out[valid] = pd.to_datetime(pd.DataFrame({"year": n // 12, "month": n % 12 + 1,
                                                  "day": 1})).to_numpy()
    return out


def _months(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.to_period("M").dt.to_timestamp()


def _require(frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError([Problem(name, None, c, "required column is missing") for c in missing])


def quantile_levels(frame: pd.DataFrame) -> list[tuple[float, str]]:
    """``(level, column)`` of the ``qty_q..`` columns of a frame, sorted by level."""
    found = []
    for column in frame.columns:
        match = _QUANTILE_RE.match(str(column))
        if match:
            text = match.group(1) + ("." + match.group(2) if match.group(2) else "")
            found.append((float(text) / 100, column))
    return sorted(found)


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


def _text(frame: pd.DataFrame, column: str, default: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(default, index=frame.index, dtype="string")
    return frame[column].astype("string").fillna(default)


def clean_pipeline(pipeline: pd.DataFrame | None, cycle: pd.Timestamp,
                   extra: Sequence[str] = ()) -> pd.DataFrame:
    """Pipeline rows of snapshots up to the cycle, typed, with month numbers.

    Returns
    -------
    DataFrame
        ``snapshot, deal_id, sku, period, qty, probability, owner, stage,
        outcome`` (``won``/``lost`` as recorded by the CRM, NA while open) plus
        the month numbers ``snap_n`` and ``period_n`` (months since year 0),
        and the ``extra`` columns the pipeline has, as text (blank: unspecified).
    """
    columns = ["snapshot", "deal_id", "sku", "period", "qty", "probability", "owner", "stage",
               "outcome"]
    if pipeline is None or pipeline.empty:
        frame = pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
        frame["snapshot"] = frame["period"] = pd.Series(dtype="datetime64[ns]")
        frame["qty"] = frame["probability"] = pd.Series(dtype=float)
        return frame.assign(snap_n=pd.Series(dtype=np.int64), period_n=pd.Series(dtype=np.int64))
    _require(pipeline, "pipeline", ["snapshot", "deal_id", "sku", "period", "qty", "probability"])
    frame = pd.DataFrame({
        "snapshot": _months(pipeline["snapshot"]),
        "deal_id": pipeline["deal_id"].astype("string"),
        "sku": pipeline["sku"].astype("string"),
        "period": _months(pipeline["period"]),
        "qty": pd.to_numeric(pipeline["qty"]).astype(float),
        "probability": pd.to_numeric(pipeline["probability"]).astype(float).clip(0, 1),
        "owner": _text(pipeline, "owner", UNKNOWN),
        "stage": _text(pipeline, "stage", UNKNOWN),
        "outcome": (pipeline["outcome"].astype("string").str.strip().str.lower()
                    .replace("", pd.NA) if "outcome" in pipeline.columns
                    else pd.Series(pd.NA, index=pipeline.index, dtype="string")),
        **{c: pipeline[c].astype("string").fillna(UNKNOWN) for c in extra
           if c in pipeline.columns and c not in ("owner", "stage")},
    })
    # one order whatever the export's: every sum over lines comes out to the same bits
    frame = frame[frame["snapshot"] <= cycle].sort_values(
        ["snapshot", "deal_id", "sku", "period", "qty", "probability"], kind="stable",
        ignore_index=True)
    frame["snap_n"] = _month_number(frame["snapshot"])
    frame["period_n"] = _month_number(frame["period"])
    return frame


def clean_actuals(actuals: pd.DataFrame, cycle: pd.Timestamp) -> pd.DataFrame:
    """Actuals before the cycle, summed per ``sku, period`` (negative quantities as 0)."""
    _require(actuals, "actuals", ["sku", "period", "qty"])
    frame = pd.DataFrame({
        "sku": actuals["sku"].astype("string"),
        "period": _months(actuals["period"]),
        "qty": pd.to_numeric(actuals["qty"]).astype(float).fillna(0.0).clip(lower=0),
    })
    frame = frame[frame["period"] < cycle]
    return frame.groupby(["sku", "period"], as_index=False, observed=True)["qty"].sum()


class _Demand:
    """Dense demand matrix (SKU × month number), zero where no actual was recorded."""

    def __init__(self, actuals: pd.DataFrame, skus=None):
        self.skus = pd.Index(sorted(set(actuals["sku"]) | set(skus if skus is not None else [])))
        months = _month_number(actuals["period"]) if len(actuals) else np.array([0])
        self.start = int(months.min())
        self.stop = int(months.max()) + 1  # one past the last month of actuals
        self.has_data = len(actuals) > 0
        self.qty = np.zeros((len(self.skus), max(self.stop - self.start, 0)))
        if len(actuals):
            rows = self.skus.get_indexer(actuals["sku"])
            np.add.at(self.qty, (rows, months - self.start), actuals["qty"].to_numpy(float))

    @property
    def last(self) -> int:
        return self.stop - 1


def _bucket(months_ahead: np.ndarray) -> np.ndarray:
    edges = np.asarray(MONTHS_AHEAD_BUCKETS)
    return np.searchsorted(edges, np.maximum(months_ahead, 0), side="right") - 1


def _bucket_labels() -> list[str]:
    labels = []
    edges = MONTHS_AHEAD_BUCKETS
    for k, lo in enumerate(edges):
        hi = edges[k + 1] - 1 if k + 1 < len(edges) else None
        labels.append(f"{lo}+" if hi is None else (str(lo) if hi == lo else f"{lo}-{hi}"))
    return labels


# --------------------------------------------------------------------------- deal outcomes


def deal_outcomes(
    pipeline: pd.DataFrame, demand: _Demand, *, slip_window: tuple[int, int],
    win_share: float, false_wins: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What became of each deal line, and the slip seen in each snapshot.

    Parameters
    ----------
    pipeline : DataFrame
        :func:`clean_pipeline` output.
    demand : _Demand
        Actuals before the cycle.
    false_wins : bool
        Estimate each inferred win's ``false_win_chance`` and weigh it by
        ``won_weight`` (see the module docstring); off, ``won_weight`` is 1 for
        every win.

    Returns
    -------
    (DataFrame, DataFrame)
        Outcomes, one row per deal line (columns :data:`OUTCOME_COLUMNS`;
        ``slip`` = landing − last expected month, NaN unless won), and the
        snapshot rows ``snapshot, deal_id, sku, period, months_ahead,
        probability, stage, owner, resolved, won, won_weight, landing_period,
        slip`` (slip = landing − the month expected in that snapshot).
    """
    slip_lo, slip_hi = slip_window
    key = ["deal_id", "sku"]
    if pipeline.empty:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in OUTCOME_COLUMNS})
        return empty, pd.DataFrame(columns=["snapshot", *key, "period", "months_ahead",
                                            "probability", "stage", "owner", "resolved",
                                            "won", "won_weight", "landing_period", "slip"])
    # Rows with a recorded outcome close the deal line; the open rows tell its history.
    closed = pipeline["outcome"].notna() if "outcome" in pipeline.columns else pd.Series(
        False, index=pipeline.index)
    recorded = (pipeline[closed].sort_values("snap_n", kind="stable")
                .groupby(key, observed=True)["outcome"].last())
    rows = pipeline[~closed].sort_values(["deal_id", "sku", "snap_n", "period_n"], kind="stable")
    # a line split over months in one snapshot: latest month, total quantity
    per_snap = rows.groupby([*key, "snap_n"], sort=True, observed=True).agg(
        snapshot=("snapshot", "first"), period_n=("period_n", "max"), qty=("qty", "sum"),
        probability=("probability", "mean"), owner=("owner", "last"),
        stage=("stage", "last")).reset_index()
    grouped = per_snap.groupby(key, sort=True, observed=True)
    lines = grouped.agg(
        owner=("owner", "last"), stage=("stage", "last"), first_n=("snap_n", "min"),
        last_n=("snap_n", "max"), n_snapshots=("snap_n", "size"), period_n=("period_n", "last"),
        qty=("qty", "last"), probability=("probability", "last"),
        probability_mean=("probability", "mean"),
        probability_history=("probability", lambda s: " → ".join(f"{p:.2f}" for p in s)),
    ).reset_index()
    snapshots = np.unique(pipeline["snap_n"].to_numpy())
    following = np.searchsorted(snapshots, lines["last_n"].to_numpy(), side="right")
    left = following < len(snapshots)  # a later snapshot no longer lists the line
    next_n = np.where(left, snapshots[np.minimum(following, len(snapshots) - 1)], -1)
    expected = lines["period_n"].to_numpy()
    lo = np.maximum(lines["last_n"].to_numpy(), expected + slip_lo)
    hi = np.minimum(next_n, expected + slip_hi)
    empty_window = left & (hi < lo)
    resolved = left & (empty_window | (hi <= demand.last)) & demand.has_data
    outcome = recorded.reindex(pd.MultiIndex.from_frame(lines[key])).astype("string")
    said_won = outcome.eq("won").fillna(False).to_numpy(dtype=bool)
    said_lost = outcome.eq("lost").fillna(False).to_numpy(dtype=bool)
    resolved = resolved | said_won | said_lost
    left = left | said_won | said_lost

    # --- baseline: median of nearby months in which no deal can have landed
    sku_row = demand.skus.get_indexer(lines["sku"])
    n_months = demand.qty.shape[1]
    busy = np.zeros(demand.qty.shape, dtype=bool)
    for r, a, b, ok in zip(sku_row, lo, hi, left & ~empty_window, strict=True):
        if ok:
            busy[r, max(a - demand.start, 0):max(min(b - demand.start + 1, n_months), 0)] = True
    baseline = np.zeros(demand.qty.shape)
    involved = np.unique(sku_row[left])
    for m in range(n_months):
        a, b = max(m - BASELINE_RADIUS, 0), min(m + BASELINE_RADIUS + 1, n_months)
        window = demand.qty[involved, a:b]
        free = ~busy[involved, a:b]
        clean = np.where(free, window, np.nan)
        enough = free.sum(axis=1) >= MIN_BASELINE_MONTHS
        level = np.median(window, axis=1)
        if enough.any():
            level[enough] = np.nanmedian(clean[enough], axis=1)
        baseline[involved, m] = level
    remaining = demand.qty - baseline
    # Chance that an order nobody announced alone makes a line look won: the share of the
    # SKU's deal-free months whose excess reaches win_share × qty, over the window's months.
    false_chance = np.zeros(len(lines))
    if false_wins:
        span = demand.last - demand.start + 1
        qty_all = lines["qty"].to_numpy(float)
        for i in np.flatnonzero(resolved & ~said_won & ~said_lost & ~empty_window):
            r = sku_row[i]
            if r < 0:
                continue
            free = ~busy[r, :span]
            if free.sum() < FALSE_WIN_MONTHS:
                continue
            q = float(np.mean(remaining[r, :span][free] >= win_share * qty_all[i]))
            months = max(min(hi[i], demand.last) - max(lo[i], demand.start) + 1, 1)
            false_chance[i] = 1 - (1 - q) ** months

    # --- allocation: each month's excess goes to the first deal that claims it
    won = np.zeros(len(lines), dtype=bool)
    landing = np.full(len(lines), np.nan)
    line_baseline = np.full(len(lines), np.nan)
    excess = np.full(len(lines), np.nan)
    qty = lines["qty"].to_numpy(float)
    # Lines the CRM recorded as won claim first (they landed, in their best month);
    # lines recorded as lost claim nothing, so an unannounced order cannot make them won.
    won[said_won] = True
    order = np.lexsort((lines["deal_id"].to_numpy(str), lines["last_n"].to_numpy(), next_n,
                        ~said_won))
    for i in order:
        if not resolved[i] or said_lost[i] or (empty_window[i] and not said_won[i]):
            continue
        r = sku_row[i]
        a, b = lo[i] - demand.start, min(hi[i], demand.last) - demand.start
        if said_won[i] and hi[i] < lo[i]:  # left before its window: look from the snapshot on
            a, b = lines["last_n"].to_numpy()[i] - demand.start, min(
                lines["last_n"].to_numpy()[i] + slip_hi, demand.last) - demand.start
        if r < 0 or b < 0 or b < max(a, 0):
            continue
        a = max(a, 0)
        best = a + int(np.argmax(remaining[r, a:b + 1]))
        line_baseline[i] = baseline[r, best]
        excess[i] = remaining[r, best]
        if said_won[i] or remaining[r, best] >= win_share * qty[i]:
            won[i] = True
            landing[i] = best + demand.start
            remaining[r, best] -= qty[i]

    out = lines.assign(
        first_snapshot=_month_stamp(lines["first_n"]).to_numpy(),
        last_snapshot=_month_stamp(lines["last_n"]).to_numpy(),
        period=_month_stamp(expected).to_numpy(), resolved=resolved, won=won,
        outcome_source=np.where(said_won | said_lost, "recorded",
                                np.where(resolved, "inferred", "")),
        landing_period=_month_stamp(landing).to_numpy(), baseline=line_baseline,
        qty_excess=excess, slip=landing - expected,
    )
    # How sure a win is: an inferred win is a real one with probability
    # p / (p + (1 − p) × f) (Bayes, p the stated probability, f the false-win chance).
    p_stated = lines["probability_mean"].to_numpy(float)
    sure = p_stated / np.maximum(p_stated + (1 - p_stated) * false_chance, 1e-12)
    out["false_win_chance"] = np.where(won & ~said_won, false_chance, 0.0)
    out["won_weight"] = np.where(won, np.where(said_won, 1.0, sure), 0.0)
    out = out[OUTCOME_COLUMNS]

    snaps = per_snap.merge(
        out[[*key, "resolved", "won", "won_weight", "landing_period"]].assign(landing_n=landing),
        on=key)
    snaps["period"] = _month_stamp(snaps["period_n"]).to_numpy()
    snaps["months_ahead"] = snaps["period_n"] - snaps["snap_n"]
    snaps["slip"] = snaps["landing_n"] - snaps["period_n"]
    snaps = snaps[["snapshot", *key, "period", "months_ahead", "probability", "stage", "owner",
                   "resolved", "won", "won_weight", "landing_period", "slip"]]
    return out.reset_index(drop=True), snaps.reset_index(drop=True)


# --------------------------------------------------------------------------- calibration


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 0.01, 0.99)
    return np.log(p / (1 - p))


def _calibration_curve(stated: np.ndarray, won: np.ndarray) -> np.ndarray:
    """Realised win rate as a function of the stated probability, on :data:`GRID`.

    Two fits of the same deals: Platt scaling — a logistic curve in the
    stated probability's log-odds, fitted to Platt's smoothed targets
    ``(N₊ + 1) / (N₊ + 2)`` for won and ``1 / (N₋ + 2)`` for lost deals, so it
    stays finite when wins and losses separate — and an isotonic regression
    (any rising shape, but a staircase that follows every accident of a
    small sample). The curve is the isotonic one weighted
    ``n / (n + ISOTONIC_PRIOR)`` plus the logistic one for the rest: its own
    shape is trusted as deals accumulate. With one stated value, or a
    falling logistic fit (higher stated, fewer wins), the logistic part is
    flat: the mean of the smoothed targets. On held-out deals
    this blend beat the isotonic curve alone (``benchmarks/lumpy_blend.py``,
    calibration table).
    """
    y = won.astype(float)
    isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    iso = isotonic.fit(stated, y).predict(GRID)
    n_won, n_lost = y.sum(), len(y) - y.sum()
    # (a deal's label may be a probability of having been won: its share of each target)
    target = y * (n_won + 1) / (n_won + 2) + (1 - y) / (n_lost + 2)
    x = np.tile(_logit(stated), 2)[:, None]
    labels = np.repeat([1, 0], len(y))
    platt = np.full(len(GRID), target.mean())  # the logistic fit without a slope
    if len(np.unique(stated)) > 1:
        logistic = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000)
        logistic.fit(x, labels, sample_weight=np.concatenate([target, 1 - target]))
        if logistic.coef_[0, 0] > 0:  # else higher stated, fewer wins: keep it flat
            platt = logistic.predict_proba(_logit(GRID)[:, None])[:, 1]
    weight = len(y) / (len(y) + ISOTONIC_PRIOR)
    return weight * iso + (1 - weight) * platt


def calibration_observations(snapshots: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """What the calibration curves are fitted on: one row per resolved deal line and group.

    Each resolved line counts once per group of ``by`` it was listed under
    (e.g. once per stage it passed through), with the mean probability stated
    there; ``won`` is the line's ``won_weight`` when the snapshots have one
    (an inferred win counts with the chance it was not an unannounced order),
    else its ``won`` flag.

    Returns
    -------
    DataFrame
        ``deal_id, sku, <by>..., probability, won``.
    """
    by = list(by)
    resolved = snapshots[snapshots["resolved"].astype(bool)]
    label = "won_weight" if "won_weight" in resolved.columns else "won"
    return resolved.groupby(["deal_id", "sku", *by], observed=True, sort=True).agg(
        probability=("probability", "mean"), won=(label, "first")).reset_index()


def calibrate(
    snapshots: pd.DataFrame, *, by: Sequence[str], min_deals: int, prior_strength: float,
) -> pd.DataFrame:
    """Stated → realised win probability curves, global and per group of ``by``.

    Each resolved deal line counts once per group (e.g. stage and owner) it
    was listed under, with the mean probability stated there. Curves are
    nested: global, then ``by[:1]``, then ``by[:2]``...; each is a
    :func:`_calibration_curve` shrunk towards its parent with weight ``n / (n +
    prior_strength)``; groups with fewer than ``min_deals`` deals inherit the
    parent's curve, and a global curve with too few deals is the identity.

    Returns
    -------
    DataFrame
        One row per group and stated probability of :data:`GRID`: ``level``
        (0 = global), one column per ``by`` (``"*"`` above the group's level),
        ``n_deals, weight, stated_probability, realised_probability`` (the
        group's own curve, NaN without enough deals) and
        ``calibrated_probability``.
    """
    by = list(by)
    obs = calibration_observations(snapshots, by)
    frames = []
    curves: dict[tuple, np.ndarray] = {}

    def emit(level, group, n, weight, raw, curve):
        labels = dict(zip(by, list(group) + [ALL] * (len(by) - len(group)), strict=True))
        frames.append(pd.DataFrame({
            "level": level, **labels, "n_deals": n, "weight": weight,
            "stated_probability": GRID,
            "realised_probability": raw if raw is not None else np.nan,
            "calibrated_probability": curve}))

    n = len(obs)
    if n >= min_deals:
        raw = _calibration_curve(obs["probability"].to_numpy(), obs["won"].to_numpy(float))
        curves[()] = raw
        emit(0, (), n, 1.0, raw, raw)
    else:
        curves[()] = GRID.astype(float)
        emit(0, (), n, 0.0, None, curves[()])
    for depth in range(1, len(by) + 1):
        keys = by[:depth]
        for group, part in obs.groupby(keys, observed=True, sort=True):
            group = tuple(group) if isinstance(group, tuple) else (group,)
            parent = curves[group[:-1]]
            n = len(part)
            if n >= min_deals:
                raw = _calibration_curve(part["probability"].to_numpy(),
                                         part["won"].to_numpy(float))
                weight = n / (n + prior_strength) if n + prior_strength > 0 else 1.0
                curve = weight * raw + (1 - weight) * parent
            else:
                raw, weight, curve = None, 0.0, parent
            curves[group] = curve
            emit(depth, group, n, weight, raw, curve)
    frame = pd.concat(frames, ignore_index=True)
    for column in by:
        frame[column] = frame[column].astype("string")
    return frame


def apply_calibration(calibration: pd.DataFrame, deals: pd.DataFrame,
                      by: Sequence[str]) -> np.ndarray:
    """Calibrated probabilities of ``deals`` (``probability`` and the ``by`` columns).

    Each deal uses the most specific curve of ``calibration`` (see
    :func:`calibrate`) that exists for its groups, interpolated linearly
    between the stated probabilities of the grid.
    """
    by = list(by)
    curves = {}
    for _, part in calibration.groupby(["level", *by], observed=True, sort=False):
        first = part.iloc[0]
        group = tuple(first[c] for c in by[:int(first["level"])])
        curves[group] = (part["stated_probability"].to_numpy(float),
                         part["calibrated_probability"].to_numpy(float))
    out = np.empty(len(deals))
    stated = deals["probability"].to_numpy(float)
    labels = [deals[c].astype("string").fillna(UNKNOWN).to_numpy() for c in by]
    for i in range(len(deals)):
        group = tuple(str(values[i]) for values in labels)
        while group not in curves:
            group = group[:-1]
        x, y = curves[group]
        out[i] = np.interp(stated[i], x, y)
    return out


# --------------------------------------------------------------------------- slip


def _truncated_pmf(slip: np.ndarray, limit: np.ndarray, weight: np.ndarray,
                   size: int) -> np.ndarray:
    """Distribution of slip classes ``0 .. size-1`` seen only up to each row's ``limit``.

    A deal is in the data only once it has landed, so a deal expected
    recently shows up only if it landed early: a plain histogram of the
    landed deals over-weights early landings (right truncation). The
    reverse-time product-limit estimate (Lagakos, Barraj & De Gruttola, 1988)
    corrects it: ``P(S = j | S <= j)`` is estimated from the rows that could
    have shown slip ``j`` (``limit >= j``) and landed by then (``slip <= j``);
    ``P(S <= j - 1) = P(S <= j) × (1 − that)``, from ``P(S <= size-1) = 1``
    down. Rows that could show every class weigh as in a histogram; without
    truncation the result is the histogram.
    """
    below = np.ones(size)  # P(S <= j)
    for j in range(size - 1, 0, -1):
        risk = (limit >= j) & (slip <= j)
        total = weight[risk].sum()
        hazard = weight[risk & (slip == j)].sum() / total if total > 0 else 0.0
        below[j - 1] = below[j] * (1.0 - hazard)
    return np.diff(below, prepend=0.0)  # sums to P(S <= size-1) = 1


def slip_distribution(
    snapshots: pd.DataFrame, *, slip_window: tuple[int, int], min_deals: int,
    prior_strength: float, last: int | None = None,
) -> pd.DataFrame:
    """Probability of each slip (landing − expected month), overall and per months-ahead class.

    Each won deal line weighs 1 overall and 1 in every months-ahead class it
    was listed in (its snapshots share that weight). Slips outside
    ``slip_window`` count at the nearest edge. Only deals that have landed
    are known, so a snapshot row expected in month ``e`` can show a slip of
    at most ``last − e`` (``last``: month number of the last actuals); the
    distribution is estimated under that right truncation
    (:func:`_truncated_pmf`) instead of as a histogram, which would make
    deals look earlier than they are. A class with at least ``min_deals``
    deal lines gets its own distribution, shrunk towards the overall one with
    weight ``n / (n + prior_strength)``; others use the overall one. Without
    any won deal, deals land as expected (slip 0).

    Returns
    -------
    DataFrame
        ``months_ahead`` (``"all"`` or a class such as ``"3-5"``), ``bucket``
        (-1 for all), ``slip, n_deals, weight, probability_raw, probability``.
    """
    lo, hi = slip_window
    offsets = np.arange(lo, hi + 1)
    won = snapshots[snapshots["won"].astype(bool) & snapshots["slip"].notna()].copy()
    won["slip_c"] = np.clip(won["slip"].to_numpy(float), lo, hi).astype(int) - lo
    limit = (np.full(len(won), hi) if last is None or won.empty
             else np.clip(last - _month_number(won["period"]), lo, hi))
    won["limit_c"] = np.maximum(limit - lo, won["slip_c"].to_numpy())
    won["bucket"] = _bucket(won["months_ahead"].to_numpy())

    def histogram(part: pd.DataFrame) -> tuple[np.ndarray, int]:
        weight = 1.0 / part.groupby(["deal_id", "sku"], observed=True)["slip_c"].transform("size")
        pmf = _truncated_pmf(part["slip_c"].to_numpy(), part["limit_c"].to_numpy(),
                             weight.to_numpy(float), len(offsets))
        return pmf, part.groupby(["deal_id", "sku"], observed=True).ngroups

    if won.empty:
        overall, n_all = (offsets == 0).astype(float), 0
        raw_all = np.full(len(offsets), np.nan)
    else:
        overall, n_all = histogram(won)
        raw_all = overall
    rows = [pd.DataFrame({"months_ahead": "all", "bucket": -1, "slip": offsets,
                          "n_deals": n_all, "weight": 1.0, "probability_raw": raw_all,
                          "probability": overall})]
    for b, label in enumerate(_bucket_labels()):
        part = won[won["bucket"] == b]
        n = part.groupby(["deal_id", "sku"], observed=True).ngroups if len(part) else 0
        if n >= min_deals:
            raw, _ = histogram(part)
            weight = n / (n + prior_strength) if n + prior_strength > 0 else 1.0
            pmf = weight * raw + (1 - weight) * overall
        else:
            raw, weight, pmf = np.full(len(offsets), np.nan), 0.0, overall
        rows.append(pd.DataFrame({"months_ahead": label, "bucket": b, "slip": offsets,
                                  "n_deals": n, "weight": weight, "probability_raw": raw,
                                  "probability": pmf}))
    return pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------- announced share


def announced_shares(
    outcomes: pd.DataFrame, demand: _Demand, *, first_snapshot: int | None,
    prior_strength: float, families: pd.Series | None = None,
) -> pd.DataFrame:
    """Share of each pipeline SKU's demand that sales had announced as a deal beforehand.

    Over the months from the first pipeline snapshot + 1 to the last month of
    actuals: Σ quantity of won deal lines that landed then and had been listed
    at least a month before landing, over Σ demand (capped at 1). The raw
    share is shrunk towards the mean raw share of the SKU's family (or of all
    pipeline SKUs when the family has fewer than two) with weight ``n / (n +
    prior_strength)``, ``n`` the SKU's resolved deal lines. SKUs without a
    resolved deal line are not listed (share 0).

    Returns
    -------
    DataFrame
        ``sku, family, n_deals, qty_announced, qty_demand, share_raw, prior,
        weight, announced_share``.
    """
    columns = ["sku", "family", "n_deals", "qty_announced", "qty_demand", "share_raw", "prior",
               "weight", "announced_share"]
    resolved = outcomes[outcomes["resolved"].astype(bool)]
    if resolved.empty or first_snapshot is None or not demand.has_data:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns}).astype(
            {"sku": "string", "family": "string"})
    start = first_snapshot + 1
    resolved, counted, _ = _announced_lines(outcomes, demand, first_snapshot)
    skus = pd.Index(sorted(resolved["sku"].unique()))
    announced = resolved[counted].groupby("sku", observed=True)["qty"].sum().reindex(
        skus, fill_value=0.0)
    n_deals = resolved.groupby("sku", observed=True).size().reindex(skus, fill_value=0)
    a = max(start - demand.start, 0)
    rows = demand.skus.get_indexer(skus)
    total = np.where(rows >= 0, demand.qty[np.maximum(rows, 0), a:].sum(axis=1), 0.0)
    raw = np.where(total > 0, np.minimum(announced.to_numpy() / np.where(total > 0, total, 1),
                                         1.0), 0.0)
    frame = pd.DataFrame({"sku": skus.astype("string"), "n_deals": n_deals.to_numpy(),
                          "qty_announced": announced.to_numpy(), "qty_demand": total,
                          "share_raw": raw})
    family = families.reindex(skus).astype("string") if families is not None else pd.Series(
        pd.NA, index=skus, dtype="string")
    frame["family"] = family.fillna(UNKNOWN).to_numpy()
    overall = float(frame["share_raw"].mean())
    family_mean = frame.groupby("family")["share_raw"].transform("mean")
    family_size = frame.groupby("family")["share_raw"].transform("size")
    frame["prior"] = np.where((family_size >= 2) & (frame["family"] != UNKNOWN), family_mean,
                              overall)
    n = frame["n_deals"].to_numpy(float)
    frame["weight"] = n / (n + prior_strength) if prior_strength > 0 else 1.0
    frame["announced_share"] = frame["weight"] * frame["share_raw"] + (
        1 - frame["weight"]) * frame["prior"]
    return frame[columns]


def _announced_lines(outcomes: pd.DataFrame, demand: _Demand,
                     first_snapshot: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Resolved lines, and which of them count as announced demand (won, landed in the
    window, listed a month or more ahead), with their landing month numbers."""
    resolved = outcomes[outcomes["resolved"].astype(bool)]
    landing = _month_number(resolved["landing_period"].fillna(pd.Timestamp(0)))
    first = _month_number(resolved["first_snapshot"])
    counted = resolved["won"].astype(bool).to_numpy() & (landing >= first_snapshot + 1) & (
        landing <= demand.last) & (first <= landing - 1)
    return resolved, counted, landing


def announced_lead_profile(
    outcomes: pd.DataFrame, demand: _Demand, *, first_snapshot: int | None,
    prior_strength: float, families: pd.Series | None = None,
) -> pd.DataFrame:
    """Share of announced demand already in the pipeline *k* months before it lands.

    The announced share counts orders listed at least a month ahead; a
    forecast month *k* months after the latest snapshot can only hold the
    orders listed at least *k* months ahead. So the statistics give up
    ``announced share × visible(k)``, not the whole announced share: far
    months, which the pipeline does not reach yet, keep their statistics.

    ``visible(1) = 1`` and ``visible(k) = visible(k − 1) × h(k)``, ``h(k)``
    the quantity-weighted share of announced orders listed at least ``k − 1``
    months ahead that were listed at least ``k`` months ahead — counted only
    over orders that landed at least ``k`` months after the first snapshot, so
    a lead longer than the pipeline's history is never mistaken for a short
    one (a product-limit estimate under left truncation). Per family (from
    ``families``), each ``h(k)`` shrunk towards all families' with weight
    ``n / (n + prior_strength)``, ``n`` the family's lines at risk. Where no
    line could show a lead of ``k`` months, ``visible`` keeps its last value.

    Returns
    -------
    DataFrame
        ``family`` (``"*"`` = all), ``months_ahead`` (1, 2, ... up to the
        longest lead seen + 1), ``n_lines, qty_at_risk, step_raw, weight,
        step, visible``. Empty when nothing was announced.
    """
    columns = ["family", "months_ahead", "n_lines", "qty_at_risk", "step_raw", "weight", "step",
               "visible"]
    empty = pd.DataFrame({c: pd.Series(dtype=float) for c in columns}).astype(
        {"family": "string", "months_ahead": "int64"})
    if outcomes.empty or first_snapshot is None or not demand.has_data:
        return empty
    resolved, counted, landing = _announced_lines(outcomes, demand, first_snapshot)
    if not counted.any():
        return empty
    lines = resolved[counted]
    lead = landing[counted] - _month_number(lines["first_snapshot"])
    room = landing[counted] - first_snapshot  # the longest lead the snapshots could show
    qty = lines["qty"].to_numpy(float)
    family = (families.reindex(lines["sku"].astype("string")).astype("string").fillna(UNKNOWN)
              .to_numpy() if families is not None else np.full(len(lines), UNKNOWN, object))
    horizon = np.arange(1, int(lead.max()) + 2)

    def steps(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n, at_risk, raw = (np.zeros(len(horizon)), np.zeros(len(horizon)),
                           np.full(len(horizon), np.nan))
        for j, k in enumerate(horizon[1:], start=1):
            risk = mask & (lead >= k - 1) & (room >= k)
            n[j], at_risk[j] = risk.sum(), qty[risk].sum()
            if at_risk[j] > 0:
                raw[j] = qty[risk & (lead >= k)].sum() / at_risk[j]
        return n, at_risk, raw

    def curve(step: np.ndarray) -> np.ndarray:
        visible = np.ones(len(step))
        for j in range(1, len(step)):
            visible[j] = visible[j - 1] * (1.0 if np.isnan(step[j]) else step[j])
        return visible

    n_all, q_all, raw_all = steps(np.ones(len(lines), bool))
    rows = [pd.DataFrame({"family": ALL, "months_ahead": horizon, "n_lines": n_all,
                          "qty_at_risk": q_all, "step_raw": raw_all, "weight": 1.0,
                          "step": raw_all, "visible": curve(raw_all)})]
    for name in sorted(set(family) - {UNKNOWN}):
        n, q, raw = steps(family == name)
        weight = n / (n + prior_strength) if prior_strength > 0 else (n > 0).astype(float)
        step = np.where(np.isnan(raw), raw_all, weight * np.nan_to_num(raw) + (1 - weight)
                        * raw_all)
        rows.append(pd.DataFrame({"family": name, "months_ahead": horizon, "n_lines": n,
                                  "qty_at_risk": q, "step_raw": raw, "weight": weight,
                                  "step": step, "visible": curve(step)}))
    out = pd.concat(rows, ignore_index=True)
    out["step"] = out["step"].where(out["months_ahead"] > 1)
    return out.astype({"family": "string", "months_ahead": "int64"})[columns]


# --------------------------------------------------------------------------- adjustments


def clean_adjustments(adjustments: pd.DataFrame | None, cycle: pd.Timestamp) -> pd.DataFrame:
    """Adjustments entered up to the cycle, typed; zero deltas dropped.

    Returns ``snapshot, owner, sku, period, qty_delta, direction`` (``up``/``down``).
    """
    columns = ["snapshot", "owner", "sku", "period", "qty_delta", "direction"]
    if adjustments is None or adjustments.empty:
        frame = pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
        frame["snapshot"] = frame["period"] = pd.Series(dtype="datetime64[ns]")
        frame["qty_delta"] = pd.Series(dtype=float)
        return frame
    _require(adjustments, "adjustments", ["sku", "period", "qty_delta"])
    snapshot = (_months(adjustments["snapshot"]) if "snapshot" in adjustments.columns
                else pd.Series(cycle, index=adjustments.index))
    delta = pd.to_numeric(adjustments["qty_delta"]).astype(float).fillna(0.0)
    frame = pd.DataFrame({
        "snapshot": snapshot, "owner": _text(adjustments, "owner", UNKNOWN),
        "sku": adjustments["sku"].astype("string"), "period": _months(adjustments["period"]),
        "qty_delta": delta,
        "direction": pd.Series(np.where(delta > 0, "up", "down"), index=adjustments.index,
                               dtype="string"),
    })
    return frame[(frame["snapshot"] <= cycle) & (delta != 0)].reset_index(drop=True)


def _stand_in(history: np.ndarray, before: int, target: int, start: int) -> float:
    """A naive statistical forecast of column ``target`` from the columns before ``before``.

    The mean of the :data:`TRAILING_MONTHS` months before, times the target
    month's seasonal index over the trailing months' mean index. The index of
    a calendar month is its mean demand over the mean of every month before
    ``before``, shrunk towards 1 by one pseudo-year: ``(k × raw + 1) / (k + 1)``
    with ``k`` the years seen; no season with less than a year of history.
    """
    a = max(before - TRAILING_MONTHS, 0)
    if before <= a:
        return 0.0
    level = float(history[a:before].mean())
    seen = history[:before]
    if before < 12 or seen.mean() <= 0:
        return level
    calendar = (np.arange(before) + start) % 12
    sums = np.bincount(calendar, weights=seen, minlength=12)
    years = np.bincount(calendar, minlength=12)
    raw = np.where(years > 0, sums / np.maximum(years, 1), seen.mean()) / seen.mean()
    index = (years * raw + 1) / (years + 1)
    trailing_index = index[(np.arange(a, before) + start) % 12].mean()
    return level * index[(target + start) % 12] / trailing_index if trailing_index > 0 else level


def adjustment_outcomes(adjust: pd.DataFrame, demand: _Demand,
                        stat_history: pd.DataFrame | None) -> pd.DataFrame:
    """Past adjustments whose month has actuals, with the statistics and demand they met.

    ``qty_stat`` is the archived statistical forecast the adjustment was made
    against: that of the latest archived cycle on or before ``snapshot + 1``
    month (data recorded in month ``s`` feeds the cycle ``s + 1``, as for
    pipeline snapshots) (``stat_source = "archive"``),
    otherwise a seasonal naive stand-in from the demand before the adjustment
    (``"trailing_mean"``, see :func:`_stand_in`).

    Returns
    -------
    DataFrame
        ``snapshot, owner, sku, period, qty_delta, direction, qty_stat,
        stat_source, qty_actual``.
    """
    past = adjust[(_month_number(adjust["period"]) <= demand.last)
                  & (adjust["snapshot"] < adjust["period"] + pd.DateOffset(months=1))]
    past = past.reset_index(drop=True)
    snap_n = _month_number(past["snapshot"])
    period_n = _month_number(past["period"])
    rows = demand.skus.get_indexer(past["sku"])
    col = period_n - demand.start
    inside = (rows >= 0) & (col >= 0)
    actual = np.zeros(len(past))
    actual[inside] = demand.qty[rows[inside], col[inside]]
    trailing = np.zeros(len(past))
    for i in np.flatnonzero(rows >= 0):
        trailing[i] = _stand_in(demand.qty[rows[i]], snap_n[i] - demand.start,
                                period_n[i] - demand.start, demand.start)
    stat = np.full(len(past), np.nan)
    if stat_history is not None and not stat_history.empty and len(past):
        column = "qty_stat" if "qty_stat" in stat_history.columns else "qty_forecast"
        _require(stat_history, "stat_history", ["snapshot", "sku", "period", column])
        hist = pd.DataFrame({"h_snap": _months(stat_history["snapshot"]),
                             "sku": stat_history["sku"].astype("string"),
                             "period": _months(stat_history["period"]),
                             "h_stat": pd.to_numeric(stat_history[column]).astype(float)})
        joined = past[["snapshot", "sku", "period"]].reset_index().merge(
            hist, on=["sku", "period"])
        # An adjustment recorded in month s (like a pipeline snapshot) is entered for
        # the cycle s + 1, against that cycle's statistical forecast.
        joined = joined[joined["h_snap"] <= joined["snapshot"] + pd.DateOffset(months=1)]
        latest = joined.sort_values("h_snap").groupby("index").last()
        stat[latest.index.to_numpy()] = latest["h_stat"].to_numpy()
    source = np.where(np.isnan(stat), "trailing_mean", "archive")
    return past.assign(qty_stat=np.where(np.isnan(stat), trailing, stat),
                       stat_source=pd.array(source, dtype="string"), qty_actual=actual)


def adjustment_bias(outcomes: pd.DataFrame, *, prior_strength: float) -> pd.DataFrame:
    """How much of past adjustments came true, per owner and direction.

    β is the share of an adjustment's size that the actuals bore out, on
    average, larger adjustments weighing more (a least-squares slope of the
    realised change on the adjusted one, through the origin): 1 when
    adjustments came true in full, 0 when they added nothing (or made it
    worse). It is not the share of adjustments that were right.

    ``β = clip(Σ δ·(actual − stat) / Σ δ², 0, 1)`` per owner and direction,
    shrunk towards the direction's β over all owners with weight ``n / (n +
    prior_strength)``. ``n`` is the effective number of adjustments
    ``(Σ δ²)² / Σ δ⁴`` (equal to their count when all δ are equal): the
    estimate is weighted by δ², so a few large adjustments on a best-seller
    are worth less than their count. A direction without history has β = 1
    (face value), and the direction's β over all owners is itself shrunk
    towards 1 with the same weight: on the sample company one adjustment
    carried 66 % of the ups' δ² (``n`` 2.2 of 147 adjustments) and, judged
    against a stand-in inflated by two spikes, set every owner's prior for
    upward adjustments to 0, cutting the one owner whose adjustments had
    helped to 0.27.

    Returns
    -------
    DataFrame
        ``owner`` (``"*"`` for all owners), ``direction, n_adjustments,
        n_effective, beta_raw, weight, beta``.
    """
    rows = []
    frame = outcomes.assign(num=outcomes["qty_delta"] * (outcomes["qty_actual"]
                                                          - outcomes["qty_stat"]),
                            den=outcomes["qty_delta"] ** 2)
    for direction in ("up", "down"):
        part = frame[frame["direction"] == direction]
        n = len(part)
        raw_all = float(np.clip(part["num"].sum() / part["den"].sum(), 0, 1)) if n else 1.0
        n_eff = part["den"].sum() ** 2 / (part["den"] ** 2).sum() if n else 0.0
        weight_all = (n_eff / (n_eff + prior_strength) if prior_strength > 0 else 1.0) if n \
            else 0.0
        overall = weight_all * raw_all + (1 - weight_all) * 1.0  # towards face value
        rows.append({"owner": ALL, "direction": direction, "n_adjustments": n,
                     "n_effective": n_eff, "beta_raw": raw_all if n else np.nan,
                     "weight": weight_all, "beta": overall})
        for owner, own in part.groupby("owner", observed=True, sort=True):
            k = len(own)
            raw = float(np.clip(own["num"].sum() / own["den"].sum(), 0, 1))
            n_eff = own["den"].sum() ** 2 / (own["den"] ** 2).sum()
            weight = n_eff / (n_eff + prior_strength) if prior_strength > 0 else 1.0
            rows.append({"owner": owner, "direction": direction, "n_adjustments": k,
                         "n_effective": n_eff, "beta_raw": raw, "weight": weight,
                         "beta": weight * raw + (1 - weight) * overall})
    out = pd.DataFrame(rows, columns=["owner", "direction", "n_adjustments", "n_effective",
                                      "beta_raw",
                                      "weight", "beta"])
    return out.astype({"owner": "string", "direction": "string"})


# --------------------------------------------------------------------------- the model


class LumpyDemandModel:
    """Statistics, pipeline deals and overrides blended as far as history trusts each.

    Parameters
    ----------
    calibrate_by : tuple of str
        Pipeline columns whose nested groups get their own probability curve
        (default stage, then stage × owner).
    min_deals : int
        Resolved deal lines a group needs for its own probability curve or
        slip distribution.
    slip_window : (int, int)
        Months before and after the expected month in which a deal may land.
    win_share : float
        Share of a deal's quantity that must show up as demand above the
        baseline for the deal to count as won.
    prior_strength : float
        Pseudo-count of every shrinkage: a group with ``n`` observations gets
        weight ``n / (n + prior_strength)`` against its parent.
    n_simulations : int
        Monte-Carlo draws for the quantiles of SKU-months with open deals.
    random_state : int
        Seed of the simulation.
    false_wins : bool
        Weigh each win inferred from demand by the chance that an unannounced
        order, not the deal, made it look won (``deal_outcomes_``:
        ``false_win_chance``, ``won_weight``). Off: every inferred win counts 1.

    Attributes
    ----------
    deal_outcomes_, deal_snapshots_, calibration_, slip_, announced_share_,
    announced_lead_, adjustment_outcomes_, adjustment_bias_ : DataFrame
        Learnt by :meth:`fit` (see the module docstring).
    open_deals_, open_adjustments_ : DataFrame
        The open deal lines and adjustments used by the last :meth:`predict`.
    """

    def __init__(self, *, calibrate_by: Sequence[str] = ("stage", "owner"), min_deals: int = 20,
                 slip_window: tuple[int, int] = SLIP_WINDOW, win_share: float = 0.5,
                 prior_strength: float = 10.0, n_simulations: int = 2000,
                 random_state: int = 0, false_wins: bool = True):
        self.calibrate_by = calibrate_by
        self.false_wins = false_wins
        self.min_deals = min_deals
        self.slip_window = slip_window
        self.win_share = win_share
        self.prior_strength = prior_strength
        self.n_simulations = n_simulations
        self.random_state = random_state

    # ----------------------------------------------------------------- fit

    def _check_params(self) -> None:
        by = tuple(self.calibrate_by)
        if not all(isinstance(c, str) for c in by) or len(set(by)) != len(by):
            raise ParameterError(f"calibrate_by must be distinct column names, got {by!r}")
        whole_number("min_deals", self.min_deals)
        lo, hi = self.slip_window
        if int(lo) != lo or int(hi) != hi or not lo <= 0 <= hi:
            raise ParameterError("slip_window must be whole months (before <= 0 <= after), "
                                 f"got {self.slip_window!r}")
        if not 0 < self.win_share <= 1:
            raise ParameterError(f"win_share must be in (0, 1], got {self.win_share!r}")
        if self.prior_strength < 0:
            raise ParameterError(f"prior_strength must be >= 0, got {self.prior_strength!r}")
        whole_number("n_simulations", self.n_simulations, minimum=10)

    def fit(self, actuals: pd.DataFrame, pipeline: pd.DataFrame | None, *, cycle,
            adjustments: pd.DataFrame | None = None,
            stat_history: pd.DataFrame | None = None,
            products: pd.DataFrame | None = None) -> LumpyDemandModel:
        """Learn deal outcomes, calibration, slip, announced shares and adjustment bias.

        Parameters
        ----------
        actuals, pipeline, adjustments : DataFrame
            Contract tables; pipeline and adjustment snapshots up to ``cycle``
            and actuals before it are used.
        cycle : Timestamp or "YYYY-MM"
            The cycle month.
        stat_history : DataFrame, optional
            Archived statistical forecasts ``snapshot, sku, period, qty_stat``
            (:func:`sopkit.archive.read_archive`), the forecasts past
            adjustments were made against.
        products : DataFrame, optional
            For the family prior of the announced share.

        Returns
        -------
        LumpyDemandModel
            ``self``.
        """
        self._check_params()
        cycle = cycle_month(cycle)
        by = list(self.calibrate_by)
        deals = clean_pipeline(pipeline, cycle, extra=by)
        missing = [c for c in by if c not in deals.columns]
        if missing:
            raise DataError([Problem("pipeline", None, c, "column named in calibrate_by is missing")
                             for c in missing])
        history = clean_actuals(actuals, cycle)
        demand = _Demand(history, skus=deals["sku"].unique())
        lo, hi = (int(v) for v in self.slip_window)
        self.cycle_ = cycle
        self.deal_outcomes_, self.deal_snapshots_ = deal_outcomes(
            deals, demand, slip_window=(lo, hi), win_share=float(self.win_share),
            false_wins=bool(self.false_wins))
        if by and not deals.empty:
            extra_cols = [c for c in by if c not in self.deal_snapshots_.columns]
            if extra_cols:  # calibrate_by beyond stage/owner: carry the last value per snapshot
                values = deals.groupby(["deal_id", "sku", "snapshot"], observed=True)[
                    extra_cols].last().reset_index()
                self.deal_snapshots_ = self.deal_snapshots_.merge(
                    values, on=["deal_id", "sku", "snapshot"], how="left")
        self.calibration_ = calibrate(self.deal_snapshots_, by=by, min_deals=int(self.min_deals),
                                      prior_strength=float(self.prior_strength))
        self.slip_ = slip_distribution(self.deal_snapshots_, slip_window=(lo, hi),
                                       min_deals=int(self.min_deals),
                                       prior_strength=float(self.prior_strength),
                                       last=demand.last if demand.has_data else None)
        families = None
        if products is not None and {"sku", "family"} <= set(products.columns):
            families = products.assign(sku=products["sku"].astype("string")).drop_duplicates(
                "sku").set_index("sku")["family"]
        first = int(deals["snap_n"].min()) if len(deals) else None
        self.announced_share_ = announced_shares(
            self.deal_outcomes_, demand, first_snapshot=first,
            prior_strength=float(self.prior_strength), families=families)
        self.announced_lead_ = announced_lead_profile(
            self.deal_outcomes_, demand, first_snapshot=first,
            prior_strength=float(self.prior_strength), families=families)
        self._families = families
        adjust = clean_adjustments(adjustments, cycle)
        self.adjustment_outcomes_ = adjustment_outcomes(adjust, demand, stat_history)
        self.adjustment_bias_ = adjustment_bias(self.adjustment_outcomes_,
                                                prior_strength=float(self.prior_strength))
        self._deals = deals
        self._adjust = adjust
        self._skus_with_demand = set(history.loc[history["qty"] > 0, "sku"])
        self._history = history  # analogs' launches for new products (sopkit.lifecycle)
        return self

    # ----------------------------------------------------------------- learnt state, applied

    def calibrated_probability(self, deals: pd.DataFrame) -> np.ndarray:
        """Calibrated win probabilities of deals (``probability`` and ``calibrate_by`` columns)."""
        self._check_fitted()
        frame = deals.copy()
        for column in self.calibrate_by:
            if column not in frame.columns:
                frame[column] = UNKNOWN
        return apply_calibration(self.calibration_, frame, list(self.calibrate_by))

    def beta(self, owner, direction) -> np.ndarray:
        """β of each (owner, direction): the owner's, else the direction's overall one."""
        self._check_fitted()
        table = self.adjustment_bias_
        own = table[table["owner"] != ALL].set_index(["owner", "direction"])["beta"]
        overall = table[table["owner"] == ALL].set_index("direction")["beta"]
        keys = pd.MultiIndex.from_arrays([pd.Series(owner, dtype="string"),
                                          pd.Series(direction, dtype="string")])
        found = own.reindex(keys).to_numpy(float)
        fallback = overall.reindex(pd.Series(direction, dtype="string")).to_numpy(float)
        return np.where(np.isnan(found), fallback, found)

    def slip_pmf(self, months_ahead) -> tuple[np.ndarray, np.ndarray]:
        """Slip offsets and, per value of ``months_ahead``, their probabilities (rows)."""
        self._check_fitted()
        table = self.slip_
        offsets = np.sort(table["slip"].unique())
        per_bucket = table[table["bucket"] >= 0].pivot(index="bucket", columns="slip",
                                                       values="probability")
        buckets = _bucket(np.asarray(months_ahead, dtype=np.int64))
        return offsets, per_bucket.loc[buckets, offsets].to_numpy(float)

    def visible_share(self, skus, months_ahead) -> np.ndarray:
        """Share of a SKU's announced demand already in the pipeline ``months_ahead`` months
        before it lands (``announced_lead_``: its family's curve, else all families')."""
        self._check_fitted()
        months_ahead = np.asarray(months_ahead, dtype=np.int64)
        table = self.announced_lead_
        if table.empty:
            return np.ones(len(months_ahead))
        skus = pd.Series(pd.array(np.asarray(skus, dtype=object), dtype="string"))
        families = (self._families.reindex(skus).astype("string")
                    if self._families is not None else pd.Series(ALL, index=skus.index))
        families = families.where(families.isin(set(table["family"])), ALL).to_numpy(object)
        top = int(table["months_ahead"].max())
        k = np.clip(months_ahead, 1, top)
        lookup = table.set_index(["family", "months_ahead"])["visible"]
        return lookup.reindex(pd.MultiIndex.from_arrays([families, k])).to_numpy(float)

    def _months_ahead(self, periods: pd.Series) -> np.ndarray:
        """Months from the pipeline snapshot of the last :meth:`_open_deals` to each period
        (from the cycle when there was no pipeline)."""
        latest = self._snapshot_n
        if latest is None:
            latest = int(_month_number(pd.Series([self.cycle_]))[0])
        return _month_number(periods) - latest

    def _check_fitted(self) -> None:
        if not hasattr(self, "calibration_"):
            raise ParameterError("call fit() before using the lumpy-demand model")

    # ----------------------------------------------------------------- predict

    def _open_deals(self, pipeline, periods: pd.DatetimeIndex) -> tuple[pd.DataFrame,
                                                                        pd.DataFrame]:
        deals = (self._deals if pipeline is None
                 else clean_pipeline(pipeline, self.cycle_, extra=self.calibrate_by))
        line_cols = ["deal_id", "sku", "owner", "stage", "snapshot", "period", "qty",
                     "probability", "probability_calibrated", "months_ahead", "qty_expected"]
        spread_cols = ["deal_id", "sku", "period", "share_landing", "qty_expected"]
        self._snapshot_n = int(deals["snap_n"].max()) if len(deals) else None
        if deals.empty:
            return (pd.DataFrame(columns=line_cols), pd.DataFrame(columns=spread_cols))
        for column in self.calibrate_by:
            if column not in deals.columns:  # not in this pipeline: the shared curve applies
                deals[column] = UNKNOWN
        latest = deals[(deals["snap_n"] == deals["snap_n"].max())
                       & deals["outcome"].isna()].reset_index(drop=True)
        latest["probability_calibrated"] = self.calibrated_probability(latest)
        latest["months_ahead"] = latest["period_n"] - latest["snap_n"]
        offsets, pmf = self.slip_pmf(latest["months_ahead"].to_numpy())
        landing = latest["period_n"].to_numpy()[:, None] + offsets[None, :]
        first = int(_month_number(pd.Series([self.cycle_]))[0])
        # A deal listed in the snapshot had not landed before the snapshot's month: that
        # part of the slip is impossible, the rest is renormalised. What may have landed
        # between the snapshot and the cycle is in the actuals already, if it happened:
        # it is dropped, not moved into the forecast months.
        pmf = np.where(landing >= latest["snap_n"].to_numpy()[:, None], pmf, 0.0)
        total = pmf.sum(axis=1, keepdims=True)
        stuck = total[:, 0] <= 0
        pmf = np.where(total > 0, pmf / np.where(total > 0, total, 1.0), 0.0)
        if stuck.any():  # every likely month has passed: expect it in the first month
            landing[stuck] = first + offsets[None, :] - offsets[0]
            pmf[stuck] = 0.0
            pmf[stuck, 0] = 1.0
        # (the simulation draws those months too: a draw there lands outside the plan)
        ahead = np.where(landing >= first, pmf, 0.0)
        value = (latest["qty"] * latest["probability_calibrated"]).to_numpy()
        line, k = np.nonzero(ahead > 0)
        spread = pd.DataFrame({
            "line": line, "deal_id": latest["deal_id"].to_numpy()[line],
            "sku": latest["sku"].to_numpy()[line],
            "period": _month_stamp(landing[line, k]).to_numpy(),
            "share_landing": ahead[line, k], "qty_expected": value[line] * ahead[line, k]})
        spread = spread.astype({"deal_id": "string", "sku": "string"})
        spread = spread[spread["period"].isin(periods)]
        latest["qty_expected"] = spread.groupby("line")["qty_expected"].sum().reindex(
            range(len(latest)), fill_value=0.0).to_numpy()
        self._mc = {"landing": landing, "pmf": pmf, "lines": latest}
        return latest[line_cols], spread.reset_index(drop=True)

    def _open_adjustments(self, adjustments, periods) -> pd.DataFrame:
        adjust = self._adjust if adjustments is None else clean_adjustments(adjustments,
                                                                             self.cycle_)
        if adjust.empty:
            return adjust.assign(beta=pd.Series(dtype=float),
                                 qty_adjustment=pd.Series(dtype=float))
        adjust = adjust[(adjust["snapshot"] == adjust["snapshot"].max())
                        & adjust["period"].isin(periods)].reset_index(drop=True)
        adjust["beta"] = self.beta(adjust["owner"], adjust["direction"])
        adjust["qty_adjustment"] = adjust["beta"] * adjust["qty_delta"]
        return adjust

    def predict(self, stat_forecast: pd.DataFrame, *, pipeline: pd.DataFrame | None = None,
                adjustments: pd.DataFrame | None = None,
                promotions: pd.DataFrame | None = None,
                products: pd.DataFrame | None = None) -> pd.DataFrame:
        """The consensus demand of the fitted cycle.

        Parameters
        ----------
        stat_forecast : DataFrame
            :meth:`sopkit.forecast.StatisticalForecaster.predict` output:
            ``sku, period, qty_forecast`` (or ``qty_stat``), optional
            ``qty_q..`` quantiles, ``model``, ``demand_class``.
        pipeline, adjustments : DataFrame, optional
            The current pipeline and adjustments; default those given to
            :meth:`fit`. Only the latest snapshot on or before the cycle is used.
        promotions : DataFrame, optional
            Promotions with ``sku, start_period, end_period, lift``.
        products : DataFrame, optional
            Life cycle: a launch forecast from like-item analogs for new
            products without history and for launches still on their ramp
            (scaled by what they sold so far), the statistics of a product being
            phased out capped at its recent run rate and faded over the months
            before ``eol_period``, and nothing after it or for discontinued
            products (:mod:`sopkit.lifecycle`).

        Returns
        -------
        DataFrame
            One row per SKU and forecast month, sorted by ``sku, period``:
            ``sku, period, qty_stat, announced_share`` (the share taken off the
            statistics: the SKU's announced share × ``visible(k)``),
            ``qty_stat_unannounced, qty_pipeline, qty_adjustment_raw, qty_adjustment, qty_promo,
            qty_consensus``, the quantile columns of ``stat_forecast`` (now of
            the consensus), ``model, demand_class``.
        """
        self._check_fitted()
        qty_col = "qty_forecast" if "qty_forecast" in stat_forecast.columns else "qty_stat"
        _require(stat_forecast, "stat_forecast", ["sku", "period", qty_col])
        quantiles = quantile_levels(stat_forecast)
        levels = np.array([q for q, _ in quantiles])
        q_columns = [c for _, c in quantiles]
        base = pd.DataFrame({
            "sku": stat_forecast["sku"].astype("string"),
            "period": _months(stat_forecast["period"]),
            "qty_stat": pd.to_numeric(stat_forecast[qty_col]).astype(float).fillna(0.0),
            **{c: pd.to_numeric(stat_forecast[c]).astype(float).fillna(0.0) for c in q_columns},
            "model": _text(stat_forecast, "model", "unknown"),
            "demand_class": _text(stat_forecast, "demand_class", "unknown"),
        })
        dup = base.duplicated(["sku", "period"])
        if dup.any():
            raise DataError([Problem("stat_forecast", None, "sku, period",
                                     "duplicated (sku, period)", f"{s} {fmt_month(p)}")
                             for s, p in zip(base.loc[dup, "sku"], base.loc[dup, "period"],
                                             strict=True)])
        periods = pd.DatetimeIndex(np.sort(base["period"].unique()))
        if products is not None and not products.empty:
            ramp = launch_forecast(products, self._history, periods, cycle=self.cycle_)
            # a product still to launch, or a launch in progress (still on its ramp: a
            # statistical forecast of its first months would stay at their level)
            ramp = ramp.loc[~ramp["sku"].isin(self._skus_with_demand) | ramp["launched"],
                            ["sku", "period", "qty_stat", "model"]]
            if not ramp.empty:
                factors = stats.gamma.ppf(levels, a=1 / NPI_CV**2, scale=NPI_CV**2)
                ramp = ramp.assign(**{c: ramp["qty_stat"] * factors[k]
                                      for k, c in enumerate(q_columns)}, demand_class="new")
                ramp = ramp.astype({"model": "string", "demand_class": "string"})
                base = pd.concat([base[~base["sku"].isin(set(ramp["sku"]))], ramp],
                                 ignore_index=True)

        lines, spread = self._open_deals(pipeline, periods)
        adjust = self._open_adjustments(adjustments, periods)
        extra = (set(spread["sku"]) | set(adjust["sku"])) - set(base["sku"])
        if extra:
            skus = sorted(extra)
            n = len(skus) * len(periods)
            base = pd.concat([base, pd.DataFrame({
                "sku": pd.array(np.repeat(skus, len(periods)), dtype="string"),
                "period": np.tile(periods.to_numpy(), len(skus)), "qty_stat": 0.0,
                **dict.fromkeys(q_columns, 0.0),
                "model": pd.array(["none"] * n, dtype="string"),
                "demand_class": pd.array(["new"] * n, dtype="string")})], ignore_index=True)
        base = base.sort_values(["sku", "period"], ignore_index=True)

        shares = self.announced_share_.set_index("sku")["announced_share"]
        base["months_ahead"] = self._months_ahead(base["period"])
        base["announced_share"] = shares.reindex(base["sku"]).fillna(0.0).to_numpy(
            float) * self.visible_share(base["sku"], base["months_ahead"])
        base["qty_stat_unannounced"] = base["qty_stat"] * (1 - base["announced_share"])
        cell = pd.MultiIndex.from_frame(base[["sku", "period"]])
        pipe = spread.groupby(["sku", "period"], observed=True)["qty_expected"].sum()
        base["qty_pipeline"] = pipe.reindex(cell).fillna(0.0).to_numpy(float)
        raw = adjust.groupby(["sku", "period"], observed=True)[["qty_delta",
                                                               "qty_adjustment"]].sum()
        raw = raw.reindex(cell).fillna(0.0)
        base["qty_adjustment_raw"] = raw["qty_delta"].to_numpy(float)
        base["qty_adjustment"] = raw["qty_adjustment"].to_numpy(float)
        lift = _promotion_lift(promotions, periods)
        base["lift"] = (lift.set_index(["sku", "period"])["lift"].reindex(cell).fillna(0.0)
                        .to_numpy(float) if lift is not None else 0.0)
        base["qty_promo"] = base["qty_stat"] * base["lift"]
        # Life cycle: a phase-out's statistics at most its recent run rate, faded before end
        # of life (sopkit.lifecycle), nothing after.
        fade = phase_out_multiplier(base, products) * run_rate_cap(
            base, products, self._history, cycle=self.cycle_)
        if (fade < 1).any():
            for column in ["qty_stat", "qty_stat_unannounced", "qty_promo", *q_columns]:
                base[column] = base[column] * fade
        dead = (_end_of_life_mask(base, products) if products is not None
                and not products.empty and "sku" in products else np.zeros(len(base), bool))
        parts = ["qty_stat_unannounced", "qty_pipeline", "qty_adjustment", "qty_promo"]
        if dead.any():
            base.loc[dead, ["qty_stat", "qty_adjustment_raw", *parts, *q_columns]] = 0.0
            base.loc[dead, "model"] = "eol"
        base["qty_consensus"] = np.clip(base[parts].sum(axis=1).to_numpy(), 0.0, None)

        if q_columns:
            base[q_columns] = self._quantiles(base, levels, q_columns, lines, dead)

        self.open_deals_ = lines.reset_index(drop=True)
        self.open_deal_months_ = spread
        self.open_adjustments_ = adjust
        columns = ["sku", "period", "qty_stat", "announced_share", "qty_stat_unannounced",
                   "qty_pipeline", "qty_adjustment_raw", "qty_adjustment", "qty_promo",
                   "qty_consensus", *q_columns, "model", "demand_class"]
        self.prediction_ = base[columns].reset_index(drop=True)
        return self.prediction_.copy()

    def _quantiles(self, base: pd.DataFrame, levels: np.ndarray, q_columns: list[str],
                   lines: pd.DataFrame, dead: np.ndarray) -> np.ndarray:
        """Consensus quantiles: analytic without deals, Monte Carlo where deals may land."""
        stat_q = base[q_columns].to_numpy(float)
        factor = np.clip(1 - base["announced_share"] + base["lift"], 0.0, None).to_numpy(float)
        shift = base["qty_adjustment"].to_numpy(float)
        out = stat_q * factor[:, None] + shift[:, None]
        if len(lines):
            mc = self._mc
            month_of = {p: n for p, n in zip(
                base["period"].unique(), _month_number(pd.Series(base["period"].unique())),
                strict=True)}
            cell_key = pd.MultiIndex.from_arrays([base["sku"].to_numpy(),
                                                  base["period"].map(month_of).to_numpy()])
            line_sku = mc["lines"]["sku"].to_numpy()
            landing = mc["landing"]
            keys = pd.MultiIndex.from_arrays([np.repeat(line_sku, landing.shape[1]),
                                              landing.ravel()])
            line_cell = cell_key.get_indexer(keys).reshape(landing.shape)
            line_cell = np.where(mc["pmf"] > 0, line_cell, -1)
            cells = np.unique(line_cell[(line_cell >= 0)])
            cells = cells[~dead[cells]]
            cell_keys = _cell_keys(base["sku"].to_numpy(), cell_key.get_level_values(1),
                                   self.random_state)
            qty = mc["lines"]["qty"].to_numpy(float)
            probability = mc["lines"]["probability_calibrated"].to_numpy(float)
            deal_ids = mc["lines"]["deal_id"].to_numpy()
            # A cell's quantiles depend only on the lines that can land in it, all of its
            # SKU, and its draws only on its key and theirs: simulating groups of SKUs one
            # after another bounds the memory and changes no number.
            for chunk, chosen in _cell_chunks(cells, base["sku"].to_numpy(), line_sku,
                                              SIMULATION_CELLS, SIMULATION_LINES):
                compact = np.full(len(base), -1)
                compact[chunk] = np.arange(len(chunk))
                part = line_cell[chosen]
                out[chunk] = _simulate(
                    stat_q[chunk], levels, factor[chunk], shift[chunk],
                    np.where(part >= 0, compact[np.maximum(part, 0)], -1),
                    mc["pmf"][chosen], qty[chosen], probability[chosen],
                    deal_ids[chosen], int(self.n_simulations), cell_keys[chunk],
                    self.random_state)
        out[dead] = 0.0
        return np.maximum.accumulate(np.clip(out, 0.0, None), axis=1)

    # ----------------------------------------------------------------- explain

    def explain(self, sku: str, period) -> str:
        """One sentence on how the last prediction's SKU-month was built.

        Names the baseline (statistical forecast), the announced share, each
        open deal that may land in the month (stated → calibrated probability,
        the share of it expected then) and each adjustment (raw → debiased,
        with its owner).

        Raises
        ------
        ParameterError
            Before :meth:`predict`, or if the SKU-month was not predicted.
        """
        if not hasattr(self, "prediction_"):
            raise ParameterError("call predict() before explain()")
        month = cycle_month(period)
        plan = self.prediction_
        row = plan[(plan["sku"] == sku) & (plan["period"] == month)]
        if row.empty:
            raise ParameterError(f"no prediction for SKU {sku!r} in {fmt_month(month)}")
        r = row.iloc[0]
        text = (f"{sku} in {fmt_month(month)}: consensus {r['qty_consensus']:,.1f} = baseline "
                f"(statistical forecast, {r['model']}) {r['qty_stat']:,.1f}")
        if r["announced_share"] > 0:
            share = self.announced_share_.set_index("sku")["announced_share"].get(sku, np.nan)
            ahead = int(self._months_ahead(pd.Series([month]))[0])
            text += (f" less the {r['announced_share']:.0%} of past demand that sales had "
                     f"announced as deals by {ahead} month{'s' if ahead != 1 else ''} ahead "
                     f"(of {share:.0%} announced at all; {r['qty_stat_unannounced']:,.1f} left)")
        text += f" + pipeline {r['qty_pipeline']:,.1f}"
        months = self.open_deal_months_
        here = months[(months["sku"] == sku) & (months["period"] == month)]
        if len(here):
            info = self.open_deals_.set_index(["deal_id", "sku"])
            parts = []
            for deal in here.itertuples():
                d = info.loc[(deal.deal_id, deal.sku)]
                d = d.iloc[0] if isinstance(d, pd.DataFrame) else d
                parts.append(
                    f"{deal.deal_id} ({d['owner']}, {d['stage']}, {d['qty']:,.0f} units): "
                    f"stated {d['probability']:.0%} → calibrated "
                    f"{d['probability_calibrated']:.0%}, {deal.share_landing:.0%} of it "
                    f"expected this month = {deal.qty_expected:,.1f}")
            text += " [" + "; ".join(parts) + "]"
        text += f" + promotion {r['qty_promo']:,.1f} + adjustments {r['qty_adjustment']:,.1f}"
        adj = self.open_adjustments_
        adj = adj[(adj["sku"] == sku) & (adj["period"] == month)]
        if len(adj):
            text += " [" + "; ".join(
                f"{a.owner} {a.qty_delta:+,.1f} → {a.qty_adjustment:+,.1f} "
                f"(β {a.beta:.2f} for {a.direction}s)" for a in adj.itertuples()) + "]"
        if r["qty_consensus"] == 0 and r[["qty_stat_unannounced", "qty_pipeline",
                                           "qty_adjustment", "qty_promo"]].sum() < 0:
            text += " (floored at 0)"
        quantiles = quantile_levels(plan)
        if quantiles:  # every level, so the words match whichever band a chart draws
            text += "; quantiles " + ", ".join(f"q{q * 100:g} {r[c]:,.1f}" for q, c in quantiles)
        return text + "."


def _cell_chunks(cells: np.ndarray, cell_sku: np.ndarray, line_sku: np.ndarray,
                 max_cells: int, max_lines: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Groups of whole SKUs (a SKU is never split) of at most about ``max_cells`` cells and
    ``max_lines`` deal lines, each with the lines of its SKUs: ``(cells, line index)``
    pairs. A plan within both limits is one group with every line, so it is simulated
    exactly as without groups."""
    if len(cells) == 0:
        return []
    if len(cells) <= max_cells and len(line_sku) <= max_lines:
        return [(cells, np.arange(len(line_sku)))]
    skus = cell_sku[cells]
    names, n_cells = np.unique(skus, return_counts=True)
    order = np.argsort(skus, kind="stable")
    by_sku = np.split(cells[order], np.cumsum(n_cells)[:-1])
    line_of = pd.Series(np.arange(len(line_sku))).groupby(pd.Series(line_sku).to_numpy())
    lines = {name: part.to_numpy() for name, part in line_of}
    groups, chunk, chosen, size, count = [], [], [], 0, 0
    for name, sku_cells in zip(names, by_sku, strict=True):
        sku_lines = lines.get(name, np.array([], dtype=int))
        if chunk and (size + len(sku_cells) > max_cells or count + len(sku_lines) > max_lines):
            groups.append((np.concatenate(chunk), np.sort(np.concatenate(chosen))))
            chunk, chosen, size, count = [], [], 0, 0
        chunk.append(sku_cells)
        chosen.append(sku_lines)
        size, count = size + len(sku_cells), count + len(sku_lines)
    groups.append((np.concatenate(chunk), np.sort(np.concatenate(chosen))))
    return groups


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STREAM_WIN, _STREAM_SLIP = np.uint64(0x5EED0001), np.uint64(0x5EED0002)


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijective, well-mixed hash of 64-bit integers.

    Works in place on ``x`` (every caller passes a fresh array) and returns it."""
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def _text_keys(values, seed: int) -> np.ndarray:
    """A stable 64-bit key per text value (BLAKE2b of the text and the seed)."""
    codes, unique = pd.factorize(pd.Series(values, dtype="string").fillna(""))
    digests = np.array([int.from_bytes(hashlib.blake2b(
        f"{seed}\x1f{text}".encode(), digest_size=8).digest(), "little") for text in unique],
        dtype=np.uint64)
    return digests[codes] if len(unique) else np.zeros(len(codes), dtype=np.uint64)


def _cell_keys(skus: np.ndarray, months, seed: int) -> np.ndarray:
    """The key of each SKU-month's draws: its SKU's key mixed with the month number."""
    months = np.asarray(months, dtype=np.int64).astype(np.uint64)
    return _mix64(_text_keys(skus, seed) ^ _mix64(months * _GOLDEN + np.uint64(1)))


def _uniforms(keys: np.ndarray, n: int) -> np.ndarray:
    """``n`` uniform numbers in [0, 1) per key, counter-based: draw ``j`` of key ``k`` is
    a hash of ``(k, j)``, whatever else is drawn, in whatever order."""
    # SplitMix64 seeded with the key: draw j mixes key + j × golden ratio
    with np.errstate(over="ignore"):
        x = _mix64(keys.astype(np.uint64)[:, None]
                   + (np.arange(1, n + 1, dtype=np.uint64) * _GOLDEN)[None, :])
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def _simulate(stat_quantiles: np.ndarray, levels: np.ndarray, factor: np.ndarray,
              shift: np.ndarray, line_cell: np.ndarray, pmf: np.ndarray, qty: np.ndarray,
              probability: np.ndarray, deal_ids: np.ndarray, n_simulations: int,
              cell_keys: np.ndarray, seed: int) -> np.ndarray:
    """Quantiles of ``stat × factor + shift + Σ won deals landing in the cell``, per cell.

    ``line_cell`` (lines × slip offsets) holds the compact cell a line lands
    in at each offset (-1 outside the plan); ``pmf`` the offsets'
    probabilities. Lines of one deal share their win and slip draws, keyed
    by the deal id; the statistical part's draws are keyed by ``cell_keys``
    (:func:`_cell_keys`). Returns an array (cells, levels).
    """
    grid, ext = _extended_quantile_function(levels, stat_quantiles)
    u = _uniforms(cell_keys, n_simulations)
    segment = np.clip(np.searchsorted(grid, u, side="right") - 1, 0, len(grid) - 2)
    left = grid[segment]
    lo = np.take_along_axis(ext, segment, axis=1)
    hi = np.take_along_axis(ext, segment + 1, axis=1)
    draws = lo + (hi - lo) * (u - left) / (grid[segment + 1] - left)
    total = draws * factor[:, None] + shift[:, None]
    deal, names = pd.factorize(pd.Series(deal_ids, dtype="string").fillna(""))
    keys = _text_keys(np.asarray(names, dtype=object), seed)
    with np.errstate(over="ignore"):
        u_win = _uniforms(_mix64(keys ^ _STREAM_WIN), n_simulations)[deal]
        u_slip = _uniforms(_mix64(keys ^ _STREAM_SLIP), n_simulations)[deal]
    cdf = np.cumsum(pmf, axis=1)
    cdf[:, -1] = np.inf
    offset = np.zeros(u_slip.shape, dtype=np.intp)
    for j in range(cdf.shape[1]):  # = (u_slip >= cdf).sum over offsets, one offset at a time
        offset += u_slip >= cdf[:, j:j + 1]
    cell = np.take_along_axis(line_cell, offset, axis=1)
    won = (u_win < probability[:, None]) & (cell >= 0)
    line, sim = np.nonzero(won)
    np.add.at(total, (cell[line, sim], sim), qty[line])
    return np.quantile(np.clip(total, 0.0, None), levels, axis=1).T
