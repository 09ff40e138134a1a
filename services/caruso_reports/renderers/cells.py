"""How a value of a report is written: for people (``shown``, the same in the terminal,
HTML, PDF, charts and the front office) and for spreadsheets (``plain``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from caruso_reports.report import Report

UNIT_HINTS = {"seconds": " (m:ss)"}


def shown(report: "Report", column: str, value: Any) -> str:
    """Counts as integers, durations as ``m:ss`` (``h:mm:ss`` from an hour), ratios as
    percentages with one decimal (``83.3%``), amounts with two decimals and thousands
    separated (``12,500.00``); ``-`` for none."""
    if value is None:
        return "-"
    if column in report.dimensions:
        return str(value)
    unit = report.unit(column)
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "seconds":
        return duration(value)
    if unit == "amount":
        return f"{value:,.2f}"
    return str(value)


def duration(seconds: float) -> str:
    """``65.4`` as ``1:05``, ``3725`` as ``1:02:05``."""
    hours, rest = divmod(round(seconds), 3600)
    minutes, whole = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{whole:02d}" if hours else f"{minutes}:{whole:02d}"


def plain(report: "Report", column: str, value: Any) -> str | int | float:
    """Numbers as numbers (ratios as fractions, 4 decimals; seconds, 2 decimals); none is empty."""
    if value is None:
        return ""
    if column in report.dimensions:
        return value
    unit = report.unit(column)
    return round(value, 4) if unit == "ratio" else round(value, 2) if unit == "seconds" else value


def heading(report: "Report", column: str) -> str:
    """A column's heading: its label in the definition, else its name in words with the
    unit of durations (``Short abandoned``, ``Asa (m:ss)``)."""
    if column in report.labels:
        return report.labels[column]
    words = column.replace("_", " ").capitalize()
    return words if column in report.dimensions else words + UNIT_HINTS.get(report.unit(column), "")
