"""Stored forms of dates and times in legacy columns: patterns such as ``%Y%m%d``.

A :class:`Pattern` is a fixed-width form of a date, a time or both: strftime directives
``%Y`` (4 digits), ``%y`` (2 digits; below ``pivot`` 20xx, else 19xx), ``%m``, ``%d``,
``%H``, ``%M``, ``%S`` (2 digits each), ``%%``, other characters as they are; or
``CYYMMDD``, the century-flag date of IBM midrange systems (C 0 is 19xx, 1 is 20xx, up
to 9). Held as text, or as a number (a text of digits only, its leading zeros lost).

Contract:

- :meth:`Pattern.text` and :meth:`Pattern.number` store a value; :meth:`Pattern.read`
  reads a stored text or number back, ``None`` for an empty value (only blanks, zeros
  and the pattern's separators in a date; only blanks in a time) and for what is no
  value of the pattern at all (``31.02.2020``, letters).
- :meth:`Pattern.key` and :meth:`Pattern.key_sql` order values like the values they
  store: the key of a value compares with the key SQL makes of the stored column. Where
  the stored form itself orders so (``%Y%m%d``, ``CYYMMDD``, ``%H%M%S``), the key is the
  stored value and the column itself, so that indexes serve ranges.
- :meth:`Pattern.empty_sql` is true for what reads as ``None``, but for values that are
  no value of the pattern at all: SQL sees their digits.
- :attr:`Pattern.years` are the years it can hold.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import attrs
from sqlalchemy import BigInteger, String, case, cast, func, literal, or_
from sqlalchemy.sql.elements import ColumnElement

CENTURY_FLAG = "CYYMMDD"
DIRECTIVE = re.compile(r"%(.)")
# the fields of a value, most significant first; each directive gives one and its width
FIELDS = ("year", "month", "day", "hour", "minute", "second")
DIRECTIVES = {"Y": ("year", 4), "y": ("year", 2), "m": ("month", 2), "d": ("day", 2),
              "H": ("hour", 2), "M": ("minute", 2), "S": ("second", 2)}
DATE_FIELDS, TIME_FIELDS = FIELDS[:3], FIELDS[3:5]
DEFAULT_PIVOT = 69


@attrs.frozen
class Token:
    """One directive at ``offset`` of the stored text: ``code`` (``Y``, ``y``, ``C``, ...), ``width``."""

    code: str
    offset: int
    width: int

    @property
    def field(self) -> str:
        return "century" if self.code == "C" else DIRECTIVES[self.code][0]


@attrs.frozen
class Pattern:
    """A stored form of ``kind`` (``date``, ``time`` or ``datetime``); see the module's contract."""

    format: str
    kind: str
    tokens: tuple[Token, ...]
    template: str
    pivot: int = DEFAULT_PIVOT
    literals: str = attrs.field(init=False)
    _spans: tuple[tuple[str, int, int], ...] = attrs.field(init=False)
    _blank: str = attrs.field(init=False)
    _two_digit_year: bool = attrs.field(init=False)
    _date_spans: tuple[int, ...] | None = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        taken = {index for token in self.tokens for index in range(token.offset, token.offset + token.width)}
        # the characters of the stored form that are no digits of a field (separators)
        object.__setattr__(self, "literals", "".join(char for index, char in enumerate(self.template)
                                                     if index not in taken))
        object.__setattr__(self, "_spans", tuple((token.field, token.offset, token.offset + token.width)
                                                 for token in self.tokens))
        # what a stored text holding no value consists of: blanks; in a date also zeros and separators
        object.__setattr__(self, "_blank", " " if self.kind == "time" else f"0 {self.literals}")
        object.__setattr__(self, "_two_digit_year", any(token.code == "y" for token in self.tokens))
        # a date of full year, month and day (the common form) is read from these spans directly
        spans = {field: (start, end) for field, start, end in self._spans}
        plain_date = self.kind == "date" and not self._two_digit_year and len(spans) == len(self._spans) == 3 \
            and set(spans) == {"year", "month", "day"}
        object.__setattr__(self, "_date_spans", tuple(index for field in ("year", "month", "day")
                                                      for index in spans[field]) if plain_date else None)

    @classmethod
    def parse(cls, text: str, kind: str, pivot: int = DEFAULT_PIVOT) -> "Pattern":
        """The pattern ``text`` for values of ``kind``; ValueError (one line) if it cannot hold them."""
        if text == CENTURY_FLAG:
            tokens = [Token("C", 0, 1), Token("y", 1, 2), Token("m", 3, 2), Token("d", 5, 2)]
            template = "0" * 7
        else:
            tokens, template, position = [], "", 0
            for match in DIRECTIVE.finditer(text):
                template += text[position:match.start()]
                code = match.group(1)
                if code == "%":
                    template += "%"
                elif code in DIRECTIVES:
                    width = DIRECTIVES[code][1]
                    tokens.append(Token(code, len(template), width))
                    template += "0" * width
                else:
                    raise ValueError(f"format {text!r}: %{code} is not one of %Y %y %m %d %H %M %S %%")
                position = match.end()
            template += text[position:]
        pattern = cls(text, kind, tuple(tokens), template, pivot)
        fields = [token.field for token in tokens]
        wanted = {"date": DATE_FIELDS, "time": TIME_FIELDS, "datetime": DATE_FIELDS + TIME_FIELDS}[kind]
        allowed = set(wanted) | {"century"} | ({"second"} if kind != "date" else set())
        if len(set(fields)) != len(fields) or not set(wanted) <= set(fields) or not set(fields) <= allowed \
                or ("century" in fields) != (kind != "time" and text == CENTURY_FLAG):
            needs = " ".join(f"%{code}" for code, (field, _) in DIRECTIVES.items() if field in wanted and code != "y")
            raise ValueError(f"format {text!r} does not hold a {kind} (needs {needs} once each"
                             f"{'' if kind == 'date' else ', %S optional'})")
        return pattern

    @property
    def width(self) -> int:
        return len(self.template)

    @property
    def numeric(self) -> bool:
        """Whether the pattern is all digits, so that it can be stored as a number."""
        return not self.literals

    @property
    def monotonic(self) -> bool:
        """Whether stored forms order like the values (fields most significant first, full years)."""
        order = [FIELDS.index("year") if token.field == "century" else FIELDS.index(token.field)
                 for token in self.tokens]
        two_digit_years = any(token.code == "y" for token in self.tokens) and self.tokens[0].code != "C"
        return order == sorted(order) and not two_digit_years

    @property
    def years(self) -> tuple[int, int]:
        """The first and last year the pattern holds."""
        codes = {token.code for token in self.tokens}
        if "C" in codes:
            return 1900, 2899
        if "y" in codes:
            return 1900 + self.pivot, 1999 + self.pivot
        return (1, 9999) if "Y" in codes else (1, 1)

    # -- values ------------------------------------------------------------------------------

    def text(self, value: Any) -> str:
        """The stored text of a date, time or datetime; ValueError if its year is not held."""
        fields = _fields(value)
        year = fields.get("year", 0)
        if "year" in fields and not self.years[0] <= year <= self.years[1]:
            raise ValueError(f"years {self.years[0]}-{self.years[1]} only")
        numbers = {"C": (year - 1900) // 100, "y": year % 100, "Y": year}
        text = list(self.template)
        for token in self.tokens:
            number = numbers.get(token.code, fields.get(token.field))
            text[token.offset:token.offset + token.width] = f"{number:0{token.width}d}"
        return "".join(text)

    def number(self, value: Any) -> int:
        """The stored number of a value (the digits of :meth:`text`)."""
        return int(self.text(value))

    def read(self, stored: Any) -> Any:
        """The value of a stored text or number; None when it is empty or no value at all."""
        if stored is None:
            return None
        width = len(self.template)
        if isinstance(stored, str):
            text = stored.rstrip()
            if not text.strip(self._blank):
                return None
        else:
            number = int(stored)
            if number < 0 or (number == 0 and self.kind != "time"):
                return None
            text = f"{number:0{width}d}"
        if len(text) != width:
            return None
        if self._date_spans is not None:
            year_from, year_to, month_from, month_to, day_from, day_to = self._date_spans
            try:
                return dt.date(int(text[year_from:year_to]), int(text[month_from:month_to]), int(text[day_from:day_to]))
            except ValueError:
                return None
        try:
            parts = {field: int(text[start:end]) for field, start, end in self._spans}
        except ValueError:
            return None
        if self._two_digit_year:
            century = parts.pop("century", None)
            year = parts["year"]
            parts["year"] = 1900 + 100 * century + year if century is not None else \
                (2000 if year < self.pivot else 1900) + year
        try:
            if self.kind == "date":
                return dt.date(parts["year"], parts["month"], parts["day"])
            moment = dt.datetime(parts.get("year", 1900), parts.get("month", 1), parts.get("day", 1),
                                 parts["hour"], parts["minute"], parts.get("second", 0))
        except ValueError:
            return None
        return moment.time() if self.kind == "time" else moment

    # -- ordering in SQL ---------------------------------------------------------------------

    def key(self, value: Any, number: bool) -> Any:
        """The key of ``value`` that :meth:`key_sql` of a column stored as text or number compares with."""
        if self.monotonic:
            return self.number(value) if number else self.text(value)
        fields = _fields(value)
        digits = "".join(f"{fields[field]:0{4 if field == 'year' else 2}d}" for field in FIELDS if field in fields)
        return int(digits) if number else digits

    def key_sql(self, column: ColumnElement[Any], number: bool) -> ColumnElement[Any]:
        """A SQL expression of ``column`` that orders like the values it stores (see :meth:`key`)."""
        if self.monotonic:
            return column
        parts = {token.field: self._part(column, token, number) for token in self.tokens}
        year_token = next((token for token in self.tokens if token.field == "year"), None)
        if year_token is not None and year_token.code == "y":
            century = parts.pop("century", None)
            two = parts["year"]
            if century is not None:
                parts["year"] = (century + 19) * 100 + two if number else \
                    cast(cast(century, BigInteger) + 19, String) + two
            elif number:
                parts["year"] = two + case((two < self.pivot, 2000), else_=1900)
            else:
                parts["year"] = case((two < literal(f"{self.pivot:02d}"), literal("20")), else_=literal("19")) + two
        ordered = [field for field in FIELDS if field in parts]
        if not number:
            key = parts[ordered[0]]
            for field in ordered[1:]:
                key = key + parts[field]
            return key
        key = literal(0, BigInteger)
        for field in ordered:
            key = key * (10_000 if field == "year" else 100) + parts[field]
        return key

    def _part(self, column: ColumnElement[Any], token: Token, number: bool) -> ColumnElement[Any]:
        if not number:
            return func.substr(column, token.offset + 1, token.width, type_=String)
        shift = 10 ** (self.width - token.offset - token.width)
        return cast(column, BigInteger) // literal(shift, BigInteger) % literal(10 ** token.width, BigInteger)

    def empty_sql(self, column: ColumnElement[Any], number: bool, empty: Any = None) -> ColumnElement[bool]:
        """True where ``column`` holds what reads as None (NULL, empty, the declared ``empty``)."""
        alternatives = [column.is_(None)]
        if empty is not None:
            alternatives.append(column == literal(int(empty) if number else empty, BigInteger if number else String))
        if number:
            if self.kind != "time":
                alternatives.append(cast(column, BigInteger) == literal(0, BigInteger))
            return or_(*alternatives)
        blanks: ColumnElement[Any] = cast(column, String)
        for character in sorted(set("0" + self.literals) if self.kind != "time" else set()):
            blanks = func.replace(blanks, character, "", type_=String)
        alternatives.append(func.trim(blanks, type_=String) == literal("", String))
        return or_(*alternatives)


def _fields(value: Any) -> dict[str, int]:
    """The fields of a date, time or datetime by name."""
    fields: dict[str, int] = {}
    if isinstance(value, (dt.date, dt.datetime)):
        fields.update(year=value.year, month=value.month, day=value.day)
    if isinstance(value, dt.datetime):
        value = value.time()
    if isinstance(value, dt.time):
        fields.update(hour=value.hour, minute=value.minute, second=value.second)
    return fields
