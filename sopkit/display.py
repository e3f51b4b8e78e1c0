"""What the step notebooks show: tables, charts and KPI tiles for reviewers.

Notebooks stay thin: a cell computes with ``sopkit`` and ends with one of these
helpers. Everything a user typed (SKU names, deal notes, reasons) is
HTML-escaped here, so a note such as ``<script>`` shows as text in JupyterLab
and in the exported report.

Charts are :class:`matplotlib.figure.Figure` objects made without ``pyplot``:
they are returned, not shown, so a cell that ends with the figure displays it
exactly once (the inline backend does not show it a second time), and no
figure is kept alive by pyplot between cells.
"""

from __future__ import annotations

import functools
import html
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sopkit.labels import FORMATS, SERIES_LABELS, heading

# One look for every chart; dpi 100 keeps a report's images small (tens of kB each).
FIGSIZE = (9.0, 4.0)
DPI = 100
STYLE = {
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "legend.fontsize": 8,
}

Formatter = str | Callable[[Any], str]


class HTMLBlock:
    """A piece of already-escaped HTML that Jupyter renders (``_repr_html_``).

    Attributes
    ----------
    html : str
        The markup; safe to embed in a report as is.
    text : str
        A plain-text rendering, shown by consoles and kept as the fallback.
    """

    def __init__(self, html_text: str, text: str = ""):
        self.html = html_text
        self.text = text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text or "<HTML block>"

    def __str__(self) -> str:
        return self.html


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


# ----------------------------------------------------------------- formatting


def _is_month_starts(values: pd.Series) -> bool:
    stamps = pd.to_datetime(values.dropna())
    if stamps.empty:
        return True
    return bool(((stamps.dt.day == 1) & (stamps == stamps.dt.normalize())).all())


def _label(value: Any) -> str:
    """A column or index label as text; month-start timestamps as ``YYYY-MM``."""
    if isinstance(value, tuple):
        return " · ".join(_label(part) for part in value if str(part) != "")
    if isinstance(value, pd.Timestamp):
        if value.day == 1 and value == value.normalize():
            return value.strftime("%Y-%m")
        return value.strftime("%Y-%m-%d")
    if isinstance(value, pd.Period):
        return str(value)
    return str(value)


def column_heading(column: Any) -> str:
    """The heading a report table shows for ``column``: a snake-case name as
    words (:func:`sopkit.labels.heading`), anything else (months, tuples,
    labels chosen for reading) as :func:`_label` writes it."""
    return heading(column) if isinstance(column, str) else _label(column)


def _float_format(values: pd.Series) -> str:
    finite = values[np.isfinite(values.astype(float))]
    if finite.empty:
        return "{:,.0f}"
    biggest = float(finite.abs().max())
    if biggest >= 1000 or bool((finite == finite.round()).all()):
        return "{:,.0f}"
    if biggest >= 10:
        return "{:,.1f}"
    return "{:,.2f}"


def _apply(fmt: Formatter, value: Any) -> str:
    return fmt(value) if callable(fmt) else fmt.format(value)


def format_column(values: pd.Series, fmt: Formatter | None = None) -> tuple[list[str], bool]:
    """Text for each value of a column, and whether the column is numeric.

    Months (month-start datetimes) become ``YYYY-MM``, other datetimes
    ``YYYY-MM-DD``; integers get thousands separators; floats get 0, 1 or 2
    decimals depending on their size; missing values are blank, infinite ones
    ``∞``. ``fmt`` (a
    ``str.format`` pattern such as ``"{:.1%}"`` or a callable) overrides this.
    """
    missing = values.isna().to_numpy()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if fmt is not None:
        pass
    elif pd.api.types.is_datetime64_any_dtype(values):
        pattern = "%Y-%m" if _is_month_starts(values) else "%Y-%m-%d"
        text = values.dt.strftime(pattern)
        return ["" if m else str(t) for t, m in zip(text, missing, strict=True)], False
    elif pd.api.types.is_bool_dtype(values):
        fmt = lambda v: "yes" if v else "no"  # noqa: E731
    elif pd.api.types.is_integer_dtype(values):
        fmt = "{:,}"
    elif numeric:
        finite = values.dropna()
        fmt = _float_format(finite[np.isfinite(finite.to_numpy(dtype=float))])
    else:
        fmt = _label
    out = ["" if m else _infinite(v) or _apply(fmt, v)
           for v, m in zip(values.astype(object), missing, strict=True)]
    return out, numeric


def _infinite(value) -> str:
    """``∞`` / ``−∞`` for an infinite number (e.g. months of supply without demand), else ""."""
    if isinstance(value, float | np.floating) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return ""


def _display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a meaningful index turned into columns."""
    if frame.index.name is None and not isinstance(frame.index, pd.MultiIndex) and (
            pd.api.types.is_integer_dtype(frame.index.dtype)):
        return frame.reset_index(drop=True)  # row positions, e.g. after sorting: not data
    if isinstance(frame.index, pd.MultiIndex) or frame.index.name is not None:
        return frame.reset_index()
    return frame.reset_index(names=[""])


# --------------------------------------------------------------------- tables


NOWRAP_CHARS = 24  # text cells up to this long without a space are kept on one line


def _unbreakable(text: str) -> bool:
    """A short text without spaces (a SKU code, a month, an id): not to be broken at a
    hyphen. Prose wraps as usual."""
    return 0 < len(text) <= NOWRAP_CHARS and not any(c.isspace() for c in text)


def show_table(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    max_rows: int | None = 30,
    formats: Mapping[str, Formatter] | None = None,
    empty: str = "None.",
) -> HTMLBlock:
    """A readable, escaped HTML table of ``frame`` for a report.

    Parameters
    ----------
    frame : DataFrame
        Long or wide; a named index or a MultiIndex is shown as columns,
        timestamp column labels (a pivot by ``period``) as ``YYYY-MM``,
        snake-case column names as words (:func:`column_heading`).
    caption : str, optional
        Shown above the table.
    max_rows : int or None
        Show the first ``max_rows`` rows and say how many were left out;
        ``None`` shows every row.
    formats : mapping, optional
        Column → ``str.format`` pattern (``"{:.1%}"``) or callable; columns
        it does not name that are shares (:data:`sopkit.labels.FORMATS`:
        ``fill_rate``, ``utilisation``, ``wape``, …) show as percentages.
    empty : str
        Said under the column headings when ``frame`` has no rows (an alert
        that found nothing reads as such, not as a broken table).

    Returns
    -------
    HTMLBlock
        Renders as a table in JupyterLab and in the exported report; every
        cell and label is HTML-escaped.
    """
    formats = dict(formats or {})
    shown = _display_frame(frame)
    n_rows = len(shown)
    if max_rows is not None and n_rows > max_rows:
        shown = shown.head(max_rows)
    labels = [_label(col) for col in shown.columns]
    headings = [column_heading(col) for col in shown.columns]
    columns = []
    for position, col in enumerate(shown.columns):
        fmt = formats.get(col, formats.get(labels[position], FORMATS.get(labels[position])))
        columns.append(format_column(shown.iloc[:, position], fmt))

    parts = ['<table class="sop-table">']
    if caption:
        parts.append(
            f'<caption style="caption-side:top;text-align:left;font-weight:bold">'
            f"{_esc(caption)}</caption>"
        )
    parts.append("<thead><tr>")
    for text, (_, numeric) in zip(headings, columns, strict=True):
        align = "right" if numeric else "left"
        parts.append(f'<th style="text-align:{align}">{_esc(text)}</th>')
    parts.append("</tr></thead><tbody>")
    for row in range(len(shown)):
        parts.append("<tr>")
        for cells, numeric in columns:
            if numeric:
                parts.append(f'<td class="num" style="text-align:right">{_esc(cells[row])}</td>')
            elif _unbreakable(cells[row]):  # a code such as SEA-0001 stays on one line
                parts.append(f'<td style="text-align:left;white-space:nowrap">'
                             f"{_esc(cells[row])}</td>")
            else:
                parts.append(f'<td style="text-align:left">{_esc(cells[row])}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table>")
    if n_rows == 0:
        parts.append(f'<p class="sop-footnote">{_esc(empty)}</p>')
    if len(shown) < n_rows:
        parts.append(
            f'<p class="sop-footnote">Showing the first {len(shown):,} of {n_rows:,} rows.</p>'
        )
    text_frame = pd.DataFrame({position: cells for position, (cells, _) in enumerate(columns)})
    text_frame.columns = headings
    text = (f"{caption}\n" if caption else "") + (
        text_frame.to_string(index=False) if n_rows else empty)
    return HTMLBlock("".join(parts), text)


def kpi_tiles(
    values: Mapping[str, Any],
    *,
    formats: Mapping[str, Formatter] | None = None,
    caption: str | None = None,
) -> HTMLBlock:
    """A row of KPI tiles (label above a big number), escaped.

    Numbers get thousands separators (floats of 100 or more none, smaller ones
    one decimal) unless ``formats``
    gives a pattern for that label, e.g. ``{"Fill rate": "{:.1%}"}``. Strings
    are shown as they are. Inline styles only, so the tiles look the same in
    JupyterLab, in a report and when embedded in the cycle index as summary.
    """
    formats = dict(formats or {})
    tile_style = (
        "display:inline-block;min-width:9em;margin:0 .6em .6em 0;padding:.5em .8em;"
        "border:1px solid #d0d7de;border-radius:6px;background:#f6f8fa;"
        "vertical-align:top"
    )
    parts = ['<div class="sop-kpis">']
    if caption:
        parts.append(f'<div style="font-weight:bold;margin-bottom:.3em">{_esc(caption)}</div>')
    lines = []
    for label, value in values.items():
        text = _kpi_text(value, formats.get(label))
        lines.append(f"{label}: {text}")
        parts.append(
            f'<div class="sop-kpi" style="{tile_style}">'
            f'<div style="font-size:.85em;color:#57606a">{_esc(label)}</div>'
            f'<div style="font-size:1.5em;font-weight:bold">{_esc(text)}</div></div>'
        )
    parts.append("</div>")
    return HTMLBlock("".join(parts), "\n".join(lines))


def _kpi_text(value: Any, fmt: Formatter | None) -> str:
    if fmt is not None:
        return _apply(fmt, value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        # a headline number: 68,999,573 not 68,999,573.3; small ones keep a decimal
        return f"{float(value):,.0f}" if abs(value) >= 100 else f"{float(value):,.1f}"
    return _label(value)


def note(text: str, *, kind: str = "info") -> HTMLBlock:
    """A short escaped call-out for reviewers; ``kind`` is info, warning or error."""
    colours = {
        "info": ("#ddf4ff", "#54aeff"),
        "warning": ("#fff8c5", "#d4a72c"),
        "error": ("#ffebe9", "#ff8182"),
    }
    if kind not in colours:
        raise ValueError(f"kind must be one of {', '.join(colours)}, not {kind!r}")
    background, border = colours[kind]
    style = (
        f"background:{background};border-left:4px solid {border};padding:.5em .8em;"
        "margin:.5em 0;white-space:pre-wrap"
    )
    return HTMLBlock(
        f'<div class="sop-note sop-note-{kind}" style="{style}">{_esc(text)}</div>', text
    )


# --------------------------------------------------------------------- charts


def new_figure(width: float = FIGSIZE[0], height: float = FIGSIZE[1]) -> Figure:
    """An empty figure in the house style (not registered with pyplot)."""
    _register_png_formatter()
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    fig.patch.set_facecolor("white")
    return fig


def _styled_axes(fig: Figure):
    return fig.add_subplot()


def _house_style(function):
    """Build the chart under the house style (fonts, grid, spines, legend)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(STYLE):
            return function(*args, **kwargs)

    return wrapper


def _x_labels(values: Sequence[Any]) -> list[str]:
    return [_label(pd.Timestamp(v)) if isinstance(v, np.datetime64) else _label(v) for v in values]


@_house_style
def heatmap(
    frame: pd.DataFrame,
    index: str,
    columns: str,
    values: str,
    *,
    title: str,
    fmt: str = "{:,.0f}",
    cmap: str = "RdYlGn_r",
    vmin: float | None = None,
    vmax: float | None = None,
    annotate: bool | None = None,
) -> Figure:
    """Heatmap of ``values`` by ``index`` (rows) and ``columns`` from a long frame.

    Duplicate (index, column) pairs are summed. Month columns are labelled
    ``YYYY-MM``. Cells are annotated with ``fmt`` when the grid is small
    (at most 25 × 25) unless ``annotate`` says otherwise. Missing cells stay blank.
    """
    grid = frame.pivot_table(index=index, columns=columns, values=values, aggfunc="sum", sort=True)
    n_rows, n_cols = grid.shape
    fig = new_figure(FIGSIZE[0], min(12.0, max(2.5, 0.32 * n_rows + 1.4)))
    ax = _styled_axes(fig)
    data = np.ma.masked_invalid(grid.to_numpy(dtype=float))
    image = ax.imshow(data, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.grid(False)
    ax.set_xticks(range(n_cols), _x_labels(grid.columns), rotation=90 if n_cols > 12 else 0)
    ax.set_yticks(range(n_rows), [_label(v) for v in grid.index])
    ax.set_xlabel(series_label(columns))
    ax.set_ylabel(series_label(index))
    ax.set_title(title)
    from matplotlib.ticker import FuncFormatter

    # the colour bar reads like the cells: 120 %, not 1.2
    fig.colorbar(image, ax=ax, label=series_label(values), shrink=0.9,
                 format=FuncFormatter(lambda value, _: fmt.format(value)))
    if annotate is None:
        annotate = n_rows <= 25 and n_cols <= 25
    if annotate and data.count():
        middle = (np.nanmin(data) + np.nanmax(data)) / 2
        for (row, col), value in np.ndenumerate(grid.to_numpy(dtype=float)):
            if np.isfinite(value):
                ax.text(
                    col,
                    row,
                    fmt.format(value),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="black"
                    if abs(value - middle) < 0.35 * np.ptp(data.compressed())
                    or np.ptp(data.compressed()) == 0
                    else "white",
                )
    return fig


_QUANTILE_COLUMN = re.compile(r"^qty_q(\d+)$")


def series_label(column: Any, labels: Mapping[str, str] | None = None) -> str:
    """The name a chart shows for ``column``: ``labels`` first, then :data:`SERIES_LABELS`,
    then the name in words (:func:`sopkit.labels.heading`: ``resource_family`` →
    "resource family")."""
    text = _label(column)
    return (labels or {}).get(text) or SERIES_LABELS.get(text) or (
        heading(column) if isinstance(column, str) else text)


def _band_label(low: str, high: str, labels: Mapping[str, str] | None) -> str:
    lo, hi = _QUANTILE_COLUMN.match(low), _QUANTILE_COLUMN.match(high)
    if lo and hi and not (labels and (low in labels or high in labels)):
        return f"{lo.group(1)}–{hi.group(1)} % band"
    return f"{series_label(low, labels)} – {series_label(high, labels)}"


def _groups(frame: pd.DataFrame, x: str, y: str | Sequence[str], hue: str | None,
            labels: Mapping[str, str] | None = None):
    """(label, x values, y values) for each line or bar series."""
    ys = [y] if isinstance(y, str) else list(y)
    if hue is not None:
        if len(ys) != 1:
            raise ValueError("give one y column when hue is used")
        for key, part in frame.groupby(hue, sort=True):
            part = part.groupby(x, sort=True)[ys[0]].sum(min_count=1)
            yield _label(key), part.index, part.to_numpy(dtype=float)
    else:
        for col in ys:
            part = frame.groupby(x, sort=True)[col].sum(min_count=1)
            yield series_label(col, labels), part.index, part.to_numpy(dtype=float)


@_house_style
def line_chart(
    frame: pd.DataFrame,
    x: str,
    y: str | Sequence[str],
    *,
    hue: str | None = None,
    title: str,
    ylabel: str | None = None,
    band: tuple[str, str] | None = None,
    marker: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Lines of ``y`` over ``x`` from a long frame; one line per ``y`` column or per ``hue``.

    Values sharing an ``x`` (and ``hue``) are summed. ``band=(lo, hi)`` shades
    an interval (e.g. forecast quantiles) around a single line. Month axes
    are labelled ``YYYY-MM``. Lines and axes are named by ``labels`` (column →
    text), else :data:`SERIES_LABELS`, else the column name in words; a band of
    ``qty_qNN`` columns is "NN–MM % band".
    """
    fig = new_figure()
    ax = _styled_axes(fig)
    for label, xs, ys in _groups(frame, x, y, hue, labels):
        ax.plot(np.asarray(xs), ys, label=label, marker=marker, linewidth=1.6)
    if band is not None:
        low, high = band
        part = frame.groupby(x, sort=True)[[low, high]].sum(min_count=1)
        ax.fill_between(
            np.asarray(part.index),
            part[low].to_numpy(dtype=float),
            part[high].to_numpy(dtype=float),
            alpha=0.2,
            label=_band_label(low, high, labels),
        )
    if pd.api.types.is_datetime64_any_dtype(frame[x]):
        from matplotlib.dates import DateFormatter

        ax.xaxis.set_major_formatter(DateFormatter("%Y-%m"))
        for tick in ax.get_xticklabels():
            tick.set_rotation(45)
    ax.set_xlabel(series_label(x, labels))
    ax.set_ylabel(ylabel or (series_label(y, labels) if isinstance(y, str) else ""))
    ax.set_title(title)
    ax.yaxis.set_major_formatter(_thousands)
    if hue is not None or not isinstance(y, str) or band is not None:
        ax.legend(loc="best")
    return fig


@_house_style
def bar_chart(
    frame: pd.DataFrame,
    x: str,
    y: str | Sequence[str],
    *,
    hue: str | None = None,
    title: str,
    ylabel: str | None = None,
    stacked: bool = False,
    horizontal: bool = False,
    labels: Mapping[str, str] | None = None,
    keep_order: bool = False,
) -> Figure:
    """Bars of ``y`` by ``x``; grouped (or ``stacked``) per ``y`` column or per ``hue``.

    Values sharing an ``x`` (and ``hue``) are summed. Month categories are
    labelled ``YYYY-MM``; series and axes are named as in :func:`line_chart`.
    Categories are sorted, or with ``keep_order`` shown in the order of
    ``frame`` (first at the top of a horizontal chart, e.g. a ranking). When
    a value is negative, a line marks zero.
    """
    series = list(_groups(frame, x, y, hue, labels))
    if keep_order:
        categories = list(dict.fromkeys(frame[x].tolist()))
    else:
        categories = sorted(set().union(*(set(xs) for _, xs, _ in series))) if series else []
    positions = np.arange(len(categories))
    width = 0.8 if stacked or len(series) <= 1 else 0.8 / len(series)
    fig = new_figure(
        FIGSIZE[0], max(FIGSIZE[1], 0.25 * len(categories) + 1) if horizontal else FIGSIZE[1]
    )
    ax = _styled_axes(fig)
    bottom = np.zeros(len(categories))
    draw = ax.barh if horizontal else ax.bar
    for number, (label, xs, ys) in enumerate(series):
        values = pd.Series(ys, index=xs).reindex(categories).fillna(0).to_numpy()
        offset = 0 if stacked or len(series) <= 1 else (number - (len(series) - 1) / 2) * width
        if horizontal:
            draw(
                positions + offset,
                values,
                height=width,
                left=bottom if stacked else None,
                label=label,
            )
        else:
            draw(
                positions + offset,
                values,
                width=width,
                bottom=bottom if stacked else None,
                label=label,
            )
        if stacked:
            bottom = bottom + values
    tick_labels = _x_labels(categories)
    if any((np.asarray(ys, dtype=float) < 0).any() for _, _, ys in series):
        (ax.axvline if horizontal else ax.axhline)(0, color="#333333", linewidth=0.8)
    if horizontal:
        ax.set_yticks(positions, tick_labels)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(_thousands)
        ax.set_xlabel(ylabel or (series_label(y, labels) if isinstance(y, str) else ""))
        ax.grid(axis="y", visible=False)
    else:
        ax.set_xticks(
            positions,
            tick_labels,
            rotation=45 if len(categories) > 8 else 0,
            ha="right" if len(categories) > 8 else "center",
        )
        ax.yaxis.set_major_formatter(_thousands)
        ax.set_ylabel(ylabel or (series_label(y, labels) if isinstance(y, str) else ""))
        ax.set_xlabel(series_label(x, labels))
        ax.grid(axis="x", visible=False)
    ax.set_title(title)
    if len(series) > 1:
        ax.legend(loc="best")
    return fig


def _thousands_format(value: float, _position: int) -> str:
    """Axis ticks: thousands separators; small steps keep the decimals they need
    (0.25, 0.5, 0.75 — not 0.2, 0.5, 0.8), at most two."""
    if abs(value) >= 10 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _make_thousands():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(_thousands_format)


_thousands = _make_thousands()


# ------------------------------------------------------------ IPython display


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes, white background, trimmed (what reports embed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def _register_png_formatter() -> None:
    """Make IPython display any Figure as PNG, even when pyplot was never imported."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the notebooks
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    if not _has_type(formatter, Figure):
        formatter.for_type(Figure, _figure_png_with_alt)


def _figure_png_with_alt(fig: Figure) -> tuple[bytes, dict]:
    """PNG and its metadata: nbconvert writes ``alt`` into the report's ``<img>``."""
    return figure_png(fig), {"alt": alt_text(fig)}


def alt_text(fig: Figure) -> str:
    """What a chart shows, in words, for a screen reader: title, axes and series.

    E.g. "Demand, all SKUs. y: units; x: period. Series: actual, statistical,
    consensus."
    """
    parts = []
    for ax in fig.axes:
        title = ax.get_title()
        if title:
            parts.append(title.rstrip(".") + ".")
        axes = [f"{name}: {label}" for name, label in (("y", ax.get_ylabel()),
                                                        ("x", ax.get_xlabel())) if label]
        if axes:
            parts.append("; ".join(axes) + ".")
        legend = ax.get_legend()
        if legend is not None:
            names = [t.get_text() for t in legend.get_texts() if t.get_text()]
            if names:
                parts.append("Series: " + ", ".join(names) + ".")
    return " ".join(parts) or "Chart."


def _has_type(formatter, cls) -> bool:
    try:
        formatter.lookup_by_type(cls)
    except KeyError:
        return False
    return True
