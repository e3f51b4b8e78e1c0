"""Shared fixtures: small hand-made data folders and the seeded sample company."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TINY = {
    "products.csv": (
        "sku,name,family,lifecycle_status,price,unit_cost,priority_tier\n"
        "A,Pump A,Pumps,active,100,60,1\n"
        "B,Valve B,Valves,active,50,20,2\n"
    ),
    "actuals.csv": "sku,period,qty\nA,2024-01,10\nA,2024-02,12\nB,2024-01,0\nB,2024-02,4\n",
    "resources.csv": "resource,capacity_hours,overtime_max_hours\nR1,100,10\n",
    "routings.csv": "sku,resource,hours_per_unit\nA,R1,1.5\nB,R1,0.5\n",
    "inventory.csv": "sku,qty\nA,5\n",
}


def write_folder(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


@pytest.fixture
def tiny_dir(tmp_path) -> Path:
    """A minimal valid data folder (2 SKUs, 2 months, 1 resource)."""
    return write_folder(tmp_path / "data", TINY)


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """The sample company at a small size, written once per test session."""
    from sopkit.sample import write_sample

    folder = tmp_path_factory.mktemp("sample")
    return write_sample(folder, seed=0, n_skus=40, n_months=24)


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """``../shared/datasets`` next to the project, or a skip that says why."""
    folder = Path(os.environ.get("SOPKIT_DATASETS", ROOT.parent / "shared" / "datasets"))
    if not folder.is_dir():
        pytest.skip(f"real demand datasets not found at {folder} (set SOPKIT_DATASETS)")
    return folder


def copy_folder(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
