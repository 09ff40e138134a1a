"""The event log: every event appended to the table of :mod:`caruso_comm.events`, in batches.

It is the sole input of monitoring and reports. Rows are never updated or deleted;
``id`` increases in append order.
"""
from __future__ import annotations

import logging
from typing import Iterator

import sqlalchemy as sa

from caruso_core import databases

from caruso_comm.events import ENDINGS, ENTER, SERVER, Event, metadata, table as events

log = logging.getLogger(__name__)
CHUNK = 500      # interaction ids per query


class EventLog:
    """Appends events to the table ``comm_events`` at ``url`` (opened as :func:`caruso_core.databases.engine`
    opens it); buffered rows are written every ``batch`` events and on :meth:`flush` /
    :meth:`close`. :meth:`append` never fails (a failed batch write is logged and retried);
    :meth:`flush` raises."""

    def __init__(self, url: str, batch: int = 1000) -> None:
        self.engine = databases.engine(url)
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

    def read(self, after: int = 0, limit: int | None = None) -> Iterator[Event]:
        """Written events with ``id > after`` in append order, each with its ``id``."""
        query = sa.select(events).where(events.c.id > after).order_by(events.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            for row in connection.execute(query):
                yield _event(row)

    def last_time(self) -> float | None:
        """The time of the latest written event (None if there is none)."""
        with self.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.max(events.c.time))).scalar()

    def last(self, event: str, written_by: str | None = None) -> Event | None:
        """The latest written ``event`` (None if there is none); with ``written_by``, the
        latest whose field ``server`` is that or missing."""
        c = events.c
        query = sa.select(events).where(c.event == event)
        if written_by is not None:
            writer = c.data[SERVER].as_string()
            query = query.where(sa.or_(writer == written_by, writer.is_(None)))
        with self.engine.connect() as connection:
            row = connection.execute(query.order_by(c.id.desc()).limit(1)).first()
            return None if row is None else _event(row)

    def open_after(self, since: int) -> dict[str, list[Event]]:
        """Every written event, in append order, of each interaction whose last ``enter`` has
        an id above ``since`` and no ending event after it. Reads the events after ``since``
        and those of the open interactions."""
        c = events.c
        with self.engine.connect() as connection:
            last_enter = sa.func.max(sa.case((c.event == ENTER, c.id)))
            last_end = sa.func.coalesce(sa.func.max(sa.case((c.event != ENTER, c.id))), 0)
            open_ids = sorted(connection.execute(
                sa.select(c.interaction).where(c.id > since, c.event.in_((ENTER, *ENDINGS)))
                .group_by(c.interaction).having(last_enter > last_end)).scalars())
            found: dict[str, list[Event]] = {}
            for start in range(0, len(open_ids), CHUNK):
                query = sa.select(events).where(c.interaction.in_(open_ids[start:start + CHUNK])).order_by(c.id)
                for row in connection.execute(query):
                    found.setdefault(row.interaction, []).append(_event(row))
            return found

    def last_per_agent(self, event: str, since: int) -> dict[str, Event]:
        """Each agent's latest ``event`` with an id above ``since``."""
        c = events.c
        latest = sa.select(sa.func.max(c.id)).where(c.id > since, c.event == event,
                                                    c.agent.is_not(None)).group_by(c.agent)
        with self.engine.connect() as connection:
            return {row.agent: _event(row) for row in connection.execute(sa.select(events).where(c.id.in_(latest)))}

    def close(self) -> None:
        self.flush()
        self.engine.dispose()


def _event(row: sa.Row) -> Event:
    return Event(row.time, row.event, row.interaction, row.queue, row.agent, dict(row.data), row.id)
