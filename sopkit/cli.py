"""The ``sop`` command line.

``sop sample DIR``          write the bundled sample company
``sop validate DATA_DIR``   check a data folder against the data contract
``sop cycle``               run the five step notebooks and export the HTML reports
``sop forecast HISTORY``    statistical forecast of a demand history file
``sop approve``             freeze a version of a cycle's plan as the plan of record
``sop plans list|show|export``  the recorded plan versions (sopkit.store)

Every error a user can cause ends in a readable message on stderr and a
non-zero exit code — never a Python traceback (set ``SOPKIT_DEBUG=1`` to see
one when reporting a bug).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from sopkit import __version__
from sopkit.errors import DataError, ParameterError, SopkitError, StepFailedError, StoreError

EXIT_INTERNAL = 70


def _print_err(text: str) -> None:
    print(text, file=sys.stderr)


# --------------------------------------------------------------------------- params


def load_params(path: str | Path | None) -> dict:
    """Read the cycle's YAML parameters (``params/cycle.yaml`` when not given)."""
    import yaml

    from sopkit.workspace import project_root

    if path is None:
        default = project_root() / "params" / "cycle.yaml"
        if not default.is_file():
            return {}
        path = default
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"parameters file not found: {path}")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ParameterError(f"{path}{where}: {problem}") from None
    except UnicodeDecodeError:
        raise ParameterError(f"{path}: not a UTF-8 text file") from None
    if not isinstance(params, dict):
        raise ParameterError(f"{path}: expected a mapping of parameter names to values")
    for reserved in ("cycle", "data_dir", "workspace"):
        if reserved in params:
            raise ParameterError(
                f"{path}: '{reserved}' is set on the command line, not in the parameters file"
            )
    params["__file__"] = str(path)
    return params


# ------------------------------------------------------------------------- commands


def cmd_sample(args) -> int:
    from sopkit.contract import TABLES
    from sopkit.sample import write_sample

    folder = Path(args.directory)
    taken = sorted(path.name for name in TABLES for path in (folder / f"{name}.csv",
                                                             folder / f"{name}.xlsx")
                   if path.exists())
    if taken and not args.force:
        raise ParameterError(
            f"{folder} already holds {', '.join(taken)}: the sample company would overwrite "
            "them; give a new or empty folder (or --force to replace them)")
    folder = write_sample(folder, seed=args.seed, n_skus=args.skus, cycle=args.cycle)
    print(f"sample company written to {folder}")
    return 0


def cmd_validate(args) -> int:
    from sopkit.io import validate_folder

    data, problems = validate_folder(args.data_dir)
    findings = None
    if data is not None:
        from sopkit.periods import add_months
        from sopkit.quality import quality_findings

        cycle = add_months(data.last_actual_period, 1) if data.last_actual_period else None
        findings = quality_findings(data, cycle=cycle)
    if problems:
        raise DataError(problems, headline=f"{len(problems)} problem(s) in {args.data_dir}")
    tables = data.tables()
    n_rows = sum(len(f) for f in tables.values())
    absent = [name for name, frame in tables.items() if frame.empty]
    print(f"{args.data_dir}: the {len(tables) - len(absent)} tables given follow the data "
          f"contract ({n_rows} rows, fingerprint {data.fingerprint})"
          + (f"; not given (optional): {', '.join(absent)}" if absent else ""))
    if len(data.set_aside):
        print(f"{len(data.set_aside)} row(s) with a SKU not in the product master are left out "
              "of planning (finding unknown_sku below)")
    if findings is not None and len(findings):
        errors = findings[findings["severity"] == "error"]
        print(f"\ndata-quality findings: {len(findings)} "
              f"({len(errors)} error(s): the plan cannot be trusted where they apply)")
        print(findings.to_string(index=False, max_colwidth=80))
        if len(errors):
            return 3
    return 0


def _default_sample_dir() -> Path:
    from sopkit.workspace import project_root

    return project_root() / "data" / "sample"


def _check_cycle_against_actuals(cycle: str, last_actual, data_dir) -> None:
    """A cycle plans the months after its history: its first month is the one after
    the last actuals. Later, the months between would count as zero demand; earlier,
    the data holds what happened after the cycle began."""
    from sopkit.periods import add_months, cycle_month, fmt_month, months_between

    if last_actual is None:
        return
    expected = add_months(last_actual, 1)
    gap = months_between(expected, cycle_month(cycle))
    if gap > 0:
        missing = (f"month {fmt_month(expected)}" if gap == 1 else
                   f"{gap} months {fmt_month(expected)} to "
                   f"{fmt_month(add_months(expected, gap - 1))}")
        raise ParameterError(
            f"--cycle {cycle}: the actuals in {data_dir} end {fmt_month(last_actual)}, so "
            f"the {missing} would count as zero demand; add their actuals, "
            f"or plan cycle {fmt_month(expected)} (leave --cycle out)")
    if gap < 0:
        raise ParameterError(
            f"--cycle {cycle}: the actuals in {data_dir} run to {fmt_month(last_actual)}, past "
            f"the cycle's first month; a cycle plans the months after its history: give the "
            f"data as it was before {cycle}, or plan cycle {fmt_month(expected)} "
            "(leave --cycle out)")


def cmd_cycle(args) -> int:
    from sopkit.io import load_data
    from sopkit.periods import add_months, cycle_month, fmt_month
    from sopkit.runner import run_cycle, unknown_parameters
    from sopkit.workspace import notebooks_dir

    params = load_params(args.params)
    params_file = params.pop("__file__", None)
    from sopkit.compute import cycle_compute_override

    params = cycle_compute_override(params, args)
    from sopkit.parameters import check_parameters
    from sopkit.runner import cycle_parameters

    declared = cycle_parameters(notebooks_dir())
    unknown = unknown_parameters(params, notebooks_dir(), declared=declared)
    if unknown:
        raise ParameterError(
            f"{params_file}: unknown parameter(s) {', '.join(sorted(unknown))}: "
            "no step notebook declares them"
        )
    problems = check_parameters(params, declared, source=params_file)
    if problems:
        raise ParameterError(f"{len(problems)} problem(s) in the parameters:\n  - "
                             + "\n  - ".join(problems))
    from sopkit.store import open_store, recorded_message

    # the plan-of-record store is opened before the run: a bad URL fails in a second
    store = open_store(parameter=params.get("store_url", ""), workspace=args.workspace,
                       parameter_source=str(params_file or "the parameters"))
    if args.data is None:
        from sopkit.sample import write_sample

        data_dir = _default_sample_dir()
        write_sample(data_dir, seed=0)
        print(f"no --data given: using the bundled sample company in {data_dir}")
    else:
        data_dir = Path(args.data)
    data = load_data(data_dir)
    if args.cycle:
        cycle = fmt_month(cycle_month(args.cycle))
        _check_cycle_against_actuals(cycle, data.last_actual_period, data_dir)
    else:
        cycle = fmt_month(add_months(data.last_actual_period, 1))
    from sopkit.parameters import check_against_data

    problems = check_against_data(params, data, cycle=cycle, source=params_file)
    if problems:
        raise ParameterError(f"{len(problems)} problem(s) in the parameters against the data "
                             f"in {data_dir}:\n  - " + "\n  - ".join(problems))
    print(f"S&OP cycle {cycle}: data {data_dir} (fingerprint {data.fingerprint})")
    started = time.perf_counter()
    # a run whose steps all finish is recorded in the store as a new draft before its
    # index is written, so the index states the plan-of-record status
    with store:
        try:
            result = run_cycle(
                cycle=cycle,
                data_dir=str(Path(data_dir).resolve()),
                params=params,
                workspace=args.workspace,
                reports=args.reports,
                fingerprint=data.fingerprint,
                progress=print,
                store=store,
            )
        except (StepFailedError, StoreError) as exc:
            partial = getattr(exc, "cycle_result", None)
            if partial is not None:
                what = "with the failed step" if isinstance(exc, StepFailedError) else \
                    "the plan was not recorded"
                print(f"report ({what}): {Path(partial.index).resolve()}")
            raise
        print(f"cycle {cycle} done in {time.perf_counter() - started:.1f} s")
        print(f"report: {Path(result.index).resolve()}")
        print(recorded_message(result.plan_version, store))
    return 0


def cmd_forecast(args) -> int:
    from sopkit.forecast_cli import run_forecast_command

    return run_forecast_command(args)


def _open_plan_store(args):
    """The plan store of ``sop approve`` / ``sop plans`` (see sopkit.store.resolve_store)."""
    from sopkit.store import open_store

    params = load_params(args.params)
    return open_store(args.store, parameter=params.get("store_url", ""),
                      workspace=args.workspace,
                      parameter_source=str(params.get("__file__", "the parameters")))


def cmd_approve(args) -> int:
    from sopkit.store import approval_message, recommendation_note

    with _open_plan_store(args) as store:
        approved = store.approve(args.cycle, by=args.by, note=args.note, version=args.version)
        versions = store.versions(approved.cycle)
        print(approval_message(approved, versions))
        holders = {}
        for number in versions["version"]:
            if int(number) == approved.version:
                continue
            try:  # a version that cannot be read is left out of the hint, not the approval
                holders[int(number)] = store.plan(approved.cycle, int(number)).decisions
            except StoreError:
                continue
        note = recommendation_note(store.plan(approved.cycle, approved.version).decisions,
                                   holders)
        if note:
            print(note)
        print(f"  store: {store.display_url}")
    _refresh_index(Path(args.reports) / approved.cycle, versions, approved.cycle)
    return 0


def _refresh_index(cycle_reports: Path, versions, cycle: str) -> None:
    """Put the new plan-of-record status on the cycle's latest report index.

    The approval stands whatever happens here: a page that cannot be updated
    is a warning, not a failure.
    """
    from sopkit.report import latest_run_stamp, refresh_plan_status
    from sopkit.store import approval_status

    index = cycle_reports / "index.html"
    try:
        stamp = latest_run_stamp(cycle_reports)
        if stamp is None:
            print(f"  no report index {index} (or it names no run): nothing to update "
                  "(--reports gives the reports folder)")
            return
        pages = refresh_plan_status(cycle_reports, approval_status(versions, cycle,
                                                                   run_stamp=stamp),
                                    run_stamp=stamp)
    except (OSError, UnicodeDecodeError) as exc:
        _print_err(f"sop approve: warning: the approval is recorded, but the report index "
                   f"{index} could not be updated: {exc}")
        return
    if not pages:
        _print_err(f"sop approve: warning: the approval is recorded, but {index} has no "
                   "well-formed plan-of-record block; it was left as it is")
        return
    print(f"  report index updated: {pages[0]}")


def cmd_plans(args) -> int:
    from sopkit.store import plan_text, versions_text

    with _open_plan_store(args) as store:
        if args.plans_command == "list":
            print(versions_text(store.versions(args.cycle)))
        elif args.plans_command == "show":
            print(plan_text(store.plan(args.cycle, args.version), table=args.table))
        else:
            from sopkit.export import approved_plan, export_plan

            plan = approved_plan(store, args.cycle, args.version)
            for path in export_plan(plan, args.out, table=args.table, overwrite=args.force):
                print(f"wrote {path}")
            print(f"  {plan.version.describe()}")
    return 0


# ----------------------------------------------------------------------------- main


def _add_compute_options(p: argparse.ArgumentParser) -> None:
    """Where the forecasting (and scenario) work runs: see sopkit.compute."""
    p.add_argument("--compute", choices=("local", "dask", "dask-local"), default=None,
                   help="local (default: in this process), dask (an existing cluster, with "
                        "--scheduler) or dask-local (a LocalCluster started for the run)")
    p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--workers", type=int, help="dask-local: worker processes (default: CPUs)")
    p.add_argument("--chunk-size", type=int, help="SKUs per Dask task (default 20000)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sop", description="sopkit: the monthly Sales & Operations Planning cycle."
    )
    parser.add_argument("--version", action="version", version=f"sopkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("sample", help="write the bundled sample company's data")
    p.add_argument("directory", help="folder to write the CSV files into")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--skus", type=int, default=300, help="number of SKUs (default 300)")
    p.add_argument("--cycle", default="2026-11", help="first planning month (default 2026-11)")
    p.add_argument("--force", action="store_true",
                   help="replace the data files the folder already holds")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("validate", help="check a data folder against the data contract")
    p.add_argument("data_dir", help="folder of CSV/XLSX files")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("cycle", help="run the five S&OP steps and export the HTML reports")
    p.add_argument("--data", help="data folder (default: the bundled sample company)")
    p.add_argument("--cycle", help="cycle month YYYY-MM (default: month after the last actuals)")
    p.add_argument("--params", help="YAML parameters (default: params/cycle.yaml)")
    p.add_argument("--workspace", default="runs", help="cycle workspace folder (default runs)")
    p.add_argument("--reports", default="reports", help="reports folder (default reports)")
    _add_compute_options(p)
    p.set_defaults(func=cmd_cycle)

    p = sub.add_parser("forecast", help="statistical forecast of a demand history file")
    p.add_argument("history", help="CSV with columns sku, period (YYYY-MM or YYYY-Www), qty; "
                                   "or a Parquet file or partitioned Parquet folder")
    p.add_argument("--horizon", type=int, default=12, help="periods to forecast (default 12)")
    p.add_argument("--out", required=True,
                   help="output CSV, or a folder / .parquet name for partitioned Parquet")
    p.add_argument("--season-length", type=int, default=None,
                   help="season length in periods (default 12 monthly, 52 weekly)")
    p.add_argument("--quantiles", default="0.1,0.5,0.9",
                   help="comma-separated quantiles (default 0.1,0.5,0.9)")
    p.add_argument("--service-level", type=float, default=0.95,
                   help="extra quantile for safety stock (default 0.95)")
    p.add_argument("--leading-zeros", choices=("history", "prelaunch"), default="history",
                   help="zeros before a series' first demand: recorded history (default) or "
                        "'not launched yet' (prelaunch)")
    p.add_argument("--pipeline", help="pipeline CSV (lumpy-demand model)")
    p.add_argument("--adjustments", help="manual adjustments CSV, debiased by their owners' "
                                         "track record (lumpy-demand model)")
    p.add_argument("--promotions", help="promotions CSV, added at their stated lift "
                                        "(lumpy-demand model)")
    p.add_argument("--previous", help="an earlier forecast's output (or a CSV of sku, model): "
                                      "each SKU keeps its model while it scores within 10 %% "
                                      "of the best")
    _add_compute_options(p)
    p.set_defaults(func=cmd_forecast)

    # the plan of record (sopkit.store)
    p = sub.add_parser("approve", help="freeze a version of a cycle's plan as the plan of record")
    p.add_argument("--cycle", required=True, help="cycle month YYYY-MM")
    p.add_argument("--by", required=True, help="name of the person who approves")
    p.add_argument("--note", default="", help="what was decided, conditions, meeting reference")
    p.add_argument("--version", type=int, help="version to approve (default: the latest)")
    p.add_argument("--reports", default="reports",
                   help="reports folder whose cycle index shows the new status (default reports)")
    _add_store_options(p)
    p.set_defaults(func=cmd_approve)

    p = sub.add_parser("plans", help="list, show or export the recorded plan versions")
    actions = p.add_subparsers(dest="plans_command", metavar="ACTION")
    actions.required = True
    q = actions.add_parser("list", help="every recorded version with its approval")
    q.add_argument("--cycle", help="only this cycle (YYYY-MM)")
    _add_store_options(q)
    q = actions.add_parser("show", help="one version: its approval and its tables")
    q.add_argument("--cycle", required=True, help="cycle month YYYY-MM")
    q.add_argument("--version", type=int,
                   help="default: the plan of record, else the latest draft")
    q.add_argument("--table", choices=PLAN_TABLES, help="print this whole table")
    _add_store_options(q)
    q = actions.add_parser("export", help="write an approved plan to .csv or .xlsx, "
                                          "safe to open in a spreadsheet")
    q.add_argument("--cycle", required=True, help="cycle month YYYY-MM")
    q.add_argument("--version", type=int,
                   help="an approved version (default: the plan of record)")
    q.add_argument("--table", choices=PLAN_TABLES, help="only this table (default: all)")
    q.add_argument("--out", required=True, help="FILE.xlsx, or FILE.csv")
    q.add_argument("--force", action="store_true",
                   help="replace files of that name that exist already")
    _add_store_options(q)
    p.set_defaults(func=cmd_plans)
    return parser


PLAN_TABLES = ("demand", "supply", "decisions")


def _add_store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="SQLAlchemy URL of the plan store (default: $SOPKIT_STORE_URL, "
                                   "else store_url in the parameters, else WORKSPACE/plans.db)")
    p.add_argument("--workspace", default="runs", help="cycle workspace folder (default runs)")
    p.add_argument("--params", help="YAML parameters (default: params/cycle.yaml)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SopkitError as exc:
        _print_err(f"sop {args.command}: {exc.user_message()}")
        return exc.exit_code
    except KeyboardInterrupt:
        _print_err("interrupted")
        return 130
    except (OSError, MemoryError) as exc:
        _print_err(f"sop {args.command}: {exc}")
        return 1
    except Exception as exc:  # a bug in sopkit: say so, without a traceback
        if os.environ.get("SOPKIT_DEBUG"):
            raise
        _print_err(
            f"sop {args.command}: internal error {type(exc).__name__}: {exc}\n"
            "This is a bug in sopkit; run again with SOPKIT_DEBUG=1 to see the traceback "
            "and report it."
        )
        return EXIT_INTERNAL


__all__ = ["main", "build_parser", "load_params"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
