"""Full-text searches a model declares (``<search name attributes language>``): the index of
each in its database, kept in step with every write, and the ranked query.

- SQLite: an FTS5 table ``TABLE__SEARCH`` over the object's table (external content, the key as
  rowid) and triggers after insert, delete and update of a searched column. Made on start
  when missing, and made anew when the model declares the search differently, both times
  built from the rows already there. Ranked by ``bm25``.
- PostgreSQL: a GIN index ``caruso_search__DIGEST__TABLE__SEARCH`` on the ``tsvector`` of the
  attributes (a search declared anew gets a new one); matched with
  ``plainto_tsquery``, ranked by ``ts_rank`` (divided by the logarithm of the length, as bm25 favours short texts).
- MariaDB and MySQL: a stored generated column ``caruso_search__DIGEST__SEARCH`` holding the
  attributes' text in a case- and accent-insensitive collation (caruso's own columns compare
  text as it is, ``utf8mb4_bin``, and so would an index on them), and a ``FULLTEXT`` index of
  the same name on it (a search declared anew gets a new column). InnoDB's parser does not
  stem, so each word is looked for as a word or the start of one (``+word*``), matched and
  ranked with ``MATCH ... AGAINST`` in boolean mode. A word InnoDB does not index (shorter
  than ``innodb_ft_min_token_size`` or longer than ``innodb_ft_max_token_size``, or one of
  its default stop words) must instead be contained in one of the attributes, as the
  ``contains`` filter does. A server with stop words of its own
  (``innodb_ft_server_stopword_table``) is not asked for them.
- Other databases: each word must be contained in one of the attributes (as the
  ``contains`` filter), in key order.

On SQLite, PostgreSQL and MariaDB the index of a search the model no longer declares is
dropped on start.

The text a caller searches for is cut into words (letters and digits) before it reaches a
database: an FTS5 query is the quoted words only and PostgreSQL gets the words as a bound
parameter, so no query syntax (``"``, ``*``, ``NEAR(``, ``OR``) passes through. Every word
must match but the ``english`` language's stop words (``how``, ``do``, ``a``: left out); a text
without words to look for matches nothing. Texts are at most ``MAX_TEXT``
characters and ``MAX_WORDS`` words.
"""
from __future__ import annotations

import re
import weakref
import zlib
from typing import Any

from sqlalchemy import column, func, literal_column, table, text
from sqlalchemy.dialects.mysql import match as fulltext_match
from sqlalchemy.engine import Connection, Engine

from caruso_core.errors import InvalidInput

from caruso_storage.model import Condition, ObjectType, Search

MAX_TEXT = 200
MAX_WORDS = 16
# language: (the FTS5 tokenizer, the PostgreSQL text search configuration)
LANGUAGES = {"simple": ("unicode61 remove_diacritics 2", "simple"),
             "english": ("porter unicode61 remove_diacritics 2", "english")}
# words too common to look for: a question typed as a sentence finds what its other words find
# (PostgreSQL's english configuration leaves out its own such list)
STOP_WORDS = {"english": frozenset("""
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own same she should
    so some such than that the their theirs them themselves then there these they this those through to
    too under until up very was we were what when where which while who whom why will with would you
    your yours yourself yourselves""".split())}
WORD = re.compile(r"[^\W_]+")
INDEX_PREFIX = "caruso_search__"     # the indexes of searches (schema comparisons leave them be)
MYSQL = ("mysql", "mariadb")
# InnoDB's default full-text stop words (INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD, which
# an application's user may not read): its index leaves them out
INNODB_STOP_WORDS = frozenset("""a about an are as at be by com de en for from how i in is it la of on or
    that the this to was what when where who will with und www""".split())
# the lengths of the words InnoDB's full-text index holds, per engine: (shortest, longest)
_INDEXED_LENGTHS: weakref.WeakKeyDictionary[Engine, tuple[int, int]] = weakref.WeakKeyDictionary()


def words(text: Any, search: Search) -> list[str]:
    """The words of a caller's ``text`` to look for, without the stop words of the search's
    language; InvalidInput when it is not text or too long."""
    if not isinstance(text, str):
        raise InvalidInput("search: the text to search for must be a string")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"search: the text is longer than {MAX_TEXT} characters")
    found = WORD.findall(text)
    if len(found) > MAX_WORDS:
        raise InvalidInput(f"search: the text has more than {MAX_WORDS} words")
    ignored = STOP_WORDS.get(search.language, frozenset())
    return [word for word in found if word.lower() not in ignored]


def of(obj: ObjectType, name: Any) -> Search:
    """The search ``name`` of ``obj``; InvalidInput naming the ones it has."""
    found = next((search for search in obj.searches if search.name == name), None)
    if found is None:
        raise InvalidInput(f"{obj.name} has no search {name!r} "
                           f"(searches: {', '.join(s.name for s in obj.searches) or 'none'})")
    return found


def prepare(connection: Connection, obj: ObjectType) -> None:
    """Give every search of ``obj`` (an object of a table caruso makes) its index in the database
    of ``connection``, and drop the indexes of searches the object no longer declares (in the
    connection's transaction)."""
    if connection.dialect.name == "sqlite":
        made = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                                          (obj.table,)).scalars().all()
        wanted = {_fts_name(obj, search) for search in obj.searches}
        for name in made:
            if name.startswith(f"{obj.table}__") and name.endswith("__insert") and name[:-8] not in wanted:
                _drop_sqlite(connection, name[:-8])
        for search in obj.searches:
            _prepare_sqlite(connection, obj, search)
    elif connection.dialect.name == "postgresql":
        made = connection.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                                       "AND tablename = :table"), {"table": obj.table}).scalars().all()
        _follow(connection, made, {_postgresql_name(obj, search): search for search in obj.searches},
                lambda name: [f"DROP INDEX {_quote(name)}"],
                lambda name, search: [f"CREATE INDEX {_quote(name)} ON {_quote(obj.table)} "
                                      f"USING GIN ({_postgresql_vector(obj, search)})"])
    elif connection.dialect.name in MYSQL:
        quote, table_name = connection.dialect.identifier_preparer.quote, obj.table
        made = connection.execute(text("SELECT column_name FROM information_schema.columns "
                                       "WHERE table_schema = DATABASE() AND table_name = :table"),
                                  {"table": table_name}).scalars().all()
        _follow(connection, made, {_mysql_name(obj, search): search for search in obj.searches},
                lambda name: [f"ALTER TABLE {quote(table_name)} DROP COLUMN {quote(name)}"],
                lambda name, search: [f"ALTER TABLE {quote(table_name)} ADD COLUMN {quote(name)} LONGTEXT "
                                      f"CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci "
                                      f"AS ({_mysql_text(obj, search, quote)}) STORED",
                                      f"CREATE FULLTEXT INDEX {quote(name)} ON {quote(table_name)} ({quote(name)})"])


def _follow(connection: Connection, made: list[str], wanted: dict[str, Search],
            drop: Any, make: Any) -> None:
    """Run ``drop(name)``'s statements for each search object in ``made`` (named with
    :data:`INDEX_PREFIX`) not ``wanted``, and ``make(name, search)``'s for each wanted one
    not made."""
    for name in made:
        if name.startswith(INDEX_PREFIX) and name not in wanted:
            for statement in drop(name):
                connection.exec_driver_sql(statement)
    for name, search in wanted.items():
        if name not in made:
            for statement in make(name, search):
                connection.exec_driver_sql(statement)


def matching(connection: Connection, obj: ObjectType, records_table: Any, search: Search,
             found: list[str]) -> tuple[Any, Any, list[Any], Condition | None]:
    """How to select the objects holding every word of ``found``: the FROM clause (None: the
    object's table), a SQL condition (None: none), the ranking before the key order, and a
    filter condition (the words no index holds)."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        fts = table(_fts_name(obj, search), column("rowid"))
        whole = literal_column(_quote(fts.name))
        source = records_table.join(fts, fts.c.rowid == records_table.c[obj.key[0]])
        phrase = " ".join(f'"{word}"' for word in found)
        return source, whole.op("MATCH")(phrase), [func.bm25(whole)], None
    if dialect == "postgresql":
        config = literal_column(f"'{LANGUAGES[search.language][1]}'::regconfig")
        vector = literal_column(_postgresql_vector(obj, search))
        query = func.plainto_tsquery(config, " ".join(found))
        return None, vector.op("@@")(query), [func.ts_rank(vector, query, 1).desc()], None
    if dialect in MYSQL:
        shortest, longest = _indexed_lengths(connection)
        indexed = [word for word in found if shortest <= len(word) <= longest and word.lower() not in INNODB_STOP_WORDS]
        others = [word for word in found if word not in indexed]
        if indexed:
            matched = fulltext_match(column(_mysql_name(obj, search)),
                                     against=" ".join(f"+{word}*" for word in indexed)).in_boolean_mode()
            return None, matched, [matched.desc()], _contained(search, others)
    return None, None, [], _contained(search, found)


def _contained(search: Search, words: list[str]) -> Condition | None:
    """Every one of ``words`` contained in one of the search's attributes (None: no words)."""
    if not words:
        return None
    return Condition("and", items=tuple(Condition("or", items=tuple(Condition("compare", name, "contains", word)
                                                                    for name in search.attributes))
                                        for word in words))


def _indexed_lengths(connection: Connection) -> tuple[int, int]:
    """The shortest and longest word InnoDB's full-text index holds, on the engine of ``connection``."""
    engine = connection.engine
    if engine not in _INDEXED_LENGTHS:
        row = connection.exec_driver_sql("SELECT @@innodb_ft_min_token_size, @@innodb_ft_max_token_size").one()
        _INDEXED_LENGTHS[engine] = (int(row[0]), int(row[1]))
    return _INDEXED_LENGTHS[engine]


def _columns(obj: ObjectType, search: Search) -> list[str]:
    return [obj.attributes[attribute].column for attribute in search.attributes]


def _fts_name(obj: ObjectType, search: Search) -> str:
    return f"{obj.table}__{search.name}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _prepare_sqlite(connection: Connection, obj: ObjectType, search: Search) -> None:
    """Make the FTS5 table and triggers of ``search`` unless they are there as declared; the
    update trigger fires only when a searched column changes."""
    name = _fts_name(obj, search)
    columns = _columns(obj, search)
    key = obj.attributes[obj.key[0]].column
    fts, table_name = _quote(name), _quote(obj.table)
    old = ", ".join(f"old.{_quote(c)}" for c in [key, *columns])
    new = ", ".join(f"new.{_quote(c)}" for c in [key, *columns])
    listed = ", ".join(["rowid", *map(_quote, columns)])
    remove = f"INSERT INTO {fts}({fts}, {listed}) VALUES ('delete', {old});"
    add = f"INSERT INTO {fts}({listed}) VALUES ({new});"
    wanted = {name: (f"CREATE VIRTUAL TABLE {fts} USING fts5({', '.join(map(_quote, columns))}, "
                     f"content={_literal(obj.table)}, content_rowid={_literal(key)}, "
                     f"tokenize={_literal(LANGUAGES[search.language][0])})")}
    for event, when, body in (("insert", "INSERT", add), ("delete", "DELETE", remove),
                              ("update", f"UPDATE OF {', '.join(map(_quote, columns))}", f"{remove} {add}")):
        wanted[f"{name}__{event}"] = f"CREATE TRIGGER {_quote(f'{name}__{event}')} AFTER {when} ON {table_name} " \
                                     f"BEGIN {body} END"
    stored = dict(connection.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE name IN ({', '.join('?' * len(wanted))})", tuple(wanted)).all())
    if stored == wanted:
        return
    _drop_sqlite(connection, name)
    for statement in wanted.values():
        connection.exec_driver_sql(statement)
    connection.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def _drop_sqlite(connection: Connection, name: str) -> None:
    """Drop the FTS5 table ``name`` and its triggers."""
    for event in ("insert", "delete", "update"):
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {_quote(f'{name}__{event}')}")
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_quote(name)}")


def _postgresql_name(obj: ObjectType, search: Search) -> str:
    """The index of a search: named after its declaration's digest too, so that a search declared
    anew gets a new index."""
    digest = zlib.crc32(_postgresql_vector(obj, search).encode())
    return f"{INDEX_PREFIX}{digest:08x}__{_fts_name(obj, search)}"[:63]


def _mysql_name(obj: ObjectType, search: Search) -> str:
    """The generated column of a search and its index (the table's name left out: a column's)."""
    digest = zlib.crc32(",".join(_columns(obj, search)).encode())
    return f"{INDEX_PREFIX}{digest:08x}__{search.name}"[:64]


def _mysql_text(obj: ObjectType, search: Search, quote: Any) -> str:
    return f"CONCAT_WS(' ', {', '.join(quote(name) for name in _columns(obj, search))})"


def _postgresql_vector(obj: ObjectType, search: Search) -> str:
    text = " || ' ' || ".join(f"coalesce({_quote(obj.attributes[a].column)}::text, '')" for a in search.attributes)
    return f"to_tsvector('{LANGUAGES[search.language][1]}'::regconfig, {text})"
