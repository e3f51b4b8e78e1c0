"""The in-memory form of one data folder: one tidy frame per contract table."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import pandas as pd

from sopkit.contract import TABLES, empty_frame

SET_ASIDE_COLUMNS = ["table", "file", "row", "column", "value", "period", "qty"]
SOURCE_ROW_TABLES = ("pipeline", "adjustments")  # tables whose source rows are kept


@dataclass
class Dataset:
    """All input tables of a cycle, parsed and checked.

    Each attribute is a frame with the columns of the table of the same name in
    :data:`sopkit.contract.TABLES` (optional tables that were not supplied are
    empty frames with those columns). Dtypes: codes and text ``string``,
    months ``datetime64`` at the month start, numbers ``float64``, whole
    numbers ``Int64``.
    """

    products: pd.DataFrame = field(default_factory=lambda: empty_frame(TABLES["products"]))
    actuals: pd.DataFrame = field(default_factory=lambda: empty_frame(TABLES["actuals"]))
    pipeline: pd.DataFrame = field(default_factory=lambda: empty_frame(TABLES["pipeline"]))
    adjustments: pd.DataFrame = field(default_factory=lambda: empty_frame(TABLES["adjustments"]))
    promotions: pd.DataFrame = field(default_factory=lambda: empty_frame(TABLES["promotions"]))
    resources: pd.DataFrame = field(default_factory=lambda: empty_frame(TABLES["resources"]))
    routings: pd.DataFrame = field(default_factory=lambda: empty_frame(TABLES["routings"]))
    components: pd.DataFrame = field(default_factory=lambda: empty_frame(TABLES["components"]))
    bom: pd.DataFrame = field(default_factory=lambda: empty_frame(TABLES["bom"]))
    inventory: pd.DataFrame = field(default_factory=lambda: empty_frame(TABLES["inventory"]))
    budget: pd.DataFrame = field(default_factory=lambda: empty_frame(TABLES["budget"]))
    production: pd.DataFrame = field(default_factory=lambda: empty_frame(TABLES["production"]))
    purchase_orders: pd.DataFrame = field(
        default_factory=lambda: empty_frame(TABLES["purchase_orders"]))
    set_aside: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {c: pd.Series(dtype="string") for c in SET_ASIDE_COLUMNS}).astype(
            {"row": "Int64", "period": "datetime64[ns]", "qty": float}))
    """Rows left out of planning because a code in them is unknown (see
    ``Table.set_aside_unknown``): ``table, file, row, column, value`` (the
    unknown code), ``period`` and ``qty`` (the row's month and quantity, if it
    has them)."""
    source_rows: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Where the rows of the dated-snapshot tables (:data:`SOURCE_ROW_TABLES`) came from:
    per table its key columns and ``row``, the spreadsheet row (``attrs["file"]``: the
    file), so a check can name the row a user typed (the frames' own index is 0, 1, ...)."""
    source: str = ""  # folder the data came from
    fingerprint: str = ""  # hash of the input files' bytes

    @classmethod
    def from_frames(cls, frames: dict[str, pd.DataFrame], **kwargs) -> Dataset:
        """Build from a dict of frames already in the in-memory dtypes."""
        unknown = set(frames) - set(TABLES)
        if unknown:
            raise KeyError(f"not contract tables: {sorted(unknown)}")
        return cls(**frames, **kwargs)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in TABLES}

    @property
    def last_actual_period(self) -> pd.Timestamp | None:
        if self.actuals.empty:
            return None
        return pd.Timestamp(self.actuals["period"].max())
