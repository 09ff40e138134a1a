"""The ``csv`` renderer: one header line, then one line per row (e.g. per period and queue),
one column per dimension and measure; numbers unformatted (ratios as fractions)."""
from __future__ import annotations

import csv as csv_module
import io

from caruso_reports.renderers.cells import plain
from caruso_reports.report import Report


def csv(report: Report) -> bytes:
    """The report as CSV (UTF-8, comma separated, ``\\r\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv_module.writer(buffer)
    writer.writerow(report.columns)
    for row in report.rows:
        writer.writerow([plain(report, c, row.get(c)) for c in report.columns])
    return buffer.getvalue().encode()
