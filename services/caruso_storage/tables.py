"""The modeler: SQLAlchemy Core tables of a model, one MetaData per database.

Columns carry the attribute name as their ``key`` (``table.c.<attribute>``), so a
renamed column is used by its attribute name everywhere; the time column of a datetime
held in two columns has the key :func:`time_key` of its attribute. Tables of new objects
get the integer version column of caruso; tables of existing objects are mapped
as they are (no DDL is ever emitted for them).

On MySQL and MariaDB, tables caruso makes hold utf8mb4 text compared as it is
(``utf8mb4_bin``: case and accents matter, as on SQLite and PostgreSQL), text without
a length is ``LONGTEXT`` and datetimes keep their microseconds.
"""
from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import (Boolean, Column, Date, DateTime, Float, Index, Integer, MetaData, String, Table, Text,
                        Time)
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.types import TypeEngine

from caruso_storage.conversions import Cents, Decimals, Flag, Padded, Stored
from caruso_storage.model import VERSION_COLUMN, Attribute, Model, ObjectType, Relation
from caruso_storage.patterns import Pattern

VERSION_KEY = "_version"
SECONDS_FORMAT = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
MYSQL = ("mysql", "mariadb")
MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


@attrs.frozen
class Schema:
    """The tables of a model: per database its MetaData; per object its table; link tables."""

    metadata: dict[str, MetaData]
    tables: dict[str, Table]
    links: dict[tuple[str, str], Table]

    def new_tables(self, model: Model, database: str) -> list[Table]:
        """Tables of ``database`` that caruso creates: new objects and their link tables."""
        owned = [self.tables[o.name] for o in model.objects.values() if o.database == database and not o.existing]
        owned += [link for (owner, _), link in self.links.items()
                  if model.objects[owner].database == database and not model.objects[owner].existing]
        return list(dict.fromkeys(owned))


def build(model: Model) -> Schema:
    """Tables of every object of ``model``."""
    metadata = {name: MetaData() for name in model.databases}
    tables = {obj.name: _table(obj, metadata[obj.database]) for obj in model.objects.values()}
    links = {}
    for obj in model.objects.values():
        for relation in obj.relations.values():
            if relation.kind == "many-to-many":
                links[(obj.name, relation.name)] = _link(obj, model.objects[relation.target], relation,
                                                          metadata[obj.database])
    return Schema(metadata, tables, links)


def column_type(attribute: Attribute, existing: bool = False) -> TypeEngine[Any]:
    """The column type of an attribute, with its legacy conversion if any.

    Datetimes of existing SQLite tables are written as ``YYYY-MM-DD HH:MM:SS``, the
    common legacy form, so that stored and compared values agree.
    """
    if attribute.type == "datetime" and existing and attribute.convert is None:
        return DateTime().with_variant(sqlite.DATETIME(storage_format=SECONDS_FORMAT), "sqlite")
    if attribute.convert == "flag":
        return Flag(attribute.true_value, attribute.false_value,
                    max(len(attribute.true_value), len(attribute.false_value)), attribute.ignore_case, attribute.unknown)
    if attribute.convert == "cents":
        return Cents(attribute.scale or 0)
    if attribute.convert == "padded":
        return Padded(attribute.length or 0)
    if attribute.format is not None:
        kind = "date" if attribute.time_column else attribute.type
        return Stored(Pattern.parse(attribute.format, kind, attribute.pivot), attribute.convert == "number",
                      attribute.empty)
    return {"string": lambda: String(attribute.length) if attribute.length
            else String().with_variant(mysql.LONGTEXT(), *MYSQL),
            "text": lambda: Text().with_variant(mysql.LONGTEXT(), *MYSQL),
            "integer": Integer, "float": Float, "boolean": Boolean, "date": Date,
            "datetime": lambda: DateTime().with_variant(mysql.DATETIME(fsp=6), *MYSQL),
            "time": lambda: Time().with_variant(mysql.TIME(fsp=6), *MYSQL),
            "decimal": lambda: Decimals(attribute.precision, attribute.scale)}[attribute.type]()


def time_key(name: str) -> str:
    """The key of the time column of the datetime attribute ``name`` held in two columns
    (no attribute name contains a blank)."""
    return f"{name} time"


def time_column_type(attribute: Attribute) -> Stored:
    """The type of the time column of a datetime held in two columns: empty when the date
    is (zeros or blanks as the date's declared ``empty``, else NULL)."""
    pattern = Pattern.parse(attribute.time_format or "", "time")
    number = attribute.convert == "number"
    empty = None
    if attribute.empty is not None and not attribute.empty.strip(" 0"):
        empty = "0" if number else ("0" if attribute.empty.strip() else " ") * pattern.width
    return Stored(pattern, number, empty)


def _table(obj: ObjectType, metadata: MetaData) -> Table:
    columns = [Column(a.column, column_type(a, obj.existing), key=a.name, primary_key=a.key,
                      autoincrement=a.generated if a.key else False,
                      nullable=not (a.required or a.key))
               for a in obj.attributes.values()]
    columns += [Column(a.time_column, time_column_type(a), key=time_key(a.name))
                for a in obj.attributes.values() if a.time_column is not None]
    if obj.versioned:
        columns.append(Column(VERSION_COLUMN, Integer, key=VERSION_KEY, nullable=False, default=1))
    # a table caruso makes never gives a deleted record's key again (SQLite would: the highest
    # plus one), so a form or a replayed request naming it cannot reach a newer record
    made = {} if obj.existing else {**MYSQL_TABLE,
                                    "sqlite_autoincrement": any(a.generated for a in obj.attributes.values())}
    table = Table(obj.table, metadata, *columns, schema=obj.schema, **made)
    for index in obj.indexes:
        Index(index.name, *(table.c[name] for name in index.attributes), unique=index.unique)
    return table


def _link(source: ObjectType, target: ObjectType, relation: Relation, metadata: MetaData) -> Table:
    known = metadata.tables.get(f"{source.schema}.{relation.through}" if source.schema else relation.through)
    if known is not None:
        return known
    columns = [Column(name, column_type(source.attributes[key]), primary_key=True)
               for name, key in zip(relation.source_columns, source.key)]
    columns += [Column(name, column_type(target.attributes[key]), primary_key=True)
                for name, key in zip(relation.target_columns, target.key)]
    return Table(relation.through, metadata, *columns, schema=source.schema, **MYSQL_TABLE)
