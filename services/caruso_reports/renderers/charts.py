"""The ``png`` and ``pdf`` renderers: charts drawn with matplotlib (Agg, no display needed).

One panel per chart measure of the definition; with a ``period`` dimension the x axis is
time and each value of the other dimensions (e.g. each queue) is a series, else one
bar per row. The PDF adds the report's table after the charts.
"""
from __future__ import annotations

import io
import math
from typing import Any

from caruso_reports.renderers.cells import HOURS, duration, heading, shown
from caruso_reports.report import Report

MAX_SERIES = 12
MAX_TICKS = 24
WIDE, NARROW = 11.0, 4.0              # figure widths in inches (100 pixels each)
TABLE_ROWS_PER_PAGE = 36


def figure(report: Report, width: float = WIDE) -> Any:
    """A matplotlib Figure of the report's chart measures (a one-line note, no axes, when
    nothing happened in the range). Axes show durations as ``m:ss`` and ratios in percent;
    a ``NARROW`` figure (a phone's) has fewer ticks and panels as tall as on a wide one."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    measures = report.chart_measures or report.measures
    if report.empty:
        fig = Figure(figsize=(width, 1.2), dpi=100)
        fig.text(0.5, 0.5, f"{report.title}: no events in this range", ha="center", va="center",
                 fontsize=14 if width == WIDE else 10, wrap=True)
        return fig
    fig = Figure(figsize=(width, 1.2 + 2.8 * max(1, len(measures))), dpi=100, layout="constrained")
    fig.suptitle(report.title)
    by_period = "period" in report.dimensions
    others = [d for d in report.dimensions if d != "period"]
    if by_period:
        labels = sorted({row["period"] for row in report.rows})
        series: dict[str, dict[str, dict[str, Any]]] = {}
        for row in report.rows:
            name = " / ".join(str(row[d]) for d in others) or "all"
            series.setdefault(name, {})[row["period"]] = row
        names = sorted(series)[:MAX_SERIES]
    else:
        labels = [" / ".join(str(row[d]) for d in others) or "all" for row in report.rows]
        series = {"all": dict(zip(labels, report.rows))}
        names = ["all"]
    axes = fig.subplots(len(measures), 1, squeeze=False, sharex=True)[:, 0]
    positions = list(range(len(labels)))
    for axis, measure in zip(axes, measures):
        scale = 100.0 if report.unit(measure) == "ratio" else 1.0
        width = 0.8 / len(names)
        for index, name in enumerate(names):
            rows = series[name]
            values = [_number(rows.get(label, {}).get(measure), scale) for label in labels]
            if report.chart_kind == "bar" or not by_period:
                offsets = [p - 0.4 + width * (index + 0.5) for p in positions]
                axis.bar(offsets, [0.0 if math.isnan(v) else v for v in values], width, label=name)
            else:
                axis.plot(positions, values, marker="o", markersize=3, label=name)
        axis.set_title(heading(report, measure), loc="left", fontsize=10)
        if report.unit(measure) == "seconds":
            hours = HOURS in report.labels.get(measure, "")      # the axis as the title says
            axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _, hours=hours: duration(value, hours)))
        elif report.unit(measure) == "ratio":
            axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0f}%"))
        axis.grid(axis="y", alpha=0.3)
        if len(names) > 1 and axis is axes[0]:
            axis.legend(fontsize=8, loc="upper right")
    step = max(1, math.ceil(len(labels) / (MAX_TICKS * width / WIDE)))
    axes[-1].set_xticks(positions[::step], labels[::step], rotation=45, ha="right", fontsize=8)
    return fig


def _number(value: Any, scale: float) -> float:
    return math.nan if value is None else float(value) * scale


def png(report: Report, width: float = WIDE) -> bytes:
    """The chart as a PNG image, ``width`` inches of 100 pixels wide."""
    buffer = io.BytesIO()
    figure(report, width).savefig(buffer, format="png")
    return buffer.getvalue()


def png_narrow(report: Report) -> bytes:
    """The chart as a PNG image 400 pixels wide, readable on a phone without scaling."""
    return png(report, NARROW)


def pdf(report: Report) -> bytes:
    """A PDF: the chart, then the table on as many pages as it needs."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    buffer = io.BytesIO()
    with PdfPages(buffer) as pages:
        pages.savefig(figure(report))
        columns = report.columns
        for first in range(0, len(report.rows), TABLE_ROWS_PER_PAGE):
            page = Figure(figsize=(11.69, 8.27))
            axis = page.subplots()
            axis.set_axis_off()
            chunk = report.rows[first:first + TABLE_ROWS_PER_PAGE]
            table = axis.table(cellText=[[shown(report, c, row.get(c)) for c in columns] for row in chunk],
                               colLabels=[heading(report, c) for c in columns], loc="upper center")
            table.auto_set_font_size(False)
            table.set_fontsize(6)
            pages.savefig(page)
    return buffer.getvalue()
