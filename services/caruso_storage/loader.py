"""Loading a model file: hardened XML, the published schema, then the model's own rules.

Every error is a ConfigError ``FILE:LINE: what is wrong`` (and how to fix it where
that is not obvious). Reading is :mod:`caruso_core.xmlsafe`: entity declarations
are refused, nothing is expanded, no DTD or network resource is loaded.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import attrs
from lxml import etree

from caruso_core import plugins, xmlsafe
from caruso_core.errors import ConfigError, InvalidInput

from caruso_storage import filters, values
from caruso_storage.model import (TYPES, Action, Attribute, Database, Index, Model,
                                  ObjectType, Relation, Rule)

SCHEMA_FILE = "model.rng"
DEFAULT_MODEL = "default_model.xml"


def load(path: str | Path) -> Model:
    """The validated model of the file at ``path``."""
    return _build(xmlsafe.read(path), str(path))


def load_default() -> Model:
    """The packaged example CRM model (customers, contacts, opportunities, tasks, tags)."""
    return loads(resources.files("caruso_storage").joinpath(DEFAULT_MODEL).read_bytes(), DEFAULT_MODEL)


def loads(data: bytes, source: str) -> Model:
    """The validated model of the XML text ``data``; ``source`` names it in errors."""
    return _build(xmlsafe.parse(data, source), source)


def _build(root: etree._Element, source: str) -> Model:
    _validate(root, source)
    parts = [(root, source)] + [_module(include, source) for include in root.iterfind("include")]
    return _Builder(source).model(root, parts)


def _validate(root: etree._Element, source: str) -> None:
    schema = xmlsafe.schema(str(resources.files("caruso_storage").joinpath(SCHEMA_FILE)))
    if not schema.validate(root):
        located = [error for error in schema.error_log if error.line > 0] or list(schema.error_log)
        raise ConfigError(f"{source}:{located[0].line}: {located[0].message} (see docs/model-format.md)")


def _module(include: etree._Element, source: str) -> tuple[etree._Element, str]:
    """The root and file name of the model module an ``<include module>`` names."""
    name = include.get("module")
    modules = plugins.provided("caruso_model_modules")
    if name not in modules:
        raise ConfigError(f"{source}:{include.sourceline}: unknown model module {name!r} "
                          f"(installed: {', '.join(sorted(modules)) or 'none'})")
    path = str(modules[name])
    root = xmlsafe.read(path)
    _validate(root, path)
    extra = root.find("database") if root.find("database") is not None else root.find("include")
    if extra is not None:
        raise ConfigError(f"{path}:{extra.sourceline}: a model module holds objects only "
                          f"(no <{extra.tag}>); the including model gives the databases")
    return root, path


def _flag(element: etree._Element, name: str, default: bool = False) -> bool:
    value = element.get(name)
    return default if value is None else value.strip() in ("true", "1")


def _int(element: etree._Element, name: str) -> int | None:
    value = element.get(name)
    return None if value is None else int(value)


def _names(text: str | None) -> tuple[str, ...]:
    return tuple((text or "").split())


class _Builder:
    """Builds a :class:`Model` from a schema-valid root, checking what the schema cannot."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, element: etree._Element | int, message: str) -> ConfigError:
        line = element if isinstance(element, int) else element.sourceline
        return ConfigError(f"{self.source}:{line}: {message}")

    def model(self, root: etree._Element, parts: list[tuple[etree._Element, str]]) -> Model:
        """The model of ``root`` with the objects of every part (the root and its modules, with their files)."""
        databases = {}
        for element in root.iterfind("database"):
            name = element.get("name")
            if name in databases:
                raise self.fail(element, f"database {name!r} is declared twice")
            databases[name] = Database(name, element.get("url"), element.sourceline)
        databases = databases or {"main": Database("main")}
        objects: dict[str, ObjectType] = {}
        elements = {}
        origins: dict[str, str] = {}
        for part, self.source in parts:
            for element in part.iterfind("object"):
                obj = self.object(element, databases)
                if obj.name in objects:
                    elsewhere = "" if origins[obj.name] == self.source else f" (also in {origins[obj.name]})"
                    raise self.fail(element, f"object {obj.name!r} is declared twice{elsewhere}")
                objects[obj.name] = obj
                elements[obj.name] = element
                origins[obj.name] = self.source
        self.source = parts[0][1]
        if not objects:
            raise self.fail(root, "the model has no objects: add <object> or <include module=\"...\"/>")
        tables: dict[tuple[str, str | None, str], str] = {}
        for obj in objects.values():
            self.source = origins[obj.name]
            where = (obj.database, obj.schema, obj.table)
            if where in tables:
                raise self.fail(obj.line, f"objects {tables[where]} and {obj.name} map the same table {obj.table!r}")
            tables[where] = obj.name
        finished = {}
        for name, obj in objects.items():
            self.source = origins[name]
            finished[name] = self.finish(obj, elements[name], objects)
        self.source = parts[0][1]
        return Model(root.get("name"), databases, finished, self.source)

    def object(self, element: etree._Element, databases: dict[str, Database]) -> ObjectType:
        name = element.get("name")
        database = element.get("database") or next(iter(databases))
        if database not in databases:
            raise self.fail(element, f"object {name}: unknown database {database!r} "
                            f"(declared: {', '.join(databases)})")
        attributes: dict[str, Attribute] = {}
        columns: set[str] = set()
        for child in element.iterfind("attribute"):
            attribute = self.attribute(name, child)
            if attribute.name in attributes:
                raise self.fail(child, f"{name}.{attribute.name} is declared twice")
            if attribute.column in columns:
                raise self.fail(child, f"{name}.{attribute.name}: column {attribute.column!r} is mapped twice")
            attributes[attribute.name] = attribute
            columns.add(attribute.column)
        key = [a for a in attributes.values() if a.key]
        if not key:
            raise self.fail(element, f"object {name} has no key: mark one or more attributes key=\"true\"")
        for attribute in key:
            if attribute.generated and (len(key) > 1 or attribute.type != "integer"):
                raise self.fail(attribute.line, f"{name}.{attribute.name}: only a single integer key can be generated")
        indexes = []
        for child in element.iterfind("index"):
            index = Index(child.get("name"), _names(child.get("attributes")), _flag(child, "unique"), child.sourceline)
            for attribute_name in index.attributes:
                if attribute_name not in attributes:
                    raise self.fail(child, f"index {index.name}: {name} has no attribute {attribute_name!r}")
            indexes.append(index)
        return ObjectType(name=name, table=element.get("table") or name, database=database,
                          existing=_flag(element, "existing"), attributes=attributes,
                          indexes=tuple(indexes), schema=element.get("schema"),
                          label=element.get("label") or name, line=element.sourceline)

    def attribute(self, owner: str, element: etree._Element) -> Attribute:
        name = element.get("name")
        where = f"{owner}.{name}"
        kind = element.get("type")
        if name.startswith("_"):
            raise self.fail(element, f"{where}: names starting with '_' are reserved")
        if kind not in TYPES:
            raise self.fail(element, f"{where}: unknown type {kind!r} (types: {', '.join(TYPES)})")
        convert = element.get("convert")
        needs = {"flag": "boolean", "cents": "decimal", "padded": "string"}
        if convert is not None and needs[convert] != kind:
            raise self.fail(element, f"{where}: convert=\"{convert}\" needs type {needs[convert]}, not {kind}")
        length = _int(element, "length")
        if length is not None and kind != "string":
            raise self.fail(element, f"{where}: length applies to type string only")
        if convert == "padded" and length is None:
            raise self.fail(element, f"{where}: convert=\"padded\" needs the column's length")
        scale = _int(element, "scale")
        attribute = Attribute(
            name=name, type=kind, column=element.get("column") or name, key=_flag(element, "key"),
            generated=_flag(element, "generated"), required=_flag(element, "required"), length=length,
            precision=_int(element, "precision"), scale=2 if convert == "cents" and scale is None else scale,
            label=element.get("label") or name.replace("_", " ").capitalize(), convert=convert,
            true_value=element.get("true", "J"), false_value=element.get("false", "N"), line=element.sourceline)
        try:
            choices = element.get("choices")
            if choices is not None:
                attribute = attrs.evolve(attribute, choices=tuple(
                    values.decode(attribute, choice.strip(), strict=False) for choice in choices.split("|")))
            if element.get("default") is not None:
                attribute = attrs.evolve(attribute, default=values.decode(attribute, element.get("default")))
        except InvalidInput as error:
            raise self.fail(element, f"{owner}.{error}") from None
        return attribute

    def finish(self, obj: ObjectType, element: etree._Element, objects: dict[str, ObjectType]) -> ObjectType:
        relations = {}
        for child in element.iterfind("relation"):
            relation = self.relation(obj, child, objects)
            if relation.name in relations or relation.name in obj.attributes:
                raise self.fail(child, f"{obj.name}.{relation.name}: the name is used twice")
            relations[relation.name] = relation
        obj = attrs.evolve(obj, relations=relations)
        rules = [self.rule(obj, child, objects) for child in element.iterfind("rule")]
        return attrs.evolve(obj, rules=tuple(rules))

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
                            element.sourceline)
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
                condition = filters.parse(obj, self.condition(node), rule=True)
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
            return {"field": node.get("field"), "op": op, "value": value}
        children = [self.condition(child) for child in node.iterchildren(tag=etree.Element)]
        return {"not": children[0]} if node.tag == "not" else {node.tag: children}
