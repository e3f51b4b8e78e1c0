"""The step notebooks follow the house skeleton and are committed without outputs."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from sopkit.runner import declared_parameters
from sopkit.workspace import STEPS

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = [NOTEBOOKS / f"{step}.ipynb" for step in STEPS]


def test_one_notebook_per_step_and_no_others():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == [p.name for p in PATHS]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name} has outputs: clear them before committing")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_skeleton(path):
    book = nbformat.read(path, as_version=4)
    assert book.cells[0].cell_type == "markdown" and book.cells[0].source.startswith("# ")
    tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is book.cells[1]
    # the parameters cell holds literals only (papermill injects overrides after it)
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign), ast.dump(node)
        ast.literal_eval(node.value)
    assert {"cycle", "data_dir", "workspace"} <= set(declared_parameters(path))
    # notebooks narrate, sopkit computes: no functions, classes or loops in cells
    for cell in book.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.For | ast.While), (
                f"{path.name}: move {type(node).__name__} into sopkit")
    assert "open_step(" in book.cells[2].source
