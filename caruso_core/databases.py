"""Database engines the way caruso components open them.

Contract of :func:`engine`: a SQLAlchemy engine for ``url``; a SQLite database gets
write-ahead logging (readers never block the writer; ``synchronous=NORMAL``), waits
up to 30 s for a lock instead of failing at once, and never makes a thread wait for a
pooled connection (64 kept open, more opened while more threads need one: SQLite
connections are cheap, and a Pyro5 or web server has many threads). ``wal=False`` leaves the journal
mode of a database alone, for SQLite files that other programs own (legacy systems); in
the others SQLite's ``lower()`` and ``upper()`` change the case of every letter, as PostgreSQL's
and MariaDB's do, not only of A-Z (SQLAlchemy's ``ilike`` compares ``lower()`` of both sides).
A SQLite file the engine creates is 0600 whatever the umask (SQLite gives its -wal, -shm
and -journal files the database file's mode); an existing file keeps its mode. A SQLite
file in a folder that does not exist, or a URL SQLAlchemy cannot read, is a ConfigError
naming it. :func:`reading_existing` guards work on a database that must exist already.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

import sqlalchemy as sa

from caruso_core import privatefiles
from caruso_core.errors import ConfigError, one_line

SQLITE_LOCK_WAIT = 30
MYSQL = ("mysql", "mariadb")      # the dialect names of MySQL and MariaDB, for their column variants
SQLITE_POOL = 64


def database_url(url: str | sa.URL) -> sa.URL:
    """``url`` parsed; a text that is no database URL is a one-line ConfigError."""
    try:
        return sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"{url!r} is not a database URL (e.g. sqlite:///data/crm.db, "
                          "postgresql+psycopg://user@host/db)") from None


def engine(url: str | sa.URL, *, wal: bool = True, **options: Any) -> sa.Engine:
    """An engine for ``url`` (see the module's contract); ``options`` go to ``create_engine``."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        options.setdefault("connect_args", {}).setdefault("timeout", SQLITE_LOCK_WAIT)
        if parsed.database not in (None, "", ":memory:"):
            folder = Path(parsed.database).resolve().parent
            if not folder.is_dir() and not parsed.query.get("uri"):
                raise ConfigError(f"{url}: the folder {folder} does not exist")
            options.setdefault("pool_size", SQLITE_POOL)
            options.setdefault("max_overflow", -1)
    try:
        created = sa.create_engine(parsed, **options)
    except (sa.exc.ArgumentError, ImportError) as error:
        raise ConfigError(f"{parsed.render_as_string(hide_password=True)}: {one_line(error)}") from None
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(created, "do_connect", _create_private_file)
        if wal:
            sa.event.listen(created, "connect", _write_ahead_log)
            sa.event.listen(created, "connect", _case_of_every_letter)
    return created


def _create_private_file(_dialect: Any, _record: Any, arguments: list[Any], parameters: dict[str, Any]) -> None:
    """Before SQLite opens a database file that does not exist yet, create it 0600."""
    filename = arguments[0]
    if filename not in ("", ":memory:") and not parameters.get("uri"):
        with contextlib.suppress(FileNotFoundError):   # no such folder: SQLite reports it itself
            privatefiles.create_file(filename)


def _case_of_every_letter(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    dbapi_connection.create_function("upper", 1, _upper, deterministic=True)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def missing_sqlite_file(url: sa.URL) -> Path | None:
    """The file of the SQLite database ``url`` names (not in memory, not a ``uri``) when there
    is no such file (connecting would make an empty one); None otherwise."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.query.get("uri"):
        return None
    return None if Path(url.database).is_file() else Path(url.database)


@contextlib.contextmanager
def reading_existing(url: str) -> Iterator[None]:
    """Around work on a database that must exist already (another program's): a SQLite
    file that is not there, or a server that refuses the connection, is a ConfigError
    naming the URL, never a new empty file."""
    parsed = database_url(url)
    missing = missing_sqlite_file(parsed)
    if missing is not None:
        raise ConfigError(f"{url}: no such database file {missing.resolve()}")
    with speaking(f"{parsed.render_as_string(hide_password=True)}: cannot read it"):
        yield


@contextlib.contextmanager
def speaking(what: str) -> Iterator[None]:
    """Around a command's work on databases: what a database answers instead of doing it (it
    is locked, read-only, no database, refuses the connection, lacks a table) is a ConfigError
    ``what: the database's reason`` in one line."""
    try:
        yield
    except (sa.exc.DBAPIError, sa.exc.NoSuchTableError) as error:
        reason = f"no table {error}" if isinstance(error, sa.exc.NoSuchTableError) else one_line(error.orig or error)
        raise ConfigError(f"{what}: {reason}") from None
