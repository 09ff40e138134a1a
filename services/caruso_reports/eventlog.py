"""The event log table as reports read it: ``comm_events`` by its documented columns.

The communication server writes the table (docs/communication.md); reports only read
it. Times are seconds (Unix time), ``data`` is JSON.
"""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from caruso_core.errors import ConfigError

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
