"""A computed report: its rows as plain data, and what renderers need to show them."""
from __future__ import annotations

from typing import Any

import attrs

from caruso_reports.measures import unit
from caruso_reports.renderers.cells import heading, shown


@attrs.frozen
class Report:
    """Rows of a report: one dict per combination of dimension values, holding those values
    (periods as ``YYYY-MM-DD HH:MM`` in ``timezone``) and one value per measure (None where
    a ratio has no denominator). ``start``/``end`` are the range shown (or None if open)."""

    name: str
    title: str
    dimensions: tuple[str, ...]
    measures: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    period: str = "day"
    timezone: str = "UTC"
    start: str | None = None
    end: str | None = None
    chart_kind: str = "line"
    chart_measures: tuple[str, ...] = ()
    labels: dict[str, str] = attrs.field(factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.dimensions + self.measures

    def unit(self, measure: str) -> str:
        """``count``, ``seconds``, ``ratio`` or (of a business object's number) ``amount``."""
        return unit(measure)

    @property
    def empty(self) -> bool:
        """No figure in any row: nothing happened in the range (zeros and none only)."""
        return not any(row.get(measure) for row in self.rows for measure in self.measures)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the wire, with the table as people read it (``headings`` and
        ``shown``, formatted as every renderer does) and whether it is ``empty``."""
        return {"name": self.name, "title": self.title, "dimensions": list(self.dimensions),
                "measures": list(self.measures), "rows": [dict(row) for row in self.rows],
                "period": self.period, "timezone": self.timezone, "start": self.start, "end": self.end,
                "chart_kind": self.chart_kind, "chart_measures": list(self.chart_measures),
                "labels": dict(self.labels), "empty": self.empty,
                "headings": [heading(self, column) for column in self.columns],
                "shown": [[shown(self, column, row.get(column)) for column in self.columns] for row in self.rows]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Report":
        return cls(name=data["name"], title=data["title"], dimensions=tuple(data["dimensions"]),
                   measures=tuple(data["measures"]), rows=tuple(data["rows"]), period=data["period"],
                   timezone=data["timezone"],
                   start=data["start"], end=data["end"], chart_kind=data["chart_kind"],
                   chart_measures=tuple(data["chart_measures"]), labels=dict(data.get("labels") or {}))
