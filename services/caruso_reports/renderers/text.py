"""The ``table`` renderer: an aligned text table for the terminal."""
from __future__ import annotations

from caruso_reports.renderers.cells import heading, shown
from caruso_reports.report import Report


def table(report: Report) -> bytes:
    """The title, the range, then one line per row; a report without rows says so."""
    span = f"{report.start or 'start of the log'} to {report.end or 'end of the log'}"
    by = f", by {report.period}" if "period" in report.dimensions else ""
    lines = [report.title, f"{span}{by} ({report.timezone})", ""]
    if report.empty:
        lines.append("no events in this range")
        return ("\n".join(lines) + "\n").encode()
    columns = report.columns
    grid = [[heading(report, c) for c in columns]]
    grid += [[shown(report, c, row.get(c)) for c in columns] for row in report.rows]
    widths = [max(len(line[i]) for line in grid) for i in range(len(columns))]
    numeric = [c not in report.dimensions for c in columns]
    for line in grid:
        cells = [cell.rjust(width) if right else cell.ljust(width)
                 for cell, width, right in zip(line, widths, numeric)]
        lines.append("  ".join(cells).rstrip())
    return ("\n".join(lines) + "\n").encode()
