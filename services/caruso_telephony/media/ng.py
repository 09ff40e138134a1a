"""rtpengine's ng control protocol: a request and its reply as UDP datagrams on 127.0.0.1.

Contract: :meth:`NgClient.request` sends ``<cookie> <bencoded dict>`` to rtpengine's
ng port and returns the reply's dict once its ``result`` is ``ok`` or ``pong``. Each try
waits ``timeout`` seconds; after ``retries`` more tries with the same cookie (rtpengine
answers a repeated cookie from its cache, so a command never runs twice) it raises
:class:`~caruso_core.errors.Unavailable`. An error reply raises
:class:`~caruso_core.errors.NotFound` when rtpengine knows no such call, else
:class:`MediaRefused` with rtpengine's reason. Datagrams from other addresses never
reach the client (its sockets are connected) and replies to other cookies (late
answers to earlier tries) are skipped. Thread-safe: a request takes a socket of its own
from a pool. Replies are decoded with :mod:`caruso_telephony.bencode`'s limits.
"""
from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from typing import Any, Mapping

from caruso_core.errors import CarusoError, NotFound, Unavailable
from caruso_telephony import bencode

MAX_DATAGRAM = 65535
log = logging.getLogger(__name__)


class MediaRefused(CarusoError):
    """rtpengine refused a command; the message names the command and rtpengine's reason."""


class NgClient:
    def __init__(self, port: int, timeout: float, retries: int) -> None:
        self.address = ("127.0.0.1", port)
        self.timeout = timeout
        self.retries = retries
        self._idle: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = False

    def request(self, command: str, fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
        cookie = secrets.token_hex(8).encode()
        datagram = cookie + b" " + bencode.encode({**(fields or {}), "command": command})
        sock = self._take()
        try:
            reply = self._exchange(sock, cookie, datagram)
        finally:
            self._give_back(sock)
        if reply is None:
            raise Unavailable(f"rtpengine did not answer '{command}' on 127.0.0.1:{self.address[1]} "
                              f"({self.retries + 1} tries of {self.timeout:g}s)")
        result = reply.get("result")
        if result in ("ok", "pong"):
            if "warning" in reply:
                log.warning("rtpengine warns about '%s': %s", command, reply["warning"])
            return reply
        reason = str(reply.get("error-reason", result))
        if reason.lower() == "unknown call-id":
            raise NotFound(f"rtpengine holds no call {fields.get('call-id') if fields else None!r}")
        raise MediaRefused(f"rtpengine refused '{command}': {reason}", command=command, reason=reason)

    def _exchange(self, sock: socket.socket, cookie: bytes, datagram: bytes) -> dict[str, Any] | None:
        for _ in range(self.retries + 1):
            deadline = time.monotonic() + self.timeout
            try:
                sock.send(datagram)
                while (left := deadline - time.monotonic()) > 0:
                    sock.settimeout(left)
                    answer_cookie, _, body = sock.recv(MAX_DATAGRAM).partition(b" ")
                    if answer_cookie == cookie:
                        return self._decode(body)
            except TimeoutError:
                continue
            except ConnectionRefusedError:
                time.sleep(min(self.timeout, 0.05))  # nothing listens (yet): try again shortly
        return None

    @staticmethod
    def _decode(body: bytes) -> dict[str, Any]:
        try:
            reply = bencode.decode(body, max_size=MAX_DATAGRAM)
        except bencode.BencodeError as error:
            return {"result": "error", "error-reason": f"unreadable reply ({error})"}
        return reply if isinstance(reply, dict) else {"result": "error", "error-reason": "reply is not a dictionary"}

    def _take(self) -> socket.socket:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect(self.address)
        return sock

    def _give_back(self, sock: socket.socket) -> None:
        with self._lock:
            if not self._stopped:
                self._idle.append(sock)
                return
        sock.close()

    def stop(self) -> None:
        """Close its sockets."""
        with self._lock:
            idle, self._idle, self._stopped = self._idle, [], True
        for sock in idle:
            sock.close()
