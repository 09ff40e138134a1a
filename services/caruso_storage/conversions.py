"""Column types converting stored values to attribute values.

Legacy storage conventions:

``flag``    text flags ('J'/'N', 'Y'/'N', ...) ↔ bool; unknown stored text reads as None
``cents``   integer of the smallest unit ↔ Decimal with ``scale`` digits
``padded``  fixed-width text: trailing blanks removed on read, padded to ``length`` on write

and :class:`Decimals`, the column of every ``decimal`` attribute without a conversion.
"""
from __future__ import annotations

import decimal
from typing import Any

from sqlalchemy import Integer, Numeric, String
from sqlalchemy.types import TypeDecorator


class Flag(TypeDecorator[bool]):
    impl = String
    cache_ok = True

    def __init__(self, true_value: str, false_value: str, length: int | None = None) -> None:
        super().__init__(length)
        self.true_value = true_value
        self.false_value = false_value

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return self.true_value if value else self.false_value

    def process_result_value(self, value: Any, dialect: Any) -> bool | None:
        text = None if value is None else str(value).strip().upper()
        if text == self.true_value.upper():
            return True
        if text == self.false_value.upper():
            return False
        return None


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
    gives floats (SQLite), they are rounded to ``scale`` digits (10 without a scale)."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int | None = None, scale: int | None = None) -> None:
        super().__init__(precision, scale)
        self.digits = 10 if scale is None else scale

    def load_dialect_impl(self, dialect: Any) -> Any:
        native = dialect.supports_native_decimal
        return dialect.type_descriptor(Numeric(self.impl.precision, self.impl.scale, asdecimal=native))

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

