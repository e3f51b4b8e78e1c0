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
``error``    planning cannot be trusted until it is fixed (``sop validate`` exits non-zero)
``warning``  the plan runs, but a number in it is probably wrong
``info``     worth knowing; nothing to fix before planning
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sopkit.contract import TABLES
from sopkit.dataset import Dataset
from sopkit.errors import ParameterError
from sopkit.periods import cycle_month, fmt_month, month_range, months_between

COLUMNS = ["check", "severity", "table", "row", "column", "sku", "detail", "owner"]
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


def _finding(severity, table, sku, detail, owner, *, row=None, column=None) -> dict:
    return {"severity": severity, "table": table, "row": row, "column": column, "sku": sku,
            "detail": detail, "owner": owner}


def _live(products: pd.DataFrame) -> pd.Series:
    """Products still sold or still to launch (not discontinued)."""
    return _status(products).fillna("active") != "discontinued"


def rows_text(rows) -> str:
    """Spreadsheet rows as a message shows them: ``"2, 5, 9"``, past six ``"… and 4 more"``."""
    rows = sorted(int(r) for r in rows)
    return ", ".join(map(str, rows[:6])) + (f" and {len(rows) - 6} more" if len(rows) > 6 else "")


def normalise_code(text) -> str:
    """Lower case, without anything but letters and digits: ``"Pump-A 1"`` -> ``"pumpa1"``."""
    if text is None or pd.isna(text):
        return ""
    return re.sub(r"[\W_]+", "", str(text).casefold())


# ------------------------------------------------------------------ the checks


MADE_MONTHS = 12
"""Closed months before the cycle in which ``production.csv`` showing a SKU without a
routing made makes the ``no_routing`` finding an error (:func:`made_in_house`)."""


def made_in_house(production: pd.DataFrame, cycle, *, months: int = MADE_MONTHS,
                  ) -> pd.DataFrame:
    """What ``production.csv`` records as made per SKU in the last ``months`` closed months.

    Parameters
    ----------
    production : DataFrame
        The ``production`` table (``period, sku, actual_qty``, optionally ``resource``).
    cycle : Timestamp or None
        The first month not closed; ``None``: the month after the latest one recorded.
    months : int
        Closed months looked at.

    Returns
    -------
    DataFrame
        Indexed by ``sku``, only SKUs made in the window: ``qty_made`` (Σ
        ``actual_qty``), ``months_made`` (months with ``actual_qty > 0``),
        ``first_month, last_month`` (of the window), ``resources`` (the
        resources recorded, ``", "``-joined; blank when none).
    """
    from sopkit.kpi import closed_months

    columns = ["qty_made", "months_made", "first_month", "last_month", "resources"]
    empty = pd.DataFrame(columns=columns, index=pd.Index([], dtype="string", name="sku"))
    if production is None or production.empty:
        return empty
    period = pd.to_datetime(production["period"])
    as_of = cycle if cycle is not None else period.max() + pd.DateOffset(months=1)
    first, last = closed_months(as_of, months)
    made = production[(period >= first) & (period <= last)
                      & (pd.to_numeric(production["actual_qty"], errors="coerce") > 0)]
    if made.empty:
        return empty
    made = made.assign(sku=made["sku"].astype("string"), period=pd.to_datetime(made["period"]),
                       resource=_column(made, "resource").astype("string"))
    out = made.groupby("sku").agg(
        qty_made=("actual_qty", "sum"), months_made=("period", "nunique"),
        resources=("resource", lambda r: ", ".join(sorted(set(r.dropna())))))
    out["first_month"], out["last_month"] = first, last
    return out[columns]


@check("no_routing", "An SKU still sold has no routing, so it cannot be planned on any "
       "resource: its demand shows as a supply gap (or is bought from the contract "
       f"manufacturer). An error when production.csv shows it made in the last {MADE_MONTHS} "
       "closed months: "
       "the plant makes it, only its routing is missing, and the plan's gaps, revenue at "
       "risk and resource loads are wrong.")
def _no_routing(data: Dataset, cycle) -> list[dict]:
    products = data.products
    routed = set(data.routings["sku"].dropna())
    live = _status(products).fillna("active") != "discontinued"
    missing = products[live & ~products["sku"].isin(routed)]
    outsource = _column(missing, "outsource_cost").notna()
    made = made_in_house(data.production, cycle)
    found = []
    for sku, status, can_buy in zip(missing["sku"], _status(missing).fillna("active"),
                                    outsource, strict=True):
        fate = ("can only be bought from the contract manufacturer" if can_buy
                else "shows as a supply gap")
        if sku in made.index:
            record = made.loc[sku]
            where = f" on {record['resources']}" if record["resources"] else ""
            found.append(_finding(
                "error", "routings", sku,
                f"{status} SKU {sku}: made {record['qty_made']:,.0f} units{where} in "
                f"{int(record['months_made'])} of the last {MADE_MONTHS} months "
                f"({fmt_month(record['first_month'])} to {fmt_month(record['last_month'])}) "
                "per production.csv: its routing is missing from routings.csv, so the plan "
                f"cannot make it and its demand {fate}. Add its resources and hours_per_unit "
                "to routings.csv", "master data", column="sku"))
        else:
            found.append(_finding(
                "warning", "routings", sku,
                f"{status} SKU {sku} has no routing in routings.csv: it cannot be made "
                f"in-house, so its demand {fate}. If the plant makes it, add its resources "
                "and hours_per_unit to routings.csv", "master data", column="sku"))
    return found


@check("price_below_cost", "The net price is below the standard unit cost.")
def _price_below_cost(data: Dataset, cycle) -> list[dict]:
    products = data.products
    price = products["price"].astype(float)
    cost = products["unit_cost"].astype(float)
    below = products[price < cost]
    return [
        _finding("warning", "products", sku, f"price {p:,.2f} is below unit cost {c:,.2f}",
                 "finance", column="price")
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
                    "master data", column=field))
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
                    f"{family}: family totals would add different units", "master data",
                    column="unit"))
    return found


STALE_MASTER_SHARE = 0.10
"""Share of the last 12 months' demand on unknown SKUs above which planning stops."""


@check("unknown_sku", "SKUs in actuals, pipeline, inventory or production that are not in the "
       "product master (their rows are left out of planning; an error when they hold more than "
       "a tenth of the last 12 months' demand: the product master is out of date).")
def _unknown_sku(data: Dataset, cycle) -> list[dict]:
    aside = data.set_aside
    if aside is None or aside.empty:
        return []
    found = []
    # How much of the last 12 months' demand the unknown codes hold.
    orders = aside[aside["table"] == "actuals"]
    periods = pd.concat([data.actuals["period"], orders["period"]]).dropna()
    share = 0.0
    if len(periods):
        since = periods.max() - pd.DateOffset(months=12)
        lost = float(orders.loc[orders["period"] > since, "qty"].fillna(0.0).sum())
        known = float(data.actuals.loc[data.actuals["period"] > since, "qty"].sum())
        share = lost / (lost + known) if lost + known > 0 else 0.0
    if share > STALE_MASTER_SHARE:
        found.append(_finding(
            "error", "products", None,
            f"{share:.0%} of the demand in actuals.csv is on SKUs missing from products.csv: "
            "the product master is out of date; planning without that demand would be wrong",
            "master data", column="sku"))
    for (table, file, column, value), group in aside.groupby(
            ["table", "file", "column", "value"], sort=True):
        rows = sorted(int(r) for r in group["row"].dropna())
        shown = rows_text(rows)
        qty = group["qty"].astype(float)
        units = f", {qty.sum():,.0f} units" if qty.notna().any() else ""
        what = {"actuals": "demand history", "pipeline": "pipeline deals",
                "inventory": "stock", "production": "production records"}.get(str(table),
                                                                               str(table))
        found.append(_finding(
            "warning", str(table), str(value),
            f"{file}: SKU {value!r} is not in products.csv; {len(rows)} row(s){units} of "
            f"{what} left out of planning (row {shown}). Add it to the product master or "
            "correct the code", "master data", row=rows[0] if rows else None, column=column))
    return found


DATA_SUFFIXES = (".csv", ".xlsx", ".xls", ".tsv", ".txt")
"""Files in a data folder that look like data: one the contract does not name is reported."""
OWNER_OF_TABLE = {"pipeline": "sales ops", "adjustments": "demand planning",
                  "promotions": "marketing", "budget": "finance"}


def _close_names(text: str, names, cutoff: float = 0.75) -> list[str]:
    """Names ``text`` probably meant: contained in it, or spelt within ``cutoff``."""
    text = text.strip().lower()
    inside = [n for n in names if n in text and len(n) >= 3]
    return inside or difflib.get_close_matches(text, list(names), n=1, cutoff=cutoff)


@check("unread_file", "A file in the data folder that no table of the data contract reads (a "
       "misnamed export such as pipeline_2026-11.csv or adjustment.csv): its rows are not in "
       "the plan.")
def _unread_file(data: Dataset, cycle) -> list[dict]:
    folder = Path(data.source) if data.source else None
    if folder is None or not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith((".", "~$")):
            continue
        suffix = path.suffix.lower()
        stem = path.name.lower()
        for ending in DATA_SUFFIXES:  # "promotions.csv.csv": every data ending off
            while stem.endswith(ending):
                stem = stem[:-len(ending)]
        if suffix not in DATA_SUFFIXES or (stem in TABLES and suffix in (".csv", ".xlsx")
                                           and path.stem.lower() == stem):
            continue
        guess = _close_names(stem, TABLES)
        detail = f"{path.name} is not a file of the data contract and was not read"
        owner = "master data"
        if guess:
            table = guess[0]
            given = len(getattr(data, table)) > 0
            detail += (f"; if it holds the {table} table, name it {table}.csv (or "
                       f"{table}.xlsx)" + ("" if given else f" — without it the plan has no "
                                           f"{table}"))
            owner = OWNER_OF_TABLE.get(table, owner)
        found.append(_finding("warning", guess[0] if guess else None, None, detail, owner))
    return found


@check("unknown_column", "A column the data contract does not know whose name is close to one "
       "it does (outcomes for outcome): kept in the file, but not used, so what it says is "
       "not in the plan.")
def _unknown_column(data: Dataset, cycle) -> list[dict]:
    found = []
    for name, frame in data.tables().items():
        known = [c.name for c in TABLES[name].columns]
        for column in frame.columns:
            if column in known:
                continue
            guess = _close_names(column, known, cutoff=0.8)
            if guess and guess[0] != column:
                found.append(_finding(
                    "warning", name, None,
                    f"{name}: column {column!r} is not in the data contract and is not used; "
                    f"if it is {guess[0]!r}, rename it", OWNER_OF_TABLE.get(name, "master data"),
                    column=column))
    return found


@check("missing_price_cost", "A live SKU with a price or unit cost of 0 (a placeholder: its "
       "revenue or margin in the plan is wrong).")
def _missing_price_cost(data: Dataset, cycle) -> list[dict]:
    products = data.products
    found = []
    for column, meaning in (("price", "revenue"), ("unit_cost", "margin and inventory value")):
        if column not in products.columns:
            continue
        value = pd.to_numeric(products[column], errors="coerce")
        zero = products[_live(products) & (value.fillna(0.0) <= 0)]
        for sku in zero["sku"]:
            found.append(_finding(
                "warning", "products", sku,
                f"{column} is 0: a placeholder? its {meaning} in the plan reads 0",
                "finance", column=column))
    return found


LEAD_TIME_UNUSED = ("No plan reads it: the supply plan does not model production lead times "
                    "(it assumes what is made in a month is available that month, for every "
                    "SKU), so the plan is the same with or without it")


@check("no_lead_time", "A live SKU without a production lead time (lead_time_months in "
       "products.csv). Information only: no plan reads the column (the supply plan assumes "
       "what is made or bought in a month is available that month, whatever the lead time), "
       "but a planner releasing the plan needs it to see which of its first months' "
       "production must already be under way.")
def _no_lead_time(data: Dataset, cycle) -> list[dict]:
    products = data.products
    todo = ("Fill it in to keep the product master complete: whoever releases the plan needs "
            "it to see which production of its first months must already be under way")
    if "lead_time_months" not in products.columns or products["lead_time_months"].isna().all():
        live = products[_live(products)]
        if live.empty:
            return []
        return [_finding("info", "products", None,
                         f"products.csv: no SKU has a lead_time_months ({len(live)} live "
                         f"SKUs). {LEAD_TIME_UNUSED}. {todo}",
                         "supply planning", column="lead_time_months")]
    missing = products[_live(products) & products["lead_time_months"].isna()]
    return [
        _finding("info", "products", sku,
                 f"products.csv: lead_time_months of {sku} is blank. {LEAD_TIME_UNUSED}. "
                 f"{todo}", "supply planning", column="lead_time_months")
        for sku in missing["sku"]
    ]


COMPONENT_USE_MONTHS = 12  # months of history whose component use is set against capacity
COMPONENT_USE_SLACK = 0.1  # use above capacity by more than this share is reported


@check("component_use_above_capacity", "A component whose use in the recent history (demand "
       "times the bill of materials) exceeds what its suppliers can deliver: the capacity in "
       "components.csv may be out of date, and the supply plan holds to it.")
def _component_use_above_capacity(data: Dataset, cycle) -> list[dict]:
    components, bom, actuals = data.components, data.bom, data.actuals
    if components.empty or bom.empty or actuals.empty:
        return []
    end = (pd.Timestamp(cycle) if cycle is not None
           else pd.to_datetime(actuals["period"]).max() + pd.DateOffset(months=1))
    start = end - pd.DateOffset(months=COMPONENT_USE_MONTHS)
    recent = actuals[(pd.to_datetime(actuals["period"]) >= start)
                     & (pd.to_datetime(actuals["period"]) < end)]
    if recent.empty:
        return []
    demand = recent.groupby(["sku", "period"], as_index=False)["qty"].sum()
    demand["sku"] = demand["sku"].astype("string")
    links = bom.assign(sku=bom["sku"].astype("string"),
                       component=bom["component"].astype("string"))
    use = demand.merge(links[["sku", "component", "qty_per"]], on="sku")
    if use.empty:
        return []
    use["used"] = use["qty"].astype(float) * use["qty_per"].astype(float)
    monthly = use.groupby(["component", "period"])["used"].sum().reset_index()
    n_months = max(int(months_between(start, end)), 1)
    found = []
    for pos, row in enumerate(components.itertuples(index=False)):
        code = str(row.component)
        mine = monthly[monthly["component"] == code]
        if mine.empty:
            continue
        capacity = float(row.supplier_capacity) + float(
            np.nan_to_num(getattr(row, "backup_capacity", 0.0)))
        mean = float(mine["used"].sum()) / n_months
        if not mean > capacity * (1 + COMPONENT_USE_SLACK):
            continue
        top = mine.loc[mine["used"].idxmax()]

        def amount(x: float) -> str:  # whole units, a decimal for small non-whole amounts
            return f"{x:,.0f}" if x >= 100 or abs(x - round(x)) < 0.05 else f"{x:,.1f}"

        found.append(_finding(
            "warning", "components", None,
            f"component {code}: the last {n_months} months' demand used {amount(mean)} a "
            f"month on average (most {amount(float(top['used']))} in "
            f"{fmt_month(top['period'])}) against a supplier capacity of {amount(capacity)} a "
            "month (backup included): is components.csv current? The supply plan holds to it",
            "procurement", row=pos + 2, column="supplier_capacity"))
    return found


@check("launch_data", "A new product without a launch month, or with an analog SKU that is "
       "not in the product master.")
def _launch_data(data: Dataset, cycle) -> list[dict]:
    products = data.products
    found = []
    status = _status(products)
    launch = products["launch_period"] if "launch_period" in products.columns else pd.Series(
        pd.NaT, index=products.index)
    for index in products.index[(status == "npi").fillna(False) & launch.isna()]:
        found.append(_finding(
            "warning", "products", products.at[index, "sku"],
            "npi SKU without a launch_period: it gets no launch forecast",
            "product management", column="launch_period"))
    if "analog_sku" in products.columns:
        known = set(products["sku"].dropna())
        analog = products["analog_sku"].astype("string")
        bad = analog.notna() & ~analog.isin(known)
        for index in products.index[bad.fillna(False)]:
            found.append(_finding(
                "warning", "products", products.at[index, "sku"],
                f"analog_sku {analog[index]!r} is not in the product master: the launch "
                "forecast falls back to analogs of the same family and price",
                "product management", column="analog_sku"))
    return found


def _source_rows(data: Dataset, table: str, frame: pd.DataFrame) -> tuple[str, list]:
    """The file of a dated-snapshot table and the spreadsheet row of each row of ``frame``
    (``None`` where unknown), found by the table's key in ``data.source_rows``."""
    sources = data.source_rows.get(table)
    if sources is None or sources.empty:
        return f"{table}.csv", [None] * len(frame)
    key = [c for c in sources.columns if c != "row"]
    rows = frame[key].merge(sources, on=key, how="left")["row"]
    return (sources.attrs.get("file", f"{table}.csv"),
            [None if pd.isna(r) else int(r) for r in rows])


def latest_snapshot(frame: pd.DataFrame, cycle, *, open_only: bool = False) -> pd.DataFrame:
    """The rows of the latest snapshot on or before the cycle (the one the plan uses);
    with ``open_only``, without the rows that record a deal's outcome."""
    if cycle is not None:
        frame = frame[frame["snapshot"] <= cycle]
    if frame.empty:
        return frame
    latest = frame[frame["snapshot"] == frame["snapshot"].max()]
    if open_only and "outcome" in latest.columns:
        latest = latest[latest["outcome"].isna()]
    return latest


SNAPSHOT_OWNERS = {"pipeline": "sales ops", "adjustments": "demand planning"}
"""Who answers for the snapshot dates of each dated-snapshot table."""


@check("snapshot_after_cycle", "Pipeline or adjustment rows dated in a snapshot after the "
       "cycle and after the month that follows the last actuals: no export can have been "
       "taken then, and the plan does not use them (a typo in the date?).")
def _snapshot_after_cycle(data: Dataset, cycle) -> list[dict]:
    if cycle is None:
        return []
    # Re-planning an earlier cycle leaves later snapshots out on purpose: only dates no
    # export can have had (after the month that follows the last actuals) are flagged.
    last = data.last_actual_period
    limit = max(cycle, last + pd.DateOffset(months=1)) if last is not None else cycle
    found = []
    for table, owner in SNAPSHOT_OWNERS.items():
        frame = getattr(data, table)
        late = frame[frame["snapshot"] > limit]
        if late.empty:
            continue
        file, found_rows = _source_rows(data, table, late)
        rows = sorted(r for r in found_rows if r is not None)
        shown = rows_text(rows)
        months = ", ".join(fmt_month(m) for m in sorted(late["snapshot"].unique()))
        found.append(_finding(
            "warning", table, None,
            f"{file}: {len(late)} row(s) dated in snapshot {months}, after the cycle "
            f"{fmt_month(cycle)}" + (f" and the last actuals ({fmt_month(last)})" if last is not
                                     None else "")
            + ", are not used by this plan" + (f" (row {shown})" if rows else "")
            + ". A snapshot is the month the export was taken: correct the date if it is a "
            "typo", owner, row=rows[0] if rows else None, column="snapshot"))
    return found


@check("stale_deal", "An open deal of the latest pipeline snapshot expected longer ago than "
       "the plan lets a deal be late (the lumpy-demand model's slip window): every month it "
       "could have landed in has passed, yet the plan still counts it, in its first month.")
def _stale_deal(data: Dataset, cycle) -> list[dict]:
    from sopkit.lumpy import SLIP_WINDOW

    latest = latest_snapshot(data.pipeline, cycle, open_only=True)
    if latest.empty:
        return []
    late = np.asarray(months_between(latest["period"], latest["snapshot"]))
    overdue = late > SLIP_WINDOW[1]
    stale = latest[overdue]
    file, rows = _source_rows(data, "pipeline", stale)
    return [
        _finding("warning", "pipeline", sku,
                 f"{file}: open deal {deal} expected in {fmt_month(period)}, {int(months)} "
                 f"months before its snapshot {fmt_month(snapshot)}; the plan lets a deal land "
                 f"at most {SLIP_WINDOW[1]} months late, so it counts this one in its first "
                 "month — close it in the CRM or give it a new date", "sales ops", row=row,
                 column="period")
        for sku, deal, period, snapshot, months, row in zip(
            stale["sku"], stale["deal_id"], stale["period"], stale["snapshot"],
            late[overdue], rows, strict=True)]


STALE_EXPORT_MONTHS = 2
"""A pipeline or adjustments export older than this many months before the cycle is flagged."""


@check("stale_export", "The latest pipeline or adjustments snapshot is months older than the "
       "cycle: the plan counts its open deals and adjustments as if they were current.")
def _stale_export(data: Dataset, cycle) -> list[dict]:
    if cycle is None:
        return []
    found = []
    for table, owner in SNAPSHOT_OWNERS.items():
        frame = getattr(data, table)
        taken = frame.loc[frame["snapshot"] <= cycle, "snapshot"]
        if taken.empty:
            continue
        latest = taken.max()
        age = int(months_between(latest, cycle))
        if age <= STALE_EXPORT_MONTHS:
            continue
        what = "open deals" if table == "pipeline" else "adjustments"
        file, _ = _source_rows(data, table, frame.iloc[:0])
        found.append(_finding(
            "warning", table, None,
            f"{file}: the latest snapshot is {fmt_month(latest)}, {age} months before the "
            f"cycle {fmt_month(cycle)}; the plan counts its {what} as if they were current. "
            f"Add this month's export as a new snapshot", owner, column="snapshot"))
    return found


@check("reopened_deal", "A deal line the pipeline recorded as won or lost that a later "
       "snapshot lists as open again: the plan counts it as open; if it was won, its order "
       "is in the actuals already and counting it again doubles it.")
def _reopened_deal(data: Dataset, cycle) -> list[dict]:
    pipeline = data.pipeline
    if "outcome" not in pipeline.columns or pipeline.empty:
        return []
    if cycle is not None:
        pipeline = pipeline[pipeline["snapshot"] <= cycle]
    key = ["deal_id", "sku"]
    closed = pipeline[pipeline["outcome"].notna()].sort_values("snapshot", kind="stable")
    if closed.empty:
        return []
    first_close = closed.groupby(key, observed=True)[["snapshot", "outcome"]].first()
    open_now = latest_snapshot(pipeline, None, open_only=True).merge(
        first_close.rename(columns={"snapshot": "closed_in", "outcome": "recorded"})
        .reset_index(), on=key)
    reopened = open_now[open_now["snapshot"] > open_now["closed_in"]]
    file, rows = _source_rows(data, "pipeline", reopened)
    return [
        _finding("warning", "pipeline", sku,
                 f"{file}: deal {deal} was recorded as {outcome} in snapshot "
                 f"{fmt_month(closed_in)} but is listed open again in {fmt_month(snapshot)}: "
                 "the plan counts it as an open deal. If it was won, its order is in the "
                 "actuals already; correct the CRM export or record the new deal under a "
                 "new id", "sales ops", row=row, column="outcome")
        for sku, deal, outcome, closed_in, snapshot, row in zip(
            reopened["sku"], reopened["deal_id"], reopened["recorded"], reopened["closed_in"],
            reopened["snapshot"], rows, strict=True)]


@check("after_end_of_life", "An open deal or a current adjustment for a month after the "
       "product's end of life (or of a discontinued product): the plan leaves it out.")
def _after_end_of_life(data: Dataset, cycle) -> list[dict]:
    products = data.products.set_index("sku")
    eol = products["eol_period"] if "eol_period" in products.columns else pd.Series(
        pd.NaT, index=products.index)
    discontinued = set(data.products.loc[_status(data.products) == "discontinued", "sku"])
    found = []
    for table, owner in SNAPSHOT_OWNERS.items():
        current = latest_snapshot(getattr(data, table), cycle, open_only=True)
        if current.empty:
            continue
        if cycle is not None:
            current = current[current["period"] >= cycle]
        end = pd.to_datetime(current["sku"].map(eol))
        gone = current["sku"].isin(discontinued)
        # deals of discontinued products are reported by discontinued_in_pipeline already
        after = ((current["period"] > end).fillna(False)
                 | (gone if table == "adjustments" else False))
        if table == "pipeline":
            after &= ~gone
        late = current[after.to_numpy(dtype=bool)]
        file, rows = _source_rows(data, table, late)
        what = "open deal " if table == "pipeline" else "adjustment by "
        for (_, line), row in zip(late.iterrows(), rows, strict=True):
            who = line["deal_id"] if table == "pipeline" else line["owner"]
            ended = ("is discontinued" if line["sku"] in discontinued
                     else f"ends its life in {fmt_month(eol[line['sku']])}")
            found.append(_finding(
                "warning", table, line["sku"],
                f"{file}: {what}{who} for {fmt_month(line['period'])}, but the product "
                f"{ended}: the plan leaves it out. Move it to the successor product or "
                "remove it", owner, row=row, column="period"))
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
        file to fix), ``row`` (its spreadsheet row where a finding is about
        one row of a file, else blank), ``column``, ``sku``, ``detail`` (a
        sentence), ``owner`` (the role that fixes it: ``master data``,
        ``sales ops``, ``supply planning``, ``finance``, ``product
        management``).
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
        out[column] = out[column].astype("Int64" if column == "row" else "string")
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


HISTORY_COLUMNS = ["cycle", "score", "n_skus", "n_errors", "n_warnings", "n_info",
                   "fingerprint"]


def score_record(findings: pd.DataFrame, *, n_skus: int, cycle, fingerprint: str = "",
                 ) -> pd.DataFrame:
    """The cycle's data-quality score as one row of the history across cycles.

    Returns
    -------
    DataFrame
        One row: ``cycle`` (``YYYY-MM``), ``score`` (:func:`quality_score`),
        ``n_skus``, ``n_errors, n_warnings, n_info`` (findings by severity),
        ``fingerprint`` (of the data scored). Stored by
        :func:`sopkit.workspace.record_quality_score`.
    """
    severity = findings["severity"].astype(str) if len(findings) else pd.Series(dtype=str)
    return pd.DataFrame([{
        "cycle": fmt_month(cycle_month(cycle)), "score": quality_score(findings, n_skus),
        "n_skus": int(n_skus), "n_errors": int((severity == "error").sum()),
        "n_warnings": int((severity == "warning").sum()),
        "n_info": int((severity == "info").sum()), "fingerprint": fingerprint,
    }], columns=HISTORY_COLUMNS)


def score_trend(history: pd.DataFrame, record: pd.DataFrame) -> pd.DataFrame:
    """The history with this cycle's record in it (replacing a record of the same cycle).

    Returns
    -------
    DataFrame
        :data:`HISTORY_COLUMNS`, oldest cycle first, and ``change``: the score
        minus the previous cycle's (NaN for the first).
    """
    keep = history[~history["cycle"].astype(str).isin(set(record["cycle"].astype(str)))]
    parts = [p for p in (keep[HISTORY_COLUMNS], record[HISTORY_COLUMNS]) if len(p)]
    out = pd.concat(parts, ignore_index=True) if parts else record[HISTORY_COLUMNS].copy()
    out = out.astype({"cycle": "string", "score": float})
    out = out.sort_values("cycle", ignore_index=True)
    out["change"] = out["score"].diff()
    return out


def summary(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings counted by check, severity and owner, most severe and most numerous first.

    Returns
    -------
    DataFrame
        ``check, severity, owner, findings`` (rows), ``skus`` (distinct SKUs).
    """
    columns = ["check", "severity", "owner", "findings", "skus"]
    if findings.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("findings", "skus")
                                          else "string") for c in columns})
    out = findings.groupby(["check", "severity", "owner"], as_index=False, dropna=False).agg(
        findings=("detail", "size"), skus=("sku", "nunique"))
    rank = out["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    return out.assign(_rank=rank).sort_values(["_rank", "findings", "check"],
                                              ascending=[True, False, True]).drop(
        columns="_rank").reset_index(drop=True)[columns]


def plot_score_trend(history: pd.DataFrame, *, target: float | None = 90.0):
    """The data-quality score per cycle (a line with its target), as a Figure."""
    import matplotlib

    from sopkit.display import STYLE, new_figure

    with matplotlib.rc_context(STYLE):
        fig = new_figure(height=3.2)
        ax = fig.add_subplot()
        ax.plot(history["cycle"].astype(str), history["score"], marker="o", linewidth=1.6,
                label="score")
        if target is not None:
            ax.axhline(target, color="0.5", ls="--", lw=1, label=f"target {target:g}")
        ax.legend(loc="lower right")
        ax.set_ylim(0, 102)
        ax.set_xlabel("cycle")
        ax.set_ylabel("score (0-100)")
        ax.set_title("Data-quality score by cycle")
    return fig
