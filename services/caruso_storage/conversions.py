"""Column types converting stored values to attribute values.

Legacy storage conventions:

``flag``    text flags ('J'/'N', 'Y'/'N', ...) ↔ bool, blanks around them ignored, case
            too unless declared exact; other stored text reads as the declared ``unknown``
            (None unless declared), NULL as None
``cents``   integer of the smallest unit ↔ Decimal with ``scale`` digits
``padded``  fixed-width text: trailing blanks removed on read, padded to ``length`` on write
``text``, ``number``
            a date, time or datetime in a stored form (:mod:`caruso_storage.patterns`);
            None is written as the declared ``empty`` value (NULL unless declared)

and :class:`Decimals`, the column of every ``decimal`` attribute without a conversion.
"""
from __future__ import annotations

import decimal
from typing import Any

from sqlalchemy import BigInteger, Integer, Numeric, String
from sqlalchemy.types import TypeDecorator

from caruso_storage.patterns import Pattern

MYSQL_PRECISION = 65


class Flag(TypeDecorator[bool]):
    impl = String
    cache_ok = True

    def __init__(self, true_value: str, false_value: str, length: int | None = None, ignore_case: bool = True,
                 unknown: bool | None = None) -> None:
        super().__init__(length)
        self.true_value = true_value
        self.false_value = false_value
        self.ignore_case = ignore_case
        self.unknown = unknown
        self.codes = {self.normal(true_value): True, self.normal(false_value): False}

    def normal(self, text: str) -> str:
        """A stored text as it is compared with the codes: without blanks around it, upper case
        unless the case matters."""
        text = text.strip()
        return text.upper() if self.ignore_case else text

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return self.true_value if value else self.false_value

    def process_result_value(self, value: Any, dialect: Any) -> bool | None:
        return None if value is None else self.codes.get(self.normal(str(value)), self.unknown)


class Cents(TypeDecorator[decimal.Decimal]):
    impl = Integer
    cache_ok = True

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return int(decimal.Decimal(value).scaleb(self.scale).to_integral_value(decimal.ROUND_HALF_EVEN))

    def process_result_value(self, value: Any, dialect: Any) -> decimal.Decimal | None:
        return None if value is None else decimal.Decimal(int(value)).scaleb(-self.scale)


class Decimals(TypeDecorator[decimal.Decimal]):
    """``NUMERIC(precision, scale)`` read as Decimal on every database: where the driver
    gives floats (SQLite), they are rounded to ``scale`` digits (10 without a scale). On
    MySQL and MariaDB, whose ``DECIMAL`` without precision holds integers only, a decimal
    without precision is ``DECIMAL(65, scale)`` (scale 10 when not given)."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int | None = None, scale: int | None = None) -> None:
        super().__init__(precision, scale)
        self.digits = 10 if scale is None else scale

    def load_dialect_impl(self, dialect: Any) -> Any:
        precision, scale = self.impl.precision, self.impl.scale
        if precision is None and dialect.name in ("mysql", "mariadb"):
            precision, scale = MYSQL_PRECISION, self.digits
        return dialect.type_descriptor(Numeric(precision, scale, asdecimal=dialect.supports_native_decimal))

    def process_result_value(self, value: Any, dialect: Any) -> decimal.Decimal | None:
        if value is None or isinstance(value, decimal.Decimal):
            return value
        return decimal.Decimal(f"{value:.{self.digits}f}")


class Padded(TypeDecorator[str]):
    impl = String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.width = length

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else str(value).ljust(self.width)

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else str(value).rstrip(" ")



class Stored(TypeDecorator[Any]):
    """A date, time or datetime held in ``pattern`` as text (``number`` False) or as a number;
    None is written as ``empty`` (NULL when None), and empty stored values read as None."""

    impl = String
    cache_ok = True

    def __init__(self, pattern: Pattern, number: bool, empty: str | None = None) -> None:
        super().__init__(pattern.width)
        self.pattern = pattern
        self.number = number
        self.empty = None if empty is None else int(empty) if number else empty

    def load_dialect_impl(self, dialect: Any) -> Any:
        return dialect.type_descriptor(BigInteger() if self.number else String(self.pattern.width))

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return self.empty
        return self.pattern.number(value) if self.number else self.pattern.text(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if self.declared_empty(value) else self.pattern.read(value)

    def declared_empty(self, value: Any) -> bool:
        """Whether a stored value is the declared empty value (blanks around text ignored)."""
        if self.empty is None or value is None:
            return False
        return value == self.empty if self.number else str(value).strip() == self.empty.strip()
