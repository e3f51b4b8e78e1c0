"""Wall time and peak memory of sopkit's forecast engine against statsforecast.

Usage::

    .venv/bin/python benchmarks/forecast_speed.py \\
        [--series 10000] [--months 48] [--large-series 100000] \\
        [--statsforecast-python .venv-peers/bin/python] \\
        [--skip-statsforecast] [--sopkit-only-100k]

Data: :mod:`synthetic` (seed 0), a quarter each of smooth, seasonal,
intermittent and lumpy monthly series, generated once and handed to every
measurement as an ``.npy`` file, so both tools see the same numbers.

Each measurement runs in its own subprocess (this script with ``--worker``),
so imports, caches and freed-but-not-returned memory of one side never count
for the other. Peak memory is the larger of the worker's own
``ru_maxrss`` and the summed RSS of the worker and its children, sampled every
20 ms (statsforecast's ``n_jobs=2`` runs a process pool). The input frame is
built inside each worker before the clock starts and counts in its peak.

sopkit (one core, NumPy): ``StatisticalForecaster(horizon=12,
season_length=12).fit(df)`` then ``.predict()`` — to_matrix, classification,
every candidate on every backtest origin, selection (``selection_``) and
quantiles — first call in a fresh process. ``backtest_`` (the long frame of
every candidate's backtest forecasts, built lazily) is timed on top, and the
peak is read before and after it.

statsforecast (``n_jobs=2``): CrostonClassic, CrostonSBA, CrostonOptimized,
TSB(alpha_d=0.2, alpha_p=0.2), ADIDA, IMAPA and AutoETS(season_length=12),
``StatsForecast(models, freq="MS", n_jobs=2).forecast(df=..., h=12)``. First a
call on a small subset (cold: the first call of the process), then the same
subset again (warm), then the full data set. statsforecast pins
``pandas<3``; install it in its own virtualenv (``pip install -e ".[bench]"``)
and pass that interpreter with ``--statsforecast-python``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402  (a sibling module, not a package)

ENGINE_SOURCES = ("sopkit/forecast.py", "sopkit/classify.py")

SEED = 0
HORIZON = 12
SEASON_LENGTH = 12
N_JOBS = 2
TSB_ALPHA = 0.2
TARGET_SPEED_UP = 10.0
TARGET_PEAK_MB = 2048.0
STATSFORECAST_PACKAGES = ("statsforecast", "coreforecast", "pandas", "numpy", "scipy")


# --------------------------------------------------------------------------- workers


def _peak_mb() -> float:
    """High-water mark of this process's resident memory, in MB (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _children_peak_mb() -> float:
    """Largest high-water mark among this process's finished children, in MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _clock() -> tuple[float, float]:
    """Wall clock and CPU seconds (user + system) of this process and its finished children.

    CPU seconds do not grow when other work on the machine takes the cores, so
    they show whether a wall time was inflated by contention.
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return time.perf_counter(), cpu


def _since(start: tuple[float, float]) -> tuple[float, float]:
    """Wall and CPU seconds elapsed since ``start`` (a :func:`_clock` reading)."""
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def run_sopkit(data_path: Path) -> dict:
    """Time sopkit's complete run on the matrix in ``data_path``.

    Returns
    -------
    dict
        ``version``, ``seconds`` and ``cpu_seconds`` (per stage: ``fit``,
        ``predict``, ``backtest``), ``peak_mb`` (high-water mark after ``load``,
        ``fit``, ``predict``, ``backtest``), ``rows`` (of the prediction and the
        backtest frame) and ``classes`` (SKUs per demand class).
    """
    import sopkit
    from sopkit.forecast import StatisticalForecaster

    values = np.load(data_path)
    actuals = synthetic.long_frame(values)
    del values
    peak = {"load": _peak_mb()}
    seconds, cpu_seconds = {}, {}

    started = _clock()
    forecaster = StatisticalForecaster(horizon=HORIZON, season_length=SEASON_LENGTH)
    forecaster.fit(actuals)
    n_selected = len(forecaster.selection_)
    seconds["fit"], cpu_seconds["fit"] = _since(started)
    peak["fit"] = _peak_mb()

    started = _clock()
    forecast = forecaster.predict()
    n_quantile_columns = sum(c.startswith("qty_q") for c in forecast.columns)
    seconds["predict"], cpu_seconds["predict"] = _since(started)
    peak["predict"] = _peak_mb()

    started = _clock()
    n_backtest = len(forecaster.backtest_)
    seconds["backtest"], cpu_seconds["backtest"] = _since(started)
    peak["backtest"] = _peak_mb()

    classes = forecaster.selection_["demand_class"].value_counts().sort_index()
    return {
        "version": sopkit.__version__ if hasattr(sopkit, "__version__") else "?",
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_mb": peak,
        "rows": {"selection": n_selected, "forecast": len(forecast),
                 "quantile_columns": n_quantile_columns, "backtest": n_backtest},
        "classes": {str(k): int(v) for k, v in classes.items()},
    }


def run_statsforecast(data_path: Path, warmup_series: int) -> dict:
    """Time statsforecast on a small subset (cold, then warm) and on the full matrix.

    Returns
    -------
    dict
        ``version``, ``seconds`` (``import``, ``subset_cold``, ``subset_warm``,
        ``full``), ``cpu_seconds`` (the same stages but ``import``, pool workers
        included), ``peak_mb`` (own high-water mark after each stage),
        ``children_peak_mb`` (largest pool worker) and ``rows``.
    """
    started = time.perf_counter()
    import statsforecast
    from statsforecast import StatsForecast
    from statsforecast.models import (
        ADIDA,
        IMAPA,
        TSB,
        AutoETS,
        CrostonClassic,
        CrostonOptimized,
        CrostonSBA,
    )

    seconds = {"import": time.perf_counter() - started}
    values = np.load(data_path)
    frame = synthetic.statsforecast_frame(values)
    subset = synthetic.statsforecast_frame(values[:warmup_series])
    del values
    peak = {"load": _peak_mb()}

    def forecast(df):
        models = [
            CrostonClassic(),
            CrostonSBA(),
            CrostonOptimized(),
            TSB(alpha_d=TSB_ALPHA, alpha_p=TSB_ALPHA),
            ADIDA(),
            IMAPA(),
            AutoETS(season_length=SEASON_LENGTH),
        ]
        engine = StatsForecast(models=models, freq="MS", n_jobs=N_JOBS)
        return engine.forecast(df=df, h=HORIZON)

    rows, cpu_seconds = {}, {}
    for stage, df in (("subset_cold", subset), ("subset_warm", subset), ("full", frame)):
        started = _clock()
        rows[stage] = len(forecast(df))
        seconds[stage], cpu_seconds[stage] = _since(started)
        peak[stage] = _peak_mb()
    return {
        "version": statsforecast.__version__,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_mb": peak,
        "children_peak_mb": _children_peak_mb(),
        "rows": rows,
    }


# --------------------------------------------------------------------------- orchestration


def _tree_rss_mb(process) -> float:
    """Summed RSS of ``process`` and its descendants, in MB (0 once it has gone)."""
    import psutil

    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def measure(command: list[str]) -> tuple[dict, float, float]:
    """Run one worker; return its JSON report, wall seconds and sampled peak tree RSS (MB).

    The report gains ``load``: the mean 1-minute load average while the worker
    ran (the worker's own processes included), to show contention on the cores.
    """
    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    handle = psutil.Process(proc.pid)
    sampled = [0.0]
    loads = []

    def sample() -> None:
        while proc.poll() is None:
            sampled[0] = max(sampled[0], _tree_rss_mb(handle))
            loads.append(os.getloadavg()[0])
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr}")
    report = json.loads(stdout.strip().splitlines()[-1])
    report["load"] = round(float(np.mean(loads)), 2) if loads else None
    return report, wall, sampled[0]


def _python_version(python: str) -> str:
    probe = "import platform; print(platform.python_version())"
    return subprocess.run([python, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip()


def _package_versions(python: str, names: tuple[str, ...]) -> str:
    probe = ("import importlib.metadata as m, sys\n"
             "for n in sys.argv[1:]:\n"
             "    try: print(n, m.version(n))\n"
             "    except m.PackageNotFoundError: pass")
    out = subprocess.run([python, "-c", probe, *names], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    return ", ".join(line for line in out if line)


def _row(series: int, months: int, tool: str, wall: float, cpu: float, peak: float | None,
         speed_up: str) -> str:
    peak_text = "–" if peak is None else f"{peak:,.0f}"
    return (f"| {series:,} | {months} | {tool} | {wall:.1f} | {cpu:.1f} | {peak_text} "
            f"| {speed_up} |")


def _sopkit_rows(series: int, months: int, report: dict, sampled: float,
                 reference: float | None) -> list[str]:
    seconds, cpu, peak = report["seconds"], report["cpu_seconds"], report["peak_mb"]
    core = seconds["fit"] + seconds["predict"]
    with_backtest = core + seconds["backtest"]
    cpu_core = cpu["fit"] + cpu["predict"]
    cpu_with_backtest = cpu_core + cpu["backtest"]
    # a tree sample can miss a short spike; ru_maxrss cannot
    peak_core = peak["predict"]
    peak_all = max(peak["backtest"], sampled)

    def ratio(wall: float) -> str:
        return f"{reference / wall:.1f}×" if reference else "–"

    return [
        _row(series, months, "sopkit fit + predict (selection_, quantiles)", core, cpu_core,
             peak_core, ratio(core)),
        _row(series, months, "sopkit fit + predict + backtest_", with_backtest,
             cpu_with_backtest, peak_all, ratio(with_backtest)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--large-series", type=int, default=100_000,
                        help="series of the sopkit-only scale run (0: skip it)")
    parser.add_argument("--warmup-series", type=int, default=100,
                        help="series of statsforecast's cold and warm subset calls")
    peers = Path(__file__).resolve().parent.parent / ".venv-peers" / "bin" / "python"
    parser.add_argument("--statsforecast-python",
                        default=str(peers) if peers.exists() else sys.executable,
                        help="interpreter with statsforecast installed (it pins pandas<3)")
    parser.add_argument("--skip-statsforecast", action="store_true")
    parser.add_argument("--sopkit-only-100k", action="store_true",
                        help="only the sopkit run on --large-series series")
    parser.add_argument("--worker", choices=("sopkit", "statsforecast"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "sopkit":
        print(json.dumps(run_sopkit(args.data)))
        return 0
    if args.worker == "statsforecast":
        print(json.dumps(run_statsforecast(args.data, args.warmup_series)))
        return 0

    script = str(Path(__file__).resolve())
    if not (args.skip_statsforecast or args.sopkit_only_100k) and subprocess.run(
            [args.statsforecast_python, "-c", "import statsforecast"],
            capture_output=True).returncode != 0:
        print(f"statsforecast cannot be imported by {args.statsforecast_python}; install it "
              "in its own virtualenv (it pins pandas<3) and pass --statsforecast-python, "
              "or use --skip-statsforecast", file=sys.stderr)
        return 2
    lines = ["| series | months | tool | wall s | CPU s | peak MB | speed-up |",
             "|---|---|---|---|---|---|---|"]
    notes = []
    with tempfile.TemporaryDirectory() as tmp:

        def data_file(n_series: int) -> Path:
            values, _ = synthetic.demand_matrix(n_series, args.months, seed=SEED)
            path = Path(tmp) / f"demand_{n_series}x{args.months}.npy"
            np.save(path, values)
            notes.append(f"data {n_series:,} × {args.months}: seed {SEED}, "
                         f"fingerprint {synthetic.fingerprint(values)}")
            return path

        reference = None
        sopkit_report = None
        if not args.sopkit_only_100k:
            path = data_file(args.series)
            print(f"sopkit on {args.series:,} series …", file=sys.stderr, flush=True)
            sopkit_report, sopkit_wall, sopkit_sampled = measure(
                [sys.executable, script, "--worker", "sopkit", "--data", str(path)])
            notes.append(f"sopkit {args.series:,}: stages {sopkit_report['seconds']}, "
                         f"CPU {sopkit_report['cpu_seconds']}, "
                         f"peak MB after stage {sopkit_report['peak_mb']}, "
                         f"rows {sopkit_report['rows']}, classes {sopkit_report['classes']}, "
                         f"process wall {sopkit_wall:.1f} s, load {sopkit_report['load']}")
            if not args.skip_statsforecast:
                print(f"statsforecast on {args.series:,} series …", file=sys.stderr, flush=True)
                report, wall, sampled = measure(
                    [args.statsforecast_python, script, "--worker", "statsforecast",
                     "--data", str(path), "--warmup-series", str(args.warmup_series)])
                seconds, cpu = report["seconds"], report["cpu_seconds"]
                reference = seconds["full"]
                peak = max(report["peak_mb"]["full"], sampled)
                tool = f"statsforecast {report['version']}, 7 models, n_jobs={N_JOBS}"
                lines.append(_row(args.warmup_series, args.months, tool + ", cold first call",
                                  seconds["subset_cold"], cpu["subset_cold"], None, "–"))
                lines.append(_row(args.warmup_series, args.months, tool + ", warm",
                                  seconds["subset_warm"], cpu["subset_warm"], None, "–"))
                lines.append(_row(args.series, args.months, tool + " (after warm-up)",
                                  reference, cpu["full"], peak, "1.0×"))
                notes.append(f"statsforecast: stages {seconds}, CPU {cpu}, own peak MB "
                             f"{report['peak_mb']}, largest pool worker "
                             f"{report['children_peak_mb']:.0f} MB, sampled tree peak "
                             f"{sampled:.0f} MB, process wall {wall:.1f} s, "
                             f"load {report['load']}; "
                             + _package_versions(args.statsforecast_python,
                                                 STATSFORECAST_PACKAGES))
            lines.extend(_sopkit_rows(args.series, args.months, sopkit_report, sopkit_sampled,
                                      reference))
        if args.large_series:
            path = data_file(args.large_series)
            print(f"sopkit on {args.large_series:,} series …", file=sys.stderr, flush=True)
            report, wall, sampled = measure(
                [sys.executable, script, "--worker", "sopkit", "--data", str(path)])
            lines.extend(_sopkit_rows(args.large_series, args.months, report, sampled, None))
            notes.append(f"sopkit {args.large_series:,}: stages {report['seconds']}, "
                         f"CPU {report['cpu_seconds']}, "
                         f"peak MB after stage {report['peak_mb']}, rows {report['rows']}, "
                         f"classes {report['classes']}, process wall {wall:.1f} s, "
                         f"load {report['load']}")

    print("\n".join(lines))
    print()
    print(f"targets: sopkit >= {TARGET_SPEED_UP:.0f}× faster than statsforecast on the same "
          f"data; sopkit peak < {TARGET_PEAK_MB:,.0f} MB on 100,000 series")
    print(f"machine: {platform.machine()}, {_cpu_count()} cores, Python "
          f"{_python_version(sys.executable)}; sopkit side: "
          f"{_package_versions(sys.executable, ('sopkit', 'numpy', 'pandas', 'scipy'))}")
    print("engine sources (SHA-256, first 12): " + ", ".join(
        f"{name} {_file_digest(HERE.parent / name)}" for name in ENGINE_SOURCES))
    for note in notes:
        print(f"- {note}")
    return 0


def _file_digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else "missing"


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
