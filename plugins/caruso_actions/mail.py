"""Action ``email``: send a plain-text e-mail over SMTP.

Parameters: ``to`` (one address), ``subject``, ``body``, optional ``reply_to``. Nothing
is sent when the dialog's customer opted out of e-mail (:mod:`caruso_actions.consent`):
the result says ``{"to", "skipped": "opted out of email"}`` and the dialog goes on.
Engine settings: ``smtp_host`` (default 127.0.0.1), ``smtp_port`` (25), ``mail_from``
(``caruso@localhost``), ``smtp_timeout`` seconds (10). The message carries the action's
key in ``X-Caruso-Action`` and in its Message-ID, so a receiver can drop a duplicate.
"""
from __future__ import annotations

import email.message
import email.utils
import re
import smtplib
from typing import Any

from caruso_actions.consent import opted_out
from caruso_core.errors import CarusoError, InvalidInput
from caruso_scripts.actions import ActionContext

ADDRESS = re.compile(r"[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}")


class MailFailed(CarusoError):
    """The SMTP server could not be reached or refused the message."""


def send_email(context: ActionContext, to: str, subject: str, body: str, reply_to: str | None = None) -> dict[str, Any]:
    if not isinstance(to, str) or not ADDRESS.fullmatch(to):
        raise InvalidInput(f"email: {to!r} is not an e-mail address")
    if opted_out(context, "email"):
        return {"to": to, "skipped": "opted out of email"}
    settings = context.settings
    message = email.message.EmailMessage()
    try:
        message["From"] = settings.get("mail_from", "caruso@localhost")
        message["To"] = to
        message["Subject"] = str(subject)
        if reply_to:
            message["Reply-To"] = str(reply_to)
    except ValueError as error:
        raise InvalidInput(f"email: bad header value ({error})") from None
    message["Message-ID"] = f"<{context.key.replace(':', '.').replace('/', '.')}@caruso>"
    message["X-Caruso-Action"] = context.key
    message.set_content(str(body))
    host, port = settings.get("smtp_host", "127.0.0.1"), int(settings.get("smtp_port", 25))
    try:
        with smtplib.SMTP(host, port, timeout=float(settings.get("smtp_timeout", 10))) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailFailed(f"email to {to} via {host}:{port} failed: {error}") from None
    return {"to": to, "message_id": str(message["Message-ID"])}
