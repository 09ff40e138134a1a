"""The SMTP relay a component sends mail through: its settings, and a session with it.

Settings (every one optional; a component reads them from its configuration under a prefix,
``smtp_`` unless its documentation says otherwise):

``host`` (127.0.0.1), ``port`` (25; 465 is usual with ``tls``, 587 with ``starttls``),
``timeout`` (seconds for each step of the conversation: 30, at most 120), ``deadline`` (seconds
a session may last whatever the relay sends, so one that trickles its answers a byte at a
time cannot hold the sender: 600, at most 3600; past it the step under way fails),
``security``: ``none`` (plain SMTP: a relay on this host), ``starttls`` (the relay must offer
STARTTLS: the session is encrypted before anything else is said, or nothing is sent) or
``tls`` (TLS from the first byte); the relay's certificate must name ``host`` and be signed
by a system authority, or by one in ``ca_file`` (PEM) when given.
``username`` and ``password_file`` (the password on the file's first line; the file at most
1 KiB, readable by its owner only, as ``chmod 600`` leaves it): log in once the session is
encrypted. Credentials are refused over plain SMTP unless the relay is on this host
(loopback). The file is read again for each session, so a new password needs no restart.

Contract: :meth:`Relay.of` checks the settings (ConfigError naming the setting, one line);
:meth:`Relay.open` returns a session ready for ``sendmail``/``send_message``, or raises
``OSError`` or ``smtplib.SMTPException`` (unreachable, no STARTTLS, a certificate that does
not verify, a refused login, a password file that no longer passes the checks of the start)
after closing what it opened; :meth:`Relay.describe` says any error of a session in one line
naming the relay.
"""
from __future__ import annotations

import ipaddress
import os
import smtplib
import socket
import ssl
import stat
import threading
from pathlib import Path
from typing import Any, Mapping

import attrs

from caruso_core.errors import ConfigError, Unavailable, one_line

SECURITY = ("none", "starttls", "tls")
SETTINGS = ("host", "port", "timeout", "deadline", "security", "ca_file", "username", "password_file")
MAX_TIMEOUT = 120.0
MAX_DEADLINE = 3600.0
MAX_PASSWORD_FILE = 1024


@attrs.frozen
class Relay:
    """A checked relay (see the module's contract); ``str()`` is ``host:port``."""

    host: str = "127.0.0.1"
    port: int = 25
    timeout: float = 30.0
    deadline: float = 600.0
    security: str = "none"
    ca_file: str | None = None
    username: str | None = None
    password_file: str | None = None
    prefix: str = "smtp_"
    context: ssl.SSLContext | None = attrs.field(default=None, repr=False, eq=False)

    @classmethod
    def of(cls, settings: Mapping[str, Any], prefix: str = "smtp_", where: str = "settings",
           **defaults: Any) -> "Relay":
        """The relay ``settings`` describe with keys ``prefix + name``; ``defaults`` for names
        not given (e.g. ``timeout=10``)."""
        def get(name: str) -> Any:
            return settings.get(prefix + name, defaults.get(name, getattr(DEFAULT, name, None)))

        def refuse(name: str, said: str) -> ConfigError:
            return ConfigError(f"{where}: {prefix}{name} {said}")

        unknown = sorted(key for key in settings if key.startswith(prefix) and key[len(prefix):] not in SETTINGS)
        if unknown:
            raise ConfigError(f"{where}: unknown setting {unknown[0]!r} (the relay's: "
                              f"{', '.join(prefix + name for name in SETTINGS)})")

        host = get("host")
        if not isinstance(host, str) or not host or any(c.isspace() for c in host):
            raise refuse("host", f"is a host name or address, not {host!r}")
        port, timeout = _number(int, get("port"), refuse, "port"), _number(float, get("timeout"), refuse, "timeout")
        if not 0 < port < 65536:
            raise refuse("port", f"is 1 to 65535, not {port}")
        if not 0 < timeout <= MAX_TIMEOUT:
            raise refuse("timeout", f"is above 0 and at most {MAX_TIMEOUT:g} seconds, not {timeout:g}")
        deadline = _number(float, get("deadline"), refuse, "deadline")
        if not 0 < deadline <= MAX_DEADLINE:
            raise refuse("deadline", f"is above 0 and at most {MAX_DEADLINE:g} seconds, not {deadline:g}")
        security = get("security")
        if security not in SECURITY:
            raise refuse("security", f"is one of {', '.join(SECURITY)}, not {security!r}")
        ca_file = get("ca_file")
        context = None
        if security != "none" or ca_file is not None:
            try:                                    # once: loading the authorities costs milliseconds
                context = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
            except (OSError, ssl.SSLError) as error:
                raise refuse("ca_file", f"holds no certificates that can be read: {ca_file}: "
                                        f"{getattr(error, 'strerror', None) or one_line(error)}") from None
        username, password_file = get("username"), get("password_file")
        if (username is None) != (password_file is None):
            raise refuse("username", "and " + prefix + "password_file go together")
        if username is not None:
            if not isinstance(username, str) or not username or len(username) > 256:
                raise refuse("username", "is a non-empty name of at most 256 characters")
            if security == "none" and not _loopback(host):
                raise refuse("username", f"needs {prefix}security starttls or tls: the password would "
                                         f"cross the network in clear to {host}")
            _password(Path(str(password_file)), lambda said: refuse("password_file", said))
        return cls(host, port, timeout, deadline, security, None if ca_file is None else str(ca_file), username,
                   None if password_file is None else str(password_file), prefix, context)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    def open(self) -> smtplib.SMTP:
        """A session with the relay: connected, encrypted as ``security`` says, logged in."""
        password = None if self.password_file is None else _password(
            Path(self.password_file), lambda said: PasswordFileRefused(f"{self.prefix}password_file {said}"))
        session = _Session(self.host, self.port, self.timeout, self.deadline,
                           self.context if self.security == "tls" else None)
        try:
            if self.security == "starttls":
                session.starttls(context=self.context)  # SMTPNotSupportedError when not offered
                session.ehlo()
            if self.username is not None:
                session.login(self.username, password or "")
        except BaseException:
            session.close()
            raise
        return session

    def send(self, message: Any, what: str) -> None:
        """Send ``message`` in a session of its own; Unavailable ``WHAT was not sent: <the
        relay's failure>`` (one line) when the relay cannot be reached or refuses it."""
        try:
            with self.open() as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise Unavailable(f"{what} was not sent: {self.describe(error)}") from None

    def describe(self, error: BaseException) -> str:
        """One line: what went wrong with the relay."""
        if isinstance(error, smtplib.SMTPResponseException):
            text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) \
                else str(error.smtp_error)
            return f"{self} answered {error.smtp_code} {' '.join(text.split())}"
        if isinstance(error, smtplib.SMTPNotSupportedError) and "STARTTLS" in str(error):
            return f"{self}: {error} ({self.prefix}security is {self.security}; nothing was sent)"
        if isinstance(error, ConnectionRefusedError):
            return f"{self}: nothing takes mail there (connection refused): is the mail relay running?"
        return f"{self}: {error if isinstance(error, PasswordFileRefused) else one_line(error)}"


DEFAULT = Relay()


class PasswordFileRefused(OSError):
    """The password file, read again for a session, no longer passes the checks of the start."""


class _Session(smtplib.SMTP):
    """An SMTP session, TLS from the first byte when given a ``context``, whose connection is
    shut down once it has lasted ``deadline`` seconds from before it connected (the step under
    way, the TLS handshake included, then fails); closing the session ends the watch. The
    watch shuts down a duplicate of the connection's socket, which no wrapping replaces and
    no other connection can reuse before the session closes it."""

    def __init__(self, host: str, port: int, timeout: float, deadline: float,
                 context: ssl.SSLContext | None = None) -> None:
        self._context, self._cutter, self._expired = context, None, False
        self._guard = threading.Lock()
        self._watch = threading.Timer(deadline, self._cut)
        self._watch.daemon = True
        self._watch.start()
        try:
            super().__init__(host, port, timeout=timeout)
        except BaseException:
            self.close()
            raise

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        raw = super()._get_socket(host, port, timeout)
        with self._guard:
            self._cutter = raw.dup()
            expired = self._expired
        if expired:
            raw.close()
            raise socket.timeout(f"the session's deadline passed while connecting to {host}:{port}")
        return raw if self._context is None else self._context.wrap_socket(raw, server_hostname=host)

    def _cut(self) -> None:
        with self._guard:
            self._expired = True
            if self._cutter is not None:
                try:
                    self._cutter.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass                                    # the relay closed it already

    def close(self) -> None:
        self._watch.cancel()
        with self._guard:
            if self._cutter is not None:
                self._cutter.close()
                self._cutter = None
        super().close()


def close(session: smtplib.SMTP) -> None:
    """End the conversation politely, or just close the socket when the relay is gone."""
    try:
        session.quit()
    except (OSError, smtplib.SMTPException):
        session.close()


def _number(kind: Any, value: Any, refuse: Any, name: str) -> Any:
    if isinstance(value, bool):
        raise refuse(name, f"is a number, not {value!r}")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise refuse(name, f"is a number, not {value!r}") from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _password(path: Path, refuse: Any) -> str:
    try:
        with path.open("rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            content = file.read(MAX_PASSWORD_FILE + 1)
    except OSError as error:
        raise refuse(f"cannot be read: {path}: {error.strerror}") from None
    if mode & 0o077:
        raise refuse(f"may be read by other users (mode {stat.S_IMODE(mode):04o}): chmod 600 {path}")
    if len(content) > MAX_PASSWORD_FILE:
        raise refuse(f"is larger than {MAX_PASSWORD_FILE} bytes: {path}")
    try:
        lines = content.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise refuse(f"is not UTF-8 text: {path}") from None
    if not lines or not lines[0]:
        raise refuse(f"holds no password on its first line: {path}")
    return lines[0]
