"""The ``webchat`` channel: customers chat from a web page over HTTP (JSON).

Customer endpoints (``GET /`` is a chat page using them)::

    GET  /                                                               the chat page
    POST /chats                     {"customer", "text"} -> {"id"}      starts a chat in the queue
    POST /chats/{id}/messages       {"text"}                             customer writes
    GET  /chats/{id}/messages?after=N                                    -> {"messages", "state"}
    POST /chats/{id}/leave                                               customer leaves a waiting chat

Agents answer through the service (``accept``, ``send``, ``complete``) or here, with
the header ``Authorization: Bearer <agent_token>`` (without an ``agent_token`` in the
configuration these endpoints are off)::

    GET  /agents/{agent}                                                 -> the agent
    POST /agents/{agent}/chats/{id}/accept | /messages {"text"} | /complete {"disposition"}

It listens on 127.0.0.1 only. The token is one secret for all agents: the front office
(or a proxy that authenticates each agent) holds it, not the agents' browsers.
"""
from __future__ import annotations

import hmac
import json
import threading
import time
from importlib import resources
from typing import Any, Awaitable, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from caruso_core.errors import CarusoError, Conflict, InvalidInput, NotAuthorized, NotFound

from caruso_channels.transcript import Transcripts

NAME = "webchat"
STATUS = {InvalidInput: 400, NotAuthorized: 403, NotFound: 404, Conflict: 409}
MAX_BODY = 16 * 1024
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'",
                "X-Content-Type-Options": "nosniff"}


class WebChat:
    """HTTP chat for the queue ``queue``, on ``127.0.0.1:port`` (0: a free port)."""

    def __init__(self, server: Any, queue: str, port: int = 0, agent_token: str | None = None) -> None:
        self.server = server
        self.agent_token = agent_token
        self.queue = queue
        self.port = port
        self.transcripts = Transcripts()
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(routes=[
            Route("/", self._page("webchat.html", "text/html; charset=utf-8"), methods=["GET"]),
            Route("/chat.js", self._page("webchat.js", "text/javascript; charset=utf-8"), methods=["GET"]),
            Route("/chats", self._start_chat, methods=["POST"]),
            Route("/chats/{id}/messages", self._customer_writes, methods=["POST"]),
            Route("/chats/{id}/messages", self._read, methods=["GET"]),
            Route("/chats/{id}/leave", self._leave, methods=["POST"]),
            Route("/agents/{agent}", self._for_agents(self._agent), methods=["GET"]),
            Route("/agents/{agent}/chats/{id}/accept", self._for_agents(self._accept), methods=["POST"]),
            Route("/agents/{agent}/chats/{id}/messages", self._for_agents(self._agent_writes),
                  methods=["POST"]),
            Route("/agents/{agent}/chats/{id}/complete", self._for_agents(self._complete),
                  methods=["POST"]),
        ], exception_handlers={CarusoError: self._error})

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off")
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._uvicorn.run, name="webchat", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._uvicorn.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise CarusoError(f"webchat could not listen on 127.0.0.1:{self.port}")
            time.sleep(0.02)
        self.port = self._uvicorn.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
            self._thread.join(timeout=10)

    def info(self) -> dict[str, Any]:
        return {"url": f"http://127.0.0.1:{self.port}", "queue": self.queue}

    # -- channel ---------------------------------------------------------------------

    def send(self, interaction: dict[str, Any], agent: str, text: str) -> None:
        self.transcripts.add(interaction["id"], agent, text)

    def messages(self, interaction: str) -> list[dict[str, Any]]:
        return self.transcripts.of(interaction)

    # -- HTTP ------------------------------------------------------------------------

    @staticmethod
    def _page(name: str, media_type: str) -> Callable[[Request], Awaitable[Response]]:
        content = resources.files("caruso_channels").joinpath(name).read_bytes()

        async def serve(request: Request) -> Response:
            return Response(content, media_type=media_type, headers=PAGE_HEADERS)
        return serve

    def _for_agents(self, endpoint: Callable[[Request], Awaitable[Response]]
                    ) -> Callable[[Request], Awaitable[Response]]:
        """``endpoint`` for callers presenting the agent token."""
        async def guarded(request: Request) -> Response:
            presented = request.headers.get("authorization", "")
            if not self.agent_token or not hmac.compare_digest(
                    presented.encode(), f"Bearer {self.agent_token}".encode()):
                raise NotAuthorized("agent endpoints need the header Authorization: Bearer <agent_token>")
            return await endpoint(request)
        return guarded

    async def _error(self, request: Request, error: CarusoError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
        return JSONResponse({"error": error.message}, status_code=status)

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        """The request's JSON object (empty body: ``{}``); at most MAX_BODY bytes."""
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise InvalidInput(f"the body is larger than {MAX_BODY} bytes")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise InvalidInput("the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise InvalidInput("the body must be a JSON object")
        return body

    @classmethod
    async def _text(cls, request: Request, key: str = "text") -> str:
        value = (await cls._json(request)).get(key)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"the body needs a non-empty string {key!r}")
        return value

    async def _start_chat(self, request: Request) -> JSONResponse:
        text = await self._text(request)
        customer = await self._text(request, "customer")
        chat = self.server.arrive(self.queue, channel=NAME, customer=customer)
        self.transcripts.add(chat["id"], customer, text)
        return JSONResponse({"id": chat["id"], "state": chat["state"]}, status_code=201)

    async def _customer_writes(self, request: Request) -> JSONResponse:
        chat = self.server.interaction(request.path_params["id"])
        self.transcripts.add(chat["id"], chat["customer"], await self._text(request))
        return JSONResponse({"ok": True})

    async def _read(self, request: Request) -> JSONResponse:
        chat_id = request.path_params["id"]
        try:
            state = self.server.interaction(chat_id)["state"]
        except NotFound:
            state = "ended"
        after = int(request.query_params.get("after", "0") or 0)
        return JSONResponse({"messages": self.transcripts.of(chat_id, after), "state": state})

    async def _leave(self, request: Request) -> JSONResponse:
        self.server.abandon(request.path_params["id"])
        return JSONResponse({"ok": True})

    async def _agent(self, request: Request) -> JSONResponse:
        return JSONResponse(self.server.agent(request.path_params["agent"]))

    async def _accept(self, request: Request) -> JSONResponse:
        return JSONResponse(self.server.accept(request.path_params["agent"], request.path_params["id"]))

    async def _agent_writes(self, request: Request) -> JSONResponse:
        self.server.send(request.path_params["agent"], request.path_params["id"], await self._text(request))
        return JSONResponse({"ok": True})

    async def _complete(self, request: Request) -> JSONResponse:
        body = await self._json(request)
        self.server.complete(request.path_params["agent"], request.path_params["id"],
                             str(body.get("disposition", "")))
        return JSONResponse({"ok": True})
