"""Wall time of the whole monthly cycle on the bundled sample company.

Usage::

    .venv/bin/python benchmarks/cycle_time.py [--skus 300] [--repeat 1]

Writes the sample company (seed 0) into a temporary folder, runs ``sop cycle``
as a planner would (a subprocess, five papermill kernels, HTML export) and
prints the wall time of each run and of each step, as the runner reports them.
The README quotes the figure measured with ``/usr/bin/time make cycle``-style
runs; this script is the repeatable way to measure it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        subprocess.run([sys.executable, "-m", "sopkit", "sample", str(root / "data"),
                        "--skus", str(args.skus)], check=True, capture_output=True)
        for run in range(1, args.repeat + 1):
            started = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "sopkit", "cycle", "--data", str(root / "data"),
                 "--workspace", str(root / "runs"), "--reports", str(root / "reports")],
                capture_output=True, text=True)
            wall = time.perf_counter() - started
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr, file=sys.stderr)
                return proc.returncode
            steps = re.findall(r"\] (\S+) \.\.\. ok \(([\d.]+) s\)", proc.stdout)
            detail = ", ".join(f"{name} {seconds} s" for name, seconds in steps)
            print(f"run {run}: {args.skus} SKUs, {wall:.1f} s wall ({detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
