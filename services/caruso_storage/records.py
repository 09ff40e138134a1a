"""Records of one object type in one table: keys, versions, and the statements on them.

A :class:`Records` works inside a connection given by the caller (who owns the
transaction). Values are Python values (see :mod:`caruso_storage.values`); a
record is a dict of every attribute, plus ``_version`` when the object has a version
column; a record as plain data (:meth:`Records.wire`) always holds its ``_version``
(:meth:`Records.version`). Filters and orderings go
through each attribute's :mod:`~caruso_storage.fields`; a datetime held in two columns
is read from both and written to both. ``limits`` (from :mod:`caruso_storage.limits`)
refuse values the columns cannot hold; the model's duplicate checks
(:mod:`caruso_storage.checks`) run on each record written, within the transaction.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import operator
import re
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import Table, and_, bindparam, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from caruso_core.errors import Conflict, InvalidInput, NotFound
from caruso_core.zones import UTC

from caruso_storage import filters, values
from caruso_storage.checks import Duplicates
from caruso_storage.fields import fields_of
from caruso_storage.model import Condition, ObjectType
from caruso_storage.tables import VERSION_KEY, time_key

MAX_LIMIT = 10_000


class Records:
    """Create, read, update, delete and query the objects of one type; ``today`` (a default
    or a bound) is the day in the business's time ``zone``."""

    def __init__(self, obj: ObjectType, table: Table,
                 limits: dict[str, Callable[[Any], None]] | None = None, zone: dt.tzinfo = UTC) -> None:
        self.obj = obj
        self.zone = zone
        self.table = table
        self.names = list(obj.attributes)
        self.key = obj.key
        self.fields = fields_of(obj, table)
        self.limits = dict(limits or {})
        self._columns = [table.c[name] for name in self.names]
        self._times = [(name, len(self._columns) + index) for index, name in
                       enumerate(a.name for a in obj.attributes.values() if a.time_column is not None)]
        self._columns += [table.c[time_key(name)] for name, _ in self._times]
        if obj.versioned:
            self._columns.append(table.c[VERSION_KEY])
        self._version_at = len(self._columns) - 1   # where a row of these columns holds the version
        self._values_of = operator.itemgetter(*self.names)
        self._generated = next((a.name for a in obj.attributes.values() if a.generated), None)
        self._decoders = {name: values.decoder(attribute) for name, attribute in obj.attributes.items()}
        self._bounded = [attribute for attribute in obj.attributes.values()
                         if attribute.minimum is not None or attribute.maximum is not None]
        self._paired = [(attribute, obj.attributes[name], least) for attribute in obj.attributes.values()
                        for name, least in ((attribute.minimum_field, True), (attribute.maximum_field, False))
                        if name is not None]
        self._as_given = {name: check for name, attribute in obj.attributes.items()
                          if (check := values.as_given(attribute)) is not None}
        self._moving = [attribute for attribute in obj.attributes.values() if attribute.default_moves]
        moving = {attribute.name for attribute in self._moving}
        self._defaults = {name: attribute.default for name, attribute in obj.attributes.items() if name not in moving}
        self._required = [a.name for a in obj.attributes.values() if (a.required or a.key) and not a.generated]
        self._encoders = [(name, encode) for name, attribute in obj.attributes.items()
                          if (encode := values.encoder(attribute)) is not None]
        self._insert_plans: dict[str, tuple[str, list[str], list[tuple[int, Any]]]] = {}
        self._index_columns: dict[str, list[str]] = {}   # columns of unique indexes the model does not declare
        self._duplicates = Duplicates(obj, table, self._columns, self._record) if obj.uniques else None
        self._by_key = select(*self._columns).where(*(table.c[name] == bindparam(f"key_{name}") for name in self.key))

    def key_of(self, key: Any) -> dict[str, Any]:
        """The key values of a key given as a scalar (single-attribute key) or a dict."""
        if not isinstance(key, dict):
            if len(self.key) != 1:
                raise InvalidInput(f"{self.obj.name}: the key is a dict of {', '.join(self.key)}")
            key = {self.key[0]: key}
        if set(key) != set(self.key):
            raise InvalidInput(f"{self.obj.name}: the key is a dict of exactly {', '.join(self.key)}")
        decoded = {name: values.decode(self.obj.attributes[name], key[name], strict=False) for name in self.key}
        if any(value is None for value in decoded.values()):
            raise InvalidInput(f"{self.obj.name}: a key has no missing parts")
        self.check_limits(decoded)
        return decoded

    def key_value(self, record: dict[str, Any]) -> Any:
        """The key of a record in the form callers pass it (scalar for a single-attribute key)."""
        return record[self.key[0]] if len(self.key) == 1 else {name: record[name] for name in self.key}

    def decode(self, data: Any, into: dict[str, Any] | None = None, bounded: bool = True) -> dict[str, Any]:
        """Attribute values given by a caller, checked and decoded (unknown names refused),
        written over ``into`` when given; ``bounded``: within their attributes' ranges too."""
        if not isinstance(data, dict):
            raise InvalidInput(f"{self.obj.name}: values must be a dict of attribute names")
        decoded = {} if into is None else into
        as_given, decoders = self._as_given, self._decoders
        for name, value in data.items():
            # the common case inline: a value of the attribute's own type, within length and choices
            check = as_given.get(name)
            if (check is not None and type(value) is check[0] and (check[1] is None or len(value) <= check[1])
                    and (check[2] is None or value in check[2])):
                decoded[name] = value
                continue
            if name not in decoders:
                unknown = [name for name in data if name not in decoders]
                raise InvalidInput(f"{self.obj.name} has no attribute(s) {', '.join(map(str, unknown))} "
                                   f"(attributes: {', '.join(self.names)})")
            decoded[name] = decoders[name](value)
        if self.limits:
            self.check_limits(decoded)
        if bounded:
            self.check_bounds(decoded, data)
        return decoded

    def check_bounds(self, decoded: dict[str, Any], names: Any) -> None:
        """Refuse the values of ``names`` outside their attributes' min and max."""
        for attribute in self._bounded:
            if attribute.name in names and decoded.get(attribute.name) is not None:
                values.within(attribute, decoded[attribute.name], self.zone)

    def check_pairs(self, record: dict[str, Any], changed: Any = None) -> None:
        """Refuse a value beyond another attribute's its ``min`` or ``max`` names, in the complete
        ``record``; with ``changed`` (names), only pairs where one of them changed, the refusal
        naming the changed one (this one when both did)."""
        for attribute, other, least in self._paired:
            value, other_value = record.get(attribute.name), record.get(other.name)
            if value is None or other_value is None:
                continue
            if changed is None or attribute.name in changed:
                values.beside(attribute, value, other, other_value, least, self.zone)
            elif other.name in changed:
                values.beside(other, other_value, attribute, value, not least, self.zone)

    def check_limits(self, decoded: dict[str, Any]) -> None:
        """Refuse values their columns cannot hold (InvalidInput naming the attribute)."""
        for name, check in self.limits.items():
            value = decoded.get(name)
            if value is not None:
                check(value)

    def new(self, data: Any) -> dict[str, Any]:
        """A complete new record from a caller's values: defaults filled in (one that moves,
        ``today`` or ``now``, within its attribute's bounds), required checked."""
        defaults = self._defaults.copy()
        for attribute in self._moving:
            defaults[attribute.name] = values.current(attribute, self.zone)
        record = self.decode(data, defaults)
        for attribute in self._moving:
            if attribute.name not in data:
                values.within(attribute, record[attribute.name], self.zone)
        self._check_required(record)
        if self._paired:
            self.check_pairs(record)
        return record

    def wire(self, record: dict[str, Any]) -> dict[str, Any]:
        """A record as plain data (decimals, dates and datetimes as strings), with its version."""
        return self.plain([record.copy()])[0]

    def plain(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``records``, given away (each is changed in place), as plain data with their versions."""
        encoders = self._encoders
        if encoders:
            for record in records:
                for name, encode in encoders:
                    value = record[name]
                    if value is not None:
                        record[name] = encode(value)
        if not self.obj.versioned:
            for record, version in zip(records, versions(map(self._values_of, records))):
                record[VERSION_KEY] = version
        return records

    def version(self, record: dict[str, Any]) -> Any:
        """The version of a record: its version column's value, else the digest of its plain values."""
        return record[VERSION_KEY] if self.obj.versioned else self.wire(record)[VERSION_KEY]

    def _check_required(self, record: dict[str, Any]) -> None:
        missing = [name for name in self._required if record.get(name) is None]
        if missing:
            raise InvalidInput(f"{self.obj.name}: {', '.join(missing)} required")

    def insert(self, connection: Connection, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert complete records (from :meth:`new`); returns them with generated keys and versions."""
        groups: dict[bool, list[dict[str, Any]]] = {}
        for record in records:
            if self.obj.versioned:
                record[VERSION_KEY] = 1
            groups.setdefault(self._generated is not None and record[self._generated] is None, []).append(record)
        for generate, rows in groups.items():
            try:
                if generate and connection.dialect.name == "sqlite":
                    first = self._next_sqlite_key(connection)
                    for offset, row in enumerate(rows):
                        row[self._generated] = first + offset
                    self._insert_complete(connection, rows)
                elif generate:
                    for row in rows:
                        del row[self._generated]
                    result = connection.execute(
                        self.table.insert().returning(self.table.c[self._generated], sort_by_parameter_order=True),
                        self._stored(rows))
                    for row, (generated,) in zip(rows, result):
                        row[self._generated] = generated
                else:
                    self._insert_complete(connection, rows)
            except IntegrityError as error:
                raise self._refused(connection, error) from None
        if self._duplicates is not None:
            for record in records:
                self._duplicates.check(connection, record)
        return records

    def _insert_complete(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        """Insert rows holding every attribute. On a positional DB-API (SQLite) this is one
        ``executemany`` of an INSERT compiled once per dialect, each column's values passed
        through the column type's own bind processor (so conversions such as 'J'/'N' flags
        still apply); SQLAlchemy's generic path would rebuild every row's parameters."""
        dialect = connection.dialect
        rows = self._stored(rows)
        if not dialect.positional:
            connection.execute(self.table.insert(), rows)
            return
        plan = self._insert_plans.get(dialect.name)
        if plan is None:
            plan = self._insert_plans[dialect.name] = _positional_insert(self.table, dialect)
        sql, keys, processors = plan
        parameters = [[row[key] for key in keys] for row in rows]
        for index, process in processors:
            for row_values in parameters:
                row_values[index] = process(row_values[index])
        connection.exec_driver_sql(sql, list(map(tuple, parameters)))

    def _next_sqlite_key(self, connection: Connection) -> int:
        """The key SQLite would give the next row: above every key in the table and every key
        it ever gave (``sqlite_sequence``). Writers hold SQLite's write lock (``BEGIN
        IMMEDIATE``), so the keys allocated here stay free until commit; a whole batch then
        goes in one ``executemany`` instead of a statement per row."""
        column = self.table.c[self._generated]
        highest = connection.execute(select(func.max(column))).scalar() or 0
        has_sequence = connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'").first()
        if has_sequence:
            issued = connection.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?",
                                                (self.table.name,)).scalar()
            highest = max(highest, issued or 0)
        return highest + 1

    def fetch(self, connection: Connection, key: dict[str, Any], *, lock: bool = False) -> dict[str, Any]:
        """The record with ``key`` (NotFound if none); ``lock`` holds it for this transaction."""
        statement = self._by_key.with_for_update() if lock else self._by_key
        row = connection.execute(statement, {f"key_{name}": value for name, value in key.items()}).first()
        if row is None:
            raise NotFound(f"{self.obj.name} {_shown(key)} does not exist")
        return self._record(row)

    def update(self, connection: Connection, key: dict[str, Any], data: Any,
               version: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Change attributes of the record with ``key``; returns (old record, new record)."""
        changes = self.decode(data, bounded=False)
        for name in self.key:
            if name in changes and changes[name] != key[name]:
                raise InvalidInput(f"{self.obj.name}: the key attribute {name} cannot change")
        old = self.fetch(connection, key, lock=True)
        self._check_version(key, old, version)
        # a value stored before its bound was declared may be given back unchanged (a form's other fields)
        changed = [name for name, value in changes.items() if value != old.get(name)]
        self.check_bounds(changes, changed)
        new = {**old, **changes}
        self._check_required(new)
        if self._paired:
            self.check_pairs(new, changed)
        assignments = dict(changes)
        where = self._where_key(key)
        if self.obj.versioned:
            assignments[VERSION_KEY] = old[VERSION_KEY] + 1
            where = and_(where, self.table.c[VERSION_KEY] == old[VERSION_KEY])
        if assignments:
            try:
                result = connection.execute(self.table.update().where(where).values(self._stored([assignments])[0]))
            except IntegrityError as error:
                raise self._refused(connection, error) from None
            if result.rowcount != 1:
                raise Conflict(f"{self.obj.name} {_shown(key)} was changed by someone else; read it again")
            if self._duplicates is not None:
                self._duplicates.check(connection, new, [name for name in changes if changes[name] != old[name]])
        if self.obj.versioned:
            new[VERSION_KEY] = assignments.get(VERSION_KEY, old[VERSION_KEY])
        return old, new

    def delete(self, connection: Connection, key: dict[str, Any], version: Any = None) -> dict[str, Any]:
        """Delete the record with ``key``; returns it as it was."""
        old = self.fetch(connection, key, lock=True)
        self._check_version(key, old, version)
        try:
            connection.execute(self.table.delete().where(self._where_key(key)))
        except IntegrityError as error:
            raise self._refused(connection, error) from None
        return old

    def select(self, connection: Connection, condition: Condition | None, order_by: Any = None,
               limit: Any = 100, offset: Any = 0, also: Any = None, source: Any = None,
               ranking: list[Any] | None = None) -> list[dict[str, Any]]:
        """Records matching ``condition`` (and the SQL expression ``also``), ordered (default: by key)
        after the SQL orderings ``ranking``, paged; ``source``: the table joined to others."""
        limit, offset = page(limit, offset)
        statement = select(*self._columns).where(filters.to_sql(condition, self.fields))
        if source is not None:
            statement = statement.select_from(source)
        if also is not None:
            statement = statement.where(also)
        statement = statement.order_by(*(ranking or ()), *self._order(order_by)).limit(limit)
        if offset:
            statement = statement.offset(offset)
        return [self._record(row) for row in connection.execute(statement).all()]

    def select_among(self, connection: Connection, among: Any, limit: int, link: Table | None = None,
                     joined: Any = None, holders: list[Any] | None = None
                     ) -> tuple[list[dict[str, Any]], list[Any]]:
        """Up to ``limit`` records matching the SQL expression ``among``, in key order, and the
        values of the columns ``holders`` (of ``link`` joined on ``joined``) for each (a value
        for a single column, else a tuple): the records related to several others, read at once."""
        table = self.table if link is None else self.table.join(link, joined)
        statement = select(*self._columns, *(holders or ())).select_from(table).where(among)
        rows = connection.execute(statement.order_by(*self._order(None)).limit(limit)).all()
        width = len(self._columns)
        if not holders:
            return [self._record(row) for row in rows], []
        held = [row[width] for row in rows] if len(holders) == 1 else [row[width:] for row in rows]
        return [self._record(row) for row in rows], held

    def count(self, connection: Connection, condition: Condition | None) -> int:
        statement = select(func.count()).select_from(self.table).where(filters.to_sql(condition, self.fields))
        return int(connection.execute(statement).scalar_one())

    def where_equal(self, names: Iterable[str], key_values: Iterable[Any]) -> Condition:
        """The condition ``names == key_values`` (used to navigate relations)."""
        return Condition("and", items=tuple(Condition("compare", name, "eq", value)
                                            for name, value in zip(names, key_values)))

    def _order(self, order_by: Any) -> list[Any]:
        if order_by is None:
            return [self.fields[name].order() for name in self.key]
        if isinstance(order_by, str):
            order_by = [order_by]
        if not isinstance(order_by, (list, tuple)):
            raise InvalidInput("order_by must be a list of attribute names ('-name' for descending)")
        clauses, named = [], set()
        for item in order_by:
            name = item[1:] if isinstance(item, str) and item.startswith("-") else item
            if not isinstance(name, str) or name not in self.obj.attributes:
                raise InvalidInput(f"order_by: {self.obj.name} has no attribute {item!r}")
            column = self.fields[name].order()
            clauses.append(column.desc() if name != item else column.asc())
            named.add(name)
        return clauses + [self.fields[name].order() for name in self.key if name not in named]

    def _where_key(self, key: dict[str, Any]) -> Any:
        return and_(*(self.table.c[name] == value for name, value in key.items()))

    def _stored(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows as the table stores them: a datetime in two columns split into its date and time."""
        if not self._times:
            return rows
        split = []
        for row in rows:
            row = dict(row)
            for name, _ in self._times:
                if name in row:
                    moment = row[name]
                    row[name], row[time_key(name)] = (None, None) if moment is None else (moment.date(), moment.time())
            split.append(row)
        return split

    def _record(self, row: Any) -> dict[str, Any]:
        record = dict(zip(self.names, row))
        for name, index in self._times:
            if record[name] is not None:
                record[name] = dt.datetime.combine(record[name], row[index] or dt.time())
        if self.obj.versioned:
            record[VERSION_KEY] = row[self._version_at]
        return record

    def _refused(self, connection: Connection, error: IntegrityError) -> Exception:
        """The database's refusal of a write on ``connection`` as a caruso error (:func:`_integrity`)."""
        return _integrity(self.obj, error, functools.partial(self._columns_of_index, connection))

    def _columns_of_index(self, connection: Connection, index: str) -> list[str]:
        """The columns of the table's unique index ``index``, which MariaDB and MySQL name
        alone when a duplicate clashes on it and the model does not declare (one made in the
        database by hand): read from ``information_schema`` on another connection of the engine
        (the caller's transaction, which the failed write ends, stays the caller's), once per
        index for the life of these records (and their engine). [] when that fails."""
        columns = self._index_columns.get(index)
        if columns is None:
            try:
                with connection.engine.connect() as fresh:
                    columns = list(fresh.execute(_INDEX_COLUMNS, {"schema": self.table.schema,
                                                                  "table": self.table.name, "index": index}).scalars())
            except SQLAlchemyError:
                return []
            if columns:
                self._index_columns[index] = columns
        return columns

    def _check_version(self, key: dict[str, Any], current: dict[str, Any], version: Any) -> None:
        if version is not None and version != (now := self.version(current)):
            raise Conflict(f"{self.obj.name} {_shown(key)} was changed by someone else "
                           f"(version {version!r}, now {now!r}); read it again")


def _positional_insert(table: Table, dialect: Any) -> tuple[str, list[str], list[tuple[int, Any]]]:
    """An INSERT of every column with positional parameters: its SQL, the column keys in
    parameter order, and the bind processors of the columns that have one, by position."""
    compiled = table.insert().values({column: bindparam(column.key) for column in table.c}).compile(dialect=dialect)
    keys = list(compiled.positiontup)
    processors = [(index, process) for index, key in enumerate(keys)
                  if (process := table.c[key].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    return str(compiled), keys, processors


_BLAKE2 = functools.partial(hashlib.blake2b, digest_size=8)
_HEXDIGEST = operator.methodcaller("hexdigest")


def versions(plain_values: Iterable[Any]) -> Iterator[str]:
    """The versions of rows without version column, given their plain attribute values in
    attribute order (the value alone for a single attribute): a 64-bit BLAKE2 hash of their
    ``repr``, the same in every process for the types plain values have (None, bool, int,
    float, str), taken by C-level calls only. A version tells a changed row from the one
    read, not a forged one: a caller may always leave the version out."""
    return map(_HEXDIGEST, map(_BLAKE2, map(str.encode, map(repr, plain_values))))


def page(limit: Any, offset: Any) -> tuple[int, int]:
    """``limit`` and ``offset`` checked: integers, limit at most MAX_LIMIT."""
    for name, value, high in (("limit", limit, MAX_LIMIT), ("offset", offset, None)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (high and value > high):
            raise InvalidInput(f"{name} must be an integer from 0" + (f" to {high}" if high else " up"))
    return limit, offset


def _shown(key: dict[str, Any]) -> str:
    return ", ".join(f"{name}={values.encode(value)!r}" for name, value in key.items())


def _integrity(obj: ObjectType, error: IntegrityError,
               columns_of: Callable[[str], list[str]] | None = None) -> Exception:
    """The database's refusal of a write as a caruso error: a duplicate key or unique value is
    a Conflict whose ``details`` name the attributes of the clashing key or unique index
    (``fields``, and ``field`` when it is one attribute) when the database says which.
    ``columns_of(index)`` gives the columns of a unique index MariaDB names that the model
    does not declare."""
    text = str(error.orig)
    if "unique" in text.lower() or "duplicate" in text.lower():
        clashing = _clashing(obj, text, columns_of)
        if not clashing:
            return Conflict(f"{obj.name}: an object with this key or unique value exists already")
        if len(clashing) == 1:
            name = clashing[0]
            return Conflict(f"{name}: another {obj.label} has this {obj.attributes[name].label.lower()} already",
                            field=name, fields=clashing)
        return Conflict(f"{obj.name}: another {obj.label} has these values of {', '.join(clashing)} already",
                        fields=clashing)
    return InvalidInput(f"{obj.name}: the database refused the values ({text.splitlines()[0]})")


# how each database names what a duplicate clashes with: SQLite its columns, PostgreSQL its
# columns (DETAIL) or its constraint, MariaDB its index ('PRIMARY' for the key; MySQL 8
# 'table.index'), whose columns information_schema holds when the model does not declare it
_SQLITE_COLUMNS = re.compile(r"UNIQUE constraint failed: (.+)")
_POSTGRES_COLUMNS = re.compile(r"Key \((.+?)\)=\(")
_INDEX_NAME = re.compile(r"""unique constraint "([^"]+)"|for key '([^']+)'""")
_INDEX_COLUMNS = sql_text("SELECT COLUMN_NAME FROM information_schema.STATISTICS "
                          "WHERE TABLE_SCHEMA = COALESCE(:schema, DATABASE()) AND TABLE_NAME = :table "
                          "AND INDEX_NAME = :index ORDER BY SEQ_IN_INDEX")


def _clashing(obj: ObjectType, text: str, columns_of: Callable[[str], list[str]] | None = None) -> list[str]:
    """The attributes of the key or unique index a database's duplicate message names (its
    columns or its index), or [] when it names none of this object's."""
    by_column = {attribute.column.lower(): name for name, attribute in obj.attributes.items()}

    def attributes(columns: list[str]) -> list[str]:
        names = [by_column.get(column.lower(), "") for column in columns]
        return names if names and all(names) else []

    found = _SQLITE_COLUMNS.search(text) or _POSTGRES_COLUMNS.search(text)
    if found:
        return attributes([part.strip().strip('"`').rpartition(".")[2] for part in found.group(1).split(",")])
    named = _INDEX_NAME.search(text)
    if named is None:
        return []
    index = (named.group(1) or named.group(2)).rpartition(".")[2]
    if index == "PRIMARY" or index.endswith("_pkey"):
        return list(obj.key)
    declared = next((list(found.attributes) for found in obj.indexes if found.name == index and found.unique), None)
    if declared is not None:
        return declared
    return attributes(columns_of(index)) if columns_of is not None and named.group(2) else []
