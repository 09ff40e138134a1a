"""Reading the event log table ``comm_events`` by id, in append order: the table and the
columns :mod:`caruso_comm.events` publishes."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from caruso_core.errors import ConfigError

from caruso_comm.events import Event, table
from caruso_monitor.picture import Picture

BATCH = 10_000
COLUMNS = [table.c[field] for field in Event._fields]     # in the order of the tuple


class Feed:
    """New events of the log at ``url`` since the last one read."""

    def __init__(self, url: str) -> None:
        try:
            self.engine = sa.create_engine(url)
        except (sa.exc.ArgumentError, ImportError) as error:
            raise ConfigError(f"event log {url!r}: not a usable database URL: {error}") from None
        self.url = url

    def ready(self) -> bool:
        """Whether the table exists yet (the communication server creates it); a SQLite file
        that does not exist is not created."""
        database = self.engine.url.database
        if self.engine.url.get_backend_name() == "sqlite" and database and database != ":memory:" \
                and not Path(database).exists():
            return False
        with self.engine.connect() as connection:
            return sa.inspect(connection).has_table(table.name)

    def read(self, after: int, limit: int = BATCH) -> list[Event]:
        """Up to ``limit`` events with ``id > after``, in id order."""
        query = sa.select(*COLUMNS).where(table.c.id > after).order_by(table.c.id).limit(limit)
        with self.engine.connect() as connection:
            return [Event._make(row) for row in connection.execute(query)]

    def events(self, after: int = 0) -> Iterator[Event]:
        """Every event with ``id > after`` written so far, in batches."""
        while batch := self.read(after):
            yield from batch
            after = batch[-1].id

    def catch_up(self, picture: Picture) -> int:
        """Apply every new event to ``picture``; how many there were."""
        count = 0
        for event in self.events(picture.last_id):
            picture.apply(event)
            count += 1
        return count

    def close(self) -> None:
        self.engine.dispose()
