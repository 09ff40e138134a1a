"""Serving an ASGI app with uvicorn in a thread, within bounds a flood of connections
cannot break (the front office, and the communication server's web chat).

uvicorn reads a request's head before the app sees it, with no time limit (its keep-alive
timeout stops at the first byte of a request), and it keeps every connection it accepts
(``limit_concurrency`` answers 503, but only once a request is read, and keeps the
connection). So a client that opens connections and sends half a request line holds them
for ever, until the process runs out of file descriptors. Here:

- a request must be read whole (head and body) within ``request_timeout`` seconds of the
  connection's start or of the previous response on it, else the connection is closed;
- beyond ``max_connections`` open connections, a new one closes the connection that has
  waited longest for its request, or itself when every other one is busy with a request
  (so a client that sends its request at once is served even during such a flood);
- at most ``backlog`` connections wait in the kernel's queue, and as many are accepted in
  one turn of the event loop (each is admitted on the next turn, and a connection given
  up is closed on the turn after: asyncio closes sockets one turn late).

The process then holds at most ``max_connections + 3 * backlog`` sockets of the server
(waiting in the kernel, accepted and not yet admitted, given up and not yet closed);
:meth:`HttpServer.start` raises the process's open-file limit to what that needs (plus a
reserve) if it is lower, or refuses to start when the hard limit is too low. TLS
handshakes are asyncio's: a connection counts once its handshake is done, and a handshake
not done in 60 seconds is dropped.

Behind a reverse proxy every client has the proxy's address. :func:`trusted_proxies`
checks a component's list of its proxies' addresses (IP addresses or networks; never
"everyone"); from those peers only, the server takes the client's address from
``X-Forwarded-For`` (the rightmost address that is not a trusted proxy, so a client
cannot name itself) and the scheme from ``X-Forwarded-Proto``.
"""
from __future__ import annotations

import asyncio
import collections
import functools
import ipaddress
import resource
import socket
import threading
import time
from typing import Any

import attrs
import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from caruso_core.errors import ConfigError

MAX_CONNECTIONS = 1000
REQUEST_TIMEOUT = 10.0        # seconds to send a whole request
BACKLOG = 128
MAX_HEAD = 16 * 1024          # bytes of a request line and headers
KEEP_ALIVE = 5                # seconds an idle connection stays open between requests
STOP_GRACE = 3.0              # seconds requests under way get when the server stops
FILES_RESERVE = 256           # descriptors left for everything else the process opens
START_TIMEOUT = 30.0


@attrs.frozen
class Limits:
    """The bounds of one server (see the module's description)."""

    max_connections: int = MAX_CONNECTIONS
    request_timeout: float = REQUEST_TIMEOUT
    backlog: int = BACKLOG

    @classmethod
    def configured(cls, owner: str, max_connections: Any, request_timeout: Any) -> Limits:
        """Limits from a component's configuration; ConfigError naming ``owner`` if a value
        is not a positive number (``max_connections`` a whole one)."""
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise ConfigError(f"{owner} max_connections must be a positive whole number, not {max_connections!r}")
        if isinstance(request_timeout, bool) or not isinstance(request_timeout, (int, float)) \
                or not 0 < request_timeout <= 300:
            raise ConfigError(f"{owner} request_timeout must be a number of seconds from 0 to 300, "
                              f"not {request_timeout!r}")
        return cls(max_connections, float(request_timeout))

    def open_files(self) -> int:
        """Descriptors the process needs for the server at most, with the reserve."""
        return self.max_connections + 3 * self.backlog + FILES_RESERVE


class _Connections:
    """The open connections of one server, and which of them are reading a request
    (oldest first)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.open: set[_BoundedProtocol] = set()
        self.reading: collections.OrderedDict[_BoundedProtocol, None] = collections.OrderedDict()

    def admit(self, newcomer: _BoundedProtocol) -> None:
        """Count ``newcomer`` (reading its request); over the limit, close the connection
        reading longest (``newcomer`` itself when no other one reads)."""
        self.open.add(newcomer)
        while len(self.open) > self.limits.max_connections:
            next(iter(self.reading), newcomer).cut()

    def forget(self, connection: _BoundedProtocol) -> None:
        self.open.discard(connection)
        self.reading.pop(connection, None)


class _BoundedProtocol(H11Protocol):
    """uvicorn's h11 protocol with the request-reading deadline and the connection limit."""

    def __init__(self, config: uvicorn.Config, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None, *, connections: _Connections) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._connections = connections
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_request()
        self._connections.admit(self)

    def handle_events(self) -> None:
        super().handle_events()
        if self._deadline is not None and self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._deadline.cancel()
            self._deadline = None
            self._connections.reading.pop(self, None)

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._await_request()   # before the next request, which may be buffered already
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def cut(self) -> None:
        """Close the connection: its request took too long, or it gives way to a newer one."""
        self._stop_waiting()
        self.transport.close()

    def _await_request(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self._connections.limits.request_timeout, self.cut)
        self._connections.reading[self] = None

    def _stop_waiting(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._connections.forget(self)


def trusted_proxies(owner: str, setting: Any) -> str | None:
    """The ``proxies`` of an :class:`HttpServer` from a component's ``trusted_proxies``
    setting: None (no proxy) or a list of IP addresses or networks; anything else is a
    one-line ConfigError naming ``owner``'s setting."""
    if setting is None:
        return None
    if not isinstance(setting, list) or not setting:
        raise ConfigError(f"{owner} trusted_proxies must be a list of the proxies' IP addresses or "
                          f"networks (e.g. [\"10.0.0.5\"]), not {setting!r}")
    for entry in setting:
        if not (isinstance(entry, str) and _network(entry)):
            why = " (it would let every client name itself)" if entry == "*" else ""
            raise ConfigError(f"{owner} trusted_proxies: {entry!r} is not an IP address or network{why}")
    return ",".join(setting)


def _network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


class HttpServer:
    """An ASGI app served by uvicorn in a daemon thread, within ``limits``.

    ``tls``: ``{"ssl_certfile", "ssl_keyfile"}`` to serve https. ``proxies``: the
    addresses whose ``X-Forwarded-For`` names the client (none: the peer is the client).
    """

    def __init__(self, app: Any, limits: Limits, name: str, *, tls: dict[str, str] | None = None,
                 proxies: str | None = None) -> None:
        self.limits = limits
        self._name = name
        protocol = functools.partial(_BoundedProtocol, connections=_Connections(limits))
        self._server = uvicorn.Server(uvicorn.Config(
            app, http=protocol, ws="none", lifespan="off", log_level="warning", access_log=False,
            server_header=False, proxy_headers=proxies is not None, forwarded_allow_ips=proxies,
            timeout_keep_alive=KEEP_ALIVE, backlog=limits.backlog, h11_max_incomplete_event_size=MAX_HEAD,
            timeout_graceful_shutdown=STOP_GRACE, **(tls or {})))
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int, shared: bool = False) -> int:
        """Listen on ``host:port`` (port 0: a free one) and serve; returns the port. OSError
        if the address cannot be listened on, ConfigError if the server does not start.
        ``shared``: other listeners that say so too (``SO_REUSEPORT``, the same user) may
        listen on the port at the same time: a successor takes it over without a gap."""
        _ensure_open_files(self.limits.open_files(), self._name)
        listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                        backlog=self.limits.backlog, reuse_port=shared)
        # accepted connections inherit it: without it, a response written in two parts (head,
        # body) waits for the client's delayed acknowledgement, about 40 ms a response
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [listener]},
                                        name=self._name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                listener.close()
                raise ConfigError(f"{self._name} did not start on {host}:{port}; see the log above")
            time.sleep(0.02)
        return listener.getsockname()[1]

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving: requests under way get :data:`STOP_GRACE` seconds to finish (a long
        poll is cut then); waits at most ``timeout`` seconds for the server to end."""
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)

    @property
    def serving(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def _ensure_open_files(needed: int, name: str) -> None:
    """Raise the process's soft limit of open files to ``needed`` if it is lower; ConfigError
    if the hard limit does not allow it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise ConfigError(f"{name} needs {needed} open files at most, but this process may open only {hard}: "
                          "lower max_connections or raise the limit (ulimit -n, LimitNOFILE=)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
