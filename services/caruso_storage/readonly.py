"""Databases that refuse writes because they are read-only: what callers get, health, recovery.

A SQLite database is read-only for the service when its file or its -wal or -shm file
(or the folder SQLite makes them in) is not writable for the service's user; a
PostgreSQL database when its transactions are read-only (``default_transaction_read_only``
set for the database or the role, a standby server). A connection opened meanwhile
stays read-only after the database is writable again, so a database found writable
again after being seen read-only gets fresh connections.
"""
from __future__ import annotations

import contextlib
from typing import Callable

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

from caruso_core.errors import Unavailable

SQLITE_READONLY = 8                 # SQLite's primary result code; extended codes add high bits
POSTGRES_READ_ONLY_TRANSACTION = "25006"


class ReadOnlyWatch:
    """Watches the databases of a storage (name → engine) for refused writes.

    - A statement a database refuses because it is read-only raises :class:`Unavailable`
      instead of the driver's error: one line naming the database, no SQL. The database
      then counts as read-only.
    - :meth:`before_write` (before a transaction first writes to a database) checks a
      database that counts as read-only on a new connection: still read-only, it raises
      :class:`Unavailable` without trying; writable, the pooled connections are dropped
      and the write goes ahead.
    - :meth:`reasons` checks every database so: ``{name: reason}`` of those read-only now.
    """

    def __init__(self, engines: dict[str, Engine]) -> None:
        self._engines = engines
        self._read_only: dict[str, str] = {}
        for name, engine in engines.items():
            event.listen(engine, "handle_error", self._refusals_of(name))

    def _refusals_of(self, name: str) -> Callable[[ExceptionContext], None]:
        def refused(context: ExceptionContext) -> None:
            reason = refusal(context.original_exception)
            if reason is not None:
                self._read_only[name] = reason
                raise unavailable(name, reason)
        return refused

    def before_write(self, name: str) -> None:
        if name in self._read_only:
            reason = self._check(name)
            if reason is not None:
                raise unavailable(name, reason)

    def reasons(self) -> dict[str, str]:
        found = {name: self._check(name) for name in self._engines}
        return {name: reason for name, reason in found.items() if reason is not None}

    def _check(self, name: str) -> str | None:
        engine = self._engines[name]
        reason = probe(engine)
        if reason is not None:
            self._read_only[name] = reason
        elif self._read_only.pop(name, None) is not None:
            engine.dispose()
        return reason


def describe(name: str, reason: str) -> str:
    """One line saying database ``name`` is read-only and why."""
    return f"database {name} is read-only ({reason})"


def unavailable(name: str, reason: str) -> Unavailable:
    return Unavailable(f"{describe(name, reason)}; writes work again once it is writable",
                       database=name, reason=reason)


def refusal(error: BaseException) -> str | None:
    """The driver's one-line reason when ``error`` is a write refused by a read-only
    database (SQLite or PostgreSQL), else None."""
    code = getattr(error, "sqlite_errorcode", None)
    refused = (code is not None and code & 0xFF == SQLITE_READONLY) \
        or getattr(error, "sqlstate", None) == POSTGRES_READ_ONLY_TRANSACTION
    return str(error).strip().splitlines()[0] if refused else None


def probe(engine: Engine) -> str | None:
    """Why the database of ``engine`` refuses writes now, or None when it takes them (or
    another writer holds it), found by a write rolled back on a connection of its own,
    opened as the engine opens its connections."""
    pool = engine.pool.recreate()
    try:
        with contextlib.closing(pool.connect()) as connection:     # rolled back as it is closed
            cursor = connection.cursor()
            if engine.dialect.name == "sqlite":
                cursor.execute("PRAGMA busy_timeout = 0")
                cursor.execute("BEGIN IMMEDIATE")
                cursor.execute("PRAGMA user_version")
                cursor.execute(f"PRAGMA user_version = {int(cursor.fetchone()[0])}")
            elif engine.dialect.name == "postgresql":
                cursor.execute("SELECT current_setting('transaction_read_only')")
                if cursor.fetchone()[0] == "on":
                    return "its transactions are read-only: default_transaction_read_only, or a standby server"
    except engine.dialect.loaded_dbapi.Error as error:
        return refusal(error)
    finally:
        pool.dispose()
    return None
