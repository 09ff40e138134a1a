"""The business object model: objects, attributes, relations, indexes, full-text searches, rules, databases.

Plain value objects built by :mod:`caruso_storage.loader` from a model file. Names
are those callers use (attribute names); columns and tables are those of the
database.
"""
from __future__ import annotations

from typing import Any

import attrs

from caruso_storage.patterns import DEFAULT_PIVOT

TYPES = ("string", "text", "integer", "decimal", "float", "boolean", "date", "datetime", "time")
CONVERSIONS = ("flag", "cents", "padded", "text", "number")
MOMENTS = ("date", "datetime", "time")
RELATION_KINDS = ("many-to-one", "one-to-many", "many-to-many")
RULE_EVENTS = ("create", "update", "due")
TEXT_FORMATS = ("email",)                       # what the values of a string attribute may be declared to be
RANGED = ("integer", "decimal", "float", "date", "datetime", "time")   # the types that take a min and a max
NUMBERS = ("integer", "decimal", "float")
TODAY = "today"                                 # a date's or datetime's bound: the day a value is stored
NOW = "now"                                     # a datetime's default or bound: the moment a value is stored
MOVING = {TODAY: ("date", "datetime"), NOW: ("datetime",)}   # the words of a default or bound that moves, and their types
VERSION_COLUMN = "caruso_version"


@attrs.frozen
class Attribute:
    """One attribute of an object, mapped to one column.

    ``convert`` names a value conversion for legacy columns: ``flag`` (text
    ``true_value``/``false_value`` ↔ bool, compared ignoring case when ``ignore_case``;
    other text reads as ``unknown``), ``cents`` (integer ↔ decimal of ``scale``
    digits), ``padded`` (fixed-width text, trimmed on read, padded to ``length`` on
    write), ``text`` and ``number`` (a date, time or datetime in the stored form
    ``format``, see :mod:`caruso_storage.patterns`; a datetime's time may be in a second
    column, ``time_column`` in ``time_format``; a missing value is written as ``empty``,
    NULL when None). ``choice_labels`` are the labels of ``choices``, in their order.
    ``text_format`` (one of ``TEXT_FORMATS``) is what every value of a string must be.
    ``minimum`` and ``maximum`` bound what a client may store in a number, date, datetime or
    time (inclusive; :data:`TODAY` for a date or datetime is the day the value is stored,
    :data:`NOW` for a datetime the moment);
    a ``default`` of :data:`TODAY` (a date or datetime) or :data:`NOW` (a datetime) is the
    day or moment a record is created (:func:`caruso_storage.values.current`);
    ``minimum_field`` and ``maximum_field`` name another attribute of the object whose value,
    when both are given, this one may not be below (before) or above (after).
    """

    name: str
    type: str
    column: str
    key: bool = False
    generated: bool = False
    required: bool = False
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    default: Any = None
    choices: tuple[Any, ...] | None = None
    label: str = ""
    convert: str | None = None
    true_value: str = "J"
    false_value: str = "N"
    ignore_case: bool = True
    unknown: bool | None = None
    format: str | None = None
    time_column: str | None = None
    time_format: str | None = None
    empty: str | None = None
    pivot: int = DEFAULT_PIVOT
    choice_labels: tuple[str, ...] | None = None
    text_format: str | None = None
    minimum: Any = None
    maximum: Any = None
    minimum_field: str | None = None
    maximum_field: str | None = None
    line: int = 0

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns holding the attribute: its own, and the time column of a split datetime."""
        return (self.column,) if self.time_column is None else (self.column, self.time_column)

    @property
    def default_moves(self) -> bool:
        """Whether the default is :data:`TODAY` or :data:`NOW`, filled in at each create (a
        string's or a text's default is its text, whatever it says)."""
        return self.type in MOVING.get(self.default, ()) if isinstance(self.default, str) else False


def comparable(first: str, second: str) -> bool:
    """Whether values of the attribute types ``first`` and ``second`` compare: the same type,
    or two numbers (a bound naming another attribute, a rule's ``value-field``)."""
    return first == second or (first in NUMBERS and second in NUMBERS)


@attrs.frozen
class Relation:
    """A navigable relation from an object to ``target``.

    ``foreign_key`` names the attributes holding the reference: on this object for
    many-to-one, on the target for one-to-many, in order of the referenced key.
    Many-to-many goes through the link table ``through`` whose ``source_columns``
    reference this object's key and ``target_columns`` the target's key. ``source`` and
    ``line`` say where the model declares the relation.
    """

    name: str
    kind: str
    target: str
    foreign_key: tuple[str, ...] = ()
    through: str | None = None
    source_columns: tuple[str, ...] = ()
    target_columns: tuple[str, ...] = ()
    line: int = 0
    source: str = ""


@attrs.frozen
class Index:
    name: str
    attributes: tuple[str, ...]
    unique: bool = False
    line: int = 0


@attrs.frozen
class Search:
    """A full-text search over text ``attributes`` (see :mod:`caruso_storage.search`); ``language``
    chooses how words are reduced to their stems (``simple``: not at all, ``english``)."""

    name: str
    attributes: tuple[str, ...]
    language: str = "simple"
    line: int = 0


@attrs.frozen
class Unique:
    """A duplicate check: no two objects have equal values of ``attribute`` when compared as
    ``compare`` says (``exact``, ``ignore-case`` or ``digits``, see :mod:`caruso_storage.checks`);
    empty values are never duplicates."""

    attribute: str
    compare: str = "exact"
    line: int = 0


@attrs.frozen
class Condition:
    """A filter: a comparison, or ``and``/``or``/``not`` of filters (see :mod:`caruso_storage.filters`);
    a rule's comparison may take its value from another attribute, ``value_field``."""

    kind: str
    field: str | None = None
    op: str | None = None
    value: Any = None
    items: tuple["Condition", ...] = ()
    value_field: str | None = None


@attrs.frozen
class Action:
    """A rule action: the ``caruso_rule_actions`` entry ``use``, its parameters and values."""

    use: str
    params: dict[str, str] = attrs.field(factory=dict)
    values: dict[str, str] = attrs.field(factory=dict)
    line: int = 0


@attrs.frozen
class Rule:
    """On ``events`` of an object, when ``condition`` holds for the new values, run ``actions``.

    A ``due`` rule runs once when the date or datetime attribute ``at`` has passed
    (checked periodically by the storage service), again only if ``at`` changes.
    """

    name: str
    events: tuple[str, ...]
    condition: Condition | None
    actions: tuple[Action, ...]
    at: str | None = None
    line: int = 0


@attrs.frozen
class ObjectType:
    """A business object mapped to a table of one database.

    ``existing`` tables belong to someone else: no DDL, and without ``version``
    column the optimistic version is a digest of the row. ``source`` and ``line`` say
    where the object is declared (its extensions may be in other files).
    """

    name: str
    table: str
    database: str
    existing: bool
    attributes: dict[str, Attribute]
    relations: dict[str, Relation] = attrs.field(factory=dict)
    indexes: tuple[Index, ...] = ()
    uniques: tuple[Unique, ...] = ()
    rules: tuple[Rule, ...] = ()
    searches: tuple[Search, ...] = ()
    schema: str | None = None
    label: str = ""
    line: int = 0
    source: str = ""

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(name for name, attribute in self.attributes.items() if attribute.key)

    @property
    def versioned(self) -> bool:
        """Whether the table has the integer version column of caruso."""
        return not self.existing


@attrs.frozen
class Database:
    name: str
    url: str | None = None
    line: int = 0


@attrs.frozen
class Model:
    """A validated model: databases by name (the first is the default) and objects by name.

    ``name`` is that of the model's first file; ``source`` names its files, in order.
    """

    name: str
    databases: dict[str, Database]
    objects: dict[str, ObjectType]
    source: str = ""

    @property
    def default_database(self) -> str:
        return next(iter(self.databases))

    @property
    def journal_database(self) -> str | None:
        """The database of caruso's own tables: the first holding a new object (None: none does)."""
        return next((name for name in self.databases
                     if any(o.database == name and not o.existing for o in self.objects.values())), None)
