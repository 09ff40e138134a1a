"""How a value of a report is written: for people (``shown``) and for spreadsheets (``plain``)."""
from __future__ import annotations

from typing import Any

from caruso_reports.report import Report


def shown(report: Report, column: str, value: Any) -> str:
    """Counts as integers, seconds with one decimal, ratios as percentages; ``-`` for none."""
    if value is None:
        return "-"
    if column in report.dimensions:
        return str(value)
    unit = report.unit(column)
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "seconds":
        return f"{value:.1f}"
    return str(value)


def plain(report: Report, column: str, value: Any) -> str | int | float:
    """Numbers as numbers (ratios as fractions, 4 decimals; seconds, 2 decimals); none is empty."""
    if value is None:
        return ""
    if column in report.dimensions:
        return value
    unit = report.unit(column)
    return round(value, 4) if unit == "ratio" else round(value, 2) if unit == "seconds" else value


def heading(report: Report, column: str) -> str:
    """A column's heading with its unit: ``asa (s)``, ``service_level (%)``."""
    if column in report.dimensions:
        return column
    return {"seconds": f"{column} (s)", "ratio": f"{column} (%)"}.get(report.unit(column), column)
