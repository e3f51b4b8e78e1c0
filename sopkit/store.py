"""The plan of record: every cycle's plans and decisions, versioned, in a database.

Every successful ``sop cycle`` run records its cycle's consensus demand plan,
supply plan and decisions (the workspace files ``demand_plan.csv``,
``supply_plan.csv`` and ``decisions.csv``) as a new **draft** version:
version 1, 2, 3... per cycle. ``sop approve`` freezes one version as
**approved** — who, when, a note and the fingerprint of its numbers.

Rules the store enforces itself (database triggers, not only this module):

* a recorded version's rows are never updated; an approved version, its rows
  and every approval are never updated or deleted, and no row can be added
  to an approved version. A rerun after approval records a new draft and
  leaves the approved version as it was;
* a version is approved at most once;
* approving another version of the same cycle **supersedes** the earlier
  approval: the most recent approval is the cycle's *plan of record*
  (status ``approved``), earlier approved versions keep their approval and
  show as ``superseded``; every version stays queryable;
* version numbers are allocated inside a write lock (``BEGIN IMMEDIATE`` on
  SQLite, a per-cycle advisory lock on PostgreSQL) behind a unique
  ``(cycle, version)`` constraint, with a retry should two writers still
  collide, so concurrent runs of one cycle never share or skip a number;
* the fingerprint (SHA-256) of an approved version's rows is checked each
  time it is read: rows changed behind sopkit's back are reported, not shown.

Where the store lives, first match wins: the ``--store URL`` option of
``sop approve`` / ``sop plans``; the ``SOPKIT_STORE_URL`` environment
variable; the ``store_url`` cycle parameter; otherwise the SQLite file
``<workspace>/plans.db`` (``runs/plans.db``) next to the cycle workspaces.
A URL is a SQLAlchemy URL: ``sqlite:////abs/path/plans.db`` or
``postgresql://user@host:5432/dbname`` (driver psycopg 3). A password never
belongs in the parameters file, whose values are printed in every report:
use the environment variable or PostgreSQL's own ``~/.pgpass``.

Tables (prefix ``sop_``): ``sop_plan_versions`` (one row per version),
``sop_plan_rows`` (one row per plan row: ``version_id, kind, row_number, sku,
period`` and the whole row as JSON in ``data``), ``sop_approvals`` and
``sop_store_meta``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from sopkit import __version__
from sopkit.errors import ParameterError, StoreError
from sopkit.periods import cycle_month, fmt_month

ENV_VAR = "SOPKIT_STORE_URL"
DEFAULT_FILE = "plans.db"
SCHEMA_VERSION = "1"

DRAFT, APPROVED, SUPERSEDED = "draft", "approved", "superseded"

# kind of table -> (workspace output name in sopkit.workspace.OUTPUTS, required columns)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "demand": ("demand_plan", ("sku", "period", "qty_consensus")),
    "supply": ("supply_plan", ("sku", "period", "qty_supply")),
    "decisions": ("decisions", ("decision", "recommendation")),
}
KINDS = tuple(TABLES)

MAX_NAME = 200
MAX_NOTE = 4000
MAX_ATTEMPTS = 5  # of a version allocation that collided on the unique constraint

# Columns of the frame returned by PlanStore.versions().
VERSION_COLUMNS = [
    "cycle", "version", "status", "recorded_at", "run_stamp", "data_fingerprint",
    "content_fingerprint", "n_demand", "n_supply", "n_decisions", "approved_by",
    "approved_at", "note", "superseded_by", "sopkit_version", "source",
]

# ------------------------------------------------------------------------ schema

metadata = sa.MetaData()

store_meta = sa.Table(
    "sop_store_meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

plan_versions = sa.Table(
    "sop_plan_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("cycle", sa.String(7), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("run_stamp", sa.String(64), nullable=False),
    sa.Column("data_fingerprint", sa.String(128), nullable=False),
    sa.Column("content_fingerprint", sa.String(64), nullable=False),
    sa.Column("sopkit_version", sa.String(32), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    # {kind: {"columns": [...], "rows": n}}: column order and row counts of each table
    sa.Column("tables", sa.JSON, nullable=False),
    sa.UniqueConstraint("cycle", "version", name="sop_plan_versions_cycle_version_key"),
)

plan_rows = sa.Table(
    "sop_plan_rows", metadata,
    sa.Column("version_id", sa.Integer, sa.ForeignKey("sop_plan_versions.id"),
              primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("row_number", sa.Integer, primary_key=True),
    sa.Column("sku", sa.String(200)),
    sa.Column("period", sa.String(7)),
    sa.Column("data", sa.JSON, nullable=False),
)

approvals = sa.Table(
    "sop_approvals", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("sop_plan_versions.id"),
              nullable=False, unique=True),
    sa.Column("cycle", sa.String(7), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("approved_by", sa.String(MAX_NAME), nullable=False),
    sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("content_fingerprint", sa.String(64), nullable=False),
    sa.Column("data_fingerprint", sa.String(128), nullable=False),
)

# The immutability rules, enforced by the database itself.
_SQLITE_GUARDS = [
    """CREATE TRIGGER sop_plan_versions_no_update BEFORE UPDATE ON sop_plan_versions
       BEGIN SELECT RAISE(ABORT, 'sopkit: a recorded plan version is never changed'); END""",
    """CREATE TRIGGER sop_plan_versions_keep_approved BEFORE DELETE ON sop_plan_versions
       WHEN EXISTS (SELECT 1 FROM sop_approvals WHERE version_id = OLD.id)
       BEGIN SELECT RAISE(ABORT, 'sopkit: an approved plan version is immutable'); END""",
    """CREATE TRIGGER sop_plan_rows_no_update BEFORE UPDATE ON sop_plan_rows
       BEGIN SELECT RAISE(ABORT, 'sopkit: a recorded plan version is never changed'); END""",
    """CREATE TRIGGER sop_plan_rows_keep_approved BEFORE DELETE ON sop_plan_rows
       WHEN EXISTS (SELECT 1 FROM sop_approvals WHERE version_id = OLD.version_id)
       BEGIN SELECT RAISE(ABORT, 'sopkit: an approved plan version is immutable'); END""",
    """CREATE TRIGGER sop_plan_rows_no_insert_approved BEFORE INSERT ON sop_plan_rows
       WHEN EXISTS (SELECT 1 FROM sop_approvals WHERE version_id = NEW.version_id)
       BEGIN SELECT RAISE(ABORT, 'sopkit: an approved plan version is immutable'); END""",
    """CREATE TRIGGER sop_approvals_no_update BEFORE UPDATE ON sop_approvals
       BEGIN SELECT RAISE(ABORT, 'sopkit: an approval is never changed'); END""",
    """CREATE TRIGGER sop_approvals_no_delete BEFORE DELETE ON sop_approvals
       BEGIN SELECT RAISE(ABORT, 'sopkit: an approval is never deleted'); END""",
]

# (no "%" in these: the driver would read it as a placeholder)
_PG_GUARDS = [
    """CREATE OR REPLACE FUNCTION sop_guard_plan() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      vid integer;
    BEGIN
      IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION USING MESSAGE = 'sopkit: ' || TG_TABLE_NAME || ' is never truncated';
      END IF;
      IF TG_TABLE_NAME = 'sop_approvals' THEN
        RAISE EXCEPTION 'sopkit: an approval is never changed or deleted';
      END IF;
      IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'sopkit: a recorded plan version is never changed';
      END IF;
      IF TG_TABLE_NAME = 'sop_plan_versions' THEN
        vid := OLD.id;
      ELSIF TG_OP = 'INSERT' THEN
        vid := NEW.version_id;
      ELSE
        vid := OLD.version_id;
      END IF;
      IF EXISTS (SELECT 1 FROM sop_approvals WHERE version_id = vid) THEN
        RAISE EXCEPTION 'sopkit: an approved plan version is immutable';
      END IF;
      IF TG_OP = 'DELETE' THEN
        RETURN OLD;
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER sop_plan_versions_guard BEFORE UPDATE OR DELETE ON sop_plan_versions
       FOR EACH ROW EXECUTE FUNCTION sop_guard_plan()""",
    """CREATE TRIGGER sop_plan_rows_guard BEFORE INSERT OR UPDATE OR DELETE ON sop_plan_rows
       FOR EACH ROW EXECUTE FUNCTION sop_guard_plan()""",
    """CREATE TRIGGER sop_approvals_guard BEFORE UPDATE OR DELETE ON sop_approvals
       FOR EACH ROW EXECUTE FUNCTION sop_guard_plan()""",
] + [
    f"""CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name}
        FOR EACH STATEMENT EXECUTE FUNCTION sop_guard_plan()"""
    for name in ("sop_plan_versions", "sop_plan_rows", "sop_approvals")
]

# A fixed key for the advisory lock that serialises creating the schema on PostgreSQL.
_PG_SCHEMA_LOCK = 7_041_960_601


# -------------------------------------------------------------------- the values


@dataclass(frozen=True)
class PlanVersion:
    """One recorded version of a cycle's plan, with its approval if any.

    ``status`` is ``draft``, ``approved`` (the cycle's plan of record: its most
    recent approval) or ``superseded`` (approved, then replaced by a later
    approval, whose version is ``superseded_by``). Times are UTC.
    """

    cycle: str
    version: int
    status: str
    recorded_at: datetime
    run_stamp: str
    data_fingerprint: str
    content_fingerprint: str
    row_counts: dict[str, int]
    approved_by: str | None = None
    approved_at: datetime | None = None
    note: str | None = None
    superseded_by: int | None = None
    sopkit_version: str = ""
    source: str = ""
    id: int = field(default=0, repr=False)

    @property
    def is_approved(self) -> bool:
        return self.status in (APPROVED, SUPERSEDED)

    def describe(self) -> str:
        """One line: ``cycle 2026-11 version 2 (approved by Ann on ...)``."""
        text = f"cycle {self.cycle} version {self.version} ("
        if not self.is_approved:
            return text + "draft)"
        text += f"approved by {self.approved_by} on {_utc_text(self.approved_at)}"
        if self.superseded_by is not None:
            return text + f", superseded by version {self.superseded_by})"
        return text + ", the plan of record)"


@dataclass(frozen=True)
class Plan:
    """A version's three tables, exactly as recorded (``period`` as ``YYYY-MM``)."""

    version: PlanVersion
    demand: pd.DataFrame
    supply: pd.DataFrame
    decisions: pd.DataFrame

    def table(self, kind: str) -> pd.DataFrame:
        _check_kind(kind)
        return getattr(self, kind)


# ------------------------------------------------------------------ conversions


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite keeps no time zone: sopkit writes UTC
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _utc_text(value: datetime | None) -> str:
    # pd.NaT is a datetime too: a draft's approved_at once another version is approved
    return "" if value is None or pd.isna(value) else _as_utc(value).strftime(
        "%Y-%m-%d %H:%M UTC")


def _check_kind(kind: str) -> None:
    if kind not in TABLES:
        raise ParameterError(f"unknown plan table {kind!r}; the tables are {', '.join(KINDS)}")


def _json_value(value: Any) -> Any:
    """A cell as a JSON value: numbers stay numbers, months become ``YYYY-MM``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return None
        if math.isinf(number):  # JSON has no infinity: kept as text
            return "inf" if number > 0 else "-inf"
        return number
    if isinstance(value, pd.Timestamp | datetime):
        stamp = pd.Timestamp(value)
        if stamp == stamp.to_period("M").to_timestamp():
            return fmt_month(stamp)
        return stamp.isoformat()
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [str(c) for c in frame.columns]
    return [
        {col: _json_value(v) for col, v in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def _canonical(value: Any) -> Any:
    # numbers by their float value, so that 3 and 3.0 (a JSON round trip may turn
    # one into the other) fingerprint alike; tagged so "1" and 1 differ
    if value is None:
        return None
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int | float):
        return ["n", float(value).hex()]
    return ["s", str(value)]


def content_fingerprint(tables: Mapping[str, tuple[list[str], list[dict[str, Any]]]]) -> str:
    """SHA-256 of a version's tables: every column name and cell, in order.

    ``tables`` maps each kind (``demand``, ``supply``, ``decisions``) to its
    column names and its rows as dicts.
    """
    digest = hashlib.sha256()
    for kind in KINDS:
        columns, records = tables[kind]
        digest.update(json.dumps([kind, list(columns)], ensure_ascii=False).encode())
        for record in records:
            cells = [_canonical(record.get(col)) for col in columns]
            digest.update(json.dumps(cells, ensure_ascii=False, separators=(",", ":")).encode())
            digest.update(b"\n")
    return digest.hexdigest()


def _prepare(kind: str, frame: pd.DataFrame, where: str) -> tuple[list[str], list[dict]]:
    """Check a table's required columns; return its column names and rows."""
    if not isinstance(frame, pd.DataFrame):
        raise StoreError(f"{where}: expected a table, got {type(frame).__name__}")
    columns = [str(c) for c in frame.columns]
    missing = [c for c in TABLES[kind][1] if c not in columns]
    if missing:
        raise StoreError(
            f"{where}: column(s) {', '.join(repr(c) for c in missing)} missing, so it cannot "
            f"be recorded as the {kind} plan"
        )
    if len(set(columns)) != len(columns):
        raise StoreError(f"{where}: duplicate column names")
    return columns, _records(frame)


def _frame(columns: list[str], records: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=columns) if records else (
        pd.DataFrame({col: pd.Series(dtype="object") for col in columns}))
    return frame.infer_objects()


# ----------------------------------------------------------------------- the URL


@dataclass(frozen=True)
class StoreLocation:
    """Where the store is and why: ``url`` and ``source`` (the rule that chose it)."""

    url: str
    source: str

    @property
    def display_url(self) -> str:
        return display_url(self.url)


def display_url(url: str) -> str:
    """The URL as shown to people: the password hidden, a SQLite file as its path."""
    try:
        parsed = sa.make_url(url)
    except sa_exc.ArgumentError:
        return "(not a URL)"
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def resolve_store(
    option: str | None = None,
    *,
    parameter: str | None = "",
    workspace: str | Path = "runs",
    parameter_source: str = "the store_url parameter",
) -> StoreLocation:
    """Which store to use: ``--store``, ``SOPKIT_STORE_URL``, ``store_url``, or the default.

    The default is the SQLite file ``<workspace>/plans.db``.

    Raises
    ------
    ParameterError
        When the ``store_url`` parameter carries a password: parameters are
        printed in every report header.
    """
    if option:
        return StoreLocation(str(option).strip(), "--store")
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return StoreLocation(env, ENV_VAR)
    if parameter is not None and str(parameter).strip():
        url = str(parameter).strip()
        try:
            password = sa.make_url(url).password
        except sa_exc.ArgumentError:
            password = None  # open_store explains what is wrong with it
        if password:
            raise ParameterError(
                f"{parameter_source}: store_url contains a password, and parameters are "
                f"printed in every report; set {ENV_VAR} instead or use ~/.pgpass"
            )
        return StoreLocation(url, parameter_source)
    path = (Path(workspace).expanduser().resolve() / DEFAULT_FILE)
    return StoreLocation(f"sqlite:///{path}", f"default ({DEFAULT_FILE} in the workspace)")


# --------------------------------------------------------------------- the store


def _sqlite_connect(dbapi_connection, _record) -> None:
    # sopkit emits BEGIN itself (SQLAlchemy's documented recipe), so that a write
    # can take the lock up front with BEGIN IMMEDIATE
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(conn) -> None:
    mode = conn.get_execution_options().get("sopkit_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def _version_clash(exc: sa_exc.IntegrityError) -> bool:
    text = str(exc.orig)
    return ("sop_plan_versions_cycle_version_key" in text
            or "sop_plan_versions.cycle, sop_plan_versions.version" in text)


class PlanStore:
    """The plan-of-record database. Open it with :func:`open_store`.

    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, location: StoreLocation):
        self.location = location
        self.url = location.url
        try:
            url = sa.make_url(location.url)
        except sa_exc.ArgumentError:
            raise StoreError(
                f"plan store URL {location.url!r} (from {location.source}) is not a "
                "SQLAlchemy URL; examples: sqlite:////path/to/plans.db, "
                "postgresql://user@host:5432/dbname"
            ) from None
        self.backend = url.get_backend_name()
        engine_args: dict[str, Any] = {"json_serializer": _json_dumps}
        if self.backend == "sqlite":
            database = url.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                folder = Path(database).expanduser().resolve().parent
                if not folder.is_dir():
                    raise StoreError(
                        f"plan store {database}: the folder {folder} does not exist")
            engine_args["connect_args"] = {"timeout": 60}
        elif self.backend == "postgresql":
            if url.drivername == "postgresql":
                url = url.set(drivername="postgresql+psycopg")
            if "connect_timeout" not in url.query:
                engine_args["connect_args"] = {"connect_timeout": 10}
        else:
            raise StoreError(
                f"plan store URL {self.display_url} (from {location.source}): sopkit keeps "
                f"the plan of record in SQLite or PostgreSQL, not {self.backend!r}"
            )
        try:
            self.engine = sa.create_engine(url, **engine_args)
        except ImportError as exc:
            raise StoreError(
                f"plan store {self.display_url}: the database driver is not installed "
                f"({exc}); for PostgreSQL: pip install 'psycopg[binary]'"
            ) from None
        except sa_exc.ArgumentError as exc:
            raise StoreError(f"plan store {self.display_url}: {exc}") from None
        if self.backend == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self.version_clashes = 0  # collisions on (cycle, version) that were retried

    # ------------------------------------------------------------- plumbing

    @property
    def display_url(self) -> str:
        return display_url(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> PlanStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PlanStore({self.display_url!r})"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Database failures as one-line StoreErrors naming the store."""
        try:
            yield
        except StoreError:
            raise
        except sa_exc.DBAPIError as exc:
            if exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError):
                raise StoreError(
                    f"cannot {action} {self.display_url} (from {self.location.source}): "
                    f"{_first_line(exc)}"
                ) from None
            raise StoreError(f"cannot {action} in {self.display_url}: {_first_line(exc)}") \
                from None
        except sa_exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot {action} in {self.display_url}: {_first_line(exc)}") \
                from None

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(self, lock_key: str | None = None) -> Iterator[sa.Connection]:
        """A write transaction that holds the store's write lock from its first statement.

        SQLite: ``BEGIN IMMEDIATE`` (one writer at a time). PostgreSQL: a
        transaction-level advisory lock on ``lock_key`` (e.g. the cycle).
        """
        with self.engine.connect() as conn:
            conn.execution_options(sopkit_begin="IMMEDIATE")
            with conn.begin():
                if self.backend == "postgresql" and lock_key is not None:
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                                 {"key": f"sopkit-plan-{lock_key}"})
                yield conn

    def ensure_schema(self) -> None:
        """Create the tables and their guards on first use; check them afterwards."""
        with self._errors("open the plan store"):  # "cannot open the plan store <url>"
            with self._read() as conn:
                if self._schema_ready(conn):
                    return
            with self._write() as conn:
                if self.backend == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": _PG_SCHEMA_LOCK})
                if self._schema_ready(conn):  # another process created it meanwhile
                    return
                present = [name for name in metadata.tables if sa.inspect(conn).has_table(name)]
                if present:
                    raise StoreError(
                        f"plan store {self.display_url} has table(s) {', '.join(present)} "
                        "but no sopkit store metadata: not a sopkit store, or a damaged one"
                    )
                metadata.create_all(conn)
                guards = _PG_GUARDS if self.backend == "postgresql" else _SQLITE_GUARDS
                for statement in guards:
                    conn.exec_driver_sql(statement)
                conn.execute(store_meta.insert(), [
                    {"key": "schema_version", "value": SCHEMA_VERSION},
                    {"key": "created_by", "value": f"sopkit {__version__}"},
                ])

    def _schema_ready(self, conn: sa.Connection) -> bool:
        if not sa.inspect(conn).has_table(store_meta.name):
            return False
        found = conn.execute(
            sa.select(store_meta.c.value).where(store_meta.c.key == "schema_version")
        ).scalar_one_or_none()
        if found != SCHEMA_VERSION:
            raise StoreError(
                f"plan store {self.display_url} has schema version {found!r}; this sopkit "
                f"({__version__}) reads version {SCHEMA_VERSION}"
            )
        return True

    # ---------------------------------------------------------------- write

    def record(
        self,
        cycle: str,
        tables: Mapping[str, pd.DataFrame],
        *,
        data_fingerprint: str = "",
        run_stamp: str = "",
        source: str = "",
        now: datetime | None = None,
    ) -> PlanVersion:
        """Record a cycle's demand plan, supply plan and decisions as a new draft version.

        Parameters
        ----------
        cycle : str
            ``YYYY-MM``.
        tables : mapping
            ``demand``, ``supply`` and ``decisions`` frames (as the step
            outputs ``demand_plan``, ``supply_plan`` and ``decisions``).
        data_fingerprint, run_stamp, source : str
            The input data's fingerprint, the run's report folder name and
            where the tables came from, kept with the version.

        Returns
        -------
        PlanVersion
            The new draft; its number is one more than the cycle's highest.
        """
        cycle = fmt_month(cycle_month(cycle))
        missing = [kind for kind in KINDS if kind not in tables]
        if missing:
            raise StoreError(f"cannot record cycle {cycle}: no {', '.join(missing)} table")
        prepared = {
            kind: _prepare(kind, tables[kind], f"{source or 'the'} {TABLES[kind][0]}".strip())
            for kind in KINDS
        }
        fingerprint = content_fingerprint(prepared)
        recorded_at = _as_utc(now) or _utc_now()
        header = {
            "cycle": cycle,
            "recorded_at": recorded_at,
            "run_stamp": str(run_stamp or ""),
            "data_fingerprint": str(data_fingerprint or ""),
            "content_fingerprint": fingerprint,
            "sopkit_version": __version__,
            "source": str(source or ""),
            "tables": {kind: {"columns": cols, "rows": len(recs)}
                       for kind, (cols, recs) in prepared.items()},
        }
        with self._errors(f"record cycle {cycle}"):
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    number = self._insert_version(cycle, header, prepared)
                    break
                except sa_exc.IntegrityError as exc:
                    if not _version_clash(exc) or attempt == MAX_ATTEMPTS:
                        raise
                    self.version_clashes += 1
                    time.sleep(0.05 * attempt)
        return self.get(cycle, number)

    def _next_version(self, conn: sa.Connection, cycle: str) -> int:
        highest = conn.execute(
            sa.select(sa.func.max(plan_versions.c.version)).where(plan_versions.c.cycle == cycle)
        ).scalar_one_or_none()
        return int(highest or 0) + 1

    def _insert_version(self, cycle: str, header: dict, prepared: dict) -> int:
        with self._write(lock_key=cycle) as conn:
            number = self._next_version(conn, cycle)
            version_id = conn.execute(
                plan_versions.insert().values(version=number, **header)
            ).inserted_primary_key[0]
            rows = [
                {
                    "version_id": version_id,
                    "kind": kind,
                    "row_number": position,
                    "sku": None if record.get("sku") is None else str(record["sku"])[:200],
                    "period": _period_key(record.get("period")),
                    "data": record,
                }
                for kind, (_, records) in prepared.items()
                for position, record in enumerate(records, start=1)
            ]
            if rows:
                conn.execute(plan_rows.insert(), rows)
        return number

    def record_workspace(
        self,
        workspace: str | Path,
        cycle: str,
        *,
        data_fingerprint: str = "",
        run_stamp: str = "",
        now: datetime | None = None,
    ) -> PlanVersion:
        """Record the cycle's workspace files (``runs/<cycle>/``) as a new draft version."""
        from sopkit.workspace import OUTPUTS, read_output

        cycle = fmt_month(cycle_month(cycle))
        folder = Path(workspace).resolve() / cycle
        tables = {}
        for kind, (output, _) in TABLES.items():
            try:
                tables[kind] = read_output(workspace, cycle, output)
            except FileNotFoundError:
                raise StoreError(
                    f"cannot record cycle {cycle}: {folder / OUTPUTS[output]} is missing "
                    "(run the cycle first)"
                ) from None
            except (ValueError, pd.errors.ParserError) as exc:
                raise StoreError(f"cannot record cycle {cycle}: {folder / OUTPUTS[output]}: "
                                 f"{_first_line(exc)}") from None
        return self.record(cycle, tables, data_fingerprint=data_fingerprint,
                           run_stamp=run_stamp, source=str(folder), now=now)

    def approve(
        self,
        cycle: str,
        *,
        by: str,
        note: str = "",
        version: int | None = None,
        now: datetime | None = None,
    ) -> PlanVersion:
        """Freeze a version as approved: who, when, a note and its fingerprint.

        ``version`` defaults to the cycle's latest version. Approving a second
        version of a cycle supersedes the first: the latest approval is the
        plan of record; both stay queryable.

        Raises
        ------
        ParameterError
            For a blank or overlong name or note.
        StoreError
            For an unknown cycle or version, a version approved already, or
            rows that no longer match their fingerprint.
        """
        cycle = fmt_month(cycle_month(cycle))
        by = (by or "").strip()
        note = (note or "").strip()
        if not by:
            raise ParameterError("--by: give the name of the person who approves the plan")
        if len(by) > MAX_NAME:
            raise ParameterError(f"--by: a name of at most {MAX_NAME} characters, please")
        if len(note) > MAX_NOTE:
            raise ParameterError(f"--note: at most {MAX_NOTE} characters, please")
        approved_at = _as_utc(now) or _utc_now()
        with self._errors(f"approve cycle {cycle}"):
            try:
                with self._write(lock_key=cycle) as conn:
                    target = self._find(conn, cycle, version, default="latest")
                    if target.is_approved:
                        raise self._already_approved(target)
                    actual = content_fingerprint(self._load_tables(conn, target))
                    if actual != target.content_fingerprint:
                        raise self._tampered(target)
                    conn.execute(approvals.insert().values(
                        version_id=target.id, cycle=cycle, version=target.version,
                        approved_by=by, approved_at=approved_at, note=note,
                        content_fingerprint=target.content_fingerprint,
                        data_fingerprint=target.data_fingerprint,
                    ))
            except sa_exc.IntegrityError:
                # approved by someone else between our check and our insert
                raise self._already_approved(self.get(cycle, target.version)) from None
        return self.get(cycle, target.version)

    def _already_approved(self, target: PlanVersion) -> StoreError:
        return StoreError(
            f"version {target.version} of cycle {target.cycle} is already approved "
            f"(by {target.approved_by} on {_utc_text(target.approved_at)}); an approved "
            "version is never changed: rerun the cycle for a new draft and approve that"
        )

    def _tampered(self, target: PlanVersion) -> StoreError:
        return StoreError(
            f"version {target.version} of cycle {target.cycle}: its rows no longer match the "
            f"fingerprint {target.content_fingerprint[:12]} recorded with them; the store was "
            "changed outside sopkit"
        )

    # ----------------------------------------------------------------- read

    def versions(self, cycle: str | None = None) -> pd.DataFrame:
        """Every recorded version (of one cycle, or all), oldest first.

        Returns
        -------
        DataFrame
            Columns ``cycle, version, status, recorded_at, run_stamp,
            data_fingerprint, content_fingerprint, n_demand, n_supply,
            n_decisions, approved_by, approved_at, note, superseded_by,
            sopkit_version, source`` (times in UTC).
        """
        if cycle is not None:
            cycle = fmt_month(cycle_month(cycle))
        with self._errors("list plan versions"), self._read() as conn:
            found = self._versions(conn, cycle)
        frame = pd.DataFrame([_version_row(v) for v in found], columns=VERSION_COLUMNS)
        for col in ("version", "n_demand", "n_supply", "n_decisions", "superseded_by"):
            frame[col] = frame[col].astype("Int64")
        return frame

    def _versions(self, conn: sa.Connection, cycle: str | None) -> list[PlanVersion]:
        query = (
            sa.select(plan_versions, approvals.c.id.label("approval_id"),
                      approvals.c.approved_by, approvals.c.approved_at, approvals.c.note)
            .select_from(plan_versions.outerjoin(
                approvals, approvals.c.version_id == plan_versions.c.id))
            .order_by(plan_versions.c.cycle, plan_versions.c.version)
        )
        if cycle is not None:
            query = query.where(plan_versions.c.cycle == cycle)
        rows = conn.execute(query).mappings().all()
        # per cycle, approvals in the order they were given: the last one is the plan of record
        order: dict[str, list[tuple[int, int]]] = {}
        for row in rows:
            if row["approval_id"] is not None:
                order.setdefault(row["cycle"], []).append((row["approval_id"], row["version"]))
        successor: dict[tuple[str, int], int | None] = {}
        for cyc, given in order.items():
            given.sort()
            for position, (_, number) in enumerate(given):
                nxt = given[position + 1][1] if position + 1 < len(given) else None
                successor[(cyc, number)] = nxt
        result = []
        for row in rows:
            key = (row["cycle"], row["version"])
            if row["approval_id"] is None:
                status, superseded_by = DRAFT, None
            else:
                superseded_by = successor[key]
                status = APPROVED if superseded_by is None else SUPERSEDED
            tables = row["tables"] or {}
            result.append(PlanVersion(
                cycle=row["cycle"],
                version=int(row["version"]),
                status=status,
                recorded_at=_as_utc(row["recorded_at"]),
                run_stamp=row["run_stamp"],
                data_fingerprint=row["data_fingerprint"],
                content_fingerprint=row["content_fingerprint"],
                row_counts={k: int(tables.get(k, {}).get("rows", 0)) for k in KINDS},
                approved_by=row["approved_by"],
                approved_at=_as_utc(row["approved_at"]),
                note=row["note"],
                superseded_by=superseded_by,
                sopkit_version=row["sopkit_version"],
                source=row["source"],
                id=int(row["id"]),
            ))
        return result

    def _find(self, conn: sa.Connection, cycle: str, version: int | None,
              default: str) -> PlanVersion:
        found = self._versions(conn, cycle)
        if not found:
            cycles = conn.execute(
                sa.select(plan_versions.c.cycle).distinct().order_by(plan_versions.c.cycle)
            ).scalars().all()
            known = f"versions exist for {', '.join(cycles)}" if cycles else "it is empty"
            raise StoreError(
                f"cycle {cycle} has no plan version in the store {self.display_url} ({known}); "
                "a successful `sop cycle` records one"
            )
        if version is not None:
            match = [v for v in found if v.version == int(version)]
            if not match:
                raise StoreError(
                    f"cycle {cycle} has no version {version}; its versions are "
                    f"{_number_ranges([v.version for v in found])}"
                )
            return match[0]
        if default == "record":
            record = [v for v in found if v.status == APPROVED]
            if record:
                return record[0]
        return found[-1]

    def get(self, cycle: str, version: int | None = None, *,
            default: str = "record") -> PlanVersion:
        """One version. Without ``version``: the plan of record (``default="record"``,
        falling back to the latest version when nothing is approved) or the latest
        version (``default="latest"``).
        """
        cycle = fmt_month(cycle_month(cycle))
        with self._errors(f"read cycle {cycle}"), self._read() as conn:
            return self._find(conn, cycle, version, default)

    def plan_of_record(self, cycle: str) -> PlanVersion | None:
        """The cycle's most recently approved version, or ``None``."""
        cycle = fmt_month(cycle_month(cycle))
        with self._errors(f"read cycle {cycle}"), self._read() as conn:
            record = [v for v in self._versions(conn, cycle) if v.status == APPROVED]
        return record[0] if record else None

    def _load_tables(self, conn: sa.Connection,
                     target: PlanVersion) -> dict[str, tuple[list[str], list[dict]]]:
        header = conn.execute(
            sa.select(plan_versions.c.tables).where(plan_versions.c.id == target.id)
        ).scalar_one()
        loaded: dict[str, tuple[list[str], list[dict]]] = {
            kind: (list(header[kind]["columns"]), []) for kind in KINDS
        }
        rows = conn.execute(
            sa.select(plan_rows.c.kind, plan_rows.c.data)
            .where(plan_rows.c.version_id == target.id)
            .order_by(plan_rows.c.kind, plan_rows.c.row_number)
        )
        for kind, data in rows:
            loaded[kind][1].append(data)
        return loaded

    def plan(self, cycle: str, version: int | None = None) -> Plan:
        """A version's three tables (default: the plan of record, else the latest draft).

        Raises
        ------
        StoreError
            For an unknown cycle or version, or an approved version whose rows no
            longer match their fingerprint.
        """
        cycle = fmt_month(cycle_month(cycle))
        with self._errors(f"read cycle {cycle}"), self._read() as conn:
            target = self._find(conn, cycle, version, default="record")
            loaded = self._load_tables(conn, target)
        if content_fingerprint(loaded) != target.content_fingerprint:
            raise self._tampered(target)
        frames = {kind: _frame(*loaded[kind]) for kind in KINDS}
        return Plan(version=target, **frames)


def _period_key(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text[:7] if len(text) >= 7 else text


def _number_ranges(numbers: list[int]) -> str:
    numbers = sorted(numbers)
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]} to {numbers[-1]}"
    return ", ".join(str(n) for n in numbers)


def _version_row(version: PlanVersion) -> dict[str, Any]:
    return {
        "cycle": version.cycle,
        "version": version.version,
        "status": version.status,
        "recorded_at": version.recorded_at,
        "run_stamp": version.run_stamp,
        "data_fingerprint": version.data_fingerprint,
        "content_fingerprint": version.content_fingerprint,
        "n_demand": version.row_counts.get("demand", 0),
        "n_supply": version.row_counts.get("supply", 0),
        "n_decisions": version.row_counts.get("decisions", 0),
        "approved_by": version.approved_by,
        "approved_at": version.approved_at,
        "note": version.note,
        "superseded_by": version.superseded_by,
        "sopkit_version": version.sopkit_version,
        "source": version.source,
    }


def open_store(
    option: str | None = None,
    *,
    parameter: str | None = "",
    workspace: str | Path = "runs",
    parameter_source: str = "the store_url parameter",
) -> PlanStore:
    """Open (and on first use create) the plan store chosen by :func:`resolve_store`.

    The default SQLite file's folder (the workspace) is created when missing.

    Raises
    ------
    StoreError
        A malformed URL, a database other than SQLite/PostgreSQL, a missing
        driver, an unreachable server, or a database that is not a sopkit store.
    ParameterError
        A password in the ``store_url`` parameter.
    """
    location = resolve_store(option, parameter=parameter, workspace=workspace,
                             parameter_source=parameter_source)
    if location.source.startswith("default"):
        Path(workspace).expanduser().mkdir(parents=True, exist_ok=True)
    store = PlanStore(location)
    try:
        store.ensure_schema()
    except BaseException:
        store.close()
        raise
    return store


# --------------------------------------------------------------- for people


def history_table(versions: pd.DataFrame) -> pd.DataFrame:
    """The versions as a reviewer reads them (times as text, short fingerprints).

    Returns
    -------
    DataFrame
        Columns ``version, status, recorded, run, data fingerprint, rows
        (demand/supply/decisions), approved by, approved at, note``.
    """
    if versions.empty:
        return pd.DataFrame(columns=["version", "status", "recorded", "run",
                                     "data fingerprint", "rows (demand/supply/decisions)",
                                     "approved by", "approved at", "note"])
    status = versions["status"].where(
        versions["superseded_by"].isna(),
        "superseded by v" + versions["superseded_by"].astype("string"),
    )
    return pd.DataFrame({
        "version": versions["version"],
        "status": status,
        "recorded": versions["recorded_at"].map(_utc_text),
        "run": versions["run_stamp"],
        "data fingerprint": versions["data_fingerprint"].str.slice(0, 12),
        "rows (demand/supply/decisions)": (
            versions["n_demand"].astype("string") + " / " + versions["n_supply"].astype("string")
            + " / " + versions["n_decisions"].astype("string")),
        "approved by": versions["approved_by"].fillna(""),
        "approved at": versions["approved_at"].map(
            lambda value: _utc_text(value) if isinstance(value, datetime) else ""),
        "note": versions["note"].fillna(""),
    })


def _approval_text(row) -> str:
    """``version 2 by Ann on 2026-11-21 16:30 UTC (note: board 21 Nov)``."""
    text = (f"version {int(row['version'])} by {row['approved_by']} on "
            f"{_utc_text(row['approved_at'])}")
    note = row.get("note")
    if isinstance(note, str) and note.strip():
        text += f" (note: {note.strip()})"
    return text


def _run_status(versions: pd.DataFrame, cycle: str, run_stamp: str) -> str:
    """The plan-of-record status as seen from one run of the cycle (its report index)."""
    current = versions[versions["status"] == APPROVED] if len(versions) else versions
    record = current.iloc[0] if len(current) else None
    mine = (versions[versions["run_stamp"].astype("string") == str(run_stamp)]
            if len(versions) else versions)
    if mine.empty:
        this_run = ("This run recorded no plan version: a run is recorded only when every "
                    "step finishes.")
        if record is None:
            return f"No approved plan for cycle {cycle}. {this_run}"
        return f"Approved: {_approval_text(record)}. {this_run}"
    own = mine.sort_values("version").iloc[-1]
    number = int(own["version"])
    if own["status"] == APPROVED:
        return f"Approved: {_approval_text(own)}; this run's plan is that version."
    if own["status"] == SUPERSEDED:
        return (f"Approved: {_approval_text(record)}; this run's plan, version {number}, was "
                f"approved before ({_approval_text(own)}) and is superseded by it.")
    if record is None:
        return (f"Draft version {number}, not approved. Approve it with: sop approve "
                f"--cycle {cycle} --by NAME --version {number}")
    return (f"Approved: {_approval_text(record)}; this run's draft is version {number}, "
            "not approved.")


def approval_status(versions: pd.DataFrame, cycle: str, *, run_stamp: str | None = None
                    ) -> str:
    """One sentence on a cycle's plan of record.

    Without ``run_stamp``: for the executive page, which is written before
    its own run is recorded. With ``run_stamp``: as seen from that run, for
    its report index, e.g. "Draft version 3, not approved. ..." or
    "Approved: version 2 by Ann on 2026-11-21 16:30 UTC (note: board 21
    Nov); this run's draft is version 3, not approved."
    """
    if run_stamp is not None:
        return _run_status(versions, cycle, run_stamp)
    run_note = ("A successful sop cycle run, this one included, is recorded as a new draft "
                "version when the run finishes; it changes no approved version.")
    if versions.empty:
        return (f"No plan version of cycle {cycle} is recorded yet. {run_note} "
                f"Approve one with: sop approve --cycle {cycle} --by NAME.")
    current = versions[versions["status"] == APPROVED]
    latest = int(versions["version"].max())
    n = len(versions)
    recorded = f"{n} version{'s' if n != 1 else ''} recorded"
    if current.empty:
        return (f"Cycle {cycle} has no approved plan yet ({recorded}, all drafts). {run_note} "
                f"Approve one with: sop approve --cycle {cycle} --by NAME [--version N].")
    row = current.iloc[0]
    text = (f"Plan of record for {cycle}: version {int(row['version'])}, approved by "
            f"{row['approved_by']} on {_utc_text(row['approved_at'])} "
            f"(fingerprint {str(row['content_fingerprint'])[:12]}); {recorded}")
    if latest > int(row["version"]):
        text += f", the latest (version {latest}) is a draft"
    return f"{text}. {run_note}"


def cycle_history(cycle: str, *, store_url: str = "", workspace: str | Path = "runs"
                  ) -> pd.DataFrame:
    """Every recorded version of ``cycle`` (see :meth:`PlanStore.versions`).

    The store is the one :func:`resolve_store` picks for ``store_url`` and
    ``workspace``.
    """
    with open_store(parameter=store_url, workspace=workspace) as store:
        return store.versions(cycle)


def versions_text(versions: pd.DataFrame) -> str:
    """The versions as a plain-text table for the terminal."""
    if versions.empty:
        return "(no plan version recorded)"
    table = history_table(versions)
    table.insert(0, "cycle", versions["cycle"])
    return table.to_string(index=False)


def recorded_message(version: PlanVersion, store: PlanStore) -> str:
    """What ``sop cycle`` prints after recording its draft."""
    return (f"plan of record store {store.display_url}: recorded cycle {version.cycle} as "
            f"draft version {version.version} (fingerprint {version.content_fingerprint[:12]}); "
            f"approve with: sop approve --cycle {version.cycle} --by NAME")


def approval_message(approved: PlanVersion, versions: pd.DataFrame) -> str:
    """What ``sop approve`` prints: the approval, what it supersedes, newer drafts."""
    lines = [f"approved {approved.describe()}",
             f"  fingerprint of its numbers: {approved.content_fingerprint}"]
    if approved.note:
        lines.append(f"  note: {approved.note}")
    replaced = versions[versions["superseded_by"] == approved.version]
    for number in replaced["version"]:
        lines.append(f"  it supersedes version {int(number)} as the plan of record of "
                     f"{approved.cycle} (version {int(number)} stays stored and queryable)")
    newer = versions[versions["version"] > approved.version]
    if len(newer):
        lines.append(f"  note: newer version(s) {_number_ranges(list(newer['version']))} "
                     "exist and stay drafts")
    return "\n".join(lines)


PLAN_OF_RECORD_DECISION = "Which plan becomes the plan of record"  # sopkit.executive.decisions


def recommendation_note(decisions: pd.DataFrame,
                        holders: Mapping[int, pd.DataFrame] | None = None) -> str:
    """A line for ``sop approve`` when the version's own decisions recommended another plan.

    A run records the Baseline (the plan as it stands, with any adopted
    options); the executive review may recommend an option priced against it.
    Approving the draft does not adopt that option: the line says so, and how
    to record a plan with it. ``holders`` (version number → its decisions,
    the cycle's other versions): a version whose run adopted the
    recommendation is named instead. ``""`` when the Baseline was
    recommended, or the version has no such decision.
    """
    if decisions is None or decisions.empty or "decision" not in decisions.columns:
        return ""
    row = decisions[decisions["decision"].astype(str) == PLAN_OF_RECORD_DECISION]
    if row.empty:
        return ""
    recommended = str(row["recommendation"].iloc[0])
    if recommended in ("", "Baseline", "nan", "None"):
        return ""
    text = (f"  note: this version holds the plan as it stands (the Baseline); its executive "
            f"review recommended '{recommended}', which it does not contain. ")
    wanted = {f"adopted: {name.strip()}" for name in recommended.split(" + ")}
    found = [number for number, table in sorted((holders or {}).items())
             if "recommendation" in table.columns
             and wanted <= set(table["recommendation"].astype(str))]
    if found:
        return text + (f"Version {found[-1]} holds it (its run adopted it): approve that one "
                       f"with --version {found[-1]}")
    return text + ("To approve a plan with it, add it to 'adopted' in the cycle parameters, "
                   "run the cycle again and approve the version that run records")


def plan_text(plan: Plan, table: str | None = None) -> str:
    """``sop plans show``: the version and its approval, then a table or a summary of each."""
    version = plan.version
    lines = [
        version.describe(),
        f"  recorded {_utc_text(version.recorded_at)} by run {version.run_stamp or '-'} "
        f"(sopkit {version.sopkit_version})",
        f"  input data fingerprint {version.data_fingerprint or '-'}",
        f"  fingerprint of the numbers {version.content_fingerprint}",
    ]
    if version.note:
        lines.append(f"  note: {version.note}")
    if table is not None:
        frame = plan.table(table)
        lines += ["", f"{table} ({len(frame)} rows):",
                  frame.to_string(index=False) if len(frame) else "(no rows)"]
        return "\n".join(lines)
    lines.append("")
    totals = {"demand": "qty_consensus", "supply": "qty_supply"}
    for kind in KINDS:
        frame = plan.table(kind)
        text = f"{kind}: {len(frame)} rows"
        measure = totals.get(kind)
        if measure and len(frame):
            periods = frame["period"].dropna()
            text += (f", {frame['sku'].nunique()} SKUs, {periods.min()} to {periods.max()}, "
                     f"{measure} total {pd.to_numeric(frame[measure]).sum():,.0f}")
            if kind == "supply" and "qty_short" in frame:
                text += f", qty_short total {pd.to_numeric(frame['qty_short']).sum():,.0f}"
        lines.append(text)
    decisions = plan.decisions
    for _, row in decisions.iterrows():
        lines.append(f"  - {row.get('decision', '')}: {row.get('recommendation', '')}")
    lines.append("(--table demand|supply|decisions prints a whole table; "
                 "sop plans export writes it to CSV or Excel)")
    return "\n".join(lines)


__all__ = [
    "APPROVED", "DRAFT", "ENV_VAR", "KINDS", "Plan", "PlanStore", "PlanVersion",
    "StoreLocation", "SUPERSEDED", "TABLES", "VERSION_COLUMNS", "approval_message",
    "recommendation_note",
    "approval_status", "plan_text",
    "content_fingerprint", "cycle_history", "display_url", "history_table", "open_store",
    "recorded_message", "resolve_store", "versions_text",
]
