"""The outbox: calls that rules make to other services, as rows of the journal database.

A rule's ``call`` writes its row inside the transaction of the change (:func:`add`), so a
rolled-back change leaves none and a committed one keeps it until it is delivered
(:mod:`caruso_storage.delivery`). A row is ``pending`` (``next_try``: when it may be
tried), ``delivered`` (``done_at``) or ``failed`` (for good, ``last_error`` kept) and
counts its ``attempts``. Rows are claimed before they are sent (:func:`claim`), so of
two storage instances sharing the journal only one sends a row at a time.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.engine import Connection

from caruso_core.errors import Conflict, InvalidInput, NotFound
from caruso_core.retrying import moment

from caruso_storage import values
from caruso_storage.journal import key_text, outbox

STATES = ("pending", "delivered", "failed")
MAX_ARGUMENTS = 64 * 1024        # characters of a call's arguments as JSON
MAX_ERROR = 2000


def add(connection: Connection, rule: str, obj: str, key: Any, interface: str, method: str,
        arguments: dict[str, Any], result_to: str | None) -> int:
    """Write a pending call, due now; returns its id. InvalidInput if the arguments are too big."""
    text = json.dumps(arguments, sort_keys=True)
    if len(text) > MAX_ARGUMENTS:
        raise InvalidInput(f"rule {rule}: the arguments of {interface}.{method} take {len(text)} characters "
                           f"(at most {MAX_ARGUMENTS})")
    now = moment()
    row = {"at": now, "rule": rule, "object": obj, "object_key": key_text(key), "interface": interface,
           "method": method, "arguments": text, "result_to": result_to, "state": "pending", "attempts": 0,
           "next_try": now}
    return connection.execute(outbox.insert().returning(outbox.c.id), row).scalar_one()


def pending(connection: Connection) -> list[dict[str, Any]]:
    """The oldest pending row of each interface (calls of one interface go out in order,
    however many wait: a service that is down holds back its own calls only)."""
    firsts = select(func.min(outbox.c.id)).where(outbox.c.state == "pending").group_by(outbox.c.interface)
    statement = select(outbox).where(outbox.c.id.in_(firsts)).order_by(outbox.c.id)
    return [dict(row._mapping) for row in connection.execute(statement)]


def claim(connection: Connection, row: dict[str, Any], lease: float) -> bool:
    """Count an attempt at ``row`` and keep others off it for ``lease`` seconds; False if
    another instance claimed it or it changed since it was read."""
    changed = connection.execute(
        update(outbox).where(and_(outbox.c.id == row["id"], outbox.c.state == "pending",
                                  outbox.c.attempts == row["attempts"]))
        .values(attempts=row["attempts"] + 1, next_try=moment() + dt.timedelta(seconds=lease)))
    return changed.rowcount == 1


def delivered(connection: Connection, row_id: int) -> None:
    connection.execute(update(outbox).where(outbox.c.id == row_id)
                       .values(state="delivered", done_at=moment(), next_try=None))


def retry_later(connection: Connection, row_id: int, delay: float, error: str) -> None:
    connection.execute(update(outbox).where(outbox.c.id == row_id)
                       .values(next_try=moment() + dt.timedelta(seconds=delay), last_error=error[:MAX_ERROR]))


def failed(connection: Connection, row_id: int, error: str) -> None:
    connection.execute(update(outbox).where(outbox.c.id == row_id)
                       .values(state="failed", done_at=moment(), next_try=None, last_error=error[:MAX_ERROR]))


def retry_now(connection: Connection, row_id: Any) -> dict[str, Any]:
    """Make the failed row ``row_id`` pending again with its attempts counted from 0; returns it."""
    if isinstance(row_id, bool) or not isinstance(row_id, int):
        raise InvalidInput("id must be the integer id of an outbox row")
    found = connection.execute(select(outbox.c.state).where(outbox.c.id == row_id)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"the outbox has no row {row_id}")
    if found != "failed":
        raise Conflict(f"outbox row {row_id} is {found}: only a failed row is retried")
    connection.execute(update(outbox).where(outbox.c.id == row_id)
                       .values(state="pending", attempts=0, next_try=moment(), done_at=None))
    return entry(dict(connection.execute(select(outbox).where(outbox.c.id == row_id)).one()._mapping))


def prune(connection: Connection, before: dt.datetime) -> int:
    """Remove rows delivered before ``before``; returns how many."""
    return connection.execute(delete(outbox).where(and_(outbox.c.state == "delivered",
                                                        outbox.c.done_at < before))).rowcount


def entries(connection: Connection, state: Any, limit: int) -> list[dict[str, Any]]:
    """The latest rows (of ``state`` if given), newest first."""
    statement = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if state is not None:
        if state not in STATES:
            raise InvalidInput(f"state must be one of {', '.join(STATES)}")
        statement = statement.where(outbox.c.state == state)
    return [entry(dict(row._mapping)) for row in connection.execute(statement)]


def entry(row: dict[str, Any]) -> dict[str, Any]:
    """A row as plain data: times as ISO text, the key and arguments decoded."""
    shown = {str(name): value for name, value in row.items()}
    for name in ("at", "next_try", "done_at"):
        shown[name] = None if shown[name] is None else shown[name].isoformat()
    shown["key"] = json.loads(shown.pop("object_key"))
    shown["arguments"] = json.loads(shown["arguments"])
    return shown


def write_back(result_to: str, result: Any) -> dict[str, Any]:
    """The values ``result`` gives the object's attributes as ``result_to``
    (``attribute=field ...``) names them; InvalidInput when the result lacks one."""
    if not isinstance(result, dict):
        raise InvalidInput(f"the call returned {type(result).__name__}, not a dict to take {result_to!r} from")
    written = {}
    for attribute, field in pairs(result_to).items():
        if field not in result:
            raise InvalidInput(f"the call's result has no {field!r} (it has {', '.join(map(str, result))})")
        written[attribute] = values.encode(result[field])
    return written


def pairs(result_to: str) -> dict[str, str]:
    """``attribute=field`` pairs of a ``result`` parameter, by attribute; ValueError if malformed."""
    found = {}
    for part in result_to.split():
        attribute, equals, field = part.partition("=")
        if not (equals and attribute.isidentifier() and field.isidentifier()):
            raise ValueError(f"result=\"...\" takes attribute=field pairs, not {part!r}")
        found[attribute] = field
    if not found:
        raise ValueError("result=\"...\" names no attribute=field pair")
    return found
