"""A real SMTP server for tests (fixture ``smtp_server``), on 127.0.0.1, keeping what it receives."""
from __future__ import annotations

import email
import email.message
import time
from typing import Any, Iterator

import pytest

from caruso_core.testing.processes import free_port


class SmtpServer:
    """An aiosmtpd server: ``host``, ``port``; ``messages`` and their ``recipients`` in arrival order.

    ``reply`` is what it answers to a message (``"250 OK"``; a test sets e.g. ``"554 5.7.1
    no"`` to refuse them), ``tried`` the ``time.monotonic()`` of every message offered,
    accepted or not. The fixture starts it; a test that wants a server to appear later
    makes one (``SmtpServer()`` has its port already, nothing listens on it) and calls
    ``start()`` and ``stop()`` itself.
    """

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.messages: list[email.message.Message] = []
        self.recipients: list[list[str]] = []
        self.tried: list[float] = []
        self.reply = "250 OK"
        self._controller: Any = None

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.tried.append(time.monotonic())
        if not self.reply.startswith("2"):
            return self.reply
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(email.message_from_bytes(envelope.content))
        return self.reply

    def start(self) -> "SmtpServer":
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()
