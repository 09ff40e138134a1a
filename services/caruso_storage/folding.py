"""Text folded for the text operators (``contains``, ``startswith``, ``like``): lower case
and without the accents of Latin letters, so that *zoe* finds *Zoë*, *muller* *Müller* and
*sao* *São*.

:func:`fold` folds a value in Python (the filter's value, and the values a rule's condition
tests): ``lower()``, then each letter of the Latin blocks U+00C0-U+024F that is an accented
form of a plain one (``é``, ``Å``, ``č``) becomes that letter; other letters stay (``ø``,
``ß``, Cyrillic and Greek letters, a decomposed accent). :class:`folded` is the same folding
of a column in SQL, compiled for each database:

- SQLite: the function ``caruso_fold`` (:func:`fold` itself), which :func:`add_to_sqlite`
  gives each connection of an engine;
- PostgreSQL: ``translate(lower(x), ...)`` with the same letters; a database not encoded
  in UTF-8 gets those of Latin-1 (U+00C0-U+00FF) where its encoding holds them (``LATIN1``,
  ``WIN1252``), else ``lower(x)`` alone (:func:`add_to_postgresql` reads the encoding);
- MySQL and MariaDB: the text compared in ``utf8mb4_unicode_ci`` (case and accents ignored,
  of more letters than :func:`fold`'s);
- other databases: ``lower(x)``, accents as they are.

The operator ``digits`` compares phone numbers however they are written: :func:`digits`
keeps a text's ASCII digits, and :class:`digits_of` does the same to a column in SQL
(SQLite: the function ``caruso_digits``; PostgreSQL: ``regexp_replace``; MySQL and MariaDB:
``REGEXP_REPLACE``; other databases: the text as it is).
"""
from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import String, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

LATIN_1_ENCODINGS = ("LATIN1", "WIN1252")


def _plain(letter: str) -> str | None:
    """The plain ASCII letter ``letter`` is an accented form of, in lower case (None if none)."""
    base = "".join(c for c in unicodedata.normalize("NFD", letter) if not unicodedata.combining(c)).lower()
    return base if len(base) == 1 and base.isascii() and base != letter.lower() else None


# each letter of the Latin blocks U+00C0-U+024F that is an accented form of a plain one: that one
PLAIN = {letter: plain for letter in map(chr, range(0xC0, 0x250)) if (plain := _plain(letter)) is not None}
FOLDED = str.maketrans(PLAIN)


def fold(text: str) -> str:
    """``text`` in lower case without the accents of Latin letters (``Zoë`` → ``zoe``)."""
    lowered = text.lower()
    return lowered if lowered.isascii() else lowered.translate(FOLDED)


def digits(text: str) -> str:
    """The ASCII digits of ``text``, in order (``+31 (0)20-555 0101`` → ``310205550101``)."""
    return "".join(char for char in text if "0" <= char <= "9")


def _sqlite_fold(value: Any) -> Any:
    return fold(value) if isinstance(value, str) else value


def _sqlite_digits(value: Any) -> Any:
    return digits(value) if isinstance(value, str) else value


def add_to_sqlite(engine: Engine) -> None:
    """Give every connection of the SQLite ``engine`` the functions ``caruso_fold`` and ``caruso_digits``."""
    @event.listens_for(engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("caruso_fold", 1, _sqlite_fold, deterministic=True)
        dbapi_connection.create_function("caruso_digits", 1, _sqlite_digits, deterministic=True)


def add_to_postgresql(engine: Engine) -> None:
    """Fold the PostgreSQL ``engine``'s text with the letters its server's encoding holds."""
    @event.listens_for(engine, "first_connect")
    def first_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SHOW server_encoding")
        encoding = str(cursor.fetchone()[0]).upper()
        cursor.close()
        engine.dialect.caruso_folding = _translate_arguments(
            0x250 if encoding in ("UTF8", "UTF-8") else 0x100 if encoding in LATIN_1_ENCODINGS else 0)


def _translate_arguments(below: int) -> tuple[str, str] | None:
    """``translate()``'s two texts for the letters of ``PLAIN`` below the code point ``below``."""
    kept = {letter: plain for letter, plain in PLAIN.items() if ord(letter) < below}
    return ("".join(kept), "".join(kept.values())) if kept else None


UTF8_FOLDING = _translate_arguments(0x250)


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
    lowered = f"lower({compiler.process(element.clauses, **kw)})"
    arguments = getattr(compiler.dialect, "caruso_folding", UTF8_FOLDING)
    return f"translate({lowered}, '{arguments[0]}', '{arguments[1]}')" if arguments else lowered


@compiles(folded, "mysql")
@compiles(folded, "mariadb")
def _mysql(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CONVERT({compiler.process(element.clauses, **kw)} USING utf8mb4) COLLATE utf8mb4_unicode_ci)"


class digits_of(FunctionElement[str]):
    """A text expression's digits, as :func:`digits` keeps them (see the module's list per database)."""

    type = String()
    inherit_cache = True


@compiles(digits_of)
def _as_written(element: digits_of, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(digits_of, "sqlite")
def _sqlite_digits_of(element: digits_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"caruso_digits({compiler.process(element.clauses, **kw)})"


@compiles(digits_of, "postgresql")
def _postgresql_digits_of(element: digits_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"regexp_replace({compiler.process(element.clauses, **kw)}, '[^0-9]', '', 'g')"


@compiles(digits_of, "mysql")
@compiles(digits_of, "mariadb")
def _mysql_digits_of(element: digits_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"REGEXP_REPLACE({compiler.process(element.clauses, **kw)}, '[^0-9]', '')"
