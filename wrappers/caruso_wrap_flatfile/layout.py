"""Fixed-width record layouts: fields at fixed byte positions, decoded to plain values.

A layout is a list of fields ``{"name", "start" (1-based), "length", "type"}`` with
types ``text`` (padded; trimmed on read), ``number`` (digits, zero-padded), ``cents``
(signed digits with two implied decimals, read as a decimal string), ``flag``
('J'/'N' or 'Y'/'N' to bool) and ``date`` (``YYYYMMDD``; zeros or blanks are None).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from caruso_core import ConfigError, InvalidInput

TYPES = ("text", "number", "cents", "flag", "date")
TRUE_FLAGS, FALSE_FLAGS = ("J", "Y"), ("N",)


@attrs.frozen
class Field:
    name: str
    start: int
    length: int
    type: str = "text"

    @property
    def slice(self) -> slice:
        return slice(self.start - 1, self.start - 1 + self.length)

    def decode(self, raw: str) -> Any:
        """The value of this field's raw text; ValueError with what is wrong."""
        if self.type == "text":
            return raw.strip()
        stripped = raw.strip()
        if self.type == "number":
            if not stripped.isdigit():
                raise ValueError(f"{self.name} {raw!r} is not a number")
            return int(stripped)
        if self.type == "cents":
            sign, digits = ("-", stripped[1:]) if stripped.startswith("-") else ("", stripped.lstrip("+"))
            if not digits.isdigit():
                raise ValueError(f"{self.name} {raw!r} is not an amount in cents")
            return str(Decimal(f"{sign}{digits}").scaleb(-2))
        if self.type == "flag":
            if stripped in TRUE_FLAGS or stripped in FALSE_FLAGS:
                return stripped in TRUE_FLAGS
            raise ValueError(f"{self.name} {raw!r} is not J/N")
        if not stripped or set(stripped) == {"0"}:
            return None
        if not (stripped.isdigit() and len(stripped) == 8):
            raise ValueError(f"{self.name} {raw!r} is not a date YYYYMMDD")
        return f"{stripped[:4]}-{stripped[4:6]}-{stripped[6:]}"

    def encode(self, value: Any) -> str:
        """The fixed-width text of ``value``; InvalidInput if it does not fit."""
        if value is None:
            text = ""
        elif self.type == "number":
            text = str(_whole(value, self.name)).rjust(self.length, "0")
        elif self.type == "cents":
            cents = int(Decimal(str(value)) * 100)
            text = ("-" if cents < 0 else "") + str(abs(cents)).rjust(self.length - (cents < 0), "0")
        elif self.type == "flag":
            text = "J" if value else "N"
        elif self.type == "date":
            text = str(value).replace("-", "")
        else:
            text = str(value)
        if len(text) > self.length:
            raise InvalidInput(f"{self.name}: {value!r} does not fit in {self.length} characters")
        return text.ljust(self.length)


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{name}: {value!r} is not a whole number of 0 or more")
    return value


@attrs.frozen
class Layout:
    """The fields of one record; ``key`` names the field that identifies a record."""

    fields: tuple[Field, ...]
    key: str

    @classmethod
    def from_config(cls, fields: list[dict[str, Any]], key: str) -> "Layout":
        parsed = []
        for index, spec in enumerate(fields):
            try:
                field = Field(str(spec["name"]), int(spec["start"]), int(spec["length"]), spec.get("type", "text"))
            except (KeyError, TypeError, ValueError):
                raise ConfigError(f"layout field {index + 1} needs name, start and length: {spec!r}") from None
            if field.type not in TYPES or field.start < 1 or field.length < 1:
                raise ConfigError(f"layout field {field.name}: type must be one of {', '.join(TYPES)}, "
                                  "start and length at least 1")
            parsed.append(field)
        ordered = sorted(parsed, key=lambda f: f.start)
        for before, after in zip(ordered, ordered[1:]):
            if before.start + before.length > after.start:
                raise ConfigError(f"layout fields {before.name} and {after.name} overlap")
        if key not in {f.name for f in parsed}:
            raise ConfigError(f"layout has no key field {key!r}")
        return cls(tuple(ordered), key)

    @property
    def width(self) -> int:
        last = self.fields[-1]
        return last.start + last.length - 1

    def decode(self, record: str) -> dict[str, Any]:
        return {field.name: field.decode(record[field.slice]) for field in self.fields}

    def encode(self, values: dict[str, Any]) -> str:
        record = [" "] * self.width
        for field in self.fields:
            record[field.slice] = field.encode(values.get(field.name))
        return "".join(record)

    def describe(self) -> list[dict[str, Any]]:
        return [attrs.asdict(field) for field in self.fields]


CUSTOMER_MASTER = Layout.from_config([
    {"name": "customer_no", "start": 1, "length": 8, "type": "number"},
    {"name": "name", "start": 9, "length": 30},
    {"name": "street", "start": 39, "length": 30},
    {"name": "postcode", "start": 69, "length": 7},
    {"name": "city", "start": 76, "length": 24},
    {"name": "phone", "start": 100, "length": 15},
    {"name": "balance", "start": 115, "length": 11, "type": "cents"},
    {"name": "active", "start": 126, "length": 1, "type": "flag"},
    {"name": "customer_since", "start": 127, "length": 8, "type": "date"},
], key="customer_no")
