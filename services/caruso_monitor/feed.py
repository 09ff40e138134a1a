"""Reading the event log table ``comm_events`` by id: the table and the columns
:mod:`caruso_comm.events` publishes.

Communication servers on several hosts may append to one log at once. Their ids come from
one sequence but their transactions commit in any order, so a row with a lower id can
appear after a higher one was read. The feed therefore remembers the ids missing below the
highest it delivered (its gaps) and looks for them again on each read for
:data:`GAP_WAIT` seconds; an insert rolled back leaves a gap that never fills and is given
up then. At most :data:`MAX_GAPS` gaps are remembered (the lowest ids are given up first).
"""
from __future__ import annotations

import time
from itertools import islice
from typing import Callable, Iterator

import sqlalchemy as sa

from caruso_core import databases

from caruso_comm.events import Event, table
from caruso_monitor.picture import Picture

BATCH = 10_000
GAP_WAIT = 10.0          # seconds a missing id is looked for before it is taken as rolled back
MAX_GAPS = 10_000
GAP_CHUNK = 1_000        # missing ids per query
COLUMNS = [table.c[field] for field in Event._fields]     # in the order of the tuple


class Feed:
    """The events of the log at ``url`` not delivered yet, each exactly once: late ones
    (committed after a higher id was read) as soon as they are seen within ``gap_wait``
    seconds, at most ``max_gaps`` of them awaited at a time."""

    def __init__(self, url: str, gap_wait: float = GAP_WAIT, max_gaps: int = MAX_GAPS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = databases.engine(url, wal=False)    # the journal mode is the log's owner's
        self.url = url
        self.gap_wait, self.max_gaps, self._clock = gap_wait, max_gaps, clock
        self.last_id = 0                      # the highest id delivered
        self._gaps: dict[int, float] = {}     # missing id -> when to give it up; ids ascending

    @property
    def gaps(self) -> list[int]:
        """The ids below :attr:`last_id` still awaited."""
        return list(self._gaps)

    def ready(self) -> bool:
        """Whether the table exists yet (the communication server creates it); a SQLite file
        that does not exist is not created."""
        if databases.missing_sqlite_file(self.engine.url):
            return False
        with self.engine.connect() as connection:
            return sa.inspect(connection).has_table(table.name)

    def read(self, limit: int = BATCH) -> list[Event]:
        """Events not delivered before, in id order: those that filled gaps since the last
        read, then up to ``limit`` with ids above :attr:`last_id`."""
        now = self._clock()
        self._gaps = {missing: until for missing, until in self._gaps.items() if until > now}
        with self.engine.connect() as connection:
            late = self._late(connection)
            query = sa.select(*COLUMNS).where(table.c.id > self.last_id).order_by(table.c.id).limit(limit)
            new = [Event._make(row) for row in connection.execute(query)]
        for event in new:
            if event.id > self.last_id + 1:
                self._await(range(max(self.last_id + 1, event.id - self.max_gaps), event.id), now + self.gap_wait)
            self.last_id = event.id
        return late + new

    def _late(self, connection: sa.Connection) -> list[Event]:
        missing = list(self._gaps)
        found: list[Event] = []
        for start in range(0, len(missing), GAP_CHUNK):
            query = sa.select(*COLUMNS).where(table.c.id.in_(missing[start:start + GAP_CHUNK])).order_by(table.c.id)
            found.extend(Event._make(row) for row in connection.execute(query))
        for event in found:
            del self._gaps[event.id]
        return found

    def _await(self, missing: range, until: float) -> None:
        self._gaps.update(dict.fromkeys(missing, until))
        for oldest in list(islice(self._gaps, max(0, len(self._gaps) - self.max_gaps))):
            del self._gaps[oldest]

    def events(self) -> Iterator[Event]:
        """Every event not delivered yet, in batches."""
        while batch := self.read():
            yield from batch

    def catch_up(self, picture: Picture) -> int:
        """Apply every new event to ``picture``; how many there were."""
        count = 0
        for event in self.events():
            picture.apply(event)
            count += 1
        return count

    def close(self) -> None:
        self.engine.dispose()
