"""The event log: an append-only table of every ACD event, written in batches.

It is the sole input of monitoring and reports. Rows are never updated or deleted;
``id`` increases in append order. Column meanings and event names: docs/communication.md.
"""
from __future__ import annotations

import logging
from typing import Iterator

import sqlalchemy as sa

from caruso_comm.model import Event

log = logging.getLogger(__name__)
metadata = sa.MetaData()

events = sa.Table(
    "comm_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.Float, nullable=False, index=True),
    sa.Column("interaction", sa.String(64), index=True),
    sa.Column("queue", sa.String(64)),
    sa.Column("agent", sa.String(64)),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
)


class EventLog:
    """Appends events to ``comm_events`` at ``url``; buffered rows are written every
    ``batch`` events and on :meth:`flush` / :meth:`close`. :meth:`append` never fails
    (a failed batch write is logged and retried); :meth:`flush` raises."""

    def __init__(self, url: str, batch: int = 1000) -> None:
        self.engine = sa.create_engine(url)
        metadata.create_all(self.engine)
        self.batch = batch
        self._buffer: list[dict] = []

    def append(self, event: Event) -> None:
        self._buffer.append({"time": event.time, "interaction": event.interaction,
                             "queue": event.queue, "agent": event.agent, "event": event.event,
                             "data": dict(event.data)})
        if len(self._buffer) >= self.batch:
            try:
                self.flush()
            except Exception:
                log.exception("event log: %d events not written yet; retrying", len(self._buffer))

    __call__ = append

    def flush(self) -> None:
        """Write the buffered events in one transaction; if that fails they stay buffered."""
        if self._buffer:
            rows, self._buffer = self._buffer, []
            try:
                with self.engine.begin() as connection:
                    connection.execute(events.insert(), rows)
            except Exception:
                self._buffer[:0] = rows
                raise

    def read(self, after: int = 0, limit: int | None = None) -> Iterator[tuple[int, Event]]:
        """Written events with ``id > after`` in append order, as ``(id, event)``."""
        query = sa.select(events).where(events.c.id > after).order_by(events.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            for row in connection.execute(query):
                yield row.id, Event(row.time, row.event, row.interaction, row.queue, row.agent,
                                    dict(row.data))

    def close(self) -> None:
        self.flush()
        self.engine.dispose()
