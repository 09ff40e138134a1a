"""Signing in and out, and the first-run page that creates the first admin. Signing in
may set the agent's phone (``phone``, ``number``: see :mod:`caruso_frontoffice.deskphone`).

Failed sign-ins count against the name and the client address (see
:mod:`caruso_core.throttle`); while either is over its limit, sign-ins for it
are refused with 429 without checking the password. A customer account whose key no longer
names one customer (:func:`caruso_frontoffice.accounts.linked`) is refused with 403 (logged).
"""
from __future__ import annotations

import logging
import math

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from caruso_core.credentials import same
from caruso_core.errors import CarusoError, Conflict, InvalidInput
from caruso_frontoffice.access import action, page, set_cookie
from caruso_frontoffice.accounts import UNLINKED, User, linked
from caruso_frontoffice.context import Context
from caruso_frontoffice.desk import Desk
from caruso_frontoffice.deskphone import KINDS
from caruso_frontoffice.pages.desk import ROLES as DESK_ROLES
from caruso_frontoffice.passwords import HashingBusy
from caruso_frontoffice.records import STORAGE

log = logging.getLogger("caruso.frontoffice")
SIGNED_OUT = "signed out"          # the break of an agent who signed out during a call


@page()
def home(request: Request, context: Context) -> Response:
    user = request.state.visitor.user
    if user is None:
        return RedirectResponse("/signin", 303)
    if user.role == "customer":
        return RedirectResponse("/portal", 303)
    return context.render(request, "home.html")


@page()
def signin_form(request: Request, context: Context) -> Response:
    return context.render(request, "signin.html", next=_local(request.query_params.get("next")),
                          name="", error=None, first_run=_first_run(context), phone_kinds=_phone_kinds(context))


def _first_run(context: Context) -> bool:
    """Whether no user exists yet; the set-up token ends once one does, made here or by
    ``caruso frontoffice user add`` while the front office runs."""
    with context.setup_lock:
        if context.setup_token is not None and context.accounts.count():
            context.setup_token = None
        return context.setup_token is not None


@action()
def signin(request: Request, context: Context, form: FormData) -> Response:
    name = str(form.get("name", ""))[:64].strip().lower()
    password = str(form.get("password", ""))
    address = request.client.host if request.client else "unknown"
    keys = (f"name:{name}", f"address:{address}")
    wait = max(context.name_throttle.wait(keys[0]), context.address_throttle.wait(keys[1]))
    if wait > 0:
        log.warning("sign-in of %r from %s refused: too many failures", name, address)
        return _signin_again(request, context, form, 429,
                             f"Too many failed sign-ins. Try again in {math.ceil(wait / 60)} minute(s).")
    try:
        user = context.accounts.authenticate(name, password) if name and password else None
    except HashingBusy as busy:
        log.warning("sign-in of %r from %s refused: %s", name, address, busy)
        return _signin_again(request, context, form, 503, "Too many sign-ins at this moment. Try again in a minute.")
    if user is None:
        log.warning("failed sign-in of %r from %s", name, address)
        context.name_throttle.hit(keys[0])
        context.address_throttle.hit(keys[1])
        return _signin_again(request, context, form, 401, "Wrong name or password.")
    context.name_throttle.forget(keys[0])
    why = linked(context.client.service(STORAGE), user, context.records.info)[1]
    if why:
        log.warning("sign-in of %r from %s refused: %s", name, address, why)
        return _signin_again(request, context, form, 403, UNLINKED)
    phone = str(form.get("phone", ""))[:10]
    if phone:
        try:
            context.phone.choose(user.name, phone, str(form.get("number", ""))[:30] or None)
        except CarusoError as error:
            return _signin_again(request, context, form, 400, f"Your phone could not be set: {error}")
    return _signed_in(request, context, user, _local(str(form.get("next", ""))))


@action()
def signout(request: Request, context: Context, form: FormData) -> Response:
    """Sign out; an agent or supervisor signed in nowhere else leaves the queues too
    (:func:`_leave_the_queues`): a desk open in another browser goes on taking calls."""
    user = request.state.visitor.user
    context.sessions.unbind(request.state.visitor.token)
    if user is not None and user.role in DESK_ROLES and context.desk is not None \
            and not context.sessions.live(user.id):
        _leave_the_queues(context.desk, user.name)
    response = RedirectResponse("/signin", 303)
    response.headers["clear-site-data"] = '"cache"'    # the new forms the browser kept for Back (see app.py)
    set_cookie(request, response, context, context.sessions.new_token(), signed_in=False)
    return response


def _leave_the_queues(desk: Desk, name: str) -> None:
    """Nothing is offered to an agent who signed out: logged out of the communication server
    (which ends a wrap-up), or, while connected to an interaction (which is not cut), on a
    break *signed out*. A server that does not answer is logged; the sign-out goes on."""
    try:
        try:
            desk.set_status(name, "logged_out")
        except Conflict:                          # connected to an interaction
            desk.set_status(name, "break", SIGNED_OUT)
    except CarusoError as error:
        log.warning("%s signed out but stays in the queues: %s", name, error)


@page()
def setup_form(request: Request, context: Context) -> Response:
    if not _setup_allowed(context, request.query_params.get("token")):
        return context.render(request, "refused.html", 404, reason="There is no first-run setup here.")
    return context.render(request, "setup.html", token=request.query_params["token"], name="", error=None)


@action()
def setup(request: Request, context: Context, form: FormData) -> Response:
    token = form.get("token")
    with context.setup_lock:
        if not _setup_allowed(context, token):
            return context.render(request, "refused.html", 404, reason="There is no first-run setup here.")
        name = str(form.get("name", ""))[:64]
        try:
            if form.get("password") != form.get("repeat"):
                raise InvalidInput("the two passwords differ")
            user = context.accounts.add(name, "admin", str(form.get("password", "")))
        except (InvalidInput, HashingBusy) as error:
            return context.render(request, "setup.html", 400, token=token, name=name, error=str(error))
        context.setup_token = None
    return _signed_in(request, context, user, "/admin/services")


def _setup_allowed(context: Context, offered: object) -> bool:
    expected = context.setup_token
    return expected is not None and same(offered, expected) and context.accounts.count() == 0


def _signin_again(request: Request, context: Context, form: FormData, status: int, error: str) -> Response:
    return context.render(request, "signin.html", status, next=_local(str(form.get("next", ""))),
                          name=str(form.get("name", ""))[:64], error=error, first_run=False, phone_kinds=_phone_kinds(context))


def _signed_in(request: Request, context: Context, user: User, target: str) -> Response:
    """A fresh session token for ``user`` (the old token is dropped) and a redirect."""
    context.sessions.unbind(request.state.visitor.token)
    token = context.sessions.new_token()
    context.sessions.bind(token, user.id)
    response = RedirectResponse(target, 303)
    set_cookie(request, response, context, token, signed_in=True)
    return response


def _local(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _phone_kinds(context: Context) -> dict[str, str]:
    """The phones the sign-in page offers: none while no telephony component runs."""
    return KINDS if context.phone.available() else {}


routes = [
    Route("/", home, methods=["GET"]),
    Route("/signin", signin_form, methods=["GET"]),
    Route("/signin", signin, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
    Route("/setup", setup_form, methods=["GET"]),
    Route("/setup", setup, methods=["POST"]),
]
