"""Admin pages: the registered services with health and versions, hot-swap and roll
back, the users of the front office (list, add, remove; the phone each agent's calls
ring, kept by the telephony component; customer accounts whose customer is gone from the
storage marked, for an admin to remove), and the storage's outbox (the calls rules made
to other services, such as orders for the ERP: their state, attempts, next try and last
error, and "retry now" for failed ones) with the script engine's mail outbox (the e-mail of
dialog actions: how many are queued, sent and failed, the messages in trouble, and "send
again" for failed ones), and the audit trail of the forms (who created, changed or deleted
which record, newest first, of one user if asked, a page at a time).

A swap asks the manager to make a standby instance the active one of its name; the
instance it replaces stays registered as a standby, so activating that one again is
the roll back (its button says so: it registered before the active instance). The
manager checks the operator secret, which the operator types into the form for each
swap: the front office, which faces the internet, holds no credential that could
replace a service, and keeps none it is given.
"""
from __future__ import annotations

import re
from functools import partial
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from caruso_core.errors import (CallInterrupted, CarusoError, ManagerUnreachable, NoInstance, NotAuthorized, NotFound,
                                 Unavailable)
from caruso_core.contract import NAME_PATTERN
from caruso_core.digits import digits
from caruso_frontoffice import notices, widgets
from caruso_frontoffice.access import action, page
from caruso_frontoffice.accounts import GONE, KEY_LENGTH, ROLES, STAFF, check_customer, unlinked_customers, user_name
from caruso_frontoffice.audit import Entry
from caruso_frontoffice.context import Context
from caruso_frontoffice.deskphone import KINDS
from caruso_frontoffice.records import STORAGE
from caruso_scripts.client import INTERFACE as SCRIPTS

PHONE_ROLES = ("agent", "supervisor")
OUTBOX_STATES = ("pending", "failed", "delivered")
OUTBOX_ROWS = 200
AUDIT_ROWS = 100
ENTRY_DIGITS = 12            # the number of an audit entry, read one character further
ENTRY = re.compile(rf"[0-9]{{1,{ENTRY_DIGITS}}}")
MAIL_ROWS = 50
# the id of a message of the mail outbox: up to ten digits (its ids are below 2**31), read one
# character further so that a longer one is refused, not shortened
MAIL_ID_LENGTH = 10
MAIL_ID = re.compile(rf"[0-9]{{1,{MAIL_ID_LENGTH}}}")
# a service that is not running or does not answer (503), not one that refused
UNANSWERED = (Unavailable, NoInstance, ManagerUnreachable, CallInterrupted)
# where a posted user name, role and customer key are cut: one character longer than any may be,
# so that a longer one is refused, not shortened into another
NAME_CUT, ROLE_CUT = 65, 21
INSTANCE = re.compile(r"[a-z][a-z0-9_.-]{0,63}-[0-9]{1,9}")      # a service's name, a dash, a number
ADD_FORM = {"name": NAME_CUT, "role": ROLE_CUT, "customer": KEY_LENGTH + 1}


@page("admin")
def services(request: Request, context: Context) -> Response:
    return _services_page(request, context)


@action("admin")
def swap(request: Request, context: Context, form: FormData) -> Response:
    name, instance_id = str(form.get("name", "")), str(form.get("instance_id", ""))
    operator_secret = str(form.get("operator_secret", ""))[:200]
    if not (NAME_PATTERN.fullmatch(name) and INSTANCE.fullmatch(instance_id)):
        return _services_page(request, context, 400, error="Choose the instance to swap to with its button on "
                              "this page: the form named no service or instance of this deployment.")
    if not operator_secret:
        return _services_page(request, context, 403, error="A swap needs the operator secret: type it in "
                              "the field next to the button.")
    try:
        result = context.client.swap(name, instance_id, operator_secret)
    except NotAuthorized:
        return _services_page(request, context, 403, error="The manager refused the swap: the operator "
                              "secret is wrong.")
    except CarusoError as error:
        return _services_page(request, context, 409, error=f"Swap of {name} failed: {error}")
    previous = result["previous"]["instance_id"] if result["previous"] else "none"
    return notices.redirect(request, context.sessions, "/admin/services",
                            f"{name}: {result['active']['instance_id']} (version {result['active']['version']}) "
                            f"is active; {previous} is standing by.")


def _services_page(request: Request, context: Context, status: int = 200, *, error: str | None = None) -> Response:
    try:
        rows = context.client.health()
    except CarusoError as failure:
        rows, error = [], f"{error + ' ' if error else ''}The service manager did not answer: {failure}"
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["name"], []).append(row)
    for instances in groups.values():
        active = [row["registered_at"] for row in instances if row["state"] == "active"]
        for row in instances:
            row["swap_label"] = "Roll back" if active and row["registered_at"] < min(active) else "Activate"
    return context.render(request, "services.html", status, groups=groups, error=error,
                          manager=context.client.uri)


@page("admin")
def users(request: Request, context: Context) -> Response:
    return _users_page(request, context)


@action("admin")
def add_user(request: Request, context: Context, form: FormData) -> Response:
    """Add a user; a customer account's key is checked against the storage service first
    (refused when it names no customer, or when the storage does not answer). A refused add
    shows the form again with what it gave, the password excepted."""
    given = {field: str(form.get(field, "")).strip()[:length] for field, length in ADD_FORM.items()}
    try:
        user = context.accounts.add(given["name"], given["role"], str(form.get("password", "")),
                                    given["customer"] or None, partial(check_customer, context.client.service(STORAGE)))
    except CarusoError as error:
        return _users_page(request, context, 503 if isinstance(error, Unavailable) else 400, error=str(error),
                           given={**given, "customer": given["customer"][:KEY_LENGTH]})
    return notices.redirect(request, context.sessions, "/admin/users", f"User {user.name} ({user.role}) added.")


@action("admin")
def remove_user(request: Request, context: Context, form: FormData) -> Response:
    """Remove a user once the admin confirmed it (``confirm=yes``) with the role the question
    named; without it, or when the role changed meanwhile, the users page asks, naming the
    user and role, with *Remove* and *Keep*."""
    name = str(form.get("name", ""))[:NAME_CUT]
    if _is_oneself(request, name):
        return _users_page(request, context, 400, error="You cannot remove yourself; another administrator can.")
    asked = context.accounts.named(name)
    if asked is None:
        return _users_page(request, context, 400, error=f"There is no user named {name!r}.")
    if str(form.get("confirm", "")) != "yes":
        return _users_page(request, context, removing=asked)
    if str(form.get("role", "")) != asked.role:
        return _users_page(request, context, 409, removing=asked,
                           error=f"{asked.name} is {asked.role} now, not what you were asked about: decide again.")
    try:
        context.accounts.remove(name)
    except CarusoError as failure:
        return _users_page(request, context, 400, error=str(failure))
    return notices.redirect(request, context.sessions, "/admin/users",
                            f"User {name} removed; their sessions have ended.")


@action("admin")
def set_role(request: Request, context: Context, form: FormData) -> Response:
    """Give a staff user another staff role (not oneself: another administrator can)."""
    name, role = str(form.get("name", ""))[:NAME_CUT], str(form.get("role", ""))[:ROLE_CUT]
    if _is_oneself(request, name):
        return _users_page(request, context, 400, error="You cannot change your own role; another administrator can.")
    try:
        changed = context.accounts.set_role(name, role)
    except CarusoError as failure:
        return _users_page(request, context, 400, error=f"The role of {name} was not changed: {failure}")
    return notices.redirect(request, context.sessions, "/admin/users",
                            f"User {changed.name} is now {changed.role}; their sessions have ended.")


def _is_oneself(request: Request, name: str) -> bool:
    """Whether ``name`` names the signed-in user (as user names are compared: any case, blanks around)."""
    return user_name(name) == request.state.visitor.user.name


@action("admin")
def set_phone(request: Request, context: Context, form: FormData) -> Response:
    """An agent's phone: this browser, the registered SIP phone or an external number."""
    name = str(form.get("name", ""))[:NAME_CUT]
    try:
        context.phone.choose(name, str(form.get("kind", ""))[:10], str(form.get("number", ""))[:30] or None)
    except CarusoError as error:
        return _users_page(request, context, 400, error=f"The phone of {name} was not changed: {error}")
    return notices.redirect(request, context.sessions, "/admin/users", f"The phone of {name} is changed.")


def _users_page(request: Request, context: Context, status: int = 200, *, error: str | None = None,
                given: dict[str, str] | None = None, removing: Any = None) -> Response:
    """The users, with the phone of each agent and supervisor (none shown without telephony)
    and, for customer accounts whose key no longer names one customer, why (``customer gone``);
    the form to add one filled with ``given`` (``name``, ``role``, ``customer``); the question
    whether to remove the user ``removing``."""
    accounts = context.accounts.all()
    phones = context.phone.choices([user.name for user in accounts if user.role in PHONE_ROLES])
    unlinked, unchecked = {}, None
    try:
        unlinked = unlinked_customers(context.client.service(STORAGE), {u.name: u.customer for u in accounts if u.customer})
    except CarusoError as failure:
        unchecked = f"Whether the customer accounts still name their customer could not be checked: {failure}"
    return context.render(request, "users.html", status, users=accounts, roles=ROLES, staff=STAFF, error=error,
                          given=given or dict.fromkeys(ADD_FORM, ""), key_length=KEY_LENGTH, phones=phones,
                          phone_kinds=KINDS, unlinked=unlinked, unchecked=unchecked, gone=GONE, removing=removing)


@page("admin")
def outbox(request: Request, context: Context) -> Response:
    return _outbox_page(request, context, str(request.query_params.get("state", ""))[:20])


@action("admin")
def retry_outbox(request: Request, context: Context, form: FormData) -> Response:
    """Send a failed outbox row again now (the storage refuses any other row)."""
    text, shown = str(form.get("id", ""))[:12], _outbox_state(form)
    if not digits(text):
        return _outbox_page(request, context, shown, 400, error="Retry needs the number of an outbox row.")
    try:
        row = context.client.service(STORAGE).retry_outbox(int(text))
    except CarusoError as error:
        return _outbox_page(request, context, shown, 409, error=f"Outbox row {text} was not retried: {error}")
    return notices.redirect(request, context.sessions, "/admin/outbox",
                            f"Outbox row {row['id']} ({row['interface']} {row['method']}) is pending again and "
                            "is sent now.", f"state={shown}" if shown else "")


@action("admin")
def retry_mail(request: Request, context: Context, form: FormData) -> Response:
    """Send a failed message of the script engine's mail outbox again now (the engine refuses
    an unknown message and one that is not failed)."""
    text, shown = str(form.get("id", ""))[:MAIL_ID_LENGTH + 1], _outbox_state(form)
    if not MAIL_ID.fullmatch(text):
        return _outbox_page(request, context, shown, 400, error="Send again needs the number of a failed message.")
    try:
        row = context.client.service(SCRIPTS).retry_mail(int(text))
    except CarusoError as error:
        status = 503 if isinstance(error, UNANSWERED) else 404 if isinstance(error, NotFound) else 409
        return _outbox_page(request, context, shown, status, error=f"Message {text} was not sent again: {error}")
    return notices.redirect(request, context.sessions, "/admin/outbox",
                            f"Message {row['id']} to {row['to']} ({row['subject']}) is queued again and is sent now.",
                            f"state={shown}" if shown else "")


def _outbox_state(form: FormData) -> str:
    """The outbox page's filter a retry was sent from (none if it names no state)."""
    state = str(form.get("state", ""))
    return state if state in OUTBOX_STATES else ""


def _outbox_page(request: Request, context: Context, state: str, status: int = 200, *,
                 error: str | None = None) -> Response:
    """The latest outbox rows, of one state if ``state`` names one, and the script engine's
    mail outbox (or one line saying it did not answer)."""
    if state and state not in OUTBOX_STATES:
        state, status, error = "", 400, f"There is no outbox state {state!r}: choose one of the links."
    try:
        rows = context.client.service(STORAGE).outbox(state or None, OUTBOX_ROWS)
    except CarusoError as failure:
        rows, error = [], f"{error + ' ' if error else ''}The storage service did not answer: {failure}"
    mail, mail_missing = None, None
    try:
        mail = context.client.service(SCRIPTS).mail_outbox(MAIL_ROWS)
    except CarusoError as failure:
        mail_missing = f"The script engine did not answer: {failure}"
    return context.render(request, "outbox.html", status, rows=rows, state=state, states=OUTBOX_STATES,
                          shown=OUTBOX_ROWS, error=error, mail=mail, mail_missing=mail_missing,
                          mail_shown=MAIL_ROWS)


@page("admin")
def audit(request: Request, context: Context) -> Response:
    """A page of the audit trail: :data:`AUDIT_ROWS` entries older than ``before`` (an
    entry's number), of the user ``user`` if given."""
    user = user_name(str(request.query_params.get("user", ""))[:NAME_CUT])      # as accounts keep names
    before = str(request.query_params.get("before", ""))[:ENTRY_DIGITS + 1]
    if before and not ENTRY.fullmatch(before):
        return context.render(request, "audit.html", 400, entries=[], of_user=user, older=None,
                              error="'before' is the number of an entry.", shown=AUDIT_ROWS)
    entries = context.audit.latest(AUDIT_ROWS, int(before) if before else None, user or None) \
        if context.audit is not None else []
    older = urlencode({**({"user": user} if user else {}), "before": entries[-1].id}) \
        if len(entries) == AUDIT_ROWS else None
    return context.render(request, "audit.html", entries=entries, of_user=user, older=older, error=None,
                          shown=AUDIT_ROWS, links=_record_links(context, entries, request.state.visitor.user.role))


def _record_links(context: Context, entries: list[Entry], role: str) -> dict[int, str]:
    """The page opening each entry's record, by entry number, where ``role`` opens it from a
    list (see ``Catalog.opening``); none where a newer entry of the page (``entries``, newest
    first) deleted it, or created another record with its key. A record deleted another way
    is linked and its page says it is gone."""
    openings = {name: context.catalog.opening(name, role) for name in {entry.object for entry in entries}}
    gone, links = set(), {}
    for entry in entries:
        record = (entry.object, tuple(sorted(entry.key.items())))
        if entry.action == "deleted":
            gone.add(record)
        opening = openings[entry.object]
        if opening is not None and record not in gone:
            links[entry.id] = opening + urlencode({name: widgets.display(value) for name, value in entry.key.items()})
        if entry.action == "created":
            gone.add(record)                     # older entries are about an earlier record with this key
    return links


routes = [
    Route("/admin/services", services, methods=["GET"]),
    Route("/admin/services/swap", swap, methods=["POST"]),
    Route("/admin/users", users, methods=["GET"]),
    Route("/admin/users", add_user, methods=["POST"]),
    Route("/admin/users/remove", remove_user, methods=["POST"]),
    Route("/admin/users/role", set_role, methods=["POST"]),
    Route("/admin/users/phone", set_phone, methods=["POST"]),
    Route("/admin/outbox", outbox, methods=["GET"]),
    Route("/admin/outbox/retry", retry_outbox, methods=["POST"]),
    Route("/admin/outbox/mail/retry", retry_mail, methods=["POST"]),
    Route("/admin/audit", audit, methods=["GET"]),
]
