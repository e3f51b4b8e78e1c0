"""Demand classification (Syntetos–Boylan) and the dense demand matrix.

Every SKU is put in one of six classes, from its history since its first
non-zero month:

============  ===============================================================
smooth        ADI <= ``adi_cut`` and CV² <= ``cv2_cut``
erratic       ADI <= ``adi_cut`` and CV² >  ``cv2_cut``
intermittent  ADI >  ``adi_cut`` and CV² <= ``cv2_cut``
lumpy         ADI >  ``adi_cut`` and CV² >  ``cv2_cut``
new           fewer than ``min_history`` months since the first demand
inactive      no demand in the last ``inactive_months`` months (or never)
============  ===============================================================

``inactive`` is checked first, then ``new``, then the four quadrants.

Definitions used here (hand-checkable):

* ``n_periods``: months from the first non-zero month to ``end``, inclusive;
* ``adi = n_periods / n_nonzero`` (average demand interval);
* ``cv2 = (std / mean)²`` of the non-zero sizes, population standard deviation
  (``ddof=0``), so a single non-zero month has ``cv2 = 0``.

Cleaning rules shared with :mod:`sopkit.forecast` (through :func:`to_matrix`):
a month without a row is zero demand; a blank (NaN) quantity is zero demand;
a negative quantity is a return and is clipped to zero (returns are not
demand). Where a SKU's history starts depends on ``leading_zeros``:

* ``"history"`` (default): a row with quantity 0 is a *recorded* zero and is
  history; only months before the SKU's first row are "not yet launched"
  (NaN). Spare-parts systems record zeros for years before a part's first
  demand, and those years are what makes its rate small. To mark pre-launch
  months, leave them out of the file.
* ``"prelaunch"``: months before the first non-zero demand are "not yet
  launched", whatever the file says — for exports that pad every item with
  zeros from a common start date.

A SKU that never had demand has no history either way (all NaN).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sopkit.errors import DataError, ParameterError, Problem, whole_number
from sopkit.periods import fmt_month

DEMAND_CLASSES = ("smooth", "erratic", "intermittent", "lumpy", "new", "inactive")
FREQUENCIES = {"MS": "MS", "M": "MS", "W": "W-MON", "W-MON": "W-MON"}


def check_freq(freq: str) -> str:
    """The canonical frequency: ``"MS"`` (month starts) or ``"W-MON"`` (ISO weeks).

    ``"M"`` and ``"W"`` are accepted as aliases.

    Raises
    ------
    ParameterError
        For any other frequency.
    """
    canonical = FREQUENCIES.get(str(freq).upper()) if isinstance(freq, str) else None
    if canonical is None:
        raise ParameterError(
            f"freq must be 'MS' (monthly) or 'W-MON' (ISO weeks starting Monday), got {freq!r}"
        )
    return canonical


def normalise_periods(stamps: pd.Series, freq: str = "MS") -> pd.Series:
    """Timestamps moved to the start of their period: the month start, or the Monday of the week."""
    if check_freq(freq) == "W-MON":
        return stamps.dt.to_period("W-SUN").dt.start_time
    return stamps.dt.to_period("M").dt.to_timestamp()


def _period_number(stamps, freq: str) -> np.ndarray | int:
    """Integer position on the calendar of ``freq`` (months or weeks since an epoch)."""
    if freq == "W-MON":
        epoch = pd.Timestamp("1970-01-05")  # a Monday
        if isinstance(stamps, pd.Timestamp):
            return (stamps - epoch).days // 7
        days = (pd.DatetimeIndex(stamps) - epoch).days
        return np.asarray(days // 7, dtype=np.int64)
    return _month_number(stamps)


def _month_number(stamps: pd.Series | pd.DatetimeIndex | pd.Timestamp) -> np.ndarray | int:
    """Months since year 0: a integer position on the monthly calendar."""
    if isinstance(stamps, pd.Timestamp):
        return stamps.year * 12 + stamps.month - 1
    if isinstance(stamps, pd.Series):
        return (stamps.dt.year * 12 + stamps.dt.month - 1).to_numpy(dtype=np.int64)
    return (stamps.year * 12 + stamps.month - 1).to_numpy(dtype=np.int64)


def _check_actuals(actuals: pd.DataFrame, freq: str = "MS") -> pd.DataFrame:
    """Keys and types checked; periods normalised to period starts (see :func:`normalise_periods`).

    Raises
    ------
    DataError
        On missing columns, blank or unreadable keys, or duplicated
        ``(sku, period)`` rows (the loader rejects those; the engine re-asserts).
    """
    missing = [c for c in ("sku", "period", "qty") if c not in actuals.columns]
    if missing:
        raise DataError(
            [Problem("actuals", None, c, "required column is missing") for c in missing]
        )
    frame = pd.DataFrame(
        {
            "sku": actuals["sku"].astype("string"),
            "period": pd.to_datetime(actuals["period"], errors="coerce"),
            "qty": pd.to_numeric(actuals["qty"], errors="coerce").astype("float64"),
        }
    )
    problems = []
    for column in ("sku", "period"):
        bad = frame[column].isna().to_numpy()
        for position in np.flatnonzero(bad)[:50]:
            problems.append(
                Problem("actuals", None, column, f"blank {column} in record {position + 1}")
            )
    if problems:
        raise DataError(problems)
    frame["period"] = normalise_periods(frame["period"], freq)
    dup = frame.duplicated(["sku", "period"], keep=False).to_numpy()
    if dup.any():
        rows = frame.loc[dup].drop_duplicates(["sku", "period"])
        raise DataError(
            [
                Problem("actuals", None, "sku, period", "duplicated (sku, period)",
                        f"{sku} {_fmt_period(period, freq)}")
                for sku, period in zip(rows["sku"], rows["period"], strict=True)
            ],
            headline=f"{int(dup.sum())} actuals rows share a (sku, period) with another row",
        )
    return frame


def _fmt_period(stamp, freq: str) -> str:
    if freq == "W-MON":
        iso = pd.Timestamp(stamp).isocalendar()
        return f"{iso[0]:04d}-W{iso[1]:02d}"
    return fmt_month(stamp)


LEADING_ZEROS = ("history", "prelaunch")


def check_leading_zeros(value: str) -> str:
    if value not in LEADING_ZEROS:
        raise ParameterError(f"leading_zeros must be one of {', '.join(LEADING_ZEROS)}, "
                             f"got {value!r}")
    return value


def to_matrix(
    actuals: pd.DataFrame, end: pd.Timestamp | None = None, freq: str = "MS",
    leading_zeros: str = "history",
) -> tuple[pd.Index, pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Long actuals as a dense SKU × period matrix (months by default, or weeks).

    Parameters
    ----------
    actuals : DataFrame
        Columns ``sku``, ``period`` (month starts), ``qty``. ``(sku, period)``
        must be unique.
    end : Timestamp, optional
        Last month of history; later rows are ignored, and months up to ``end``
        without a row count as zero demand. Default: the last period present.
    freq : str
        ``"MS"`` (default): periods are months, any date is moved to its month
        start. ``"W-MON"`` (alias ``"W"``): periods are ISO weeks, any date is
        moved to the Monday of its week. Everything said about "months" here
        then holds for weeks.

    Returns
    -------
    skus : Index (string)
        Sorted SKU codes, one per row of ``values``.
    periods : DatetimeIndex
        Consecutive month starts, one per column of ``values``.
    values : ndarray of float, shape (n_skus, n_periods)
        Demand with missing months and blank quantities as 0, negative
        quantities (returns) clipped to 0, and NaN before each SKU's first
        non-zero month.
    first_index : ndarray of int, shape (n_skus,)
        Column of each SKU's first non-zero month; ``n_periods`` for a SKU
        without any demand (its row is all NaN).

    Raises
    ------
    DataError
        If a ``(sku, period)`` pair is duplicated or a key is blank.
    """
    freq = check_freq(freq)
    check_leading_zeros(leading_zeros)
    frame = _check_actuals(actuals, freq)
    if end is not None:
        end = normalise_periods(pd.Series([pd.Timestamp(end)]), freq).iloc[0]
        frame = frame[frame["period"] <= end]
    skus = pd.Index(np.sort(frame["sku"].unique()), dtype="string", name="sku")
    if frame.empty:
        periods = pd.DatetimeIndex([] if end is None else [end], name="period")
        values = np.full((len(skus), len(periods)), np.nan)
        return skus, periods, values, np.full(len(skus), len(periods), dtype=np.int64)
    start = frame["period"].min()
    last = frame["period"].max() if end is None else end
    periods = pd.date_range(start, last, freq=freq, name="period")
    row = skus.get_indexer(frame["sku"])
    col = _period_number(frame["period"], freq) - _period_number(start, freq)
    values = np.zeros((len(skus), len(periods)))
    values[row, col] = np.clip(np.nan_to_num(frame["qty"].to_numpy(), nan=0.0), 0.0, None)
    positive = values > 0
    has_demand = positive.any(axis=1)
    first_index = np.where(has_demand, positive.argmax(axis=1), len(periods)).astype(np.int64)
    if leading_zeros == "history":
        recorded = np.zeros(values.shape, dtype=bool)
        recorded[row, col] = True
        first_row = recorded.argmax(axis=1)
        first_index = np.where(has_demand, np.minimum(first_row, first_index),
                               first_index).astype(np.int64)
    values[np.arange(len(periods))[None, :] < first_index[:, None]] = np.nan
    return skus, periods, values, first_index


def _classify_matrix(
    values: np.ndarray,
    first_index: np.ndarray,
    *,
    adi_cut: float,
    cv2_cut: float,
    min_history: int,
    inactive_months: int,
) -> dict[str, np.ndarray]:
    """Classification on the matrix of :func:`to_matrix` (vectorised over rows)."""
    n_total = values.shape[1]
    n_periods = n_total - first_index
    positive = np.nan_to_num(values, nan=0.0) > 0
    n_nonzero = positive.sum(axis=1)
    sizes = np.where(positive, values, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        adi = np.where(n_nonzero > 0, n_periods / np.maximum(n_nonzero, 1), np.nan)
        mean = np.nansum(sizes, axis=1) / np.maximum(n_nonzero, 1)
        var = np.nansum((sizes - mean[:, None]) ** 2, axis=1) / np.maximum(n_nonzero, 1)
        cv2 = np.where(n_nonzero > 0, var / np.where(mean > 0, mean, 1.0) ** 2, np.nan)
    last_positive = np.where(
        n_nonzero > 0, n_total - 1 - np.argmax(positive[:, ::-1], axis=1), -1
    )
    inactive = (n_nonzero == 0) | (last_positive < n_total - inactive_months)
    new = ~inactive & (n_periods < min_history)
    intermittent = adi > adi_cut
    erratic = cv2 > cv2_cut
    quadrant = np.where(
        intermittent,
        np.where(erratic, "lumpy", "intermittent"),
        np.where(erratic, "erratic", "smooth"),
    )
    demand_class = np.where(inactive, "inactive", np.where(new, "new", quadrant))
    return {
        "n_periods": n_periods.astype(np.int64),
        "n_nonzero": n_nonzero.astype(np.int64),
        "adi": adi,
        "cv2": cv2,
        "demand_class": demand_class,
    }


def _check_class_parameters(adi_cut, cv2_cut, min_history, inactive_months) -> None:
    if not adi_cut > 0:
        raise ParameterError(f"adi_cut must be > 0, got {adi_cut!r}")
    if not cv2_cut >= 0:
        raise ParameterError(f"cv2_cut must be >= 0, got {cv2_cut!r}")
    whole_number("min_history", min_history)
    whole_number("inactive_months", inactive_months)


def classify_demand(
    actuals: pd.DataFrame,
    *,
    end: pd.Timestamp | None = None,
    adi_cut: float = 1.32,
    cv2_cut: float = 0.49,
    min_history: int = 6,
    inactive_months: int = 12,
    freq: str = "MS",
    leading_zeros: str = "history",
) -> pd.DataFrame:
    """Syntetos–Boylan demand class of every SKU.

    Parameters
    ----------
    actuals : DataFrame
        Columns ``sku``, ``period``, ``qty`` (see :func:`to_matrix` for the
        cleaning rules).
    end : Timestamp, optional
        Last month of history. Default: the last period in ``actuals``.
    adi_cut, cv2_cut : float
        The Syntetos–Boylan cut-offs (1.32 and 0.49).
    min_history : int
        A SKU whose first demand is fewer than this many months before (and
        including) ``end`` is ``new``.
    inactive_months : int
        A SKU without demand in the last ``inactive_months`` months is
        ``inactive``.
    freq : str
        ``"MS"`` (months) or ``"W-MON"`` (ISO weeks); with weeks, the
        ``*_months`` parameters and the ``n_periods`` column count weeks.
    leading_zeros : {"history", "prelaunch"}
        Whether recorded zeros before the first demand are history (see the
        module docstring).

    Returns
    -------
    DataFrame
        One row per SKU, sorted by SKU, with columns ``sku``, ``n_periods``
        (months from first demand to ``end``), ``n_nonzero``, ``adi``, ``cv2``
        (of the non-zero sizes; NaN when the SKU never had demand) and
        ``demand_class``.
    """
    _check_class_parameters(adi_cut, cv2_cut, min_history, inactive_months)
    skus, _, values, first_index = to_matrix(actuals, end=end, freq=freq,
                                             leading_zeros=leading_zeros)
    stats = _classify_matrix(
        values, first_index, adi_cut=adi_cut, cv2_cut=cv2_cut, min_history=min_history,
        inactive_months=inactive_months,
    )
    frame = pd.DataFrame({"sku": skus.to_numpy(), **stats})
    frame["sku"] = frame["sku"].astype("string")
    frame["demand_class"] = frame["demand_class"].astype("string")
    return frame
