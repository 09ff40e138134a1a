"""Checks of values the model declares beyond their type: e-mail addresses and duplicates.

An attribute declared ``format="email"`` holds e-mail addresses only (:func:`email`). An
object's ``<unique attribute compare>`` refuses a value equal to another object's once both
are normalised (:func:`normalised`: ``exact``; ``ignore-case``, trimmed with case ignored;
``digits``, the digits 0-9 only); :class:`Duplicates` looks for such an object in the
transaction of the change, so objects written earlier in the same batch count. On
PostgreSQL a check first takes a transaction-scoped advisory lock on its normalised value
(:func:`lock_key`), so two transactions writing equal values take turns and the second sees
the first's object; SQLite's writers take turns anyway; MariaDB's do not.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any, Callable

from sqlalchemy import Table, and_, func, not_, select
from sqlalchemy.engine import Connection

from caruso_core.errors import InvalidInput

from caruso_storage.folding import digits
from caruso_storage.model import ObjectType, Unique

MAX_EMAIL = 254                  # the longest address mail can carry (RFC 5321 path limit)
MAX_LOCAL = 64
MAX_LABEL = 63
FORBIDDEN_IN_EMAIL = set('"(),:;<>[\\]')
# the rules of well_formed for ASCII text, in one regular expression: dot-separated runs of
# characters other than control characters, blanks, the forbidden ones and "@" (at most
# MAX_LOCAL before the "@"), then labels of letters, digits and inner hyphens, the last not all digits
_ASCII_RUN = "[^\x00-\x20\x7f" + re.escape("".join(sorted(FORBIDDEN_IN_EMAIL))) + "@.]+"
_ASCII_LABEL = f"(?!-)[A-Za-z0-9-]{{1,{MAX_LABEL}}}(?<!-)"
ASCII_ADDRESS = re.compile(f"(?=[^@]{{1,{MAX_LOCAL}}}@){_ASCII_RUN}(?:\\.{_ASCII_RUN})*"
                           f"@(?:{_ASCII_LABEL}\\.)+(?![0-9]+\\Z){_ASCII_LABEL}")


def email(name: str, value: str) -> str:
    """``value`` as an e-mail address, blanks around it removed; InvalidInput
    ``NAME: not an e-mail address`` when it is none (:func:`well_formed`); ASCII text is
    checked by one regular expression, :data:`ASCII_ADDRESS`."""
    address = value.strip()
    if len(address) > MAX_EMAIL or not (ASCII_ADDRESS.fullmatch(address) is not None if address.isascii()
                                        else well_formed(address)):
        raise InvalidInput(f"{name}: not an e-mail address", field=name)
    return address


def well_formed(address: str) -> bool:
    """Whether ``address`` is an e-mail address: one ``@`` between a local part (at most 64
    characters, no leading, trailing or double dot) and a domain of at least two labels of
    letters, digits and inner hyphens (a top-level label not all digits), at most 254
    characters, no blank, control, format (zero-width, bidi) or quoting character."""
    local, at, domain = address.rpartition("@")
    labels = domain.split(".")
    return not (not at or not local or len(address) > MAX_EMAIL or len(local) > MAX_LOCAL or "@" in local
                or any(character in FORBIDDEN_IN_EMAIL or unicodedata.category(character)[0] in "CZ"
                       for character in address)
                or local.startswith(".") or local.endswith(".") or ".." in local
                or len(labels) < 2 or labels[-1].isdigit()
                or not all(_label(label) for label in labels))


def _label(label: str) -> bool:
    return (0 < len(label) <= MAX_LABEL and not label.startswith("-") and not label.endswith("-")
            and all(character.isalnum() or character == "-" for character in label))


def lock_key(table: str, attribute: str, wanted: Any) -> int:
    """The PostgreSQL advisory lock (a signed 64-bit number) of a normalised value of an attribute."""
    digest = hashlib.blake2b(repr((table, attribute, wanted)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def normalised(compare: str, value: Any) -> Any:
    """``value`` as a duplicate check ``compare``s it; None or "" when it takes part in none."""
    if compare == "ignore-case":
        return value.strip().lower()
    if compare == "digits":
        return digits(value)
    return value


class Duplicates:
    """The duplicate checks of one object type in its ``table``; ``read`` turns a selected
    row of ``columns`` into a record."""

    def __init__(self, obj: ObjectType, table: Table, columns: list[Any],
                 read: Callable[[Any], dict[str, Any]]) -> None:
        self.obj = obj
        self.table = table
        self.columns = columns
        self.read = read
        self.uniques = obj.uniques
        self.title = next((a.name for a in obj.attributes.values()
                           if a.type == "string" and a.required and not a.key), None)

    def check(self, connection: Connection, record: dict[str, Any], changed: Any = None) -> None:
        """Refuse ``record`` (stored already in this transaction) when another object has a
        value its checks find equal; ``changed``, when given, limits them to those attributes
        (an update leaves a value it does not change alone, even one stored before the check)."""
        for unique in self.uniques:
            if changed is None or unique.attribute in changed:
                self._check(connection, unique, record)

    def _check(self, connection: Connection, unique: Unique, record: dict[str, Any]) -> None:
        value = record.get(unique.attribute)
        wanted = None if value is None else normalised(unique.compare, value)
        if wanted is None or wanted == "":
            return
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(lock_key(self.table.name, unique.attribute, wanted))))
        column = self.table.c[unique.attribute]
        others = not_(and_(*(self.table.c[name] == record[name] for name in self.obj.key)))
        candidates = self._candidates(unique.compare, column, wanted, connection.dialect.name)
        statement = select(*self.columns).where(others, candidates)
        for row in connection.execute(statement):
            other = self.read(row)
            found = other[unique.attribute]
            if found is not None and normalised(unique.compare, found) == wanted:
                raise self._refusal(unique, other)

    @staticmethod
    def _candidates(compare: str, column: Any, wanted: Any, dialect: str) -> Any:
        """A condition every row whose value the check finds equal meets (the exact comparison
        follows in Python, the same on every database): the digits in order for ``digits``;
        for ``ignore-case``, the lower-cased value contained in the column's, ASCII case
        ignored (SQLite's ``LIKE`` does so itself), every character but ASCII letters, digits
        and ``@.-+`` a wildcard (databases lower-case other characters their own way)."""
        if compare == "exact":
            return column == wanted
        if compare == "digits":
            return column.like("%" + "%".join(wanted) + "%")
        pattern = "".join(character if character.isascii() and (character.isalnum() or character in "@.-+")
                          else "_" for character in wanted)
        return column.like(f"%{pattern}%") if dialect == "sqlite" else column.ilike(f"%{pattern}%")

    def _refusal(self, unique: Unique, other: dict[str, Any]) -> InvalidInput:
        key = other[self.obj.key[0]] if len(self.obj.key) == 1 else {name: other[name] for name in self.obj.key}
        shown = ", ".join(f"{name}={other[name]}" for name in self.obj.key) if isinstance(key, dict) else key
        title = f" ({other[self.title]})" if self.title and other.get(self.title) else ""
        label = self.obj.attributes[unique.attribute].label.lower()
        return InvalidInput(f"{unique.attribute}: {self.obj.label} {shown}{title} has the same {label} already",
                            field=unique.attribute, duplicate={"object": self.obj.name, "key": key})
