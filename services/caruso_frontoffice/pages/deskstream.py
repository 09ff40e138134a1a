"""The desk's push stream, ``GET /desk/stream`` (agents and supervisors), read by
``static/desk.js`` and ``static/phone.js`` through one ``EventSource``.

Server-sent events: ``desk`` carries ``{"signature"}`` (as ``GET /desk/poll``) and
``phone`` carries ``{"legs": [...]}`` (as ``GET /desk/phone``; sent only while a telephony
component runs). Each is sent at the start and again whenever it changed. What the
agent sees is computed again after every event the communication server or the telephony
component publishes (:mod:`caruso_frontoffice.changes`) and at least every ``REFRESH``
seconds; that is also the page's sign of life for the telephony component, so a closed
tab (the stream ends) ends its legs. The stream ends when the session is signed out or
expires. One agent holds at most ``MAX_STREAMS`` streams at a time: one more gets a
``refused`` event (``{"error"}``) and ends.
"""
from __future__ import annotations

import collections
import json
from typing import Any, AsyncIterator

import anyio.to_thread
from starlette.requests import Request
from starlette.routing import Route

from caruso_core.errors import CarusoError
from caruso_frontoffice.access import Visitor, stream
from caruso_frontoffice.context import Context

ROLES = ("agent", "supervisor")
REFRESH = 2.0
MAX_STREAMS = 8


@stream(*ROLES)
async def desk_events(request: Request, context: Context) -> AsyncIterator[str]:
    visitor: Visitor = request.state.visitor
    assert visitor.user is not None
    agent = visitor.user.name
    streams: collections.Counter[str] = request.app.state.desk_streams
    if streams[agent] >= MAX_STREAMS:
        refusal = f"This desk is open in {MAX_STREAMS} tabs already: close one and reload this page."
        yield f"event: refused\ndata: {json.dumps({'error': refusal})}\n\n"
        return
    streams[agent] += 1
    try:
        version, shown = context.changes.version, {}
        while (seen := await anyio.to_thread.run_sync(_seen, context, visitor)) is not None:
            for name, data in seen.items():
                if shown.get(name) != data:
                    shown[name] = data
                    yield f"event: {name}\ndata: {json.dumps(data)}\n\n"
            version = await context.changes.wait(version, REFRESH)
    finally:
        streams[agent] -= 1


def _seen(context: Context, visitor: Visitor) -> dict[str, Any] | None:
    """What the desk shows the visitor now; None once the session is gone."""
    assert visitor.user is not None
    if context.sessions.user_id(visitor.token) != visitor.user.id:
        return None
    agent, seen = visitor.user.name, {}
    if context.desk is not None:
        try:
            seen["desk"] = {"signature": context.desk.signature(agent)}
        except CarusoError:
            seen["desk"] = {"signature": "unavailable"}
    try:
        seen["phone"] = {"legs": context.phone.legs(agent)}
    except CarusoError:
        pass
    return seen


routes = [Route("/desk/stream", desk_events, methods=["GET"])]
