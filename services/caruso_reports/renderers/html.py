"""The ``html`` renderer: one self-contained page with the chart (an embedded PNG) and the table."""
from __future__ import annotations

import base64
from html import escape

from caruso_reports.renderers.cells import heading, shown
from caruso_reports.renderers.charts import png
from caruso_reports.report import Report

STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
         "th,td{padding:.2em .6em;border-bottom:1px solid #ddd}td.n{text-align:right}"
         "img{max-width:100%}")


def page(report: Report) -> bytes:
    """The report as an HTML document (UTF-8); without a chart when nothing happened."""
    head = "".join(f"<th>{escape(heading(report, c))}</th>" for c in report.columns)
    body = "".join(
        "<tr>" + "".join(f'<td class="{"d" if c in report.dimensions else "n"}">'
                         f"{escape(shown(report, c, row.get(c)))}</td>" for c in report.columns) + "</tr>"
        for row in report.rows)
    span = f"{report.start or 'start of the log'} to {report.end or 'end of the log'}"
    if report.empty:
        content = "<p>No events in this range.</p>"
    else:
        chart = base64.b64encode(png(report)).decode("ascii")
        content = (f'<img alt="{escape(report.title)} chart" src="data:image/png;base64,{chart}">'
                 f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    document = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                f"<title>{escape(report.title)}</title><style>{STYLE}</style></head><body>"
                f"<h1>{escape(report.title)}</h1><p>{escape(span)} ({escape(report.timezone)})</p>"
                f"{content}</body></html>\n")
    return document.encode()
