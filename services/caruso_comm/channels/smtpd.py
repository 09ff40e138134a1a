"""The e-mail channel's SMTP listener: aiosmtpd's protocol, served from an event loop in a
thread of its own on a socket bound here, so that a successor can listen on the same port
during a hot-swap (``shared``: ``SO_REUSEPORT``), within bounds a flood cannot break:

- at most ``max_connections`` sessions at once: a connection beyond them is answered
  ``421`` (try again later, as a sending server does) and closed;
- a session that sends no command (or no line of a message) for ``timeout`` seconds is
  closed (aiosmtpd's timeout: bytes of an unfinished line do not renew it), and every
  session is cut ``SESSIONS_SPAN`` times ``timeout`` after it began, whatever it sends or
  leaves unread (a client that reads no answers cannot hold its place);
- a message holds at most ``data_size_limit`` bytes (``552``), a command line 512 bytes,
  and a session gives each command at most ``CALL_LIMIT`` times (aiosmtpd's limits);
- the greeting names ``hostname`` (aiosmtpd would ask the resolver for it per connection);
  addresses may be UTF-8 (``SMTPUTF8``).

The handler's ``handle_DATA`` may block (it writes the message through): it runs on a
thread of the loop's executor, so the loop serves the other sessions meanwhile.
:meth:`SmtpListener.stop` closes the listener and cuts the sessions under way: a message
whose ``250`` was not sent is sent again by its sender (one already written before the cut
then arrives twice: messages are not told apart by their ``Message-ID``).
"""
from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any, Callable

from aiosmtpd.smtp import SMTP

from caruso_core.errors import ConfigError

MAX_CONNECTIONS = 100
TIMEOUT = 300.0
SESSIONS_SPAN = 6
CALL_LIMIT = 20
BACKLOG = 64
START_TIMEOUT = 30.0
log = logging.getLogger("caruso.comm.email")


class _Session(SMTP):
    """One SMTP connection, counted by its listener and cut at the session's end."""

    def __init__(self, listener: SmtpListener, handler: Any, **parameters: Any) -> None:
        super().__init__(handler, **parameters)
        self._listener = listener
        self._admitted = False
        self._span: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._admitted:                    # STARTTLS makes it anew: the same session
            super().connection_made(transport)
            return
        if len(self._listener.sessions) >= self._listener.max_connections:
            transport.write(b"421 too many connections: try again later\r\n")   # type: ignore[attr-defined]
            transport.close()
            return
        self._admitted = True
        self._listener.sessions.add(self)
        self._span = self.loop.call_later(self._listener.timeout * SESSIONS_SPAN, transport.abort)  # type: ignore[attr-defined]
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if not self._admitted:
            return
        self._listener.sessions.discard(self)
        if self._span is not None:
            self._span.cancel()
        super().connection_lost(error)

    def data_received(self, data: bytes) -> None:
        if self._admitted:
            super().data_received(data)

    def eof_received(self) -> bool | None:
        return super().eof_received() if self._admitted else False


class _Blocking:
    """aiosmtpd's handler calling ``receive(envelope)`` on the loop's executor: its answer
    (an SMTP reply line), or ``451`` for an error nobody foresaw (the sender tries again)."""

    def __init__(self, receive: Callable[[Any], str]) -> None:
        self._receive = receive

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        try:
            return await asyncio.get_running_loop().run_in_executor(None, self._receive, envelope)
        except Exception:
            log.exception("a message from %s could not be taken", envelope.mail_from)
            return "451 the message could not be taken now: send it again later"


class SmtpListener:
    """Serves ``receive(envelope)`` (returns the reply to a message's data: ``"250 ..."``,
    ``"451 ..."``, ...) on ``127.0.0.1``."""

    def __init__(self, receive: Callable[[Any], str], hostname: str, *, data_size_limit: int,
                 max_connections: int = MAX_CONNECTIONS, timeout: float = TIMEOUT) -> None:
        self.handler, self.hostname = _Blocking(receive), hostname
        self.data_size_limit, self.max_connections, self.timeout = data_size_limit, max_connections, timeout
        self.sessions: set[_Session] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None

    def start(self, port: int, shared: bool = False) -> int:
        """Listen on ``127.0.0.1:port`` (0: a free port) and serve; returns the port. OSError
        if the port cannot be listened on."""
        listener = socket.create_server(("127.0.0.1", port), backlog=BACKLOG, reuse_port=shared)
        self.sessions = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="email-smtp", daemon=True)
        self._thread.start()
        serving = asyncio.run_coroutine_threadsafe(
            self._loop.create_server(self._session, sock=listener, backlog=BACKLOG), self._loop)
        try:
            self._server = serving.result(START_TIMEOUT)
        except Exception as error:
            listener.close()
            self.stop()
            raise ConfigError(f"the e-mail channel's SMTP server did not start on 127.0.0.1:{port} ({error})") from None
        return listener.getsockname()[1]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening and close every session; waits at most ``timeout`` seconds."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(timeout)
        if not self._thread.is_alive():
            loop.close()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            if session.transport is not None:
                session.transport.abort()     # type: ignore[attr-defined]
        await asyncio.sleep(0)            # the transports close on the next turn

    def _session(self) -> _Session:
        return _Session(self, self.handler, data_size_limit=self.data_size_limit, hostname=self.hostname,
                        timeout=self.timeout, command_call_limit=CALL_LIMIT, enable_SMTPUTF8=True)
