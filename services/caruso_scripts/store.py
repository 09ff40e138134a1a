"""Dialog sessions in a database (SQLAlchemy; SQLite in the data folder by default, opened
with ``caruso_core.databases``).

Contract of :class:`SessionStore`: ``save`` writes a session's stored form (insert or
replace, one transaction); ``load`` reads it back or raises :class:`NotFound`;
``all`` lists sessions (optionally of one status); ``save_many`` writes several in one
transaction; ``purge`` deletes sessions not updated since a time. What was saved survives a restart of the process. Only bound parameters
reach the database. On MySQL and MariaDB a session's stored form is a ``LONGTEXT`` (a
``TEXT`` holds 64 KiB, less than a session with its states kept for going back may take);
a table made before with a ``TEXT`` is widened when the store opens it.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from caruso_core import databases
from caruso_core.databases import MYSQL
from caruso_core.deployment import default_sqlite_url
from caruso_core.errors import NotFound
from caruso_scripts.engine import Session

METADATA = sa.MetaData()
SESSIONS = sa.Table(
    "caruso_script_sessions", METADATA,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("script", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("updated", sa.String(40), nullable=False),
    sa.Column("state", sa.Text().with_variant(mysql.LONGTEXT(), *MYSQL), nullable=False),
)


class SessionStore:
    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_sqlite_url("scripts.db")
        self.engine = databases.engine(self.url)
        METADATA.create_all(self.engine)
        _widen_state(self.engine)

    def save(self, session: Session) -> None:
        self.save_many([session.stored()])

    def save_many(self, stored: Iterable[dict[str, Any]]) -> None:
        rows = [{"id": s["id"], "script": s["script"], "status": s["status"], "seq": s["seq"],
                 "updated": s["updated"], "state": json.dumps(s, separators=(",", ":"))} for s in stored]
        with self.engine.begin() as connection:
            for row in rows:
                changed = connection.execute(SESSIONS.update().where(SESSIONS.c.id == row["id"])
                                             .values({k: v for k, v in row.items() if k != "id"})).rowcount
                if not changed:
                    connection.execute(SESSIONS.insert(), row)

    def load(self, session_id: str) -> Session:
        with self.engine.connect() as connection:
            state = connection.execute(sa.select(SESSIONS.c.state).where(SESSIONS.c.id == session_id)).scalar()
        if state is None:
            raise NotFound(f"no dialog session {session_id!r}")
        return Session.from_stored(json.loads(state))

    def all(self, status: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored forms of sessions, most recently updated first."""
        query = sa.select(SESSIONS.c.state).order_by(SESSIONS.c.updated.desc(), SESSIONS.c.id)
        if status is not None:
            query = query.where(SESSIONS.c.status == status)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            return [json.loads(state) for state in connection.execute(query).scalars()]

    def count(self, status: str) -> int:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(SESSIONS)
                                      .where(SESSIONS.c.status == status)).scalar_one()

    def purge(self, before: str) -> int:
        """Delete sessions last updated before the ISO time ``before``; how many were deleted."""
        with self.engine.begin() as connection:
            return connection.execute(SESSIONS.delete().where(SESSIONS.c.updated < before)).rowcount

    def close(self) -> None:
        self.engine.dispose()


def _widen_state(engine: sa.Engine) -> None:
    """On MySQL and MariaDB, make the ``state`` of a sessions table made with a ``TEXT`` a ``LONGTEXT``."""
    if engine.dialect.name not in MYSQL:
        return
    state = next(column for column in sa.inspect(engine).get_columns(SESSIONS.name) if column["name"] == "state")
    if not isinstance(state["type"], mysql.LONGTEXT):
        with engine.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE {SESSIONS.name} MODIFY state LONGTEXT NOT NULL")
