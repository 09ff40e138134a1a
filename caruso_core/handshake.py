"""Who may connect: the deployment secret proven in a connection's first message.

A client never sends the secret itself. Its handshake carries an ``AUTH`` annotation::

    version (1 byte) | time (8 bytes, ms since the epoch) | nonce (16 bytes) | MAC (32 bytes)

where MAC is HMAC-SHA256 of the secret over the version, time, nonce and the port the
client connects to. A daemon reads annotations as raw bytes: it checks the proof before
it decodes anything of the handshake's payload (see :mod:`caruso_core.wire`).

Contract of :class:`Verifier`: a proof passes once, if its MAC is right, its time is
within :data:`WINDOW` seconds of the daemon's clock, and its nonce was not seen in the
last ``2 * WINDOW`` seconds (a replayed handshake is refused). Only proofs with a right
MAC are remembered, so only holders of the secret can fill the memory, which is bounded
by :data:`MAX_REMEMBERED` (beyond it, new proofs are refused until old ones age out).
"""
from __future__ import annotations

import collections
import hashlib
import hmac
import os
import struct
import threading
import time
from typing import Callable

ANNOTATION = "AUTH"
VERSION = 1
WINDOW = 60.0
MAX_REMEMBERED = 200_000
_LAYOUT = struct.Struct("!BQ16s")
PROOF_SIZE = _LAYOUT.size + 32

REFUSED = "connection refused: wrong or missing CARUSO_SECRET"


def _mac(secret: str, head: bytes, port: int) -> bytes:
    return hmac.new(secret.encode(), b"caruso-handshake" + head + port.to_bytes(4, "big"),
                    hashlib.sha256).digest()


def proof(secret: str, port: int, clock: Callable[[], float] = time.time) -> bytes:
    """A fresh proof that the sender holds ``secret``, for a connection to ``port``."""
    head = _LAYOUT.pack(VERSION, int(clock() * 1000), os.urandom(16))
    return head + _mac(secret, head, port)


class Verifier:
    """Checks proofs for one daemon (one port); thread-safe."""

    def __init__(self, secret: str, port: int, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._port = port
        self._clock = clock
        self._seen: collections.OrderedDict[bytes, float] = collections.OrderedDict()
        self._lock = threading.Lock()

    def check(self, offered: bytes | None) -> str | None:
        """None if ``offered`` proves the secret, else why not (one line)."""
        if offered is None or len(offered) != PROOF_SIZE:
            return REFUSED
        head, mac = bytes(offered[:_LAYOUT.size]), bytes(offered[_LAYOUT.size:])
        version, millis, nonce = _LAYOUT.unpack(head)
        if version != VERSION or not hmac.compare_digest(mac, _mac(self._secret, head, self._port)):
            return REFUSED
        now = self._clock()
        if abs(now - millis / 1000) > WINDOW:
            return (f"{REFUSED} (the handshake is more than {WINDOW:g}s away from this host's clock: "
                    "check the clocks)")
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now:
                self._seen.popitem(last=False)
            if nonce in self._seen:
                return f"{REFUSED} (a replayed handshake)"
            if len(self._seen) >= MAX_REMEMBERED:
                return "connection refused: too many new connections; try again shortly"
            self._seen[nonce] = now + 2 * WINDOW
        return None
