"""The ``email`` channel: mail received by an SMTP server becomes an interaction; agents'
replies go out through an SMTP relay.

Configuration: ``queue``; ``address`` (the channel's own address, the replies' sender);
``port`` (SMTP listener on 127.0.0.1; 0: a free port chosen at start), ``max_connections``
(sessions at once, default 100) and ``timeout`` (seconds a session may send nothing, default
300; see :mod:`caruso_comm.channels.smtpd`); the relay replies are
sent through, with the settings of :mod:`caruso_core.smtp` named ``relay_host``, ``relay_port``,
``relay_security``, ``relay_username``, ``relay_password_file``, ``relay_ca_file``,
``relay_timeout``, ``relay_deadline``; ``customers`` (sender address -> customer id, checked
first); ``lookup`` (``{"object": "Customer", "field": "email", "key": "id"}``: the
customer is the first record of that object in the storage service ``caruso.storage/1``
(reached through the server's context) whose field equals the sender address). The sender
of a message is the interaction's
``from``; an unknown sender gives an interaction without a customer. ``questions``: mail to
its ``address`` is a question for the knowledge base instead (see
:mod:`caruso_comm.channels.questions`), acknowledged to its sender through the relay.

A message refused for what it holds gets SMTP 550 with the reason; one that cannot be
written now (a service unavailable, or the server being hot-swapped: the listener is handed
over as :mod:`caruso_comm.channels.listening` says) 451, so the sender's server tries again.
A message whose ``Message-ID`` came from the same sender already (sent again after an
answer lost on the way, say a session cut by a hot-swap) is accepted once more and not
entered again, as long as the first one's transcript is kept (the latest 10,000 e-mails,
and across hot-swaps and restarts those of the e-mails still in play).
"""
from __future__ import annotations

import email.policy
import logging
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from caruso_core.context import HostContext
from caruso_core.errors import CarusoError, ConfigError, InvalidInput, Unavailable
from caruso_core.smtp import Relay

from caruso_comm.channels.htmltext import html_text
from caruso_comm.channels.listening import ListeningChannel
from caruso_comm.channels.lookup import CustomerLookup
from caruso_comm.channels.questions import MailQuestions
from caruso_comm.channels.smtpd import MAX_CONNECTIONS, TIMEOUT, SmtpListener

NAME = "email"
MAX_MESSAGE = 10 * 1024 * 1024
log = logging.getLogger("caruso.comm.email")


class EmailChannel(ListeningChannel):
    label = "channel email"
    replaced = "the mail service is being replaced: send it again in a moment"

    def __init__(self, server: Any, context: HostContext, queue: str, address: str, port: int = 0,
                 customers: dict[str, str] | None = None, lookup: dict[str, str] | None = None,
                 questions: dict[str, Any] | None = None, max_connections: int = MAX_CONNECTIONS,
                 timeout: float = TIMEOUT, **relay: Any) -> None:
        super().__init__()
        unknown = sorted(name for name in relay if not name.startswith("relay_"))
        if unknown:
            raise ConfigError(f"channel email: unknown setting {unknown[0]!r}")
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise ConfigError(f"channel email: max_connections must be a positive whole number, not {max_connections!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
            raise ConfigError(f"channel email: timeout must be a number of seconds from 0 to 3600, not {timeout!r}")
        self.server, self.context = server, context
        self.queue = queue
        self.address = address
        self.relay = Relay.of(relay, prefix="relay_", where="channel email")
        self.port = port
        self._customer = CustomerLookup(context, lookup, field="email", known=customers, channel="email")
        self.questions = MailQuestions.of(questions, context)
        self.transcripts = server.transcripts(NAME)
        self._smtp = SmtpListener(self._answer, address.rpartition("@")[2] or "localhost",
                                  data_size_limit=MAX_MESSAGE, max_connections=max_connections, timeout=timeout)

    def _listen(self) -> int:
        return self._smtp.start(self.port, shared=True)

    def _unlisten(self) -> None:
        self._smtp.stop()

    def info(self) -> dict[str, Any]:
        answer = {"smtp": f"127.0.0.1:{self.port}", "address": self.address, "queue": self.queue}
        if self.questions is not None:
            answer["questions"] = self.questions.address
        return answer

    def receive(self, sender: str, content: bytes, recipients: list[str] | None = None) -> str | None:
        """A message from ``sender`` enters the queue, written through (the event log, and with
        ``persist`` the records and the message) before the SMTP server accepts it; returns the
        interaction id, that of the first one for a message received already. A message to the
        questions address is stored as a question instead (None). Unavailable while the server
        is handed over (see :meth:`here`)."""
        message = BytesParser(policy=email.policy.default).parsebytes(content)
        address = parseaddr(str(message.get("From", "")) or sender)[1] or sender
        body = message.get_body(preferencelist=("plain", "html"))
        text = _text(body) if body is not None else ""
        html = body is not None and body.get_content_type() == "text/html"
        if self.questions is not None and self.questions.addressed(recipients or []):
            self.questions.ask(address, text, html=html)
            if self.questions.reply:
                self._acknowledge(message, address, self.questions)
            return None
        message_id = str(message.get("Message-ID", "")).strip()
        shown = _shown(message, html_text(text) if html else text)
        customer = self._customer(address)        # it may ask the storage: before the hand-over's lock
        with self.here():
            taken = self.transcripts.received(address, message_id) if message_id else None
            if taken is not None:
                log.info("e-mail %s from %s received again: it is interaction %s already", message_id, address, taken)
                return taken
            interaction = self.server.arrive(self.queue, channel=NAME, from_=address, to=self.address,
                                             customer=customer)
            self.transcripts.add(interaction["id"], address, shown, subject=str(message.get("Subject", "")),
                                 message_id=message_id)
            self.server.write_through()
        return interaction["id"]

    def _answer(self, envelope: Any) -> str:
        """The SMTP server's reply to a message's data (see the module's description)."""
        try:
            self.receive(envelope.mail_from, envelope.content, list(envelope.rcpt_tos))
        except InvalidInput as error:
            log.warning("e-mail from %s refused: %s", envelope.mail_from, error.message)
            return f"550 {error.message}"
        except CarusoError as error:
            return f"451 {error.message}"
        return "250 Message accepted"

    def send(self, interaction: dict[str, Any], agent: str, text: str) -> None:
        first = (self.transcripts.of(interaction["id"]) or [{}])[0]
        reply = _reply(self.address, interaction["from"], first.get("subject", ""), first.get("message_id", ""), text)
        self.relay.send(reply, "the reply")
        self.transcripts.add(interaction["id"], agent, text, subject=str(reply["Subject"]))

    def _acknowledge(self, message: Any, address: str, questions: MailQuestions) -> None:
        """Tell the sender of a stored question so; a relay that fails is logged (the question stays)."""
        reply = _reply(questions.address, address, str(message.get("Subject", "")),
                       str(message.get("Message-ID", "")).strip(), questions.reply)
        try:
            self.relay.send(reply, f"the acknowledgement of an e-mail question to {address}")
        except Unavailable as error:
            log.warning("%s", error.message)

    def messages(self, interaction: str) -> list[dict[str, Any]]:
        return self.transcripts.of(interaction)

    def held(self, interactions: list[dict[str, Any]]) -> list[str]:
        """After a restart: the e-mails whose messages came back go on."""
        return [interaction["id"] for interaction in interactions if self.transcripts.of(interaction["id"])]


def _text(body: Any) -> str:
    """A body part's text; in a charset Python does not know (``unknown-8bit``), its bytes
    read as UTF-8, what cannot be read replaced (the customer's message is kept, not bounced)."""
    try:
        return str(body.get_content())
    except (LookupError, UnicodeError):
        return bytes(body.get_payload(decode=True) or b"").decode("utf-8", "replace")


def _shown(message: Any, text: str) -> str:
    """The text an agent reads of ``message``: its body's, and the attachments it does not show."""
    attached = [f"{part.get_filename() or 'unnamed'} ({part.get_content_type()})"
                for part in message.iter_attachments()] if message.is_multipart() else []
    return text + (f"\n[attached, not shown here: {', '.join(attached)}]" if attached else "")


def _reply(sender: str, to: str, subject: str, message_id: str, text: str) -> EmailMessage:
    """A reply from ``sender`` to ``to`` on the message of ``subject`` and ``message_id``,
    with its own Message-ID and Date, so that mail programs thread it."""
    reply = EmailMessage()
    reply["From"], reply["To"] = sender, to
    reply["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}".strip()
    reply["Date"] = formatdate(usegmt=True)
    reply["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")   # no resolver asked
    if message_id:
        reply["In-Reply-To"] = reply["References"] = message_id
    reply.set_content(text)
    return reply
