"""Rolling-origin accuracy of the lumpy-demand model against simpler ways to blend the pipeline.

Usage::

    .venv/bin/python benchmarks/lumpy_blend.py [--datasets oil_refinery man_weekly auto_ijf]
        [--series 300] [--seed 0] [--no-real] [--redraws 11] [--write-docs]

Protocol (every data set): rolling origins (the cycles of :data:`N_ORIGINS`
consecutive periods ending with the last period of history). At each origin
everything is refitted on what was known then — actuals before the origin,
pipeline snapshots and adjustments entered before it (``snapshot < origin``),
statistical forecasts archived at earlier origins — and a horizon of
:data:`HORIZON` periods is forecast. Lags 1–3 are scored against the actuals
(the last origins have only lags 1–2 or 1 left) with :mod:`sopkit.evaluation`:
each SKU × origin is one series (its MASE/RMSSE scale from its own history
before the origin); MASE and RMSSE are means over those series, WAPE and
total-volume bias are pooled. Segments: SKUs the statistical forecaster
classed ``lumpy`` or ``intermittent`` at the origin, and all SKUs.

Methods:

* ``statistical`` — :class:`sopkit.forecast.StatisticalForecaster` (automatic
  selection), nothing else;
* ``sales as-is`` — statistical + Σ quantity × stated probability of the open
  deals of the latest snapshot in their expected month (overdue ones in the
  first month) + the raw adjustments of the latest adjustment snapshot; no
  de-duplication of announced orders that the statistics already expect;
* ``50/50 blend`` — the mean of the two above;
* ``global calibration`` — one realised/stated probability factor (win rate
  of resolved deal lines over their mean stated probability) and one
  announced share (Σ announced won demand / Σ demand of the pipeline SKUs),
  both learned on the same history with the model's own deal outcomes;
  statistical × (1 − share) on pipeline SKUs + factor × stated expected
  quantity (capped at the quantity) in the expected month + raw adjustments;
* ``lumpy model`` — :class:`sopkit.lumpy.LumpyDemandModel` with its defaults
  (``products`` given to ``fit`` for the family prior, not to ``predict``, so
  the comparison is about the pipeline and the adjustments, not life cycles).

Diagnostic rows (not contenders): ``lumpy model, no slip spread`` — the same
fitted model with each open deal's calibrated expected quantity in its
expected month (overdue ones in the first), instead of spread over the months
the learnt slip says it may land in; ``lumpy model, whole share at every
lead`` — the same fitted model taking each SKU's whole announced share off its
statistics in every month, also months further ahead than deals are listed
(the model before ``announced_lead_``); ``lumpy model, CRM outcomes`` — the
model fitted on a pipeline that records each closed deal's outcome.

Oracles (sample company only, in a table of their own, :func:`oracles`): the
same fitted model told the generator's truth about its open deal lines —
their outcomes, their landing months, or both — to show how much of the
pipeline's possible value the model recovers and what limits it.

Bands (:func:`band_scores`, every data set): the 10/50/90 % quantiles of
statistical-only and of the lumpy model at the same origins and lags, scored
by scaled pinball loss and by the share of SKU-months below the 10 % and above
the 90 % quantile.

Data:

1. *Sample company* — :func:`sopkit.sample.make_sample` (seed 0, 300 SKUs,
   cycle 2026-11): origins 2026-02 … 2026-10, its 24 pipeline snapshots and its
   adjustments; ``stat_history`` is the statistical forecast refitted at every
   monthly origin from the first snapshot on. Its pipeline holds project and
   framework deals (sales) and the planned kit orders field service lists
   (``sopkit.sample._Company._aftermarket``); the second sample row,
   *projects and framework deals only*, drops the field-service deals to show
   what the after-market listings are worth.
2. *Semi-synthetic* — real intermittent/lumpy series (``$SOPKIT_DATASETS``,
   default ``/work/shared/datasets``; skipped with a message when absent) and
   a simulated pipeline (:func:`simulate_pipeline`, settings :data:`SIM`).
   Cleaning as in ``benchmarks/forecast_accuracy.py`` (blank and negative
   quantities → 0). ``man_weekly`` is summed to 4-week buckets (season 13).
   ``auto_ijf``'s ordinal periods and the 4-week buckets are relabelled as
   consecutive months (the model counts months). Series kept: ADI > 1.32
   over their whole history, at least 5 non-zero periods and at least two
   distinct non-zero sizes; ``--series`` of them drawn at random (seeded).
   No adjustments are simulated.
3. *The sample company redrawn* (``--redraws``, default 11) — the same
   generator with seeds 1, 2, ... in place of 0: other companies with the
   same structure, scored with the same protocol on lumpy/intermittent SKUs
   (:func:`redrawn`), to show how much the sample's figures owe to its one
   draw of deals and orders.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from docs_section import write_section  # noqa: E402  (benchmarks/, on sys.path as a script)

from sopkit.evaluation import score_series, summarise_scores  # noqa: E402
from sopkit.forecast import StatisticalForecaster  # noqa: E402
from sopkit.lumpy import LumpyDemandModel  # noqa: E402
from sopkit.sample import SERVICE_OWNERS, make_sample  # noqa: E402

HORIZON = 3
N_ORIGINS = 9
METHODS = ("statistical", "sales as-is", "50/50 blend", "global calibration", "lumpy model")
CRM = "lumpy model, CRM outcomes"  # the model told each closed deal's outcome
UNSPREAD = "lumpy model, no slip spread"  # diagnostic: deals in their expected month
WHOLE_SHARE = "lumpy model, whole share at every lead"  # diagnostic: no announced_lead_
# Oracles, not forecasts: the fitted model told part of the truth about its open deals.
ORACLE_OUTCOMES = "oracle: outcomes known"
ORACLE_MONTHS = "oracle: landing months known"
ORACLE_BOTH = "oracle: outcomes and months known"
ORACLES = (ORACLE_OUTCOMES, ORACLE_MONTHS, ORACLE_BOTH)
ORACLES_SECTION = "### What the pipeline could be worth"
ORACLES_TEXT = (
    "Oracles, not forecasts: at every origin the same fitted model is told part of the "
    "generator's truth about the deal lines open in its pipeline, and nothing else changes "
    "(statistics × (1 − announced share) + adjustments as in the model). *Outcomes known*: "
    "each open line counts with its full stated quantity if it was won and 0 if lost, still "
    "spread over the months by the learnt slip. *Landing months known*: each line keeps its "
    "calibrated probability, but a won line sits in the month its order really landed (a "
    "lost one in its expected month). *Outcomes and months known*: won lines at full "
    "quantity in their landing month, lost ones left out — all a pipeline of these deals can "
    "tell. Orders nobody listed stay with the statistics in every row. They show what that "
    "knowledge is worth to a mean forecast; WAPE, which rewards forecasting low, need not "
    "improve with each piece of truth (a won line at full quantity but spread over months "
    "can cost WAPE).")
SEGMENTS = ("lumpy/intermittent", "all")
LUMPY_CLASSES = ("lumpy", "intermittent")
BAND_LEVELS = (0.1, 0.5, 0.9)  # quantiles scored in the bands table
BAND_METHODS = ("statistical", "lumpy model")  # the methods that forecast quantiles
BAND_COLUMNS = tuple(f"qty_q{round(q * 100)}" for q in BAND_LEVELS)
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Lumpy-demand model"
NOTES_MARK = "### Where it wins and loses"

# Semi-synthetic pipeline simulator (see simulate_pipeline).
SIM = {
    "large_quantile": 0.8,  # an order is large above this quantile of the series' non-zero sizes
    "p_announce": 0.6,  # chance that sales announce a large order
    "announce_lead": (1, 4),  # periods between the deal's creation and its landing (uniform)
    "slip_values": (-1, 0, 1, 2),  # landing − first expected period
    "slip_probabilities": (0.10, 0.55, 0.25, 0.10),
    "qty_noise": 0.2,  # stated quantity = order × U(1 − noise, 1 + noise)
    "won_beta": (7.0, 3.0),  # stated probability of deals that land (mean 0.7)
    "lost_beta": (6.0, 4.0),  # stated probability of deals that never land (mean 0.6)
    "lost_per_won": 1.0,  # lost deals per announced order, on average (Poisson)
    "owners": ("North", "South", "Key accounts"),
    "n_snapshots": 24,  # one per period before the last, at most
}
DATASETS = {
    # name: (bucket for the model, season length)
    "oil_refinery": ("month", 12),
    "man_weekly": ("4 weeks", 13),
    "auto_ijf": ("month", 12),
}


def datasets_folder() -> Path:
    return Path(os.environ.get("SOPKIT_DATASETS", "/work/shared/datasets"))


# --------------------------------------------------------------------------- evaluation


def _open_rows(frame: pd.DataFrame | None, origin: pd.Timestamp) -> pd.DataFrame | None:
    if frame is None or frame.empty:
        return frame
    return frame[frame["snapshot"] < origin]


def _latest(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame(columns=["sku", "period"])
    return frame[frame["snapshot"] == frame["snapshot"].max()]


def _cells(rows: pd.DataFrame, values: np.ndarray, index: pd.MultiIndex) -> np.ndarray:
    if rows.empty:
        return np.zeros(len(index))
    summed = pd.Series(values, index=pd.MultiIndex.from_arrays(
        [rows["sku"].astype("string").to_numpy(), rows["period"].to_numpy()])).groupby(
        level=[0, 1]).sum()
    return summed.reindex(index).fillna(0.0).to_numpy(float)


def forecasts_at(origin: pd.Timestamp, actuals: pd.DataFrame, pipeline: pd.DataFrame,
                 adjustments: pd.DataFrame | None, stat_history: pd.DataFrame | None,
                 products: pd.DataFrame | None, season: int,
                 recorded: pd.DataFrame | None = None,
                 truth: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The open deal lines of one origin with their probabilities, and the five methods'
    forecasts: ``sku, period, demand_class, <method>...``; with ``truth`` (``deal_id, sku,
    won, landing``) also the :data:`ORACLES` rows."""
    history = actuals[actuals["period"] < origin]
    end = origin - pd.DateOffset(months=1)
    stat = StatisticalForecaster(horizon=HORIZON, season_length=season).fit(
        history, end=end).predict()
    stat = stat.astype({"sku": "string"})
    periods = pd.DatetimeIndex(np.sort(stat["period"].unique()))
    index = pd.MultiIndex.from_frame(stat[["sku", "period"]])
    pipe = _open_rows(pipeline, origin)
    adjust = _open_rows(adjustments, origin)

    deals = _latest(pipe).copy()
    if len(deals):
        deals["period"] = deals["period"].clip(lower=periods[0])
        deals = deals[deals["period"].isin(periods)]
    stated = _cells(deals, (deals["qty"] * deals["probability"]).to_numpy(float)
                    if len(deals) else np.array([]), index)
    adj = _latest(adjust)
    adj = adj[adj["period"].isin(periods)] if len(adj) else adj
    raw_adjust = _cells(adj, adj["qty_delta"].to_numpy(float) if len(adj) else np.array([]),
                        index)

    model = LumpyDemandModel().fit(history, pipe, cycle=origin, adjustments=adjust,
                                   stat_history=stat_history, products=products)
    consensus = model.predict(stat, pipeline=pipe, adjustments=adjust)
    consensus = consensus.set_index(["sku", "period"]).reindex(index)
    bands = {f"{method} {column}": values[column].to_numpy(float)
             for method, values in (("statistical", stat), ("lumpy model", consensus))
             for column in BAND_COLUMNS}
    # Diagnostic: the same model with every open deal in its expected month (no slip spread).
    lines = model.open_deals_
    if len(lines):
        lines = lines.assign(period=pd.to_datetime(lines["period"]).clip(lower=periods[0]))
        lines = lines[lines["period"].isin(periods)]
    unspread = _cells(lines, (lines["qty"] * lines["probability_calibrated"]).to_numpy(float)
                      if len(lines) else np.array([]), index)
    rest = consensus[["qty_stat_unannounced", "qty_adjustment", "qty_promo"]].sum(
        axis=1).to_numpy(float)  # everything but the open deals
    unspread = np.clip(rest + unspread, 0.0, None)
    whole = whole_share(model, consensus)
    consensus = consensus["qty_consensus"]
    opened = model.open_deals_
    opened = opened.assign(origin=origin)[["origin", "deal_id", "sku", "probability",
                                           "probability_calibrated"]]
    told = None
    if recorded is not None:
        crm = LumpyDemandModel().fit(history, _open_rows(recorded, origin), cycle=origin,
                                     adjustments=adjust, stat_history=stat_history,
                                     products=products)
        told = crm.predict(stat, pipeline=_open_rows(recorded, origin), adjustments=adjust)
        told = told.set_index(["sku", "period"])["qty_consensus"].reindex(index)
        opened = opened.merge(
            crm.open_deals_[["deal_id", "sku", "probability_calibrated"]].rename(
                columns={"probability_calibrated": "probability_crm"}),
            on=["deal_id", "sku"], how="left")

    outcomes = model.deal_outcomes_
    resolved = outcomes[outcomes["resolved"].astype(bool)]
    factor = (float(resolved["won"].astype(bool).mean()) / float(resolved["probability"].mean())
              if len(resolved) and resolved["probability"].mean() > 0 else 1.0)
    shares = model.announced_share_
    share = (float(shares["qty_announced"].sum() / shares["qty_demand"].sum())
             if len(shares) and shares["qty_demand"].sum() > 0 else 0.0)
    calibrated = _cells(deals, (deals["qty"] * (deals["probability"] * factor).clip(upper=1.0))
                        .to_numpy(float) if len(deals) else np.array([]), index)
    announced = stat["sku"].isin(set(shares["sku"])).to_numpy() if len(shares) else False

    qty_stat = stat["qty_forecast"].to_numpy(float)
    as_is = np.clip(qty_stat + stated + raw_adjust, 0.0, None)
    opened = opened.assign(probability_global=(opened["probability"] * factor).clip(upper=1.0))
    extra = {UNSPREAD: unspread, WHOLE_SHARE: whole,
             **({} if told is None else {CRM: told.to_numpy(float)})}
    if truth is not None:
        extra.update(oracles(model, truth, index, periods, rest))
    return opened, pd.DataFrame({
        "origin": origin, "sku": stat["sku"].to_numpy(), "period": stat["period"].to_numpy(),
        "demand_class": stat["demand_class"].astype(str).to_numpy(),
        "statistical": qty_stat,
        "sales as-is": as_is,
        "50/50 blend": 0.5 * qty_stat + 0.5 * as_is,
        "global calibration": np.clip(qty_stat * (1 - share * announced) + calibrated
                                      + raw_adjust, 0.0, None),
        "lumpy model": consensus.to_numpy(float),
        **extra,
        **bands,
        "share": share, "factor": factor,
    })


def whole_share(model: LumpyDemandModel, consensus: pd.DataFrame) -> np.ndarray:
    """The :data:`WHOLE_SHARE` diagnostic: the fitted model's consensus (``predict`` output,
    in the caller's row order) with each SKU's whole announced share taken off its
    statistics in every month, as if the pipeline already held every order it will ever
    announce."""
    share = model.announced_share_.set_index("sku")["announced_share"]
    skus = consensus.index.get_level_values("sku") if "sku" not in consensus else consensus[
        "sku"]
    full = share.reindex(pd.Index(skus, dtype="string")).fillna(0.0).to_numpy(float)
    rest = consensus[["qty_pipeline", "qty_adjustment", "qty_promo"]].sum(axis=1).to_numpy(float)
    return np.clip(consensus["qty_stat"].to_numpy(float) * (1 - full) + rest, 0.0, None)


def oracles(model: LumpyDemandModel, truth: pd.DataFrame, index: pd.MultiIndex,
           periods: pd.DatetimeIndex, rest: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`ORACLES` rows: the fitted model's forecast told the truth about its open deals.

    ``rest`` is the model's forecast without the open deals (unannounced
    statistics, adjustments, promotions); ``truth`` holds ``deal_id, sku, won,
    landing`` (landing: the month the order landed, for won lines).
    """
    key = ["deal_id", "sku"]
    lines = model.open_deals_.merge(truth, on=key, how="left")
    won = lines["won"].fillna(False).astype(bool).to_numpy()
    spread = model.open_deal_months_.merge(lines[[*key, "qty", "won"]], on=key, how="left")
    spread_won = spread["won"].fillna(False).astype(bool).to_numpy()
    outcomes = _cells(spread, np.where(spread_won, spread["qty"] * spread["share_landing"], 0.0),
                      index)
    month = pd.to_datetime(lines["period"]).clip(lower=periods[0]).where(
        ~won, pd.to_datetime(lines["landing"]))
    placed = lines.assign(period=month)
    months = _cells(placed, (placed["qty"] * placed["probability_calibrated"]).to_numpy(float),
                    index)
    both = _cells(placed, np.where(won, placed["qty"], 0.0), index)
    return {name: np.clip(rest + part, 0.0, None)
            for name, part in zip(ORACLES, (outcomes, months, both), strict=True)}


GAIN_SECTION = "### How sure the WAPE gain is"
GAIN_TEXT = (
    "The WAPE gain of the lumpy model over statistical-only on lumpy/intermittent SKUs, with "
    "a 90 % interval from resampling the SKUs ({n_boot:,} bootstrap draws, seed 0: each draw "
    "takes the data set's SKUs with replacement, every origin of a drawn SKU with it). The "
    "last two columns are a sensitivity check, not a selection: the single SKU whose lines "
    "cost the model the most WAPE against the statistics, and the one that gained the most, "
    "each with what the gain would be without it.")
N_BOOT = 2000


def gain_uncertainty(scores: pd.DataFrame, base: str = "statistical",
                     method: str = "lumpy model", n_boot: int = N_BOOT,
                     seed: int = 0) -> dict:
    """WAPE gain of ``method`` over ``base`` in points, how much it rests on single SKUs.

    ``scores`` holds :func:`sopkit.evaluation.score_series` rows (``sku, method,
    sum_actual, sum_abs_error``; one row per SKU × origin) of the segment to judge.
    Pooled over the rows: gain = 100 × (Σ|e_base| − Σ|e_method|) / Σ actual. The
    interval is the 5–95 % range of the gain over SKU bootstrap draws (a SKU drawn
    brings all its rows); ``worst``/``best`` name the SKU with the most negative /
    positive Σ|e_base| − Σ|e_method| and the gain without that SKU.
    """
    part = scores[scores["method"].isin([base, method])]
    sums = part.groupby(["sku", "method"], observed=True)[["sum_actual", "sum_abs_error"]].sum()
    error = sums["sum_abs_error"].unstack("method")
    actual = sums["sum_actual"].unstack("method")[base].to_numpy(float)
    saved = (error[base] - error[method]).to_numpy(float)  # per SKU, in units
    skus = error.index.to_numpy()
    total = actual.sum()
    gain = 100 * saved.sum() / total
    counts = np.random.default_rng(seed).multinomial(len(skus), np.full(len(skus), 1 / len(
        skus)), size=n_boot)
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = 100 * (counts @ saved) / (counts @ actual)
    low, high = np.nanquantile(draws, [0.05, 0.95])

    def without(k: int) -> float:
        return 100 * (saved.sum() - saved[k]) / (total - actual[k])

    worst, best = int(np.argmin(saved)), int(np.argmax(saved))
    return {"n_skus": len(skus), "gain": gain, "low": float(low), "high": float(high),
            "worst": str(skus[worst]), "worst_points": 100 * saved[worst] / total,
            "without_worst": without(worst), "best": str(skus[best]),
            "best_points": 100 * saved[best] / total, "without_best": without(best)}


def gain_markdown(rows: list[dict]) -> str:
    lines = ["| data | SKUs | WAPE gain over statistical | 90 % interval | costliest SKU "
             "(points) → gain without it | most valuable SKU (points) → gain without it |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['data']} | {r['n_skus']:,} | {r['gain']:+.1f} points | {r['low']:+.1f} … "
            f"{r['high']:+.1f} | {r['worst']} ({r['worst_points']:+.1f}) → "
            f"{r['without_worst']:+.1f} | {r['best']} ({r['best_points']:+.1f}) → "
            f"{r['without_best']:+.1f} |")
    return "\n".join(lines)


REDRAWN_SECTION = "### The sample company redrawn"
REDRAWN_TEXT = (
    "The sample company is one draw of its generator. Here the generator is run again with "
    "seeds 1 … {n} (same structure, other SKUs, orders and deals; seed 0 is the bundled "
    "sample above) and every company is scored with the same protocol on its "
    "lumpy/intermittent SKUs: WAPE, RMSSE and bias of statistical-only, the global "
    "calibration, the lumpy model and the lumpy model told the recorded outcomes (CRM), and "
    "the model's WAPE gain over statistical-only.")
REDRAWN_METHODS = ("statistical", "global calibration", "lumpy model", CRM)


def redrawn(n: int) -> pd.DataFrame:
    """Lumpy/intermittent scores of :data:`REDRAWN_METHODS` on the sample generator's seeds
    1 … ``n`` (``seed, method, rmsse, wape, bias``)."""
    rows = []
    for seed in range(1, n + 1):
        data = make_sample(seed=seed)
        truth = sample_outcomes(seed)
        table, _ = evaluate(f"seed {seed}", data["actuals"], data["pipeline"],
                            data["adjustments"], data["products"], 12,
                            set(data["pipeline"]["sku"].astype(str)),
                            with_recorded_outcomes(data["pipeline"], truth))
        part = table[(table["segment"] == "lumpy/intermittent")
                     & table["method"].isin(REDRAWN_METHODS)]
        rows.append(part.assign(seed=seed)[["seed", "method", "rmsse", "wape", "bias"]])
    return pd.concat(rows, ignore_index=True)


def redrawn_markdown(frame: pd.DataFrame, target: float = 12.0) -> str:
    """One row per seed, then the mean and median, and how often the model did what."""
    wide = frame.pivot(index="seed", columns="method", values=["wape", "rmsse", "bias"])
    gain = 100 * (wide[("wape", "statistical")] - wide[("wape", "lumpy model")])
    lines = ["| seed | statistical WAPE | global calibration WAPE / RMSSE | lumpy model WAPE / "
             "RMSSE / bias | WAPE gain over statistical | model with CRM outcomes WAPE / bias |",
             "|---|---|---|---|---|---|"]
    for seed, r in wide.iterrows():
        lines.append(
            f"| {seed} | {r[('wape', 'statistical')]:.1%} | "
            f"{r[('wape', 'global calibration')]:.1%} / {r[('rmsse', 'global calibration')]:.3f}"
            f" | {r[('wape', 'lumpy model')]:.1%} / {r[('rmsse', 'lumpy model')]:.3f} / "
            f"{r[('bias', 'lumpy model')]:+.1%} | {gain[seed]:+.1f} points | "
            f"{r[('wape', CRM)]:.1%} / {r[('bias', CRM)]:+.1%} |")
    mean = wide.mean()
    lines.append(
        f"| mean | {mean[('wape', 'statistical')]:.1%} | {mean[('wape', 'global calibration')]:.1%}"
        f" / {mean[('rmsse', 'global calibration')]:.3f} | {mean[('wape', 'lumpy model')]:.1%} / "
        f"{mean[('rmsse', 'lumpy model')]:.3f} / {mean[('bias', 'lumpy model')]:+.1%} | "
        f"{gain.mean():+.1f} points (median {gain.median():+.1f}) | {mean[('wape', CRM)]:.1%} / "
        f"{mean[('bias', CRM)]:+.1%} |")
    model, glob = wide.xs("lumpy model", axis=1, level=1), wide.xs(
        "global calibration", axis=1, level=1)
    n = len(wide)
    lines += ["", f"Of {n} redrawn companies: WAPE gain ≥ {target:g} points in "
              f"{int((gain >= target).sum())}; the model beats the global calibration on RMSSE "
              f"in {int((model['rmsse'] < glob['rmsse']).sum())} and on WAPE in "
              f"{int((model['wape'] < glob['wape']).sum())}; its bias is within ±25 % in "
              f"{int((model['bias'].abs() <= 0.25).sum())}; told the recorded outcomes it "
              f"gains {100 * (wide[('wape', 'lumpy model')] - wide[('wape', CRM)]).mean():+.1f} "
              "WAPE points on average."]
    return "\n".join(lines)


def dense(actuals: pd.DataFrame) -> pd.DataFrame:
    """Every SKU × month from the first month of the data, zero where no row."""
    wide = actuals.pivot_table(index="sku", columns="period", values="qty", aggfunc="sum")
    wide = wide.reindex(columns=pd.date_range(wide.columns.min(), wide.columns.max(), freq="MS"))
    long = wide.fillna(0.0).stack().rename("qty").reset_index()
    long.columns = ["sku", "period", "qty"]
    return long.astype({"sku": "string"})


def evaluate(name: str, actuals: pd.DataFrame, pipeline: pd.DataFrame,
             adjustments: pd.DataFrame | None, products: pd.DataFrame | None,
             season: int, pipeline_skus: set | None = None,
             recorded: pd.DataFrame | None = None,
             truth: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Scores of the five methods (and the diagnostic rows) at the last :data:`N_ORIGINS`
    origins, per segment; with ``truth`` also the :data:`ORACLES` rows."""
    actuals = actuals.assign(sku=actuals["sku"].astype("string"))
    grid = dense(actuals)
    months = pd.DatetimeIndex(np.sort(grid["period"].unique()))
    origins = months[-N_ORIGINS:]
    stat_history = None
    if adjustments is not None and len(adjustments):
        past = [m for m in months if adjustments["snapshot"].min() < m < origins[-1]]
        frames = []
        for cycle in past:
            end = cycle - pd.DateOffset(months=1)
            frame = StatisticalForecaster(horizon=HORIZON, season_length=season).fit(
                actuals[actuals["period"] < cycle], end=end).predict()
            frames.append(frame.assign(snapshot=cycle)[["snapshot", "sku", "period",
                                                        "qty_forecast"]])
        stat_history = pd.concat(frames, ignore_index=True)
    scored, info, held_out, banded = [], [], [], []
    methods = (*METHODS, UNSPREAD, WHOLE_SHARE, *(() if recorded is None else (CRM,)))
    methods = methods if truth is None else (*methods, *ORACLES)
    for origin in origins:
        stat_known = (None if stat_history is None
                      else stat_history[stat_history["snapshot"] < origin])
        opened, plan = forecasts_at(origin, actuals, pipeline, adjustments, stat_known,
                                    products, season, recorded, truth)
        held_out.append(opened)
        info.append(plan[["origin", "share", "factor"]].iloc[:1])
        test = plan[["sku", "period"]].merge(grid, on=["sku", "period"], how="inner")
        train = grid[(grid["period"] < origin) & grid["sku"].isin(set(plan["sku"]))]
        classes = plan.drop_duplicates("sku").set_index("sku")["demand_class"]
        for method in methods:
            per_series = score_series(train, test, plan.rename(columns={method: "qty_forecast"}))
            per_series["method"] = method
            per_series["origin"] = origin
            per_series["demand_class"] = classes.reindex(per_series["sku"]).to_numpy()
            scored.append(per_series)
        for method in BAND_METHODS:
            per_series = band_scores(train, test, plan, method)
            banded.append(per_series.assign(
                origin=origin, demand_class=classes.reindex(per_series["sku"]).to_numpy()))
    scores = pd.concat(scored, ignore_index=True)
    rows = []
    segments = {"lumpy/intermittent": scores["demand_class"].isin(LUMPY_CLASSES),
                "all": pd.Series(True, index=scores.index)}
    if pipeline_skus:
        segments["pipeline SKUs"] = scores["sku"].isin(pipeline_skus)
    for segment, mask in segments.items():
        for method in methods:
            part = scores[mask & (scores["method"] == method)]
            summary = summarise_scores(part)
            rows.append({"data": name, "segment": segment, "method": method,
                         "n": summary["n_series"], "rmsse": summary["rmsse"],
                         "wape": summary["wape"], "mase": summary["mase"],
                         "bias": summary["bias"]})
    learned = pd.concat(info, ignore_index=True)
    lumpy = scores[segments["lumpy/intermittent"]]
    notes = {"origins": f"{origins[0]:%Y-%m} … {origins[-1]:%Y-%m}",
             "gain": {"data": name, **gain_uncertainty(lumpy)},
             "global share": float(learned["share"].mean()),
             "global factor": float(learned["factor"].mean()),
             "open deals": pd.concat(held_out, ignore_index=True),
             "bands": summarise_bands(name, pd.concat(banded, ignore_index=True),
                                      pipeline_skus)}
    return pd.DataFrame(rows), notes


def band_scores(train: pd.DataFrame, test: pd.DataFrame, plan: pd.DataFrame,
                method: str) -> pd.DataFrame:
    """One origin's quantiles of ``method`` against the actuals, per series: the scaled
    pinball losses of :func:`sopkit.evaluation.score_series` and how many of the series'
    months fell below the lowest quantile and above the highest."""
    forecasts = plan[["sku", "period", method]].rename(columns={method: "qty_forecast"})
    for column in BAND_COLUMNS:
        forecasts[column] = plan[f"{method} {column}"].to_numpy(float)
    per_series = score_series(train, test, forecasts, quantiles=BAND_LEVELS)
    cells = test[["sku", "period", "qty"]].merge(forecasts, on=["sku", "period"])
    actual = cells["qty"].to_numpy(float)
    outside = pd.DataFrame({
        "n_below": actual < cells[BAND_COLUMNS[0]].to_numpy(float),
        "n_above": actual > cells[BAND_COLUMNS[-1]].to_numpy(float)}).groupby(
        cells["sku"].to_numpy()).sum()
    per_series = per_series.merge(outside, left_on="sku", right_index=True, how="left")
    return per_series.assign(method=method)


def summarise_bands(name: str, scores: pd.DataFrame, pipeline_skus: set | None) -> pd.DataFrame:
    """Per segment and method: SKU-months, shares below the lowest and above the highest
    quantile, and the mean scaled pinball loss of each quantile (``summarise_scores``)."""
    segments = {"lumpy/intermittent": scores["demand_class"].isin(LUMPY_CLASSES)}
    if pipeline_skus:
        segments["pipeline SKUs"] = scores["sku"].isin(pipeline_skus)
    rows = []
    for segment, mask in segments.items():
        for method in BAND_METHODS:
            part = scores[mask & (scores["method"] == method)]
            months = float(part["n_test"].sum())
            summary = summarise_scores(part)
            rows.append({"data": name, "segment": segment, "method": method,
                         "n_months": int(months),
                         "below": part["n_below"].sum() / months if months else np.nan,
                         "above": part["n_above"].sum() / months if months else np.nan,
                         **{c: summary[c] for c in summary if c.startswith("spl")}})
    return pd.DataFrame(rows)


FAR_SECTION = "### Far months: what the pipeline does not reach yet"
FAR_HORIZON = 12
FAR_LAGS = ((1, 3), (4, 6), (7, 12))
FAR_TEXT = (
    "The table above scores lags 1–3; the plan runs 18 months. Here every second month "
    "from a year after the first pipeline snapshot to four months before the end of the "
    "data is an origin with a 12-month horizon (adjustments as known then, no archived "
    "statistics: the stand-in of `sopkit.lumpy`), scored on the SKUs the pipeline ever "
    "listed, by lag: WAPE and bias of the SKU-months, and WAPE of the family-month totals "
    "(families of the sample's product master; one group of all pipeline SKUs for the "
    "semi-synthetic sets) — the level at which capacity and revenue are planned. *Whole "
    "share* is the same fitted model taking each SKU's whole announced share off its "
    "statistics in every month.")


def far_months(name: str, actuals: pd.DataFrame, pipeline: pd.DataFrame,
               adjustments: pd.DataFrame | None, products: pd.DataFrame | None,
               season: int) -> pd.DataFrame:
    """Lag-bucket scores of statistical, the model and the whole-share diagnostic at a
    12-month horizon (:data:`FAR_TEXT`): ``data, lags, method, n, wape, bias,
    wape_family``."""
    actuals = actuals.assign(sku=actuals["sku"].astype("string"))
    grid = dense(actuals)
    months = pd.DatetimeIndex(np.sort(grid["period"].unique()))
    start = pipeline["snapshot"].min() + pd.DateOffset(months=12)
    origins = [m for m in months if start <= m <= months[-4]][::-1][::2][::-1]
    listed = set(pipeline["sku"].astype(str))
    family = (products.assign(sku=products["sku"].astype(str)).set_index("sku")["family"]
              if products is not None else None)
    frames = []
    for origin in origins:
        history = actuals[actuals["period"] < origin]
        stat = StatisticalForecaster(horizon=FAR_HORIZON, season_length=season).fit(
            history, end=origin - pd.DateOffset(months=1)).predict().astype({"sku": "string"})
        pipe, adjust = _open_rows(pipeline, origin), _open_rows(adjustments, origin)
        model = LumpyDemandModel().fit(history, pipe, cycle=origin, adjustments=adjust,
                                       products=products)
        index = pd.MultiIndex.from_frame(stat[["sku", "period"]])
        consensus = model.predict(stat, pipeline=pipe, adjustments=adjust).set_index(
            ["sku", "period"]).reindex(index)
        frame = pd.DataFrame({
            "sku": stat["sku"].astype(str).to_numpy(), "period": stat["period"].to_numpy(),
            "statistical": stat["qty_forecast"].to_numpy(float),
            "lumpy model": consensus["qty_consensus"].to_numpy(float),
            WHOLE_SHARE: whole_share(model, consensus)})
        frame = frame[frame["sku"].isin(listed)].merge(
            grid.astype({"sku": str}), on=["sku", "period"], how="inner")
        frame["lag"] = ((frame["period"].dt.year - origin.year) * 12
                        + frame["period"].dt.month - origin.month + 1)
        frame["origin"] = origin
        frames.append(frame)
    scored = pd.concat(frames, ignore_index=True)
    scored["group"] = (family.reindex(scored["sku"]).fillna("?").to_numpy()
                       if family is not None else "all")
    rows = []
    for low, high in FAR_LAGS:
        part = scored[scored["lag"].between(low, high)]
        if part.empty:  # a short series: no origin reaches these lags
            continue
        totals = part.groupby(["group", "origin", "period"]).sum(numeric_only=True)
        for method in ("statistical", "lumpy model", WHOLE_SHARE):
            actual = part["qty"].sum()
            rows.append({
                "data": name, "lags": f"{low}–{high}", "method": method, "n": len(part),
                "wape": float(np.abs(part[method] - part["qty"]).sum() / actual),
                "bias": float((part[method].sum() - actual) / actual),
                "wape_family": float(np.abs(totals[method] - totals["qty"]).sum()
                                     / totals["qty"].sum())})
    return pd.DataFrame(rows)


def far_markdown(frame: pd.DataFrame) -> str:
    return table(frame, [("data", "data", ""), ("lags", "lags", ""), ("method", "method", ""),
                         ("SKU-months", "n", ","), ("WAPE", "wape", ".1%"),
                         ("bias", "bias", "+.1%"), ("WAPE of family totals", "wape_family",
                                                    ".1%")])


CALIBRATION_SECTION = "### Calibration on held-out deals"
CALIBRATION_TEXT = (
    "At every origin of the table above, each deal line open in the snapshot before the origin "
    "gets four win probabilities: as stated by sales, stated × the global realised/stated "
    "factor, the lumpy model's calibrated one (stage × owner curves), and the same model's "
    "when the pipeline records each closed deal's outcome (CRM outcomes). The "
    "calibrations were learnt only from deals resolved before that origin; the outcome of the "
    "scored deals was not known then. A deal line open at several origins is scored at each. "
    "Outcomes: the sample generator's and the simulator's truth (`won` flags), not the model's "
    "inference; lines still open at the end of the data are left out. Brier score = mean of "
    "(probability − outcome)², lower is better; a perfectly calibrated mean equals the "
    "realised win rate.")


BANDS_SECTION = "### Bands: how often demand fell outside them"
BANDS_TEXT = (
    "The same origins and lags as the main table: the 10 %, 50 % and 90 % quantiles of "
    "statistical-only (the engine's own bands) and of the lumpy model (the statistics' "
    "quantiles scaled to what the pipeline does not announce, plus the open deals drawn won "
    "or lost with their calibrated probability and landing in a month drawn from the learnt "
    "slip, by Monte Carlo), against the actuals. *Below q10* and *above q90*: share of the "
    "SKU-months whose demand fell below the 10 % quantile or above the 90 % one — 10 % each "
    "if the bands are right (on sparse series demand sits exactly on a quantile of 0 often, "
    "so below q10 is usually smaller). SPL: pinball loss of each quantile scaled by the "
    "series' mean absolute month-on-month change, mean over SKU × origin series, lower is "
    "better; *mean* averages the three.")


def bands_markdown(frame: pd.DataFrame) -> str:
    lines = ["| data | segment | method | SKU-months | below q10 | above q90 | SPL q10 | "
             "SPL q50 | SPL q90 | SPL mean |", "|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in frame.iterrows():
        lines.append(f"| {r['data']} | {r['segment']} | {r['method']} | {r['n_months']:,} | "
                     f"{r['below']:.1%} | {r['above']:.1%} | {r['spl_q10']:.3f} | "
                     f"{r['spl_q50']:.3f} | {r['spl_q90']:.3f} | {r['spl']:.3f} |")
    return "\n".join(lines)


def sample_outcomes(seed: int = 0, *, open_at_end: bool = False) -> pd.DataFrame:
    """The sample generator's truth: each deal line won or lost, and when a won one landed.

    ``deal_id, sku, won, landing`` (landing: the month of the order, NaT for
    lost lines). Lines still open at the end of the data are left out unless
    ``open_at_end``. Reads the generator's private deal list
    (``sopkit.sample._Company``): fine for a benchmark, and the only way to
    score against the truth rather than against the model's own inference.
    """
    from sopkit.sample import _Company

    company = _Company(seed, 300, 36, "2026-11")
    rows = []
    for number, deal in enumerate(company.deals):
        if deal["close"] >= company.n_months and not open_at_end:
            continue
        landing = (company.start + pd.DateOffset(months=int(deal["close"]))
                   if deal["won"] else pd.NaT)
        for i, _ in deal["lines"]:
            rows.append((f"D-{10001 + number}", str(company.sku[i]), bool(deal["won"]), landing))
    frame = pd.DataFrame(rows, columns=["deal_id", "sku", "won", "landing"]).drop_duplicates(
        ["deal_id", "sku"])
    return frame.astype({"deal_id": "string", "sku": "string", "landing": "datetime64[ns]"})


def calibration_check(name: str, open_deals: pd.DataFrame, outcomes: pd.DataFrame,
                      truth: str) -> dict:
    """Held-out calibration: the probabilities each origin gave its open deals, scored later.

    ``open_deals`` holds, per origin, every deal line open in the snapshot
    before it with the stated probability, the model's calibrated one (learnt
    only from deals resolved before that origin) and the global-factor one.
    ``outcomes`` (``deal_id, sku, won``) says what became of each line —
    known only after the origin, so nothing of it was used for fitting.
    Lines still open at the end of the data are left out. Scores: Brier
    score (mean squared error of the probability against won = 1 / lost = 0)
    and the mean probability against the realised win rate.
    """
    scored = open_deals.merge(outcomes, on=["deal_id", "sku"], how="inner")
    won = scored["won"].astype(float).to_numpy()
    row = {"data": name, "outcomes": truth, "deal lines × origins": len(scored),
           "deal lines": int(scored[["deal_id", "sku"]].drop_duplicates().shape[0]),
           "realised": float(won.mean()) if len(won) else np.nan}
    for label, column in (("stated", "probability"), ("global factor", "probability_global"),
                          ("lumpy model", "probability_calibrated"),
                          ("CRM outcomes", "probability_crm")):
        p = scored[column].to_numpy(float)
        row[f"mean {label}"] = float(p.mean()) if len(p) else np.nan
        row[f"Brier {label}"] = float(np.mean((p - won) ** 2)) if len(p) else np.nan
    return row


def calibration_markdown(rows: list[dict]) -> str:
    head = ("| data | outcomes | deal lines × origins | realised win rate | mean stated | "
            "mean global factor | mean lumpy model | mean lumpy model, CRM outcomes | "
            "Brier stated | Brier global factor | Brier lumpy model | "
            "Brier lumpy model, CRM outcomes |")
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['data']} | {r['outcomes']} | {r['deal lines × origins']:,} "
            f"({r['deal lines']:,} lines) | {r['realised']:.3f} | {r['mean stated']:.3f} | "
            f"{r['mean global factor']:.3f} | {r['mean lumpy model']:.3f} | "
            f"{r['mean CRM outcomes']:.3f} | "
            f"{r['Brier stated']:.4f} | {r['Brier global factor']:.4f} | "
            f"{r['Brier lumpy model']:.4f} | {r['Brier CRM outcomes']:.4f} |")
    return "\n".join(lines)


def with_recorded_outcomes(pipeline: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """The pipeline plus, for every closed deal line, a row recording its outcome.

    The row is dated the first snapshot after the line's last listing (as a
    CRM export would show the deal as closed won / closed lost); lines last
    listed in the latest snapshot are still open and get none.
    """
    last = pipeline.sort_values("snapshot", kind="stable").groupby(
        ["deal_id", "sku"], observed=True).tail(1)
    last = last.astype({"deal_id": "string", "sku": "string"}).merge(
        outcomes, on=["deal_id", "sku"], how="inner")
    last["snapshot"] = last["snapshot"] + pd.DateOffset(months=1)
    last = last[last["snapshot"] <= pipeline["snapshot"].max()]
    closed = last.assign(outcome=np.where(last["won"].astype(bool), "won", "lost"),
                         probability=np.where(last["won"].astype(bool), 1.0, 0.0),
                         stage="closed").drop(columns="won")
    base = pipeline.assign(outcome=pd.Series(pd.NA, index=pipeline.index, dtype="string"))
    closed = closed.astype({"sku": pipeline["sku"].dtype, "deal_id": pipeline["deal_id"].dtype})
    return pd.concat([base, closed[base.columns]], ignore_index=True)


def simulated_outcomes(pipeline: pd.DataFrame) -> pd.DataFrame:
    """The simulator's truth: ``W-`` deals landed, ``L-`` deals were lost."""
    lines = pipeline[["deal_id", "sku"]].drop_duplicates().astype({"deal_id": "string",
                                                                  "sku": "string"})
    return lines.assign(won=lines["deal_id"].str.startswith("W-"))


# --------------------------------------------------------------------------- semi-synthetic


def load_real(name: str) -> pd.DataFrame:
    """Clean long frame ``sku, period, qty`` on a complete grid, periods as months."""
    path = datasets_folder() / name / "demand.csv.gz"
    raw = pd.read_csv(path, usecols=["sku", "period", "qty"], dtype={"sku": str})
    text = raw["period"].astype(str).str.strip()
    if name == "man_weekly":
        week = pd.to_datetime(text + "-1", format="%G-W%V-%u")
        ordinal = ((week - week.min()).dt.days // 28).to_numpy()  # 4-week buckets
    elif name == "auto_ijf":
        ordinal = text.str.removeprefix("t").astype(int).to_numpy() - 1
    else:
        month = pd.to_datetime(text, format="%Y-%m")
        ordinal = (month.dt.year * 12 + month.dt.month - 1).to_numpy()
        ordinal = ordinal - ordinal.min()
    frame = pd.DataFrame({"sku": raw["sku"], "k": ordinal,
                          "qty": raw["qty"].fillna(0.0).clip(lower=0.0)})
    if name == "man_weekly":  # a last, incomplete bucket would look like a demand drop
        weeks = pd.to_datetime(text + "-1", format="%G-W%V-%u")
        complete = ((weeks.max() - weeks.min()).days // 7 + 1) // 4
        frame = frame[frame["k"] < complete]
    wide = frame.pivot_table(index="sku", columns="k", values="qty", aggfunc="sum")
    wide = wide.reindex(columns=range(int(wide.columns.max()) + 1))
    started = wide.notna().cummax(axis=1)
    wide = wide.fillna(0.0).where(started)
    start = pd.Timestamp("2000-01-01") if name != "oil_refinery" else pd.Timestamp("1997-01-01")
    wide.columns = pd.date_range(start, periods=wide.shape[1], freq="MS")
    long = wide.stack().rename("qty").reset_index()
    long.columns = ["sku", "period", "qty"]
    return long


def select_series(long: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Intermittent/lumpy series with some large orders; ``n`` of them at random."""
    stats = long.groupby("sku")["qty"].agg(
        n_periods="size", n_nonzero=lambda s: int((s > 0).sum()),
        n_sizes=lambda s: s[s > 0].nunique())
    adi = stats["n_periods"] / stats["n_nonzero"].clip(lower=1)
    keep = stats.index[(adi > 1.32) & (stats["n_nonzero"] >= 5) & (stats["n_sizes"] >= 2)]
    chosen = rng.choice(np.sort(keep.to_numpy()), size=min(n, len(keep)), replace=False)
    return long[long["sku"].isin(set(chosen))].reset_index(drop=True)


def _listing(rows: list, deal: str, sku: str, created: int, gone: int, expected: int,
             qty: float, probability: float, owner: str, first_snapshot: int,
             months: pd.DatetimeIndex) -> None:
    """Snapshot rows of a deal listed from ``created`` to ``gone − 1``; dates pushed when passed."""
    for snap in range(max(created, first_snapshot), min(gone, len(months))):
        if expected <= snap:
            expected = snap + 1
        stage = "commit" if expected - snap <= 1 else "upside"
        rows.append((months[snap], deal, sku, expected, qty, probability, owner, stage))


def simulate_pipeline(long: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A pipeline that announces part of each series' large orders, plus deals that never land.

    Per series (settings :data:`SIM`): an order above the 80th percentile of
    the series' non-zero sizes is announced with probability 0.6, as a deal
    created 1–4 periods (uniform) before it lands; its first expected period
    is the landing period minus a slip of −1/0/+1/+2 periods (probabilities
    0.10/0.55/0.25/0.10), never before the period after its creation; when
    a snapshot passes the expected period, sales push it to the next period.
    Stated quantity = order × U(0.8, 1.2); stated probability ~ Beta(7, 3)
    (mean 0.7), rounded to 0.05, constant over the deal's life. Lost deals:
    Poisson(1 × announced orders of the series) of them, created at a
    uniformly drawn period of the snapshot window, sized like one of the
    series' large orders ± 20 %, expected 1–4 periods after creation,
    dropped from the pipeline at a uniform period from creation + 1 to
    expected + 1; stated ~ Beta(6, 4) (mean 0.6). Owners drawn uniformly.
    Snapshots: one per period for the last ``n_snapshots`` periods before the
    last period of data (at most all but the first six).

    Returns
    -------
    DataFrame
        ``snapshot, deal_id, sku, period, qty, probability, owner, stage``.
    """
    months = pd.DatetimeIndex(np.sort(long["period"].unique()))
    n_months = len(months)
    first_snapshot = max(n_months - 1 - SIM["n_snapshots"], 6)
    position = {m: k for k, m in enumerate(months)}
    lo, hi = SIM["announce_lead"]
    rows: list = []
    counter = 0
    for sku, part in long.sort_values(["sku", "period"]).groupby("sku", sort=True):
        qty = part["qty"].to_numpy(float)
        ks = np.array([position[p] for p in part["period"]])
        sizes = qty[qty > 0]
        threshold = np.quantile(sizes, SIM["large_quantile"])
        large = np.flatnonzero(qty > threshold)
        announced = 0
        for j in large:
            t = int(ks[j])
            created = t - int(rng.integers(lo, hi + 1))
            if rng.random() >= SIM["p_announce"] or t - 1 < first_snapshot:
                continue
            slip = int(rng.choice(SIM["slip_values"], p=SIM["slip_probabilities"]))
            expected = max(t - slip, created + 1)
            stated_qty = float(max(1.0, np.round(qty[j] * rng.uniform(
                1 - SIM["qty_noise"], 1 + SIM["qty_noise"]))))
            probability = float(np.clip(np.round(rng.beta(*SIM["won_beta"]) * 20) / 20,
                                        0.05, 0.95))
            owner = str(rng.choice(SIM["owners"]))
            counter += 1
            announced += 1
            _listing(rows, f"W-{counter:06d}", sku, created, t, expected, stated_qty,
                     probability, owner, first_snapshot, months)
        big_sizes = qty[large] if len(large) else sizes.max(initial=1.0, keepdims=True)
        for _ in range(rng.poisson(SIM["lost_per_won"] * announced)):
            created = int(rng.integers(first_snapshot, n_months - 1))
            expected = created + int(rng.integers(lo, hi + 1))
            gone = int(rng.integers(created + 1, expected + 2))
            stated_qty = float(max(1.0, np.round(rng.choice(big_sizes) * rng.uniform(
                1 - SIM["qty_noise"], 1 + SIM["qty_noise"]))))
            probability = float(np.clip(np.round(rng.beta(*SIM["lost_beta"]) * 20) / 20,
                                        0.05, 0.95))
            counter += 1
            _listing(rows, f"L-{counter:06d}", sku, created, gone, expected, stated_qty,
                     probability, str(rng.choice(SIM["owners"])), first_snapshot, months)
    frame = pd.DataFrame(rows, columns=["snapshot", "deal_id", "sku", "period", "qty",
                                        "probability", "owner", "stage"])
    # periods are consecutive months; expected months may lie beyond the data
    numbers = frame["period"].to_numpy(int)
    frame["period"] = pd.to_datetime(pd.DataFrame({
        "year": months[0].year + (months[0].month - 1 + numbers) // 12,
        "month": (months[0].month - 1 + numbers) % 12 + 1, "day": 1}))
    return frame


# --------------------------------------------------------------------------- report


def table(frame: pd.DataFrame, columns: list[tuple[str, str, str]]) -> str:
    """A markdown table of ``frame``: ``columns`` are (heading, column, format spec)."""
    lines = ["| " + " | ".join(h for h, _, _ in columns) + " |",
             "|" + "---|" * len(columns)]
    for r in frame.to_dict("records"):
        lines.append("| " + " | ".join(format(r[c], f) for _, c, f in columns) + " |")
    return "\n".join(lines)


def markdown(frame: pd.DataFrame) -> str:
    return table(frame, [("data", "data", ""), ("segment", "segment", ""),
                         ("method", "method", ""), ("SKU × origins", "n", ","),
                         ("RMSSE", "rmsse", ".3f"), ("WAPE", "wape", ".1%"),
                         ("MASE", "mase", ".3f"), ("bias", "bias", "+.1%")])


def oracles_markdown(frame: pd.DataFrame) -> str:
    """The :data:`ORACLES` rows next to statistical-only and the model, with the WAPE gain."""
    lines = ["| data | segment | method | RMSSE | WAPE | bias | WAPE gain over statistical |",
             "|---|---|---|---|---|---|---|"]
    for (data, segment), part in frame.groupby(["data", "segment"], sort=False):
        part = part.set_index("method")
        base = part.loc["statistical", "wape"]
        for method in ("statistical", "lumpy model", *ORACLES):
            r = part.loc[method]
            lines.append(f"| {data} | {segment} | {method} | {r['rmsse']:.3f} | {r['wape']:.1%} | "
                         f"{r['bias']:+.1%} | {(base - r['wape']) * 100:+.1f} points |")
    return "\n".join(lines)


REQUIRED = ("statistical", "sales as-is", "50/50 blend")  # the alternatives


def verdict(frame: pd.DataFrame) -> list[str]:
    """Target checks per data set and segment: against the three alternatives the target
    names, then against the global calibration (which the model should beat too, or the
    notes say why not)."""
    out = []
    for (data, segment), part in frame.groupby(["data", "segment"], sort=False):
        if segment == "pipeline SKUs":
            continue
        part = part.set_index("method").drop(index=[CRM, UNSPREAD, WHOLE_SHARE],
                                             errors="ignore")
        model = part.loc["lumpy model"]
        required = part.loc[list(REQUIRED)]
        glob = part.loc["global calibration"]
        gain = part.loc["statistical", "wape"] - model["wape"]

        def word(metric, others, model=model):
            return "beats" if model[metric] < np.min(others) else "does NOT beat"

        out.append(
            f"- {data}, {segment}: vs statistical / as-is / 50-50 — RMSSE "
            f"{word('rmsse', required['rmsse'])} ({model['rmsse']:.3f} vs best "
            f"{required['rmsse'].min():.3f}), WAPE {word('wape', required['wape'])} "
            f"({model['wape']:.1%} vs best {required['wape'].min():.1%}); vs global "
            f"calibration — RMSSE {word('rmsse', [glob['rmsse']])} ({glob['rmsse']:.3f}), WAPE "
            f"{word('wape', [glob['wape']])} ({glob['wape']:.1%}); bias {model['bias']:+.1%} "
            f"({'within' if abs(model['bias']) <= 0.25 else 'outside'} ±25 %); WAPE gain over "
            f"statistical {gain * 100:+.1f} points.")
    return out


def write_docs(body: str) -> None:
    write_section(DOC, SECTION, body, NOTES_MARK)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--series", type=int, default=300,
                        help="series drawn per real data set (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-real", action="store_true", help="the sample company only")
    parser.add_argument("--redraws", type=int, default=11,
                        help="sample companies redrawn with seeds 1 … N (default 11; 0: none)")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"replace the '{SECTION}' section of docs/benchmarks.md")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    started = time.perf_counter()
    tables, notes = [], {}

    data = make_sample(seed=0)
    pipeline_skus = set(data["pipeline"]["sku"].astype(str))
    truth = sample_outcomes()
    everything = sample_outcomes(open_at_end=True)  # for the oracles: lines still open too
    table, note = evaluate("sample company", data["actuals"], data["pipeline"],
                           data["adjustments"], data["products"], 12, pipeline_skus,
                           with_recorded_outcomes(data["pipeline"], truth), everything)
    tables.append(table)
    notes["sample company"] = note
    bands = [note.pop("bands")]
    far = [far_months("sample company", data["actuals"], data["pipeline"], data["adjustments"],
                      data["products"], 12)]
    calibration = [calibration_check("sample company", note.pop("open deals"), truth,
                                     "generator's truth")]
    print(f"sample company ({time.perf_counter() - started:.0f} s): {note}", flush=True)

    # The same company had its field service not listed the after-market's planned orders:
    # the pipeline of projects and framework call-offs only.
    service = data["pipeline"]["owner"].isin([o[0] for o in SERVICE_OWNERS])
    sales_only = data["pipeline"][~service].reset_index(drop=True)
    name = "sample company, projects and framework deals only"
    table, note = evaluate(name, data["actuals"], sales_only, data["adjustments"],
                           data["products"], 12, set(sales_only["sku"].astype(str)),
                           with_recorded_outcomes(sales_only, truth), everything)
    tables.append(table)
    notes[name] = note
    bands.append(note.pop("bands"))
    calibration.append(calibration_check(name, note.pop("open deals"), truth,
                                         "generator's truth"))
    print(f"{name} ({time.perf_counter() - started:.0f} s): {note}", flush=True)

    redraws = redrawn(args.redraws) if args.redraws > 0 else None
    if redraws is not None:
        print(f"{args.redraws} redrawn sample companies ({time.perf_counter() - started:.0f} s)",
              flush=True)

    folder = datasets_folder()
    if not args.no_real:
        missing = [n for n in args.datasets if not (folder / n / "demand.csv.gz").exists()]
        if missing:
            print(f"data set(s) {', '.join(missing)} not found under {folder} (set "
                  "SOPKIT_DATASETS); the semi-synthetic part skips them", file=sys.stderr)
        for k, name in enumerate(n for n in args.datasets if n not in missing):
            rng = np.random.default_rng(args.seed + 1000 * k)
            series = select_series(load_real(name), args.series, rng)
            pipeline = simulate_pipeline(series, rng)
            table, note = evaluate(name, series, pipeline, None, None, DATASETS[name][1],
                                   set(pipeline["sku"]),
                                   with_recorded_outcomes(pipeline, simulated_outcomes(pipeline)))
            note["deal lines"] = int(pipeline.groupby(["deal_id"]).ngroups)
            far.append(far_months(name, series, pipeline, None, None, DATASETS[name][1]))
            tables.append(table)
            notes[name] = note
            bands.append(note.pop("bands"))
            calibration.append(calibration_check(name, note.pop("open deals"),
                                                 simulated_outcomes(pipeline),
                                                 "simulator's truth"))
            print(f"{name} ({time.perf_counter() - started:.0f} s): {note}", flush=True)

    frame = pd.concat(tables, ignore_index=True)
    told = set(frame.loc[frame["method"].isin(ORACLES), "data"])  # data sets with oracles
    oracle_rows = frame[frame["data"].isin(told)
                        & frame["method"].isin(["statistical", "lumpy model", *ORACLES])]
    frame = frame[~frame["method"].isin(ORACLES)]
    wall = time.perf_counter() - started
    checks = verdict(frame)
    gains = gain_markdown([v.pop("gain") for v in notes.values()])
    command = ".venv/bin/python benchmarks/lumpy_blend.py --write-docs"
    settings = ", ".join(f"{k} = {v}" for k, v in SIM.items())
    learned = "; ".join(f"{k}: origins {v['origins']}, global announced share "
                        f"{v['global share']:.2f}, realised/stated factor {v['global factor']:.2f}"
                        + (f", {v['deal lines']} deals" if "deal lines" in v else "")
                        for k, v in notes.items())
    body = "\n".join([
        SECTION, "",
        f"Measured {datetime.date.today():%Y-%m-%d} ({wall:.0f} s wall) with", "", "```",
        command, "```", "",
        "Rolling origins (the last 9 cycles of each data set), horizon 3, lags 1–3 scored; "
        "each SKU × origin is one series for RMSSE/MASE (means), WAPE and bias pooled. "
        "Methods and protocol: the docstring of `benchmarks/lumpy_blend.py`. Semi-synthetic "
        f"data: {args.series} real intermittent/lumpy series per data set (seed {args.seed}) "
        f"with a simulated pipeline: {settings}.", "",
        f"Learned by the global-calibration baseline (mean over origins): {learned}.", "",
        markdown(frame), "", "Targets (the model against the alternatives):", "", *checks, "",
        GAIN_SECTION, "", GAIN_TEXT.format(n_boot=N_BOOT), "", gains, "",
        *(() if redraws is None else (
            REDRAWN_SECTION, "", REDRAWN_TEXT.format(n=args.redraws), "",
            redrawn_markdown(redraws), "")),
        CALIBRATION_SECTION, "", CALIBRATION_TEXT, "", calibration_markdown(calibration), "",
        BANDS_SECTION, "", BANDS_TEXT, "", bands_markdown(pd.concat(bands, ignore_index=True)),
        "",
        ORACLES_SECTION, "", ORACLES_TEXT, "", oracles_markdown(oracle_rows), "",
        FAR_SECTION, "", FAR_TEXT, "", far_markdown(pd.concat(far, ignore_index=True)), ""])
    print()
    print(markdown(frame))
    print()
    print(calibration_markdown(calibration))
    print()
    print(bands_markdown(pd.concat(bands, ignore_index=True)))
    print()
    print(gains)
    print()
    if redraws is not None:
        print(redrawn_markdown(redraws))
        print()
    print(oracles_markdown(oracle_rows))
    print()
    print(far_markdown(pd.concat(far, ignore_index=True)))
    print()
    print("\n".join(checks))
    print(f"\nwall {wall:.0f} s")
    if args.write_docs:
        write_docs(body)
        print(f"wrote the '{SECTION}' section of {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
