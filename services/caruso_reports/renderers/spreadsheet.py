"""The CSV renderers: one header line, then one line per row (e.g. per period and queue),
one column per dimension and measure; numbers unformatted (ratios as fractions), a text
that a spreadsheet would compute quoted (:func:`caruso_core.spreadsheets.cell`).

``csv`` is for programs: headed by the columns' names. ``spreadsheet`` is for people: headed
by the columns' headings (the definition's labels), after a byte-order mark (which Excel
needs to read UTF-8); the front office's download is this one."""
from __future__ import annotations

import codecs
import csv as csv_module
import io
from typing import Any

from caruso_core import spreadsheets
from caruso_reports.renderers.cells import heading, plain
from caruso_reports.report import Report


def csv(report: Report) -> bytes:
    """The report as CSV (UTF-8, comma separated, ``\\r\\n`` line ends), headed by names."""
    return _written(report, report.columns)


def spreadsheet(report: Report) -> bytes:
    """The report as CSV headed by the columns' headings, after a byte-order mark."""
    return codecs.BOM_UTF8 + _written(report, [heading(report, column) for column in report.columns])


def _written(report: Report, header: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv_module.writer(buffer)
    writer.writerow([spreadsheets.cell(text) for text in header])
    for row in report.rows:
        writer.writerow([_safe(plain(report, c, row.get(c))) for c in report.columns])
    return buffer.getvalue().encode()


def _safe(value: Any) -> Any:
    return spreadsheets.cell(value) if isinstance(value, str) else value
