"""Can a company's past promotions tell how much of their stated lift to plan for?

Usage::

    .venv/bin/python benchmarks/promotion_lift.py [--draws 20] [--write-docs]

The question. Marketing states a lift for each promotion (+40 %); promotions
often deliver less. The lumpy-demand model learns such a ratio for manual
adjustments (``adjustment_bias``); should it learn one for promotions and
plan ``stated lift × learnt share``? Only if the share can be estimated from
the promotions a company has run more accurately than "as stated" (share 1).

Data: :func:`sopkit.sample.make_sample` drawn with seeds ``0 … draws − 1``
(300 SKUs, 36 months, the clean company, ``faults=False``). Each draw has
12 past promotions on 1–3 SKUs each (about 25 SKU rows) over the last 20
months. The generator makes each row deliver ``stated × U(0.3, 0.9)`` on top
of the demand it would have had, and keeps that truth
(``sopkit.sample._Company.promo_truth``, read here and nowhere else). The
**true share** of a draw is ``Σ realised lift × base demand / Σ stated lift ×
base demand`` over its rows: the pooled share a perfect estimator would report.
Demand in promotion months is also moved by everything else the generator
does (noise, season, deals that land then), as in a real company.

Estimators of the share, each from the draw's actuals and promotions only:

* **stated** — 1: plan the lift as stated.
* **pooled (demand review)** — :func:`sopkit.consensus.promotion_track_record`,
  the figure the demand review shows: reference = mean demand of the six
  months before, ``Σ (demand − reference) / Σ stated × reference``, with its
  5 – 95 % bootstrap interval (promotions resampled).
* **precision-weighted** — a better-founded estimate, to see whether a
  smarter estimator changes the answer: reference = the seasonal stand-in of
  :func:`sopkit.lumpy._stand_in`; each row's share ``(demand / reference − 1)
  / lift`` weighted by ``lift² / cv²``, where ``cv²`` is the mean squared
  relative error of the same reference over the SKU's own earlier months
  without promotions (rows with fewer than three such windows left out).

Scored over the draws: RMS and mean error against the true share, how often
the estimate is closer to the truth than "stated" is, and how often the
interval holds the truth.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from docs_section import write_section  # noqa: E402  (benchmarks/, on sys.path as a script)

from sopkit.consensus import promotion_track_record  # noqa: E402
from sopkit.lumpy import _Demand, _month_number, _stand_in, clean_actuals  # noqa: E402
from sopkit.sample import _Company, make_sample  # noqa: E402

DATE = "2026-12-06"
CYCLE = "2026-11"
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Promotions: can their realised lift be learnt?"
NOTES_MARK = "### What it means for the plan"
ESTIMATES = ("stated", "pooled", "weighted")
NAMES = {"stated": "stated (share 1)", "pooled": "pooled by volume (demand review)",
         "weighted": "precision-weighted, seasonal reference"}


def true_share(seed: int) -> tuple[float, int]:
    """The draw's true pooled share delivered and its number of promotion rows."""
    truth = pd.DataFrame(_Company(seed, 300, 36, CYCLE).promo_truth,
                         columns=["promo_id", "sku", "lift", "realised", "base", "promo"])
    return (float((truth["realised"] * truth["base"]).sum()
                  / (truth["lift"] * truth["base"]).sum()), len(truth))


def weighted_share(actuals: pd.DataFrame, promotions: pd.DataFrame) -> float:
    """The precision-weighted share (see the module docstring)."""
    demand = _Demand(clean_actuals(actuals, pd.Timestamp(CYCLE)))
    start = _month_number(promotions["start_period"]) - demand.start
    end = _month_number(promotions["end_period"]) - demand.start
    rows = demand.skus.get_indexer(promotions["sku"].astype("string"))
    promo_month = np.zeros_like(demand.qty, dtype=bool)
    for i, a, b in zip(rows, start, end, strict=True):
        if i >= 0:
            promo_month[i, max(a, 0):b + 1] = True

    def reference(history: np.ndarray, before: int, months: int) -> float:
        return sum(_stand_in(history, before, before + k, demand.start) for k in range(months))

    num = den = 0.0
    for i, a, b, lift in zip(rows, start, end, promotions["lift"].astype(float), strict=True):
        if i < 0 or b > demand.last - demand.start or lift <= 0:
            continue
        history, months = demand.qty[i], b - a + 1
        ref = reference(history, a, months)
        if ref <= 0:
            continue
        errors = []
        for w in range(6, a - months + 1):  # the same reference on earlier windows
            if promo_month[i, w:w + months].any():
                continue
            earlier = reference(history, w, months)
            if earlier > 0:
                errors.append(history[w:w + months].sum() / earlier - 1)
        if len(errors) < 3:
            continue
        cv2 = float(np.mean(np.square(errors)))
        if cv2 <= 0:
            continue
        ratio = history[a:b + 1].sum() / ref - 1
        num += lift / cv2 * ratio
        den += lift**2 / cv2
    return num / den if den > 0 else np.nan


def measure(draws: int) -> pd.DataFrame:
    rows = []
    for seed in range(draws):
        frames = make_sample(seed, faults=False)
        truth, n_rows = true_share(seed)
        record = promotion_track_record(frames["promotions"], frames["actuals"], cycle=CYCLE)
        pooled = record.iloc[-1]
        rows.append({"draw": seed, "rows": n_rows, "true": truth, "stated": 1.0,
                     "pooled": pooled["share_delivered"], "low": pooled["share_low"],
                     "high": pooled["share_high"],
                     "weighted": weighted_share(frames["actuals"], frames["promotions"])})
        print(f"draw {seed}: true {truth:.2f}, pooled {pooled['share_delivered']:.2f} "
              f"[{pooled['share_low']:.2f}, {pooled['share_high']:.2f}], "
              f"weighted {rows[-1]['weighted']:.2f}", flush=True)
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    out = []
    stated_error = (frame["stated"] - frame["true"]).abs()
    for name in ESTIMATES:
        error = frame[name] - frame["true"]
        out.append({"estimate": NAMES[name], "rms_error": float(np.sqrt((error**2).mean())),
                    "mean_error": float(error.mean()),
                    "closer_than_stated": int((error.abs() < stated_error).sum()),
                    "range": f"{frame[name].min():.2f} … {frame[name].max():.2f}"})
    return pd.DataFrame(out)


def markdown(frame: pd.DataFrame, table: pd.DataFrame) -> str:
    n = len(frame)
    lines = ["| estimate of the share delivered | RMS error | mean error | closer to the truth "
             "than stated | range over the draws |", "|---|---:|---:|---:|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.estimate} | {r.rms_error:.2f} | {r.mean_error:+.2f} | "
                     f"{r.closer_than_stated} of {n} | {r.range} |")
    covered = int(((frame["low"] <= frame["true"]) & (frame["true"] <= frame["high"])).sum())
    holds_one = int(((frame["low"] <= 1) & (1 <= frame["high"])).sum())
    width = float((frame["high"] - frame["low"]).median())
    lines += ["", f"True share over the draws: {frame['true'].min():.2f} … "
              f"{frame['true'].max():.2f} (mean {frame['true'].mean():.2f}). The demand review's "
              f"5 – 95 % interval held the true share in **{covered} of {n}** draws and held 1 "
              f"(as stated) in {holds_one}; median width {width:.2f}.", "",
              "| draw | rows | true | pooled | interval | precision-weighted |",
              "|---:|---:|---:|---:|---|---:|"]
    for r in frame.itertuples():
        lines.append(f"| {r.draw} | {r.rows} | {r.true:.2f} | {r.pooled:.2f} | "
                     f"{r.low:.2f} … {r.high:.2f} | {r.weighted:.2f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--write-docs", action="store_true",
                        help=f"write the '{SECTION}' section of docs/benchmarks.md")
    args = parser.parse_args()
    if args.draws < 2:
        parser.error("--draws must be at least 2")
    started = time.perf_counter()
    frame = measure(args.draws)
    table = summary(frame)
    wall = time.perf_counter() - started
    text = markdown(frame, table)
    print()
    print(text)
    print(f"\nwall {wall:.0f} s")
    if args.write_docs:
        body = "\n".join([
            SECTION, "",
            f"Measured {DATE} ({wall:.0f} s wall) with", "", "```",
            f".venv/bin/python benchmarks/promotion_lift.py --draws {args.draws} --write-docs",
            "```", "",
            f"{args.draws} draws of the sample company, each with its true share of the stated "
            "lift that its promotions delivered (the generator's `stated × U(0.3, 0.9)`); "
            "the estimators and the truth are defined in the docstring of "
            "`benchmarks/promotion_lift.py`. Error = estimate − true share.", "", text, ""])
        write_section(DOC, SECTION, body, NOTES_MARK)
        print(f"wrote the '{SECTION}' section of {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
