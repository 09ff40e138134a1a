"""The CSV renderers: one header line, then one line per row (e.g. per period and queue),
one column per dimension and measure; numbers unformatted (ratios as fractions), a text
that a spreadsheet would compute quoted (:func:`caruso_core.spreadsheets.cell`).

``csv`` is for programs: headed by the columns' names, numbers unformatted. ``spreadsheet`` is
for people: headed by the columns' headings (the definition's labels), the values as the
report shows them (*83.3%*, *1:05* under *Average wait (m:ss)*), after a byte-order mark
(which Excel needs to read UTF-8); the front office's download is this one. Every cell is
quoted (a spreadsheet that splits at ``;`` keeps a value whole)."""
from __future__ import annotations

import codecs
from typing import Any

from caruso_core import spreadsheets
from caruso_reports.renderers.cells import heading, plain, shown
from caruso_reports.report import Report


def csv(report: Report) -> bytes:
    """The report as CSV (UTF-8, comma separated, ``\\r\\n`` line ends), headed by names."""
    return _written(report.columns, [[plain(report, c, row.get(c)) for c in report.columns] for row in report.rows])


def spreadsheet(report: Report) -> bytes:
    """The report as CSV headed by the columns' headings, as shown, after a byte-order mark."""
    return codecs.BOM_UTF8 + _written([heading(report, column) for column in report.columns],
                                      [[shown(report, c, row.get(c)) for c in report.columns] for row in report.rows])


def _written(header: list[str], rows: list[list[Any]]) -> bytes:
    return spreadsheets.table([header, *rows]).encode()
