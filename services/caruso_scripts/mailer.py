"""Sending the mail outbox (:mod:`caruso_scripts.outbox`) over SMTP: one thread per engine instance.

Contract of :class:`Mailer` (a :class:`caruso_core.retrying.Worker`): ``start`` begins its
thread, ``wake`` makes it look at once (the outbox wakes it when a message is queued),
``stop`` ends it after the message it is sending. Each pass gives up queued messages older
than ``give_up_days``, then takes the due ones oldest first over one SMTP connection to
the relay of the engine settings (:mod:`caruso_core.smtp`: ``smtp_host``, ``smtp_port``,
``smtp_security``, a login; ``smtp_timeout`` 10 s by default): it claims a message (``lease``
seconds), sends it as it was queued and marks it sent. A message the server refuses (4xx
or 5xx) is tried again after ``backoff * 2 ** (attempts - 1)`` seconds (at most
``backoff_max``), and so is one that met a server that could not be reached or broke off;
then the pass ends and the next waits that long, so a server that is down is asked with
growing pauses. After ``attempts`` failed attempts a message is failed for good
(``last_error`` kept; the row stays, to be seen in ``mail_outbox``). Delivery is at least
once: an engine that dies while sending sends again once the claim has run out; the
Message-ID (the action's key) lets a receiver drop the duplicate. Sent rows are removed
after ``keep_days``.

Settings (the service's ``outbox`` configuration, :class:`MailRetries`; defaults): 30
attempts, ``backoff`` 30 s doubling up to ``backoff_max`` 3600 s (about a day of
attempts), ``give_up_days`` 3, ``lease`` 300 s, ``keep_days`` 30.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import smtplib
import time
from typing import Any, Mapping

import attrs

from caruso_core.retrying import Retries, Worker, days, positive
from caruso_core.smtp import Relay, close
from caruso_scripts.outbox import MailOutbox, moment

log = logging.getLogger("caruso.scripts.mail")
POLL = 5.0                  # seconds between looks when nothing is due (rows of other instances)
BATCH = 100


@attrs.frozen
class MailRetries(Retries):
    """How the mail outbox retries: the script service's ``outbox`` configuration (all optional)."""

    attempts: int = attrs.field(default=30, validator=positive)
    backoff: float = attrs.field(default=30.0, validator=positive)
    backoff_max: float = attrs.field(default=3600.0, validator=positive)
    lease: float = attrs.field(default=300.0, validator=positive)
    give_up_days: float = attrs.field(default=3.0, validator=days)


class Mailer(Worker):
    """The sender of one engine instance; see the module's contract."""

    def __init__(self, outbox: MailOutbox, settings: Mapping[str, Any], retries: MailRetries,
                 logger: logging.Logger = log) -> None:
        self.outbox = outbox
        self.retries = retries
        self.relay = Relay.of(settings, timeout=10.0)
        super().__init__("caruso-scripts-mail", logger, "sending the mail outbox", POLL)

    def work(self) -> float:
        """Send what is due; returns the seconds until the next pass."""
        if self.prune_due():
            self.outbox.prune(moment() - dt.timedelta(days=self.retries.keep_days))
        days = self.retries.give_up_days
        for row in self.outbox.stale(moment() - dt.timedelta(days=days)):
            self._give_up(row["id"], f"not sent within {days:g} days" +
                          (f"; last error: {row['last_error']}" if row["last_error"] else ""))
        smtp: smtplib.SMTP | None = None
        opened = 0.0
        try:
            for row in self.outbox.due(BATCH):
                if self.stopping:
                    break
                if not self.outbox.claim(row, self.retries.lease):
                    continue
                attempts = row["attempts"] + 1
                try:
                    if smtp is not None and time.monotonic() - opened > self.relay.deadline / 2:
                        close(smtp)              # half the session's deadline gone: a fresh one, not a cut
                        smtp = None
                    if smtp is None:
                        smtp, opened = self.relay.open(), time.monotonic()
                    refused = smtp.sendmail(row["mail_from"], json.loads(row["recipients"]), row["message"])
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
                    self._again(row, attempts, self._describe(error))       # this message: go on with the next
                    if smtp is not None and smtp.sock is None:              # the server closed (421)
                        smtp = None
                    continue
                except (OSError, smtplib.SMTPException) as error:
                    self._again(row, attempts, self._describe(error))       # the server: pause them all
                    return self.retries.delay(attempts)
                self.outbox.sent(row["id"], f"{self.relay} refused {self._describe_refused(refused)}"
                                 if refused else None)
        finally:
            if smtp is not None:
                close(smtp)
        return self.outbox.seconds_to_next(POLL)

    def _again(self, row: dict[str, Any], attempts: int, error: str) -> None:
        """Try the message again after its pause, or give it up after its last attempt."""
        where = f"mail {row['id']} to {row['to']} ({row['key']})"
        if attempts >= self.retries.attempts:
            self._give_up(row["id"], f"{error} (after {attempts} attempts)", where)
            return
        self.log.warning("%s: attempt %d failed, trying again: %s", where, attempts, error)
        self.outbox.retry_later(row["id"], self.retries.delay(attempts), error)

    def _give_up(self, row_id: int, error: str, where: str | None = None) -> None:
        self.log.error("%s given up: %s", where or f"mail {row_id}", error)
        self.outbox.failed(row_id, error)

    def _describe(self, error: Exception) -> str:
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            return f"{self.relay} refused {self._describe_refused(error.recipients)}"
        return self.relay.describe(error)

    @staticmethod
    def _describe_refused(refused: dict[str, Any]) -> str:
        return "; ".join(f"{address}: {code} {reply.decode('utf-8', 'replace') if isinstance(reply, bytes) else reply}"
                         for address, (code, reply) in refused.items())
