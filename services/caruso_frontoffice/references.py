"""Fields of forms and detail views that name an object by another of its attributes (``by``).

A many-to-one reference such as a task's ``customer_id`` holds the customer's key; with
``<field name="customer_id" by="customer_no"/>`` the user types and sees the customer's
number instead. :class:`Typed` says what such a field names; :func:`keys_of` turns what the
user typed into keys before a save (one round trip for all the form's fields, a second for
those not found as typed, looked up whatever their case), and :func:`shown` turns stored
keys into what the user sees (one round trip), as :func:`seen_in` does for the rows of a list
whose column has ``by``. The storage keeps the key: digests, versions, the relation check,
sorting and filters work on keys as before.
"""
from __future__ import annotations

from typing import Any, Iterable

import attrs

from caruso_core.digits import digits
from caruso_frontoffice.records import Attribute, Records, in_sentence

IN_CHUNK = 1000          # keys in one lookup: the most a storage filter's "in" takes


@attrs.frozen
class Typed:
    """A field naming an object of ``target`` (key attribute ``key`` of type ``key_type``)
    by its ``by`` attribute; ``called``: what pages call the target."""

    target: str
    key: str
    key_type: str
    by: Attribute
    called: str

    def takes(self, key: Any) -> bool:
        """Whether ``key`` (a stored key or a link's text) can be a key of the target."""
        if self.key_type != "integer":
            return isinstance(key, (str, int)) and not isinstance(key, bool)
        return (isinstance(key, int) and not isinstance(key, bool)) or (isinstance(key, str) and digits(key)
                                                                       and len(key) <= 19)

    def normal(self, key: Any) -> Any:
        """A key it :meth:`takes` as the storage gives it back (a link's ``"42"`` as 42)."""
        return int(key) if self.key_type == "integer" else str(key)


def keys_of(records: Records, fields: Iterable[dict[str, Any]], values: dict[str, Any]) -> dict[str, str]:
    """Replace in ``values`` each typed field's text by the key of the one object whose ``by``
    attribute holds it (as typed, else a text whatever its case); returns a one-line reason per
    field whose text names no object, or more than one (the value is then left as typed).
    CarusoError when the storage cannot be asked."""
    asked = [(field["name"], field["typed"], values[field["name"]]) for field in fields
             if field.get("typed") is not None and values.get(field["name"]) is not None]
    if not asked:
        return {}
    found = records.read([_lookup(typed, "eq", text) for _, typed, text in asked])
    missed = [index for index, ((_, typed, _), rows) in enumerate(zip(asked, found))
              if not rows and typed.by.type in ("string", "text")]
    if missed:                      # then whatever the case: s-1001 for S-1001
        again = records.read([_lookup(asked[index][1], "like", _literal(asked[index][2])) for index in missed])
        for index, rows in zip(missed, again):
            found[index] = rows
    problems = {}
    for (name, typed, text), rows in zip(asked, found):
        if len(rows) == 1:
            values[name] = rows[0][typed.key]
        elif rows:
            problems[name] = f"More than one {in_sentence(typed.called)} has {in_sentence(typed.by.label)} {text}"
        else:
            problems[name] = f"There is no {in_sentence(typed.called)} with {in_sentence(typed.by.label)} {text}"
    return problems


def _lookup(typed: Typed, op: str, text: Any) -> dict[str, Any]:
    return {"op": "query", "object": typed.target, "limit": 2, "where": {"field": typed.by.name, "op": op, "value": text}}


def _literal(text: str) -> str:
    """``text`` as a LIKE pattern matching itself only (the storage's LIKE ignores case)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def shown(records: Records, fields: Iterable[dict[str, Any]], record: dict[str, Any]
          ) -> tuple[dict[str, Any], dict[str, str]]:
    """``record`` (stored values, or keys a link gives) with each typed field's key replaced by
    the ``by`` value of the object it names, and a note per field whose key names none (the
    key then stays, shown as it is). Raises CarusoError when the storage cannot be asked."""
    typed = {field["name"]: field["typed"] for field in fields if field.get("typed") is not None}
    seen = seen_in(records, typed, [record])
    replaced, notes = dict(record), {}
    for name, typed_field in typed.items():
        key = record.get(name)
        if key in (None, "") or not typed_field.takes(key):
            continue
        if typed_field.normal(key) in seen[name]:
            replaced[name] = seen[name][typed_field.normal(key)]
        else:
            notes[name] = (f"This names {in_sentence(typed_field.called)} {key}, which does not exist: type a "
                           f"{in_sentence(typed_field.by.label)} to change it.")
    return replaced, notes


def seen_in(records: Records, typed: dict[str, Typed], rows: list[dict[str, Any]]) -> dict[str, dict[Any, Any]]:
    """For each field ``name`` of ``typed``, what users see of the keys ``rows`` hold in it:
    ``{normal key: by value}`` of the objects they name (a key naming none is absent). One
    round trip for all of them; CarusoError when the storage cannot be asked."""
    asked = []
    for name, typed_field in typed.items():
        keys = list(dict.fromkeys(typed_field.normal(row[name]) for row in rows
                                  if row.get(name) not in (None, "") and typed_field.takes(row[name])))
        for start in range(0, len(keys), IN_CHUNK):
            part = keys[start:start + IN_CHUNK]
            asked.append((name, typed_field, {"op": "query", "object": typed_field.target, "limit": len(part),
                                              "where": {"field": typed_field.key, "op": "in", "value": part}}))
    seen: dict[str, dict[Any, Any]] = {name: {} for name in typed}
    for (name, typed_field, _), found in zip(asked, records.read([request for *_, request in asked]) if asked else ()):
        seen[name].update((row[typed_field.key], row[typed_field.by.name]) for row in found)
    return seen
