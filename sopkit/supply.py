"""The supply review: a constrained supply plan from the consensus demand plan.

:func:`plan_supply` answers the supply review's question — *how much of the
demand can we make, with which capacity, and where are the gaps?* — with one
linear programme (LP) over every SKU, month, resource and component of the
horizon, solved by HiGHS (``highspy``, its own Python interface). The matrices
are built sparse, with vectorised index arithmetic, so the same code serves a
12-month supply review and a 24-month rough-cut outlook of a thousand SKUs.

The formulation (read this before reading the plan)
----------------------------------------------------
Indices: SKU *i*, month *t* = 1..T (the cycle month is month 1), resource *r*,
component *c*. Every variable is a quantity >= 0.

Variables
    ``make[i,t]``       units made in-house (regular and overtime hours together)
    ``outsource[i,t]``  units bought from a contract manufacturer,
                        <= ``outsource_max`` when ``outsource_cost`` is given
                        (unlimited if ``outsource_max`` is blank), else 0
    ``short[i,t]``      demand not served, <= demand: **lost sales**
                        (served = demand - short). Unserved demand is not
                        carried to later months: a backlog would hide the gap
                        of the month in which the customer was let down.
    ``stock[i,t]``      finished stock at the end of the month above the
                        safety-stock target
    ``ss_gap[i,t]``     how far the stock falls below the safety-stock target
                        (<= target); the end-of-month stock is
                        ``stock + safety_stock - ss_gap``. Splitting the stock
                        at the target makes the soft safety-stock constraint a
                        bound, not a row of the LP.
    ``scrap[i,t]``      stock written off (only perishable SKUs)
    ``overtime[r,t]``   overtime hours, <= ``overtime_max_hours`` (0 when
                        ``allow_overtime`` is false)
    ``temp[r,t]``       hours worked by temporary staff, <= ``temp_max_hours``
                        (0 when the column is absent or ``allow_temp_staff``
                        is false). In a month whose regular capacity is
                        overridden (``resource_capacity``, e.g. an outage of a
                        scenario), the limit scales with the regular capacity
                        unless the override gives ``temp_max_hours`` itself:
                        temporary staff work the line's shifts, so a stopped
                        line stops them too.
    ``comp_stock[c,t]`` component stock at the end of the month
    ``backup[c,t]``     components bought from the backup supplier,
                        <= ``backup_capacity`` (0 when absent or
                        ``allow_backup_supply`` is false). A month-limited
                        outage of the main supplier (``component_capacity``)
                        leaves the backup supplier alone unless the override
                        gives ``backup_capacity``.

Constraints
    Stock balance   end stock = previous end stock + make + outsource
                    - (demand - short) - scrap, the stock before month 1 being
                    the opening stock (all lots of ``inventory.csv`` still
                    sellable).
    Capacity        ``sum_i hours_per_unit[i,r] * make[i,t] <= capacity_hours[r] + overtime[r,t]
                    + temp[r,t]``. Only what is made in-house loads the plant.
    Components      ``0 <= sum_i qty_per[i,c] * make[i,t] + comp_stock[c,t] - comp_stock[c,t-1]
                    - backup[c,t] <= supplier_capacity[c]``: what the main supplier
                    delivers, never negative (stock on the shelf stays there, at its
                    holding cost, rather than vanish); ``comp_stock[c,0]`` is the
                    component's ``on_hand``. Inside a component's purchase lead
                    time (its first ``lead_time_months`` months, with
                    ``purchase_orders.csv``) the main supplier delivers at most
                    the orders due that month (:func:`purchase_lead_times`); the
                    backup supplier is the expediting lever, not bound by it.
                    Components can therefore be bought
                    ahead of need (at a holding cost), and the opening stock is
                    used whenever it helps. A contract manufacturer brings its
                    own components. Production lead times are not modelled.
    Shelf life      a unit made in month *s* can be sold in months *s* .. *s+L-1*
                    (L = ``shelf_life_months``). Selling oldest first (FIFO),
                    the stock left at the end of month *t* is fresh exactly when
                    ``end stock[i,t] <= sum of make + outsource over months t-L+2..t
                    + opening lots that are still sellable after month t``.
                    An opening lot made in month *p* is sellable until month
                    *p+L-1*; a lot without ``produced_period`` is taken as made
                    the month before the cycle; a lot already expired at the
                    cycle start is written off in month 1. Whatever the bound
                    pushes out of stock leaves through ``scrap``.

Objective (maximised; currency)
    ``price * (demand - short) - unit_cost * make - outsource_cost * outsource
    - overtime_cost_per_hour * overtime - temp_cost_per_hour * temp
    - backup_extra_cost * backup - holding - unit_cost * scrap
    - tier_penalty * short - ss_penalty * ss_gap - ss_penalty * (T - t) * short``
    where holding is ``unit_cost * holding_cost_rate / 12`` per unit and month
    of finished stock (and the same rate on a component's ``unit_cost``).
    ``overtime_cost_per_hour``, ``temp_cost_per_hour`` and
    ``backup_extra_cost`` are *extra* costs: the regular hour and the regular
    purchase price are already in the SKU's ``unit_cost``. The levers that
    close a gap — overtime, temporary staff, backup supply, outsourcing,
    building ahead — are therefore pulled cheapest first, per unit of the
    SKU: e.g. temporary staff at 10 an hour on a 1-hour unit (10 a unit)
    comes before outsourcing at a premium of 20 a unit.
    Stock left at the end of the horizon is credited at ``unit_cost`` — it
    will be sold after the horizon — so the plan does not run stock down in
    its last months just because the horizon ends.

Priority tiers
    The penalty per unit short of tier *k* is built from the lowest tier up:
    ``penalty[lowest] = V + C`` and ``penalty[k] = C + rho * (V + penalty[k+1]) + V``,
    where V is the highest price, C the dearest way to supply and hold one unit
    over the horizon, and rho (capped at 100) the largest ratio between two
    SKUs' use of the same resource or component per unit. A unit of a higher
    tier is then worth more *per hour (or per component) of a shared
    bottleneck* than any unit of a lower tier, whatever their margins: capacity
    goes to tier 1 first, then tier 2, and so on. This is exact for a single
    shared bottleneck (the exchange argument per hour or component); with rho
    above the cap, or chains of several binding resources, it is very likely
    but not proven. ``tier_penalty`` overrides the penalty of the tiers it
    names (and with it the guarantee).

    Within a tier the penalty is the same per unit, so that LP serves as many
    units of a tier as it can: a bottleneck goes to the items that need least
    of it, an item worth 200 on one board before one worth 1,000 on two.
    With ``allocate_by="revenue"`` (the default) the plan keeps as much of each
    tier's *revenue* as it can instead — pre-emptive (lexicographic) goal
    programming on the same LP, re-solved from its basis: after the solve
    above, from the first tier with a shortfall down, each tier's lost
    revenue ``sum(price * short)`` is minimised, and the next solves may not
    raise it (by more than ``VALUE_SLACK`` of the tier's demand value); a
    tier that loses nothing gets its shortfalls fixed at 0, and so do the
    tiers above the first one short. Then, keeping those, the lost revenue
    weighted by the months left after it (a month earlier weighs one month
    more) is minimised: the loss falls as late as the plan allows, and a
    safety-stock target gives way to orders that would otherwise be lost
    sooner (on the sample's 2026-11 plan, CTL-0009 was short from Dec to Aug
    while other items built their safety stock with the boards, then served
    in Sep–Oct; now it is served until Feb and short from Mar, with the same
    revenue lost). This stage is solved only by the simplex method from the
    last basis; where that needs more than ``_Lp.warm_iterations`` simplex
    iterations it is left out, and :attr:`SupplyPlan.notes` says so (a full
    solve for it more than tripled the time of the 1,000-SKU benchmark
    case). A last solve with the objective above then chooses, among the
    plans that lose that little revenue that late, the one with the best
    margin after penalties (its duals are the shadow prices). On the
    sample company's 2026-11 plan, tier 2 loses 404,172 of revenue
    instead of 532,527 (2,161 units short instead of 1,619): short of
    controller boards, it leaves SEN-0004 (147 of revenue a board) short
    rather than CTL-0008, CTL-0010 and CTL-0024 (281–390 a board, two
    boards a unit). It costs one re-solve per tier from the first one
    short, plus up to two, each by the simplex method from the last basis
    (0.02–0.14 s each on the sample's 12-, 18- and 24-month plans) — or by the
    interior point method once a re-solve needs more than
    ``WARM_ITERATIONS_PER_ROW`` simplex iterations per row of the LP, and at
    least ``WARM_ITERATIONS`` (measured in ``docs/benchmarks.md``, "Supply
    plan speed"). The limit counts iterations, not seconds, so the plan does
    not depend on how busy the machine is. ``allocate_by="margin"`` does the
    same with each unit's margin (price less unit cost; at least 1 % of its
    price, so an item sold at a loss still counts), ``allocate_by="units"``
    keeps the single solve.

Safety stock
    With ``safety_stock_column`` (e.g. ``"qty_q95"``) the target of a
    SKU-month is ``max(0, quantile - demand)``: the stock needed to serve
    demand up to that quantile. Missing the target costs
    ``holding + 0.5 * price / T`` per unit and month: more than holding the
    unit (so the target is kept when capacity allows) but, summed over the
    whole horizon, less than one lost sale of any SKU (so real demand always
    comes first).

    A product being phased out (``eol_period`` in the product master, no
    demand in the demand plan's last month) holds at most the demand still to
    come after each month: its target falls to 0 after its last sale instead
    of leaving stock nobody will buy (on the sample company, 167.5 units of
    SEA-0006 were made in its last month of sales to sit on the shelf for
    ever).

    A unit short in month *t* also costs ``ss_penalty * (T - t)``: one month's
    safety-stock penalty more than the same unit short a month later. Lost
    sales are lost whichever month they fall in, so without this term a SKU
    that cannot be made would keep its opening stock at the target and refuse
    its orders until the last months, then sell it (on the sample company, 272
    SKU-months were short while holding stock). With it, stock serves the
    earliest demand it can; the target is rebuilt when capacity allows. Other
    things equal, a shortfall is then planned later rather than sooner, which
    leaves more time to act on it. The term is part of the dearest unit ``C``
    of the tier penalties, so tiers keep their order. It weighs one SKU's
    units against another's only by their own penalties, so a safety-stock
    target of one item can still push another item's loss earlier; with
    ``allocate_by="revenue"`` or ``"margin"`` a stage of its own prevents
    that (*Priority tiers*).

Shadow prices
    ``shadow_price`` in ``resource_load`` (``component_usage``) is the change of
    the objective for one more regular hour (one more component) in that month.
    Where a shortfall exists it includes the tier penalty, so read it as a
    ranking of where added capacity helps most, not as cash.

Bad master data
    Problems that make the plan meaningless stop it with a
    :class:`~sopkit.errors.DataError` listing every one (file, row, column):
    a SKU with demand missing from the product master, a routing to a
    resource or a BOM line to a component that does not exist (a dangling
    BOM; the loader reports these too), and a BOM that is not single level
    (a component code that is also a SKU, or a component with a BOM of its
    own: the BOM here is single level, SKU → purchased component, so a cycle
    cannot be expressed and a multi-level chain is refused rather than
    guessed). Problems that only make some demand impossible do not stop the
    plan: a SKU with demand but no routing (it can only be outsourced, or it
    goes short) and a resource with work routed to it but no capacity in any
    month of the plan (its SKUs go short unless outsourced). They are listed
    in :attr:`SupplyPlan.problems` and named in the gap explanations.
    Nothing in the model is a hard minimum — the safety-stock target is soft,
    shortfalls are always allowed, opening stock that cannot be sold is
    written off — so any valid input has a plan: the best plan with its
    shortfalls. Capacity overrides must be >= 0 (a negative value is a
    :class:`~sopkit.errors.ParameterError` naming the code and month).

Review tables
    :func:`options_summary` totals each lever with its cost;
    :func:`capacity_pressure` explains the months in which demand asks more
    of a resource than its regular hours — which SKUs and promotions drive
    the peak and how the plan covers it (overtime, temporary staff, stock
    built ahead) — so a peak is seen before it becomes a shortfall;
    :func:`inventory_projection` and :func:`expiry_risk` value the projected
    stock against its target and the perishable stock written off. The
    long-range view (18-24 months, per resource family) is
    :mod:`sopkit.roughcut`.

Limits of this version
    Production lead times are not modelled (what is made in a month is sold
    from that month); purchase lead times only with ``purchase_orders.csv``
    (*Components* above). The solve time grows faster than the model (about
    1 s for 300 SKUs x 12 months; 20 s for 1,000 SKUs x 24 months x 30
    resources x 200 components by units, 48 s by revenue, on a 2-core
    machine; ``benchmarks/supply_speed.py``, figures in ``docs/benchmarks.md``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from highspy import HighsLp, HighsModelStatus, MatrixFormat, kHighsInf
from highspy import _Highs as Highs  # bare solver: highspy.Highs prints a banner when made

from sopkit.dataset import Dataset
from sopkit.errors import DataError, InfeasiblePlanError, ParameterError, Problem, problems_frame
from sopkit.labels import listing
from sopkit.periods import cycle_month, fmt_month, month_range, months_between

__all__ = ["SupplyPlan", "capacity_pressure", "expiry_risk", "inventory_projection",
           "options_summary", "plan_supply", "premium_hours_for_stock", "stock_run_down"]

RHO_CAP = 100.0  # largest use ratio the tier penalties are built to dominate
EPS_COST = 1e-6  # tie-breaker cost of overtime hours and component stock
TOL = 1e-6
SOLVER = "ipm"  # first solve: interior point + crossover (fastest on large plans; a vertex)
ALLOCATIONS = ("revenue", "margin", "units")  # how a tier's short capacity is shared
# A re-solve from the basis may take this many simplex iterations per row of the LP, and at
# least WARM_ITERATIONS; then IPM. Counted in iterations, not seconds, so that the path the
# solver takes, and the plan, do not depend on how busy the machine is.
WARM_ITERATIONS_PER_ROW = 0.5
WARM_ITERATIONS = 5_000
MADE_MIN = 0.01  # units: less is the re-solves' rounding (VALUE_SLACK), not an item made
VALUE_SLACK = 1e-9  # revenue a later solve may add to a tier's least loss, per unit of demand value


class _Lp:
    """One LP in HiGHS, minimised: solved once, then re-solved from its basis (warm start)
    after its costs, bounds or rows change: the stages of the allocation by revenue or margin."""

    def __init__(self, cost: np.ndarray, a_ub, b_ub: np.ndarray, a_eq, b_eq: np.ndarray,
                 upper: np.ndarray, lower_ub: np.ndarray | None = None):
        matrix = sp.vstack([a_ub, a_eq]).tocsc() if a_ub.shape[0] else sp.csc_array(a_eq)
        lp = HighsLp()
        lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
        lp.col_cost_ = np.asarray(cost, dtype=float)
        lp.col_lower_ = np.zeros(matrix.shape[1])
        lp.col_upper_ = np.where(np.isinf(upper), kHighsInf, upper)
        below = (np.full(a_ub.shape[0], -kHighsInf) if lower_ub is None else
                 np.where(np.isinf(lower_ub), -kHighsInf, lower_ub))
        lp.row_lower_ = np.concatenate([below, b_eq])
        lp.row_upper_ = np.concatenate([b_ub, b_eq])
        lp.a_matrix_.format_ = MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        self.highs = Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.passModel(lp)
        self.n_ub = a_ub.shape[0]
        self.n_col = matrix.shape[1]
        self.seconds = 0.0
        self.notes: list[str] = []
        self.warm = True  # re-solve by the simplex method from the last basis

    def solve(self, solver: str, *, iteration_limit: int | None = None) -> str:
        """Solve by ``"ipm"`` (with crossover to a vertex, whose duals are shadow prices)
        or by ``"simplex"`` from the current basis, at most ``iteration_limit`` simplex
        iterations; the status in words, ``"optimal"`` when solved."""
        self.highs.setOptionValue("solver", solver)
        self.highs.setOptionValue("run_crossover", "on")
        self.highs.setOptionValue("simplex_iteration_limit", 2**31 - 1
                                  if iteration_limit is None else int(iteration_limit))
        started = time.perf_counter()
        self.highs.run()
        self.seconds += time.perf_counter() - started
        status = self.highs.getModelStatus()
        if status == HighsModelStatus.kOptimal:
            return "optimal"
        if status == HighsModelStatus.kIterationLimit:
            return "iteration limit"
        return self.highs.modelStatusToString(status).lower()

    @property
    def warm_iterations(self) -> int:
        """Simplex iterations a re-solve from the basis may take (:data:`WARM_ITERATIONS`)."""
        return max(WARM_ITERATIONS, int(WARM_ITERATIONS_PER_ROW * self.highs.getNumRow()))

    def resolve(self) -> str:
        """Solve again after a change: from the last basis by the simplex method, which
        usually needs a few of its iterations — unless it needs more than
        :attr:`warm_iterations` (then this and every later re-solve of the LP use the
        interior point method) or fails (the tier penalties make the objective badly
        scaled for it: "excessive dual values"; then this one does)."""
        if self.warm:
            status = self.solve("simplex", iteration_limit=self.warm_iterations)
            if status == "optimal":
                return status
            # too slow here: the later re-solves would be too; a failure may be this one's
            self.warm = status != "iteration limit"
        return self.solve("ipm")

    def set_cost(self, cost: np.ndarray) -> None:
        self.highs.changeColsCost(self.n_col, np.arange(self.n_col, dtype=np.int32),
                                  np.asarray(cost, dtype=float))

    def fix_at_zero(self, columns: np.ndarray) -> None:
        columns = np.asarray(columns, dtype=np.int32)
        self.highs.changeColsBounds(columns.size, columns, np.zeros(columns.size),
                                    np.zeros(columns.size))

    def add_at_most(self, columns: np.ndarray, values: np.ndarray, bound: float) -> None:
        columns = np.asarray(columns, dtype=np.int32)
        self.highs.addRow(-kHighsInf, float(bound), columns.size, columns,
                          np.asarray(values, dtype=float))

    @property
    def objective(self) -> float:
        return float(self.highs.getInfo().objective_function_value)

    @property
    def x(self) -> np.ndarray:
        return np.asarray(self.highs.getSolution().col_value, dtype=float)

    @property
    def ub_duals(self) -> np.ndarray:
        """Duals of the inequality rows given at construction (<= 0 where the upper bound
        binds, >= 0 where a lower bound of ``lower_ub`` does)."""
        return np.asarray(self.highs.getSolution().row_dual, dtype=float)[:self.n_ub]


def _allocate_by_worth(lp: _Lp, cost: np.ndarray, short_cols: np.ndarray, tier_of: np.ndarray,
                       value: np.ndarray, demand: np.ndarray, months_left: np.ndarray) -> str:
    """Re-solve ``lp`` (solved once with the tier penalties) so that each tier, from the first
    one short downwards, loses as little revenue as it can, and then as late as it can
    (``months_left``: months after each short column's month; see the module docstring)."""
    short = lp.x[short_cols]
    short_tiers = sorted({int(k) for k in tier_of[short > TOL]})
    if not short_tiers:
        return "optimal"
    above = tier_of < short_tiers[0]
    lp.fix_at_zero(short_cols[above])
    status = "optimal"
    for tier in sorted({int(k) for k in tier_of[~above]}):
        mine = tier_of == tier
        stage = np.zeros(lp.n_col)
        stage[short_cols[mine]] = value[mine]
        lp.set_cost(stage)
        status = lp.resolve()
        if status != "optimal":
            return status
        best = lp.objective
        slack = VALUE_SLACK * float((value[mine] * demand[mine]).sum())
        if best <= slack:
            lp.fix_at_zero(short_cols[mine])
        else:
            lp.add_at_most(short_cols[mine], value[mine], best + slack)
    # the same lost revenue as late as possible: a month earlier weighs one month more;
    # only from the last basis by the simplex method; where that is too slow, not at all
    early = np.where(above, 0.0, value * months_left)
    if early.any():
        basis = lp.highs.getBasis()
        stage = np.zeros(lp.n_col)
        stage[short_cols] = early
        lp.set_cost(stage)
        status = (lp.solve("simplex", iteration_limit=lp.warm_iterations)
                  if lp.warm else "not tried")
        if status == "optimal":
            lp.add_at_most(short_cols, early, lp.objective + VALUE_SLACK * float(
                (early * demand).sum()))
        else:
            lp.highs.setBasis(basis)
            why = {"not tried": "was not tried",
                   "iteration limit": "needed more simplex iterations than allowed"}.get(
                status, f"failed ({status})")
            lp.notes.append(
                "the plan's shortfalls were not moved as late as they could go: the re-solve "
                f"that does it {why} on this plan, so a safety-stock target may take capacity "
                "from earlier orders (allocate_by: units plans in one solve)")
    lp.set_cost(cost)
    return lp.resolve()


@dataclass
class SupplyPlan:
    """The result of :func:`plan_supply`.

    Attributes
    ----------
    plan : DataFrame
        One row per SKU and month: ``sku, period, qty_demand, qty_regular,
        qty_overtime, qty_temp_staff, qty_outsourced, qty_supply,
        inventory_start, inventory_end, safety_stock, qty_served, qty_short,
        qty_written_off``. ``inventory_end = inventory_start + qty_supply -
        qty_served - qty_written_off`` and ``qty_supply = qty_regular +
        qty_overtime + qty_temp_staff + qty_outsourced``. ``qty_overtime``
        (``qty_temp_staff``) is the part of in-house production attributed to
        overtime (temporary staff): production times the largest overtime
        (temporary-staff) share of the month's load among the SKU's
        resources, scaled down where the two shares add up to more than 1.
    resource_load : DataFrame
        ``resource, period, hours_required, capacity_hours, overtime_hours,
        overtime_max_hours, temp_hours, temp_max_hours, utilisation,
        shadow_price``. ``utilisation`` is required / regular capacity (above
        1 with overtime or temporary staff); ``overtime_max_hours`` and
        ``temp_max_hours`` are the limits the plan used (0 where the lever was
        not allowed).
    component_usage : DataFrame
        ``component, period, qty_used, qty_purchased, qty_backup, stock_end,
        supplier_capacity, qty_on_order, inside_lead_time, backup_capacity,
        utilisation, shadow_price``; ``qty_purchased`` includes ``qty_backup``
        (bought from the backup supplier) and ``utilisation`` is purchased /
        main supplier capacity (above 1 when backup supply is used).
        ``qty_on_order``: the purchase orders due (NaN without purchase
        orders); ``main_supply_limit``: what the main supplier can deliver —
        inside the purchase lead time (``inside_lead_time``) what is on order,
        at most ``supplier_capacity``, else ``supplier_capacity``.
        ``shadow_price`` is at least 0 (where only "nothing bought back"
        binds, one more unit is worth nothing).
    gaps : DataFrame
        One row per SKU-month short: ``sku, period, priority_tier, qty_short,
        qty_demand, revenue_at_risk, binding, explanation``.
    options : DataFrame
        The levers the plan pulls: ``option`` (``overtime``,
        ``temporary staff``, ``backup supplier``, ``outsourcing``,
        ``build-ahead inventory``: month-end stock above the safety-stock
        target, made in the plan, that later months of the plan sell),
        ``resource_or_sku`` (the resource, the component or the SKU the lever
        acts on), ``period, qty`` (hours or
        units) and ``cost`` (overtime or temporary-staff hours times their
        extra cost per hour; backup units times their extra cost; outsourcing
        premium over unit cost; holding cost of stock above the safety-stock
        target).
    status : str
        Solver status, ``"optimal"`` when solved.
    objective : float
        The maximised objective (margin less penalties; see the module
        docstring), in currency. Useful to compare runs, not a P&L figure.
    solve_seconds : float
        Time spent in the solver.
    build_seconds : float
        Time spent checking the data and building the matrices.
    problems : list of Problem
        Master-data problems that did not stop the plan but make some demand
        impossible to make in-house (a SKU with demand but no routing, a
        resource with routed work but no capacity), each naming the item.
    notes : list of str
        What the solver could not do as the module docstring says, in words
        (e.g. a stage of the allocation by revenue left out as too slow).
    """

    plan: pd.DataFrame
    resource_load: pd.DataFrame
    component_usage: pd.DataFrame
    gaps: pd.DataFrame
    options: pd.DataFrame
    status: str
    objective: float
    solve_seconds: float
    build_seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def problem_table(self) -> pd.DataFrame:
        """:attr:`problems` as a table: ``file, row, column, problem, value``."""
        return problems_frame(self.problems)


def _column(frame: pd.DataFrame, name: str, default) -> pd.Series:
    """A column of ``frame``, or ``default`` everywhere when the optional column is absent."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(default, index=frame.index)


def _floats(values: pd.Series, fill: float = 0.0) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").astype("float64").fillna(fill).to_numpy()


# --------------------------------------------------------------------------- checks


def _cost_stand_ins(aligned: pd.DataFrame, master: pd.DataFrame
                    ) -> tuple[np.ndarray, list[Problem]]:
    """The unit costs the plan uses, with a stand-in where the master's is 0 or blank.

    A unit cost of 0 is a placeholder (the product review flags it): with it,
    making and holding the SKU would cost nothing, so the LP could build any
    amount of stock at any time. The plan costs such a SKU at its price times
    the median cost-to-price ratio of its family's SKUs that have both (of
    all SKUs when its family has none), and says so. The financials keep the
    master's cost: they report the data as it stands.

    Parameters
    ----------
    aligned : DataFrame
        The product master indexed by the planned SKUs (``price``,
        ``unit_cost``, ``family`` optional).
    master : DataFrame
        The whole product master (its row numbers for the warning, and the
        ratios).

    Returns
    -------
    (ndarray, list of Problem)
        Unit costs aligned on ``aligned``; one warning per SKU costed by a
        stand-in.
    """
    cost = _floats(aligned["unit_cost"], fill=np.nan).copy()
    price = _floats(aligned["price"], fill=np.nan)
    missing = ~(cost > 0)
    if not missing.any():
        return np.nan_to_num(cost), []
    every_price = pd.to_numeric(master["price"], errors="coerce")
    every_cost = pd.to_numeric(master["unit_cost"], errors="coerce")
    known = (every_price > 0) & (every_cost > 0)
    ratio = (every_cost / every_price)[known]
    family_of_master = (master["family"].astype("string") if "family" in master.columns
                        else pd.Series(pd.NA, index=master.index, dtype="string"))
    by_family = ratio.groupby(family_of_master[known]).median()
    overall = float(ratio.median()) if len(ratio) else np.nan
    families = (aligned["family"].astype("string") if "family" in aligned.columns
                else pd.Series(pd.NA, index=aligned.index, dtype="string"))
    rows = {str(sku): k + 2 for k, sku in enumerate(master["sku"].astype("string"))}
    warnings = []
    for k in np.flatnonzero(missing):
        family = families.iloc[k]
        share = by_family.get(family, np.nan) if pd.notna(family) else np.nan
        where = f"the {family} family's" if pd.notna(share) else "all SKUs'"
        share = share if pd.notna(share) else overall
        sku = str(aligned.index[k])
        if price[k] > 0 and pd.notna(share):
            cost[k] = price[k] * share
            how = (f"{where} median cost-to-price ratio {share:.2f} × its price "
                   f"{price[k]:,.2f}")
        else:
            cost[k] = float(every_cost[every_cost > 0].median()) if (every_cost > 0).any() else 0.0
            how = "the median unit cost of all SKUs"
        warnings.append(Problem(
            "products.csv", rows.get(sku), "unit_cost",
            f"unit_cost of {sku} is 0 or blank: the plan costs and holds it at {cost[k]:,.2f} "
            f"({how}), so its stock is not built up for free; the financials keep 0",
            sku))
    return np.nan_to_num(cost), warnings


def _check_master_data(skus: pd.Index, demand_total: np.ndarray,
                       data: Dataset) -> tuple[list[Problem], list[Problem]]:
    """Every master-data problem, collected (none raised).

    Returns the problems that stop the plan and those that only make some
    demand impossible to make in-house (SKUs with demand but no routing).
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    products = pd.Index(data.products["sku"].astype("string"))
    resources = pd.Index(data.resources["resource"].astype("string"))
    components = pd.Index(data.components["component"].astype("string"))
    routings = data.routings
    bom = data.bom
    routed = set(routings["sku"].astype("string"))

    for sku, total in zip(skus, demand_total, strict=True):
        if sku not in products:
            problems.append(Problem("products.csv", None, "sku", f"SKU {sku} is in the demand "
                                    "plan but not in the product master", sku))
        elif total > 0 and sku not in routed:
            warnings.append(Problem("routings.csv", None, "sku", f"SKU {sku} has demand "
                                    f"({total:,.0f} units) but no routing, so it cannot be made "
                                    "in-house: it is outsourced where possible, else short",
                                    sku))

    routing_resource = routings["resource"].astype("string")
    for pos in np.flatnonzero(~routing_resource.isin(resources).to_numpy()):
        res, sku = routing_resource.iloc[pos], routings["sku"].iloc[pos]
        problems.append(Problem("routings.csv", int(pos) + 2, "resource", f"resource {res} "
                                f"(routing of SKU {sku}) has no capacity row in resources.csv",
                                res))

    bom_sku = bom["sku"].astype("string")
    bom_comp = bom["component"].astype("string")
    for pos in np.flatnonzero(bom_comp.isin(products).to_numpy()):
        comp = bom_comp.iloc[pos]
        problems.append(Problem("bom.csv", int(pos) + 2, "component", f"component {comp} is "
                                "also a finished SKU; the BOM must be single level (SKU → "
                                "purchased component), a cycle or multi-level chain is not "
                                "supported", comp))
    for pos in np.flatnonzero(bom_sku.isin(components).to_numpy()):
        parent = bom_sku.iloc[pos]
        problems.append(Problem("bom.csv", int(pos) + 2, "sku", f"{parent} is a component and "
                                "cannot have a BOM of its own (single-level BOM)", parent))
    for pos in np.flatnonzero((~bom_comp.isin(components) & ~bom_comp.isin(products))
                              .to_numpy()):
        comp = bom_comp.iloc[pos]
        problems.append(Problem("bom.csv", int(pos) + 2, "component", f"component {comp} "
                                f"(BOM of SKU {bom_sku.iloc[pos]}) is not in components.csv",
                                comp))
    for pos in np.flatnonzero((~bom_sku.isin(products)).to_numpy()):
        parent = bom_sku.iloc[pos]
        if parent not in components:
            problems.append(Problem("bom.csv", int(pos) + 2, "sku", f"SKU {parent} is not in "
                                    "the product master", parent))
    return problems, warnings


def _capacity_problems(res_frame: pd.DataFrame, resources: pd.Index, limit: np.ndarray,
                       route_sku: np.ndarray, route_res: np.ndarray, demand_total: np.ndarray,
                       skus: pd.Index) -> list[Problem]:
    """Resources with work routed to them (SKUs with demand) but no hours in any month."""
    problems = []
    dead = np.flatnonzero(limit.max(axis=1, initial=0.0) <= TOL)
    for r in dead:
        users = np.unique(route_sku[(route_res == r) & (demand_total[route_sku] > 0)])
        if users.size == 0:
            continue
        names = [str(skus[u]) for u in users]
        row = res_frame.index[r]
        problems.append(Problem(
            "resources.csv", int(row) + 2 if isinstance(row, (int, np.integer)) else None,
            "capacity_hours", f"resource {resources[r]} has no capacity (regular, overtime or "
            f"temporary staff) in any month of the plan, but {len(names)} SKU(s) with demand "
            f"are routed through it ({listing(names)}): they go short unless outsourced",
            str(resources[r])))
    return problems


# --------------------------------------------------------------------------- model


@dataclass
class _Layout:
    """Where each block of variables starts in the LP's variable vector."""

    n: int
    n_months: int
    n_res: int
    n_comp: int

    def __post_init__(self):
        nt = self.n * self.n_months
        self.make = 0
        self.outsource = nt
        self.short = 2 * nt
        self.stock = 3 * nt
        self.scrap = 4 * nt
        self.ss_gap = 5 * nt
        self.overtime = 6 * nt
        self.temp = self.overtime + self.n_res * self.n_months
        self.comp_stock = self.temp + self.n_res * self.n_months
        self.backup = self.comp_stock + self.n_comp * self.n_months
        self.size = self.backup + self.n_comp * self.n_months


def _tier_penalties(tiers: np.ndarray, price_max: float, cost_max: float, rho: float,
                    override: dict[int, float] | None) -> dict[int, float]:
    """Penalty per unit short for each tier present (see the module docstring)."""
    penalties: dict[int, float] = {}
    below = None
    for tier in sorted(set(tiers.tolist()), reverse=True):
        if below is None:
            penalties[tier] = price_max + cost_max
        else:
            penalties[tier] = cost_max + rho * (price_max + below) + price_max
        if override and tier in override:
            penalties[tier] = float(override[tier])
        below = penalties[tier]
    return penalties


def resource_grids(resources: pd.Index, months: pd.DatetimeIndex, capacity: np.ndarray,
                   overtime: np.ndarray, temp: np.ndarray,
                   resource_capacity: pd.DataFrame | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regular, overtime and temporary-staff hours per resource and month, with the
    per-month overrides of ``resource_capacity`` (a scenario's or an adopted option's).

    Temporary staff work the line's shifts: in an overridden month their hours scale with
    the regular capacity, unless the override gives ``temp_max_hours`` itself.
    """
    cap_grid, ot_grid = _month_grid(resources, months, "resource", capacity, resource_capacity,
                                    "capacity_hours", overtime, "overtime_max_hours")
    scale = np.divide(cap_grid, capacity[:, None], out=np.ones_like(cap_grid),
                      where=capacity[:, None] > 0)
    temp_grid = temp[:, None] * scale
    if resource_capacity is not None and "temp_max_hours" in resource_capacity.columns:
        _, temp_grid = _month_grid(resources, months, "resource", capacity, resource_capacity,
                                   "capacity_hours", temp_grid, "temp_max_hours")
    return cap_grid, ot_grid, temp_grid


def _month_grid(codes: pd.Index, months: pd.DatetimeIndex, key: str, base: np.ndarray,
                overrides: pd.DataFrame | None, column: str, second: np.ndarray | None = None,
                second_column: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Constant capacities as a code × month grid, with per-month overrides applied.

    ``overrides`` has ``key, period, column`` (and optionally ``second_column``);
    a blank value keeps the constant one. Codes or months outside the plan are
    ignored; an unknown code is an error (it is most likely a typo).
    """
    grid = np.repeat(base[:, None], len(months), axis=1).astype(float)
    grid2 = None if second is None else (
        second.astype(float) if second.ndim == 2  # already a code × month grid
        else np.repeat(second[:, None], len(months), axis=1).astype(float))
    if overrides is None or overrides.empty:
        return grid, grid2
    missing = [c for c in (key, "period", column) if c not in overrides.columns]
    if missing:
        raise ParameterError(f"{column} overrides need the columns {key}, period, {column}; "
                             f"missing {', '.join(missing)}")
    rows = codes.get_indexer(overrides[key].astype("string"))
    if (rows < 0).any():
        unknown = sorted(set(overrides[key].astype(str)[rows < 0]))
        raise ParameterError(f"capacity override for unknown {key}(s): {', '.join(unknown)}")
    cols = months.get_indexer(pd.to_datetime(overrides["period"]))
    inside = cols >= 0

    def checked(name: str) -> np.ndarray:
        values = pd.to_numeric(overrides[name], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(inside & (values < 0))
        if bad.size:
            where = ", ".join(f"{overrides[key].iloc[k]} in "
                              f"{fmt_month(pd.Timestamp(overrides['period'].iloc[k]))} "
                              f"({values[k]:g})" for k in bad[:5])
            raise ParameterError(f"{name} overrides must be >= 0; negative for {where}: "
                                 "a negative capacity cannot be planned")
        return values

    values = checked(column)
    keep = inside & ~np.isnan(values)
    grid[rows[keep], cols[keep]] = values[keep]
    if grid2 is not None and second_column and second_column in overrides.columns:
        values2 = checked(second_column)
        keep2 = inside & ~np.isnan(values2)
        grid2[rows[keep2], cols[keep2]] = values2[keep2]
    return grid, grid2


def _use_ratio(entry_key: np.ndarray, entry_value: np.ndarray) -> float:
    """Largest max/min ratio of per-unit use among the SKUs sharing one resource or component."""
    if entry_key.size == 0:
        return 1.0
    frame = pd.DataFrame({"key": entry_key, "value": entry_value})
    spread = frame.groupby("key")["value"].agg(["min", "max"])
    return float((spread["max"] / spread["min"]).max())


def _check_allocation(allocate_by: str) -> None:
    if allocate_by not in ALLOCATIONS:
        raise ParameterError(f"allocate_by must be one of {', '.join(map(repr, ALLOCATIONS))}, "
                             f"got {allocate_by!r}")


def planner_options(*, service_level: float, holding_cost_rate: float,
                    allow_overtime: bool = True, allow_outsourcing: bool = True,
                    allow_temp_staff: bool = True, allow_backup_supply: bool = True,
                    allocate_by: str = "revenue") -> dict:
    """The planner's options from the cycle's parameters, stated once for every step that plans.

    The supply review plans the cycle with them, and the reconciliation
    replans the same plan as its *Baseline* and under every scenario, over
    the supply horizon and over the capacity outlook. Built in one place, a
    parameter such as ``allow_overtime: false`` reaches every one of those
    plans, so the scenarios are compared with the plan the supply review
    showed.

    Returns
    -------
    dict
        Keyword arguments of :func:`plan_supply`: ``safety_stock_column`` (the
        demand plan's quantile column of ``service_level``, e.g. ``qty_q95``),
        ``holding_cost_rate``, the four ``allow_*`` switches and ``allocate_by``.
    """
    from sopkit.forecast import quantile_column

    flags = {"allow_overtime": allow_overtime, "allow_outsourcing": allow_outsourcing,
             "allow_temp_staff": allow_temp_staff, "allow_backup_supply": allow_backup_supply}
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise ParameterError(f"{name} must be true or false, got {value!r}")
    _check_allocation(allocate_by)
    return {"safety_stock_column": quantile_column(service_level),
            "holding_cost_rate": holding_cost_rate, **{k: bool(v) for k, v in flags.items()},
            "allocate_by": allocate_by}


def _demand_still_to_come(demand_plan: pd.DataFrame, demand_column: str, skus: pd.Index,
                          start: pd.Timestamp, n_months: int,
                          products: pd.DataFrame) -> np.ndarray:
    """Per SKU and planned month, the demand after that month, where the SKU's demand ends.

    A SKU's demand ends when the product master gives it an ``eol_period``
    and the demand plan has no demand for it in its last month. For such a
    SKU: the sum of its demand in the plan's months after month *t* — all the
    plan's months, also those beyond the supply horizon; ``inf`` for every
    other SKU (its demand goes on beyond what the plan shows, or a month
    without demand is only a quiet month). A phase-out's safety stock is
    capped by it, so no stock is built that nobody will buy.
    """
    plan = demand_plan[["sku", "period", demand_column]].copy()
    plan["period"] = pd.to_datetime(plan["period"]).dt.to_period("M").dt.to_timestamp()
    plan = plan[plan["period"] >= start]
    out = np.full((len(skus), n_months), np.inf)
    if plan.empty:
        return out
    last_col = months_between(start, plan["period"].max())
    full = np.zeros((len(skus), max(last_col + 1, n_months)))
    rows = skus.get_indexer(plan["sku"].astype("string"))
    cols = months_between(pd.Series(start, index=plan.index), plan["period"])
    keep = rows >= 0
    np.add.at(full, (rows[keep], cols[keep]),
              np.clip(_floats(plan[demand_column])[keep], 0.0, None))
    eol = (products.dropna(subset=["eol_period"])["sku"].astype("string")
           if "eol_period" in products.columns else pd.Series([], dtype="string"))
    ends = (full[:, last_col] <= 0) & skus.isin(set(eol))
    from_t = np.cumsum(full[:, ::-1], axis=1)[:, ::-1]  # demand from month t on
    after = np.concatenate([from_t[:, 1:], np.zeros((len(skus), 1))], axis=1)
    out[ends] = after[ends, :n_months]
    return out


def plan_supply(
    demand_plan: pd.DataFrame,
    data: Dataset,
    *,
    cycle: pd.Timestamp | str,
    horizon: int = 12,
    demand_column: str = "qty_consensus",
    safety_stock_column: str | None = None,
    holding_cost_rate: float = 0.24,
    tier_penalty: dict[int, float] | None = None,
    allocate_by: str = "revenue",
    allow_overtime: bool = True,
    allow_outsourcing: bool = True,
    allow_temp_staff: bool = True,
    allow_backup_supply: bool = True,
    resource_capacity: pd.DataFrame | None = None,
    component_capacity: pd.DataFrame | None = None,
) -> SupplyPlan:
    """The constrained supply plan that maximises margin, tier by tier.

    Parameters
    ----------
    demand_plan : DataFrame
        ``sku, period`` and ``demand_column`` (and ``safety_stock_column`` if
        given), e.g. the consensus plan with its quantiles ``qty_q50``,
        ``qty_q90``, ``qty_q95``. Months outside the horizon are ignored;
        missing SKU-months count as zero demand.
    data : Dataset
        Master data: ``products``, ``resources``, ``routings``, ``components``,
        ``bom``, ``inventory``.
    cycle : Timestamp or str
        The cycle month, the first month of the plan.
    horizon : int
        Number of months planned.
    demand_column : str
        Column of ``demand_plan`` with the demand to serve.
    safety_stock_column : str, optional
        A quantile column; safety stock = ``max(0, quantile - demand)``, 0
        for a product made to order (``products.stocking`` = ``mto``) and
        capped at the demand still to come for a phase-out.
    holding_cost_rate : float
        Yearly holding cost as a fraction of unit cost.
    tier_penalty : dict, optional
        Penalty per unit short (currency) for the tiers named; the others keep
        the default that makes higher tiers dominate.
    allocate_by : {"revenue", "margin", "units"}
        How a tier shares capacity it cannot fully have: ``"revenue"``
        (default) keeps as much of the tier's revenue as it can, ``"margin"``
        as much of its margin, ``"units"`` serves as many of its units as it
        can (see *Priority tiers* in the module docstring).
    allow_overtime, allow_outsourcing, allow_temp_staff, allow_backup_supply : bool
        Whether the plan may use these levers (temporary staff needs
        ``resources.temp_max_hours``, backup supply
        ``components.backup_capacity``).
    resource_capacity : DataFrame, optional
        Per-month overrides ``resource, period, capacity_hours`` and
        optionally ``overtime_max_hours``, ``temp_max_hours`` (blank keeps the
        constant value; see the module docstring for temporary staff).
    component_capacity : DataFrame, optional
        Per-month overrides ``component, period, supplier_capacity`` and
        optionally ``backup_capacity``.

    Returns
    -------
    SupplyPlan
        See :class:`SupplyPlan` for every returned column.

    Raises
    ------
    DataError
        Master data that makes a plan meaningless (SKU with demand missing
        from the product master, routing to an unknown resource, BOM not
        single level or naming unknown components), all problems listed. A
        SKU without routing or a resource without capacity does not stop the
        plan: see :attr:`SupplyPlan.problems`.
    ParameterError
        A missing column in ``demand_plan``, a negative capacity override or
        another bad parameter.
    InfeasiblePlanError
        If the solver finds no plan at all (shortfalls are always allowed, so
        this means a solver failure).
    """
    started = time.perf_counter()
    start = cycle_month(cycle)
    if horizon < 1:
        raise ParameterError(f"horizon must be at least 1 month, got {horizon}")
    if holding_cost_rate < 0:
        raise ParameterError(f"holding_cost_rate must be >= 0, got {holding_cost_rate}")
    _check_allocation(allocate_by)
    needed = ["sku", "period", demand_column] + ([safety_stock_column]
                                                  if safety_stock_column else [])
    missing = [c for c in needed if c not in demand_plan.columns]
    if missing:
        raise ParameterError(f"demand plan has no column(s) {', '.join(missing)}")

    months = month_range(start, horizon)
    n_months = horizon
    demand = demand_plan[needed].copy()
    demand["sku"] = demand["sku"].astype("string")
    demand["period"] = pd.to_datetime(demand["period"]).dt.to_period("M").dt.to_timestamp()
    demand = demand[demand["period"].isin(months)]
    skus = pd.Index(sorted(demand["sku"].dropna().unique()), dtype="string", name="sku")
    n = len(skus)
    month_pos = months_between(pd.Series(start, index=demand.index), demand["period"])
    sku_pos = skus.get_indexer(demand["sku"])

    def grid(column: str) -> np.ndarray:
        out = np.zeros((n, n_months))
        np.add.at(out, (sku_pos, month_pos), _floats(demand[column]))
        return np.clip(out, 0.0, None)

    qty_demand = grid(demand_column)
    safety = (np.clip(grid(safety_stock_column) - qty_demand, 0.0, None)
              if safety_stock_column else np.zeros((n, n_months)))
    if safety_stock_column and n:
        safety = np.minimum(safety, _demand_still_to_come(demand_plan, demand_column, skus,
                                                          start, n_months, data.products))
        # made to order (products.stocking = mto): no stock held against forecast error
        stocking = _column(data.products, "stocking", "mts").astype("string").fillna("mts")
        to_order = set(data.products["sku"].astype("string")[stocking.str.lower() == "mto"])
        safety[np.isin(np.asarray(skus, dtype=object), list(to_order))] = 0.0

    problems, warnings = _check_master_data(skus, qty_demand.sum(axis=1), data)
    if problems:
        raise DataError(problems, headline=f"{len(problems)} problem(s) stop the supply plan")

    # ---- master data as arrays aligned on skus / resources / components
    products = data.products.assign(sku=data.products["sku"].astype("string"))
    products = products.drop_duplicates("sku").set_index("sku").reindex(skus)
    price = _floats(products["price"])
    unit_cost, stand_ins = _cost_stand_ins(products, data.products)
    warnings += stand_ins
    tier_raw = pd.to_numeric(products["priority_tier"], errors="coerce")
    tier = tier_raw.fillna(tier_raw.max() if tier_raw.notna().any() else 1).astype(int).to_numpy()
    shelf = _floats(_column(products, "shelf_life_months", np.nan), fill=np.nan)
    out_cost = _floats(_column(products, "outsource_cost", np.nan), fill=np.nan)
    out_max = _floats(_column(products, "outsource_max", np.nan), fill=np.inf)
    hold = unit_cost * holding_cost_rate / 12.0

    res_frame = data.resources.assign(resource=data.resources["resource"].astype("string"))
    res_frame = res_frame.drop_duplicates("resource")
    resources = pd.Index(res_frame["resource"], name="resource")
    n_res = len(resources)
    capacity = _floats(res_frame["capacity_hours"])
    ot_limit = (_floats(_column(res_frame, "overtime_max_hours", 0.0)) if allow_overtime
                else np.zeros(n_res))
    ot_cost = _floats(_column(res_frame, "overtime_cost_per_hour", 0.0))
    temp_limit = (_floats(_column(res_frame, "temp_max_hours", 0.0)) if allow_temp_staff
                  else np.zeros(n_res))
    temp_cost = _floats(_column(res_frame, "temp_cost_per_hour", 0.0))

    comp_frame = data.components.assign(
        component=data.components["component"].astype("string")).drop_duplicates("component")
    components = pd.Index(comp_frame["component"], name="component")
    n_comp = len(components)
    supplier_cap = _floats(comp_frame["supplier_capacity"])
    on_hand = _floats(_column(comp_frame, "on_hand", 0.0))
    cap_grid, ot_grid, temp_grid = resource_grids(resources, months, capacity, ot_limit,
                                                  temp_limit, resource_capacity)
    if not allow_overtime:
        ot_grid[:] = 0.0
    if not allow_temp_staff:
        temp_grid[:] = 0.0
    backup_limit = (_floats(_column(comp_frame, "backup_capacity", 0.0)) if allow_backup_supply
                    else np.zeros(n_comp))
    backup_cost = _floats(_column(comp_frame, "backup_extra_cost", 0.0))
    sup_grid, backup_grid = _month_grid(components, months, "component", supplier_cap,
                                        component_capacity, "supplier_capacity", backup_limit,
                                        "backup_capacity")
    lead_months, on_order, lead_bound = purchase_lead_times(
        comp_frame, components, months, data.purchase_orders)
    # what the main supplier can deliver: inside the lead time what is on order, up to its
    # capacity (a month's orders above it are taken as late)
    main_limit = np.clip(np.where(lead_bound, np.minimum(sup_grid, on_order), sup_grid), 0.0,
                         None)  # the loader refuses negative values; frames built in code too
    if not allow_backup_supply:
        backup_grid[:] = 0.0
    comp_hold = _floats(_column(comp_frame, "unit_cost", 0.0)) * holding_cost_rate / 12.0

    routing = data.routings.assign(sku=data.routings["sku"].astype("string"),
                                   resource=data.routings["resource"].astype("string"))
    route_sku = skus.get_indexer(routing["sku"])
    route_res = resources.get_indexer(routing["resource"])
    keep = (route_sku >= 0) & (route_res >= 0)
    route_sku, route_res = route_sku[keep], route_res[keep]
    route_hours = _floats(routing["hours_per_unit"])[keep]

    bom = data.bom.assign(sku=data.bom["sku"].astype("string"),
                          component=data.bom["component"].astype("string"))
    bom_sku = skus.get_indexer(bom["sku"])
    bom_comp = components.get_indexer(bom["component"])
    keep = (bom_sku >= 0) & (bom_comp >= 0)
    bom_sku, bom_comp = bom_sku[keep], bom_comp[keep]
    bom_qty = _floats(bom["qty_per"])[keep]

    # ---- opening stock by lot: sellable now, sellable after month t, already expired
    inv = data.inventory
    lot_sku = skus.get_indexer(inv["sku"].astype("string"))
    lot_qty = _floats(inv["qty"])
    produced = pd.to_datetime(_column(inv, "produced_period", pd.NaT))
    age_start = months_between(produced.fillna(start - pd.DateOffset(months=1)),
                               pd.Series(start, index=inv.index))
    keep = lot_sku >= 0
    lot_sku, lot_qty, age_start = lot_sku[keep], lot_qty[keep], np.asarray(age_start)[keep]
    lot_shelf = shelf[lot_sku] if lot_sku.size else np.zeros(0)
    # last month index (0 = cycle month) in which the lot can still be sold
    last_sellable = np.where(np.isnan(lot_shelf), np.inf, lot_shelf - 1 - age_start)
    expired = last_sellable < 0
    opening_total = np.bincount(lot_sku, lot_qty, minlength=n)
    opening_expired = np.bincount(lot_sku[expired], lot_qty[expired], minlength=n)
    opening = opening_total - opening_expired
    fresh_after = np.zeros((n, n_months + 1))  # opening stock still sellable after month t
    ends = np.clip(last_sellable, 0, n_months).astype(int)
    np.add.at(fresh_after, (lot_sku, np.zeros_like(lot_sku)), lot_qty)
    np.add.at(fresh_after, (lot_sku, ends), -lot_qty)
    fresh_after = np.cumsum(fresh_after, axis=1)[:, :n_months]

    # ---- objective weights
    # the dearest in-house unit: every hour on overtime and temporary staff, every
    # component from the backup supplier (an upper bound, for the tier penalties)
    extra_cost_per_unit = np.zeros(n)
    np.add.at(extra_cost_per_unit, route_sku,
              route_hours * (ot_cost[route_res] + temp_cost[route_res]))
    np.add.at(extra_cost_per_unit, bom_sku, bom_qty * backup_cost[bom_comp])
    can_outsource = ~np.isnan(out_cost) & allow_outsourcing
    supply_cost = np.maximum(unit_cost + extra_cost_per_unit,
                             np.where(can_outsource, out_cost, 0))
    price_max = max(float(np.max(price, initial=0.0)), 1.0)
    ss_penalty = hold + 0.5 * price / n_months + 1e-3 * price_max / n_months
    # Stock is for selling: a unit short in month t costs ss_penalty more than the same
    # unit short a month later, so stock goes to the earliest demand it can serve rather
    # than sit at its safety-stock target while that SKU's orders are lost.
    earlier = ss_penalty * (n_months - 1)
    cost_max = float(np.max(supply_cost + hold * n_months + unit_cost + earlier,
                            initial=0.0)) + 1.0
    rho = min(RHO_CAP, max(_use_ratio(route_res, route_hours),
                           _use_ratio(bom_comp, bom_qty)))
    penalty_by_tier = _tier_penalties(tier, price_max, cost_max, rho, tier_penalty)
    short_penalty = np.array([penalty_by_tier[k] for k in tier], dtype=float)

    lay = _Layout(n, n_months, n_res, n_comp)
    nt = n * n_months
    it = np.arange(nt)
    sku_of = it // n_months
    month_of = it % n_months

    cost = np.zeros(lay.size)
    cost[lay.make:lay.make + nt] = unit_cost[sku_of]
    cost[lay.outsource:lay.outsource + nt] = np.nan_to_num(out_cost)[sku_of]
    cost[lay.short:lay.short + nt] = ((price + short_penalty)[sku_of]
                                      + ss_penalty[sku_of] * (n_months - 1 - month_of))
    stock_cost = hold[sku_of] - np.where(month_of == n_months - 1, unit_cost[sku_of], 0.0)
    cost[lay.stock:lay.stock + nt] = stock_cost
    cost[lay.scrap:lay.scrap + nt] = unit_cost[sku_of]
    cost[lay.ss_gap:lay.ss_gap + nt] = ss_penalty[sku_of] - stock_cost
    cost[lay.overtime:lay.temp] = np.repeat(ot_cost + EPS_COST, n_months)
    cost[lay.temp:lay.comp_stock] = np.repeat(temp_cost + EPS_COST, n_months)
    cost[lay.comp_stock:lay.backup] = np.repeat(comp_hold + EPS_COST, n_months)
    cost[lay.backup:] = np.repeat(backup_cost + EPS_COST, n_months)

    routed = np.zeros(n, dtype=bool)
    routed[route_sku] = True
    warnings += _capacity_problems(res_frame, resources, cap_grid + ot_grid + temp_grid,
                                   route_sku, route_res, qty_demand.sum(axis=1), skus)
    perishable = ~np.isnan(shelf)
    upper = np.full(lay.size, np.inf)
    upper[lay.make:lay.make + nt] = np.where(routed, np.inf, 0.0)[sku_of]
    upper[lay.outsource:lay.outsource + nt] = np.where(can_outsource, out_max, 0.0)[sku_of]
    upper[lay.short:lay.short + nt] = qty_demand.ravel()
    upper[lay.scrap:lay.scrap + nt] = np.where(perishable, np.inf, 0.0)[sku_of]
    upper[lay.ss_gap:lay.ss_gap + nt] = safety.ravel()
    upper[lay.overtime:lay.temp] = ot_grid.ravel()
    upper[lay.temp:lay.comp_stock] = temp_grid.ravel()
    upper[lay.backup:] = backup_grid.ravel()

    # ---- stock balance (equalities), row = i * T + t
    prev = it[month_of > 0]
    eq_rows = np.concatenate([it, it, prev, prev, it, it, it, it])
    eq_cols = np.concatenate([lay.stock + it, lay.ss_gap + it, lay.stock + prev - 1,
                              lay.ss_gap + prev - 1, lay.make + it, lay.outsource + it,
                              lay.short + it, lay.scrap + it])
    eq_vals = np.concatenate([np.ones(nt), -np.ones(nt), -np.ones(prev.size),
                              np.ones(prev.size), -np.ones(3 * nt), np.ones(nt)])
    a_eq = sp.csr_array((eq_vals, (eq_rows, eq_cols)), shape=(nt, lay.size))
    safety_before = np.column_stack([np.zeros(n), safety[:, :-1]]).ravel()
    b_eq = (np.where(month_of == 0, opening[sku_of], 0.0) - qty_demand.ravel()
            - safety.ravel() + safety_before)

    # ---- inequalities: capacity, components, shelf life
    months_idx = np.arange(n_months)
    rows, cols, vals, rhs, lhs = [], [], [], [], []
    n_rows = 0

    def block(r, c, v, b, lo=None):
        nonlocal n_rows
        rows.append(np.asarray(r) + n_rows)
        cols.append(np.asarray(c))
        vals.append(np.asarray(v, dtype=float))
        rhs.append(np.asarray(b, dtype=float))
        lhs.append(np.full(len(b), -np.inf) if lo is None else np.asarray(lo, dtype=float))
        n_rows += len(b)

    rt = np.arange(n_res * n_months)
    block(np.concatenate([(route_res[:, None] * n_months + months_idx).ravel(), rt, rt]),
          np.concatenate([(lay.make + route_sku[:, None] * n_months + months_idx).ravel(),
                          lay.overtime + rt, lay.temp + rt]),
          np.concatenate([np.repeat(route_hours, n_months), -np.ones(2 * rt.size)]),
          cap_grid.ravel())
    cap_rows = slice(0, n_res * n_months)

    ct = np.arange(n_comp * n_months)
    ct_prev = ct[ct % n_months > 0]
    block(np.concatenate([(bom_comp[:, None] * n_months + months_idx).ravel(), ct, ct_prev,
                          ct]),
          np.concatenate([(lay.make + bom_sku[:, None] * n_months + months_idx).ravel(),
                          lay.comp_stock + ct, lay.comp_stock + ct_prev - 1, lay.backup + ct]),
          np.concatenate([np.repeat(bom_qty, n_months), np.ones(ct.size),
                          -np.ones(ct_prev.size), -np.ones(ct.size)]),
          main_limit.ravel() + np.where(ct % n_months == 0, np.repeat(on_hand, n_months), 0.0),
          # nothing is bought back: the stock on the shelf stays there (and costs holding)
          np.where(ct % n_months == 0, np.repeat(on_hand, n_months), 0.0))
    comp_rows = slice(cap_rows.stop, cap_rows.stop + n_comp * n_months)

    shelf_sel = it[perishable[sku_of]]
    if shelf_sel.size:
        local = np.arange(shelf_sel.size)
        life = shelf[sku_of[shelf_sel]]
        r_parts, c_parts = [local, local], [lay.stock + shelf_sel, lay.ss_gap + shelf_sel]
        v_parts = [np.ones(shelf_sel.size), -np.ones(shelf_sel.size)]
        for lag in range(min(int(np.nanmax(shelf)) - 1, n_months)):
            ok = (lag <= life - 2) & (month_of[shelf_sel] >= lag)
            src = shelf_sel[ok] - lag
            r_parts += [local[ok], local[ok]]
            c_parts += [lay.make + src, lay.outsource + src]
            v_parts += [-np.ones(src.size), -np.ones(src.size)]
        block(np.concatenate(r_parts), np.concatenate(c_parts), np.concatenate(v_parts),
              fresh_after.ravel()[shelf_sel] - safety.ravel()[shelf_sel])

    a_ub = sp.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(n_rows, lay.size))
    b_ub = np.concatenate(rhs)
    build_seconds = time.perf_counter() - started

    lp = _Lp(cost, a_ub, b_ub, a_eq, b_eq, upper, lower_ub=np.concatenate(lhs))
    status = lp.solve(SOLVER)
    worth = (price if allocate_by == "revenue" else
             np.maximum(price - unit_cost, 0.01 * price))  # what a tier keeps, per unit
    if status == "optimal" and allocate_by != "units":
        short_cols = lay.short + it
        status = _allocate_by_worth(lp, cost, short_cols, tier[sku_of], worth[sku_of],
                                    qty_demand.ravel(), n_months - 1 - month_of)
    solve_seconds = lp.seconds
    if status != "optimal":
        raise InfeasiblePlanError(f"the supply model could not be solved: {status}")

    x = lp.x
    x = np.where(np.abs(x) < TOL, 0.0, x)
    # the LP leaves out constants: the revenue of all demand, the holding of the targets
    objective = float(-lp.objective + (price[sku_of] * qty_demand.ravel()).sum()
                      - (stock_cost * safety.ravel()).sum())
    duals = -lp.ub_duals
    duals = np.where(np.abs(duals) < TOL, 0.0, duals)

    def var(offset: int, count: int, rows_: int) -> np.ndarray:
        return x[offset:offset + count].reshape(rows_, n_months)

    make = var(lay.make, nt, n)
    outsourced = var(lay.outsource, nt, n)
    short = var(lay.short, nt, n)
    served = qty_demand - short
    stock = var(lay.stock, nt, n) + safety - var(lay.ss_gap, nt, n)
    scrap = var(lay.scrap, nt, n)
    overtime_var = var(lay.overtime, n_res * n_months, n_res)
    temp_var = var(lay.temp, n_res * n_months, n_res)
    comp_stock = var(lay.comp_stock, n_comp * n_months, n_comp)
    backup_var = var(lay.backup, n_comp * n_months, n_comp)

    # ---- resource load; hours above regular capacity go to overtime, then temporary staff
    load = np.zeros((n_res, n_months))
    np.add.at(load, route_res, route_hours[:, None] * make[route_sku])
    above = np.clip(load - cap_grid, 0.0, None)
    above = np.where(above < TOL, 0.0, above)
    ot_used = np.minimum(above, overtime_var)
    temp_used = np.clip(above - ot_used, 0.0, temp_var)
    temp_used = np.where(temp_used < TOL, 0.0, temp_used)

    def sku_share(hours: np.ndarray) -> np.ndarray:
        share = np.divide(hours, load, out=np.zeros_like(load), where=load > TOL)
        out = np.zeros((n, n_months))
        np.maximum.at(out, route_sku, share[route_res])
        return out

    sku_ot_share, sku_temp_share = sku_share(ot_used), sku_share(temp_used)
    excess = np.maximum(sku_ot_share + sku_temp_share, 1.0)
    qty_overtime = make * sku_ot_share / excess
    qty_temp = make * sku_temp_share / excess
    qty_regular = make - qty_overtime - qty_temp

    written_off = scrap.copy()
    written_off[:, 0] += opening_expired
    inventory_start = np.column_stack([opening_total, stock[:, :-1]])
    plan = pd.DataFrame({
        "sku": np.repeat(skus.to_numpy(), n_months),
        "period": np.tile(months.to_numpy(), n),
        "qty_demand": qty_demand.ravel(),
        "qty_regular": qty_regular.ravel(),
        "qty_overtime": qty_overtime.ravel(),
        "qty_temp_staff": qty_temp.ravel(),
        "qty_outsourced": outsourced.ravel(),
        "qty_supply": (make + outsourced).ravel(),
        "inventory_start": inventory_start.ravel(),
        "inventory_end": stock.ravel(),
        "safety_stock": safety.ravel(),
        "qty_served": served.ravel(),
        "qty_short": short.ravel(),
        "qty_written_off": written_off.ravel(),
    })
    plan["sku"] = plan["sku"].astype("string")
    measures = plan.columns[2:]
    plan[measures] = plan[measures].round(6)

    res_duals = duals[cap_rows].reshape(n_res, n_months)
    resource_load = pd.DataFrame({
        "resource": np.repeat(resources.to_numpy(), n_months),
        "period": np.tile(months.to_numpy(), n_res),
        "hours_required": load.ravel(),
        "capacity_hours": cap_grid.ravel(),
        "overtime_hours": ot_used.ravel(),
        "overtime_max_hours": ot_grid.ravel(),
        "temp_hours": temp_used.ravel(),
        "temp_max_hours": temp_grid.ravel(),
        "utilisation": np.divide(load, cap_grid, out=np.full_like(load, np.nan),
                                 where=cap_grid > 0).ravel(),
        "shadow_price": res_duals.ravel(),
    })
    resource_load["resource"] = resource_load["resource"].astype("string")

    comp_used = np.zeros((n_comp, n_months))
    np.add.at(comp_used, bom_comp, bom_qty[:, None] * make[bom_sku])
    comp_before = np.column_stack([on_hand, comp_stock[:, :-1]])
    purchased = np.clip(comp_used + comp_stock - comp_before, 0.0, None)
    purchased = np.where(purchased < TOL, 0.0, purchased)
    backup_used = np.minimum(backup_var, purchased)
    backup_used = np.where(backup_used < TOL, 0.0, backup_used)
    # one more unit from the supplier is worth nothing where only "nothing bought back" binds
    comp_duals = np.clip(duals[comp_rows].reshape(n_comp, n_months), 0.0, None)
    component_usage = pd.DataFrame({
        "component": np.repeat(components.to_numpy(), n_months),
        "period": np.tile(months.to_numpy(), n_comp),
        "qty_used": comp_used.ravel(),
        "qty_purchased": purchased.ravel(),
        "qty_backup": backup_used.ravel(),
        "stock_end": comp_stock.ravel(),
        "supplier_capacity": sup_grid.ravel(),
        "qty_on_order": on_order.ravel(),
        "inside_lead_time": lead_bound.ravel(),
        "main_supply_limit": main_limit.ravel(),
        "backup_capacity": backup_grid.ravel(),
        "utilisation": np.divide(purchased, sup_grid, out=np.full_like(purchased, np.nan),
                                 where=sup_grid > 0).ravel(),
        "shadow_price": comp_duals.ravel(),
    })
    component_usage["component"] = component_usage["component"].astype("string")

    res_full = load >= (cap_grid + ot_grid + temp_grid) * (1 - TOL) - TOL
    # bought all it could; a month with nothing to buy counts only if it used up its stock
    comp_full = (purchased >= (main_limit + backup_grid) * (1 - TOL) - TOL) & (
        (main_limit + backup_grid > TOL) | (comp_before <= comp_used + 0.5))
    lead_short = lead_bound & (main_limit < sup_grid * (1 - TOL) - TOL)
    gaps = _explain_gaps(
        skus=skus, months=months, tier=tier, price=price, short=short,
        make=make, outsourced=outsourced, out_upper=np.where(can_outsource, out_max, 0.0),
        shelf=shelf, routed=routed, resources=resources, res_full=res_full, ot_limit=ot_grid,
        temp_limit=temp_grid, temp_used=temp_used, capacity=cap_grid, route_sku=route_sku,
        route_res=route_res, components=components, comp_full=comp_full,
        backup_used=backup_used, bom_sku=bom_sku, bom_comp=bom_comp, comp_stock=comp_stock,
        route_hours=route_hours, bom_qty=bom_qty, allocate_by=allocate_by, demand=qty_demand,
        worth=worth, lead_short=lead_short, lead_months=lead_months, main_limit=main_limit)

    options = _options(skus, months, resources, components, ot_used, ot_cost, temp_used,
                       temp_cost, backup_used, backup_cost, outsourced, out_cost, unit_cost,
                       hold, stock, safety, make, qty_demand)

    return SupplyPlan(plan=plan, resource_load=resource_load, component_usage=component_usage,
                      gaps=gaps, options=options, status=status, notes=lp.notes,
                      objective=objective, solve_seconds=solve_seconds,
                      build_seconds=build_seconds, problems=warnings)


def purchase_lead_times(comp_frame: pd.DataFrame, components: pd.Index,
                        months: pd.DatetimeIndex, purchase_orders: pd.DataFrame | None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What each component's supplier can deliver inside its purchase lead time.

    An order placed at the start of the cycle month arrives ``lead_time_months``
    later, so in the plan's first ``lead_time_months`` months a component's
    supplier delivers at most the purchase orders due then (overdue orders count
    as due in the first month; 0 where none is due). Without purchase orders
    (none given) no lead time is applied, nor for a component whose lead time
    is blank.

    Returns
    -------
    lead_months : ndarray (n_comp,)
        Lead time in months (0 where blank).
    on_order : ndarray (n_comp, n_months)
        Units due per month (NaN everywhere without purchase orders).
    inside : ndarray of bool (n_comp, n_months)
        Months inside the lead time, where ``on_order`` bounds the supplier.
    """
    n_comp, n_months = len(components), len(months)
    lead = pd.to_numeric(_column(comp_frame, "lead_time_months", np.nan), errors="coerce")
    lead_months = np.nan_to_num(np.asarray(lead, dtype=float), nan=0.0)
    given = purchase_orders is not None and len(purchase_orders) > 0
    if not given:
        return (lead_months, np.full((n_comp, n_months), np.nan),
                np.zeros((n_comp, n_months), dtype=bool))
    comp = components.get_indexer(purchase_orders["component"].astype("string"))
    month = np.asarray(months_between(pd.Series(months[0], index=purchase_orders.index),
                                      pd.to_datetime(purchase_orders["period"])))
    month = np.maximum(month, 0)  # overdue: due now
    keep = (comp >= 0) & (month < n_months)
    on_order = np.zeros((n_comp, n_months))
    np.add.at(on_order, (comp[keep], month[keep]), _floats(purchase_orders["qty"])[keep])
    inside = np.arange(n_months)[None, :] < lead_months[:, None]
    return lead_months, on_order, inside


def lead_time_bound(component_usage: pd.DataFrame) -> pd.DataFrame:
    """Component-months where the purchase lead time holds the plan back: inside it, the
    orders due are below what the supplier could deliver, the main supplier delivers all of
    them, and more of the component would have helped the plan (a shadow price above 0).

    Returns ``component, period, qty_on_order, supplier_capacity, qty_main_supplier,
    qty_backup, qty_used, stock_end, shadow_price``, largest shadow price first (a ranking,
    not cash: see :class:`SupplyPlan`)."""
    columns = ["component", "period", "qty_on_order", "supplier_capacity", "qty_main_supplier",
               "qty_backup", "qty_used", "stock_end", "shadow_price"]
    if "main_supply_limit" not in component_usage.columns:
        return pd.DataFrame(columns=columns)
    usage = component_usage.assign(
        qty_main_supplier=component_usage["qty_purchased"] - component_usage["qty_backup"])
    limit, cap = usage["main_supply_limit"], usage["supplier_capacity"]
    held = (usage["inside_lead_time"].astype(bool) & (limit < cap * (1 - TOL) - TOL)
            & (usage["qty_main_supplier"] >= limit * (1 - TOL) - TOL)
            & (usage["shadow_price"].abs() > 1e-3))  # above the LP's tie-breaking costs
    out = usage.loc[held, columns].sort_values(["shadow_price", "component", "period"],
                                               ascending=[False, True, True], kind="stable")
    return out.reset_index(drop=True)


def lead_time_note(component_usage: pd.DataFrame) -> str:
    """One paragraph for the supply review: whether purchase lead times bound the plan,
    which components they hold back, and which have nothing on order inside them."""
    if "inside_lead_time" not in component_usage.columns or component_usage.empty:
        return ""
    if component_usage["qty_on_order"].isna().all():
        return ("Purchase lead times are not applied: the data has no purchase orders "
                "(purchase_orders.csv), so the plan may buy up to each supplier's capacity "
                "from the first month. Give the open orders to see what the lead times allow.")
    inside = component_usage[component_usage["inside_lead_time"].astype(bool)]
    if inside.empty:
        return ("Purchase orders are given, but no component has a lead time inside the "
                "plan (lead_time_months blank or 0): suppliers deliver up to capacity.")
    n = inside["component"].nunique()
    text = (f"Purchase lead times: {n} component{'' if n == 1 else 's'} "
            f"{'is' if n == 1 else 'are'} inside {'its' if n == 1 else 'their'} lead time in "
            "the first months of the plan, where the main supplier delivers only what is on "
            "order (purchase_orders.csv; a month's orders above the supplier's capacity count "
            "up to it).")
    ordered = inside.groupby("component")["qty_on_order"].sum()
    bare = sorted(ordered.index[ordered < 0.5].astype(str))
    if bare:
        text += (f" Nothing is on order inside the lead time of {listing(bare, limit=8)}: "
                 "their main supplier delivers nothing until it ends (is the orders file "
                 "complete?).")
    codes = sorted(lead_time_bound(component_usage)["component"].astype(str).unique())
    if codes:
        text += (f" The orders on file hold the plan back for {listing(codes, limit=8)}: more "
                 "of them would have helped, which takes an order placed sooner, the backup "
                 "supplier or a change of plan (table below).")
    else:
        text += " The orders on file cover what the plan needs there."
    return text


# --------------------------------------------------------------------------- reporting


def _options(skus, months, resources, components, ot_used, ot_cost, temp_used, temp_cost,
             backup_used, backup_cost, outsourced, out_cost, unit_cost, hold, stock, safety,
             make, demand) -> pd.DataFrame:
    """The levers used: overtime and temporary-staff hours, backup-supplier components,
    outsourced units, stock built ahead of demand."""
    frames = []
    for option, used, rate, codes in (("overtime", ot_used, ot_cost, resources),
                                      ("temporary staff", temp_used, temp_cost, resources),
                                      ("backup supplier", backup_used, backup_cost, components)):
        r_idx, t_idx = np.nonzero(used > TOL)
        frames.append(pd.DataFrame({
            "option": option, "resource_or_sku": codes.to_numpy()[r_idx],
            "period": months.to_numpy()[t_idx], "qty": used[r_idx, t_idx],
            "cost": used[r_idx, t_idx] * rate[r_idx]}))
    i_idx, t_idx = np.nonzero(outsourced > TOL)
    frames.append(pd.DataFrame({
        "option": "outsourcing", "resource_or_sku": skus.to_numpy()[i_idx],
        "period": months.to_numpy()[t_idx], "qty": outsourced[i_idx, t_idx],
        "cost": outsourced[i_idx, t_idx] * (np.nan_to_num(out_cost)[i_idx] - unit_cost[i_idx])}))
    # stock above the target that was made in the plan, not carried from the opening stock,
    # and that later months of the plan sell (stock no later month needs is not built ahead)
    later = np.cumsum(demand[:, ::-1], axis=1)[:, ::-1] - demand  # demand after month t
    ahead = np.minimum(np.minimum(np.clip(stock - safety, 0.0, None), np.cumsum(make, axis=1)),
                       later)
    i_idx, t_idx = np.nonzero(ahead > TOL)
    frames.append(pd.DataFrame({
        "option": "build-ahead inventory", "resource_or_sku": skus.to_numpy()[i_idx],
        "period": months.to_numpy()[t_idx], "qty": ahead[i_idx, t_idx],
        "cost": ahead[i_idx, t_idx] * hold[i_idx]}))
    options = pd.concat(frames, ignore_index=True)
    options["option"] = options["option"].astype("string")
    options["resource_or_sku"] = options["resource_or_sku"].astype("string")
    options["period"] = pd.to_datetime(options["period"])
    options[["qty", "cost"]] = options[["qty", "cost"]].astype("float64").round(6)
    return options


def _month_span(months: pd.DatetimeIndex, first: int, last: int) -> str:
    """``Dec 2026``, ``Nov–Dec 2026`` or ``Nov 2026–Jan 2027``."""
    a, b = months[first], months[last]
    if first == last:
        return a.strftime("%b %Y")
    if a.year == b.year:
        return f"{a.strftime('%b')}–{b.strftime('%b %Y')}"
    return f"{a.strftime('%b %Y')}–{b.strftime('%b %Y')}"


def _period_text(first, last) -> str:
    """``Jan 2027`` or ``Jan–Feb 2027`` for an inclusive range of months."""
    span = pd.DatetimeIndex([first, last])
    return _month_span(span, 0, 0 if span[0] == span[1] else 1)


def _run_start(full: np.ndarray) -> np.ndarray:
    """For each row and month, the first month of the run of full months ending there."""
    start = np.zeros(full.shape, dtype=int)
    for t in range(1, full.shape[1]):
        start[:, t] = np.where(full[:, t - 1], start[:, t - 1], t)
    return start


def _explain_gaps(*, skus, months, tier, price, short, make, outsourced, out_upper, shelf,
                  routed, resources, res_full, ot_limit, temp_limit, temp_used, capacity,
                  route_sku, route_res, components, comp_full, backup_used, bom_sku,
                  bom_comp, comp_stock, route_hours=None, bom_qty=None,
                  allocate_by="revenue", demand=None, worth=None, lead_short=None,
                  lead_months=None, main_limit=None) -> pd.DataFrame:
    """One row per short SKU-month, with the binding constraints named in a sentence.

    A component bought at its supplier's capacity may still have stock left at the
    end of the month (``comp_stock``): the plan keeps it for later months, where it
    serves demand it ranks higher. The sentence says so, or the reader would look for
    the shortage in the wrong month.

    Within a tier a bottleneck goes first to the items of the tier that earn most revenue
    (or margin, ``worth``) per hour or unit of it (``allocate_by="revenue"`` or
    ``"margin"``), or that need least of it per unit
    (``"units"``; ``route_hours``, ``bom_qty``): the sentence names them too, as it names
    the higher tiers served first."""
    worth = price if worth is None else worth
    i_idx, t_idx = np.nonzero(short > TOL)
    res_start = _run_start(res_full)
    no_capacity = capacity + ot_limit + temp_limit <= TOL
    no_capacity_start = _run_start(no_capacity)
    if lead_short is None:
        lead_short = np.zeros_like(comp_full)
    comp_start = _run_start(comp_full & ~lead_short)  # spans of capacity used up, not orders
    res_of = pd.Series(route_res).groupby(route_sku).agg(list).to_dict()
    comp_of = pd.Series(bom_comp).groupby(bom_sku).agg(list).to_dict()
    users_res = pd.Series(route_sku).groupby(route_res).agg(list).to_dict()
    users_comp = pd.Series(bom_sku).groupby(bom_comp).agg(list).to_dict()
    sku_names = skus.to_numpy()
    use_res = ({} if route_hours is None else
               {(int(i), int(r)): float(h) for i, r, h in zip(route_sku, route_res, route_hours,
                                                              strict=True)})
    use_comp = ({} if bom_qty is None else
                {(int(i), int(c)): float(q) for i, c, q in zip(bom_sku, bom_comp, bom_qty,
                                                               strict=True)})

    def taken(u: int, use: dict, code: int, t: int, later: bool) -> float:
        """Hours or units of ``code`` that SKU u's plan takes in month t (or after)."""
        made = make[u, t:].sum() if later else make[u, t]
        return float(made * use.get((int(u), int(code)), 0.0))

    def priority_note(users: list[int], use: dict, code: int, i: int, t: int,
                      later: bool = False) -> list[tuple[int, float]]:
        """Users of a resource or component ranked above SKU i that are made in month t
        (``later``: in month t or after, for a component kept in stock), with what they
        take of it."""
        users = np.asarray(users, dtype=int)
        made = (make[users, t:].max(axis=1) if later else make[users, t]) > MADE_MIN
        return [(int(u), taken(u, use, code, t, later))
                for u in users[(tier[users] < tier[i]) & made]]

    def leaner_note(users: list[int], use: dict, code: int, i: int, t: int,
                    later: bool = False) -> list[tuple[int, float]]:
        """Users of the same tier as SKU i, made in month t (or after), that earn more
        revenue (margin) per unit of the resource or component ``code``, or need less
        of it per unit (by units), with what they take of it."""
        mine = use.get((int(i), int(code)))
        if mine is None:
            return []
        users = np.asarray(users, dtype=int)
        made = (make[users, t:].max(axis=1) if later else make[users, t]) > MADE_MIN
        peers = [int(u) for u in users[(tier[users] == tier[i]) & made] if u != i]
        if allocate_by != "units":
            peers = [u for u in peers if mine > 0 and worth[u] / use.get(
                (u, int(code)), np.inf) > worth[i] / mine * (1 + 1e-9)]
        else:
            peers = [u for u in peers if use.get((u, int(code)), mine) < mine - 1e-12]
        return [(u, taken(u, use, code, t, later)) for u in peers]

    def by_share(noted: dict) -> list[str]:
        """The SKUs of ``noted`` ((SKU, code) -> amount taken), those taking most first."""
        total: dict[int, float] = {}
        for (u, _), amount in noted.items():
            total[u] = total.get(u, 0.0) + amount
        return [sku_names[u] for u in sorted(total, key=lambda u: (-total[u], sku_names[u]))]

    binding_col, text_col = [], []
    for i, t in zip(i_idx, t_idx, strict=True):
        parts, names, favoured, leaner = [], [], {}, {}
        if not routed[i]:
            parts.append(f"{sku_names[i]} has no routing, so it cannot be made in-house "
                         "(add its routing to routings.csv)")
        for r in res_of.get(i, []):
            if not res_full[r, t]:
                continue
            span = _month_span(months, res_start[r, t], t)
            name = resources[r]
            names.append(name)
            if no_capacity[r, t]:
                span = _month_span(months, no_capacity_start[r, t], t)
                parts.append(f"resource {name} has no capacity ({span})")
            else:
                levers = ["regular"] + (["overtime"] if ot_limit[r, t] > 0 else []) + (
                    ["temporary-staff"] if temp_limit[r, t] > 0 else [])
                if len(levers) == 1:
                    text = f"resource {name} is at 100 % of capacity with no overtime available"
                else:
                    text = (f"resource {name} is at 100 % of {', '.join(levers[:-1])} and "
                            f"{levers[-1]} capacity")
                text += f" ({span})"
                if temp_used[r, t] > TOL:
                    text += (f", even with {temp_used[r, t]:,.0f} h of temporary staff in "
                             f"{months[t].strftime('%b %Y')}")
                parts.append(text)
            favoured.update(((u, name), a) for u, a in priority_note(
                users_res.get(r, []), use_res, r, i, t))
            leaner.update(((u, name), a) for u, a in leaner_note(
                users_res.get(r, []), use_res, r, i, t))
        for c in comp_of.get(i, []):
            if not comp_full[c, t]:
                continue
            name = components[c]
            names.append(name)
            if lead_short[c, t]:
                arrive = months[t].strftime('%b %Y')
                first = (months[0] + pd.DateOffset(months=int(lead_months[c]))).strftime('%b %Y')
                # where the lead time binds below capacity, the limit is what is on order
                due = (f"nothing is on order for {arrive}" if main_limit[c, t] < 0.5 else
                       f"only the {main_limit[c, t]:,.0f} units on order arrive in {arrive}")
                text = (f"component {name} is inside its {int(lead_months[c])}-month purchase "
                        f"lead time: {due}, below what its supplier could deliver, and an "
                        f"order placed now arrives in {first} at the earliest")
            else:
                text = (f"supplier capacity of component {name} is used up "
                        f"({_month_span(months, comp_start[c, t], t)})")
            if backup_used[c, t] > TOL:
                text += (f", even with {backup_used[c, t]:,.0f} units from the backup supplier "
                         f"in {months[t].strftime('%b %Y')}")
            if comp_stock[c, t] > 0.5:
                text += (f", and the {comp_stock[c, t]:,.0f} units of it left at the end of "
                         f"{months[t].strftime('%b %Y')} are kept for later months, when more of "
                         "it is needed than its supplier delivers")
            parts.append(text)
            favoured.update(((u, name), a) for u, a in priority_note(
                users_comp.get(c, []), use_comp, c, i, t, later=comp_stock[c, t] > 0.5))
            leaner.update(((u, name), a) for u, a in leaner_note(
                users_comp.get(c, []), use_comp, c, i, t, later=comp_stock[c, t] > 0.5))
        if out_upper[i] > 0 and outsourced[i, t] >= out_upper[i] - TOL:
            parts.append(f"outsourcing is at its limit of {out_upper[i]:,.0f} units")
        if parts and routed[i] and not np.isnan(shelf[i]) and shelf[i] < t + 1:
            parts.append(f"a shelf life of {shelf[i]:.0f} month(s) limits building ahead")
        if favoured:
            levels = sorted({int(tier[u]) for u, _ in favoured})
            on = sorted({name for _, name in favoured})
            who = by_share(favoured)
            tiers = (f"tier-{levels[0]}" if len(levels) == 1
                     else f"higher-priority (tier {levels[0]}–{levels[-1]})")
            parts.append(f"capacity on {listing(on)} was given to {tiers} items "
                         f"({listing(who)})")
        if leaner:
            on = sorted({name for _, name in leaner})
            who = by_share(leaner)
            kept = "margin" if allocate_by == "margin" else "revenue"
            parts.append(
                f"within tier {int(tier[i])}, {listing(on)} went to items that earn more "
                f"{'margin ' if kept == 'margin' else ''}per hour or unit of it "
                f"({listing(who)}): the plan keeps as much of a tier's {kept} as it can"
                if allocate_by != "units" else
                f"within tier {int(tier[i])}, {listing(on)} went to items that need less of "
                f"it per unit ({listing(who)}): the plan serves as many units of a tier as it "
                "can")
        if not parts:
            parts.append("none of its resources or components is fully used and it cannot "
                         "be outsourced further; the plan chose not to serve it (check its "
                         "price, cost and tier penalty)")
        binding_col.append(", ".join(names))
        text_col.append(f"Short {units_text(short[i, t])} in {fmt_month(months[t])}: "
                        + "; ".join(parts) + ".")

    qty_short = short[i_idx, t_idx]
    return pd.DataFrame({
        "sku": pd.array(sku_names[i_idx], dtype="string"),
        "period": months.to_numpy()[t_idx],
        "priority_tier": tier[i_idx],
        "qty_short": np.round(qty_short, 6),
        **({} if demand is None else {"qty_demand": np.round(demand[i_idx, t_idx], 6)}),
        "revenue_at_risk": np.round(qty_short * price[i_idx], 6),
        "binding": pd.array(binding_col, dtype="string"),
        "explanation": pd.array(text_col, dtype="string"),
    })


# --------------------------------------------------------------------------- review tables


def units_text(qty: float) -> str:
    """A quantity of units in words: "1 unit", "1,234 units", and one decimal below
    one unit ("0.4 units"), where whole units would say "0 units"."""
    if 0 < abs(qty) < 0.95:
        return f"{qty:.1f} units"
    text = f"{qty:,.0f}"
    return f"{text} unit" if text == "1" else f"{text} units"


def gaps_by_sku(gaps: pd.DataFrame) -> pd.DataFrame:
    """The plan's gaps per SKU: what the supply meeting discusses before the months.

    Parameters
    ----------
    gaps : DataFrame
        ``SupplyPlan.gaps`` (``sku, period, qty_short, revenue_at_risk,
        explanation``; ``priority_tier``, ``qty_demand`` and ``binding`` when
        present: with ``qty_demand``, a SKU that lost all its demand in its
        months short says so).

    Returns
    -------
    DataFrame
        ``sku``, ``priority_tier`` (when given), ``months`` short, ``first`` and
        ``last`` month, ``qty_short`` and ``revenue_at_risk`` summed,
        ``binding`` (each constraint that binds in any of its months, in
        order of first appearance), ``explanation`` (the first month's, or for
        a gap over several months "N units short in M months (first to last);
        the first: …", so the words cover the sums). Largest revenue at risk
        first.
    """
    columns = ["sku", *(["priority_tier"] if "priority_tier" in gaps.columns else []),
               "months", "first", "last", "qty_short", "revenue_at_risk",
               *(["binding"] if "binding" in gaps.columns else []), "explanation"]
    if gaps.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    ordered = gaps.sort_values(["sku", "period"], kind="stable")
    aggregations = {"months": ("period", "nunique"), "first": ("period", "min"),
                    "last": ("period", "max"), "qty_short": ("qty_short", "sum"),
                    **({"qty_demand": ("qty_demand", "sum")} if "qty_demand" in gaps.columns
                       else {}),
                    "revenue_at_risk": ("revenue_at_risk", "sum"),
                    "explanation": ("explanation", "first")}
    if "priority_tier" in gaps.columns:
        aggregations["priority_tier"] = ("priority_tier", "first")
    if "binding" in gaps.columns:
        aggregations["binding"] = (
            "binding", lambda b: ", ".join(dict.fromkeys(str(v) for v in b.dropna() if str(v))))
    out = ordered.groupby("sku", as_index=False, sort=False).agg(**aggregations)
    several = out["months"] > 1
    whole = (out["qty_short"] >= out["qty_demand"] - 0.5 if "qty_demand" in out.columns
             else pd.Series(False, index=out.index))
    out.loc[several, "explanation"] = [
        f"{units_text(row.qty_short)} short in {row.months} months ({fmt_month(row.first)} to "
        f"{fmt_month(row.last)}){', none of its demand served then' if all_short else ''}; "
        f"the first: {row.explanation}"
        for row, all_short in zip(out[several].itertuples(), whole[several], strict=True)]
    return (out[columns].sort_values("revenue_at_risk", ascending=False, kind="stable")
            .reset_index(drop=True))


def options_summary(options: pd.DataFrame) -> pd.DataFrame:
    """The levers used over the horizon, one row each, dearest first.

    Parameters
    ----------
    options : DataFrame
        :attr:`SupplyPlan.options`.

    Returns
    -------
    DataFrame
        ``option, unit`` (``hours``, ``units``, or ``unit-months`` for
        build-ahead stock: the units held above target summed over the month
        ends they are held at), ``qty, cost, months, items`` (distinct months
        and resources/components/SKUs involved), ``cost_per_unit`` (per hour,
        unit or unit-month); sorted by cost, dearest first.
    """
    if options.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
            ("option", "string"), ("unit", "string"), ("qty", float), ("cost", float),
            ("months", int), ("items", int), ("cost_per_unit", float))})
    out = options.groupby("option", as_index=False).agg(
        qty=("qty", "sum"), cost=("cost", "sum"), months=("period", "nunique"),
        items=("resource_or_sku", "nunique"))
    # build-ahead stock is counted at every month's end it is held: unit-months
    out.insert(1, "unit", out["option"].map(
        lambda o: "hours" if o in ("overtime", "temporary staff") else
        "unit-months" if o == "build-ahead inventory" else "units").astype("string"))
    out["cost_per_unit"] = out["cost"] / out["qty"].where(out["qty"] > 0)
    return out.sort_values("cost", ascending=False, ignore_index=True)


def _demand_hours(plan: pd.DataFrame, routings: pd.DataFrame) -> pd.DataFrame:
    """Each SKU-month's demand in hours of each resource of its routing (served or not):
    ``sku, period, qty_demand, resource, hours_per_unit, hours``."""
    routing = routings.assign(sku=routings["sku"].astype("string"),
                              resource=routings["resource"].astype("string"))
    hours = plan[["sku", "period", "qty_demand"]].merge(
        routing[["sku", "resource", "hours_per_unit"]], on="sku", how="inner")
    hours["hours"] = hours["qty_demand"] * hours["hours_per_unit"].astype(float)
    return hours


def premium_hours_for_stock(supply: SupplyPlan, data: Dataset) -> pd.DataFrame:
    """Overtime and temporary-staff hours that build stock rather than serve the month.

    A premium hour (overtime, temporary staff) worked in a month whose own
    demand fits in the resource's regular hours makes stock: ahead of a later
    peak, or up to the safety-stock target. Where the month's demand needs
    more than the regular hours, only the premium hours beyond that excess do.
    The split is by the month's demand hours (demand × ``hours_per_unit``,
    served or not), so it reads what the hours are for, not which unit they
    made.

    Returns
    -------
    DataFrame
        One row per resource with premium hours: ``resource,
        premium_hours`` (overtime + temporary staff over the plan),
        ``hours_for_stock``, ``months_for_stock`` (months with any) and
        ``share_for_stock``; most hours for stock first.
    """
    columns = ["resource", "premium_hours", "hours_for_stock", "months_for_stock",
               "share_for_stock"]
    load = supply.resource_load
    if load.empty or "overtime_hours" not in load.columns:
        return pd.DataFrame(columns=columns)
    demand = _demand_hours(supply.plan, data.routings).groupby(
        ["resource", "period"], as_index=False)["hours"].sum()
    frame = load.assign(resource=load["resource"].astype("string")).merge(
        demand, on=["resource", "period"], how="left").fillna({"hours": 0.0})
    premium = frame["overtime_hours"].astype(float) + _floats(_column(frame, "temp_hours", 0.0))
    excess = (frame["hours"] - frame["capacity_hours"].astype(float)).clip(lower=0.0)
    frame = frame.assign(premium=premium, for_stock=(premium - excess).clip(lower=0.0))
    frame = frame[frame["premium"] > TOL]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    out = frame.groupby("resource", as_index=False).agg(
        premium_hours=("premium", "sum"), hours_for_stock=("for_stock", "sum"),
        months_for_stock=("for_stock", lambda v: int((v > TOL).sum())))
    out["share_for_stock"] = out["hours_for_stock"] / out["premium_hours"]
    return out.sort_values(["hours_for_stock", "resource"], ascending=[False, True],
                           ignore_index=True)[columns]


def capacity_pressure(supply: SupplyPlan, data: Dataset, *, top: int = 3,
                      build_ahead_months: int = 2) -> pd.DataFrame:
    """Why a resource needs more than its regular hours, and how the plan copes.

    A gap explanation covers demand that is *not* served. This covers the
    months in which demand asks more of a resource than its regular capacity
    even where the plan serves it — with overtime, temporary staff or stock
    built ahead — so that a peak (a promotion nobody told supply about, a
    launch) is seen and priced before it becomes a shortfall.

    Parameters
    ----------
    supply : SupplyPlan
        The plan (its ``plan``, ``resource_load``).
    data : Dataset
        ``routings`` and, when present, ``promotions``.
    top : int
        How many driving SKUs to name per resource and month.
    build_ahead_months : int
        The months before the peak whose overtime, temporary staff and stock
        count as the plan's answer to it.

    Returns
    -------
    DataFrame
        One row per resource and month whose demand needs more than regular
        capacity: ``resource, period, demand_hours`` (demand of the month x
        hours per unit, whether served or not), ``capacity_hours``,
        ``demand_utilisation``, ``drivers`` (SKUs whose demand rises most
        above their average month on this resource), ``promotions`` (those
        running for the drivers that month), ``overtime_hours``,
        ``temp_hours`` (on the resource in the month and the
        ``build_ahead_months`` before), ``built_ahead_units`` (drivers' stock
        above target at the end of the month before), ``units_short`` (the
        drivers' shortfall in the month) and ``explanation``; sorted by hours
        above capacity, largest first.
    """
    columns = ["resource", "period", "demand_hours", "capacity_hours", "demand_utilisation",
               "drivers", "promotions", "overtime_hours", "temp_hours", "built_ahead_units",
               "units_short", "explanation"]
    plan = supply.plan
    hours = _demand_hours(plan, data.routings)
    hours["rise"] = hours["hours"] - hours.groupby(["resource", "sku"])["hours"].transform("mean")
    load = supply.resource_load.assign(resource=supply.resource_load["resource"].astype("string"))
    demand_hours = hours.groupby(["resource", "period"], as_index=False)["hours"].sum()
    frame = load.merge(demand_hours, on=["resource", "period"], how="left")
    frame["hours"] = frame["hours"].fillna(0.0)
    pressure = frame[frame["hours"] > frame["capacity_hours"] + 1e-6]
    if pressure.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})

    promotions = data.promotions if data.promotions is not None else pd.DataFrame()
    if len(promotions):
        promotions = promotions.assign(sku=promotions["sku"].astype("string"))
    months = pd.DatetimeIndex(sorted(plan["period"].unique()))
    by_sku = plan.set_index(["sku", "period"])
    load_idx = load.set_index(["resource", "period"])
    rows = []
    for row in pressure.itertuples(index=False):
        t = months.get_loc(row.period)
        window = months[max(t - build_ahead_months, 0):t + 1]
        mine = hours[(hours["resource"] == row.resource) & (hours["period"] == row.period)]
        mine = mine[mine["rise"] > 1e-6].nlargest(top, "rise")
        drivers = mine["sku"].tolist()
        promo_text = []
        if len(promotions) and drivers:
            running = promotions[promotions["sku"].isin(drivers)
                                 & (promotions["start_period"] <= row.period)
                                 & (promotions["end_period"] >= row.period)]
            promo_text = [f"{p.promo_id} on {p.sku} ({p.lift * 100:+.0f} %, "
                          f"{_period_text(p.start_period, p.end_period)})"
                          for p in running.itertuples(index=False)]
        in_window = load_idx.loc[[(row.resource, m) for m in window]]
        overtime = float(in_window["overtime_hours"].sum())
        temps = float(in_window["temp_hours"].sum()) if "temp_hours" in in_window else 0.0
        built = short = 0.0
        built_by: list[str] = []
        for sku in drivers:
            short += float(by_sku.loc[(sku, row.period), "qty_short"])
            if t > 0:
                before = by_sku.loc[(sku, months[t - 1])]
                ahead = max(float(before["inventory_end"] - before["safety_stock"]), 0.0)
                built += ahead
                if ahead > 0.5:
                    built_by.append(f"{ahead:,.0f} of {sku}")
        utilisation = row.hours / row.capacity_hours if row.capacity_hours > 0 else np.nan
        rise = "; ".join(f"{sku} (+{r:,.0f} h)" for sku, r in zip(mine["sku"], mine["rise"],
                                                                   strict=True))
        text = (f"{row.resource} in {row.period:%b %Y}: demand needs {row.hours:,.0f} h, "
                + (f"{utilisation * 100:.0f} % of its {row.capacity_hours:,.0f} h regular capacity"
                   if row.capacity_hours > 0 else "but it has no regular capacity"))
        if rise:
            text += f". Above its usual month mainly because of {rise}"
        if promo_text:
            text += f"; promotion {', '.join(promo_text)}"
        levers = []
        span = _month_span(window, 0, len(window) - 1)
        if overtime > 1e-6:
            levers.append(f"{overtime:,.0f} h overtime ({span})")
        if temps > 1e-6:
            levers.append(f"{temps:,.0f} h of temporary staff ({span})")
        if built > 1e-6:
            levers.append(f"{built:,.0f} units built ahead ({listing(built_by)})" if built_by
                          else f"{built:,.0f} units built ahead")
        if levers:
            text += ". The plan covers it with " + " and ".join(levers)
        elif short <= 1e-6:
            text += ". The plan serves it from stock on hand or built earlier"
        else:
            text += ". The plan has no lever left for it"
        text += (f"; {short:,.0f} units of {listing(drivers)} are still short."
                 if short > 1e-6 else "; nothing of it is short." if drivers else ".")
        rows.append({"resource": row.resource, "period": row.period, "demand_hours": row.hours,
                     "capacity_hours": row.capacity_hours, "demand_utilisation": utilisation,
                     "drivers": ", ".join(drivers), "promotions": ", ".join(promo_text),
                     "overtime_hours": overtime, "temp_hours": temps,
                     "built_ahead_units": built, "units_short": short, "explanation": text})
    out = pd.DataFrame(rows, columns=columns)
    for column in ("resource", "drivers", "promotions", "explanation"):
        out[column] = out[column].astype("string")
    excess = out["demand_hours"] - out["capacity_hours"]
    return out.iloc[np.argsort(-excess.to_numpy(), kind="stable")].reset_index(drop=True)


def inventory_projection(plan: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Projected stock against its safety-stock target, and write-offs, per month, valued.

    Units of different SKUs (pumps, pails of oil) do not add up, so the
    projection is valued at ``unit_cost``.

    Parameters
    ----------
    plan : DataFrame
        :attr:`SupplyPlan.plan`.
    products : DataFrame
        ``sku, unit_cost``.

    Returns
    -------
    DataFrame
        One row per month: ``period, inventory_value, safety_stock_value,
        below_target_value`` (value of the stock missing to reach the target,
        summed over SKUs), ``skus_below_target``, ``written_off_units,
        written_off_value``.
    """
    cost = products.assign(sku=products["sku"].astype("string")).drop_duplicates("sku")
    frame = plan.merge(cost[["sku", "unit_cost"]], on="sku", how="left")
    unit_cost = frame["unit_cost"].astype(float).fillna(0.0)
    missing = (frame["safety_stock"] - frame["inventory_end"]).clip(lower=0.0)
    frame = frame.assign(
        inventory_value=frame["inventory_end"] * unit_cost,
        safety_stock_value=frame["safety_stock"] * unit_cost,
        below_target_value=missing * unit_cost,
        skus_below_target=(missing > 1e-6).astype(int),
        written_off_units=frame["qty_written_off"],
        written_off_value=frame["qty_written_off"] * unit_cost)
    columns = ["inventory_value", "safety_stock_value", "below_target_value",
               "skus_below_target", "written_off_units", "written_off_value"]
    return frame.groupby("period", as_index=False)[columns].sum()


def expiry_risk(plan: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Perishable stock the plan writes off because it expires unsold, per SKU.

    Parameters
    ----------
    plan : DataFrame
        :attr:`SupplyPlan.plan`.
    products : DataFrame
        ``sku, family, unit_cost, shelf_life_months`` (``name`` when present).

    Returns
    -------
    DataFrame
        One row per SKU with a write-off: ``sku, family, shelf_life_months,
        first_write_off`` (month), ``written_off_units, written_off_value,
        inventory_start`` (stock at the cycle start) and ``demand_horizon``
        (its demand over the horizon), dearest first.
    """
    lost = plan[plan["qty_written_off"] > 1e-6]
    columns = ["sku", "family", "shelf_life_months", "first_write_off", "written_off_units",
               "written_off_value", "inventory_start", "demand_horizon"]
    if lost.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    master = products.assign(sku=products["sku"].astype("string")).drop_duplicates("sku")
    master = master.set_index("sku")
    first = plan.sort_values("period").groupby("sku").first()
    out = lost.groupby("sku").agg(first_write_off=("period", "min"),
                                  written_off_units=("qty_written_off", "sum"))
    out["written_off_value"] = out["written_off_units"] * master["unit_cost"].reindex(
        out.index).astype(float)
    out["family"] = master["family"].reindex(out.index)
    out["shelf_life_months"] = master.get("shelf_life_months", pd.Series(dtype="Int64")
                                          ).reindex(out.index)
    out["inventory_start"] = first["inventory_start"].reindex(out.index)
    out["demand_horizon"] = plan.groupby("sku")["qty_demand"].sum().reindex(out.index)
    out = out.reset_index()[columns]
    return out.sort_values("written_off_value", ascending=False, ignore_index=True)


def adherence_risk(resource_load: pd.DataFrame, adherence: pd.DataFrame, *,
                   months: int = 3) -> pd.DataFrame:
    """Resources the plan loads beyond what they have shown they deliver.

    The plan counts a resource's hours at face value. Schedule adherence
    (:func:`sopkit.kpi.schedule_adherence` by resource) says what share of
    its schedule it really made lately. Where the plan's first ``months``
    months need more hours than that share of everything the resource could
    give (regular, overtime and temporary staff at their limits), the plan
    asks more than the plant has shown it can do. Adherence is measured in
    units, so a shortfall of material shows as one of hours too: read the
    list as a question for operations, not as a capacity figure.

    Parameters
    ----------
    resource_load : DataFrame
        :attr:`SupplyPlan.resource_load`.
    adherence : DataFrame
        ``resource, schedule_adherence``.
    months : int
        Months of the plan looked at (the near term the plant must deliver).

    Returns
    -------
    DataFrame
        ``resource, schedule_adherence, hours_required`` (over the months),
        ``hours_available`` (regular + overtime + temporary-staff limits),
        ``hours_demonstrated`` (available × adherence), ``months_above``
        (months needing more than their demonstrated hours), ``peak_share``
        (the highest month's hours required / available) and ``first_above``;
        only resources with a month above, most hours short first.
    """
    columns = ["resource", "schedule_adherence", "hours_required", "hours_available",
               "hours_demonstrated", "months_above", "peak_share", "first_above"]
    if resource_load.empty or adherence is None or adherence.empty:
        return pd.DataFrame(columns=columns)
    load = resource_load.copy()
    load["period"] = pd.to_datetime(load["period"])
    first = sorted(load["period"].unique())[:months]
    load = load[load["period"].isin(first)]
    rate = adherence.set_index(adherence["resource"].astype(str))["schedule_adherence"]
    load = load[load["resource"].astype(str).isin(rate.index)].copy()
    if load.empty:
        return pd.DataFrame(columns=columns)
    load["available"] = sum(_floats(_column(load, c, 0.0)) for c in
                            ("capacity_hours", "overtime_max_hours", "temp_max_hours"))
    load["rate"] = load["resource"].astype(str).map(rate).astype(float)
    load["demonstrated"] = load["available"] * load["rate"]
    load["above"] = load["hours_required"] > load["demonstrated"] + 1e-6
    load["share"] = load["hours_required"] / load["available"].where(load["available"] > 0)
    load["above_at"] = load["period"].where(load["above"])
    out = load.groupby("resource", as_index=False).agg(
        schedule_adherence=("rate", "first"), hours_required=("hours_required", "sum"),
        hours_available=("available", "sum"), hours_demonstrated=("demonstrated", "sum"),
        months_above=("above", "sum"), peak_share=("share", "max"),
        first_above=("above_at", "min"))
    out = out[out["months_above"] > 0]
    out = out.assign(_short=out["hours_required"] - out["hours_demonstrated"])
    return out.sort_values(["_short", "resource"], ascending=[False, True],
                           ignore_index=True)[columns]


def stock_run_down(plan: pd.DataFrame, component_usage: pd.DataFrame, bom: pd.DataFrame,
                   components: pd.DataFrame, *, last_months: int = 3,
                   products: pd.DataFrame | None = None) -> pd.DataFrame:
    """Components short to the plan's end: how much of the horizon's service is stock it uses up.

    When a component is short in every month to the plan's end, the plan
    sells what stock it has (its items' finished stock, the component's own)
    and does not rebuild it: lost sales are lost whichever month they fall
    in, and the months after the horizon are not in the model. The
    horizon's shortfall is then smaller than the shortfall per month that
    follows it, once that stock is gone. This says by how much, in the
    component's units.

    Parameters
    ----------
    plan, component_usage : DataFrame
        :attr:`SupplyPlan.plan` and :attr:`SupplyPlan.component_usage`.
    bom, components : DataFrame
        ``sku, component, qty_per`` and ``component`` (``on_hand``).
    last_months : int
        The plan's last months: a component bought at its supplier's capacity
        in each of them, with items short in each, is listed.
    products : DataFrame, optional
        ``sku, price``: the shortage after the horizon is valued at what its
        items' short units were worth per component unit in the last months.

    Returns
    -------
    DataFrame
        One row per such component: ``component, items`` (SKUs using it),
        ``stock_start, stock_end`` (the items' finished stock at the plan's
        start and end), ``safety_stock_end`` (their target in the last
        month), ``component_start, component_end`` (its own stock),
        ``drawn_per_month`` (stock used up and not rebuilt, in component
        units per month of the plan: Σ (stock_start − stock_end) ×
        ``qty_per`` + component_start − component_end, over the months),
        ``short_per_month`` (component units short a month in the last
        months), ``need_per_month`` and ``supply_per_month`` (its items'
        demand in component units, and its suppliers' capacity, a month in the
        last months), ``short_after`` (their difference: short a month once
        the stock is gone, at that demand), ``revenue_at_risk_a_year``
        (``short_after`` × 12 at the revenue its items' short units carried per
        component unit; with ``products``) and ``explanation``; largest drawn
        first.
    """
    columns = ["component", "items", "stock_start", "stock_end", "safety_stock_end",
               "component_start", "component_end", "drawn_per_month", "short_per_month",
               "need_per_month", "supply_per_month", "short_after", "revenue_at_risk_a_year",
               "explanation"]
    if plan.empty or bom.empty or component_usage.empty:
        return pd.DataFrame(columns=columns)
    frame = plan.assign(period=pd.to_datetime(plan["period"]), sku=plan["sku"].astype(str))
    months = sorted(frame["period"].unique())
    late = frame[frame["period"].isin(months[-last_months:])]
    first, last = frame[frame["period"] == months[0]], frame[frame["period"] == months[-1]]
    uses = bom.assign(sku=bom["sku"].astype(str), component=bom["component"].astype(str))
    usage = component_usage.assign(period=pd.to_datetime(component_usage["period"]),
                                   component=component_usage["component"].astype(str))
    on_hand = components.set_index(components["component"].astype(str))["on_hand"] \
        if "on_hand" in components.columns else pd.Series(dtype=float)
    rows = []
    late_usage = usage[usage["period"].isin(months[-last_months:])]
    for component, part in uses.groupby("component"):
        mine = late_usage[late_usage["component"] == component]
        # the component itself binds: bought at its supplier's capacity in each last month
        bound = (mine["supplier_capacity"] > TOL) & (
            mine["qty_purchased"] >= mine["supplier_capacity"] - 1e-6 * mine["supplier_capacity"])
        if len(mine) < min(last_months, len(months)) or not bound.all():
            continue
        per = part.groupby("sku")["qty_per"].sum()
        short = late[late["sku"].isin(per.index)]
        by_month = (short["qty_short"] * short["sku"].map(per)).groupby(short["period"]).sum()
        if len(by_month) < min(last_months, len(months)) or not (by_month > TOL).all():
            continue
        start = first[first["sku"].isin(per.index)]
        end = last[last["sku"].isin(per.index)]
        own = usage[usage["component"] == component].sort_values("period")
        c_start = float(pd.to_numeric(on_hand.get(component, 0.0), errors="coerce") or 0.0)
        c_end = float(own["stock_end"].iloc[-1]) if len(own) else c_start
        drawn = (float(((start.set_index("sku")["inventory_start"]
                         - end.set_index("sku")["inventory_end"]) * per).sum())
                 + c_start - c_end) / len(months)
        if drawn <= TOL:
            continue
        shortfall = float(by_month.mean())
        need = float((short["qty_demand"] * short["sku"].map(per)).sum()) / len(by_month) \
            if "qty_demand" in short.columns else np.nan
        delivered = float((mine["supplier_capacity"] + (mine["backup_capacity"] if
                                                        "backup_capacity" in mine.columns
                                                        else 0.0)).mean())
        after = max(need - delivered, 0.0) if np.isfinite(need) else np.nan
        value = np.nan
        if products is not None and "price" in products.columns and by_month.sum() > 0:
            price = products.set_index(products["sku"].astype(str))["price"].astype(float)
            at_risk = float((short["qty_short"] * short["sku"].map(price).fillna(0.0)).sum())
            value = after * 12 * at_risk / float(by_month.sum())
        row = {"component": component, "items": listing(sorted(per.index), 3),
               "stock_start": float(start["inventory_start"].sum()),
               "stock_end": float(end["inventory_end"].sum()),
               "safety_stock_end": float(end["safety_stock"].sum())
               if "safety_stock" in end.columns else np.nan,
               "component_start": c_start, "component_end": c_end,
               "drawn_per_month": drawn, "short_per_month": shortfall,
               "need_per_month": need, "supply_per_month": delivered, "short_after": after,
               "revenue_at_risk_a_year": value}
        row["explanation"] = (
            f"{component} is short to the plan's end. Its {len(per)} items start with "
            f"{row['stock_start']:,.0f} units in stock and end with {row['stock_end']:,.0f}"
            + (f" (safety stock {row['safety_stock_end']:,.0f})"
               if np.isfinite(row["safety_stock_end"]) else "")
            + f"; its own stock goes from {c_start:,.0f} to {c_end:,.0f}. Counted in "
            f"{component}, the plan serves {drawn:,.0f} a month from stock it does not "
            f"rebuild and is short {shortfall:,.0f} a month in its last {len(by_month)} months"
            + (f"; its items then need {need:,.0f} a month against {delivered:,.0f} delivered, "
               f"so once the stock is gone about {after:,.0f} a month go short at that demand "
               "without added supply" if np.isfinite(after) else "")
            + (f", about {value:,.0f} of revenue a year" if np.isfinite(value) else ""))
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(rows, columns=columns).sort_values(
        "drawn_per_month", ascending=False, ignore_index=True)


def end_of_life_stock(plan: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Phase-outs' stock the plan cannot sell: what is left after their last month of sales.

    Parameters
    ----------
    plan : DataFrame
        :attr:`SupplyPlan.plan`.
    products : DataFrame
        ``sku, family, unit_cost, eol_period``.

    Returns
    -------
    DataFrame
        One row per product with an ``eol_period`` and stock left at the end
        of that month (or, if it lies before the plan, at the plan's start):
        ``sku, family, eol_period, inventory_start`` (stock at the cycle
        start), ``qty_demand_to_eol`` (the plan's demand up to its end of
        life), ``qty_made`` (made in the plan up to then), ``qty_left`` and
        ``value_left`` (at unit cost: to sell off or write off), dearest
        first.
    """
    columns = ["sku", "family", "eol_period", "inventory_start", "qty_demand_to_eol",
               "qty_made", "qty_left", "value_left"]
    if "eol_period" not in products.columns or plan.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    master = products.assign(sku=products["sku"].astype("string")).drop_duplicates("sku")
    master = master[master["eol_period"].notna()].set_index("sku")
    frame = plan[plan["sku"].astype("string").isin(master.index)].copy()
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    frame["period"] = pd.to_datetime(frame["period"])
    rows = []
    for sku, part in frame.sort_values("period").groupby("sku"):
        eol = pd.Timestamp(master.loc[sku, "eol_period"])
        upto = part[part["period"] <= eol]
        left = (float(upto["inventory_end"].iloc[-1]) if len(upto)
                else float(part["inventory_start"].iloc[0]))
        if left <= 0.5 or eol > part["period"].max():
            continue  # sold out, or its end of life lies beyond the plan
        rows.append({"sku": sku, "family": master.loc[sku, "family"],
                     "eol_period": eol,
                     "inventory_start": float(part["inventory_start"].iloc[0]),
                     "qty_demand_to_eol": float(upto["qty_demand"].sum()),
                     "qty_made": float(upto["qty_supply"].sum()), "qty_left": left,
                     "value_left": left * float(np.nan_to_num(
                         pd.to_numeric(master.loc[sku, "unit_cost"], errors="coerce")))})
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values("value_left", ascending=False, ignore_index=True)


# --------------------------------------------------------------------------- synthetic data


def _synthetic_case(n_skus: int, n_months: int, n_resources: int, n_components: int,
                    seed: int = 0) -> tuple[pd.DataFrame, Dataset, pd.Timestamp]:
    """A random but plausible supply problem, for timing the model (not a fixture of record).

    Each SKU routes over two resources and uses three components; capacity is
    set a little below the average load so that overtime, outsourcing,
    build-ahead and shortfalls all occur. A fifth of the SKUs are perishable.
    """
    rng = np.random.default_rng(seed)
    cycle = pd.Timestamp("2026-01-01")
    skus = [f"SKU-{k:05d}" for k in range(n_skus)]
    res_names = [f"RES-{k:03d}" for k in range(n_resources)]
    comp_names = [f"CMP-{k:04d}" for k in range(n_components)]
    price = rng.uniform(20, 200, n_skus).round(2)
    unit_cost = (price * rng.uniform(0.4, 0.8, n_skus)).round(2)
    outsourceable = rng.random(n_skus) < 0.3
    products = pd.DataFrame({
        "sku": pd.array(skus, dtype="string"),
        "family": pd.array(["F"] * n_skus, dtype="string"),
        "lifecycle_status": pd.array(["active"] * n_skus, dtype="string"),
        "price": price, "unit_cost": unit_cost,
        "priority_tier": pd.array(rng.integers(1, 4, n_skus), dtype="Int64"),
        "shelf_life_months": pd.array(np.where(rng.random(n_skus) < 0.2,
                                               rng.integers(2, 7, n_skus), None), dtype="Int64"),
        "outsource_cost": np.where(outsourceable, unit_cost * 1.3, np.nan),
        "outsource_max": np.where(outsourceable, rng.uniform(5, 30, n_skus).round(), np.nan),
    })
    months = month_range(cycle, n_months)
    base = rng.gamma(2.0, 25.0, n_skus)
    qty = base[:, None] * rng.uniform(0.7, 1.3, (n_skus, n_months))
    demand = pd.DataFrame({
        "sku": pd.array(np.repeat(skus, n_months), dtype="string"),
        "period": np.tile(months.to_numpy(), n_skus),
        "qty_consensus": qty.ravel().round(1),
    })
    demand["qty_q95"] = (demand["qty_consensus"] * 1.4).round(1)

    route_res = np.stack([rng.choice(n_resources, 2, replace=False) for _ in range(n_skus)])
    hours = rng.uniform(0.05, 0.5, (n_skus, 2))
    routings = pd.DataFrame({
        "sku": pd.array(np.repeat(skus, 2), dtype="string"),
        "resource": pd.array(np.array(res_names)[route_res.ravel()], dtype="string"),
        "hours_per_unit": hours.ravel().round(3),
    })
    load = np.bincount(route_res.ravel(), (hours * base[:, None]).ravel(), minlength=n_resources)
    resources = pd.DataFrame({
        "resource": pd.array(res_names, dtype="string"),
        "capacity_hours": (load * 0.9).round(1),
        "overtime_max_hours": (load * 0.05).round(1),
        "overtime_cost_per_hour": 40.0,
    })
    n_per = min(3, n_components)
    bom_comp = np.stack([rng.choice(n_components, n_per, replace=False) for _ in range(n_skus)])
    qty_per = rng.integers(1, 4, (n_skus, n_per)).astype(float)
    bom = pd.DataFrame({
        "sku": pd.array(np.repeat(skus, n_per), dtype="string"),
        "component": pd.array(np.array(comp_names)[bom_comp.ravel()], dtype="string"),
        "qty_per": qty_per.ravel(),
    })
    use = np.bincount(bom_comp.ravel(), (qty_per * base[:, None]).ravel(), minlength=n_components)
    components = pd.DataFrame({
        "component": pd.array(comp_names, dtype="string"),
        "supplier_capacity": (use * 0.95).round(),
        "unit_cost": 2.0,
        "on_hand": (use * 0.5).round(),
    })
    inventory = pd.DataFrame({
        "sku": pd.array(skus, dtype="string"),
        "qty": (base * rng.uniform(0, 1.5, n_skus)).round(),
        "produced_period": cycle - pd.DateOffset(months=1),
    })
    data = Dataset.from_frames({"products": products, "resources": resources,
                                "routings": routings, "components": components, "bom": bom,
                                "inventory": inventory})
    return demand, data, cycle
