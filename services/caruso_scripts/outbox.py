"""The outbox of e-mail that dialog actions send: rows of the engine's own database.

Contract of :class:`MailOutbox` (the engine's :class:`~caruso_scripts.actions.Outbox`):
``queue_mail(key, message)`` writes the message as it will be sent, with its envelope
(the ``From`` address; the ``To``, ``Cc`` and ``Bcc`` addresses, ``Bcc`` taken out of the
text), as one row unique by ``key``: a second message with the same key is not stored
and the first one's result is returned. A row is ``queued`` (``next_try``: when it may be
tried), ``sent`` or ``failed`` (given up; ``done_at`` for both) and keeps its ``attempts``,
the time of the last one (``tried_at``) and the ``last_error``. An operator sends a failed
message again with :meth:`MailOutbox.retry`: queued, due at once, its attempts and the days
it may wait counted anew from then (``queued_at``). The sender
(:mod:`caruso_scripts.mailer`) claims a row before it sends it (:meth:`MailOutbox.claim`),
so that of two engine instances on one database only one sends a message at a time.
The table is the same on SQLite, PostgreSQL and MariaDB (MySQL): times with microseconds,
keys compared byte for byte, messages up to ``MAX_MESSAGE``. Only bound parameters reach
the database.
"""
from __future__ import annotations

import copy
import datetime as dt
import email.message
import email.utils
import json
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from caruso_core.databases import MYSQL
from caruso_core.errors import Conflict, InvalidInput, NotFound
from caruso_core.retrying import moment

STATES = ("queued", "sent", "failed")
MAX_MESSAGE = 512 * 1024        # bytes of a message as sent
MAX_RECIPIENTS = 100
MAX_KEY = 200
MAX_ERROR = 2000
MAX_ADDRESS = 320
SHOWN = 300                     # characters of the To and Subject kept for the listing

# MySQL and MariaDB: times keep their microseconds (retries can be a fraction of a second
# apart), keys are compared byte for byte (a case-insensitive collation would take two
# actions' keys for one), a message may be larger than a BLOB's 64 KiB
MOMENT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), *MYSQL)
KEY = sa.String(MAX_KEY).with_variant(mysql.VARCHAR(MAX_KEY, charset="utf8mb4", collation="utf8mb4_bin"), *MYSQL)
MESSAGE = sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), *MYSQL)

METADATA = sa.MetaData()
MAIL = sa.Table(
    "caruso_script_mail", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", KEY, nullable=False, unique=True),
    sa.Column("message_id", sa.String(255), nullable=False),
    sa.Column("mail_from", sa.String(MAX_ADDRESS), nullable=False),
    sa.Column("recipients", sa.Text, nullable=False),           # JSON list of addresses
    sa.Column("to", sa.String(SHOWN), nullable=False),
    sa.Column("subject", sa.String(SHOWN), nullable=False),
    sa.Column("message", MESSAGE, nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("queued_at", MOMENT, nullable=False),
    sa.Column("next_try", MOMENT),
    sa.Column("tried_at", MOMENT),
    sa.Column("done_at", MOMENT),
    sa.Column("last_error", sa.String(MAX_ERROR)),
    sa.Index("ix_caruso_script_mail_due", "state", "next_try"),
)


def _shown(row: Any) -> dict[str, Any]:
    """A row as plain data: names as text, times as ISO text."""
    return {str(name): value.isoformat() if isinstance(value, dt.datetime) else value for name, value in row.items()}


class MailOutbox:
    """Queued e-mail in the database of ``engine``; see the module's contract. ``queued``
    is called after a message was stored (the service wakes its sender)."""

    def __init__(self, engine: sa.Engine, queued: Callable[[], None] = lambda: None) -> None:
        self.engine = engine
        self._queued = queued
        METADATA.create_all(engine)

    def queue_mail(self, key: str, message: email.message.EmailMessage) -> dict[str, Any]:
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY or key != key.strip():
            raise InvalidInput(f"queue_mail: the key must be text of 1 to {MAX_KEY} characters, "
                               "without spaces around it")
        row = _row(key, message)
        try:
            with self.engine.begin() as connection:
                connection.execute(MAIL.insert(), row)
        except sa.exc.IntegrityError:   # queued under this key before: that one stands
            with self.engine.connect() as connection:
                row = connection.execute(sa.select(MAIL.c.to, MAIL.c.message_id)
                                         .where(MAIL.c.key == key)).one()._asdict()
        self._queued()
        return {"to": row["to"], "message_id": row["message_id"], "queued": True}

    def due(self, limit: int) -> list[dict[str, Any]]:
        """Queued rows that may be tried now, oldest first."""
        statement = (sa.select(MAIL).where(MAIL.c.state == "queued", MAIL.c.next_try <= moment())
                     .order_by(MAIL.c.id).limit(limit))
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(statement)]

    def seconds_to_next(self, most: float) -> float:
        """Seconds until the next queued row may be tried, at most ``most``."""
        with self.engine.connect() as connection:
            first = connection.execute(sa.select(sa.func.min(MAIL.c.next_try))
                                       .where(MAIL.c.state == "queued")).scalar()
        return most if first is None else max(0.0, min(most, (first - moment()).total_seconds()))

    def claim(self, row: dict[str, Any], lease: float) -> bool:
        """Count an attempt at ``row`` and keep others off it for ``lease`` seconds; False if
        another instance claimed it or it changed since it was read."""
        now = moment()
        with self.engine.begin() as connection:
            changed = connection.execute(
                sa.update(MAIL).where(MAIL.c.id == row["id"], MAIL.c.state == "queued",
                                      MAIL.c.attempts == row["attempts"])
                .values(attempts=row["attempts"] + 1, tried_at=now, next_try=now + dt.timedelta(seconds=lease)))
        return changed.rowcount == 1

    def sent(self, row_id: int, note: str | None = None) -> None:
        self._set(row_id, state="sent", done_at=moment(), next_try=None, last_error=note)

    def retry_later(self, row_id: int, delay: float, error: str) -> None:
        self._set(row_id, next_try=moment() + dt.timedelta(seconds=delay), last_error=error[:MAX_ERROR])

    def failed(self, row_id: int, error: str) -> None:
        self._set(row_id, state="failed", done_at=moment(), next_try=None, last_error=error[:MAX_ERROR])

    def retry(self, row_id: Any) -> dict[str, Any]:
        """Queue the failed message ``row_id`` again, due now, with its attempts and days
        counted anew (``last_error`` kept until the next attempt); returns its row as
        :meth:`entry` shows it. InvalidInput for an id that is no whole number, NotFound for
        no such message, Conflict for one that is not failed."""
        if isinstance(row_id, bool) or not isinstance(row_id, int):
            raise InvalidInput(f"retry_mail: the id must be the whole number of a message (got {row_id!r})")
        state = None
        if 0 < row_id < 2 ** 31:
            now = moment()
            with self.engine.begin() as connection:
                changed = connection.execute(
                    sa.update(MAIL).where(MAIL.c.id == row_id, MAIL.c.state == "failed")
                    .values(state="queued", attempts=0, queued_at=now, next_try=now, done_at=None)).rowcount
                if not changed:
                    state = connection.execute(sa.select(MAIL.c.state).where(MAIL.c.id == row_id)).scalar()
                requeued = _entry_in(connection, MAIL.c.id == row_id) if changed else None
            if changed:                     # read before the sender may send it and clear its last error
                self._queued()
                return requeued
        if state is None:
            raise NotFound(f"retry_mail: the mail outbox has no message {row_id}")
        raise Conflict(f"retry_mail: message {row_id} is {state}: only a failed message is sent again")

    def _set(self, row_id: int, **values: Any) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.update(MAIL).where(MAIL.c.id == row_id).values(**values))

    def stale(self, queued_before: dt.datetime) -> list[dict[str, Any]]:
        """Queued rows queued before ``queued_before`` (to be given up)."""
        statement = sa.select(MAIL.c.id, MAIL.c.attempts, MAIL.c.last_error).where(
            MAIL.c.state == "queued", MAIL.c.queued_at < queued_before)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(statement)]

    def prune(self, before: dt.datetime) -> int:
        """Remove rows sent before ``before``; failed ones stay to be seen."""
        with self.engine.begin() as connection:
            return connection.execute(sa.delete(MAIL).where(MAIL.c.state == "sent", MAIL.c.done_at < before)).rowcount

    def counts(self) -> dict[str, int]:
        """How many rows are queued, sent and failed."""
        with self.engine.connect() as connection:
            found = dict(connection.execute(sa.select(MAIL.c.state, sa.func.count()).group_by(MAIL.c.state)).all())
        return {state: found.get(state, 0) for state in STATES}

    def failed_since(self, since: dt.datetime) -> int:
        """How many messages were given up at ``since`` or later."""
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).where(
                MAIL.c.state == "failed", MAIL.c.done_at >= since)).scalar_one())

    def listing(self, limit: int) -> dict[str, Any]:
        """The counts and, newest first, at most ``limit`` rows in trouble: failed ones and
        queued ones with a failed attempt."""
        trouble = sa.or_(MAIL.c.state == "failed", sa.and_(MAIL.c.state == "queued", MAIL.c.last_error.is_not(None)))
        statement = (sa.select(MAIL.c.id, MAIL.c.key, MAIL.c.to, MAIL.c.subject, MAIL.c.message_id, MAIL.c.state,
                               MAIL.c.attempts, MAIL.c.queued_at, MAIL.c.tried_at, MAIL.c.next_try, MAIL.c.last_error)
                     .where(trouble).order_by(MAIL.c.id.desc()).limit(limit))
        counts = self.counts()           # first: a row counted as failed or sent is listed so
        with self.engine.connect() as connection:
            rows = [_shown(row._mapping) for row in connection.execute(statement)]
        return {**counts, "failing": rows}

    def entry(self, key: str) -> dict[str, Any] | None:
        """The row of ``key`` without the message (times as ISO text), or None."""
        return self._entry(MAIL.c.key == key)

    def entry_of(self, row_id: int) -> dict[str, Any] | None:
        """The row ``row_id`` as :meth:`entry` shows it, or None."""
        return self._entry(MAIL.c.id == row_id)

    def _entry(self, condition: Any) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            return _entry_in(connection, condition)


def _entry_in(connection: Any, condition: Any) -> dict[str, Any] | None:
    """The row matching ``condition`` without the message (times as ISO text), or None."""
    columns = [column for column in MAIL.c if column.name != "message"]
    found = connection.execute(sa.select(*columns).where(condition)).one_or_none()
    if found is None:
        return None
    row = _shown(found._mapping)
    row["recipients"] = json.loads(row["recipients"])
    return row


def _row(key: str, message: email.message.EmailMessage) -> dict[str, Any]:
    """The row of a new message; InvalidInput for one that cannot be sent."""
    if not isinstance(message, email.message.Message):
        raise InvalidInput("queue_mail: the message must be an email.message.EmailMessage")
    senders = [address for _, address in email.utils.getaddresses([str(v) for v in message.get_all("From", [])])]
    if len(senders) != 1 or "@" not in senders[0]:
        raise InvalidInput("queue_mail: the message needs one From address")
    headers = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    recipients = [address for _, address in email.utils.getaddresses(headers) if address]
    if not recipients or not all("@" in address for address in recipients):
        raise InvalidInput("queue_mail: the message needs To, Cc or Bcc addresses")
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidInput(f"queue_mail: {len(recipients)} recipients (at most {MAX_RECIPIENTS})")
    for address in (*senders, *recipients):
        if len(address) > MAX_ADDRESS:
            raise InvalidInput(f"queue_mail: the address {address[:40]}... is longer than {MAX_ADDRESS} characters")
    if "Message-ID" not in message:
        raise InvalidInput("queue_mail: the message needs a Message-ID")
    sent = message
    if "Bcc" in message:
        sent = copy.deepcopy(message)
        del sent["Bcc"]
    try:
        data = sent.as_bytes()
    except (ValueError, TypeError, UnicodeError) as error:
        raise InvalidInput(f"queue_mail: the message cannot be written ({error})") from None
    if len(data) > MAX_MESSAGE:
        raise InvalidInput(f"queue_mail: the message takes {len(data)} bytes (at most {MAX_MESSAGE})")
    now = moment()
    return {"key": key, "message_id": str(message["Message-ID"])[:255], "mail_from": senders[0],
            "recipients": json.dumps(recipients), "to": str(message.get("To", ""))[:SHOWN],
            "subject": str(message.get("Subject", ""))[:SHOWN], "message": data, "state": "queued",
            "attempts": 0, "queued_at": now, "next_try": now}
