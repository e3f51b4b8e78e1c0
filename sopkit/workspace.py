"""Where things live: the cycle workspace and the report folders.

Steps hand their outputs to later steps as files in ``runs/<cycle>/`` — never
through globals — so that a step can be re-run alone, and a reviewer can open
what a step produced. The file names are fixed here, in one place.

``runs/<cycle>/``
    ``portfolio.csv``        01  ABC/XYZ class and lifecycle per SKU
    ``dq_findings.csv``      01  master-data quality findings
    ``demand_plan.csv``      02  consensus demand per SKU and month, with quantiles
    ``forecast_models.csv``  02  per SKU: demand class, chosen model, backtest error,
                                 last cycle's model, and whether the SKU stayed on it
                                 where a fresh choice would have changed it
    ``forecast_accuracy.csv`` 02 WAPE and bias of archived forecasts by lag (sopkit.archive)
    ``consensus_inputs.csv`` 02 every deal and adjustment used: as entered, as applied, why
    ``supply_plan.csv``      03  supply per SKU and month by source, inventory, shortfall
    ``resource_load.csv``    03  hours per resource and month against capacity
    ``component_usage.csv``  03  components used against supplier capacity
    ``supply_gaps.csv``      03  every short SKU-month with its binding constraint
    ``supply_options.csv``   03  levers used to close gaps (overtime, temps, backup supply...), cost
    ``capacity_outlook.csv`` 03  rough-cut load vs capacity per resource family and month, 24 months
    ``capacity_flags.csv``   03  per resource family: first overload and when to decide new capacity
    ``capacity_flags_resource.csv`` 03  the same per resource (a family's pooled hours can hide one)
    ``financials.csv``       04  revenue, cost, margin per SKU and month
    ``scenarios.csv``        04  KPIs of each what-if scenario
    ``decisions.csv``        05  decisions requested, options, recommendation
    ``summary.html``         05  scorecard and decisions, embedded in the cycle index
``runs/plans.db``
    the plan-of-record store (:mod:`sopkit.store`): every successful run's demand
    plan, supply plan and decisions as a version, and the approvals.
``runs/archive/dq_scores.csv``
    01  the data-quality score of every cycle run (one row per cycle, the
    latest run of a cycle replacing the earlier one): the score's trend
``reports/<cycle>/<run_stamp>/``
    one HTML per step and ``index.html``; ``reports/<cycle>/index.html`` is the
    latest run's index, and older runs stay where they were.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from sopkit.periods import fmt_month

WORKSPACE_ENV = "SOPKIT_WORKSPACE"  # the notebooks' workspace when their parameter is blank
DEFAULT_WORKSPACE = "../runs"  # the project's runs/, seen from notebooks/

STEPS = (
    "01_product_review",
    "02_demand_review",
    "03_supply_review",
    "04_reconciliation",
    "05_executive_review",
)

STEP_TITLES = {
    "01_product_review": "Product review",
    "02_demand_review": "Demand review",
    "03_supply_review": "Supply review",
    "04_reconciliation": "Reconciliation",
    "05_executive_review": "Executive review",
}

OUTPUTS = {
    "portfolio": "portfolio.csv",
    "rationalisation": "rationalisation.csv",
    "dq_findings": "dq_findings.csv",
    "demand_plan": "demand_plan.csv",
    "forecast_models": "forecast_models.csv",
    "forecast_accuracy": "forecast_accuracy.csv",
    "consensus_inputs": "consensus_inputs.csv",
    "supply_plan": "supply_plan.csv",
    "resource_load": "resource_load.csv",
    "component_usage": "component_usage.csv",
    "supply_gaps": "supply_gaps.csv",
    "supply_options": "supply_options.csv",
    "capacity_outlook": "capacity_outlook.csv",
    "capacity_flags": "capacity_flags.csv",
    "capacity_flags_resource": "capacity_flags_resource.csv",
    "financials": "financials.csv",
    "scenarios": "scenarios.csv",
    "decision_options": "decision_options.csv",
    "decision_options_outlook": "decision_options_outlook.csv",
    "decisions": "decisions.csv",
}

# Columns that hold a month in the workspace files (written YYYY-MM).
MONTH_COLUMNS = ("period", "snapshot", "launch_period", "eol_period", "start_period",
                 "end_period", "produced_period", "peak_period", "first_above_regular",
                 "first_peak_overload", "first_overload", "decide_by", "runs_from")


DQ_HISTORY = Path("archive") / "dq_scores.csv"


def read_quality_history(workspace: str | Path) -> pd.DataFrame:
    """The data-quality score of every cycle recorded in the workspace, oldest first.

    Columns as :func:`sopkit.quality.score_record`; empty when none is recorded.
    """
    from sopkit.quality import HISTORY_COLUMNS

    path = Path(workspace) / DQ_HISTORY
    if not path.is_file():
        return pd.DataFrame({c: pd.Series(dtype=float if c == "score" else "string")
                             for c in HISTORY_COLUMNS})
    frame = pd.read_csv(path, dtype={"cycle": "string", "fingerprint": "string"})
    return frame.sort_values("cycle", ignore_index=True)


def record_quality_score(record: pd.DataFrame, workspace: str | Path) -> pd.DataFrame:
    """Add a cycle's row (:func:`sopkit.quality.score_record`) to the history; returns it all.

    A cycle already recorded has its row replaced (a rerun of the cycle), so
    the history holds the latest score of each cycle.
    """
    from sopkit.quality import HISTORY_COLUMNS, score_trend

    _replace_csv(score_trend(read_quality_history(workspace), record)[HISTORY_COLUMNS],
                 Path(workspace) / DQ_HISTORY)
    return read_quality_history(workspace)


def _replace_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` through a temporary file, so a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)


KPI_HISTORY = Path("archive") / "kpi_history.csv"


def read_kpi_history(workspace: str | Path) -> pd.DataFrame:
    """Every cycle's scorecard values in the workspace: ``cycle, kpi, value, source``.

    ``source`` is ``recorded`` (by that cycle's run) or ``rebuilt`` (from data,
    :func:`sopkit.executive.rebuilt_kpis`); files written before it existed
    read as recorded.
    """
    path = Path(workspace) / KPI_HISTORY
    if not path.is_file():
        return pd.DataFrame({"cycle": pd.Series(dtype="string"),
                             "kpi": pd.Series(dtype="string"), "value": pd.Series(dtype=float),
                             "source": pd.Series(dtype="string")})
    frame = pd.read_csv(path, dtype={"cycle": "string", "kpi": "string", "value": float,
                                     "source": "string"})
    if "source" not in frame.columns:
        frame["source"] = pd.array(["recorded"] * len(frame), dtype="string")
    return frame


def record_kpis(card: pd.DataFrame, workspace: str | Path, cycle: str,
                rebuilt: pd.DataFrame | None = None) -> pd.DataFrame:
    """Put a cycle's scorecard values into the KPI history (a rerun replaces them); returns it.

    ``rebuilt`` values of earlier cycles fill the gaps of the history, never
    replacing a recorded value (:func:`sopkit.kpi.scorecard_history`).
    """
    from sopkit.kpi import scorecard_history

    _replace_csv(scorecard_history(read_kpi_history(workspace), card, cycle=cycle,
                                   rebuilt=rebuilt),
                 Path(workspace) / KPI_HISTORY)
    return read_kpi_history(workspace)


def project_root() -> Path:
    """The repository root when sopkit runs from a checkout, else the working directory."""
    here = Path(__file__).resolve().parent.parent
    if (here / "notebooks").is_dir() and (here / "pyproject.toml").is_file():
        return here
    return Path.cwd()


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def cycle_dir(workspace: str | Path, cycle: str) -> Path:
    """``<workspace>/<cycle>/``, created if missing."""
    path = Path(workspace) / cycle
    path.mkdir(parents=True, exist_ok=True)
    return path


def output_path(workspace: str | Path, cycle: str, name: str) -> Path:
    """Path of a named step output (a key of :data:`OUTPUTS`)."""
    if name not in OUTPUTS:
        raise KeyError(f"unknown step output {name!r}; known: {', '.join(OUTPUTS)}")
    return cycle_dir(workspace, cycle) / OUTPUTS[name]


def write_output(frame: pd.DataFrame, workspace: str | Path, cycle: str, name: str) -> Path:
    """Write a step output as CSV, months as ``YYYY-MM``. Returns the path."""
    path = output_path(workspace, cycle, name)
    out = frame.copy()
    for col in MONTH_COLUMNS:
        if col in out.columns and pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = fmt_month(out[col])
    tmp = path.with_suffix(".csv.tmp")
    out.to_csv(tmp, index=False)
    tmp.replace(path)  # atomic: a reader never sees half a file
    return path


def read_output(workspace: str | Path, cycle: str, name: str) -> pd.DataFrame:
    """Read a step output written by :func:`write_output`, months parsed back.

    Raises
    ------
    FileNotFoundError
        With a message naming the step that should have written it.
    """
    path = Path(workspace) / cycle / OUTPUTS[name]
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run the step that writes '{name}' first "
            f"(see sopkit.workspace for which step that is)"
        )
    frame = pd.read_csv(path, dtype={"sku": "string", "resource": "string",
                                     "component": "string", "family": "string"})
    for col in MONTH_COLUMNS:
        if col in frame.columns:
            frame[col] = pd.to_datetime(frame[col], format="%Y-%m")
    return frame


# ------------------------------------------------------------------ step context


class StepContext:
    """What every step notebook resolves from its parameters cell.

    Attributes
    ----------
    step : str
        The notebook's name, e.g. ``02_demand_review``.
    cycle : str
        The cycle month ``YYYY-MM``: the first month being planned.
    cycle_start : Timestamp
        The same as a month-start timestamp.
    history_end : Timestamp
        The last month of demand history used (the month before the cycle).
    data_dir, workspace : Path
        Absolute paths of the data folder and the cycle workspace root.
    data : Dataset
        The loaded, checked data.
    """

    def __init__(self, step, cycle, data_dir, workspace, data):
        from sopkit.periods import add_months, cycle_month

        self.step = step
        self.cycle_start = cycle_month(cycle)
        self.cycle = fmt_month(self.cycle_start)
        self.history_end = add_months(self.cycle_start, -1)
        self.data_dir = Path(data_dir).resolve()
        self.workspace = Path(workspace).resolve()
        self.data = data
        cycle_dir(self.workspace, self.cycle)

    @property
    def title(self) -> str:
        return STEP_TITLES.get(self.step, self.step)

    def banner(self) -> str:
        """The line every step shows under its title: cycle, history, products,
        data folder, and the rows left out for a SKU the product master lacks."""
        text = (f"Cycle {self.cycle} · demand history to {self.history_end:%Y-%m} · "
                f"{len(self.data.products):,} SKUs in the product master · "
                f"data: {self.data_dir.name}")
        left_out = len(self.data.set_aside)
        if left_out:
            text += (f" · {left_out:,} row(s) with a SKU not in the product master left out "
                     "(data-quality check unknown_sku)")
        return text

    def read(self, name: str) -> pd.DataFrame:
        """Read an earlier step's output from this cycle's workspace."""
        return read_output(self.workspace, self.cycle, name)

    def write(self, frame: pd.DataFrame, name: str) -> Path:
        """Write this step's output into the cycle's workspace."""
        return write_output(frame, self.workspace, self.cycle, name)

    def path(self, filename: str) -> Path:
        return cycle_dir(self.workspace, self.cycle) / filename

    def __repr__(self) -> str:
        return (f"StepContext(step={self.step!r}, cycle={self.cycle!r}, "
                f"data_dir='{self.data_dir}', workspace='{self.workspace}')")


def sample_data_dir(workspace: str | Path, n_skus: int, seed: int = 0) -> Path:
    """Folder of the bundled sample company at ``n_skus``, written on first use."""
    from sopkit.sample import write_sample

    folder = Path(workspace) / f"_sample_{n_skus}_seed{seed}"
    if not (folder / "products.csv").is_file():
        write_sample(folder, seed=seed, n_skus=n_skus)
    return folder


def open_step(step: str, *, cycle: str = "", data_dir: str = "", workspace: str = "",
              sample_skus: int = 60) -> StepContext:
    """Resolve a step notebook's parameters and load its data.

    Parameters
    ----------
    step : str
        The notebook's name (one of :data:`STEPS`).
    cycle : str
        ``YYYY-MM``; blank means the month after the last month of actuals.
    data_dir : str
        The data folder; blank means the bundled sample company with
        ``sample_skus`` SKUs (written into the workspace on first use).
    workspace : str
        Root of the cycle workspaces; blank means ``$SOPKIT_WORKSPACE`` when
        that is set, else ``../runs`` (the project's ``runs/`` seen from
        ``notebooks/``). The test suite sets the variable to a folder of its
        own, so running the notebooks as tests never writes into the
        analysts' workspace; ``sop cycle`` always passes its workspace.

    Raises
    ------
    ParameterError
        For an unknown step or a malformed cycle.
    DataError
        Listing every problem in the data folder.
    """
    from sopkit.errors import ParameterError
    from sopkit.io import load_data
    from sopkit.periods import add_months

    if step not in STEPS:
        raise ParameterError(f"unknown step {step!r}; the steps are {', '.join(STEPS)}")
    if not workspace:
        workspace = os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE
    if not data_dir:
        data_dir = sample_data_dir(workspace, int(sample_skus))
    data = load_data(data_dir)
    if not cycle:
        if data.last_actual_period is None:
            raise ParameterError("cycle is blank and the actuals are empty: give the cycle month")
        cycle = fmt_month(add_months(data.last_actual_period, 1))
    return StepContext(step, cycle, data_dir, workspace, data)
