"""End to end: `sop cycle` on a small sample company, as a planner runs it.

Runs the real console command in a subprocess (papermill, five kernels,
nbconvert), then reads the reports as a reviewer would: every step is linked,
no code and no traceback is shown, the header says what was run on what, user
text is escaped, and a real browser finds no errors or broken images.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from browser_check import check_reports_in_browser, require_chromium

from sopkit import __version__
from sopkit.workspace import OUTPUTS, STEP_TITLES, STEPS

pytestmark = pytest.mark.slow


def sop(*args, cwd):
    return subprocess.run([sys.executable, "-m", "sopkit", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def cycle_run(tmp_path_factory, sample_dir):
    root = tmp_path_factory.mktemp("cycle")
    proc = sop("cycle", "--data", sample_dir, "--workspace", root / "runs",
               "--reports", root / "reports", cwd=root)
    return root, proc


def test_cycle_succeeds_and_prints_the_index(cycle_run):
    root, proc = cycle_run
    assert proc.returncode == 0, proc.stderr
    match = re.search(r"^report: (.+index\.html)$", proc.stdout, re.M)
    assert match, proc.stdout
    assert Path(match.group(1)) == (root / "reports" / "2026-11" / "index.html").resolve()
    for i, step in enumerate(STEPS, start=1):
        assert f"[{i}/5] {step} ... ok" in proc.stdout


def test_every_step_wrote_its_outputs(cycle_run):
    root, _ = cycle_run
    workspace = root / "runs" / "2026-11"
    for name in OUTPUTS.values():
        assert (workspace / name).is_file(), name
    assert (workspace / "summary.html").is_file()


def test_the_demand_plan_is_handed_on_in_thousandths_of_a_unit(cycle_run):
    """Supply plans from the rounded plan, so every machine plans the same (round_plan)."""
    root, _ = cycle_run
    plan = pd.read_csv(root / "runs" / "2026-11" / "demand_plan.csv")
    quantities = plan.filter(like="qty_").to_numpy(float)
    assert quantities.size and np.nanmax(np.abs(quantities)) > 0
    np.testing.assert_allclose(quantities * 1000, np.round(quantities * 1000), atol=1e-6)
    parts = plan[["qty_stat_unannounced", "qty_pipeline", "qty_adjustment", "qty_promo"]]
    np.testing.assert_allclose(plan["qty_consensus"], parts.sum(axis=1).clip(lower=0), atol=1e-9)


def test_an_adopted_option_is_in_the_plan_the_run_records(cycle_run, sample_dir, tmp_path):
    """The executive review adopts an option; the next run plans it and records that plan."""
    from sopkit.store import open_store
    from sopkit.workspace import project_root

    root, first = cycle_run
    assert first.returncode == 0, first.stderr
    resource = str(pd.read_csv(sample_dir / "resources.csv")["resource"].iloc[0])
    # the run above used the project's parameters: the same, with one option adopted
    settings = yaml.safe_load((project_root() / "params" / "cycle.yaml").read_text("utf-8"))
    settings["scenarios"] = [
        {"name": "Halve and double", "decision": "Test decision", "cost": 1000,
         "demand": [{"scope": "all", "factor": 0.5}],
         "capacity": [{"resource": resource, "factor": 2.0}]},
        {"name": "Keep the line", "decision": "Test decision",
         "capacity": [{"resource": resource, "factor": 1.0}]}]
    settings["adopted"] = ["Halve and double"]
    params = tmp_path / "cycle.yaml"
    params.write_text(yaml.safe_dump(settings), encoding="utf-8")
    proc = sop("cycle", "--data", sample_dir, "--workspace", tmp_path / "runs", "--reports",
               tmp_path / "reports", "--params", params, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    before = pd.read_csv(root / "runs" / "2026-11" / "demand_plan.csv")
    after = pd.read_csv(tmp_path / "runs" / "2026-11" / "demand_plan.csv")
    # the demand review halved the consensus (to the thousandth it is handed on in)
    np.testing.assert_allclose(after["qty_consensus"], before["qty_consensus"] * 0.5, atol=1e-3)
    # the supply review planned the doubled line
    load = pd.read_csv(tmp_path / "runs" / "2026-11" / "resource_load.csv")
    rated = float(pd.read_csv(sample_dir / "resources.csv").set_index("resource")
                  .loc[resource, "capacity_hours"])
    assert load.loc[load["resource"] == resource, "capacity_hours"].eq(2 * rated).all()
    # the decision is taken: listed as adopted, its other option not priced
    decisions = pd.read_csv(tmp_path / "runs" / "2026-11" / "decisions.csv")
    taken = decisions[decisions["decision"] == "Test decision"]
    assert taken["recommendation"].tolist() == ["adopted: Halve and double"]
    scenarios = pd.read_csv(tmp_path / "runs" / "2026-11" / "scenarios.csv")
    assert "Keep the line" not in scenarios["scenario"].tolist()
    # and the draft the run recorded is that plan
    with open_store(workspace=tmp_path / "runs") as store:
        recorded = store.plan("2026-11")
    np.testing.assert_allclose(recorded.demand["qty_consensus"].astype(float),
                               after["qty_consensus"], atol=1e-9)


def test_index_links_five_readable_step_reports(cycle_run):
    root, _ = cycle_run
    index = (root / "reports" / "2026-11" / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]+\.html)"', index)
    for step in STEPS:
        target = next(link for link in links if link.endswith(f"{step}.html"))
        page = (root / "reports" / "2026-11" / target).read_text(encoding="utf-8")
        assert STEP_TITLES[step] in page
        assert "Traceback" not in page and "Error in this step" not in page
        # no code: neither notebook source nor input prompts
        assert "open_step(" not in page and "import " not in page
        assert "In&nbsp;[" not in page and "jp-InputPrompt" not in page
        assert 'class="highlight' not in page  # pygments-highlighted source
        # the header: cycle, fingerprint, version
        assert "2026-11" in page and __version__ in page
        assert re.search(r"[0-9a-f]{16}", page)
        assert "<script" not in page.lower()
    assert "Scorecard" in index  # the executive summary is embedded
    # ... on one page: decisions, top risks, the locked horizon and the 24-month outlook
    for caption in ("Decisions requested", "Top risks", "Locked horizon",
                    "24-month capacity outlook"):
        assert caption in index, caption
    assert "CMP-001" in index and "all families" in index


def test_index_states_the_plan_of_record_and_the_scorecard_has_schedule_adherence(cycle_run):
    root, proc = cycle_run
    cycle_reports = root / "reports" / "2026-11"
    index = (cycle_reports / "index.html").read_text(encoding="utf-8")
    assert "recorded cycle 2026-11 as draft version 1" in proc.stdout
    assert ("<h2>Plan of record</h2><p>Draft version 1, not approved. Approve it with: "
            "sop approve --cycle 2026-11 --by NAME --version 1</p>") in index
    assert re.search(r"Schedule adherence · (green|amber|red)", index)  # the summary tiles
    executive = next(cycle_reports.glob("*/05_executive_review.html")).read_text(encoding="utf-8")
    assert re.search(r"Schedule adherence</td>\s*<td[^>]*>\d+\.\d%</td>", executive)
    assert "over 2026-08 to 2026-10" in executive
    demand = next(cycle_reports.glob("*/02_demand_review.html")).read_text(encoding="utf-8")
    # the backfilled cycles recorded their open deals: the pipeline's FVA per deal owner shows
    table = demand[demand.index("Did the pipeline help? Each deal owner"):]
    table = table[:table.index("</table>")]
    assert ">deal lines</th>" in table  # n_deal_lines, as a heading
    assert re.search(r"<td[^>]*>Omar Haddad</td>\s*<td[^>]*>\d+</td>", table)
    # the calibration curve's bands: one row per band of stated probability, 90 % interval
    bands = demand[demand.index("Past deals by stated probability"):]
    bands = bands[:bands.index("</table>")]
    assert re.search(r"<td[^>]*>80–90 %</td>\s*<td[^>]*>\d+</td>", bands)
    # phase-outs: the product review's run-out beside the plan's, per product
    runout = demand[demand.index("units still to make: product review against the consensus"):]
    runout = runout[:runout.index("</table>")]
    assert ">qty demand to end of life plan</th>" in runout
    assert re.search(r"<td[^>]*>[A-Z]{3}-\d{4}</td>", runout)
    supply = next(cycle_reports.glob("*/03_supply_review.html")).read_text(encoding="utf-8")
    assert "Schedule adherence by resource, last 3 closed months" in supply
    assert re.search(r"<td[^>]*>MCH-1</td>", supply)
    # the LP's shadow prices carry the tier penalties (millions per unit): not shown as money
    assert ">shadow price</th>" not in supply and "are not cash" in supply


def test_user_text_is_escaped(cycle_run):
    root, _ = cycle_run
    page = next((root / "reports" / "2026-11").glob("*/02_demand_review.html"))
    html = page.read_text(encoding="utf-8")
    assert re.search(r"&lt;script&gt;alert\((&#x27;|')x(&#x27;|')\)&lt;/script&gt;", html)
    assert "<script>alert" not in html


def test_reports_in_a_real_browser(cycle_run):
    require_chromium()
    root, _ = cycle_run
    problems = check_reports_in_browser(root / "reports" / "2026-11" / "index.html",
                                        expected_links=5)
    assert problems == []


def test_failing_step_is_named_and_stops_the_cycle(tmp_path, sample_dir):
    # parameters are checked before any step runs (tests/test_cli.py), so the step is made
    # to fail where it writes: a folder stands where its output file belongs
    (tmp_path / "runs" / "2026-11" / "scenarios.csv").mkdir(parents=True)
    proc = sop("cycle", "--data", sample_dir, "--workspace",
               tmp_path / "runs", "--reports", tmp_path / "reports", cwd=tmp_path)
    assert proc.returncode == 5
    assert "Traceback" not in proc.stdout + proc.stderr
    assert re.search(r"step 04_reconciliation failed, cell \d+: IsADirectoryError: .*scenarios.csv",
                     proc.stderr)
    assert "[5/5] 05_executive_review ... skipped" in proc.stdout
    failed = next((tmp_path / "reports" / "2026-11").glob("*/04_reconciliation.html"))
    assert "scenarios.csv" in failed.read_text(encoding="utf-8")
    index = (tmp_path / "reports" / "2026-11" / "index.html").read_text(encoding="utf-8")
    assert ("No approved plan for cycle 2026-11. This run recorded no plan version: a run is "
            "recorded only when every step finishes.") in index
