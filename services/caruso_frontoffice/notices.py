"""One-time notices across a redirect (Post/Redirect/Get).

An action that succeeded answers ``303`` to its page (:func:`redirect`) and gives the
browser what it did in the cookie ``caruso_notice``: the text and an HMAC of it with the
browser's session token (so only this site writes one, for this browser), for that
page's path only, for a minute. The page shows it once: :meth:`Context.render` of a GET
takes it (:func:`taken`) and clears the cookie (:func:`clear`), so a reload shows the page
without it and repeats nothing.
"""
from __future__ import annotations

import base64
import binascii
import urllib.parse

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from caruso_core.credentials import same
from caruso_frontoffice.sessions import Sessions

COOKIE = "caruso_notice"
MAX_TEXT = 500
SECONDS = 60


def redirect(request: Request, sessions: Sessions, path: str, text: str, query: str = "") -> RedirectResponse:
    """``303`` to the page ``path`` (with ``query``, e.g. what the page shows, if given), which
    then shows ``text`` once."""
    path = urllib.parse.quote(path, safe="/%")      # a cookie's path: no attribute can ride on it
    response = RedirectResponse(f"{path}?{query}" if query else path, 303)
    encoded = base64.urlsafe_b64encode(text[:MAX_TEXT].encode()).decode().rstrip("=")
    value = f"{encoded}.{sessions.signature('notice', f'{request.state.visitor.token}:{encoded}')}"
    response.set_cookie(COOKIE, value, path=path, max_age=SECONDS, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


def taken(request: Request, sessions: Sessions, token: str) -> str | None:
    """The notice a GET of its page carries for the browser holding ``token``, if its signature holds."""
    encoded, _, signature = (request.cookies.get(COOKIE) or "").partition(".")
    if request.method != "GET" or not encoded or not same(signature, sessions.signature("notice", f"{token}:{encoded}")):
        return None
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()[:MAX_TEXT]
    except (binascii.Error, UnicodeDecodeError):
        return None


def clear(request: Request, response: Response) -> None:
    """Drop the notice a GET of its page carried (shown now, or not this browser's)."""
    if request.method == "GET" and COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path=request.url.path, httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")
