"""What if…? Scenarios on the demand plan and the data, planned and compared.

A scenario is a plain dict, as written in the cycle parameters::

    {"name": "Downturn 10 %", "demand": [{"scope": "all", "factor": 0.9}]}
    {"name": "Campaign x2", "demand": [{"scope": "promotions", "factor": 2.0}]}
    {"name": "Pumps push", "demand": [{"scope": "family", "family": "Pumps",
                                       "factor": 1.2, "from": "2026-12", "to": "2027-02"}]}
    {"name": "Supplier outage", "capacity": [{"component": "CTRL-BOARD", "factor": 0.0,
                                              "from": "+2", "to": "+3"}]}
    {"name": "Line 2 added shift", "capacity": [{"resource": "ASM-2", "factor": 1.25}]}
    {"name": "Cost spike", "costs": [{"scope": "all", "unit_cost_factor": 1.1}]}
    {"name": "No outsourcing", "supply": {"allow_outsourcing": False}}

Keys of a scenario
------------------
``name`` (required, unique), ``description`` (free text), ``kind`` —
``response`` (default: an option the business can decide, such as an added
shift) or ``shock`` (something that may happen to it, such as a downturn or a
supplier outage; shown for preparedness, never recommended), ``decision``
(a response's decision: responses naming the same decision are its options,
priced against the plan as it stands in the executive review — see
:func:`sopkit.executive.decision_options`), ``cost`` (the option's one-off
cost in currency, >= 0, default 0: qualifying a second source, hiring and
training a shift; taken off its margins when options are compared),
``cost_per_month`` (what the option costs every month it runs, >= 0, default
0: a shift premium, a second source's price premium; :func:`run_scenarios`
adds it to ``cost`` for every month planned in which the option runs
(:func:`months_running`: all of them unless its changes have ``from``/``to``),
so an option priced over the 24-month outlook pays it up to 24 times) — and any of:

``demand``: list of changes, each ``scope`` — ``all``, ``family`` (with
    ``family``: a name or a list), ``sku`` (with ``sku``: a code or a list) or
    ``promotions`` (only the promotion part ``qty_promo`` is scaled;
    ``family``/``sku`` may narrow it) — and ``factor`` (>= 0), optionally
    ``from``/``to``. Every ``qty_*`` column of the demand plan is multiplied,
    so the quantiles stay consistent with the consensus; for ``promotions`` the
    change in promoted units is added to the consensus and to each quantile.
``capacity``: list of changes, each ``resource`` or ``component`` (a code)
    and ``factor`` (>= 0), optionally ``from``/``to``. A resource's regular,
    overtime and temporary-staff hours are all scaled (an outage stops
    overtime and temps too); a component's (main) supplier capacity is
    scaled, its backup supplier is not.
``costs``: list of changes, each ``scope`` (``all``, ``family``, ``sku``, as
    for demand) and at least one of ``unit_cost_factor``, ``price_factor``,
    ``outsource_cost_factor`` (>= 0). Costs apply to the whole horizon.
``supply``: keyword overrides for the planner: ``allow_overtime``,
    ``allow_outsourcing``, ``allow_temp_staff``, ``allow_backup_supply``
    (booleans), ``holding_cost_rate`` (>= 0).

Months (``from``/``to``, both inclusive) are ``"YYYY-MM"`` or ``"+N"``: N
months after the cycle month (``"+0"`` is the cycle month). Without
``from`` a change starts at the cycle; without ``to`` it runs to the end of
the demand plan.

Month-limited capacity
----------------------
The data holds one capacity per resource and component for every month, so a
capacity change limited to some months cannot be written into it. It is
returned apart, in :class:`ScenarioInputs`, as per-month overrides that the
planner receives as ``resource_capacity=`` and ``component_capacity=``
keyword arguments (see :meth:`ScenarioInputs.planner_kwargs`). A change
without months is written into ``data.resources`` / ``data.components``.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sopkit.dataset import Dataset
from sopkit.errors import InfeasiblePlanError, ParameterError
from sopkit.labels import heading
from sopkit.periods import (
    add_months,
    cycle_month,
    fmt_month,
    month_range,
    months_between,
    parse_month,
)

BASELINE = "Baseline"

SCENARIO_KEYS = ("name", "description", "kind", "decision", "cost", "cost_per_month", "demand",
                 "capacity", "costs", "supply")
KINDS = ("response", "shock")
DEMAND_SCOPES = ("all", "family", "sku", "promotions")
COST_SCOPES = ("all", "family", "sku")
COST_FACTORS = {"unit_cost_factor": "unit_cost", "price_factor": "price",
                "outsource_cost_factor": "outsource_cost"}
SUPPLY_OPTIONS = {"allow_overtime": bool, "allow_outsourcing": bool, "allow_temp_staff": bool,
                  "allow_backup_supply": bool, "holding_cost_rate": float}

KPI_COLUMNS = ("revenue", "gross_margin", "contribution", "fill_rate", "tier1_fill_rate",
               "inventory_value", "overtime_hours", "outsourced_units", "co2e_kg",
               "revenue_at_risk")
LOWER_IS_BETTER = frozenset({"inventory_value", "overtime_hours", "outsourced_units", "co2e_kg",
                             "revenue_at_risk"})
"""KPIs ranked low-first by :func:`rank_scenarios` (every other KPI: high first)."""

RELATIVE_MONTH = re.compile(r"^\s*([+-])\s*(\d+)\s*$")


# ------------------------------------------------------------------ validation


class _Checker:
    """Raises ParameterErrors that name the scenario and the key."""

    def __init__(self, label: str):
        self.label = label

    def fail(self, key: str, problem: str):
        raise ParameterError(f"scenario {self.label}: {key}: {problem}")

    def keys(self, entry: dict, key: str, allowed: Sequence[str]) -> None:
        if not isinstance(entry, dict):
            self.fail(key, f"expected a mapping of keys to values, got {entry!r}")
        unknown = [k for k in entry if k not in allowed]
        if unknown:
            self.fail(f"{key}.{unknown[0]}", f"unknown key; allowed: {', '.join(allowed)}")

    def factor(self, entry: dict, key: str, name: str = "factor", required: bool = True):
        if name not in entry:
            if required:
                self.fail(f"{key}.{name}", "missing")
            return None
        value = entry[name]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            self.fail(f"{key}.{name}", f"must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value) or value < 0:
            self.fail(f"{key}.{name}", f"must be a number >= 0, got {value!r}")
        return value

    def codes(self, entry: dict, key: str, name: str) -> list[str]:
        value = entry.get(name)
        values = value if isinstance(value, (list, tuple)) else [value]
        if value is None or not values or not all(isinstance(v, str) and v.strip()
                                                  for v in values):
            self.fail(f"{key}.{name}", f"must be a code or a list of codes, got {value!r}")
        return [v.strip() for v in values]

    def month(self, entry: dict, key: str, name: str):
        if name not in entry or entry[name] is None:
            return None
        value = entry[name]
        try:
            _resolve_month(value, pd.Timestamp("2000-01-01"))
        except (ValueError, TypeError):
            self.fail(f"{key}.{name}", f"not a month (YYYY-MM) nor +N months after the cycle: "
                                       f"{value!r}")
        return value


def _resolve_month(value, cycle: pd.Timestamp) -> pd.Timestamp:
    """A ``from``/``to`` value as a month start: ``YYYY-MM``, ``+N``, an int N, or a date."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a month")
    if isinstance(value, (int, np.integer)):
        return add_months(cycle, int(value))
    if isinstance(value, (pd.Timestamp, dt.date)):
        return pd.Timestamp(value).to_period("M").to_timestamp()
    if not isinstance(value, str):
        raise TypeError(f"not a month: {value!r}")
    relative = RELATIVE_MONTH.match(value)
    if relative:
        sign = 1 if relative.group(1) == "+" else -1
        return add_months(cycle, sign * int(relative.group(2)))
    return parse_month(value)


def months_running(spec: dict, *, cycle, months: int) -> int:
    """The months of a plan of ``months`` from ``cycle`` in which a validated scenario runs.

    An option runs where any of its changes (``demand``, ``capacity``,
    ``costs``) applies: a change without ``from``/``to`` applies every month,
    so does an option that only sets ``supply`` flags. A second source that
    delivers from the fifth month (``from: "+4"``) runs 8 months of 12, and
    its ``cost_per_month`` is paid 8 times, not 12.
    """
    start = cycle_month(cycle)
    window = pd.Series(pd.date_range(start, periods=int(months), freq="MS"))
    changes = [c for key in ("demand", "capacity", "costs") for c in spec.get(key) or []]
    if not changes:
        return int(months)
    running = pd.Series(False, index=window.index)
    for change in changes:
        running |= _months_mask(window, change, start)
    return int(running.sum())


def first_month_running(spec: dict, *, cycle) -> pd.Timestamp:
    """The first month in which a validated scenario runs: the earliest ``from`` of its
    changes (the cycle month for a change without one, or an option of ``supply`` flags)."""
    start = cycle_month(cycle)
    changes = [c for key in ("demand", "capacity", "costs") for c in spec.get(key) or []]
    if not changes:
        return start
    return min(_resolve_month(c["from"], start) if c.get("from") is not None else start
               for c in changes)


def _validate_one(spec, position: int) -> dict:
    label = f"#{position + 1}"
    check = _Checker(label)
    if not isinstance(spec, dict):
        check.fail("name", f"a scenario must be a mapping, got {spec!r}")
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        check.fail("name", "missing or blank")
    check = _Checker(repr(name.strip()))
    check.keys(spec, "scenario", SCENARIO_KEYS)
    out: dict = {"name": name.strip(), "description": str(spec.get("description") or "")}
    kind = str(spec.get("kind") or "response").strip().lower()
    if kind not in KINDS:
        check.fail("kind", f"must be one of {', '.join(KINDS)}, got {spec.get('kind')!r}")
    out["kind"] = kind
    decision = spec.get("decision")
    if decision is not None and (not isinstance(decision, str) or not decision.strip()):
        check.fail("decision", f"must be the decision's name (text), got {decision!r}")
    if decision is not None and kind == "shock":
        check.fail("decision", "a shock is not an option to decide on; use kind: response")
    out["decision"] = decision.strip() if decision else None
    out["cost"] = check.factor(spec, "scenario", "cost", required=False) or 0.0
    out["cost_per_month"] = check.factor(spec, "scenario", "cost_per_month",
                                         required=False) or 0.0

    def entries(section: str) -> list:
        value = spec.get(section) or []
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, (list, tuple)):
            check.fail(section, f"must be a list of changes, got {value!r}")
        return list(value)

    demand = []
    for i, entry in enumerate(entries("demand")):
        key = f"demand[{i}]"
        check.keys(entry, key, ("scope", "family", "sku", "factor", "from", "to"))
        scope = str(entry.get("scope", "")).strip().lower()
        if scope not in DEMAND_SCOPES:
            check.fail(f"{key}.scope", f"must be one of {', '.join(DEMAND_SCOPES)}, "
                                       f"got {entry.get('scope')!r}")
        change = {"scope": scope, "factor": check.factor(entry, key),
                  "from": check.month(entry, key, "from"), "to": check.month(entry, key, "to")}
        for name_ in ("family", "sku"):
            if scope == name_ or (name_ in entry and scope != "all"):
                change[name_] = check.codes(entry, key, name_)
            elif name_ in entry:
                check.fail(f"{key}.{name_}", "not allowed with scope 'all'")
        demand.append(change)

    capacity = []
    for i, entry in enumerate(entries("capacity")):
        key = f"capacity[{i}]"
        check.keys(entry, key, ("resource", "component", "factor", "from", "to"))
        kinds = [k for k in ("resource", "component") if k in entry]
        if len(kinds) != 1:
            check.fail(key, "give exactly one of 'resource' or 'component'")
        codes = check.codes(entry, key, kinds[0])
        capacity.append({kinds[0]: codes, "factor": check.factor(entry, key),
                         "from": check.month(entry, key, "from"),
                         "to": check.month(entry, key, "to")})

    costs = []
    for i, entry in enumerate(entries("costs")):
        key = f"costs[{i}]"
        if isinstance(entry, dict) and ("from" in entry or "to" in entry):
            check.fail(f"{key}.{'from' if 'from' in entry else 'to'}",
                       "cost changes apply to the whole horizon; months are not supported")
        check.keys(entry, key, ("scope", "family", "sku", *COST_FACTORS))
        scope = str(entry.get("scope", "all")).strip().lower()
        if scope not in COST_SCOPES:
            check.fail(f"{key}.scope", f"must be one of {', '.join(COST_SCOPES)}, "
                                       f"got {entry.get('scope')!r}")
        change = {"scope": scope}
        for name_ in ("family", "sku"):
            if scope == name_:
                change[name_] = check.codes(entry, key, name_)
            elif name_ in entry:
                check.fail(f"{key}.{name_}", f"only allowed with scope '{name_}'")
        factors = {k: check.factor(entry, key, k, required=False) for k in COST_FACTORS}
        factors = {k: v for k, v in factors.items() if v is not None}
        if not factors:
            check.fail(key, f"give at least one of {', '.join(COST_FACTORS)}")
        change.update(factors)
        costs.append(change)

    supply = spec.get("supply") or {}
    check.keys(supply, "supply", tuple(SUPPLY_OPTIONS))
    supply_out = {}
    for option, kind in SUPPLY_OPTIONS.items():
        if option not in supply:
            continue
        value = supply[option]
        if kind is bool:
            if not isinstance(value, bool):
                check.fail(f"supply.{option}", f"must be true or false, got {value!r}")
            supply_out[option] = value
        else:
            supply_out[option] = check.factor(supply, "supply", option)

    if not (demand or capacity or costs or supply_out):
        check.fail("scenario", "changes nothing: give demand, capacity, costs or supply")
    out.update(demand=demand, capacity=capacity, costs=costs, supply=supply_out)
    return out


def validate_scenarios(specs) -> list[dict]:
    """Check scenario specs and return them normalised.

    Parameters
    ----------
    specs : list of dict
        Scenarios as in the module docstring (e.g. the ``scenarios`` list of
        the cycle parameters). ``None`` means no scenarios.

    Returns
    -------
    list of dict
        One normalised dict per scenario with the keys ``name, description,
        demand, capacity, costs, supply``: scopes in lower case, factors as
        floats, a single code turned into a list, absent months as ``None``.
        Months stay as written (:func:`apply_scenario` resolves them), and a
        normalised spec is itself a valid spec.

    Raises
    ------
    ParameterError
        Naming the scenario and the key, for an unknown key, a missing or bad
        value, a duplicate name or a scenario that changes nothing.
    """
    if specs is None:
        return []
    if isinstance(specs, dict):
        specs = [specs]
    if not isinstance(specs, (list, tuple)):
        raise ParameterError(f"scenarios must be a list of scenarios, got {type(specs).__name__}")
    out, seen = [], set()
    for position, spec in enumerate(specs):
        normalised = _validate_one(spec, position)
        folded = normalised["name"].casefold()
        if folded in seen:
            raise ParameterError(f"scenario {normalised['name']!r}: name: used twice")
        seen.add(folded)
        out.append(normalised)
    return out


# ------------------------------------------------------------------ adopted options


def validate_adopted(specs, adopted) -> list[dict]:
    """The options the executive review adopted into the plan of record, validated.

    The reconciliation prices options; the executive meeting decides. An
    option it takes is listed by name under ``adopted`` in the cycle
    parameters, and the next run of the cycle plans it: the demand review
    applies its demand changes to the consensus demand plan, the supply
    review plans with its capacity, cost and planner changes, and the
    reconciliation prices the remaining options against that plan. The
    version that run records in the plan store is then the plan with the
    decision in it, so approving it approves the decision too.

    Parameters
    ----------
    specs : list of dict
        The cycle's scenarios (validated here).
    adopted : list of str or None
        Names of ``scenarios`` (response options; ``None`` or ``[]``: none).

    Returns
    -------
    list of dict
        The adopted scenarios, normalised, in the order named.

    Raises
    ------
    ParameterError
        For a name no scenario has (naming the closest), a shock, a name
        given twice, or two options of the same decision (a decision takes
        one of its options).
    """
    if adopted is None:
        return []
    if isinstance(adopted, str):
        adopted = [adopted]
    if not isinstance(adopted, (list, tuple)) or not all(isinstance(a, str) for a in adopted):
        raise ParameterError(f"adopted: expected a list of scenario names, got {adopted!r}")
    validated = validate_scenarios(specs)
    by_name = {spec["name"].casefold(): spec for spec in validated}
    out, decisions = [], {}
    for name in adopted:
        spec = by_name.get(name.strip().casefold())
        if spec is None:
            import difflib

            close = difflib.get_close_matches(name, [s["name"] for s in validated], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParameterError(f"adopted: {name!r} is not the name of a scenario{hint}")
        if spec["kind"] == "shock":
            raise ParameterError(f"adopted: {spec['name']!r} is a shock, something that may "
                                 "happen to the business, not an option it can take")
        if any(s is spec for s in out):
            raise ParameterError(f"adopted: {spec['name']!r} is named twice")
        if spec["decision"] and spec["decision"] in decisions:
            raise ParameterError(
                f"adopted: {decisions[spec['decision']]!r} and {spec['name']!r} are two "
                f"options of the same decision ({spec['decision']}); adopt one of them")
        if spec["decision"]:
            decisions[spec["decision"]] = spec["name"]
        out.append(spec)
    return out


def combine(specs: Sequence[dict], *, name: str | None = None, demand: bool = True,
            strict: bool = True) -> dict | None:
    """One scenario that makes the changes of all ``specs`` (validated), or ``None``.

    Demand, capacity and cost changes are kept in order (two capacity changes
    on the same month multiply, as within one scenario); ``supply`` settings
    are merged: two options setting one differently are refused (with
    ``strict=False`` the later one wins: a scenario planned on top of the
    adopted options). The combined scenario carries no cost: each option
    runs its own months (:func:`adopted_cost` prices them). With ``demand=False`` the
    demand changes are left out: the demand review has applied them to the
    demand plan already.
    """
    if not specs:
        return None
    supply: dict = {}
    for spec in specs:
        for key, value in spec["supply"].items():
            if strict and key in supply and supply[key] != value:
                raise ParameterError(f"adopted: the options set supply.{key} differently "
                                     f"({supply[key]!r} and {value!r})")
            supply[key] = value
    combined = {
        "name": name or " + ".join(spec["name"] for spec in specs),
        "kind": "response",
        "demand": [c for spec in specs for c in spec["demand"]] if demand else [],
        "capacity": [c for spec in specs for c in spec["capacity"]],
        "costs": [c for spec in specs for c in spec["costs"]],
        "supply": supply,
    }
    return combined


def adopted_cost(adopted: Sequence[dict], *, cycle, months: int) -> float:
    """What the adopted options cost over ``months`` planned from ``cycle``: each one's
    one-off ``cost`` plus ``cost_per_month`` for the months it runs
    (:func:`months_running`)."""
    start = cycle_month(cycle)
    return float(sum(spec["cost"] + spec["cost_per_month"]
                     * months_running(spec, cycle=start, months=months) for spec in adopted))


def adopted_text(adopted: Sequence[dict], *, cycle, months: int) -> str:
    """``'A' and 'B' (cost 48,000 over the 12 months planned)`` — for the reports."""
    if not adopted:
        return ""
    names = " and ".join(repr(spec["name"]) for spec in adopted)
    cost = adopted_cost(adopted, cycle=cycle, months=months)
    return f"{names} (cost {cost:,.0f} over the {months} months planned)"


def adopt_demand(demand_plan: pd.DataFrame, data: Dataset, specs, adopted, *,
                 cycle) -> pd.DataFrame:
    """The consensus demand plan with the demand changes of the adopted options.

    The demand review's last step: an option the executive review adopted
    that changes demand (calling off a campaign, say) changes the demand plan
    of record. Returns ``demand_plan`` itself when nothing adopted changes
    demand.
    """
    chosen = validate_adopted(specs, adopted)
    combined = combine(chosen)
    if combined is None or not combined["demand"]:
        return demand_plan
    demand_only = {**combined, "capacity": [], "costs": [], "supply": {}}
    return apply_scenario(demand_plan, data, demand_only, cycle=cycle).demand_plan


def adopted_note(adopted: Sequence[dict], before: pd.DataFrame | None = None,
                 after: pd.DataFrame | None = None, *, cycle=None,
                 months: int | None = None) -> str:
    """What the adopted options are (with ``cycle`` and ``months``, what they cost over
    them) and, given the demand plan ``before`` and ``after`` :func:`adopt_demand`, how much
    demand they changed; ``""`` without adopted options."""
    if not adopted:
        return ""
    names = (adopted_text(adopted, cycle=cycle, months=months)
             if cycle is not None and months else
             " and ".join(repr(spec["name"]) for spec in adopted))
    text = (f"Adopted by the executive review (cycle parameter 'adopted'): {names}. "
            f"This run plans {'it' if len(adopted) == 1 else 'them'} as part of the plan")
    its = "its" if len(adopted) == 1 else "their"
    if before is not None and after is not None and "qty_consensus" in before.columns:
        delta = (after["qty_consensus"].astype(float).to_numpy()
                 - before["qty_consensus"].astype(float).to_numpy())
        changed = after.loc[np.abs(delta) > 5e-4, "period"]  # the plan is kept to 0.001
        if len(changed):
            periods = pd.to_datetime(changed)
            span = (f"{periods.min():%Y-%m}" if periods.min() == periods.max()
                    else f"{periods.min():%Y-%m} to {periods.max():%Y-%m}")
            text += (f"; {its} demand changes move the consensus by {delta.sum():+,.0f} units "
                     f"({span})")
        else:
            text += "; no demand change"
    return text + "."


def adopt_supply(demand_plan: pd.DataFrame, data: Dataset, specs, adopted, *,
                 cycle, until=None) -> ScenarioInputs:
    """What the supply plan needs to plan the adopted options.

    Their capacity, cost and planner changes (:func:`apply_scenario`); their
    demand changes are in ``demand_plan`` already (:func:`adopt_demand`, in
    the demand review). Without adopted options: the inputs unchanged.
    Plan with ``inputs.data`` and ``inputs.planner_kwargs(**options)``;
    ``until``: as for :func:`apply_scenario` (the outlook's last month, so
    that an open-ended option runs through the outlook too).
    """
    chosen = validate_adopted(specs, adopted)
    combined = combine(chosen, demand=False)
    if combined is None or not (combined["capacity"] or combined["costs"] or combined["supply"]):
        return ScenarioInputs(demand_plan, data)
    return apply_scenario(demand_plan, data, combined, cycle=cycle, until=until)


# ------------------------------------------------------------------ applying


@dataclass
class ScenarioInputs:
    """What the planner needs to plan one scenario.

    Attributes
    ----------
    demand_plan : DataFrame
        The scenario's demand plan (same columns as the input).
    data : Dataset
        The scenario's data (products, resources, components changed; the
        other tables shared with the input, unchanged).
    resource_capacity : DataFrame or None
        Per-month overrides ``resource, period, capacity_hours,
        overtime_max_hours`` for month-limited resource changes; months and
        resources not listed keep ``data.resources``.
    component_capacity : DataFrame or None
        Per-month overrides ``component, period, supplier_capacity``.
    plan_kwargs : dict
        The scenario's ``supply`` keyword overrides for the planner.
    """

    demand_plan: pd.DataFrame
    data: Dataset
    resource_capacity: pd.DataFrame | None = None
    component_capacity: pd.DataFrame | None = None
    plan_kwargs: dict = field(default_factory=dict)

    def planner_kwargs(self, **base) -> dict:
        """``base`` keyword arguments updated with this scenario's overrides.

        ``resource_capacity``/``component_capacity`` are included only when
        the scenario has month-limited capacity changes, so a planner that
        does not know them still runs every other scenario.
        """
        kwargs = {**base, **self.plan_kwargs}
        if self.resource_capacity is not None:
            kwargs["resource_capacity"] = self.resource_capacity
        if self.component_capacity is not None:
            kwargs["component_capacity"] = self.component_capacity
        return kwargs


def _months_mask(periods: pd.Series, change: dict, cycle: pd.Timestamp) -> pd.Series:
    mask = pd.Series(True, index=periods.index)
    if change.get("from") is not None:
        mask &= periods >= _resolve_month(change["from"], cycle)
    if change.get("to") is not None:
        mask &= periods <= _resolve_month(change["to"], cycle)
    return mask


def _codes_mask(values: pd.Series, codes: list[str], known, check: _Checker, key: str):
    unknown = [c for c in codes if c not in set(known)]
    if unknown:
        check.fail(key, f"unknown {', '.join(map(repr, unknown))}")
    return values.isin(codes)


def _scope_mask(frame: pd.DataFrame, change: dict, products: pd.DataFrame, check: _Checker,
                key: str) -> pd.Series:
    """Rows of a frame keyed by ``sku`` that a change's family/sku scope selects."""
    mask = pd.Series(True, index=frame.index)
    if "family" in change:
        family = frame["sku"].map(products.set_index("sku")["family"])
        mask &= _codes_mask(family, change["family"], products["family"].dropna(), check,
                            f"{key}.family")
    if "sku" in change:
        mask &= _codes_mask(frame["sku"], change["sku"], products["sku"].dropna(), check,
                            f"{key}.sku")
    return mask.fillna(False).astype(bool)


def _apply_demand(plan: pd.DataFrame, changes: list[dict], products: pd.DataFrame,
                  cycle: pd.Timestamp, check: _Checker) -> pd.DataFrame:
    qty_columns = [c for c in plan.columns if c.startswith("qty_")]
    quantiles = [c for c in qty_columns if re.fullmatch(r"qty_q\d+", c)]
    for i, change in enumerate(changes):
        key = f"demand[{i}]"
        mask = _scope_mask(plan, change, products, check, key)
        if change.get("from") is not None and change.get("to") is not None:
            first, last = (_resolve_month(change[k], cycle) for k in ("from", "to"))
            if last < first:
                check.fail(f"{key}.to", f"ends before it starts ({first:%Y-%m} > {last:%Y-%m})")
        mask &= _months_mask(plan["period"], change, cycle)
        factor = change["factor"]
        if change["scope"] == "promotions":
            if "qty_promo" not in plan.columns:
                check.fail(f"{key}.scope", "the demand plan has no qty_promo column")
            promo = plan["qty_promo"].astype(float).fillna(0.0)
            delta = (promo * (factor - 1.0)).where(mask, 0.0)
            plan["qty_promo"] = promo + delta
            for column in ("qty_consensus", *quantiles):
                if column in plan.columns:
                    plan[column] = (plan[column].astype(float) + delta).clip(lower=0.0)
        else:
            scale = pd.Series(np.where(mask, factor, 1.0), index=plan.index)
            for column in qty_columns:
                plan[column] = plan[column].astype(float) * scale
    return plan


def _apply_costs(products: pd.DataFrame, changes: list[dict], check: _Checker) -> pd.DataFrame:
    for i, change in enumerate(changes):
        key = f"costs[{i}]"
        mask = _scope_mask(products, change, products, check, key)
        for factor_key, column in COST_FACTORS.items():
            if factor_key in change and column in products.columns:
                values = products[column].astype(float)
                products[column] = values.where(~mask, values * change[factor_key])
    return products


def _apply_capacity(data: Dataset, changes: list[dict], cycle: pd.Timestamp,
                    last_period: pd.Timestamp, check: _Checker):
    tables = {
        "resource": ("resources", "resource", ("capacity_hours", "overtime_max_hours",
                                                "temp_max_hours")),
        "component": ("components", "component", ("supplier_capacity",)),
    }
    frames = {kind: getattr(data, table).copy() for kind, (table, _, _) in tables.items()}
    ranged: dict[str, list[pd.DataFrame]] = {"resource": [], "component": []}
    # Changes for all months first, so a month-limited change scales the new level.
    in_order = sorted(enumerate(changes),
                      key=lambda item: item[1]["from"] is not None or item[1]["to"] is not None)
    for i, change in in_order:
        kind = "resource" if "resource" in change else "component"
        codes = change[kind]
        key = f"capacity[{i}].{kind}"
        table, code_column, value_columns = tables[kind]
        frame = frames[kind]
        _codes_mask(frame[code_column], codes, frame[code_column].dropna(), check, key)
        if change["from"] is None and change["to"] is None:
            mask = frame[code_column].isin(codes)
            for column in value_columns:
                if column in frame.columns:
                    values = frame[column].astype(float)
                    frame[column] = values.where(~mask, values * change["factor"])
            continue
        first = _resolve_month(change["from"], cycle) if change["from"] is not None else cycle
        # open-ended: to the plan's last month (when the check runs before any plan exists,
        # or the change starts after it, its first month alone)
        last = (_resolve_month(change["to"], cycle) if change["to"] is not None
                else max(last_period, first))
        if last < first:
            check.fail(f"capacity[{i}].to", f"ends before it starts ({first:%Y-%m} > "
                                            f"{last:%Y-%m})")
        periods = month_range(first, months_between(first, last) + 1)
        ranged[kind].append(pd.DataFrame({
            code_column: np.repeat(codes, len(periods)),
            "period": np.tile(periods, len(codes)),
            "factor": change["factor"],
        }))
    overrides = {}
    for kind, parts in ranged.items():
        if not parts:
            overrides[kind] = None
            continue
        table, code_column, value_columns = tables[kind]
        factors = pd.concat(parts).groupby([code_column, "period"], as_index=False)["factor"]
        factors = factors.prod()  # two changes on the same month multiply
        base_columns = [c for c in value_columns if c in frames[kind].columns]
        out = factors.merge(frames[kind][[code_column, *base_columns]], on=code_column)
        for column in base_columns:
            out[column] = out[column].astype(float) * out["factor"]
        out[code_column] = out[code_column].astype("string")
        out["period"] = out["period"].astype("datetime64[ns]")
        overrides[kind] = out[[code_column, "period", *base_columns]].sort_values(
            [code_column, "period"], ignore_index=True)
    return frames["resource"], frames["component"], overrides["resource"], overrides["component"]


def apply_scenario(demand_plan: pd.DataFrame, data: Dataset, spec: dict, *,
                   cycle, until=None) -> ScenarioInputs:
    """The demand plan and data of one scenario (inputs are not modified).

    Parameters
    ----------
    demand_plan : DataFrame
        The consensus demand plan (``sku, period, qty_*``).
    data : Dataset
        The cycle's data.
    spec : dict
        One scenario (validated here, so a raw spec from the parameters is
        fine).
    cycle : str or Timestamp
        The cycle month, for ``+N`` months and open-ended changes.
    until : str or Timestamp, optional
        The last month an open-ended month-limited change (``from`` without
        ``to``) runs to; default the demand plan's last month. Give the
        rough-cut outlook's last month where its months reach further.

    Returns
    -------
    ScenarioInputs
        The changed demand plan and data, and the per-month capacity
        overrides (``None`` when the scenario has no month-limited capacity
        change).

    Raises
    ------
    ParameterError
        For a bad spec, or a family, SKU, resource or component the data does
        not know (naming the scenario and the key).
    """
    normalised = _validate_one(spec, 0)
    check = _Checker(repr(normalised["name"]))
    start = cycle_month(cycle if isinstance(cycle, str) else pd.Timestamp(cycle))
    products = data.products.copy()
    plan = _apply_demand(demand_plan.copy(), normalised["demand"], products, start, check)
    products = _apply_costs(products, normalised["costs"], check)
    last_period = pd.Timestamp(plan["period"].max()) if len(plan) else start
    if until is not None:
        last_period = max(last_period, cycle_month(until))
    resources, components, resource_capacity, component_capacity = _apply_capacity(
        data, normalised["capacity"], start, last_period, check)
    new_data = replace(data, products=products, resources=resources, components=components)
    return ScenarioInputs(plan, new_data, resource_capacity, component_capacity,
                          dict(normalised["supply"]))


# ------------------------------------------------------------------ running and ranking


def scenario_kpis(supply, data: Dataset, *, holding_cost_rate: float = 0.24,
                  by_month: bool = False) -> dict:
    """The comparison KPIs of one planned scenario.

    Parameters
    ----------
    supply : SupplyPlan
        Anything with ``.plan`` and ``.resource_load`` frames (and optionally
        ``.status``), as returned by :func:`sopkit.supply.plan_supply`.
    data : Dataset
        The scenario's data (its prices, costs and resources).

    Returns
    -------
    dict
        ``status`` (with the plan's ``notes`` after it, if any) and the
        :data:`KPI_COLUMNS`: ``revenue, gross_margin,
        contribution`` (over the horizon), ``fill_rate`` (served / demand),
        ``tier1_fill_rate`` (the same for priority-tier-1 SKUs; NaN without
        them), ``inventory_value`` (average month-end stock value over the
        horizon), ``overtime_hours``, ``outsourced_units``, ``co2e_kg`` (hours
        on each resource × its ``co2e_kg_per_hour`` + outsourced units × the
        product's ``outsource_co2e_kg_per_unit``), ``revenue_at_risk``; with
        ``by_month``, also ``contribution_by_month`` (month → contribution).
    """
    from sopkit.finance import financials

    plan, load = supply.plan, supply.resource_load
    fin = financials(plan, data.products, load, data.resources,
                     holding_cost_rate=holding_cost_rate)
    served, demand = fin["qty_served"], fin["qty_demand"]
    tier = fin["sku"].map(data.products.set_index("sku")["priority_tier"])
    tier1 = (tier == 1).fillna(False).astype(bool)

    def ratio(numerator: float, denominator: float) -> float:
        return float(numerator / denominator) if denominator > 0 else np.nan

    if load is not None and len(load) and "hours_required" in load.columns:
        co2 = data.resources.set_index("resource")
        per_hour = (load["resource"].map(co2["co2e_kg_per_hour"])
                    if "co2e_kg_per_hour" in co2.columns else 0.0)
        co2e = float((load["hours_required"].astype(float)
                      * pd.Series(per_hour, index=load.index).astype(float).fillna(0.0)).sum())
        overtime = float(load["overtime_hours"].astype(float).sum())
    else:
        co2e = overtime = 0.0
    if "qty_outsourced" in plan.columns and "outsource_co2e_kg_per_unit" in data.products:
        per_unit = plan["sku"].map(data.products.set_index("sku")["outsource_co2e_kg_per_unit"])
        co2e += float((plan["qty_outsourced"].astype(float)
                       * pd.to_numeric(per_unit, errors="coerce").fillna(0.0)).sum())
    stock = fin.groupby("period")["inventory_value"].sum()
    monthly = ({"contribution_by_month": {pd.Timestamp(k): float(v) for k, v in
                                          fin.groupby("period")["contribution"].sum().items()}}
               if by_month else {})
    return {**monthly,
        "status": "; ".join([str(getattr(supply, "status", "")),
                             *getattr(supply, "notes", [])]),
        "revenue": float(fin["revenue"].sum()),
        "gross_margin": float(fin["gross_margin"].sum()),
        "contribution": float(fin["contribution"].sum()),
        "fill_rate": ratio(served.sum(), demand.sum()),
        "tier1_fill_rate": ratio(served[tier1].sum(), demand[tier1].sum()),
        "inventory_value": float(stock.mean()) if len(stock) else 0.0,
        "overtime_hours": overtime,
        "outsourced_units": float(plan["qty_outsourced"].sum())
        if "qty_outsourced" in plan.columns else 0.0,
        "co2e_kg": co2e,
        "revenue_at_risk": float(fin["revenue_at_risk"].sum()),
    }


def _accepts(function: Callable, keyword: str) -> bool:
    """Whether ``function`` takes ``keyword`` (by name or through ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return True
    return keyword in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def run_scenarios(
    demand_plan: pd.DataFrame,
    data: Dataset,
    specs,
    *,
    cycle,
    planner: Callable | None = None,
    compute=None,
    adopted: Sequence[dict] | None = None,
    **plan_kwargs,
) -> pd.DataFrame:
    """Plan the baseline and every scenario; one row of KPIs each.

    Parameters
    ----------
    demand_plan, data
        The cycle's consensus demand plan and data.
    specs : list of dict
        The scenarios (validated first, so a typo fails before any planning).
    cycle : str or Timestamp
        The cycle month.
    planner : callable, optional
        ``planner(demand_plan, data, *, cycle, **kwargs) -> SupplyPlan``;
        default :func:`sopkit.supply.plan_supply`. It receives
        ``resource_capacity=``/``component_capacity=`` for scenarios with
        month-limited capacity changes.
    compute : str or mapping, optional
        Where the plans run (:func:`sopkit.compute.compute_settings`): default
        in this process, one after the other; with ``dask``/``dask-local``
        each plan is a Dask task, run in parallel. Same rows either way.
    **plan_kwargs
        Passed to every planner call (e.g. ``horizon``, ``allow_overtime``);
        a scenario's ``supply`` keys override them.
    adopted : list of dict, optional
        The options the executive review adopted (:func:`validate_adopted`):
        the baseline and every scenario are planned with their capacity,
        cost and planner changes (their demand changes are in
        ``demand_plan`` already: :func:`adopt_demand`). The other options of
        an adopted option's decision are not planned: that decision is taken.

    Returns
    -------
    DataFrame
        The baseline (scenario ``"Baseline"``) first, then the scenarios in
        the order given: ``scenario, description, status``, ``decision``,
        ``cost`` (the one-off cost plus ``cost_per_month`` × the months
        planned in which the option runs, :func:`months_running`; ``horizon``
        or the planner's default 12 months planned), ``cost_per_month``,
        ``capacity_codes``, ``runs_from`` (:func:`first_month_running`; NaT
        for the baseline) and the KPIs of :func:`scenario_kpis`; ``attrs
        ["contribution_by_month"]`` holds every plan's contribution by month
        (``{scenario: {"YYYY-MM": contribution}}``). A scenario
        the planner finds infeasible keeps its row, with status ``infeasible:
        …`` and NaN KPIs.
    """
    validated = validate_scenarios(specs)
    for spec in validated:
        if spec["name"].casefold() == BASELINE.casefold():
            raise ParameterError(f"scenario {spec['name']!r}: name: reserved for the plan "
                                 "without changes")
    adopted = list(adopted or [])
    taken = {spec["decision"] for spec in adopted if spec["decision"]}
    names = {spec["name"] for spec in adopted}
    validated = [spec for spec in validated
                 if spec["name"] not in names and spec["decision"] not in taken]
    # the adopted options' capacity, cost and planner changes go into every plan
    base = [{**spec, "demand": []} for spec in adopted
            if spec["capacity"] or spec["costs"] or spec["supply"]]
    if planner is None:
        from sopkit.supply import plan_supply as planner
    rate = plan_kwargs.get("holding_cost_rate", 0.24)

    def run(name: str, description: str, kind: str, plan, scenario_data, kwargs,
            extra: dict) -> dict:
        try:
            supply = planner(plan, scenario_data, cycle=cycle, **kwargs)
        except InfeasiblePlanError as exc:
            row = {"status": f"infeasible: {exc}", **{k: np.nan for k in KPI_COLUMNS}}
        else:
            row = scenario_kpis(supply, scenario_data, by_month=True,
                                holding_cost_rate=kwargs.get("holding_cost_rate", rate))
        return {"scenario": name, "kind": kind, "description": description, **extra, **row}

    inputs = [apply_scenario(demand_plan, data,
                             combine([*base, spec], name=spec["name"], strict=False),
                             cycle=cycle) for spec in validated]
    baseline = (apply_scenario(demand_plan, data, combine(base), cycle=cycle) if base
                else ScenarioInputs(demand_plan, data))
    for spec, scenario in zip([{"name": BASELINE}, *validated], [baseline, *inputs],
                              strict=True):
        for keyword in ("resource_capacity", "component_capacity"):
            if getattr(scenario, keyword) is not None and not _accepts(planner, keyword):
                raise ParameterError(
                    f"scenario {spec['name']!r}: capacity: the planner does not accept "
                    f"{keyword}=, so capacity changes limited to some months cannot be "
                    "planned; drop 'from'/'to' to change every month")
    from sopkit.compute import run_tasks

    months = int(plan_kwargs.get("horizon", 12))
    start = cycle_month(cycle)
    described = ("the plan as it stands" + (
        f", with the adopted {adopted_text(adopted, cycle=start, months=months)}"
        if adopted else ""))
    tasks = [(BASELINE, described, "response", baseline.demand_plan, baseline.data,
              baseline.planner_kwargs(**plan_kwargs),
              {"decision": None, "cost": 0.0, "cost_per_month": 0.0, "capacity_codes": "",
               "runs_from": pd.NaT})]
    for spec, scenario in zip(validated, inputs, strict=True):
        codes = sorted({c for change in spec["capacity"]
                        for c in change.get("resource", []) + change.get("component", [])})
        tasks.append((spec["name"], spec["description"], spec["kind"], scenario.demand_plan,
                      scenario.data, scenario.planner_kwargs(**plan_kwargs),
                      {"decision": spec["decision"],
                       "cost": spec["cost"] + spec["cost_per_month"]
                       * months_running(spec, cycle=start, months=months),
                       "cost_per_month": spec["cost_per_month"],
                       "capacity_codes": ";".join(codes),
                       "runs_from": first_month_running(spec, cycle=start)}))
    rows = run_tasks(run, tasks, compute=compute)
    # each plan's contribution month by month (plain dicts: pandas compares attrs when it
    # combines frames), for what an option gains before it runs
    monthly = {str(row["scenario"]): {fmt_month(period): value for period, value in
                                      (row.get("contribution_by_month") or {}).items()}
               for row in rows}
    out = pd.DataFrame(rows, columns=["scenario", "kind", "description", "decision", "cost",
                                      "cost_per_month", "capacity_codes", "runs_from", "status",
                                      *KPI_COLUMNS])
    for column in ("scenario", "kind", "description", "decision", "capacity_codes", "status"):
        out[column] = out[column].astype("string")
    out["runs_from"] = pd.to_datetime(out["runs_from"])
    out.attrs["contribution_by_month"] = monthly
    return out


def _parse_rubric(rubric, columns) -> list[tuple[str, bool]]:
    if isinstance(rubric, str):
        rubric = [rubric]
    if not rubric:
        raise ParameterError("decision_rubric: give at least one KPI")
    parsed = []
    for item in rubric:
        text = str(item).strip()
        lower = text[1:].strip() if text[:1] in "+-" else text
        lower_is_better = text.startswith("-") or (text[:1] != "+"
                                                   and lower in LOWER_IS_BETTER)
        if lower not in columns:
            raise ParameterError(f"decision_rubric: {lower!r} is not a scenario KPI; known: "
                                 f"{', '.join(c for c in KPI_COLUMNS if c in columns)}")
        parsed.append((lower, lower_is_better))
    return parsed


def validate_rubric(rubric) -> list[tuple[str, bool]]:
    """The decision rubric checked against the scenario KPIs (:data:`KPI_COLUMNS`):
    ``(kpi, lower_is_better)`` per entry; :class:`ParameterError` for an unknown KPI."""
    return _parse_rubric(rubric, KPI_COLUMNS)


def _format(kpi: str, value: float) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    if "rate" in kpi or "share" in kpi or kpi.endswith("_pct"):
        return f"{value:.1%}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.3g}"


def rank_scenarios(results: pd.DataFrame, rubric, *, tolerance: float = 0.005) -> pd.DataFrame:
    """Rank the response scenarios on the decision rubric; list the shocks after them.

    Shocks (``kind == "shock"``) are not options anyone can choose, so they get
    no rank (``<NA>``) and the reason says so; they follow the ranked responses
    in their input order. Without a ``kind`` column every row is a response.
    When the results have a ``cost`` column (an option's cost over the months
    planned), the
    rubric sees ``gross_margin`` and ``contribution`` net of it; the returned
    rows keep the planned values. See :func:`_rank` for the ranking itself.
    """
    if "kind" not in results.columns:
        return _rank_net_of_cost(results, rubric, tolerance=tolerance)
    shock = results["kind"].astype(str).eq("shock").to_numpy()
    ranked = _rank_net_of_cost(results[~shock].reset_index(drop=True), rubric,
                               tolerance=tolerance)
    shocks = results[shock].copy()
    shocks["rank"] = pd.NA
    shocks["reason"] = pd.array(["a shock to prepare for, not an option to choose"] * len(shocks),
                                dtype="string")
    out = pd.concat([ranked, shocks], ignore_index=True)
    out["rank"] = out["rank"].astype("Int64")
    return out


def side_by_side(ranked: pd.DataFrame) -> pd.DataFrame:
    """The ranked scenarios for people: each option's cost stated as what it is, and its
    contribution after that cost (the figure the rubric weighs) beside the one before.

    Parameters
    ----------
    ranked : DataFrame
        :func:`rank_scenarios` output.

    Returns
    -------
    DataFrame
        ``ranked`` without ``description, status, reason``; ``cost`` renamed
        ``cost_total`` (one-off plus ``cost_per_month`` × the months planned)
        and ``contribution_after_cost`` (``contribution − cost_total``) right
        after ``contribution``.
    """
    out = ranked.drop(columns=[c for c in ("description", "status", "reason")
                               if c in ranked.columns])
    if "cost" not in out.columns:
        return out
    cost = pd.to_numeric(out["cost"], errors="coerce").fillna(0.0)
    out = out.rename(columns={"cost": "cost_total"})
    if "contribution" in out.columns:
        at = out.columns.get_loc("contribution") + 1
        out.insert(at, "contribution_after_cost", out["contribution"].astype(float) - cost)
    return out


def against_baseline(ranked: pd.DataFrame, kpi: str = "gross_margin") -> pd.DataFrame:
    """Each scenario's ``kpi`` against the Baseline's, net of the option's cost, in rank order.

    The scenarios' margins differ by a few percent of tens of millions: bars
    of the margins themselves look alike. Their difference from the plan as
    it stands is what a decision weighs, and the rubric weighs it net of the
    option's cost, as this does.

    Parameters
    ----------
    ranked : DataFrame
        :func:`rank_scenarios` output (responses in rank order, then shocks),
        with the ``Baseline`` row.
    kpi : str
        ``gross_margin`` (the rubric's margin) or ``contribution``.

    Returns
    -------
    DataFrame
        ``scenario`` (a shock labelled ``… (shock)``), ``kind``, ``rank``,
        ``cost``, ``{kpi}_net`` (the KPI less the option's cost) and
        ``delta_{kpi}`` (that less the Baseline's), in the order of
        ``ranked``; scenarios without a value (infeasible) are left out.
    """
    if kpi not in ("gross_margin", "contribution"):
        raise ParameterError(f"against_baseline: kpi must be gross_margin or contribution, "
                             f"got {kpi!r}")
    names = ranked["scenario"].astype(str)
    if not names.eq(BASELINE).any():
        raise ParameterError("against_baseline: the results have no Baseline row")
    cost = (pd.to_numeric(ranked["cost"], errors="coerce").fillna(0.0)
            if "cost" in ranked.columns else pd.Series(0.0, index=ranked.index))
    net = ranked[kpi].astype(float) - cost
    kind = (ranked["kind"].astype(str) if "kind" in ranked.columns
            else pd.Series("response", index=ranked.index))
    out = pd.DataFrame({
        "scenario": [f"{n} (shock)" if k == "shock" else n for n, k in zip(names, kind,
                                                                          strict=True)],
        "kind": kind.to_numpy(),
        "rank": ranked["rank"].to_numpy() if "rank" in ranked.columns else pd.NA,
        "cost": cost.to_numpy(),
        f"{kpi}_net": net.to_numpy(),
        f"delta_{kpi}": (net - float(net[names.eq(BASELINE)].iloc[0])).to_numpy(),
    })
    return out[out[f"{kpi}_net"].notna()].reset_index(drop=True)


def _rank_net_of_cost(results: pd.DataFrame, rubric, *, tolerance: float) -> pd.DataFrame:
    cost = (pd.to_numeric(results["cost"], errors="coerce").fillna(0.0).to_numpy(float)
            if "cost" in results.columns else np.zeros(len(results)))
    if not cost.any():
        return _rank(results, rubric, tolerance=tolerance)
    net = results.copy()
    for column in ("gross_margin", "contribution"):
        if column in net.columns:
            net[column] = net[column].astype(float) - cost
    order = _rank(net.assign(_row=np.arange(len(net))), rubric, tolerance=tolerance)
    out = results.iloc[order["_row"].to_numpy()].reset_index(drop=True)
    out["rank"] = order["rank"].to_numpy()
    out["reason"] = (order["reason"].astype(str) + " (margins net of each option's cost)"
                     ).to_numpy()
    return out


def _rank(results: pd.DataFrame, rubric, *, tolerance: float = 0.005) -> pd.DataFrame:
    """Rank scenarios lexicographically on a rubric of KPIs, with a tolerance.

    The scenarios are ordered on the first KPI; those *tied* with the best are
    ordered among themselves on the second KPI, and so on; then the next best
    group on the first KPI, etc. Two values are tied when they differ by no
    more than ``tolerance`` times the larger magnitude (default 0.5 %: a fill
    rate of 97.6 % ties with 98.0 %, not with 97.4 %). A missing value (a
    failed scenario) ranks last. Among scenarios tied on every KPI, one that
    another is at least as good as on every KPI and better on some (say, the
    same fill rates and a margin lower by its option's cost, within the
    tolerance) ranks behind it: a tie is for trade-offs too small to tell
    apart, not for an option that only costs more. Scenarios still tied share
    a rank and keep their input order.

    Parameters
    ----------
    results : DataFrame
        The output of :func:`run_scenarios` (``scenario`` and the KPIs).
    rubric : list of str
        KPI names, most important first, e.g. ``["tier1_fill_rate",
        "gross_margin", "fill_rate"]``. Higher is better except for the
        :data:`LOWER_IS_BETTER` KPIs; a leading ``-`` (lower is better) or
        ``+`` (higher is better) overrides that.
    tolerance : float
        Relative tolerance of a tie (>= 0).

    Returns
    -------
    DataFrame
        ``results`` ordered by ``rank`` (1 = best), with ``rank`` and
        ``reason`` (a sentence: on which KPI the scenario won or lost against
        its neighbour).
    """
    if tolerance is None or not tolerance >= 0:
        raise ParameterError(f"tolerance must be >= 0, got {tolerance!r}")
    if "scenario" not in results.columns:
        raise ParameterError("results lack the column 'scenario'")
    criteria = _parse_rubric(rubric, results.columns)
    values = {kpi: results[kpi].astype(float).to_numpy() for kpi, _ in criteria}

    def tied(a: float, b: float) -> bool:
        if np.isnan(a) or np.isnan(b):
            return bool(np.isnan(a) and np.isnan(b))
        return abs(a - b) <= tolerance * max(abs(a), abs(b))

    def at_least_as_good(a: int, b: int) -> bool:
        """Row ``a`` is no worse than row ``b`` on every KPI of the rubric (exact values)."""
        for kpi, lower in criteria:
            x, y = values[kpi][a], values[kpi][b]
            if np.isnan(x) != np.isnan(y):
                return bool(np.isnan(y))
            if not np.isnan(x) and (x > y if lower else x < y):
                return False
        return True

    def dominates(a: int, b: int) -> bool:
        return at_least_as_good(a, b) and not at_least_as_good(b, a)

    def layers(rows: list[int]) -> list[tuple[int, int | None]]:
        """Rows tied on every KPI: the undominated first, then those they dominate."""
        remaining, out = list(rows), []
        while remaining:
            front = [r for r in remaining if not any(dominates(o, r) for o in remaining)]
            out += [(r, None if k or not out else DOMINATED) for k, r in enumerate(front)]
            remaining = [r for r in remaining if r not in front]
        return out

    DOMINATED = len(criteria)  # the split of a dominated row: below every rubric level

    def order(rows: list[int], level: int) -> list[tuple[int, int | None]]:
        """Rows best first, each with the rubric level that split it from the row before."""
        if len(rows) <= 1:
            return [(r, None) for r in rows]
        if level == len(criteria):
            return layers(rows)
        kpi, lower = criteria[level]
        remaining, out = list(rows), []
        while remaining:
            scores = values[kpi][remaining]
            valid = [r for r, v in zip(remaining, scores, strict=True) if not np.isnan(v)]
            if valid:
                pick = min if lower else max
                best = pick(values[kpi][valid])
                band = [r for r in valid if tied(values[kpi][r], best)]
            else:
                band = remaining
            ranked = order(band, level + 1)
            if out:
                ranked[0] = (ranked[0][0], level)
            out += ranked
            remaining = [r for r in remaining if r not in band]
        return out

    ranked = order(list(range(len(results))), 0)
    names = results["scenario"].astype(str).to_numpy()
    pct = f"{tolerance:.1%}".replace(".0%", "%")

    def compare(level: int, row: int, other: int) -> str:
        kpi = criteria[level][0]
        return (f"{heading(kpi)} {_format(kpi, values[kpi][row])} vs "
                f"{_format(kpi, values[kpi][other])}")

    def ties(level: int) -> str:
        if level == 0:
            return ""
        kpis = ", ".join(heading(k) for k, _ in criteria[:level])
        return f" (tied on {kpis} within {pct})"

    def dominated_by(row: int, placed: list[int]) -> str:
        """Why a row tied on every KPI ranks behind one placed before it that dominates it."""
        better = next(o for o in reversed(placed) if dominates(o, row))  # of its own tie
        level = next(k for k, (kpi, _) in enumerate(criteria)
                     if values[kpi][better] != values[kpi][row])
        return (f"behind '{names[better]}' on {compare(level, row, better)}: within {pct}, "
                f"but no better on any rubric KPI")

    ranks, reasons = [], []
    for position, (row, level) in enumerate(ranked):
        failed = all(np.isnan(values[k][row]) for k, _ in criteria)
        if position == 0:
            ranks.append(1)
            if len(ranked) == 1:
                reasons.append("the only scenario")
                continue
            runner_up, split = ranked[1]
            if split is None:
                reasons.append(f"tied with '{names[runner_up]}' on every rubric KPI")
            elif split == DOMINATED:
                reasons.append(f"best: '{names[runner_up]}' is within {pct} on every rubric KPI "
                               f"but better on none")
            else:
                reasons.append(f"best: ahead of '{names[runner_up]}' on "
                               f"{compare(split, row, runner_up)}{ties(split)}")
            continue
        previous = ranked[position - 1][0]
        if level is None:
            ranks.append(ranks[-1])
            reasons.append(f"tied with '{names[previous]}' on every rubric KPI")
        elif level == DOMINATED and not failed:
            ranks.append(position + 1)
            reasons.append(dominated_by(row, [r for r, _ in ranked[:position]]))
        elif failed:
            ranks.append(position + 1)
            status = results["status"].iloc[row] if "status" in results.columns else ""
            reasons.append(f"no result{f' ({status})' if status else ''}")
        else:
            ranks.append(position + 1)
            reasons.append(f"behind '{names[previous]}' on "
                           f"{compare(level, row, previous)}{ties(level)}")
    out = results.iloc[[row for row, _ in ranked]].copy()
    out["rank"] = ranks
    out["reason"] = pd.array(reasons, dtype="string")
    return out.reset_index(drop=True)
