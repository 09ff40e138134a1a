"""What a caruso daemon reads from a peer, and for how long.

Contract (every daemon, with or without a deployment secret):

- A new connection costs no worker thread. The accept loop reads it without blocking
  until it has delivered one complete handshake message, within
  :attr:`Limits.handshake_seconds` of being accepted: at most :data:`HANDSHAKE_BYTES`,
  of type CONNECT, serialized with serpent, not compressed. Anything else is refused
  (with a one-line reason when the peer spoke Pyro) and closed, before a byte of payload
  is decoded.
- With a secret, the handshake's proof (:mod:`caruso_core.handshake`) is checked before
  its payload is decoded; without one, the bounded payload is decoded as it is.
- At most :attr:`Limits.max_pending` connections wait for their handshake; a new one
  beyond that closes the one that has waited longest.
- An accepted connection gets a worker of the daemon's pool (refused when none is free)
  and keeps it until it closes or sends nothing for :attr:`Limits.idle_seconds`. Every
  message header is checked before its payload is read: INVOKE or PING, serpent, only
  the flags caruso uses (no compression, batches or raw blobs), at most
  :attr:`Limits.max_message` bytes.
- A proxy checks every reply header the same way (CONNECTOK, CONNECTFAIL or RESULT) before
  Pyro5 reads its payload (:class:`CheckedReplies`): a peer answering on a service's
  address (a process that took a freed port) cannot make a client inflate or decode a bomb.
"""
from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import ssl
import threading
import time
import uuid
from typing import Any, Callable

import attrs
import Pyro5
import Pyro5.errors
from Pyro5 import core, protocol, serializers, socketutil
from Pyro5.callcontext import current_context
from Pyro5.svr_threads import NoFreeWorkersError

from caruso_core.handshake import ANNOTATION, Verifier

log = logging.getLogger("caruso.wire")

HEADER_SIZE = 40
HANDSHAKE_BYTES = 4096
SERPENT_ID = serializers.serializers["serpent"].serializer_id
ALLOWED_FLAGS = protocol.FLAGS_ONEWAY | protocol.FLAGS_CORR_ID
ACCEPTS_PER_ROUND = 64


def positive_number(name: str, default: float) -> float:
    """The number in environment variable ``name`` (above 0), else ``default``."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be above 0")
    return value


@attrs.frozen
class Limits:
    """Bounds of what a peer may send (see the module's contract)."""

    handshake_seconds: float = 5.0
    idle_seconds: float = 60.0
    max_message: int = 32 * 2**20
    max_pending: int = 2048

    @classmethod
    def from_environment(cls) -> "Limits":
        """The defaults, changed by ``CARUSO_HANDSHAKE_TIMEOUT``, ``CARUSO_IDLE_TIMEOUT`` (seconds)
        and ``CARUSO_MAX_MESSAGE_MB``."""
        default = cls()
        return cls(handshake_seconds=positive_number("CARUSO_HANDSHAKE_TIMEOUT", default.handshake_seconds),
                   idle_seconds=positive_number("CARUSO_IDLE_TIMEOUT", default.idle_seconds),
                   max_message=int(positive_number("CARUSO_MAX_MESSAGE_MB", default.max_message / 2**20) * 2**20))


def check_header(header: bytes, accepted: tuple[int, ...], max_size: int,
                 allowed_flags: int = ALLOWED_FLAGS) -> protocol.ReceivingMessage:
    """The parsed header, if caruso takes a message with it; else ProtocolError saying why."""
    protocol.ReceivingMessage.validate(header)
    message = protocol.ReceivingMessage(header)
    if message.type not in accepted:
        raise Pyro5.errors.ProtocolError(f"message type {message.type} is not taken here")
    if message.type != protocol.MSG_PING and message.serializer_id != SERPENT_ID:
        raise Pyro5.errors.ProtocolError("caruso speaks serpent only")
    if message.flags & ~allowed_flags:
        raise Pyro5.errors.ProtocolError("compressed, batched or raw messages are not taken")
    if message.data_size + message.annotations_size > max_size:
        raise Pyro5.errors.ProtocolError(f"message of {message.data_size + message.annotations_size} "
                                         f"bytes is over the limit of {max_size}")
    return message


def reply(sock: socket.socket, kind: int, seq: int, data: Any) -> None:
    """Send a handshake answer (CONNECTOK or CONNECTFAIL) serialized with serpent."""
    payload = serializers.serializers_by_id[SERPENT_ID].dumps(data)
    sock.sendall(protocol.SendingMessage(kind, 0, seq, SERPENT_ID, payload).data)


class _Arrival:
    """A connection that has not yet delivered its handshake."""

    __slots__ = ("sock", "deadline", "buffer", "header", "tls_ready")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buffer = bytearray()
        self.header: protocol.ReceivingMessage | None = None
        self.tls_ready = not isinstance(sock, ssl.SSLSocket)

    def wanted(self) -> int:
        if self.header is None:
            return HEADER_SIZE - len(self.buffer)
        return HEADER_SIZE + self.header.data_size + self.header.annotations_size - len(self.buffer)

    def advance(self) -> protocol.ReceivingMessage | None:
        """Read what has arrived; the message once complete, else None. Raises
        BlockingIOError to wait, EOFError when the peer left, ProtocolError to refuse."""
        if not self.tls_ready:
            self.sock.do_handshake()
            self.tls_ready = True
        while True:
            chunk = self.sock.recv(self.wanted())
            if not chunk:
                raise EOFError
            self.buffer += chunk
            if self.header is None and len(self.buffer) == HEADER_SIZE:
                if not self.buffer.startswith(b"PYRO"):
                    raise EOFError          # not a Pyro peer: nothing to answer
                self.header = check_header(bytes(self.buffer), (protocol.MSG_CONNECT,), HANDSHAKE_BYTES)
            if self.header is not None and self.wanted() == 0:
                self.header.add_payload(bytes(self.buffer[HEADER_SIZE:]))
                return self.header


class Listener:
    """Accepts a daemon's connections and hands authenticated ones to its worker pool."""

    def __init__(self, daemon: Any, limits: Limits, verifier: Verifier | None) -> None:
        self._daemon = daemon
        self._server = daemon.transportServer
        self._limits = limits
        self._verifier = verifier
        self._arrivals: dict[socket.socket, _Arrival] = {}
        self._selector = selectors.DefaultSelector()
        self._sessions: set[_Session] = set()
        self._sessions_lock = threading.Lock()

    def run(self, keep_going: Callable[[], bool]) -> None:
        """Serve until ``keep_going()`` is false or the daemon shuts down."""
        listening = self._server.sock
        listening.setblocking(False)
        if isinstance(listening, ssl.SSLSocket):
            listening.do_handshake_on_connect = False   # TLS handshakes happen in the loop below
        self._selector.register(listening, selectors.EVENT_READ)
        try:
            while keep_going() and not self._server.shutting_down and self._server.sock is not None:
                now = time.monotonic()
                wait = Pyro5.config.POLLTIMEOUT
                if self._arrivals:
                    wait = max(min(wait, next(iter(self._arrivals.values())).deadline - now), 0)
                for key, _ in self._selector.select(wait):
                    if key.fileobj is listening:
                        self._accept(listening)
                    elif key.fileobj in self._arrivals:    # not dropped earlier in this round
                        self._advance(self._arrivals[key.fileobj])
                self._expire(time.monotonic())
        except OSError:
            if keep_going() and not self._server.shutting_down:
                raise
        finally:
            for arrival in list(self._arrivals.values()):
                self._drop(arrival)
            self._selector.close()
            with self._sessions_lock:
                for session in self._sessions:      # their workers wake up and end
                    session.hang_up()

    def _accept(self, listening: socket.socket) -> None:
        for _ in range(ACCEPTS_PER_ROUND):
            try:
                sock, _address = listening.accept()
            except (BlockingIOError, ssl.SSLWantReadError):
                return
            except OSError as error:     # out of descriptors: make room, try on the next round
                log.warning("accept failed: %s", error)
                if self._arrivals:
                    self._drop(next(iter(self._arrivals.values())))
                return
            if self._server.shutting_down:
                sock.close()
                return
            if len(self._arrivals) >= self._limits.max_pending:
                self._drop(next(iter(self._arrivals.values())))
            sock.setblocking(False)
            arrival = _Arrival(sock, time.monotonic() + self._limits.handshake_seconds)
            self._arrivals[sock] = arrival
            self._selector.register(sock, selectors.EVENT_READ)

    def _advance(self, arrival: _Arrival) -> None:
        try:
            message = arrival.advance()
        except (BlockingIOError, ssl.SSLWantReadError):
            self._selector.modify(arrival.sock, selectors.EVENT_READ)
            return
        except ssl.SSLWantWriteError:
            self._selector.modify(arrival.sock, selectors.EVENT_WRITE)
            return
        except Pyro5.errors.ProtocolError as error:
            self._refuse(arrival, str(error))
            return
        except (EOFError, OSError, ValueError):
            self._drop(arrival)
            return
        if message is None:
            return
        why = self._verifier.check(message.annotations.get(ANNOTATION)) if self._verifier else None
        if why is not None:
            self._refuse(arrival, why)
            return
        self._forget(arrival)
        sock = arrival.sock
        sock.setblocking(True)
        sock.settimeout(self._limits.idle_seconds)
        session = _Session(self._daemon, sock, message, self._limits, self._sessions, self._sessions_lock)
        try:
            self._server.pool.process(session)
        except NoFreeWorkersError:
            session.forget()
            _close_quietly(sock, lambda: reply(sock, protocol.MSG_CONNECTFAIL, message.seq,
                                               "connection refused: the service is busy (no free worker)"))

    def _expire(self, now: float) -> None:
        while self._arrivals:
            oldest = next(iter(self._arrivals.values()))
            if oldest.deadline > now:
                return
            self._drop(oldest)

    def _refuse(self, arrival: _Arrival, why: str) -> None:
        log.info("refused a connection: %s", why)
        seq = arrival.header.seq if arrival.header is not None else 0
        self._forget(arrival)
        _close_quietly(arrival.sock, lambda: reply(arrival.sock, protocol.MSG_CONNECTFAIL, seq, why))

    def _drop(self, arrival: _Arrival) -> None:
        self._forget(arrival)
        _close_quietly(arrival.sock)

    def _forget(self, arrival: _Arrival) -> None:
        self._arrivals.pop(arrival.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(arrival.sock)


def _close_quietly(sock: socket.socket, last_words: Callable[[], None] | None = None) -> None:
    with contextlib.suppress(Exception):
        if last_words is not None:
            last_words()
    with contextlib.suppress(Exception):
        sock.close()


class CheckedConnection(socketutil.SocketConnection):
    """A served connection whose every message header caruso checks before Pyro5 reads it."""

    def __init__(self, sock: socket.socket, max_message: int) -> None:
        super().__init__(sock)
        self._max_message = max_message
        self._header = b""

    def await_message(self) -> None:
        """Wait (up to the idle timeout) for the next message and check its header."""
        header = super().recv(HEADER_SIZE)
        check_header(header, (protocol.MSG_INVOKE, protocol.MSG_PING), self._max_message)
        self._header = header

    def recv(self, size: int) -> bytes:
        if not self._header:
            return super().recv(size)
        part, self._header = self._header[:size], self._header[size:]
        return part if len(part) == size else part + super().recv(size - len(part))


class CheckedReplies(socketutil.SocketConnection):
    """A proxy's connection whose every reply header caruso checks (:func:`check_header`)
    before Pyro5 reads the reply's payload. Pyro5 reads a message as header parts, then
    the payload in one read of the size the header gave."""

    REPLIES = (protocol.MSG_CONNECTOK, protocol.MSG_CONNECTFAIL, protocol.MSG_RESULT)
    FLAGS = ALLOWED_FLAGS | protocol.FLAGS_EXCEPTION | protocol.FLAGS_ITEMSTREAMRESULT   # a remote error, an iterator

    def __init__(self, sock: socket.socket, objectId: str | None = None, keep_open: bool = False) -> None:
        super().__init__(sock, objectId, keep_open)
        self._max_message = Limits.from_environment().max_message
        self._header = b""
        self._payload_left = 0

    def recv(self, size: int) -> bytes:
        data = super().recv(size)
        if self._payload_left:
            self._payload_left -= len(data)
            return data
        self._header += data
        if len(self._header) >= HEADER_SIZE:
            message = check_header(self._header[:HEADER_SIZE], self.REPLIES, self._max_message, self.FLAGS)
            self._payload_left = message.data_size + message.annotations_size - (len(self._header) - HEADER_SIZE)
            self._header = b""
        return data


class _Session:
    """A worker's job: answer the handshake, then serve the connection's calls. It is in
    ``sessions`` from its making until it ends, so that a stopping daemon hangs up on it."""

    def __init__(self, daemon: Any, sock: socket.socket, handshake: protocol.ReceivingMessage,
                 limits: Limits, sessions: set["_Session"], lock: threading.Lock) -> None:
        self._daemon = daemon
        self._connection = CheckedConnection(sock, limits.max_message)
        self._handshake = handshake
        self._sessions, self._lock = sessions, lock
        with lock:
            sessions.add(self)

    def hang_up(self) -> None:
        """Close the connection under its worker (which then ends the session)."""
        with contextlib.suppress(OSError):
            self._connection.sock.shutdown(socket.SHUT_RDWR)

    def forget(self) -> None:
        with self._lock:
            self._sessions.discard(self)

    def __call__(self) -> None:
        connection = self._connection
        try:
            if not self._greet():
                return
            while True:
                connection.await_message()
                self._daemon.handleRequest(connection)
        except (OSError, Pyro5.errors.ConnectionClosedError, Pyro5.errors.TimeoutError,
                Pyro5.errors.SecurityError):
            pass        # the peer left, or stayed idle too long
        except Pyro5.errors.ProtocolError as error:
            log.warning("closed a connection: %s", error)
        except Exception:
            log.exception("closed a connection after an unexpected error")
        finally:
            with contextlib.suppress(Exception):
                self._daemon._clientDisconnect(connection)
            connection.close()
            self.forget()

    def _greet(self) -> bool:
        message = self._handshake
        current_context.correlation_id = (uuid.UUID(bytes=message.corr_id)
                                          if message.flags & protocol.FLAGS_CORR_ID else uuid.uuid4())
        try:
            data = serializers.serializers_by_id[SERPENT_ID].loads(message.data)
            if not isinstance(data, dict):
                raise Pyro5.errors.ProtocolError("malformed handshake")
            answer = {"handshake": self._daemon.validateHandshake(self._connection, data.get("handshake")),
                      "meta": self._daemon.objectsById[core.DAEMON_NAME].get_metadata(data.get("object"))}
        except Exception as error:
            reply(self._connection.sock, protocol.MSG_CONNECTFAIL, message.seq, str(error))
            return False
        reply(self._connection.sock, protocol.MSG_CONNECTOK, message.seq, answer)
        return True
