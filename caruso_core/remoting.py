"""Pyro5 transport, configured once: serpent only, loopback by default, shared secret.

Environment:

``CARUSO_MANAGER``
    Pyro5 URI of the service manager (default :data:`DEFAULT_MANAGER_URI`).
``CARUSO_SECRET``
    when set, every daemon refuses a connection whose handshake does not carry it,
    before any call; every proxy made here presents it.
``CARUSO_BIND``
    default address daemons bind to (default ``127.0.0.1``).

TLS between hosts uses Pyro5's own SSL settings (``PYRO_SSL=1`` and the
``PYRO_SSL_*`` certificate variables); see docs/operators.md.
"""
from __future__ import annotations

import hmac
import os
import select
from typing import Any

import Pyro5.api
import Pyro5.client
import Pyro5
import Pyro5.errors
import Pyro5.server

import caruso_core.errors  # noqa: F401  (registers caruso errors with the serializer)

MANAGER_OBJECT_ID = "caruso.manager"
HOST_OBJECT_ID = "caruso.host"
DEFAULT_MANAGER_PORT = 7717
DEFAULT_BIND = "127.0.0.1"
DEFAULT_MANAGER_URI = f"PYRO:{MANAGER_OBJECT_ID}@{DEFAULT_BIND}:{DEFAULT_MANAGER_PORT}"


def configure() -> None:
    """Set Pyro5's process-wide configuration the way caruso needs it (idempotent)."""
    Pyro5.config.SERIALIZER = "serpent"
    Pyro5.config.SERPENT_BYTES_REPR = True  # bytes travel as bytes literals and arrive as bytes
    Pyro5.config.SERVERTYPE = "thread"
    Pyro5.config.THREADPOOL_SIZE = max(Pyro5.config.THREADPOOL_SIZE, 256)
    Pyro5.config.DETAILED_TRACEBACK = False
    Pyro5.config.MAX_RETRIES = 0
    Pyro5.config.POLLTIMEOUT = 0.2


configure()


def manager_uri(uri: str | None = None) -> str:
    """The manager URI to use: the argument, else ``CARUSO_MANAGER``, else the default."""
    return uri or os.environ.get("CARUSO_MANAGER") or DEFAULT_MANAGER_URI


def bind_address(host: str | None = None) -> str:
    """The address to bind daemons to: the argument, else ``CARUSO_BIND``, else loopback."""
    return host or os.environ.get("CARUSO_BIND") or DEFAULT_BIND


def shared_secret() -> str | None:
    return os.environ.get("CARUSO_SECRET") or None


class Daemon(Pyro5.server.Daemon):
    """A Pyro5 daemon that refuses connections without the shared secret, if one is set."""

    def __init__(self, host: str | None = None, port: int = 0, secret: str | None = None) -> None:
        super().__init__(host=bind_address(host), port=port)
        self._secret = secret if secret is not None else shared_secret()

    def validateHandshake(self, conn: Any, data: Any) -> Any:
        if self._secret is not None:
            offered = data.get("secret") if isinstance(data, dict) else None
            if not isinstance(offered, str) or not hmac.compare_digest(offered, self._secret):
                raise Pyro5.errors.SecurityError("connection refused: wrong or missing CARUSO_SECRET")
        return "caruso"


def proxy(uri: str | Pyro5.api.URI, secret: str | None = None) -> Pyro5.client.Proxy:
    """A Pyro5 proxy that presents the shared secret in its handshake."""
    result = Pyro5.client.Proxy(uri)
    result._pyroHandshake = {"secret": secret if secret is not None else shared_secret()}
    return result


def is_connected(pyro_proxy: Pyro5.client.Proxy) -> bool:
    """Whether the proxy holds a connection the peer has not closed.

    Between calls a Pyro5 daemon never sends anything, so an idle connection that has
    something to read was closed by the peer. Such a proxy is released here, so that the
    next call connects anew (and a refused connection then proves the call never ran).
    """
    connection = pyro_proxy._pyroConnection
    if connection is None:
        return False
    try:
        readable, _, _ = select.select([connection.sock], [], [], 0)
    except (OSError, ValueError):
        readable = [connection.sock]
    if not readable:
        return True
    pyro_proxy._pyroRelease()
    return False
