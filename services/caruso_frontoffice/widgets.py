"""Field widgets: which input a field gets, and how a submitted value is checked.

The widget follows the attribute's type (``string`` → text, ``integer`` → number,
``boolean`` → checkbox, an attribute with choices → select, ...) unless the view
names one; ``percent`` (lists and details only) shows a fraction as a percentage.
:func:`parse` turns submitted text into the storage's wire value or raises
InvalidInput with a message for the person filling in the form. Datetimes are shown and
read in the attribute's ``zone`` (the deployment's time zone); the storage keeps them in UTC.
"""
from __future__ import annotations

import datetime
import decimal
import re
from typing import Any

import attrs

from caruso_core import zones
from caruso_core.errors import InvalidInput
from caruso_core.zones import UTC
from caruso_frontoffice.records import Attribute
from caruso_frontoffice.views.model import Field

BY_TYPE = {"string": "text", "text": "textarea", "integer": "number", "float": "decimal",
           "decimal": "decimal", "boolean": "checkbox", "date": "date", "datetime": "datetime"}
DEFAULT_MAX_LENGTH = {"textarea": 10_000}
FALLBACK_MAX_LENGTH = 1_000
EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")
PHONE = re.compile(r"^\+?[0-9 ()./-]{3,30}$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INTEGER_LIMIT = 2 ** 63
GROUP = "\u202f"        # a narrow no-break space between the thousands of an amount shown


def widget(field: Field, attribute: Attribute) -> str:
    """The widget of ``field``: readonly for generated attributes, else the view's choice,
    else select for choices, else by type."""
    if attribute.generated:
        return "readonly"
    if field.widget:
        return field.widget
    if attribute.choices:
        return "select"
    return BY_TYPE.get(attribute.type, "text")


def max_length(field: Field, attribute: Attribute, kind: str) -> int:
    """The longest text accepted: the smallest of the view's and the model's limits."""
    limits = [limit for limit in (field.max_length, attribute.length) if limit]
    return min(limits) if limits else DEFAULT_MAX_LENGTH.get(kind, FALLBACK_MAX_LENGTH)


def bounds(attribute: Attribute, kind: str, value: str = "") -> dict[str, str]:
    """The ``min`` and ``max`` a date input gives the browser (the model's, ``today`` as the
    date in the attribute's zone, as the storage takes it), leaving out one the ``value`` it
    shows is beyond already (stored before the bound: the record's other fields stay
    editable); the storage checks them again. Numbers
    are text inputs, which take no bounds: a browser's number input reads ``4,5`` as 45. A
    date-and-time input showing seconds takes any second (``step="any"``): its default step
    of a minute counts from the value shown, so only times at that second were valid and
    the browser would not send another."""
    if kind == "datetime":
        return {"step": "any"} if len(value) > 16 and value[16:] not in (":00", ":00.000000") else {}
    if kind != "date":
        return {}
    today = zones.today(attribute.zone).isoformat()
    given = {name: (today if bound == "today" else str(bound))[:10]     # a datetime's too; ISO dates compare as text
             for name, bound in (("min", attribute.minimum), ("max", attribute.maximum)) if bound is not None}
    current = value[:10] or None
    return {name: text for name, text in given.items()
            if current is None or (current >= text if name == "min" else current <= text)}


def parse(field: Field, attribute: Attribute, raw: str | None) -> Any:
    """The wire value of the submitted text ``raw`` (None when left empty)."""
    kind = widget(field, attribute)
    label = field.label or attribute.label
    text = (raw or "").strip()
    if kind == "checkbox":
        return text in ("on", "true", "1")
    if kind == "select" and attribute.choices and text and text not in attribute.choices:
        raise InvalidInput(f"{label}: {_expected(kind, attribute)}")
    if len(text) > max_length(field, attribute, kind):
        raise InvalidInput(f"{label}: at most {max_length(field, attribute, kind)} characters, please")
    if CONTROL.search(text):
        raise InvalidInput(f"{label}: contains control characters")
    if not text:
        if field.required if field.required is not None else attribute.required:
            raise InvalidInput(f"{label}: please fill this in")
        return None
    try:
        return _convert(kind, attribute, text)
    except (ValueError, ArithmeticError):
        raise InvalidInput(f"{label}: {_expected(kind, attribute)}") from None
    except Unclear as unclear:
        raise InvalidInput(f"{label}: {unclear}") from None


def parse_filter(field: Field, attribute: Attribute, raw: str | None) -> Any:
    """The value a list filter asks for; None means any. A yes/no choice for booleans."""
    if attribute.type == "boolean":
        if raw in ("yes", "no"):
            return raw == "yes"
        if raw:
            raise InvalidInput(f"{field.label or attribute.label}: choose yes or no")
        return None
    return parse(attrs.evolve(field, required=False, widget=None), attribute, raw)


def _convert(kind: str, attribute: Attribute, text: str) -> Any:
    if kind == "email" and not EMAIL.match(text):
        raise ValueError(text)
    if kind == "phone" and not PHONE.match(text):
        raise ValueError(text)
    if attribute.type == "integer":
        number = int(text)
        if abs(number) >= INTEGER_LIMIT:
            raise ValueError(text)
        return number
    if attribute.type in ("decimal", "float"):
        value = _number(text, attribute.scale if attribute.type == "decimal" else None)
        return float(value) if attribute.type == "float" else str(value)
    if attribute.type == "date":
        return datetime.date.fromisoformat(text).isoformat()
    if attribute.type == "datetime":
        moment = datetime.datetime.fromisoformat(text)
        if moment.tzinfo is not None:              # stored as written: an offset would be lost
            raise Unclear(f"{text}: a date and time without a time zone, please")
        return in_utc(moment, attribute.zone).isoformat(timespec="seconds")
    return text


def as_local(value: Any, zone: datetime.tzinfo) -> datetime.datetime | None:
    """A stored datetime (a datetime or ISO text; without an offset: UTC) as the time of
    day in ``zone`` without an offset (its ``fold`` 1 for the second of a time the clocks
    pass twice); one with an offset as it is; None for anything else."""
    try:
        moment = value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(str(value))
        if moment.tzinfo is not None or zone is UTC:
            return moment
        return moment.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None


def in_utc(moment: datetime.datetime, zone: datetime.tzinfo) -> datetime.datetime:
    """The time of day ``moment`` (no offset) in ``zone`` as UTC without an offset; Unclear
    when the clocks skip it (put forward); when they pass it twice, the first
    (:func:`second_time` gives the other)."""
    if zone is UTC:
        return moment
    shifted = moment.replace(tzinfo=zone).astimezone(UTC)
    if shifted.astimezone(zone).replace(tzinfo=None) != moment:
        raise Unclear(f"{moment.isoformat(sep=' ', timespec='minutes' if not moment.second else 'seconds')}: "
                      f"there is no such time in {zone}, the clocks go forward then")
    return shifted.replace(tzinfo=None)


def second_time(attribute: Attribute, value: str) -> str | None:
    """For a datetime ``value`` as :func:`parse` gives it (UTC), read from a time of day the
    clocks pass twice in the attribute's zone (the night they go back): the second such
    moment, as :func:`parse` would give it; None for a time of day that comes once."""
    first = datetime.datetime.fromisoformat(value)
    try:
        shown = first.replace(tzinfo=UTC).astimezone(attribute.zone).replace(tzinfo=None, fold=1)
        second = shown.replace(tzinfo=attribute.zone).astimezone(UTC).replace(tzinfo=None)
    except OverflowError:                   # at the ends of the calendar: no clocks changed there
        return None
    return second.isoformat(timespec="seconds") if second != first else None


class Unclear(Exception):
    """A number or a time a form cannot read without guessing: said to the user as it is."""


# digits with one decimal point or comma; no exponent, no grouping (1e5, 1,234.50, 12 000)
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
# a point or comma that may group thousands as well as mark decimals: 1,250 or 1.250 (not 0,125)
GROUPING = re.compile(r"[+-]?0*[1-9][0-9]{0,2}[.,][0-9]{3}")


def _number(text: str, scale: int | None) -> decimal.Decimal:
    """The number a form's field holds, a comma read as the decimal point; ValueError for
    other text; with a ``scale``, :class:`Unclear` for more decimal places than the value is
    stored with (rounding them would change it unsaid) and, below three, for ``1,250`` or
    ``1.250`` (1250, or 1.25 written with a trailing zero?)."""
    if not NUMBER.fullmatch(text):
        raise ValueError(text)
    point = text.replace(",", ".")
    if scale is not None and scale < 3 and GROUPING.fullmatch(text):      # three places cannot all count
        raise Unclear(f"{text} may mean {point.replace('.', '')} or {point}: write it without the "
                      f"{'comma' if ',' in text else 'point'}, or with more or fewer decimals")
    places = len(point.partition(".")[2].rstrip("0"))        # counted as written: 12.50 has two
    if scale is not None and places > scale:
        raise Unclear(f"at most {scale} decimal place{'s' if scale != 1 else ''}, please ({text} has {places})")
    return decimal.Decimal(point)


def _expected(kind: str, attribute: Attribute) -> str:
    if kind == "select" and attribute.choices:
        return "choose one of " + ", ".join(label for _, label in attribute.options())
    return {"email": "an e-mail address like name@example.com, please",
            "phone": "a phone number like +49 30 1234567, please",
            "integer": "a whole number, please", "decimal": "a number like 1234.50, please",
            "float": "a number like 1234.50, please", "date": "a date like 2026-03-31, please",
            "datetime": "a date and time like 2026-03-31T14:30, please",
            }.get(kind if kind in ("email", "phone") else attribute.type, "a valid value, please")


def day(text: str, refusal: str) -> datetime.date:
    """The date ``text`` written YYYY-MM-DD (nothing shorter or longer); InvalidInput
    saying ``refusal`` otherwise."""
    try:
        if len(text) == 10:
            return datetime.date.fromisoformat(text)
    except ValueError:
        pass
    raise InvalidInput(refusal)


def initial(attribute: Attribute) -> Any:
    """What a new form's field starts with, as the storage would keep it (:func:`typed` puts
    it in the form): the model's default, a moving one (``today``, ``now``: the storage's
    words) as the day or the minute the form is opened in the attribute's zone (a datetime's
    ``today``: that day's midnight there), a datetime in UTC."""
    if attribute.type not in ("date", "datetime") or attribute.default not in ("today", "now"):
        return attribute.default
    moment = datetime.datetime.now(attribute.zone).replace(second=0, microsecond=0)
    if attribute.default == "today":
        moment = moment.replace(hour=0, minute=0)
    if attribute.type == "date":
        return moment.date().isoformat()
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="minutes")


def typed(attribute: Attribute, value: Any) -> str:
    """A stored value as a form's input holds it, so that it is read back unchanged: a
    number in plain digits (``1e-05`` as ``0.00001``, a decimal ``1E-8`` as ``0.00000001``),
    a datetime in the attribute's zone (to the minute when its seconds are zero), anything
    else as :func:`display` writes it."""
    if attribute.type == "datetime" and value is not None:
        shifted = as_local(value, attribute.zone)
        if shifted is None:
            return display(value)
        return shifted.isoformat() if shifted.second or shifted.microsecond else shifted.isoformat(timespec="minutes")
    if attribute.type in ("decimal", "float") and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            number = decimal.Decimal(str(value))
        except decimal.InvalidOperation:
            return display(value)
        if number.is_finite():
            return format(number, "f")
    return display(value)


def display(value: Any) -> str:
    """A stored value as text for a page (escaping is the template's job)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def when(value: Any, zone: datetime.tzinfo = UTC, seconds: bool = False) -> str:
    """An ISO date-time (without an offset: UTC) or Unix seconds as pages show it, to the
    minute (or the second), in ``zone`` with its abbreviation: ``2026-12-05 15:26 CET``;
    anything else as :func:`display` shows it."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            moment = datetime.datetime.fromtimestamp(value, UTC)
        else:
            moment = datetime.datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(zone)
    except (ValueError, OverflowError, OSError):
        return display(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def moment(value: Any, zone: datetime.tzinfo = UTC, to_minute: bool = False) -> str:
    """A stored datetime as pages show it, in ``zone`` (stored without an offset, it is UTC):
    ``2026-12-05 14:26``, with the seconds when they are not zero unless ``to_minute`` (a
    list's cells, which line up so); one stored with an offset is shown with it
    (``2026-12-05 14:26:30 +02:00``); a time the clocks pass twice (the night they go back)
    with the zone's abbreviation, which tells the two apart (``2026-10-25 02:30 CET``);
    anything else as :func:`display` shows it."""
    parsed = as_local(value, zone)
    if parsed is None:
        return display(value)
    text = parsed.strftime("%Y-%m-%d %H:%M:%S" if parsed.second and not to_minute else "%Y-%m-%d %H:%M")
    offset = parsed.strftime("%z")
    if offset:
        return f"{text} {offset[:3]}:{offset[3:5]}"
    here, other = parsed.replace(tzinfo=zone), parsed.replace(tzinfo=zone, fold=1 - parsed.fold)
    return f"{text} {here.strftime('%Z')}" if here.utcoffset() != other.utcoffset() else text


def shown(attribute: Attribute, value: Any, kind: str | None = None, *, grouped: bool = True,
          to_minute: bool = False) -> str:
    """A stored value of ``attribute`` as a page shows it: a choice by its label; a datetime
    as :func:`moment` writes it in the attribute's zone (``to_minute``: without its seconds);
    a number shown with the ``percent`` widget (a fraction, 0.123) as a percentage (12.3%); a
    decimal with its thousands grouped by ``GROUP``
    (1 234 567.50: a comma would read as the decimal point :func:`parse` takes) unless not
    ``grouped`` (forms and exports)."""
    if kind == "percent" and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            return f"{float(value):.1%}"
        except ValueError:
            pass
    if attribute.type == "decimal" and grouped and not attribute.choices and value is not None:
        try:
            return f"{decimal.Decimal(str(value)):,}".replace(",", GROUP)
        except (decimal.InvalidOperation, ValueError):
            pass
    if attribute.type == "datetime" and value is not None:
        return moment(value, attribute.zone, to_minute)
    return attribute.label_of(display(value)) if attribute.choice_labels else display(value)
