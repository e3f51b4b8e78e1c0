"""Launches and phase-outs: analog launch curves, phase-out, run-out and last-time buys.

New products
------------
A new product has no history, so its forecast is borrowed from *like items*
(analogs) whose own launch is in the demand history.

Which analogs (:func:`choose_analogs`), for each product with a
``launch_period`` and no demand before the cycle:

1. ``products.analog_sku``, when it names a product whose launch is observed
   (see below): that one analog, rule ``"given"``.
2. Otherwise up to ``n_analogs`` products of the same ``family`` with an
   observed launch and a steady ramped-up demand (coefficient of variation
   over the plateau months at most :data:`MAX_ANALOG_CV`: an erratic item's
   first months say nothing about a launch), nearest in price (smallest
   ``|ln(price / price_new)|``, then SKU code): rule ``"family and price"``.
3. Otherwise the same over every family: rule ``"price"``.
4. No observed launch anywhere: no analog, and the product gets the old
   linear ramp to ``launch_volume`` over :data:`FALLBACK_RAMP_MONTHS` months
   (rule ``"linear ramp"``).

A launch is *observed* when the analog's first ``curve_months`` months after
launch lie inside the demand history before the cycle, and its launch is not
the start of the history itself (a SKU sold since the first month of the
actuals was launched before them). The launch month is ``launch_period`` when
given, else the first month with demand — but only when the product then sold
in at least :data:`MIN_SELLING_SHARE` of the curve's months (the first order
of an intermittent item is not a launch).

The launch curve (:func:`launch_curves`): each analog's demand in months
``k = 0 … curve_months − 1`` after its launch, divided by its ramped-up level
(its mean demand over the last ``plateau_months`` of those months), averaged
over the analogs. The first ``curve_months − plateau_months`` values are the
ramp; from then on the factor is 1. Over the ramp the analogs' mean is
weighed against the mean ramp of all observed launches, by how much
families' ramps differ beyond one launch's noise (:func:`pooled_ramp`); an
analog named in the product master is used as it is. The new product's forecast in month ``k``
after its launch is ``launch_volume × factor_k`` (``launch_volume`` is the
expected monthly demand once ramped up); without a ``launch_volume`` the
analogs' mean ramped-up level is used. A launch in progress (launched fewer
than ``curve_months − plateau_months`` months before the cycle) stays on its
curve, its volume updated by what it has sold (:func:`launch_forecast`).

Ends of life
------------
A product with an ``eol_period`` is phased out linearly over its last
``phase_out_months`` months: in the month ``d`` months before ``eol_period``
(``d = 0`` in it) demand is multiplied by ``min(1, (d + 1) / (phase_out_months
+ 1))`` — with 3 months: 0.75 two months before the eol month, 0.5 one month
before, 0.25 in it, 0 after (:func:`phase_out_factors`). Customers move to the
successor gradually; the statistical forecast sees the past decline but not
the date it ends.

Demand of a product being phased out usually falls before the fade begins,
and no statistical model of the backtest follows a run-down: they level the
past, so they plan above what the product sells now (on the sample company,
SEA-0006 sold 726 in October after 2,168 six months earlier, and its model
planned 1,924 a month). The statistical level of a product with an
``eol_period`` still ahead is therefore capped at its recent run rate
(:func:`recent_run_rate`: the mean of its last ``RECENT_MONTHS`` months when
each had demand, else of its last ``RUN_RATE_MONTHS``), before the fade
(:func:`run_rate_cap`); the product review's run-out uses the same rate.
Measured (``benchmarks/phase_out.py``) on series that stop selling, the last
month sold taken as the known end of life and forecast 1 to 6 months before
it (3 months ahead, faded as above): on the 16 such series of the
prescriptions data (``pbs``, 240 points) the WAPE falls from 343 % to 117 %
(bias +274 % → +42 %; the 6-month mean as the cap: 297 %; the run rate
itself: 157 %); on the 3 of the refinery spare parts (45 points),
intermittent and under-forecast already, it rises from 95.7 % to 98.0 %
(bias −78 % → −82 %). On 8 sample companies (1,296 points) 85.4 % → 69.6 %
(bias +84 % → +66 %).

The demand plan (:meth:`sopkit.lumpy.LumpyDemandModel.predict`) uses both: the launch forecast
as the statistical part of a product without history (``model =
"npi_analog"``, or ``"npi_ramp"`` on the fallback), and the fade on the
statistical part (and its promotion uplift) of a product being phased out;
pipeline deals and adjustments are kept as entered up to the eol month.

:func:`run_out` sets the stock on hand against the phase-out demand: months
of stock, the month it runs out, stock left at end of life (to sell off or
write off) and units still to make. The product review runs it on the recent
run rate (:func:`phase_out_demand`), before the cycle's plan exists;
:func:`run_out_against_plan` sets that beside the run-out against the demand
plan, for the demand review. :func:`last_time_buy` turns the units
still to make into components through the bill of materials, net of the
components on hand; a component no live product uses needs a last-time buy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sopkit.errors import ParameterError
from sopkit.periods import add_months, cycle_month, month_range

CURVE_MONTHS = 12  # months after launch that an analog's launch curve covers
PLATEAU_MONTHS = 6  # last months of the curve that define the ramped-up level
N_ANALOGS = 3  # analogs chosen by family and price when none is given
FALLBACK_RAMP_MONTHS = 3  # linear ramp when no launch is observed anywhere
PHASE_OUT_MONTHS = 3  # months before end of life over which demand fades
RECENT_MONTHS = 3  # months that give a phase-out's recent run rate when each had demand
RUN_RATE_MONTHS = 6  # ... else the mean of this many months (an intermittent product)
MAX_ANALOG_CV = 0.5  # plateau variability above which a product is not chosen as an analog
MIN_SELLING_SHARE = 0.8  # months with demand needed to read a first sale as a launch
LAUNCH_PRIOR_MONTHS = 1.0  # weight of the expected volume against a launch's first sales
LAUNCH_MONTHS_UNSTATED = 2  # months a launch without launch_volume sells before its curve is used

RULES = ("given", "family and price", "price", "linear ramp")


def _month_no(values) -> np.ndarray:
    stamps = pd.to_datetime(pd.Series(values))
    return (stamps.dt.year * 12 + stamps.dt.month - 1).to_numpy()


def _stamp(number: int) -> pd.Timestamp:
    return pd.Timestamp(year=int(number) // 12, month=int(number) % 12 + 1, day=1)


def _optional(frame: pd.DataFrame, name: str, default=np.nan) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(default, index=frame.index)


def _check_months(curve_months: int, plateau_months: int) -> None:
    if not 1 <= plateau_months <= curve_months:
        raise ParameterError(f"need 1 <= plateau_months <= curve_months, got {plateau_months}, "
                             f"{curve_months}")


def _history(actuals: pd.DataFrame, cycle: pd.Timestamp) -> pd.DataFrame:
    frame = pd.DataFrame({
        "sku": actuals["sku"].astype("string"),
        "month": _month_no(actuals["period"]) if len(actuals) else np.array([], dtype=int),
        "qty": pd.to_numeric(actuals["qty"]).astype(float).fillna(0.0).clip(lower=0).to_numpy(),
    })
    frame = frame[frame["month"] < _month_no([cycle])[0]]
    return frame.groupby(["sku", "month"], as_index=False)["qty"].sum()


def observed_launches(
    products: pd.DataFrame, actuals: pd.DataFrame, *, cycle,
    curve_months: int = CURVE_MONTHS, plateau_months: int = PLATEAU_MONTHS,
) -> pd.DataFrame:
    """Products whose launch lies wholly inside the history: candidate analogs.

    Returns
    -------
    DataFrame
        ``sku, family, price, launch`` (month of launch), ``launch_from``
        (``"launch_period"`` or ``"first sale"``), ``level`` (mean demand
        over the plateau months), ``plateau_cv`` (coefficient of variation
        over them) and ``curve`` (a list of ``curve_months`` values: demand
        in each month after launch divided by ``level``), for every product
        with an observed launch and a positive level.
    """
    cycle = cycle_month(cycle)
    _check_months(curve_months, plateau_months)
    columns = ["sku", "family", "price", "launch", "launch_from", "level", "plateau_cv", "curve"]
    history = _history(actuals, cycle)
    if history.empty or products.empty:
        return pd.DataFrame({c: [] for c in columns})
    first_month = int(history["month"].min())
    last_month = _month_no([cycle])[0] - 1
    with_demand = history[history["qty"] > 0]
    first_sale = with_demand.groupby("sku")["month"].min()
    by_sku = {sku: (group["month"].to_numpy(), group["qty"].to_numpy())
              for sku, group in history.groupby("sku", sort=False)}
    given = _optional(products, "launch_period", pd.NaT)
    rows = []
    for sku, family, price, launch_period in zip(
            products["sku"].astype("string"), _optional(products, "family", pd.NA),
            _optional(products, "price"), given, strict=True):
        if pd.notna(launch_period):
            launch, source = int(_month_no([launch_period])[0]), "launch_period"
        elif sku in first_sale.index:
            launch, source = int(first_sale[sku]), "first sale"
        else:
            continue
        if launch <= first_month or launch + curve_months - 1 > last_month:
            continue  # launched before the history, or its curve is not complete yet
        values = np.zeros(curve_months)
        if sku in by_sku:
            months, qty = by_sku[sku]
            inside = (months >= launch) & (months < launch + curve_months)
            values[months[inside] - launch] = qty[inside]
        if source == "first sale" and (values > 0).mean() < MIN_SELLING_SHARE:
            continue  # sporadic orders, not a launch
        plateau = values[curve_months - plateau_months:]
        level = float(plateau.mean())
        if level <= 0:
            continue
        rows.append((sku, family, float(price), _stamp(launch), source, level,
                     float(plateau.std() / level), list(values / level)))
    out = pd.DataFrame(rows, columns=columns)
    out["sku"] = out["sku"].astype("string")
    return out


def choose_analogs(
    products: pd.DataFrame, actuals: pd.DataFrame, *, cycle, n_analogs: int = N_ANALOGS,
    curve_months: int = CURVE_MONTHS, plateau_months: int = PLATEAU_MONTHS,
    max_cv: float = MAX_ANALOG_CV,
) -> pd.DataFrame:
    """The analogs of every product still to launch (see the module docstring for the rule).

    A product is still to launch when it has a ``launch_period`` and no
    demand before the cycle; a launch in progress (launched fewer than
    ``curve_months − plateau_months`` months before the cycle: still on its
    ramp) gets analogs too.

    Returns
    -------
    DataFrame
        One row per (new product, analog), or one row with a blank analog for
        the linear-ramp fallback: ``sku, family, launch_period, analog_sku,
        analog_family, analog_launch, price_ratio`` (analog price / new
        price), ``rule`` (one of :data:`RULES`) and ``note`` (why the given
        analog was not used, else blank).
    """
    cycle = cycle_month(cycle)
    if n_analogs < 1:
        raise ParameterError(f"n_analogs must be at least 1, got {n_analogs}")
    columns = ["sku", "family", "launch_period", "analog_sku", "analog_family", "analog_launch",
               "price_ratio", "rule", "note"]
    new = _new_products(products, actuals, cycle, ramp_months=curve_months - plateau_months)
    candidates = observed_launches(products, actuals, cycle=cycle, curve_months=curve_months,
                                   plateau_months=plateau_months)
    by_sku = candidates.set_index("sku") if len(candidates) else candidates
    known = set(products["sku"].astype("string"))
    rows = []
    for _, product in new.iterrows():
        sku, family = product["sku"], product.get("family", pd.NA)
        price = float(product.get("price", np.nan))
        given = product.get("analog_sku")
        note = ""
        if pd.notna(given) and str(given).strip():
            given = str(given).strip()
            if len(candidates) and given in by_sku.index and given != sku:
                analog = by_sku.loc[given]
                rows.append((sku, family, product["launch_period"], given, analog["family"],
                             analog["launch"], analog["price"] / price if price > 0 else np.nan,
                             "given", ""))
                continue
            if given not in known:
                note = f"analog_sku {given} is not in the product master"
            else:
                note = (f"analog_sku {given}: its first {curve_months} months after launch are "
                        "not in the history")
        pool = candidates[(candidates["sku"] != sku) & (candidates["plateau_cv"] <= max_cv)] if len(
            candidates) else candidates
        rule = "family and price"
        same = pool[(pool["family"] == family).fillna(False)] if len(pool) else pool
        if len(same) == 0:
            same, rule = pool, "price"
        if len(same) == 0:
            rows.append((sku, family, product["launch_period"], pd.NA, pd.NA, pd.NaT, np.nan,
                         "linear ramp", note or "no launch observed in the history"))
            continue
        ratio = same["price"] / price if price > 0 else pd.Series(np.nan, index=same.index)
        distance = np.abs(np.log(ratio.clip(lower=1e-12)))
        ranked = same.assign(_distance=distance.to_numpy(), _ratio=ratio.to_numpy()).sort_values(
            ["_distance", "sku"]).head(n_analogs)
        for _, analog in ranked.iterrows():
            rows.append((sku, family, product["launch_period"], analog["sku"], analog["family"],
                         analog["launch"], analog["_ratio"], rule, note))
    out = pd.DataFrame(rows, columns=columns)
    for column in ("sku", "family", "analog_sku", "analog_family", "rule", "note"):
        out[column] = out[column].astype("string")
    for column in ("launch_period", "analog_launch"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[ns]")
    out["price_ratio"] = out["price_ratio"].astype(float)
    return out


def _new_products(products: pd.DataFrame, actuals: pd.DataFrame,
                  cycle: pd.Timestamp, ramp_months: int = 0) -> pd.DataFrame:
    """Products still to launch (a ``launch_period``, no demand before the cycle) and,
    with ``ramp_months``, those launched fewer than ``ramp_months`` months before it:
    launches in progress, still on their ramp."""
    if products.empty or "launch_period" not in products.columns:
        return products.iloc[:0].assign(launch_period=pd.Series(dtype="datetime64[ns]"))
    history = _history(actuals, cycle) if actuals is not None and len(actuals) else None
    sold = set() if history is None else set(history.loc[history["qty"] > 0, "sku"])
    new = products[products["launch_period"].notna()].copy()
    new["sku"] = new["sku"].astype("string")
    status = _optional(new, "lifecycle_status", "npi").astype("string").str.lower()
    launch = pd.to_datetime(new["launch_period"])
    ramping = (launch < cycle) & (launch >= add_months(cycle, -ramp_months)) if ramp_months \
        else pd.Series(False, index=new.index)
    keep = (~new["sku"].isin(sold) | ramping) & (status != "discontinued").fillna(True)
    return new[keep].sort_values(
        "sku", ignore_index=True)


def pooled_ramp(launches: pd.DataFrame, ramp_months: int) -> tuple[np.ndarray | None, float]:
    """The mean ramp of all observed launches, and how far a family's own ramp is worth it.

    One analog's first months carry its own noise (a distributor's stocking
    order in month 6, a slow month 3); three analogs still carry most of it.
    The ramps of all observed launches average that noise out but ignore what
    sets a family apart. :func:`launch_curves` weighs the two as a
    random-effects model does: the analogs' mean ramp with weight
    ``n / (n + k)`` (``n`` analogs), the pooled ramp with the rest, where
    ``k = σ² / τ²`` is the noise of one launch's ramp around its family's
    mean (σ², within families) over the spread of the families' true mean
    ramps (τ², between families). Both are moment estimates over the ramp
    months: σ² from the families with two or more launches; τ² = the mean
    squared distance of the family means from the pooled mean, less the
    part σ² / ``n_family`` their own noise explains.

    Parameters
    ----------
    launches : DataFrame
        :func:`observed_launches` rows eligible as analogs (``family``,
        ``curve``).
    ramp_months : int
        Months of the ramp (``curve_months − plateau_months``).

    Returns
    -------
    (ndarray or None, float)
        The pooled mean ramp (None without launches) and ``k``: ``inf`` when
        the families differ no more than their noise explains (τ² ≤ 0: the
        pooled ramp alone), NaN when it cannot be told (fewer than two
        families, or no family with two launches: the analogs alone).
    """
    if launches is None or len(launches) == 0 or ramp_months < 1:
        return None, np.nan
    ramps = np.array([np.asarray(c, dtype=float)[:ramp_months] for c in launches["curve"]])
    pooled = ramps.mean(axis=0)
    family = launches["family"].astype("string").fillna("").to_numpy()
    within, dof, means, sizes = 0.0, 0, [], []
    for name in pd.unique(family):
        part = ramps[family == name]
        means.append(part.mean(axis=0))
        sizes.append(len(part))
        within += float(((part - part.mean(axis=0)) ** 2).sum())
        dof += (len(part) - 1) * ramp_months
    if len(means) < 2 or dof == 0:
        return pooled, np.nan
    sigma2 = within / dof
    between = float(((np.array(means) - pooled) ** 2).mean())
    tau2 = between - sigma2 * float(np.mean(1.0 / np.array(sizes)))
    return pooled, (np.inf if tau2 <= 0 else sigma2 / tau2)


def launch_curves(
    analogs: pd.DataFrame, products: pd.DataFrame, actuals: pd.DataFrame, *, cycle,
    curve_months: int = CURVE_MONTHS, plateau_months: int = PLATEAU_MONTHS,
    max_cv: float = MAX_ANALOG_CV, pooled: bool = True,
) -> pd.DataFrame:
    """The launch curve of each new product: its analogs' ramp, weighed against all launches'.

    The analogs' normalised first months are averaged. Over the ramp months
    that mean is weighed against the mean ramp of every observed launch with
    a steady plateau (``plateau_cv`` ≤ ``max_cv``, the launches
    :func:`choose_analogs` may pick): weight ``n / (n + k)`` for ``n``
    analogs, ``k`` as :func:`pooled_ramp` estimates it, so a single noisy
    analog counts for less than three, and family analogs count for more
    where families' ramps really differ. An analog the product master names
    (rule ``given``) is the planner's choice and is used as it is.

    Parameters
    ----------
    analogs : DataFrame
        :func:`choose_analogs` output.
    max_cv : float
        As for :func:`choose_analogs`: the launches pooled.
    pooled : bool
        ``False``: the analogs' mean alone (weight 1), as before the pooling;
        ``benchmarks/launch_curves.py`` compares the two.

    Returns
    -------
    DataFrame
        ``sku, month_since_launch`` (0 … ``curve_months − 1``), ``factor``
        (share of the ramped-up volume; 1 from ``curve_months −
        plateau_months`` on), ``factor_analogs`` (the analogs' own mean),
        ``weight`` (of the analogs' mean in ``factor``), ``n_pooled`` (the
        launches pooled), ``n_analogs``, ``analogs`` (the analogs averaged,
        comma-separated), ``analog_level`` (the analogs' mean ramped-up
        monthly demand). Products on the linear-ramp fallback get
        ``min(1, (k + 1) / FALLBACK_RAMP_MONTHS)``, ``n_analogs`` 0 and
        ``analogs`` "".
    """
    cycle = cycle_month(cycle)
    _check_months(curve_months, plateau_months)
    observed = observed_launches(products, actuals, cycle=cycle, curve_months=curve_months,
                                 plateau_months=plateau_months)
    ramp_months = curve_months - plateau_months
    pool = observed[observed["plateau_cv"] <= max_cv] if len(observed) else observed
    mean_ramp, k_noise = pooled_ramp(pool, ramp_months) if pooled else (None, np.nan)
    observed = observed.set_index("sku") if len(observed) else observed
    k = np.arange(curve_months)
    rules = analogs["rule"].astype("string") if "rule" in analogs.columns else None
    rows = []
    for sku, group in analogs.groupby("sku", sort=True):
        used = [a for a in group["analog_sku"].dropna() if len(observed) and a in observed.index]
        weight = 1.0
        if used:
            curves = np.array([observed.loc[a, "curve"] for a in used], dtype=float)
            own = curves.mean(axis=0)
            own[ramp_months:] = 1.0
            given = rules is not None and (rules.loc[group.index] == "given").any()
            if mean_ramp is not None and not given and not np.isnan(k_noise):
                weight = 0.0 if np.isinf(k_noise) else len(used) / (len(used) + k_noise)
            factor = own.copy()
            if weight < 1.0:
                factor[:ramp_months] = weight * own[:ramp_months] + (1 - weight) * mean_ramp
            level = float(np.mean([observed.loc[a, "level"] for a in used]))
        else:
            factor = own = np.minimum(1.0, (k + 1) / FALLBACK_RAMP_MONTHS)
            level = np.nan
        rows.append(pd.DataFrame({"sku": sku, "month_since_launch": k, "factor": factor,
                                  "factor_analogs": own, "weight": weight,
                                  "n_pooled": len(pool) if weight < 1.0 else 0,
                                  "n_analogs": len(used), "analogs": ", ".join(used),
                                  "analog_level": level}))
    if not rows:
        return pd.DataFrame({"sku": pd.Series(dtype="string"),
                             "month_since_launch": pd.Series(dtype=int),
                             "factor": pd.Series(dtype=float),
                             "factor_analogs": pd.Series(dtype=float),
                             "weight": pd.Series(dtype=float),
                             "n_pooled": pd.Series(dtype=int),
                             "n_analogs": pd.Series(dtype=int),
                             "analogs": pd.Series(dtype="string"),
                             "analog_level": pd.Series(dtype=float)})
    out = pd.concat(rows, ignore_index=True)
    out["sku"] = out["sku"].astype("string")
    out["analogs"] = out["analogs"].astype("string")
    return out


def _curve_source(group: pd.DataFrame) -> str:
    """Where a product's launch curve comes from, in words (:func:`shared_curves`)."""
    analogs = ", ".join(sorted(str(group["analogs"].iloc[0]).split(", ")))
    if not analogs or str(group["analogs"].iloc[0]) in ("", "<NA>"):
        return "linear ramp"
    named = f"analog{'s' if ',' in analogs else ''} {analogs}"
    weight = float(group["weight"].iloc[0]) if "weight" in group.columns else 1.0
    pooled = int(group["n_pooled"].iloc[0]) if "n_pooled" in group.columns else 0
    if weight >= 1.0 or pooled == 0:
        return named
    if weight <= 0.0:  # the analogs do not shape the curve: one line for all such products
        return f"mean of all {pooled} launches observed"
    return f"{named} {weight:.0%}, all {pooled} launches observed {1 - weight:.0%}"


def shared_curves(curves: pd.DataFrame, *, max_skus: int = 4) -> pd.DataFrame:
    """The distinct launch curves, each named by the products that share it.

    New products with the same analogs get the same curve; drawn one line per
    product, they hide each other. This keeps one line per distinct curve.

    Parameters
    ----------
    curves : DataFrame
        :func:`launch_curves` output.
    max_skus : int
        Products named in a curve's label before "and N more".

    Returns
    -------
    DataFrame
        ``curve`` (e.g. "PMP-0006, PMP-0012 (analog PMP-0014)"; "… (analogs
        A, B 60%, all 15 launches observed 40%)" where :func:`launch_curves`
        weighed them against all launches; "… (linear ramp)" for the
        fallback), ``month_since_launch``, ``factor``,
        ``n_skus``; in the order of each curve's first product.
    """
    if curves.empty:
        return pd.DataFrame({"curve": pd.Series(dtype="string"),
                             "month_since_launch": pd.Series(dtype=int),
                             "factor": pd.Series(dtype=float), "n_skus": pd.Series(dtype=int)})
    shapes: dict[tuple, list[str]] = {}
    first: dict[tuple, pd.DataFrame] = {}
    ordered = curves.sort_values(["sku", "month_since_launch"])
    for sku, group in ordered.groupby("sku", sort=True):
        key = (_curve_source(group), tuple(np.round(group["factor"].to_numpy(dtype=float), 9)))
        shapes.setdefault(key, []).append(str(sku))
        first.setdefault(key, group)
    parts = []
    for key, skus in shapes.items():
        named = ", ".join(skus[:max_skus])
        if len(skus) > max_skus:
            named += f" and {len(skus) - max_skus} more"
        source = key[0]
        group = first[key]
        parts.append(pd.DataFrame({"curve": f"{named} ({source})",
                                   "month_since_launch": group["month_since_launch"].to_numpy(),
                                   "factor": group["factor"].to_numpy(dtype=float),
                                   "n_skus": len(skus)}))
    out = pd.concat(parts, ignore_index=True)
    out["curve"] = out["curve"].astype("string")
    return out


def launch_forecast(
    products: pd.DataFrame, actuals: pd.DataFrame, periods, *, cycle,
    n_analogs: int = N_ANALOGS, curve_months: int = CURVE_MONTHS,
    plateau_months: int = PLATEAU_MONTHS,
) -> pd.DataFrame:
    """The forecast of every product still to launch, from its analogs' launch curve.

    Parameters
    ----------
    products, actuals : DataFrame
        Contract tables.
    periods : sequence of month starts
        Months forecast.
    cycle : str or Timestamp
        The cycle; only actuals before it are used.

    Returns
    -------
    DataFrame
        One row per new product and period: ``sku, period, qty_stat`` (0
        before launch; ``volume × factor`` after), ``volume`` (``launch_volume``
        or, when blank, the analogs' ramped-up level), ``month_since_launch``
        (negative before launch), ``model`` (``"npi_analog"`` or, on the
        fallback, ``"npi_ramp"``), ``launched`` (True for a launch in
        progress). Products with neither a ``launch_volume`` nor an analog
        are left out (nothing to scale by).

    A launch in progress has sold for a month or more: its ``volume`` is the
    expected volume updated by what it sold, ``(w V0 + Σ actual) / (w + Σ
    factor)`` over its months since launch, with ``w`` =
    :data:`LAUNCH_PRIOR_MONTHS` ramped-up months of weight on ``V0``, the
    ``launch_volume`` (without one, ``w`` = 0: another product's level says
    nothing of this one's size, and the curve waits for
    :data:`LAUNCH_MONTHS_UNSTATED` months of sales). Its first months say how
    big it is; the curve says how far it still has to ramp. (A statistical
    forecast of one or two ramp months would stay at their level.)
    """
    cycle = cycle_month(cycle)
    periods = pd.DatetimeIndex(pd.to_datetime(pd.Series(periods)).dt.to_period("M")
                               .dt.to_timestamp())
    columns = ["sku", "period", "qty_stat", "volume", "month_since_launch", "model", "launched"]
    analogs = choose_analogs(products, actuals, cycle=cycle, n_analogs=n_analogs,
                             curve_months=curve_months, plateau_months=plateau_months)
    sold = _history(actuals, cycle) if actuals is not None and len(actuals) else None
    sold = ({} if sold is None else
            {sku: dict(zip(part["month"], part["qty"], strict=True))
             for sku, part in sold.groupby("sku")})
    now = int(_month_no([cycle])[0])
    curves = launch_curves(analogs, products, actuals, cycle=cycle, curve_months=curve_months,
                           plateau_months=plateau_months)
    if curves.empty or len(periods) == 0:
        return pd.DataFrame({"sku": pd.Series(dtype="string"),
                             "period": pd.Series(dtype="datetime64[ns]"),
                             **{c: pd.Series(dtype=float) for c in columns[2:5]},
                             "model": pd.Series(dtype="string"),
                             "launched": pd.Series(dtype=bool)})
    master = products.assign(sku=products["sku"].astype("string")).set_index("sku")
    volume_given = _optional(master, "launch_volume").astype(float)
    month = _month_no(periods)
    parts = []
    for sku, curve in curves.groupby("sku", sort=True):
        volume = volume_given.get(sku, np.nan)
        if pd.isna(volume):
            volume = curve["analog_level"].iloc[0]
        factor = curve["factor"].to_numpy()
        launched_at = int(_month_no([master.loc[sku, "launch_period"]])[0])
        gone = min(max(now - launched_at, 0), len(factor))  # months sold since launch
        if gone:
            seen = sum(sold.get(sku, {}).get(launched_at + k, 0.0) for k in range(gone))
            weight = float(factor[:gone].sum())
            given = volume_given.get(sku, np.nan)  # an analog's level says nothing of its size
            if pd.isna(given) and gone < LAUNCH_MONTHS_UNSTATED:
                continue  # one month alone, scaled up by its small factor, is too noisy
            prior = 0.0 if pd.isna(given) else LAUNCH_PRIOR_MONTHS
            if prior + weight > 0:
                volume = (prior * (0.0 if pd.isna(given) else given) + seen) / (prior + weight)
        if pd.isna(volume):
            continue
        since = month - launched_at
        value = np.where(since < 0, 0.0, factor[np.clip(since, 0, len(factor) - 1)])
        parts.append(pd.DataFrame({
            "sku": sku, "period": periods, "qty_stat": float(volume) * value,
            "volume": float(volume), "month_since_launch": since,
            "model": "npi_analog" if curve["n_analogs"].iloc[0] > 0 else "npi_ramp",
            "launched": bool(gone)}))
    if not parts:
        return launch_forecast(products.iloc[:0], actuals, periods, cycle=cycle)
    out = pd.concat(parts, ignore_index=True)
    out["sku"] = out["sku"].astype("string")
    out["model"] = out["model"].astype("string")
    out["period"] = out["period"].astype("datetime64[ns]")
    return out[columns]


# --------------------------------------------------------------------------- end of life


def phase_out_factors(products: pd.DataFrame, periods, *,
                      phase_out_months: int = PHASE_OUT_MONTHS) -> pd.DataFrame:
    """The share of normal demand left in each month for products with an ``eol_period``.

    Returns
    -------
    DataFrame
        ``sku, period, months_to_eol`` (0 in the eol month, negative after)
        and ``factor``: ``min(1, (d + 1) / (phase_out_months + 1))`` for ``d =
        months_to_eol >= 0``, 0 after end of life. Discontinued products get
        0 throughout.
    """
    if phase_out_months < 0:
        raise ParameterError(f"phase_out_months must be >= 0, got {phase_out_months}")
    periods = pd.DatetimeIndex(pd.to_datetime(pd.Series(periods)).dt.to_period("M")
                               .dt.to_timestamp())
    eol = _optional(products, "eol_period", pd.NaT)
    status = _optional(products, "lifecycle_status", pd.NA).astype("string").str.lower()
    ending = products[eol.notna() | (status == "discontinued")]
    columns = ["sku", "period", "months_to_eol", "factor"]
    if ending.empty or len(periods) == 0:
        return pd.DataFrame({"sku": pd.Series(dtype="string"),
                             "period": pd.Series(dtype="datetime64[ns]"),
                             "months_to_eol": pd.Series(dtype=float),
                             "factor": pd.Series(dtype=float)})
    month = _month_no(periods)
    eol_month = np.array([np.nan if pd.isna(e) else _month_no([e])[0]
                          for e in eol[ending.index]], dtype=float)
    d = eol_month[:, None] - month[None, :]
    factor = np.where(d >= 0, np.minimum(1.0, (d + 1) / (phase_out_months + 1)), 0.0)
    factor[np.isnan(d)] = 0.0  # discontinued without an eol_period
    factor[(status[ending.index] == "discontinued").fillna(False).to_numpy()] = 0.0
    out = pd.DataFrame({
        "sku": pd.array(np.repeat(ending["sku"].astype("string").to_numpy(), len(periods)),
                        dtype="string"),
        "period": np.tile(periods.to_numpy(), len(ending)),
        "months_to_eol": d.ravel(), "factor": factor.ravel()})
    return out[columns]


def phase_out_multiplier(cells: pd.DataFrame, products: pd.DataFrame | None, *,
                         phase_out_months: int = PHASE_OUT_MONTHS) -> np.ndarray:
    """:func:`phase_out_factors` aligned to the rows of ``cells`` (``sku, period``); 1 elsewhere.

    Used by the demand plan (:mod:`sopkit.lumpy`) to
    fade the statistical part of a product's forecast before its end of life.
    """
    out = np.ones(len(cells))
    if products is None or products.empty or "sku" not in products or cells.empty:
        return out
    periods = pd.DatetimeIndex(np.sort(pd.to_datetime(cells["period"]).unique()))
    factors = phase_out_factors(products, periods, phase_out_months=phase_out_months)
    if factors.empty:
        return out
    key = pd.MultiIndex.from_frame(factors[["sku", "period"]])
    where = key.get_indexer(pd.MultiIndex.from_arrays(
        [cells["sku"].astype("string"), pd.to_datetime(cells["period"])]))
    found = where >= 0
    out[found] = factors["factor"].to_numpy()[where[found]]
    return out


def recent_run_rate(actuals: pd.DataFrame, cycle, *, recent_months: int | None = None,
                    run_rate_months: int = RUN_RATE_MONTHS) -> pd.Series:
    """What each product sells a month now: its recent run rate, by SKU.

    The mean monthly demand of the last ``recent_months`` months before the
    cycle when each of them had demand; else (an intermittent product, whose
    last three months say little) the mean of the last ``run_rate_months``
    (missing months count as 0). SKUs without demand in that window are 0.
    ``recent_months`` defaults to :data:`RECENT_MONTHS`, at most
    ``run_rate_months``.
    """
    cycle = cycle_month(cycle)
    if recent_months is None:
        recent_months = min(RECENT_MONTHS, run_rate_months)
    if not 1 <= recent_months <= run_rate_months:
        raise ParameterError(f"recent_months must be between 1 and run_rate_months "
                             f"({run_rate_months}), got {recent_months}")
    history = _history(actuals, cycle)
    now = _month_no([cycle])[0]
    recent = history[history["month"] >= now - recent_months]
    busy = recent[recent["qty"] > 0].groupby("sku")["month"].nunique()
    short = recent.groupby("sku")["qty"].sum() / recent_months
    longer = (history[history["month"] >= now - run_rate_months].groupby("sku")["qty"].sum()
              / run_rate_months)
    rate = longer.astype(float)
    steady = busy[busy >= recent_months].index
    rate.loc[rate.index.isin(steady)] = short.reindex(steady).to_numpy(float)
    rate.index = rate.index.astype("string")
    return rate.rename("run_rate")


def run_rate_cap(cells: pd.DataFrame, products: pd.DataFrame | None, actuals: pd.DataFrame,
                 *, cycle, level_months: int = RECENT_MONTHS) -> np.ndarray:
    """Per row of ``cells`` (``sku, period, qty_stat``): the factor (at most 1) that brings
    the statistical level of a product being phased out down to its recent run rate.

    A product with an ``eol_period`` on or after the cycle and a history,
    whose statistical forecast over its first ``level_months`` months
    averages above :func:`recent_run_rate`, gets ``rate / level`` on every
    row; everything else 1. Applied before the fade
    (:func:`phase_out_multiplier`).
    """
    out = np.ones(len(cells))
    if products is None or products.empty or cells.empty or "eol_period" not in products:
        return out
    cycle = cycle_month(cycle)
    eol = pd.to_datetime(products["eol_period"])
    status = _optional(products, "lifecycle_status", pd.NA).astype("string").str.lower()
    ending = set(products.loc[eol.notna() & (eol >= cycle) & (status != "discontinued")
                              .fillna(True), "sku"].astype(str))
    if not ending:
        return out
    sku = cells["sku"].astype(str)
    rows = sku.isin(ending).to_numpy()
    if not rows.any():
        return out
    period = pd.to_datetime(cells["period"])
    first = period[rows].min()
    early = rows & (period < add_months(first, level_months)).to_numpy()
    level = pd.Series(cells["qty_stat"].to_numpy(float)[early], index=sku[early]).groupby(
        level=0).mean()
    known = set(_history(actuals, cycle)["sku"].astype(str))  # no history: no rate to cap at
    level = level[level.index.isin(known)]
    rate = recent_run_rate(actuals, cycle).reindex(level.index.astype("string")).fillna(0.0)
    factor = np.where(level.to_numpy() > rate.to_numpy(),
                      rate.to_numpy() / np.where(level.to_numpy() > 0, level.to_numpy(), 1.0),
                      1.0)
    factor = pd.Series(factor, index=level.index)
    out[rows] = sku[rows].map(factor).fillna(1.0).to_numpy(float)
    return out


def phase_out_demand(
    actuals: pd.DataFrame, products: pd.DataFrame, *, cycle,
    run_rate_months: int = RUN_RATE_MONTHS, phase_out_months: int = PHASE_OUT_MONTHS,
) -> pd.DataFrame:
    """Expected demand of each product being phased out, from the cycle to its end of life.

    The demand rate is the recent run rate (:func:`recent_run_rate`: the
    mean of the last 3 months when each had demand, else of the last
    ``run_rate_months``; missing months count as 0), times
    :func:`phase_out_factors`. Products whose ``eol_period`` is before the
    cycle are left out.

    Returns
    -------
    DataFrame
        ``sku, period, run_rate, factor, qty`` for the months from the cycle
        to each product's ``eol_period``.
    """
    cycle = cycle_month(cycle)
    if run_rate_months < 1:
        raise ParameterError(f"run_rate_months must be at least 1, got {run_rate_months}")
    eol = pd.to_datetime(_optional(products, "eol_period", pd.NaT))
    ending = products[eol.notna() & (eol >= cycle)]
    columns = ["sku", "period", "run_rate", "factor", "qty"]
    if ending.empty:
        return pd.DataFrame({"sku": pd.Series(dtype="string"),
                             "period": pd.Series(dtype="datetime64[ns]"),
                             **{c: pd.Series(dtype=float) for c in columns[2:]}})
    last = pd.to_datetime(ending["eol_period"]).max()
    periods = month_range(cycle, int(_month_no([last])[0] - _month_no([cycle])[0]) + 1)
    factors = phase_out_factors(ending, periods, phase_out_months=phase_out_months)
    factors = factors[factors["months_to_eol"] >= 0]
    recent = recent_run_rate(actuals, cycle, run_rate_months=run_rate_months)
    out = factors.assign(run_rate=factors["sku"].map(recent).astype(float).fillna(0.0))
    out["qty"] = out["run_rate"] * out["factor"]
    return out[columns].reset_index(drop=True)


def run_out(
    products: pd.DataFrame, inventory: pd.DataFrame, demand: pd.DataFrame, *, cycle,
    qty: str = "qty",
) -> pd.DataFrame:
    """Run-out of the stock of each product being phased out.

    Parameters
    ----------
    products : DataFrame
        ``sku, family, eol_period, unit_cost``.
    inventory : DataFrame
        Lots: ``sku, qty``.
    demand : DataFrame
        ``sku, period`` and the demand column ``qty`` from the cycle on (e.g.
        :func:`phase_out_demand`, or the consensus plan with
        ``qty="qty_consensus"``); months after ``eol_period`` are ignored.
    cycle : str or Timestamp
        The cycle: the stock is the stock at its start.

    Returns
    -------
    DataFrame
        One row per product with an ``eol_period`` on or after the cycle:
        ``sku, family, eol_period, qty_on_hand, qty_demand_to_eol`` (demand
        from the cycle to the eol month), ``months_of_stock`` (months of that
        demand the stock covers, fractional; the months to end of life when it
        covers them all), ``runs_out`` (the month the stock is gone; blank if
        it lasts), ``qty_left_at_eol`` and ``value_left_at_eol`` (at unit
        cost: to sell off or write off), ``qty_to_make`` (demand the stock
        does not cover).
    """
    cycle = cycle_month(cycle)
    if qty not in demand.columns:
        raise ParameterError(f"run_out: the demand has no column {qty!r}")
    eol = pd.to_datetime(_optional(products, "eol_period", pd.NaT))
    ending = products[eol.notna() & (eol >= cycle)].copy()
    stock = inventory.assign(sku=inventory["sku"].astype("string")).groupby("sku")["qty"].sum()
    wanted = demand.assign(sku=demand["sku"].astype("string"),
                           period=pd.to_datetime(demand["period"]))
    rows = []
    for _, product in ending.sort_values("sku").iterrows():
        sku = str(product["sku"])
        end = pd.Timestamp(product["eol_period"])
        mine = wanted[(wanted["sku"] == sku) & (wanted["period"] >= cycle)
                      & (wanted["period"] <= end)]
        monthly = mine.groupby("period")[qty].sum()
        months = month_range(cycle, int(_month_no([end])[0] - _month_no([cycle])[0]) + 1)
        monthly = monthly.reindex(months).fillna(0.0).clip(lower=0)
        on_hand = float(stock.get(sku, 0.0))
        total = float(monthly.sum())
        remaining, covered, runs_out = on_hand, 0.0, pd.NaT
        for period, need in monthly.items():
            if remaining >= need:
                remaining -= need
                covered += 1.0
                continue
            covered += remaining / need
            remaining, runs_out = 0.0, period
            break
        rows.append({
            "sku": sku, "family": product.get("family"), "eol_period": end,
            "qty_on_hand": on_hand, "qty_demand_to_eol": total, "months_of_stock": covered,
            "runs_out": runs_out, "qty_left_at_eol": max(0.0, on_hand - total),
            "value_left_at_eol": max(0.0, on_hand - total) * float(product.get("unit_cost", 0.0)),
            "qty_to_make": max(0.0, total - on_hand)})
    columns = ["sku", "family", "eol_period", "qty_on_hand", "qty_demand_to_eol",
               "months_of_stock", "runs_out", "qty_left_at_eol", "value_left_at_eol",
               "qty_to_make"]
    out = pd.DataFrame(rows, columns=columns)
    out["sku"] = out["sku"].astype("string")
    out["family"] = out["family"].astype("string")
    for column in ("eol_period", "runs_out"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[ns]")
    for column in columns[3:]:
        if column != "runs_out":
            out[column] = out[column].astype(float)
    return out


def run_out_against_plan(
    products: pd.DataFrame, inventory: pd.DataFrame, actuals: pd.DataFrame,
    demand_plan: pd.DataFrame, *, cycle, run_rate_months: int = RUN_RATE_MONTHS,
    phase_out_months: int = PHASE_OUT_MONTHS,
) -> pd.DataFrame:
    """The product review's run-out of each phase-out product beside the demand plan's.

    The product review sizes run-outs and last-time buys before the cycle's
    plan exists, on :func:`phase_out_demand` (the recent run rate, faded); the
    demand plan fades its statistical forecast instead. Where the two
    volumes differ, components were sized for a volume other than the one
    supply will plan, so the demand review shows both.

    Returns
    -------
    DataFrame
        One row per product with an ``eol_period`` on or after the cycle:
        ``sku, family, eol_period, qty_on_hand``, ``run_rate`` (what it sells
        a month now: :func:`recent_run_rate`), ``qty_last_month`` (its demand
        in the month before the cycle), then for the product review
        (``_review``) and the plan (``_plan``, its ``qty_consensus``):
        ``qty_demand_to_eol, runs_out, qty_to_make``; and ``qty_difference``
        (plan − review) and ``difference_pct`` (of the review's demand; NaN
        when that is 0).
    """
    review = run_out(products, inventory, phase_out_demand(
        actuals, products, cycle=cycle, run_rate_months=run_rate_months,
        phase_out_months=phase_out_months), cycle=cycle)
    plan = run_out(products, inventory, demand_plan, cycle=cycle, qty="qty_consensus")
    keep = ["sku", "qty_demand_to_eol", "runs_out", "qty_to_make"]
    out = review[["sku", "family", "eol_period", "qty_on_hand"]].merge(
        review[keep], on="sku").merge(plan[keep], on="sku", suffixes=("_review", "_plan"))
    rate = recent_run_rate(actuals, cycle, run_rate_months=run_rate_months)
    history = _history(actuals, cycle_month(cycle))
    last = history[history["month"] == _month_no([cycle_month(cycle)])[0] - 1].groupby(
        "sku")["qty"].sum()
    out.insert(4, "run_rate", out["sku"].map(rate).astype(float).fillna(0.0))
    out.insert(5, "qty_last_month", out["sku"].map(last).astype(float).fillna(0.0))
    out["qty_difference"] = out["qty_demand_to_eol_plan"] - out["qty_demand_to_eol_review"]
    base = out["qty_demand_to_eol_review"].to_numpy(float)
    out["difference_pct"] = np.where(base > 0, out["qty_difference"] / np.where(base > 0, base, 1),
                                     np.nan)
    return out


def last_time_buy(
    runout: pd.DataFrame, products: pd.DataFrame, bom: pd.DataFrame, components: pd.DataFrame,
) -> pd.DataFrame:
    """Components still needed to make the phase-out demand, and the last-time buy.

    Parameters
    ----------
    runout : DataFrame
        :func:`run_out` output (``sku, qty_to_make, eol_period``).
    products, bom, components : DataFrame
        Contract tables (``components`` with ``on_hand``; blank counts as 0).

    Returns
    -------
    DataFrame
        One row per component of a phased-out product still to be made:
        ``component, supplier, used_by`` (the phased-out SKUs, comma
        separated), ``qty_needed`` (Σ ``qty_to_make × qty_per``),
        ``on_hand``, ``used_by_live`` (True when a product without an end of
        life also uses it: purchasing goes on, no last-time buy),
        ``qty_last_time_buy`` (``max(0, qty_needed − on_hand)`` for the others,
        else 0), ``lead_time_months``. A component used by a live product shares
        its ``on_hand`` with it, which is why it is not netted there.
    """
    columns = ["component", "supplier", "used_by", "qty_needed", "on_hand", "used_by_live",
               "qty_last_time_buy", "lead_time_months"]
    to_make = runout[runout["qty_to_make"] > 0][["sku", "qty_to_make"]]
    if to_make.empty or bom.empty:
        return pd.DataFrame({c: pd.Series(dtype="string" if c in ("component", "supplier",
                                                                  "used_by") else float)
                             for c in columns})
    bom = bom.assign(sku=bom["sku"].astype("string"))
    need = bom.merge(to_make.assign(sku=to_make["sku"].astype("string")), on="sku")
    need["qty_needed"] = need["qty_to_make"] * need["qty_per"]
    eol = pd.to_datetime(_optional(products, "eol_period", pd.NaT))
    status = _optional(products, "lifecycle_status", pd.NA).astype("string").str.lower()
    live = set(products.loc[eol.isna() & (status != "discontinued").fillna(True), "sku"]
               .astype("string"))
    live_components = set(bom.loc[bom["sku"].isin(live), "component"])
    out = need.groupby("component", as_index=False).agg(
        used_by=("sku", lambda s: ", ".join(sorted(set(s)))), qty_needed=("qty_needed", "sum"))
    info = components.set_index("component")
    out["supplier"] = out["component"].map(_optional(info, "supplier", pd.NA)).astype("string")
    out["on_hand"] = out["component"].map(_optional(info, "on_hand", 0.0)).astype(float).fillna(
        0.0)
    out["used_by_live"] = out["component"].isin(live_components)
    out["qty_last_time_buy"] = np.where(out["used_by_live"], 0.0,
                                        (out["qty_needed"] - out["on_hand"]).clip(lower=0))
    out["lead_time_months"] = out["component"].map(
        _optional(info, "lead_time_months", np.nan)).astype(float)
    out["component"] = out["component"].astype("string")
    out["used_by"] = out["used_by"].astype("string")
    return out[columns].sort_values(["qty_last_time_buy", "component"], ascending=[False, True],
                                    ignore_index=True)


# --------------------------------------------------------------------------- impact


def lifecycle_impact(
    products: pd.DataFrame, actuals: pd.DataFrame, *, cycle, horizon: int = 18,
    run_rate_months: int = RUN_RATE_MONTHS, phase_out_months: int = PHASE_OUT_MONTHS,
) -> pd.DataFrame:
    """Volume and revenue that launches add and phase-outs take away, month by month.

    Returns
    -------
    DataFrame
        One row per month of the horizon: ``period, qty_launch, revenue_launch``
        (:func:`launch_forecast` at today's prices), ``qty_phase_out_lost,
        revenue_phase_out_lost`` (the phased-out products' run rate minus what
        the phase-out curve leaves, so the volume that goes away), and
        ``qty_net, revenue_net`` (launch minus lost).
    """
    cycle = cycle_month(cycle)
    if horizon < 1:
        raise ParameterError(f"horizon must be at least 1, got {horizon}")
    periods = month_range(cycle, horizon)
    price = products.assign(sku=products["sku"].astype("string")).set_index("sku")["price"]
    launch = launch_forecast(products, actuals, periods, cycle=cycle)
    launch = launch.assign(revenue=launch["qty_stat"] * launch["sku"].map(price).astype(float))
    up = launch.groupby("period")[["qty_stat", "revenue"]].sum()
    eol = pd.to_datetime(_optional(products, "eol_period", pd.NaT))
    ending = products[eol.notna() & (eol >= cycle)]
    rate = recent_run_rate(actuals, cycle, run_rate_months=run_rate_months)  # as the run-out
    factors = phase_out_factors(ending, periods, phase_out_months=phase_out_months)
    factors = factors.assign(run_rate=factors["sku"].map(rate).astype(float).fillna(0.0))
    factors["qty"] = factors["run_rate"] * (1 - factors["factor"])
    factors["revenue"] = factors["qty"] * factors["sku"].map(price).astype(float)
    down = factors.groupby("period")[["qty", "revenue"]].sum()
    out = pd.DataFrame({"period": periods})
    out["qty_launch"] = out["period"].map(up["qty_stat"]).astype(float).fillna(0.0)
    out["revenue_launch"] = out["period"].map(up["revenue"]).astype(float).fillna(0.0)
    out["qty_phase_out_lost"] = out["period"].map(down["qty"]).astype(float).fillna(0.0)
    out["revenue_phase_out_lost"] = out["period"].map(down["revenue"]).astype(float).fillna(0.0)
    out["qty_net"] = out["qty_launch"] - out["qty_phase_out_lost"]
    out["revenue_net"] = out["revenue_launch"] - out["revenue_phase_out_lost"]
    return out
