"""Statistical demand forecasts: many simple models, chosen per SKU by backtest.

Every model is a plain function ``(values, horizon) -> forecasts`` on a 2-D
array of SKUs × months (NaN before each SKU's first demand, as built by
:func:`sopkit.classify.to_matrix`) returning an ``(n_skus, horizon)`` array of
point forecasts (the expected demand per month). Models loop over *months*,
never over SKUs, so 10,000 series cost little more than 100. A row the model
cannot forecast (too little history) is NaN.

Models (name: what it does)

``zero``            zero demand.
``naive``           the last month.
``seasonal_naive``  the same month one season earlier (needs one season).
``ma3/ma6/ma12``    mean of the last 3/6/12 months (needs that many); with weekly
                    data a quarter, half a year and a year: 13/26/52 weeks.
``ses``             simple exponential smoothing; alpha per SKU from the grid
                    0.05…0.95 by in-sample one-step squared error.
``ets``             Holt-Winters, additive damped trend and additive
                    seasonality (ETS(A,Ad,A)); alpha, beta, gamma, phi per SKU
                    from a small grid by in-sample one-step squared error
                    (needs two seasons).
``croston``         Croston (classic), alpha 0.1 for sizes and intervals, initialised
                    at the mean size and mean interval.
``sba``             Syntetos–Boylan approximation: Croston × (1 − alpha/2).
``tsb``             Teunter–Syntetos–Babai, alpha 0.1 for probability and size.
``adida``           months summed into buckets of round(ADI) months, SES on the
                    buckets, bucket forecast spread evenly over its months.
``imapa``           mean of the ADIDA forecasts over bucket sizes 1…round(ADI).
``combo:a+b(+c)``   mean of the best 2 (or 3) models of the SKU's backtest; chosen
                    only when it beats the best single model.
``history_mean``    fallback for ``new`` SKUs (and any SKU too short to backtest):
                    mean of the months since the first demand.

Weekly data: ``freq="W-MON"`` (ISO weeks, each period the Monday of its week);
everything below that says "month" then reads "week", the default season is
52 weeks and a SKU is ``inactive`` after 52 weeks without demand.

Selection: rolling-origin backtest at the last ``n_windows`` origins, ``window_size``
months apart, each forecasting ``window_size`` months. For each SKU, a candidate
(see :data:`CLASS_CANDIDATES`) is eligible if it can forecast at the last origin;
every eligible candidate is scored on the same windows (those where all of them
can forecast). Score = MAE + |mean error| over those windows, so that a zero
forecast does not win on intermittent demand just because the median month is
zero. Two or three windows of one SKU are little evidence, so models are ranked
on that score shrunk towards the average of the SKU's demand class
(:func:`pooled_ranking`, weight ``pool_weight`` windows; ``zero`` gets no help
from its class). Ties go to the model listed first in :data:`MODEL_ORDER`
(simplest first). A combination of the 2 or 3 best-ranked models other than
``zero`` replaces the choice when its own backtest score is lower.

Stability between cycles: given the last cycle's model per SKU (``incumbent``
of :meth:`StatisticalForecaster.fit`), a SKU keeps it while it scores within
``keep_margin`` (default 10 %) of the new choice. Each month's backtest windows
move by a month, so the best of several close models changes often — on the
bundled sample 74 % of the SKUs changed model from one month to the next — and
the plan then moves with it; within 10 % that fell to 34 %, at the same
accuracy (``benchmarks/forecast_stability.py``, docs/benchmarks.md).

``zero`` is backtested only for a SKU without demand in its last ``zero_after``
periods, and with the default ``zero_after=None`` for none: the backtest does
not plan a SKU that sells at exactly 0 for the whole horizon (SKUs that never
had demand get 0, silent ones the ``inactive`` rule below; a moving average of
silent months can still be 0). Zero's score is twice the
windows' mean demand ``m``; a flat forecast ``f`` scores ``2 f (1 - p)`` when
it is above ``m`` (demand in a share ``p`` of the months, each month's demand
above ``f``), so zero wins as soon as ``f > m / (1 - p)``: wherever demand
dipped below the models' level in the windows, not only where it stopped.
Measured on the held-out year (``benchmarks/forecast_accuracy.py``), zero had
won on 1,953 SKUs of oil_refinery and 670 of man_weekly; 48 % and 46 % of them
had demand in the hold-out (10,269 and 16,009 units), which the models that
replace zero forecast at 7,946 and 13,470 units. On those SKUs the bias went
from −100 % to −23 % and −16 %, the pinball loss of q90 from 0.288 to 0.287
and 0.355 to 0.340; their MASE rose from 0.32 to 0.53 and 0.40 to 0.59 (zero
is the median of such series, and MASE rewards the median). Over all SKUs:
MASE 0.909 → 0.941 and 0.748 → 0.818, RMSSE 0.553 → 0.558 and 0.505 → 0.513,
bias −7.6 % → +4.3 % and +11.8 % → +27.0 % (on man_weekly the zeros had hidden
18 points of the other SKUs' over-forecast); auto_ijf and pbs within 0.001.

Quantiles (never a symmetric band around a Croston rate):

* ``intermittent``, ``lumpy`` and ``new`` SKUs: each month's demand is
  Bernoulli(p) × size, sizes drawn from the SKU's own non-zero months, and p set
  so that the mean equals the point forecast (p = forecast / mean size, at most
  1; above that, sizes are scaled up). The quantiles of this mixture are exact
  (inverse empirical CDF), so the median is 0 when p < 0.5.
* ``smooth`` and ``erratic`` SKUs: the backtest errors of the chosen model,
  divided by the SKU's scale (mean absolute month-on-month change), pooled over
  the SKUs of the class, give empirical quantiles by horizon step; step
  ``h > window_size`` widens the last step's quantiles by ``sqrt(h / window_size)``.
  Fewer than 20 pooled errors: a normal approximation.
* SKUs that never had demand: 0 for the forecast and every quantile.
* ``inactive`` SKUs (no demand for ``inactive_months``): with
  ``inactive_forecast="tsb"`` (default) the TSB forecast (model ``tsb``),
  whose demand probability decays through every silent period, with the
  intermittent quantiles above: a spare part silent for a year still fails
  now and then, and forecasting exactly zero under-plans the total volume
  (on the oil-refinery parts, zero for silent SKUs gave a total-volume bias of
  −33 %; their flat long-run rate +51 %; TSB's decay −8 %, see
  ``docs/benchmarks.md``). With ``"zero"``, 0 for the forecast and every
  quantile. Discontinued products are zeroed later by the consensus, from the
  product master.

Quantiles are made non-decreasing in q and clipped at 0.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sopkit.classify import _check_class_parameters, _classify_matrix, check_freq, to_matrix
from sopkit.errors import DataError, ParameterError, Problem, whole_number

# --------------------------------------------------------------------------- helpers


def quantile_column(q: float) -> str:
    """Column name of quantile ``q``: 0.1 → ``qty_q10``, 0.975 → ``qty_q97_5``.

    Raises
    ------
    ParameterError
        If ``q`` is not strictly between 0 and 1.
    """
    try:
        level = float(q)
    except (TypeError, ValueError):
        raise ParameterError(f"quantile must be a number between 0 and 1, got {q!r}") from None
    if not 0 < level < 1:
        raise ParameterError(f"quantile must be strictly between 0 and 1, got {q!r}")
    text = f"{round(level * 100, 6):g}"
    return "qty_q" + text.replace(".", "_")


def _n_obs(values: np.ndarray) -> np.ndarray:
    """Months of history per row (NaN only before the start, so a count is enough)."""
    return np.isfinite(values).sum(axis=1)


def _flat(level: np.ndarray, horizon: int) -> np.ndarray:
    return np.repeat(np.asarray(level, dtype=float)[:, None], horizon, axis=1)


def _empty(values: np.ndarray, horizon: int) -> np.ndarray:
    return np.full((values.shape[0], horizon), np.nan)


# --------------------------------------------------------------------------- models

ALPHA_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)
CROSTON_ALPHA = 0.1
TSB_ALPHA_DEMAND = 0.1
TSB_ALPHA_SIZE = 0.1
MAX_AGGREGATION = 12


def zero(values: np.ndarray, horizon: int) -> np.ndarray:
    """Zero demand (NaN for rows without history)."""
    out = np.zeros((values.shape[0], horizon))
    out[_n_obs(values) == 0] = np.nan
    return out


def naive(values: np.ndarray, horizon: int) -> np.ndarray:
    """The last month, repeated."""
    if values.shape[1] == 0:
        return _empty(values, horizon)
    return _flat(values[:, -1], horizon)


def seasonal_naive(values: np.ndarray, horizon: int, season_length: int = 12) -> np.ndarray:
    """The same month of the last season; NaN with less than one season of history."""
    n_months = values.shape[1]
    if n_months < season_length:
        return _empty(values, horizon)
    columns = n_months - season_length + (np.arange(horizon) % season_length)
    out = values[:, columns].copy()
    out[_n_obs(values) < season_length] = np.nan
    return out


def moving_average(values: np.ndarray, horizon: int, window: int) -> np.ndarray:
    """Mean of the last ``window`` months; NaN with fewer months of history."""
    if values.shape[1] < window:
        return _empty(values, horizon)
    return _flat(values[:, -window:].mean(axis=1), horizon)


def _ses_state(values: np.ndarray, alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SES level and in-sample one-step SSE for every row and every alpha.

    The level starts at the first observation; each later month adds its
    squared one-step error to the SSE. Returns arrays of shape (n_rows, n_alphas).
    """
    alphas = np.asarray(alphas, dtype=float)[None, :]
    level = np.full((values.shape[0], alphas.shape[1]), np.nan)
    sse = np.zeros_like(level)
    for t in range(values.shape[1]):
        y = values[:, t][:, None]
        err = y - level
        ok = np.isfinite(err)
        sse += np.where(ok, err * err, 0.0)
        level = np.where(ok, level + alphas * err, np.where(np.isnan(level), y, level))
    return level, sse


def ses(values: np.ndarray, horizon: int, alpha: float | None = None) -> np.ndarray:
    """Simple exponential smoothing.

    ``alpha=None`` picks, per row, the alpha of :data:`ALPHA_GRID` with the
    smallest in-sample one-step squared error (the smallest alpha on ties).
    """
    alphas = ALPHA_GRID if alpha is None else np.array([float(alpha)])
    level, sse = _ses_state(values, alphas)
    best = np.argmin(sse, axis=1)
    return _flat(level[np.arange(len(level)), best], horizon)


def _croston_state(values: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Croston's smoothed size ``z`` and interval ``p`` for every row.

    Initialised with the means of the history ("mean" initialisation, which
    avoids the upward bias of starting at an interval of 1): ``z`` = mean
    non-zero size, ``p`` = months of history / months with demand (the ADI).
    At every demand after the first, ``z += alpha (size - z)`` and
    ``p += alpha (months since the previous demand - p)``.
    """
    n_obs = _n_obs(values)
    positive = np.nan_to_num(values, nan=0.0) > 0
    n_nonzero = positive.sum(axis=1)
    has = n_nonzero > 0
    size = np.where(has, np.where(positive, values, 0.0).sum(axis=1) / np.maximum(n_nonzero, 1),
                    np.nan)
    interval = np.where(has, n_obs / np.maximum(n_nonzero, 1), np.nan)
    seen = np.zeros(values.shape[0], dtype=bool)
    since = np.zeros(values.shape[0])
    for t in range(values.shape[1]):
        y = values[:, t]
        since = np.where(seen & np.isfinite(y), since + 1, since)
        demand = seen & (y > 0)
        size = np.where(demand, size + alpha * (y - size), size)
        interval = np.where(demand, interval + alpha * (since - interval), interval)
        since = np.where(demand, 0.0, since)
        seen |= y > 0
    return size, interval


def croston(values: np.ndarray, horizon: int, alpha: float = CROSTON_ALPHA) -> np.ndarray:
    """Croston's method (classic): smoothed size / smoothed interval."""
    size, interval = _croston_state(values, alpha)
    return _flat(size / interval, horizon)


def sba(values: np.ndarray, horizon: int, alpha: float = CROSTON_ALPHA) -> np.ndarray:
    """Syntetos–Boylan approximation: Croston × (1 − alpha / 2)."""
    return croston(values, horizon, alpha) * (1 - alpha / 2)


def tsb(
    values: np.ndarray,
    horizon: int,
    alpha_demand: float = TSB_ALPHA_DEMAND,
    alpha_size: float = TSB_ALPHA_SIZE,
) -> np.ndarray:
    """Teunter–Syntetos–Babai: smoothed demand probability × smoothed size.

    Initial state: size = mean non-zero size, probability = share of months
    with demand in the history. Every month from the first demand on
    (that one included) updates ``prob += alpha_demand (1[y > 0] - prob)`` and,
    in a month with demand, ``size += alpha_size (y - size)``.
    """
    n_obs = _n_obs(values)
    positive = np.nan_to_num(values, nan=0.0) > 0
    n_nonzero = positive.sum(axis=1)
    share = n_nonzero / np.maximum(n_obs, 1)
    mean_size = np.where(n_nonzero > 0, np.where(positive, values, 0.0).sum(axis=1)
                         / np.maximum(n_nonzero, 1), np.nan)
    size = np.full(values.shape[0], np.nan)
    prob = np.full(values.shape[0], np.nan)
    for t in range(values.shape[1]):
        y = values[:, t]
        start = np.isnan(size) & (y > 0)
        size = np.where(start, mean_size, size)
        prob = np.where(start, share, prob)
        active = np.isfinite(size) & np.isfinite(y)
        hit = y > 0
        prob = np.where(active, prob + alpha_demand * (hit - prob), prob)
        size = np.where(active & hit, size + alpha_size * (y - size), size)
    return _flat(prob * size, horizon)


def aggregate(values: np.ndarray, bucket: int) -> np.ndarray:
    """Sum months into non-overlapping buckets of ``bucket`` months, aligned on the last month.

    A bucket reaching before a row's first month is NaN, so every bucket holds
    complete history. Returns shape (n_rows, n_months // bucket).
    """
    n_rows, n_months = values.shape
    n_buckets = n_months // bucket
    tail = values[:, n_months - n_buckets * bucket:]
    return tail.reshape(n_rows, n_buckets, bucket).sum(axis=2)


def _aggregation_levels(values: np.ndarray) -> np.ndarray:
    """round(ADI) per row, between 1 and min(12, months of history)."""
    n_obs = _n_obs(values)
    n_nonzero = (np.nan_to_num(values, nan=0.0) > 0).sum(axis=1)
    adi = n_obs / np.maximum(n_nonzero, 1)
    level = np.floor(adi + 0.5).astype(np.int64)
    return np.clip(level, 1, np.clip(np.minimum(n_obs, MAX_AGGREGATION), 1, None))


def _aggregated_ses_stack(values: np.ndarray, max_bucket: int) -> np.ndarray:
    """Per-month SES forecast at each bucket size 1..max_bucket, shape (n_rows, max_bucket)."""
    out = np.full((values.shape[0], max_bucket), np.nan)
    for bucket in range(1, max_bucket + 1):
        buckets = aggregate(values, bucket)
        if buckets.shape[1]:
            out[:, bucket - 1] = ses(buckets, 1)[:, 0] / bucket
    return out


def adida_imapa(values: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """ADIDA and IMAPA together (they share the aggregated SES forecasts)."""
    levels = _aggregation_levels(values)
    stack = _aggregated_ses_stack(values, int(levels.max(initial=1)))
    # always MAX_AGGREGATION columns: numpy's row sums group their terms by the row
    # width, so a width set by the other rows would change IMAPA in the last bit
    stack = np.pad(stack, ((0, 0), (0, MAX_AGGREGATION - stack.shape[1])),
                   constant_values=np.nan)
    empty = _n_obs(values) == 0
    adida_point = stack[np.arange(len(levels)), levels - 1]
    used = (np.arange(1, stack.shape[1] + 1)[None, :] <= levels[:, None]) & np.isfinite(stack)
    imapa_point = np.where(used, stack, 0.0).sum(axis=1) / np.maximum(used.sum(axis=1), 1)
    adida_point[empty] = np.nan
    imapa_point[empty] = np.nan
    return _flat(adida_point, horizon), _flat(imapa_point, horizon)


def adida(values: np.ndarray, horizon: int) -> np.ndarray:
    """ADIDA: SES on buckets of round(ADI) months, spread evenly over the bucket's months."""
    return adida_imapa(values, horizon)[0]


def imapa(values: np.ndarray, horizon: int) -> np.ndarray:
    """IMAPA: mean of the aggregated-SES forecasts over bucket sizes 1..round(ADI)."""
    return adida_imapa(values, horizon)[1]


ETS_GRID = np.array(
    [
        (alpha, beta, gamma, phi)
        for alpha in (0.1, 0.3, 0.5)
        for beta in (0.01, 0.1)
        for gamma in (0.05, 0.2)
        for phi in (0.9, 0.98)
    ]
)


def ets(values: np.ndarray, horizon: int, season_length: int = 12) -> np.ndarray:
    """Holt-Winters with additive damped trend and additive seasonality, ETS(A,Ad,A).

    Error-correction form, per month ``t`` with season slot ``t mod m``
    (calendar-aligned, so every row shares the slot of a column)::

        yhat = level + phi * trend + season[slot]
        e = y - yhat
        level = level + phi * trend + alpha * e
        trend = phi * trend + beta * e
        season[slot] = season[slot] + gamma * e

    Initial state from the first two seasons of each row: level from the first
    season's mean, trend from the difference of the two seasons' means,
    seasonal indices from the detrended two-season average (summing to 0).
    Parameters per row from :data:`ETS_GRID` by one-step squared error after the
    first season. Rows with fewer than two seasons of history are NaN.
    """
    m = season_length
    out = _empty(values, horizon)
    n_obs = _n_obs(values)
    rows = np.flatnonzero(n_obs >= 2 * m)
    if rows.size == 0 or m < 2:
        return out
    data = values[rows]
    n_months = data.shape[1]
    first = n_months - n_obs[rows]
    columns = first[:, None] + np.arange(2 * m)[None, :]
    init = np.take_along_axis(data, columns, axis=1)
    mean1, mean2 = init[:, :m].mean(axis=1), init[:, m:].mean(axis=1)
    trend0 = (mean2 - mean1) / m
    line = mean1[:, None] + trend0[:, None] * (np.arange(2 * m) - (m - 1) / 2)[None, :]
    detrended = init - line
    seasonal0 = (detrended[:, :m] + detrended[:, m:]) / 2
    seasonal0 -= seasonal0.mean(axis=1, keepdims=True)
    level0 = mean1 - trend0 * (m + 1) / 2

    alpha, beta, gamma, phi = (ETS_GRID[:, i][None, :] for i in range(4))
    n_grid = ETS_GRID.shape[0]
    level = np.repeat(level0[:, None], n_grid, axis=1)
    trend = np.repeat(trend0[:, None], n_grid, axis=1)
    season = np.empty((m, len(rows), n_grid))  # slot-major, so season[slot] is contiguous
    slots = (first[:, None] + np.arange(m)[None, :]) % m
    for j in range(m):
        season[slots[:, j], np.arange(len(rows)), :] = seasonal0[:, j][:, None]
    sse = np.zeros_like(level)
    for t in range(int(first.min()), n_months):
        active = (t >= first)[:, None]
        slot = t % m
        y = data[:, t][:, None]
        s = season[slot]
        damped = phi * trend
        err = y - (level + damped + s)
        err = np.where(active, err, 0.0)
        sse += np.where((t >= first + m)[:, None], err * err, 0.0)
        level = np.where(active, level + damped + alpha * err, level)
        trend = np.where(active, damped + beta * err, trend)
        season[slot] = s + gamma * err
    best = np.argmin(sse, axis=1)
    pick = np.arange(len(rows))
    level_b, trend_b, phi_b = level[pick, best], trend[pick, best], ETS_GRID[best, 3]
    steps = np.arange(1, horizon + 1)
    damp_sum = np.cumsum(phi_b[:, None] ** steps[None, :], axis=1)
    future_slots = (n_months - 1 + steps) % m
    seasonal = season[future_slots][:, pick, best].T
    out[rows] = level_b[:, None] + damp_sum * trend_b[:, None] + seasonal
    return out


def history_mean(values: np.ndarray, horizon: int) -> np.ndarray:
    """Mean of the months since the first demand (the fallback for new SKUs)."""
    n_obs = _n_obs(values)
    total = np.nansum(values, axis=1)
    point = np.where(n_obs > 0, total / np.maximum(n_obs, 1), np.nan)
    return _flat(point, horizon)


MA_WINDOWS = {"MS": (3, 6, 12), "W-MON": (13, 26, 52)}


def model_registry(
    season_length: int = 12, freq: str = "MS"
) -> dict[str, Callable[[np.ndarray, int], np.ndarray]]:
    """The backtested models by name, in tie-break order (simplest first).

    ``ma3``, ``ma6`` and ``ma12`` average a quarter, half a year and a year:
    3, 6 and 12 months, or 13, 26 and 52 weeks with ``freq="W-MON"`` (a mean of
    3 weeks of intermittent demand would be mostly noise).
    """
    short, middle, long = MA_WINDOWS[check_freq(freq)]
    return {
        "zero": zero,
        "naive": naive,
        "seasonal_naive": lambda v, h: seasonal_naive(v, h, season_length),
        "ma3": lambda v, h: moving_average(v, h, short),
        "ma6": lambda v, h: moving_average(v, h, middle),
        "ma12": lambda v, h: moving_average(v, h, long),
        "ses": ses,
        "croston": croston,
        "sba": sba,
        "tsb": tsb,
        "adida": adida,
        "imapa": imapa,
        "ets": lambda v, h: ets(v, h, season_length),
    }


MODEL_ORDER = tuple(model_registry())
_SMOOTH = ("naive", "seasonal_naive", "ma3", "ma6", "ma12", "ses", "ets", "croston", "sba", "tsb")
_SPARSE = ("zero", "ma3", "ma6", "ma12", "croston", "sba", "tsb", "adida", "imapa")
CLASS_CANDIDATES: dict[str, tuple[str, ...]] = {
    "smooth": _SMOOTH,
    "erratic": _SMOOTH,
    "intermittent": _SPARSE,
    "lumpy": _SPARSE,
}
COMBO_SIZES = (2, 3)
MIN_POOLED_ERRORS = 20
_TIE = 1e-9


# --------------------------------------------------------------------------- quantiles


def compound_quantiles(
    values: np.ndarray, point: np.ndarray, levels: Sequence[float]
) -> np.ndarray:
    """Quantiles of Bernoulli(p) × empirical size, with mean equal to ``point``.

    Parameters
    ----------
    values : ndarray (n_rows, n_months)
        History (NaN before the start); its non-zero months are the sizes.
    point : ndarray (n_rows, horizon)
        Mean demand per month.
    levels : sequence of float
        Quantile levels in (0, 1).

    Returns
    -------
    ndarray (n_levels, n_rows, horizon)
        ``0`` when ``q <= 1 - p``; else the inverse empirical CDF of the sizes at
        ``(q - (1 - p)) / p``, times ``max(1, point / mean size)``.
    """
    sizes = np.where(np.nan_to_num(values, nan=0.0) > 0, values, np.nan)
    sorted_sizes = np.sort(sizes, axis=1)  # NaN last
    count = np.isfinite(sizes).sum(axis=1)
    mean_size = np.nansum(sizes, axis=1) / np.maximum(count, 1)
    has = (count > 0)[:, None] & np.isfinite(point) & (point > 0)
    ratio = np.where(has, point / np.where(mean_size > 0, mean_size, 1.0)[:, None], 0.0)
    prob = np.minimum(ratio, 1.0)
    stretch = np.maximum(ratio, 1.0)
    out = np.zeros((len(levels), *point.shape))
    if sorted_sizes.shape[1] == 0:
        return out
    for k, q in enumerate(levels):
        inner = (q - (1 - prob)) / np.where(prob > 0, prob, 1.0)
        index = np.ceil(inner * count[:, None]) - 1
        index = np.clip(index, 0, np.maximum(count - 1, 0)[:, None]).astype(np.int64)
        size_q = np.take_along_axis(sorted_sizes, index, axis=1)
        out[k] = np.where(has & (q > 1 - prob), size_q * stretch, 0.0)
    return out


def residual_quantiles(
    point: np.ndarray,
    scaled_errors: np.ndarray,
    scale: np.ndarray,
    levels: Sequence[float],
) -> np.ndarray:
    """Point forecast plus pooled empirical quantiles of scaled backtest errors.

    Parameters
    ----------
    point : ndarray (n_rows, horizon)
    scaled_errors : ndarray (n_errors, window_size)
        ``(actual - forecast) / scale`` of the backtest, one column per step,
        pooled over SKUs (NaN entries ignored).
    scale : ndarray (n_rows,)
        Each row's scale (mean absolute month-on-month change).
    levels : sequence of float

    Returns
    -------
    ndarray (n_levels, n_rows, horizon)
        ``point + z_q(step) * scale``; steps beyond ``window_size`` use the last
        step's ``z_q`` times ``sqrt(step / window_size)``. With fewer than
        :data:`MIN_POOLED_ERRORS` errors a step uses ``N(0, (1.25 sqrt(step))²)``.
    """
    z = _residual_z(scaled_errors, point.shape[1], levels)
    return point[None, :, :] + z[:, None, :] * scale[None, :, None]


def _residual_z(scaled_errors: np.ndarray, horizon: int, levels: Sequence[float]) -> np.ndarray:
    """The ``z_q(step)`` of :func:`residual_quantiles`, shape (n_levels, horizon).

    Depends only on the multiset of finite errors of each column, so the row
    order of ``scaled_errors`` (which chunk an error came from) does not matter.
    """
    window = max(scaled_errors.shape[1], 1)
    z = np.zeros((len(levels), horizon))
    normal = stats.norm.ppf(np.asarray(levels, dtype=float))
    for h in range(horizon):
        step = min(h, window - 1)
        column = scaled_errors[:, step] if scaled_errors.shape[1] else np.array([])
        column = column[np.isfinite(column)]
        if column.size >= MIN_POOLED_ERRORS:
            z[:, h] = np.quantile(column, levels) * math.sqrt(max(h + 1, window) / window)
        else:
            z[:, h] = normal * 1.25 * math.sqrt(h + 1)
    return z


def pooled_residual_z(
    errors: Sequence[dict], horizon: int, window: int, levels: Sequence[float]
) -> dict[str, np.ndarray]:
    """Pool the scaled backtest errors of every chunk, by class, into ``z_q(step)``.

    Parameters
    ----------
    errors : sequence of dict
        :meth:`StatisticalForecaster.residual_errors` of each chunk
        (``{demand_class: ndarray (n, window)}``).
    horizon, window : int
    levels : sequence of float

    Returns
    -------
    dict
        ``{demand_class: ndarray (n_levels, horizon)}`` for every class present
        in any chunk; the same as one fit on all SKUs (see :func:`_residual_z`).
    """
    classes = sorted({name for part in errors for name in part})
    return {
        name: _residual_z(
            np.concatenate([part[name] for part in errors if name in part], axis=0)
            if any(name in part for part in errors) else np.zeros((0, window)),
            horizon, levels)
        for name in classes
    }


# --------------------------------------------------------------------------- forecaster


class StatisticalForecaster:
    """Per-SKU statistical forecasts with model selection by backtest.

    Parameters
    ----------
    horizon : int
        Periods (months, or weeks with ``freq="W-MON"``) to forecast after the
        last period of history.
    season_length : int, optional
        Periods in a season. Default 12 for monthly data, 52 for weekly data.
    quantiles : sequence of float
        Quantile levels to report, each in (0, 1).
    service_level : float
        Also reported as a quantile (the safety-stock quantile).
    n_windows : int
        Backtest origins.
    window_size : int, optional
        Months forecast from each origin, and months between origins.
        Default ``min(horizon, 6)``.
    models : "auto", str or tuple of str
        ``"auto"``: the candidates of :data:`CLASS_CANDIDATES` by demand class.
        Else the model names to consider (from :data:`MODEL_ORDER`); each class
        then uses its candidates among them, or all of them if none is a
        candidate of that class.
    random_state : int
        Seed. The current computations are all deterministic (analytic
        quantiles); kept so that later Monte-Carlo refinements stay seeded.
    freq : str
        ``"MS"`` (default, month starts) or ``"W-MON"`` (ISO weeks, periods are
        the Mondays; alias ``"W"``). With weeks every "month" in this
        documentation reads "week".
    inactive_months : int, optional
        Periods without demand after which a SKU is ``inactive`` (zero
        forecast). Default 12 for monthly data, 52 for weekly data (a year).
    pool_weight : float
        Weight, in backtest windows, of the demand class's average scaled
        score in each SKU's model ranking (see :func:`pooled_ranking`); 0 ranks
        every SKU on its own backtest only (the rule of sopkit ≤ 0.1).
    leading_zeros : {"history", "prelaunch"}
        ``"history"`` (default): rows with quantity 0 before the first demand
        are recorded zero demand; ``"prelaunch"``: they mean "not launched
        yet" (see :mod:`sopkit.classify`).
    inactive_forecast : {"tsb", "zero"}
        What an ``inactive`` SKU is forecast (see the module docstring).
    keep_margin : float
        Stability of the model choice between cycles: a SKU keeps the model of
        the last cycle (``incumbent`` of :meth:`fit`) while that model's
        backtest score is at most ``1 + keep_margin`` times the new choice's
        (and, for a single model, its pooled rank at most that many times the
        best one's). Default 0.1; 0 chooses afresh every cycle. Without an
        incumbent it changes nothing.
    zero_after : int, optional
        ``zero`` is a backtest candidate only for SKUs without demand in
        their last ``zero_after`` periods. Default None: for no SKU (see the
        module docstring), unless ``models`` names ``zero``, which then keeps
        it for every SKU.

    Attributes
    ----------
    classes_ : DataFrame
        :func:`sopkit.classify.classify_demand` of the fitted history.
    selection_ : DataFrame
        One row per SKU: ``sku, demand_class, model, wape, bias, mae, score,
        n_windows`` (backtest of the chosen model; ``bias`` = Σ(forecast −
        actual) / Σ actual, positive means over-forecast; NaN and
        ``n_windows = 0`` for fallbacks), ``previous_model`` (the incumbent
        given to :meth:`fit`, in the engine's spelling, else missing) and
        ``kept`` (True where the SKU stayed on its incumbent although a fresh
        choice would have taken another model: see ``keep_margin``; False where
        the incumbent won again anyway).
    backtest_ : DataFrame
        Long backtest errors: ``sku, model, origin`` (last month of training),
        ``step`` (1 = first month after the origin), ``period, qty,
        qty_forecast, error`` (forecast − actual), for every candidate and window
        the model could forecast.
    periods_ : DatetimeIndex
        The forecast months.
    """

    def __init__(
        self,
        horizon: int = 18,
        season_length: int | None = None,
        quantiles: Sequence[float] = (0.1, 0.5, 0.9),
        service_level: float = 0.95,
        n_windows: int = 3,
        window_size: int | None = None,
        models: tuple[str, ...] | str = "auto",
        random_state: int = 0,
        *,
        adi_cut: float = 1.32,
        cv2_cut: float = 0.49,
        min_history: int = 6,
        inactive_months: int | None = None,
        freq: str = "MS",
        pool_weight: float = 3.0,
        leading_zeros: str = "history",
        inactive_forecast: str = "tsb",
        zero_after: int | None = None,
        keep_margin: float = 0.1,
    ):
        self.horizon = horizon
        self.season_length = season_length
        self.quantiles = quantiles
        self.service_level = service_level
        self.n_windows = n_windows
        self.window_size = window_size
        self.models = models
        self.random_state = random_state
        self.adi_cut = adi_cut
        self.cv2_cut = cv2_cut
        self.min_history = min_history
        self.inactive_months = inactive_months
        self.freq = freq
        self.pool_weight = pool_weight
        self.leading_zeros = leading_zeros
        self.inactive_forecast = inactive_forecast
        self.zero_after = zero_after
        self.keep_margin = keep_margin

    # ---------------------------------------------------------------- validation
    def _resolved(self) -> tuple[str, int, int]:
        """Frequency, season length and inactive periods with the defaults of ``freq``."""
        freq = check_freq(self.freq)
        weekly = freq == "W-MON"
        season = self.season_length
        if season is None:
            season = 52 if weekly else 12
        whole_number("season_length", season)
        inactive = self.inactive_months
        if inactive is None:
            inactive = 52 if weekly else 12
        return freq, int(season), inactive

    def _validated(self) -> tuple[list[float], int, tuple[str, ...] | None]:
        for name in ("horizon", "n_windows"):
            whole_number(name, getattr(self, name))
        _, _, inactive = self._resolved()
        window = self.window_size
        if window is None:
            window = min(int(self.horizon), 6)
        else:
            whole_number("window_size", window)
        for name in ("pool_weight", "keep_margin"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
                math.isfinite(value) and value >= 0
            ):
                raise ParameterError(f"{name} must be a number >= 0, got {value!r}")
        if self.zero_after is not None:
            whole_number("zero_after", self.zero_after)
        levels = [*self.quantiles, self.service_level]
        for q in levels:
            quantile_column(q)  # raises ParameterError
        levels = sorted({round(float(q), 10) for q in levels})
        _check_class_parameters(self.adi_cut, self.cv2_cut, self.min_history, inactive)
        if isinstance(self.models, str) and self.models == "auto":
            return levels, int(window), None
        chosen = (self.models,) if isinstance(self.models, str) else tuple(self.models)
        unknown = [m for m in chosen if m not in MODEL_ORDER]
        if unknown or not chosen:
            raise ParameterError(
                f"unknown model(s) {unknown or chosen!r}; choose from {', '.join(MODEL_ORDER)}"
            )
        return levels, int(window), chosen

    # ---------------------------------------------------------------- fit
    def fit(self, actuals: pd.DataFrame, *, end: pd.Timestamp | None = None,
            incumbent=None):
        """Classify, backtest, select a model per SKU, and forecast.

        Parameters
        ----------
        actuals : DataFrame
            Columns ``sku, period, qty``; ``(sku, period)`` unique. Missing
            months and blank quantities are zero demand, negative quantities
            (returns) are clipped to zero, months before the first demand are
            ignored (see :func:`sopkit.classify.to_matrix`).
        end : Timestamp, optional
            Last month of history (default: the last period in ``actuals``).
        incumbent : Series or DataFrame, optional
            The last cycle's model per SKU: a Series ``sku -> model label`` or a
            frame with columns ``sku, model`` (its ``selection_``, or
            :func:`sopkit.archive.previous_models`). Each SKU keeps it within
            ``keep_margin``; labels that are not backtested models
            (``history_mean``) and SKUs not in ``actuals`` are ignored.

        Returns
        -------
        self

        Raises
        ------
        ParameterError
            On an invalid parameter.
        DataError
            On duplicated ``(sku, period)`` rows or blank keys.
        """
        self.fit_backtest(actuals, end=end, incumbent=incumbent)
        self.fit_select(class_prior([self.score_sums()]))
        self.fit_finish(pooled_residual_z([self.residual_errors()], int(self.horizon),
                                          self._state["window"], self._state["levels"]))
        return self

    # The four phases of fit(). Two statistics pool SKUs of a demand class: the
    # class prior of the model ranking and the backtest errors behind the
    # quantiles of smooth and erratic SKUs. A chunked run (sopkit.compute) fits
    # each chunk of SKUs through the phases and computes the pooled parts over
    # all chunks in between, so its numbers equal those of one fit() on
    # everything, whatever the chunks (docs/scaling.md).
    def fit_backtest(self, actuals: pd.DataFrame, *, end: pd.Timestamp | None = None,
                     start: pd.Timestamp | None = None, incumbent=None):
        """Phase 1 of :meth:`fit`: matrix, demand classes and every candidate's backtest.

        ``start`` (first period of the whole history, when ``actuals`` is one
        chunk of it) pads the matrix so that every chunk has the same columns.
        """
        levels, window, user_models = self._validated()
        freq, m, inactive = self._resolved()
        horizon = int(self.horizon)
        skus, history, values, first = to_matrix(actuals, end=end, freq=freq,
                                                 leading_zeros=self.leading_zeros)
        if start is not None:
            history, values, first = _pad_to_start(history, values, first, start, freq)
        if len(history) == 0:
            raise DataError([Problem("actuals", None, None, "no demand history to forecast from")])
        stats_ = _classify_matrix(
            values, first, adi_cut=self.adi_cut, cv2_cut=self.cv2_cut,
            min_history=int(self.min_history), inactive_months=int(inactive),
        )
        classes = stats_["demand_class"]
        n_rows, n_months = values.shape
        registry = model_registry(m, freq)
        names = list(MODEL_ORDER)

        candidate = np.zeros((len(names), n_rows), dtype=bool)
        for demand_class, default in CLASS_CANDIDATES.items():
            allowed = default
            if user_models is not None:
                allowed = tuple(x for x in default if x in user_models) or user_models
            in_class = classes == demand_class
            for name in allowed:
                candidate[names.index(name)] |= in_class
        if user_models is None or "zero" not in user_models or self.zero_after is not None:
            # zero only where demand has stopped (module docstring); a models list naming
            # zero without zero_after keeps it for every SKU
            candidate[names.index("zero")] &= _zero_allowed(values, self.zero_after)

        origins = sorted(o for j in range(int(self.n_windows))
                         if (o := n_months - window - j * window) >= 1)
        n_origins = len(origins)
        backtest = np.full((len(names), n_rows, n_origins, window), np.nan)
        actual = np.full((n_rows, n_origins, window), np.nan)
        for j, origin in enumerate(origins):
            actual[:, j] = values[:, origin:origin + window]
        adida_k, imapa_k = names.index("adida"), names.index("imapa")
        shared = np.array_equal(candidate[adida_k], candidate[imapa_k])
        for k, name in enumerate(names):
            rows = np.flatnonzero(candidate[k])
            if rows.size == 0 or (shared and k == imapa_k):
                continue
            for j, origin in enumerate(origins):
                train = values[rows, :origin]
                has = np.isfinite(train[:, -1])
                if not has.any():
                    continue
                if shared and k == adida_k:
                    both = adida_imapa(train[has], window)
                    backtest[adida_k, rows[has], j], backtest[imapa_k, rows[has], j] = both
                else:
                    backtest[k, rows[has], j] = registry[name](train[has], window)

        # --- scores on the windows common to every eligible candidate of a row
        finite = np.isfinite(backtest).all(axis=3) & np.isfinite(actual).all(axis=2)[None]
        if n_origins:
            eligible = candidate & finite[:, :, -1]
        else:
            eligible = np.zeros_like(candidate)
        common = np.all(finite | ~eligible[:, :, None], axis=0) & eligible.any(axis=0)[:, None]
        scores = _scores(backtest, actual, common)
        score = np.where(eligible, scores["score"], np.inf)
        scale = _scale(values)
        self._state = {
            "levels": levels, "window": window, "freq": freq, "m": m, "horizon": horizon,
            "skus": skus, "history": history, "values": values, "first": first,
            "stats": stats_, "classes": classes, "registry": registry, "names": names,
            "origins": origins, "backtest": backtest, "actual": actual, "common": common,
            "scores": scores, "score": score, "scale": scale,
            **_incumbent_components(incumbent, skus, names),
        }
        return self

    def score_sums(self) -> dict:
        """Phase 1's share of the class prior: exact sums of scaled scores (see
        :func:`score_sums`), to be combined over chunks by :func:`class_prior`."""
        s = self._state
        return score_sums(s["score"], s["scale"], s["classes"])

    def fit_select(self, prior: dict):
        """Phase 2 of :meth:`fit`: ranking with the class ``prior`` (:func:`class_prior`),
        model choice, point forecasts and the quantiles of sparse SKUs."""
        s = self._state
        levels, window, horizon = s["levels"], s["window"], s["horizon"]
        values, first, classes = s["values"], s["first"], s["classes"]
        registry, names = s["registry"], s["names"]
        backtest, actual, common = s["backtest"], s["actual"], s["common"]
        scores, score, scale = s["scores"], s["score"], s["scale"]
        n_rows = values.shape[0]
        rank = pooled_ranking(
            score, common.sum(axis=1), scale, classes,
            weight=float(self.pool_weight), zero_index=names.index("zero"), prior=prior,
        )

        order = np.argsort(rank, axis=0, kind="stable")  # (n_models, n_rows)
        best = order[0]
        best_score = score[best, np.arange(n_rows)]
        has_model = np.isfinite(best_score)
        # combinations average real models: a mean with "zero" would only shrink them
        rank_no_zero = rank.copy()
        rank_no_zero[names.index("zero")] = np.inf
        order = np.argsort(rank_no_zero, axis=0, kind="stable")
        n_eligible = np.isfinite(rank_no_zero).sum(axis=0)
        components = np.full((n_rows, max(COMBO_SIZES)), -1, dtype=np.int64)
        components[:, 0] = np.where(has_model, best, -1)
        chosen_score = best_score.copy()
        chosen = {key: scores[key][best, np.arange(n_rows)] for key in scores}
        for size in COMBO_SIZES:
            top = order[:size].T  # (n_rows, size)
            combo = backtest[top.T, np.arange(n_rows)[None, :]].mean(axis=0)
            combo_scores = _scores(combo[None], actual, common)
            better = (n_eligible >= size) & has_model & (
                combo_scores["score"][0] < chosen_score * (1 - _TIE) - 1e-12
            )
            components[better, :size] = top[better]
            components[better, size:] = -1
            chosen_score = np.where(better, combo_scores["score"][0], chosen_score)
            for key in chosen:
                chosen[key] = np.where(better, combo_scores[key][0], chosen[key])

        # the last cycle's model stays while it scores within keep_margin of the choice
        incumbent = s.get("incumbent")
        kept = np.zeros(n_rows, dtype=bool)
        if incumbent is not None and float(self.keep_margin) > 0:
            kept, own = _keep_incumbent(incumbent, components, chosen_score, best, rank, score,
                                        has_model, backtest, actual, common,
                                        1.0 + float(self.keep_margin))
            components[kept] = incumbent[kept]
            chosen_score = np.where(kept, own["score"], chosen_score)
            for key in chosen:
                chosen[key] = np.where(kept, own[key], chosen[key])

        # canonical order (tie-break order) so one combination has one label
        components = _canonical(components)
        labels = np.empty(n_rows, dtype=object)
        for row_components in np.unique(components, axis=0):
            used = [names[i] for i in row_components if i >= 0]
            match = (components == row_components[None, :]).all(axis=1)
            if len(used) == 1:
                labels[match] = used[0]
            elif used:
                labels[match] = "combo:" + "+".join(used)
        fallback = ~has_model & ~np.isin(classes, ["inactive"])
        labels[fallback] = "history_mean"
        if self.inactive_forecast not in ("tsb", "zero"):
            raise ParameterError("inactive_forecast must be 'tsb' or 'zero', got "
                                 f"{self.inactive_forecast!r}")
        silent = (classes == "inactive") & (first < values.shape[1])
        long_run = silent if self.inactive_forecast == "tsb" else np.zeros_like(silent)
        labels[classes == "inactive"] = "zero"
        labels[long_run] = "tsb"

        # --- final forecasts on the whole history
        point = np.zeros((n_rows, horizon))
        n_parts = (components >= 0).sum(axis=1)
        for k, name in enumerate(names):
            rows = np.flatnonzero(((components == k).any(axis=1)) & has_model)
            if rows.size:
                point[rows] += registry[name](values[rows], horizon) / n_parts[rows, None]
        rows = np.flatnonzero(fallback)
        if rows.size:
            point[rows] = history_mean(values[rows], horizon)
        point = np.clip(np.nan_to_num(point, nan=0.0), 0.0, None)
        point[classes == "inactive"] = 0.0
        rows = np.flatnonzero(long_run)
        if rows.size:
            point[rows] = tsb(values[rows], horizon)

        # --- quantiles
        quant = np.zeros((len(levels), n_rows, horizon))
        sparse = np.isin(classes, ["intermittent", "lumpy", "new"]) | fallback
        rows = np.flatnonzero((sparse & (classes != "inactive")) | long_run)
        if rows.size:
            quant[:, rows] = compound_quantiles(values[rows], point[rows], levels)
        chosen_backtest = _chosen_backtest(backtest, components)
        errors_by_class = {}
        for demand_class in ("smooth", "erratic"):
            rows = np.flatnonzero((classes == demand_class) & ~sparse)
            if rows.size == 0:
                continue
            with np.errstate(invalid="ignore", divide="ignore"):
                errors = (actual[rows] - chosen_backtest[rows]) / np.where(
                    scale[rows] > 0, scale[rows], np.nan
                )[:, None, None]
            errors = np.where(common[rows][:, :, None], errors, np.nan)
            errors = errors.reshape(-1, window)
            errors_by_class[demand_class] = errors[np.isfinite(errors).any(axis=1)]
        s.update(kept=kept & has_model & (classes != "inactive"))
        s.update(point=point, quant=quant, sparse=sparse, labels=labels, has_model=has_model,
                 chosen=chosen, chosen_score=chosen_score, chosen_backtest=chosen_backtest,
                 errors=errors_by_class)
        return self

    def residual_errors(self) -> dict:
        """Phase 2's scaled backtest errors of smooth and erratic SKUs, by class
        (to be pooled over chunks by :func:`pooled_residual_z`)."""
        return self._state["errors"]

    def fit_finish(self, z: dict):
        """Phase 3 of :meth:`fit`: quantiles of smooth and erratic SKUs from the pooled
        ``z`` (:func:`pooled_residual_z`), and the fitted attributes."""
        s = self._state
        levels, window, freq, m, horizon = (s["levels"], s["window"], s["freq"], s["m"],
                                            s["horizon"])
        skus, history, stats_, classes = s["skus"], s["history"], s["stats"], s["classes"]
        origins, backtest, actual, common = s["origins"], s["backtest"], s["actual"], s["common"]
        point, quant, sparse, labels = s["point"], s["quant"], s["sparse"], s["labels"]
        has_model, chosen, chosen_score = s["has_model"], s["chosen"], s["chosen_score"]
        chosen_backtest, scale, names = s["chosen_backtest"], s["scale"], s["names"]
        for demand_class in ("smooth", "erratic"):
            rows = np.flatnonzero((classes == demand_class) & ~sparse)
            if rows.size == 0:
                continue
            quant[:, rows] = point[rows][None] + z[demand_class][:, None, :] * scale[rows][
                None, :, None]
        quant = np.maximum.accumulate(np.clip(quant, 0.0, None), axis=0)

        self.levels_ = levels
        self.window_size_ = window
        self.origins_ = history[np.array(origins, dtype=np.int64) - 1] if origins else history[:0]
        self.skus_ = skus
        self.history_ = history
        self.freq_ = freq
        self.season_length_ = m
        self.periods_ = pd.date_range(history[-1], periods=horizon + 1, freq=freq,
                                      name="period")[1:]
        self.point_ = point
        self.quantile_values_ = quant
        self.model_labels_ = labels.astype(str)
        classes_frame = pd.DataFrame({"sku": skus.to_numpy(), **stats_})
        classes_frame["sku"] = classes_frame["sku"].astype("string")
        classes_frame["demand_class"] = classes_frame["demand_class"].astype("string")
        self.classes_ = classes_frame
        n_used = np.where(has_model, common.sum(axis=1), 0)
        self.selection_ = pd.DataFrame(
            {
                "sku": pd.array(skus.to_numpy(), dtype="string"),
                "demand_class": pd.array(classes, dtype="string"),
                "model": pd.array(self.model_labels_, dtype="string"),
                "wape": np.where(has_model, chosen["wape"], np.nan),
                "bias": np.where(has_model, chosen["bias"], np.nan),
                "mae": np.where(has_model, chosen["mae"], np.nan),
                "score": np.where(has_model, chosen_score, np.nan),
                "n_windows": n_used.astype(np.int64),
                "previous_model": pd.array(s["previous"], dtype="string"),
                "kept": s["kept"],
            }
        )
        self._backtest_arrays = (backtest, actual, names, skus, history, origins)
        self._chosen_arrays = (np.where(has_model[:, None, None], chosen_backtest, np.nan),
                               actual, skus, history, origins, self.model_labels_)
        self._backtest_frame = None
        del self._state
        return self

    @property
    def backtest_(self) -> pd.DataFrame:
        """Long backtest errors (built on first access; see the class docstring)."""
        if not hasattr(self, "_backtest_arrays"):
            raise AttributeError("backtest_ exists after fit()")
        if self._backtest_frame is None:
            self._backtest_frame = _backtest_frame(*self._backtest_arrays)
        return self._backtest_frame

    def selected_backtest(self) -> pd.DataFrame:
        """The backtest rows of each SKU's chosen model only (for accuracy KPIs).

        Built from the chosen model's forecasts directly — a combination is the
        mean of its members, as in the forecast — without materialising
        :attr:`backtest_` for every candidate (17 million rows at 100,000 SKUs).

        Returns
        -------
        DataFrame
            The columns of :attr:`backtest_`; ``model`` is each SKU's chosen
            model from :attr:`selection_` (fallback SKUs have no rows).
        """
        if not hasattr(self, "_chosen_arrays"):
            raise AttributeError("selected_backtest() exists after fit()")
        chosen, actual, skus, history, origins, labels = self._chosen_arrays
        frame = _backtest_frame(chosen[None], actual, ["chosen"], skus, history, origins)
        rows = skus.get_indexer(frame["sku"])
        frame["model"] = pd.array(np.asarray(labels, dtype=object)[rows], dtype="string")
        return frame

    # ---------------------------------------------------------------- predict
    def predict(self) -> pd.DataFrame:
        """The fitted forecasts as a long frame.

        Returns
        -------
        DataFrame
            One row per SKU and forecast month, sorted by ``sku, period``:
            ``sku, period, qty_forecast`` (the expected demand), one column per
            quantile level of ``quantiles`` and ``service_level`` (sorted,
            unique; named by :func:`quantile_column`, e.g. ``qty_q10``),
            ``model`` and ``demand_class``.
        """
        if not hasattr(self, "point_"):
            raise ParameterError("call fit() before predict()")
        n_rows, horizon = self.point_.shape
        sku_index = np.repeat(np.arange(n_rows), horizon)
        frame = pd.DataFrame(
            {
                "sku": self.skus_.take(sku_index).to_numpy(),
                "period": np.tile(self.periods_.to_numpy(), n_rows),
                "qty_forecast": self.point_.ravel(),
            }
        )
        frame["sku"] = frame["sku"].astype("string")
        for k, q in enumerate(self.levels_):
            frame[quantile_column(q)] = self.quantile_values_[k].ravel()
        frame["model"] = pd.array(self.model_labels_[sku_index], dtype="string")
        frame["demand_class"] = pd.array(
            self.classes_["demand_class"].to_numpy()[sku_index], dtype="string"
        )
        return frame


# --------------------------------------------------------------------------- internals


def _scores(forecast: np.ndarray, actual: np.ndarray, common: np.ndarray) -> dict[str, np.ndarray]:
    """Backtest metrics per model and row on the common windows.

    ``forecast`` (n_models, n_rows, n_windows, window), ``actual`` (n_rows,
    n_windows, window), ``common`` (n_rows, n_windows). Returns arrays
    (n_models, n_rows): mae, bias (Σ error / Σ actual), wape and
    score = MAE + |mean error|.
    """
    mask = common[None, :, :, None]
    error = np.where(mask, forecast - actual[None], 0.0)
    error = np.nan_to_num(error, nan=np.inf)  # a NaN on a common window disqualifies
    count = common.sum(axis=1)[None, :] * forecast.shape[3]
    total = np.where(common[:, :, None], actual, 0.0).sum(axis=(1, 2))[None, :]
    abs_sum = np.abs(error).sum(axis=(2, 3))
    err_sum = error.sum(axis=(2, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        mae = abs_sum / count
        return {
            "mae": mae,
            "bias": np.where(total > 0, err_sum / total, np.nan),
            "wape": np.where(total > 0, abs_sum / total, np.nan),
            "score": np.where(count > 0, mae + np.abs(err_sum) / count, np.inf),
        }


def pooled_ranking(
    score: np.ndarray,
    n_windows: np.ndarray,
    scale: np.ndarray,
    classes: np.ndarray,
    *,
    weight: float,
    zero_index: int | None = None,
    prior: dict | None = None,
) -> np.ndarray:
    """Rank models per SKU on its own backtest, shrunk towards its class's average.

    Per SKU ``i`` and model ``k``, ``own = score[k, i] / scale[i]`` (the
    backtest score in units of the SKU's mean absolute period-on-period change)
    and ``prior[k, c]`` = the mean of ``own`` over the SKUs of the class ``c``
    for which ``k`` is eligible. The ranking value is::

        (n_windows[i] * own + weight * prior) / (n_windows[i] + weight)

    so ``weight`` counts how many backtest windows the class's experience is
    worth (0 = every SKU on its own, the rule before pooling). One SKU's 2–3
    windows are few; a model that is good for the whole class is more likely
    right than the one that happened to win those windows. ``zero`` (row
    ``zero_index``) is never helped by its class: its value is the larger of
    its own and its shrunk score, so it still needs the SKU's own evidence and
    a class where zero often wins does not turn sparse SKUs into zero forecasts.
    SKUs with a zero or undefined scale keep their own (unscaled) score.

    Parameters
    ----------
    score : ndarray (n_models, n_rows)
        Backtest score, ``inf`` where the model is not eligible.
    n_windows : ndarray (n_rows,)
        Backtest windows behind each row's scores.
    scale : ndarray (n_rows,)
    classes : ndarray (n_rows,)
        Demand class of each row (the pooling groups).
    weight : float
        Weight of the class average, in windows.
    zero_index : int, optional
    prior : dict, optional
        ``{demand_class: ndarray (n_models,)}`` from :func:`class_prior`, when the
        class averages come from more SKUs than these rows (a chunked run).
        Default: the averages over these rows. The averages are exact means
        (:func:`score_sums`), so they do not depend on how SKUs are chunked.

    Returns
    -------
    ndarray (n_models, n_rows)
        The ranking values (``inf`` where not eligible); argmin is the choice.
    """
    score = np.asarray(score, dtype=float)
    scaled_ok = np.isfinite(scale) & (scale > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        own = score / np.where(scaled_ok, scale, np.nan)[None, :]
    finite = np.isfinite(own) & scaled_ok[None, :]
    rank = np.where(np.isfinite(score), score, np.inf)
    if weight <= 0:
        return rank
    nw = np.asarray(n_windows, dtype=float)[None, :]
    if prior is None:
        prior = class_prior([score_sums(score, scale, classes)])
    for demand_class in np.unique(classes):
        rows = np.flatnonzero((classes == demand_class) & scaled_ok)
        if rows.size == 0:
            continue
        part = finite[:, rows]
        class_mean = prior[str(demand_class)][:, None]
        with np.errstate(invalid="ignore"):
            shrunk = (nw[:, rows] * own[:, rows] + weight * class_mean) / (nw[:, rows] + weight)
        shrunk = np.where(np.isnan(class_mean), own[:, rows], shrunk)
        if zero_index is not None:
            shrunk[zero_index] = np.fmax(own[zero_index, rows], shrunk[zero_index])
        rank[:, rows] = np.where(part, shrunk, np.inf)
    return rank


def _exact_sum_parts(values: np.ndarray) -> dict[int, int]:
    """The exact sum of finite floats as ``{binary exponent: integer}`` (no rounding).

    Each float is ``mantissa * 2**(exponent - 53)`` with an integer mantissa;
    mantissas of one exponent are summed as Python integers. Adding two such
    dicts key by key is exact, so the sum of any split of the values is the
    same number in any order — which a floating-point sum is not.
    """
    mantissa, exponent = np.frexp(np.asarray(values, dtype=float))
    whole = (mantissa * 2.0**53).astype(np.int64)  # exact: 53-bit mantissas
    parts: dict[int, int] = {}
    for e in np.unique(exponent):
        chunk = whole[exponent == e]
        high, low = chunk >> 26, chunk & ((1 << 26) - 1)  # no int64 overflow when summed
        parts[int(e)] = (int(high.sum()) << 26) + int(low.sum())
    return parts


def _exact_sum_float(parts: dict[int, int]) -> float:
    """The correctly rounded float of an exact sum from :func:`_exact_sum_parts`."""
    if not parts:
        return 0.0
    low = min(parts)
    total = sum(value << (e - low) for e, value in parts.items())
    shift = low - 53
    return float(total << shift) if shift >= 0 else total / (1 << -shift)


def score_sums(score: np.ndarray, scale: np.ndarray, classes: np.ndarray) -> dict:
    """Per demand class and model: exact sum and count of the scaled scores.

    The sufficient statistics of the class prior of :func:`pooled_ranking`
    (``own = score / scale`` over the SKUs with a positive scale where the
    model is eligible), for one chunk of SKUs.

    Returns
    -------
    dict
        ``{demand_class: (list of exact sums per model, ndarray of counts)}``;
        combine chunks with :func:`class_prior`.
    """
    score = np.asarray(score, dtype=float)
    scaled_ok = np.isfinite(scale) & (scale > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        own = score / np.where(scaled_ok, scale, np.nan)[None, :]
    finite = np.isfinite(own) & scaled_ok[None, :]
    out = {}
    for demand_class in np.unique(classes):
        rows = np.flatnonzero((classes == demand_class) & scaled_ok)
        if rows.size == 0:
            continue
        part = finite[:, rows]
        sums = [_exact_sum_parts(own[k, rows][part[k]]) for k in range(score.shape[0])]
        out[str(demand_class)] = (sums, part.sum(axis=1).astype(np.int64))
    return out


def class_prior(chunks: Sequence[dict]) -> dict[str, np.ndarray]:
    """Combine the :func:`score_sums` of chunks into each class's mean scaled score.

    Returns
    -------
    dict
        ``{demand_class: ndarray (n_models,)}``, NaN where no SKU of the class
        has the model eligible. Exact sums, so the result is the same for any
        split of the SKUs into chunks.
    """
    merged: dict[str, tuple[list[dict[int, int]], np.ndarray]] = {}
    for chunk in chunks:
        for demand_class, (sums, count) in chunk.items():
            if demand_class not in merged:
                merged[demand_class] = ([{} for _ in sums], np.zeros(len(sums), dtype=np.int64))
            total, seen = merged[demand_class]
            for k, parts in enumerate(sums):
                for e, value in parts.items():
                    total[k][e] = total[k].get(e, 0) + value
            seen += count
    prior = {}
    for demand_class, (total, count) in merged.items():
        sums = np.array([_exact_sum_float(parts) for parts in total])
        prior[demand_class] = np.where(count > 0, sums / np.maximum(count, 1), np.nan)
    return prior


def _pad_to_start(history: pd.DatetimeIndex, values: np.ndarray, first: np.ndarray,
                  start, freq: str) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Prepend the periods from ``start`` to a chunk's matrix, as if its history began there.

    Before a SKU's first row the matrix is NaN anyway, so this is exactly the
    matrix :func:`sopkit.classify.to_matrix` builds for the chunk inside the
    whole history: every chunk gets the same columns, origins and season slots.
    """
    start = pd.Timestamp(start)
    if len(history) and start > history[0]:
        raise ParameterError(f"start {start:%Y-%m-%d} is after the chunk's first period "
                             f"{history[0]:%Y-%m-%d}")
    full = pd.date_range(start, history[-1], freq=freq, name="period")
    pad = len(full) - len(history)
    if pad <= 0:
        return history, values, first
    padded = np.full((values.shape[0], len(full)), np.nan)
    padded[:, pad:] = values
    return full, padded, first + pad


def _zero_allowed(values: np.ndarray, zero_after: int | None) -> np.ndarray:
    """Rows for which ``zero`` may be backtested: no demand in their last ``zero_after``
    periods (none when ``zero_after`` is None)."""
    if zero_after is None:
        return np.zeros(values.shape[0], dtype=bool)
    recent = np.nan_to_num(values[:, -int(zero_after):], nan=0.0)
    return ~(recent > 0).any(axis=1) & (_n_obs(values) > 0)


def _canonical(components: np.ndarray) -> np.ndarray:
    """Components sorted (tie-break order), -1 pads last: one combination, one row."""
    big = np.iinfo(np.int64).max
    out = np.sort(np.where(components < 0, big, components), axis=1)
    out[out == big] = -1
    return out


def _keep_incumbent(incumbent, components, chosen_score, best, rank, score, has_model,
                    backtest, actual, common, margin: float) -> tuple[np.ndarray, dict]:
    """Rows whose incumbent (last cycle's model) replaces a different choice.

    It does where each of its models is still eligible, its own backtest score
    is at most ``margin`` times the choice's, and, for a single model, its
    pooled rank at most ``margin`` times the best single model's (the ranking
    that chose it; a combination has no rank of its own). Also returns the
    incumbents' backtest metrics (:func:`_scores`).
    """
    rows = np.arange(incumbent.shape[0])
    listed = incumbent >= 0
    eligible = np.all(~listed | np.isfinite(score[np.where(listed, incumbent, 0), rows[:, None]]),
                      axis=1)
    usable = listed.any(axis=1) & has_model & eligible
    different = np.any(_canonical(incumbent) != _canonical(components), axis=1)
    with np.errstate(invalid="ignore"):
        own = {k: v[0] for k, v in
               _scores(_chosen_backtest(backtest, incumbent)[None], actual, common).items()}
        close = own["score"] <= chosen_score * margin
        single = listed.sum(axis=1) == 1
        ranked = rank[np.where(listed[:, 0], incumbent[:, 0], 0), rows] <= rank[best, rows] * margin
    return usable & different & close & (~single | ranked), own


def model_label_parts(label) -> list[str] | None:
    """The models of a label the engine can choose (``"ses"``, ``"combo:ma3+ses"``), in
    tie-break order; None for anything else: a combination of 1 or more than
    :data:`COMBO_SIZES` models, a model named twice, ``zero`` in a combination (the
    engine never combines it), or a name that is not a backtested model
    (``history_mean`` is the fallback, not a choice)."""
    if not isinstance(label, str):
        return None
    if not label.startswith("combo:"):
        return [label] if label in MODEL_ORDER else None
    parts = label.removeprefix("combo:").split("+")
    if (len(parts) not in COMBO_SIZES or len(set(parts)) != len(parts)
            or any(p not in MODEL_ORDER or p == "zero" for p in parts)):
        return None
    return sorted(parts, key=MODEL_ORDER.index)


def canonical_label(label) -> str | None:
    """A label as the engine writes it (combination members in tie-break order), or None
    when it is not one the engine can choose (:func:`model_label_parts`)."""
    parts = model_label_parts(label)
    if parts is None:
        return None
    return parts[0] if len(parts) == 1 else "combo:" + "+".join(parts)


def _incumbent_components(incumbent, skus, names: list[str]) -> dict:
    """State entries of the incumbents: ``incumbent``, the component indices
    (n_rows, max combo size; -1 pads) of each SKU's label (``"ses"``,
    ``"combo:ma3+ses"``), -1 everywhere for SKUs without one or with a label
    the engine cannot choose (:func:`model_label_parts`: ``history_mean``,
    ``combo:ses+ses``); ``previous``, the labels in the engine's spelling
    (:func:`canonical_label`; others as given; None for SKUs without one)."""
    if incumbent is None:
        return {"incumbent": None, "previous": np.full(len(skus), None, dtype=object)}
    if isinstance(incumbent, pd.DataFrame):
        incumbent = incumbent.set_index("sku")["model"]
    incumbent = pd.Series(incumbent)
    incumbent.index = incumbent.index.astype(str)
    twice = incumbent.index[incumbent.index.duplicated()].unique()
    if len(twice):
        raise ParameterError(f"incumbent: one model per SKU; {', '.join(twice[:5])} "
                             f"{'is' if len(twice) == 1 else 'are'} given more than once")
    labels = incumbent.reindex(pd.Index(skus).astype(str))
    out = np.full((len(skus), max(COMBO_SIZES)), -1, dtype=np.int64)
    index = {name: k for k, name in enumerate(names)}
    previous = np.full(len(skus), None, dtype=object)
    for row, label in enumerate(labels.to_numpy()):
        if not isinstance(label, str):
            continue
        parts = model_label_parts(label)
        previous[row] = canonical_label(label) or label
        if parts is not None:
            out[row, :len(parts)] = [index[p] for p in parts]
    return {"incumbent": out, "previous": previous}


def _chosen_backtest(backtest: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Backtest forecasts of each row's chosen model (mean of its components)."""
    total = np.zeros(backtest.shape[1:])
    parts = (components >= 0).sum(axis=1)
    for j in range(components.shape[1]):
        index = components[:, j]
        use = index >= 0
        total[use] += backtest[index[use], np.flatnonzero(use)]
    with np.errstate(invalid="ignore"):
        out = total / np.where(parts > 0, parts, np.nan)[:, None, None]
    out[parts == 0] = np.nan
    return out


def _scale(values: np.ndarray) -> np.ndarray:
    """Mean absolute month-on-month change (a constant series has scale 0, hence no band);
    the mean level / 2 for a single month."""
    changes = np.abs(np.diff(values, axis=1))
    count = np.isfinite(changes).sum(axis=1)
    mad = np.nansum(changes, axis=1) / np.maximum(count, 1)
    level = np.nansum(values, axis=1) / np.maximum(_n_obs(values), 1)
    return np.where(count > 0, mad, level / 2)


def _backtest_frame(backtest, actual, names, skus, history, origins) -> pd.DataFrame:
    model_i, row_i, window_i, step_i = np.nonzero(np.isfinite(backtest))
    if len(origins):
        origin_col = np.asarray(origins)[window_i]
    else:
        origin_col = np.zeros(0, dtype=np.int64)
    forecast = backtest[model_i, row_i, window_i, step_i]
    qty = actual[row_i, window_i, step_i]
    frame = pd.DataFrame(
        {
            "sku": pd.array(skus.to_numpy()[row_i], dtype="string"),
            "model": pd.Categorical.from_codes(model_i, categories=names),
            "origin": history.to_numpy()[origin_col - 1] if len(origin_col) else
            np.array([], dtype="datetime64[ns]"),
            "step": (step_i + 1).astype(np.int64),
            "period": history.to_numpy()[origin_col + step_i] if len(origin_col) else
            np.array([], dtype="datetime64[ns]"),
            "qty": qty,
            "qty_forecast": forecast,
            "error": forecast - qty,
        }
    )
    return frame


LAUNCH_CLASS = "launch (no history yet)"
"""The :func:`model_summary` row of products forecast from a launch curve."""


def model_summary(selection: pd.DataFrame, top: int = 3, *,
                  launches: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per demand class: how many SKUs, which models won most, and their backtest error.

    Parameters
    ----------
    selection : DataFrame
        :attr:`StatisticalForecaster.selection_`.
    top : int
        How many of the most chosen models to name per class.
    launches : DataFrame, optional
        ``sku, model`` of products forecast from a launch curve
        (:func:`sopkit.lifecycle.launch_forecast`): those without a row in
        ``selection`` (no history to classify) make a last row,
        :data:`LAUNCH_CLASS`, so that the table counts every product planned;
        a launch in progress (``launched``) stays in its class with the
        launch model the plan uses for it.

    Returns
    -------
    DataFrame
        ``demand_class, n_skus, models`` (e.g. ``"sba 12, tsb 5, ma6 2"``),
        ``median_wape`` (NaN where no SKU of the class was backtested); when
        the fit had the last cycle's models (``previous_model``), also
        ``changed`` (SKUs whose statistical model is not last cycle's; a launch
        in progress counts by its statistical model, not its curve) and ``kept``
        (SKUs that stayed on last cycle's model where a fresh choice would have
        changed it: within ``keep_margin``).
    """
    compared = ("previous_model" in selection.columns
                and bool(selection["previous_model"].notna().any()))
    if compared:  # the statistical model against last cycle's, before launch curves replace it
        previous = selection["previous_model"]
        selection = selection.assign(changed=previous.notna() & (selection["model"] != previous))
    if launches is not None and len(launches) and "launched" in launches.columns:
        # launches in progress keep their class; the plan forecasts them from their curve
        ramping = launches[launches["launched"].astype(bool)].drop_duplicates("sku")
        ramping = ramping.set_index(ramping["sku"].astype(str))["model"]
        on_curve = selection["sku"].astype(str).isin(ramping.index)
        if on_curve.any():
            selection = selection.assign(model=selection["model"].where(
                ~on_curve, selection["sku"].astype(str).map(ramping)))
    if launches is not None and len(launches):
        new = launches.drop_duplicates("sku")
        new = new[~new["sku"].astype(str).isin(set(selection["sku"].astype(str)))]
        if len(new):
            selection = pd.concat([selection, pd.DataFrame({
                "sku": new["sku"].to_numpy(), "demand_class": LAUNCH_CLASS,
                "model": new["model"].to_numpy(), "wape": np.nan})], ignore_index=True)
    rows = []
    order = sorted(c for c in selection["demand_class"].dropna().unique() if c != LAUNCH_CLASS)
    if (selection["demand_class"] == LAUNCH_CLASS).any():
        order.append(LAUNCH_CLASS)
    for demand_class in order:
        part = selection[selection["demand_class"] == demand_class]
        counts = part["model"].value_counts()
        named = ", ".join(f"{model} {count}" for model, count in counts.head(top).items())
        if len(counts) > top:
            named += f", {len(counts) - top} more"
        row = {"demand_class": demand_class, "n_skus": len(part), "models": named,
               "median_wape": float(part["wape"].median())}
        if compared:
            row["changed"] = int(part["changed"].eq(True).sum())
            row["kept"] = int(part["kept"].eq(True).sum())
        rows.append(row)
    columns = ["demand_class", "n_skus", "models", "median_wape"]
    return pd.DataFrame(rows, columns=columns + (["changed", "kept"] if compared else []))


def model_changes(selection: pd.DataFrame, keep_margin: float, *,
                  against: str = "the last cycle") -> str:
    """One sentence on the model choice against the incumbents' (``previous_model`` of
    ``selection``), for the demand review or ``sop forecast --previous``."""
    if "previous_model" not in selection.columns or selection["previous_model"].isna().all():
        return f"No SKU has a model from {against} to keep: each model was chosen afresh."
    previous = selection["previous_model"]
    compared = int(previous.notna().sum())
    changed = int((previous.notna() & (selection["model"] != previous)).sum())
    kept = int(selection["kept"].eq(True).sum())
    skus = f"{compared} SKU" + ("" if compared == 1 else "s")
    text = f"Against {against}'s models ({skus}): {changed} changed model"
    if keep_margin > 0:
        text += (f"; {kept} stayed on theirs where a fresh choice would have changed it "
                 f"(their backtest within {keep_margin:.0%} of the fresh choice's: a forecast "
                 "that changes model every month moves the plan without new information)")
    else:
        text += " (keep_margin 0: every model chosen afresh)"
    return text + "."


def concat_fitted(parts: Sequence[StatisticalForecaster]) -> StatisticalForecaster:
    """One fitted forecaster from forecasters fitted on consecutive chunks of SKUs.

    The chunks must come from one chunked run (same parameters, same history
    columns, the pooled statistics shared; see :mod:`sopkit.compute`) and be
    given in SKU order. The result behaves as if one :meth:`~StatisticalForecaster.fit`
    had seen every SKU: ``predict()``, ``selection_``, ``classes_``,
    ``backtest_`` and ``selected_backtest()`` cover all chunks.
    """
    if not parts:
        raise ParameterError("concat_fitted: no fitted chunks")
    first = parts[0]
    out = copy.copy(first)  # parameters and the attributes every chunk shares
    out.skus_ = pd.Index(np.concatenate([p.skus_.to_numpy() for p in parts]), dtype="string",
                         name="sku")
    out.point_ = np.concatenate([p.point_ for p in parts], axis=0)
    out.quantile_values_ = np.concatenate([p.quantile_values_ for p in parts], axis=1)
    out.model_labels_ = np.concatenate([p.model_labels_ for p in parts])
    out.classes_ = pd.concat([p.classes_ for p in parts], ignore_index=True)
    out.selection_ = pd.concat([p.selection_ for p in parts], ignore_index=True)
    backtest, actual, names, _, history, origins = first._backtest_arrays
    out._backtest_arrays = (
        np.concatenate([p._backtest_arrays[0] for p in parts], axis=1),
        np.concatenate([p._backtest_arrays[1] for p in parts], axis=0),
        names, out.skus_, history, origins,
    )
    out._chosen_arrays = (
        np.concatenate([p._chosen_arrays[0] for p in parts], axis=0),
        out._backtest_arrays[1], out.skus_, history, origins, out.model_labels_,
    )
    out._backtest_frame = None
    return out
