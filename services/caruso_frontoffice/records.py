"""Business objects as the front office sees them, through ``caruso.storage/1``.

Everything the pages need from the storage service goes through :class:`Records`:
metadata (``describe``), a page of a list view (``query`` + ``count``), one record
(``get``), ``create`` and ``update`` with the record's ``_version``. The calls and
values are those of docs/storage.md.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any, Callable

import attrs

from caruso_core.zones import UTC
from caruso_frontoffice.views.model import ListView

STORAGE = "caruso.storage/1"
METADATA_SECONDS = 5.0
NUMBER = re.compile(r"[0-9\s+().\-/\u2010-\u2015]+")    # a phone number as people type or paste one
# a number with a word before it (*tel 070 …*, *Phone: +31 …*) or an extension after it (*… ext 12*, *… x12*)
SAID_NUMBER = re.compile(r"(?:(?:tel(?:ephone)?|phone|ph|mobile|mob|cell|fax)\.?:?\s*)?"
                         r"(?P<number>[0-9+(](?:[0-9\s+().\-/\u2010-\u2015]*[0-9)])?)"   # from a digit, + or ( to a digit or )
                         r"\s*(?:(?:ext|extension|x)\.?\s*[0-9]{1,6})?",
                         re.IGNORECASE)
SEARCHED_DIGITS = 6                             # digits of a search that is a phone number
SEARCHED_WORDS = 8                              # words of a search each looked for (the rest: ignored)


@attrs.frozen
class Attribute:
    """An attribute of a business object, from ``describe``; ``choice_labels`` are the
    labels of ``choices`` in their order (the codes themselves when the model gives none);
    ``minimum`` and ``maximum`` the bounds of its values as plain data (``today`` for a date);
    ``scale`` the decimal places a decimal is stored with (None: as given); ``zone`` the time
    zone pages show and read its datetimes in (the storage keeps them in UTC)."""

    name: str
    type: str
    label: str
    length: int | None = None
    required: bool = False
    choices: tuple[str, ...] | None = None
    generated: bool = False
    default: Any = None
    choice_labels: tuple[str, ...] | None = None
    minimum: Any = None
    maximum: Any = None
    scale: int | None = None
    zone: dt.tzinfo = UTC

    def options(self) -> list[tuple[str, str]]:
        """``(code, label)`` of each choice, in the model's order."""
        return list(zip(self.choices or (), self.choice_labels or self.choices or ()))

    def label_of(self, code: str) -> str:
        """The label of the choice ``code``; any other text as it is."""
        return dict(self.options()).get(code, code)


@attrs.frozen
class ObjectInfo:
    """A business object's key and attributes, from ``describe``; ``references``: the
    attribute of each many-to-one relation with a one-attribute foreign key, and the object
    it names; ``label``: what pages call it (the model's label; none: its name)."""

    name: str
    key: tuple[str, ...]
    attributes: dict[str, Attribute]
    references: dict[str, str] = attrs.field(factory=dict)
    label: str = ""

    @property
    def called(self) -> str:
        """What pages call the object: its label, unless that is its name (a model without
        one), which is then written in words (``FieldServiceOrder``: *Field service order*)."""
        if self.label and self.label != self.name:
            return self.label
        return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", self.name).capitalize()

    def attribute(self, name: str) -> Attribute:
        """The attribute ``name``; one the model lacks reads as plain text (and the storage
        service refuses it when it is queried or written)."""
        return self.attributes.get(name) or Attribute(name, "string", name)

    def key_attribute(self, name: str) -> Attribute:
        """The key attribute ``name`` as keys are written (in addresses, by the storage): a
        datetime in UTC, not in the zone pages show times in."""
        return attrs.evolve(self.attribute(name), zone=UTC)

    def key_of(self, record: dict[str, Any]) -> dict[str, Any]:
        return {name: record.get(name) for name in self.key}


def in_sentence(text: str) -> str:
    """``text`` (a label, or a record named by one) within a sentence: its first letter lower
    case, unless the second is upper case too (*IBAN*)."""
    return text[:1].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text


def object_info(name: str, described: dict[str, Any], zone: dt.tzinfo = UTC) -> ObjectInfo:
    """An :class:`ObjectInfo` from one object's entry of ``describe``, its datetimes shown in ``zone``."""
    attributes = {}
    for attribute, meta in (described.get("attributes") or {}).items():
        choices = tuple(str(c) for c in meta.get("choices") or ()) or None
        labels = meta.get("choice_labels") or {}
        attributes[attribute] = Attribute(
            attribute, str(meta.get("type") or "string"), str(meta.get("label") or attribute),
            meta.get("length"), bool(meta.get("required")), choices, bool(meta.get("generated")),
            meta.get("default"), tuple(str(labels.get(c, c)) for c in choices) if choices and labels else None,
            meta.get("min"), meta.get("max"), meta.get("scale"), zone)
    references = {relation["foreign_key"][0]: str(relation["target"])
                  for relation in (described.get("relations") or {}).values()
                  if relation.get("kind") == "many-to-one" and len(relation.get("foreign_key") or ()) == 1}
    return ObjectInfo(name, tuple(described.get("key") or ()), attributes, references,
                      str(described.get("label") or ""))


class Records:
    """The storage calls of the front office's pages (thread-safe, one per front office).

    Object metadata is cached for ``METADATA_SECONDS``: a changed model shows within
    that time. Pages show and read datetimes in ``zone``.
    """

    def __init__(self, storage: Any, clock: Callable[[], float] = time.monotonic, zone: dt.tzinfo = UTC) -> None:
        self._storage = storage
        self.zone = zone
        self._clock = clock
        self._infos: dict[str, tuple[float, ObjectInfo]] = {}

    def info(self, object_name: str) -> ObjectInfo:
        now = self._clock()
        cached = self._infos.get(object_name)
        if cached is None or cached[0] < now:
            described = object_info(object_name, self._storage.describe(object_name), self.zone)
            cached = self._infos[object_name] = (now + METADATA_SECONDS, described)
        return cached[1]

    def page(self, view: ListView, search_fields: list[str], search: str, filters: dict[str, Any],
             number: int, sort: str | None = None) -> tuple[list[dict[str, Any]], int]:
        """Page ``number`` (from 1) of ``view``'s objects whose ``search_fields`` contain
        ``search`` and whose attributes equal ``filters``, and how many match in all; ordered
        by ``sort`` (``name`` or ``-name``) first, then by the view's order."""
        where = _matching(search_fields, search, filters)
        rows = self._storage.query(view.object, where, order_of(view, sort), view.page_size,
                                   (number - 1) * view.page_size)
        return rows, self._storage.count(view.object, where)

    def all(self, view: ListView, search_fields: list[str], search: str, filters: dict[str, Any],
            sort: str | None, limit: int) -> list[dict[str, Any]]:
        """Like :meth:`page`, every matching object up to ``limit``, read a page of 200 at a time."""
        where, order, rows = _matching(search_fields, search, filters), order_of(view, sort), []
        while len(rows) < limit:
            found = self._storage.query(view.object, where, order, min(200, limit - len(rows)), len(rows))
            rows += found
            if len(found) < 200:
                break
        return rows

    def get(self, object_name: str, key: Any) -> dict[str, Any]:
        return self._storage.get(object_name, key)

    def matching(self, object_name: str, where: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` objects of ``object_name`` matching the filter ``where``."""
        return self._storage.query(object_name, where, None, limit)

    def create(self, object_name: str, values: dict[str, Any]) -> dict[str, Any]:
        return self._storage.create(object_name, values)

    def update(self, object_name: str, key: Any, values: dict[str, Any], version: Any) -> dict[str, Any]:
        return self._storage.update(object_name, key, values, version=version)

    def delete(self, object_name: str, key: Any, version: Any) -> None:
        self._storage.delete(object_name, key, version=version)

    def missing(self, info: ObjectInfo, values: dict[str, Any]) -> dict[str, str]:
        """Of ``values`` (attributes of ``info``'s object), those naming an object of a
        many-to-one relation that the storage does not hold, each with a one-line reason shown
        beside its field (one round trip; relations are not constraints of the storage, so
        forms check them)."""
        asked = []
        for name, value in values.items():
            target = info.references.get(name)
            if target is not None and isinstance(value, (int, str)) and not isinstance(value, bool):
                named = self.info(target)
                if len(named.key) == 1:
                    asked.append((name, named, named.key[0], value))
        if not asked:
            return {}
        counts = self.read([{"op": "count", "object": named.name, "where": {"field": key, "op": "eq", "value": value}}
                            for _, named, key, value in asked])
        return {name: f"There is no {in_sentence(named.called)} with {in_sentence(named.attribute(key).label)} {value}"
                for (name, named, key, value), count in zip(asked, counts) if not count}

    def add_contact(self, object_name: str, key: Any, contact: dict[str, Any]) -> dict[str, Any]:
        """Append ``contact`` to the contact history of one object (a customer)."""
        return self._storage.add_contact(object_name, key, contact)

    def read(self, requests: list[dict[str, Any]]) -> list[Any]:
        """Several reads in one round trip (``read``, as JSON text both ways); see
        :func:`referring` and :func:`history` for requests."""
        return json.loads(self._storage.read(json.dumps(requests)))

    def referring(self, object_name: str, field: str, key: Any, limit: int,
                  where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Objects of ``object_name`` whose ``field`` holds ``key`` (and match ``where``)."""
        return self.read([referring(object_name, field, key, limit, where)])[0]

    def history(self, object_name: str, key: Any, limit: int, offset: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` entries of the contact history of one object (a customer), newest
        first, from ``offset``; and whether older entries follow."""
        return history_page(self.read([history(object_name, key, limit, offset)])[0], limit)


def searching(fields: list[str], text: str) -> dict[str, Any]:
    """The condition of a search for ``text`` in ``fields``: each of its words (the first
    ``SEARCHED_WORDS`` different ones) is contained in one of them, case and accents ignored (*smith berlin*
    finds Ann Smith of Berlin; an IBAN typed in groups finds it stored without); a text typed
    as a phone number (``NUMBER``, ``SEARCHED_DIGITS`` digits or more: not a year or a
    postcode; perhaps said so, ``SAID_NUMBER``) also finds the number however it is stored (the
    storage's ``digits``: *tel 0205550101* finds *+31 20 555 0101*)."""
    words = [{"or": [{"field": field, "op": "contains", "value": word} for field in fields]}
             for word in list(dict.fromkeys(text.split()))[:SEARCHED_WORDS] or [text]]
    condition = words[0] if len(words) == 1 else {"and": words}
    said = SAID_NUMBER.fullmatch(text)
    if said and typed_as_number(said["number"], SEARCHED_DIGITS):
        condition = {"or": [condition, *({"field": field, "op": "digits", "value": said["number"]}
                                         for field in fields)]}
    return condition


def typed_as_number(text: str, least: int) -> bool:
    """Whether ``text`` is written as a phone number: digits (``least`` or more), spaces (also
    no-break ones), ``+().-/`` and the dashes of pasted text."""
    return NUMBER.fullmatch(text) is not None and sum(char.isdigit() for char in text) >= least


def _matching(search_fields: list[str], search: str, filters: dict[str, Any]) -> dict[str, Any] | None:
    """The condition of a list: attributes equal to ``filters`` and one of ``search_fields``
    containing ``search`` (see :func:`searching`)."""
    conditions: list[dict[str, Any]] = [{"field": field, "op": "eq", "value": value}
                                        for field, value in filters.items()]
    if search and search_fields:
        conditions.append(searching(search_fields, search))
    return {"and": conditions} if conditions else None


def order_of(view: ListView, sort: str | None = None) -> list[str] | None:
    """``sort`` first, then the view's own order (without the sorted attribute)."""
    order = [f"-{o.field}" if o.descending else o.field for o in view.order]
    if sort:
        order = [sort, *(o for o in order if o.lstrip("-") != sort.lstrip("-"))]
    return order or None


def referring(object_name: str, field: str, key: Any, limit: int,
              where: dict[str, Any] | None = None, order: list[str] | None = None) -> dict[str, Any]:
    """The read request of the objects of ``object_name`` whose ``field`` holds ``key``
    (and match ``where``), up to ``limit``, in ``order`` (attributes, ``-`` before one descending)."""
    condition: dict[str, Any] = {"field": field, "op": "eq", "value": key}
    return {"op": "query", "object": object_name, "where": {"and": [condition, where]} if where else condition,
            "limit": limit, **({"order_by": order} if order else {})}


def history(object_name: str, key: Any, limit: int, offset: int) -> dict[str, Any]:
    """The read request of a page of ``limit`` contact-history entries from ``offset``
    (one more, to tell whether older ones follow: see :func:`history_page`)."""
    return {"op": "contact_history", "object": object_name, "key": key, "limit": limit + 1, "offset": offset}


def history_page(entries: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], bool]:
    """The entries of a page read with :func:`history`, and whether older entries follow."""
    return entries[:limit], len(entries) > limit
