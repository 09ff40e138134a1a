"""Reading view files: hardened XML parsing, schema validation, value objects.

Parsing is :mod:`caruso_core.xmlsafe` (no entities, no DTD loading, no network, a
size limit of ``MAX_BYTES``). A view file is refused with ``file:line: what`` in a
:class:`ConfigError` when it is not well-formed, breaks the schema ``views.rng`` or
defines an id twice. ``<extend view="ID">`` reads as an :class:`Extension` of a view an
earlier file defines.
"""
from __future__ import annotations

from pathlib import Path

from lxml import etree

from caruso_core import xmlsafe
from caruso_core.errors import ConfigError
from caruso_frontoffice.views.model import (ALL_ROLES, Act, Customer360View, DetailView, Extension, Field,
                                            FormView, ListView, Menu, MenuItem, Order, Related, Section, Source,
                                            Tasks, View)

MAX_BYTES = 1024 * 1024
SCHEMA = Path(__file__).with_name("views.rng")


Definition = View | Menu | Extension


def read(path: Path) -> list[Definition]:
    """The definitions of one view file, in file order."""
    return _definitions(xmlsafe.read(path, MAX_BYTES), str(path))


def parse(data: bytes, name: str) -> list[Definition]:
    """The definitions of view XML ``data`` read from the file ``name``."""
    return _definitions(xmlsafe.parse(data, name, MAX_BYTES), name)


def _definitions(root: etree._Element, name: str) -> list[Definition]:
    xmlsafe.validate(root, SCHEMA, name)
    definitions = [_build(element, name) for element in root if isinstance(element.tag, str)]
    seen: dict[tuple[str, str], Source] = {}
    for definition in definitions:
        kind = "menu" if isinstance(definition, Menu) else "extend" if isinstance(definition, Extension) else "view"
        key = (kind, definition.id)
        if key in seen:
            raise ConfigError(f"{definition.source}: {key[0]} id {definition.id!r} is defined twice "
                              f"in this file (first at line {seen[key].line})")
        seen[key] = definition.source
    return definitions


def _build(element: etree._Element, name: str) -> Definition:
    source = Source(name, element.sourceline or 0)
    if element.tag == "extend":
        return Extension(id=element.get("view"), source=source,
                         fields=tuple(_field(c, name) for c in element if c.tag == "field"),
                         sections=tuple(_section(c, name) for c in element if c.tag == "section"),
                         related=_related(element, name),
                         filters=tuple(_field(c, name, "field") for c in element if c.tag == "filter"),
                         columns=tuple(_field(c, name, "field") for c in element if c.tag == "column"))
    if element.tag == "menu":
        return Menu(id=element.get("id"), label=element.get("label"), source=source,
                    items=tuple(MenuItem(view=item.get("view"), label=item.get("label"),
                                         source=Source(name, item.sourceline or 0)) for item in element))
    head = {"id": element.get("id"), "object": element.get("object"), "source": source,
            "title": element.get("title") or element.get("id"),
            "roles": _roles(element.get("roles")) or ALL_ROLES}
    children = [child for child in element if isinstance(child.tag, str)]
    if element.tag == "list":
        search = next((c for c in children if c.tag == "search"), None)
        return ListView(**head, page_size=int(element.get("page-size", "25")),
                        detail=element.get("detail"), form=element.get("form"),
                        search=tuple(search.get("fields").split()) if search is not None else (),
                        filters=tuple(_field(c, name, "field") for c in children if c.tag == "filter"),
                        columns=tuple(_field(c, name, "field") for c in children if c.tag == "column"),
                        order=tuple(Order(field=c.get("field"), descending=_flag(c.get("descending")) or False)
                                    for c in children if c.tag == "order"))
    if element.tag == "detail":
        return DetailView(**head, form=element.get("form"), related=_related(element, name),
                          sections=tuple(_section(c, name) for c in children if c.tag == "section"))
    if element.tag == "form":
        return FormView(**head, detail=element.get("detail"), creates=element.get("create") != "false",
                        deleters=_roles(element.get("delete")) or frozenset(),
                        fields=tuple(_field(c, name) for c in children))
    tasks = next((c for c in children if c.tag == "tasks"), None)
    note = next((c for c in children if c.tag == "note"), None)
    history = next((c for c in children if c.tag == "history"), None)
    return Customer360View(
        **head, profile=next(c for c in children if c.tag == "profile").get("detail"),
        acts=tuple(Act(form=c.get("form"), label=c.get("label") or "Edit", field=c.get("field"))
                   for c in children if c.tag in ("edit", "new")),
        note=None if note is None else note.get("label") or "Add a note",
        related=_related(element, name),
        history_limit=int(history.get("limit", "50")) if history is not None else 50,
        tasks=None if tasks is None else Tasks(object=tasks.get("object"), field=tasks.get("field"),
                                               source=Source(name, tasks.sourceline or 0),
                                               list=tasks.get("list"), state_field=tasks.get("state-field"),
                                               open=tuple(tasks.get("open").split())))


def _related(element: etree._Element, name: str) -> tuple[Related, ...]:
    return tuple(Related(object=c.get("object"), field=c.get("field"), label=c.get("label"), list=c.get("list"),
                         source=Source(name, c.sourceline or 0))
                 for c in element if c.tag == "related")


def _section(element: etree._Element, name: str) -> Section:
    return Section(label=element.get("label"), fields=tuple(_field(f, name) for f in element))


def _field(element: etree._Element, name: str, attribute: str = "name") -> Field:
    length = element.get("max-length")
    return Field(name=element.get(attribute), label=element.get("label"), widget=element.get("widget"),
                 required=_flag(element.get("required")), max_length=int(length) if length else None,
                 roles=_roles(element.get("roles")), opens=element.get("open"), by=element.get("by"),
                 source=Source(name, element.sourceline or 0))


def _roles(value: str | None) -> frozenset[str] | None:
    return frozenset(value.split()) if value else None


def _flag(value: str | None) -> bool | None:
    return None if value is None else value in ("true", "1")
