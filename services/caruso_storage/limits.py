"""The values a column can hold: ranges checked before a value reaches the driver.

:func:`limits_of` gives, per attribute of an object, a check raising InvalidInput naming
the attribute when its column cannot hold a value: integers beyond the column's integer
type (on SQLite every integer column holds 64 bits, elsewhere ``INTEGER`` holds 32),
decimals with more digits before the point than ``NUMERIC(precision, scale)`` holds,
amounts in cents whose integer does not fit, dates outside the years a stored form holds
(two-digit years, ``CYYMMDD``). The column types are those of the database for an
existing table (reflected), else those caruso makes.
"""
from __future__ import annotations

import decimal
from typing import Any, Callable, Mapping

from sqlalchemy import BigInteger, Integer, Numeric, SmallInteger, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from caruso_core.errors import InvalidInput

from caruso_storage.conversions import Cents, Stored
from caruso_storage.model import ObjectType
from caruso_storage.values import encode

Check = Callable[[Any], None]
MYSQL_BITS = {"TINYINT": 8, "MEDIUMINT": 24}
SHOWN_DIGITS = 40            # a longer refused number is quoted by its size


def integer_range(stored: TypeEngine[Any], dialect: Dialect) -> tuple[int, int] | None:
    """The lowest and highest integer a column of type ``stored`` holds (None: no integer column)."""
    if isinstance(stored, Numeric) and not isinstance(stored, Integer):
        if stored.precision is None or stored.scale not in (0, None) or stored.asdecimal is False:
            return None
        return -(10 ** stored.precision - 1), 10 ** stored.precision - 1
    if not isinstance(stored, Integer):
        return None
    if isinstance(stored, BigInteger) or dialect.name == "sqlite":
        bits = 64
    elif isinstance(stored, SmallInteger):
        bits = 16
    else:
        bits = MYSQL_BITS.get(type(stored).__name__, 32)
    return -2 ** (bits - 1), 2 ** (bits - 1) - 1


def limits_of(obj: ObjectType, table: Table, reflected: Mapping[str, TypeEngine[Any]] | None,
              dialect: Dialect) -> dict[str, Check]:
    """The checks of ``obj``'s attributes whose columns cannot hold every value: ``table`` is
    the object's table as caruso maps it, ``reflected`` the column types of an existing table
    by attribute name (None: caruso makes the table, its own types apply)."""
    checks: dict[str, Check] = {}
    for name, attribute in obj.attributes.items():
        mapped = table.c[name].type
        stored = (reflected or {}).get(name) if reflected is not None else \
            mapped.load_dialect_impl(dialect) if isinstance(mapped, TypeDecorator) else mapped
        if isinstance(mapped, Stored):
            if mapped.pattern.kind != "time":
                checks[name] = _years(name, mapped)
        elif stored is None or attribute.type not in ("integer", "decimal"):
            continue
        elif (span := integer_range(stored, dialect)) is not None:
            checks[name] = _within(name, span, attribute.scale or 0 if isinstance(mapped, Cents) else 0)
        elif attribute.type == "decimal" and isinstance(stored, Numeric) and stored.precision is not None:
            digits = stored.precision - (stored.scale or 0)
            checks[name] = _within(name, (-(10 ** digits), 10 ** digits), 0, exclusive=True)
    return checks


def _within(name: str, span: tuple[int, int], scale: int, exclusive: bool = False) -> Check:
    low, high = (decimal.Decimal(end).scaleb(-scale) for end in span)

    def check(value: Any) -> None:
        number = decimal.Decimal(value)
        if number < low or number > high or (exclusive and (number == low or number == high)):
            bound = f"between {low} and {high}" if exclusive else f"{low} to {high}"
            raise InvalidInput(f"{name}: {_shown(value)} is out of range for its column ({bound})", field=name)
    return check


def _shown(value: Any) -> str:
    """A refused number as a message quotes it: a long one by its size (``1e400`` would be
    400 digits)."""
    text = str(encode(value))
    return repr(text) if len(text) <= SHOWN_DIGITS else f"a number of {len(text.lstrip('-').split('.')[0])} digits"


def _years(name: str, stored: Stored) -> Check:
    first, last = stored.pattern.years

    def check(value: Any) -> None:
        if not first <= value.year <= last:
            raise InvalidInput(f"{name}: {encode(value)!r} cannot be stored in {stored.pattern.format!r} "
                               f"(years {first} to {last})", field=name)
    return check
