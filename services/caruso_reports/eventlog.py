"""Opening the event log reports read: the table ``comm_events`` the communication server
writes and publishes (:mod:`caruso_comm.events`, the one module of it reports import)."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from caruso_core.errors import ConfigError

from caruso_comm.events import table as events


def open_engine(url: str) -> sa.Engine:
    """An engine on an event-log database; a ConfigError if the URL or the table is wrong."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"event log {url!r} is not a database URL (e.g. sqlite:///events.db)") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).exists():
        raise ConfigError(f"event log {url}: no such file {parsed.database}")
    try:
        engine = sa.create_engine(parsed)
        with engine.connect() as connection:
            present = sa.inspect(connection).has_table(events.name)
    except Exception as error:
        raise ConfigError(f"event log {url}: cannot open the database: "
                          f"{type(error).__name__}: {error}") from None
    if not present:
        engine.dispose()
        raise ConfigError(f"event log {url}: no table {events.name!r} "
                          "(write one with the communication server or caruso simulate --db)")
    return engine
