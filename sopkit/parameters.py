"""What the cycle's parameters may be, checked before any step runs.

``sop cycle --params FILE`` hands each step notebook the values of a YAML file
(``params/cycle.yaml``). A wrong value there used to surface minutes later,
deep inside a step, as whatever the first computation made of it (``'<' not
supported between instances of 'str' and 'int'`` for ``horizon: two
years``). :func:`check_parameters` reads every value against its rule before
the first notebook starts and reports all problems at once, each with the
file, the line and the key.

The rules: :data:`RULES` for the parameters whose range matters; any other
parameter must have the type of its default in the notebook's ``parameters``
cell (a whole number, a number, true/false, a text, a list or a mapping).
``scenarios``, ``adopted``, ``decision_rubric`` and ``kpi_targets`` are checked by the
functions the steps use on them (:func:`sopkit.scenarios.validate_scenarios`,
:func:`sopkit.scenarios.validate_adopted`,
:func:`sopkit.scenarios.validate_rubric`, :func:`sopkit.kpi.validate_targets`),
and the scenarios' families, SKUs, resources and components against the data
(:func:`check_against_data`, with ``focus_sku``); ``compute`` by
:mod:`sopkit.compute`.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

# ----------------------------------------------------------------- value tests


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _shown(value: Any) -> str:
    """The value as the YAML file wrote it, near enough: texts quoted, true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def _percent_hint(value: Any) -> str:
    """'24%' → a hint to write 0.24: the commonest slip in a rate."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            number = float(value.strip()[:-1].replace(",", "."))
        except ValueError:
            return ""
        return f" (write {number / 100:g} for {value.strip()})"
    return ""


def whole(minimum: int | None = None, unit: str = "") -> Callable[[Any], str]:
    """A whole number (of at least ``minimum``)."""
    what = (f"a whole number{f' of {unit}' if unit else ''}"
            + (f" of at least {minimum}" if minimum is not None else ""))

    def rule(value: Any) -> str:
        if not _is_whole(value) or (minimum is not None and value < minimum):
            return f"expected {what}, got {_shown(value)}"
        return ""
    return rule


def number(minimum: float = -math.inf, *, above: float | None = None,
           below: float | None = None, what: str = "a number") -> Callable[[Any], str]:
    """A finite number ≥ ``minimum`` (or > ``above``, < ``below``)."""
    bounds = []
    if above is not None:
        bounds.append(f"above {above:g}")
    elif minimum > -math.inf:
        bounds.append(f"of at least {minimum:g}")
    if below is not None:
        bounds.append(f"below {below:g}")
    text = what + (f" {' and '.join(bounds)}" if bounds else "")

    def rule(value: Any) -> str:
        if (not _is_number(value) or value < minimum
                or (above is not None and value <= above)
                or (below is not None and value >= below)):
            return f"expected {text}, got {_shown(value)}{_percent_hint(value)}"
        return ""
    return rule


def increasing(n: int | None, low: float, high: float, *, high_inclusive: bool = False,
               what: str) -> Callable[[Any], str]:
    """A list of (``n``) numbers, strictly increasing, each in (low, high) or (low, high]."""
    closing = "]" if high_inclusive else ")"
    count = f"{n} " if n else ""
    text = (f"a list of {count}increasing {what} in ({low:g}, {high:g}{closing}"
            .replace(f", {math.inf:g})", ", ∞)"))

    def rule(value: Any) -> str:
        ok = (isinstance(value, list) and len(value) > 0 and (n is None or len(value) == n)
              and all(_is_number(v) and v > low and (v <= high if high_inclusive else v < high)
                      for v in value)
              and all(a < b for a, b in zip(value, value[1:], strict=False)))
        return "" if ok else f"expected {text}, got {_shown(value)}"
    return rule


def _boolean(value: Any) -> str:
    return "" if isinstance(value, bool) else f"expected true or false, got {_shown(value)}"


def _allocation(value: Any) -> str:
    from sopkit.supply import ALLOCATIONS  # the planner's own list, imported when checked

    return ("" if value in ALLOCATIONS else
            f"expected one of {', '.join(map(repr, ALLOCATIONS))}, got {_shown(value)}")


def _text(value: Any) -> str:
    return "" if isinstance(value, str) else f"expected a text, got {_shown(value)}"


def _texts(value: Any) -> str:
    ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value) and value
    return "" if ok else f"expected a list of names, got {_shown(value)}"


def _mapping(value: Any) -> str:
    return ("" if isinstance(value, dict)
            else f"expected a mapping (key: value), got {_shown(value)}")


def _listing(value: Any) -> str:
    return "" if isinstance(value, list) else f"expected a list, got {_shown(value)}"


def _raised(check: Callable[[Any], Any], value: Any) -> str:
    """The message of the ParameterError ``check(value)`` raises, else ""."""
    from sopkit.errors import ParameterError

    try:
        check(value)
    except ParameterError as exc:
        return str(exc)
    return ""


def _scenarios(value: Any) -> str:
    from sopkit.scenarios import validate_scenarios

    return _listing(value) or _raised(validate_scenarios, value)


def _names(value: Any) -> str:
    ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    return "" if ok else f"expected a list of scenario names, got {_shown(value)}"


def _rubric(value: Any) -> str:
    from sopkit.scenarios import validate_rubric

    return _texts(value) or _raised(validate_rubric, value)


def _kpi_targets(value: Any) -> str:
    from sopkit.executive import KPI_LABELS
    from sopkit.kpi import validate_targets

    return _mapping(value) or _raised(lambda v: validate_targets(v, known=KPI_LABELS), value)


def _text_or_mapping(value: Any) -> str:
    return ("" if isinstance(value, str | dict)
            else f"expected a text or a mapping, got {_shown(value)}")


# The parameters of the step notebooks whose range matters.
RULES: dict[str, Callable[[Any], str]] = {
    "sample_skus": whole(1, "SKUs"),
    "horizon": whole(1, "months"),
    "season_length": whole(1, "periods"),
    "backtest_windows": whole(1, "rolling origins"),
    "backfill_months": whole(0, "months"),
    "keep_margin": number(0, below=1, what="a share"),
    "supply_horizon": whole(1, "months"),
    "outlook_horizon": whole(1, "months"),
    "outlook_build_ahead_months": whole(0, "months"),
    "adherence_months": whole(1, "months"),
    "accuracy_months": whole(1, "months"),
    "locked_months": whole(0, "months"),
    "slow_mover_months": whole(1, "months"),
    "service_level": number(above=0, below=1, what="a share"),
    "holding_cost_rate": number(0, what="a yearly rate"),
    "quantiles": increasing(None, 0, 1, what="shares"),
    "abc_shares": increasing(2, 0, 1, high_inclusive=True, what="cumulative shares"),
    "xyz_cv": increasing(2, 0, math.inf, what="coefficients of variation"),
    "allow_overtime": _boolean,
    "allow_outsourcing": _boolean,
    "allow_temp_staff": _boolean,
    "allow_backup_supply": _boolean,
    "allocate_by": _allocation,
    "interactive": _boolean,
    "focus_sku": _text,
    "store_url": _text,
    "decision_rubric": _rubric,
    "kpi_targets": _kpi_targets,
    "scenarios": _scenarios,
    "adopted": _names,
    "compute": _text_or_mapping,
}


def _rule_from_default(default: Any) -> Callable[[Any], str] | None:
    """The type rule of a parameter without one in :data:`RULES`: its default's type."""
    if isinstance(default, bool):
        return _boolean
    if isinstance(default, int):
        return whole()
    if isinstance(default, float):
        return number()
    if isinstance(default, str):
        return _text
    if isinstance(default, list):
        return _listing
    if isinstance(default, dict):
        return _mapping
    return None


def _literal(source: Any) -> Any:
    if not isinstance(source, str):
        return source
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return None


def key_lines(path: str | Path) -> dict[str, int]:
    """The line (1-based) of each top-level key of a YAML mapping file; {} if unreadable."""
    import yaml

    try:
        node = yaml.compose(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(key.value): key.start_mark.line + 1 for key, _ in node.value}


def item_line(path: str | Path, key: str, index: int, field: str | None = None) -> int | None:
    """The line (1-based) of item ``index`` of the list under top-level ``key`` — of its
    ``field`` when that item is a mapping holding it; None if not found."""
    import yaml

    try:
        node = yaml.compose(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(node, yaml.MappingNode):
        return None
    items = next((v for k, v in node.value if str(k.value) == key), None)
    if not isinstance(items, yaml.SequenceNode) or not 0 <= index < len(items.value):
        return None
    item = items.value[index]
    if field and isinstance(item, yaml.MappingNode):
        for k, _ in item.value:
            if str(k.value) == field:
                return k.start_mark.line + 1
    return item.start_mark.line + 1


# "scenario 'Name': capacity[0].resource: unknown ..." -> capacity; "scenario.cost: ..." -> cost
_SCENARIO_FIELD = re.compile(r"^scenario [^:]*: (?:scenario\.)?([A-Za-z_]+)")


def _scenario_where(source: str | Path | None, lines: Mapping[str, int], index: int,
                    problem: str) -> str:
    """``file, line N, 'scenarios'``, N the line of the scenario's field the problem names
    (else of the scenario, else of ``scenarios:``)."""
    match = _SCENARIO_FIELD.match(problem)
    line = item_line(source, "scenarios", index, match.group(1) if match else None) \
        if source else None
    return _where(source, {"scenarios": line} if line else lines, "scenarios")


def _first_bad_scenario(value: Any) -> int | None:
    """Index of the first scenario that fails :func:`sopkit.scenarios.validate_scenarios`
    on its own (None if each passes alone: the problem is between them)."""
    from sopkit.scenarios import validate_scenarios

    if not isinstance(value, list):
        return None
    for index, spec in enumerate(value):
        if _raised(validate_scenarios, [spec]):
            return index
    return None


def check_parameters(params: Mapping[str, Any], defaults: Mapping[str, Any], *,
                     source: str | Path | None = None) -> list[str]:
    """Every problem of ``params``, one line each, naming file, line and key.

    Parameters
    ----------
    params : mapping
        Parameter name → value, as read from the YAML file.
    defaults : mapping
        Parameter name → the default declared in a step notebook (the source
        text papermill reports, or the value), for parameters without a rule.
    source : path, optional
        The parameters file, named in each message with the key's line.

    Returns
    -------
    list of str
        Empty when every value is acceptable.

    Examples
    --------
    >>> check_parameters({"horizon": "two years", "service_level": 0.95}, {})
    ["'horizon': expected a whole number of months of at least 1, got 'two years'"]
    """
    lines = key_lines(source) if source else {}
    problems = []
    for key, value in params.items():
        rule = RULES.get(key) or _rule_from_default(_literal(defaults.get(key)))
        problem = rule(value) if rule else ""
        if problem:
            for prefix in (f"{key}: ", f"{key}."):  # the step's own message names the key too
                if problem.startswith(prefix):
                    problem = problem[len(prefix):]
            index = _first_bad_scenario(value) if key == "scenarios" else None
            where = (_where(source, lines, key) if index is None
                     else _scenario_where(source, lines, index, problem))
            problems.append(f"{where}: {problem}")
    if "adopted" in params and not any(f"'{key}'" in problem for problem in problems
                                       for key in ("adopted", "scenarios")):
        from sopkit.scenarios import validate_adopted

        # the adopted options are names of the file's scenarios (each step that plans them
        # reads both from the same file)
        specs = params.get("scenarios") or []
        adopted = params["adopted"]
        problem = _raised(lambda value: validate_adopted(specs, value), adopted)
        if problem:
            if not specs and adopted:
                problem = ("names options, but the file defines no scenarios: the adopted "
                           "options are names of its 'scenarios'")
            # the line of the first item that fails (two options of one decision: the second)
            bad = next((i for i in range(len(adopted))
                        if _raised(lambda value: validate_adopted(specs, value),
                                   adopted[:i + 1])), None) if isinstance(adopted, list) else None
            line = item_line(source, "adopted", bad) if source and bad is not None else None
            where = _where(source, {"adopted": line} if line else lines, "adopted")
            problems.append(f"{where}: {problem.removeprefix('adopted: ')}")
    return problems


def _where(source: str | Path | None, lines: Mapping[str, int], key: str) -> str:
    """``file, line N, 'key'`` (as much of it as is known)."""
    parts = [str(source)] if source else []
    if key in lines:
        parts.append(f"line {lines[key]}")
    return ", ".join([*parts, f"'{key}'"])


def check_against_data(params: Mapping[str, Any], data, *, cycle,
                       source: str | Path | None = None) -> list[str]:
    """Parameters naming a code the data does not know.

    * ``scenarios``: each is applied to an empty demand plan with the cycle's
      data (:func:`sopkit.scenarios.apply_scenario`), which checks every
      family, SKU, resource and component it names; the reconciliation step
      would otherwise stop on the first one after three steps have run.
    * ``focus_sku``: a SKU of the product master (an unknown one drew an
      empty chart and the run ended well).
    """
    import pandas as pd

    from sopkit.errors import ParameterError
    from sopkit.quality import normalise_code
    from sopkit.scenarios import apply_scenario

    lines = key_lines(source) if source else {}
    problems = []
    specs = params.get("scenarios")
    if isinstance(specs, list):
        empty = pd.DataFrame({"sku": pd.Series(dtype="string"),
                              "period": pd.Series(dtype="datetime64[ns]"),
                              "qty_consensus": pd.Series(dtype=float),
                              "qty_promo": pd.Series(dtype=float)})
        for index, spec in enumerate(specs):
            try:
                apply_scenario(empty, data, spec, cycle=cycle)
            except ParameterError as exc:
                problems.append(f"{_scenario_where(source, lines, index, str(exc))}: {exc}")
    focus = params.get("focus_sku")
    skus = data.products["sku"].astype(str).tolist()
    if isinstance(focus, str) and focus and focus not in skus:
        alike = [sku for sku in skus if normalise_code(sku) == normalise_code(focus)]
        hint = f" (did you mean {alike[0]!r}?)" if alike else ""
        problems.append(f"{_where(source, lines, 'focus_sku')}: {focus!r} is not a SKU of "
                        f"products.csv{hint}")
    return problems
