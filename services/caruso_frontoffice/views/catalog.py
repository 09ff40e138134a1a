"""The views of an installation: several files merged by id, later files winning.

A vertical ships its view files; an integrator lists a file after them that
redefines one view (same id) and leaves the others as they are, or extends one
(``<extend view="ID">``: fields restated, sections, filters and columns added to it). Sources are files,
folders (their ``*.xml`` files in name order) or ``package:path`` resources of an
installed package.
"""
from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any, Iterable

import attrs

from caruso_core.errors import ConfigError
from caruso_frontoffice.views.loader import read
from caruso_frontoffice.views.model import (Customer360View, DetailView, Extension, Field, FormView, ListView,
                                            Menu, Related, Tasks, View)


@attrs.frozen
class Catalog:
    """Views and menus by id, checked: every reference names a view of the right kind."""

    views: dict[str, View] = attrs.field(factory=dict)
    menus: dict[str, Menu] = attrs.field(factory=dict)

    def view(self, view_id: str) -> View | None:
        return self.views.get(view_id)

    def opens(self, view: ListView, role: str) -> str:
        """Where a row of the list ``view`` opens for ``role``, as the path its key follows
        (``/views/customer-360/show?``): the list's detail view, else its form for editing,
        else the record shown with the list's columns."""
        for target, verb in ((view.detail, "show"), (view.form, "edit")):
            if target and target in self.views and self.views[target].visible_to(role):
                return f"/views/{target}/{verb}?"
        return f"/views/{view.id}/show?"

    def opening(self, object_name: str, role: str) -> str | None:
        """Where a record of ``object_name`` opens for ``role`` (as :meth:`opens` says): as
        from the first list of it the role may use, else in its first detail view or 360."""
        for view in self.views.values():
            if isinstance(view, ListView) and view.object == object_name and view.visible_to(role):
                return self.opens(view, role)
        shown = next((view.id for view in self.views.values() if view.object == object_name
                      and isinstance(view, (DetailView, Customer360View)) and view.visible_to(role)), None)
        return f"/views/{shown}/show?" if shown else None

    def menus_for(self, role: str) -> list[tuple[str, list[tuple[str, str]]]]:
        """Menus with the items ``role`` may open: ``(label, [(view id, label), ...])``."""
        found = []
        for menu in self.menus.values():
            items = [(item.view, item.label or self.views[item.view].title) for item in menu.items
                     if self.views[item.view].visible_to(role)]
            if items:
                found.append((menu.label, items))
        return found


DEFAULT_VIEWS = "caruso_frontoffice.views:crm.xml"


def is_resource(source: str) -> bool:
    """Whether a view source names a ``package:path`` resource rather than a file or folder."""
    package, colon, _ = source.partition(":")
    return bool(colon) and "/" not in package and "\\" not in package and len(package) > 1


def files(sources: Iterable[str | Path]) -> list[Path]:
    """The view files named by ``sources``, in order."""
    found: list[Path] = []
    for source in sources:
        text = str(source)
        package, _, resource = text.partition(":")
        if is_resource(text):
            try:
                path = Path(str(importlib.resources.files(package).joinpath(resource)))
            except ModuleNotFoundError:
                raise ConfigError(f"views {text!r}: no installed package {package!r}") from None
        else:
            path = Path(text)
        if path.is_dir():
            found.extend(sorted(path.glob("*.xml")))
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(f"views {text!r}: no such file or folder")
    return found


def load(sources: Iterable[str | Path]) -> Catalog:
    """Read and merge the view files of ``sources``; a later definition replaces an earlier one,
    an extension adds to the view the files before it define."""
    views: dict[str, View] = {}
    menus: dict[str, Menu] = {}
    for path in files(sources):
        extensions = []
        for definition in read(path):
            if isinstance(definition, Extension):
                extensions.append(definition)
                continue
            target = menus if isinstance(definition, Menu) else views
            target.pop(definition.id, None)
            target[definition.id] = definition
        for extension in extensions:
            if extension.id not in views:
                raise ConfigError(f"{extension.source}: extend view {extension.id!r}: no earlier view file defines it")
            views[extension.id] = extension.applied_to(views[extension.id])
    catalog = Catalog(views, menus)
    check(catalog)
    return catalog


def check(catalog: Catalog) -> None:
    """ConfigError at the first reference to a missing view or a view of the wrong kind."""
    for menu in catalog.menus.values():
        for item in menu.items:
            _expect(catalog, item.view, View, f"{item.source}: menu {menu.id!r} item")
    for view in catalog.views.values():
        where = f"{view.source}: {view.kind} {view.id!r}"
        if isinstance(view, ListView):
            _expect(catalog, view.detail, (DetailView, Customer360View), f"{where} detail")
            _expect(catalog, view.form, FormView, f"{where} form")
            _creating(catalog, view.form, f"{where} form (its New button)")
            for column in view.columns:
                _expect(catalog, column.opens, (DetailView, Customer360View),
                        f"{column.source}: {view.kind} {view.id!r} column {column.name!r} open")
        elif isinstance(view, DetailView):
            _expect(catalog, view.form, FormView, f"{where} form")
            _check_related(catalog, view, view.related)
            for section in view.sections:
                for field in section.fields:
                    _expect(catalog, field.opens, (DetailView, Customer360View),
                            f"{field.source}: {view.kind} {view.id!r} field {field.name!r} open")
        elif isinstance(view, FormView):
            _expect(catalog, view.detail, (DetailView, Customer360View), f"{where} detail")
            if view.deleters - view.roles:
                raise ConfigError(f"{where} delete: {', '.join(sorted(view.deleters - view.roles))} cannot open "
                                  f"the form (its roles: {', '.join(sorted(view.roles))})")
            for field in view.fields:
                if field.opens is not None:
                    raise ConfigError(f"{field.source}: {view.kind} {view.id!r} field {field.name!r}: open belongs "
                                      "to the fields of detail views and to list columns, not to a form's")
                if field.widget == "percent":
                    raise ConfigError(f"{field.source}: {view.kind} {view.id!r} field {field.name!r}: the percent "
                                      "widget only shows values (lists, details); a form takes a decimal")
        elif isinstance(view, Customer360View):
            _expect(catalog, view.profile, DetailView, f"{where} profile")
            for act in view.acts:
                _expect(catalog, act.form, FormView, f"{where} action {act.label!r}")
                if act.field is None and catalog.views[act.form].object != view.object:
                    raise ConfigError(f"{where} action {act.label!r} edits with form {act.form!r}, "
                                      f"which edits {catalog.views[act.form].object}, not {view.object}")
                if act.field is not None:
                    _creating(catalog, act.form, f"{where} action {act.label!r}")
            _check_related(catalog, view, (*view.related, *([view.tasks] if view.tasks else [])))


def _check_related(catalog: Catalog, view: View, items: Iterable[Related]) -> None:
    """ConfigError at the first related table of ``view`` whose list is no list of its object."""
    for related in items:
        where = f"{related.source}: {view.kind} {view.id!r} {related.object}"
        _expect(catalog, related.list, ListView, where)
        if related.list and catalog.views[related.list].object != related.object:
            raise ConfigError(f"{where}: list {related.list!r} shows {catalog.views[related.list].object}, "
                              f"not {related.object}")


def _expect(catalog: Catalog, view_id: str | None, kind: type | tuple[type, ...], where: str) -> None:
    if view_id is None:
        return
    view = catalog.views.get(view_id)
    if view is None:
        raise ConfigError(f"{where} names view {view_id!r}, which no view file defines")
    if not isinstance(view, kind):
        raise ConfigError(f"{where} names view {view_id!r}, which is a {view.kind} view")


def _creating(catalog: Catalog, view_id: str | None, where: str) -> None:
    form = catalog.views.get(view_id) if view_id else None
    if isinstance(form, FormView) and not form.creates:
        raise ConfigError(f"{where} names form {view_id!r}, which only edits (create=\"false\")")


def model_problems(catalog: Catalog, objects: dict[str, Any]) -> list[str]:
    """Where the views name an object or attribute the model lacks, one ``file:line: what``
    per problem; ``objects`` is ``describe()["objects"]`` of the storage service."""
    problems = []
    for view in catalog.views.values():
        where = f"{view.kind} {view.id!r}"
        wanted: list[tuple[str, str, Any]] = [(view.object, name, source) for name, source in _names(view)]
        if isinstance(view, (Customer360View, DetailView)):
            tasks = [view.tasks] if isinstance(view, Customer360View) and view.tasks else []
            for related in (*view.related, *tasks):
                wanted.append((related.object, related.field, related.source))
                if isinstance(related, Tasks):
                    wanted.append((related.object, related.state_field, related.source))
            problems += _related_problems(view, (*view.related, *tasks), objects)
        if isinstance(view, Customer360View):
            wanted += [(catalog.views[act.form].object, act.field, view.source) for act in view.acts if act.field]
        for object_name, attribute, source in wanted:
            model = objects.get(object_name)
            if model is None:
                problems.append(f"{source}: {where} names object {object_name!r}, which the model lacks")
            elif attribute not in model.get("attributes", {}):
                problems.append(f"{source}: {where} names {object_name}.{attribute}, which the model lacks")
        if isinstance(view, (ListView, DetailView)) and view.object in objects:
            problems += _opening_problems(catalog, view, objects[view.object])
        if isinstance(view, (FormView, DetailView, ListView)) and view.object in objects:
            problems += _typed_reference_problems(view, objects)
    return list(dict.fromkeys(problems))


def _typed_reference_problems(view: FormView | DetailView | ListView, objects: dict[str, Any]) -> list[str]:
    """The fields (columns) of ``view`` with ``by`` that are no many-to-one reference on their
    attribute alone to an object with a one-attribute key, or whose ``by`` that object lacks."""
    problems = []
    for field in _fields_of(view):
        if field.by is None:
            continue
        where = f"{field.source}: {view.kind} {view.id!r} {_noun(view)} {field.name!r} by={field.by!r}"
        targets = _targets(objects[view.object], field.name)
        target = objects.get(targets[0]) if targets else None
        if target is None or len(target.get("key") or ()) != 1:
            problems.append(f"{where}: {view.object}.{field.name} is no reference (a many-to-one relation on it "
                            "alone, to an object with a one-attribute key)")
        elif field.by not in target.get("attributes", {}):
            problems.append(f"{where}: {targets[0]} has no attribute {field.by!r}")
    return problems


def _fields_of(view: FormView | DetailView | ListView) -> list[Field]:
    """A form's fields, a detail view's fields of every section, a list's columns."""
    if isinstance(view, FormView):
        return list(view.fields)
    if isinstance(view, ListView):
        return list(view.columns)
    return [field for section in view.sections for field in section.fields]


def _noun(view: View) -> str:
    return "column" if isinstance(view, ListView) else "field"


def _related_problems(view: Customer360View | DetailView, items: Iterable[Related],
                      objects: dict[str, Any]) -> list[str]:
    """The related tables of ``view`` whose ``field`` is no reference to the view's object (a
    many-to-one relation whose foreign key is that attribute alone, to an object of a
    one-attribute key): they would show the objects of another record that has the same key."""
    problems = []
    one_key = len(objects.get(view.object, {}).get("key", ())) == 1
    for related in items:
        model = objects.get(related.object)
        if model is None or related.field not in model.get("attributes", {}):
            continue                                  # said already: the model lacks it
        targets = _targets(model, related.field)
        if not one_key:
            why = f"{view.object} has a key of more than one attribute (a related table needs a key of one)"
        elif view.object in targets:
            continue
        elif targets:
            why = f"{related.object}.{related.field} relates to {targets[0]}, not {view.object}"
        else:
            why = f"{related.object}.{related.field} relates to no {view.object} (no many-to-one relation on it alone)"
        problems.append(f"{related.source}: {view.kind} {view.id!r} related {related.object}: {why}")
    return problems


def _targets(model: dict[str, Any], attribute: str) -> list[str]:
    """The objects ``attribute`` of an object's ``model`` names: its many-to-one relations on it alone."""
    return [relation["target"] for relation in model.get("relations", {}).values()
            if relation.get("kind") == "many-to-one" and relation.get("foreign_key") == [attribute]]


def _opening_problems(catalog: Catalog, view: ListView | DetailView, model: dict[str, Any]) -> list[str]:
    """The columns (detail fields) of ``view`` that open a view of another object than the one
    their attribute names (a many-to-one relation whose foreign key is that attribute alone)."""
    problems = []
    for column in _fields_of(view):
        if column.opens is None:
            continue
        opened = catalog.views[column.opens].object
        targets = _targets(model, column.name)
        if opened not in targets:
            problems.append(f"{column.source}: {view.kind} {view.id!r} {_noun(view)} {column.name!r} opens view "
                            f"{column.opens!r} of {opened}, but {view.object}.{column.name} relates to "
                            + (targets[0] if targets else f"no {opened} (no many-to-one relation on it alone)"))
    return problems


def _names(view: View) -> list[tuple[str, Any]]:
    """The attribute names a view uses, each with where it is written."""
    if isinstance(view, ListView):
        return ([(f.name, f.source) for f in (*view.columns, *view.filters)]
                + [(name, view.source) for name in (*view.search, *(o.field for o in view.order))])
    if isinstance(view, DetailView):
        return [(f.name, f.source) for section in view.sections for f in section.fields]
    if isinstance(view, FormView):
        return [(f.name, f.source) for f in view.fields]
    return []
