"""``sop approve`` and ``sop plans``, and the plan of record through a real ``sop cycle``."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime

import pandas as pd
import pytest

from sopkit.cli import main
from sopkit.store import ENV_VAR, open_store

CYCLE = "2026-11"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def tables(scale: float = 1.0) -> dict:
    return {
        "demand": pd.DataFrame({"sku": ["A", "B"], "period": ["2026-11", "2026-11"],
                                "qty_consensus": [10.0 * scale, 4.5]}),
        "supply": pd.DataFrame({"sku": ["A", "B"], "period": ["2026-11", "2026-11"],
                                "qty_supply": [8.0 * scale, 4.5], "qty_short": [2.0, 0.0]}),
        "decisions": pd.DataFrame({"decision": ["Close the gap behind R1"],
                                   "recommendation": ["=add a shift"]}),
    }


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A workspace whose default store holds two drafts of 2026-11.

    Runs in ``tmp_path``: ``sop approve`` refreshes ``reports/`` of the working
    directory by default, which must not be the project's own.
    """
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "runs"
    with open_store(workspace=folder) as store:
        store.record(CYCLE, tables(), data_fingerprint="d1", run_stamp="20261120-090000", now=T0)
        store.record(CYCLE, tables(2.0), data_fingerprint="d2", run_stamp="20261121-090000",
                     now=T0)
    return folder


def sop(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_approve_show_export(workspace, capsys, tmp_path):
    code, out, _ = sop(capsys, "plans", "list", "--workspace", workspace)
    assert code == 0
    assert re.search(r"2026-11\s+1\s+draft .* 20261120-090000\s+d1\s+2 / 2 / 1", out)
    assert re.search(r"2026-11\s+2\s+draft", out)

    code, out, _ = sop(capsys, "approve", "--cycle", CYCLE, "--by", "Ann Example",
                       "--note", "board 21 Nov", "--version", "1", "--workspace", workspace)
    assert code == 0
    assert out.startswith("approved cycle 2026-11 version 1 (approved by Ann Example on ")
    assert "the plan of record)" in out and "note: board 21 Nov" in out
    assert "newer version(s) 2 exist and stay drafts" in out

    code, out, _ = sop(capsys, "plans", "show", "--cycle", CYCLE, "--workspace", workspace)
    assert code == 0
    assert out.startswith("cycle 2026-11 version 1 (approved by Ann Example")
    assert "demand: 2 rows, 2 SKUs, 2026-11 to 2026-11, qty_consensus total 14" in out
    assert "supply: 2 rows, 2 SKUs, 2026-11 to 2026-11, qty_supply total 12, " \
           "qty_short total 2" in out

    code, out, _ = sop(capsys, "plans", "show", "--cycle", CYCLE, "--version", "2",
                       "--table", "demand", "--workspace", workspace)
    assert code == 0 and "version 2 (draft)" in out
    assert re.search(r"A\s+2026-11\s+20\.0", out)

    out_file = tmp_path / "plan.csv"
    code, out, _ = sop(capsys, "plans", "export", "--cycle", CYCLE, "--table", "decisions",
                       "--out", out_file, "--workspace", workspace)
    assert code == 0 and f"wrote {out_file}" in out
    with open(out_file, encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle))[1] == ["Close the gap behind R1", "'=add a shift"]
    before = out_file.read_bytes()
    code, out, err = sop(capsys, "plans", "export", "--cycle", CYCLE, "--table", "decisions",
                         "--out", out_file, "--workspace", workspace)
    assert code == 2 and "Traceback" not in err
    assert f"{out_file} exists already; nothing was written" in err and "--force" in err
    assert out_file.read_bytes() == before
    code, out, _ = sop(capsys, "plans", "export", "--cycle", CYCLE, "--table", "decisions",
                       "--out", out_file, "--force", "--workspace", workspace)
    assert code == 0 and f"wrote {out_file}" in out

    # a second approval supersedes the first; both stay queryable
    code, out, _ = sop(capsys, "approve", "--cycle", CYCLE, "--by", "Bo",
                       "--workspace", workspace)
    assert code == 0 and "it supersedes version 1 as the plan of record" in out
    code, out, _ = sop(capsys, "plans", "list", "--cycle", CYCLE, "--workspace", workspace)
    assert re.search(r"2026-11\s+1\s+superseded by v2 ", out)
    assert re.search(r"2026-11\s+2\s+approved ", out)


@pytest.mark.parametrize("args, message", [
    (["plans", "show", "--cycle", "2026-12"],
     r"sop plans: cycle 2026-12 has no plan version in the store .*plans\.db "
     r"\(versions exist for 2026-11\); a successful `sop cycle` records one"),
    (["plans", "show", "--cycle", CYCLE, "--version", "5"],
     r"sop plans: cycle 2026-11 has no version 5; its versions are 1, 2"),
    (["plans", "export", "--cycle", CYCLE, "--out", "x.xlsx"],
     r"sop plans: cycle 2026-11 has no approved version; only approved plans are exported "
     r"\(sop approve --cycle 2026-11 --by NAME \[--version N\]\)"),
    (["approve", "--cycle", "2026-13", "--by", "Ann"],
     r"sop approve: cycle: month 13 out of range 1-12 in '2026-13'"),
    (["plans", "list", "--store", "postgresql://u@127.0.0.1:9/x?connect_timeout=3"],
     r"sop plans: cannot open the plan store postgresql://u@127.0.0.1:9/x\?connect_timeout=3 "
     r"\(from --store\): .*"),
    (["plans", "list", "--store", "oracle://u@h/x"],
     r"sop plans: plan store URL oracle://u@h/x \(from --store\): sopkit keeps the plan of "
     r"record in SQLite or PostgreSQL, not 'oracle'"),
])
def test_errors_are_one_line_with_a_non_zero_exit(workspace, capsys, args, message):
    code, _, err = sop(capsys, *args, "--workspace", workspace)
    assert code in (2, 6)
    assert re.fullmatch(message + r"\n", err), err
    assert "Traceback" not in err


def test_approving_twice_fails_and_keeps_the_first(workspace, capsys):
    assert sop(capsys, "approve", "--cycle", CYCLE, "--by", "Ann", "--version", "1",
               "--workspace", workspace)[0] == 0
    code, _, err = sop(capsys, "approve", "--cycle", CYCLE, "--by", "Mallory", "--version", "1",
                       "--workspace", workspace)
    assert code == 6
    assert err.startswith("sop approve: version 1 of cycle 2026-11 is already approved (by Ann ")
    with open_store(workspace=workspace) as store:
        assert store.get(CYCLE, 1).approved_by == "Ann"


def test_store_from_environment_and_parameters(workspace, capsys, tmp_path, monkeypatch):
    other = tmp_path / "elsewhere.db"
    params = tmp_path / "cycle.yaml"
    params.write_text(f"store_url: sqlite:///{other}\n", encoding="utf-8")
    code, out, _ = sop(capsys, "plans", "list", "--params", params, "--workspace", workspace)
    assert code == 0 and out.strip() == "(no plan version recorded)" and other.is_file()
    monkeypatch.setenv(ENV_VAR, f"sqlite:///{workspace / 'plans.db'}")  # overrides the file
    code, out, _ = sop(capsys, "plans", "list", "--params", params, "--workspace", tmp_path)
    assert code == 0 and "20261121-090000" in out

    monkeypatch.delenv(ENV_VAR)
    params.write_text("store_url: postgresql://planner:secret@db/sop\n", encoding="utf-8")
    code, _, err = sop(capsys, "plans", "list", "--params", params, "--workspace", workspace)
    assert code == 2
    assert err == (f"sop plans: {params}: store_url contains a password, and parameters are "
                   f"printed in every report; set {ENV_VAR} instead or use ~/.pgpass\n")


# ------------------------------------------------------------ the cycle index


def test_status_sentences_as_seen_from_a_run(workspace):
    from sopkit.store import approval_status

    def status(stamp):
        with open_store(workspace=workspace) as store:
            return approval_status(store.versions(CYCLE), CYCLE, run_stamp=stamp)

    assert status("20261121-090000") == (
        "Draft version 2, not approved. Approve it with: sop approve --cycle 2026-11 "
        "--by NAME --version 2")
    assert status("20261122-090000") == (
        "No approved plan for cycle 2026-11. This run recorded no plan version: a run is "
        "recorded only when every step finishes.")
    with open_store(workspace=workspace) as store:
        store.approve(CYCLE, by="Ann", note="board 21 Nov", version=1,
                      now=datetime(2026, 11, 21, 16, 30, tzinfo=UTC))
    assert status("20261121-090000") == (
        "Approved: version 1 by Ann on 2026-11-21 16:30 UTC (note: board 21 Nov); this run's "
        "draft is version 2, not approved.")
    assert status("20261120-090000") == (
        "Approved: version 1 by Ann on 2026-11-21 16:30 UTC (note: board 21 Nov); this run's "
        "plan is that version.")
    with open_store(workspace=workspace) as store:
        store.approve(CYCLE, by="Bo", version=2, now=datetime(2026, 11, 22, 8, 0, tzinfo=UTC))
    assert status("20261120-090000") == (
        "Approved: version 2 by Bo on 2026-11-22 08:00 UTC; this run's plan, version 1, was "
        "approved before (version 1 by Ann on 2026-11-21 16:30 UTC (note: board 21 Nov)) and "
        "is superseded by it.")


def _index(reports, run_stamp: str, status: str):
    """The cycle index of a run, as sop cycle writes it (no steps needed for the status)."""
    from sopkit.report import write_index
    from sopkit.runner import CycleResult

    run_dir = reports / CYCLE / run_stamp
    run_dir.mkdir(parents=True)
    result = CycleResult(cycle=CYCLE, run_stamp=run_stamp, steps=[],
                         index=reports / CYCLE / "index.html", run_dir=run_dir, ok=True,
                         started_at=datetime(2026, 11, 21, 9, 0))
    return write_index(result, reports, plan_status=status)


def test_approve_updates_the_latest_index_and_escapes_names(workspace, capsys, tmp_path):
    reports = tmp_path / "reports"
    index = _index(reports, "20261121-090000", "Draft version 2, not approved.")
    before = index.read_text(encoding="utf-8")
    code, out, err = sop(capsys, "approve", "--cycle", CYCLE, "--by",
                         '<script>alert("pwned")</script>', "--note",
                         "ok --> <img src=x onerror=alert(1)>", "--workspace", workspace,
                         "--reports", reports)
    assert code == 0, err
    assert f"report index updated: {index}" in out
    page = index.read_text(encoding="utf-8")
    assert "Draft version 2, not approved." not in page
    assert ("<p>Approved: version 2 by &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; on "
            in page)
    assert "(note: ok --&gt; &lt;img src=x onerror=alert(1)&gt;); this run&#x27;s plan is that " \
           "version.</p>" in page
    assert "<script" not in page and "<img" not in page
    start = before.index("<!-- sop:plan-status -->")
    end = before.index("<!-- /sop:plan-status -->")
    assert page.startswith(before[:start]) and page.endswith(before[end:])
    run_page = (index.parent / "20261121-090000" / "index.html").read_text(encoding="utf-8")
    assert "<p>Approved: version 2 by &lt;script&gt;" in run_page  # the run's own index too

    # approving version 1 later: the page says version 1 is the plan of record now
    code, out, _ = sop(capsys, "approve", "--cycle", CYCLE, "--by", "Bo", "--version", "1",
                       "--workspace", workspace, "--reports", reports)
    assert code == 0
    page = index.read_text(encoding="utf-8")
    assert "<p>Approved: version 1 by Bo on " in page
    assert "this run&#x27;s plan, version 2, was approved before" in page


def test_approve_without_a_report_index_still_approves(workspace, capsys, tmp_path):
    code, out, err = sop(capsys, "approve", "--cycle", CYCLE, "--by", "Ann", "--workspace",
                         workspace, "--reports", tmp_path / "nowhere")
    assert code == 0 and err == ""
    assert f"no report index {tmp_path / 'nowhere' / CYCLE / 'index.html'}" in out


# ------------------------------------------------------------ through sop cycle


def run_sop(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "sopkit", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=900, env=env)


@pytest.mark.slow
def test_cycle_records_drafts_and_a_rerun_never_alters_the_approved_plan(
        tmp_path, sample_dir, monkeypatch):
    """Run the cycle, approve, change the data, run again: the approved numbers stay."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    data = shutil.copytree(sample_dir, tmp_path / "data")
    runs, reports = tmp_path / "runs", tmp_path / "reports"
    common = ["--workspace", runs, "--reports", reports]

    first = run_sop("cycle", "--data", data, *common, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    cycle = re.search(r"^S&OP cycle (\d{4}-\d{2}):", first.stdout, re.M).group(1)
    assert re.search(rf"recorded cycle {cycle} as draft version 1 \(fingerprint [0-9a-f]{{12}}\)",
                     first.stdout), first.stdout
    first_demand = pd.read_csv(runs / cycle / "demand_plan.csv")
    first_decisions = pd.read_csv(runs / cycle / "decisions.csv")
    index = reports / cycle / "index.html"
    assert "<p>Draft version 1, not approved. Approve it with: sop approve" in \
        index.read_text(encoding="utf-8")

    approve = run_sop("approve", "--cycle", cycle, "--by", "Ann Example", "--note", "as agreed",
                      "--workspace", runs, "--reports", reports, cwd=tmp_path)
    assert approve.returncode == 0, approve.stderr
    assert f"report index updated: {index}" in approve.stdout
    assert re.search(r"<p>Approved: version 1 by Ann Example on [0-9-]+ [0-9:]+ UTC \(note: as "
                     r"agreed\); this run&#x27;s plan is that version\.</p>",
                     index.read_text(encoding="utf-8"))

    # new actuals: the last three months' demand doubles
    actuals = pd.read_csv(data / "actuals.csv")
    last = sorted(actuals["period"].unique())[-3:]
    actuals.loc[actuals["period"].isin(last), "qty"] *= 2
    actuals.to_csv(data / "actuals.csv", index=False)
    second = run_sop("cycle", "--data", data, "--cycle", cycle, *common, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert f"recorded cycle {cycle} as draft version 2" in second.stdout
    assert re.search(r"<p>Approved: version 1 by Ann Example on .*; this run&#x27;s draft is "
                     r"version 2, not approved\.</p>", index.read_text(encoding="utf-8"))

    with open_store(workspace=runs) as store:
        listed = store.versions(cycle)
        assert listed["status"].tolist() == ["approved", "draft"]
        assert listed["approved_by"].iloc[0] == "Ann Example"
        assert listed["data_fingerprint"].iloc[0] != listed["data_fingerprint"].iloc[1]
        approved, rerun = store.plan(cycle), store.plan(cycle, 2)
    assert approved.version.version == 1
    # the approved numbers are exactly the first run's, not the rerun's
    assert approved.demand["qty_consensus"].tolist() == first_demand["qty_consensus"].tolist()
    assert approved.decisions["recommendation"].tolist() == \
        first_decisions["recommendation"].tolist()
    rerun_demand = pd.read_csv(runs / cycle / "demand_plan.csv")
    assert rerun.demand["qty_consensus"].tolist() == rerun_demand["qty_consensus"].tolist()
    assert rerun_demand["qty_consensus"].sum() > first_demand["qty_consensus"].sum()

    # the executive page of the rerun shows the approval
    pages = sorted((reports / cycle).glob("*/05_executive_review.html"))
    assert len(pages) == 2
    html = pages[-1].read_text(encoding="utf-8")
    assert f"Plan of record for {cycle}: version 1, approved by Ann Example" in html
    assert "Plan versions of cycle" in html


def test_cycle_with_an_unreachable_store_stops_before_running(tmp_path, sample_dir):
    env = {**os.environ, ENV_VAR: "postgresql://sopkit@127.0.0.1:9/sop?connect_timeout=3"}
    proc = run_sop("cycle", "--data", sample_dir, "--workspace", tmp_path / "runs",
                   "--reports", tmp_path / "reports", cwd=tmp_path, env=env)
    assert proc.returncode == 6
    assert proc.stderr.startswith("sop cycle: cannot open the plan store "
                                  "postgresql://sopkit@127.0.0.1:9/sop?connect_timeout=3 "
                                  f"(from {ENV_VAR}): ")
    assert "[1/5]" not in proc.stdout and not (tmp_path / "reports").exists()
    assert not (tmp_path / "runs").exists()


def _two_drafts(tmp_path, monkeypatch, first: list[str], second: list[str]):
    """A workspace whose store holds two drafts of 2026-11, their decisions' recommendations
    for the plan of record and one prepared decision as given."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "runs"
    with open_store(workspace=folder) as store:
        for stamp, recommendations in (("20261120-090000", first), ("20261121-090000", second)):
            recorded = tables()
            recorded["decisions"] = pd.DataFrame({
                "decision": ["Which plan becomes the plan of record", "Board shortage"],
                "recommendation": recommendations})
            store.record(CYCLE, recorded, run_stamp=stamp, now=T0)
    return folder


def test_approve_says_when_the_version_does_not_hold_the_recommended_plan(
        tmp_path, monkeypatch, capsys):
    folder = _two_drafts(tmp_path, monkeypatch, ["Second source", "Second source"],
                         ["Baseline", "Keep the plan as it stands"])
    code, out, _ = sop(capsys, "approve", "--cycle", CYCLE, "--by", "Ann", "--version", "1",
                       "--workspace", folder)
    assert code == 0
    assert ("note: this version holds the plan as it stands (the Baseline); its executive "
            "review recommended 'Second source', which it does not contain. To approve a plan "
            "with it, add it to 'adopted' in the cycle parameters") in out
    code, out, _ = sop(capsys, "approve", "--cycle", CYCLE, "--by", "Ann", "--version", "2",
                       "--workspace", folder)
    assert code == 0 and "recommended" not in out


def test_approve_points_to_the_version_that_adopted_the_recommendation(
        tmp_path, monkeypatch, capsys):
    folder = _two_drafts(tmp_path, monkeypatch, ["Second source", "Second source"],
                         ["Baseline", "adopted: Second source"])
    code, out, _ = sop(capsys, "approve", "--cycle", CYCLE, "--by", "Ann", "--version", "1",
                       "--workspace", folder)
    assert code == 0
    assert ("which it does not contain. Version 2 holds it (its run adopted it): approve that "
            "one with --version 2\n") in out


def test_plans_list_after_approving_a_later_version_while_an_earlier_is_a_draft(
        workspace, capsys):
    # version 2 approved, version 1 still a draft: the draft's approval time is pandas' NaT,
    # which once crashed the listing (and every later cycle's executive review)
    code, _, _ = sop(capsys, "approve", "--cycle", CYCLE, "--by", "Ann", "--version", "2",
                     "--workspace", workspace)
    assert code == 0
    code, out, err = sop(capsys, "plans", "list", "--workspace", workspace)
    assert code == 0, err
    assert re.search(r"2026-11\s+1\s+draft", out) and re.search(r"2026-11\s+2\s+approved", out)
    from sopkit.store import history_table

    with open_store(workspace=workspace) as store:
        table = history_table(store.versions(CYCLE)).set_index("version")
    assert table.loc[1, "approved at"] == "" and table.loc[2, "approved at"].endswith(" UTC")
