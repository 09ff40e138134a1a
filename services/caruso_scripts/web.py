"""The web self-service runner: published scripts as HTML pages and as JSON, for anonymous customers.

:func:`create_app` returns a Starlette (ASGI) application over any object with the
methods of ``caruso.scripts/1`` (the service in process or a client proxy).

HTML: ``GET /`` lists the published scripts; ``POST /start/{script}`` starts one and
redirects to ``GET /s/{session}``, the current step as a form; ``POST /s/{session}``
(form fields ``seq``, ``answer``, or ``back``) answers it and redirects back (a
rejected answer shows the page again, status 422, with the reason).
JSON: ``POST /api/start/{script}``, ``GET /api/s/{session}``, ``POST /api/s/{session}``
with ``{"seq": n, "answer": value}`` or ``{"seq": n, "back": true}``; errors are
``{"error": message}`` with status 400, 404, 409, 413, 422, 429 or 500.

Every answer and every "back" carries the ``seq`` of the step it was given for (400
without a valid one), so a form sent twice, or an old page sent again, changes the
dialog at most once (409 for the stale one).

Safe for anonymous use: only ``published`` scripts run; the session id (128 random
bits) is the only key to a dialog; the context comes from the server (``context``
callable, e.g. from the portal's login), never from the request; bodies are limited
to ``MAX_BODY`` bytes; one client address may start at most ``starts_per_minute``
dialogs a minute (429 beyond); answers are checked by the engine and rejected with a message
for the customer; only the step shown leaves the server (no answers, variables,
actions or context); a dialog started with a context is continued only with the same
context; unexpected failures say "something went wrong" and are logged.

Other web front ends (the front office's self-service portal) reuse the same rules and
forms through :class:`Dialogs` and :func:`step_html`.
"""
from __future__ import annotations

import html
import json
import logging
import re
import urllib.parse
from string import Template
from typing import Any, Awaitable, Callable, Iterable

import attrs
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from caruso_core.errors import CarusoError, Conflict, InvalidInput, NotFound
from caruso_core.throttle import Throttle
from caruso_scripts.errors import AnswerRejected

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024
TOO_MANY = "Too many new dialogs from your address; please try again in a minute."
SESSION_ID = re.compile(r"[0-9a-f]{32}")
PUBLIC_STEP = ("id", "kind", "type", "text", "required", "options", "maxlength", "outcome", "decimal")
EXAMPLES = {"number": "12.5", "amount": "120.50"}
HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                      "frame-ancestors 'none'",
           "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
SORRY = "Sorry, something went wrong on our side. Please try again later or call us."
GONE = "This dialog does not exist or has ended. Please start again."
INCOMPLETE = "The form was not complete; please answer again."
SEQ_LIMIT = 10**9
PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
.notice{background:#fff3cd;border-left:4px solid #e0a800;padding:.5rem 1rem}
fieldset{border:0;padding:0;margin:0}legend{margin-bottom:.5rem}label{display:block;margin:.3rem 0}button{margin:.8rem .5rem 0 0;padding:.4rem 1.2rem}</style>
</head><body><h1>$title</h1>
$body
</body></html>
""")


class _BodyTooLarge(Exception):
    pass


class TooManyStarts(Exception):
    """A client address has started as many dialogs as it may in the last minute."""


class MissingSeq(InvalidInput):
    """An answer or "back" came without the ``seq`` of the step it was given for."""


@attrs.frozen
class Outcome:
    """What a submitted step form leads to: ``status`` 303 (go on to the dialog's page) or
    the step to show again with ``notice`` and the ``entered`` answer (422, 409)."""

    view: dict[str, Any]
    status: int = 303
    notice: str | None = None
    entered: str | None = None


def public_view(view: dict[str, Any]) -> dict[str, Any]:
    """What an anonymous customer may see of a session."""
    return {"session": view["session"], "script": view["script"], "title": view["title"], "seq": view["seq"],
            "status": view["status"], "outcome": view["outcome"], "can_go_back": view["can_go_back"],
            "step": {k: view["step"][k] for k in PUBLIC_STEP if k in view["step"]}}


class Dialogs:
    """The rules of self-service over ``api`` (``caruso.scripts/1``), whatever web page shows
    them: only ``published`` scripts (None: all), at most ``starts_per_minute`` new dialogs
    per client address, a dialog continued only with the context it was started with.
    Methods block on the service: call them from a worker thread."""

    def __init__(self, api: Any, published: Iterable[str] | None = None, starts_per_minute: int = 30) -> None:
        self.api = api
        self._allowed = None if published is None else set(published)
        self._starts = Throttle(starts_per_minute, 60)

    def visible(self, script: str) -> bool:
        return self._allowed is None or script in self._allowed

    def scripts(self) -> list[dict[str, Any]]:
        """The published scripts: ``id``, ``title``, ``description``."""
        return [s for s in self.api.scripts() if self.visible(s["id"])]

    def begin(self, script: str, context: dict[str, Any], address: str) -> dict[str, Any]:
        """A new dialog; NotFound unless ``script`` is published, TooManyStarts beyond the limit."""
        if not self.visible(script):
            raise NotFound(GONE)
        if self._starts.wait(address):
            raise TooManyStarts(TOO_MANY)
        self._starts.hit(address)
        return self.api.begin(script, context)

    def current(self, session: str, context: dict[str, Any]) -> dict[str, Any]:
        """The dialog ``session``; NotFound unless it exists, runs a published script and
        was started with ``context``."""
        if not SESSION_ID.fullmatch(session):
            raise NotFound(GONE)
        view = self.api.current(session)
        if not self.visible(view["script"]) or view.get("context", {}) != context:
            raise NotFound(GONE)
        return view

    def reply(self, view: dict[str, Any], answer: Any, seq: Any, back: bool) -> dict[str, Any]:
        """Answer the step of ``view`` or go back; ``seq`` (a whole number, or its digits as
        text) is required: MissingSeq without a valid one, Conflict when it is not the
        dialog's (a double submit of an answer is applied once), AnswerRejected."""
        number = seq_of(seq)
        if back:
            if number != view["seq"]:
                raise Conflict("the dialog has moved on")
            return self.api.back(view["session"])
        return self.api.answer(view["session"], answer, number)

    def submit(self, session: str, context: dict[str, Any], form: dict[str, list[str]]) -> Outcome:
        """A step form (fields ``seq``, ``answer`` or ``back``) applied to the dialog."""
        view = self.current(session, context)
        entered = form.get("answer", [None])[0]
        try:
            self.reply(view, entered, form.get("seq", [None])[0], "back" in form)
        except MissingSeq:
            return Outcome(view, 400, INCOMPLETE, entered)
        except AnswerRejected as error:
            return Outcome(view, 422, error.message, entered)
        except Conflict:
            return Outcome(self.current(session, context), 409,
                           "The page was out of date; here is where your dialog stands now.")
        return Outcome(view)


def create_app(api: Any, *, published: Iterable[str] | None = None,
               context: Callable[[Request], dict[str, Any]] | None = None,
               title: str = "Self-service", starts_per_minute: int = 30) -> Starlette:
    """The self-service app over ``api``; ``published`` limits the scripts (default: all)."""
    dialogs = Dialogs(api, published, starts_per_minute)
    context_of = context or (lambda request: {})

    async def call(method: Callable[..., Any], *args: Any) -> Any:
        return await run_in_threadpool(method, *args)

    async def begin(request: Request) -> dict[str, Any]:
        await _read_body(request)
        address = request.client.host if request.client else "unknown"
        return await call(dialogs.begin, request.path_params["script"], context_of(request), address)

    async def index(request: Request) -> Response:
        scripts = await call(dialogs.scripts)
        items = "".join(f'<li><form method="post" action="/start/{_e(s["id"])}"><button>{_e(s["title"])}</button>'
                        f' {_e(s["description"])}</form></li>' for s in scripts)
        return _page(title, f"<ul>{items}</ul>" if items else "<p>Nothing is published yet.</p>")

    async def start(request: Request) -> Response:
        view = await begin(request)
        return RedirectResponse(f"/s/{view['session']}", status_code=303)

    async def show(request: Request) -> Response:
        view = await call(dialogs.current, request.path_params["session"], context_of(request))
        return _page(view["title"], step_html(view, None, None))

    async def submit(request: Request) -> Response:
        session = request.path_params["session"]
        try:
            form = urllib.parse.parse_qs((await _read_body(request)).decode("utf-8", "replace"),
                                         keep_blank_values=True, max_num_fields=8)
        except ValueError:
            return _failure(False, "The form is not valid.", 400)
        outcome = await call(dialogs.submit, session, context_of(request), form)
        if outcome.status == 303:
            return RedirectResponse(f"/s/{session}", status_code=303)
        return _page(outcome.view["title"], step_html(outcome.view, outcome.notice, outcome.entered), outcome.status)

    async def api_start(request: Request) -> Response:
        return _json(public_view(await begin(request)), 201)

    async def api_show(request: Request) -> Response:
        return _json(public_view(await call(dialogs.current, request.path_params["session"], context_of(request))))

    async def api_submit(request: Request) -> Response:
        current = await call(dialogs.current, request.path_params["session"], context_of(request))
        try:
            body = json.loads(await _read_body(request) or b"{}")
        except (ValueError, RecursionError):
            return _json({"error": "The request is not valid JSON."}, 400)
        if not isinstance(body, dict):
            return _json({"error": "Send a JSON object with 'seq' and 'answer'."}, 400)
        try:
            view = await call(dialogs.reply, current, body.get("answer"), body.get("seq"), body.get("back") is True)
        except MissingSeq:
            return _json({"error": "Send the 'seq' of the step you answer (a whole number, from the dialog)."}, 400)
        except AnswerRejected as error:
            return _json({"error": error.message}, 422)
        except Conflict:
            return _json({"error": "The dialog has moved on; load it again."}, 409)
        return _json(public_view(view))

    routes = [("/", index, "GET"), ("/start/{script}", start, "POST"), ("/s/{session}", show, "GET"),
              ("/s/{session}", submit, "POST"), ("/api/start/{script}", api_start, "POST"),
              ("/api/s/{session}", api_show, "GET"), ("/api/s/{session}", api_submit, "POST")]
    async def no_route(request: Request, error: Exception) -> Response:
        response = _failure(request.url.path.startswith("/api/"), GONE, 404)
        response.headers.update(HEADERS)
        return response

    return Starlette(routes=[Route(path, _guarded(endpoint), methods=[method]) for path, endpoint, method in routes],
                     exception_handlers={404: no_route, 405: no_route})


def _guarded(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint with errors turned into friendly answers and the safety headers added."""
    async def guarded(request: Request) -> Response:
        wants_json = request.url.path.startswith("/api/")
        try:
            response = await endpoint(request)
        except _BodyTooLarge:
            response = _failure(wants_json, f"The request is too large (at most {MAX_BODY} bytes).", 413)
        except TooManyStarts:
            response = _failure(wants_json, TOO_MANY, 429)
        except NotFound:
            response = _failure(wants_json, GONE, 404)
        except Conflict:
            response = _failure(wants_json, "This dialog has ended. Please start again.", 409)
        except Exception as error:
            log.error("self-service %s %s failed: %s", request.method, request.url.path,
                      error.message if isinstance(error, CarusoError) else repr(error))
            response = _failure(wants_json, SORRY, 500)
        response.headers.update(HEADERS)
        return response
    return guarded


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise _BodyTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _failure(wants_json: bool, message: str, status: int) -> Response:
    if wants_json:
        return _json({"error": message}, status)
    return _page("Self-service", f'<p class="notice">{_e(message)}</p><p><a href="/">Start page</a></p>', status)


def seq_of(value: Any) -> int:
    """The step number ``value`` names: a whole number from 0 to 999,999,999 (or its
    digits as text); MissingSeq for anything else (missing, null, a fraction, ``1e400``)."""
    if type(value) is int and 0 <= value < SEQ_LIMIT:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    raise MissingSeq("send the seq of the step answered, a whole number")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _json(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status)


def _page(title: str, body: str, status: int = 200) -> Response:
    return HTMLResponse(PAGE.substitute(title=_e(title), body=body), status_code=status)


def step_html(view: dict[str, Any], notice: str | None, entered: str | None, base: str = "",
              hidden: dict[str, str] | None = None) -> str:
    """The step as HTML: text (the legend of the answer's fieldset for a question) and the
    form posting to ``{base}/s/{session}`` with the ``hidden`` fields; every value escaped."""
    step = view["step"]
    parts = [f'<p class="notice" role="alert">{_e(notice)}</p>'] if notice else []
    kind = step.get("type")
    if view["status"] != "active" or kind is None:
        parts.append(f"<p>{_e(step.get('text'))}</p>")
    if view["status"] != "active":
        parts.append(f'<p><a href="{_e(base)}/">Back to the start page</a></p>')
        return "\n".join(parts)
    fields = ""
    required = " required" if step.get("required") else ""
    if kind in ("choice", "yesno"):
        options = step["options"] if kind == "choice" else [{"value": "yes", "label": "Yes"},
                                                            {"value": "no", "label": "No"}]
        fields = "".join(f'<label><input type="radio" name="answer" value="{_e(o["value"])}"{required}'
                         f'{" checked" if entered == o["value"] else ""}> {_e(o["label"])}</label>'
                         for o in options)
    elif kind is not None:
        types = {"date": "date", "number": "text", "amount": "text", "text": "text"}
        size = f' maxlength="{int(step["maxlength"])}"' if step.get("maxlength") else ""
        example = f' placeholder="{_e(EXAMPLES[kind].replace(".", step.get("decimal", ".")))}"' \
            if kind in EXAMPLES else ""
        fields = (f'<input type="{types[kind]}" name="answer" value="{_e(entered)}"{size}{required}{example}'
                  f' inputmode="{"decimal" if kind in EXAMPLES else "text"}">')
    if kind is not None:
        fields = f"<fieldset><legend>{_e(step.get('text'))}</legend>{fields}</fieldset>"
    back = '<button name="back" value="1" formnovalidate>Back</button>' if view["can_go_back"] else ""
    extra = "".join(f'<input type="hidden" name="{_e(k)}" value="{_e(v)}">' for k, v in (hidden or {}).items())
    parts.append(f'<form method="post" action="{_e(base)}/s/{_e(view["session"])}">{extra}'
                 f'<input type="hidden" name="seq" value="{int(view["seq"])}">{fields}'
                 f'{back}<button>{"Continue" if kind is None else "Next"}</button></form>')
    return "\n".join(parts)
