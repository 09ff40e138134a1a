"""The desk's phone endpoints (agents and supervisors), used by ``static/phone.js``.

The agent's legs reach the page through the desk's push stream
(:mod:`caruso_frontoffice.pages.deskstream`). ``POST /desk/phone/answer`` (``call``, ``leg``, ``sdp``),
``/desk/phone/end`` (``call``, ``leg``, ``reason``) and ``/desk/phone/hold`` (``call``,
``leg``, ``on``) act on one of the agent's legs; ``POST /desk/phone/choice`` (``kind``,
``number``) sets the agent's own phone and redirects to ``next``. Every POST carries the
session's CSRF token; the answers are JSON ``{"ok": true}`` or ``{"error"}`` with the
status of the failure.
"""
from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from caruso_core.errors import CarusoError, Conflict, InvalidInput, NoInstance, NotFound
from caruso_frontoffice.access import action
from caruso_frontoffice.context import Context

ROLES = ("agent", "supervisor")
STATUS_CODES = {InvalidInput: 400, NotFound: 404, Conflict: 409, NoInstance: 503}


def _failure(error: CarusoError) -> JSONResponse:
    return JSONResponse({"error": str(error)}, STATUS_CODES.get(type(error), 503))


def _field(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(f"{name} is a text of at most {limit} characters")
    return value


def _leg_action(operation: str):
    @action(*ROLES)
    def endpoint(request: Request, context: Context, form: FormData) -> Response:
        agent = request.state.visitor.user.name
        try:
            call, leg = _field(form, "call", 100), _field(form, "leg", 100)
            if operation == "answer":
                context.phone.answer(agent, call, leg, _field(form, "sdp", 16384))
            elif operation == "end":
                context.phone.end(agent, call, leg, _field(form, "reason", 200))
            else:
                context.phone.hold(agent, call, leg, _field(form, "on", 5) == "true")
        except CarusoError as error:
            return _failure(error)
        return JSONResponse({"ok": True})
    endpoint.__name__ = operation
    return endpoint


@action(*ROLES)
def choose(request: Request, context: Context, form: FormData) -> Response:
    target = _field(form, "next", 200) if isinstance(form.get("next"), str) else "/desk"
    try:
        context.phone.choose(request.state.visitor.user.name, _field(form, "kind", 10), _field(form, "number", 30)
                             if form.get("number") else None)
    except CarusoError as error:
        return context.render(request, "refused.html", STATUS_CODES.get(type(error), 503),
                              reason=f"Your phone was not changed: {error}")
    return RedirectResponse(target if target.startswith("/") and not target.startswith("//") else "/desk", 303)


routes = [
    Route("/desk/phone/choice", choose, methods=["POST"]),
    *(Route(f"/desk/phone/{name}", _leg_action(name), methods=["POST"]) for name in ("answer", "end", "hold")),
]
