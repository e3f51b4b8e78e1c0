"""The sopkit error hierarchy.

Every error a user can cause is a :class:`SopkitError`; the command line turns it
into a readable message and a non-zero exit, never a traceback. Errors carry
structured data (the file, the failing step, the table of problems) so that
notebooks and reports can show them as tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral

import pandas as pd


class SopkitError(Exception):
    """Base class of every error sopkit raises on purpose."""

    exit_code = 1

    def user_message(self) -> str:
        """The message shown to a person (no traceback)."""
        return str(self)


class ParameterError(SopkitError):
    """A cycle parameter or command-line option is invalid."""

    exit_code = 2


def whole_number(name: str, value, *, minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is a whole number of at least ``minimum``.

    Whole means an integer type (``int``, NumPy integers), as scikit-learn
    checks its integer parameters: ``3.0`` and ``True`` are refused, so a
    mistyped parameter fails here, by name, and not later inside the maths.

    Raises
    ------
    ParameterError
        ``"<name> must be a whole number >= <minimum>, got <value!r>"``.
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ParameterError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


@dataclass
class Problem:
    """One problem found in an input file.

    ``row`` is the line number as a spreadsheet shows it (the header is line 1),
    or ``None`` when the problem concerns the whole file or column.
    """

    file: str
    row: int | None
    column: str | None
    problem: str
    value: str | None = None


COLUMNS = ["file", "row", "column", "problem", "value"]


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """The problems as a table with columns ``file, row, column, problem, value``."""
    frame = pd.DataFrame([p.__dict__ for p in problems], columns=COLUMNS)
    frame["row"] = frame["row"].astype("Int64")
    return frame


class DataError(SopkitError):
    """One or more input files break the data contract.

    Attributes
    ----------
    problems : list of Problem
        Every problem found, not only the first.
    """

    exit_code = 3

    def __init__(self, problems: list[Problem], headline: str | None = None):
        self.problems = list(problems)
        self.headline = headline or f"{len(self.problems)} problem(s) in the input data"
        super().__init__(self.user_message())

    @property
    def table(self) -> pd.DataFrame:
        return problems_frame(self.problems)

    def user_message(self, max_rows: int = 50) -> str:
        lines = [self.headline + ":"]
        for p in self.problems[:max_rows]:
            where = p.file
            if p.row is not None:
                where += f", row {p.row}"
            if p.column:
                where += f", column '{p.column}'"
            value = "" if p.value in (None, "") else f" (value: {p.value!r})"
            lines.append(f"  - {where}: {p.problem}{value}")
        if len(self.problems) > max_rows:
            lines.append(f"  ... and {len(self.problems) - max_rows} more")
        return "\n".join(lines)


class InfeasiblePlanError(SopkitError):
    """The supply model could not produce any plan (not even one with shortfalls)."""

    exit_code = 4


class StoreError(SopkitError):
    """The plan-of-record store refused or failed a request.

    A bad or unreachable store URL, an unknown cycle or version, approving a
    version twice, or a change to an approved version (see :mod:`sopkit.store`).
    """

    exit_code = 6


@dataclass
class StepFailedError(SopkitError):
    """A notebook step of the cycle failed.

    Attributes
    ----------
    step : str
        The notebook's name, e.g. ``03_supply_review``.
    cell_index : int or None
        Index of the failing code cell, counted from 1 among code cells.
    ename, evalue : str
        Exception name and message raised inside the notebook.
    report : str or None
        Path of the HTML report exported for the failed step.
    """

    step: str
    cell_index: int | None
    ename: str
    evalue: str
    report: str | None = None
    exit_code: int = field(default=5, init=False)

    def __post_init__(self):
        super().__init__(self.user_message())

    def user_message(self) -> str:
        cell = f", cell {self.cell_index}" if self.cell_index is not None else ""
        msg = f"step {self.step} failed{cell}: {self.ename}: {self.evalue}"
        if self.report:
            msg += f"\n  the step's report with the error: {self.report}"
        return msg

    def __str__(self) -> str:
        return self.user_message()
