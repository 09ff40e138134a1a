"""Related objects read together with a page of records: ``include`` of ``query``.

``include`` names relations to follow from each record of the page, as a list of paths:
``["contract", "contract.holder", "readings"]``. Each record then holds, under the
relation's name, the related record (many-to-one: a record or None) or the list of them
(one-to-many, in key order), each with its own includes. A relation costs one SQL query
for the whole page (its keys in one ``IN``), never one per record; a one-to-many
relation may bring at most ``MAX_LIMIT`` records for a page (else InvalidInput: page
smaller). Many-to-many relations are navigated with ``related``.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Mapping

from sqlalchemy import tuple_
from sqlalchemy.engine import Connection

from caruso_core.errors import InvalidInput

from caruso_storage.model import ObjectType
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
            if relation is None or relation.kind == "many-to-many":
                known = ", ".join(n for n, r in current.relations.items() if r.kind != "many-to-many") or "none"
                raise InvalidInput(f"include: {item}: {current.name} has no many-to-one or one-to-many relation "
                                   f"{name!r} (relations: {known})")
            current, branch = objects[relation.target], branch.setdefault(name, {})
    return paths


def attach(records: Records, page: list[dict[str, Any]], paths: Tree, every: Mapping[str, Records],
           read: Callable[[str], contextlib.AbstractContextManager[Connection]]) -> list[dict[str, Any]]:
    """``page`` (records of ``records``) as plain data, each with the related objects of
    ``paths``; ``every`` holds the records of each object by name, ``read(database)`` gives a
    connection to read a database."""
    plain = [records.wire(record) for record in page]
    for name, below in paths.items():
        relation = records.obj.relations[name]
        target = every[relation.target]
        to_one = relation.kind == "many-to-one"
        holding, matched = (relation.foreign_key, target.key) if to_one else (records.key, relation.foreign_key)
        wanted = {values for record in page if None not in (values := tuple(record[part] for part in holding))}
        found: list[dict[str, Any]] = []
        if wanted:
            columns = [target.table.c[part] for part in matched]
            among = columns[0].in_([values[0] for values in wanted]) if len(columns) == 1 \
                else tuple_(*columns).in_(list(wanted))
            with read(target.obj.database) as connection:
                found = target.select(connection, None, None, MAX_LIMIT, 0, among)
                if len(found) == MAX_LIMIT and target.select(connection, None, None, 1, MAX_LIMIT, among):
                    raise InvalidInput(f"include: {name} brings more than {MAX_LIMIT} {target.obj.name} objects "
                                       "for this page: ask for a smaller page")
        shown = attach(target, found, below, every, read)
        grouped: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for record, plain_record in zip(found, shown):
            grouped.setdefault(tuple(record[part] for part in matched), []).append(plain_record)
        for record, plain_record in zip(page, plain):
            related = grouped.get(tuple(record[part] for part in holding), [])
            plain_record[name] = (related[0] if related else None) if to_one else related
    return plain

