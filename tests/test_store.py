"""The plan of record (sopkit.store), on SQLite and on a real PostgreSQL server.

Every test taking ``store_url`` runs twice: on a SQLite file and on a
PostgreSQL server that this module starts (initdb + pg_ctl, as a non-root
user, in a temporary folder, on a free port) and stops afterwards. When no
server can be started the PostgreSQL half is skipped with the reason — or
fails, when ``CI`` is set, like the browser test.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from sopkit.errors import ParameterError, StoreError
from sopkit.store import (
    APPROVED,
    DRAFT,
    ENV_VAR,
    SUPERSEDED,
    PlanStore,
    approval_status,
    content_fingerprint,
    display_url,
    history_table,
    open_store,
    resolve_store,
)

CYCLE = "2026-11"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


# ------------------------------------------------------------------ a tiny plan


def plan_tables(scale: float = 1.0, note: str = "accept the shortfall") -> dict:
    """A hand-made plan: 2 SKUs x 2 months, one decision. ``scale`` changes the numbers."""
    demand = pd.DataFrame({
        "sku": ["A", "A", "B", "B"],
        "period": pd.to_datetime(["2026-11-01", "2026-12-01", "2026-11-01", "2026-12-01"]),
        "qty_stat": [10.0, 12.0, 4.0, float("nan")],
        "qty_consensus": [11.5 * scale, 12.25 * scale, 4.0 * scale, 0.0],
        "model": ["ets", "ets", "croston", "croston"],
    })
    supply = pd.DataFrame({
        "sku": ["A", "A", "B", "B"],
        "period": ["2026-11", "2026-12", "2026-11", "2026-12"],
        "qty_supply": [11.5 * scale, 10.0, 4.0, 0.0],
        "qty_short": [0.0, 2.25 * scale, 0.0, 0.0],
        "inventory_end": [-0.0, 3, 7, 7],  # ints and floats mixed, as CSVs give them
    })
    decisions = pd.DataFrame({
        "decision": ["Close or accept the gap behind: R1"],
        "options": ["accept the shortfall; add a shift"],
        "recommendation": [note],
        "margin_delta": [-1250.5],
    })
    return {"demand": demand, "supply": supply, "decisions": decisions}


# ------------------------------------------------------------- PostgreSQL server


def _postgres_unavailable(reason: str):
    message = f"PostgreSQL path not tested: {reason}"
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(message + " — failing because CI is set", pytrace=False)
    pytest.skip(message)


def _postgres_bin() -> Path | None:
    candidates = []
    if os.environ.get("SOPKIT_PG_BIN"):
        candidates.append(Path(os.environ["SOPKIT_PG_BIN"]))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL server: yields ``(admin_url, url_for(dbname))``."""
    try:
        import psycopg
    except ImportError:
        _postgres_unavailable("the psycopg driver is not installed (pip install -e '.[test]')")
    folder = _postgres_bin()
    if folder is None:
        _postgres_unavailable("initdb/pg_ctl not found (apt-get install postgresql, "
                              "or set SOPKIT_PG_BIN)")
    user = None
    if os.geteuid() == 0:  # the server refuses to run as root
        for name in ("postgres", "nobody"):
            try:
                user = pwd.getpwnam(name)
                break
            except KeyError:
                continue
        if user is None:
            _postgres_unavailable("running as root and no 'postgres' or 'nobody' user exists")
    root = Path(tempfile.mkdtemp(prefix="sopkit-pg-"))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    data, port = root / "data", _free_port()

    def run(*args, check=True):
        return subprocess.run([str(a) for a in args], cwd=root, capture_output=True, text=True,
                              timeout=120, check=check,
                              user=user.pw_uid if user else None,
                              group=user.pw_gid if user else None,
                              extra_groups=[] if user else None)

    try:
        run(folder / "initdb", "-D", data, "-U", "sopkit", "--auth=trust", "-E", "UTF8",
            "--no-locale", "--no-sync")
        run(folder / "pg_ctl", "-D", data, "-l", root / "server.log", "-w", "-t", "60",
            "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c full_page_writes=off -c synchronous_commit=off", "start")
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        shutil.rmtree(root, ignore_errors=True)
        _postgres_unavailable(f"could not start a server with {folder}: {detail.strip()[:300]}")
    admin = f"host=127.0.0.1 port={port} user=sopkit dbname=postgres"
    try:
        with psycopg.connect(admin, connect_timeout=10):
            pass
        yield admin, lambda name: f"postgresql://sopkit@127.0.0.1:{port}/{name}"
    finally:
        run(folder / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


_DB_NUMBER = iter(range(1, 10_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """A fresh, empty store: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'plans.db'}"
    import psycopg

    admin, url_for = request.getfixturevalue("postgres_server")
    name = f"sopkit_test_{next(_DB_NUMBER)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return url_for(name)


@pytest.fixture
def store(store_url):
    with open_store(store_url) as opened:
        yield opened


# ------------------------------------------------------------------ recording


def test_record_and_read_back_exact_numbers(store):
    recorded = store.record(CYCLE, plan_tables(), data_fingerprint="f00d", run_stamp="r1",
                            now=T0)
    assert (recorded.version, recorded.status) == (1, DRAFT)
    assert recorded.row_counts == {"demand": 4, "supply": 4, "decisions": 1}
    assert recorded.recorded_at == T0 and recorded.data_fingerprint == "f00d"

    plan = store.plan(CYCLE)
    assert list(plan.demand.columns) == ["sku", "period", "qty_stat", "qty_consensus", "model"]
    assert plan.demand["period"].tolist() == ["2026-11", "2026-12", "2026-11", "2026-12"]
    assert plan.demand["qty_consensus"].tolist() == [11.5, 12.25, 4.0, 0.0]
    assert plan.demand["qty_stat"].iloc[3] != plan.demand["qty_stat"].iloc[3]  # NaN kept
    assert plan.supply["qty_short"].sum() == 2.25
    assert plan.decisions["margin_delta"].tolist() == [-1250.5]
    assert plan.decisions["recommendation"].tolist() == ["accept the shortfall"]
    # the fingerprint covers every cell: one changed number changes it
    assert recorded.content_fingerprint == content_fingerprint(_prepared(plan_tables()))
    assert recorded.content_fingerprint != content_fingerprint(_prepared(plan_tables(1.01)))


def _prepared(tables):
    from sopkit.store import _prepare

    return {kind: _prepare(kind, frame, kind) for kind, frame in tables.items()}


def test_versions_are_numbered_per_cycle(store):
    numbers = [store.record(CYCLE, plan_tables(), now=T0).version for _ in range(3)]
    other = store.record("2026-12", plan_tables(), now=T0).version
    assert numbers == [1, 2, 3] and other == 1
    listed = store.versions()
    assert listed[["cycle", "version"]].values.tolist() == [
        [CYCLE, 1], [CYCLE, 2], [CYCLE, 3], ["2026-12", 1]]
    assert store.versions("2026-12")["version"].tolist() == [1]


def test_missing_column_names_the_table_and_column(store):
    tables = plan_tables()
    tables["supply"] = tables["supply"].drop(columns="qty_supply")
    with pytest.raises(StoreError, match=r"supply_plan: column\(s\) 'qty_supply' missing"):
        store.record(CYCLE, tables)
    assert store.versions().empty  # nothing half-recorded


def test_record_workspace_reads_the_step_outputs(store, tmp_path):
    from sopkit.workspace import write_output

    workspace = tmp_path / "runs"
    tables = plan_tables()
    write_output(tables["demand"], workspace, CYCLE, "demand_plan")
    write_output(tables["supply"], workspace, CYCLE, "supply_plan")
    with pytest.raises(StoreError, match=r"decisions\.csv is missing"):
        store.record_workspace(workspace, CYCLE)
    write_output(tables["decisions"], workspace, CYCLE, "decisions")
    recorded = store.record_workspace(workspace, CYCLE, data_fingerprint="abc", run_stamp="r7")
    assert recorded.source == str((workspace / CYCLE).resolve())
    plan = store.plan(CYCLE)
    assert plan.demand["qty_consensus"].tolist() == [11.5, 12.25, 4.0, 0.0]
    assert plan.supply["inventory_end"].tolist() == [0.0, 3.0, 7.0, 7.0]


# ------------------------------------------------------------------ approving


def test_approve_freezes_who_when_note_and_fingerprint(store):
    draft = store.record(CYCLE, plan_tables(), data_fingerprint="f00d", now=T0)
    later = datetime(2026, 11, 21, 16, 30, tzinfo=UTC)
    approved = store.approve(CYCLE, by="  Ann Example ", note="as discussed", now=later)
    assert approved.status == APPROVED and approved.version == 1
    assert (approved.approved_by, approved.approved_at, approved.note) == (
        "Ann Example", later, "as discussed")
    assert approved.content_fingerprint == draft.content_fingerprint
    assert store.plan_of_record(CYCLE).version == 1
    assert "Plan of record for 2026-11: version 1, approved by Ann Example on " \
           "2026-11-21 16:30 UTC" in approval_status(store.versions(CYCLE), CYCLE)


def test_approval_immutability_rerun_after_approval(store):
    """Approve, change the data, rerun: the approved numbers are unchanged."""
    store.record(CYCLE, plan_tables(), now=T0)
    store.approve(CYCLE, by="Ann", now=T0)
    # new data (demand doubled, another recommendation) and a rerun of the cycle
    rerun = store.record(CYCLE, plan_tables(scale=2.0, note="add a shift"), now=T0)
    assert (rerun.version, rerun.status) == (2, DRAFT)

    approved = store.plan(CYCLE)  # default: the plan of record
    assert approved.version.version == 1
    assert approved.demand["qty_consensus"].tolist() == [11.5, 12.25, 4.0, 0.0]
    assert approved.supply["qty_short"].tolist() == [0.0, 2.25, 0.0, 0.0]
    assert approved.decisions["recommendation"].tolist() == ["accept the shortfall"]
    draft = store.plan(CYCLE, 2)
    assert draft.demand["qty_consensus"].tolist() == [23.0, 24.5, 8.0, 0.0]
    assert draft.decisions["recommendation"].tolist() == ["add a shift"]
    assert store.versions(CYCLE)["status"].tolist() == [APPROVED, DRAFT]


def test_approving_twice_is_refused(store):
    store.record(CYCLE, plan_tables(), now=T0)
    store.approve(CYCLE, by="Ann", note="first", now=T0)
    with pytest.raises(StoreError, match=r"version 1 of cycle 2026-11 is already approved "
                                         r"\(by Ann on 2026-11-20 09:00 UTC\)"):
        store.approve(CYCLE, by="Bo", note="second")
    row = store.versions(CYCLE).iloc[0]
    assert (row["approved_by"], row["note"]) == ("Ann", "first")


def test_second_approval_supersedes_and_both_stay_queryable(store):
    store.record(CYCLE, plan_tables(), now=T0)
    store.record(CYCLE, plan_tables(scale=2.0), now=T0)
    store.record(CYCLE, plan_tables(scale=3.0), now=T0)
    store.approve(CYCLE, by="Ann", version=1, now=T0)
    store.approve(CYCLE, by="Bo", version=2, now=T0)
    listed = store.versions(CYCLE)
    assert listed["status"].tolist() == [SUPERSEDED, APPROVED, DRAFT]
    assert listed["superseded_by"].iloc[0] == 2 and listed["superseded_by"].iloc[1:].isna().all()
    assert store.plan_of_record(CYCLE).version == 2
    assert store.plan(CYCLE, 1).demand["qty_consensus"].tolist() == [11.5, 12.25, 4.0, 0.0]
    assert store.plan(CYCLE).demand["qty_consensus"].tolist() == [23.0, 24.5, 8.0, 0.0]
    # the most recent approval decides, not the highest number
    store.approve(CYCLE, by="Cy", version=3, now=T0)
    assert store.versions(CYCLE)["status"].tolist() == [SUPERSEDED, SUPERSEDED, APPROVED]
    table = history_table(store.versions(CYCLE))
    assert table["status"].tolist() == ["superseded by v2", "superseded by v3", "approved"]


def test_default_version_to_approve_is_the_latest(store):
    store.record(CYCLE, plan_tables(), now=T0)
    store.record(CYCLE, plan_tables(scale=2.0), now=T0)
    assert store.approve(CYCLE, by="Ann").version == 2


@pytest.mark.parametrize("cycle, version, message", [
    ("2026-10", None, r"cycle 2026-10 has no plan version in the store .* "
                      r"\(versions exist for 2026-11\)"),
    (CYCLE, 7, r"cycle 2026-11 has no version 7; its versions are 1, 2"),
])
def test_unknown_cycle_or_version(store, cycle, version, message):
    store.record(CYCLE, plan_tables(), now=T0)
    store.record(CYCLE, plan_tables(), now=T0)
    with pytest.raises(StoreError, match=message):
        store.approve(cycle, by="Ann", version=version)
    with pytest.raises(StoreError, match=message):
        store.plan(cycle, version)


@pytest.mark.parametrize("by, note, message", [
    ("  ", "", "--by: give the name"),
    ("x" * 201, "", "--by: a name of at most 200"),
    ("Ann", "n" * 4001, "--note: at most 4000"),
])
def test_approver_and_note_are_checked(store, by, note, message):
    store.record(CYCLE, plan_tables(), now=T0)
    with pytest.raises(ParameterError, match=message):
        store.approve(CYCLE, by=by, note=note)
    assert store.versions(CYCLE)["status"].tolist() == [DRAFT]


# ------------------------------------------------------ enforced by the database


def _raw(store: PlanStore, sql: str):
    with store.engine.begin() as conn:
        conn.exec_driver_sql(sql)


@pytest.mark.parametrize("sql", [
    "UPDATE sop_plan_rows SET data = '{}' WHERE version_id = 1",
    "DELETE FROM sop_plan_rows WHERE version_id = 1",
    "INSERT INTO sop_plan_rows (version_id, kind, row_number, data) "
    "VALUES (1, 'demand', 99, '{}')",
    "UPDATE sop_plan_versions SET content_fingerprint = 'x' WHERE id = 1",
    "DELETE FROM sop_plan_versions WHERE id = 1",
    "UPDATE sop_approvals SET approved_by = 'Mallory'",
    "DELETE FROM sop_approvals",
])
def test_approved_rows_cannot_be_changed_even_with_raw_sql(store, sql):
    store.record(CYCLE, plan_tables(), now=T0)
    before = store.approve(CYCLE, by="Ann", now=T0)
    with pytest.raises(sa.exc.DBAPIError, match="sopkit: an? (approved|recorded|approval)"):
        _raw(store, sql)
    after = store.plan(CYCLE)
    assert after.version == before
    assert after.demand["qty_consensus"].tolist() == [11.5, 12.25, 4.0, 0.0]


def test_drafts_are_never_updated_either(store):
    store.record(CYCLE, plan_tables(), now=T0)
    with pytest.raises(sa.exc.DBAPIError, match="never changed"):
        _raw(store, "UPDATE sop_plan_rows SET sku = 'Z'")


def test_emptying_a_table_is_refused(store):
    """PostgreSQL's TRUNCATE skips row triggers; SQLite's whole-table DELETE is its analogue."""
    store.record(CYCLE, plan_tables(), now=T0)
    store.approve(CYCLE, by="Ann", now=T0)
    if store.backend == "postgresql":
        statement, message = "TRUNCATE sop_plan_rows CASCADE", "never truncated"
    else:
        statement, message = "DELETE FROM sop_plan_rows", "approved plan version is immutable"
    with pytest.raises(sa.exc.DBAPIError, match=message):
        _raw(store, statement)
    assert len(store.plan(CYCLE).demand) == 4


def test_rows_changed_behind_sopkits_back_are_reported(store):
    """Someone with the database's owner rights drops a guard and edits a number."""
    store.record(CYCLE, plan_tables(), now=T0)
    store.approve(CYCLE, by="Ann", now=T0)
    if store.backend == "sqlite":
        _raw(store, "DROP TRIGGER sop_plan_rows_no_update")
        _raw(store, "UPDATE sop_plan_rows SET data = json_set(data, '$.qty_consensus', 99.0) "
                    "WHERE kind = 'demand' AND row_number = 1")
    else:
        _raw(store, "DROP TRIGGER sop_plan_rows_guard ON sop_plan_rows")
        _raw(store, "UPDATE sop_plan_rows SET data = jsonb_set(data::jsonb, '{qty_consensus}', "
                    "'99.0')::json WHERE kind = 'demand' AND row_number = 1")
    with pytest.raises(StoreError, match=r"version 1 of cycle 2026-11: its rows no longer match "
                                         r"the fingerprint [0-9a-f]{12} .* outside sopkit"):
        store.plan(CYCLE)


# ------------------------------------------------------------------ concurrency

WRITER = textwrap.dedent("""
    import sys, time
    import pandas as pd
    from sopkit.store import open_store

    url, writer, n, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    rows = 400
    demand = pd.DataFrame({"sku": [f"S{i % 50}" for i in range(rows)],
                           "period": ["2026-11"] * rows,
                           "qty_consensus": [float(i) for i in range(rows)]})
    supply = demand.rename(columns={"qty_consensus": "qty_supply"})
    time.sleep(max(0.0, start - time.time()))  # both writers start together
    with open_store(url) as store:   # the first open also races to create the schema
        for k in range(n):
            decisions = pd.DataFrame({"decision": [f"{writer}-{k}"], "recommendation": [writer]})
            version = store.record("2026-11", {"demand": demand, "supply": supply,
                                               "decisions": decisions})
            print(version.version, f"{writer}-{k}", flush=True)
        print("clashes", store.version_clashes, flush=True)
""")


def test_concurrent_runs_of_one_cycle_do_not_corrupt_the_store(store_url, tmp_path):
    n = 6
    start = time.time() + 3.0  # after both interpreters have imported pandas
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, store_url, name, str(n), str(start)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for name in ("w1", "w2")
    ]
    outputs = [w.communicate(timeout=300) for w in writers]
    for writer, (_out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
    got: dict[int, str] = {}
    for out, _ in outputs:
        for line in out.splitlines():
            number, label = line.split()
            if number != "clashes":
                assert int(number) not in got, f"version {number} given twice"
                got[int(number)] = label
    assert sorted(got) == list(range(1, 2 * n + 1))
    with open_store(store_url) as store:
        listed = store.versions(CYCLE)
        assert listed["version"].tolist() == list(range(1, 2 * n + 1))
        for number, label in got.items():
            plan = store.plan(CYCLE, number)  # checks every version's fingerprint
            assert plan.decisions["decision"].tolist() == [label]
            assert len(plan.demand) == 400 and plan.demand["qty_consensus"].sum() == 79800.0


def test_a_version_clash_is_retried(store, monkeypatch):
    """The unique (cycle, version) constraint is the last line of defence."""
    store.record(CYCLE, plan_tables(), now=T0)
    calls = []
    original = PlanStore._next_version

    def stale_then_fresh(self, conn, cycle):
        calls.append(cycle)
        return 1 if len(calls) == 1 else original(self, conn, cycle)  # 1 exists already

    monkeypatch.setattr(PlanStore, "_next_version", stale_then_fresh)
    assert store.record(CYCLE, plan_tables(scale=2.0), now=T0).version == 2
    assert store.version_clashes == 1
    assert store.plan(CYCLE, 1).demand["qty_consensus"].tolist() == [11.5, 12.25, 4.0, 0.0]


# ------------------------------------------------------------- where the store is


def test_where_the_store_is(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    default = resolve_store(None, parameter="", workspace=tmp_path / "runs")
    assert default.url == f"sqlite:///{(tmp_path / 'runs' / 'plans.db').resolve()}"
    assert resolve_store(None, parameter="sqlite:////p.db").url == "sqlite:////p.db"
    monkeypatch.setenv(ENV_VAR, "postgresql://env@h/db")
    assert resolve_store(None, parameter="sqlite:////p.db").url == "postgresql://env@h/db"
    assert resolve_store("sqlite:////opt.db", parameter="sqlite:////p.db").source == "--store"


def test_a_password_in_the_parameters_is_refused(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(ParameterError, match=r"params/cycle.yaml: store_url contains a password"):
        resolve_store(None, parameter="postgresql://u:secret@h/db",
                      parameter_source="params/cycle.yaml")
    assert display_url("postgresql+psycopg://u:secret@h:5432/db") == \
        "postgresql+psycopg://u:***@h:5432/db"


@pytest.mark.parametrize("url, message", [
    ("not a url", r"plan store URL 'not a url' \(from --store\) is not a SQLAlchemy URL"),
    ("mysql://u@h/db", r"SQLite or PostgreSQL, not 'mysql'"),
    ("sqlite:////no/such/folder/plans.db", r"the folder /no/such/folder does not exist"),
])
def test_bad_store_urls(url, message):
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_unreachable_server_is_one_clear_line():
    port = _free_port()  # nothing listens there
    with pytest.raises(StoreError) as caught:
        open_store(f"postgresql://sopkit:secret@127.0.0.1:{port}/nothing")
    message = caught.value.user_message()
    assert message.startswith(f"cannot open the plan store postgresql://sopkit:***@"
                              f"127.0.0.1:{port}/nothing (from --store): ")
    assert "refused" in message.lower() and "secret" not in message and "\n" not in message


def test_a_file_that_is_not_a_store(tmp_path):
    (tmp_path / "x.db").write_text("not a database")
    with pytest.raises(StoreError, match="file is not a database"):
        open_store(f"sqlite:///{tmp_path / 'x.db'}")
    foreign = sa.create_engine(f"sqlite:///{tmp_path / 'y.db'}")
    with foreign.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE sop_plan_rows (x INTEGER)")
    foreign.dispose()
    with pytest.raises(StoreError, match="has table.*sop_plan_rows but no sopkit store metadata"):
        open_store(f"sqlite:///{tmp_path / 'y.db'}")


def test_approval_status_sentences():
    empty = pd.DataFrame(columns=["version", "status"])
    assert approval_status(empty, CYCLE).startswith("No plan version of cycle 2026-11 is "
                                                    "recorded yet.")
    drafts = pd.DataFrame({"version": [1, 2], "status": [DRAFT, DRAFT]})
    assert approval_status(drafts, CYCLE).startswith(
        "Cycle 2026-11 has no approved plan yet (2 versions recorded, all drafts).")
