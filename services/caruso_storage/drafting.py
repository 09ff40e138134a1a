"""Drafting a model from an existing database, the start of a legacy mapping.

Every table with a primary key becomes an object on the existing table (no DDL);
columns become attributes with snake_case names; foreign keys become many-to-one
relations and their inverse one-to-many relations. The draft validates as it is;
a person then renames, trims and adds conversions.
"""
from __future__ import annotations

import re
from typing import Any

from lxml import etree
from sqlalchemy import Engine, inspect, types

TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (types.Boolean, "boolean"), (types.Integer, "integer"), (types.Float, "float"),
    (types.Numeric, "decimal"), (types.DateTime, "datetime"), (types.Date, "date"),
    (types.Text, "text"), (types.String, "string"),
)


def snake(name: str) -> str:
    """``CustomerId`` → ``customer_id``, ``KD NR`` → ``kd_nr`` (a valid model identifier)."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "column"
    return f"c_{text}" if text[0].isdigit() else text[:63]


def camel(name: str) -> str:
    """``invoice_line`` or ``KUNDEN AUFTRAG`` → ``InvoiceLine`` / ``KundenAuftrag``."""
    parts = [part for part in re.split(r"[^A-Za-z0-9]+", name) if part]
    text = "".join(part[:1].upper() + (part[1:] if not part.isupper() else part[1:].lower()) for part in parts)
    return f"T{text}" if not text or text[0].isdigit() else text[:63]


def unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    taken.add(candidate)
    return candidate


def draft(engine: Engine, database: str = "legacy", tables: list[str] | None = None,
          schema: str | None = None) -> str:
    """The XML text of a model mapping ``tables`` (default: all) of ``engine`` as existing tables."""
    inspector = inspect(engine)
    names = tables or sorted(inspector.get_table_names(schema=schema))
    root = etree.Element("model", name=snake(database))
    root.append(etree.Comment(f" Drafted from {engine.url.render_as_string(hide_password=True)}: review names, "
                              "types, conversions (flag, cents, padded) and relations. "))
    root.append(etree.Element("database", name="crm"))
    root.append(etree.Element("database", name=database))
    objects: dict[str, dict[str, Any]] = {}
    taken_objects: set[str] = set()
    for table in names:
        key = inspector.get_pk_constraint(table, schema=schema).get("constrained_columns") or []
        if not key:
            root.append(etree.Comment(f" table {table!r} has no primary key: map it by hand and mark the "
                                      "attributes that identify a row key=\"true\" "))
            continue
        columns = inspector.get_columns(table, schema=schema)
        taken: set[str] = set()
        attributes = {column["name"]: unique(snake(column["name"]), taken) for column in columns}
        element = etree.SubElement(root, "object", name=unique(camel(table), taken_objects), table=table,
                                   database=database, existing="true")
        if schema:
            element.set("schema", schema)
        for column in columns:
            element.append(_attribute(column, attributes[column["name"]], key))
        objects[table] = {"element": element, "attributes": attributes, "taken": taken, "key": key}
    for table, info in objects.items():
        for foreign in inspector.get_foreign_keys(table, schema=schema):
            target = objects.get(foreign["referred_table"])
            if target is None or list(foreign["referred_columns"]) != list(target["key"]):
                continue
            foreign_key = " ".join(info["attributes"][c] for c in foreign["constrained_columns"])
            name = snake(target["element"].get("name"))
            info["element"].append(etree.Element(
                "relation", name=unique(name if name not in info["taken"] else f"{foreign_key}_{name}", info["taken"]),
                kind="many-to-one", target=target["element"].get("name"), **{"foreign-key": foreign_key}))
            inverse = unique(snake(info["element"].get("name")) + "_list", target["taken"])
            target["element"].append(etree.Element(
                "relation", name=inverse, kind="one-to-many", target=info["element"].get("name"),
                **{"foreign-key": foreign_key}))
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()


def _attribute(column: dict[str, Any], name: str, key: list[str]) -> etree._Element:
    column_type = column["type"]
    kind = next((label for cls, label in TYPE_NAMES if isinstance(column_type, cls)), "string")
    length = getattr(column_type, "length", None)
    if kind == "text" and length:               # TEXT(30): SQLite's reading of VARCHAR2(30) and the like
        kind = "string"
    element = etree.Element("attribute", name=name, type=kind, column=column["name"])
    if column["name"] in key:
        element.set("key", "true")
        if len(key) == 1 and kind == "integer":
            element.set("generated", "true")
    elif not column.get("nullable", True):
        element.set("required", "true")
    if kind == "string" and length:
        element.set("length", str(length))
    if kind == "decimal":
        for attribute in ("precision", "scale"):
            if getattr(column_type, attribute, None) is not None:
                element.set(attribute, str(getattr(column_type, attribute)))
    return element
