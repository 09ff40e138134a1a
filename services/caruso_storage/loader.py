"""Loading a model: hardened XML, the published schema, then the model's own rules.

A model is one file, or several applied in order: each later file may add databases,
model modules and objects, and ``<extend>`` the objects declared before it (in its own
modules or in earlier files). An extension adds attributes, relations, indexes, full-text
searches and rules;
it may change an attribute's label, its default or (on a table caruso makes) its length
upwards, and an object's label; anything else the base declared (types, keys, columns,
required, choices, conversions, relations, indexes, rules) is the base's contract, which
the base's own rules and the modules built on it rely on, so changing it is refused.

Every error is a ConfigError ``FILE:LINE: what is wrong`` (and how to fix it where
that is not obvious). Reading is :mod:`caruso_core.xmlsafe`: entity declarations
are refused, nothing is expanded, no DTD or network resource is loaded.
"""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
from lxml import etree

from caruso_core import plugins, xmlsafe
from caruso_core.errors import ConfigError, InvalidInput
from caruso_core.digits import digits

from caruso_storage import filters, patterns, search, values
from caruso_storage.rules import PLACEHOLDER

WRITTEN_PLACEHOLDER = re.compile(r"\$\{[^}]*\}?")     # what a template writes as one, well formed or not
from caruso_storage.model import (MOMENTS, MOVING, RANGED, TEXT_FORMATS, TYPES, Action, Attribute, Database, Index,
                                  Model, ObjectType, Relation, Rule, Search, Unique, comparable)

SCHEMA_FILE = "model.rng"
DEFAULT_MODEL = "default_model.xml"
# the elements whose name model.rng says is an ``identifier``, and that pattern: only to say
# which name RelaxNG refused (keep them as model.rng has them)
NAMED = ("model", "database", "object", "attribute", "relation", "search", "rule")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
RESERVED_PREFIX = "caruso_"                               # the storage's own tables, indexes and columns
CHANGEABLE = ("label", "default", "length", "line")     # what an extension may change of an attribute
BOUNDS = ("minimum", "maximum", "minimum_field", "maximum_field")
NOT_NAMES = ("inf", "infinity", "nan")                  # a decimal's or float's bound, not an attribute

STORED_FORMS = ("text", "number")                       # conversions of dates and times
DEFAULT_FORMATS = {"date": "%Y%m%d", "time": "%H%M%S", "datetime": "%Y%m%d%H%M%S"}
BELONGS = {"format": STORED_FORMS, "time-column": STORED_FORMS, "time-format": STORED_FORMS,
           "empty": STORED_FORMS, "pivot": STORED_FORMS, "case": ("flag",), "unknown": ("flag",)}

Part = tuple[etree._Element, str]       # an element and the file it is in


def load(paths: str | Path | Sequence[str | Path]) -> Model:
    """The validated model of the file at ``paths``, or of a list of files applied in order."""
    listed = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not listed:
        raise ConfigError("no model file given: name one or more model files")
    return _build([(xmlsafe.read(path), str(path)) for path in listed])


@functools.cache
def load_default() -> Model:
    """The packaged example CRM model (customers, contacts, opportunities, tasks, tags), built
    once per process (a model is immutable; the packaged files do not change)."""
    return loads(resources.files("caruso_storage").joinpath(DEFAULT_MODEL).read_bytes(), DEFAULT_MODEL)


def loads(data: bytes, source: str) -> Model:
    """The validated model of the XML text ``data``; ``source`` names it in errors."""
    return _build([(xmlsafe.parse(data, source), source)])


def _build(files: list[Part]) -> Model:
    for root, source in files:
        _validate(root, source)
    return _Builder().model(files)


def _validate(root: etree._Element, source: str) -> None:
    schema = xmlsafe.schema(str(resources.files("caruso_storage").joinpath(SCHEMA_FILE)))
    if not schema.validate(root):
        misnamed = next((element for element in root.iter(*NAMED) if not IDENTIFIER.fullmatch(element.get("name", "_"))),
                        None)
        if misnamed is not None:          # RelaxNG says only that the element's attributes did not fit
            raise ConfigError(f"{source}:{misnamed.sourceline}: <{misnamed.tag} name={misnamed.get('name')!r}>: a name "
                              "is letters A-Z or a-z, digits and _, at most 63, not starting with a digit")
        line, message = xmlsafe.violations(schema, root)[0]
        raise ConfigError(f"{source}:{line}: {message} (see docs/model-format.md)")


def _module(include: etree._Element, source: str) -> Part:
    """The root and file name of the model module an ``<include module>`` names."""
    name = include.get("module")
    modules = plugins.provided("caruso_model_modules")
    if name not in modules:
        raise ConfigError(f"{source}:{include.sourceline}: unknown model module {name!r} "
                          f"(installed: {', '.join(sorted(modules)) or 'none'})")
    path = str(modules[name])
    root = xmlsafe.read(path)
    _validate(root, path)
    extra = next((child for child in root.iterchildren(tag=etree.Element) if child.tag != "object"), None)
    if extra is not None:
        raise ConfigError(f"{path}:{extra.sourceline}: a model module holds objects only "
                          f"(no <{extra.tag}>); the including model gives the databases, "
                          "the modules and the extensions")
    return root, path


def _flag(given: Mapping[str, str], name: str, default: bool = False) -> bool:
    value = given.get(name)
    return default if value is None else value.strip() in ("true", "1")


def _int(given: Mapping[str, str], name: str) -> int | None:
    value = given.get(name)
    return None if value is None else int(value)


def _names(text: str | None) -> tuple[str, ...]:
    return tuple((text or "").split())


class _Builder:
    """Builds a :class:`Model` from schema-valid files, checking what the schema cannot.

    ``source`` is the file of the element being checked (errors name it); ``parts`` holds,
    per object, its ``<object>`` element and its ``<extend>`` elements in order, and
    ``declared`` each attribute's XML properties as extended so far with ``FILE:LINE``
    of its declaration.
    """

    def __init__(self) -> None:
        self.source = ""
        self.objects: dict[str, ObjectType] = {}
        self.parts: dict[str, list[Part]] = {}
        self.declared: dict[tuple[str, str], tuple[dict[str, str], str]] = {}

    def fail(self, element: etree._Element | int, message: str) -> ConfigError:
        line = element if isinstance(element, int) else element.sourceline
        return ConfigError(f"{self.source}:{line}: {message}")

    def model(self, files: list[Part]) -> Model:
        """The model of ``files`` in order: each file's objects and modules, then its extensions."""
        databases = self.databases(files)
        included: set[str] = set()
        for root, source in files:
            modules = []
            for include in root.iterfind("include"):
                if include.get("module") not in included:
                    included.add(include.get("module"))
                    modules.append(_module(include, source))
            for part_root, self.source in [*modules, (root, source)]:
                for element in part_root.iterfind("object"):
                    self.declare(element, databases)
            self.source = source
            for element in root.iterfind("extend"):
                self.extend(element)
        self.source = files[0][1]
        if not self.objects:
            raise self.fail(files[0][0], "the model has no objects: add <object> or <include module=\"...\"/>")
        self.check_names()
        self.check_field_bounds()
        related = {name: self.with_relations(obj) for name, obj in self.objects.items()}
        finished = {name: self.with_rules(obj, related) for name, obj in related.items()}
        return Model(files[0][0].get("name"), databases, finished, ", ".join(source for _, source in files))

    def check_names(self) -> None:
        """Each table and each index once in its database and schema, compared as most databases
        compare names (whatever the case); none with the prefix of the storage's own."""
        named: dict[tuple[str, str, str], str] = {}     # (database, schema, name) -> what has it
        for obj in self.objects.values():
            self.source = obj.source
            schema = (obj.schema or "").lower()
            for name, line, what in [(obj.table, obj.line, f"table {obj.table!r} of {obj.name}"),
                                     *((index.name, index.line, f"index {index.name!r} of {obj.name}")
                                       for index in obj.indexes)]:
                if name.lower().startswith(RESERVED_PREFIX):
                    raise self.fail(line, f"{what}: names beginning with {RESERVED_PREFIX!r} are the storage's own")
                taken = named.setdefault((obj.database, schema, name.lower()), what)
                if taken != what:
                    raise self.fail(line, f"{what}: {taken} has this name already (names are compared "
                                          "whatever their case)")

    def databases(self, files: list[Part]) -> dict[str, Database]:
        """The databases the files declare, in order (none: one named ``main``)."""
        databases: dict[str, Database] = {}
        for root, self.source in files:
            for element in root.iterfind("database"):
                name = element.get("name")
                if name in databases:
                    raise self.fail(element, f"database {name!r} is declared twice")
                databases[name] = Database(name, element.get("url"), element.sourceline)
        return databases or {"main": Database("main")}

    def declare(self, element: etree._Element, databases: dict[str, Database]) -> None:
        obj = self.object(element, databases)
        if obj.name in self.objects:
            first = self.objects[obj.name].source
            elsewhere = "" if first == self.source else f" (also in {first})"
            raise self.fail(element, f"object {obj.name!r} is declared twice{elsewhere}")
        self.objects[obj.name] = obj
        self.parts[obj.name] = [(element, self.source)]
        for child in element.iterfind("attribute"):
            self.declare_attribute(obj.name, child)

    def declare_attribute(self, owner: str, element: etree._Element) -> None:
        self.declared[(owner, element.get("name"))] = (dict(element.attrib), f"{self.source}:{element.sourceline}")

    def object(self, element: etree._Element, databases: dict[str, Database]) -> ObjectType:
        name = element.get("name")
        database = element.get("database") or next(iter(databases))
        if database not in databases:
            raise self.fail(element, f"object {name}: unknown database {database!r} "
                            f"(declared: {', '.join(databases)})")
        attributes: dict[str, Attribute] = {}
        for child in element.iterfind("attribute"):
            self.add_attribute(name, attributes, self.attribute(name, child), child)
        key = [a for a in attributes.values() if a.key]
        if not key:
            raise self.fail(element, f"object {name} has no key: mark one or more attributes key=\"true\"")
        for attribute in key:
            if attribute.generated and (len(key) > 1 or attribute.type != "integer"):
                raise self.fail(attribute.line, f"{name}.{attribute.name}: only a single integer key can be generated")
        indexes = tuple(self.index(name, child, attributes) for child in element.iterfind("index"))
        uniques = tuple(self.unique(name, child, attributes) for child in element.iterfind("unique"))
        obj = ObjectType(name=name, table=element.get("table") or name, database=database,
                         existing=_flag(element.attrib, "existing"), attributes=attributes,
                         indexes=indexes, uniques=uniques, schema=element.get("schema"),
                         label=element.get("label") or name, line=element.sourceline, source=self.source)
        for child in element.iterfind("search"):
            obj = attrs.evolve(obj, searches=(*obj.searches, self.search(obj, child)))
        return obj

    def add_attribute(self, owner: str, attributes: dict[str, Attribute], attribute: Attribute,
                      element: etree._Element) -> None:
        if attribute.name in attributes:
            raise self.fail(element, f"{owner}.{attribute.name} is declared twice")
        taken = {column.lower() for other in attributes.values() for column in other.columns}
        for column in attribute.columns:
            if column.lower() in taken:
                raise self.fail(element, f"{owner}.{attribute.name}: column {column!r} is mapped twice "
                                         "(names are compared whatever their case)")
            if column.lower().startswith(RESERVED_PREFIX):
                raise self.fail(element, f"{owner}.{attribute.name}: column names beginning with "
                                         f"{RESERVED_PREFIX!r} are the storage's own")
        attributes[attribute.name] = attribute

    def index(self, owner: str, element: etree._Element, attributes: Mapping[str, Attribute]) -> Index:
        index = Index(element.get("name"), _names(element.get("attributes")), _flag(element.attrib, "unique"),
                      element.sourceline)
        for attribute_name in index.attributes:
            if attribute_name not in attributes:
                raise self.fail(element, f"index {index.name}: {owner} has no attribute {attribute_name!r}")
        return index

    def search(self, obj: ObjectType, element: etree._Element) -> Search:
        """The full-text search ``element`` declares on ``obj``: text attributes of a table caruso
        makes, in its database's default schema, with a single integer key."""
        found = Search(element.get("name"), _names(element.get("attributes")), element.get("language") or "simple",
                       element.sourceline)
        where = f"search {found.name} of {obj.name}"
        if found.name in {other.name for other in obj.searches}:
            raise self.fail(element, f"{where}: {obj.name} has it already")
        if obj.existing or obj.schema:
            raise self.fail(element, f"{where}: a search needs a table caruso makes in the database's default "
                            "schema (its index and triggers are added to the table)")
        key = [obj.attributes[name] for name in obj.key]
        if len(key) != 1 or key[0].type != "integer":
            raise self.fail(element, f"{where}: a search needs a single integer key "
                            f"({obj.name}'s key: {', '.join(obj.key)})")
        if found.language not in search.LANGUAGES:
            raise self.fail(element, f"{where}: unknown language {found.language!r} "
                            f"(languages: {', '.join(search.LANGUAGES)})")
        for attribute_name in found.attributes:
            attribute = obj.attributes.get(attribute_name)
            if attribute is None or attribute.type not in filters.TEXT_TYPES or attribute.convert is not None:
                raise self.fail(element, f"{where}: {attribute_name!r} is not a text attribute of {obj.name} "
                                f"(text attributes: {', '.join(a.name for a in obj.attributes.values() if a.type in filters.TEXT_TYPES)})")
        return found

    def unique(self, owner: str, element: etree._Element, attributes: Mapping[str, Attribute]) -> Unique:
        unique = Unique(element.get("attribute"), element.get("compare", "exact"), element.sourceline)
        attribute = attributes.get(unique.attribute)
        if attribute is None:
            raise self.fail(element, f"unique: {owner} has no attribute {unique.attribute!r}")
        if unique.compare != "exact" and attribute.type not in ("string", "text"):
            raise self.fail(element, f"unique: compare=\"{unique.compare}\" compares text; "
                            f"{owner}.{unique.attribute} is {attribute.type}")
        return unique

    def extend(self, element: etree._Element) -> None:
        """Apply an ``<extend object>`` to the object declared before it."""
        name = element.get("object")
        base = self.objects.get(name)
        if base is None:
            raise self.fail(element, f"extend: no object {name!r} is declared before this "
                            f"(objects: {', '.join(self.objects) or 'none'}); include its module "
                            "or list the file declaring it first")
        attributes = dict(base.attributes)
        added: set[str] = set()
        for child in element.iterfind("attribute"):
            attribute_name = child.get("name")
            if attribute_name in attributes and attribute_name not in added:
                attributes[attribute_name] = self.changed(base, child)
                continue
            if child.get("type") is None:
                raise self.fail(child, f"{name}.{attribute_name}: {name} has no such attribute to change; "
                                "a new attribute needs type=\"...\"")
            attribute = self.attribute(name, child)
            if attribute.key:
                raise self.fail(child, f"{name}.{attribute_name}: an extension cannot change the key of {name} "
                                f"({', '.join(base.key)}): relations and modules refer to it")
            self.add_attribute(name, attributes, attribute, child)
            added.add(attribute_name)
            self.declare_attribute(name, child)
        indexes = list(base.indexes)
        for child in element.iterfind("index"):
            if child.get("name") in {index.name for index in indexes}:
                raise self.fail(child, f"index {child.get('name')}: {name} has it already; "
                                "an extension adds indexes, it does not change them")
            indexes.append(self.index(name, child, attributes))
        uniques = list(base.uniques)
        for child in element.iterfind("unique"):
            if child.get("attribute") in {unique.attribute for unique in uniques}:
                raise self.fail(child, f"unique: {name}.{child.get('attribute')} has a duplicate check already")
            uniques.append(self.unique(name, child, attributes))
        extended = attrs.evolve(base, attributes=attributes, indexes=tuple(indexes), uniques=tuple(uniques),
                                label=element.get("label") or base.label)
        for child in element.iterfind("search"):
            extended = attrs.evolve(extended, searches=(*extended.searches, self.search(extended, child)))
        self.objects[name] = extended
        self.parts[name].append((element, self.source))

    def changed(self, obj: ObjectType, element: etree._Element) -> Attribute:
        """The attribute of ``obj`` that ``element`` (in an extension) changes, if the change is safe."""
        name = element.get("name")
        base = obj.attributes[name]
        declared, declared_at = self.declared[(obj.name, name)]
        where = f"{obj.name}.{name}"

        def refused(field: str, before: Any, after: Any) -> ConfigError:
            return self.fail(element, f"{where}: an extension may change the label, default and length of an "
                             f"attribute, not its {field} ({before!r} to {after!r}): the base "
                             f"({declared_at}) and what builds on it rely on it")

        properties = {**declared, **element.attrib}
        try:
            changed = self.attribute(obj.name, element, properties)
        except ConfigError:
            fixed = next((k for k, v in element.attrib.items() if k not in CHANGEABLE and v != declared.get(k)), None)
            if fixed is None:
                raise
            raise refused(fixed, declared.get(fixed), element.get(fixed)) from None
        for field in attrs.fields(Attribute):
            before, after = getattr(base, field.name), getattr(changed, field.name)
            if field.name not in CHANGEABLE and after != before:
                if field.name in BOUNDS:                        # as the file writes them
                    raise refused(field.name[:3], declared.get(field.name[:3]), element.get(field.name[:3]))
                raise refused(field.name, before, after)
        if changed.length != base.length:
            if base.length is None or changed.length is None or changed.length < base.length:
                raise self.fail(element, f"{where}: length {changed.length} is not longer than {base.length}: "
                                "values the base accepts would be refused; a length may only grow")
            if obj.existing or base.convert is not None:
                raise self.fail(element, f"{where}: the length of a column of an existing table or with a "
                                "conversion is fixed by the table; it cannot grow in the model")
        self.declared[(obj.name, name)] = (properties, declared_at)
        return changed

    def attribute(self, owner: str, element: etree._Element, given: Mapping[str, str] | None = None) -> Attribute:
        """The attribute ``element`` declares (with the properties ``given``, default its own)."""
        given = element.attrib if given is None else given
        name = given.get("name")
        where = f"{owner}.{name}"
        kind = given.get("type")
        if name.startswith("_"):
            raise self.fail(element, f"{where}: names starting with '_' are reserved")
        if kind not in TYPES:
            raise self.fail(element, f"{where}: unknown type {kind!r} (types: {', '.join(TYPES)})")
        convert = given.get("convert")
        needs = {"flag": ("boolean",), "cents": ("decimal",), "padded": ("string",), "text": MOMENTS, "number": MOMENTS}
        if convert is not None and kind not in needs[convert]:
            raise self.fail(element, f"{where}: convert=\"{convert}\" needs type {' or '.join(needs[convert])}, "
                                     f"not {kind}")
        length = _int(given, "length")
        if length is not None and kind != "string":
            raise self.fail(element, f"{where}: length applies to type string only")
        if convert == "padded" and length is None:
            raise self.fail(element, f"{where}: convert=\"padded\" needs the column's length")
        text_format = given.get("format") if kind == "string" and convert is None else None
        if text_format is not None and text_format not in TEXT_FORMATS:
            raise self.fail(element, f"{where}: format={text_format!r} is not a format of text "
                                     f"(formats: {', '.join(TEXT_FORMATS)}; a stored form of a date needs convert)")
        misplaced = next((name for name, conversions in BELONGS.items() if given.get(name) is not None
                          and convert not in conversions and not (name == "format" and text_format)), None)
        if misplaced is not None:
            owners = " or ".join(f'convert="{conversion}"' for conversion in BELONGS[misplaced])
            raise self.fail(element, f"{where}: {misplaced}=\"...\" belongs to {owners}")
        scale = _int(given, "scale")
        attribute = Attribute(
            name=name, type=kind, column=given.get("column") or name, key=_flag(given, "key"),
            generated=_flag(given, "generated"), required=_flag(given, "required"), length=length,
            precision=_int(given, "precision"), scale=2 if convert == "cents" and scale is None else scale,
            label=given.get("label") or name.replace("_", " ").capitalize(), convert=convert,
            true_value=given.get("true", "J"), false_value=given.get("false", "N"),
            ignore_case=given.get("case", "ignore") == "ignore",
            unknown={"true": True, "false": False}.get(given.get("unknown", "null")),
            time_column=given.get("time-column"), empty=given.get("empty"),
            pivot=_int(given, "pivot") or patterns.DEFAULT_PIVOT, text_format=text_format, line=element.sourceline)
        if convert in STORED_FORMS:
            attribute = self.stored_form(where, attribute, given, element)
        try:
            choices = given.get("choices")
            if choices is not None:
                coded = [choice.partition("=") for choice in choices.split("|")]
                attribute = attrs.evolve(
                    attribute, choices=tuple(values.decode(attribute, code.strip(), strict=False) for code, _, _ in coded),
                    choice_labels=tuple((label if labelled else code).strip() for code, labelled, label in coded)
                    if any(labelled for _, labelled, _ in coded) else None)
            if given.get("default") is not None:
                attribute = attrs.evolve(attribute, default=self.default(where, attribute, given["default"], element))
            attribute = self.ranged(where, attribute, given, element)
        except InvalidInput as error:
            raise self.fail(element, f"{owner}.{error}") from None
        return attribute

    def default(self, where: str, attribute: Attribute, text: str, element: etree._Element) -> Any:
        """The default ``text`` gives ``attribute``: a value of its type, or a moving word
        (:meth:`moving`), kept as the word; a string's or a text's is its text."""
        word = None if attribute.type in ("string", "text") else self.moving(where, "default", attribute, text, element)
        return word if word is not None else values.decode(attribute, text)

    def moving(self, where: str, what: str, attribute: Attribute, text: str, element: etree._Element) -> str | None:
        """``today`` or ``now`` when ``text`` is that word and ``attribute``'s type takes it as
        its ``what`` (a default, min or max; ``MOVING``); None when ``text`` is neither word;
        else the loader fails at ``element``."""
        word = text.strip()
        if word not in MOVING:
            return None
        if attribute.type not in MOVING[word]:
            raise self.fail(element, f"{where}: {what}=\"{word}\" applies to a {' or '.join(MOVING[word])}, "
                                     f"not to {attribute.type}")
        return word

    def ranged(self, where: str, attribute: Attribute, given: Mapping[str, str], element: etree._Element) -> Attribute:
        """``attribute`` with the ``min`` and ``max`` it is given, checked: a number, date,
        datetime or time of its type, a moving word (:meth:`moving`), or the name of another
        attribute of the object (checked once the object is complete,
        :meth:`check_field_bounds`); the least not above the most, its default and its choices
        within the fixed ones."""
        bounds = {name: given.get(name) for name in ("min", "max") if given.get(name) is not None}
        if not bounds:
            return attribute
        if attribute.type not in RANGED:
            raise self.fail(element, f"{where}: min and max apply to {', '.join(RANGED)}, not to {attribute.type}")
        if attribute.key:
            raise self.fail(element, f"{where}: a key attribute takes no min or max")
        decoded, fields = {}, {}
        for name, text in bounds.items():
            word = self.moving(where, name, attribute, text, element)
            if word is not None:
                decoded[name] = word
            elif IDENTIFIER.fullmatch(text) and not (attribute.type in ("decimal", "float") and text.lower() in NOT_NAMES):
                fields[name] = text
            else:
                try:
                    bound = values.decode(attribute, text, strict=False)
                except InvalidInput:
                    bound = None
                if bound is None or (isinstance(bound, float) and not math.isfinite(bound)):
                    raise self.fail(element, f"{where}: {name} {text!r} is not a valid {attribute.type} "
                                             "nor the name of an attribute")
                if getattr(bound, "tzinfo", None) is not None:
                    raise self.fail(element, f"{where}: {name} {text!r} has a time zone; a bound has none")
                decoded[name] = bound
        low, high = decoded.get("min"), decoded.get("max")
        if low is not None and high is not None and low not in MOVING and high not in MOVING and low > high:
            raise self.fail(element, f"{where}: min {bounds['min']} is above max {bounds['max']}")
        ranged = attrs.evolve(attribute, minimum=low, maximum=high,
                              minimum_field=fields.get("min"), maximum_field=fields.get("max"))
        # a default and the choices against the fixed bounds: today and now move, they stay
        fixed = attrs.evolve(ranged, minimum=None if low in MOVING else low, maximum=None if high in MOVING else high)
        declared = [("choice", choice) for choice in attribute.choices or ()]
        for what, value in [("default", attribute.default), *declared]:
            try:
                if value is not None and value not in MOVING:
                    values.within(fixed, value)
            except InvalidInput as error:
                raise self.fail(element, f"{where}: {what} {str(error).removeprefix(attribute.name + ': ')}") from None
        return ranged

    def check_field_bounds(self) -> None:
        """Each ``min`` or ``max`` naming an attribute names another attribute of its object,
        of its type (any number for a number)."""
        for obj in self.objects.values():
            for attribute in obj.attributes.values():
                for bound, name in (("min", attribute.minimum_field), ("max", attribute.maximum_field)):
                    if name is None:
                        continue
                    at = self.declared[(obj.name, attribute.name)][1]
                    where = f"{at}: {obj.name}.{attribute.name}: {bound}=\"{name}\""
                    other = obj.attributes.get(name)
                    if other is None or other is attribute:
                        raise ConfigError(f"{where} is neither a valid {attribute.type} nor another attribute "
                                          f"of {obj.name}")
                    if not comparable(other.type, attribute.type):
                        raise ConfigError(f"{where} is a {other.type}; a bound is of the attribute's own type "
                                          f"({attribute.type})")

    def stored_form(self, where: str, attribute: Attribute, given: Mapping[str, str],
                    element: etree._Element) -> Attribute:
        """``attribute`` (a date, time or datetime held as text or a number) with its checked
        stored form: ``format`` and, for a datetime in two columns, ``time-format``."""
        number = attribute.convert == "number"
        split = attribute.time_column is not None
        if split and attribute.type != "datetime":
            raise self.fail(element, f"{where}: time-column=\"...\" belongs to a datetime (its date in column, "
                                     "its time in time-column)")
        if split and attribute.key:
            raise self.fail(element, f"{where}: a key attribute is held in one column; time-column cannot be used")
        if given.get("time-format") is not None and not split:
            raise self.fail(element, f"{where}: time-format=\"...\" needs time-column=\"...\"")
        formats = {"format": (given.get("format") or DEFAULT_FORMATS["date" if split else attribute.type],
                              "date" if split else attribute.type)}
        if split:
            formats["time-format"] = (given.get("time-format") or DEFAULT_FORMATS["time"], "time")
        for option, (text, kind) in formats.items():
            try:
                pattern = patterns.Pattern.parse(text, kind, attribute.pivot)
            except ValueError as error:
                raise self.fail(element, f"{where}: {error} (see docs/model-format.md)") from None
            if number and not pattern.numeric:
                raise self.fail(element, f"{where}: {option} {text!r} has separators; a number holds digits only "
                                         "(convert=\"text\" for text)")
        if given.get("pivot") is not None and "%y" not in formats["format"][0] and formats["format"][0] != "CYYMMDD":
            raise self.fail(element, f"{where}: pivot=\"...\" belongs to a format with two-digit years (%y)")
        if number and attribute.empty is not None and not digits(attribute.empty.strip()):
            raise self.fail(element, f"{where}: empty={attribute.empty!r} is no number; "
                                     "a column held as a number is empty as 0 or another number")
        return attrs.evolve(attribute, format=formats["format"][0],
                            time_format=formats["time-format"][0] if split else None)

    def with_relations(self, obj: ObjectType) -> ObjectType:
        """``obj`` with the relations of its declaration and its extensions, in order."""
        relations: dict[str, Relation] = {}
        relations_at: dict[str, str] = {}
        for element, self.source in self.parts[obj.name]:
            for child in element.iterfind("relation"):
                relation = self.relation(obj, child, self.objects)
                if relation.name in relations or relation.name in obj.attributes:
                    first = relations_at.get(relation.name)
                    raise self.fail(child, f"{obj.name}.{relation.name}: the name is used twice"
                                    + (f" (first at {first})" if first else ""))
                relations[relation.name] = relation
                relations_at[relation.name] = f"{self.source}:{child.sourceline}"
        return attrs.evolve(obj, relations=relations)

    def with_rules(self, obj: ObjectType, objects: dict[str, ObjectType]) -> ObjectType:
        """``obj`` with the rules of its declaration and its extensions, in order (``objects``
        with their relations: conditions may look along them)."""
        rules: dict[str, Rule] = {}
        rules_at: dict[str, str] = {}
        for element, self.source in self.parts[obj.name]:
            for child in element.iterfind("rule"):
                rule = self.rule(obj, child, objects)
                if rule.name in rules:
                    raise self.fail(child, f"rule {rule.name}: {obj.name} has a rule of that name already "
                                    f"({rules_at[rule.name]}); give this one its own name")
                rules[rule.name] = rule
                rules_at[rule.name] = f"{self.source}:{child.sourceline}"
        return attrs.evolve(obj, rules=tuple(rules.values()))

    def relation(self, obj: ObjectType, element: etree._Element, objects: dict[str, ObjectType]) -> Relation:
        name, kind, target_name = element.get("name"), element.get("kind"), element.get("target")
        where = f"{obj.name}.{name}"
        target = objects.get(target_name)
        if target is None:
            raise self.fail(element, f"{where}: relation to unknown object {target_name!r} "
                            f"(objects: {', '.join(objects)})")
        foreign_key = _names(element.get("foreign-key"))
        relation = Relation(name, kind, target_name, foreign_key, element.get("through"),
                            _names(element.get("source-columns")), _names(element.get("target-columns")),
                            element.sourceline, self.source)
        if kind == "many-to-many":
            if not relation.through:
                raise self.fail(element, f"{where}: many-to-many needs through=\"LINK_TABLE\"")
            if target.database != obj.database:
                raise self.fail(element, f"{where}: many-to-many needs both objects in one database")
            for columns, keyed, label in ((relation.source_columns, obj, "source-columns"),
                                          (relation.target_columns, target, "target-columns")):
                if len(columns) != len(keyed.key):
                    raise self.fail(element, f"{where}: {label} needs {len(keyed.key)} column(s), "
                                    f"one per key attribute of {keyed.name}")
            return relation
        holder, referenced = (obj, target) if kind == "many-to-one" else (target, obj)
        if not foreign_key:
            raise self.fail(element, f"{where}: {kind} needs foreign-key=\"ATTRIBUTES of {holder.name}\"")
        for attribute_name in foreign_key:
            if attribute_name not in holder.attributes:
                raise self.fail(element, f"{where}: {holder.name} has no attribute {attribute_name!r} (foreign-key)")
        if len(foreign_key) != len(referenced.key):
            raise self.fail(element, f"{where}: foreign-key names {len(foreign_key)} attribute(s), "
                            f"but the key of {referenced.name} has {len(referenced.key)}")
        return relation

    def rule(self, obj: ObjectType, element: etree._Element, objects: dict[str, ObjectType]) -> Rule:
        name = element.get("name")
        when = element.find("when")
        condition = None
        if when is not None:
            node = next(iter(when.iterchildren(tag=etree.Element)))
            try:
                condition = filters.parse(obj, self.condition(node), rule=True, objects=objects)
            except InvalidInput as error:
                raise self.fail(node, f"rule {name}: {error}") from None
        actions = []
        known = plugins.provided("caruso_rule_actions")
        for child in element.iterfind("action"):
            params = {k: v for k, v in child.attrib.items() if k != "use"}
            sets = {s.get("field"): s.text or "" for s in child.iterfind("set")}
            action = Action(child.get("use"), params, sets, child.sourceline)
            implementation = known.get(action.use)
            if implementation is None:
                raise self.fail(child, f"rule {name}: unknown action {action.use!r} "
                                f"(installed: {', '.join(sorted(known)) or 'none'})")
            self.placeholders(child, name, action, obj, objects)
            check = getattr(implementation, "check", None)
            if check is not None:
                try:
                    check(action, obj, objects)
                except ValueError as error:
                    raise self.fail(child, f"rule {name}: action {action.use}: {error}") from None
            actions.append(action)
        events, at = tuple(element.get("on").split()), element.get("at")
        if ("due" in events) != (at is not None):
            raise self.fail(element, f"rule {name}: on=\"due\" needs at=\"ATTRIBUTE\" (the deadline), "
                            "and at belongs to due rules only")
        if at is not None and getattr(obj.attributes.get(at), "type", None) not in ("date", "datetime"):
            raise self.fail(element, f"rule {name}: at=\"{at}\" must name a date or datetime attribute of {obj.name}")
        return Rule(name, events, condition, tuple(actions), at, element.sourceline)

    def placeholders(self, element: etree._Element, rule: str, action: Action, obj: ObjectType,
                     objects: dict[str, ObjectType]) -> None:
        """Each ``${...}`` of the action's templates names an attribute of ``obj``, a path along
        its many-to-one relations, ``today`` or ``now``; else the loader fails at ``element``."""
        for template in (*action.values.values(), *action.params.values()):
            for written in WRITTEN_PLACEHOLDER.finditer(template):
                match = PLACEHOLDER.fullmatch(written.group(0))
                if match is None:
                    raise self.fail(element, f"rule {rule}: action {action.use}: {written.group(0)[:60]} is no "
                                    "placeholder: write ${attribute}, ${relation.attribute} or ${date+days} "
                                    "(up to three relations, up to 9999 days)")
                name = match.group(1)
                if name in ("today", "now") or name in obj.attributes:
                    continue
                try:
                    filters.path(obj, name, objects)
                except InvalidInput as error:
                    raise self.fail(element, f"rule {rule}: action {action.use}: {match.group(0)}: "
                                    f"{str(error).removeprefix('filter: ').removeprefix(name + ': ')}") from None

    def condition(self, node: etree._Element) -> dict[str, Any]:
        """The plain-data filter of a ``<when>`` element's condition."""
        if node.tag == "test":
            op = node.get("op")
            value: Any = node.get("value")
            if value is None:
                value = [child.text or "" for child in node.iterfind("value")]
                value = value if op == "in" else (value[0] if value else None)
            if op == "is_null" and isinstance(value, str):
                value = value.strip() in ("true", "1")
            if node.get("value-field") is not None:
                return {"field": node.get("field"), "op": op, "value_field": node.get("value-field")}
            return {"field": node.get("field"), "op": op, "value": value}
        children = [self.condition(child) for child in node.iterchildren(tag=etree.Element)]
        return {"not": children[0]} if node.tag == "not" else {node.tag: children}
