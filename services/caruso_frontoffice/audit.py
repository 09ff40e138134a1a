"""The audit trail of the forms: who created, changed or deleted which record through the
front office, when, and which attributes they gave or changed (table ``frontoffice_audit``
of the front office's database).

Contract: a form's save or delete calls :meth:`AuditTrail.add` once the storage took the
change; a change the storage refused, or whose answer was lost, is not recorded (the page
cannot tell whether it happened). An entry holds the names of the attributes, never their
values, so what an erasure removes from the storage is not kept here. Changes made another
way (scripts, the desk, rules, the storage's own clients) are not in it. An entry that
cannot be written is logged as an error; the change stays made. Entries older than
``days`` go at a write, at most once an hour.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from typing import Any, Callable, Iterable

import attrs
import sqlalchemy as sa

from caruso_frontoffice.database import audit

log = logging.getLogger(__name__)

ACTIONS = ("created", "changed", "deleted")
MAX_KEY = 400
MAX_FIELDS = 4000
PRUNE_EVERY = 3600.0


@attrs.frozen
class Entry:
    """One change: ``at`` in seconds since the epoch, ``key`` the record's key values by name."""

    id: int
    at: float
    user: str
    action: str
    object: str
    key: dict[str, Any]
    fields: tuple[str, ...]

    @property
    def moment(self) -> str:
        """``at`` as an ISO date-time in UTC."""
        return dt.datetime.fromtimestamp(self.at, dt.timezone.utc).isoformat()


class AuditTrail:
    """Thread-safe: every call opens its own connection."""

    def __init__(self, engine: sa.Engine, days: int = 365, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._keep = days * 86_400.0
        self._clock = clock
        self._pruned = -PRUNE_EVERY

    def add(self, user: str, action: str, object_name: str, key: dict[str, Any], fields: Iterable[str]) -> None:
        """Record that ``user`` did ``action`` (one of :data:`ACTIONS`) to the record of
        ``object_name`` with ``key``, giving or changing ``fields``."""
        assert action in ACTIONS, action
        now = self._clock()
        names = _names_text(sorted(fields))
        try:
            with self._engine.begin() as connection:
                if now - self._pruned >= PRUNE_EVERY:
                    self._pruned = now
                    connection.execute(audit.delete().where(audit.c.at < now - self._keep))
                connection.execute(audit.insert().values(
                    at=now, username=user, action=action, object=object_name, record_key=_key_text(key),
                    fields=names))
        except sa.exc.SQLAlchemyError:
            log.exception("the audit trail did not record that %s %s %s %s", user, action, object_name, key)

    def of(self, object_name: str, key: dict[str, Any], limit: int = 10) -> list[Entry]:
        """The latest ``limit`` entries of one record, newest first."""
        return self._read(sa.and_(audit.c.object == object_name, audit.c.record_key == _key_text(key)), limit)

    def latest(self, limit: int, before: int | None = None, user: str | None = None) -> list[Entry]:
        """The latest ``limit`` entries, newest first: older than entry ``before``, by ``user``."""
        conditions = [audit.c.id < before] if before is not None else []
        if user:
            conditions.append(audit.c.username == user)
        return self._read(sa.and_(sa.true(), *conditions), limit)

    def _read(self, condition: Any, limit: int) -> list[Entry]:
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(audit).where(condition).order_by(audit.c.id.desc()).limit(limit))
            return [Entry(row.id, row.at, row.username, row.action, row.object, _key_of(row.record_key),
                          tuple(json.loads(row.fields))) for row in rows]


def _key_text(key: dict[str, Any]) -> str:
    """A record's key as the trail holds it: JSON by name; a key longer than :data:`MAX_KEY`
    characters is cut and ends with its digest, so two long keys alike at first stay apart."""
    text = json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)
    if len(text) <= MAX_KEY:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"{text[:MAX_KEY - len(digest) - 1]}#{digest}"


def _names_text(names: list[str]) -> str:
    """``names`` as JSON of at most :data:`MAX_FIELDS` characters: as many as fit, in order."""
    while len(text := json.dumps(names, separators=(",", ":"))) > MAX_FIELDS:
        names = names[:-1]
    return text


def _key_of(text: str) -> dict[str, Any]:
    try:
        key = json.loads(text)
    except ValueError:                  # cut
        return {"key": text}
    return key if isinstance(key, dict) else {"key": key}
