"""Database engines the way caruso components open them.

Contract of :func:`engine`: a SQLAlchemy engine for ``url``; a SQLite database gets
write-ahead logging (readers never block the writer; ``synchronous=NORMAL``), waits
up to 30 s for a lock instead of failing at once, and never makes a thread wait for a
pooled connection (64 kept open, more opened while more threads need one: SQLite
connections are cheap, and a Pyro5 or web server has many threads). ``wal=False`` leaves the journal
mode of a database alone, for SQLite files that other programs own (legacy systems).
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

SQLITE_LOCK_WAIT = 30
SQLITE_POOL = 64


def engine(url: str | sa.URL, *, wal: bool = True, **options: Any) -> sa.Engine:
    """An engine for ``url`` (see the module's contract); ``options`` go to ``create_engine``."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        options.setdefault("connect_args", {}).setdefault("timeout", SQLITE_LOCK_WAIT)
        if parsed.database not in (None, "", ":memory:"):
            options.setdefault("pool_size", SQLITE_POOL)
            options.setdefault("max_overflow", -1)
    created = sa.create_engine(parsed, **options)
    if parsed.get_backend_name() == "sqlite" and wal:
        sa.event.listen(created, "connect", _write_ahead_log)
    return created


def _write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
