"""What a view definition says, as value objects; every item knows its file and line."""
from __future__ import annotations

from typing import ClassVar

import attrs

from caruso_core.errors import ConfigError

ALL_ROLES = frozenset({"agent", "supervisor", "admin"})


@attrs.frozen
class Source:
    """Where a definition was written."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@attrs.frozen(kw_only=True)
class Field:
    """An attribute of the business object shown or edited by a view.

    ``widget`` and ``max_length`` override what the attribute's type implies;
    ``roles`` (None: the view's roles) narrows who sees the field; ``opens`` (columns only)
    names the detail or customer 360 view a cell's value (the key of the object a relation
    names) opens; ``by`` (fields and columns of a many-to-one reference) names the
    attribute of the referenced object the user types and sees instead of its key
    (``customer_no``).
    """

    name: str
    label: str | None = None
    widget: str | None = None
    required: bool | None = None
    max_length: int | None = None
    roles: frozenset[str] | None = None
    opens: str | None = None
    by: str | None = None
    source: Source | None = None

    def visible_to(self, role: str) -> bool:
        return self.roles is None or role in self.roles


@attrs.frozen(kw_only=True)
class Section:
    label: str
    fields: tuple[Field, ...]


@attrs.frozen(kw_only=True)
class Order:
    field: str
    descending: bool = False


@attrs.frozen(kw_only=True)
class View:
    """What every view has: an id, the business object, a title and the roles that see it."""

    kind: ClassVar[str] = ""
    id: str
    object: str
    title: str
    roles: frozenset[str] = ALL_ROLES
    source: Source

    def visible_to(self, role: str) -> bool:
        return role in self.roles


@attrs.frozen(kw_only=True)
class ListView(View):
    """A searchable, filterable, paged table of objects."""

    kind: ClassVar[str] = "list"
    columns: tuple[Field, ...]
    search: tuple[str, ...] = ()
    filters: tuple[Field, ...] = ()
    order: tuple[Order, ...] = ()
    page_size: int = 25
    detail: str | None = None
    form: str | None = None


@attrs.frozen(kw_only=True)
class Related:
    """Objects of another kind that point through ``field`` at the record shown (the customer
    of a 360, the record of a detail view), shown with the columns of the list view ``list``
    (else their first attributes)."""

    object: str
    field: str
    label: str
    list: str | None = None
    source: Source


@attrs.frozen(kw_only=True)
class DetailView(View):
    """One object, read-only, in labelled sections, then the objects that point at it
    (``related``: an invoice's payments)."""

    kind: ClassVar[str] = "detail"
    sections: tuple[Section, ...]
    form: str | None = None
    related: tuple[Related, ...] = ()


@attrs.frozen(kw_only=True)
class FormView(View):
    """Create or edit one object; ``creates`` False: edit only (no *New*, no ``/new``);
    ``deleters``: the roles that may also delete the object it edits (none by default)."""

    kind: ClassVar[str] = "form"
    fields: tuple[Field, ...]
    detail: str | None = None
    creates: bool = True
    deleters: frozenset[str] = frozenset()

    def deletes_for(self, role: str) -> bool:
        """Whether ``role`` may delete what this form edits (and sees the form at all)."""
        return role in self.deleters and self.visible_to(role)


@attrs.frozen(kw_only=True)
class Tasks(Related):
    """Open tasks of the customer: related objects whose ``state_field`` holds one of ``open``."""

    label: str = "Open tasks"
    state_field: str
    open: tuple[str, ...]


@attrs.frozen(kw_only=True)
class Act:
    """A button of the customer 360: the form ``form`` editing the customer (``field`` None),
    or creating an object whose ``field`` holds the customer's key."""

    form: str
    label: str
    field: str | None = None


@attrs.frozen(kw_only=True)
class Customer360View(View):
    """Everything about one customer: profile, actions, related objects, contact history,
    open tasks."""

    kind: ClassVar[str] = "customer360"
    profile: str
    acts: tuple[Act, ...] = ()
    note: str | None = None      # the label of the field adding a note to the contact history
    related: tuple[Related, ...] = ()
    history_limit: int = 50
    tasks: Tasks | None = None


@attrs.frozen(kw_only=True)
class MenuItem:
    view: str
    label: str | None = None
    source: Source


@attrs.frozen(kw_only=True)
class Menu:
    id: str
    label: str
    items: tuple[MenuItem, ...]
    source: Source


@attrs.frozen(kw_only=True)
class Extension:
    """Changes to a view an earlier file defines: ``fields`` restate fields of a form or
    detail view by name (the attributes they give replace the field's: a vertical's label,
    or ``by`` its customer number); sections and related objects come after a detail view's
    own, filters and columns after a list's own."""

    id: str
    fields: tuple[Field, ...] = ()
    sections: tuple[Section, ...] = ()
    related: tuple[Related, ...] = ()
    filters: tuple[Field, ...] = ()
    columns: tuple[Field, ...] = ()
    source: Source

    def applied_to(self, view: View) -> View:
        """``view`` with the changes; ConfigError naming this extension when they do not fit it."""
        if self.fields:
            view = self._restated(view)
        if isinstance(view, FormView) and not (self.sections or self.related or self.filters or self.columns):
            return view
        if isinstance(view, DetailView) and not (self.filters or self.columns):
            return attrs.evolve(view, sections=view.sections + self.sections, related=view.related + self.related)
        if isinstance(view, ListView) and not (self.sections or self.related):
            return attrs.evolve(view, filters=view.filters + self.filters, columns=view.columns + self.columns)
        raise ConfigError(f"{self.source}: extend view {self.id!r}: a {view.kind} view takes no "
                          + ("sections or related objects" if self.sections or self.related
                             else "filters or columns"))

    def _restated(self, view: View) -> View:
        if isinstance(view, FormView):
            restated = attrs.evolve(view, fields=tuple(self._restate(f) for f in view.fields))
            shown = [f.name for f in view.fields]
        elif isinstance(view, DetailView):
            restated = attrs.evolve(view, sections=tuple(
                attrs.evolve(s, fields=tuple(self._restate(f) for f in s.fields)) for s in view.sections))
            shown = [f.name for s in view.sections for f in s.fields]
        else:
            why = "restate those of its profile's view" if isinstance(view, Customer360View) \
                else "its columns and filters are added"
            raise ConfigError(f"{self.source}: extend view {self.id!r}: a {view.kind} view has no fields to "
                              f"restate ({why})")
        for field in self.fields:
            if field.name not in shown:
                raise ConfigError(f"{field.source}: extend view {self.id!r}: the view shows no field "
                                  f"{field.name!r} (it shows: {', '.join(shown)})")
        return restated

    def _restate(self, field: Field) -> Field:
        """``field`` with what this extension's field of its name gives instead."""
        given = next((f for f in self.fields if f.name == field.name), None)
        if given is None:
            return field
        return attrs.evolve(field, source=given.source, **{name: value for name in RESTATED
                                                           if (value := getattr(given, name)) is not None})


RESTATED = ("label", "widget", "required", "max_length", "roles", "opens", "by")


VIEW_KINDS: dict[str, type[View]] = {cls.kind: cls for cls in (ListView, DetailView, FormView, Customer360View)}
