"""Schema changes: the service's own tables through Alembic, new model tables by comparison.

``upgrade_journal`` brings the service's own tables (contact history, rule log, due
runs, outbox) to the latest migration. ``differences`` compares the tables caruso owns in a database (new
objects and their link tables) with what the database has; ``apply`` creates what
is missing (tables, columns, indexes) and leaves everything else (type changes,
removals) to a person, listed as manual steps. The indexes and FTS5 tables of full-text
searches are the storage's own (:mod:`caruso_storage.search`), not compared.
"""
from __future__ import annotations

from typing import Any

import attrs
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Column, Engine, MetaData, Table
from sqlalchemy.engine import Connection

from caruso_storage import search
from caruso_storage.database import WRITE_OPTION

VERSION_TABLE = "caruso_storage_alembic"
SCRIPTS = "caruso_storage:migrations"


def upgrade_journal(engine: Engine) -> None:
    """Run the storage service's migrations on ``engine`` up to the latest."""
    config = Config()
    config.set_main_option("script_location", SCRIPTS)
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as connection, connection.begin():
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

    def include(item: Any, name: str | None, kind: str, reflected: bool, _other: Any) -> bool:
        if kind in ("index", "column"):
            return not (name or "").startswith(search.INDEX_PREFIX)   # made and kept by the search itself
        return kind != "table" or (item.schema, name) in names

    context = MigrationContext.configure(connection, opts={"include_object": include, "compare_type": True})
    return [_difference(change) for change in compare_metadata(context, wanted)]


def apply(connection: Connection, found: list[Difference]) -> list[Difference]:
    """Make the automatic differences; returns those applied."""
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
