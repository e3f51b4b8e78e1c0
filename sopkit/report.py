"""HTML reports for reviewers: one page per executed step and an index per cycle.

Reviewers read these pages in a browser and never see code, so a step report
holds the notebook's markdown and outputs only: no code cells, no prompts, no
stderr warnings, no traceback frames. A failed cell shows one readable box,
"Error in this step: <name>: <message>".

Reports open offline. The page has no ``<script>`` at all, inlines its CSS,
and embeds plots as ``data:`` images; JavaScript and widget outputs are
replaced by their plain-text fallback, and as a last guard any ``<script>``,
``<link>``, ``@import`` or ``src=`` that would fetch from the network is
removed from the page.

Layout (see :mod:`sopkit.workspace`)::

    reports/<cycle>/index.html                 latest run's index + previous runs
    reports/<cycle>/<run_stamp>/index.html     this run's index
    reports/<cycle>/<run_stamp>/<step>.html    one page per step
    reports/<cycle>/<run_stamp>/run.json       steps, statuses and timings

The index states the run's plan-of-record status (draft or approved, by whom,
when) in a block between ``<!-- sop:plan-status -->`` and
``<!-- /sop:plan-status -->``; ``sop approve`` replaces that block on the
cycle's latest index (:func:`refresh_plan_status`) and leaves the rest of the
page as it was.
"""

from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from sopkit import __version__
from sopkit.workspace import STEP_TITLES

if TYPE_CHECKING:
    from sopkit.runner import CycleResult

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSS_PATH = TEMPLATES / "report.css"

# Cells tagged with one of these never reach a report (e.g. instructions for
# JupyterLab users); outputs of cells tagged ``remove-output`` are dropped too.
REMOVE_CELL_TAGS = ("remove-cell", "remove_cell", "hide")
REMOVE_OUTPUT_TAGS = ("remove-output", "remove_output", "hide-output")
PAPERMILL_MARKER_TAG = "papermill-error-cell-tag"
PAPERMILL_PARAMETERS_TAG = "injected-parameters"
JAVASCRIPT_MIMETYPES = ("application/javascript", "text/javascript")
DROPPED_MIMETYPES = (
    *JAVASCRIPT_MIMETYPES,
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
)

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes (IPython colours its error messages)."""
    return ANSI_RE.sub("", text or "")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


# --------------------------------------------------------------------- header


@dataclass
class ReportHeader:
    """What the top of every report says.

    Attributes
    ----------
    cycle : str
        The cycle month ``YYYY-MM``.
    title : str
        The step's title, e.g. "Demand review".
    run_at : datetime
        When the run started.
    parameters : mapping
        The parameters the step received, shown as a small table.
    fingerprint : str
        Fingerprint of the input data (blank if unknown).
    version : str
        The sopkit version that produced the report.
    """

    cycle: str
    title: str
    run_at: datetime
    parameters: Mapping[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    version: str = __version__

    @property
    def page_title(self) -> str:
        return f"S&OP {self.cycle} — {self.title}"

    def to_html(self, *, nav: bool = True) -> str:
        """The header as escaped HTML; ``nav``: a step page's header, with a link
        back to the run's index (the step pages sit next to it); without it,
        the index's own header (its parameters are the whole run's)."""
        rows = [
            ("Cycle", self.cycle),
            ("Run", self.run_at.strftime("%Y-%m-%d %H:%M:%S")),
            ("Data fingerprint", self.fingerprint or "not recorded"),
            ("sopkit version", self.version),
        ]
        meta = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
        if self.parameters:
            params = "".join(
                f"<tr><th>{_esc(k)}</th><td>{_esc(_param_text(v))}</td></tr>"
                for k, v in self.parameters.items()
            )
            # folded: what an analyst checks, not what a reviewer reads first
            meta += (
                f"<tr><th>Parameters</th><td><details><summary>{len(self.parameters)} "
                f"parameter{'s' if len(self.parameters) != 1 else ''} of this "
                f"{'step' if nav else 'run'}</summary>"
                f'<table class="sop-meta sop-params">{params}</table></details></td></tr>'
            )
        back = ('<nav class="sop-nav"><a href="index.html">← All steps of this run</a></nav>'
                if nav else "")
        return (
            f'<header class="sop-header">{back}'
            f'<div class="sop-kicker">S&amp;OP cycle {_esc(self.cycle)}</div>'
            f"<h1>{_esc(self.title)}</h1>"
            f'<table class="sop-meta">{meta}</table>'
            "</header>"
        )


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value if value else "(blank)"
    return json.dumps(value, default=str) if isinstance(value, list | dict) else str(value)


# ----------------------------------------------------------------- step pages


def error_box(ename: str, evalue: str) -> str:
    """The box a reviewer sees where a step failed (escaped, no traceback)."""
    message = strip_ansi(evalue).strip()
    text = f"{strip_ansi(ename)}: {message}" if message else strip_ansi(ename)
    return (
        f'<div class="sop-error" role="alert"><strong>Error in this step:</strong> '
        f"{_esc(text)}</div>"
    )


def _keep_output(output) -> bool:
    if output.get("output_type") == "stream":
        return output.get("name") != "stderr"
    return True


def prepare_for_reviewers(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list]:
    """A copy of an executed notebook fit for a report, and the errors it holds.

    Drops papermill's error marker cells, cells tagged ``remove-cell``, code
    cells left without output, stderr streams, JavaScript outputs and widget
    views (keeping a widget's text fallback), ``<script>`` inside HTML outputs,
    and replaces each error output with an escaped error box.

    Returns
    -------
    notebook : NotebookNode
    errors : list of (ename, evalue)
    """
    nb = copy.deepcopy(nb)
    errors: list[tuple[str, str]] = []
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & {PAPERMILL_MARKER_TAG, *REMOVE_CELL_TAGS}:
            continue
        if cell.cell_type == "code":
            if tags & set(REMOVE_OUTPUT_TAGS):
                cell.outputs = []
            outputs = []
            for output in cell.get("outputs", []):
                if not _keep_output(output):
                    continue
                if output.get("output_type") == "error":
                    ename, evalue = output.get("ename", "Error"), output.get("evalue", "")
                    errors.append((strip_ansi(ename), strip_ansi(evalue)))
                    outputs.append(
                        nbformat.v4.new_output(
                            "display_data",
                            data={
                                "text/html": error_box(ename, evalue),
                                "text/plain": f"{ename}: {evalue}",
                            },
                        )
                    )
                    continue
                if "data" in output:
                    if any(m in output["data"] for m in JAVASCRIPT_MIMETYPES):
                        continue  # its text fallback is only "<...Javascript object>"
                    for mimetype in DROPPED_MIMETYPES:
                        output["data"].pop(mimetype, None)
                    if not output["data"]:
                        continue
                    if "text/html" in output["data"]:
                        output["data"]["text/html"] = _strip_scripts(
                            _as_text(output["data"]["text/html"])
                        )
                outputs.append(output)
            cell.outputs = outputs
            if not outputs:
                continue  # an empty block would only add space
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb, errors


def _as_text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


SCRIPT_RE = re.compile(r"<script\b.*?</script\s*>|<script\b[^>]*/?>", re.IGNORECASE | re.DOTALL)
LINK_RE = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
IMPORT_RE = re.compile(r"""@import\s+(?:url\(|["'])[^;]*;?""", re.IGNORECASE)
REMOTE_ATTR_RE = re.compile(
    r"""(?P<attr>\b(?:src|srcset|data|poster|background|xlink:href)\s*=\s*["']?\s*)"""
    r"""(?=(?:https?:)?//)""",
    re.IGNORECASE,
)
REMOTE_IMG_RE = re.compile(
    r"""<img\b[^>]*\ssrc\s*=\s*["']?\s*(?:https?:)?//[^>]*>""", re.IGNORECASE
)
REMOTE_URL_RE = re.compile(r"""url\(\s*["']?(?:https?:)?//[^)]*\)""", re.IGNORECASE)


def _strip_scripts(text: str) -> str:
    return SCRIPT_RE.sub("", text)


def make_offline(page: str) -> str:
    """``page`` with nothing that a browser would run or fetch from the network.

    Removes ``<script>`` and ``<link>`` elements and CSS ``@import``; replaces
    remote images by a short note; turns other remote ``src=``-like attributes
    into inert ``data-blocked-…`` attributes and remote CSS ``url(...)`` into
    nothing. Plain ``<a href>`` links are kept.
    """
    page = _strip_scripts(page)
    page = LINK_RE.sub("", page)
    page = IMPORT_RE.sub("", page)
    page = REMOTE_IMG_RE.sub(
        '<span class="sop-footnote">[external image left out: this report opens offline]</span>',
        page,
    )
    page = REMOTE_ATTR_RE.sub(lambda m: "data-blocked-" + m.group("attr").lstrip(), page)
    return REMOTE_URL_RE.sub("none", page)


def _exporter():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        template_file=str(TEMPLATES / "report.html.j2"),
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
        embed_images=True,
    )
    return exporter


def render_notebook(
    nb: nbformat.NotebookNode, *, header: ReportHeader, resources_dir: Path | None = None
) -> str:
    """The reviewer page of an executed notebook, as a string."""
    nb, errors = prepare_for_reviewers(nb)
    header_html = header.to_html()
    if errors:
        ename, evalue = errors[0]
        header_html += (
            '<div class="sop-error" role="alert"><strong>This step did not finish.</strong> '
            f"{_esc(ename)}: {_esc(evalue.strip())}\nThe results below stop where the "
            "error happened; the steps after it were not run.</div>"
        )
    resources = {
        "metadata": {
            "name": header.page_title,
            "path": str(resources_dir) if resources_dir else "",
        },
        "sopkit": {"title": header.page_title, "css": _css(), "header_html": header_html},
    }
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    return make_offline(body)


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # a reviewer never opens half a page
    return path


def export_step_html(
    executed_notebook: str | Path, out_path: str | Path, *, header: ReportHeader
) -> Path:
    """Export an executed step notebook as a reviewer page (no code, offline).

    Parameters
    ----------
    executed_notebook : path
        The notebook written by papermill.
    out_path : path
        The HTML file to write; its folder is created.
    header : ReportHeader
        Shown at the top of the page.

    Returns
    -------
    Path
        ``out_path``.
    """
    executed_notebook = Path(executed_notebook)
    nb = nbformat.read(executed_notebook, as_version=4)
    page = render_notebook(nb, header=header, resources_dir=executed_notebook.parent)
    return _write_text(Path(out_path), page)


def export_error_html(
    out_path: str | Path, *, header: ReportHeader, ename: str, evalue: str
) -> Path:
    """A page for a step that failed before any notebook could be saved."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(
        nbformat.v4.new_code_cell(
            outputs=[nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])]
        )
    )
    return _write_text(Path(out_path), render_notebook(nb, header=header))


# ---------------------------------------------------------------------- index


RUN_FILE = "run.json"


def _stamp_text(run_stamp: str) -> str:
    try:
        return datetime.strptime(run_stamp[:15], "%Y%m%d-%H%M%S").strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return run_stamp


def _steps_table(result: CycleResult, link_prefix: str) -> str:
    rows = []
    for number, step in enumerate(result.steps, start=1):
        title = STEP_TITLES.get(step.step, step.step)
        if step.report is not None:
            href = link_prefix + Path(step.report).name
            name = f'<a href="{_esc(href)}">{_esc(title)}</a>'
        else:
            name = _esc(title)
        seconds = "" if step.status == "skipped" else f"{step.seconds:,.1f} s"
        problem = ""
        if step.error is not None:
            problem = f"{step.error.ename}: {step.error.evalue}"
        rows.append(
            f'<tr><td class="num">{number}</td><td>{name}</td>'
            f"<td><code>{_esc(step.step)}</code></td>"
            f'<td><span class="sop-status sop-status-{_esc(step.status)}">{_esc(step.status)}'
            f'</span></td><td class="num">{_esc(seconds)}</td><td>{_esc(problem)}</td></tr>'
        )
    return (
        '<table class="sop-steps"><thead><tr><th>#</th><th>Step</th><th>Notebook</th>'
        "<th>Status</th><th>Time</th><th>Problem</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _previous_runs(cycle_reports: Path, current: str) -> str:
    runs = sorted(
        (
            p
            for p in cycle_reports.iterdir()
            if p.is_dir() and p.name != current and (p / "index.html").is_file()
        ),
        key=lambda p: p.name,
        reverse=True,
    )
    if not runs:
        return "<h2>Previous runs</h2><p>None: this is the first run of the cycle.</p>"
    items = []
    for run in runs:
        status = ""
        try:
            info = json.loads((run / RUN_FILE).read_text(encoding="utf-8"))
            status = "ok" if info.get("ok") else "failed"
        except (OSError, ValueError):
            pass
        badge = f' <span class="sop-status sop-status-{status}">{status}</span>' if status else ""
        items.append(
            f'<li><a href="{_esc(run.name)}/index.html">{_esc(_stamp_text(run.name))}'
            f"</a>{badge}</li>"
        )
    return '<h2>Previous runs</h2><ul class="sop-runs">' + "".join(items) + "</ul>"


PLAN_STATUS_START = "<!-- sop:plan-status -->"
PLAN_STATUS_END = "<!-- /sop:plan-status -->"
NO_STORE_STATUS = ("Plan-of-record status unknown: this run was not recorded in a plan store "
                   "(it was run without one, e.g. through sopkit.runner.run_cycle without "
                   "store=).")
_PLAN_STATUS_RE = re.compile(re.escape(PLAN_STATUS_START) + ".*?" + re.escape(PLAN_STATUS_END),
                             re.DOTALL)
_RUN_STAMP = r"[0-9]{8}-[0-9]{6}(?:-[0-9]+)?"  # a run folder's name (sopkit.runner)
_STAMP_RE = re.compile(rf'class="sop-plan-status" data-run-stamp="({_RUN_STAMP})"')
_LATEST_RUN_RE = re.compile(rf'<p>Latest run: <a href="({_RUN_STAMP})/index\.html">')


def plan_status_html(text: str, *, run_stamp: str, as_of: datetime | None = None) -> str:
    """The escaped plan-of-record block of a cycle index, between its two markers.

    Parameters
    ----------
    text : str
        The status sentence (:func:`sopkit.store.approval_status` with
        ``run_stamp``, or why the status is unknown).
    run_stamp : str
        The run the index shows; kept on the block so that ``sop approve``
        can tell which run's draft the page talks about.
    as_of : datetime, optional
        When the status was read (default: now), shown in UTC.
    """
    when = (as_of or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f'{PLAN_STATUS_START}<section class="sop-plan-status" data-run-stamp="{_esc(run_stamp)}">'
        f"<h2>Plan of record</h2><p>{_esc(text)}</p>"
        f'<p class="sop-footnote">Status as of {_esc(when)}; sop approve updates it here.</p>'
        f"</section>{PLAN_STATUS_END}"
    )


def _index_page(
    result: CycleResult, *, link_prefix: str, summary_html: str | None, previous: str,
    plan_status: str = "",
) -> str:
    header = ReportHeader(
        cycle=result.cycle,
        title="Cycle index",
        run_at=result.started_at or datetime.strptime(result.run_stamp[:15], "%Y%m%d-%H%M%S"),
        parameters=result.parameters,
        fingerprint=result.fingerprint,
    )
    if result.ok:
        outcome = "<p>All steps finished.</p>"
    else:
        failed = next((s for s in result.steps if s.status == "failed"), None)
        outcome = (
            '<div class="sop-error" role="alert"><strong>This run did not finish.'
            "</strong> "
            + (
                f"Step {_esc(STEP_TITLES.get(failed.step, failed.step))} failed; the "
                "steps after it were skipped."
                if failed
                else ""
            )
            + "</div>"
        )
    where = ""
    if link_prefix:
        where = (
            f'<p>Latest run: <a href="{_esc(link_prefix)}index.html">'
            f"{_esc(_stamp_text(result.run_stamp))}</a>.</p>"
        )
    summary = (
        f'<section class="sop-summary"><h2>Summary</h2>{summary_html}</section>'
        if summary_html
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">'
        f"<title>{_esc(header.page_title)}</title><style>{_css()}</style></head>"
        f"<body><main>{header.to_html(nav=False)}{where}{outcome}{plan_status}{summary}"
        f"<h2>Steps</h2>{_steps_table(result, link_prefix)}{previous}</main></body></html>\n"
    )


def write_index(
    result: CycleResult, reports_dir: str | Path | None = None, *, summary_html: str | None = None,
    plan_status: str | None = None,
) -> Path:
    """Write the run's index and make it the cycle's latest index.

    Writes ``<reports>/<cycle>/<run_stamp>/index.html`` (and ``run.json``),
    then ``<reports>/<cycle>/index.html``: the same page with its links pointing
    into ``<run_stamp>/`` and a list of the previous runs, newest first. Older
    run folders are left untouched.

    Parameters
    ----------
    result : CycleResult
        The run (its steps, statuses, timings and report paths).
    reports_dir : path, optional
        The reports root; defaults to the one ``result.run_dir`` lives in.
    summary_html : str, optional
        An HTML fragment shown as the run's summary (e.g. KPI tiles written
        by the executive step). It is embedded as is, so it must already be
        safe: build it with :mod:`sopkit.display`, which escapes.
    plan_status : str, optional
        The plan-of-record status sentence of the run (plain text, escaped
        here); default: that the run was not recorded in a plan store.

    Returns
    -------
    Path
        ``<reports>/<cycle>/index.html``.
    """
    status = plan_status_html(plan_status or NO_STORE_STATUS, run_stamp=result.run_stamp)
    if reports_dir is None:
        cycle_reports = Path(result.run_dir).parent
    else:
        cycle_reports = Path(reports_dir) / result.cycle
    run_dir = cycle_reports / result.run_stamp
    run_dir.mkdir(parents=True, exist_ok=True)
    info = {
        "cycle": result.cycle,
        "run_stamp": result.run_stamp,
        "ok": result.ok,
        "steps": [
            {
                "step": s.step,
                "status": s.status,
                "seconds": round(s.seconds, 3),
                "report": Path(s.report).name if s.report else None,
            }
            for s in result.steps
        ],
    }
    _write_text(run_dir / RUN_FILE, json.dumps(info, indent=2) + "\n")
    _write_text(
        run_dir / "index.html",
        _index_page(result, link_prefix="", summary_html=summary_html, previous="",
                    plan_status=status),
    )
    latest = _index_page(
        result,
        link_prefix=f"{result.run_stamp}/",
        summary_html=summary_html,
        previous=_previous_runs(cycle_reports, result.run_stamp),
        plan_status=status,
    )
    return _write_text(cycle_reports / "index.html", latest)


def latest_run_stamp(cycle_reports: str | Path) -> str | None:
    """The run that ``<cycle_reports>/index.html`` shows, or ``None`` without that page.

    Read from the page's plan-of-record block, else (a page written before
    the block existed) from its "Latest run" link.
    """
    path = Path(cycle_reports) / "index.html"
    if not path.is_file():
        return None
    page = path.read_text(encoding="utf-8")
    found = _STAMP_RE.search(page) or _LATEST_RUN_RE.search(page)
    return html.unescape(found.group(1)) if found else None


def replace_plan_status(page: str, block: str) -> str | None:
    """``page`` with its plan-of-record block replaced by ``block``.

    A page without the block (written before it existed) gets it right after
    its header. Returns ``None`` when the page has no single, well-formed
    block and no header to put one after: it is left as it is.
    """
    starts, ends = page.count(PLAN_STATUS_START), page.count(PLAN_STATUS_END)
    if starts == ends == 1 and page.index(PLAN_STATUS_START) < page.index(PLAN_STATUS_END):
        return _PLAN_STATUS_RE.sub(lambda _: block, page, count=1)
    if starts == ends == 0 and page.count("</header>") == 1:
        return page.replace("</header>", "</header>" + block, 1)
    return None


def refresh_plan_status(
    cycle_reports: str | Path, text: str, *, run_stamp: str, as_of: datetime | None = None
) -> list[Path]:
    """Put a new plan-of-record status on the cycle's latest index and on its run's own index.

    Only the block between the plan-status markers changes; every other byte
    of the pages stays as it was. Other runs' pages are not touched.

    Returns
    -------
    list of Path
        The pages updated (a page whose block is damaged is skipped).
    """
    cycle_reports = Path(cycle_reports)
    block = plan_status_html(text, run_stamp=run_stamp, as_of=as_of)
    updated = []
    pages = [cycle_reports / "index.html"]
    if re.fullmatch(_RUN_STAMP, run_stamp):
        pages.append(cycle_reports / run_stamp / "index.html")
    for path in pages:
        if not path.is_file():
            continue
        page = replace_plan_status(path.read_text(encoding="utf-8"), block)
        if page is not None:
            updated.append(_write_text(path, page))
    return updated
