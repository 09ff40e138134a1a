"""The self-service portal: the published dialog scripts for customers, anonymous or
signed in with a customer account, the knowledge base's public articles (``/portal/articles``:
listed and searched by full text, at most ``searches_per_minute`` lists and searches per client
address, else 429 with Retry-After; a page per article, see :mod:`caruso_frontoffice.articles`),
and the way to the web chat (``/portal/chat``: the chat page, with a pass naming a signed-in
customer's record, see :mod:`caruso_frontoffice.chat`).

The dialogs follow the rules of self-service of the script interface's SDK
(:class:`caruso_scripts.client.SelfService`: only the scripts of the ``self_service``
configuration, a start limit per client address, a dialog continued only by whoever
started it); the portal shows their steps with its own templates (``portal_step.html``),
with its CSRF tokens. A dialog's context is its channel (``channel = "web"``, which a
script may record) and a signed-in customer's customer key. Every request of a customer
account whose key no longer names one customer (its customer deleted) is refused with 403
and logged. The scripts service is reached through the manager.
"""
from __future__ import annotations

import functools
import logging
import math
from typing import Any, Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from caruso_core.errors import CarusoError, InvalidInput, NotFound
from caruso_core.digits import digits
from caruso_frontoffice.access import action, page
from caruso_frontoffice.accounts import UNLINKED, linked
from caruso_frontoffice.articles import MAX_PAGE, MAX_TEXT
from caruso_frontoffice.context import Context
from caruso_frontoffice.records import STORAGE
from caruso_scripts.client import DialogError, DialogView, Reply, TooManyStarts

log = logging.getLogger("caruso.frontoffice")
BASE = "/portal"
CHANNEL = "web"         # the channel a dialog of the portal runs on, in its context
NO_CHAT = "The chat is not available at the moment. Please try again later or call us."
GONE = "This dialog does not exist or has ended. Please start again."
TOO_MANY = "Too many new dialogs from your address; please try again in a minute."
FAILED = "Sorry, something went wrong on our side. Please try again later or call us."
INCOMPLETE = "The form was not complete; please answer again."
SIGN_IN = "This needs your customer account: please sign in first."
STALE = "The page was out of date; here is where your dialog stands now."
NO_ARTICLES = "There are no questions and answers here."
TOO_MANY_SEARCHES = "Too many searches from your address; please try again in a minute."
NO_ARTICLE = "This article does not exist or is not published."
NO_PAGE = f"There is no such page of answers: pages go from 1 to {MAX_PAGE}."
TOO_LONG = f"Please search with at most {MAX_TEXT} characters."


def _linked(handler: Callable[..., Response]) -> Callable[..., Response]:
    """``handler``, with a customer account's key as the scripts read it in
    ``request.state.customer`` (:func:`caruso_frontoffice.accounts.linked`; nothing for
    others); unless its key no longer names one customer: then 403 in one line, logged."""
    @functools.wraps(handler)
    def checked(request: Request, context: Context, *form: FormData) -> Response:
        user = request.state.visitor.user
        request.state.customer, why = linked(context.client.service(STORAGE), user, context.records.info) \
            if user is not None else ({}, None)
        if why:
            log.warning("self-service %s %s of customer account %r refused: %s", request.method, request.url.path,
                        user.name, why)
            return context.render(request, "portal_refused.html", 403, reason=UNLINKED)
        return handler(request, context, *form)
    return checked


@page()
@_linked
def index(request: Request, context: Context) -> Response:
    return _answer(request, context, lambda: context.render(
        request, "portal.html", scripts=context.dialogs.scripts(), chat=context.chat.available(),
        articles=context.articles is not None and context.articles.available()))


@page()
@_linked
def articles(request: Request, context: Context) -> Response:
    """The public articles holding every word of ``q`` (all without), page ``page`` of them."""
    if context.articles is None or not context.articles.available():
        return context.render(request, "portal_refused.html", 404, reason=NO_ARTICLES)
    address = request.client.host if request.client else "unknown"
    wait = context.searches.wait(address)
    if wait:
        refused = context.render(request, "portal_refused.html", 429, reason=TOO_MANY_SEARCHES)
        refused.headers["Retry-After"] = str(math.ceil(wait))
        return refused
    context.searches.hit(address)
    text = request.query_params.get("q", "")
    number = request.query_params.get("page", "1")
    if not digits(number) or not 1 <= int(number) <= MAX_PAGE:
        return context.render(request, "portal_refused.html", 400, reason=NO_PAGE)
    if len(text) > MAX_TEXT:
        return context.render(request, "portal_articles.html", 400, text=text[:MAX_TEXT], found=[], more=False,
                              number=1, notice=TOO_LONG)

    def listed() -> Response:
        found, more = context.articles.page(text, int(number))
        return context.render(request, "portal_articles.html", text=text, found=found, more=more,
                              number=int(number), notice=None)
    return _answer(request, context, listed)


@page()
@_linked
def article(request: Request, context: Context) -> Response:
    """One public article: its question and answer."""
    def shown() -> Response:
        try:
            available = context.articles is not None and context.articles.available()
            found = context.articles.article(request.path_params["key"]) if available else None
        except InvalidInput:
            found = None
        if found is None:
            return context.render(request, "portal_refused.html", 404, reason=NO_ARTICLE)
        return context.render(request, "portal_article.html", article=found)
    return _answer(request, context, shown)


@page()
@_linked
def chat(request: Request, context: Context) -> Response:
    """To the chat page (a link, not a form: forms may only go to this site); 503 when the
    communication server runs no web chat or does not answer."""
    try:
        return RedirectResponse(context.chat.link(request.state.visitor.user), 303)
    except CarusoError as error:
        log.warning("self-service chat link failed: %s", error)
        return context.render(request, "portal_refused.html", 503, reason=NO_CHAT)


@action()
@_linked
def start(request: Request, context: Context, form: FormData) -> Response:
    address = request.client.host if request.client else "unknown"

    def begin() -> Response:
        customer = request.state.customer
        try:
            view = context.dialogs.begin(request.path_params["script"], _dialog_context(request), address)
        except DialogError as error:
            if customer:
                raise
            log.info("self-service %s cannot start without a customer: %s", request.url.path, error)
            return context.render(request, "portal_refused.html", 403, reason=SIGN_IN, sign_in=True)
        return RedirectResponse(f"{BASE}/s/{view.session}", 303)
    return _answer(request, context, begin)


@page()
@_linked
def show(request: Request, context: Context) -> Response:
    return _answer(request, context, lambda: _step(
        request, context, context.dialogs.current(request.path_params["session"], _dialog_context(request))))


@action()
@_linked
def submit(request: Request, context: Context, form: FormData) -> Response:
    session = request.path_params["session"]

    def reply() -> Response:
        answer = form.get("answer")
        sent = context.dialogs.submit(session, _dialog_context(request),
                                      answer if isinstance(answer, str) else None, form.get("seq"), "back" in form)
        if sent.problem is None:
            return RedirectResponse(f"{BASE}/s/{session}", 303)
        status, notice = _problem(sent)
        return _step(request, context, sent.view, notice, sent.entered, status)
    return _answer(request, context, reply)


def _dialog_context(request: Request) -> dict[str, Any]:
    """The context of the visitor's dialogs: the channel (``web``) and the signed-in
    customer as :func:`_linked` found them."""
    return {**request.state.customer, "channel": CHANNEL}


def _problem(sent: Reply) -> tuple[int, str | None]:
    """The status and the notice of a step form that did not move the dialog on."""
    return {"incomplete": (400, INCOMPLETE), "rejected": (422, sent.message), "stale": (409, STALE)}[sent.problem]


def _step(request: Request, context: Context, view: DialogView, notice: str | None = None,
          entered: str | None = None, status: int = 200) -> Response:
    return context.render(request, "portal_step.html", status, view=view, notice=notice, entered=entered)


def _answer(request: Request, context: Context, respond: Callable[[], Response]) -> Response:
    """``respond()``, or the portal's page for a dialog that is gone (404), too many
    starts (429) or a scripts service that failed (503, logged)."""
    try:
        return respond()
    except NotFound:
        return context.render(request, "portal_refused.html", 404, reason=GONE)
    except TooManyStarts:
        return context.render(request, "portal_refused.html", 429, reason=TOO_MANY)
    except CarusoError as error:
        log.error("self-service %s %s failed: %s", request.method, request.url.path, error)
        return context.render(request, "portal_refused.html", 503, reason=FAILED)


routes = [
    Route(BASE, index, methods=["GET"]),
    Route(BASE + "/chat", chat, methods=["GET"]),
    Route(BASE + "/articles", articles, methods=["GET"]),
    Route(BASE + "/articles/{key}", article, methods=["GET"]),
    Route(BASE + "/start/{script}", start, methods=["POST"]),
    Route(BASE + "/s/{session}", show, methods=["GET"]),
    Route(BASE + "/s/{session}", submit, methods=["POST"]),
]
