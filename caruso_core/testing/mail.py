"""A real SMTP server for tests (fixture ``smtp_server``), on 127.0.0.1, keeping what it receives;
``smtp_tls`` (session): a CA (``ca``: its certificate, ``ca_folder``) and a relay certificate
for 127.0.0.1 it signed (``relay``: certificate and key), for relays with TLS."""
from __future__ import annotations

import asyncio
import email
import email.message
import ssl
import time
import warnings
from pathlib import Path
from typing import Any, Iterator

import attrs
import pytest

from caruso_core.testing.processes import free_port


class SmtpServer:
    """An aiosmtpd server: ``host``, ``port``; ``messages`` and their ``recipients`` in arrival order.

    ``reply`` is what it answers to a message (``"250 OK"``; a test sets e.g. ``"554 5.7.1
    no"`` to refuse them), ``tried`` the ``time.monotonic()`` of every message offered,
    accepted or not. The fixture starts it; a test that wants a server to appear later
    makes one (``SmtpServer()`` has its port already, nothing listens on it) and calls
    ``start()`` and ``stop()`` itself.

    A relay with ``security`` ``"starttls"`` (required before anything else) or ``"tls"``
    (from the first byte) needs ``certificate``, the paths of its certificate and key;
    ``users`` (name: password) makes it require a login, after TLS. ``secured`` says of each
    message accepted whether it came encrypted, ``logins`` lists who logged in, ``sessions``
    how many connections messages came over. ``delay`` (seconds) holds each answer to a
    message back, as a slow relay does.
    """

    def __init__(self, security: str = "none", certificate: tuple[Path, Path] | None = None,
                 users: dict[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.messages: list[email.message.Message] = []
        self.recipients: list[list[str]] = []
        self.secured: list[bool] = []
        self.logins: list[str] = []
        self.tried: list[float] = []
        self.reply = "250 OK"
        self.delay = 0.0
        self._sessions: list[Any] = []
        self.security, self.certificate, self.users = security, certificate, users
        self._controller: Any = None

    @property
    def sessions(self) -> int:
        return len(self._sessions)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.tried.append(time.monotonic())
        if not any(seen is _session for seen in self._sessions):
            self._sessions.append(_session)
        if self.delay:
            await asyncio.sleep(self.delay)
        if not self.reply.startswith("2"):
            return self.reply
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(email.message_from_bytes(envelope.content))
        self.secured.append(self.security == "tls" or _session.ssl is not None)
        return self.reply

    def _authenticate(self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        name, password = data.login.decode(), data.password.decode()
        if (self.users or {}).get(name) != password:
            return AuthResult(success=False, handled=False)
        self.logins.append(name)
        return AuthResult(success=True)

    def start(self) -> "SmtpServer":
        from aiosmtpd.controller import Controller

        options: dict[str, Any] = {}
        if self.security != "none":
            assert self.certificate is not None, "a relay with TLS needs a certificate"
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, self.certificate))
            options = {"ssl_context": context} if self.security == "tls" else \
                {"tls_context": context, "require_starttls": True}
        if self.users is not None:
            # aiosmtpd sees only STARTTLS as TLS: from the first byte, logins are allowed as they are
            options.update(authenticator=self._authenticate, auth_required=True,
                           auth_require_tls=self.security != "tls")
        self._controller = (_first_byte_tls() if self.security == "tls" else Controller)(
            self, hostname=self.host, port=self.port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def _first_byte_tls() -> type:
    from aiosmtpd.controller import Controller

    class FirstByteTls(Controller):
        """Quiet about logins allowed without STARTTLS: the session is TLS from its first byte."""

        def factory(self) -> Any:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
                return super().factory()
    return FirstByteTls


@attrs.frozen
class RelayCertificates:
    ca: Path
    ca_folder: Path
    relay: tuple[Path, Path]


@pytest.fixture(scope="session")
def smtp_tls(tmp_path_factory: pytest.TempPathFactory) -> RelayCertificates:
    from caruso_core.certificates import make_ca, make_host

    folder = tmp_path_factory.mktemp("smtp-tls")
    certificate, _key = make_ca(folder / "ca")
    return RelayCertificates(certificate, folder / "ca", make_host("relay", ["127.0.0.1"], folder / "ca", folder / "relay"))


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()
