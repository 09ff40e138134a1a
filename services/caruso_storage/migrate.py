"""Schema changes: the service's own tables through Alembic, new model tables by comparison.

``upgrade_journal`` brings the service's own tables (contact history, rule log, due
runs, outbox) to the latest migration, :data:`HEAD`: a database already there is left
as it is and a new one gets the tables of :mod:`caruso_storage.journal` (which match
HEAD) and HEAD in the version table, both without loading Alembic; any other runs the
migrations. ``differences`` compares the tables caruso owns in a database (new
objects and their link tables) with what the database has; ``apply`` creates what
is missing (tables, columns, indexes) and leaves everything else (type changes,
removals) to a person, listed as manual steps. The indexes and FTS5 tables of full-text
searches are the storage's own (:mod:`caruso_storage.search`), not compared.

A SQLite table with a generated key made before such tables were ``AUTOINCREMENT`` gives
a deleted record's key to the next record; ``apply`` rebuilds it as one (SQLite's own
procedure: a new table, the rows copied with their keys, the old one dropped, the new one
renamed, its indexes and triggers made again), in the upgrade's transaction.
"""
from __future__ import annotations

import re
from typing import Any

import attrs
from sqlalchemy import Column, Engine, MetaData, PrimaryKeyConstraint, String, Table, inspect, select
from sqlalchemy.engine import Connection

from caruso_storage import journal, search
from caruso_storage.database import WRITE_OPTION

VERSION_TABLE = "caruso_storage_alembic"
SCRIPTS = "caruso_storage:migrations"
HEAD = "0003"     # the latest migration's revision (a test holds it to Alembic's head)

# how SQLite's CREATE TABLE says a key is never given again
AUTOINCREMENT = re.compile(r"PRIMARY\s+KEY(?:\s+(?:ASC|DESC))?(?:\s+ON\s+CONFLICT\s+\w+)?\s+AUTOINCREMENT\b", re.I)

# Alembic's version table, as Alembic makes it
_versions = Table(VERSION_TABLE, MetaData(), Column("version_num", String(32), nullable=False),
                  PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"))


def upgrade_journal(engine: Engine) -> None:
    """Bring the journal tables on ``engine`` to :data:`HEAD`, in one transaction (MySQL and
    MariaDB commit each table made, so a first start cut short leaves some tables and no
    version: the next start makes the others, then writes the version)."""
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as connection, connection.begin():
        has_version = inspect(connection).has_table(VERSION_TABLE)
        version = connection.scalar(select(_versions.c.version_num)) if has_version else None
        if version == HEAD:
            return
        if version is None:                 # new: no migration ever ran here
            journal.metadata.create_all(connection)
            if not has_version:             # (a first start cut short may have made it)
                _versions.create(connection)
            connection.execute(_versions.insert().values(version_num=HEAD))
            return
        run_migrations(connection)


def run_migrations(connection: Connection) -> None:
    """Run the migrations the journal tables on ``connection`` lack (Alembic's ``upgrade head``)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPTS)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


@attrs.frozen
class Difference:
    """One thing a database lacks (or has otherwise) compared with the model."""

    text: str
    automatic: bool
    change: Any = attrs.field(repr=False, eq=False)

    def __str__(self) -> str:
        return self.text if self.automatic else f"{self.text} (not applied: change it by hand)"


def differences(connection: Connection, tables: list[Table]) -> list[Difference]:
    """What the database of ``connection`` needs to hold ``tables`` as the model defines them."""
    wanted = MetaData()
    for table in tables:
        table.to_metadata(wanted)
    names = {(table.schema, table.name) for table in tables}
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def include(item: Any, name: str | None, kind: str, reflected: bool, _other: Any) -> bool:
        if kind in ("index", "column"):
            return not (name or "").startswith(search.INDEX_PREFIX)   # made and kept by the search itself
        return kind != "table" or (item.schema, name) in names

    context = MigrationContext.configure(connection, opts={"include_object": include, "compare_type": True})
    found = [_difference(change) for change in compare_metadata(context, wanted)]
    by_hand = {_table_of(difference.change) for difference in found if not difference.automatic}
    for table in reusing_keys(connection, tables):       # rebuilt as the model says: only when all else fits
        text = f"~ table {table.name}: rebuild as AUTOINCREMENT (it gives a deleted record's key again)"
        after = table.name in by_hand
        found.append(Difference(text + (", once the change(s) above are made" if after else ""), not after,
                                ("rebuild_table", table)))
    return found


def reusing_keys(connection: Connection, tables: list[Table]) -> list[Table]:
    """Those of ``tables`` the model makes ``AUTOINCREMENT`` that a SQLite database has without it."""
    if connection.dialect.name != "sqlite":
        return []
    made = dict(connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all())
    return [table for table in tables if table.dialect_options["sqlite"]["autoincrement"]
            and table.name in made and not AUTOINCREMENT.search(made[table.name])]


def _table_of(change: Any) -> str | None:
    """The name of the table a difference Alembic found is about."""
    if change[0] in ("add_column", "remove_column") or change[0].startswith("modify_"):
        return change[2]
    if change[0] in ("add_index", "remove_index"):
        return change[1].table.name
    return None


def _rebuild(connection: Connection, table: Table) -> None:
    """Make ``table`` anew as the model defines it (the database's table differs from it in
    nothing else), keeping its rows, keys, indexes and triggers (SQLite: foreign keys are not
    enforced on caruso's connections, so the drop cascades nowhere; views and other tables'
    triggers naming the table are left as they are, ``legacy_alter_table``)."""
    kept = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN "
                                      "('index', 'trigger') AND sql IS NOT NULL", (table.name,)).scalars().all()
    quote = connection.dialect.identifier_preparer.quote
    copied = ", ".join(quote(c.name) for c in table.columns)
    interim = table.to_metadata(MetaData(), name=f"{table.name}__caruso_rebuild")
    interim.indexes.clear()                      # the old table's own are made again, by name
    interim.create(connection)
    connection.exec_driver_sql(f"INSERT INTO {quote(interim.name)} ({copied}) SELECT {copied} FROM {quote(table.name)}")
    connection.exec_driver_sql("PRAGMA legacy_alter_table = ON")     # a view naming it would fail the rename
    try:
        connection.exec_driver_sql(f"DROP TABLE {quote(table.name)}")
        connection.exec_driver_sql(f"ALTER TABLE {quote(interim.name)} RENAME TO {quote(table.name)}")
    finally:                                 # the connection goes back to the pool as it came
        connection.exec_driver_sql("PRAGMA legacy_alter_table = OFF")
    for statement in kept:
        connection.exec_driver_sql(statement)


def apply(connection: Connection, found: list[Difference]) -> list[Difference]:
    """Make the automatic differences; returns those applied."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    operations = Operations(MigrationContext.configure(connection))
    done = []
    for difference in found:
        if not difference.automatic:
            continue
        kind, *rest = difference.change
        if kind == "add_table":
            rest[0].create(connection)
        elif kind == "add_index":
            rest[0].create(connection)
        elif kind == "rebuild_table":
            _rebuild(connection, rest[0])
        else:
            schema, table, column = rest
            operations.add_column(table, Column(column.name, column.type, nullable=True), schema=schema)
        done.append(difference)
    return done


def _difference(change: Any) -> Difference:
    if isinstance(change, list):
        change = change[0]
        return Difference(f"~ column {change[2]}.{change[3]}: {change[0].replace('modify_', '')} "
                          f"{change[5]!s} -> {change[6]!s}", False, change)
    kind = change[0]
    if kind == "add_table":
        return Difference(f"+ table {change[1].name}", True, change)
    if kind == "add_index":
        return Difference(f"+ index {change[1].name} on {change[1].table.name}", True, change)
    if kind == "add_column":
        column = change[3]
        addable = column.nullable
        return Difference(f"+ column {change[2]}.{column.name}", addable, change)
    if kind in ("remove_column", "remove_index", "remove_table"):
        target = change[-1]
        return Difference(f"- {kind.split('_')[1]} {getattr(target, 'name', target)}", False, change)
    return Difference(f"~ {kind}", False, change)
