"""The ASGI application: routes, static files, security headers, error pages."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from caruso_frontoffice.access import visitor_of
from caruso_frontoffice.context import Context
from caruso_frontoffice.pages import routes

STATIC = Path(__file__).with_name("static")
LONG_POLLS = 200   # threads for requests that wait for news (open wallboards), beside the 40 for pages
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; script-src 'self'; "
                                 b"style-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")   # a year; only on responses over https


class SecurityHeaders:
    """ASGI middleware adding ``SECURITY_HEADERS`` to every HTTP response, ``HSTS`` to
    those served over https (browsers then refuse plain http for the site), and
    ``Cache-Control: no-store`` to every page (not to static files) that does not set its
    own: pages hold personal data that no cache should keep after signing out."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        added = [*SECURITY_HEADERS, *([HSTS] if scope.get("scheme") == "https" else []),
                 *([] if scope["path"].startswith("/static/") else [(b"cache-control", b"no-store")])]

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                own = any(name.lower() == b"cache-control" for name, _ in headers)
                message["headers"] = [*headers, *(header for header in added if not own or header[0] != b"cache-control")]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(context: Context) -> Starlette:
    """The front office as an ASGI app over ``context``."""

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        reason = "There is no such page." if error.status_code == 404 else str(error.detail)
        if getattr(request.state, "visitor", None) is None:        # no page ran: who is it (the page's header)
            request.state.visitor = await anyio.to_thread.run_sync(visitor_of, request, context)
        return context.render(request, "refused.html", error.status_code, reason=reason)

    app = Starlette(routes=[*routes(), Mount("/static", StaticFiles(directory=STATIC), name="static")],
                    middleware=[Middleware(SecurityHeaders)], exception_handlers={HTTPException: http_error})
    app.state.context = context
    app.state.long_polls = anyio.CapacityLimiter(LONG_POLLS)
    return app
