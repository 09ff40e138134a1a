"""What a filter compares and an ordering sorts for each attribute: its values, through its conversion.

:func:`fields_of` gives, per attribute of a table, a :class:`Field` whose ``compare(op,
value)`` is the SQL condition of a filter's comparison (values as bound parameters only)
and ``order()`` the expression results are sorted by:

- a plain column compares as SQL compares it, the value bound through the column's type;
- text operators compare text folded: case and accents ignored (:mod:`caruso_storage.folding`);
  ``digits`` compares a text's digits (a phone number however written);
- padded text (``convert="padded"``) matches text patterns without its padding, as
  equality already does;
- an attribute with ``choices`` sorts in the order they are declared (``low|normal|high``),
  a value outside them after them, as a pick list's order is meant;
- a flag compares as it reads: case ignored unless declared exact, other codes as the
  declared ``unknown``, so that a filter finds exactly the rows that read so;
- a date, time or datetime held as text or a number compares and sorts like its values,
  whatever the order of its stored form (``%d.%m.%Y``, ``%y%m%d``); empty stored values
  (``00000000``, ``0``, blanks) are null; with the time in a second column, over both.

As in SQL, a null value satisfies only ``is_null`` and ``eq None`` (and ``ne None`` its
opposite).
"""
from __future__ import annotations

import datetime as dt
import operator
from typing import Any

from sqlalchemy import BigInteger, String, Table, and_, case, cast, false, func, literal, not_, null, or_, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from caruso_storage.conversions import Flag, Padded, Stored
from caruso_storage.filters import DIGITS, TEXT_OPERATORS, text_pattern
from caruso_storage.folding import digits_of, fold, folded
from caruso_storage.model import ObjectType
from caruso_storage.tables import time_key

COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
           "ge": operator.ge}


class Field:
    """An attribute held in one column, compared as SQL compares the column."""

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column

    def compare(self, op: str, value: Any) -> ColumnElement[bool]:
        """The condition ``attribute op value`` (``value`` decoded to the attribute's type)."""
        if op == "is_null" or (op in ("eq", "ne") and value is None):
            return self.null(value if op == "is_null" else op == "eq")
        if op == "in":
            return self.among(value) if value else false()
        if op in TEXT_OPERATORS:
            return folded(self.text()).like(text_pattern(op, fold(value)), escape="\\")
        if op == DIGITS:
            return digits_of(self.text()).like(f"%{value}%")
        return self.ordered(op, value)

    def null(self, is_null: bool) -> ColumnElement[bool]:
        return self.column.is_(None) if is_null else self.column.is_not(None)

    def among(self, values: tuple[Any, ...]) -> ColumnElement[bool]:
        return self.column.in_(values)

    def text(self) -> ColumnElement[Any]:
        return type_coerce(self.column, String)

    def ordered(self, op: str, value: Any) -> ColumnElement[bool]:
        return COMPARE[op](self.column, value)

    def order(self) -> ColumnElement[Any]:
        return self.column


class PaddedField(Field):
    """Fixed-width text: patterns see the value without its trailing blanks."""

    def text(self) -> ColumnElement[Any]:
        return func.rtrim(self.column, type_=String)


class FlagField(Field):
    """A flag compared as it reads: 1 for true, 0 for false, NULL for None."""

    def __init__(self, column: ColumnElement[Any], flag: Flag) -> None:
        super().__init__(column)
        normal = func.trim(type_coerce(column, String), type_=String)
        if flag.ignore_case:
            normal = func.upper(normal, type_=String)
        unknown = null() if flag.unknown is None else literal(int(flag.unknown))
        self.value = case((column.is_(None), null()),
                          *((normal == literal(code, String), literal(int(truth))) for code, truth in flag.codes.items()),
                          else_=unknown)

    def null(self, is_null: bool) -> ColumnElement[bool]:
        return self.value.is_(None) if is_null else self.value.is_not(None)

    def among(self, values: tuple[Any, ...]) -> ColumnElement[bool]:
        return self.value.in_([int(value) for value in values])

    def ordered(self, op: str, value: Any) -> ColumnElement[bool]:
        return COMPARE[op](self.value, literal(int(value)))

    def order(self) -> ColumnElement[Any]:
        return self.value


class ChoiceField(Field):
    """One of declared choices: sorted by their place among them, nulls as nulls."""

    def __init__(self, column: ColumnElement[Any], choices: tuple[Any, ...]) -> None:
        super().__init__(column)
        self.place = case((column.is_(None), null()),
                          *((column == choice, literal(place)) for place, choice in enumerate(choices)),
                          else_=literal(len(choices)))

    def order(self) -> ColumnElement[Any]:
        return self.place


class StoredField(Field):
    """A date, time or datetime in a stored form (:class:`~caruso_storage.conversions.Stored`),
    its time possibly in a second column."""

    def __init__(self, column: ColumnElement[Any], stored: Stored, time: ColumnElement[Any] | None = None) -> None:
        super().__init__(column)
        self.stored = stored
        self.time = time
        self.empty = stored.pattern.empty_sql(column, stored.number, stored.empty)
        key = stored.pattern.key_sql(column, stored.number)
        if time is not None:
            clock = time.type.pattern
            midnight = literal(clock.key(dt.time(), stored.number), BigInteger if stored.number else String)
            time_key = case((clock.empty_sql(time, stored.number, time.type.empty), midnight),
                            else_=clock.key_sql(time, stored.number))
            key = cast(key, BigInteger) * 10 ** clock.width + cast(time_key, BigInteger) if stored.number \
                else type_coerce(key, String) + type_coerce(time_key, String)
        self.key = key

    def key_of(self, value: Any) -> ColumnElement[Any]:
        """The bound key of a value, comparable with :attr:`key`."""
        number = self.stored.number
        if self.time is None:
            return literal(self.stored.pattern.key(value, number), BigInteger if number else String)
        day = self.stored.pattern.key(value.date(), number)
        clock = self.time.type.pattern.key(value.time(), number)
        if number:
            return literal(day * 10 ** self.time.type.pattern.width + clock, BigInteger)
        return literal(f"{day}{clock}", String)

    def null(self, is_null: bool) -> ColumnElement[bool]:
        return self.empty if is_null else not_(self.empty)

    def among(self, values: tuple[Any, ...]) -> ColumnElement[bool]:
        if self.time is None:
            return self.column.in_(values)
        return or_(*(self.ordered("eq", value) for value in values))

    def ordered(self, op: str, value: Any) -> ColumnElement[bool]:
        if op == "eq" and self.time is None:
            return self.column == value
        return and_(COMPARE[op](self.key, self.key_of(value)), not_(self.empty))

    def order(self) -> ColumnElement[Any]:
        return case((self.empty, null()), else_=self.key)


def fields_of(obj: ObjectType, table: Table) -> dict[str, Field]:
    """The field of every attribute of ``obj`` mapped onto ``table``."""
    fields: dict[str, Field] = {}
    for name, attribute in obj.attributes.items():
        column = table.c[name]
        if isinstance(column.type, Flag):
            fields[name] = FlagField(column, column.type)
        elif isinstance(column.type, Padded):
            fields[name] = PaddedField(column)
        elif isinstance(column.type, Stored):
            time = table.c[time_key(name)] if attribute.time_column is not None else None
            fields[name] = StoredField(column, column.type, time)
        elif attribute.choices:
            fields[name] = ChoiceField(column, attribute.choices)
        else:
            fields[name] = Field(column)
    return fields

