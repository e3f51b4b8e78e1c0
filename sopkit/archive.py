"""Forecast snapshots: what each cycle forecast, kept to measure accuracy honestly.

A backtest says how a model *would have* done; the archive says how the plan
the company actually used *did*. Every demand review archives its naive,
statistical and consensus forecasts as one snapshot, and accuracy is measured
on those snapshots once the actuals arrive — at lag 1 (the forecast made for
the next month) and lag 3 (three months ahead, what supply had to commit to),
with the forecast value added (FVA) staircase naive → statistical → consensus.

Lags: a snapshot of cycle ``C`` (the first month planned) forecasts month
``C`` at lag 1, ``C + 1`` at lag 2, and so on.

Files: ``<workspace>/archive/forecasts_<cycle>.csv`` with columns
``snapshot, sku, period, lag``, one per step of :data:`MEASURES`
(``qty_naive, qty_stat, qty_with_pipeline, qty_with_adjustments,
qty_consensus``) and ``rebuilt``: False when the cycle's own run archived the
forecasts it planned with, True when :func:`backfill` rebuilt them later from
data (nobody planned with those). Snapshots written before the middle steps
existed read back with those steps equal to the statistical forecast; those
written before ``rebuilt`` existed read back with it missing (``<NA>``,
origin unknown: a cycle's run or a backfill may have written them, and
nothing in the file tells which, so neither value is assumed). :func:`cycle_sources` and
:func:`describe_sources` say which of the scored cycles were rebuilt, for a
report's caption. Beside each,
``deals_<cycle>.csv`` (:func:`deal_snapshot`) keeps the open deals the plan
counted, per deal line, owner and month, so the pipeline's value can be
judged per deal owner (:func:`pipeline_fva`), as the adjustments' is per
adjuster (:func:`adjustment_fva`); cycles archived before it have none. And
``models_<cycle>.csv`` (:func:`model_snapshot`) keeps the statistical model
the cycle chose per SKU, which the next cycle keeps while it scores within a
margin of the best (:func:`previous_models`; ``keep_margin`` of
:class:`sopkit.forecast.StatisticalForecaster`). A rerun of
a cycle replaces that cycle's snapshot (the approved plan of record is kept
by the plan store, not here); snapshots of other cycles are never touched.

A new installation has no archive. :func:`backfill` rebuilds snapshots for past
cycles from what was known then — history before that cycle, pipeline
snapshots and adjustments entered before it — so that accuracy can be shown
from the first cycle on; they are marked ``rebuilt``: today's sopkit on
yesterday's data, not the forecasts the planners saw. Promotions carry no
entry date and are used as they stand (documented leak: a promotion planned
later than the backfilled cycle would have been unknown then).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sopkit.errors import ParameterError, whole_number
from sopkit.io import read_model_labels
from sopkit.periods import add_months, cycle_month, fmt_month, months_between

# The forecast value added staircase: each step adds one input stream.
MEASURES = {
    "naive": "qty_naive",
    "statistical": "qty_stat",
    "+ pipeline": "qty_with_pipeline",  # statistics less the announced share, plus deals
    "+ adjustments": "qty_with_adjustments",  # ... plus the (debiased) manual adjustments
    "consensus": "qty_consensus",  # ... plus promotions, lifecycle: the plan
}
COLUMNS = ["snapshot", "sku", "period", "lag", *MEASURES.values(), "rebuilt"]
# What a cycle_sources row calls a snapshot by its rebuilt flag (missing: unknown).
SOURCES = {False: "recorded", True: "rebuilt"}
FILE_RE = re.compile(r"^forecasts_(\d{4}-\d{2})\.csv$")
# The open deals each cycle's plan counted, per deal line and month, as the model weighed them.
DEAL_COLUMNS = ["snapshot", "deal_id", "sku", "owner", "period", "qty_expected"]
DEAL_FILE_RE = re.compile(r"^deals_(\d{4}-\d{2})\.csv$")
# The statistical model each cycle chose per SKU: the next cycle keeps it within a margin.
MODEL_COLUMNS = ["snapshot", "sku", "model"]
MODEL_FILE_RE = re.compile(r"^models_(\d{4}-\d{2})\.csv$")


def archive_dir(workspace: str | Path) -> Path:
    return Path(workspace) / "archive"


def naive_forecast(actuals: pd.DataFrame, periods: pd.DatetimeIndex, *,
                   end: pd.Timestamp) -> pd.DataFrame:
    """The naive forecast: each SKU's demand of month ``end`` carried forward.

    SKUs without a row in month ``end`` forecast 0. Returns ``sku, period, qty_naive``.
    """
    last = actuals[actuals["period"] == pd.Timestamp(end)].groupby("sku")["qty"].sum()
    skus = pd.Index(actuals["sku"].unique(), name="sku")
    level = last.reindex(skus).fillna(0.0).clip(lower=0.0)
    return pd.DataFrame({
        "sku": np.repeat(skus.to_numpy(), len(periods)),
        "period": np.tile(periods.to_numpy(), len(skus)),
        "qty_naive": np.repeat(level.to_numpy(dtype=float), len(periods)),
    })


def snapshot(demand_plan: pd.DataFrame, actuals: pd.DataFrame, *, cycle,
             rebuilt: bool = False) -> pd.DataFrame:
    """This cycle's forecasts as an archive snapshot.

    Parameters
    ----------
    demand_plan : DataFrame
        The demand step's plan: ``sku, period, qty_stat, qty_consensus``.
    actuals : DataFrame
        History up to the month before ``cycle`` (for the naive forecast).
    rebuilt : bool
        True when the plan is rebuilt after the fact (:func:`backfill`),
        False (default) when it is the plan the cycle's run made.

    Returns
    -------
    DataFrame
        ``snapshot, sku, period, lag``, the :data:`MEASURES` columns and
        ``rebuilt`` (nullable boolean).
    """
    start = cycle_month(cycle)
    plan = demand_plan[demand_plan["period"] >= start].copy()
    if {"qty_stat_unannounced", "qty_pipeline"} <= set(plan.columns):
        plan["qty_with_pipeline"] = plan["qty_stat_unannounced"] + plan["qty_pipeline"]
    else:
        plan["qty_with_pipeline"] = plan["qty_stat"]
    plan["qty_with_adjustments"] = plan["qty_with_pipeline"] + (
        plan["qty_adjustment"] if "qty_adjustment" in plan.columns else 0.0)
    plan = plan[["sku", "period", "qty_stat", "qty_with_pipeline", "qty_with_adjustments",
                 "qty_consensus"]]
    periods = pd.DatetimeIndex(sorted(plan["period"].unique()))
    naive = naive_forecast(actuals[actuals["period"] < start], periods,
                           end=add_months(start, -1))
    frame = plan.astype({"sku": "string"}).merge(naive.astype({"sku": "string"}),
                                                 on=["sku", "period"], how="outer")
    frame[list(MEASURES.values())] = frame[list(MEASURES.values())].fillna(0.0)
    frame["snapshot"] = start
    frame["lag"] = months_between(pd.Series(start, index=frame.index), frame["period"]) + 1
    frame["rebuilt"] = pd.array([bool(rebuilt)] * len(frame), dtype="boolean")
    return frame[COLUMNS].sort_values(["sku", "period"], ignore_index=True)


def _write(frame: pd.DataFrame, workspace: str | Path, stem: str, cycle=None) -> Path:
    """Write one cycle's rows to ``<stem>_<cycle>.csv`` atomically (replacing it)."""
    cycles = frame["snapshot"].unique()
    if len(cycles) > 1 or (len(cycles) == 0 and cycle is None):
        raise ParameterError("a snapshot holds exactly one cycle")
    folder = archive_dir(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}_{fmt_month(cycles[0] if len(cycles) else cycle_month(cycle))}.csv"
    out = frame.copy()
    out["snapshot"] = fmt_month(out["snapshot"])
    if "period" in out.columns:
        out["period"] = fmt_month(out["period"])
    tmp = path.with_suffix(".csv.tmp")
    out.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def _archived_files(workspace: str | Path, pattern: re.Pattern, before) -> list[Path]:
    folder = archive_dir(workspace)
    paths = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        match = pattern.match(path.name)
        if match and (before is None
                      or pd.Timestamp(match.group(1) + "-01") < cycle_month(before)):
            paths.append(path)
    return paths


def write_snapshot(frame: pd.DataFrame, workspace: str | Path) -> Path:
    """Store a snapshot (replacing the same cycle's earlier one). Returns the path."""
    return _write(frame, workspace, "forecasts")


def _no_deals() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
        DEAL_COLUMNS, ["datetime64[ns]", "string", "string", "string", "datetime64[ns]",
                       "float64"], strict=True)})


def deal_snapshot(open_deals: pd.DataFrame, open_deal_months: pd.DataFrame, *,
                  cycle) -> pd.DataFrame:
    """The open deals a cycle's plan counted, per deal line, owner and month.

    Parameters
    ----------
    open_deals, open_deal_months : DataFrame
        ``open_deals_`` (``deal_id, sku, owner``...) and ``open_deal_months_``
        (``deal_id, sku, period, qty_expected``) of the fitted
        :class:`sopkit.lumpy.LumpyDemandModel` after ``predict``.

    Returns
    -------
    DataFrame
        :data:`DEAL_COLUMNS`; ``qty_expected`` is the line's calibrated
        expected quantity spread over the months it may land in (what the
        plan's ``qty_pipeline`` adds up).
    """
    start = cycle_month(cycle)
    if open_deal_months is None or open_deal_months.empty:
        return _no_deals()
    owners = open_deals[["deal_id", "sku", "owner"]].astype(
        {"deal_id": "string", "sku": "string", "owner": "string"}).drop_duplicates(
        ["deal_id", "sku"])
    months = open_deal_months[["deal_id", "sku", "period", "qty_expected"]].astype(
        {"deal_id": "string", "sku": "string"})
    frame = months.merge(owners, on=["deal_id", "sku"], how="left")
    frame["owner"] = frame["owner"].fillna("unspecified")
    frame = frame.groupby(["deal_id", "sku", "owner", "period"], as_index=False,
                          observed=True)["qty_expected"].sum()
    frame["snapshot"] = start
    return frame[DEAL_COLUMNS].sort_values(["deal_id", "sku", "period"], ignore_index=True)


def write_deal_snapshot(frame: pd.DataFrame, workspace: str | Path, *, cycle) -> Path:
    """Store a cycle's :func:`deal_snapshot` as ``deals_<cycle>.csv``; an empty one too, so
    "no open deals" stays apart from "not recorded"."""
    return _write(frame, workspace, "deals", cycle)


def read_deal_archive(workspace: str | Path, *, before=None) -> pd.DataFrame:
    """Every archived :func:`deal_snapshot` (optionally only cycles before ``before``)."""
    frames = []
    for path in _archived_files(workspace, DEAL_FILE_RE, before):
        frame = pd.read_csv(path, dtype={"deal_id": "string", "sku": "string",
                                         "owner": "string"})
        frame["snapshot"] = pd.to_datetime(frame["snapshot"], format="%Y-%m")
        frame["period"] = pd.to_datetime(frame["period"], format="%Y-%m")
        frames.append(frame)
    frames = [f for f in frames if len(f)]
    if not frames:
        return _no_deals()
    return pd.concat(frames, ignore_index=True)[DEAL_COLUMNS]


def model_snapshot(selection: pd.DataFrame, *, cycle) -> pd.DataFrame:
    """The statistical model a cycle chose per SKU (:data:`MODEL_COLUMNS`), from a
    fitted :class:`sopkit.forecast.StatisticalForecaster`'s ``selection_``."""
    frame = selection[["sku", "model"]].astype({"sku": "string", "model": "string"})
    frame.insert(0, "snapshot", cycle_month(cycle))
    return frame.sort_values("sku", ignore_index=True)


def write_model_snapshot(frame: pd.DataFrame, workspace: str | Path, *, cycle) -> Path:
    """Store a cycle's :func:`model_snapshot` as ``models_<cycle>.csv`` (replacing it)."""
    return _write(frame, workspace, "models", cycle)


def previous_models(workspace: str | Path, cycle) -> pd.DataFrame:
    """``sku, model`` of the latest cycle before ``cycle`` that archived its models
    (empty if none): the incumbents of
    :meth:`sopkit.forecast.StatisticalForecaster.fit`.

    Raises
    ------
    DataError
        When that file is damaged (:func:`sopkit.io.read_model_labels`: the
        file, row and column).
    """
    paths = _archived_files(workspace, MODEL_FILE_RE, cycle)
    if not paths:
        return pd.DataFrame({"sku": pd.Series(dtype="string"),
                             "model": pd.Series(dtype="string")})
    return read_model_labels(paths[-1]).rename_axis("sku").reset_index()


def read_archive(workspace: str | Path, *, before=None) -> pd.DataFrame:
    """Every archived snapshot (optionally only cycles before ``before``).

    ``rebuilt`` is a nullable boolean: ``<NA>`` for snapshots archived before
    sopkit wrote it (origin unknown, see the module docstring).
    """
    frames = []
    for path in _archived_files(workspace, FILE_RE, before):
        frame = pd.read_csv(path, dtype={"sku": "string"})
        for column in ("qty_with_pipeline", "qty_with_adjustments"):
            if column not in frame.columns:
                frame[column] = frame["qty_stat"]
        frame["rebuilt"] = (frame["rebuilt"] if "rebuilt" in frame.columns
                            else pd.Series(pd.NA, index=frame.index)).astype("boolean")
        frame["snapshot"] = pd.to_datetime(frame["snapshot"], format="%Y-%m")
        frame["period"] = pd.to_datetime(frame["period"], format="%Y-%m")
        frames.append(frame)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            COLUMNS, ["datetime64[ns]", "string", "datetime64[ns]", "int64",
                      *["float64"] * len(MEASURES), "boolean"], strict=True)})
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def cycle_sources(archive: pd.DataFrame, actuals: pd.DataFrame | None = None, *,
                  lags: Sequence[int] = (1, 3), months: int | None = None) -> pd.DataFrame:
    """Which archived cycles were recorded by their own run and which were rebuilt.

    Parameters
    ----------
    archive : DataFrame
        The forecast archive (:func:`read_archive`).
    actuals : DataFrame, optional
        ``sku, period, qty``: keep only the cycles :func:`accuracy` scores
        with the same ``lags`` and ``months`` (at least one forecast for a
        month with actuals). Default: every archived cycle.
    lags : sequence of int
    months : int, optional
        As in :func:`accuracy`.

    Returns
    -------
    DataFrame
        One row per cycle, oldest first: ``snapshot``, ``source``
        (``recorded``, ``rebuilt``, or ``unknown`` for snapshots archived
        before the ``rebuilt`` flag existed) and ``n_points`` (forecasts
        scored, or archived without ``actuals``).
    """
    columns = ["snapshot", "source", "n_points"]
    rows = archive if actuals is None else _scored_window(archive, actuals, lags, months)
    if rows.empty:
        return pd.DataFrame({"snapshot": pd.Series(dtype="datetime64[ns]"),
                             "source": pd.Series(dtype="string"),
                             "n_points": pd.Series(dtype="int64")})
    flag = (rows["rebuilt"] if "rebuilt" in rows.columns
            else pd.Series(pd.NA, index=rows.index)).astype("boolean")
    grouped = pd.DataFrame({"snapshot": rows["snapshot"],
                            "is_rebuilt": flag.fillna(False).astype(bool),
                            "is_unknown": flag.isna()}).groupby(
        "snapshot", as_index=False).agg(n_points=("is_rebuilt", "size"),
                                        any_rebuilt=("is_rebuilt", "any"),
                                        any_unknown=("is_unknown", "any"))
    # a snapshot is one file with one flag; were one ever mixed, rebuilt rows taint it
    grouped["source"] = np.where(grouped["any_rebuilt"], SOURCES[True],
                                 np.where(grouped["any_unknown"], "unknown", SOURCES[False]))
    grouped["source"] = grouped["source"].astype("string")
    grouped["n_points"] = grouped["n_points"].astype("int64")
    return grouped[columns].sort_values("snapshot", ignore_index=True)


def describe_sources(sources: pd.DataFrame) -> str:
    """:func:`cycle_sources` in words, for a caption.

    Examples: ``"6 archived cycles, all rebuilt from data (not the forecasts
    planners saw)"``; ``"4 archived cycles: 1 recorded by its cycle's run, 3
    rebuilt from data (not the forecasts planners saw)"``; snapshots without
    the flag add ``"… of unknown origin (archived before rebuilt cycles were
    marked)"``.
    """
    n = len(sources)
    if n == 0:
        return "no archived cycle"
    counts = sources["source"].astype(str).value_counts()
    words = {"recorded": "recorded by {their} cycle's run",
             "rebuilt": "rebuilt from data (not the forecasts planners saw)",
             "unknown": "of unknown origin (archived before rebuilt cycles were marked)"}
    noun = f"{n} archived cycle{'s' if n > 1 else ''}"
    present = [key for key in words if counts.get(key, 0)]
    if len(present) == 1:
        key = present[0]
        text = words[key].format(their="their" if n > 1 else "its")
        return f"{noun}, {'all ' if n > 1 else ''}{text}"
    parts = [f"{counts[key]} " + words[key].format(their="their" if counts[key] > 1 else "its")
             for key in present]
    return f"{noun}: " + ", ".join(parts)


def _scored_window(archive: pd.DataFrame, actuals: pd.DataFrame, lags: Sequence[int],
                   months: int | None) -> pd.DataFrame:
    """:func:`_scored` rows, only those for the last ``months`` months with actuals."""
    rows = _scored(archive, actuals, lags)
    if months is not None and len(rows):
        months = whole_number("accuracy: months", months, minimum=1)
        rows = rows[rows["period"] > add_months(actuals["period"].max(), -months)]
    return rows


def _scored(archive: pd.DataFrame, actuals: pd.DataFrame, lags: Sequence[int]) -> pd.DataFrame:
    """Archive rows whose month has actuals, joined to the actual demand (missing = 0)."""
    if archive.empty or actuals.empty:
        return archive.assign(qty=pd.Series(dtype=float)).iloc[0:0]
    last = actuals["period"].max()
    rows = archive[(archive["period"] <= last) & archive["lag"].isin(list(lags))]
    demand = actuals.groupby(["sku", "period"], as_index=False)["qty"].sum()
    demand = demand.astype({"sku": "string"})
    rows = rows.merge(demand, on=["sku", "period"], how="left")
    rows["qty"] = rows["qty"].fillna(0.0).clip(lower=0.0)
    return rows


def accuracy(archive: pd.DataFrame, actuals: pd.DataFrame, *, lags: Sequence[int] = (1, 3),
             by: str | None = None, products: pd.DataFrame | None = None,
             months: int | None = None) -> pd.DataFrame:
    """WAPE and bias of the archived forecasts by lag (and optionally by family).

    Parameters
    ----------
    archive, actuals : DataFrame
        The forecast archive (:func:`read_archive`) and ``sku, period, qty``.
    lags : sequence of int
        Lags scored.
    by : str, optional
        A product column to break down by (``family``); needs ``products``.
    months : int, optional
        Only the forecasts *for* the last ``months`` months with actuals (a
        rolling window, as a monthly scorecard reports: this month's value
        is not averaged with every earlier cycle's). Default: every month
        the archive and the actuals share.

    Returns
    -------
    DataFrame
        ``[by], lag, forecast`` (naive / statistical / consensus),
        ``n_snapshots, n_points, qty_actual, qty_forecast, wape, bias`` where
        ``wape = Σ|f − a| / Σa`` and ``bias = Σ(f − a) / Σa`` (NaN when Σa = 0).
    """
    rows = _scored_window(archive, actuals, lags, months)
    keys = [by] if by else []
    if by:
        if products is None:
            raise ParameterError(f"accuracy by {by!r} needs the products table")
        rows = rows.merge(products[["sku", by]], on="sku", how="left")
    out = []
    for name, column in MEASURES.items():
        part = rows.assign(abs_error=(rows[column] - rows["qty"]).abs(),
                           error=rows[column] - rows["qty"])
        grouped = part.groupby([*keys, "lag"], as_index=False).agg(
            n_snapshots=("snapshot", "nunique"), n_points=("qty", "size"),
            qty_actual=("qty", "sum"), qty_forecast=(column, "sum"),
            abs_error=("abs_error", "sum"), error=("error", "sum"))
        grouped.insert(len(keys) + 1, "forecast", name)
        out.append(grouped)
    frame = pd.concat(out, ignore_index=True)
    total = frame["qty_actual"].where(frame["qty_actual"] > 0)
    frame["wape"] = frame["abs_error"] / total
    frame["bias"] = frame["error"] / total
    order = {name: i for i, name in enumerate(MEASURES)}
    frame = frame.sort_values([*keys, "lag", "forecast"], key=lambda s: s.map(order)
                              if s.name == "forecast" else s, ignore_index=True)
    return frame.drop(columns=["abs_error", "error"])


def accuracy_by_month(archive: pd.DataFrame, actuals: pd.DataFrame, *, lag: int = 1
                      ) -> pd.DataFrame:
    """WAPE and bias of the archived forecasts at one lag, month by month.

    A table pooled over every archived cycle (:func:`accuracy`) hides how
    accuracy moves: this gives each month the forecasts were *for* its own
    figures, as a monthly scorecard reads them.

    Returns
    -------
    DataFrame
        ``period`` (the month forecast), ``qty_actual``, then ``wape`` and
        ``bias`` of the statistical forecast and of the consensus
        (``wape_statistical, bias_statistical, wape_consensus,
        bias_consensus``), oldest month first.
    """
    rows = _scored(archive, actuals, (lag,))
    columns = ["period", "qty_actual", "wape_statistical", "bias_statistical", "wape_consensus",
               "bias_consensus"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    out = rows.groupby("period", as_index=False).agg(qty_actual=("qty", "sum"))
    for name in ("statistical", "consensus"):
        column = MEASURES[name]
        part = rows.assign(abs_error=(rows[column] - rows["qty"]).abs(),
                           error=rows[column] - rows["qty"]).groupby("period").agg(
            abs_error=("abs_error", "sum"), error=("error", "sum"))
        total = out.set_index("period")["qty_actual"]
        total = total.where(total > 0)
        out[f"wape_{name}"] = (part["abs_error"] / total).to_numpy()
        out[f"bias_{name}"] = (part["error"] / total).to_numpy()
    return out[columns].sort_values("period", ignore_index=True)


def fva(accuracy_table: pd.DataFrame, *, lag: int = 1) -> pd.DataFrame:
    """The forecast value added staircase at one lag.

    Each step's FVA is the previous step's WAPE minus its own: positive means
    the step made the forecast better (statistics beat naive; sales and
    marketing input beat statistics).

    Returns
    -------
    DataFrame
        ``[by], forecast, wape, bias, fva`` (NaN for the first step).
    """
    part = accuracy_table[accuracy_table["lag"] == lag]
    keys = [c for c in part.columns if c not in (
        "lag", "forecast", "n_snapshots", "n_points", "qty_actual", "qty_forecast", "wape",
        "bias")]
    part = part[[*keys, "forecast", "wape", "bias"]].copy()
    if keys:
        part["fva"] = -part.groupby(keys)["wape"].diff()
    else:
        part["fva"] = -part["wape"].diff()
    return part.reset_index(drop=True)


def backfill(data, *, cycle, months: int, workspace: str | Path,
             forecaster_params: Mapping | None = None) -> list[Path]:
    """Rebuild snapshots of the ``months`` cycles before ``cycle`` that are missing.

    Each past cycle is forecast only from what was known then: actuals before
    it, pipeline snapshots and adjustments entered before it (promotions as
    they stand), and its consensus comes from the same lumpy-demand model as
    the live cycle's, fitted on that history and the snapshots archived
    before it; its statistical models keep those of the cycle before within
    the margin, as a live cycle's do, and are archived too. Pass the live
    cycle's ``forecaster_params`` (horizon, season length, backtest windows,
    keep margin): the backtest window follows the horizon, so other settings
    would choose other models than the live cycle did.
    Existing snapshots are left alone; those written are marked
    ``rebuilt`` (True), so reports can tell them from forecasts a cycle's run
    recorded (:func:`cycle_sources`).

    Returns
    -------
    list of Path
        The snapshot files written.
    """
    from sopkit.forecast import StatisticalForecaster
    from sopkit.lumpy import LumpyDemandModel

    params = {"season_length": 12, **dict(forecaster_params or {})}
    start = cycle_month(cycle)
    existing = set(read_archive(workspace)["snapshot"].unique())
    written = []
    for k in range(months, 0, -1):
        past = add_months(start, -k)
        if past in existing:
            continue
        history = data.actuals[data.actuals["period"] < past]
        if history.empty:
            continue
        forecaster = StatisticalForecaster(**params).fit(
            history, end=add_months(past, -1), incumbent=previous_models(workspace, past))
        write_model_snapshot(model_snapshot(forecaster.selection_, cycle=past), workspace,
                             cycle=past)
        pipeline = _entered_before(data.pipeline, past)
        model = LumpyDemandModel(random_state=0).fit(
            history, pipeline if pipeline is not None and len(pipeline) else None, cycle=past,
            adjustments=_entered_before(data.adjustments, past),
            stat_history=read_archive(workspace, before=past), products=data.products)
        plan = model.predict(forecaster.predict(), promotions=data.promotions,
                             products=data.products)
        written.append(write_snapshot(snapshot(plan, history, cycle=past, rebuilt=True),
                                      workspace))
        write_deal_snapshot(deal_snapshot(model.open_deals_, model.open_deal_months_,
                                          cycle=past), workspace, cycle=past)
    return written


def _entered_before(frame: pd.DataFrame, cycle: pd.Timestamp) -> pd.DataFrame:
    if frame is None or frame.empty or "snapshot" not in frame.columns:
        return frame
    return frame[frame["snapshot"] < cycle]


def previous_snapshot(workspace: str | Path, cycle) -> pd.DataFrame:
    """The latest archived snapshot of a cycle before ``cycle`` (empty if none)."""
    past = read_archive(workspace, before=cycle)
    if past.empty:
        return past
    return past[past["snapshot"] == past["snapshot"].max()].reset_index(drop=True)


def adjustment_fva(archive: pd.DataFrame, adjustments: pd.DataFrame,
                   actuals: pd.DataFrame) -> pd.DataFrame:
    """Forecast value added of each owner's manual adjustments, by direction.

    Each past adjustment (recorded in month ``snapshot`` for ``sku, period``,
    so entered for the cycle one month later, as pipeline snapshots are) is
    judged against the statistical forecast archived for that cycle: its
    absolute error without the adjustment, ``|stat − actual|``, and with it,
    ``|stat + qty_delta − actual|``. Only months with actuals count.

    Returns
    -------
    DataFrame
        ``owner, direction, n_adjustments, qty_actual, error_without,
        error_with, fva`` where ``fva = (error_without − error_with) /
        qty_actual`` in WAPE points: positive means the owner's adjustments
        made the forecast better.
    """
    columns = ["owner", "direction", "n_adjustments", "qty_actual", "error_without",
               "error_with", "fva"]
    if archive.empty or adjustments is None or adjustments.empty or actuals.empty:
        return pd.DataFrame(columns=columns)
    stat = archive[["snapshot", "sku", "period", "qty_stat"]].rename(columns={"snapshot": "cycle"})
    rows = adjustments[["snapshot", "owner", "sku", "period", "qty_delta"]].astype(
        {"sku": "string"})
    # recorded in month s, entered for the cycle s + 1 against its forecast
    rows = rows.assign(cycle=rows["snapshot"] + pd.DateOffset(months=1)).merge(
        stat, on=["cycle", "sku", "period"], how="inner")
    rows = rows[rows["period"] <= actuals["period"].max()]
    demand = actuals.groupby(["sku", "period"], as_index=False)["qty"].sum().astype(
        {"sku": "string"})
    rows = rows.merge(demand, on=["sku", "period"], how="left").fillna({"qty": 0.0})
    rows["direction"] = np.where(rows["qty_delta"] >= 0, "up", "down")
    rows["error_without"] = (rows["qty_stat"] - rows["qty"]).abs()
    rows["error_with"] = (rows["qty_stat"] + rows["qty_delta"] - rows["qty"]).abs()
    out = rows.groupby(["owner", "direction"], as_index=False).agg(
        n_adjustments=("qty_delta", "size"), qty_actual=("qty", "sum"),
        error_without=("error_without", "sum"), error_with=("error_with", "sum"))
    out["fva"] = (out["error_without"] - out["error_with"]) / out["qty_actual"].where(
        out["qty_actual"] > 0)
    return out[columns]


def pipeline_fva(archive: pd.DataFrame, deals: pd.DataFrame,
                 actuals: pd.DataFrame) -> pd.DataFrame:
    """Forecast value added of each deal owner's open deals, as the plans counted them.

    For every archived cycle with a :func:`deal_snapshot`, each SKU-month with
    actuals that an owner's deals added to is judged twice: the "+ pipeline"
    forecast as archived (``qty_with_pipeline``: statistics less the
    announced share, plus every open deal) and the same without that owner's
    deals (``qty_with_pipeline − Σ qty_expected`` of the owner's lines there).
    All else stays: the announced share is taken off either way, so an owner
    whose deals fill the part the statistics gave up gets the credit.

    Returns
    -------
    DataFrame
        ``owner, n_deal_lines, n_cells, qty_actual, qty_expected,
        error_without, error_with, fva`` with ``fva = (error_without −
        error_with) / qty_actual`` in WAPE points (positive: the owner's deals
        made the plan better). ``qty_actual`` and the errors are over the
        owner's SKU-months, so two owners on one SKU-month both count it.
        ``top_sku`` is the SKU whose deals moved the owner's error most and
        ``fva_without_top`` the owner's FVA without it: one large deal can
        make a whole pipeline look good or bad.
    """
    columns = ["owner", "n_deal_lines", "n_cells", "qty_actual", "qty_expected",
               "error_without", "error_with", "fva", "top_sku", "fva_without_top"]
    if archive.empty or deals is None or deals.empty or actuals.empty:
        return pd.DataFrame(columns=columns)
    key = ["snapshot", "sku", "period"]
    rows = deals[deals["period"] <= actuals["period"].max()].astype({"sku": "string"})
    per_owner = rows.groupby([*key, "owner"], as_index=False, observed=True)[
        "qty_expected"].sum()
    plan = archive[[*key, "qty_with_pipeline"]].astype({"sku": "string"})
    per_owner = per_owner.merge(plan, on=key, how="inner")
    demand = actuals.groupby(["sku", "period"], as_index=False)["qty"].sum().astype(
        {"sku": "string"})
    per_owner = per_owner.merge(demand, on=["sku", "period"], how="left").fillna({"qty": 0.0})
    per_owner["error_with"] = (per_owner["qty_with_pipeline"] - per_owner["qty"]).abs()
    per_owner["error_without"] = (per_owner["qty_with_pipeline"] - per_owner["qty_expected"]
                                  - per_owner["qty"]).abs()
    judged = rows.merge(per_owner[key].drop_duplicates(), on=key, how="inner")
    lines = judged.drop_duplicates(["owner", "deal_id", "sku"]).groupby(
        "owner", observed=True).size()
    out = per_owner.groupby("owner", as_index=False, observed=True).agg(
        n_cells=("qty", "size"), qty_actual=("qty", "sum"),
        qty_expected=("qty_expected", "sum"), error_without=("error_without", "sum"),
        error_with=("error_with", "sum"))
    out["n_deal_lines"] = lines.reindex(out["owner"]).fillna(0).astype(int).to_numpy()
    out["fva"] = (out["error_without"] - out["error_with"]) / out["qty_actual"].where(
        out["qty_actual"] > 0)
    by_sku = per_owner.assign(gain=per_owner["error_without"] - per_owner["error_with"]).groupby(
        ["owner", "sku"], observed=True).agg(gain=("gain", "sum"), qty=("qty", "sum"))
    top = by_sku.loc[by_sku["gain"].abs().groupby(level="owner", observed=True).idxmax()]
    top = top.reset_index().set_index("owner")
    out["top_sku"] = out["owner"].map(top["sku"]).astype("string")
    rest_gain = out["error_without"] - out["error_with"] - out["owner"].map(top["gain"])
    rest_qty = out["qty_actual"] - out["owner"].map(top["qty"])
    out["fva_without_top"] = (rest_gain / rest_qty.where(rest_qty > 0)).astype(float)
    return out[columns].sort_values("owner", ignore_index=True)
