"""The ``webchat`` channel: customers chat from a web page over HTTP (JSON).

Customer endpoints (``GET /`` is a chat page using them)::

    GET  /                                                      the chat page
    POST /chats               {"text", "pass"?} -> {"id", "key", "state"}   starts a chat in the queue
    POST /chats/{id}/messages {"text"}                          customer writes
    GET  /chats/{id}/messages?after=N                           -> {"messages", "state"}
    POST /chats/{id}/leave                                      customer ends the chat

The customer reads the agent's messages as from ``agent``, never an agent's user name.
Writing to a chat that ended is Conflict "this chat has ended". Leaving a chat still waiting
abandons it; leaving a connected one adds "(left the chat)" for the agent, who completes it.
The chat page keeps its chat (id and key) in the tab's session storage, so a reload goes on
with it.

A chat's customer comes only from a pass (:mod:`caruso_comm.channels.chatpass`): a portal asks
for one (``chat_pass``, through the communication server's ``chat_pass``) for a customer
who signed in there, and opens the chat page with it. A chat started without a pass is
anonymous: its interaction has no customer and no address, so an agent's screen pop finds
nobody. The endpoints of one chat need the header ``Authorization: Bearer <key>`` with the
key its start returned, so the interaction id (which agents, monitors and logs see) does
not open the conversation.

Bounds: ``starts_per_minute`` new chats per client address (an IPv6 address counts by its
/64 network), ``max_messages`` customer messages and ``max_bytes`` bytes of customer text
per chat, ``MAX_TEXT`` characters per message, ``MAX_BODY`` bytes per request body; the
HTTP server's ``max_connections`` and ``request_timeout`` (see
:mod:`caruso_core.webserver`). The chat page may be framed only by the origins in
``frame_ancestors`` (none by default).

Agents answer through the service (``accept``, ``send``, ``complete``) or here, with
the header ``Authorization: Bearer <agent_token>`` (without an ``agent_token`` in the
configuration these endpoints are off)::

    GET  /agents/{agent}                                        -> the agent
    POST /agents/{agent}/chats/{id}/accept | /messages {"text"} | /complete {"disposition"}

It listens on 127.0.0.1 only; customers reach it through a proxy on the same host, whose
``X-Forwarded-For`` names the client address (``public_url`` is where they reach it). The
token is one secret for all agents: the front office (or a proxy that authenticates each
agent) holds it, not the agents' browsers.
"""
from __future__ import annotations

import collections
import hashlib
import ipaddress
import json
import math
import re
import secrets
from importlib import resources
from typing import Any, Awaitable, Callable, Mapping

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from caruso_core.context import HostContext
from caruso_core.credentials import same
from caruso_core.errors import CarusoError, ConfigError, Conflict, InvalidInput, NotAuthorized, NotFound, Unavailable
from caruso_core.throttle import Throttle
from caruso_core.webserver import MAX_CONNECTIONS, REQUEST_TIMEOUT, HttpServer, Limits
from caruso_core.digits import digits

from caruso_comm.channels.chatpass import ChatPasses
from caruso_comm.channels.listening import ListeningChannel
from caruso_comm.channels.transcript import shown

NAME = "webchat"
MAX_BODY = 16 * 1024
MAX_TEXT = 2000
KEPT_CHATS = 10_000          # chats whose keys and counts are kept (as their transcripts)
VISITOR = "visitor"          # the sender of an anonymous customer's messages
AGENT = "agent"              # who answers, as the customer's page names them (never by their user name)
LEFT = "(left the chat)"     # what the agent reads when the customer ends a connected chat
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
PUBLIC_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?")


class TooMany(CarusoError):
    """Too many chats from one address, or messages in one chat."""


class TooLarge(CarusoError):
    """A request body, a message or a chat's text beyond its bound."""


STATUS = {InvalidInput: 400, NotAuthorized: 403, NotFound: 404, Conflict: 409, TooLarge: 413, TooMany: 429,
          Unavailable: 503}


@attrs.define
class _Chat:
    """A chat started here: the digest of the key of its customer endpoints, who writes, what
    was written."""

    digest: str
    sender: str
    messages: int = 0
    bytes: int = 0
    left: bool = False           # the customer ended it (said to the agent once)

    def take(self, text: str, max_messages: int, max_bytes: int) -> None:
        """Count one customer message; TooMany or TooLarge (counting nothing) beyond the bounds."""
        size = len(text.encode("utf-8"))
        if self.messages >= max_messages:
            raise TooMany(f"a chat has at most {max_messages} messages: start a new one")
        if self.bytes + size > max_bytes:
            raise TooLarge(f"a chat has at most {max_bytes} bytes of text: start a new one")
        self.messages, self.bytes = self.messages + 1, self.bytes + size


class WebChat(ListeningChannel):
    """HTTP chat for the queue ``queue``, on ``127.0.0.1:port`` (0: a free port); handed over
    in a hot-swap with its chats and passes (:mod:`caruso_comm.channels.listening`)."""

    label = "webchat"
    replaced = "the chat service is being replaced: send it again in a moment"

    def __init__(self, server: Any, context: HostContext, queue: str, port: int = 0,
                 agent_token: str | None = None, public_url: str | None = None, frame_ancestors: list[str] | None = None,
                 starts_per_minute: int = 10, max_messages: int = 100, max_bytes: int = 32 * 1024,
                 max_connections: int = MAX_CONNECTIONS, request_timeout: float = REQUEST_TIMEOUT) -> None:
        for key, value in (("starts_per_minute", starts_per_minute), ("max_messages", max_messages),
                           ("max_bytes", max_bytes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"webchat {key} must be a positive whole number, not {value!r}")
        if max_bytes < MAX_TEXT * 4:
            raise ConfigError(f"webchat max_bytes must hold one message of {MAX_TEXT} characters "
                              f"({MAX_TEXT * 4} bytes), not {max_bytes!r}")
        if public_url is not None and not (isinstance(public_url, str) and PUBLIC_URL.fullmatch(public_url)):
            raise ConfigError(f"webchat public_url {public_url!r} must look like https://chat.example.com")
        if not isinstance(frame_ancestors, (list, type(None))) or not all(
                isinstance(origin, str) and ORIGIN.fullmatch(origin) for origin in frame_ancestors or ()):
            raise ConfigError(f"webchat frame_ancestors must be a list of origins such as "
                              f"https://www.example.com, not {frame_ancestors!r}")
        super().__init__()
        self.server = server
        self.context = context
        self.agent_token = agent_token
        self.queue = queue
        self.port = port
        self.public_url = public_url.rstrip("/") if public_url else None
        self.max_messages, self.max_bytes = max_messages, max_bytes
        self.transcripts = server.transcripts(NAME)
        self._chats: collections.OrderedDict[str, _Chat] = collections.OrderedDict()
        self._passes = ChatPasses()
        self._starts = Throttle(starts_per_minute, 60.0)
        self._page_headers = _page_headers(frame_ancestors or [])
        self._app = Starlette(routes=[
            Route("/", self._page("webchat.html", "text/html; charset=utf-8"), methods=["GET"]),
            Route("/chat.js", self._page("webchat.js", "text/javascript; charset=utf-8"), methods=["GET"]),
            Route("/favicon.ico", _no_icon, methods=["GET"]),
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
        self._limits = Limits.configured("webchat", max_connections, request_timeout)
        self._http: HttpServer | None = None

    # -- hot-swap -------------------------------------------------------------------

    def _work(self) -> dict[str, Any]:
        """The chats started here (their keys' digests and counts) and the passes' key."""
        return {"chats": {chat_id: attrs.asdict(chat) for chat_id, chat in self._chats.items()},
                "passes": self._passes.export_state()}

    def _take_work(self, state: Mapping[str, Any]) -> None:
        self._chats = collections.OrderedDict((chat_id, _Chat(**chat)) for chat_id, chat in state["chats"].items())
        self._passes.import_state(state["passes"])

    def _listen(self) -> int:
        http = HttpServer(self._app, self._limits, "webchat", proxies="127.0.0.1")
        port = http.start("127.0.0.1", self.port, shared=True)
        self._http = http
        return port

    def _unlisten(self) -> None:
        assert self._http is not None
        self._http.stop(10)
        self._http = None

    def info(self) -> dict[str, Any]:
        return {"url": self.public_url or f"http://127.0.0.1:{self.port}", "queue": self.queue}

    # -- channel ---------------------------------------------------------------------

    def send(self, interaction: dict[str, Any], agent: str, text: str) -> None:
        self.transcripts.add(interaction["id"], agent, text, _agent=True)

    def messages(self, interaction: str) -> list[dict[str, Any]]:
        return self.transcripts.of(interaction)

    def held(self, interactions: list[dict[str, Any]]) -> list[str]:
        """After a restart: the chats whose transcripts came back (their first message has the
        digest of the key) go on with the same key and counts."""
        held = []
        for interaction in interactions:
            messages = self.transcripts.own(interaction["id"])
            if not messages or "_key" not in messages[0]:
                continue
            sender = messages[0]["from"]
            own = [m["text"] for m in messages if m["from"] == sender]
            self._chats[interaction["id"]] = _Chat(messages[0]["_key"], sender, len(own),
                                                   sum(len(text.encode("utf-8")) for text in own))
            held.append(interaction["id"])
        return held

    def chat_pass(self, customer: str, name: str) -> dict[str, Any]:
        """``{"url", "expires"}``: the chat page with a pass that starts one chat as
        ``customer`` (shown to the agent as ``name``) until ``expires`` (Unix time)."""
        issued, expires = self._passes.issue(customer, name)
        return {"url": f"{self.info()['url']}/#pass={issued}", "expires": expires}

    # -- HTTP ------------------------------------------------------------------------

    def _page(self, name: str, media_type: str) -> Callable[[Request], Awaitable[Response]]:
        content = resources.files(__package__).joinpath(name).read_bytes()

        async def serve(request: Request) -> Response:
            return Response(content, media_type=media_type, headers=self._page_headers)
        return serve

    def _for_agents(self, endpoint: Callable[[Request], Awaitable[Response]]
                    ) -> Callable[[Request], Awaitable[Response]]:
        """``endpoint`` for callers presenting the agent token."""
        async def guarded(request: Request) -> Response:
            if not self.agent_token or not _bearer(request, self.agent_token):
                raise NotAuthorized("agent endpoints need the header Authorization: Bearer <agent_token>")
            return await endpoint(request)
        return guarded

    async def _error(self, request: Request, error: CarusoError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
        retry = error.details.get("retry_after")
        return JSONResponse({"error": error.message}, status_code=status,
                            headers={"Retry-After": str(retry)} if retry else None)

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        """The request's JSON object (empty body: ``{}``); TooLarge beyond MAX_BODY bytes,
        which are never read further."""
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise TooLarge(f"the body is larger than {MAX_BODY} bytes")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise InvalidInput("the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise InvalidInput("the body must be a JSON object")
        return body

    @staticmethod
    def _text(body: dict[str, Any], key: str = "text") -> str:
        value = body.get(key)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"the body needs a non-empty string {key!r}")
        if len(value) > MAX_TEXT:
            raise TooLarge(f"a message has at most {MAX_TEXT} characters")
        return value

    async def _start_chat(self, request: Request) -> JSONResponse:
        body = await self._json(request)
        with self.here():               # nothing awaits: the check and the count of a start are one step
            return self._start(request, body)

    def _start(self, request: Request, body: dict[str, Any]) -> JSONResponse:
        address = _address(request)
        wait = self._starts.wait(address)
        if wait > 0:
            raise TooMany(f"too many chats from your address: try again in {math.ceil(wait)} seconds",
                          retry_after=math.ceil(wait))
        unknown = sorted(set(body) - {"text", "pass"})
        if unknown:
            raise InvalidInput(f"unknown field(s) {', '.join(unknown)}: a chat's customer comes only from "
                               "a pass the portal gives to a signed-in customer")
        text = self._text(body)
        identity = self._passes.redeem(body["pass"]) if "pass" in body else None
        key = secrets.token_urlsafe(24)
        record = _Chat(_digest(key), identity["name"] if identity else VISITOR)
        record.take(text, self.max_messages, self.max_bytes)
        self._starts.hit(address)
        chat = self.server.arrive(self.queue, channel=NAME, customer=identity["customer"] if identity else None)
        self._chats[chat["id"]] = record
        while len(self._chats) > KEPT_CHATS:
            self._chats.popitem(last=False)
        self.transcripts.add(chat["id"], record.sender, text, _key=record.digest)
        return JSONResponse({"id": chat["id"], "key": key, "state": chat["state"]}, status_code=201)

    def _own_chat(self, request: Request) -> tuple[str, _Chat]:
        """The chat of the path and its record; NotFound unless the request has its key."""
        chat_id = request.path_params["id"]
        record = self._chats.get(chat_id)
        presented = request.headers.get("authorization", "")
        if record is None or not presented.startswith("Bearer ") or not same(_digest(presented[len("Bearer "):]),
                                                                            record.digest):
            raise NotFound(f"no chat {chat_id!r} for this key (the header Authorization: Bearer <key>)")
        return chat_id, record

    async def _customer_writes(self, request: Request) -> JSONResponse:
        self._own_chat(request)                 # the key first: nothing is read of a stranger's body
        text = self._text(await self._json(request))
        with self.here():
            chat_id, record = self._own_chat(request)
            self._live(chat_id)
            record.take(text, self.max_messages, self.max_bytes)
            self.transcripts.add(chat_id, record.sender, text)
        return JSONResponse({"ok": True})

    async def _read(self, request: Request) -> JSONResponse:
        """The chat's messages from the ``after``-th on, as the customer sees them (whoever
        answers is ``agent``), and its state."""
        chat_id, record = self._own_chat(request)
        after = request.query_params.get("after", "0") or "0"
        if not digits(after) or len(after) > 9:
            raise InvalidInput("after must be a whole number of messages")
        try:
            state = self._live(chat_id)["state"]
        except Conflict:
            state = "ended"
        messages = [{**shown(m), **({"from": AGENT} if m.get("_agent", m["from"] != record.sender) else {})}
                    for m in self.transcripts.own(chat_id, int(after))]
        return JSONResponse({"messages": messages, "state": state})

    async def _leave(self, request: Request) -> JSONResponse:
        """The customer ends the chat: one still waiting is abandoned; of a connected one the
        agent reads that the customer left (and completes it)."""
        with self.here():
            chat_id, record = self._own_chat(request)
            try:
                state = self._live(chat_id)["state"]
            except Conflict:
                return JSONResponse({"ok": True})                    # over already
            if state in ("waiting", "offered"):
                self.server.abandon(chat_id)
            elif not record.left:
                record.left = True
                self.transcripts.add(chat_id, record.sender, LEFT)
        return JSONResponse({"ok": True})

    def _live(self, chat_id: str) -> dict[str, Any]:
        """The chat's interaction; Conflict (without its id, which the customer never sees) once it ended."""
        try:
            return self.server.interaction(chat_id)
        except NotFound:
            raise Conflict("this chat has ended") from None

    async def _agent(self, request: Request) -> JSONResponse:
        return JSONResponse(self.server.agent(request.path_params["agent"]))

    async def _accept(self, request: Request) -> JSONResponse:
        with self.here():
            return JSONResponse(self.server.accept(request.path_params["agent"], request.path_params["id"]))

    async def _agent_writes(self, request: Request) -> JSONResponse:
        text = self._text(await self._json(request))
        with self.here():
            self.server.send(request.path_params["agent"], request.path_params["id"], text)
        return JSONResponse({"ok": True})

    async def _complete(self, request: Request) -> JSONResponse:
        body = await self._json(request)
        with self.here():
            self.server.complete(request.path_params["agent"], request.path_params["id"],
                                 str(body.get("disposition", "")))
        return JSONResponse({"ok": True})


async def _no_icon(request: Request) -> Response:
    """The page has no icon (browsers ask for one)."""
    return Response(status_code=204)


def _bearer(request: Request, secret: str) -> bool:
    """Whether the request's Authorization header is ``Bearer <secret>`` (constant time)."""
    presented = request.headers.get("authorization", "")
    return same(presented, f"Bearer {secret}")


def _digest(key: str) -> str:
    """What is kept of a chat's key (stored with its transcript): its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def _address(request: Request) -> str:
    """The client address a rate limit counts: an IPv6 address by its /64 network."""
    host = request.client.host if request.client else "unknown"
    try:
        parsed = ipaddress.ip_address(host)
    except ValueError:
        return host
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False)) if parsed.version == 6 else host


def _page_headers(frame_ancestors: list[str]) -> dict[str, str]:
    """The chat page's headers: framed only by ``frame_ancestors`` (none: by nobody)."""
    ancestors = " ".join(frame_ancestors) or "'none'"
    headers = {"Content-Security-Policy": f"default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                          f"frame-ancestors {ancestors}; base-uri 'none'",
               "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
    if not frame_ancestors:
        headers["X-Frame-Options"] = "DENY"
    return headers
