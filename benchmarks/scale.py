"""Forecasting at scale: 100,000 and 1,000,000 synthetic series × 48 months on Dask.

One command (about 10 minutes on a 2-core machine)::

    .venv/bin/python benchmarks/scale.py            # --sizes 100000 1000000 --workers 2

For each size it writes the synthetic history (:mod:`synthetic`, seeded) as a
partitioned Parquet dataset, one file per 50,000 series, then runs
:func:`sopkit.compute.forecast_dataset` — the code behind ``sop forecast
DATASET --out FOLDER --compute dask-local`` — on a ``distributed.LocalCluster``
of ``--workers`` single-threaded worker processes, and for the smallest size
also with ``local`` (in-process) for comparison. The cluster is started here
rather than by ``dask-local`` so that each worker's peak memory (its
``ru_maxrss``) can be read after the run; it has the same shape as
``dask-local`` and the run connects to it like to any existing cluster.

Reported per run: wall time, peak memory of each worker and of the client
process, series per second per core (series / wall / cores used), and a check
that the forecast has one row per series and month. Each run is its own
subprocess so that peaks do not carry over. Results are printed as a Markdown
table and written to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic  # noqa: E402  (a sibling module, not a package)

N_MONTHS = 48
HORIZON = 12
PIECE = 50_000


def write_dataset(folder: Path, n_series: int, seed: int = 0) -> Path:
    """The synthetic history as Parquet files of ``PIECE`` series each, in SKU order.

    Piece ``i`` is :func:`synthetic.demand_matrix` with seed ``seed * 1000 + i``,
    so no process ever holds more than one piece.
    """
    if (folder / "_complete").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    codes = synthetic.sku_codes(n_series)
    for i, low in enumerate(range(0, n_series, PIECE)):
        high = min(low + PIECE, n_series)
        values, _ = synthetic.demand_matrix(high - low, N_MONTHS, seed=seed * 1000 + i)
        frame = synthetic.long_frame(values)
        frame["sku"] = codes[low:high].repeat(N_MONTHS)
        frame.to_parquet(folder / f"part-{i:05d}.parquet", index=False)
    (folder / "_complete").write_text("")
    return folder


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(dataset: Path, out: Path, backend: str, workers: int, chunk_size: int) -> dict:
    """One timed forecast of ``dataset`` (runs in its own process)."""
    from sopkit.compute import forecast_dataset

    params = {"horizon": HORIZON, "season_length": 12}
    if backend == "local":
        started = time.perf_counter()
        result = forecast_dataset(dataset, out, params, compute="local", say=None)
        wall = time.perf_counter() - started
        return {"backend": "local", "wall_s": wall, "cores": 1, "client_peak_mb": _peak_mb(),
                "worker_peak_mb": [], "n_series": result.n_series, "n_rows": result.n_rows,
                "n_chunks": result.n_chunks}

    from distributed import Client

    from sopkit.compute import start_local_cluster

    with start_local_cluster(workers) as cluster, Client(cluster) as client:
        print(f"  dashboard {client.dashboard_link}", flush=True)
        settings = {"backend": "dask", "scheduler": cluster.scheduler_address,
                    "chunk_size": chunk_size, "progress": True}
        started = time.perf_counter()
        result = forecast_dataset(dataset, out, params, compute=settings, say=None)
        wall = time.perf_counter() - started
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"backend": "dask-local", "wall_s": wall, "cores": workers,
            "client_peak_mb": _peak_mb(), "worker_peak_mb": sorted(peaks.values()),
            "n_series": result.n_series, "n_rows": result.n_rows, "n_chunks": result.n_chunks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--data", default="/tmp/sopkit-scale", help="where the datasets go")
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--one", nargs=3, metavar=("DATASET", "OUT", "BACKEND"),
                        help=argparse.SUPPRESS)  # internal: one run in a subprocess
    args = parser.parse_args(argv)
    if args.one:
        dataset, out, backend = args.one
        print("RESULT " + json.dumps(run_one(Path(dataset), Path(out), backend, args.workers,
                                             args.chunk_size)))
        return 0

    root = Path(args.data)
    results = []
    print(f"load before: {os.getloadavg()}  cpus: {os.cpu_count()}", flush=True)
    for n_series in args.sizes:
        started = time.perf_counter()
        dataset = write_dataset(root / f"history_{n_series}", n_series)
        print(f"{n_series:,} series: dataset ready in {time.perf_counter() - started:.0f} s",
              flush=True)
        backends = ["local", "dask-local"] if n_series == min(args.sizes) else ["dask-local"]
        for backend in backends:
            out = root / f"forecast_{n_series}_{backend}"
            command = [sys.executable, __file__, "--one", str(dataset), str(out), backend,
                       "--workers", str(args.workers), "--chunk-size", str(args.chunk_size)]
            run = subprocess.run(command, capture_output=True, text=True)
            if run.returncode:
                print(run.stdout[-2000:], run.stderr[-4000:])
                return run.returncode
            line = [x for x in run.stdout.splitlines() if x.startswith("RESULT ")][-1]
            result = json.loads(line[len("RESULT "):])
            written = pd.read_parquet(out, columns=["sku"])
            result["rows_check"] = bool(len(written) == n_series * HORIZON
                                        and written["sku"].nunique() == n_series)
            result["load_after"] = os.getloadavg()[0]
            results.append(result)
            print(f"  {backend}: {result['wall_s']:.1f} s, workers peak "
                  f"{result['worker_peak_mb']} MB, client peak {result['client_peak_mb']:.0f} MB, "
                  f"load {result['load_after']:.2f}", flush=True)

    print("\n| series | backend | workers × threads | wall s | series/s/core | "
          "peak MB per worker | client peak MB | chunks |")
    print("|---:|---|---|---:|---:|---|---:|---:|")
    for r in results:
        per_core = r["n_series"] / r["wall_s"] / r["cores"]
        workers = (f"{r['cores']} × 1" if r["backend"] != "local" else "in-process")
        peaks = ", ".join(f"{p:,.0f}" for p in r["worker_peak_mb"]) or "–"
        print(f"| {r['n_series']:,} | {r['backend']} | {workers} | {r['wall_s']:.1f} | "
              f"{per_core:,.0f} | {peaks} | {r['client_peak_mb']:,.0f} | {r['n_chunks']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
