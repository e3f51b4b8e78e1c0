"""Run a planning cycle: execute the step notebooks in order and publish reports.

Each step notebook runs in its own fresh kernel through papermill, so a step
sees only its parameters and the files earlier steps wrote to
``runs/<cycle>/`` — exactly what happens when a planner runs it alone in
JupyterLab. The executed notebooks are kept in ``runs/<cycle>/executed/``; the
reviewer pages go to ``reports/<cycle>/<run_stamp>/`` (see :mod:`sopkit.report`).

The run stops at the first failing step: that step still gets its page (with
the error in a box), later steps are marked skipped, the index is written, and
then :class:`~sopkit.errors.StepFailedError` is raised for the command line to
print.

Given a plan store (:mod:`sopkit.store`), a run whose steps all finished is
recorded in it as a new draft version before the index is written, so the
index states the run's plan-of-record status ("Draft version 3, not
approved", or who approved which version); when the store cannot record or
be read, the index says the status is unknown and why.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sopkit.errors import ParameterError, StepFailedError, StoreError
from sopkit.periods import cycle_month, fmt_month
from sopkit.report import (
    NO_STORE_STATUS,
    PAPERMILL_PARAMETERS_TAG,
    ReportHeader,
    export_error_html,
    export_step_html,
    strip_ansi,
    write_index,
)
from sopkit.workspace import STEP_TITLES, STEPS, cycle_dir, notebooks_dir

# Parameters every step notebook receives from the runner.
BASE_PARAMETERS = ("cycle", "data_dir", "workspace")

# The kernel draws figures inline even when the calling process set another
# backend (CI often exports MPLBACKEND=Agg, which would leave reports without
# plots); the debugger's frozen-modules warning would only clutter stderr.
KERNEL_ENV = {
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}

SUMMARY_FILE = "summary.html"


@dataclass
class StepResult:
    """How one step of a run went.

    ``status`` is ``"ok"``, ``"failed"`` or ``"skipped"``; ``report`` is the
    step's page (``None`` when skipped); ``error`` is set when it failed.
    """

    step: str
    status: str
    seconds: float
    executed_notebook: Path
    report: Path | None
    error: StepFailedError | None = None


@dataclass
class CycleResult:
    """A finished (or stopped) run of the cycle.

    Attributes
    ----------
    cycle : str
        ``YYYY-MM``.
    run_stamp : str
        ``YYYYMMDD-HHMMSS`` of the run start (a ``-2``… suffix if that folder
        already existed); the name of the run's report folder.
    steps : list of StepResult
        In run order, skipped steps included.
    index : Path
        ``reports/<cycle>/index.html``.
    run_dir : Path
        ``reports/<cycle>/<run_stamp>/``.
    ok : bool
        True when every step finished.
    parameters : dict
        The run's parameters (as shown in the index header).
    fingerprint : str
        Fingerprint of the input data.
    started_at : datetime or None
        When the run started.
    plan_version : PlanVersion or None
        The draft version the run was recorded as (``None`` without a store,
        for a failed run, or when recording failed).
    plan_status : str
        The plan-of-record status sentence shown on the index.
    """

    cycle: str
    run_stamp: str
    steps: list[StepResult]
    index: Path
    run_dir: Path
    ok: bool
    parameters: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    started_at: datetime | None = None
    plan_version: Any = None
    plan_status: str = ""


# ------------------------------------------------------------------ parameters


def declared_parameters(notebook: str | Path) -> dict[str, Any]:
    """Names and defaults declared in a notebook's ``parameters`` cell."""
    import papermill

    found = papermill.inspect_notebook(str(notebook))
    return {name: info.get("default") for name, info in found.items()}


def cycle_parameters(notebooks_dir: str | Path, steps: Sequence[str] = STEPS) -> dict[str, Any]:
    """Every parameter the step notebooks declare, with its default (the first
    step's where several declare it) as papermill reports it (source text)."""
    declared: dict[str, Any] = {}
    for step in steps:
        path = Path(notebooks_dir) / f"{step}.ipynb"
        if path.is_file():
            for name, default in declared_parameters(path).items():
                declared.setdefault(name, default)
    return declared


def unknown_parameters(
    params: Mapping[str, Any], notebooks_dir: str | Path, steps: Sequence[str] = STEPS, *,
    declared: Mapping[str, Any] | None = None,
) -> list[str]:
    """The keys of ``params`` that no step notebook declares (likely typos), sorted.

    The runner's own parameters (cycle, data_dir, workspace) always count as known.
    ``declared``: :func:`cycle_parameters` when the caller has it already.
    """
    if declared is None:
        declared = cycle_parameters(notebooks_dir, steps)
    known = set(BASE_PARAMETERS) | set(declared)
    return sorted(key for key in params if key not in known)


# ---------------------------------------------------------------------- kernel


def _kernel_manager_class(log_file=None):
    """A kernel manager that keeps the kernel's own chatter off the user's terminal.

    It encrypts the kernel's local sockets when the kernelspec allows it (this
    also silences ipykernel's "running over TCP without encryption" warning),
    and sends the kernel process's stdout/stderr — not the cells' outputs,
    which go to the notebook — to ``log_file``.
    """
    import zmq
    from jupyter_client.manager import AsyncKernelManager

    class StepKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            if zmq.has("curve") and self._kernel_supports_curve_encryption():
                self.transport_encryption = "auto"

        async def start_kernel(self, **kwargs):
            if log_file is not None:
                kwargs.setdefault("stdout", log_file)
                kwargs.setdefault("stderr", log_file)
            return await super().start_kernel(**kwargs)

    return StepKernelManager


@contextlib.contextmanager
def _kernel_environment() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in KERNEL_ENV}
    os.environ.update(KERNEL_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def failing_code_cell(executed_notebook: str | Path) -> int | None:
    """1-based position, among the notebook's own code cells, of the first cell with an error.

    Papermill's injected-parameters cell is not counted, so the number matches
    what a planner sees in the source notebook.
    """
    import nbformat

    try:
        nb = nbformat.read(str(executed_notebook), as_version=4)
    except (OSError, ValueError):
        return None
    position = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if PAPERMILL_PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        position += 1
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return position
    return None


def _execute(notebook: Path, executed: Path, parameters: dict[str, Any], kernel_name: str) -> None:
    import papermill

    log_path = executed.with_suffix(".kernel.log")
    with _kernel_environment(), open(log_path, "wb") as log_file:
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters=parameters,
            kernel_name=kernel_name,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,  # one write at the end, not one per cell
            kernel_manager_class=_kernel_manager_class(log_file),
        )


# ------------------------------------------------------------------------ run


def _new_run_dir(cycle_reports: Path, run_stamp: str) -> tuple[str, Path]:
    """A run folder that does not exist yet: older runs are never overwritten."""
    cycle_reports.mkdir(parents=True, exist_ok=True)
    stamp, number = run_stamp, 1
    while True:
        run_dir = cycle_reports / stamp
        try:
            run_dir.mkdir()
            return stamp, run_dir
        except FileExistsError:
            number += 1
            stamp = f"{run_stamp}-{number}"


def _read_summary(workspace: Path, cycle: str, since: float) -> str | None:
    path = workspace / cycle / SUMMARY_FILE
    try:
        if path.stat().st_mtime + 1 >= since:  # written by this run, not a stale one
            return path.read_text(encoding="utf-8")
    except OSError:
        pass
    return None


def _record_plan(store, workspace: Path, cycle: str, run_stamp: str, fingerprint: str,
                 ok: bool) -> tuple[Any, str, StoreError | None]:
    """Record a finished run in the plan store; the index's status sentence.

    Returns the recorded version (or ``None``), the status sentence, and the
    error that stopped the recording (raised once the index is written).
    """
    from sopkit.store import approval_status

    if store is None:
        return None, NO_STORE_STATUS, None
    recorded = None
    if ok:
        try:
            recorded = store.record_workspace(workspace, cycle, data_fingerprint=fingerprint,
                                              run_stamp=run_stamp)
        except StoreError as exc:
            return None, (f"Plan-of-record status unknown: this run's plan could not be "
                          f"recorded in the plan store ({exc.user_message()})."), exc
    try:
        return recorded, approval_status(store.versions(cycle), cycle,
                                         run_stamp=run_stamp), None
    except StoreError as exc:
        text = (f"Plan-of-record status unknown: the plan store could not be read "
                f"({exc.user_message()}).")
        if recorded is not None:
            text += f" This run's plan was recorded as draft version {recorded.version}."
        return recorded, text, None


def run_cycle(
    *,
    cycle: str,
    data_dir: str | Path,
    params: Mapping[str, Any],
    workspace: str | Path = "runs",
    reports: str | Path = "reports",
    notebooks: str | Path | None = None,
    steps: Sequence[str] = STEPS,
    fingerprint: str = "",
    progress: Callable[[str], None] | None = print,
    kernel_name: str = "python3",
    now: datetime | None = None,
    store=None,
) -> CycleResult:
    """Execute the step notebooks in order and publish their reports.

    Parameters
    ----------
    cycle : str
        The cycle month ``YYYY-MM``.
    data_dir : path
        The data folder, passed to every notebook as an absolute path (blank
        stays blank: the notebooks then use the bundled sample company).
    params : mapping
        Further parameters; each notebook receives those its ``parameters``
        cell declares. Check for typos first with :func:`unknown_parameters`.
    workspace, reports : path
        Roots of the cycle workspaces and of the reports.
    notebooks : path, optional
        Folder of the step notebooks (default: the project's ``notebooks/``).
    steps : sequence of str
        The notebooks to run, in order (names without ``.ipynb``).
    fingerprint : str
        Fingerprint of the input data, shown in every report header.
    progress : callable, optional
        Called with one line per step, e.g. ``[2/5] 02_demand_review ... ok (3.1 s)``.
    kernel_name : str
        Jupyter kernel to run the notebooks in.
    now : datetime, optional
        The run time (default: now); names the run folder ``%Y%m%d-%H%M%S``.
    store : PlanStore, optional
        The plan-of-record store (:func:`sopkit.store.open_store`): a run whose
        steps all finish is recorded in it as a new draft version, and the
        index states the plan-of-record status. Without it the index says
        the run was not recorded.

    Returns
    -------
    CycleResult

    Raises
    ------
    ParameterError
        For a malformed cycle or a missing notebook (before anything runs).
    StepFailedError
        When a step fails, after its page, the skipped steps and the index
        have been written.
    StoreError
        When the store could not record the finished run, after the index
        (saying so) has been written.
    """
    say = progress or (lambda line: None)
    cycle = fmt_month(cycle_month(cycle))
    folder = Path(notebooks) if notebooks is not None else notebooks_dir()
    sources = {step: folder / f"{step}.ipynb" for step in steps}
    missing = [str(path) for path in sources.values() if not path.is_file()]
    if missing:
        raise ParameterError("step notebook(s) not found: " + ", ".join(missing))

    started_at = (now or datetime.now()).replace(microsecond=0)
    started_clock = time.time()
    workspace_path = Path(workspace).resolve()
    executed_dir = cycle_dir(workspace_path, cycle) / "executed"
    executed_dir.mkdir(parents=True, exist_ok=True)
    run_stamp, run_dir = _new_run_dir(Path(reports) / cycle, started_at.strftime("%Y%m%d-%H%M%S"))
    base = {
        "cycle": cycle,
        "data_dir": str(Path(data_dir).resolve()) if str(data_dir) else "",
        "workspace": str(workspace_path),
    }

    results: list[StepResult] = []
    failure: StepFailedError | None = None
    for number, step in enumerate(steps, start=1):
        executed = executed_dir / f"{step}.ipynb"
        prefix = f"[{number}/{len(steps)}] {step} ..."
        if failure is not None:
            results.append(StepResult(step, "skipped", 0.0, executed, None))
            say(f"{prefix} skipped")
            continue
        declared = declared_parameters(sources[step])
        parameters = {
            **base,
            **{k: v for k, v in params.items() if k in declared and k not in base},
        }
        header = ReportHeader(
            cycle=cycle,
            title=STEP_TITLES.get(step, step),
            run_at=started_at,
            parameters=parameters,
            fingerprint=fingerprint,
        )
        report = run_dir / f"{step}.html"
        if executed.exists():
            executed.unlink()  # a stale notebook must not pass for this run's
        clock = time.perf_counter()
        error_info: tuple[int | None, str, str] | None = None
        try:
            _execute(sources[step], executed, parameters, kernel_name)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a StepFailedError
            from papermill.exceptions import PapermillExecutionError

            if isinstance(exc, PapermillExecutionError):
                error_info = (
                    failing_code_cell(executed),
                    strip_ansi(exc.ename),
                    strip_ansi(exc.evalue),
                )
            else:
                error_info = (None, type(exc).__name__, strip_ansi(str(exc)))
        seconds = time.perf_counter() - clock

        if executed.is_file():
            export_step_html(executed, report, header=header)
        else:
            export_error_html(report, header=header, ename=error_info[1], evalue=error_info[2])
        if error_info is None:
            results.append(StepResult(step, "ok", seconds, executed, report))
            say(f"{prefix} ok ({seconds:.1f} s)")
        else:
            cell_index, ename, evalue = error_info
            failure = StepFailedError(step, cell_index, ename, evalue, str(report))
            results.append(StepResult(step, "failed", seconds, executed, report, failure))
            say(f"{prefix} FAILED ({seconds:.1f} s): {ename}: {evalue}")

    result = CycleResult(
        cycle=cycle,
        run_stamp=run_stamp,
        steps=results,
        index=Path(reports) / cycle / "index.html",
        run_dir=run_dir,
        ok=failure is None,
        parameters={**dict(params), **base},
        fingerprint=fingerprint,
        started_at=started_at,
    )
    result.plan_version, result.plan_status, store_error = _record_plan(
        store, workspace_path, cycle, run_stamp, fingerprint, failure is None)
    write_index(result, reports, summary_html=_read_summary(workspace_path, cycle, started_clock),
                plan_status=result.plan_status)
    say(f"index: {result.index}")
    for error in (failure, store_error):
        if error is not None:
            error.cycle_result = result  # the CLI can still point at the index
            raise error
    return result
