"""Opening the event log reports read: the table ``comm_events`` the communication server
writes and publishes (:mod:`caruso_comm.events`, the one module of it reports import)."""
from __future__ import annotations

import sqlalchemy as sa

from caruso_core import databases
from caruso_core.errors import ConfigError, one_line

from caruso_comm.events import table as events


def open_engine(url: str) -> sa.Engine:
    """An engine on an event-log database (:func:`caruso_core.databases.engine`, its journal
    mode left to the communication server that owns it); a ConfigError if the URL is no
    database URL, the SQLite file does not exist, or the table is missing."""
    parsed = databases.database_url(url)
    if databases.missing_sqlite_file(parsed):
        raise ConfigError(f"event log {url}: no such file {parsed.database}")
    engine = databases.engine(parsed, wal=False)
    try:
        with engine.connect() as connection:
            present = sa.inspect(connection).has_table(events.name)
    except Exception as error:
        engine.dispose()
        raise ConfigError(f"event log {url}: cannot open the database: {one_line(error)}") from None
    if not present:
        engine.dispose()
        raise ConfigError(f"event log {url}: no table {events.name!r} "
                          "(write one with the communication server or caruso simulate --db)")
    return engine
