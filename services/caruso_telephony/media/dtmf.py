"""rtpengine's DTMF reports: one JSON datagram per key press, sent to a UDP port on 127.0.0.1.

Contract: :class:`DtmfListener` binds a free port of 127.0.0.1 (``port``, given to
rtpengine as ``--dtmf-log-dest``); its thread reads datagrams of at most
``MAX_DATAGRAM`` bytes sent from 127.0.0.1. A report that is a JSON object with ``type``
``DTMF``, a str ``callid`` and ``source_tag`` (the leg that pressed) and an ``event`` 0-15
(RFC 4733: ``0``-``9``, ``*``, ``#``, ``A``-``D``), for which ``accept(call, tag)`` holds,
is passed on as ``deliver(call, tag, digit)``, in the order the reports arrive. Anything
else is dropped and counted in ``dropped``. rtpengine sends the same report for a
telephone-event and for an in-band tone it detected.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
from typing import Callable

MAX_DATAGRAM = 2048
DIGITS = "0123456789*#ABCD"
POLL_SECONDS = 0.25
log = logging.getLogger(__name__)


class DtmfListener:
    def __init__(self, accept: Callable[[str, str], bool], deliver: Callable[[str, str, str], None]) -> None:
        self.accept = accept
        self.deliver = deliver
        self.dropped = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(POLL_SECONDS)
        self.port: int = self._sock.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"media-dtmf-{self.port}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        self._sock.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                datagram, (host, _) = self._sock.recvfrom(MAX_DATAGRAM + 1)
            except TimeoutError:
                continue
            report = self._read(datagram) if host == "127.0.0.1" and len(datagram) <= MAX_DATAGRAM else None
            if report is None:
                self.dropped += 1
                log.debug("DTMF report dropped (%d bytes from %s)", len(datagram), host)
            else:
                self.deliver(*report)

    def _read(self, datagram: bytes) -> tuple[str, str, str] | None:
        try:
            report = json.loads(datagram)
        except ValueError:
            return None
        if not isinstance(report, dict) or report.get("type") != "DTMF":
            return None
        call, tag, event = report.get("callid"), report.get("source_tag"), report.get("event")
        if not (isinstance(call, str) and isinstance(tag, str) and type(event) is int and 0 <= event < 16):
            return None
        return (call, tag, DIGITS[event]) if self.accept(call, tag) else None
