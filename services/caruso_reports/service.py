"""The reports service ``caruso.reports/1``: computes report definitions over the
deployment's event log for clients (``caruso report`` without ``--db``, the front office).

Configuration: ``db`` (SQLAlchemy URL of the event log; default ``comm.db`` in the data
folder, where the communication server writes it).
"""
from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from caruso_core import service
from caruso_core.deployment import default_sqlite_url

from caruso_reports import definition, engine
from caruso_reports.eventlog import open_engine

EVENT_LOG = "comm.db"


@service(name="reports", interface="caruso.reports/1", version="1.0.0")
class ReportService:
    """Reports over the event log at ``db``."""

    def __init__(self, db: str | None = None) -> None:
        self.url = db or default_sqlite_url(EVENT_LOG)
        self._engine: sa.Engine | None = None
        self._lock = threading.Lock()

    def run(self, text: str, name: str, start: float | None = None, end: float | None = None,
            period: str | None = None, filters: dict[str, list[str]] | None = None,
            timezone: str | None = None) -> dict[str, Any]:
        """The report of the definition ``text`` (TOML, docs/report-format.md) named ``name``,
        with the range (Unix seconds), period, filters and time zone given replacing its own;
        plain data of :class:`~caruso_reports.report.Report`. Bad definitions raise ConfigError."""
        checked = definition.from_toml(text, name, f"report {name!r}").override(
            start=start, end=end, period=period, timezone=timezone,
            filters={key: tuple(values) for key, values in (filters or {}).items()}, where=f"report {name!r}")
        return engine.compute(self._event_log(), checked).to_dict()

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "event_log": self.url, "open": self._engine is not None}

    def stop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def _event_log(self) -> sa.Engine:
        with self._lock:
            if self._engine is None:
                self._engine = open_engine(self.url)
            return self._engine
