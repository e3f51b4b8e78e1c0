"""Reading a data folder into a checked :class:`~sopkit.dataset.Dataset`.

The loader never stops at the first problem: it reads every file, converts every
cell it can, and reports *all* problems as one table of file, row, column and
problem (:class:`~sopkit.errors.DataError`). Row numbers are those a
spreadsheet shows: the header is row 1, the first record row 2.

Accepted files, per table of :data:`sopkit.contract.TABLES`: ``<table>.csv`` or
``<table>.xlsx`` (first sheet). CSV files may come from any Excel:

* encoding UTF-8 with or without BOM, else Windows-1252;
* separator ``,``, ``;`` or tab, detected from the header line;
* in a ``;``-separated file the decimal mark is ``,`` (``1234,5``) and dots
  group thousands (``1.234,5``); a value such as ``1.234`` in a column without
  any decimal comma is ambiguous (1234 or 1.234?) and reported, never guessed;
* in a ``,``-separated file the decimal mark is ``.``; a quoted ``"1,234.5"``
  reads as 1234.5, a quoted ``"1,5"`` or ``"1,234"`` is ambiguous and reported.

Column names are matched without regard to case and surrounding blanks; extra
columns are kept and ignored by the planning steps.
"""

from __future__ import annotations

import csv
import hashlib
import io as _io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.errors

from sopkit.contract import TABLES, Column, Table, empty_frame, pandera_schema
from sopkit.dataset import SET_ASIDE_COLUMNS, SOURCE_ROW_TABLES, Dataset
from sopkit.errors import DataError, Problem
from sopkit.periods import fmt_month, parse_month_series

# Tables whose file must have at least one record for planning to make sense.
MUST_HAVE_ROWS = ("products", "actuals", "resources", "routings")
MAX_NUMBER = 1e15
"""Largest magnitude a number cell may hold (a quadrillion): above it no plan quantity, price
or amount is real, and sums of such values lose the units digits or overflow."""

_EU_NUMBER = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")
_EU_THOUSANDS_ONLY = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")
_US_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")
_US_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+\.\d+$")


@dataclass
class RawTable:
    """A file read as text cells, before type conversion."""

    table: Table
    path: Path
    frame: pd.DataFrame  # all cells as str ("" for blank); index = spreadsheet row
    separator: str  # "," ";" "\t" or "xlsx"


# ----------------------------------------------------------------------------- files


def find_file(data_dir: Path, table: Table) -> tuple[Path | None, list[Problem]]:
    """The file holding ``table`` in ``data_dir`` (``.csv`` or ``.xlsx``)."""
    matches = [
        p
        for p in sorted(data_dir.iterdir())
        if p.is_file() and p.stem.lower() == table.name and p.suffix.lower() in (".csv", ".xlsx")
    ]
    if len(matches) > 1:
        names = ", ".join(p.name for p in matches)
        return None, [Problem(table.name, None, None, f"several files for one table: {names}; "
                              "keep one")]
    if not matches:
        if table.required:
            return None, [Problem(f"{table.name}.csv", None, None,
                                  f"required file is missing from {data_dir}")]
        return None, []
    return matches[0], []


def _decode(raw: bytes, name: str) -> tuple[str | None, list[Problem]]:
    if not raw.strip():
        return None, [Problem(name, None, None, "file is empty")]
    sample = raw[:4096]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    if b"\x00" in sample or controls > len(sample) * 0.05:
        return None, [Problem(name, None, None, "not a text CSV file (binary content); save it "
                              "from Excel as 'CSV UTF-8' or as .xlsx")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    # Not UTF-8 as a whole. If some lines are UTF-8 with accents and others are not, the
    # file was pasted together from two exports: reading it all as Windows-1252 would
    # turn every "Müller" of the UTF-8 lines into "MÃ¼ller".
    mixed, wrong = False, []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            mixed |= not line.decode("utf-8").isascii()
        except UnicodeDecodeError:
            wrong.append(number)
    if mixed and wrong:
        shown = ", ".join(str(n) for n in wrong[:6]) + (f" and {len(wrong) - 6} more"
                                                        if len(wrong) > 6 else "")
        return None, [Problem(name, wrong[0], None,
                              f"mixes text encodings: row {shown} not in UTF-8 like the rest "
                              "(accented letters would be garbled); save the file again from "
                              "Excel as 'CSV UTF-8'")]
    try:
        return raw.decode("cp1252"), []
    except UnicodeDecodeError:
        return None, [Problem(name, None, None, "cannot decode the file as UTF-8 or "
                              "Windows-1252")]


def _sniff_separator(text: str) -> str:
    header = text.splitlines()[0] if text else ""
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def _read_csv_text(text: str, name: str, sep: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Parse CSV text strictly with the csv module, reporting structural problems by row."""
    problems: list[Problem] = []
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=sep, strict=True)
    records: list[list[str]] = []
    rows: list[int] = []
    try:
        header = next(reader)
    except StopIteration:
        return None, [Problem(name, None, None, "file is empty")]
    except csv.Error as exc:
        return None, [Problem(name, 1, None, f"cannot read the header: {exc}")]
    width = len(header)
    row = 1
    padded: list[tuple[int, int]] = []  # (row, cells) of rows that had empty cells too many
    while True:
        row += 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(name, row, None, f"broken quoting: {exc}; check that every "
                                    'opening " has a closing "'))
            break
        if not record or all(not cell.strip() for cell in record):
            continue  # blank line
        if len(record) != width:
            # Trailing empty cells from Excel are harmless - when every row has them (below).
            cells = len(record)
            while len(record) > width and record[-1].strip() == "":
                record = record[:-1]
            if len(record) != width:
                problems.append(Problem(name, row, None, f"has {len(record)} cells but the header "
                                        f"has {width}"))
                continue
            padded.append((row, cells))
        records.append(record)
        rows.append(row)
    if padded and len(padded) < len(records):
        # Only some rows are too long: a number written with a comma (1,200; 12,5) splits
        # into two cells and pushes the rest of its row one column to the right.
        for bad, cells in padded:
            problems.append(Problem(name, bad, None, f"has {cells} cells where the header and "
                                    f"the other rows have {width}: a number written with a comma "
                                    "(1,200 or 12,5) splits into two cells and moves the rest of "
                                    "the row one column right; write it without the separator "
                                    'or in quotes ("1,200")'))
    if problems:
        return None, problems
    frame = pd.DataFrame(records, columns=header, index=pd.Index(rows, name="row"), dtype=object)
    return frame, []


def _read_xlsx(path: Path) -> tuple[pd.DataFrame | None, list[Problem]]:
    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=object, header=0)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        return None, [Problem(path.name, None, None, f"cannot read the Excel workbook: {exc}")]

    def cell_text(value) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, pd.Timestamp | np.datetime64) or hasattr(value, "strftime"):
            return fmt_month(pd.Timestamp(value))
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    frame = frame.map(cell_text)
    frame.columns = [str(c) for c in frame.columns]
    frame.index = pd.Index(np.arange(len(frame)) + 2, name="row")
    frame = frame[~(frame == "").all(axis=1)]
    return frame, []


def read_raw(path: Path, table: Table) -> tuple[RawTable | None, list[Problem]]:
    """Read a table's file into text cells, with structural problems reported."""
    name = path.name
    if path.suffix.lower() == ".xlsx":
        frame, problems = _read_xlsx(path)
        sep = "xlsx"
    else:
        text, problems = _decode(path.read_bytes(), name)
        if text is None:
            return None, problems
        sep = _sniff_separator(text)
        frame, problems = _read_csv_text(text, name, sep)
    if frame is None:
        return None, problems
    frame = frame.astype(object).map(lambda v: "" if v is None else str(v).strip())
    # Match columns to the contract without regard to case or blanks.
    rename = {}
    known = {c.name for c in table.columns}
    for col in frame.columns:
        key = str(col).strip().lower().replace(" ", "_")
        if key in known:
            rename[col] = key
    frame = frame.rename(columns=rename)
    dup = frame.columns[frame.columns.duplicated()].unique()
    problems = [Problem(name, 1, str(c), "column appears twice in the header") for c in dup]
    if problems:
        return None, problems
    return RawTable(table, path, frame, sep), []


# ------------------------------------------------------------------------ conversion


def _to_number(cells: pd.Series, column: Column, raw: RawTable) -> tuple[pd.Series, list[Problem]]:
    """Convert text cells to float, following the file's decimal convention."""
    name = raw.path.name
    problems: list[Problem] = []
    text = cells.str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    values = pd.Series(np.nan, index=cells.index, dtype="float64")
    blank = text == ""
    if raw.separator == ";":
        eu = text.str.match(_EU_NUMBER)
        column_has_decimal_comma = text.str.contains(",", regex=False).any()
        ambiguous = text.str.match(_EU_THOUSANDS_ONLY) & ~column_has_decimal_comma
        converted = text.where(~eu, text.str.replace(".", "", regex=False)
                               .str.replace(",", ".", regex=False))
        plain = pd.to_numeric(converted.where(~ambiguous & ~blank), errors="coerce")
        values = plain
        for row in text.index[ambiguous]:
            problems.append(Problem(name, int(row), column.name,
                                    "ambiguous number: in a ';'-separated file a dot may group "
                                    "thousands or mark decimals; write it without thousands "
                                    "separators", text[row]))
    else:
        grouped = text.str.match(_US_GROUPED)
        converted = text.where(~grouped, text.str.replace(",", "", regex=False))
        has_comma = converted.str.contains(",", regex=False)
        values = pd.to_numeric(converted.where(~has_comma & ~blank), errors="coerce")
        for row in text.index[has_comma]:
            problems.append(Problem(name, int(row), column.name,
                                    "ambiguous number: a comma in a ','-separated file may be a "
                                    "decimal or a thousands separator; use a dot for decimals "
                                    "and no thousands separators", text[row]))
    flagged = {p.row for p in problems}
    bad = values.isna() & ~blank
    for row in text.index[bad]:
        if int(row) not in flagged:
            problems.append(Problem(name, int(row), column.name,
                                    "not a number", cells[row]))
    inf = np.isinf(values)
    for row in text.index[inf]:
        problems.append(Problem(name, int(row), column.name, "not a finite number", cells[row]))
    huge = ~inf & (values.abs() > MAX_NUMBER)
    for row in text.index[huge]:
        problems.append(Problem(name, int(row), column.name,
                                f"larger than {MAX_NUMBER:,.0f}: no quantity, price or amount "
                                "of a plan is that large (a typo, or a code read as a number?)",
                                cells[row]))
    return values.where(~inf & ~huge), problems


def convert(raw: RawTable) -> tuple[pd.DataFrame, list[Problem]]:
    """Convert a raw table's cells to the contract's types, collecting cell problems."""
    table, name = raw.table, raw.path.name
    problems: list[Problem] = []
    out = pd.DataFrame(index=raw.frame.index)
    bad_cells = pd.DataFrame(False, index=raw.frame.index, columns=[c.name for c in table.columns])
    for column in table.columns:
        if column.name not in raw.frame.columns:
            if column.required:
                problems.append(Problem(name, None, column.name, "required column is missing"))
            default = column.default
            out[column.name] = empty_frame(table)[column.name].reindex(out.index)
            if default is not None:
                out[column.name] = out[column.name].fillna(default)
            continue
        cells = raw.frame[column.name].astype("string").fillna("")
        if column.dtype == "str":
            out[column.name] = cells.where(cells != "").astype("string")
        elif column.dtype == "month":
            parsed, bad = parse_month_series(cells)
            out[column.name] = parsed.astype("datetime64[ns]")
            bad_cells.loc[bad, column.name] = True
            dated = cells.str.strip().str.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}")
            for row in cells.index[bad]:
                problems.append(Problem(name, int(row), column.name,
                                        "not a real date (the day does not exist in its month)"
                                        if dated[row] else "not a month in the form YYYY-MM",
                                        cells[row]))
        elif column.dtype in ("float", "int"):
            values, found = _to_number(cells, column, raw)
            problems += found
            for p in found:
                bad_cells.loc[p.row, column.name] = True
            if column.dtype == "int":
                frac = values.notna() & (values != np.round(values))
                for row in cells.index[frac]:
                    problems.append(Problem(name, int(row), column.name,
                                            "must be a whole number", cells[row]))
                    bad_cells.loc[row, column.name] = True
                values = values.where(~frac).round().astype("Int64")
            else:
                values = values.astype("float64")  # NaN for blanks, as the Dataset promises
            out[column.name] = values
        else:  # pragma: no cover - contract only uses the types above
            raise TypeError(column.dtype)
        if column.default is not None:
            # A blank cell in an optional column with a default takes the default.
            out[column.name] = out[column.name].fillna(column.default)
        elif not column.nullable:
            blank = (cells == "") & ~bad_cells[column.name]
            for row in cells.index[blank]:
                problems.append(Problem(name, int(row), column.name, "blank cell; a value is "
                                        "required"))
    extra = [c for c in raw.frame.columns if c not in out.columns]
    for col in extra:
        out[col] = raw.frame[col].astype("string")
    return out, problems


def _check_rules(frame: pd.DataFrame, table: Table, name: str) -> list[Problem]:
    """Range and choice rules through the table's pandera schema, checked lazily."""
    # Keys are checked separately, with messages that name the other row.
    schema = pandera_schema(table, check_key=False)
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as err:
        return _pandera_problems(err.failure_cases, table, name)
    return []


def _describe_check(check: str, column: Column) -> str:
    text = str(check)
    if text.startswith("greater_than_or_equal_to"):
        return f"must be >= {column.min:g}"
    if text.startswith("greater_than"):
        return f"must be > {column.min:g}"
    if text.startswith("less_than_or_equal_to"):
        hint = {"fraction": " (a fraction: 0.9 means +90 %, not 90)",
                "0-1": " (a share: 0.75 means 75 %, not 75)"}.get(column.unit, "")
        return f"must be <= {column.max:g}{hint}"
    if text.startswith("isin"):
        return "must be one of: " + ", ".join(column.choices or ())
    return text


def _pandera_problems(cases: pd.DataFrame, table: Table, name: str) -> list[Problem]:
    problems = []
    for case in cases.itertuples(index=False):
        column = getattr(case, "column", None)
        index = getattr(case, "index", None)
        col = table.column(column) if column in {c.name for c in table.columns} else None
        problem = _describe_check(case.check, col) if col else str(case.check)
        value = case.failure_case
        if isinstance(value, pd.Timestamp):
            value = fmt_month(value)
        row = None if index is None or pd.isna(index) else int(index)
        problems.append(Problem(name, row, column, problem, None if value is None else str(value)))
    return problems


def _check_keys(frame: pd.DataFrame, table: Table, name: str) -> list[Problem]:
    if not table.key or any(k not in frame.columns for k in table.key):
        return []
    keys = frame[list(table.key)].copy()
    for column in table.key:
        if table.column(column).nullable:  # a blank optional key part is a value of the key
            keys[column] = keys[column].astype("string").fillna("")
    complete = keys.notna().all(axis=1)
    dup = keys[complete].duplicated(keep=False)
    problems = []
    if dup.any():
        first_row: dict[tuple, int] = {}
        for row, values in keys[complete][dup].iterrows():
            shown = tuple(fmt_month(v) if isinstance(v, pd.Timestamp) else str(v) or "blank"
                          for v in values)
            if shown in first_row:
                label = ", ".join(table.key)
                problems.append(Problem(name, int(row), label,
                                        f"duplicate key ({label}) = ({', '.join(shown)}); "
                                        f"first seen on row {first_row[shown]}"))
            else:
                first_row[shown] = int(row)
    return problems


def _check_order(frame: pd.DataFrame, table: Table, name: str) -> list[Problem]:
    """Rows whose ``later`` month is before their ``earlier`` one (:attr:`Table.order`)."""
    problems = []
    for earlier, later, why in table.order:
        if earlier not in frame.columns or later not in frame.columns:
            continue
        bad = (frame[later] < frame[earlier]).fillna(False)
        for row in frame.index[bad.to_numpy(dtype=bool)]:
            problems.append(Problem(
                name, int(row), later,
                f"before {earlier} {fmt_month(frame.at[row, earlier])}: {why}",
                fmt_month(frame.at[row, later])))
    return problems


def _check_references(
    frames: dict[str, pd.DataFrame], files: dict[str, str | None], unreadable: set[str],
    set_aside: list[dict] | None = None,
) -> list[Problem]:
    """Problems of codes not in the table they refer to.

    Rows of a column in ``Table.set_aside_unknown`` are not problems: they are
    appended to ``set_aside`` (table, file, row, column, value, qty) instead.
    """
    problems = []
    for name, frame in frames.items():
        table = TABLES[name]
        for column, ref_table, ref_column in table.references:
            if ref_table in unreadable or column not in frame.columns:
                continue  # that file's own problem is reported already
            ref = frames[ref_table]
            if ref.empty and ref_table != "products":
                # An optional master table that was not supplied.
                if files.get(ref_table) is None:
                    for row in frame.index[frame[column].notna()][:1]:
                        problems.append(Problem(files[name], int(row), column,
                                                f"{ref_table}.csv is needed because this file "
                                                f"refers to {ref_table}"))
                    continue
            known = set(ref[ref_column].dropna())
            unknown = frame[column].notna() & ~frame[column].isin(known)
            if set_aside is not None and column in table.set_aside_unknown:
                for row in frame.index[unknown]:
                    qty = frame.at[row, "qty"] if "qty" in frame.columns else np.nan
                    period = frame.at[row, "period"] if "period" in frame.columns else pd.NaT
                    set_aside.append({"table": name, "file": files[name], "row": int(row),
                                      "column": column, "value": str(frame.at[row, column]),
                                      "period": period,
                                      "qty": float(qty) if pd.notna(qty) else np.nan})
                continue
            for row in frame.index[unknown]:
                problems.append(Problem(files[name], int(row), column,
                                        f"'{frame.at[row, column]}' is not in "
                                        f"{files.get(ref_table) or ref_table + '.csv'}"))
    return problems


# ---------------------------------------------------------------------------- public


def fingerprint(paths: list[Path]) -> str:
    """A short SHA-256 over the input files' names and bytes."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def read_table(path: str | Path, table: str | Table) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read and check one file against one contract table (no cross-table checks).

    Returns the frame (index = spreadsheet row) and the problems found; the
    frame is ``None`` when the file could not be read at all.
    """
    table = TABLES[table] if isinstance(table, str) else table
    path = Path(path)
    if not path.is_file():
        return None, [Problem(path.name, None, None, f"file not found: {path}")]
    raw, problems = read_raw(path, table)
    if raw is None:
        return None, problems
    frame, problems = convert(raw)
    if raw.frame.empty and table.name in MUST_HAVE_ROWS:
        problems.append(Problem(path.name, None, None, "has a header but no data rows"))
    problems += _check_rules(frame, table, path.name)
    problems += _check_keys(frame, table, path.name)
    problems += _check_order(frame, table, path.name)
    return frame, problems


def read_model_labels(path: str | Path) -> pd.Series:
    """``sku -> model`` from a table of model labels: a ``sop forecast`` output (one row
    per SKU and period, other columns ignored) or an archived ``models_<cycle>.csv``.

    Raises
    ------
    DataError
        Naming file, row and column: an unreadable file, a missing column, blank
        cells, no rows, a label sopkit does not choose
        (:func:`sopkit.forecast.model_label_parts`; ``history_mean`` is
        accepted), or a SKU given two different models.
    """
    from sopkit.contract import PREVIOUS_MODELS
    from sopkit.forecast import MODEL_ORDER, model_label_parts

    path = Path(path)
    frame, problems = read_table(path, PREVIOUS_MODELS)
    if frame is not None and not problems and frame.empty:
        problems = [Problem(path.name, None, None, "has a header but no data rows")]
    if not problems:
        for row, label in frame["model"].items():
            if label != "history_mean" and model_label_parts(label) is None:
                problems.append(Problem(
                    path.name, int(row), "model",
                    f"not a model sopkit chooses (one of {', '.join(MODEL_ORDER)}, or combo: "
                    "and 2 or 3 different ones of them other than zero, joined by +)", label))
        models = frame.groupby("sku")["model"].nunique()
        for sku in models.index[models > 1]:
            rows = frame.index[frame["sku"] == sku]
            labels = frame.loc[rows, "model"]
            first = labels.iloc[0]
            problems += [Problem(path.name, int(r), "model",
                                 f"SKU {sku} has another model in row {int(rows[0])} ({first})",
                                 label) for r, label in labels.items() if label != first]
    if problems:
        raise DataError(problems, headline=f"{len(problems)} problem(s) in {path}")
    return frame.drop_duplicates("sku").set_index("sku")["model"]


def validate_folder(data_dir: str | Path) -> tuple[Dataset | None, list[Problem]]:
    """Read every table of a data folder and collect every problem.

    Returns
    -------
    dataset : Dataset or None
        The data when no problem was found, else ``None``.
    problems : list of Problem
        Every problem, in file order.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return None, [Problem(str(data_dir), None, None, "data folder not found")]
    problems: list[Problem] = []
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, str | None] = {}
    paths: list[Path] = []
    unreadable: set[str] = set()
    for table in TABLES.values():
        path, found = find_file(data_dir, table)
        problems += found
        files[table.name] = path.name if path else None
        if path is None:
            frames[table.name] = empty_frame(table)
            if table.required:
                unreadable.add(table.name)
            continue
        paths.append(path)
        frame, found = read_table(path, table)
        problems += found
        if frame is None:
            unreadable.add(table.name)
        frames[table.name] = frame if frame is not None else empty_frame(table)
    aside: list[dict] = []
    problems += _check_references(frames, files, unreadable, aside)
    if problems:
        return None, problems
    set_aside = pd.DataFrame(aside, columns=SET_ASIDE_COLUMNS).astype(
        {"table": "string", "file": "string", "row": "Int64", "column": "string",
         "value": "string", "period": "datetime64[ns]", "qty": float})
    for name, rows in set_aside.groupby("table")["row"]:
        frames[name] = frames[name].drop(index=rows.astype(int).tolist())
    source_rows = {}
    for name in SOURCE_ROW_TABLES:
        keyed = frames[name][list(TABLES[name].key)]
        source_rows[name] = keyed.assign(row=keyed.index.to_numpy(dtype=int)).reset_index(
            drop=True)
        source_rows[name].attrs["file"] = files[name] or f"{name}.csv"
    tables = {name: frame.reset_index(drop=True) for name, frame in frames.items()}
    data = Dataset.from_frames(tables, source=str(data_dir), fingerprint=fingerprint(paths),
                               set_aside=set_aside, source_rows=source_rows)
    return data, []


def load_data(data_dir: str | Path) -> Dataset:
    """Load a data folder, raising :class:`~sopkit.errors.DataError` listing every problem."""
    data, problems = validate_folder(data_dir)
    if problems:
        raise DataError(problems, headline=f"{len(problems)} problem(s) in the data in {data_dir}")
    return data


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a frame as a contract CSV (months as ``YYYY-MM``)."""
    path = Path(path)
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = fmt_month(out[col])
    out.to_csv(path, index=False)
    return path
