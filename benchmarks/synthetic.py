"""Seeded synthetic monthly demand for the benchmarks.

Four demand patterns in roughly equal shares, each drawn so that it lands in
its Syntetos–Boylan quadrant most of the time:

``smooth``        a level (log-normal across series, 20…2,000 units a month) with
                  a linear trend of −1…+1.5 % a month and normal noise with a
                  coefficient of variation of 0.10…0.30.
``seasonal``      the same, times a yearly profile (period 12: a first and a
                  second harmonic with a random phase, amplitude 15…50 % of the
                  level). Seasonal demand is still "smooth" for the classifier.
``intermittent``  Bernoulli(p) × size, p = 0.15…0.60 (ADI 1.7…6.7), sizes
                  from a gamma distribution with shape 4…12 (CV² ≤ 0.25) and a
                  mean of 2…30 units.
``lumpy``         Bernoulli(p) × size, p = 0.20…0.55, log-normal sizes with
                  sigma 1.0…1.5 (CV² 1.7…8.5) and a median of 2…40 units.

Quantities are whole units, never negative. Every series covers every month
(months without demand are explicit zeros), which is the dense long format
both sopkit and statsforecast accept. The same ``seed`` gives the same numbers.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

PATTERNS = ("smooth", "seasonal", "intermittent", "lumpy")
START = pd.Timestamp("2022-11-01")


def demand_matrix(
    n_series: int, n_months: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Monthly demand of ``n_series`` series over ``n_months`` months.

    Parameters
    ----------
    n_series : int
        Number of series (rows).
    n_months : int
        Number of months (columns).
    seed : int
        Seed of the NumPy generator; the whole matrix depends on it only.

    Returns
    -------
    values : ndarray of float, shape (n_series, n_months)
        Whole, non-negative quantities.
    patterns : ndarray of str, shape (n_series,)
        The pattern each row was drawn from (one of :data:`PATTERNS`); the
        patterns cycle through the rows, so their shares differ by at most one.
    """
    rng = np.random.default_rng(seed)
    pattern_index = np.arange(n_series) % len(PATTERNS)
    months = np.arange(n_months)[None, :]
    values = np.zeros((n_series, n_months))

    continuous = np.flatnonzero(pattern_index <= 1)
    n_cont = continuous.size
    level = np.exp(rng.uniform(np.log(20), np.log(2000), n_cont))[:, None]
    trend = rng.uniform(-0.01, 0.015, n_cont)[:, None]
    noise_cv = rng.uniform(0.10, 0.30, n_cont)[:, None]
    mean = level * np.clip(1 + trend * (months - n_months / 2), 0.2, None)
    seasonal = pattern_index[continuous] == 1
    amplitude = np.where(seasonal, rng.uniform(0.15, 0.50, n_cont), 0.0)[:, None]
    phase = rng.uniform(0, 2 * np.pi, n_cont)[:, None]
    angle = 2 * np.pi * months / 12 + phase
    profile = 1 + amplitude * (0.8 * np.sin(angle) + 0.2 * np.sin(2 * angle + phase))
    mean = mean * profile
    draws = mean * (1 + noise_cv * rng.standard_normal((n_cont, n_months)))
    values[continuous] = np.round(np.clip(draws, 0, None))

    for code, name in ((2, "intermittent"), (3, "lumpy")):
        rows = np.flatnonzero(pattern_index == code)
        n_rows = rows.size
        if name == "intermittent":
            prob = rng.uniform(0.15, 0.60, n_rows)[:, None]
            shape = rng.uniform(4, 12, n_rows)[:, None]
            size_mean = rng.uniform(2, 30, n_rows)[:, None]
            sizes = rng.gamma(shape, size_mean / shape, (n_rows, n_months))
        else:
            prob = rng.uniform(0.20, 0.55, n_rows)[:, None]
            sigma = rng.uniform(1.0, 1.5, n_rows)[:, None]
            median = rng.uniform(2, 40, n_rows)[:, None]
            sizes = median * np.exp(sigma * rng.standard_normal((n_rows, n_months)))
        demand = rng.random((n_rows, n_months)) < prob
        values[rows] = np.where(demand, np.maximum(np.round(sizes), 1.0), 0.0)

    return values, np.asarray(PATTERNS)[pattern_index]


def sku_codes(n_series: int) -> np.ndarray:
    """SKU codes ``SKU000001``… for ``n_series`` rows (sorted as the rows are)."""
    width = max(6, len(str(n_series)))
    return np.array([f"SKU{i:0{width}d}" for i in range(1, n_series + 1)])


def long_frame(values: np.ndarray, start: pd.Timestamp = START) -> pd.DataFrame:
    """The matrix as sopkit's long actuals.

    Parameters
    ----------
    values : ndarray, shape (n_series, n_months)
        From :func:`demand_matrix`.
    start : Timestamp
        First month (a month start).

    Returns
    -------
    DataFrame
        ``sku, period, qty``, one row per series and month (zeros included),
        sorted by ``sku, period``.
    """
    n_series, n_months = values.shape
    periods = pd.date_range(start, periods=n_months, freq="MS")
    return pd.DataFrame(
        {
            "sku": np.repeat(sku_codes(n_series), n_months),
            "period": np.tile(periods.to_numpy(), n_series),
            "qty": values.ravel(),
        }
    )


def statsforecast_frame(values: np.ndarray, start: pd.Timestamp = START) -> pd.DataFrame:
    """The matrix in statsforecast's long format ``unique_id, ds, y`` (same rows)."""
    return long_frame(values, start).rename(columns={"sku": "unique_id", "period": "ds",
                                                     "qty": "y"})


def fingerprint(values: np.ndarray) -> str:
    """First 12 hex digits of the SHA-256 of the matrix (to show two runs used the same data)."""
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()[:12]
