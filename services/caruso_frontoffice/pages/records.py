"""Pages built from view definitions over the storage service: list, detail, form and
customer 360.

URLs: ``/views/ID`` (list), ``/views/ID/show?KEY`` (detail or customer 360),
``/views/ID/new`` and ``/views/ID/edit?KEY`` (form), where ``KEY`` is the object's key
attributes as query parameters (``?id=42``); ``POST /views/ID/filters?LIST-QUERY`` saves
a list's search, filters and sort under a name for the user, ``POST
/views/ID/filters/delete`` deletes one of theirs. A view, and each of its fields, is shown
only to the roles it names; a form takes only the fields the user may see.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Iterable, Mapping
from urllib.parse import urlencode

import attrs
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from caruso_core import spreadsheets
from caruso_core.errors import CallInterrupted, CarusoError, Conflict, InvalidInput, NoInstance, NotFound
from caruso_core.digits import digits
from caruso_frontoffice import notices, references, submissions, widgets
from caruso_frontoffice.access import action, page
from caruso_frontoffice.accounts import STAFF
from caruso_frontoffice.context import Context
from caruso_frontoffice.records import (ObjectInfo, Records, history, history_page, in_sentence, order_of,
                                        referring)
from caruso_frontoffice.savedfilters import MAX_NAME as MAX_FILTER_NAME, SavedFilters
from caruso_frontoffice.views.model import (Customer360View, DetailView, Field, FormView, ListView,
                                            Related, View)

MAX_SEARCH = 200
NEXT_PAGE = re.compile(r"/views/[A-Za-z0-9_./~%-]*(\?[A-Za-z0-9_./~%=&+-]*)?")
MAX_NOTE = 4000
NEXT = "next"
EXPORT_ROWS = 10_000
MAX_CALLED = 80         # characters a record's name in its page's title may have
# a new form: the browser may show it again from its cache on Back (its once-token with it, so
# Save after Back goes to the record made), never without asking the site on a new visit; signing
# out clears it (pages/auth.py)
REVISITED = "private, no-cache"


class _Refused(Exception):
    """A page that cannot be shown: HTTP status and a reason for the person."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _guarded(handler: Any) -> Any:
    """Turn _Refused and storage failures into a page explaining them."""
    def run(request: Request, context: Context, *form: FormData) -> Response:
        try:
            return handler(request, context, *form)
        except _Refused as refusal:
            status, reason = refusal.status, str(refusal)
        except NoInstance as error:
            status, reason = 503, f"The storage service is not available: {error}"
        except NotFound as error:
            status, reason = 404, str(error)
        except CarusoError as error:
            status, reason = 502, f"The storage service refused the request: {error}"
        return context.render(request, "refused.html", status, reason=reason)
    run.__name__ = handler.__name__
    return run


def _view(request: Request, context: Context, kinds: tuple[type[View], ...]) -> View:
    view = context.catalog.view(request.path_params["view_id"])
    if view is None or not isinstance(view, kinds):
        raise _Refused(404, "There is no such view.")
    if not view.visible_to(request.state.visitor.user.role):
        raise _Refused(403, "Your role does not give access to this view.")
    return view


def _visible(fields: tuple[Field, ...], role: str) -> list[Field]:
    return [field for field in fields if field.visible_to(role)]


def _key(info: ObjectInfo, values: Any) -> Any:
    """The storage key from query parameters or form fields named after the key attributes."""
    if not info.key:
        raise _Refused(400, f"{info.name} has no key")
    parts = {}
    for name in info.key:
        try:
            parts[name] = widgets.parse(Field(name=name, required=True), info.key_attribute(name),
                                        values.get(name))
        except InvalidInput as error:
            raise _Refused(400, f"The key is incomplete or wrong: {error}") from None
    return parts[info.key[0]] if len(parts) == 1 else parts


def key_query(info: ObjectInfo, record: dict[str, Any]) -> str:
    """The key of ``record`` as query parameters (``id=42``), as the pages' URLs take it."""
    return urlencode({name: widgets.display(value) for name, value in info.key_of(record).items()})


def _list_query(request: Request, view: ListView, info: ObjectInfo, role: str) -> dict[str, Any]:
    """What a list page or its export asks for: search, filters, sort, page; ``error`` names a
    filter value that does not fit."""
    params = request.query_params
    search = params.get("q", "")[:MAX_SEARCH].strip()
    filters, shown, error = {}, {}, None
    for field in _visible(view.filters, role):
        raw = params.get(f"f.{field.name}", "")[:MAX_SEARCH]
        shown[field.name] = raw
        try:
            value = widgets.parse_filter(field, info.attribute(field.name), raw)
        except InvalidInput as failure:
            error = str(failure)
            continue
        if value is not None:
            filters[field.name] = value
    # a column shown by another object's attribute would sort by its key: not sortable
    sortable = {column.name for column in _visible(view.columns, role) if not column.by}
    sort = params.get("sort", "")[:MAX_SEARCH]
    if sort.lstrip("-") not in sortable:
        sort = ""
    return {"search": search, "filters": filters, "shown": shown, "error": error, "sort": sort,
            "sortable": sortable, "fields": searched_fields(view, role), "page": _page_number(params.get("page"))}


def searched_fields(view: ListView, role: str) -> list[str]:
    """The attributes ``view``'s search looks in for ``role``: not those of columns hidden from it."""
    hidden = {column.name for column in view.columns if not column.visible_to(role)}
    return [name for name in view.search if name not in hidden]


@page(*STAFF)
@_guarded
def list_view(request: Request, context: Context) -> Response:
    return _list_page(request, context, _view(request, context, (ListView,)))


def _list_page(request: Request, context: Context, view: ListView, status: int = 200,
               refused: str | None = None, filter_name: str = "") -> Response:
    """The list as the request's query asks for it; ``refused``: why the filter name
    ``filter_name`` (given back in its field) was not saved. A filter value that does not fit
    shows no rows (400), as its export refuses it, not every row as if no filter were set."""
    role = request.state.visitor.user.role
    records = context.records
    info = records.info(view.object)
    asked = _list_query(request, view, info, role)
    number, error = asked["page"], asked["error"]
    rows, total = [], 0
    if error:
        status = max(status, 400)
    else:
        try:
            rows, total = records.page(view, asked["fields"], asked["search"], asked["filters"], number,
                                       asked["sort"] or None)
        except InvalidInput as failure:
            error = str(failure)
    pages = max(1, -(-total // view.page_size))
    state = _list_state(asked)
    if number > pages:                      # beyond the last page (the list shrank, or a typed URL): the last
        return RedirectResponse(f"/views/{view.id}?{urlencode({**state, 'page': pages})}", 303)
    columns = _visible(view.columns, role)
    labels = {f.name: f.label for f in columns if f.label}
    return context.render(
        request, "list.html", status, view=view, info=info, search=asked["search"], error=error,
        searched=", ".join(labels.get(name) or info.attribute(name).label for name in asked["fields"]),
        filter_error=refused, filter_name=filter_name,
        filters=[(f, info.attribute(f.name), widgets.widget(f, info.attribute(f.name)), asked["shown"][f.name])
                 for f in _visible(view.filters, role)],
        columns=[(f.label or info.attribute(f.name).label, f.name, f.name in asked["sortable"]) for f in columns],
        sort=asked["sort"],
        rows=table_rows(context, view, info, columns, rows, row_opener(context, view, role), role),
        total=total, page=number, pages=pages, times=any(_a_time(info, f) for f in columns),
        query=state, base_query={k: v for k, v in state.items() if k != "sort"},
        form=_creating(context, view.form, role),
        saved=context.saved_filters.of(request.state.visitor.user.id, view.id) if context.saved_filters else None)


def _list_state(asked: dict[str, Any]) -> dict[str, str]:
    """The query parameters of a list's search, filters and sort (what its links keep)."""
    state = {"q": asked["search"], **{f"f.{k}": v for k, v in asked["shown"].items() if v}}
    if asked["sort"]:
        state["sort"] = asked["sort"]
    return state


def _saved_filters(context: Context) -> SavedFilters:
    if context.saved_filters is None:
        raise _Refused(404, "This front office keeps no saved filters.")
    return context.saved_filters


@action(*STAFF)
@_guarded
def save_filter(request: Request, context: Context, form: FormData) -> Response:
    """Save the list's search, filters and sort (the query, read as the list reads it) under
    the typed ``name`` for the user; back to the list showing them. A name refused: the
    list again, saying why beside the name given back."""
    view = _view(request, context, (ListView,))
    saved = _saved_filters(context)
    asked = _list_query(request, view, context.records.info(view.object), request.state.visitor.user.role)
    if asked["error"]:
        raise _Refused(400, asked["error"])
    query = urlencode(_list_state(asked))
    name = _text(form.get("name"))
    try:
        saved.save(request.state.visitor.user.id, view.id, name, query)
    except (InvalidInput, Conflict) as refused:
        return _list_page(request, context, view, 409 if isinstance(refused, Conflict) else 400, str(refused),
                          name[:MAX_FILTER_NAME])
    return RedirectResponse(f"/views/{view.id}?{query}", 303)


@action(*STAFF)
@_guarded
def delete_filter(request: Request, context: Context, form: FormData) -> Response:
    """Delete the user's saved filter named by ``filter`` (404 unless it is theirs); back to
    the list with the search, filters and sort it showed."""
    view = _view(request, context, (ListView,))
    raw = _text(form.get("filter"))
    if not digits(raw) or len(raw) > 12:
        raise _Refused(400, "Which saved filter? The form names none.")
    _saved_filters(context).delete(request.state.visitor.user.id, int(raw))
    asked = _list_query(request, view, context.records.info(view.object), request.state.visitor.user.role)
    return RedirectResponse(f"/views/{view.id}" + ("" if asked["error"] else f"?{urlencode(_list_state(asked))}"),
                            303)


@page(*STAFF)
@_guarded
def export(request: Request, context: Context) -> Response:
    """The list's matching rows (search, filters, sort as on the page; at most
    ``EXPORT_ROWS``) as CSV of the columns the user sees, UTF-8 after a byte-order mark
    (without it Excel reads the file in the computer's legacy code page: *MÃ¼ller*); a
    datetime column's heading names the zone its times are in (the file leaves the pages)."""
    view = _view(request, context, (ListView,))
    role = request.state.visitor.user.role
    records = context.records
    info = records.info(view.object)
    asked = _list_query(request, view, info, role)
    if asked["error"]:
        raise _Refused(400, asked["error"])
    try:
        rows = records.all(view, asked["fields"], asked["search"], asked["filters"], asked["sort"] or None,
                           EXPORT_ROWS)
    except InvalidInput as failure:
        raise _Refused(400, str(failure)) from None
    columns = _visible(view.columns, role)
    header = [f"{f.label or info.attribute(f.name).label}" + (f" ({context.zone})" if _a_time(info, f) else "")
              for f in columns]
    written = spreadsheets.table([header, *_cell_texts(context, view, info, columns, rows, exported=True)])
    return Response("\ufeff" + written, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{view.id}.csv"'})


def row_opener(context: Context, view: ListView, role: str) -> Any:
    """How a row of ``view`` opens its record: ``opener(info, row)`` gives the URL of the
    list's detail view, else its form for editing, else the record shown with the list's
    columns (``Catalog.opens``)."""
    path = context.catalog.opens(view, role)
    return lambda info, row: path + key_query(info, row)


def _page_number(raw: str | None) -> int:
    """A page number from a query parameter: 1 unless it is a number from 1 to 99,999."""
    return int(raw) if raw and digits(raw) and 0 < int(raw) < 100_000 else 1


def _a_time(info: ObjectInfo, column: Field) -> bool:
    """Whether ``column`` shows a moment (a datetime, shown in the business's time zone)."""
    return info.attribute(column.name).type == "datetime" and not column.by


def table_rows(context: Context, view: View | None, info: ObjectInfo, columns: list[Field],
               rows: list[dict[str, Any]], opener: Any, role: str) -> list[list[tuple[str, str | None]]]:
    """The cells of ``rows`` in ``columns`` (of the list ``view``), each ``(text, URL or None)``:
    a column that ``opens`` a view ``role`` may use of the object its attribute relates to (a
    many-to-one relation on it alone) links each value to that view; the first other column
    opens its row's record (``opener(info, row)``, see :func:`row_opener`; None: no link). A
    column with ``by`` shows that attribute of the object each key names (one round trip)."""
    texts = _cell_texts(context, view, info, columns, rows)
    targets = _opened(context, info, columns, role)
    first = next((field.name for field in columns if field.name not in targets), None)
    table = []
    for row, shown in zip(rows, texts):
        links = _links(targets, row)
        if first is not None and opener is not None:
            links[first] = opener(info, row)
        table.append([(text, links.get(field.name)) for field, text in zip(columns, shown)])
    return table


def _opened(context: Context, info: ObjectInfo, fields: Iterable[Field], role: str
            ) -> dict[str, tuple[str, ObjectInfo]]:
    """Of ``fields`` (columns, a detail view's fields), those that ``open`` a view ``role`` may
    use of the object their attribute relates to (a many-to-one relation on it alone): that
    view and that object."""
    targets = {}
    for field in fields:
        target = _usable(context, field.opens, role)
        opened = context.catalog.view(target).object if target else None
        if opened is not None and info.references.get(field.name) == opened:
            targets[field.name] = (target, context.records.info(opened))
    return targets


def _links(targets: dict[str, tuple[str, ObjectInfo]], record: dict[str, Any]) -> dict[str, str]:
    """The link of each field of ``targets`` (see :func:`_opened`) to the object its value in
    ``record`` (a key, as stored) names; none for an empty value."""
    return {name: f"/views/{target}/show?" + key_query(opened, {opened.key[0]: record[name]})
            for name, (target, opened) in targets.items() if record.get(name) not in (None, "")}


def _cell_texts(context: Context, view: View | None, info: ObjectInfo, columns: list[Field],
               rows: list[dict[str, Any]], exported: bool = False) -> list[list[str]]:
    """The text of each cell of ``rows`` in ``columns`` (of the list ``view``), as pages show
    them, datetimes to the minute (``exported``: as a CSV export writes them, numbers
    ungrouped, the seconds kept, no widgets). A column
    with ``by`` shows that attribute of the object each key names (one round trip for all);
    a key naming none shows as it is."""
    typed = {f.name: _typed(view, info, f, context.records) for f in columns if f.by} if view is not None else {}
    seen = references.seen_in(context.records, typed, rows)

    def text(field: Field, value: Any) -> str:
        by = typed.get(field.name)
        if by is not None and by.takes(value) and by.normal(value) in seen[field.name]:
            return widgets.shown(by.by, seen[field.name][by.normal(value)], grouped=not exported,
                                 to_minute=not exported)
        return widgets.shown(info.attribute(field.name), value, None if exported else field.widget,
                             grouped=not exported, to_minute=not exported)
    return [[text(field, row.get(field.name)) for field in columns] for row in rows]


def _usable(context: Context, view_id: str | None, role: str) -> str | None:
    view = context.catalog.view(view_id) if view_id else None
    return view_id if view is not None and view.visible_to(role) else None


def _creating(context: Context, view_id: str | None, role: str) -> str | None:
    """``view_id`` when it names a form that creates and ``role`` may use."""
    usable = _usable(context, view_id, role)
    view = context.catalog.view(usable) if usable else None
    return usable if isinstance(view, FormView) and view.creates else None


def _detail_sections(context: Context, view: DetailView, info: ObjectInfo, record: dict[str, Any], role: str
                     ) -> list[tuple[str, list[tuple[str, str, str | None]]]]:
    """:func:`record_sections` of ``record`` as ``view`` shows it to ``role``: a reference
    typed ``by`` another attribute by that attribute (a customer by number), a field that
    ``open``s a view linking to the object it names."""
    fields = [field for section in view.sections for field in _visible(section.fields, role)]
    typed = [{"name": f.name, "typed": _typed(view, info, f, context.records)} for f in fields if f.by]
    seen = references.shown(context.records, typed, record)[0]
    return record_sections(view, info, seen, role, _links(_opened(context, info, fields, role), record))


def record_sections(view: DetailView, info: ObjectInfo, record: dict[str, Any], role: str,
                    links: dict[str, str] | None = None) -> list[tuple[str, list[tuple[str, str, str | None]]]]:
    """``(label, [(field label, shown value, link or None), ...])`` of each section of ``view``
    for ``record``: the fields ``role`` may see; ``links`` by field name."""
    return [(section.label, [(field.label or info.attribute(field.name).label,
                              widgets.shown(info.attribute(field.name), record.get(field.name), field.widget),
                              (links or {}).get(field.name))
                             for field in _visible(section.fields, role)])
            for section in view.sections]


@page(*STAFF)
@_guarded
def show(request: Request, context: Context) -> Response:
    view = _view(request, context, (DetailView, Customer360View, ListView))
    info = context.records.info(view.object)
    key = _key(info, request.query_params)
    try:
        return _shown(request, context, view, info, key)
    except NotFound:
        raise _Refused(404, _gone(info, key)) from None


def _gone(info: ObjectInfo, key: Any) -> str:
    """What a page says of the record ``key`` the storage does not have."""
    return f"There is no {in_sentence(_named(info, _keyed(info, key)))}: it may have been deleted."


def _shown(request: Request, context: Context, view: View, info: ObjectInfo, key: Any) -> Response:
    """The record ``key`` as ``view`` shows it (NotFound when there is none)."""
    role, records = request.state.visitor.user.role, context.records
    if isinstance(view, ListView):          # a row of a list without a detail view: its columns
        record = records.get(view.object, key)
        columns = _visible(view.columns, role)
        links = _links(_opened(context, info, columns, role), record)
        shown = [(f.label or info.attribute(f.name).label, text, links.get(f.name))
                 for f, text in zip(columns, _cell_texts(context, view, info, columns, [record])[0])]
        return context.render(request, "detail.html", view=view, sections=[(view.title, shown)], related=[],
                              key_query=key_query(info, record), form=None, called=called([(view.title, shown)]))
    if isinstance(view, DetailView):
        lists = [(item, None) for item in view.related if _related_shown(context, item, role)]
        reading = RelatedReading(context, lists, key, role)
        record, *found = records.read([{"op": "get", "object": view.object, "key": key}, *reading.requests])
        sections = _detail_sections(context, view, info, record, role)
        return context.render(request, "detail.html", view=view, sections=sections, called=called(sections),
                              related=reading.tables(found), key_query=key_query(info, record),
                              form=_usable(context, view.form, role))
    assert isinstance(view, Customer360View)
    return _customer360(request, context, view, info, key)


def _customer360(request: Request, context: Context, view: Customer360View, info: ObjectInfo, key: Any,
                 status: int = 200, refused: str | None = None, note: str = "") -> Response:
    """The customer 360 of ``key``; ``refused``: why the note ``note`` (given back in its
    field) was not added."""
    role = request.state.visitor.user.role
    records = context.records
    # the profile, each related list, the open tasks and a page of history: one round trip
    profile = context.catalog.view(view.profile)
    lists: list[tuple[Related, dict[str, Any] | None]] = [
        (item, None) for item in view.related if _related_shown(context, item, role)]
    tasks_shown = view.tasks is not None and _related_shown(context, view.tasks, role)
    if tasks_shown:
        lists.append((view.tasks, {"field": view.tasks.state_field, "op": "in", "value": list(view.tasks.open)}))
    reading = RelatedReading(context, lists, key, role)
    number = _page_number(request.query_params.get("history"))
    record, *found, entries = records.read([
        {"op": "get", "object": view.object, "key": key}, *reading.requests,
        history(view.object, key, view.history_limit, (number - 1) * view.history_limit)])
    tables = reading.tables(found)
    related, tasks = (tables[:-1], tables[-1]) if tasks_shown else (tables, None)
    entries, older = history_page(entries, view.history_limit)
    sections = _detail_sections(context, profile, info, record, role)
    return context.render(request, "customer360.html", status, view=view, sections=sections, called=called(sections),
                          related=related, tasks=tasks,
                          history=entries, history_page=number, older=older, key_query=key_query(info, record),
                          acts=_acts(context, view, info, record, role), note_error=refused, note=note)


def called(sections: list[tuple[str, list[tuple[str, str, Any]]]]) -> str:
    """What a record is called in its page's title and heading: the first two values its
    first section shows (*K-1010 · Hannes Fischer*), so that two open tabs differ."""
    shown = [text for _, text, _ in sections[0][1] if text] if sections else []
    joined = " · ".join(shown[:2])
    return joined if len(joined) <= MAX_CALLED else joined[:MAX_CALLED - 1] + "…"


@action(*STAFF)
@_guarded
def note(request: Request, context: Context, form: FormData) -> Response:
    """Add the typed note to the customer's contact history (channel ``note``, the user as
    agent); back to the 360, which says *Note added.* A note refused: the 360 again, saying why beside the note given
    back."""
    view = _view(request, context, (Customer360View,))
    if view.note is None:
        raise _Refused(404, "This view takes no notes.")
    info = context.records.info(view.object)
    key = _key(info, request.query_params)
    typed = _text(form.get("note"))
    text = typed.strip()
    if not text:
        return _customer360(request, context, view, info, key, 400, "The note is empty: type what to keep.",
                            typed[:MAX_NOTE])
    if len(text) > MAX_NOTE or widgets.CONTROL.search(text):
        return _customer360(request, context, view, info, key, 400, f"A note has at most {MAX_NOTE} characters and "
                            "no control characters.", typed[:MAX_NOTE])
    context.records.add_contact(view.object, key, {"channel": "note", "summary": text,
                                                   "agent": request.state.visitor.user.name})
    return notices.redirect(request, context.sessions, f"/views/{view.id}/show", "Note added.", request.url.query)


def _acts(context: Context, view: Customer360View, info: ObjectInfo, record: dict[str, Any], role: str
          ) -> list[tuple[str, str]]:
    """``(label, URL)`` of the customer 360's actions ``role`` may take: edit the customer,
    or a new object with the customer's key in its ``field`` (back to the 360 once saved)."""
    here = f"/views/{view.id}/show?{key_query(info, record)}"
    found = []
    for act in view.acts:
        if not _usable(context, act.form, role):
            continue
        if act.field is None:
            found.append((act.label, f"/views/{act.form}/edit?{key_query(info, record)}"))
        else:
            key = widgets.display(record.get(info.key[0])) if len(info.key) == 1 else ""
            found.append((act.label, f"/views/{act.form}/new?{urlencode({act.field: key, NEXT: here})}"))
    return found


class RelatedReading:
    """The tables of objects that point at the record ``key`` (``lists``: each ``Related``
    with a further condition or None), read in the page's one round trip: ``requests`` go
    into its batch, whose answers ``tables`` turns into what ``related.html`` shows."""

    def __init__(self, context: Context, lists: list[tuple[Related, dict[str, Any] | None]], key: Any,
                 role: str) -> None:
        self.context, self.lists, self.key, self.role = context, lists, key, role
        self.columns = [_related_columns(context, context.records, item, role) for item, _ in lists]
        # one row more than shown: whether more exist
        self.requests = [referring(item.object, item.field, key, limit + 1, where, order)
                         for (item, where), (_, limit, order) in zip(lists, self.columns)]

    def tables(self, found: list[list[dict[str, Any]]]) -> list[Any]:
        return [_related_table(self.context, self.context.records, item, fields, rows[:limit], len(rows) > limit,
                               self.key, self.role)
                for (item, _), (fields, limit, _), rows in zip(self.lists, self.columns, found)]


def _related_shown(context: Context, item: Related, role: str) -> bool:
    """Whether ``role`` sees the objects ``item`` relates to a record: shown with no list
    view's columns, or with those of a list ``role`` may use (a list for other roles hides
    them on the 360 or detail page too)."""
    return item.list is None or _usable(context, item.list, role) is not None


def _related_columns(context: Context, records: Records, item: Related, role: str
                     ) -> tuple[list[Field], int, list[str] | None]:
    """The fields shown of the objects ``item`` relates to a record (not the one naming the
    record, whose page it is), how many rows, and in which order (the list's)."""
    target = context.catalog.view(item.list) if item.list else None
    if isinstance(target, ListView):
        return ([f for f in _visible(target.columns, role) if f.name != item.field], target.page_size,
                order_of(target))
    info = records.info(item.object)
    names = [name for name in info.attributes if name not in info.key and name != item.field]
    return [Field(name=name) for name in names[:4]], 25, None


def _related_table(context: Context, records: Records, item: Related, fields: list[Field],
                   rows: list[dict[str, Any]], more: bool, key: Any, role: str
                   ) -> tuple[str, list[str], list[list[tuple[str, str | None]]], tuple[str, str | None] | None]:
    """``(label, column labels, rows, more)`` of the objects ``item`` relates to the record
    ``key``, as :func:`table_rows` (the first cell opens the row like the list ``item.list``
    does); ``more``, when more exist than shown: ``(text, link)`` to the list filtered to this
    record where the list has that filter, else no link."""
    info = records.info(item.object)
    target = context.catalog.view(item.list) if item.list else None
    listing = target if isinstance(target, ListView) else None
    opener = row_opener(context, listing, role) if listing else None
    said = None
    if more:
        filtered = listing is not None and any(f.name == item.field for f in _visible(listing.filters, role))
        said = (f"Only the first {len(rows)} are shown.",
                f"/views/{listing.id}?" + urlencode({f"f.{item.field}": key}) if filtered and listing else None)
    return (item.label, [f.label or info.attribute(f.name).label for f in fields],
            table_rows(context, listing, info, fields, rows, opener, role), said)


def _form_fields(view: FormView, info: ObjectInfo, role: str, records: Records) -> list[dict[str, Any]]:
    """The fields of ``view`` ``role`` sees: a typed one (``by``) takes and shows the ``by``
    attribute of the object its reference names (``attribute``), and keeps its own default."""
    shown = []
    for field in _visible(view.fields, role):
        own = info.attribute(field.name)
        typed = _typed(view, info, field, records) if field.by else None
        attribute = attrs.evolve(typed.by, required=own.required) if typed else own
        kind = widgets.widget(field, attribute)
        shown.append({"name": field.name, "label": field.label or own.label, "widget": kind,
                      "required": field.required if field.required is not None else own.required,
                      "max_length": widgets.max_length(field, attribute, kind), "default": widgets.initial(own),
                      "choices": attribute.options(), "field": field, "attribute": attribute, "typed": typed})
    return shown


def _typed(view: View, info: ObjectInfo, field: Field, records: Records) -> references.Typed:
    """What the typed ``field`` names: the object of its reference and that object's ``by``
    (refused when the views and the model disagree: ``caruso frontoffice views check``)."""
    target = info.references.get(field.name)
    named = records.info(target) if target else None
    by = named.attributes.get(field.by or "") if named else None
    if named is None or len(named.key) != 1 or by is None:
        raise _Refused(500, f"View {view.id!r} cannot show its field {field.name!r}: by={field.by!r} does not name "
                            f"an attribute of the object it refers to ('caruso frontoffice views check' says more).")
    return references.Typed(target, named.key[0], named.attribute(named.key[0]).type, by, named.called)


@page(*STAFF)
@_guarded
def form_page(request: Request, context: Context) -> Response:
    view = _form_view(request, context)
    info = context.records.info(view.object)
    fields = _form_fields(view, info, request.state.visitor.user.role, context.records)
    after = _next(request.query_params.get(NEXT))
    if not request.url.path.endswith("/edit"):
        given = request.query_params
        start, notes = references.shown(context.records, fields, {
            f["name"]: given.get(f["name"], "")[:MAX_SEARCH] if f["name"] in given else f["default"] for f in fields})
        defaults = {f["name"]: start[f["name"]] if f["name"] in given else _form_value(f, start[f["name"]])
                    for f in fields}
        new = _form(request, context, view, fields, defaults, after, field_notes=notes,
                    once=submissions.new_token() if context.submissions is not None else None)
        new.headers["cache-control"] = REVISITED
        return new
    key = _key(info, request.query_params)
    try:
        record = context.records.get(view.object, key)
    except NotFound:
        raise _Refused(404, _gone(info, key)) from None
    seen, notes = references.shown(context.records, fields, record)
    return _form(request, context, view, fields, {f["name"]: _form_value(f, seen.get(f["name"])) for f in fields},
                 after, trail=_trail(context, info, record), field_notes=notes, **_editing(fields, info, record, seen))


def _form(request: Request, context: Context, view: FormView, fields: list[dict[str, Any]], values: dict[str, str],
          after: str | None, status: int = 200, **given: Any) -> Response:
    """The form page with ``values`` in its fields; ``given``: what :func:`_editing` gives a
    form editing a record, a new form's ``once`` token, and the template's ``errors``,
    ``field_errors``, ``field_notes``, ``fresh`` and ``anew`` (a new form filled with the
    entries of an edit whose record was deleted meanwhile) of a refused save, and the
    ``trail`` of the record's changes (:func:`_trail`)."""
    deletes = (in_sentence(context.records.info(view.object).called)    # "Delete this service order…"
               if given.get("key_query") and view.deletes_for(request.state.visitor.user.role) else None)
    # a choice the model defaults is not emptied by mistake (one stored empty may stay so)
    fields = [{**f, "bounds": widgets.bounds(f["attribute"], f["widget"], values.get(f["name"], "")),
               "required": f["required"] or (f["field"].required is None and f["widget"] == "select"
                                             and f["default"] is not None and bool(values.get(f["name"])))}
              for f in fields]
    return context.render(request, "form.html", status, view=view, fields=fields, values=values, after=after,
                          deletes=deletes,
                          **{"version": None, "was": None, "keys": None, "key_query": "", "errors": [],
                             "field_errors": {},
                             "field_notes": {}, "fresh": None, "anew": None, "once": None, "trail": [], **given})


def _editing(fields: list[dict[str, Any]], info: ObjectInfo, record: dict[str, Any],
             seen: dict[str, Any]) -> dict[str, str]:
    """What a form editing ``record`` (``seen`` as the user sees it) carries: its key (in the
    form's URL), its version, the digests of the values it had (``_was``), so that a save that
    finds the record changed tells which fields the user changed and which someone else did,
    and of each typed field the key and the digest of what it showed (``_keys``), so that a
    save leaving it as shown keeps the key without looking it up."""
    typed = {f["name"]: [record.get(f["name"]), _digest(seen.get(f["name"]))] for f in fields
             if f["typed"] is not None and f["widget"] != "readonly"}
    return {"key_query": key_query(info, record), "version": json.dumps(record.get("_version")),
            "was": json.dumps(_digests(fields, record), separators=(",", ":")),
            "keys": json.dumps(typed, separators=(",", ":")) if typed else None}


def _digests(fields: list[dict[str, Any]], record: dict[str, Any]) -> dict[str, str]:
    """A short digest of each editable field's value in ``record``."""
    return {f["name"]: _digest(record.get(f["name"])) for f in fields if f["widget"] != "readonly"}


def _digest(value: Any) -> str:
    return hashlib.blake2b(widgets.display(value).strip().encode(), digest_size=8).hexdigest()


def _form_value(field: dict[str, Any], value: Any) -> str:
    """A value as the form holds it: the text an input sends back, or, in a read-only field,
    the value as pages show it (a choice by its label)."""
    if field["widget"] == "readonly":
        return widgets.shown(field["attribute"], value, grouped=False)
    return widgets.typed(field["attribute"], value)


def _form_view(request: Request, context: Context) -> FormView:
    """The form of the request; one that only edits has no ``/new`` (404)."""
    view = _view(request, context, (FormView,))
    assert isinstance(view, FormView)
    if not view.creates and not request.url.path.endswith("/edit"):
        raise _Refused(404, "This form only edits: there is no new one.")
    return view


def _next(raw: str | None) -> str | None:
    """Where a form goes once saved, when it says so: a page of the views on this site (a
    path and a query of URL characters, no ``;`` or ``,``, which a cookie's path would take)."""
    if raw and len(raw) <= 2000 and NEXT_PAGE.fullmatch(raw) and ".." not in raw and "%2e" not in raw.lower():
        return raw
    return None


@action(*STAFF)
@_guarded
def submit(request: Request, context: Context, form: FormData) -> Response:
    view = _form_view(request, context)
    records = context.records
    info = records.info(view.object)
    role = request.state.visitor.user.role
    fields = _form_fields(view, info, role, records)
    after = _next(_text(form.get(NEXT)))
    editing = request.url.path.endswith("/edit")
    values, errors, field_errors, given = {}, [], {}, {}
    unreadable = {}                 # values the form cannot read, said beside their fields
    for spec in fields:
        if spec["widget"] == "readonly":
            continue
        try:
            values[spec["name"]] = widgets.parse(spec["field"], spec["attribute"], _text(form.get(spec["name"])))
        except InvalidInput as error:
            values[spec["name"]] = None
            unreadable[spec["name"]] = _beside(
                str(error).removeprefix(f"{spec['field'].label or spec['attribute'].label}: "))
    if editing:
        _kept_second_times(form, fields, values)
    key = _key(info, request.query_params) if editing else None
    version = _text(form.get("_version")) or None
    try:
        stored_version = _version(version) if editing else None
    except InvalidInput as error:
        errors.append(str(error))
    status = 400
    missing, looked_up = {}, set()
    if not errors and not unreadable:           # typed fields: keys from here on
        looked_up = _typed_keys(form, fields, values)
        try:
            missing = references.keys_of(records, [spec for spec in fields if spec["name"] in looked_up], values)
        except CarusoError as error:
            errors.append(f"The form could not look up what you typed: {error}. Your entries are below.")
            status = 503 if isinstance(error, (NoInstance, CallInterrupted)) else 400
    entered = _entered(form, values) if editing else values       # what the user gave or changed
    field_errors = unreadable
    if not errors and not unreadable:
        try:            # a looked-up object exists
            missing.update(records.missing(info, {name: value for name, value in entered.items()
                                                  if name not in looked_up}))
        except CarusoError:             # cannot be asked: the save says what goes wrong
            pass
        field_errors = {name: _beside(reason) for name, reason in missing.items()}
    once = None if editing or context.submissions is None else \
        context.submissions.of(request.state.visitor.user.id, _text(form.get("_once")))
    if not errors and not field_errors and once is not None:
        earlier = once.claim()
        if earlier:
            return _to_saved(request, context, earlier, "This form was saved already: here is the record it made.")
        if earlier == "":
            errors.append("This form is being saved already, or its first save did not say whether it made the "
                          "record: look for the record before you open a new form to save it again.")
            status = 409
    if not errors and not field_errors:
        try:
            record = (records.update(view.object, key, values, stored_version) if editing
                      else records.create(view.object, values))
        except CarusoError as error:
            if once is not None and not isinstance(error, CallInterrupted):
                once.release()          # refused: the form, corrected, may be sent again (else: made or not?)
            beside = _refused_field(error, values)
            if beside is not None:
                field_errors[beside] = _field_error(context, view, info, error, role, values, key)
            elif editing and isinstance(error, NotFound) and _deleted(records, view.object, key):
                errors.append(f"{error}: it was deleted while you were editing it. Your entries are below.")
                given["anew"] = f"/views/{view.id}/new?" + urlencode(      # a typed field by its key
                    {spec["name"]: values[spec["name"]] if spec["typed"] and values[spec["name"]] is not None
                     else _text(form.get(spec["name"])) for spec in fields if spec["widget"] != "readonly"})
            elif editing and isinstance(error, Conflict):
                current = records.get(view.object, key)
                if current.get("_version") != stored_version:
                    if all(_digest(value) == _digest(current.get(name)) for name, value in values.items()):
                        return _to_saved(request, context, _saved_page(context, view, info, current, role, after),
                                              "The record holds what this form says already.")   # sent again
                    return _changed_meanwhile(request, context, view, info, fields, form, values, current, after)
                errors.append(str(error))
            else:
                errors.append(str(error))
            status = 409 if isinstance(error, Conflict) or given else \
                503 if isinstance(error, (NoInstance, CallInterrupted)) else 400
        else:
            given_now = [name for name, value in entered.items() if editing or value is not None]
            if given_now or not editing:            # an edit saved unchanged changed nothing
                _audit(request, context, "changed" if editing else "created", view.object, info.key_of(record),
                       given_now)
            saved = _saved_page(context, view, info, record, role, after)
            if once is not None:
                once.made(saved)
            return _to_saved(request, context, saved, "Saved.")
    shown = {spec["name"]: _text(form.get(spec["name"])) for spec in fields}
    return _form(request, context, view, fields, shown, after, status, version=version, key_query=request.url.query,
                 was=_text(form.get("_was")) or None, keys=_text(form.get("_keys")) or None, errors=errors,
                 field_errors=field_errors,
                 once=once.token if once else None, **given)


@action(*STAFF)
@_guarded
def delete(request: Request, context: Context, form: FormData) -> Response:
    """Delete the record a form edits, for a role its ``delete`` names: first (a post without
    ``confirm``) to the page asking to confirm (:func:`delete_asked`), then, confirmed, the
    storage's delete at the version and with the values (``_was``) the form opened with, and
    to ``next``, else the list this form serves, else home, saying so. A record changed since,
    or another that took its key, is not deleted (409: open it again); one gone already is
    said so there."""
    return _deleting(request, context, form, CONFIRMED if _text(form.get("confirm")) == "yes" else ASKED)


@page(*STAFF)
@_guarded
def delete_asked(request: Request, context: Context) -> Response:
    """The page asking to confirm a delete, with the record, at an address of its own, so that a
    reload or Back to it sends nothing again: after the delete, Back says it is deleted; an
    address without the version the form opened with (a link) is the record's form, whose
    *Delete* asks. Nothing is deleted by a GET."""
    if "_version" not in request.query_params:
        view = _view(request, context, (FormView,))
        return RedirectResponse(f"/views/{view.id}/edit?{request.url.query}", 303)
    return _deleting(request, context, request.query_params, SHOWN)


ASKED, SHOWN, CONFIRMED = "asked", "shown", "confirmed"     # the steps of a delete


def _deleting(request: Request, context: Context, given: Mapping[str, Any], step: str) -> Response:
    """:func:`delete` and :func:`delete_asked` with the form's fields or the page's query
    ``given``, at ``step``: ``ASKED`` (the form's *Delete*: to the page asking, 404 when the
    record is not there), ``SHOWN`` (that page: a record gone is said on the page after) or
    ``CONFIRMED`` (deleted)."""
    view = _view(request, context, (FormView,))
    assert isinstance(view, FormView)
    role = request.state.visitor.user.role
    info = context.records.info(view.object)
    if not view.deletes_for(role):
        raise _Refused(403, f"Your role may not delete a {in_sentence(info.called)} with this form.")
    key = _key(info, request.query_params)
    token, was = _text(given.get("_version")) or None, _text(given.get("_was")) or None
    try:
        version = _version(token)
    except InvalidInput as error:
        raise _Refused(400, str(error)) from None
    after = _next(_text(given.get(NEXT)))
    named = _named(info, _keyed(info, key))
    listing = next((v.id for v in context.catalog.views.values()
                    if isinstance(v, ListView) and v.form == view.id and v.visible_to(role)), None)
    path, _, query = (after or (f"/views/{listing}" if listing else "/")).partition("?")
    try:
        record = context.records.get(view.object, key)
    except NotFound:
        if step == ASKED:
            raise
        said = f"{named} was deleted already." if step == CONFIRMED else _gone(info, key)
        return notices.redirect(request, context.sessions, path, said, query)
    fields = _form_fields(view, info, role, context.records)
    seen, _ = references.shown(context.records, fields, record)
    shown = [(f["label"], widgets.shown(f["attribute"], seen.get(f["name"]))) for f in fields]
    keyed = key_query(info, record)

    def asking(status: int, error: str | None) -> Response:
        return context.render(request, "delete.html", status, view=view, named=named, shown=shown, version=token,
                              was=was, key_query=keyed, after=after, error=error)
    changed = f"{named} was changed since you opened it: open it again to see what changed, then decide."
    opened, digests = _opened_with(given), _digests(fields, record)
    kept = {name: opened[name] for name in digests if name in opened}     # of the form's own fields
    stale = record.get("_version") != version or any(digests[name] != digest for name, digest in kept.items())
    if step == SHOWN:
        return asking(409, changed) if stale else asking(200, None)
    # the page asking, with what the form opened with: it says a change (409) where a reload sends nothing
    shown_page = f"/views/{view.id}/delete?{keyed}&" + urlencode({
        "_version": token, **({"_was": json.dumps(kept, separators=(",", ":"))} if kept else {}),
        **({NEXT: after} if after else {})})
    if step == ASKED or stale:
        return RedirectResponse(shown_page, 303)
    try:
        context.records.delete(view.object, key, version)
    except Conflict:
        return RedirectResponse(shown_page, 303)
    except CallInterrupted as error:
        return asking(503, f"{error}: {in_sentence(named)} may have been deleted or not; open the list "
                           "to see.")
    except CarusoError as error:
        return asking(503 if isinstance(error, NoInstance) else 400, f"The storage did not delete it: {error}")
    _audit(request, context, "deleted", view.object, info.key_of(record), ())
    return notices.redirect(request, context.sessions, path, f"{named} is deleted.", query)


def _audit(request: Request, context: Context, action: str, object_name: str, key: dict[str, Any],
           fields: Iterable[str]) -> None:
    """Record a change the storage took in the audit trail, when the front office keeps one."""
    if context.audit is not None:
        context.audit.add(request.state.visitor.user.name, action, object_name, key, fields)


def _trail(context: Context, info: ObjectInfo, record: dict[str, Any]) -> list[dict[str, str]]:
    """The latest changes of ``record`` made through the forms, as the edit page lists them
    (the fields by their labels, in the model's order)."""
    if context.audit is None:
        return []
    order = {name: place for place, name in enumerate(info.attributes)}
    return [{"at": widgets.when(entry.moment, context.zone), "user": entry.user, "action": entry.action,
             "fields": ", ".join(info.attribute(name).label
                                 for name in sorted(entry.fields, key=lambda name: order.get(name, len(order))))}
            for entry in context.audit.of(info.name, info.key_of(record))]


def _keyed(info: ObjectInfo, key: Any) -> dict[str, Any]:
    """A key as the record it names holds it (``{"id": 12}``)."""
    return key if isinstance(key, dict) else {info.key[0]: key}


def _named(info: ObjectInfo, record: dict[str, Any]) -> str:
    """A record as a page names it: what it calls the object and the record's key values
    (*Field service order 12*)."""
    return f"{info.called} {', '.join(widgets.display(value) for value in info.key_of(record).values())}"


def _saved_page(context: Context, view: FormView, info: ObjectInfo, record: dict[str, Any], role: str,
                after: str | None) -> str:
    """Where a form goes once ``record`` is saved: ``after``, else the record's detail view,
    else the form editing it."""
    target = view.detail if _usable(context, view.detail, role) else None
    return after or (f"/views/{target}/show?{key_query(info, record)}" if target
                     else f"/views/{view.id}/edit?{key_query(info, record)}")


def _to_saved(request: Request, context: Context, page: str, text: str) -> Response:
    """To ``page`` of a saved record, which then says ``text`` (saved, or saved already)."""
    path, _, query = page.partition("?")
    return notices.redirect(request, context.sessions, path, text, query)


def _typed_keys(form: FormData, fields: list[dict[str, Any]], values: dict[str, Any]) -> set[str]:
    """Of the typed fields in ``values``, those to look up: each other one still shows what the
    edit form showed (``_keys``) and takes the key the form opened with (a forged key is
    checked as any entry is)."""
    kept = _posted_json(_text(form.get("_keys")) or "{}")
    kept = kept if isinstance(kept, dict) else {}
    looked_up = set()
    for spec in fields:
        name = spec["name"]
        if spec["typed"] is None or name not in values:
            continue
        entry = kept.get(name)
        if (isinstance(entry, list) and len(entry) == 2 and entry[1] == _digest(values[name])
                and values[name] is not None and spec["typed"].takes(entry[0])):
            values[name] = entry[0]
        else:
            looked_up.add(name)
    return looked_up


def _kept_second_times(form: FormData, fields: list[dict[str, Any]], values: dict[str, Any]) -> None:
    """A datetime an edit form shows in the hour the clocks pass twice reads back as the first
    of the two (:func:`widgets.in_utc`); where the form opened with the second (``_was``) and
    shows it unchanged, ``values`` keeps the second, so saving another field moves nothing."""
    was = _opened_with(form)
    for spec in fields:
        name = spec["name"]
        if spec["attribute"].type == "datetime" and isinstance(values.get(name), str) and name in was \
                and was[name] != _digest(values[name]):
            second = widgets.second_time(spec["attribute"], values[name])
            if second is not None and was[name] == _digest(second):
                values[name] = second


def _entered(form: FormData, values: dict[str, Any]) -> dict[str, Any]:
    """The ``values`` the user changed from those the form opened with (all of them when it
    does not say), so a value stored before is not questioned again."""
    was = _opened_with(form)
    return {name: value for name, value in values.items() if was.get(name) != _digest(value)}


def _opened_with(form: Mapping[str, Any]) -> dict[str, Any]:
    """The digests of the values an edit form opened with (``_was``); empty when it does not say."""
    was = _posted_json(_text(form.get("_was")) or "{}")
    return was if isinstance(was, dict) else {}


def _posted_json(text: str) -> Any:
    """``text`` a form carries, read as JSON; None when it is none, or nested deeper than the
    reader goes (a forged form: 20,000 ``[`` fit in one)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _deleted(records: Records, object_name: str, key: Any) -> bool:
    """Whether the object with ``key`` no longer exists."""
    try:
        records.get(object_name, key)
    except NotFound:
        return True
    return False


def _changed_meanwhile(request: Request, context: Context, view: FormView, info: ObjectInfo,
                       fields: list[dict[str, Any]], form: FormData, values: dict[str, Any],
                       current: dict[str, Any], after: str | None) -> Response:
    """The edit form again after its save found the record changed by someone else since
    the form was opened (409): at the record's current version, so that saving again
    stores what it then holds. A field the user changed keeps the user's entry; a field
    only the other person changed takes their value (with a note); where both changed it
    (or the form did not say what it had, ``_was``), the user's entry stays and the value now
    stored is shown beside it. A link opens the form afresh with the stored values."""
    was = _opened_with(form)
    seen, _ = references.shown(context.records, fields, current)      # a typed field as the user sees it
    shown, notes = {}, {}
    for spec in fields:
        name, stored = spec["name"], current.get(spec["name"])
        if spec["widget"] == "readonly":
            shown[name] = _form_value(spec, seen.get(name))
            continue
        shown[name] = _text(form.get(name))
        mine, theirs = _digest(values[name]), _digest(stored)
        if mine == theirs:
            continue
        if was.get(name) == mine:                                 # only they changed it: theirs
            shown[name] = _form_value(spec, seen.get(name))
            notes[name] = "Changed by someone else meanwhile."
        elif was.get(name) != theirs:                             # both changed it (or not known): yours
            now = widgets.shown(spec["attribute"], seen.get(name)) or "(empty)"
            notes[name] = f"Now stored: {now}. Saving keeps your entry."
    label = _named(info, current)
    message = (f"{label} was saved by someone else while you were editing it. The form keeps your entries and "
               f"takes their changes of the fields you left alone; where you both changed a field, the value now "
               f"stored is shown beside yours. Save again to store what the form shows.")
    fresh = f"/views/{view.id}/edit?{key_query(info, current)}" + (f"&{urlencode({NEXT: after})}" if after else "")
    return _form(request, context, view, fields, shown, after, 409, **_editing(fields, info, current, seen),
                 errors=[message], field_notes=notes, fresh=fresh)


def _refused_field(error: CarusoError, values: dict[str, Any]) -> str | None:
    """The field of the form (``values``) the storage's refusal is shown beside: the one it
    names, else the last of the ``fields`` of a unique index of several it names, all in the
    form; None for a refusal said above the form."""
    field, together = error.details.get("field"), error.details.get("fields") or ()
    if field in values:
        return field
    if isinstance(error, Conflict) and len(together) > 1 and all(name in values for name in together):
        return together[-1]
    return None


def _field_error(context: Context, view: FormView, info: ObjectInfo, error: CarusoError, role: str,
                 values: dict[str, Any], editing: Any) -> dict[str, str | None]:
    """The storage's refusal of one field, shown beside it: its message and, when it names an
    object of the form's kind it duplicates (``details["duplicate"]``) or is a clash of a
    unique value (a Conflict naming the ``field``, or the ``fields`` of a unique index of
    several, shown beside the last) whose holder is found, a link to that object's record (the
    form's detail view, else this form editing it). The message drops the storage's
    ``attribute: `` prefix: it stands beside the field, under its label."""
    field = error.details.get("field")
    together = [field] if field else list(error.details["fields"])
    duplicate = error.details.get("duplicate")
    if duplicate is None and isinstance(error, Conflict):
        duplicate = _holder(context, view, info, together, values, editing)
    if field:
        shown = _beside(str(error.details.get("refusal") or str(error).removeprefix(f"{field}: ")))   # a rule's words
    else:
        labels = [next((f.label for f in view.fields if f.name == name and f.label), info.attribute(name).label)
                  for name in together]
        shown = _beside(f"Another {in_sentence(info.called)} has this {' and '.join(map(in_sentence, labels))} "
                        "already")
    if isinstance(duplicate, dict) and duplicate.get("object") == view.object and duplicate.get("key") is not None:
        key = duplicate["key"]
        record = _keyed(info, key)
        target = _usable(context, view.detail, role)
        shown["link"] = (f"/views/{target}/show?" if target else f"/views/{view.id}/edit?") + key_query(info, record)
        shown["link_text"] = "Open " + (in_sentence(_named(info, record)) if not isinstance(key, dict)
                                        else f"that {in_sentence(info.called)}")
    return shown


def _beside(message: str) -> dict[str, str | None]:
    """A message shown beside a form's field (its first letter upper case), without a link."""
    if message[:1].islower() and not message[1:2].isupper():
        message = message[:1].upper() + message[1:]
    return {"message": message, "link": None, "link_text": None}


def _holder(context: Context, view: FormView, info: ObjectInfo, together: list[str], values: dict[str, Any],
            editing: Any) -> dict[str, Any] | None:
    """The object (``{"object", "key"}``) other than the one ``editing`` (its key, None for a
    new one) whose fields ``together`` hold the form's values, if the storage finds one."""
    own = None if editing is None else _keyed(info, editing)
    try:
        found = context.records.matching(view.object, {"and": [{"field": name, "op": "eq", "value": values[name]}
                                                               for name in together]}, 2)
    except CarusoError:
        return None
    other = next((info.key_of(row) for row in found if info.key_of(row) != own), None)
    if other is None:
        return None
    return {"object": view.object, "key": other[info.key[0]] if len(other) == 1 else other}


def _version(token: str | None) -> Any:
    """The record version an edit form carries (JSON of the ``_version`` the storage gave):
    every edit is checked against the version it started from."""
    damaged = InvalidInput("The form is damaged (its record version is missing or unreadable): "
                           "reload the page.")
    version = _posted_json(token) if token else None
    if version is None or isinstance(version, bool) or not isinstance(version, (int, str)):
        raise damaged
    return version


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


routes = [
    Route("/views/{view_id}", list_view, methods=["GET"]),
    Route("/views/{view_id}/export.csv", export, methods=["GET"]),
    Route("/views/{view_id}/filters", save_filter, methods=["POST"]),
    Route("/views/{view_id}/filters/delete", delete_filter, methods=["POST"]),
    Route("/views/{view_id}/show", show, methods=["GET"]),
    Route("/views/{view_id}/note", note, methods=["POST"]),
    Route("/views/{view_id}/new", form_page, methods=["GET"]),
    Route("/views/{view_id}/new", submit, methods=["POST"]),
    Route("/views/{view_id}/edit", form_page, methods=["GET"]),
    Route("/views/{view_id}/edit", submit, methods=["POST"]),
    Route("/views/{view_id}/delete", delete, methods=["POST"]),
    Route("/views/{view_id}/delete", delete_asked, methods=["GET"]),
]
