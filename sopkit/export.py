"""Exports of the approved plan of record that are safe to open in a spreadsheet.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or a
carriage return) is taken for a formula by Excel, LibreOffice and Google
Sheets — a deal note such as ``=HYPERLINK("http://…")`` or
``-2+3+cmd|' /C calc'!A0`` would run when the file is opened (OWASP, "CSV
injection"). Every text cell of an export is therefore neutralised, while
genuine numbers, negative ones included, stay numbers:

* **CSV**: such text gets a leading apostrophe (``'=HYPERLINK(…)``), as OWASP
  recommends; spreadsheets show it as text.
* **Excel**: the text is written unchanged as a text cell (never a formula
  cell) carrying Excel's own "quote prefix" mark, so the spreadsheet shows
  the text as entered and keeps it text even when the cell is edited.
  Characters an ``.xlsx`` file cannot hold (control characters other than
  tab, line feed and carriage return) become U+FFFD.

Only approved versions are exported: the plan of record by default, an
earlier approved (superseded) version with ``version=``. Each export carries
the approval — cycle, version, who, when, note and the fingerprint of the
numbers — on a cover sheet (Excel) or in ``<name>-approval.csv`` (CSV).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sopkit.errors import ParameterError, StoreError
from sopkit.store import KINDS, Plan, PlanStore

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
COVER_SHEET = "plan of record"


def is_formula_like(value: Any) -> bool:
    """True for text a spreadsheet would read as a formula (see the module notes)."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def neutralise(value: Any) -> Any:
    """Text that looks like a formula, with a leading apostrophe; anything else unchanged."""
    return "'" + value if is_formula_like(value) else value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` for CSV: formula-like text cells (and column names) neutralised.

    Numeric columns are not touched, so ``-12.5`` stays a number; text that
    merely looks numeric in a text column (``"-001"``) is text and is quoted.
    """
    safe = frame.copy()
    safe.columns = [neutralise(str(col)) for col in frame.columns]
    for position, col in enumerate(frame.columns):
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        safe.iloc[:, position] = values.map(neutralise, na_action="ignore")
    return safe


def approval_frame(plan: Plan, exported_at: datetime | None = None) -> pd.DataFrame:
    """The approval of an exported version as ``field, value`` rows."""
    version = plan.version
    exported_at = exported_at or datetime.now(UTC).replace(microsecond=0)

    def when(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    rows = [
        ("cycle", version.cycle),
        ("version", version.version),
        ("status", version.status if version.superseded_by is None
         else f"superseded by version {version.superseded_by}"),
        ("approved by", version.approved_by or ""),
        ("approved at", when(version.approved_at)),
        ("note", version.note or ""),
        ("fingerprint of the numbers (SHA-256)", version.content_fingerprint),
        ("input data fingerprint", version.data_fingerprint),
        ("recorded at", when(version.recorded_at)),
        ("run", version.run_stamp),
        ("rows demand / supply / decisions",
         " / ".join(str(version.row_counts.get(kind, 0)) for kind in KINDS)),
        ("exported at", when(exported_at)),
    ]
    return pd.DataFrame(rows, columns=["field", "value"])


def _kinds(table: str | None) -> Sequence[str]:
    if table is None:
        return KINDS
    if table not in KINDS:
        raise ParameterError(f"--table: one of {', '.join(KINDS)}, not {table!r}")
    return (table,)


def approved_plan(store: PlanStore, cycle: str, version: int | None = None) -> Plan:
    """The plan of record (or the approved ``version``) of ``cycle``, checked.

    Raises
    ------
    StoreError
        When the version is a draft, or nothing of the cycle is approved.
    """
    plan = store.plan(cycle, version)
    if not plan.version.is_approved:
        which = (f"version {plan.version.version} of cycle {plan.version.cycle} is a draft"
                 if version is not None
                 else f"cycle {plan.version.cycle} has no approved version")
        raise StoreError(
            f"{which}; only approved plans are exported (sop approve --cycle "
            f"{plan.version.cycle} --by NAME [--version N])"
        )
    return plan


def export_plan(plan: Plan, out: str | Path, *, table: str | None = None,
                exported_at: datetime | None = None, overwrite: bool = False) -> list[Path]:
    """Write an approved plan to ``.csv`` or ``.xlsx``; returns the files written.

    ``.xlsx``: one workbook with the sheets ``plan of record`` (the approval),
    ``demand``, ``supply`` and ``decisions`` (or only ``table``). ``.csv``:
    with ``table``, that table in ``out``; without, ``<stem>-demand.csv``,
    ``<stem>-supply.csv``, ``<stem>-decisions.csv`` and ``<stem>-approval.csv``
    next to ``out``. CSV files are UTF-8 with a byte-order mark (so that Excel
    reads the encoding), comma-separated, with CRLF line ends (RFC 4180).

    A file that exists already is replaced only with ``overwrite``; otherwise
    nothing is written and :class:`ParameterError` names the files (an
    ``--out`` mistyped as ``actuals.csv`` must not replace the actuals).
    """
    if not plan.version.is_approved:
        raise StoreError(f"version {plan.version.version} of cycle {plan.version.cycle} is a "
                         "draft; only approved plans are exported")
    out = Path(out)
    kinds = _kinds(table)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ParameterError(f"--out {out}: name a .csv or .xlsx file")
    if not out.parent.is_dir():
        raise ParameterError(f"--out {out}: the folder {out.parent} does not exist")
    if suffix == ".xlsx" or table is not None:
        paths = [out]
    else:
        paths = [out.with_name(f"{out.stem}-{k}.csv") for k in (*kinds, "approval")]
    existing = [str(path) for path in paths if path.exists()]
    if existing and not overwrite:
        one = len(existing) == 1
        raise ParameterError(f"--out {out}: {', '.join(existing)} exist{'s' if one else ''} "
                             "already; nothing was written. Name another file, or pass --force "
                             f"to replace {'it' if one else 'them'}")
    cover = approval_frame(plan, exported_at)
    if suffix == ".xlsx":
        _write_xlsx(out, [(COVER_SHEET, cover)] + [(k, plan.table(k)) for k in kinds])
        return [out]
    if table is not None:
        targets = [(out, plan.table(table))]
    else:
        targets = [(path, plan.table(k)) for path, k in zip(paths, kinds, strict=False)]
        targets.append((paths[-1], cover))
    for path, frame in targets:
        _write_csv(path, frame)
    return [path for path, _ in targets]


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(path.name + ".tmp")
    # CRLF line ends (RFC 4180) also make the writer quote a field holding a lone CR,
    # which would otherwise split the row in a spreadsheet
    spreadsheet_safe(frame).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    tmp.replace(path)


def _xlsx_text(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)


def _cell_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return value.item()
    return value


def _write_xlsx(path: Path, sheets: list[tuple[str, pd.DataFrame]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=True)  # streams rows: a 10,000-row plan in a few seconds
    bold = Font(bold=True)
    for name, frame in sheets:
        sheet = book.create_sheet(title=name)
        sheet.freeze_panes = "A2"
        header = [_cell(sheet, str(col)) for col in frame.columns]
        for cell in header:
            cell.font = bold
        sheet.append(header)
        for row in frame.itertuples(index=False, name=None):
            sheet.append([_cell(sheet, _cell_value(value)) for value in row])
    tmp = path.with_name(path.name + ".tmp")
    book.save(tmp)
    tmp.replace(path)


def _cell(sheet, value: Any):
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        value = _xlsx_text(value)
        cell = WriteOnlyCell(sheet, value=value)
        if is_formula_like(value):
            cell.data_type = "s"  # openpyxl would store "=..." as a formula
            cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
        return cell
    return WriteOnlyCell(sheet, value=value)


__all__ = [
    "FORMULA_TRIGGERS", "approval_frame", "approved_plan", "export_plan", "is_formula_like",
    "neutralise", "spreadsheet_safe",
]
