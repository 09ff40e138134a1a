"""Attribute values between the wire (plain data) and Python (Decimal, date, datetime, time).

``decode`` accepts what a client or a model file may send for an attribute and
returns the Python value, or raises InvalidInput naming the attribute;
``encode`` turns a Python value into plain data for the wire. A string declared an e-mail
address must be one (:func:`caruso_storage.checks.email`). Decimals are rounded to
their attribute's scale half to even (banker's rounding: 0.125 → 0.12, 0.135 → 0.14);
a decimal with more than ``MAX_DIGITS`` digits before the point is too large for any
column, an integer beyond 64 bits for any integer column (in a filter too). :func:`within`
checks a value a client stores against its attribute's ``minimum`` and ``maximum`` (the
records do, for the values a create gives or an update changes; a filter may look for any),
:func:`beside` against another attribute's value its ``min`` or ``max`` names.
"""
from __future__ import annotations

import datetime as dt
import decimal
import math
import operator
from typing import Any, Callable

from caruso_core.errors import InvalidInput
from caruso_core import zones
from caruso_core.zones import UTC

from caruso_storage import checks
from caruso_storage.model import MOMENTS, NOW, TODAY, Attribute

MAX_DIGITS = 1000
INT64 = (-2 ** 63, 2 ** 63 - 1)
TRUE_TEXT = {"true", "1", "yes"}
FALSE_TEXT = {"false", "0", "no"}
ISOFORMAT = operator.methodcaller("isoformat")


def decode(attribute: Attribute, value: Any, *, strict: bool = True) -> Any:
    """The Python value of ``value`` for ``attribute``; ``strict`` also checks length and choices."""
    if value is None:
        return None
    try:
        result = _DECODERS[attribute.type](attribute, value)
    except (ValueError, TypeError, ArithmeticError):
        raise InvalidInput(f"{attribute.name}: {value!r} is not a valid {attribute.type}") from None
    if strict:
        if attribute.length is not None and isinstance(result, str) and len(result) > attribute.length:
            raise InvalidInput(f"{attribute.name}: longer than {attribute.length} characters")
        if attribute.choices is not None and result not in attribute.choices:
            allowed = ", ".join(map(str, attribute.choices))
            raise InvalidInput(f"{attribute.name}: {value!r} is not one of {allowed}")
        if attribute.text_format == "email":
            result = checks.email(attribute.name, result)
    return result


def now() -> dt.datetime:
    """The moment a ``now`` default means: UTC without a time zone, to the second, as the
    rules' ``${now}``."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def current(attribute: Attribute, zone: dt.tzinfo = UTC) -> Any:
    """The value of ``attribute``'s moving default (``today`` or ``now``) at this moment:
    today's date in ``zone`` (for a datetime, that day's midnight in ``zone`` in UTC), or now."""
    if attribute.default == NOW:
        return now()
    day = zones.today(zone)
    return midnight(day, zone) if attribute.type == "datetime" else day


def midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The moment ``day`` begins in ``zone``, in UTC without a time zone (as datetimes are stored)."""
    return dt.datetime.combine(day, dt.time(), zone).astimezone(UTC).replace(tzinfo=None)


def within(attribute: Attribute, value: Any, zone: dt.tzinfo = UTC) -> None:
    """InvalidInput naming the attribute (``field``) and the bound unless the decoded
    ``value`` is within the attribute's ``minimum`` and ``maximum`` (``today``: the day in
    ``zone``, to which a datetime stored in UTC is compared by its day there)."""
    moment = attribute.type in MOMENTS
    if isinstance(value, float) and math.isnan(value):
        raise InvalidInput(f"{attribute.name}: NaN is no number a bound can hold", field=attribute.name)
    for bound, beyond, least in ((attribute.minimum, operator.lt, True), (attribute.maximum, operator.gt, False)):
        if bound is None:
            continue
        limit = _limit(bound, zone)
        compared = _day(value, zone) if isinstance(value, dt.datetime) and type(limit) is dt.date else value
        try:
            outside = beyond(compared, limit)
        except TypeError:       # a time with an offset against a bound without one
            raise InvalidInput(f"{attribute.name}: {readable(value)} has a time zone; its bounds have none: "
                               "give it without", field=attribute.name) from None
        if outside:
            allowed = ("earliest" if least else "latest") if moment else ("least" if least else "most")
            raise InvalidInput(f"{attribute.name}: {readable(value, zone)} is {_beyond(attribute, least)} "
                               f"{readable(bound, zone)}, "
                               f"the {allowed} allowed", field=attribute.name)


def _limit(bound: Any, zone: dt.tzinfo) -> Any:
    """A fixed bound as it is; ``today`` as today's date in ``zone``; ``now`` as this moment
    to the microsecond (a value a client took from its clock this second is not after it)."""
    if bound == TODAY:
        return zones.today(zone)
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) if bound == NOW else bound


def _day(moment: dt.datetime, zone: dt.tzinfo) -> dt.date:
    """The day in ``zone`` of a datetime stored in UTC (one with an offset: of that moment);
    at the ends of the calendar, where ``zone`` has no such day, the day as it is written."""
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone).date()
    except OverflowError:
        return moment.date()


def beside(attribute: Attribute, value: Any, other: Attribute, other_value: Any, least: bool,
           zone: dt.tzinfo = UTC) -> None:
    """InvalidInput naming ``attribute`` (``field``) when ``value`` is below (before) the
    ``other`` attribute's value (``least``), else above (after) it: a ``min`` or ``max`` naming
    another attribute. NaN and a time zone are refused, as fixed bounds refuse them (a
    database keeps the time of day as given, so an offset would compare otherwise than it
    is stored). A refusal quotes datetimes in ``zone`` (:func:`readable`)."""
    for name, given in ((attribute.name, value), (other.name, other_value)):
        if isinstance(given, float) and math.isnan(given):
            raise InvalidInput(f"{name}: NaN is no number a bound can hold", field=name)
        if getattr(given, "tzinfo", None) is not None:
            raise InvalidInput(f"{name}: {readable(given)} has a time zone; it is compared with "
                               f"{(other if name == attribute.name else attribute).label}: give it without",
                               field=name)
    if value < other_value if least else value > other_value:
        raise InvalidInput(f"{attribute.name}: {readable(value, zone)} is {_beyond(attribute, least)} {other.label}, "
                           f"which is {readable(other_value, zone)}", field=attribute.name)


def _beyond(attribute: Attribute, least: bool) -> str:
    """How a refusal says a value is beyond a least (``least``) or most bound."""
    if attribute.type in MOMENTS:
        return "before" if least else "after"
    return "below" if least else "above"


def readable(value: Any, zone: dt.tzinfo = UTC) -> Any:
    """A value as a refusal quotes it: a date and time with a space and to the minute when it
    has no seconds (``2026-12-05 08:00``), one stored in UTC shown in another ``zone`` with
    that zone's abbreviation (``2026-12-05 09:00 CET``), a time to the minute likewise;
    others as encoded."""
    if isinstance(value, dt.datetime) and value.tzinfo is None and zone is not UTC:
        try:
            shown = value.replace(tzinfo=UTC).astimezone(zone)
        except OverflowError:               # at the ends of the calendar: as stored, in UTC
            return f"{readable(value)} UTC"
        return f"{readable(shown.replace(tzinfo=None))} {shown.strftime('%Z')}"
    if isinstance(value, (dt.datetime, dt.time)):
        whole = value.second == 0 and value.microsecond == 0
        spec = "minutes" if whole else "seconds" if value.microsecond == 0 else "auto"
        return value.isoformat(sep=" ", timespec=spec) if isinstance(value, dt.datetime) else value.isoformat(spec)
    return encode(value)


def decoder(attribute: Attribute) -> Callable[[Any], Any]:
    """``decode`` for one attribute, with fast paths for datetimes in ISO 8601 and for
    e-mail addresses given as text within the attribute's length."""
    if attribute.text_format == "email" and attribute.choices is None:
        name, length = attribute.name, attribute.length

        def address(value: Any) -> Any:
            if type(value) is str and (length is None or len(value) <= length):
                return checks.email(name, value)
            return decode(attribute, value)
        return address
    if attribute.type == "datetime":
        def moment(value: Any) -> Any:
            try:
                return dt.datetime.fromisoformat(value)
            except (TypeError, ValueError):
                return decode(attribute, value)
        return moment
    return lambda value: decode(attribute, value)


def as_given(attribute: Attribute) -> tuple[type, int | None, Any] | None:
    """``(type, length, choices)`` when a value of exactly that type, within the length (for
    text) and among the choices, is its own decoded value; None when values always need
    :func:`decode`."""
    exact = {"string": str, "text": str, "integer": int, "boolean": bool, "float": float}.get(attribute.type)
    if exact is None or attribute.text_format is not None:
        return None
    return exact, attribute.length if exact is str else None, attribute.choices


def encoder(attribute: Attribute) -> Callable[[Any], Any] | None:
    """:func:`encode` for the values (not None) of ``attribute``; None when they are their own
    plain data."""
    if attribute.type == "decimal":
        return str
    if attribute.type in ("date", "datetime", "time"):
        return ISOFORMAT
    return None


def encode(value: Any) -> Any:
    """Plain data for a Python value: decimals as strings, dates, datetimes and times as ISO 8601."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return value


def _text(attribute: Attribute, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _integer(attribute: Attribute, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError
    number = int(value)
    if not INT64[0] <= number <= INT64[1]:
        raise InvalidInput(f"{attribute.name}: {value!r} is out of range (a 64-bit integer, as every "
                           f"database holds at most)")
    return number


def _float(attribute: Attribute, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError
    return float(value)


def _decimal(attribute: Attribute, value: Any) -> decimal.Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, decimal.Decimal)):
        raise TypeError
    number = decimal.Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError
    if number and number.adjusted() >= MAX_DIGITS:
        raise InvalidInput(f"{attribute.name}: {value!r} is too large")
    if attribute.scale is not None:
        digits = decimal.Context(prec=max(decimal.getcontext().prec, number.adjusted() + attribute.scale + 2))
        number = number.quantize(decimal.Decimal(1).scaleb(-attribute.scale), rounding=decimal.ROUND_HALF_EVEN,
                                 context=digits)
    return number


def _boolean(attribute: Attribute, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_TEXT | FALSE_TEXT:
        return value.strip().lower() in TRUE_TEXT
    raise TypeError


def _date(attribute: Attribute, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise TypeError
    return dt.date.fromisoformat(value.strip()[:10])


def _datetime(attribute: Attribute, value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        raise TypeError
    return dt.datetime.fromisoformat(value.strip())


def _time(attribute: Attribute, value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if not isinstance(value, str):
        raise TypeError
    return dt.time.fromisoformat(value.strip())


_DECODERS = {"string": _text, "text": _text, "integer": _integer, "float": _float, "decimal": _decimal,
             "boolean": _boolean, "date": _date, "datetime": _datetime, "time": _time}
