"""Session-wide test settings, for the tests in tests/ and the notebooks nbval runs."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

WORKSPACE_KEY = pytest.StashKey[tuple]()


def pytest_configure(config):
    """Notebooks run as tests (nbval, their parameters at the defaults) keep their cycle
    workspace in a folder of the session's own, never in the project's runs/: the blank
    ``workspace`` parameter resolves to ``$SOPKIT_WORKSPACE`` (sopkit.workspace.open_step)."""
    folder = tempfile.mkdtemp(prefix="sopkit-tests-workspace-")
    config.stash[WORKSPACE_KEY] = (folder, os.environ.get("SOPKIT_WORKSPACE"))
    os.environ["SOPKIT_WORKSPACE"] = folder


def pytest_unconfigure(config):
    folder, before = config.stash.get(WORKSPACE_KEY, (None, None))
    if folder is None:
        return
    shutil.rmtree(folder, ignore_errors=True)
    if before is None:
        os.environ.pop("SOPKIT_WORKSPACE", None)
    else:
        os.environ["SOPKIT_WORKSPACE"] = before
