"""SIP over TCP for sippy, which has UDP and WebSocket transports only (RFC 3261 section 18.3).

Contract of :class:`TcpTransport`: it listens on the stack's address at the ports it is
told, and cuts each connection's byte stream into messages by their Content-Length (a
message without one cannot be delimited: the connection gets 400 if it was a request,
then closes). Every message goes to the stack's :meth:`~caruso_telephony.sip.stack.SipStack.receive`
in the loop thread with its :class:`Connection` as the transport, so sippy's responses go
back on the connection the request came on. :meth:`TcpTransport.route` gives sippy the
connection for a request to an address: the connection that came from that address or
whose requests named it in their top Via (the usual way back to a phone or a trunk),
else a new one. Bounded: a message's size and the time it may take to arrive, idle time,
connections in all and per remote address, bytes waiting to be sent; a connection over
any bound is closed. CRLF keep-alives (RFC 5626) are answered. One thread serves every
connection.
"""
from __future__ import annotations

import errno
import re
import selectors
import socket
import threading
import time
from typing import Any

import attrs

from caruso_telephony.sip.message import header_block, reply, salvage

CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*([0-9]{1,7})[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
TOP_VIA = re.compile(rb"^(?:via|v)[ \t]*:[ \t]*SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*TCP[ \t]+([^;:\s,]+)(?::([0-9]{1,5}))?",
                     re.IGNORECASE | re.MULTILINE)
PING, PONG = b"\r\n\r\n", b"\r\n"
READ_SIZE = 65536
TICK = 1.0


@attrs.frozen
class TcpLimits:
    """``message_bytes``: one message; ``message_seconds``: from a message's first byte to
    its last; ``idle_seconds``: without any byte either way; ``connections`` in all and
    ``per_address`` from one IP address; ``send_bytes``: waiting to be sent on one connection."""

    message_bytes: int = 16384
    message_seconds: float = 10.0
    idle_seconds: float = 900.0
    connections: int = 512
    per_address: int = 32
    send_bytes: int = 262144


class Options:
    """What sippy asks of a transport's options: a connection is never a wildcard socket."""

    def isWildCard(self) -> bool:
        return False


class Connection:
    """One TCP connection as sippy sees a transport (``send_to``, ``getSIPaddr``); its
    Via and Contact show the listening address."""

    transport = "tcp"

    def __init__(self, owner: "TcpTransport", sock: socket.socket, remote: tuple[str, int]) -> None:
        self.owner = owner
        self.sock = sock
        self.remote = remote
        self.uopts = Options()
        self.inbox = b""
        self.outbox = bytearray()
        self.message_started: float | None = None
        self.last_activity = time.monotonic()
        self.connected = True
        self.closing = False
        self.closed = False

    def getSIPaddr(self) -> tuple[tuple[str, int], str]:
        return (self.owner.address, self.owner.ports[0] if self.owner.ports else 0), "tcp"

    def addr2str(self, address: Any) -> str:
        return f"tcp:{self.remote[0]}:{self.remote[1]}"

    def send_to(self, data: bytes | str, address: Any = None) -> None:
        self.owner.queue(self, data.encode("utf-8") if isinstance(data, str) else bytes(data))

    def __repr__(self) -> str:
        return f"<tcp {self.remote[0]}:{self.remote[1]}>"


class TcpTransport:
    """See the module's contract; ``stack`` is the :class:`~caruso_telephony.sip.stack.SipStack`."""

    def __init__(self, stack: Any, limits: TcpLimits = TcpLimits()) -> None:
        self.stack = stack
        self.limits = limits
        self.address = stack.address
        self.ports: list[int] = []
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._listeners: list[socket.socket] = []
        self._connections: set[Connection] = set()
        self._routes: dict[tuple[str, int], Connection] = {}
        self._pending: list[tuple[str, Any]] = []
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="sip-tcp", daemon=True)
        self._thread.start()

    # -- from other threads -------------------------------------------------------------------

    def listen(self, address: str, port: int) -> int:
        """Listen on ``address:port`` too (0: any free port); returns the port. The newest
        listener is the address connections show. Raises OSError when the port is taken."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((address, port))
            listener.listen(128)
        except OSError:
            listener.close()
            raise
        listener.setblocking(False)
        bound = listener.getsockname()[1]
        with self._lock:
            self.ports.insert(0, bound)
            self._pending.append(("listen", listener))
        self._wake()
        return bound

    def route(self, address: tuple[str, int]) -> Connection:
        """The connection a request to ``address`` goes on (see the module's contract)."""
        address = (str(address[0]), int(address[1]))
        with self._lock:
            connection = self._routes.get(address)
            if connection is not None and not connection.closed:
                return connection
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        connection = Connection(self, sock, address)
        connection.connected = False
        with self._lock:
            self._routes[address] = connection
            self._pending.append(("connect", connection))
        self._wake()
        return connection

    def queue(self, connection: Connection, data: bytes) -> None:
        with self._lock:
            if connection.closed:
                return
            if len(connection.outbox) + len(data) > self.limits.send_bytes:
                self._pending.append(("close", connection))
            else:
                connection.outbox += data
                self._pending.append(("write", connection))
        self._wake()

    def connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def close(self) -> None:
        self._stopping.set()
        self._wake()
        self._thread.join(5)

    def _wake(self) -> None:
        try:
            self._wake_write.send(b"x")
        except (BlockingIOError, OSError):
            pass

    # -- the transport thread -------------------------------------------------------------------

    def _serve(self) -> None:
        next_tick = time.monotonic() + TICK
        try:
            while not self._stopping.is_set():
                for key, events in self._selector.select(timeout=TICK):
                    self._dispatch(key, events)
                self._run_pending()
                if time.monotonic() >= next_tick:
                    self._expire()
                    next_tick = time.monotonic() + TICK
        finally:
            for connection in list(self._connections):
                self._drop(connection)
            for listener in self._listeners:
                listener.close()
            self._selector.close()
            self._wake_read.close()
            self._wake_write.close()

    def _dispatch(self, key: selectors.SelectorKey, events: int) -> None:
        if key.data == "wake":
            try:
                while self._wake_read.recv(4096):
                    pass
            except BlockingIOError:
                pass
        elif key.data == "listen":
            self._accept(key.fileobj)
        else:
            connection: Connection = key.data
            if events & selectors.EVENT_WRITE:
                self._write(connection)
            if events & selectors.EVENT_READ and not connection.closed:
                self._read(connection)

    def _run_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for action, subject in pending:
            if action == "listen":
                self._listeners.append(subject)
                self._selector.register(subject, selectors.EVENT_READ, "listen")
            elif action == "connect":
                self._connect(subject)
            elif action == "write" and not subject.closed and subject.connected:
                self._write(subject)
            elif action == "close":
                self._drop(subject)

    def _accept(self, listener: Any) -> None:
        try:
            sock, remote = listener.accept()
        except OSError:
            return
        same_address = sum(1 for connection in self._connections if connection.remote[0] == remote[0])
        if len(self._connections) >= self.limits.connections or same_address >= self.limits.per_address:
            sock.close()
            return
        sock.setblocking(False)
        connection = Connection(self, sock, (remote[0], remote[1]))
        self._add(connection)

    def _connect(self, connection: Connection) -> None:
        if len(self._connections) >= self.limits.connections:
            self._drop(connection)
            return
        code = connection.sock.connect_ex(connection.remote)
        if code not in (0, errno.EINPROGRESS):
            self._drop(connection)
            return
        self._add(connection)

    def _add(self, connection: Connection) -> None:
        with self._lock:
            self._connections.add(connection)
            self._routes.setdefault(connection.remote, connection)
        self._selector.register(connection.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, connection)

    def _write(self, connection: Connection) -> None:
        if not connection.connected:
            if connection.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self._drop(connection)
                return
            connection.connected = True
        with self._lock:
            data = bytes(connection.outbox)
        try:
            sent = connection.sock.send(data) if data else 0
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._drop(connection)
            return
        with self._lock:
            del connection.outbox[:sent]
            waiting = bool(connection.outbox)
        if sent:
            connection.last_activity = time.monotonic()
        if connection.closing and not waiting:
            self._drop(connection)
            return
        self._selector.modify(connection.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if waiting else 0),
                              connection)

    def _read(self, connection: Connection) -> None:
        try:
            data = connection.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(connection)
            return
        if connection.closing:
            return
        connection.last_activity = time.monotonic()
        if not connection.inbox:
            connection.message_started = connection.last_activity
        connection.inbox += data
        self._frame(connection)

    def _frame(self, connection: Connection) -> None:
        while connection.inbox and not connection.closed:
            if connection.inbox.startswith(PING):
                connection.inbox = connection.inbox[len(PING):]
                connection.send_to(PONG)
                continue
            if connection.inbox.startswith(b"\r\n"):
                connection.inbox = connection.inbox[2:]
                continue
            body_at = header_block(connection.inbox)
            if body_at < 0:
                if len(connection.inbox) > self.limits.message_bytes:
                    self._refuse(connection, connection.inbox, 513, "Message Too Large")
                break
            length = CONTENT_LENGTH.search(connection.inbox[:body_at])
            if length is None:
                self._refuse(connection, connection.inbox[:body_at], 400, "Bad Request")
                break
            end = body_at + int(length.group(1))
            if end > self.limits.message_bytes:
                self._refuse(connection, connection.inbox[:body_at], 513, "Message Too Large")
                break
            if len(connection.inbox) < end:
                break
            message, connection.inbox = connection.inbox[:end], connection.inbox[end:]
            connection.message_started = time.monotonic()
            self._deliver(connection, message, body_at)
        if not connection.inbox:
            connection.message_started = None

    def _deliver(self, connection: Connection, data: bytes, body_at: int) -> None:
        from sippy.Network_server import Remote_address
        from sippy.Time.MonoTime import MonoTime

        via = TOP_VIA.search(data[:body_at])
        if via is not None and not data.startswith(b"SIP/2.0 "):
            alias = (via.group(1).decode("latin-1"), int(via.group(2) or 5060))
            with self._lock:
                if self._routes.get(alias) is not connection:
                    self._routes[alias] = connection
        self.stack.post(self.stack.receive, data, Remote_address(connection.remote, "tcp"), connection, MonoTime())

    def _refuse(self, connection: Connection, head: bytes, status: int, reason: str) -> None:
        """Answer the request ``head`` begins (if it can be answered), then close."""
        request = salvage(head)
        connection.inbox = b""
        connection.message_started = None
        if request is None or request.first("via") is None:
            self._drop(connection)
            return
        connection.send_to(reply(request, status, reason).render())
        connection.closing = True

    def _expire(self) -> None:
        now = time.monotonic()
        for connection in list(self._connections):
            slow = connection.message_started is not None and now - connection.message_started > self.limits.message_seconds
            if slow or now - connection.last_activity > self.limits.idle_seconds:
                self._drop(connection)

    def _drop(self, connection: Connection) -> None:
        with self._lock:
            if connection.closed:
                return
            connection.closed = True
            self._connections.discard(connection)
            for address in [address for address, routed in self._routes.items() if routed is connection]:
                del self._routes[address]
        try:
            self._selector.unregister(connection.sock)
        except (KeyError, ValueError):
            pass
        connection.sock.close()

