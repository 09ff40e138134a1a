"""Tables of the storage service itself: contact history, rule log, runs of due rules, outbox.

They live in the model's default database and evolve through the Alembic
migrations of :mod:`caruso_storage.migrations` (version table
``caruso_storage_alembic``); these definitions match the latest migration. On MySQL
and MariaDB they compare text as it is (``utf8mb4_bin``), keep the microseconds of
times and take texts of any length.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, select, update
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection

from caruso_core.errors import InvalidInput

from caruso_storage import values
from caruso_storage.tables import MYSQL, MYSQL_TABLE

DIRECTIONS = ("inbound", "outbound")
TEXT_FIELDS = {"channel": 32, "direction": 8, "summary": 4000, "agent": 64, "reference": 200}
CONTACT_FIELDS = set(TEXT_FIELDS) | {"at", "data"}

MOMENT = DateTime().with_variant(mysql.DATETIME(fsp=6), *MYSQL)
LONG_TEXT = Text().with_variant(mysql.LONGTEXT(), *MYSQL)

metadata = MetaData()

contact_history = Table(
    "caruso_contact_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("object", String(64), nullable=False),
    Column("object_key", String(200), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("at", MOMENT, nullable=False),
    Column("summary", LONG_TEXT, nullable=False),
    Column("agent", String(64)),
    Column("reference", String(200)),
    Column("data", LONG_TEXT),
    **MYSQL_TABLE,
)
Index("ix_caruso_contact_history_object", contact_history.c.object, contact_history.c.object_key,
      contact_history.c.at)

rule_log = Table(
    "caruso_rule_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", MOMENT, nullable=False),
    Column("object", String(64), nullable=False),
    Column("object_key", String(200), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("message", LONG_TEXT, nullable=False),
    **MYSQL_TABLE,
)

due_runs = Table(
    "caruso_due_runs", metadata,
    Column("object", String(64), primary_key=True),
    Column("object_key", String(200), primary_key=True),
    Column("rule", String(64), primary_key=True),
    Column("deadline", String(32), nullable=False),
    Column("at", MOMENT, nullable=False),
    **MYSQL_TABLE,
)

outbox = Table(
    "caruso_outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", MOMENT, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("object", String(64), nullable=False),
    Column("object_key", String(200), nullable=False),
    Column("interface", String(100), nullable=False),
    Column("method", String(64), nullable=False),
    Column("arguments", LONG_TEXT, nullable=False),
    Column("result_to", String(400)),
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_try", MOMENT),
    Column("last_error", LONG_TEXT),
    Column("done_at", MOMENT),
    **MYSQL_TABLE,
)
Index("ix_caruso_outbox_state", outbox.c.state, outbox.c.id)


def key_text(key: Any) -> str:
    """A key as stored in the journal tables (canonical JSON of its wire form)."""
    encoded = {k: values.encode(v) for k, v in key.items()} if isinstance(key, dict) else values.encode(key)
    return json.dumps(encoded, sort_keys=True, separators=(",", ":"))


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def add_contact(connection: Connection, obj: str, key: Any, contact: Any) -> dict[str, Any]:
    """Append a contact entry for the object ``obj`` with ``key``; returns it as stored."""
    if not isinstance(contact, dict):
        raise InvalidInput("contact must be a dict (channel, direction, summary, ...)")
    unknown = set(contact) - CONTACT_FIELDS
    if unknown:
        raise InvalidInput(f"contact: unknown field(s) {', '.join(sorted(map(str, unknown)))} "
                           f"(fields: {', '.join(sorted(CONTACT_FIELDS))})")
    row: dict[str, Any] = {"object": obj, "object_key": key_text(key), "direction": "inbound", "summary": ""}
    for name, limit in TEXT_FIELDS.items():
        value = contact.get(name, row.get(name))
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise InvalidInput(f"contact: {name} must be text of at most {limit} characters")
        row[name] = value
    if not row["channel"]:
        raise InvalidInput("contact: channel is required (e.g. 'phone', 'email', 'webchat')")
    if row["direction"] not in DIRECTIONS:
        raise InvalidInput(f"contact: direction must be one of {', '.join(DIRECTIONS)}")
    try:
        at = contact.get("at")
        row["at"] = now() if at is None else dt.datetime.fromisoformat(at).replace(tzinfo=None)
        row["data"] = None if contact.get("data") is None else json.dumps(contact["data"])
    except (TypeError, ValueError):
        raise InvalidInput("contact: 'at' must be an ISO datetime and 'data' plain data") from None
    row["id"] = connection.execute(contact_history.insert().returning(contact_history.c.id), row).scalar_one()
    return _contact(row, _shown_key(key))


def contacts(connection: Connection, obj: str, key: Any, channels: list[str] | None,
             limit: int, offset: int) -> list[dict[str, Any]]:
    """Contact entries of an object, newest first, optionally of some channels only."""
    table = contact_history
    statement = select(table).where(table.c.object == obj, table.c.object_key == key_text(key))
    if channels is not None:
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise InvalidInput("channels must be a list of channel names")
        statement = statement.where(table.c.channel.in_(channels))
    statement = statement.order_by(table.c.at.desc(), table.c.id.desc()).limit(limit).offset(offset)
    shown = _shown_key(key)
    return [_contact(row._asdict(), shown) for row in connection.execute(statement)]


def _shown_key(key: Any) -> Any:
    return values.encode(key) if not isinstance(key, dict) else {k: values.encode(v) for k, v in key.items()}


def _contact(row: dict[str, Any], shown_key: Any) -> dict[str, Any]:
    """A contact entry as plain data from its row; ``shown_key`` is the object's key as plain data."""
    entry = {name: row[name] for name in ("id", "object", "channel", "direction", "summary", "agent", "reference")}
    entry["key"] = shown_key
    entry["at"] = row["at"].isoformat()
    entry["data"] = None if row["data"] is None else json.loads(row["data"])
    return entry


def log_rule(connection: Connection, obj: str, key: Any, rule: str, action: str, message: str) -> None:
    connection.execute(rule_log.insert(), {"at": now(), "object": obj, "object_key": key_text(key),
                                           "rule": rule, "action": action, "message": message[:4000]})


def rule_entries(connection: Connection, limit: int) -> list[dict[str, Any]]:
    statement = select(rule_log).order_by(rule_log.c.id.desc()).limit(limit)
    # column names are SQLAlchemy's quoted_name, a str subclass no serializer takes: plain str keys
    return [{**{str(name): value for name, value in row._mapping.items()}, "at": row.at.isoformat()}
            for row in connection.execute(statement)]


def due_marks(connection: Connection, obj: str, rule: str) -> dict[str, str]:
    """The deadline ``rule`` last ran for, by key text of the objects of ``obj``."""
    statement = select(due_runs.c.object_key, due_runs.c.deadline).filter_by(object=obj, rule=rule)
    return dict(connection.execute(statement).all())


def deadline_text(deadline: Any) -> str:
    return str(values.encode(deadline))


def claim_due(connection: Connection, obj: str, key: Any, rule: str, deadline: Any) -> bool:
    """Record that ``rule`` runs for the object's ``deadline``; False if it ran for it already.

    The claim is the row itself (insert, or update of an older deadline), so of two
    instances sweeping at once only one runs the rule; the caller's transaction keeps
    the claim only if the rule's actions succeed.
    """
    row = {"object": obj, "object_key": key_text(key), "rule": rule}
    text = deadline_text(deadline)
    previous = connection.execute(select(due_runs.c.deadline).filter_by(**row)).scalar_one_or_none()
    if previous is None:
        connection.execute(due_runs.insert(), {**row, "deadline": text, "at": now()})
        return True
    if previous == text:
        return False
    changed = connection.execute(update(due_runs).filter_by(**row).where(due_runs.c.deadline == previous)
                                 .values(deadline=text, at=now()))
    return changed.rowcount == 1
