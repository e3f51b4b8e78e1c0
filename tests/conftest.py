"""Shared fixtures: small hand-made data folders and the seeded sample company."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import TINY, write_folder

ROOT = Path(__file__).resolve().parent.parent


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
