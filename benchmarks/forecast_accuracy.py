"""Hold-out forecast accuracy of sopkit against statsforecast on real demand data.

Usage::

    .venv/bin/python benchmarks/forecast_accuracy.py [--datasets oil_refinery man_weekly ...]
        [--statsforecast-python .venv-peers/bin/python]
        [--no-peers] [--cache DIR] [--out results.csv]

Reads ``$SOPKIT_DATASETS/<name>/demand.csv.gz`` (default
``/work/shared/datasets``; see its README), cleans each data set as
documented in :data:`DATASETS`, holds out the last periods (12; 8 for
``auto_ijf``), forecasts them from the rest and scores them with
:mod:`sopkit.evaluation` (MASE, RMSSE, WAPE, total-volume bias, scaled
pinball loss at q 0.1/0.5/0.9). Methods: ``sopkit`` (automatic selection),
``zero`` (a reference, not a contender: it shows what shrinking to zero earns
on sparse data) and the statsforecast models CrostonClassic, CrostonSBA,
CrostonOptimized, TSB, ADIDA, IMAPA, AutoETS and SeasonalNaive.

statsforecast pins ``pandas<3`` while sopkit runs on pandas 3, so the peers
run in a subprocess of another interpreter (``--statsforecast-python``,
default ``.venv-peers/bin/python``, made by ``make benchmark``, when it exists, else this one):
this script with ``--worker DATASET OUT.csv``, which loads and splits the data
itself (pure pandas) and writes the peers' forecasts as CSV. TSB uses
``alpha_d = alpha_p = 0.1`` (sopkit's TSB constants; statsforecast has no
default); the other peers use statsforecast's defaults.

Peer quantiles: AutoETS and SeasonalNaive give prediction intervals
(``level=[80]`` → q10/q90, the point forecast as q50); the other peers have
none, so their quantiles are the point forecast plus the empirical
quantiles of the series' own in-sample one-step residuals (fitted values of
statsforecast), clipped at 0.

Cleaning (the same for every method):

* every data set: a period without a row inside a series is zero demand;
  series with no demand at all (training and hold-out) are left out and
  counted; each series starts at its first row in the file;
* ``oil_refinery``: blank ``qty`` (no consumption recorded) → 0, negative
  ``qty`` (returns, not demand) → 0; 1997-11 kept as it is;
* ``man_weekly``: ISO weeks ``YYYY-Www`` → the Monday of the week (``freq="W-MON"``);
* ``auto_ijf``: ordinal ``t01…t24`` → fake consecutive months from 2000-01;
* ``pbs``: series start at their first month in the file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PEER_PYTHON = Path(__file__).resolve().parent.parent / ".venv-peers" / "bin" / "python"

QUANTILES = (0.1, 0.5, 0.9)
DATASETS = {
    # name: (freq for sopkit, statsforecast freq, season length, hold-out periods)
    "oil_refinery": ("MS", "MS", 12, 12),
    "man_weekly": ("W-MON", "W-MON", 52, 12),
    "auto_ijf": ("MS", "MS", 12, 8),
    "pbs": ("MS", "MS", 12, 12),
}
PEERS = ("CrostonClassic", "CrostonSBA", "CrostonOptimized", "TSB", "ADIDA", "IMAPA",
         "AutoETS", "SeasonalNaive")
INTERVAL_PEERS = ("AutoETS", "SeasonalNaive")


def datasets_folder() -> Path:
    return Path(os.environ.get("SOPKIT_DATASETS", "/work/shared/datasets"))


def parse_periods(text: pd.Series, name: str) -> pd.Series:
    text = text.astype(str).str.strip()
    if name == "man_weekly":
        return pd.to_datetime(text + "-1", format="%G-W%V-%u")
    if name == "auto_ijf":
        months = text.str.removeprefix("t").astype(int) - 1
        return pd.to_datetime({"year": 2000 + months // 12, "month": months % 12 + 1, "day": 1})
    return pd.to_datetime(text, format="%Y-%m")


def load(name: str) -> tuple[pd.DataFrame, dict]:
    """Clean long frame ``sku, period, qty`` on a complete grid, and cleaning counts."""
    path = datasets_folder() / name / "demand.csv.gz"
    raw = pd.read_csv(path, usecols=["sku", "period", "qty"], dtype={"sku": str})
    freq = DATASETS[name][0]
    notes = {"rows": len(raw), "blank": int(raw["qty"].isna().sum()),
             "negative": int((raw["qty"] < 0).sum())}
    frame = pd.DataFrame({
        "sku": raw["sku"],
        "period": parse_periods(raw["period"], name),
        "qty": raw["qty"].fillna(0.0).clip(lower=0.0),
    })
    wide = frame.pivot(index="sku", columns="period", values="qty")
    wide = wide.reindex(columns=pd.date_range(wide.columns.min(), wide.columns.max(), freq=freq))
    present = wide.notna()
    started = present.cummax(axis=1)
    wide = wide.fillna(0.0).where(started)
    all_zero = wide.fillna(0.0).sum(axis=1) == 0
    notes["all_zero_dropped"] = int(all_zero.sum())
    wide = wide.loc[~all_zero]
    long = wide.stack().rename("qty").reset_index()
    long.columns = ["sku", "period", "qty"]
    notes["series"] = int(wide.shape[0])
    notes["periods"] = int(wide.shape[1])
    return long, notes


def split(long: pd.DataFrame, holdout: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    periods = np.sort(long["period"].unique())
    cut = periods[-holdout]
    return long[long["period"] < cut].copy(), long[long["period"] >= cut].copy()


def quantile_column(q: float) -> str:
    """sopkit's quantile column names (kept here so the worker need not import sopkit)."""
    return "qty_q" + f"{round(q * 100, 6):g}".replace(".", "_")


def sopkit_forecast(train: pd.DataFrame, name: str, horizon: int) -> pd.DataFrame:
    from sopkit.forecast import StatisticalForecaster

    freq, _, season, _ = DATASETS[name]
    model = StatisticalForecaster(horizon=horizon, season_length=season, quantiles=QUANTILES,
                                  freq=freq)
    return model.fit(train).predict()


def zero_forecast(test: pd.DataFrame) -> pd.DataFrame:
    out = test[["sku", "period"]].copy()
    for column in ["qty_forecast", *(quantile_column(q) for q in QUANTILES)]:
        out[column] = 0.0
    return out


def peer_forecasts(train: pd.DataFrame, name: str, horizon: int) -> dict[str, pd.DataFrame]:
    """statsforecast's forecasts, one frame per model with sopkit's column names."""
    from statsforecast import StatsForecast
    from statsforecast import models as sf

    _, sf_freq, season, _ = DATASETS[name]
    df = train.rename(columns={"sku": "unique_id", "period": "ds", "qty": "y"})
    df = df.dropna(subset=["y"])
    interval_models = [sf.AutoETS(season_length=season), sf.SeasonalNaive(season_length=season)]
    sparse_models = [sf.CrostonClassic(), sf.CrostonSBA(), sf.CrostonOptimized(), sf.TSB(
        alpha_d=0.1, alpha_p=0.1), sf.ADIDA(), sf.IMAPA()]
    out = {}
    timings = {}
    for group, with_level in ((sparse_models, False), (interval_models, True)):
        for model in group:
            alias = repr(model)
            started = time.perf_counter()
            engine = StatsForecast(models=[model], freq=sf_freq, n_jobs=2)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kwargs = {"level": [80]} if with_level else {}
                fc = engine.forecast(df=df, h=horizon, fitted=True, **kwargs)
                fitted = engine.forecast_fitted_values()
            timings[alias] = time.perf_counter() - started
            fc = fc.reset_index() if "unique_id" not in fc.columns else fc
            fitted = fitted.reset_index() if "unique_id" not in fitted.columns else fitted
            frame = pd.DataFrame({"sku": fc["unique_id"].astype(str), "period": fc["ds"],
                                  "qty_forecast": fc[alias].clip(lower=0.0).fillna(0.0)})
            if with_level:
                frame["qty_q10"] = fc[f"{alias}-lo-80"].clip(lower=0.0).fillna(0.0)
                frame["qty_q50"] = frame["qty_forecast"]
                frame["qty_q90"] = fc[f"{alias}-hi-80"].clip(lower=0.0).fillna(0.0)
            else:
                residual = (fitted["y"] - fitted[alias]).groupby(
                    fitted["unique_id"].astype(str)).quantile(list(QUANTILES)).unstack()
                residual = residual.reindex(frame["sku"]).fillna(0.0).to_numpy()
                for k, q in enumerate(QUANTILES):
                    frame[quantile_column(q)] = np.clip(
                        frame["qty_forecast"].to_numpy() + residual[:, k], 0.0, None)
            frame["seconds"] = timings[alias]
            out[alias] = frame
    return out


def run_peer_worker(python: Path, name: str, cache: Path | None) -> dict[str, pd.DataFrame]:
    """Peers' forecasts from the statsforecast interpreter (or from ``cache``)."""
    folder = cache or Path(os.environ.get("TMPDIR", "/tmp"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}_peers.csv.gz"
    if cache is None or not path.exists():
        subprocess.run([str(python), __file__, "--worker", name, str(path)], check=True,
                       env={**os.environ, "PYTHONWARNINGS": "ignore"})
    frame = pd.read_csv(path, dtype={"sku": str}, parse_dates=["period"])
    return {alias: part.drop(columns="method").reset_index(drop=True)
            for alias, part in frame.groupby("method", sort=False)}


def worker(name: str, out: Path) -> int:
    _, _, _, holdout = DATASETS[name]
    long, _ = load(name)
    train, _ = split(long, holdout)
    peers = peer_forecasts(train, name, holdout)
    frame = pd.concat([part.assign(method=alias) for alias, part in peers.items()])
    frame.to_csv(out, index=False)
    return 0


def evaluate(name: str, peer_python: Path | None, cache: Path | None) -> tuple[list[dict], dict]:
    from sopkit.evaluation import score_series, summarise_scores

    _, _, _, holdout = DATASETS[name]
    long, notes = load(name)
    train, test = split(long, holdout)
    test = test.dropna(subset=["qty"])
    results = {}
    started = time.perf_counter()
    results["sopkit"] = sopkit_forecast(train.dropna(subset=["qty"]), name, holdout)
    sopkit_seconds = time.perf_counter() - started
    results["zero (reference)"] = zero_forecast(test)
    seconds = {"sopkit": sopkit_seconds, "zero (reference)": 0.0}
    if peer_python is not None:
        peers = run_peer_worker(peer_python, name, cache)
        for alias, frame in peers.items():
            seconds[alias] = float(frame["seconds"].iloc[0])
            results[alias] = frame
    rows = []
    train_scored = train.dropna(subset=["qty"])
    for method, forecast in results.items():
        forecast = forecast.assign(sku=forecast["sku"].astype(str))
        per_series = score_series(train_scored, test, forecast, quantiles=QUANTILES)
        summary = summarise_scores(per_series)
        rows.append({"dataset": name, "method": method, **summary,
                     "seconds": round(seconds[method], 1)})
    return rows, notes


def markdown(rows: pd.DataFrame) -> str:
    lines = ["| dataset | method | MASE | RMSSE | WAPE | bias | SPL q10 | SPL q50 | SPL q90 "
             "| SPL mean | s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows.itertuples():
        lines.append(
            f"| {row.dataset} | {row.method} | {row.mase:.3f} | {row.rmsse:.3f} | "
            f"{row.wape:.3f} | {row.bias:+.1%} | {row.spl_q10:.3f} | {row.spl_q50:.3f} | "
            f"{row.spl_q90:.3f} | {row.spl:.3f} | {row.seconds:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--no-peers", action="store_true", help="score sopkit and zero only")
    parser.add_argument("--cache", type=Path, help="folder to keep/reuse peer forecasts")
    parser.add_argument("--out", type=Path, help="also write the results as CSV")
    parser.add_argument("--statsforecast-python", type=Path,
                        help="interpreter with statsforecast (default: "
                             f"{DEFAULT_PEER_PYTHON} if it exists, else this one)")
    parser.add_argument("--worker", nargs=2, metavar=("DATASET", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker[0], Path(args.worker[1]))
    sys.path.insert(0, str(ROOT))
    folder = datasets_folder()
    missing = [n for n in args.datasets if not (folder / n / "demand.csv.gz").exists()]
    if missing:
        print(f"data set(s) {', '.join(missing)} not found under {folder} "
              "(set SOPKIT_DATASETS to the folder holding <name>/demand.csv.gz)",
              file=sys.stderr)
        return 2
    peer_python = None
    if not args.no_peers:
        peer_python = args.statsforecast_python or (
            DEFAULT_PEER_PYTHON if DEFAULT_PEER_PYTHON.exists() else Path(sys.executable))
        probe = subprocess.run(
            [str(peer_python), "-c", "import statsforecast, pandas; "
             "print(statsforecast.__version__, pandas.__version__)"],
            capture_output=True, text=True)
        if probe.returncode != 0:
            print(f"statsforecast is not importable by {peer_python}: install it in its own "
                  "virtualenv (it pins pandas<3) and pass --statsforecast-python, or run "
                  "with --no-peers", file=sys.stderr)
            return 2
        versions = probe.stdout.split()
        print(f"statsforecast {versions[0]} (pandas {versions[1]}) via {peer_python}")
    import sopkit

    print(f"sopkit {getattr(sopkit, '__version__', '?')}, pandas {pd.__version__}, "
          f"numpy {np.__version__}")
    all_rows = []
    for name in args.datasets:
        rows, notes = evaluate(name, peer_python, args.cache)
        print(f"\n{name}: {notes}", flush=True)
        frame = pd.DataFrame(rows)
        print(markdown(frame), flush=True)
        print(f"scored series: {rows[0]['n_scored']} of {rows[0]['n_series']} "
              f"({rows[0]['n_zero_scale']} with zero scale left out of MASE/RMSSE/SPL)")
        all_rows.extend(rows)
    if args.out:
        pd.DataFrame(all_rows).to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
