"""The product portfolio: ABC/XYZ classes, the lifecycle calendar, slow movers.

ABC ranks SKUs by their share of the last months' revenue (and, apart, of
margin); XYZ by how variable their monthly demand is (the coefficient of
variation). The lifecycle calendar lists launches and ends of life near the
planning horizon. Slow movers are SKUs whose stock covers many months of
demand, or no demand at all, and lots of perishable items that will expire
before they can be sold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sopkit.errors import ParameterError
from sopkit.periods import add_months, cycle_month, month_range, months_between

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def _month(value, name: str) -> pd.Timestamp:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        raise ParameterError(f"{name}: a month is required")
    try:
        return cycle_month(value if isinstance(value, str) else pd.Timestamp(value))
    except ParameterError as exc:
        raise ParameterError(f"{name}: {exc}") from None


def _column(frame: pd.DataFrame, name: str, default=np.nan) -> pd.Series:
    """A column of ``frame``, or ``default`` everywhere when the column is absent."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(default, index=frame.index)


def _window(actuals: pd.DataFrame, end: pd.Timestamp, months: int) -> pd.DataFrame:
    start = add_months(end, -(months - 1))
    return actuals[(actuals["period"] >= start) & (actuals["period"] <= end)]


def _abc(value: pd.Series, a_share: float, b_share: float) -> pd.Series:
    """ABC class of each value, ranked from the largest.

    An item is A while the cumulative share of the items ranked *above* it is
    below ``a_share`` (so the item that crosses the threshold is still A), B
    likewise up to ``b_share``, else C. Items with no positive value are C.
    """
    positive = value.clip(lower=0).fillna(0.0)
    total = positive.sum()
    order = positive.sort_values(ascending=False, kind="stable").index
    share = positive.loc[order] / total if total > 0 else positive.loc[order] * 0.0
    before = share.cumsum() - share
    cls = np.where(before < a_share - 1e-12, "A", np.where(before < b_share - 1e-12, "B", "C"))
    out = pd.Series(cls, index=order).where(positive.loc[order] > 0, "C")
    return out.reindex(value.index)


def abc_xyz(
    actuals: pd.DataFrame,
    products: pd.DataFrame,
    *,
    end,
    months: int = 12,
    a_share: float = 0.8,
    b_share: float = 0.95,
    x_cv: float = 0.5,
    y_cv: float = 1.0,
) -> pd.DataFrame:
    """ABC (revenue and margin) and XYZ (variability) class of every SKU.

    Parameters
    ----------
    actuals : DataFrame
        ``sku, period, qty``.
    products : DataFrame
        ``sku, family, lifecycle_status, price, unit_cost``.
    end : str or Timestamp
        Last month of the window (usually the month before the cycle).
    months : int
        Length of the window.
    a_share, b_share : float
        Cumulative revenue share closing class A, then B.
    x_cv, y_cv : float
        Coefficient of variation closing class X, then Y.

    Returns
    -------
    DataFrame
        One row per product, largest revenue first: ``sku, family,
        lifecycle_status, qty_12m, revenue_12m, margin_12m`` (sums over the
        window, valued at today's price and unit cost), ``revenue_share,
        cum_revenue_share, abc, abc_margin, cv, xyz``. The column names say
        ``12m`` whatever ``months`` is, so that downstream code does not
        depend on the parameter.

    Notes
    -----
    ``cv`` is the population standard deviation over the mean of monthly
    demand, missing months counted as zero, from the SKU's first month with
    demand in the window (so a launch inside the window is not penalised for
    the months before it) to ``end``. A SKU without demand has ``cv`` NaN and
    is Z; X when ``cv <= x_cv``, Y when ``cv <= y_cv``.
    """
    end = _month(end, "end")
    if months < 1:
        raise ParameterError(f"months must be at least 1, got {months}")
    if not 0 < a_share <= b_share <= 1:
        raise ParameterError(f"need 0 < a_share <= b_share <= 1, got {a_share}, {b_share}")
    if not 0 <= x_cv <= y_cv:
        raise ParameterError(f"need 0 <= x_cv <= y_cv, got {x_cv}, {y_cv}")

    window = _window(actuals, end, months)
    monthly = window.groupby(["sku", "period"], as_index=False)["qty"].sum()
    qty = monthly.groupby("sku")["qty"].sum()

    out = products[["sku", "family"]].copy()
    out["lifecycle_status"] = _column(products, "lifecycle_status", pd.NA).astype("string")
    price = products["price"].astype(float)
    unit_cost = products["unit_cost"].astype(float)
    out["qty_12m"] = out["sku"].map(qty).astype(float).fillna(0.0)
    out["revenue_12m"] = out["qty_12m"] * price
    out["margin_12m"] = out["qty_12m"] * (price - unit_cost)
    total = out["revenue_12m"].sum()
    out["revenue_share"] = out["revenue_12m"] / total if total > 0 else 0.0
    out = out.sort_values(["revenue_12m", "sku"], ascending=[False, True], ignore_index=True)
    out["cum_revenue_share"] = out["revenue_share"].cumsum()
    out["abc"] = _abc(out["revenue_12m"], a_share, b_share)
    out["abc_margin"] = _abc(out["margin_12m"], a_share, b_share)

    # Monthly grid from each SKU's first month with demand, zeros where missing.
    first = monthly[monthly["qty"] > 0].groupby("sku")["period"].min()
    cv = {}
    for sku, start in first.items():
        grid = month_range(start, months_between(start, end) + 1)
        series = monthly[monthly["sku"] == sku].set_index("period")["qty"].reindex(grid)
        values = series.fillna(0.0).to_numpy(dtype=float)
        cv[sku] = float(values.std() / values.mean()) if values.mean() > 0 else np.nan
    out["cv"] = out["sku"].map(cv).astype(float)
    out["xyz"] = np.where(out["cv"] <= x_cv, "X", np.where(out["cv"] <= y_cv, "Y", "Z"))
    for column in ("abc", "abc_margin", "xyz"):
        out[column] = out[column].astype("string")
    return out


def pareto(classes: pd.DataFrame, *, value: str = "revenue_12m") -> pd.DataFrame:
    """The Pareto curve of a value over SKUs (from :func:`abc_xyz`).

    Returns
    -------
    DataFrame
        Largest first: ``rank`` (1 = largest), ``sku, family, abc``, the value
        column, ``sku_share`` (rank / number of SKUs) and ``cum_share`` (the
        cumulative share of the value), ready for :func:`plot_pareto`.
    """
    if value not in classes.columns:
        raise ParameterError(f"pareto: no column {value!r}")
    keep = [c for c in ("sku", "family", "abc") if c in classes.columns]
    curve = classes[[*keep, value]].copy()
    curve = curve.sort_values([value, "sku"], ascending=[False, True], ignore_index=True)
    positive = curve[value].clip(lower=0)
    total = positive.sum()
    curve.insert(0, "rank", np.arange(1, len(curve) + 1))
    curve["sku_share"] = curve["rank"] / max(len(curve), 1)
    curve["cum_share"] = positive.cumsum() / total if total > 0 else 0.0
    return curve


def plot_pareto(curve: pd.DataFrame, *, title: str = "Pareto of revenue") -> Figure:
    """The Pareto curve of :func:`pareto`, coloured by ABC class."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.plot(curve["sku_share"] * 100, curve["cum_share"] * 100, color="0.3", lw=1.5)
    if "abc" in curve.columns:
        colours = {"A": "tab:green", "B": "tab:orange", "C": "tab:red"}
        for cls, part in curve.groupby("abc"):
            ax.scatter(part["sku_share"] * 100, part["cum_share"] * 100, s=10,
                       color=colours.get(str(cls), "0.5"), label=f"class {cls}", zorder=3)
        ax.legend(loc="lower right")
    ax.set_xlabel("% of SKUs (largest first)")
    ax.set_ylabel("cumulative % of value")
    ax.set_ylim(0, 102)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return fig


LIFECYCLE_EVENTS = {"launch": "launch_period", "end of life": "eol_period"}


def lifecycle_calendar(
    products: pd.DataFrame, *, cycle, horizon: int = 18, lookback: int = 3
) -> pd.DataFrame:
    """Launches and ends of life from ``lookback`` months before the cycle to the horizon's end.

    Parameters
    ----------
    products : DataFrame
        ``sku, family, lifecycle_status, launch_period, eol_period`` (either
        month column may be absent).
    cycle : str or Timestamp
        First month planned.
    horizon : int
        Months planned; events up to ``cycle + horizon - 1`` are listed.
    lookback : int
        Months before the cycle also listed (recent launches and phase-outs
        still shape the plan).

    Returns
    -------
    DataFrame
        ``sku, family, lifecycle_status, event`` (``"launch"`` or ``"end of
        life"``), ``period``, ``months_from_cycle`` (negative: already past),
        sorted by period.
    """
    start = _month(cycle, "cycle")
    if horizon < 1 or lookback < 0:
        raise ParameterError(f"need horizon >= 1 and lookback >= 0, got {horizon}, {lookback}")
    first, last = add_months(start, -lookback), add_months(start, horizon - 1)
    parts = []
    for event, column in LIFECYCLE_EVENTS.items():
        if column not in products.columns:
            continue
        when = pd.to_datetime(products[column])
        inside = when.notna() & (when >= first) & (when <= last)
        part = products.loc[inside, ["sku", "family"]].copy()
        part["lifecycle_status"] = _column(products, "lifecycle_status", pd.NA)[inside]
        part["event"] = event
        part["period"] = when[inside]
        parts.append(part)
    columns = ["sku", "family", "lifecycle_status", "event", "period", "months_from_cycle"]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in columns}).astype(
            {"period": "datetime64[ns]", "months_from_cycle": "int64"})
    out = pd.concat(parts, ignore_index=True)
    out["period"] = out["period"].astype("datetime64[ns]")
    out["months_from_cycle"] = months_between(pd.Series(start, index=out.index), out["period"])
    out["event"] = out["event"].astype("string")
    out["lifecycle_status"] = out["lifecycle_status"].astype("string")
    return out[columns].sort_values(["period", "event", "sku"], ignore_index=True)


def _expiry_risk(
    inventory: pd.DataFrame, shelf_life: pd.Series, demand_rate: pd.Series,
    cycle: pd.Timestamp, expiry_months: int,
) -> pd.DataFrame:
    """Units of each SKU that expire within ``expiry_months`` before they can be sold.

    A lot made in month M with a shelf life of S months can be sold in months
    M … M+S−1 and expires at M+S. Stock is sold first-expiring-first at the
    SKU's average monthly demand; a lot expiring at E can use the demand of
    the months from the cycle to E−1 not taken by earlier lots; what is left
    at E is at risk. Lots already expired at the cycle are wholly at risk.
    """
    lots = inventory[inventory["produced_period"].notna()].copy()
    lots["shelf_life_months"] = lots["sku"].map(shelf_life)
    lots = lots[lots["shelf_life_months"].notna()]
    result = {}
    if lots.empty:
        return pd.DataFrame({"qty_expiring": pd.Series(dtype=float),
                             "qty_at_risk": pd.Series(dtype=float)})
    produced = pd.to_datetime(lots["produced_period"])
    months_left = months_between(pd.Series(cycle, index=lots.index), produced) + lots[
        "shelf_life_months"
    ].astype(int).to_numpy()
    lots["months_to_expiry"] = months_left
    for sku, group in lots.sort_values("months_to_expiry").groupby("sku", sort=False):
        rate = float(demand_rate.get(sku, 0.0))
        used = 0.0
        expiring = at_risk = 0.0
        for months_to_expiry, qty in zip(group["months_to_expiry"], group["qty"], strict=True):
            qty = float(qty)
            sellable = max(0.0, rate * max(int(months_to_expiry), 0) - used)
            sold = min(qty, sellable)
            used += sold
            if months_to_expiry <= expiry_months:
                expiring += qty
                at_risk += qty - sold
        result[sku] = (expiring, at_risk)
    return pd.DataFrame.from_dict(result, orient="index", columns=["qty_expiring", "qty_at_risk"])


def slow_movers(
    actuals: pd.DataFrame,
    inventory: pd.DataFrame,
    products: pd.DataFrame,
    *,
    end,
    months: int = 6,
    slow_cover_months: float = 12.0,
    expiry_months: int | None = None,
) -> pd.DataFrame:
    """Stock with little or no demand, and perishable stock that will expire.

    Parameters
    ----------
    actuals : DataFrame
        ``sku, period, qty``.
    inventory : DataFrame
        Lots: ``sku, qty`` and, for shelf life, ``produced_period``.
    products : DataFrame
        ``sku, family, lifecycle_status, unit_cost`` and ``shelf_life_months``
        (blank for items that do not perish).
    end : str or Timestamp
        Last month of history; the stock is the stock at the start of the
        next month (the cycle).
    months : int
        Months of history that measure demand; no demand in them makes the
        stock dead.
    slow_cover_months : float
        Months of supply above which stock is a slow mover.
    expiry_months : int, optional
        Lots expiring within this many months of the cycle are examined for
        expiry risk; default ``months``.

    Returns
    -------
    DataFrame
        One row per SKU with stock, largest value at risk then largest stock
        value first: ``sku, family, lifecycle_status, qty_on_hand,
        inventory_value, qty_demand_recent`` (demand over the ``months``),
        ``avg_monthly_demand, months_of_supply`` (inf without demand),
        ``dead_stock`` (no demand in the window), ``slow_mover`` (months of
        supply above ``slow_cover_months``, dead stock included),
        ``qty_expiring`` (units in lots expiring within ``expiry_months``),
        ``qty_at_risk`` (of those, units not expected to sell in time, first
        expiring sold first) and ``value_at_risk`` (at unit cost).
    """
    end = _month(end, "end")
    if months < 1:
        raise ParameterError(f"months must be at least 1, got {months}")
    expiry_months = months if expiry_months is None else int(expiry_months)
    cycle = add_months(end, 1)

    recent = _window(actuals, end, months).groupby("sku")["qty"].sum()
    stock = inventory.groupby("sku")["qty"].sum()
    stock = stock[stock > 0]
    master = products.set_index("sku")

    out = pd.DataFrame({"sku": pd.array(stock.index, dtype="string")})
    out["family"] = out["sku"].map(master["family"]).astype("string")
    out["lifecycle_status"] = out["sku"].map(
        _column(products, "lifecycle_status", pd.NA).set_axis(products["sku"])
    ).astype("string")
    unit_cost = out["sku"].map(master["unit_cost"]).astype(float)
    out["qty_on_hand"] = stock.to_numpy(dtype=float)
    out["inventory_value"] = out["qty_on_hand"] * unit_cost
    out["qty_demand_recent"] = out["sku"].map(recent).astype(float).fillna(0.0)
    out["avg_monthly_demand"] = out["qty_demand_recent"] / months
    with np.errstate(divide="ignore"):
        out["months_of_supply"] = np.where(
            out["avg_monthly_demand"] > 0, out["qty_on_hand"] / out["avg_monthly_demand"], np.inf
        )
    out["dead_stock"] = out["qty_demand_recent"] <= 0
    out["slow_mover"] = out["months_of_supply"] > slow_cover_months

    rate = out.set_index("sku")["avg_monthly_demand"]
    shelf_life = _column(products, "shelf_life_months").set_axis(products["sku"])
    shelf_life = shelf_life[shelf_life.notna()]
    if "produced_period" in inventory.columns and len(shelf_life):
        risk = _expiry_risk(inventory[inventory["qty"] > 0], shelf_life, rate, cycle,
                            expiry_months)
    else:
        risk = pd.DataFrame({"qty_expiring": pd.Series(dtype=float),
                             "qty_at_risk": pd.Series(dtype=float)})
    out["qty_expiring"] = out["sku"].map(risk["qty_expiring"]).astype(float).fillna(0.0)
    out["qty_at_risk"] = out["sku"].map(risk["qty_at_risk"]).astype(float).fillna(0.0)
    out["value_at_risk"] = out["qty_at_risk"] * unit_cost
    return out.sort_values(["value_at_risk", "inventory_value", "sku"],
                           ascending=[False, False, True], ignore_index=True)


def rationalisation(
    classes: pd.DataFrame,
    products: pd.DataFrame,
    *,
    cycle,
    stock: pd.DataFrame | None = None,
    horizon: int = 18,
    price_band: float = 0.1,
    pipeline: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """SKUs to consider for rationalisation, each with the reasons.

    A candidate sales are still quoting says so in ``open_deals`` (from the
    latest pipeline snapshot): its history says little, but someone expects
    to sell it; ask before deciding.

    Only products still sold as usual are examined (not ``npi``, ``eol`` or
    ``discontinued``: those are already being launched or phased out).

    Reasons
        * revenue and margin class C and XYZ class Z: little revenue and
          margin, hard to plan (said as "no demand in the window" for a SKU
          that had none);
        * a negative margin over the window (price below cost);
        * may lose sales to a launch: a class-C SKU of the family of a product
          launching between the cycle and the horizon's end, priced within
          ``price_band`` of it. A question for the product manager, not a
          finding: the product master states no successor, and ``analog_sku``
          is not one (it names the product whose launch curve a new product
          is expected to follow, :mod:`sopkit.contract`): being a launch's
          analog is no reason here;
        * from ``stock`` (:func:`slow_movers`): dead stock, a slow mover of
          class C, stock expiring unsold.

    Candidates with a finding come first, then those with only a question
    (a launch it may lose sales to); each group by ``value_at_stake``,
    largest first: the margin of the window (what dropping the SKU gives up
    or, below cost, saves) in absolute value plus the stock at cost (what is
    written off or sold off), so the decisions that move the most money come
    first.

    Parameters
    ----------
    classes : DataFrame
        :func:`abc_xyz` output.
    products : DataFrame
        ``sku, family, lifecycle_status, price`` and, for launches,
        ``launch_period``.
    cycle : str or Timestamp
        First month planned.
    stock : DataFrame, optional
        :func:`slow_movers` output.
    pipeline : DataFrame, optional
        The pipeline (``snapshot, deal_id, sku, period, qty, probability``,
        optional ``outcome``): the open lines of its latest snapshot on or
        before ``cycle``, the one the plan uses.

    Returns
    -------
    DataFrame
        One row per candidate, findings before questions, each largest
        ``value_at_stake`` first (then most reasons): ``sku, family, abc,
        abc_margin, xyz, revenue_12m, margin_12m, inventory_value,
        value_at_stake, n_reasons, reasons``
        (sentences joined by ``"; "``) and, with ``pipeline``, ``open_deals``
        (e.g. "2 open deals, 8 units in 2027-02, stated 50-75 %"; blank when
        none).
    """
    start = _month(cycle, "cycle")
    if horizon < 1 or price_band < 0:
        raise ParameterError(f"need horizon >= 1 and price_band >= 0, got {horizon}, "
                             f"{price_band}")
    end = add_months(start, horizon - 1)
    info = classes.set_index("sku")
    status = _column(products, "lifecycle_status", "active").astype("string").str.lower()
    regular = set(products.loc[status.fillna("active") == "active", "sku"])
    reasons: dict[str, list[str]] = {}
    found: set[str] = set()  # SKUs with a finding, not only a question

    def add(sku, text, question: bool = False):
        if sku in regular and sku in info.index:
            reasons.setdefault(sku, []).append(text)
            if not question:
                found.add(sku)

    for sku, row in info.iterrows():
        if row["abc"] == "C" and row["abc_margin"] == "C" and row["xyz"] == "Z":
            add(sku, f"low margin and high variability (revenue and margin class C, cv "
                     f"{row['cv']:.2f})" if pd.notna(row["cv"]) else
                "no demand in the window (revenue and margin class C)")
        if row["margin_12m"] < 0:
            add(sku, f"sold below cost: margin {row['margin_12m']:,.0f} over the window")

    launch = pd.to_datetime(_column(products, "launch_period", pd.NaT))
    launching = products[launch.notna() & (launch >= start) & (launch <= end)]
    price = products.set_index("sku")["price"].astype(float)
    for _, new in launching.iterrows():
        when = pd.Timestamp(new["launch_period"]).strftime("%Y-%m")
        near = info[(info["family"] == new["family"]) & (info["abc"] == "C")].index
        for sku in near:
            if sku == new["sku"] or sku not in price.index:
                continue
            if abs(price[sku] / float(new["price"]) - 1) <= price_band:
                add(sku, f"may lose sales to {new['sku']}, launching in {when} (class C, same "
                         f"family, price within {price_band:.0%})", question=True)

    value = pd.Series(0.0, index=info.index)
    if stock is not None and len(stock):
        held = stock.set_index("sku")
        value = held["inventory_value"].reindex(info.index).fillna(0.0)
        for sku, row in held.iterrows():
            if row["dead_stock"]:
                add(sku, f"dead stock: no demand in the window, {row['inventory_value']:,.0f} "
                         "of stock")
            elif row["slow_mover"] and sku in info.index and info.at[sku, "abc"] == "C":
                add(sku, f"slow mover of class C: {row['months_of_supply']:.0f} months of "
                         "supply")
            if row["value_at_risk"] > 0:
                add(sku, f"{row['qty_at_risk']:,.0f} units expiring unsold "
                         f"(value {row['value_at_risk']:,.0f})")

    columns = ["sku", "family", "abc", "abc_margin", "xyz", "revenue_12m", "margin_12m",
               "inventory_value", "value_at_stake", "n_reasons", "reasons",
               *(["open_deals"] if pipeline is not None else [])]
    if not reasons:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in columns}).astype(
            {"revenue_12m": float, "margin_12m": float, "inventory_value": float,
             "value_at_stake": float, "n_reasons": "int64"})
    skus = list(reasons)
    out = info.loc[skus, ["family", "abc", "abc_margin", "xyz", "revenue_12m",
                          "margin_12m"]].reset_index()
    out["inventory_value"] = value.reindex(skus).fillna(0.0).to_numpy(dtype=float)
    out["value_at_stake"] = out["margin_12m"].astype(float).abs() + out["inventory_value"]
    out["n_reasons"] = [len(reasons[s]) for s in skus]
    out["reasons"] = pd.array(["; ".join(reasons[s]) for s in skus], dtype="string")
    out["sku"] = out["sku"].astype("string")
    if pipeline is not None:
        quoted = _open_deals(pipeline, start)
        out["open_deals"] = pd.array([quoted.get(s, "") for s in out["sku"]], dtype="string")
    out["_found"] = [s in found for s in skus]
    return out.sort_values(["_found", "value_at_stake", "n_reasons", "sku"],
                           ascending=[False, False, False, True], ignore_index=True)[columns]


def _open_deals(pipeline: pd.DataFrame, start: pd.Timestamp) -> dict[str, str]:
    """Per SKU, the open lines of the snapshot the plan uses (the latest on or before
    ``start``, :func:`sopkit.quality.latest_snapshot`), in words."""
    from sopkit.quality import latest_snapshot

    if pipeline is None or pipeline.empty:
        return {}
    latest = latest_snapshot(pipeline, start, open_only=True)
    out = {}
    for sku, part in latest.groupby(latest["sku"].astype(str)):
        n = part["deal_id"].nunique()
        months = sorted(pd.to_datetime(part["period"]).dt.strftime("%Y-%m").unique())
        when = months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"
        low, high = part["probability"].min(), part["probability"].max()
        stated = f"{low:.0%}" if low == high else f"{low:.0%}-{high:.0%}"
        out[sku] = (f"{n} open deal{'s' if n > 1 else ''}, {part['qty'].sum():,.0f} units in "
                    f"{when}, stated {stated}")
    return out
