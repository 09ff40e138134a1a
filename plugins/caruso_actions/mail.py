"""Action ``email``: queue a plain-text e-mail in the engine's outbox.

Parameters: ``to`` (one address), ``subject`` (at most ``MAX_SUBJECT`` characters),
``body`` (at most ``MAX_BODY`` characters), optional ``reply_to``. A bad address, a
header that would break the message or an over-long subject or body fails the action
with one line, and nothing is queued. Nothing is queued either when the dialog's
customer opted out of e-mail (:mod:`caruso_actions.consent`): the result says ``{"to",
"skipped": "opted out of email"}`` and the dialog goes on.

The action does not talk to a mail server: it writes the message to the engine's
outbox (``context.outbox``, :class:`caruso_scripts.actions.Outbox`) under the action's
key and returns ``{"to", "message_id", "queued": True}``; the script engine sends it in
the background and retries while the server is down or refuses it (the service's
``mail_outbox()`` and ``caruso script outbox`` show what waits). A retried answer finds
the message queued under its key and queues nothing more. The message carries the key
in ``X-Caruso-Action`` and in its Message-ID, so a receiver can drop a duplicate.
Engine setting: ``mail_from`` (``caruso@localhost``); the sender's are ``smtp_host``,
``smtp_port`` and ``smtp_timeout`` (:mod:`caruso_scripts.mailer`).
"""
from __future__ import annotations

import email.message
import re
from typing import Any

from caruso_actions.consent import opted_out
from caruso_core.errors import InvalidInput, Unavailable
from caruso_scripts.actions import ActionContext

ADDRESS = re.compile(r"[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}")
MAX_SUBJECT = 250
MAX_BODY = 64 * 1024


def send_email(context: ActionContext, to: str, subject: str, body: str, reply_to: str | None = None) -> dict[str, Any]:
    if not isinstance(to, str) or not ADDRESS.fullmatch(to):
        raise InvalidInput(f"email: {to!r} is not an e-mail address")
    subject, body = str(subject), str(body)
    if len(subject) > MAX_SUBJECT:
        raise InvalidInput(f"email: the subject has {len(subject)} characters (at most {MAX_SUBJECT})")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"email: the body has {len(body)} characters (at most {MAX_BODY})")
    if opted_out(context, "email"):
        return {"to": to, "skipped": "opted out of email"}
    message = email.message.EmailMessage()
    try:
        message["From"] = context.settings.get("mail_from", "caruso@localhost")
        message["To"] = to
        message["Subject"] = subject
        if reply_to:
            message["Reply-To"] = str(reply_to)
    except ValueError as error:
        raise InvalidInput(f"email: bad header value ({error})") from None
    message["Message-ID"] = f"<{context.key.replace(':', '.').replace('/', '.')}@caruso>"
    message["X-Caruso-Action"] = context.key
    message.set_content(body)
    if context.outbox is None:
        raise Unavailable("email: this engine has no mail outbox (e-mail is sent by the scripts service)")
    return context.outbox.queue_mail(context.key, message)
