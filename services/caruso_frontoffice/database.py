"""The front office's own database: its tables and how it is opened.

Users and sessions live here (SQLite in the deployment's data folder by default);
business objects do not: they belong to the storage service.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "frontoffice_users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("password", sa.String(200), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

sessions = sa.Table(
    "frontoffice_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("frontoffice_users.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)


def open_database(url: str) -> sa.Engine:
    """An engine on ``url`` with the front office's tables created if missing."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    metadata.create_all(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
