"""A computed report: its rows as plain data, and what renderers need to show them."""
from __future__ import annotations

from typing import Any

import attrs

from caruso_reports.measures import CATALOGUE


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

    @property
    def columns(self) -> tuple[str, ...]:
        return self.dimensions + self.measures

    def unit(self, measure: str) -> str:
        """``count``, ``seconds`` or ``ratio``."""
        return CATALOGUE[measure].unit

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the wire."""
        return {"name": self.name, "title": self.title, "dimensions": list(self.dimensions),
                "measures": list(self.measures), "rows": [dict(row) for row in self.rows],
                "period": self.period, "timezone": self.timezone, "start": self.start, "end": self.end,
                "chart_kind": self.chart_kind, "chart_measures": list(self.chart_measures)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Report":
        return cls(name=data["name"], title=data["title"], dimensions=tuple(data["dimensions"]),
                   measures=tuple(data["measures"]), rows=tuple(data["rows"]), period=data["period"],
                   timezone=data["timezone"],
                   start=data["start"], end=data["end"], chart_kind=data["chart_kind"],
                   chart_measures=tuple(data["chart_measures"]))
