"""The desk's push stream, ``GET /desk/stream`` (agents and supervisors), read by
``static/desk.js`` and ``static/phone.js`` through one ``EventSource``.

Server-sent events: ``desk`` carries ``{"signature"}``, a digest of the agent's status
and interactions, and while the agent has connected interactions ``"colleagues"``, who
could take one (:meth:`caruso_frontoffice.desk.Desk.pushed`), and
``phone`` carries ``{"legs": [...]}``, the agent's browser legs (sent only while a
telephony component runs). Each is sent at the start and again whenever it changed,
``phone`` before ``desk`` (a page whose phone rings then redraws the desk in place).
Each part is computed again when :mod:`caruso_frontoffice.changes` says it may have
changed and at least every ``REFRESH`` seconds; asking for the legs is also the page's
sign of life for the telephony component, so a closed tab (the stream ends) ends its
legs. The stream ends when the session is signed out or expires, and when the front
office stops. One agent holds at most ``MAX_STREAMS`` streams at a time: one more gets a
``refused`` event (``{"error"}``) and ends.
"""
from __future__ import annotations

import json
import time
from typing import Any, AsyncIterator

import anyio.to_thread
from starlette.requests import Request
from starlette.routing import Route

from caruso_core.errors import CarusoError
from caruso_frontoffice.access import Visitor, stream
from caruso_frontoffice.context import Context

ROLES = ("agent", "supervisor")
REFRESH = 2.0
TOPICS = ("desk", "phone")
MAX_STREAMS = 8


@stream(*ROLES)
async def desk_events(request: Request, context: Context) -> AsyncIterator[str]:
    visitor: Visitor = request.state.visitor
    assert visitor.user is not None
    if context.changes.streams(visitor.user.name) >= MAX_STREAMS:
        refusal = f"This desk is open in {MAX_STREAMS} tabs already: close one and reload this page."
        yield f"event: refused\ndata: {json.dumps({'error': refusal})}\n\n"
        return
    subscription = context.changes.subscribe(visitor.user.name)
    try:
        shown: dict[str, Any] = {}
        computed = dict.fromkeys(TOPICS, 0.0)
        topics = set(TOPICS)
        while (seen := await anyio.to_thread.run_sync(_seen, context, visitor, topics)) is not None:
            now = time.monotonic()
            computed.update(dict.fromkeys(topics, now))
            for name, data in seen.items():
                if shown.get(name) != data:
                    shown[name] = data
                    yield f"event: {name}\ndata: {json.dumps(data)}\n\n"
            topics = await subscription.wait(max(0.0, REFRESH - (now - min(computed.values()))))
            if subscription.closed:
                return
            now = time.monotonic()
            topics |= {topic for topic, at in computed.items() if now - at >= REFRESH}
    finally:
        context.changes.unsubscribe(subscription)


def _seen(context: Context, visitor: Visitor, topics: set[str]) -> dict[str, Any] | None:
    """What the desk shows the visitor now of ``topics``; None once the session is gone."""
    assert visitor.user is not None
    if context.sessions.user_id(visitor.token) != visitor.user.id:
        return None
    agent, seen = visitor.user.name, {}
    if "phone" in topics:          # first: a desk changed by a ringing call is redrawn, not reloaded
        try:
            seen["phone"] = {"legs": context.phone.legs(agent)}
        except CarusoError:
            pass
    if "desk" in topics and context.desk is not None:
        try:
            seen["desk"] = context.desk.pushed(agent)
        except CarusoError:
            seen["desk"] = {"signature": "unavailable"}
    return seen


routes = [Route("/desk/stream", desk_events, methods=["GET"])]
