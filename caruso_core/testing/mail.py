"""A real SMTP server for tests (fixture ``smtp_server``), on 127.0.0.1, keeping what it receives."""
from __future__ import annotations

import email
import email.message
from typing import Any, Iterator

import pytest

from caruso_core.testing.processes import free_port


class SmtpServer:
    """An aiosmtpd server: ``host``, ``port``; ``messages`` and their ``recipients`` in arrival order."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.messages: list[email.message.Message] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    server = SmtpServer()
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
