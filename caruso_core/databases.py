"""Database engines the way caruso components open them.

Contract of :func:`engine`: a SQLAlchemy engine for ``url``; a SQLite database gets
write-ahead logging (readers never block the writer; ``synchronous=NORMAL``), waits
up to 30 s for a lock instead of failing at once, and never makes a thread wait for a
pooled connection (64 kept open, more opened while more threads need one: SQLite
connections are cheap, and a Pyro5 or web server has many threads). ``wal=False`` leaves the journal
mode of a database alone, for SQLite files that other programs own (legacy systems).
A SQLite file the engine creates is 0600 whatever the umask (SQLite gives its -wal, -shm
and -journal files the database file's mode); an existing file keeps its mode.
"""
from __future__ import annotations

import contextlib
from typing import Any

import sqlalchemy as sa

from caruso_core import privatefiles

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
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(created, "do_connect", _create_private_file)
        if wal:
            sa.event.listen(created, "connect", _write_ahead_log)
    return created


def _create_private_file(_dialect: Any, _record: Any, arguments: list[Any], parameters: dict[str, Any]) -> None:
    """Before SQLite opens a database file that does not exist yet, create it 0600."""
    filename = arguments[0]
    if filename not in ("", ":memory:") and not parameters.get("uri"):
        with contextlib.suppress(FileNotFoundError):   # no such folder: SQLite reports it itself
            privatefiles.create_file(filename)


def _write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
