"""Is the master data trustworthy? Quality findings beyond the schema.

The contract (:mod:`sopkit.contract`) rejects files that cannot be read; the
checks here find data that reads fine but will mislead the plan: an active
SKU nobody can make, a price below cost, the same product entered twice, a
demand history with holes.

Each check is a function registered with :func:`check`; it takes the
:class:`~sopkit.dataset.Dataset` and the cycle month and returns findings.
Adding a check is writing one such function — :func:`quality_findings` runs
every registered check.

Severities
----------
``error``    planning cannot be trusted until it is fixed (it stops the cycle)
``warning``  the plan runs, but a number in it is probably wrong
``info``     worth knowing; nothing to fix before planning
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from sopkit.dataset import Dataset
from sopkit.errors import ParameterError
from sopkit.periods import cycle_month, fmt_month, month_range, months_between

COLUMNS = ["check", "severity", "table", "sku", "detail", "owner"]
SEVERITIES = ("error", "warning", "info")
SEVERITY_WEIGHTS = {"error": 1.0, "warning": 0.5, "info": 0.0}
"""Weight of a SKU's worst finding in :func:`quality_score`."""


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    function: Callable[[Dataset, pd.Timestamp | None], list[dict]]


CHECKS: dict[str, Check] = {}
"""Every registered check, in the order findings are reported."""


def check(name: str, description: str):
    """Register a quality check under ``name`` (a decorator).

    The function receives ``(data, cycle)`` — ``cycle`` may be ``None`` when
    unknown — and returns a list of dicts with the keys ``severity, table,
    sku, detail, owner``.
    """

    def register(function):
        CHECKS[name] = Check(name, description, function)
        return function

    return register


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype="object")


def _status(products: pd.DataFrame) -> pd.Series:
    return _column(products, "lifecycle_status").astype("string").str.lower()


def _finding(severity, table, sku, detail, owner) -> dict:
    return {"severity": severity, "table": table, "sku": sku, "detail": detail, "owner": owner}


def normalise_code(text) -> str:
    """Lower case, without anything but letters and digits: ``"Pump-A 1"`` -> ``"pumpa1"``."""
    if text is None or pd.isna(text):
        return ""
    return re.sub(r"[\W_]+", "", str(text).casefold())


# ------------------------------------------------------------------ the checks


@check("no_routing", "An SKU still sold has no routing, so it cannot be planned on any resource.")
def _no_routing(data: Dataset, cycle) -> list[dict]:
    products = data.products
    routed = set(data.routings["sku"].dropna())
    live = _status(products).fillna("active") != "discontinued"
    missing = products[live & ~products["sku"].isin(routed)]
    return [
        _finding("error", "routings", sku,
                 f"{status} SKU has no routing: supply cannot plan it",
                 "master data")
        for sku, status in zip(missing["sku"], _status(missing).fillna("active"), strict=True)
    ]


@check("price_below_cost", "The net price is below the standard unit cost.")
def _price_below_cost(data: Dataset, cycle) -> list[dict]:
    products = data.products
    price = products["price"].astype(float)
    cost = products["unit_cost"].astype(float)
    below = products[price < cost]
    return [
        _finding("warning", "products", sku, f"price {p:,.2f} is below unit cost {c:,.2f}",
                 "finance")
        for sku, p, c in zip(below["sku"], below["price"], below["unit_cost"], strict=True)
    ]


@check("near_duplicate", "Two SKUs whose codes or names differ only in case, spaces or "
       "punctuation.")
def _near_duplicate(data: Dataset, cycle) -> list[dict]:
    products = data.products
    found = []
    seen_pairs = set()
    for field in ("sku", "name"):
        if field not in products.columns:
            continue
        keys = products[field].map(normalise_code)
        frame = pd.DataFrame({"sku": products["sku"], "text": products[field], "key": keys})
        frame = frame[frame["key"] != ""]
        for _, group in frame.groupby("key", sort=True):
            if group["sku"].nunique() < 2:
                continue
            first = group.iloc[0]
            for _, other in group.iloc[1:].iterrows():
                pair = (first["sku"], other["sku"])
                if pair in seen_pairs or first["sku"] == other["sku"]:
                    continue
                seen_pairs.add(pair)
                found.append(_finding(
                    "warning", "products", other["sku"],
                    f"{field} {other['text']!r} looks like {field} {first['text']!r} of SKU "
                    f"{first['sku']}: the same product entered twice?",
                    "master data"))
    return found


@check("no_history", "A product that is not a new product has no demand history.")
def _no_history(data: Dataset, cycle) -> list[dict]:
    products = data.products
    with_history = set(data.actuals["sku"].dropna())
    status = _status(products).fillna("active")
    missing = products[~products["sku"].isin(with_history) & (status != "npi")]
    found = []
    for sku, state in zip(missing["sku"], status[missing.index], strict=True):
        if state == "discontinued":
            found.append(_finding("info", "actuals", sku,
                                  "discontinued SKU without demand history", "sales ops"))
        else:
            found.append(_finding("warning", "actuals", sku,
                                  f"{state} SKU has no demand history: its statistical forecast "
                                  "is zero (mark it npi, or supply its history)", "sales ops"))
    return found


@check("history_gap", "Months missing inside a demand history (between its first and last "
       "month).")
def _history_gap(data: Dataset, cycle) -> list[dict]:
    actuals = data.actuals[["sku", "period"]].dropna().drop_duplicates()
    found = []
    for sku, group in actuals.groupby("sku", sort=True):
        first, last = group["period"].min(), group["period"].max()
        expected = month_range(first, months_between(first, last) + 1)
        missing = expected.difference(pd.DatetimeIndex(group["period"]))
        if len(missing):
            shown = ", ".join(fmt_month(m) for m in missing[:6])
            more = f" and {len(missing) - 6} more" if len(missing) > 6 else ""
            found.append(_finding(
                "warning", "actuals", sku,
                f"{len(missing)} month(s) missing between {fmt_month(first)} and "
                f"{fmt_month(last)}: {shown}{more} (read as zero demand; give 0 explicitly "
                "if that is right)", "sales ops"))
    return found


def _discontinued(data: Dataset) -> set:
    products = data.products
    return set(products.loc[_status(products) == "discontinued", "sku"])


@check("discontinued_in_pipeline", "Open pipeline deals for a discontinued SKU.")
def _discontinued_in_pipeline(data: Dataset, cycle) -> list[dict]:
    pipeline = data.pipeline
    if pipeline.empty:
        return []
    if cycle is not None:
        pipeline = pipeline[pipeline["snapshot"] <= cycle]
        if pipeline.empty:
            return []
    current = pipeline[pipeline["snapshot"] == pipeline["snapshot"].max()]
    if cycle is not None:
        current = current[current["period"] >= cycle]
    current = current[current["sku"].isin(_discontinued(data))]
    found = []
    for sku, group in current.groupby("sku", sort=True):
        found.append(_finding(
            "warning", "pipeline", sku,
            f"discontinued SKU has {group['deal_id'].nunique()} open deal(s) for "
            f"{group['qty'].sum():,.0f} units in snapshot {fmt_month(group['snapshot'].max())}",
            "sales ops"))
    return found


@check("discontinued_with_stock", "Stock on hand of a discontinued SKU.")
def _discontinued_with_stock(data: Dataset, cycle) -> list[dict]:
    inventory = data.inventory
    stock = inventory[inventory["sku"].isin(_discontinued(data)) & (inventory["qty"] > 0)]
    return [
        _finding("warning", "inventory", sku,
                 f"discontinued SKU has {qty:,.0f} units on hand: sell, rework or write off",
                 "supply planning")
        for sku, qty in stock.groupby("sku", sort=True)["qty"].sum().items()
    ]


@check("unit_mismatch", "An SKU whose unit of measure differs from the rest of its family.")
def _unit_mismatch(data: Dataset, cycle) -> list[dict]:
    products = data.products
    if "unit" not in products.columns:
        return []
    frame = pd.DataFrame({
        "sku": products["sku"], "family": products["family"],
        "unit": products["unit"].astype("string").str.strip().str.lower(),
    }).dropna(subset=["family", "unit"])
    found = []
    for family, group in frame.groupby("family", sort=True):
        counts = group["unit"].value_counts()
        if len(counts) < 2:
            continue
        # The family's unit is the most common one (alphabetical among equals).
        top = counts.max()
        usual = sorted(u for u, n in counts.items() if n == top)[0]
        for sku, unit in zip(group["sku"], group["unit"], strict=True):
            if unit != usual:
                found.append(_finding(
                    "warning", "products", sku,
                    f"unit {unit!r} differs from {usual!r}, the unit of the rest of family "
                    f"{family}: family totals would add different units", "master data"))
    return found


# ------------------------------------------------------------------ public API


def quality_findings(data: Dataset, *, cycle=None, checks=None) -> pd.DataFrame:
    """Run the master-data quality checks.

    Parameters
    ----------
    data : Dataset
        The loaded data (already valid against the contract).
    cycle : str or Timestamp, optional
        The cycle month; limits the pipeline check to deals still open.
    checks : iterable of str, optional
        Names of the checks to run (keys of :data:`CHECKS`); default all.

    Returns
    -------
    DataFrame
        One row per finding, errors first: ``check`` (the check's name),
        ``severity`` (``error`` / ``warning`` / ``info``), ``table`` (the
        file to fix), ``sku``, ``detail`` (a sentence), ``owner`` (the role
        that fixes it: ``master data``, ``sales ops``, ``supply planning``,
        ``finance``).
    """
    if cycle is not None and not (isinstance(cycle, str) and not cycle.strip()):
        cycle = cycle_month(cycle if isinstance(cycle, str) else pd.Timestamp(cycle))
    else:
        cycle = None
    names = list(CHECKS) if checks is None else list(checks)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ParameterError(f"unknown quality check(s) {', '.join(unknown)}; "
                             f"known: {', '.join(CHECKS)}")
    rows = []
    for name in names:
        for finding in CHECKS[name].function(data, cycle):
            rows.append({"check": name, **finding})
    out = pd.DataFrame(rows, columns=COLUMNS)
    for column in COLUMNS:
        out[column] = out[column].astype("string")
    order = out["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    out = out.assign(_order=order).sort_values(["_order"], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


def quality_score(findings: pd.DataFrame, n_skus: int) -> float:
    """A 0–100 score of the master data.

    ``score = 100 × (1 − Σ w / n_skus)``, clipped to [0, 100], where the sum
    runs over the SKUs with findings and ``w`` is the weight of a SKU's worst
    finding (:data:`SEVERITY_WEIGHTS`: error 1, warning 0.5, info 0). A
    finding without a SKU counts as one SKU of its own. So 100 is clean data;
    90 means e.g. a tenth of the SKUs with an error, or a fifth with
    warnings.

    Raises
    ------
    ParameterError
        If ``n_skus`` is not positive or a severity is unknown.
    """
    if n_skus is None or n_skus <= 0:
        raise ParameterError(f"n_skus must be positive, got {n_skus!r}")
    if findings is None or findings.empty:
        return 100.0
    severity = findings["severity"].astype(str)
    unknown = sorted(set(severity) - set(SEVERITY_WEIGHTS))
    if unknown:
        raise ParameterError(f"unknown severity {', '.join(unknown)}; "
                             f"known: {', '.join(SEVERITY_WEIGHTS)}")
    weight = severity.map(SEVERITY_WEIGHTS).astype(float)
    sku = findings["sku"].astype("string")
    keyed = weight[sku.notna()].groupby(sku[sku.notna()]).max().sum()
    unkeyed = weight[sku.isna()].sum()
    return float(min(100.0, max(0.0, 100.0 * (1.0 - (keyed + unkeyed) / n_skus))))
