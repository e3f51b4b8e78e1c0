"""The data contract: every input table, its columns, types, units and rules.

One declarative description (:data:`TABLES`) drives three things, so they can
never disagree: parsing of the CSV/Excel files (:mod:`sopkit.io`), the pandera
schemas that check them lazily (:func:`pandera_schema`), and the reference in
``docs/data-contract.md`` (:func:`markdown_reference`).

Types
-----
``str``      free text or a code, stripped of surrounding blanks
``month``    ``YYYY-MM``; held in memory as the month-start ``Timestamp``
``float``    a number; ``1234.5`` or, from a European Excel, ``1234,5``
``int``      a whole number
``bool``     ``true/false``, ``yes/no``, ``1/0`` (any case)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # str | month | float | int | bool
    description: str
    unit: str = ""
    required: bool = True  # column must be present
    nullable: bool = False  # blank cells allowed
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    choices: tuple[str, ...] | None = None
    default: object = None  # value used when an optional column is absent


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    required: bool = True  # file must exist
    references: tuple[tuple[str, str, str], ...] = ()  # (column, table, column)
    # Columns whose unknown reference sets the row aside (left out of planning and reported
    # as a data-quality finding by sopkit.quality) instead of stopping the load.
    set_aside_unknown: tuple[str, ...] = ()
    # (earlier, later, why): a row whose ``later`` is before its ``earlier`` is refused.
    order: tuple[tuple[str, str, str], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def file_stem(self) -> str:
        return self.name

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


C = Column
LIFECYCLE = ("active", "npi", "eol", "discontinued")
STOCKING = ("mts", "mto")  # made to stock, made to order

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "products",
            "The product master: one row per finished-goods SKU.",
            (
                C("sku", "str", "SKU code, unique."),
                C("name", "str", "Product name as shown to people.", nullable=True, required=False),
                C("family", "str",
                  "Product family (the level at which the executive plan is read)."),
                C("unit", "str", "Unit of measure of every quantity of this SKU.", "",
                  required=False, default="ea"),
                C("lifecycle_status", "str", "Where the SKU stands in its life.",
                  choices=LIFECYCLE),
                C("launch_period", "month", "First month of sales of a new product.", "YYYY-MM",
                  required=False, nullable=True),
                C("eol_period", "month", "Last month of sales of a product being phased out; "
                  "its forecast fades over the three months up to it (to 75 %, 50 %, 25 %) and "
                  "is zero after it.", "YYYY-MM", required=False, nullable=True),
                C("price", "float", "Net selling price.", "currency/unit", min=0),
                C("unit_cost", "float", "Standard cost of goods (material and conversion).",
                  "currency/unit", min=0),
                C("priority_tier", "int", "Service priority: 1 is served first when capacity is "
                  "short.", min=1, max=9),
                C("shelf_life_months", "int", "Months a unit can be sold after it is made; blank "
                  "for non-perishable items.", "months", required=False, nullable=True, min=1),
                C("lead_time_months", "int", "Production lead time (for the record: the supply "
                  "plan does not model lead times).", "months", required=False,
                  nullable=True, min=0),
                C("outsource_cost", "float", "Unit cost when bought from a contract manufacturer; "
                  "blank if it cannot be outsourced.", "currency/unit", required=False,
                  nullable=True, min=0),
                C("outsource_max", "float", "Most units a contract manufacturer can supply a "
                  "month.", "units/month", required=False, nullable=True, min=0),
                C("outsource_co2e_kg_per_unit", "float", "Emissions of a unit bought from the "
                  "contract manufacturer, its transport to us included (in-house emissions come "
                  "from the resources' co2e_kg_per_hour).", "kg CO2e/unit", min=0,
                  required=False, default=0.0),
                C("analog_sku", "str", "For a new product: an existing SKU whose launch it is "
                  "expected to resemble; used when its first 12 months after launch are in the "
                  "history, else analogs are chosen by family and price (sopkit.lifecycle).",
                  required=False, nullable=True),
                C("launch_volume", "float", "For a new product: expected monthly demand once "
                  "ramped up; the analogs' launch curve is scaled to it (blank: to the "
                  "analogs' own ramped-up demand).", "units/month", required=False,
                  nullable=True, min=0),
                C("stocking", "str", "How it is stocked: mts (made to stock: the supply plan "
                  "holds a safety stock against its forecast error) or mto (made or engineered "
                  "to order: no safety stock; stock only where building ahead of a capacity "
                  "limit costs less than a shortfall).", required=False, default="mts",
                  choices=STOCKING),
            ),
            key=("sku",),
        ),
        Table(
            "actuals",
            "Demand history: orders (or shipments) per SKU and month.",
            (
                C("sku", "str", "SKU code (must be in products)."),
                C("period", "month", "Month of the demand.", "YYYY-MM"),
                C("qty", "float", "Quantity demanded in the month. Returns are not netted here.",
                  "units", min=0),
            ),
            key=("sku", "period"),
            references=(("sku", "products", "sku"),),
            set_aside_unknown=("sku",),
        ),
        Table(
            "pipeline",
            "Sales pipeline deals, as snapshots taken each cycle. Past snapshots are the "
            "history from which the lumpy-demand model learns how far to trust the pipeline.",
            (
                C("snapshot", "month", "Month in which this record of the pipeline was taken.",
                  "YYYY-MM"),
                C("deal_id", "str", "Deal identifier, stable across snapshots."),
                C("sku", "str", "SKU code (must be in products)."),
                C("period", "month", "Month in which the order is expected.", "YYYY-MM"),
                C("qty", "float", "Quantity of the deal line.", "units", min=0,
                  min_exclusive=True),
                C("probability", "float", "Win probability stated by sales.", "0-1", min=0, max=1),
                C("owner", "str", "Account owner.", required=False, nullable=True),
                C("stage", "str", "Sales stage (e.g. qualify, propose, negotiate, commit).",
                  required=False, nullable=True),
                C("note", "str", "Free text from sales.", required=False, nullable=True),
                C("outcome", "str", "For a closed deal, what the CRM recorded: won or lost "
                  "(blank while the deal is open). A row with an outcome is not an open deal; "
                  "the lumpy-demand model learns from recorded outcomes and infers the others "
                  "from demand.", required=False, nullable=True, choices=("won", "lost")),
            ),
            key=("snapshot", "deal_id", "sku", "period"),
            required=False,
            references=(("sku", "products", "sku"),),
            set_aside_unknown=("sku",),
        ),
        Table(
            "adjustments",
            "Manual forecast adjustments by sales, marketing or planners: who, when, what "
            "and why. Past adjustments are the track record used to debias new ones.",
            (
                C("snapshot", "month", "Month in which the adjustment was recorded. As for "
                  "pipeline snapshots, what is recorded in month M is made for the cycle M+1 "
                  "(and an adjustment recorded in the cycle's own month is used by it too).",
                  "YYYY-MM"),
                C("owner", "str", "Who entered it."),
                C("sku", "str", "SKU code (must be in products)."),
                C("period", "month", "Month adjusted.", "YYYY-MM"),
                C("qty_delta", "float", "Change to the statistical forecast (negative lowers it).",
                  "units"),
                C("reason", "str", "Why.", required=False, nullable=True),
            ),
            key=("snapshot", "owner", "sku", "period"),
            required=False,
            references=(("sku", "products", "sku"),),
            order=(("snapshot", "period", "an adjustment changes the forecast of a month still "
                    "to come; a past month has its actuals"),),
        ),
        Table(
            "promotions",
            "Planned promotions and campaigns with their expected lift.",
            (
                C("promo_id", "str", "Promotion identifier."),
                C("sku", "str", "SKU code (must be in products)."),
                C("start_period", "month", "First month of the promotion.", "YYYY-MM"),
                C("end_period", "month", "Last month of the promotion.", "YYYY-MM"),
                C("lift", "float", "Expected uplift over the baseline (0.3 = +30 %; at most 10 = "
                  "+1,000 %, so that a percent typed as a number, 90 for +90 %, is refused).",
                  "fraction", min=-1, max=10),
                C("note", "str", "Free text.", required=False, nullable=True),
            ),
            key=("promo_id", "sku"),
            required=False,
            references=(("sku", "products", "sku"),),
            order=(("start_period", "end_period", "a promotion ends on or after its first "
                    "month"),),
        ),
        Table(
            "resources",
            "Production resources (lines, work centres, crews) and their monthly capacity.",
            (
                C("resource", "str", "Resource code, unique."),
                C("resource_family", "str", "Group used for the long-range capacity outlook.",
                  required=False, nullable=True),
                C("capacity_hours", "float", "Regular capacity per month.", "hours/month", min=0),
                C("overtime_max_hours", "float", "Most overtime per month.", "hours/month", min=0,
                  required=False, default=0.0),
                C("cost_per_hour", "float", "Variable cost of a regular hour (already in unit "
                  "cost; used to price added capacity).", "currency/hour", min=0,
                  required=False, default=0.0),
                C("overtime_cost_per_hour", "float", "Extra cost of an overtime hour.",
                  "currency/hour", min=0, required=False, default=0.0),
                C("temp_max_hours", "float", "Most hours temporary staff can add per month "
                  "(0: not available).", "hours/month", min=0, required=False, default=0.0),
                C("temp_cost_per_hour", "float", "Extra cost of an hour of temporary staff "
                  "over a regular hour (agency fee, training).", "currency/hour", min=0,
                  required=False, default=0.0),
                C("capacity_lead_time_months", "int", "Months from deciding new capacity "
                  "(a shift, a machine, a line) to having it; the rough-cut outlook flags the "
                  "month by which that decision is due.", "months", min=0, required=False,
                  default=6),
                C("co2e_kg_per_hour", "float", "Emissions of an hour of work.", "kg CO2e/hour",
                  min=0, required=False, default=0.0),
            ),
            key=("resource",),
        ),
        Table(
            "routings",
            "Hours each SKU needs on each resource.",
            (
                C("sku", "str", "SKU code (must be in products)."),
                C("resource", "str", "Resource code (must be in resources)."),
                C("hours_per_unit", "float", "Hours of the resource per unit made.", "hours/unit",
                  min=0, min_exclusive=True),
            ),
            key=("sku", "resource"),
            references=(("sku", "products", "sku"), ("resource", "resources", "resource")),
        ),
        Table(
            "components",
            "Purchased components and their suppliers' monthly capacity.",
            (
                C("component", "str", "Component code, unique."),
                C("name", "str", "Component name.", required=False, nullable=True),
                C("supplier", "str", "Supplier name.", required=False, nullable=True),
                C("supplier_capacity", "float", "Most units the supplier can deliver a month.",
                  "units/month", min=0),
                C("unit_cost", "float", "Purchase price (already in the SKUs' unit cost).",
                  "currency/unit", min=0, required=False, default=0.0),
                C("lead_time_months", "int", "Purchase lead time: with purchase_orders.csv, the "
                  "plan's first months receive only what is on order (also shown with "
                  "last-time buys).", "months", min=0, required=False, nullable=True),
                C("on_hand", "float", "Stock on hand at the start of the cycle.", "units", min=0,
                  required=False, default=0.0),
                C("backup_capacity", "float", "Most units a backup (second-source) supplier "
                  "can deliver a month (0: none).", "units/month", min=0, required=False,
                  default=0.0),
                C("backup_extra_cost", "float", "Extra cost of a unit from the backup supplier "
                  "over the regular purchase price.", "currency/unit", min=0, required=False,
                  default=0.0),
            ),
            key=("component",),
            required=False,
        ),
        Table(
            "bom",
            "Bill of materials: components per unit of each SKU.",
            (
                C("sku", "str", "SKU code (must be in products)."),
                C("component", "str", "Component code (must be in components)."),
                C("qty_per", "float", "Components per unit of the SKU.", "units/unit", min=0,
                  min_exclusive=True),
            ),
            key=("sku", "component"),
            required=False,
            references=(("sku", "products", "sku"), ("component", "components", "component")),
        ),
        Table(
            "inventory",
            "Stock on hand at the start of the cycle, by lot.",
            (
                C("sku", "str", "SKU code (must be in products)."),
                C("qty", "float", "Units on hand.", "units", min=0),
                C("produced_period", "month", "Month the lot was made (for shelf life); blank "
                  "if unknown.", "YYYY-MM", required=False, nullable=True),
                C("location", "str", "Warehouse.", required=False, nullable=True),
            ),
            key=(),
            references=(("sku", "products", "sku"),),
            set_aside_unknown=("sku",),
        ),
        Table(
            "budget",
            "The financial budget, by product family and month (optional).",
            (
                C("family", "str", "Product family."),
                C("period", "month", "Month.", "YYYY-MM"),
                C("revenue", "float", "Budgeted revenue.", "currency", min=0),
                C("qty", "float", "Budgeted volume.", "units", min=0, required=False,
                  nullable=True),
            ),
            key=("family", "period"),
            required=False,
        ),
        Table(
            "production",
            "Production as the ERP recorded it: what was scheduled and what was made, per "
            "SKU and month (optional). It gives the schedule-adherence KPI.",
            (
                C("period", "month", "Month of production.", "YYYY-MM"),
                C("sku", "str", "SKU code (must be in products)."),
                C("planned_qty", "float", "Quantity scheduled for the month: the production "
                  "plan released to the shop floor (0 when none was scheduled).", "units",
                  min=0),
                C("actual_qty", "float", "Good quantity produced in the month.", "units",
                  min=0),
                C("resource", "str", "Resource (line) the quantity was scheduled on (must be "
                  "in resources); blank or absent: adherence by resource counts the SKU on "
                  "every resource of its routing.", required=False, nullable=True),
            ),
            key=("period", "sku", "resource"),
            required=False,
            references=(("sku", "products", "sku"), ("resource", "resources", "resource")),
            set_aside_unknown=("sku",),
            notes=(
                "Schedule adherence (`sopkit.kpi.schedule_adherence`) is "
                "Σ min(actual_qty, planned_qty) / Σ planned_qty over the rows of the last "
                "closed months: production above plan does not make up for production below "
                "it elsewhere, and a row planned at 0 counts as unplanned production.",
                "`planned_qty` is required: adherence measures the schedule the ERP released, "
                "not the monthly S&OP plan. To measure against the plan of record instead, "
                "fill it from `sop plans export --cycle YYYY-MM --table supply` (the month's "
                "`qty_supply` less `qty_outsourced`).",
                "A blank `resource` is a value of the key: a SKU and month appear once "
                "without a resource, or once per resource.",
            ),
        ),
        Table(
            "purchase_orders",
            "Component purchase orders placed and not yet delivered, by month due "
            "(optional). With a component's `lead_time_months` they bound what its supplier "
            "delivers in the first months of the plan.",
            (
                C("component", "str", "Component code (must be in components)."),
                C("period", "month", "Month the order is due; a month before the cycle "
                  "(overdue) counts as due in the cycle month.", "YYYY-MM"),
                C("qty", "float", "Units ordered and not yet delivered.", "units", min=0),
                C("order", "str", "Purchase order number, for the record.", required=False,
                  nullable=True),
            ),
            key=(),
            required=False,
            references=(("component", "components", "component"),),
            notes=(
                "Purchase lead times: a component ordered at the start of the cycle month "
                "arrives `lead_time_months` later, so in the plan's first `lead_time_months` "
                "months its supplier delivers at most what these orders bring (0 where none "
                "is due; a month's orders above `supplier_capacity` count up to it), then up "
                "to `supplier_capacity`. The backup supplier is the expediting lever: its "
                "`backup_capacity` is not bound by the lead time.",
                "Without this file (or with one holding no rows) no lead time is applied: the "
                "plan may buy up to `supplier_capacity` from the first month, and the supply "
                "review says so. A component with a lead time and no order due inside it "
                "gets nothing from its main supplier until the lead time ends; the supply "
                "review names such components.",
            ),
        ),
    ]
}

READ_ORDER = list(TABLES)

# The input of `sop forecast`: a demand history on its own, as exported from an
# ERP. Unlike actuals.csv it may hold returns (negative quantities, clipped to
# zero for modelling) and blank quantities (no demand recorded: zero), and its
# SKUs need no product master.
HISTORY = Table(
    "history",
    "Demand history for `sop forecast`.",
    (
        C("sku", "str", "Series identifier."),
        C("period", "month", "Month of the demand.", "YYYY-MM"),
        C("qty", "float", "Demand; negative values (returns) are clipped to 0, blank is 0.",
          "units", nullable=True),
    ),
    key=("sku", "period"),
)


PREVIOUS_MODELS = Table(
    "previous models",
    "The models of an earlier forecast: `sop forecast --previous` (its output will do: "
    "one row per SKU and period, other columns ignored) and the archive's "
    "`models_<cycle>.csv` (`sopkit.io.read_model_labels`).",
    (
        C("sku", "str", "Series identifier."),
        C("model", "str", "The model label that forecast chose (`ses`, `combo:ma3+ses`...)."),
    ),
)


def pandera_schema(table: Table, check_key: bool = True) -> pa.DataFrameSchema:
    """The pandera schema of a table, applied after :mod:`sopkit.io` has parsed types.

    Range, choice, null and key-uniqueness rules are checks here; type
    conversion is the loader's job, because it must report the file row of
    every bad cell.
    """
    columns = {}
    for col in table.columns:
        checks = []
        if col.min is not None:
            checks.append(
                pa.Check.gt(col.min) if col.min_exclusive else pa.Check.ge(col.min)
            )
        if col.max is not None:
            checks.append(pa.Check.le(col.max))
        if col.choices:
            checks.append(pa.Check.isin(list(col.choices)))
        columns[col.name] = pa.Column(
            None,
            checks=checks,
            nullable=True,  # blank cells are reported by the loader, with their row
            required=False,
            description=col.description,
        )
    unique = list(table.key) if (table.key and check_key) else None
    return pa.DataFrameSchema(columns, unique=unique, name=table.name, strict=False)


def markdown_reference() -> str:
    """The data contract as Markdown (written into ``docs/data-contract.md``)."""
    out = []
    for table in TABLES.values():
        need = "required" if table.required else "optional"
        out.append(f"### `{table.name}.csv` ({need})\n\n{table.description}\n")
        if table.key:
            out.append(f"Key (unique): `{', '.join(table.key)}`.\n")
        out.append("| column | type | unit | required | blank allowed | rule | meaning |")
        out.append("|---|---|---|---|---|---|---|")
        for col in table.columns:
            rule = []
            if col.min is not None:
                rule.append(("> " if col.min_exclusive else ">= ") + f"{col.min:g}")
            if col.max is not None:
                rule.append(f"<= {col.max:g}")
            if col.choices:
                rule.append("one of " + ", ".join(col.choices))
            if col.default is not None and not col.required:
                rule.append(f"default {col.default}")
            out.append(
                f"| `{col.name}` | {col.dtype} | {col.unit} | {'yes' if col.required else 'no'} "
                f"| {'yes' if col.nullable else 'no'} | {'; '.join(rule)} | {col.description} |"
            )
        if table.references:
            refs = ", ".join(f"`{c}` → `{t}.{rc}`" for c, t, rc in table.references)
            out.append(f"\nReferences: {refs}.\n")
        for earlier, later, why in table.order:
            out.append(f"\nRule: `{later}` >= `{earlier}` on every row ({why}).\n")
        if table.set_aside_unknown:
            cols = ", ".join(f"`{c}`" for c in table.set_aside_unknown)
            out.append(f"A row whose {cols} is not in the referenced table does not stop "
                       "planning: it is set aside (left out of the plan) and listed as a "
                       "data-quality finding (`unknown_sku`) with its file and row.\n")
        for note in table.notes:
            out.append(f"{note}\n")
        out.append("")
    return "\n".join(out)


def empty_frame(table: Table) -> pd.DataFrame:
    """An empty frame with the table's columns and in-memory dtypes."""
    dtypes = {"str": "string", "month": "datetime64[ns]", "float": "float64", "int": "Int64",
              "bool": "boolean"}
    return pd.DataFrame({c.name: pd.Series(dtype=dtypes[c.dtype]) for c in table.columns})


def document() -> str:
    """The whole ``docs/data-contract.md``: the hand-written introduction and the reference."""
    from pathlib import Path

    intro = Path(__file__).resolve().parent.parent / "docs" / "_contract_intro.md"
    head = intro.read_text(encoding="utf-8") if intro.is_file() else "# The data contract\n\n"
    return head + markdown_reference()


if __name__ == "__main__":  # pragma: no cover
    print(document(), end="")
