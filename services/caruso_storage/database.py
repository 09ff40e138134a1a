"""Database engines of the storage service and the transaction spanning them.

SQLite files holding new objects run in WAL mode (a database holding only existing
tables keeps its journal mode: its owner may need it); a writing transaction on SQLite starts with
``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing on a stale
snapshot, and a read is a single statement in autocommit mode. PostgreSQL, MySQL and
MariaDB writers lock the rows they change (``SELECT ... FOR UPDATE``); MySQL and MariaDB
sessions read committed data (as PostgreSQL does) and refuse values a column cannot hold
instead of cutting them (strict mode), whatever the server's defaults.
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import Engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from caruso_core import databases
from caruso_core.deployment import default_sqlite_url
from caruso_core.errors import ConfigError

from caruso_storage import folding
from caruso_storage.model import Model
from caruso_storage.readonly import ReadOnlyWatch

WRITE_OPTION = "caruso_write"
JOURNAL = "caruso journal"
MYSQL = ("mysql", "mariadb")
MYSQL_OPTIONS = {"isolation_level": "READ COMMITTED", "pool_recycle": 3600}


def open_engines(model: Model, db: str | None, urls: dict[str, str]) -> dict[str, Engine]:
    """Engines of the model's databases: ``urls`` by name, ``db`` for the first, else the
    model's ``url``, else a SQLite file in the data folder (``storage.db`` for the first).

    When no database of the model holds a new object, caruso's own tables get their
    own SQLite file, ``MODEL-journal.db`` in the data folder, under the name ``JOURNAL``.
    """
    unknown = set(urls) - set(model.databases)
    if unknown:
        raise ConfigError(f"databases: the model {model.source} has no database(s) "
                          f"{', '.join(sorted(unknown))} (declared: {', '.join(model.databases)})")
    engines = {}
    for name, database in model.databases.items():
        url = urls.get(name) or (db if name == model.default_database else None) or database.url
        if url is None:
            url = default_sqlite_url("storage.db" if name == model.default_database else f"{name}.db")
        owned = any(o.database == name and not o.existing for o in model.objects.values())
        engines[name] = open_engine(url, f"database {name}", owned)
    if model.journal_database is None:
        engines[JOURNAL] = open_engine(default_sqlite_url(f"{model.name}-journal.db"), "journal", True)
    return engines


def journal_name(model: Model) -> str:
    """The key in :func:`open_engines` of the database holding caruso's own tables."""
    return model.journal_database or JOURNAL


def open_engine(url: str, where: str, owned: bool) -> Engine:
    """An engine for ``url``; ``where`` names the database in errors; ``owned``: caruso may
    set its journal mode (it holds new objects or caruso's own tables)."""
    try:
        mysql = make_url(url).get_backend_name() in MYSQL
    except ArgumentError:
        mysql = False                       # no URL at all: databases.engine says so in its words
    try:
        engine = databases.engine(url, wal=owned, **(MYSQL_OPTIONS if mysql else {}))
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        raise ConfigError(f"{where}: cannot use database URL {url!r}: {error}") from None
    if engine.dialect.name == "sqlite":
        _sqlite(engine)
    elif engine.dialect.name == "postgresql":
        folding.add_to_postgresql(engine)
    elif mysql:
        event.listen(engine, "connect", _strict)
    return engine


def _strict(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'STRICT_ALL_TABLES')")
    cursor.close()


def _sqlite(engine: Engine) -> None:
    folding.add_to_sqlite(engine)
    @event.listens_for(engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def begin(connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


class Transaction:
    """One writing transaction per database touched; all commit together or none.

    Callbacks registered with :meth:`after_commit` run once everything committed.
    The commit across several databases is sequential, not two-phase. A database that
    ``watch`` saw read-only is checked before the transaction writes to it.
    """

    def __init__(self, engines: dict[str, Engine], watch: ReadOnlyWatch) -> None:
        self._engines = engines
        self._watch = watch
        self._connections: dict[str, Connection] = {}
        self._after: list[Callable[[], None]] = []

    def connection(self, database: str) -> Connection:
        connection = self._connections.get(database)
        if connection is None:
            self._watch.before_write(database)
            connection = self._engines[database].connect().execution_options(**{WRITE_OPTION: True})
            connection.begin()
            self._connections[database] = connection
        return connection

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after.append(callback)

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, kind: Any, _error: Any, _traceback: Any) -> None:
        try:
            for connection in self._connections.values():
                if kind is None:
                    connection.commit()
                else:
                    connection.rollback()
        finally:
            for connection in self._connections.values():
                connection.close()
        if kind is None:
            for callback in self._after:
                callback()
