"""``sop forecast``: a statistical forecast of one demand-history file.

Input: CSV (or XLSX) with ``sku, period, qty`` (monthly ``YYYY-MM``), checked
against :data:`sopkit.contract.HISTORY` with every problem reported by row.
How real-world data is handled:

* missing months inside a series and blank quantities are zero demand;
* months before a series' first demand (leading zeros before launch) are
  ignored;
* negative quantities (returns) are clipped to zero for modelling;
* an all-zero series gets a zero forecast, a series of 1–3 months the mean of
  what exists (model ``history_mean``);
* duplicate ``(sku, period)`` rows are rejected, naming both rows: summing them
  silently could double count an export that was appended twice.

Output: one row per SKU and future month: ``sku, period, qty_forecast``, one
column per quantile (``qty_q10``…), ``model``, ``demand_class``.
"""

from __future__ import annotations

from pathlib import Path

from sopkit.contract import HISTORY
from sopkit.errors import DataError, ParameterError, Problem


def parse_quantiles(text: str) -> list[float]:
    """``"0.1,0.5,0.9"`` → ``[0.1, 0.5, 0.9]``, each strictly between 0 and 1."""
    levels = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise ParameterError(f"--quantiles: {part!r} is not a number") from None
        if not 0 < value < 1:
            raise ParameterError(f"--quantiles: {value} is not strictly between 0 and 1")
        levels.append(value)
    if not levels:
        raise ParameterError("--quantiles: give at least one level, e.g. 0.1,0.5,0.9")
    return levels


def read_history(path: str | Path):
    """Read and check a demand-history file; raises DataError listing every problem."""
    from sopkit.io import read_table

    path = Path(path)
    frame, problems = read_table(path, HISTORY)
    if frame is not None and not problems and frame.empty:
        problems = [Problem(path.name, None, None, "has a header but no data rows")]
    if problems:
        raise DataError(problems, headline=f"{len(problems)} problem(s) in {path}")
    return frame.reset_index(drop=True)


def run_forecast_command(args) -> int:
    """Implementation of ``sop forecast`` (see :mod:`sopkit.cli`)."""
    from sopkit.forecast import StatisticalForecaster
    from sopkit.workspace import MONTH_COLUMNS

    if args.horizon < 1:
        raise ParameterError(f"--horizon must be at least 1, got {args.horizon}")
    if not 0 < args.service_level < 1:
        raise ParameterError(f"--service-level must be between 0 and 1, got {args.service_level}")
    if args.pipeline:
        raise ParameterError("--pipeline: the lumpy-demand model is not available in this "
                             "version; run without --pipeline")
    history = read_history(args.history)
    forecaster = StatisticalForecaster(
        horizon=args.horizon,
        season_length=args.season_length or 12,
        quantiles=parse_quantiles(args.quantiles),
        service_level=args.service_level,
    ).fit(history)
    forecast = forecaster.predict()
    out = forecast.copy()
    for col in MONTH_COLUMNS:
        if col in out.columns:
            out[col] = out[col].dt.strftime("%Y-%m")
    out_path = Path(args.out)
    if out_path.parent and not out_path.parent.exists():
        raise ParameterError(f"--out: folder {out_path.parent} does not exist")
    out.to_csv(out_path, index=False)
    n_skus = forecast["sku"].nunique()
    print(f"forecast of {n_skus} series × {args.horizon} months written to {out_path}")
    counts = forecaster.selection_["model"].value_counts()
    print("models chosen: " + ", ".join(f"{m} {n}" for m, n in counts.items()))
    return 0
