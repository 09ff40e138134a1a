"""Text folded for the text operators (``contains``, ``startswith``, ``like``): lower case
and without accents, so that *zoe* finds *Zoë*, *muller* *Müller* and *sao* *São*.

:func:`fold` folds a value in Python (the filter's value, and the values a rule's condition
tests); :class:`folded` is the same folding of a column in SQL, compiled for each database:

- SQLite: the function ``caruso_fold`` (:func:`fold` itself), which :func:`add_to_sqlite`
  gives each connection of an engine;
- PostgreSQL: ``translate(lower(x), ...)`` with every letter of the Latin blocks
  (U+00C0-U+024F) whose folding is one other letter (``É`` and ``é`` to ``e``, ``Ø`` to ``ø``);
  outside them, as ``lower`` has it;
- MySQL and MariaDB: the text compared in ``utf8mb4_unicode_ci`` (case and accents ignored);
- other databases: ``lower(x)``, accents as they are.

Letters that fold to two (``ß``, ``æ`` stay themselves) and ligatures are not expanded.
"""
from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import String, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

LATIN = range(0xC0, 0x250)


def fold(text: str) -> str:
    """``text`` in lower case without combining accents (``Zoë`` → ``zoe``)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).lower()


def _sqlite_fold(value: Any) -> Any:
    return fold(value) if isinstance(value, str) else value


def add_to_sqlite(engine: Engine) -> None:
    """Give every connection of the SQLite ``engine`` the function ``caruso_fold``."""
    @event.listens_for(engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("caruso_fold", 1, _sqlite_fold, deterministic=True)


def _translation() -> tuple[str, str]:
    pairs = [(chr(code), fold(chr(code))) for code in LATIN]
    kept = [(letter, folded_letter) for letter, folded_letter in pairs
            if len(folded_letter) == 1 and folded_letter != letter and "'" not in letter + folded_letter]
    return "".join(letter for letter, _ in kept), "".join(folded_letter for _, folded_letter in kept)


ACCENTED, PLAIN = _translation()


class folded(FunctionElement[str]):
    """A text expression folded as :func:`fold` folds (see the module's list per database)."""

    type = String()
    inherit_cache = True


@compiles(folded)
def _lower(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(folded, "sqlite")
def _sqlite(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"caruso_fold({compiler.process(element.clauses, **kw)})"


@compiles(folded, "postgresql")
def _postgresql(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"translate(lower({compiler.process(element.clauses, **kw)}), '{ACCENTED}', '{PLAIN}')"


@compiles(folded, "mysql")
@compiles(folded, "mariadb")
def _mysql(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CONVERT({compiler.process(element.clauses, **kw)} USING utf8mb4) COLLATE utf8mb4_unicode_ci)"
