"""Related objects read together with a page of records: ``include`` of ``query``.

``include`` names relations to follow from each record of the page, as a list of paths:
``["contract", "contract.holder", "readings", "tags"]``. Each record then holds, under the
relation's name, the related record (many-to-one: a record or None) or the list of them
(one-to-many and many-to-many, in key order), each with its own includes. A relation
costs one SQL query for the whole page (its keys in one ``IN``; many-to-many joins the
link table in that query), never one per record; a relation may bring at most
``MAX_LIMIT`` records for a page (else InvalidInput: ask for a smaller page).
"""
from __future__ import annotations

import contextlib
import operator
from typing import Any, Callable, Mapping

from sqlalchemy import Table, and_, bindparam, tuple_
from sqlalchemy.engine import Connection

from caruso_core.errors import InvalidInput

from caruso_storage.model import ObjectType, Relation
from caruso_storage.records import MAX_LIMIT, Records

MAX_PATHS = 10
MAX_DEPTH = 3
Tree = dict[str, "Tree"]


def tree(obj: ObjectType, objects: Mapping[str, ObjectType], include: Any) -> Tree:
    """The checked relation paths of ``include`` as a tree of relation names."""
    if include is None:
        return {}
    if not isinstance(include, list) or len(include) > MAX_PATHS:
        raise InvalidInput(f"include: a list of at most {MAX_PATHS} relation paths (\"contract.holder\")")
    paths: Tree = {}
    for item in include:
        names = item.split(".") if isinstance(item, str) else []
        if not names or len(names) > MAX_DEPTH:
            raise InvalidInput(f"include: {item!r} is no path of 1 to {MAX_DEPTH} relation names")
        current, branch = obj, paths
        for name in names:
            relation = current.relations.get(name)
            if relation is None:
                raise InvalidInput(f"include: {item}: {current.name} has no relation {name!r} "
                                   f"(relations: {', '.join(current.relations) or 'none'})")
            current, branch = objects[relation.target], branch.setdefault(name, {})
    return paths


def attach(records: Records, page: list[dict[str, Any]], paths: Tree, every: Mapping[str, Records],
           links: Mapping[tuple[str, str], Table],
           read: Callable[[str], contextlib.AbstractContextManager[Connection]]) -> list[dict[str, Any]]:
    """``page`` (records of ``records``, given away) as plain data, each with the related objects of
    ``paths``; ``every`` holds the records of each object by name, ``links`` the link table
    of each many-to-many relation by (object, relation), ``read(database)`` gives a
    connection to read a database."""
    relations = {name: records.obj.relations[name] for name in paths}
    # what holds each relation (its foreign key, else the record's key), read before the page turns plain
    holding = {name: relation.foreign_key if relation.kind == "many-to-one" else records.key
               for name, relation in relations.items()}
    held = {name: list(map(operator.itemgetter(*parts), page)) for name, parts in holding.items()}
    plain = records.plain(page)
    for name, below in paths.items():
        relation = relations[name]
        target = every[relation.target]
        to_one = relation.kind == "many-to-one"
        wanted = _complete(held[name], len(holding[name]))
        found: list[dict[str, Any]] = []
        holders: list[Any] = []
        if wanted:
            with read(target.obj.database) as connection:
                found, holders = _related(connection, relation, target, links.get((records.obj.name, name)), wanted)
            if len(found) > MAX_LIMIT:
                raise InvalidInput(f"include: {name} brings more than {MAX_LIMIT} {target.obj.name} objects "
                                   "for this page: ask for a smaller page")
        related = attach(target, found, below, every, links, read)
        if to_one:
            by_key = dict(zip(holders, related))
            for holder, plain_record in zip(held[name], plain):
                plain_record[name] = by_key.get(holder)
            continue
        grouped: dict[Any, list[dict[str, Any]]] = {}
        for holder, plain_record in zip(holders, related):
            grouped.setdefault(holder, []).append(plain_record)
        for holder, plain_record in zip(held[name], plain):
            plain_record[name] = grouped.get(holder, [])
    return plain


def _complete(held: list[Any], parts: int) -> set[Any]:
    """The holder values of ``held`` (a value for a single part, else a tuple) that lack no part."""
    if parts == 1:
        return {value for value in held if value is not None}
    return {values for values in held if None not in values}


def _related(connection: Connection, relation: Relation, target: Records, link: Table | None,
             wanted: set[Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """Up to ``MAX_LIMIT`` + 1 records of ``target`` that ``relation`` leads to from the
    holders ``wanted`` (values of a single holder column, else tuples), in key order, and
    each one's holder: one SQL query."""
    if relation.kind == "many-to-many":
        assert link is not None
        holders = [link.c[column] for column in relation.source_columns]
        joined = and_(*(link.c[column] == target.table.c[part]
                        for column, part in zip(relation.target_columns, target.key)))
        return target.select_among(connection, _among(holders, wanted), MAX_LIMIT + 1, link, joined, holders)
    matched = target.key if relation.kind == "many-to-one" else relation.foreign_key
    found, _ = target.select_among(connection, _among([target.table.c[part] for part in matched], wanted),
                                   MAX_LIMIT + 1)
    return found, list(map(operator.itemgetter(*matched), found))


def _among(columns: list[Any], wanted: set[Any]) -> Any:
    """``columns`` holding one of the values ``wanted`` (of a single column, else tuples); the
    values of a single column go as one expanding parameter of its type."""
    if len(columns) == 1:
        return columns[0].in_(bindparam("among", list(wanted), expanding=True, type_=columns[0].type))
    return tuple_(*columns).in_(list(wanted))
