"""Who is asking, and whether they may: visitors, role checks, CSRF-checked forms.

Every handler is wrapped by :func:`page` (GET), :func:`action` (POST) or :func:`stream`
(GET, a push stream of server-sent events):

- the visitor's cookie is read (a browser without a valid one gets a fresh token);
- ``roles`` given: an anonymous visitor of a page is sent to sign in; an action's form sent
  by an anonymous visitor does nothing and is sent to sign in too (saying so; a script's
  request, ``Sec-Fetch-Mode`` other than ``navigate``, gets 403); a wrong-role visitor gets 403;
- an action's form must carry the CSRF token of the visitor's cookie, else 403;
- a page's or an action's function runs in a worker thread (it may block on the
  database or on Pyro5 calls) and gets ``(request, context)``, actions also the form;
  a stream's is an async iterator in the event loop (it must not block).
"""
from __future__ import annotations

import functools
from typing import Any, AsyncIterator, Callable
from urllib.parse import quote, urlsplit

import anyio.to_thread
import attrs
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from caruso_core.digits import digits
from caruso_frontoffice import notices
from caruso_frontoffice.accounts import User
from caruso_frontoffice.context import Context

COOKIE = "caruso_session"
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 200
MAX_BACK = 2000              # characters of the page a signed-out form leads back to
SIGNED_OUT = ("You were signed out (in another tab, or your session ended), so what you sent was not done. "
              "Sign in again to go back to the page.")


@attrs.define
class Visitor:
    """The browser behind a request: its token, its user if signed in, its CSRF token."""

    token: str
    user: User | None
    csrf: str
    fresh: bool


def context_of(request: Request) -> Context:
    return request.app.state.context


def visitor_of(request: Request, context: Context) -> Visitor:
    token = context.sessions.token_of(request.cookies.get(COOKIE))
    if token is None:
        token = context.sessions.new_token()
        return Visitor(token, None, context.sessions.csrf(token), fresh=True)
    user_id = context.sessions.user_id(token)
    user = context.accounts.get(user_id) if user_id is not None else None
    return Visitor(token, user, context.sessions.csrf(token), fresh=False)


def set_cookie(request: Request, response: Response, context: Context, token: str,
               signed_in: bool) -> None:
    """Give the browser ``token``: HttpOnly, SameSite=Strict, Secure over https."""
    response.set_cookie(COOKIE, context.sessions.cookie(token), path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https",
                        max_age=int(context.sessions.lifetime) if signed_in else None)


def page(*roles: str, long_poll: bool = False) -> Callable[[Callable[..., Response]], Callable[[Request], Any]]:
    """Wrap a GET handler ``f(request, context)``; ``roles`` (none: anyone) may see it.
    A ``long_poll`` handler, which waits for news, runs on the app's own threads for
    waiting (``app.state.long_polls``), so that waiting requests never hold the threads
    pages are served from."""
    return functools.partial(_guard, frozenset(roles), post=False, long_poll=long_poll)


def action(*roles: str) -> Callable[[Callable[..., Response]], Callable[[Request], Any]]:
    """Wrap a POST handler ``f(request, context, form)``; ``roles`` (none: anyone) may post."""
    return functools.partial(_guard, frozenset(roles), post=True)


def stream(*roles: str) -> Callable[[Callable[[Request, Context], AsyncIterator[str]]], Callable[[Request], Any]]:
    """Wrap a push stream ``f(request, context)``, an async iterator of server-sent events
    (texts): the visitor and the role are checked as for a page, then the texts are sent
    as ``text/event-stream`` until the iterator ends or the browser leaves."""
    allowed = frozenset(roles)

    def wrap(handler: Callable[[Request, Context], AsyncIterator[str]]) -> Callable[[Request], Any]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            context = context_of(request)
            refusal = await anyio.to_thread.run_sync(_stream_refusal, request, context, allowed)
            return refusal or StreamingResponse(handler(request, context), media_type="text/event-stream",
                                                headers={"X-Accel-Buffering": "no"})
        return endpoint
    return wrap


def _stream_refusal(request: Request, context: Context, allowed: frozenset[str]) -> Response | None:
    visitor = request.state.visitor = visitor_of(request, context)
    outcome = _role_refusal(request, visitor, allowed)
    return _refusal_page(request, context, outcome)


def _guard(allowed: frozenset[str], handler: Callable[..., Response], *, post: bool,
           long_poll: bool = False) -> Callable[[Request], Any]:
    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        form, refusal = await _read_form(request) if post else (None, None)
        respond = functools.partial(_respond, request, handler, allowed, form, refusal)
        limiter = request.app.state.long_polls if long_poll else None
        return await anyio.to_thread.run_sync(respond, limiter=limiter)

    return endpoint


def _respond(request: Request, handler: Callable[..., Response], allowed: frozenset[str],
             form: FormData | None, refusal: tuple[int, str] | None) -> Response:
    """Identify the visitor, check the CSRF token and the role, run the handler."""
    context = context_of(request)
    visitor = request.state.visitor = visitor_of(request, context)
    if form is not None and refusal is None and allowed and visitor.user is None:
        # nothing is done: a page's form leads to signing in again; a script's request (the
        # desk's, whose fetch would follow a redirect as if it had worked) is refused
        navigating = request.headers.get("sec-fetch-mode", "navigate") == "navigate"
        refusal = _signed_out(request, context) if navigating else (403, "Please sign in first.")
    if form is not None and refusal is None and (
            visitor.fresh or not context.sessions.csrf_ok(visitor.token, form.get("csrf"))):
        refusal = 403, "The form has expired or did not come from this site. Reload the page and try again."
    outcome = refusal or _role_refusal(request, visitor, allowed)
    response = _refusal_page(request, context, outcome) or handler(
        request, context, *([form] if form is not None else []))
    if visitor.fresh:
        set_cookie(request, response, context, visitor.token, signed_in=False)
    return response


def _signed_out(request: Request, context: Context) -> Response:
    """A form of a page for signed-in users, sent by a browser no longer signed in (it signed out
    in another tab, or its session ended): to the sign-in page, which says so, and from there
    back to the page the form was on (its ``Referer``, when on this site)."""
    came_from = urlsplit(request.headers.get("referer", ""))
    back = came_from.path + (f"?{came_from.query}" if came_from.query else "")
    if came_from.netloc != request.url.netloc or not came_from.path.startswith("/") or len(back) > MAX_BACK:
        back = "/"
    return notices.redirect(request, context.sessions, "/signin", SIGNED_OUT, query=f"next={quote(back, safe='')}")


def _refusal_page(request: Request, context: Context, outcome: Response | tuple[int, str] | None
                  ) -> Response | None:
    if isinstance(outcome, Response) or outcome is None:
        return outcome
    return context.render(request, "refused.html", outcome[0], reason=outcome[1])


def _role_refusal(request: Request, visitor: Visitor, allowed: frozenset[str]) -> Response | tuple[int, str] | None:
    if not allowed:
        return None
    if visitor.user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target, safe='')}", 303)
    if not visitor.user.may(allowed):
        return 403, "Your role does not give access to this page."
    return None


async def _read_form(request: Request) -> tuple[FormData, tuple[int, str] | None]:
    """The form of a POST, or an empty one and why it is refused (too large, no length)."""
    length = request.headers.get("content-length", "")
    if not digits(length):
        return FormData(), (411, "The form was sent without its length.")
    if int(length) > MAX_FORM_BYTES:
        return FormData(), (413, f"The form is larger than {MAX_FORM_BYTES // 1024} KiB.")
    return await request.form(max_files=0, max_fields=MAX_FORM_FIELDS), None
