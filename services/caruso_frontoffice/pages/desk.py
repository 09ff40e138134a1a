"""The agent desktop at ``/desk`` (agents and supervisors): status, the offered and
connected interactions with the screen pop of their customer, the queue's dialog
script, notes, transfer, disposition and wrap-up, web chat, voicemail callbacks and
outbound preview calls.

``GET /desk?i=ID`` shows the agent's interactions with ``ID`` in focus (default the
first); the desk's push stream (:mod:`caruso_frontoffice.pages.deskstream`) tells
``static/desk.js`` when the desk changed. Every action is a CSRF-checked
form that redirects back to the desk, or shows the desk again with the reason it was
refused.
"""
from __future__ import annotations

import datetime
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from caruso_core import zones
from caruso_core.errors import CallInterrupted, CarusoError, Conflict, InvalidInput, NoInstance, NotFound
from caruso_scripts.client import DialogError, seq_of
from caruso_frontoffice import notices, submissions, widgets
from caruso_frontoffice.access import action, page
from caruso_frontoffice.context import Context
from caruso_frontoffice.desk import MAX_MESSAGE, MAX_NOTES, MAX_TASK, Desk
from caruso_frontoffice.deskphone import KINDS
from caruso_frontoffice.pages.records import called, key_query, record_sections, searched_fields
from caruso_frontoffice.records import searching, typed_as_number
from caruso_frontoffice.views.model import Customer360View, Field, ListView

ROLES = ("agent", "supervisor")
POPPED = 5
WHOLE_NUMBER = 9        # digits of a caller's number the screen pop compares however written (no extension)
HISTORY = 3
FOUND = 5               # customers *Find the caller* lists
MAX_FIND = 100          # characters it searches for
STATUS_CODES = {InvalidInput: 400, NotFound: 404, Conflict: 409, NoInstance: 503}


def _desk(context: Context) -> Desk:
    if context.desk is None:
        raise HTTPException(404, "The agent desktop is not set up in this front office.")
    return context.desk


@page(*ROLES)
def board(request: Request, context: Context) -> Response:
    return _board(request, context, request.query_params.get("i", ""),
                  finding=request.query_params.get("find", "")[:MAX_FIND].strip())


# the most characters of the desk forms' fields, which a refused action's form shows again
LABELS = {"text": "the message", "follow_up": "the follow-up"}     # fields as a refusal names them
KEPT = {"disposition": 100, "follow_up": MAX_TASK, "due": 10, "notes": MAX_NOTES, "text": MAX_MESSAGE,
        "answer": 4000, "seq": 20}


def _board(request: Request, context: Context, focus: str, status: int = 200, error: str | None = None,
           form: FormData | None = None, finding: str = "") -> Response:
    """The desk page with ``focus`` in front (the first interaction if it is not the agent's);
    after a refused action, the fields of its ``form`` (``KEPT``) as the agent gave them; with
    ``finding``, the customers *Find the caller* found for it."""
    desk, user = _desk(context), request.state.visitor.user
    agent, works, queues, script, worksheet, popped, dispositions = None, [], [], None, None, None, ()
    colleagues: list[tuple[str, str]] = []
    found: list[dict[str, str]] = []
    script_of: str | None = None
    phone, holding = context.phone.choice(user.name), None
    try:
        agent = desk.agent(user.name)
        works = desk.work(agent)
        desk.file_left(user.name, agent)
        current = next((w for w in works if w.id == focus), works[0] if works else None)
        if current is not None:
            worksheet = desk.worksheet(user.name, current.id)
            if current.interaction is not None:
                popped = _screen_pop(context, user.role, current.interaction, _chosen(desk, worksheet, current.id))
            if current.state == "connected":
                desk.remember(user.name, current.interaction, _only_customer(popped), worksheet)
                found = _found(context, user.role, finding) if finding else []
                queue = current.interaction["queue"]
                listed = desk.comm.queues()
                queues = [(q["name"], _readiness(q)) for q in listed
                          if q["name"] != queue and q.get("channel") == current.interaction["channel"]]
                colleagues = desk.colleagues(user.name, current.interaction["channel"])
                dispositions = desk.dispositions(queue, listed)
                error = _start_auto_accepted(desk, user.name, current.interaction, popped) or error
                if current.interaction["channel"] == "voice" and phone and phone["kind"] == "sip":
                    holding = _holding(context, user.name)
            script = desk.script(user.name, current.id) if current.state in ("connected", "wrap_up") else None
            script_of = _script_of(desk, current, script)
        signature = desk.signature_of(agent, works)
    except CarusoError as failure:
        current, signature = None, "unavailable"
        error = f"{error + ' ' if error else ''}{_unavailable(failure)}"
        status = max(status, 503)
    return context.render(
        request, "desk.html", status, agent=agent, works=works, current=current, worksheet=worksheet,
        popped=popped, queues=queues, colleagues=colleagues, script=script, settings=desk.settings,
        signature=signature,
        finding=finding, found=found, max_find=MAX_FIND, max_found=FOUND,
        dispositions=dispositions, suggested=_suggested(script), max_notes=MAX_NOTES,
        phone=phone, holding=holding, phone_kinds=KINDS, error=error,
        once=submissions.new_token() if context.submissions is not None else None,
        script_of=script_of,
        kept=_kept(form) if form is not None and current is not None and form.get("interaction") == current.id else {})


def _kept(form: FormData) -> dict[str, str]:
    return {name: value[:limit] for name, limit in KEPT.items() if isinstance(value := form.get(name), str)}


def _holding(context: Context, agent: str) -> bool:
    """Whether the call on the agent's SIP phone is held, for the desk's Hold/Resume (no
    when telephony has not bridged it yet or cannot say: holding then finds it, or says why)."""
    try:
        return bool((context.phone.bridged(agent) or {}).get("holding"))
    except CarusoError:
        return False


def _start_auto_accepted(desk: Desk, agent: str, interaction: dict[str, Any],
                         popped: dict[str, Any] | None) -> str | None:
    """Start the script of a call its campaign accepted for the agent, as accepting does;
    the reason for the agent when it did not start."""
    customer = _only_customer(popped)
    try:
        desk.start_auto_accepted(agent, interaction, customer[1] if customer else None)
    except CarusoError as failure:
        return f"The call was accepted for you. {_not_started(desk, interaction, customer, failure)}"
    return None


def _script_of(desk: Desk, current: Any, started: Any) -> str | None:
    """The script the current interaction's queue starts: its title while it is not started."""
    if current is None or current.interaction is None:
        return None
    script = desk.settings.script_of(current.interaction["queue"])
    return desk.script_title(script) if script and started is None and current.state == "connected" else script


def _suggested(script: Any) -> dict[str, str | None] | None:
    """What the end the dialog script reached suggests: ``disposition`` and ``next`` action."""
    if script is None or script.status != "ended" or not (script.step.disposition or script.step.next):
        return None
    return {"disposition": script.step.disposition, "next": script.step.next}


def _unavailable(failure: CarusoError) -> str:
    if isinstance(failure, NoInstance):
        return f"A service the desk needs is not running: {failure}"
    return f"The desk could not be shown completely: {failure}"


def _screen_pop(context: Context, role: str, interaction: dict[str, Any],
                chosen: tuple[str, Any] | None = None) -> dict[str, Any] | None:
    """The customers of an interaction: by its customer key, else those whose matched
    attributes (``desk.match``) equal the caller's number or address (else, for a whole number
    and while the desk remembers no customer for the interaction, hold it written otherwise:
    :func:`_by_digits`, *+31205550101* for *020 555 0101*); but the one the agent
    ``chosen`` (object, key: one of them, or one *Find the caller* found) when there is one
    (the others then as ``others``, to choose again); with the customer 360 view's profile, a link to it, and (for one
    customer) the latest contacts."""
    view = _customer_view(context, role)
    if view is None:
        return None
    records, info = context.records, context.records.info(view.object)
    found = _by_key(context, view.object, interaction.get("customer"))
    address = interaction["from"] if interaction["direction"] == "inbound" else interaction["to"]
    if not found and address:
        unique: dict[str, dict[str, Any]] = {}
        fields = [f for f in context.desk.settings.match if f in info.attributes]
        for field in fields:
            for value in dict.fromkeys([address, address.lower()]):
                for record in records.referring(view.object, field, value, POPPED):
                    unique.setdefault(key_query(info, record), record)
        written = [f for f in fields if info.attributes[f].type in ("string", "text")]
        if not unique and written and chosen is None and typed_as_number(address, WHOLE_NUMBER):
            unique = {key_query(info, record): record for record in _by_digits(context, view.object, written, address)}
        found = list(unique.values())[:POPPED]
    others: list[dict[str, Any]] = []
    if chosen is not None and chosen[0] == view.object:       # one of them, or one the agent found
        picked = [record for record in found if _customer_key(info, record) == chosen[1]] \
            or _by_key(context, view.object, chosen[1])
        if picked:
            found, others = picked[:1], [record for record in found if _customer_key(info, record) != chosen[1]]
    profile = context.catalog.view(view.profile)
    customers = [{"link": f"/views/{view.id}/show?{key_query(info, record)}", "query": key_query(info, record),
                  "sections": record_sections(profile, info, record, role), "key": _customer_key(info, record)}
                 for record in found]
    history = records.history(view.object, customers[0]["key"], HISTORY, 0)[0] if len(customers) == 1 else []
    # the other matches of a choice, to choose again (a misclick would file notes with the wrong customer)
    again = [{"query": key_query(info, record), "name": _name(context, view, info, record, role)} for record in others]
    return {"view": view, "address": address, "customers": customers, "history": history, "others": again}


def _readiness(queue: dict[str, Any]) -> str:
    """How a queue would take a transfer now, from the communication server's ``staffing`` and
    ``waiting``: *2 ready*, *nobody ready, 3 waiting*, *nobody signed in, 2 waiting*."""
    staffing, waiting = queue.get("staffing") or {}, queue.get("waiting") or 0
    ready = ("nobody signed in" if not staffing.get("logged_in")
             else f"{staffing['ready']} ready" if staffing.get("ready") else "nobody ready")
    return f"{ready}, {waiting} waiting" if waiting else ready


def _by_digits(context: Context, object_name: str, fields: list[str], number: str) -> list[dict[str, Any]]:
    """Up to ``POPPED`` objects whose ``fields`` hold ``number`` written otherwise (the storage's
    ``digits``); none from a storage that has no such filter (an older version)."""
    try:
        return context.records.matching(object_name, {"or": [{"field": f, "op": "digits", "value": number}
                                                              for f in fields]}, POPPED)
    except InvalidInput:
        return []


def _found(context: Context, role: str, text: str) -> list[dict[str, str]]:
    """*Find the caller*: up to ``FOUND`` + 1 customers (the page lists ``FOUND`` and says when
    more match) of the customer 360's object whose attributes that object's list searches
    (else the desk's ``match``) contain ``text``, each as its key's query and its name as the
    360's profile shows it."""
    view = _customer_view(context, role)
    if view is None:
        return []
    info = context.records.info(view.object)
    listing = next((v for v in context.catalog.views.values() if isinstance(v, ListView) and v.object == view.object
                    and searched_fields(v, role) and v.visible_to(role)), None)
    fields = [f for f in (searched_fields(listing, role) if listing else context.desk.settings.match)
              if f in info.attributes]
    if not fields:
        return []
    records = context.records.matching(view.object, searching(fields, text), FOUND + 1)
    return [{"query": key_query(info, record), "name": _name(context, view, info, record, role)} for record in records]


def _name(context: Context, view: Customer360View, info: Any, record: dict[str, Any], role: str) -> str:
    """A customer as the first two values of the 360's profile show them (*S-1001 · Hotel De
    Zon*: a number alone does not tell two customers apart), else their key."""
    return called(record_sections(context.catalog.view(view.profile), info, record, role)) or key_query(info, record)


def _by_key(context: Context, object_name: str, customer: Any) -> list[dict[str, Any]]:
    """The customer whose key is ``customer`` (the communication server's, or one the agent
    chose), if one exists."""
    info = context.records.info(object_name)
    if customer in (None, "") or len(info.key) != 1:
        return []
    try:
        key = widgets.parse(Field(name=info.key[0], required=True), info.key_attribute(info.key[0]), str(customer))
        return [context.records.get(object_name, key)]
    except (InvalidInput, NotFound):
        return []


def _customer_key(info: Any, record: dict[str, Any]) -> Any:
    key = info.key_of(record)
    return next(iter(key.values())) if len(key) == 1 else key


def _customer_view(context: Context, role: str) -> Customer360View | None:
    """The configured customer 360 view, else the first one ``role`` may see."""
    wanted = context.desk.settings.customer_view
    views = [context.catalog.view(wanted)] if wanted else list(context.catalog.views.values())
    return next((v for v in views if isinstance(v, Customer360View) and v.visible_to(role)), None)


def _popped_customer(context: Context, role: str, interaction: dict[str, Any] | None,
                     agent: str | None = None) -> tuple[str, Any] | None:
    """``(object, key)`` of the interaction's customer when the screen pop found exactly one,
    or the one of several that ``agent`` chose."""
    if interaction is None:
        return None
    desk = _desk(context)
    chosen = _chosen(desk, desk.worksheet(agent, interaction["id"]) if agent else None, interaction["id"])
    return _only_customer(_screen_pop(context, role, interaction, chosen))


def _chosen(desk: Desk, worksheet: Any, interaction_id: str) -> tuple[str, Any] | None:
    """The customer the desk remembered for an interaction's notes (the one shown, or chosen),
    else the one another agent's desk remembered for it (before transferring it)."""
    contact = worksheet.contact if worksheet is not None else None
    return contact.customer if contact is not None and contact.customer is not None \
        else desk.worksheets.customer_of(interaction_id)


def _only_customer(popped: dict[str, Any] | None) -> tuple[str, Any] | None:
    if popped is None or len(popped["customers"]) != 1:
        return None
    return popped["view"].object, popped["customers"][0]["key"]


def _act(perform: Callable[[Request, Context, FormData, str, str], str | Response | None]
         ) -> Callable[..., Response]:
    """An action on the interaction named by the form's ``interaction``: ``perform(request,
    context, form, agent, interaction)`` returns an error for the agent, its own response, or
    None; then back to the desk (with the error and its status when there is one). Notes not saved yet, which
    ``static/desk.js`` adds to any other form of the desk (``draft_notes`` for the interaction
    ``draft_for``), are kept first."""
    def run(request: Request, context: Context, form: FormData) -> Response:
        interaction = _text(form.get("interaction"), 200)
        user = request.state.visitor.user
        try:
            if "draft_notes" in form:
                _desk(context).keep_notes(user.name, _text(form.get("draft_for"), 200),
                                          _field(form, "draft_notes", "notes"))
            problem = perform(request, context, form, user.name, interaction)
        except CarusoError as failure:
            status = next((code for kind, code in STATUS_CODES.items() if isinstance(failure, kind)), 502)
            return _board(request, context, interaction, status, str(failure), form)
        if isinstance(problem, Response):
            return problem
        if problem:
            return _board(request, context, interaction, 409, problem, form)
        return RedirectResponse(f"/desk?{urlencode({'i': interaction})}" if interaction else "/desk", 303)
    run.__name__ = perform.__name__
    return action(*ROLES)(run)


def _text(value: Any, limit: int, name: str = "a value") -> str:
    """A form value as text, refused (InvalidInput, saying so of ``name``) beyond ``limit`` characters."""
    text = value if isinstance(value, str) else ""
    if len(text) > limit:
        raise InvalidInput(f"{name}: at most {limit} characters, not {len(text)}; shorten it")
    return text


def _field(form: FormData, name: str, kind: str | None = None) -> str:
    """The form's ``name`` as text within the length of the desk field ``kind`` (``KEPT``;
    default ``name``), refused (InvalidInput) beyond it."""
    return _text(form.get(name), KEPT[kind or name], LABELS.get(name, f"the {name.replace('_', ' ')}"))


@_act
def status(request: Request, context: Context, form: FormData, agent: str, interaction: str) -> None:
    _desk(context).set_status(agent, _text(form.get("status"), 20), _text(form.get("reason"), 200))


@_act
def accept(request: Request, context: Context, form: FormData, agent: str, interaction: str) -> Response | None:
    """Accept the offer and start the queue's script; a script that does not start leaves the
    call accepted, which the desk then says as a notice (a success, not a refusal to resend)."""
    desk = _desk(context)
    accepted = desk.accept(agent, interaction)
    if desk.settings.script_of(accepted["queue"]) is None:
        return None
    customer = _popped_customer(context, request.state.visitor.user.role, accepted, agent)
    try:
        desk.start_script(agent, interaction, customer[1] if customer else None)
    except CarusoError as failure:
        return notices.redirect(request, context.sessions, "/desk", f"Accepted. {_not_started(desk, accepted, customer, failure)}",
                                urlencode({"i": interaction}))
    return None


def _not_started(desk: Desk, interaction: dict[str, Any], customer: tuple[str, Any] | None,
                 failure: CarusoError) -> str:
    """Why the queue's script did not start, for the agent: without a customer, find the caller."""
    title = desk.script_title(desk.settings.script_of(interaction["queue"]) or "")
    if customer is None and isinstance(failure, DialogError) and "context.customer_id" in str(failure):
        return f"The script {title} needs the customer: find the caller, then start it."
    return f"The script {title} did not start: {failure}"


@_act
def reject(request: Request, context: Context, form: FormData, agent: str, interaction: str) -> None:
    _desk(context).reject(agent, interaction)


@_act
def script(request: Request, context: Context, form: FormData, agent: str, interaction: str) -> str | None:
    desk = _desk(context)
    if "start" in form:
        connected = desk.connected(agent, interaction)
        customer = _popped_customer(context, request.state.visitor.user.role, connected, agent)
        try:
            desk.start_script(agent, interaction, customer[1] if customer else None)
        except (DialogError, InvalidInput, NotFound) as failure:
            return _not_started(desk, connected, customer, failure)
    elif "back" in form:
        desk.back(agent, interaction)
    else:      # seq is required: a form sent twice, or one without it, never answers twice
        desk.answer(agent, interaction, form.get("answer") and _field(form, "answer"),
                    seq_of(form.get("seq")))


@_act
def customer(request: Request, context: Context, form: FormData, agent: str, interaction: str) -> str | None:
    """The agent says which customer is the caller, one of those the screen pop found or one
    *Find the caller* found (any customer of the 360's object, by its key): the desk then
    shows that one, files the notes to their contact history and starts scripts and
    follow-ups for them."""
    desk = _desk(context)
    connected = desk.connected(agent, interaction)
    popped = _screen_pop(context, request.state.visitor.user.role, connected)
    wanted = _text(form.get("customer"), 200)
    found = next((c for c in (popped or {}).get("customers", ()) if c["query"] == wanted), None)
    key = found["key"] if found else _key_named(context, popped, wanted)
    if popped is None or key is None:
        return "There is no such customer: find the caller again, then choose one the desk shows."
    desk.remember(agent, connected, (popped["view"].object, key))
    return None


def _key_named(context: Context, popped: dict[str, Any] | None, query: str) -> Any:
    """The key of the customer of the screen pop's object that ``query`` (``id=42``) names,
    if there is one; None otherwise."""
    if popped is None:
        return None
    info = context.records.info(popped["view"].object)
    try:
        pairs = parse_qsl(query, strict_parsing=True)
    except ValueError:
        return None
    values = dict(pairs)
    if len(info.key) != 1 or len(pairs) != 1 or set(values) != set(info.key):
        return None
    found = _by_key(context, info.name, values[info.key[0]])
    return _customer_key(info, found[0]) if found else None


@_act
def notes(request: Request, context: Context, form: FormData, agent: str, interaction: str) -> None:
    _desk(context).keep_notes(agent, interaction, _field(form, "notes"))


@_act
def transfer(request: Request, context: Context, form: FormData, agent: str, interaction: str) -> None:
    _desk(context).transfer(agent, interaction, _text(form.get("queue"), 200), _text(form.get("colleague"), 200))


@_act
def send(request: Request, context: Context, form: FormData, agent: str, interaction: str) -> None:
    """Send the reply once: the same form sent again (its ``_once`` token claimed, see
    :mod:`caruso_frontoffice.submissions`) sends nothing more."""
    text = _field(form, "text")
    once = None if context.submissions is None else \
        context.submissions.of(request.state.visitor.user.id, _text(form.get("_once"), 100))
    if once is not None and once.claim() is not None:
        return
    try:
        _desk(context).send(agent, interaction, text)
    except CarusoError as failure:
        if once is not None and not isinstance(failure, CallInterrupted):
            once.release()          # not sent: the same form may be sent again
        raise


@_act
def complete(request: Request, context: Context, form: FormData, agent: str, interaction: str) -> str | None:
    """Complete the interaction and decide its follow-up (:func:`_follow_up`): a task for the
    popped customer, or none when the field is empty (the wrap-up then offers none)."""
    desk = _desk(context)
    customer = _popped_customer(context, request.state.visitor.user.role, desk.connected(agent, interaction), agent)
    subject, due = _follow_up(form, context.zone)
    disposition = _field(form, "disposition")
    if disposition in context.desk_settings.follow_up_dispositions and not subject:
        raise InvalidInput(f"{disposition}: say what is to be done in the follow-up task")
    desk.complete(agent, interaction, disposition, customer)
    try:
        desk.follow_up(agent, interaction, subject, due, customer)
    except CarusoError as failure:
        return f"Completed, but the follow-up task was not created: {failure}"
    return None


def _follow_up(form: FormData, zone: datetime.tzinfo) -> tuple[str, str | None]:
    """The form's ``follow_up`` (prefilled with the next action the script suggests; empty:
    none) and ``due`` date (today or later, in ``zone``), checked before anything is done."""
    due = _date(_field(form, "due").strip(), "due")
    if due is not None and due < zones.today(zone).isoformat():
        raise InvalidInput(f"due {due}: a follow-up is due today or later")
    subject = _field(form, "follow_up").strip()
    if due is not None and not subject:
        raise InvalidInput(f"due {due}: say what is to be done by then in the follow-up task")
    return subject, due


def _date(text: str, name: str) -> str | None:
    """An ISO date (YYYY-MM-DD) from a form, None when empty; InvalidInput otherwise."""
    return widgets.day(text, f"{name} {text!r}: give a date as YYYY-MM-DD").isoformat() if text else None


@_act
def hold(request: Request, context: Context, form: FormData, agent: str, interaction: str) -> None:
    """Hold or take back the call connected to the agent's SIP phone (the desk's phone has its own)."""
    context.phone.hold_bridged(agent, _text(form.get("on"), 5) == "true")


@_act
def wrap_up(request: Request, context: Context, form: FormData, agent: str, interaction: str) -> Response | None:
    """End the wrap-up. For an interaction the agent did not complete (the caller hung up),
    the notes the form carries are filed and its follow-up made first, for the customer the
    desk showed while it was connected; when either fails, the wrap-up goes on, so the agent
    can try again. A wrap-up whose time ran out before the agent ended it gets them all the
    same, and the desk says so."""
    desk = _desk(context)
    subject, due = _follow_up(form, context.zone)
    notes = _field(form, "notes") if "notes" in form else None
    customer = _wrap_up_customer(context, desk, agent, interaction, request.state.visitor.user.role) if subject else None
    if desk.end_wrap_up(agent, interaction, subject, due, customer, notes):
        return None
    worksheet = desk.worksheet(agent, interaction)
    done = [part for part, happened in (("your notes went to the contact history as last saved", worksheet.fileable),
                                        ("the follow-up task was made", subject)) if happened]
    return notices.redirect(request, context.sessions, "/desk", "The wrap-up time had run out before you ended it"
                            + (f"; {' and '.join(done)} all the same." if done else "."))


def _wrap_up_customer(context: Context, desk: Desk, agent: str, interaction: str, role: str
                      ) -> tuple[str, Any] | None:
    """``(object, key)`` of the customer of an interaction in wrap-up: the one the desk showed
    while it was connected, else the one its dialog script ran for (the key the desk gave it
    from the screen pop, of the customer 360's object); None if neither is known."""
    contact = desk.worksheet(agent, interaction).contact
    if contact is not None and contact.customer is not None:
        return contact.customer
    try:
        script = desk.script(agent, interaction)
    except CarusoError:
        return None
    view = _customer_view(context, role)
    key = script.context.get("customer_id") if script is not None else None
    return (view.object, key) if view is not None and key is not None else None


routes = [
    Route("/desk", board, methods=["GET"]),
    *(Route(f"/desk/{name}", endpoint, methods=["POST"]) for name, endpoint in (
        ("status", status), ("accept", accept), ("reject", reject), ("script", script), ("notes", notes),
        ("transfer", transfer), ("send", send), ("complete", complete), ("wrap-up", wrap_up),
        ("hold", hold), ("customer", customer))),
]
