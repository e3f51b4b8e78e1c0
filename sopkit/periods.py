"""Planning periods.

Inside sopkit a monthly ``period`` is a ``Timestamp`` at the month start
(dtype ``datetime64``); on disk and in reports it is written ``YYYY-MM``.
Weekly periods (``YYYY-Www``, ISO weeks) are accepted by the forecast command.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sopkit.errors import ParameterError

MONTH_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-(\d{1,2}))?\s*$")
WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


def parse_month(value: str) -> pd.Timestamp:
    """Parse ``YYYY-MM`` (or ``YYYY-MM-DD``) into the month-start timestamp.

    Raises
    ------
    ValueError
        If the text is not a month.
    """
    match = MONTH_RE.match(str(value))
    if not match:
        raise ValueError(f"not a month in the form YYYY-MM: {value!r}")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} out of range 1-12 in {value!r}")
    if match.group(3) is not None:
        day = int(match.group(3))
        if not 1 <= day <= pd.Timestamp(year=year, month=month, day=1).days_in_month:
            raise ValueError(f"day {day} does not exist in {year}-{month:02d} in {value!r}")
    return pd.Timestamp(year=year, month=month, day=1)


def parse_month_series(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`parse_month`.

    Returns
    -------
    parsed : Series of datetime64
        Month starts, ``NaT`` where the text is blank or not a month.
    bad : Series of bool
        True where a non-blank value could not be parsed.
    """
    text = values.astype("string").str.strip()
    parts = text.str.extract(MONTH_RE.pattern)
    year = pd.to_numeric(parts[0], errors="coerce")
    month = pd.to_numeric(parts[1], errors="coerce")
    day = pd.to_numeric(parts[2], errors="coerce")
    ok = year.notna() & month.between(1, 12)
    stamp = pd.to_datetime(
        {"year": year.where(ok, 2000), "month": month.where(ok, 1), "day": 1}, errors="coerce"
    )
    # a full date must be a real one: 2026-02-30 is a typo, not February
    ok &= day.isna() | ((day >= 1) & (day <= stamp.dt.days_in_month))
    parsed = stamp.where(ok)
    blank = text.isna() | (text == "")
    bad = ~ok & ~blank
    return parsed, bad.fillna(False).astype(bool)


def cycle_month(value: str | pd.Timestamp) -> pd.Timestamp:
    """The cycle month from a parameter, as a month-start timestamp."""
    if isinstance(value, pd.Timestamp):
        return value.to_period("M").to_timestamp()
    try:
        return parse_month(value)
    except ValueError as exc:
        raise ParameterError(f"cycle: {exc}") from None


def fmt_month(stamp) -> str:
    """``YYYY-MM`` for a timestamp (or each element of a Series)."""
    if isinstance(stamp, pd.Series):
        return stamp.dt.strftime("%Y-%m")
    return pd.Timestamp(stamp).strftime("%Y-%m")


def month_range(start: pd.Timestamp, n_months: int) -> pd.DatetimeIndex:
    """``n_months`` consecutive month starts beginning at ``start``."""
    return pd.date_range(pd.Timestamp(start), periods=n_months, freq="MS")


def add_months(stamp: pd.Timestamp, n: int) -> pd.Timestamp:
    """Month start ``n`` months after ``stamp`` (negative goes back)."""
    return pd.Timestamp(stamp) + pd.DateOffset(months=int(n))


def months_between(start, end) -> np.ndarray | int:
    """Whole months from ``start`` to ``end`` (vectorised over Series)."""
    if isinstance(start, pd.Series) or isinstance(end, pd.Series):
        s = pd.to_datetime(start)
        e = pd.to_datetime(end)
        return ((e.dt.year - s.dt.year) * 12 + (e.dt.month - s.dt.month)).to_numpy()
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    return (e.year - s.year) * 12 + (e.month - s.month)


ORDINAL_RE = re.compile(r"^\s*[A-Za-z]{1,3}\d{1,4}\s*$")


def period_format(values: pd.Series) -> pd.Series:
    """Format of each period text: ``month``, ``week``, ``ordinal``, ``blank`` or ``other``.

    ``month`` is ``YYYY-MM`` (or a date ``YYYY-MM-DD``), ``week`` an ISO week
    ``YYYY-Www`` (also ``YYYYWww``), ``ordinal`` a label without a calendar date
    such as ``t01``.
    """
    text = values.astype("string").str.strip()
    out = pd.Series("other", index=values.index, dtype="object")
    out[text.str.match(ORDINAL_RE.pattern).fillna(False).to_numpy(dtype=bool)] = "ordinal"
    out[text.str.match(MONTH_RE.pattern).fillna(False).to_numpy(dtype=bool)] = "month"
    week = text.str.match(WEEK_RE.pattern, flags=re.IGNORECASE).fillna(False)
    out[week.to_numpy(dtype=bool)] = "week"
    out[(text.isna() | (text == "")).to_numpy(dtype=bool)] = "blank"
    return out


def parse_week_series(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO weeks ``YYYY-Www`` → the Monday of the week (vectorised).

    Returns
    -------
    parsed : Series of datetime64
        Mondays, ``NaT`` where the text is blank or not a valid ISO week
        (week 53 exists only in years that have one).
    bad : Series of bool
        True where a non-blank value could not be parsed.
    """
    text = values.astype("string").str.strip()
    parts = text.str.extract(WEEK_RE.pattern, flags=re.IGNORECASE)
    year = pd.to_numeric(parts[0], errors="coerce")
    week = pd.to_numeric(parts[1], errors="coerce")
    ok = year.notna() & week.between(1, 53)
    label = (year.where(ok, 2000).astype("Int64").astype(str) + "-W"
             + week.where(ok, 1).astype("Int64").astype(str).str.zfill(2) + "-1")
    stamp = pd.to_datetime(label, format="%G-W%V-%u", errors="coerce")
    iso = stamp.dt.isocalendar()
    ok &= stamp.notna() & (iso["year"] == year) & (iso["week"] == week)
    parsed = stamp.where(ok)
    blank = text.isna() | (text == "")
    bad = ~ok & ~blank
    return parsed, bad.fillna(False).astype(bool)


def fmt_week(stamp) -> str | pd.Series:
    """``YYYY-Www`` (ISO week) for a timestamp (or each element of a Series)."""
    if isinstance(stamp, pd.Series):
        iso = stamp.dt.isocalendar()
        return iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    year, week, _ = pd.Timestamp(stamp).isocalendar()
    return f"{year:04d}-W{week:02d}"
