"""The words reviewers read for sopkit's column and KPI names.

Frames keep snake-case names (``qty_short``, ``tier1_fill_rate``): they are
what files, the store and code use. What a person reads in a report — a
table heading, a chart legend, the reason a scenario ranks first — says
"qty short" and "tier-1 fill rate". This module is that vocabulary, in one
place, so a table heading and a sentence about the same KPI use the same
words. It imports nothing heavy: computing modules use it too.
"""

from __future__ import annotations

import re

# Legend and axis names of the columns the reports chart most; also the
# table heading of these columns (except ``period``, which a table keeps).
SERIES_LABELS = {
    "qty_actual": "actual",
    "qty_stat": "statistical forecast",
    "qty_consensus": "consensus",
    "qty_pipeline": "pipeline",
    "period": "month",
    "inventory_value": "inventory value",
    "safety_stock_value": "safety stock value",
    "below_target_value": "value below target",
    "written_off_value": "value written off",
    "revenue_launch": "revenue from launches",
    "revenue_phase_out_lost": "revenue lost to phase-outs",
    "revenue_budget": "budget",
    "gross_margin": "gross margin",
    "months_ahead": "months ahead",
}

# Words of a snake-case name written as planners write them.
WORDS = {
    "sku": "SKU", "skus": "SKUs", "id": "ID", "kpi": "KPI", "pct": "%",
    "tier1": "tier-1", "co2e": "CO₂e", "eol": "end of life", "12m": "12 months",
    "wape": "WAPE", "rmsse": "RMSSE", "mase": "MASE", "mae": "MAE", "spl": "SPL",
    "fva": "FVA", "cv": "CV", "abc": "ABC", "xyz": "XYZ",
}

# Whole names that read better than their words.
HEADINGS = {
    "n_skus": "SKUs", "n_deals": "deals", "n_deal_lines": "deal lines",
    "n_adjustments": "adjustments", "n_snapshots": "snapshots", "n_rows": "rows",
    "n_records": "records", "n_reasons": "reasons", "n_series": "series",
    "n_points": "points", "n_scored": "scored", "n_cells": "cells",
    "n_effective": "effective number", "co2e_kg": "CO₂e (kg)",
}

_SNAKE = re.compile(r"[a-z][a-z0-9_]*")


def heading(name: str) -> str:
    """``name`` as a reviewer reads it.

    Snake-case names become words (``contribution_after_cost`` →
    "contribution after cost"; abbreviations as planners write them:
    ``tier1_fill_rate`` → "tier-1 fill rate", ``sku`` → "SKU",
    ``change_pct`` → "change %"), with the chart names of
    :data:`SERIES_LABELS` where there is one (``qty_stat`` → "statistical
    forecast"; ``period`` stays, a month or a week). A name that holds a
    capital, a space or anything but lower-case letters, digits and ``_`` was
    chosen for reading and is returned as it is.

    Examples
    --------
    >>> heading("tier1_fill_rate")
    'tier-1 fill rate'
    >>> heading("Approved by")
    'Approved by'
    """
    if not _SNAKE.fullmatch(name):
        return name
    if name in HEADINGS:
        return HEADINGS[name]
    if name in SERIES_LABELS and name != "period":
        return SERIES_LABELS[name]
    return " ".join(WORDS.get(word, word) for word in name.split("_") if word)


def listing(names, limit: int = 3) -> str:
    """The first ``limit`` names, then how many more: ``"A, B, C and 4 more"``."""
    names = [str(n) for n in names]
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def signed_percent(value: float) -> str:
    """A signed share as a percentage, one decimal: ``+5.2%``, ``-0.4%``;
    ``+0.0%`` for anything that rounds to zero (not ``-0.0%``)."""
    text = f"{value:+.1%}"
    return "+0.0%" if text == "-0.0%" else text


# How a report table shows a column that is a share, when the caller gives no
# format: ``0.943`` as "94.3%". Only names that are shares wherever sopkit
# uses them.
FORMATS = {
    "wape": "{:.1%}", "median_wape": "{:.1%}", "bias": signed_percent, "fva": signed_percent,
    "fill_rate": "{:.1%}", "tier1_fill_rate": "{:.1%}", "schedule_adherence": "{:.1%}",
    "utilisation": "{:.0%}", "peak_utilisation": "{:.0%}", "demand_utilisation": "{:.0%}",
    "gross_margin_pct": "{:.1%}", "revenue_vs_budget_pct": "{:+.1%}", "change_pct": "{:+.0%}",
    "difference_pct": "{:+.0%}", "probability": "{:.0%}", "probability_calibrated": "{:.0%}",
    "lift": "{:+.0%}", "lift_realised": "{:+.0%}", "share_delivered": "{:.0%}",
    "share_low": "{:.0%}", "share_high": "{:.0%}",
}
