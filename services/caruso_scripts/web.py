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
context; unexpected failures say "something went wrong" and are logged. These rules are
the SDK's :class:`caruso_scripts.client.SelfService`, which other web front ends (the
front office's self-service portal) apply with their own pages.
"""
from __future__ import annotations

import html
import json
import logging
import urllib.parse
from string import Template
from typing import Any, Awaitable, Callable, Iterable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from caruso_core.errors import CarusoError, Conflict, NotFound
from caruso_core.digits import digits
from caruso_scripts.client import (AnswerRejected, DialogView, MissingSeq, Option, Reply, Scripts, SelfService,
                                   TooManyStarts)

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024
TOO_MANY = "Too many new dialogs from your address; please try again in a minute."
EXAMPLES = {"number": "12.5", "amount": "120.50"}
HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                      "frame-ancestors 'none'",
           "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
SORRY = "Sorry, something went wrong on our side. Please try again later or call us."
GONE = "This dialog does not exist or has ended. Please start again."
INCOMPLETE = "The form was not complete; please answer again."
STALE = "The page was out of date; here is where your dialog stands now."
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


def _public_view(view: DialogView) -> dict[str, Any]:
    """What an anonymous customer may see of a session."""
    return {"session": view.session, "script": view.script, "title": view.title, "seq": view.seq,
            "status": view.status, "outcome": view.outcome, "can_go_back": view.can_go_back,
            "step": view.step.wire(line=False)}


def create_app(api: Any, *, published: Iterable[str] | None = None,
               context: Callable[[Request], dict[str, Any]] | None = None,
               title: str = "Self-service", starts_per_minute: int = 30) -> Starlette:
    """The self-service app over ``api``; ``published`` limits the scripts (default: all)."""
    dialogs = SelfService(Scripts(api), published, starts_per_minute)
    context_of = context or (lambda request: {})

    async def call(method: Callable[..., Any], *args: Any) -> Any:
        return await run_in_threadpool(method, *args)

    async def begin(request: Request) -> DialogView:
        await _read_body(request)
        address = request.client.host if request.client else "unknown"
        return await call(dialogs.begin, request.path_params["script"], context_of(request), address)

    async def index(request: Request) -> Response:
        scripts = await call(dialogs.scripts)
        items = "".join(f'<li><form method="post" action="/start/{_e(s.id)}"><button>{_e(s.title)}</button>'
                        f' {_e(s.description)}</form></li>' for s in scripts)
        return _page(title, f"<ul>{items}</ul>" if items else "<p>Nothing is published yet.</p>")

    async def start(request: Request) -> Response:
        view = await begin(request)
        return RedirectResponse(f"/s/{view.session}", status_code=303)

    async def show(request: Request) -> Response:
        view = await call(dialogs.current, request.path_params["session"], context_of(request))
        return _page(view.title, _step_html(view))

    async def submit(request: Request) -> Response:
        session = request.path_params["session"]
        try:
            form = urllib.parse.parse_qs((await _read_body(request)).decode("utf-8", "replace"),
                                         keep_blank_values=True, max_num_fields=8)
        except ValueError:
            return _failure(False, "The form is not valid.", 400)
        reply = await call(dialogs.submit, session, context_of(request), form.get("answer", [None])[0],
                           form.get("seq", [None])[0], "back" in form)
        if reply.problem is None:
            return RedirectResponse(f"/s/{session}", status_code=303)
        status, notice = _problem(reply)
        return _page(reply.view.title, _step_html(reply.view, notice, reply.entered), status)

    async def api_start(request: Request) -> Response:
        return _json(_public_view(await begin(request)), 201)

    async def api_show(request: Request) -> Response:
        return _json(_public_view(await call(dialogs.current, request.path_params["session"], context_of(request))))

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
        return _json(_public_view(view))

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
    if declared is not None and (not digits(declared) or int(declared) > MAX_BODY):
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


def _problem(reply: Reply) -> tuple[int, str | None]:
    """The status and the notice of a step form that did not move the dialog on."""
    return {"incomplete": (400, INCOMPLETE), "rejected": (422, reply.message), "stale": (409, STALE)}[reply.problem]


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _json(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status)


def _page(title: str, body: str, status: int = 200) -> Response:
    return HTMLResponse(PAGE.substitute(title=_e(title), body=body), status_code=status)


def _step_html(view: DialogView, notice: str | None = None, entered: str | None = None) -> str:
    """The step as HTML: text (the legend of the answer's fieldset for a question) and the
    form posting to ``/s/{session}``; every value escaped."""
    step = view.step
    parts = [f'<p class="notice" role="alert">{_e(notice)}</p>'] if notice else []
    kind = step.type
    if not view.active or kind is None:
        parts.append(f"<p>{_e(step.text)}</p>")
    if not view.active:
        parts.append('<p><a href="/">Back to the start page</a></p>')
        return "\n".join(parts)
    fields = ""
    required = " required" if step.required else ""
    if kind in ("choice", "yesno"):
        options = step.options if kind == "choice" else (Option("yes", "Yes"), Option("no", "No"))
        fields = "".join(f'<label><input type="radio" name="answer" value="{_e(o.value)}"{required}'
                         f'{" checked" if entered == o.value else ""}> {_e(o.label)}</label>'
                         for o in options)
    elif kind is not None:
        types = {"date": "date", "number": "text", "amount": "text", "text": "text"}
        size = f' maxlength="{int(step.maxlength)}"' if step.maxlength else ""
        unit = f" {step.currency}" if step.currency else ""
        example = f' placeholder="{_e(EXAMPLES[kind].replace(".", step.decimal or ".") + unit)}"' \
            if kind in EXAMPLES else ""
        fields = (f'<input type="{types[kind]}" name="answer" value="{_e(entered)}"{size}{required}{example}'
                  f' inputmode="{"decimal" if kind in EXAMPLES else "text"}">')
    if kind is not None:
        fields = f"<fieldset><legend>{_e(step.text)}</legend>{fields}</fieldset>"
    back = '<button name="back" value="1" formnovalidate>Back</button>' if view.can_go_back else ""
    parts.append(f'<form method="post" action="/s/{_e(view.session)}">'
                 f'<input type="hidden" name="seq" value="{int(view.seq)}">{fields}'
                 f'{back}<button>{"Continue" if kind is None else "Next"}</button></form>')
    return "\n".join(parts)
