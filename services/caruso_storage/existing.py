"""Existing tables as the database holds them: names found as the database folds them, and
the columns compared with what the model maps onto them.

A table or column name of the model is looked up as written; when the database has none of
that name, the one equal to it but for case is taken. So one model maps one schema on every
database, whatever each did to the names it was given without quotes: PostgreSQL folds them
to lower case (``KUNDE_STAMM`` is ``kunde_stamm``), MySQL and MariaDB keep them as written
(and compare column names ignoring case), SQLite keeps them. Two names equal but for case
are refused: the model must give the exact one. The link tables of an existing object's
many-to-many relations, and their columns, are found the same way.

A column fits an attribute when its type holds the attribute's values through the declared
conversion: text for flags, padded text and dates held as text; integers for cents and
dates held as numbers; a date, time or datetime column for such an attribute without a
conversion (a date held as text or a number needs its stored form declared); text at least
as long as the values written into it.
"""
from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import Boolean, Date, DateTime, Engine, Float, Integer, Numeric, String, Time, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from caruso_core.errors import ConfigError

from caruso_storage.model import Attribute, Model, ObjectType, Relation
from caruso_storage.patterns import Pattern

# what kinds of column hold each attribute type without a conversion
HOLDS = {"string": ("text",), "text": ("text",), "integer": ("integer",),
         "decimal": ("decimal", "integer", "float"), "float": ("float", "decimal", "integer"),
         "boolean": ("boolean", "integer"), "date": ("date", "datetime"), "datetime": ("datetime",),
         "time": ("time",)}
CONVERTED = {"flag": ("text",), "padded": ("text",), "cents": ("integer",), "text": ("text",),
             "number": ("integer",)}


@attrs.frozen
class Found:
    """The existing tables of a database: the objects with the names the database uses, the
    column types by object and attribute name, and what does not fit the model."""

    objects: dict[str, ObjectType]
    types: dict[str, dict[str, TypeEngine[Any]]]
    problems: list[str]


def kind(column_type: TypeEngine[Any]) -> str | None:
    """The kind of values a column type holds (None: a type this module does not judge)."""
    for kinds, name in ((Boolean, "boolean"), (Integer, "integer"), (Float, "float"), (DateTime, "datetime"),
                        (Date, "date"), (Time, "time"), (String, "text")):
        if isinstance(column_type, kinds):
            return name
    if isinstance(column_type, Numeric):
        return "integer" if column_type.scale == 0 else "decimal"
    return None


def resolve(model: Model, engines: dict[str, Engine]) -> tuple[Model, dict[str, dict[str, TypeEngine[Any]]]]:
    """The model with the names its existing tables have in the databases, and the column types
    of those tables by object and attribute name; ConfigError (one line) if anything misfits."""
    objects, types, problems = dict(model.objects), {}, []
    for name in model.databases:
        found = find(model, name, engines[name])
        objects.update(found.objects)
        types.update(found.types)
        problems += found.problems
    if problems:
        raise ConfigError("; ".join(problems))
    return attrs.evolve(model, objects=objects), types


def find(model: Model, database: str, engine: Engine) -> Found:
    """The existing tables of ``database`` the model maps, and every way they do not fit it
    (``caruso model diff`` lists them all): a missing or ambiguously named table or column,
    a column that cannot hold its attribute."""
    inspector = inspect(engine)
    objects, types, problems = {}, {}, []
    for obj in model.objects.values():
        if obj.database != database or not obj.existing:
            continue
        where = f"{obj.source}:{obj.line}: object {obj.name}"
        tables = inspector.get_table_names(schema=obj.schema) + inspector.get_view_names(schema=obj.schema)
        table, problem = _named(obj.table, tables, "table")
        if table is None:
            shown = engine.url.render_as_string(hide_password=True)
            problems.append(f"{where}: " + (problem or f"table {obj.table!r} does not exist in database {database} "
                                                       f"({shown})"))
            continue
        columns = {column["name"]: column["type"] for column in inspector.get_columns(table, schema=obj.schema)}
        attributes, types[obj.name] = {}, {}
        for name, attribute in obj.attributes.items():
            named = []
            for column in attribute.columns:
                found, problem = _named(column, columns, "column")
                if found is None:
                    problems.append(f"{where}: " + (problem or f"table {table!r} has no column {column!r}")
                                    + f" (for {name}; columns: {', '.join(sorted(columns))})")
                else:
                    named.append(found)
            if len(named) < len(attribute.columns):
                continue
            attributes[name] = attrs.evolve(attribute, column=named[0],
                                            time_column=named[1] if len(named) > 1 else None)
            types[obj.name][name] = columns[named[0]]
            problems += [f"{obj.source}:{attribute.line}: {obj.name}.{name}: {problem}"
                         for problem in _misfits(attribute, table, named, [columns[c] for c in named], engine.dialect)]
        relations = {}
        for relation in obj.relations.values():
            if relation.kind == "many-to-many":
                linked, trouble = _link(obj, relation, tables, inspector)
                relations[relation.name] = linked or relation
                problems += trouble
        objects[obj.name] = attrs.evolve(obj, table=table, attributes={**obj.attributes, **attributes},
                                         relations={**obj.relations, **relations})
    return Found(objects, types, problems)


def _link(obj: ObjectType, relation: Relation, tables: list[str], inspector: Any) -> tuple[Relation | None, list[str]]:
    """The many-to-many ``relation`` of ``obj`` with the names its link table and columns have
    in the database, or None and why not."""
    where = f"{relation.source}:{relation.line}: {obj.name}.{relation.name}"
    table, problem = _named(relation.through or "", tables, "table")
    if table is None:
        return None, [f"{where}: " + (problem or f"link table {relation.through!r} does not exist")]
    present = [column["name"] for column in inspector.get_columns(table, schema=obj.schema)]
    named, problems = {}, []
    for column in relation.source_columns + relation.target_columns:
        found, problem = _named(column, present, "column")
        if found is None:
            problems.append(f"{where}: " + (problem or f"link table {table!r} has no column {column!r}")
                            + f" (columns: {', '.join(sorted(present))})")
        named[column] = found
    if problems:
        return None, problems
    return attrs.evolve(relation, through=table, source_columns=tuple(named[c] for c in relation.source_columns),
                        target_columns=tuple(named[c] for c in relation.target_columns)), []


def _named(name: str, present: Any, what: str) -> tuple[str | None, str | None]:
    """The name in ``present`` that ``name`` means, or None and why when two differ from it
    only in case (None and None: there is none)."""
    if name in present:
        return name, None
    folded = [other for other in present if other.lower() == name.lower()]
    if len(folded) > 1:
        return None, f"{what} {name!r} matches {', '.join(map(repr, sorted(folded)))} but for case: give the exact name"
    return (folded[0], None) if folded else (None, None)


def _misfits(attribute: Attribute, table: str, columns: list[str], types: list[TypeEngine[Any]],
             dialect: Dialect) -> list[str]:
    """What keeps the columns from holding the attribute's values, one line each."""
    found = []
    for index, (column, column_type) in enumerate(zip(columns, types)):
        held = kind(column_type)
        if held is None:
            continue
        shown = f"column {table}.{column} is {column_type.compile(dialect=dialect)}"
        wanted = CONVERTED[attribute.convert] if attribute.convert else HOLDS[attribute.type]
        if held not in wanted:
            if attribute.convert is None and attribute.type in ("date", "datetime", "time") \
                    and held in ("text", "integer"):
                form = "text" if held == "text" else "number"
                found.append(f"{shown}: type=\"{attribute.type}\" on it needs its stored form declared, "
                             f"convert=\"{form}\" format=\"...\" (see docs/model-format.md)")
            else:
                found.append(f"{shown}, which cannot hold "
                             + (f"convert=\"{attribute.convert}\"" if attribute.convert else attribute.type)
                             + " values")
            continue
        length, written = getattr(column_type, "length", None), _written_length(attribute, index)
        if held == "text" and length is not None and (written is None or written > length):
            found.append(f"{shown}, shorter than the values of the model "
                         f"({'of any length' if written is None else f'up to {written} characters'})")
    return found


def _written_length(attribute: Attribute, index: int) -> int | None:
    """The longest text the attribute writes into its ``index``-th column (None: any)."""
    if attribute.convert == "flag":
        return max(len(attribute.true_value), len(attribute.false_value))
    if attribute.convert == "text":
        pattern = attribute.format if index == 0 else attribute.time_format
        kind_of = "time" if index else "date" if attribute.time_column else attribute.type
        return Pattern.parse(pattern or "", kind_of, attribute.pivot).width
    return attribute.length
