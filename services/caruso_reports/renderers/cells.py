"""How a value of a report is written: for people (``shown``, the same in the terminal,
HTML, PDF, charts and the front office) and for spreadsheets (``plain``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from caruso_reports.report import Report

UNIT_HINTS = {"seconds": " (m:ss)"}
HOURS = "(h:mm:ss)"              # a label saying so: every value with its hours, 0:08:09


def shown(report: "Report", column: str, value: Any) -> str:
    """Counts as integers, durations as their heading says (``m:ss``, minutes beyond the
    hour as they are, ``62:05``; ``h:mm:ss`` where the label says so, ``0:08:09``), ratios
    as percentages with one decimal (``83.3%``), amounts with two decimals and thousands
    separated (``12,500.00``); ``-`` for none."""
    if value is None:
        return "-"
    if column in report.dimensions:
        return str(value)
    unit = report.unit(column)
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "seconds":
        return duration(value, hours=HOURS in report.labels.get(column, ""))
    if unit == "amount":
        return f"{value:,.2f}"
    return str(value)


def duration(seconds: float, hours: bool = False) -> str:
    """``65.4`` as ``1:05`` and ``3725`` as ``62:05`` (m:ss); with ``hours``, ``489`` as
    ``0:08:09`` and ``3725`` as ``1:02:05`` (h:mm:ss)."""
    minutes, whole = divmod(round(seconds), 60)
    if not hours:
        return f"{minutes}:{whole:02d}"
    return f"{minutes // 60}:{minutes % 60:02d}:{whole:02d}"


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
