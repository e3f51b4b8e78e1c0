"""``sop forecast``: a statistical forecast of one demand-history file.

Input: CSV (or XLSX) with ``sku, period, qty``, checked against
:data:`sopkit.contract.HISTORY` with every problem reported by row. Periods are
either all months ``YYYY-MM`` or all ISO weeks ``YYYY-Www`` (weeks start on
Monday; the default season is then 52 weeks instead of 12 months). A file
mixing the two is rejected, naming the rows of the less frequent format;
ordinal labels without a calendar date (``t01``, ``t02``…) are rejected too:
map them to months or weeks first. How real-world data is handled:

* missing months inside a series and blank quantities are zero demand;
* rows with quantity 0 before a series' first demand are recorded zero
  demand and count as history (``--leading-zeros history``, the default: a
  spare part with two years of zeros then one order is intermittent, not new);
  periods before a series' first row are "not launched yet". For exports that
  pad every item with zeros from a common start, ``--leading-zeros prelaunch``
  ignores everything before the first demand instead;
* negative quantities (returns) are clipped to zero for modelling;
* an all-zero series gets a zero forecast, a series of 1–3 months the mean of
  what exists (model ``history_mean``);
* duplicate ``(sku, period)`` rows are rejected, naming both rows: summing them
  silently could double count an export that was appended twice;
* SKU codes that differ only in case, spaces or punctuation (``VLV-0001`` and
  ``VLV0001``) are forecast separately, with a warning naming their rows.

With ``--pipeline PIPELINE.csv`` (the data contract's pipeline table, several
snapshots), the lumpy-demand model (:mod:`sopkit.lumpy`) learns from the past
snapshots how far to trust the deals and blends the latest snapshot's open
deals into the forecast: ``qty_forecast`` is then the consensus, and the
columns ``qty_stat``, ``announced_share`` and ``qty_pipeline`` show the parts.
Monthly history only (slips are learned in months). A deal whose SKU is spelt
differently from the history's (``spk-0015`` for ``SPK-0015``) stops the run,
naming its row; a SKU with no history at all is planned from its deals, with a
warning; so are snapshots dated after the forecast starts (not used), an export
more than two months old, overdue and reopened deals (:data:`PIPELINE_CHECKS`).
``--adjustments ADJUSTMENTS.csv`` and ``--promotions PROMOTIONS.csv`` (the
contract's tables; with or without a pipeline) add the manual adjustments,
debiased by their owners' track record, and the promotions at their stated lift
(columns ``qty_adjustment_raw``, ``qty_adjustment``, ``qty_promo``); their SKU
codes are checked against the history the same way.

With ``--previous LAST.csv`` (an earlier run's output, or any table with
``sku, model``), each SKU keeps that run's model while it scores within 10 %
of the best (``keep_margin`` of :class:`sopkit.forecast.StatisticalForecaster`):
a forecast run every month then changes model, and moves, only when the
data say so.

Output: one row per SKU and future period: ``sku, period`` (written in the
input's format, ``YYYY-MM`` or ``YYYY-Www``), ``qty_forecast``, one column per
quantile (``qty_q10``…), ``model``, ``demand_class``.

Scale (``docs/scaling.md``): ``--compute dask-local`` or ``--compute dask
--scheduler tcp://host:8786`` fit chunks of ``--chunk-size`` SKUs on Dask with
the same numbers as in-process. A Parquet file or partitioned Parquet folder
as input is forecast into partitioned Parquet (``--out`` a folder or
``.parquet`` name): with Dask the workers read, fit and write, and this
process never holds the history. A CSV input may also be written as Parquet.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pandas as pd

from sopkit.compute import compute_settings, fit_forecaster, forecast_dataset, is_parquet_path
from sopkit.contract import HISTORY
from sopkit.errors import DataError, ParameterError, Problem
from sopkit.io import read_model_labels
from sopkit.periods import fmt_week, parse_week_series, period_format

MAX_LISTED_ROWS = 50


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


def _history_as_text():
    """:data:`HISTORY` with ``period`` read as text (its format is decided afterwards)."""
    columns = tuple(
        dataclasses.replace(c, dtype="str", unit="YYYY-MM or YYYY-Www") if c.name == "period"
        else c for c in HISTORY.columns
    )
    return dataclasses.replace(HISTORY, columns=columns)


def _warn(text: str) -> None:
    print(f"sop forecast: warning: {text}", file=sys.stderr)


def _raise(problems: list[Problem], path: Path, headline: str | None = None):
    raise DataError(problems, headline=headline or f"{len(problems)} problem(s) in {path}")


def detect_frequency(frame: pd.DataFrame, file: str) -> str:
    """``"MS"`` (all periods are months) or ``"W-MON"`` (all are ISO weeks).

    ``frame`` is indexed by spreadsheet row (as :func:`sopkit.io.read_table`
    returns it), with ``period`` as text.

    Raises
    ------
    DataError
        On ordinal labels (``t01``…), unreadable periods, or months and weeks
        mixed in one file (naming the rows of the less frequent format).
    """
    kinds = period_format(frame["period"])
    counts = kinds[kinds.isin(["month", "week"])].value_counts()
    problems = []
    for kind, message in (
        ("ordinal", "ordinal period label without a calendar date: map it to a month "
                    "(YYYY-MM) or an ISO week (YYYY-Www) first"),
        ("other", "not a month (YYYY-MM) or an ISO week (YYYY-Www)"),
    ):
        for row, value in frame.loc[(kinds == kind).to_numpy(), "period"].head(
                MAX_LISTED_ROWS).items():
            problems.append(Problem(file, int(row), "period", message, str(value)))
    if len(counts) == 2:
        minority, majority = (("week", "month") if counts["week"] <= counts["month"]
                              else ("month", "week"))
        for row, value in frame.loc[(kinds == minority).to_numpy(), "period"].head(
                MAX_LISTED_ROWS).items():
            problems.append(Problem(
                file, int(row), "period",
                f"{minority} period in a file of {majority}s ({counts[majority]} rows): "
                "use one period format per file", str(value)))
        headline = (f"{file} mixes months ({counts['month']} rows) and ISO weeks "
                    f"({counts['week']} rows); use one period format per file")
        raise DataError(problems, headline=headline)
    if problems:
        raise DataError(problems, headline=f"{len(problems)} problem(s) in {file}")
    return "W-MON" if counts.index.tolist() == ["week"] else "MS"


def read_history_with_frequency(path: str | Path) -> tuple[pd.DataFrame, str]:
    """Read and check a demand-history file of months or ISO weeks.

    Returns
    -------
    frame : DataFrame
        ``sku, period`` (month starts, or the Monday of each ISO week), ``qty``; the index
        is the spreadsheet row of each line.
    freq : str
        ``"MS"`` or ``"W-MON"``.

    Raises
    ------
    DataError
        Listing every problem (see :func:`detect_frequency` for the periods).
    """
    from sopkit.io import read_table

    path = Path(path)
    frame, problems = read_table(path, _history_as_text())
    if frame is not None and not problems and frame.empty:
        problems = [Problem(path.name, None, None, "has a header but no data rows")]
    if problems:
        _raise(problems, path)
    freq = detect_frequency(frame, path.name)
    if freq == "MS":
        return read_history(path), freq
    parsed, bad = parse_week_series(frame["period"])
    if bad.any():
        _raise([Problem(path.name, int(row), "period", "not a valid ISO week", str(value))
                for row, value in frame.loc[bad.to_numpy(), "period"].head(
                    MAX_LISTED_ROWS).items()], path)
    frame = frame.assign(period=parsed)
    duplicated = frame.duplicated(["sku", "period"], keep=False).to_numpy()
    if duplicated.any():
        rows = frame.loc[duplicated]
        _raise([Problem(path.name, int(row), "sku, period", "duplicate key (sku, period): "
                        "the same ISO week written twice", f"{sku} {fmt_week(stamp)}")
                for row, sku, stamp in zip(rows.index[:MAX_LISTED_ROWS], rows["sku"],
                                           rows["period"], strict=False)], path)
    return frame, freq


def read_history(path: str | Path):
    """Read and check a monthly demand-history file; raises DataError listing every problem.
    The index is the spreadsheet row of each line."""
    from sopkit.io import read_table

    path = Path(path)
    frame, problems = read_table(path, HISTORY)
    if frame is not None and not problems and frame.empty:
        problems = [Problem(path.name, None, None, "has a header but no data rows")]
    if problems:
        _raise(problems, path)
    return frame


def read_pipeline(path: str | Path):
    """Read and check a pipeline export (the contract's pipeline table, SKUs not checked
    against a product master); raises DataError listing every problem. The index is the
    spreadsheet row of each deal line."""
    return read_input(path, "pipeline")


def read_input(path: str | Path, table: str):
    """Read and check a pipeline, adjustments or promotions file against its contract
    table (SKUs not checked against a product master); raises DataError listing every
    problem. The index is the spreadsheet row."""
    from sopkit.io import read_table

    path = Path(path)
    frame, problems = read_table(path, table)
    if problems:
        raise DataError(problems, headline=f"{len(problems)} problem(s) in {path}")
    return frame


def near_duplicate_codes(history: pd.DataFrame, file: str) -> list[str]:
    """Warnings for SKU codes of the history that differ only in case, spaces or punctuation
    (``VLV-0001`` and ``VLV0001``): each is forecast as a product of its own, which splits
    one product's demand in two. ``history``'s index is the spreadsheet row."""
    from sopkit.quality import normalise_code, rows_text

    codes = history["sku"].dropna()
    groups = codes.groupby(codes.map(normalise_code), sort=True)
    warnings = []
    for _, group in groups:
        spellings = sorted(group.unique())
        if len(spellings) < 2:
            continue
        where = "; ".join(f"'{code}' row {rows_text(group.index[group == code])}"
                          for code in spellings)
        warnings.append(f"{file}: SKU codes {', '.join(repr(c) for c in spellings)} differ "
                        f"only in case, spaces or punctuation and are forecast as separate "
                        f"products ({where}); if they are one product, correct the codes")
    return warnings


PIPELINE_CHECKS = ("snapshot_after_cycle", "stale_export", "stale_deal", "reopened_deal")
"""Data-quality checks of :mod:`sopkit.quality` that ``sop forecast --pipeline`` runs: the
ones that need only the history and the pipeline."""


def check_pipeline(history: pd.DataFrame, pipeline: pd.DataFrame, *, cycle, history_file: str,
                   pipeline_file: str) -> list[str]:
    """What ``sop forecast`` must say about a pipeline export before using it.

    A deal whose SKU code is not in the history but matches one of its codes once case,
    spaces and punctuation are ignored (``spk-0015``, ``SPK 0015``) is an error: its deals
    would be planned as a product of their own, and count as lost when the model learns
    from the past. Raises :class:`DataError` naming every such row. Returns warnings:
    SKUs the history does not know at all (planned from their deals alone) and the
    findings of :data:`PIPELINE_CHECKS` (snapshots after the forecast starts, a stale
    export, overdue or reopened deals), each naming the file and rows.

    ``pipeline``'s index is the spreadsheet row (:func:`read_pipeline`).
    """
    from sopkit.periods import fmt_month

    def lost(group):
        resolved = group[group["period"] < cycle]
        return (f"; {len(resolved)} deal line(s) due before {fmt_month(cycle)} count as lost "
                "when the model learns from past deals" if len(resolved) else "")

    warnings = check_codes(history, pipeline, history_file=history_file, file=pipeline_file,
                           unknown="its deals are planned as a new product's", more=lost)
    return warnings + snapshot_warnings(history, "pipeline", pipeline, file=pipeline_file,
                                        cycle=cycle, checks=PIPELINE_CHECKS)


def snapshot_warnings(history: pd.DataFrame, table: str, frame: pd.DataFrame, *, file: str,
                      cycle, checks) -> list[str]:
    """The findings of the data-quality ``checks`` (:mod:`sopkit.quality`) on one
    dated-snapshot file (``pipeline`` or ``adjustments``), rows named as in ``file``.
    ``frame``'s index is the spreadsheet row."""
    from sopkit.contract import TABLES
    from sopkit.dataset import Dataset
    from sopkit.quality import quality_findings

    keyed = frame[list(TABLES[table].key)]
    rows = keyed.assign(row=keyed.index.to_numpy(dtype=int)).reset_index(drop=True)
    rows.attrs["file"] = file
    data = Dataset(actuals=history.reset_index(drop=True),
                   source_rows={table: rows}, **{table: frame.reset_index(drop=True)})
    findings = quality_findings(data, cycle=cycle, checks=checks)
    return [str(d) for d in findings.loc[findings["table"] == table, "detail"]]


ADJUSTMENT_CHECKS = ("snapshot_after_cycle", "stale_export")
"""Data-quality checks that ``sop forecast --adjustments`` runs on the adjustments file."""


def _read_known_codes(path, table: str, history: pd.DataFrame, history_file: str,
                      unknown: str, cycle) -> pd.DataFrame:
    """``read_input``, ``check_codes`` and, for adjustments, :data:`ADJUSTMENT_CHECKS`
    (warnings printed); the index reset."""
    frame = read_input(path, table)
    warnings = check_codes(history, frame, history_file=history_file, file=Path(path).name,
                           unknown=unknown)
    if table == "adjustments":
        warnings += snapshot_warnings(history, table, frame, file=Path(path).name, cycle=cycle,
                                      checks=ADJUSTMENT_CHECKS)
    for warning in warnings:
        _warn(warning)
    return frame.reset_index(drop=True)


def check_codes(history: pd.DataFrame, frame: pd.DataFrame, *, history_file: str, file: str,
                unknown: str, more=None) -> list[str]:
    """SKU codes of ``frame`` (pipeline, adjustments or promotions) against the history's.

    A code that is not in the history but matches one of its codes once case,
    spaces and punctuation are ignored (``spk-0015``, ``SPK 0015``) is an
    error: its rows would be planned as a product of their own. Raises
    :class:`DataError` naming every such row. Returns one warning per code the
    history does not know at all (``unknown`` says what becomes of its rows;
    ``more(group)`` may add to it). ``frame``'s index is the spreadsheet row.
    """
    from sopkit.quality import normalise_code, rows_text

    known = pd.Index(history["sku"].dropna().unique())
    by_code = {normalise_code(s): s for s in known}
    problems, warnings = [], []
    for sku, group in frame[~frame["sku"].isin(known)].groupby("sku", sort=True):
        meant = by_code.get(normalise_code(sku))
        if meant is not None:
            problems += [Problem(file, int(row), "sku",
                                 f"'{sku}' is not in {history_file}, but '{meant}' is: codes "
                                 "must match exactly (case, spaces and dashes included)")
                         for row in group.index]
            continue
        warnings.append(f"{file}: SKU '{sku}' has no demand history in {history_file}; "
                        f"{unknown} (row {rows_text(group.index)})"
                        + (more(group) if more else ""))
    if problems:
        raise DataError(problems, headline=f"{len(problems)} problem(s) in {file}")
    return warnings


def blend_inputs(forecast, history, pipeline, *, adjustments=None, promotions=None):
    """The statistical forecast blended by the lumpy-demand model with the pipeline, the
    manual adjustments and the promotions (each optional).

    The model is fitted on the history, every pipeline snapshot before the
    first forecast month and the adjustments' track record, then applied to
    the latest snapshot, the latest adjustments (debiased by owner and
    direction) and the promotions (at their stated lift). Returns the
    forecast's columns with ``qty_forecast`` = the consensus, plus
    ``qty_stat``, ``announced_share``, ``qty_pipeline``, ``qty_adjustment``
    and ``qty_promo``.
    """
    from sopkit.lumpy import LumpyDemandModel

    cycle = forecast["period"].min()
    model = LumpyDemandModel(random_state=0).fit(history, pipeline, cycle=cycle,
                                                 adjustments=adjustments)
    plan = model.predict(forecast, promotions=promotions)
    levels = [c for c in forecast.columns if c.startswith("qty_q")]
    out = plan[["sku", "period"]].copy()
    out["qty_forecast"] = plan["qty_consensus"]
    for column in levels:
        out[column] = plan[column]
    for column in ("qty_stat", "announced_share", "qty_pipeline", "qty_adjustment_raw",
                   "qty_adjustment", "qty_promo", "model", "demand_class"):
        out[column] = plan[column]
    return out


def check_out_path(out, inputs) -> None:
    """Refuse an ``--out`` that would overwrite an input: the same file, or (a
    partitioned Parquet output, whose old parts are replaced) a folder that
    holds an input or sits inside one. ``inputs``: option name → path or None.
    """
    if "://" in str(out):
        return
    target = Path(out).resolve()
    for name, given in inputs.items():
        if not given or "://" in str(given):
            continue
        source = Path(given).resolve()
        if target == source or source.is_relative_to(target) or target.is_relative_to(source):
            raise ParameterError(
                f"--out: {out} would overwrite the {name} {given}; write the forecast "
                "to another file or folder")


def run_forecast_command(args) -> int:
    """Implementation of ``sop forecast`` (see :mod:`sopkit.cli`)."""
    from sopkit.forecast import StatisticalForecaster, model_changes
    from sopkit.workspace import MONTH_COLUMNS

    if args.horizon < 1:
        raise ParameterError(f"--horizon must be at least 1, got {args.horizon}")
    if not 0 < args.service_level < 1:
        raise ParameterError(f"--service-level must be between 0 and 1, got {args.service_level}")
    if args.season_length is not None and args.season_length < 1:
        raise ParameterError(f"--season-length must be at least 1 period, got {args.season_length}")
    quantiles = parse_quantiles(args.quantiles)  # a bad list stops the run before the reading
    adjustments_file = getattr(args, "adjustments", None)
    promotions_file = getattr(args, "promotions", None)
    previous_file = getattr(args, "previous", None)
    check_out_path(args.out, {"history file": args.history, "pipeline file": args.pipeline,
                              "adjustments file": adjustments_file,
                              "promotions file": promotions_file,
                              "previous forecast": previous_file})
    settings = compute_settings(getattr(args, "compute", None) or "local",
                                scheduler=getattr(args, "scheduler", None),
                                workers=getattr(args, "workers", None),
                                chunk_size=getattr(args, "chunk_size", None), progress=True)
    if is_parquet_path(args.history):
        if previous_file:
            raise ParameterError("--previous: a Parquet history is forecast chunk by chunk "
                                 "without an earlier forecast's models; give a CSV history")
        return _forecast_parquet_dataset(args, settings)
    history, freq = read_history_with_frequency(args.history)
    previous = read_model_labels(previous_file) if previous_file else None
    for warning in near_duplicate_codes(history, Path(args.history).name):
        _warn(warning)
    weekly = freq == "W-MON"
    pipeline = None
    inputs = {"--pipeline": args.pipeline, "--adjustments": adjustments_file,
              "--promotions": promotions_file}
    given = [option for option, path in inputs.items() if path]
    if given and weekly:
        raise ParameterError(f"{', '.join(given)}: the lumpy-demand model plans in months "
                             "(slips, snapshots, adjustment months); give a monthly history "
                             "(YYYY-MM)")
    cycle = history["period"].max() + pd.DateOffset(months=1)
    history_file = Path(args.history).name
    if args.pipeline:
        pipeline = read_pipeline(args.pipeline)
        for warning in check_pipeline(history, pipeline, cycle=cycle,
                                      history_file=history_file,
                                      pipeline_file=Path(args.pipeline).name):
            _warn(warning)
        pipeline = pipeline.reset_index(drop=True)
    adjustments, promotions = (
        _read_known_codes(path, table, history, history_file, unknown, cycle) if path else None
        for path, table, unknown in (
            (adjustments_file, "adjustments", "its adjustments are planned as a new product's"),
            (promotions_file, "promotions", "a lift on no forecast adds nothing")))
    history = history.reset_index(drop=True)
    forecaster = StatisticalForecaster(
        horizon=args.horizon,
        season_length=args.season_length or (52 if weekly else 12),
        quantiles=quantiles,
        service_level=args.service_level,
        freq=freq,
        leading_zeros=args.leading_zeros,
    )
    forecaster = fit_forecaster(forecaster, history, compute=settings, say=print,
                                incumbent=previous)
    forecast = forecaster.predict()
    if given:
        forecast = blend_inputs(forecast, history, pipeline, adjustments=adjustments,
                                  promotions=promotions)
    out = forecast.copy()
    for col in MONTH_COLUMNS:
        if col in out.columns:
            out[col] = fmt_week(out[col]) if weekly else out[col].dt.strftime("%Y-%m")
    out_path = Path(args.out)
    if out_path.parent and not out_path.parent.exists():
        raise ParameterError(f"--out: folder {out_path.parent} does not exist")
    if is_parquet_path(out_path):
        out_path.mkdir(exist_ok=True)
        for old in out_path.glob("part-*.parquet"):
            old.unlink()
        out_path = out_path / "part-00000.parquet"
        out.to_parquet(out_path, index=False)
    else:
        out.to_csv(out_path, index=False)
    n_skus = forecast["sku"].nunique()
    unit = "weeks" if weekly else "months"
    print(f"forecast of {n_skus} series × {args.horizon} {unit} written to {out_path}")
    counts = forecaster.selection_["model"].value_counts()
    shown = ", ".join(f"{m} {n}" for m, n in counts.head(8).items())
    rest = counts.iloc[8:].sum()
    print(f"models chosen: {shown}" + (f", {rest} more SKUs on {len(counts) - 8} other models "
                                       "(see the model column)" if rest else ""))
    if previous is not None:
        matched = previous.index.isin(history["sku"].astype(str).unique())
        if not matched.all():
            _warn(f"--previous: {int((~matched).sum())} of its {len(previous)} SKUs are not in "
                  f"{history_file} (e.g. {', '.join(previous.index[~matched][:3])}); "
                  + ("no model was kept." if not matched.any() else "they were left out."))
        print(model_changes(forecaster.selection_, forecaster.keep_margin,
                            against="the previous forecast"))
    if pipeline is not None:
        print(f"pipeline blended by the lumpy-demand model: "
              f"{forecast['qty_pipeline'].sum():,.0f} units expected from open deals")
    if adjustments is not None:
        print(f"adjustments: {forecast['qty_adjustment_raw'].sum():+,.0f} units as entered, "
              f"{forecast['qty_adjustment'].sum():+,.0f} after debiasing by their owners' "
              "track record")
    if promotions is not None:
        print(f"promotions: {forecast['qty_promo'].sum():+,.0f} units at their stated lift")
    return 0


def _forecast_parquet_dataset(args, settings) -> int:
    """``sop forecast DATASET --out FOLDER``: Parquet in, partitioned Parquet out.

    With ``--compute dask``/``dask-local`` the workers read, fit and write
    their chunks; this process never holds the history or the forecast.
    """
    given = [f"--{name}" for name in ("pipeline", "adjustments", "promotions")
             if getattr(args, name, None)]
    if given:
        raise ParameterError(f"{', '.join(given)}: the lumpy-demand model needs the history in "
                             "memory; give a CSV history with them, or forecast the Parquet "
                             "dataset without them")
    out_path = Path(args.out)
    if out_path.suffix.lower() in (".csv", ".xlsx", ".txt") or (
            out_path.exists() and not out_path.is_dir()):
        raise ParameterError(f"--out: a Parquet dataset is forecast into partitioned Parquet; "
                             f"give a folder or a .parquet name, not {out_path}")
    if "://" not in str(out_path) and not out_path.parent.exists():
        raise ParameterError(f"--out: folder {out_path.parent} does not exist")
    params = {"horizon": args.horizon, "quantiles": parse_quantiles(args.quantiles),
              "service_level": args.service_level, "leading_zeros": args.leading_zeros}
    if args.season_length:
        params["season_length"] = args.season_length
    result = forecast_dataset(args.history, out_path, params, compute=settings, say=print)
    unit = "weeks" if result.freq == "W-MON" else "months"
    print(f"forecast of {result.n_series:,} series × {args.horizon} {unit} "
          f"({result.n_rows:,} rows, {result.n_chunks} chunk(s)) written to {out_path}/")
    shown = ", ".join(f"{m} {n}" for m, n in list(result.models.items())[:8])
    print(f"models chosen: {shown}")
    return 0
