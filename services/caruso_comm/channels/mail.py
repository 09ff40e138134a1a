"""The ``email`` channel: mail received by an SMTP server becomes an interaction; agents'
replies go out through an SMTP relay.

Configuration: ``queue``; ``address`` (the channel's own address, the replies' sender);
``port`` (SMTP listener on 127.0.0.1; 0: a free port chosen at start); ``relay_host``/``relay_port``
(where replies are sent); ``customers`` (sender address -> customer id, checked
first); ``lookup`` (``{"object": "Customer", "field": "email", "key": "id"}``: the
customer is the first record of that object in the storage service ``caruso.storage/1``
(reached through the server's context) whose field equals the sender address). The sender
of a message is the interaction's
``from``; an unknown sender gives an interaction without a customer.
"""
from __future__ import annotations

import email.policy
import smtplib
import socket
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from typing import Any

from aiosmtpd.controller import Controller

from caruso_core.context import HostContext
from caruso_core.errors import CarusoError

from caruso_comm.channels.lookup import CustomerLookup

NAME = "email"
MAX_MESSAGE = 10 * 1024 * 1024


class _Inbox:
    """aiosmtpd handler: every accepted message goes to the channel."""

    def __init__(self, channel: "EmailChannel") -> None:
        self.channel = channel

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        try:
            self.channel.receive(envelope.mail_from, envelope.content)
        except CarusoError as error:
            return f"451 {error.message}"
        return "250 Message accepted"


class EmailChannel:
    def __init__(self, server: Any, context: HostContext, queue: str, address: str, relay_host: str = "127.0.0.1",
                 relay_port: int = 25, port: int = 0, customers: dict[str, str] | None = None,
                 lookup: dict[str, str] | None = None) -> None:
        self.server, self.context = server, context
        self.queue = queue
        self.address = address
        self.relay = (relay_host, int(relay_port))
        self.port = port
        self._customer = CustomerLookup(context, lookup, field="email", known=customers, channel="email")
        self.transcripts = server.transcripts(NAME)
        self._controller: Controller | None = None

    def start(self) -> None:
        if not self.port:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
        self._controller = Controller(_Inbox(self), hostname="127.0.0.1", port=self.port,
                                      data_size_limit=MAX_MESSAGE)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def info(self) -> dict[str, Any]:
        return {"smtp": f"127.0.0.1:{self.port}", "address": self.address, "queue": self.queue}

    def receive(self, sender: str, content: bytes) -> str:
        """A message from ``sender`` enters the queue, written through (the event log, and with
        ``persist`` the records and the message) before the SMTP server accepts it; returns the
        interaction id."""
        message = BytesParser(policy=email.policy.default).parsebytes(content)
        address = parseaddr(str(message.get("From", "")) or sender)[1] or sender
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        interaction = self.server.arrive(self.queue, channel=NAME, from_=address, to=self.address,
                                         customer=self._customer(address))
        self.transcripts.add(interaction["id"], address, text, subject=str(message.get("Subject", "")),
                             message_id=str(message.get("Message-ID", "")))
        self.server.write_through()
        return interaction["id"]

    def send(self, interaction: dict[str, Any], agent: str, text: str) -> None:
        first = (self.transcripts.of(interaction["id"]) or [{}])[0]
        reply = EmailMessage()
        reply["From"] = self.address
        reply["To"] = interaction["from"]
        subject = first.get("subject", "")
        reply["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}".strip()
        if first.get("message_id"):
            reply["In-Reply-To"] = first["message_id"]
        reply.set_content(text)
        with smtplib.SMTP(*self.relay, timeout=30) as smtp:
            smtp.send_message(reply)
        self.transcripts.add(interaction["id"], agent, text, subject=str(reply["Subject"]))

    def messages(self, interaction: str) -> list[dict[str, Any]]:
        return self.transcripts.of(interaction)

    def held(self, interactions: list[dict[str, Any]]) -> list[str]:
        """After a restart: the e-mails whose messages came back go on."""
        return [interaction["id"] for interaction in interactions if self.transcripts.of(interaction["id"])]
