"""Pyro5 transport, configured once: serpent only, loopback by default, the deployment secret.

Environment:

``CARUSO_MANAGER``
    Pyro5 URI of the service manager (default :data:`DEFAULT_MANAGER_URI`), or the
    comma-separated URIs of a group of managers.
``CARUSO_SECRET``
    the deployment secret (else the file ``secret`` in the data folder, see
    :mod:`caruso_core.credentials`): every daemon refuses a connection whose handshake
    does not prove it, before decoding anything; every proxy made here proves it.
``CARUSO_BIND``
    default address daemons bind to (default ``127.0.0.1``).
``CARUSO_CALL_TIMEOUT``
    seconds a proxy waits for one call's answer (default :data:`DEFAULT_CALL_TIMEOUT`).
``CARUSO_CONNECT_TIMEOUT``
    seconds a proxy waits to connect: TCP, TLS and the handshake's answer (default
    :data:`DEFAULT_CONNECT_TIMEOUT`, never more than the call timeout); a host that does not
    answer (its machine gone, its link cut) is then known unreachable, and the call was not sent.
``CARUSO_HANDSHAKE_TIMEOUT``, ``CARUSO_IDLE_TIMEOUT``, ``CARUSO_MAX_MESSAGE_MB``
    what a daemon takes from a peer, see :mod:`caruso_core.wire`.

TLS between hosts uses Pyro5's own SSL settings (``PYRO_SSL=1`` and the
``PYRO_SSL_*`` certificate variables, see :class:`Tls`); see docs/operators.md.
"""
from __future__ import annotations

import functools
import os
import select
import threading
import types
from typing import Any, Callable

import attrs
import Pyro5
import Pyro5.api
import Pyro5.client
import Pyro5.errors
import Pyro5.server
import serpent
from Pyro5 import socketutil
from Pyro5.callcontext import current_context

import caruso_core.errors  # noqa: F401  (registers caruso errors with the serializer)
from caruso_core.errors import ConfigError
from caruso_core import credentials, handshake, wire

MANAGER_OBJECT_ID = "caruso.manager"
HOST_OBJECT_ID = "caruso.host"
DEFAULT_MANAGER_PORT = 7717
DEFAULT_BIND = "127.0.0.1"
DEFAULT_MANAGER_URI = f"PYRO:{MANAGER_OBJECT_ID}@{DEFAULT_BIND}:{DEFAULT_MANAGER_PORT}"
DEFAULT_CALL_TIMEOUT = 120.0
DEFAULT_CONNECT_TIMEOUT = 10.0
MAX_MANAGER_LIST = 4000


_BUILDING_AST = threading.RLock()


def one_ast_at_a_time(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` (which builds Python AST objects: serpent's ``loads``, ``ast.parse``)
    made safe to call from many threads at once. serpent disables the garbage collector
    around ``ast.literal_eval`` (a process-wide switch that another thread then turns back
    on mid-parse), and CPython 3.11 keeps the AST construction's recursion depth in shared
    state, so AST built in two threads at once fails now and then with "AST constructor
    recursion depth mismatch". Every such function wrapped here takes one lock; building
    AST holds the GIL anyway. The test kit wraps ``ast.parse`` too (pytest's assertion
    rewriting builds AST while hosts in threads decode)."""
    @functools.wraps(function)
    def serial(*args: Any, **kwargs: Any) -> Any:
        with _BUILDING_AST:
            return function(*args, **kwargs)
    return serial


@functools.cache
def configure() -> None:
    """Set Pyro5's process-wide configuration the way caruso needs it, once: the first
    daemon or proxy caruso makes does it (Pyro5 has only process-wide settings). Proxies
    then read through :class:`caruso_core.wire.CheckedReplies`."""
    serpent.loads = one_ast_at_a_time(serpent.loads)
    Pyro5.config.SERIALIZER = "serpent"
    Pyro5.config.SERPENT_BYTES_REPR = True  # bytes travel as bytes literals and arrive as bytes
    Pyro5.config.SERVERTYPE = "thread"
    Pyro5.config.THREADPOOL_SIZE = max(Pyro5.config.THREADPOOL_SIZE, 256)
    Pyro5.config.DETAILED_TRACEBACK = False
    Pyro5.config.MAX_RETRIES = 0
    Pyro5.config.POLLTIMEOUT = 0.2
    Pyro5.config.COMPRESSION = False
    Pyro5.config.MAX_MESSAGE_SIZE = wire.Limits.from_environment().max_message
    Pyro5.client.socketutil = types.SimpleNamespace(    # proxies check each reply's header first
        **{**{name: getattr(socketutil, name) for name in dir(socketutil) if not name.startswith("__")},
           "SocketConnection": wire.CheckedReplies})



@attrs.frozen
class Tls:
    """Two-way TLS of a process: the CA that signs every peer, and this host's certificate
    and key, used both by its daemons (server) and by its proxies (client)."""

    ca: str
    cert: str
    key: str

    def environment(self) -> dict[str, str]:
        """The variables Pyro5 reads at import: what a child process needs to speak this TLS."""
        return {f"PYRO_{key}": "1" if value is True else value for key, value in self._settings().items()}

    def apply(self) -> None:
        """Use this TLS in this process from now on (before its first daemon or proxy)."""
        for key, value in self._settings().items():
            setattr(Pyro5.config, key, value)

    def _settings(self) -> dict[str, Any]:
        return {"SSL": True, "SSL_CACERTS": self.ca, "SSL_SERVERCERT": self.cert, "SSL_SERVERKEY": self.key,
                "SSL_CLIENTCERT": self.cert, "SSL_CLIENTKEY": self.key, "SSL_REQUIRECLIENTCERT": True}


def manager_uri(uri: str | None = None, where: str = "--manager") -> str:
    """The manager URI to use: the argument, else ``CARUSO_MANAGER``, else the default.
    Either may be a Pyro5 URI or ``HOST:PORT`` (a port from 1 to 65535), or a comma-separated
    list of them (the managers of a group, returned as a list of Pyro5 URIs in the same
    form); anything else is a ConfigError naming it (the argument as ``where`` says)."""
    given = uri or os.environ.get("CARUSO_MANAGER") or DEFAULT_MANAGER_URI
    where = where if uri else "CARUSO_MANAGER"
    if len(given) > MAX_MANAGER_LIST:
        raise ConfigError(f"{where}: a list of {len(given)} characters is too long (at most {MAX_MANAGER_LIST})")
    return ",".join(_one_manager_uri(part.strip(), where) for part in given.split(","))


def manager_uris(uri: str) -> list[str]:
    """The addresses of a :func:`manager_uri` answer, in order."""
    return uri.split(",")


def _one_manager_uri(given: str, where: str) -> str:
    host, separator, port = given.rpartition(":")
    if not given.startswith("PYRO:") and separator and host and port.isdigit():
        given = f"PYRO:{MANAGER_OBJECT_ID}@{host}:{port}"
    try:
        parsed = Pyro5.api.URI(given)
    except Pyro5.errors.PyroError:
        parsed = None
    if parsed is None or parsed.protocol != "PYRO" or not parsed.host or not 0 < (parsed.port or 0) <= 65535:
        raise ConfigError(f"{where} {given!r}: give HOST:PORT (a port from 1 to 65535, e.g. 127.0.0.1:7717) "
                          f"or a Pyro5 URI (e.g. {DEFAULT_MANAGER_URI})")
    return given


def with_port(uri: str, port: int) -> str:
    """``uri`` (a manager URI, not a list) with another port."""
    given = manager_uri(uri)
    if "," in given:
        raise ConfigError(f"a port for one manager cannot apply to several ({given})")
    parsed = Pyro5.api.URI(given)
    return f"PYRO:{parsed.object}@{parsed.host}:{port}"


def bind_address(host: str | None = None) -> str:
    """The address to bind daemons to: the argument, else ``CARUSO_BIND``, else loopback."""
    return host or os.environ.get("CARUSO_BIND") or DEFAULT_BIND


def call_timeout() -> float:
    """Seconds a proxy waits for a call's answer: ``CARUSO_CALL_TIMEOUT`` or the default."""
    return wire.positive_number("CARUSO_CALL_TIMEOUT", DEFAULT_CALL_TIMEOUT)


def connect_timeout() -> float:
    """Seconds a proxy waits to connect: ``CARUSO_CONNECT_TIMEOUT`` or the default."""
    return wire.positive_number("CARUSO_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)


class Daemon(Pyro5.server.Daemon):
    """A Pyro5 daemon whose connections pass caruso's wire checks (:mod:`caruso_core.wire`)
    and, when a deployment secret is set, prove it before anything is decoded."""

    def __init__(self, host: str | None = None, port: int = 0, secret: str | None = None) -> None:
        """``secret``: the one to require; None: the deployment's, if any; ``""``: none."""
        configure()
        super().__init__(host=bind_address(host), port=port)
        secret = secret if secret is not None else credentials.deployment_secret()
        port = self.transportServer.sock.getsockname()[1]
        self._listener = wire.Listener(self, wire.Limits.from_environment(),
                                       handshake.Verifier(secret, port) if secret else None)

    def requestLoop(self, loopCondition: Callable[[], bool] = lambda: True) -> None:
        self._listener.run(loopCondition)

    def validateHandshake(self, conn: Any, data: Any) -> Any:
        return "caruso"


class Proxy(Pyro5.client.Proxy):
    """A Pyro5 proxy that proves the deployment secret when it connects, waits at most
    :func:`connect_timeout` to connect and its timeout for each answer."""

    def _Proxy__pyroCreateConnection(self, replaceUri: bool = False, connected_socket: Any = None) -> Any:
        answer_within = self._pyroTimeout
        self._pyroTimeout = min(answer_within or connect_timeout(), connect_timeout())
        saved = current_context.annotations
        secret = self.__dict__.get("_caruso_secret")
        if secret:
            current_context.annotations = {**saved, handshake.ANNOTATION: handshake.proof(secret, self._pyroUri.port)}
        try:
            return super()._Proxy__pyroCreateConnection(replaceUri, connected_socket)
        finally:
            current_context.annotations = saved
            self._pyroTimeout = answer_within


def proxy(uri: str | Pyro5.api.URI, secret: str | None = None, timeout: float | None = None) -> Proxy:
    """A proxy to ``uri`` proving ``secret`` (default: the deployment secret), each call
    bounded by ``timeout`` seconds (default: :func:`call_timeout`)."""
    configure()
    result = Proxy(uri)
    object.__setattr__(result, "_caruso_secret", secret if secret is not None else credentials.deployment_secret())
    result._pyroTimeout = timeout if timeout is not None else call_timeout()
    return result


def connected(pyro_proxy: Proxy) -> None:
    """Make sure the proxy holds a live connection, connecting now if it has none: a
    CommunicationError here proves that no call was sent."""
    if not is_connected(pyro_proxy):
        pyro_proxy._Proxy__pyroCreateConnection()


def is_connected(pyro_proxy: Pyro5.client.Proxy) -> bool:
    """Whether the proxy holds a connection the peer has not closed.

    Between calls a Pyro5 daemon never sends anything, so an idle connection that has
    something to read was closed by the peer. Such a proxy is released here, so that the
    next call connects anew (and a refused connection then proves the call never ran).
    """
    connection = pyro_proxy._pyroConnection
    if connection is None:
        return False
    poller = select.poll()        # not select(): descriptors above 1023 are common in busy processes
    try:
        poller.register(connection.sock, select.POLLIN)
        readable = poller.poll(0)
    except (OSError, ValueError):
        readable = [True]
    if not readable:
        return True
    pyro_proxy._pyroRelease()
    return False
