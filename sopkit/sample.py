"""The bundled sample company: a seeded, realistic mid-size manufacturer.

*Nordvik Flow Systems* makes industrial fluid-handling equipment. At the
default size it sells about 300 SKUs in nine product families:

===================  ======  ==========================================================
family               codes   what it is like
===================  ======  ==========================================================
Industrial pumps     PMP     the revenue core; smooth demand with trend, summer peak
Valves               VLV     smooth and erratic, a few slow movers
Seals & gaskets      SEA     cheap, high-volume, smooth; the volume best-sellers
Sensors              SEN     smooth/erratic; built around the CB-100 controller board
Controllers          CTL     smooth/erratic; built around the CB-100 controller board
Spare-parts kits     SPK     lumpy and intermittent after-market demand
Lubricants           LUB     perishable (shelf life 6-12 months), seasonal, spring peak
Service kits         SVC     intermittent, autumn service season
Project systems      PRJ     engineered skids at 40-200 k each; lumpy orders that sales
                             announce months ahead in the pipeline
===================  ======  ==========================================================

Three years of monthly history (``n_months``) end the month before the cycle.
Revenue is Pareto-shaped: about a fifth of the SKUs make about four fifths of
the revenue. Every SKU has a demand pattern (smooth, seasonal, erratic,
intermittent, lumpy) and a life-cycle status: new products (``npi``) launched
in the last months or launching in the next six, with an analog SKU and an
expected launch volume; ``eol`` products fading out towards their last month;
``discontinued`` products with no recent demand.

The pipeline has one snapshot per month for the last 24 months; the latest is
the current one. Deals keep their ``deal_id`` across snapshots, slip later,
get lost, and, when won, land in the actuals in the month they closed. Sales
are optimistic: the stated probabilities average well above the win rate, and
each of the five account owners is optimistic in his or her own way.
Planners, sales and marketing have entered manual forecast adjustments for
two years: mostly small increases that did not come true, and a few large
cuts that did.

Planted S&OP conflicts, which the cycle's notebooks should surface:

* **A promotion nobody told supply about**: a large campaign (+90 %) on the
  best-selling pump in the third and fourth planning months pushes the
  machining centre and the hydraulic test bench past capacity.
* **Two launches, one line**: two new pumps launch in consecutive months on
  the new-platform assembly line, which can serve only one of them at full
  volume.
* **One supplier, two product lines**: sensors and controllers both need the
  CB-100 controller board; its supplier delivers less than both lines need.
* **Slow stock expiring while a best-seller runs out**: a slow lubricant
  holds months of stock that is about to pass its shelf life, while a
  best-seller (the biggest outside pumps and projects) has almost none.
* **Pipeline optimism and slip**: project systems depend on deals whose
  stated probabilities and dates cannot be taken at face value.
* **Planned after-market orders**: the large orders of the intermittent and
  lumpy spare-parts and service kits come from customers' planned shutdowns
  and service campaigns; two field-service engineers list most of them in
  the pipeline 2-6 months ahead (dates move, some quotes are lost), while
  small breakdown orders arrive unannounced (:meth:`_Company._aftermarket`).
* **An optimistic budget**: the family budgets sit 4-12 % above what the
  history supports.
* Capacity is tight overall (about 80-90 % average utilisation), with one
  or two bottlenecks above 100 % in peak and promotion months. Temporary
  staff can add 10-15 % on the manual assembly and packaging lines (not on
  the machining centre, the test benches or the new pump platform), and
  bearings, boxes and base oil have a second-source supplier (the controller
  board has none). New capacity takes 3-12 months by resource family.
* **A last-time buy**: the last product to reach its end of life has a
  component of its own, with about a month of stock against the phase-out
  still to make.
* **A schedule that is not quite kept**: the last 12 months of production
  (planned and actual quantities per SKU made in-house) show a schedule
  adherence of about 93 %, with the machining centre and the hydraulic test
  bench falling 10-20 % short in their busiest months, a little
  over-production and a few rush orders made without a schedule.

Planted master-data faults (:func:`plant_faults`; ``faults=False`` leaves
them out), which the product review lists: orders, a deal and a stock lot on
codes missing from the product master, a SKU without routing, a unit cost of
0, a price below cost, SKUs without lead time, a name and a SKU entered
twice, a unit differing from its family's, histories with missing months and
a misspelt analog code.

The pipeline notes hold one ``<script>`` snippet and one note starting with
``=`` so reports can be tested for HTML escaping and spreadsheet formula
injection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sopkit.contract import TABLES
from sopkit.errors import ParameterError
from sopkit.periods import add_months, cycle_month

MIN_SKUS = 30
MIN_MONTHS = 24
HORIZON = 12  # months of budget and of the capacity calibration
N_SNAPSHOTS = 24
REVENUE_PER_SKU = 250_000.0  # yearly; sets the company's size (about 75 M at 300 SKUs)


@dataclass(frozen=True)
class _Family:
    code: str
    name: str
    sku_share: float
    revenue_share: float
    price: float  # median net price
    price_sigma: float
    patterns: tuple[tuple[str, float], ...]
    peak_month: int  # calendar month of the seasonal peak
    lead_time: int
    unit: str
    kinds: tuple[tuple[str, str, int, int, int], ...]  # type, model prefix, number range/step
    routing: tuple[tuple[str, float, float, float], ...]  # role, min h, max h, probability
    components: tuple[tuple[str, str, tuple[str, ...], float, float], ...]
    outsourceable: bool
    min_skus: int = 2


FAMILIES: tuple[_Family, ...] = (
    _Family(
        "PMP", "Industrial pumps", 0.14, 0.25, 2200.0, 0.6,
        (("smooth", 0.5), ("seasonal", 0.3), ("erratic", 0.2)), 7, 1, "ea",
        (("Centrifugal pump", "CP", 50, 400, 10), ("Multistage pump", "MS", 10, 120, 5),
         ("Submersible pump", "SP", 20, 300, 5), ("Dosing pump", "DP", 2, 60, 2),
         ("Booster pump", "BP", 10, 200, 5)),
        (("ASM-P", 1.0, 4.0, 1.0), ("MCH", 0.5, 2.0, 0.9), ("TST-H", 0.3, 0.8, 1.0)),
        (("Electric motor", "Voltmark Motors", ("1.5 kW", "4 kW", "7.5 kW", "15 kW"), 1, 1),
         ("Pump housing casting", "Brenner Foundry", ("GG25", "stainless"), 1, 1),
         ("Impeller", "Brenner Foundry", ("bronze", "stainless"), 1, 1),
         ("Bearing set", "Rolltech", ("6205", "6308"), 1, 2)),
        True, 5,
    ),
    _Family(
        "VLV", "Valves", 0.16, 0.14, 420.0, 0.7,
        (("smooth", 0.4), ("seasonal", 0.15), ("erratic", 0.3), ("intermittent", 0.15)), 6, 1,
        "ea",
        (("Ball valve", "BV", 15, 150, 5), ("Butterfly valve", "BF", 50, 400, 25),
         ("Gate valve", "GV", 25, 300, 25), ("Check valve", "CV", 15, 200, 5)),
        (("ASM-V", 0.4, 1.5, 1.0), ("MCH", 0.2, 0.8, 0.7), ("TST-H", 0.1, 0.3, 0.5)),
        (("Valve body casting", "Brenner Foundry", ("DN25", "DN50", "DN100"), 1, 1),
         ("Ball and stem set", "Precisa Parts", ("DN25", "DN50"), 1, 1),
         ("Pneumatic actuator", "Airdrive", ("size 1", "size 2"), 1, 1),
         ("PTFE seat ring", "Polyseal", ("small", "large"), 2, 2)),
        True,
    ),
    _Family(
        "SEA", "Seals & gaskets", 0.12, 0.08, 28.0, 0.6,
        (("smooth", 0.7), ("seasonal", 0.1), ("erratic", 0.2)), 3, 0, "ea",
        (("O-ring kit", "OR", 10, 120, 2), ("Mechanical seal", "MS", 20, 100, 5),
         ("Flat gasket", "FG", 25, 400, 25), ("Spiral wound gasket", "SW", 25, 300, 25)),
        (("MCH", 0.01, 0.04, 0.6), ("PKG", 0.01, 0.03, 1.0)),
        (("Elastomer compound", "Polyseal", ("NBR", "FKM", "EPDM"), 0.05, 0.2),
         ("PTFE sheet", "Polyseal", ("1 mm", "3 mm"), 0.05, 0.2),
         ("Spring steel wire", "Stahlwerk Ost", ("0.5 mm",), 0.02, 0.1)),
        True,
    ),
    _Family(
        "SEN", "Sensors", 0.12, 0.09, 310.0, 0.5,
        (("smooth", 0.5), ("erratic", 0.3), ("intermittent", 0.2)), 4, 1, "ea",
        (("Pressure sensor", "PS", 10, 400, 10), ("Temperature sensor", "TS", 100, 500, 100),
         ("Flow sensor", "FS", 15, 150, 5), ("Level sensor", "LS", 1, 30, 1)),
        (("ELX", 0.2, 0.6, 1.0), ("TST-E", 0.1, 0.3, 0.8)),
        (("Pressure cell", "Kappa Sensing", ("10 bar", "40 bar"), 1, 1),
         ("Sensor housing", "Precisa Parts", ("G1/2", "G1/4"), 1, 1),
         ("Cable gland", "Voltmark Motors", ("M12",), 1, 2)),
        False,
    ),
    _Family(
        "CTL", "Controllers", 0.10, 0.10, 950.0, 0.5,
        (("smooth", 0.45), ("erratic", 0.35), ("intermittent", 0.2)), 4, 2, "ea",
        (("Pump controller", "PC", 1, 30, 1), ("Valve positioner", "VP", 10, 90, 10),
         ("Drive controller", "DC", 2, 90, 2)),
        (("ELX", 0.6, 2.0, 1.0), ("TST-E", 0.3, 0.8, 1.0)),
        (("Enclosure IP65", "Precisa Parts", ("small", "large"), 1, 1),
         ("Display module", "Kappa Sensing", ("3.5 in", "7 in"), 1, 1),
         ("Power supply 24 V", "Voltmark Motors", ("60 W", "120 W"), 1, 1)),
        False,
    ),
    _Family(
        "SPK", "Spare-parts kits", 0.16, 0.05, 260.0, 0.7,
        (("lumpy", 0.6), ("intermittent", 0.4)), 1, 0, "ea",
        (("Impeller kit", "IK", 50, 400, 10), ("Bearing kit", "BK", 20, 90, 5),
         ("Wear-ring kit", "WK", 40, 200, 10), ("Shaft kit", "SK", 20, 80, 5)),
        (("PKG", 0.2, 0.6, 1.0), ("MCH", 0.3, 1.5, 0.5)),
        (("Bearing set", "Rolltech", ("6204", "6306"), 1, 2),
         ("Wear ring", "Precisa Parts", ("small", "large"), 1, 2),
         ("Kit box", "Cartona", ("S", "L"), 1, 1)),
        True,
    ),
    _Family(
        "LUB", "Lubricants", 0.08, 0.05, 85.0, 0.5,
        (("seasonal", 0.7), ("smooth", 0.3)), 4, 0, "pail",
        (("Bearing grease", "BG", 1, 3, 1), ("Hydraulic oil HLP", "HLP", 22, 100, 8),
         ("Gear oil CLP", "CLP", 100, 460, 40), ("Food-grade lubricant", "FG", 1, 9, 1)),
        (("FIL", 0.02, 0.05, 1.0), ("PKG", 0.005, 0.015, 0.3)),
        (("Base oil (kg)", "Nordic Refining", ("group II", "group III"), 15, 20),
         ("Additive package (kg)", "Chemadd", ("AW", "EP"), 0.5, 1.5),
         ("Pail 20 l", "Cartona", ("steel", "plastic"), 1, 1)),
        True,
    ),
    _Family(
        "SVC", "Service kits", 0.07, 0.04, 180.0, 0.5,
        (("intermittent", 0.6), ("lumpy", 0.2), ("seasonal", 0.2)), 10, 0, "ea",
        (("Annual service kit", "ASK", 10, 200, 10), ("Overhaul kit", "OK", 10, 100, 10)),
        (("PKG", 0.3, 0.8, 1.0),),
        (("Filter element", "Filtra", ("10 um", "25 um"), 1, 2),
         ("Gasket set", "Polyseal", ("S", "L"), 1, 1),
         ("Service manual print", "Cartona", ("EN/DE",), 1, 1)),
        True,
    ),
    _Family(
        "PRJ", "Project systems", 0.05, 0.20, 85000.0, 0.45,
        (("project", 1.0),), 1, 4, "set",
        (("Booster station", "BS", 2, 6, 1), ("Water treatment skid", "WTS", 10, 90, 10),
         ("Fire-fighting pump set", "FP", 200, 900, 100), ("Dosing skid", "DSK", 2, 12, 2)),
        (("PRJ", 80.0, 260.0, 1.0), ("TST-H", 10.0, 30.0, 0.7), ("ELX", 4.0, 16.0, 0.5)),
        (("Skid frame", "Stahlwerk Ost", ("small", "large"), 1, 1),
         ("PLC cabinet", "Voltmark Motors", ("basic", "redundant"), 1, 1),
         ("Piping set", "Precisa Parts", ("DN80", "DN150"), 1, 1)),
        False, 3,
    ),
)

# The shared, constrained component and the two families that need it.
SHARED_COMPONENT = ("Controller board CB-100", "Elektra Boards")
SHARED_FAMILIES = ("SEN", "CTL")

# code, name, resource family, role, cost/hour, CO2e kg/hour; the first eight always exist.
RESOURCES: tuple[tuple[str, str, str, str, float, float], ...] = (
    ("ASM-P1", "Pump assembly line 1", "assembly", "ASM-P", 62.0, 4.5),
    ("ASM-P2", "Pump assembly line 2 (new platform)", "assembly", "ASM-P2", 64.0, 4.0),
    ("MCH-1", "Machining centre 1 (5-axis)", "machining", "MCH", 95.0, 22.0),
    ("ELX-1", "Electronics assembly cell", "electronics", "ELX", 70.0, 6.0),
    ("TST-H1", "Hydraulic test bench 1", "testing", "TST-H", 80.0, 9.0),
    ("PKG-1", "Packaging and kitting 1", "packaging", "PKG", 45.0, 2.0),
    ("FIL-1", "Lubricant filling line", "filling", "FIL", 58.0, 11.0),
    ("PRJ-1", "Project integration bay", "assembly", "PRJ", 75.0, 5.0),
    ("ASM-V1", "Valve assembly line", "assembly", "ASM-V", 55.0, 3.5),
    ("TST-E1", "Electronics end-of-line test", "testing", "TST-E", 68.0, 3.0),
    ("MCH-2", "Machining centre 2", "machining", "MCH", 90.0, 20.0),
    ("PKG-2", "Packaging and kitting 2", "packaging", "PKG", 45.0, 2.0),
    ("TST-H2", "Hydraulic test bench 2", "testing", "TST-H", 80.0, 9.0),
    ("ASM-V2", "Valve assembly line 2", "assembly", "ASM-V", 55.0, 3.5),
    ("MCH-3", "Turning centre", "machining", "MCH", 85.0, 18.0),
)
ROLE_FALLBACK = {"ASM-V": "ASM-P", "TST-E": "ELX", "ASM-P2": "ASM-P"}
# Temporary (agency) staff on the manual lines: hours they can add as a share of regular
# capacity, and their extra cost per hour as a share of the regular hourly cost. Machining,
# testing, filling and the new pump platform need trained operators: no temps there, so
# the promotion bottlenecks and the two launches stay what they are.
TEMP_STAFF = {"ASM-P1": (0.10, 0.55), "ASM-V1": (0.10, 0.55), "ASM-V2": (0.10, 0.55),
              "PKG-1": (0.15, 0.45), "PKG-2": (0.15, 0.45)}
# Months from deciding new capacity (a shift, a machine, a line) to having it.
CAPACITY_LEAD_TIME = {"assembly": 6, "machining": 12, "electronics": 6, "testing": 9,
                      "packaging": 3, "filling": 9}
# Second sources for commodity parts: capacity as a share of the main supplier's, extra
# cost per unit as a share of the purchase price. The controller board CB-100 has none.
BACKUP_SUPPLY = {"Rolltech": (0.3, 0.15), "Cartona": (0.5, 0.1), "Nordic Refining": (0.25, 0.12)}
BOTTLENECKS = ("MCH-1", "TST-H1")
PRODUCTION_MONTHS = 12  # history months with planned and actual production
PRODUCTION_STREAM = 0x50D  # the production table's own random stream: [seed, this]

# name, stated-probability bias, win rate, probability that a deal slips
SALES_OWNERS: tuple[tuple[str, float, float, float], ...] = (
    ("Anna Berg", 0.00, 0.55, 0.4),
    ("Marco Rossi", 0.15, 0.30, 0.75),
    ("Jonas Weber", 0.08, 0.45, 0.6),
    ("Priya Nair", 0.05, 0.50, 0.45),
    ("Tom O'Brien", 0.12, 0.40, 0.65),
)
# After-market: the field-service engineers who list customers' planned shutdowns and
# service campaigns. name, stated-probability bias, probability that the date moves
SERVICE_OWNERS: tuple[tuple[str, float, float], ...] = (
    ("Elin Sande", 0.05, 0.35),
    ("Omar Haddad", 0.10, 0.50),
)
AFTERMARKET_FAMILIES = ("SPK", "SVC")
AFTERMARKET_LARGE = 0.6  # an order is a planned one above this quantile of the SKU's order sizes
AFTERMARKET_LISTED = 0.75  # share of the planned orders the engineers list in the pipeline
AFTERMARKET_LEAD = (2, 6)  # months between listing and the planned order (uniform)
AFTERMARKET_LOST = 0.35  # quotes lost (third-party kits, shutdown cancelled) per listed order
SERVICE_NOTES = (
    "Planned shutdown confirmed by the site", "Turnaround scope under review",
    "Service contract visit", "Customer compares third-party kits",
    "Shutdown date depends on the customer's production plan",
)
# stage, share of the deal's planned time elapsed, stated probability before bias
STAGES = (("qualify", 0.3, 0.35), ("propose", 0.6, 0.5), ("negotiate", 0.85, 0.65),
          ("commit", 9.9, 0.8))
DEAL_NOTES = (
    "Budget approved by end customer", "Waiting for tender result",
    "Competitor offered 8% lower price", "Customer asked for revised quote",
    "Framework agreement, call-offs expected", "Site survey done",
    "Technical clarification pending", "Decision moved to next board meeting",
    "Consultant specified our product", "Reference visit planned",
)
PROJECT_SIZES = (1, 1, 2, 2, 3, 4, 6, 8, 10)  # units of a project deal line
COMMIT_NOTES = ("PO expected this month", "Verbal yes from purchasing", "Final price agreed")
SCRIPT_NOTE = "Pasted from the CRM: <script>alert('x')</script>"
FORMULA_NOTE = "=2 sets + spares, see the customer's sheet"

# owner, kind of adjuster
ADJUSTERS = (("Lena Fischer", "planning"), ("Marco Rossi", "sales"),
             ("Sofia Lind", "marketing"), ("Jonas Weber", "sales"))
UP_REASONS = {
    "planning": ("Customer indicated more volume", "Catch-up after last month's shortfall"),
    "sales": ("Gut feel: market picking up", "Distributor restocking expected",
              "Trade-fair leads", "Key account promised a bigger order"),
    "marketing": ("Campaign support", "New catalogue goes out", "Web shop listing"),
}
DOWN_REASONS = ("Key customer switched to a competitor", "Project postponed by the customer",
                "Distributor destocking", "Plant shutdown at the customer")
LOCATIONS = ("Main plant", "DC North", "DC South")


# ---------------------------------------------------------------------------- helpers


def _family_counts(n_skus: int) -> np.ndarray:
    """SKUs per family: shares of ``n_skus``, at least each family's minimum."""
    raw = np.array([f.sku_share for f in FAMILIES]) * n_skus / sum(f.sku_share for f in FAMILIES)
    counts = np.maximum(np.floor(raw).astype(int), [f.min_skus for f in FAMILIES])
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    k = 0
    while counts.sum() < n_skus:
        counts[order[k % len(order)]] += 1
        k += 1
    while counts.sum() > n_skus:
        biggest = int(np.argmax(counts - [f.min_skus for f in FAMILIES]))
        counts[biggest] -= 1
    return counts


def _month_stamps(start: pd.Timestamp, offsets) -> pd.Series:
    """Month starts ``offsets`` months after ``start`` (``NaT`` where the offset is NaN)."""
    offsets = np.asarray(offsets, dtype="float64")
    base = np.datetime64(start.strftime("%Y-%m"), "M")
    ok = ~np.isnan(offsets)
    out = np.full(offsets.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    out[ok] = (base + offsets[ok].astype(int)).astype("datetime64[ns]")
    return pd.Series(out, dtype="datetime64[ns]")


def _typed(columns: dict[str, object], table: str) -> pd.DataFrame:
    """A frame with the contract's columns, in order, in the in-memory dtypes."""
    dtypes = {"str": "string", "month": "datetime64[ns]", "float": "float64", "int": "Int64"}
    frame = pd.DataFrame(columns)
    out = {}
    for col in TABLES[table].columns:
        values = frame[col.name] if col.name in frame else pd.Series([None] * len(frame))
        if col.dtype == "month":
            out[col.name] = pd.to_datetime(values).astype("datetime64[ns]")
        elif col.dtype == "int":
            out[col.name] = pd.array(
                [None if v is None or pd.isna(v) else int(v) for v in values], dtype="Int64"
            )
        else:
            out[col.name] = pd.Series(values).astype(dtypes[col.dtype])
    return pd.DataFrame(out).reset_index(drop=True)


def _names(family: _Family, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct product names such as "Centrifugal pump CP-200"."""
    pool = []
    for kind, prefix, lo, hi, step in family.kinds:
        for number in range(lo, hi + 1, step):
            pool.append(f"{kind} {prefix}-{number}")
    while len(pool) < n:  # very large companies: add series letters
        pool = pool + [f"{name}{suffix}" for name in pool for suffix in ("A", "B")]
    picked = rng.choice(len(pool), size=n, replace=False)
    return [pool[i] for i in picked]


def _deal_path(rng: np.random.Generator, created: int, close: int, expected: int, bias: float,
               note: str | None, commit_note: str | None) -> list[tuple]:
    """Snapshot rows of a deal listed from ``created`` to ``close - 1``.

    A date already passed is pushed 1-2 months out; the stage follows the
    share of the planned time elapsed, the stated probability the stage plus
    the owner's bias and a little noise, in steps of 0.05.
    """
    path = []
    for snap in range(created, close):
        if expected <= snap:
            expected = snap + int(rng.integers(1, 3))
        elapsed = (snap - created + 1) / max(expected - created, 1)
        stage, base = next((s, b) for s, limit, b in STAGES if elapsed <= limit)
        stated = base + bias + rng.normal(0, 0.03)
        stated = float(np.clip(np.round(stated * 20) / 20, 0.05, 0.95))
        path.append((snap, expected, stage, stated, commit_note if stage == "commit" else note))
    return path


# ----------------------------------------------------------------------------- builder


class _Company:
    """Everything drawn for one sample company; ``frames()`` returns the tables.

    Time is an integer month index ``t``: 0 is the first history month,
    ``n_months`` is the cycle month (the first planning month).
    """

    def __init__(self, seed: int, n_skus: int, n_months: int, cycle: str):
        self.rng = np.random.default_rng(seed)
        self.n_skus, self.n_months = n_skus, n_months
        self.cycle = cycle_month(cycle)
        self.start = self.cycle - pd.DateOffset(months=n_months)
        self.first_snapshot = n_months - N_SNAPSHOTS
        self._products()
        self._demand()
        self._promotions()
        self._pipeline()
        self._adjustments()
        self._finish_history()
        self._aftermarket(seed)
        self._projection()
        self._resources()
        self._components()
        self._inventory()
        self._budget()
        self._production(seed)

    # ------------------------------------------------------------------ products

    def _products(self) -> None:
        rng, n, nm = self.rng, self.n_skus, self.n_months
        counts = _family_counts(n)
        fam = np.repeat(np.arange(len(FAMILIES)), counts)
        self.family = fam
        self.sku = []
        self.name = []
        for f, family in enumerate(FAMILIES):
            self.sku += [f"{family.code}-{k + 1:04d}" for k in range(counts[f])]
            self.name += _names(family, counts[f], rng)
        price_median = np.array([FAMILIES[f].price for f in fam])
        price_sigma = np.array([FAMILIES[f].price_sigma for f in fam])
        price = price_median * np.clip(np.exp(rng.normal(0, price_sigma)), 0.3, 3.5)
        projects = fam == self._f("PRJ")
        price[projects] = np.clip(price[projects], 40_000, 200_000)
        self.price = np.round(price, 2)
        weight = np.exp(rng.normal(0, 1.6, n))
        revenue = np.zeros(n)
        total = REVENUE_PER_SKU * n
        for f, family in enumerate(FAMILIES):
            members = fam == f
            revenue[members] = total * family.revenue_share * weight[members] / weight[
                members].sum()
        self.level = revenue / 12 / self.price  # units per month at the end of history
        margin = rng.uniform(0.2, 0.6, n)
        low_margin = rng.random(n) < 0.06
        margin[low_margin] = rng.uniform(0.06, 0.15, low_margin.sum())
        margin[fam == self._f("PRJ")] = rng.uniform(0.25, 0.4, (fam == self._f("PRJ")).sum())
        self.unit_cost = np.round(self.price * (1 - margin), 2)

        # Demand patterns, by family, then the volumes they need.
        pattern = []
        for f in fam:
            kinds, probs = zip(*FAMILIES[f].patterns, strict=True)
            pattern.append(str(rng.choice(kinds, p=np.array(probs) / sum(probs))))
        self.pattern = np.array(pattern, dtype=object)
        # Within a family the biggest sellers are the steady ones.
        for f, family in enumerate(FAMILIES):
            members = np.flatnonzero(fam == f)
            top = members[np.argsort(-self.level[members], kind="stable")][: max(1, len(members)
                                                                                  // 5)]
            if family.code not in ("SPK", "SVC", "PRJ"):
                for i in top:
                    if self.pattern[i] in ("intermittent", "lumpy"):
                        self.pattern[i] = "smooth"
        minimum = {"smooth": 8.0, "seasonal": 8.0, "erratic": 12.0}
        for i in range(n):
            need = minimum.get(self.pattern[i])
            if need and self.level[i] < need:
                self.pattern[i] = "intermittent" if self.pattern[i] != "erratic" else "lumpy"

        # Life cycle and the planted roles.
        self.status = np.array(["active"] * n, dtype=object)
        self.first = np.zeros(n, dtype=int)  # first month with sales (t)
        self.last = np.full(n, nm - 1)  # last month of history with sales
        self.launch = np.full(n, np.nan)
        self.eol = np.full(n, np.nan)
        self.analog = [None] * n
        self.launch_volume = np.full(n, np.nan)
        taken = np.zeros(n, dtype=bool)

        def top_of(code: str, k: int = 0) -> int:
            members = np.flatnonzero((fam == self._f(code)) & ~taken)
            return int(members[np.argsort(-self.level[members] * self.price[members],
                                          kind="stable")][k])

        self.best_seller = top_of("PMP")  # gets the big promotion
        self.pattern[self.best_seller] = "smooth"
        taken[self.best_seller] = True
        # The best-seller that runs out: the biggest one outside pumps and projects.
        others = np.flatnonzero(~np.isin(fam, [self._f("PMP"), self._f("PRJ")]))
        self.stockout = int(others[np.argmax(self.level[others] * self.price[others])])
        self.pattern[self.stockout] = "smooth"
        self.level[self.stockout] = max(self.level[self.stockout], 8.0)
        taken[self.stockout] = True
        lub = np.flatnonzero(fam == self._f("LUB"))
        self.slow_lube = int(lub[np.argsort(self.level[lub], kind="stable")][0])
        taken[self.slow_lube] = True
        self.level[self.slow_lube] = max(self.level[self.slow_lube], 3.0)
        self.pattern[self.slow_lube] = "intermittent"
        # Make sure every demand pattern is there, even in a small company.
        visible = {"smooth": 8.0, "seasonal": 25.0, "erratic": 12.0, "intermittent": 2.0,
                   "lumpy": 6.0}
        for wanted, code in (("smooth", "VLV"), ("seasonal", "LUB"), ("erratic", "CTL"),
                             ("intermittent", "SVC"), ("lumpy", "SPK")):
            found = np.flatnonzero((self.pattern == wanted) & ~taken & (fam == self._f(code))
                                   & (self.level >= visible.get(wanted, 0.0)))
            if len(found):
                i = int(found[0])
            else:
                i = top_of(code)
                self.pattern[i] = wanted
                self.level[i] = max(self.level[i], visible.get(wanted, 0.0))
            taken[i] = True  # kept plain: full history, no promotion, no adjustment
        for i in np.flatnonzero(self.pattern == "lumpy"):
            self.level[i] = max(self.level[i], 3.0)
        for i in np.flatnonzero(self.pattern == "project"):  # enough deals to learn from
            self.level[i] = max(self.level[i], 0.5)

        # Two new pumps share the new-platform line, launching in months +2 and +3.
        pumps = np.flatnonzero((fam == self._f("PMP")) & ~taken)
        by_level = pumps[np.argsort(-self.level[pumps], kind="stable")]
        analogs, self.npi_pair = by_level[:2], by_level[-2:]
        pair_volume = self.level[analogs].max()  # both are meant to be big sellers
        for k, i in enumerate(self.npi_pair):
            self._make_npi(i, int(analogs[k]), nm + 2 + k, taken,
                           volume=pair_volume * rng.uniform(0.6, 0.9))
        taken[analogs] = True
        n_npi = max(3, round(0.04 * n))
        n_eol = max(1, round(0.03 * n))
        n_disc = max(1, round(0.03 * n))
        npi_families = [self._f(c) for c in ("SEN", "CTL", "VLV", "PMP", "SEA")]
        for k in range(n_npi - 2):
            i = self._pick(npi_families, taken, low=True)
            analog = self._pick([fam[i]], taken, low=False)
            launch = nm - int(rng.integers(1, 4)) if k % 2 == 0 else nm + int(rng.integers(1, 7))
            self._make_npi(i, analog, launch, taken)
        for _ in range(n_eol):
            i = self._pick([self._f(c) for c in ("VLV", "SEN", "PMP", "SEA", "CTL")], taken,
                           regular=True)
            self.status[i] = "eol"
            self.eol[i] = nm + int(rng.integers(1, 7))
        for _ in range(n_disc):
            i = self._pick([self._f(c) for c in ("SPK", "VLV", "SEA", "SVC", "PMP")], taken)
            self.status[i] = "discontinued"
            self.last[i] = nm - int(rng.integers(7, 19))
            self.eol[i] = self.last[i]
        # Some active products were launched during the history.
        late = np.flatnonzero(~taken & (fam != self._f("PRJ")))
        late = late[rng.random(len(late)) < 0.1]
        for i in late:
            self.first[i] = int(rng.integers(2, nm - 12))
            self.launch[i] = self.first[i]
        self.full_history = (self.first == 0) & (self.status == "active")
        self.taken = taken

        revenue_rank = np.argsort(np.argsort(-self.level * self.price, kind="stable"))
        self.tier = np.where(revenue_rank < 0.1 * n, 1, np.where(revenue_rank >= 0.6 * n, 3, 2))
        self.tier[fam == self._f("PRJ")] = 1
        self.tier[self.status == "npi"] = 2
        self.lead_time = np.array([FAMILIES[f].lead_time for f in fam]) + (rng.random(n) < 0.3)
        self.shelf_life = np.full(n, np.nan)
        self.shelf_life[lub] = rng.choice([6, 9, 12], size=len(lub))
        self.shelf_life[self.slow_lube] = 6
        outsource = np.array([FAMILIES[f].outsourceable for f in fam]) & (rng.random(n) < 0.35)
        outsource[self.best_seller] = True
        outsource &= self.status != "discontinued"
        self.outsource_cost = np.where(
            outsource, np.round(self.unit_cost * rng.uniform(1.15, 1.45, n), 2), np.nan)
        self.outsource_max = np.where(
            outsource, np.maximum(1, np.round(self.level * rng.uniform(0.1, 0.35, n))), np.nan)

    def _f(self, code: str) -> int:
        return next(k for k, f in enumerate(FAMILIES) if f.code == code)

    def _pick(self, families: list[int], taken: np.ndarray, low: bool = False,
              take: bool = True, regular: bool = False) -> int:
        """A not-yet-special SKU of ``families``: a random one of the lower (or upper) half."""
        members = np.flatnonzero(np.isin(self.family, families) & ~taken)
        if regular:  # with a demand level one can see fade
            steady = members[np.isin(self.pattern[members], ["smooth", "seasonal"])]
            members = steady if len(steady) else members
        members = members[np.argsort(self.level[members] * (1 if low else -1), kind="stable")]
        half = members[: max(1, len(members) // 2)]
        i = int(self.rng.choice(half))
        if take:
            taken[i] = True
        return i

    def _make_npi(self, i: int, analog: int, launch: int, taken: np.ndarray,
                  volume: float | None = None) -> None:
        self.status[i] = "npi"
        self.launch[i] = launch
        self.first[i] = launch
        self.analog[i] = analog
        # Priced like its analog, a little higher: it is the newer product.
        margin = 1 - self.unit_cost[i] / self.price[i]
        self.price[i] = round(float(self.price[analog] * self.rng.uniform(1.0, 1.15)), 2)
        self.unit_cost[i] = round(float(self.price[i] * (1 - margin)), 2)
        if volume is None:
            volume = self.level[analog] * self.rng.uniform(0.8, 1.2)
        self.launch_volume[i] = max(float(np.round(volume)), 5.0)
        self.level[i] = self.launch_volume[i] * self.rng.uniform(0.6, 1.1)  # what really sells
        if self.pattern[i] not in ("smooth", "erratic", "seasonal"):
            self.pattern[i] = "smooth"
        taken[i] = True

    # -------------------------------------------------------------------- demand

    def _season(self, i: int, t: np.ndarray, amplitude: float) -> np.ndarray:
        peak = FAMILIES[self.family[i]].peak_month - 1
        calendar = (self.start.month - 1 + t) % 12
        return 1 + amplitude * np.cos(2 * np.pi * (calendar - peak) / 12)

    def _demand(self) -> None:
        """Base demand per SKU and history month, before promotions, deals and cuts."""
        rng, n, nm = self.rng, self.n_skus, self.n_months
        t = np.arange(nm)
        demand = np.zeros((n, nm))
        self.growth = rng.normal(0.04, 0.08, n)
        for i in range(n):
            growth = (1 + self.growth[i]) ** ((t - (nm - 1)) / 12)
            level = self.level[i] * growth
            kind = self.pattern[i]
            if kind == "project":
                # Unannounced orders only; the announced ones come from the pipeline.
                demand[i] = rng.random(nm) < min(0.2 * self.level[i], 0.3)
            elif kind in ("smooth", "seasonal", "erratic"):
                amplitude = rng.uniform(0.4, 0.65) if kind == "seasonal" else rng.uniform(0, 0.1)
                cv = {"erratic": rng.uniform(0.8, 1.1), "seasonal": rng.uniform(0.05, 0.12)}.get(
                    kind, rng.uniform(0.1, 0.25))
                noise = rng.gamma(1 / cv**2, cv**2, nm)
                demand[i] = rng.poisson(level * self._season(i, t, amplitude) * noise)
            elif kind == "intermittent":
                p = rng.uniform(0.25, 0.6)
                occurs = rng.random(nm) < p
                size = 1 + rng.poisson(max(level[-1] / p - 1, 0.2), nm)
                demand[i] = occurs * size
            else:  # lumpy
                p = rng.uniform(0.2, 0.5)
                occurs = rng.random(nm) < p
                size = np.maximum(1, np.round(rng.lognormal(np.log(level[-1] / p) - 0.7, 1.2,
                                                             nm)))
                demand[i] = occurs * size
        # Ramp-ups after a launch, fade-outs before the end of life.
        for i in range(n):
            since = t - self.first[i]
            ramp = np.clip((since + 1) / 4, 0, 1)
            if self.first[i] > 0:
                demand[i] = np.round(demand[i] * ramp)
            if self.status[i] == "eol":
                fade = np.clip(1 - 0.08 * (t - (nm - 10)), 0.25, 1)
                demand[i] = np.round(demand[i] * fade)
            if self.status[i] == "discontinued":
                fade = np.clip(1 - 0.12 * (t - (self.last[i] - 6)), 0.2, 1)
                demand[i] = np.round(demand[i] * fade)
        self.demand = demand

    # --------------------------------------------------------------- promotions

    def _promotions(self) -> None:
        rng, nm = self.rng, self.n_months
        families = [self._f(c) for c in ("SEA", "LUB", "SPK", "SVC", "VLV", "PMP")]
        candidates = np.flatnonzero(np.isin(self.family, families) & self.full_history
                                    & (self.level >= 5) & ~self.taken)
        rows = []
        self.promo_truth = []
        n_past = max(2, round(self.n_skus / 25))
        n_future = max(2, round(self.n_skus / 50))
        for k in range(n_past + n_future):
            past = k < n_past
            start = int(rng.integers(nm - 20, nm - 2)) if past else nm + int(rng.integers(0, 6))
            end = start + int(rng.integers(0, 2))
            lift = round(float(rng.uniform(0.2, 0.6) if past else rng.uniform(0.3, 0.8)), 2)
            anchor = int(rng.choice(candidates))
            same = candidates[self.family[candidates] == self.family[anchor]]
            skus = sorted({anchor, *rng.choice(same, size=min(len(same), int(rng.integers(0, 3))),
                                               replace=False).tolist()})
            for i in skus:
                if past:
                    realised = lift * rng.uniform(0.3, 0.9)  # promotions deliver less than said
                    base = float(self.demand[i, start:end + 1].sum())
                    self.demand[i, start:end + 1] = np.round(
                        self.demand[i, start:end + 1] * (1 + realised))
                    # the truth, for benchmarks/promotion_lift.py (not written to any table)
                    self.promo_truth.append((f"PRM-{k + 1:03d}", self.sku[i], lift, realised,
                                             base, float(self.demand[i, start:end + 1].sum())))
                rows.append((f"PRM-{k + 1:03d}", i, start, end, lift,
                             f"{FAMILIES[self.family[i]].name} campaign"))
        rows.append((f"PRM-{n_past + n_future + 1:03d}", self.best_seller, nm + 2, nm + 3, 0.9,
                     "Distributor campaign agreed by sales; not yet in the supply plan"))
        self.promo_rows = rows

    # ----------------------------------------------------------------- pipeline

    def _pipeline(self) -> None:
        """Deals created, slipped, won or lost, month by month; won deals become demand."""
        rng, nm = self.rng, self.n_months
        prj = np.flatnonzero(self.family == self._f("PRJ"))
        big = np.flatnonzero(np.isin(self.family, [self._f(c) for c in ("PMP", "CTL", "VLV")])
                             & self.full_history & ~self.taken & (self.level >= 3))
        big = big[np.argsort(-self.level[big] * self.price[big], kind="stable")]
        framework = big[: max(2, round(0.04 * self.n_skus))]
        addons = np.flatnonzero(np.isin(self.family, [self._f("SPK"), self._f("CTL")])
                                & self.full_history)
        mean_win = np.mean([o[2] for o in SALES_OWNERS])
        # Framework customers' call-offs replace part of those SKUs' regular demand.
        self.demand[framework] = np.round(self.demand[framework] * 0.75)
        deals = []
        for month in range(-9, nm):
            for i in np.concatenate([prj, framework]):
                project = self.family[i] == self._f("PRJ")
                if project:
                    qty_mean = float(np.mean(PROJECT_SIZES))
                    rate = 0.8 * self.level[i] / (qty_mean * mean_win)
                else:
                    qty_mean = max(2.0, self.level[i] * 2.5)
                    rate = 0.25 * self.level[i] / (qty_mean * mean_win)
                for _ in range(rng.poisson(rate)):
                    qty = int(rng.choice(PROJECT_SIZES)) if project else max(
                        2, round(qty_mean * rng.uniform(0.6, 1.6)))
                    lines = [(int(i), float(qty))]
                    if project and len(addons) and rng.random() < 0.3:
                        lines.append((int(rng.choice(addons)), float(qty * rng.integers(2, 6))))
                    deals.append(self._deal(month, lines, project))
        # Even a small company's pipeline is never empty in a snapshot.
        for snap in range(self.first_snapshot, nm):
            if not any(d["path"] and d["path"][0][0] <= snap < d["close"] for d in deals):
                i = int(rng.choice(prj))
                deals.append(self._deal(snap, [(i, float(rng.choice(PROJECT_SIZES)))], True))
        self.deals = deals
        for deal in deals:
            if deal["won"] and 0 <= deal["close"] < nm:
                for i, qty in deal["lines"]:
                    self.demand[i, deal["close"]] += qty

    def _deal(self, created: int, lines: list[tuple[int, float]], project: bool) -> dict:
        rng = self.rng
        owner = int(rng.integers(len(SALES_OWNERS)))
        _, bias, win, slip_p = SALES_OWNERS[owner]
        expected0 = created + int(rng.integers(3, 10) if project else rng.integers(1, 5))
        won = bool(rng.random() < (win if project else min(win + 0.15, 0.9)))
        slip = min(int(rng.geometric(0.45)), 8) if rng.random() < slip_p else 0
        if slip == 0 and rng.random() < 0.08 and expected0 - 1 > created:
            slip = -1  # the customer ordered earlier than sales thought
        close = expected0 + slip
        if not won:
            close = int(rng.integers(created + 1, close + 1))  # when the deal disappears
        note = None if rng.random() < 0.35 else str(rng.choice(DEAL_NOTES))
        commit_note = str(rng.choice(COMMIT_NOTES)) if rng.random() < 0.5 else note
        path = _deal_path(rng, created, close, expected0, bias, note, commit_note)
        return {"created": created, "lines": lines, "owner": SALES_OWNERS[owner][0], "won": won,
                "close": close, "path": path}

    # --------------------------------------------------------------- after-market

    def _aftermarket(self, seed: int) -> None:
        """Planned after-market orders that field service listed in the pipeline ahead.

        Spare-parts and service kits sell in two ways: small breakdown orders
        nobody sees coming, and large orders for a customer's planned shutdown
        or service campaign, which the field-service engineers know months
        ahead. Of each intermittent or lumpy kit SKU's orders, those above the
        60th percentile of its order sizes are planned ones; 75 % of them were
        listed 2-6 months before they landed, the date moved later on the way
        (35-50 % of them, by owner) or, rarely, earlier, with a quantity
        within ±15 % of what was ordered. Quotes that came to nothing (a
        third-party kit, a cancelled shutdown) add 0.35 lost deals per listed
        order. Future planned orders (the next eight months, up to the kit's
        end of life) are drawn at each SKU's rate, so the current snapshot
        holds open after-market deals.

        The history is not changed: these deals describe orders already in it.
        Drawn from a random stream of their own, so every other table is the
        same as without them.
        """
        rng = np.random.default_rng([seed, 0xAF7E])
        nm = self.n_months
        lo, hi = AFTERMARKET_LEAD
        skus = np.flatnonzero(np.isin(self.family, [self._f(c) for c in AFTERMARKET_FAMILIES])
                              & np.isin(self.pattern, ["intermittent", "lumpy"]))
        for i in skus:
            qty = self.demand[i]
            alive = np.flatnonzero(self.alive[i])
            sizes = qty[qty > 0]
            if len(sizes) < 3 or not len(alive):
                continue
            large = np.flatnonzero(qty > np.quantile(sizes, AFTERMARKET_LARGE))
            if not len(large):
                continue
            rate = len(large) / len(alive)
            # No order is planned after a kit's end of life (discontinued: its last sale).
            end = self.eol[i] if not np.isnan(self.eol[i]) else np.inf
            # Planned orders of the history, and of the next eight months.
            orders = [(int(t), float(qty[t])) for t in large]
            orders += [(int(t), float(rng.choice(qty[large])))
                       for t in range(nm, nm + 8) if rng.random() < rate and t <= end]
            listed = 0
            for t, size in orders:
                if rng.random() >= AFTERMARKET_LISTED:
                    continue
                created = t - int(rng.integers(lo, hi + 1))
                if t - 1 < self.first_snapshot or created >= nm:
                    continue  # never seen in a kept snapshot
                listed += 1
                self.deals.append(self._service_deal(rng, i, created, t, size, won=True))
            for _ in range(rng.poisson(AFTERMARKET_LOST * listed)):
                created = int(rng.integers(self.first_snapshot - hi, nm))
                expected = created + int(rng.integers(lo, hi + 1))
                gone = int(rng.integers(created + 1, expected + 2))
                if expected > end:
                    continue
                self.deals.append(self._service_deal(rng, i, created, gone, float(rng.choice(
                    qty[large])), won=False, expected=expected))

    def _service_deal(self, rng: np.random.Generator, i: int, created: int, close: int,
                      size: float, *, won: bool, expected: int | None = None) -> dict:
        name, bias, slip_p = SERVICE_OWNERS[int(rng.integers(len(SERVICE_OWNERS)))]
        if expected is None:  # a won deal: the order landed in ``close``
            slip = min(int(rng.geometric(0.5)), 3) if rng.random() < slip_p else 0
            if slip == 0 and rng.random() < 0.08 and close - 2 > created:
                slip = -1  # the shutdown came forward
            expected = max(close - slip, created + 1)
        stated_qty = float(max(1.0, np.round(size * rng.uniform(0.85, 1.15))))
        note = None if rng.random() < 0.3 else str(rng.choice(SERVICE_NOTES))
        path = _deal_path(rng, created, close, expected, bias, note, note)
        return {"created": created, "lines": [(int(i), stated_qty)], "owner": name, "won": won,
                "close": close, "path": path}

    # -------------------------------------------------------------- adjustments

    def _adjustments(self) -> None:
        rng, nm = self.rng, self.n_months
        candidates = np.flatnonzero(self.full_history & (self.family != self._f("PRJ"))
                                    & (self.level >= 2) & ~self.taken)
        weights = np.sqrt(self.level[candidates] * self.price[candidates])
        weights /= weights.sum()
        per_snapshot = max(2, round(self.n_skus / 40))
        rows = {}
        for snap in range(self.first_snapshot, nm):
            current = snap == nm - 1
            for _ in range(per_snapshot + (2 if current else 0)):
                i = int(rng.choice(candidates, p=weights))
                owner, kind = ADJUSTERS[int(rng.integers(len(ADJUSTERS)))]
                period = snap + int(rng.integers(1, 4))
                if period >= nm and not current:
                    continue
                reference = max(self.demand[i, max(0, snap - 5):snap + 1].mean(), 1.0)
                down = kind in ("planning", "sales") and rng.random() < 0.2
                if down:
                    cut = rng.uniform(0.3, 0.6)
                    delta = -float(max(1, np.round(cut * reference)))
                    reason = str(rng.choice(DOWN_REASONS))
                    if period < nm:  # large cuts mostly came true
                        self.demand[i, period] = np.round(
                            self.demand[i, period] * (1 - cut * rng.uniform(0.6, 1.0)))
                else:
                    delta = float(max(1, np.round(rng.uniform(0.08, 0.3) * reference)))
                    reason = str(rng.choice(UP_REASONS[kind]))
                rows.setdefault((snap, owner, i, period), (delta, reason))
        self.adjustment_rows = [(*key, *value) for key, value in rows.items()]

    def _finish_history(self) -> None:
        t = np.arange(self.n_months)
        alive = (t[None, :] >= self.first[:, None]) & (t[None, :] <= self.last[:, None])
        self.alive = alive
        self.demand = np.where(alive, np.maximum(self.demand, 0), 0.0)

    # --------------------------------------------------------------- projection

    def _projection(self) -> None:
        """A plain view of the next ``HORIZON`` months, used to size capacity and budgets."""
        nm, n = self.n_months, self.n_skus
        t = nm + np.arange(HORIZON)
        recent = self.demand[:, nm - 12:]
        months_alive = self.alive[:, nm - 12:].sum(axis=1)
        mean = np.where(months_alive > 0, recent.sum(axis=1) / np.maximum(months_alive, 1), 0)
        # Same month last year only where the pattern is regular; lumps do not repeat.
        regular = np.isin(self.pattern, ["smooth", "seasonal", "erratic"])[:, None]
        same_month = np.where(self.alive[:, nm - 12:] & regular, recent, mean[:, None])
        proj = 0.5 * same_month + 0.5 * mean[:, None]
        for i in range(n):
            if self.status[i] == "npi":
                since = t - self.launch[i]
                proj[i] = self.launch_volume[i] * np.clip((since + 1) / 4, 0, 1)
            elif self.status[i] == "eol":
                proj[i] = np.where(t <= self.eol[i], proj[i] * 0.8, 0)
            elif self.status[i] == "discontinued":
                proj[i] = 0
        self.proj_base = proj.copy()
        for _, i, start, end, lift, _ in self.promo_rows:
            k0, k1 = max(start - nm, 0), end - nm
            if k1 >= 0:
                proj[i, k0:k1 + 1] *= 1 + lift
        self.proj = proj

    # ---------------------------------------------------------------- resources

    def _resources(self) -> None:
        rng, n = self.rng, self.n_skus
        n_res = int(np.clip(8 + (n - 40) // 45, 8, len(RESOURCES)))
        chosen = RESOURCES[:n_res]
        by_role: dict[str, list[int]] = {}
        for r, res in enumerate(chosen):
            by_role.setdefault(res[3], []).append(r)
        hours = np.zeros((n, n_res))
        pumps = self.family == self._f("PMP")
        for i in range(n):
            if self.status[i] == "discontinued":
                continue
            family = FAMILIES[self.family[i]]
            for role, lo, hi, probability in family.routing:
                if probability < 1 and rng.random() >= probability:
                    continue
                if role == "ASM-P" and pumps[i] and (
                        i in self.npi_pair or (self.status[i] != "npi" and i != self.best_seller
                                               and rng.random() < 0.45)):
                    role = "ASM-P2"
                while role not in by_role:
                    role = ROLE_FALLBACK[role]
                options = by_role[role]
                r = options[0] if i == self.best_seller else int(rng.choice(options))
                hours[i, r] += round(float(rng.uniform(lo, hi)), 3)
        load = hours.T @ self.proj  # resource x month, with promotions
        is_launch = (self.status == "npi")[:, None] & (self.launch >= self.n_months)[:, None]
        load_existing = hours.T @ np.where(is_launch, 0, self.proj_base)
        # The promotion peak as a planner would first see it: last year's average month
        # plus the lifts of the promotions running in the month.
        alive = np.maximum(self.alive[:, -12:].sum(axis=1), 1)
        recent = self.demand[:, -12:].sum(axis=1) / alive
        lifts = np.zeros((n, HORIZON))
        for _, i, start, end, lift, _ in self.promo_rows:
            k0, k1 = max(start - self.n_months, 0), end - self.n_months
            if k1 >= 0:
                lifts[i, k0:k1 + 1] += lift
        promo_peak = (hours.T @ (recent[:, None] * (1 + lifts))).max(axis=1)
        others = ~np.isin(np.arange(n), self.npi_pair)
        recent_load = hours.T @ np.where(others, recent, 0.0)
        capacity = np.zeros(n_res)
        for r, (code, *_rest) in enumerate(chosen):
            mean, peak = load[r].mean(), load[r].max()
            if code in BOTTLENECKS:  # tight on average, short in the peak
                capacity[r] = min(mean / rng.uniform(0.9, 0.95), peak / rng.uniform(1.08, 1.15),
                                  promo_peak[r] / rng.uniform(1.04, 1.1))
            elif code == "ASM-P2":
                # Room for one launch at full volume, and a third of the other.
                small, big = sorted(hours[i, r] * self.launch_volume[i] for i in self.npi_pair)
                capacity[r] = recent_load[r] + big + 0.3 * small
            else:
                # Seasonal peaks fit, promotion peaks need some overtime, launches and
                # the project bay's lumps are left to the planners.
                capacity[r] = mean / rng.uniform(0.84, 0.92)
                if code != "PRJ-1":
                    capacity[r] = max(capacity[r], load_existing[r].max() / 1.02, peak / 1.1)
        capacity = np.maximum(np.round(capacity / 10) * 10, 10.0)
        self.resource_rows = []
        for r, (code, _name, res_family, _role, cost, co2e) in enumerate(chosen):
            overtime = rng.uniform(0.04, 0.08) if code in BOTTLENECKS else rng.uniform(0.12, 0.2)
            self.resource_rows.append((code, res_family, float(capacity[r]),
                                       float(np.round(capacity[r] * overtime)),
                                       cost, round(cost * rng.uniform(0.3, 0.5), 2), co2e))
        self.routing_rows = [(i, chosen[r][0], float(hours[i, r]))
                             for i in range(n) for r in range(n_res) if hours[i, r] > 0]
        self.hours, self.capacity, self.resource_codes = hours, capacity, [c[0] for c in chosen]

    # --------------------------------------------------------------- components

    def _components(self) -> None:
        rng, n = self.rng, self.n_skus
        n_comp = int(np.clip(round(n / 6), 20, 60))
        live = self.status != "discontinued"
        rows = []  # name, supplier, family, qty range
        rows.append((SHARED_COMPONENT[0], SHARED_COMPONENT[1], None, (1.0, 1.0)))
        for f, family in enumerate(FAMILIES):
            size = max(2, round((n_comp - 1) * family.sku_share))
            pool = [(f"{kind} {variant}", supplier, f, (lo, hi))
                    for variants_round in range(4)
                    for kind, supplier, variants, lo, hi in family.components
                    for k, variant in enumerate(variants) if k == variants_round]
            rows += pool[:size]
        bom: dict[tuple[int, int], float] = {}
        shared_families = [self._f(c) for c in SHARED_FAMILIES]
        for i in np.flatnonzero(live):
            own = [c for c, row in enumerate(rows) if row[2] == self.family[i]]
            for c in rng.choice(own, size=min(len(own), int(rng.integers(1, 4))), replace=False):
                lo, hi = rows[c][3]
                qty = round(float(rng.uniform(lo, hi)), 2) if hi < 5 or lo != hi else lo
                bom[(int(i), int(c))] = float(qty if lo < 1 else np.round(qty))
            if self.family[i] in shared_families:
                bom[(int(i), 0)] = 1.0 if self.family[i] == shared_families[0] else float(
                    rng.integers(1, 3))
        for c, row in enumerate(rows):  # every component is used somewhere
            if c and not any(key[1] == c for key in bom):
                users = np.flatnonzero(live & (self.family == row[2]))
                bom[(int(rng.choice(users)), c)] = float(np.round(row[3][0]) or row[3][0])
        recent = self.demand[:, -6:].mean(axis=1)
        recent_usage = sum(qty * recent[i] for (i, c), qty in bom.items() if c == 0)
        usage = np.zeros((len(rows), HORIZON))
        cheapest = np.full(len(rows), np.inf)
        for (i, c), qty in bom.items():
            usage[c] += qty * self.proj[i]
            cheapest[c] = min(cheapest[c], self.unit_cost[i] / qty / 4)
        self.component_rows = []
        for c, (name, supplier, _f, _q) in enumerate(rows):
            mean, peak = usage[c].mean(), usage[c].max()
            if c == 0:  # the planted constraint: less than sensors and controllers need
                capacity = np.round(min(mean, recent_usage) * rng.uniform(0.8, 0.88))
                on_hand, lead = np.round(mean * 0.3), 4
            else:
                capacity = np.ceil(max(peak * rng.uniform(1.3, 2.5), 10))
                on_hand, lead = np.round(mean * rng.uniform(0.5, 2.0)), int(rng.integers(1, 5))
            cost = round(float(cheapest[c] * rng.uniform(0.3, 0.9)), 2)
            self.component_rows.append((f"CMP-{c + 1:03d}", name, supplier, float(capacity),
                                        cost, lead, float(on_hand)))
        self.bom = bom

    # ---------------------------------------------------------------- inventory

    def _inventory(self) -> None:
        rng, nm = self.rng, self.n_months
        rows = []
        mean = self.demand[:, nm - 6:].mean(axis=1)
        stocked = (self.status != "discontinued") & (self.family != self._f("PRJ")) & (
            self.first < nm)
        for i in np.flatnonzero(stocked):
            if i in (self.stockout, self.slow_lube):
                continue
            cover = rng.uniform(0.3, 2.0)
            total = np.round(mean[i] * cover)
            if total <= 0:
                continue
            n_lots = int(rng.integers(1, 4))
            shares = rng.dirichlet(np.ones(n_lots))
            oldest = int(min(4, self.shelf_life[i] - 2)) if self.status[i] != "npi" else 1
            oldest = max(min(oldest, nm - self.first[i]), 1)
            for share in shares:
                qty = float(np.round(total * share))
                if qty > 0:
                    produced = nm - int(rng.integers(1, oldest + 1))
                    rows.append((i, qty, produced, str(rng.choice(LOCATIONS))))
        # A best-seller with almost nothing on hand.
        rows.append((self.stockout, float(max(1, np.round(mean[self.stockout] * 0.05))), nm - 1,
                     LOCATIONS[1]))
        # Slow lubricant made long ago: its lots expire in the coming one or two months.
        shelf = int(self.shelf_life[self.slow_lube])
        slow_total = max(mean[self.slow_lube], 2.0) * 8
        rows.append((self.slow_lube, float(np.round(slow_total * 0.6)), nm - shelf + 1,
                     LOCATIONS[0]))
        rows.append((self.slow_lube, float(np.round(slow_total * 0.4)), nm - shelf + 2,
                     LOCATIONS[1]))
        # Obsolete stock of a discontinued item, from long ago.
        gone = int(np.flatnonzero(self.status == "discontinued")[0])
        rows.append((gone, float(max(3, np.round(self.demand[gone].max()))), int(self.last[gone]
                                                                                 - 2), None))
        self.inventory_rows = rows

    # ------------------------------------------------------------------- budget

    def _budget(self) -> None:
        rng = self.rng
        rows = []
        for f, family in enumerate(FAMILIES):
            members = self.family == f
            uplift = rng.uniform(1.04, 1.12)
            for k in range(HORIZON):
                qty = self.proj_base[members, k].sum() * uplift
                revenue = (self.proj_base[members, k] * self.price[members]).sum() * uplift
                rows.append((family.name, self.n_months + k, float(np.round(revenue, -2)),
                             float(np.round(qty))))
        self.budget_rows = rows

    # --------------------------------------------------------------- production

    def _production(self, seed: int) -> None:
        """What the plant was scheduled to make and made, SKU by month, for the last year.

        Every SKU made in-house (it has a routing) gets a row per month of the
        last ``PRODUCTION_MONTHS`` history months in which something was
        scheduled or made. The schedule follows the month's orders within a
        few per cent; execution loses a little on most lines (a scrapped
        batch, a late component), over-produces a little on a few (a full
        batch run), and falls clearly short at the bottleneck resources in
        their busiest months; a few rush orders are made without a schedule.
        Schedule adherence comes out at about 85-95 %.

        Drawn from a random stream of its own, after every other table, so
        every other table is the same as without it.
        """
        rng = np.random.default_rng([seed, PRODUCTION_STREAM])
        nm = self.n_months
        months = np.arange(nm - PRODUCTION_MONTHS, nm)
        made = (self.hours.sum(axis=1) > 0) & (self.status != "discontinued")
        demand = self.demand[:, months]
        planned = np.round(demand * rng.uniform(0.92, 1.1, demand.shape))
        planned = np.where(made[:, None] & self.alive[:, months], planned, 0.0)
        # execution: most rows a little short, some a little over
        factor = 1.0 - np.abs(rng.normal(0.0, 0.07, planned.shape))
        over = rng.random(planned.shape) < 0.12
        factor[over] = rng.uniform(1.02, 1.1, over.sum())
        # the bottlenecks fall short in their three busiest months of the year
        load = self.hours.T @ planned  # resource x month
        for code in BOTTLENECKS:
            if code not in self.resource_codes:
                continue
            r = self.resource_codes.index(code)
            peak = np.argsort(-load[r], kind="stable")[:3]
            users = self.hours[:, r] > 0
            cut = rng.uniform(0.78, 0.9, (users.sum(), len(peak)))
            factor[np.ix_(users, peak)] = np.minimum(factor[np.ix_(users, peak)], 1.0) * cut
        actual = np.round(planned * factor)
        # rush orders: made for the month's orders without being scheduled
        rush = (planned > 0) & (rng.random(planned.shape) < 0.015)
        planned[rush], actual[rush] = 0.0, demand[rush]
        i_idx, k_idx = np.nonzero((planned > 0) | (actual > 0))
        self.production_rows = [(int(i), int(months[k]), float(planned[i, k]),
                                 float(actual[i, k])) for i, k in zip(i_idx, k_idx, strict=True)]

    # ------------------------------------------------------------------- frames

    def frames(self) -> dict[str, pd.DataFrame]:
        nm, start = self.n_months, self.start
        sku = np.array(self.sku, dtype=object)
        months = lambda t: _month_stamps(start, t)  # noqa: E731
        out = {}
        out["products"] = _typed({
            "sku": sku, "name": self.name,
            "family": [FAMILIES[f].name for f in self.family],
            "unit": [FAMILIES[f].unit for f in self.family],
            "lifecycle_status": self.status,
            "launch_period": months(self.launch), "eol_period": months(self.eol),
            "price": self.price, "unit_cost": self.unit_cost, "priority_tier": self.tier,
            "shelf_life_months": self.shelf_life, "lead_time_months": self.lead_time,
            "outsource_cost": self.outsource_cost, "outsource_max": self.outsource_max,
            # spend-based estimate (GHG Protocol scope 3, purchased goods): 0.35 kg CO2e per
            # unit of currency paid to the contract manufacturer, freight included
            "outsource_co2e_kg_per_unit": np.nan_to_num(np.round(0.35 * self.outsource_cost, 2)),
            "analog_sku": [None if a is None else self.sku[a] for a in self.analog],
            "launch_volume": self.launch_volume,
            # project systems are engineered to order: no stock is held against forecast error
            "stocking": ["mto" if FAMILIES[f].code == "PRJ" else "mts" for f in self.family],
        }, "products")

        i_idx, t_idx = np.nonzero(self.alive)
        out["actuals"] = _typed({"sku": sku[i_idx], "period": months(t_idx),
                                 "qty": self.demand[i_idx, t_idx]}, "actuals")

        pipe = []
        for number, deal in enumerate(self.deals):
            owner = deal["owner"]
            for snap, expected, stage, stated, note in deal["path"]:
                if not self.first_snapshot <= snap < nm:
                    continue
                for i, qty in deal["lines"]:
                    pipe.append((snap, f"D-{10001 + number}", i, expected, qty, stated, owner,
                                 stage, note))
        pipe.sort(key=lambda row: (row[0], row[1], row[2]))
        # The two hostile notes go on the newest rows, project deals first.
        newest = sorted(range(len(pipe)), key=lambda k: (
            -pipe[k][0], self.family[pipe[k][2]] != self._f("PRJ"), k))
        for k, text in zip(newest[:2], (SCRIPT_NOTE, FORMULA_NOTE), strict=True):
            pipe[k] = (*pipe[k][:8], text)
        snap, deal_id, i, expected, qty, stated, owner, stage, note = zip(*pipe, strict=True)
        out["pipeline"] = _typed({
            "snapshot": months(snap), "deal_id": deal_id, "sku": sku[list(i)],
            "period": months(expected), "qty": qty, "probability": stated, "owner": owner,
            "stage": stage, "note": note}, "pipeline")

        rows = sorted(self.adjustment_rows, key=lambda r: (r[0], r[1], r[2], r[3]))
        snap, owner, i, period, delta, reason = zip(*rows, strict=True)
        out["adjustments"] = _typed({
            "snapshot": months(snap), "owner": owner, "sku": sku[list(i)],
            "period": months(period), "qty_delta": delta, "reason": reason}, "adjustments")

        promo_id, i, first, last, lift, note = zip(*self.promo_rows, strict=True)
        out["promotions"] = _typed({
            "promo_id": promo_id, "sku": sku[list(i)], "start_period": months(first),
            "end_period": months(last), "lift": lift, "note": note}, "promotions")

        code, res_family, cap, overtime, cost, ot_cost, co2e = zip(*self.resource_rows,
                                                                   strict=True)
        temp_share, temp_extra = zip(*(TEMP_STAFF.get(c, (0.0, 0.0)) for c in code),
                                     strict=True)
        out["resources"] = _typed({
            "resource": code, "resource_family": res_family, "capacity_hours": cap,
            "overtime_max_hours": overtime, "cost_per_hour": cost,
            "overtime_cost_per_hour": ot_cost, "co2e_kg_per_hour": co2e,
            "temp_max_hours": np.round(np.multiply(cap, temp_share)),
            "temp_cost_per_hour": np.round(np.multiply(cost, temp_extra), 2),
            "capacity_lead_time_months": [CAPACITY_LEAD_TIME.get(f, 6) for f in res_family],
        }, "resources")

        i, resource, hours = zip(*self.routing_rows, strict=True)
        out["routings"] = _typed({"sku": sku[list(i)], "resource": resource,
                                  "hours_per_unit": hours}, "routings")

        code, name, supplier, cap, cost, lead, on_hand = zip(*self.component_rows, strict=True)
        backup_share, backup_extra = zip(*(BACKUP_SUPPLY.get(s, (0.0, 0.0)) for s in supplier),
                                         strict=True)
        out["components"] = _typed({
            "component": code, "name": name, "supplier": supplier, "supplier_capacity": cap,
            "unit_cost": cost, "lead_time_months": lead, "on_hand": on_hand,
            "backup_capacity": np.round(np.multiply(cap, backup_share)),
            "backup_extra_cost": np.round(np.multiply(cost, backup_extra), 2),
        }, "components")

        keys = sorted(self.bom)
        out["bom"] = _typed({"sku": [self.sku[i] for i, _ in keys],
                             "component": [f"CMP-{c + 1:03d}" for _, c in keys],
                             "qty_per": [self.bom[k] for k in keys]}, "bom")

        rows = sorted(self.inventory_rows, key=lambda r: (r[0], r[2], r[3] or ""))
        i, qty, produced, location = zip(*rows, strict=True)
        out["inventory"] = _typed({"sku": sku[list(i)], "qty": qty,
                                   "produced_period": months(produced),
                                   "location": location}, "inventory")

        family, period, revenue, qty = zip(*self.budget_rows, strict=True)
        out["budget"] = _typed({"family": family, "period": months(period), "revenue": revenue,
                                "qty": qty}, "budget")

        rows = sorted(self.production_rows, key=lambda r: (r[1], r[0]))
        i, period, planned, actual = zip(*rows, strict=True) if rows else ((), (), (), ())
        out["production"] = _typed({"period": months(period), "sku": sku[list(i)],
                                    "planned_qty": planned, "actual_qty": actual}, "production")
        return out


# ------------------------------------------------------------------- purchase orders on file


def _purchase_orders(frames: dict[str, pd.DataFrame], seed: int, cycle: str
                     ) -> dict[str, pd.DataFrame]:
    """Add the purchase orders placed and not yet delivered at the cycle start.

    Each component has orders due in every month of its purchase lead time,
    sized to what the last three months of production used of it (production
    × BOM) times a factor drawn per order from 0.85–1.10, at most the supplier's
    capacity: buyers order to the
    recent run rate, so a component whose demand rises is short of orders in
    the first months (what the lead time makes of that is the supply review's
    to show). Drawn from a generator of its own (``[seed, 1]``), so every
    other table is exactly as without it.
    """
    out = dict(frames)
    start = cycle_month(cycle)
    production, bom = frames["production"], frames["bom"]
    recent = production[production["period"] >= start - pd.DateOffset(months=3)]
    made = recent.groupby("sku")["actual_qty"].sum() / 3.0
    use = bom.assign(made=bom["sku"].map(made).astype(float).fillna(0.0))
    monthly = (use["made"] * use["qty_per"]).groupby(use["component"]).sum()
    rng = np.random.default_rng([int(seed), 1])
    rows = []
    comps = frames["components"]
    for code, lead, cap in zip(comps["component"], comps["lead_time_months"],
                               comps["supplier_capacity"], strict=True):
        need = float(monthly.get(code, 0.0))
        if pd.isna(lead) or need <= 0:
            continue
        for k in range(int(lead)):  # a supplier confirms no more than it can make
            qty = float(min(np.round(need * rng.uniform(0.85, 1.10)), cap))
            if qty > 0:
                rows.append((code, start + pd.DateOffset(months=k), qty,
                             f"PO-{len(rows) + 1:05d}"))
    code, period, qty, order = zip(*rows, strict=True) if rows else ((), (), (), ())
    out["purchase_orders"] = _typed({"component": code, "period": pd.to_datetime(list(period)),
                                     "qty": qty, "order": order}, "purchase_orders")
    return out


# ------------------------------------------------------------------- a last-time buy to make


def _legacy_component(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Give the last product to reach its end of life a component no other product uses.

    Its supplier stops making it with the product, so the product review's
    phase-out section has a last-time buy to size: stock of about one
    month of the product's demand, against several months still to make.
    """
    products, bom = frames["products"], frames["bom"]
    routed = set(frames["routings"]["sku"]) & set(bom["sku"])
    ending = products[(products["lifecycle_status"] == "eol") & products["sku"].isin(routed)]
    if ending.empty:
        return frames
    ending = ending.sort_values(["eol_period", "sku"])
    sku = ending["sku"].iloc[-1]
    actuals = frames["actuals"]
    recent = actuals.loc[(actuals["sku"] == sku)
                         & (actuals["period"] > add_months(actuals["period"].max(), -6)), "qty"]
    components = frames["components"]
    first = bom.loc[bom["sku"] == sku, "component"].iloc[0]
    code = f"CMP-{len(components) + 1:03d}"
    unit_cost = float(ending["unit_cost"].iloc[-1])
    row = components[components["component"] == first].assign(
        component=code, name=f"Legacy insert for {sku}",
        supplier_capacity=max(50.0, float(np.round(recent.mean() * 3))),
        unit_cost=round(unit_cost * 0.08, 2), on_hand=float(np.round(recent.mean())))
    for column, value in (("lead_time_months", 3), ("backup_capacity", 0.0),
                          ("backup_extra_cost", 0.0)):
        if column in row.columns:
            row[column] = value
    out = dict(frames)
    out["components"] = pd.concat([components, row], ignore_index=True).astype(
        components.dtypes.to_dict())
    line = bom.iloc[:1].assign(sku=sku, component=code, qty_per=1.0)
    out["bom"] = pd.concat([bom, line], ignore_index=True).astype(bom.dtypes.to_dict()) \
        .sort_values(["sku", "component"], ignore_index=True)
    return out


# ------------------------------------------------------------------------ master-data faults

FAULT_FAMILIES = ("Valves", "Seals & gaskets", "Spare-parts kits", "Service kits", "Sensors",
                  "Controllers")


def plant_faults(frames: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame],
                                                          pd.DataFrame]:
    """The sample company with a few master-data faults of each kind the product review checks.

    Faults go on plain SKUs only (active, sold since the history's start, in no
    deal or promotion, named as no analog, outside the top fifth by revenue)
    of the valves, seals and kits families (then sensors and controllers),
    taken in family and code order, so
    the planted S&OP conflicts stay as they were. No random number is drawn:
    the rest of the data is exactly the clean company's. A small company gets
    the faults its plain SKUs can carry.

    Planted (check of :mod:`sopkit.quality` in brackets): orders and an open
    deal booked on a code without its dash and a stock lot on a lower-case code
    (``unknown_sku``); a SKU without routing (``no_routing``); a unit cost of
    0 (``missing_price_cost``); a price below cost (``price_below_cost``); two
    SKUs without lead time (``no_lead_time``); a name entered again in capitals
    and a SKU entered twice under a code differing in case and spacing
    (``near_duplicate``); a unit differing from its family's (``unit_mismatch``);
    two histories with missing months (``history_gap``); a new product whose
    analog code does not exist (``launch_data``).

    Returns
    -------
    frames : dict of str to DataFrame
        The tables with the faults (new frames; the input is not changed).
    plants : DataFrame
        ``check, table, sku, detail``: each planted fault and the SKU its
        finding names (for a near duplicate, either of the pair).
    """
    out = {name: frame.copy() for name, frame in frames.items()}
    products, actuals = out["products"], out["actuals"]
    first, last = actuals["period"].min(), actuals["period"].max()
    spans = actuals.groupby("sku")["period"].agg(["min", "max"])
    busy = (set(out["pipeline"]["sku"]) | set(out["promotions"]["sku"])
            | set(products["analog_sku"].dropna()))
    revenue = (actuals[actuals["period"] > add_months(last, -12)].groupby("sku")["qty"].sum()
               * products.set_index("sku")["price"]).reindex(products["sku"]).fillna(0.0)
    plain = products[(products["lifecycle_status"] == "active") & products["launch_period"].isna()
                     & products["family"].isin(FAULT_FAMILIES) & ~products["sku"].isin(busy)
                     & (revenue.to_numpy() <= revenue.quantile(0.8))]
    order = sorted(zip(plain["family"].map(FAULT_FAMILIES.index), plain["sku"], strict=True))
    plain = [sku for _, sku in order if sku in spans.index
             and spans.at[sku, "min"] == first and spans.at[sku, "max"] == last]
    plants: list[tuple[str, str, str, str]] = []
    at = {sku: products.index[products["sku"] == sku][0] for sku in plain}
    queue = iter(plain)

    def take(n: int = 1) -> list[str] | None:
        got = [sku for _, sku in zip(range(n), queue, strict=False)]
        return got if len(got) == n else None

    if (got := take()) is not None:  # orders and a deal on a code without its dash
        typo = got[0].replace("-", "")
        rows = actuals[actuals["sku"] == got[0]].tail(3).assign(sku=typo, qty=[3.0, 2.0, 4.0])
        out["actuals"] = actuals = pd.concat([actuals, rows], ignore_index=True)
        pipe = out["pipeline"]
        latest = pipe["snapshot"].max()
        deal = pipe.iloc[:1].assign(snapshot=latest, deal_id="D-99001", sku=typo,
                                    period=add_months(latest, 2), qty=10.0, probability=0.5,
                                    note=pd.NA)
        if "outcome" in deal.columns:
            deal["outcome"] = pd.NA
        out["pipeline"] = pd.concat([pipe, deal], ignore_index=True)
        plants += [("unknown_sku", "actuals", typo, f"orders booked on {typo} for {got[0]}"),
                   ("unknown_sku", "pipeline", typo, f"a deal for {typo}")]
    if (got := take()) is not None:  # a stock lot on a lower-case code
        code = got[0].lower()
        lot = out["inventory"].iloc[:1].assign(sku=code, qty=12.0, produced_period=pd.NaT)
        out["inventory"] = pd.concat([out["inventory"], lot], ignore_index=True)
        plants.append(("unknown_sku", "inventory", code, f"stock counted on {code}"))
    if (got := take()) is not None:
        out["routings"] = out["routings"][out["routings"]["sku"] != got[0]]
        plants.append(("no_routing", "routings", got[0], "routing deleted"))
    if (got := take()) is not None:
        products.loc[at[got[0]], "unit_cost"] = 0.0
        plants.append(("missing_price_cost", "products", got[0], "unit cost 0"))
    if (got := take()) is not None:
        products.loc[at[got[0]], "price"] = round(
            float(products.loc[at[got[0]], "unit_cost"]) * 0.85, 2)
        plants.append(("price_below_cost", "products", got[0], "price 15 % below cost"))
    if (got := take(2)) is not None:
        products.loc[[at[s] for s in got], "lead_time_months"] = pd.NA
        plants += [("no_lead_time", "products", s, "lead time blank") for s in got]
    if (got := take(2)) is not None:  # the second's name, entered again in capitals
        products.loc[at[got[0]], "name"] = str(products.loc[at[got[1]], "name"]).upper()
        plants.append(("near_duplicate", "products", " ".join(got), "name in capitals"))
    if (got := take()) is not None:  # the same product entered twice
        copy = products.loc[[at[got[0]]]].assign(sku=got[0].lower().replace("-", " "),
                                                 name=f"{products.loc[at[got[0]], 'name']} (2)")
        products = out["products"] = pd.concat([products, copy], ignore_index=True)
        plants.append(("near_duplicate", "products", f"{got[0]} {copy['sku'].iloc[0]}",
                       "SKU entered twice"))
    if (got := take()) is not None:
        unit = "pcs" if products.loc[at[got[0]], "unit"] != "pcs" else "ea"
        products.loc[at[got[0]], "unit"] = unit
        plants.append(("unit_mismatch", "products", got[0], f"unit {unit}"))
    if (got := take(2)) is not None:
        for sku in got:
            months = sorted(actuals.loc[actuals["sku"] == sku, "period"])
            gone = actuals["sku"].eq(sku) & actuals["period"].isin(months[5:7])
            out["actuals"] = actuals = actuals[~gone]
            plants.append(("history_gap", "actuals", sku, "two months missing"))
    npi = products[(products["lifecycle_status"] == "npi") & products["analog_sku"].notna()
                   & products["family"].isin(FAULT_FAMILIES)]
    if len(npi):
        row = npi.index[-1]
        products.loc[row, "analog_sku"] = f"{products.loc[row, 'analog_sku']}X"
        plants.append(("launch_data", "products", products.loc[row, "sku"],
                       "analog code misspelt"))
    out["products"] = products.reset_index(drop=True)
    out["actuals"] = out["actuals"].sort_values(["sku", "period"], ignore_index=True)
    for name in ("pipeline", "inventory", "routings"):
        out[name] = out[name].reset_index(drop=True)
    table = pd.DataFrame(plants, columns=["check", "table", "sku", "detail"]).astype("string")
    return out, table


# ------------------------------------------------------------------------------ public


def make_sample(seed: int = 0, n_skus: int = 300, n_months: int = 36,
                cycle: str = "2026-11", faults: bool = True) -> dict[str, pd.DataFrame]:
    """The sample company's tables, in memory.

    Parameters
    ----------
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same data.
    n_skus : int
        Number of SKUs (at least 30); families, resources, components, deals,
        promotions and adjustments scale with it.
    n_months : int
        Months of history (at least 24), ending the month before ``cycle``.
    cycle : str
        The cycle month ``YYYY-MM``: the first planning month.
    faults : bool
        Plant a few master-data faults of each kind the product review
        checks (:func:`plant_faults`); ``False`` gives the clean company.

    Returns
    -------
    dict of str to DataFrame
        One frame per table of :data:`sopkit.contract.TABLES` (products,
        actuals, pipeline, adjustments, promotions, resources, routings,
        components, bom, inventory, budget, production, purchase_orders), with exactly
        the contract's
        columns in its order, in the in-memory dtypes: codes and text
        ``string``, months month-start ``datetime64[ns]``, numbers
        ``float64``, whole numbers ``Int64``.

    Raises
    ------
    ParameterError
        If ``n_skus`` or ``n_months`` is too small, or ``cycle`` is not a month.
    """
    if int(n_skus) < MIN_SKUS:
        raise ParameterError(f"n_skus must be at least {MIN_SKUS}, got {n_skus}")
    if int(n_months) < MIN_MONTHS:
        raise ParameterError(f"n_months must be at least {MIN_MONTHS}, got {n_months}")
    frames = _purchase_orders(
        _legacy_component(_Company(int(seed), int(n_skus), int(n_months), cycle).frames()),
        int(seed), cycle)
    return plant_faults(frames)[0] if faults else frames


def write_sample(directory: str | Path, seed: int = 0, n_skus: int = 300, n_months: int = 36,
                 cycle: str = "2026-11", faults: bool = True) -> Path:
    """Write the sample company as one ``<table>.csv`` per contract table.

    Files are plain comma-separated UTF-8 with months as ``YYYY-MM``; the same
    arguments always give byte-identical files.

    Parameters
    ----------
    directory : str or Path
        Folder to write into; created if missing.
    seed, n_skus, n_months, cycle, faults
        As for :func:`make_sample`.

    Returns
    -------
    Path
        The folder.
    """
    from sopkit.io import write_table

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in make_sample(seed, n_skus, n_months, cycle, faults).items():
        write_table(frame, folder / f"{name}.csv")
    return folder
