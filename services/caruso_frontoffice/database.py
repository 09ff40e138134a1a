"""The front office's own database: its tables and how it is opened.

Users, the customer keys of customer accounts, sessions, the users' saved list filters and
the audit trail of the forms live here (SQLite in the deployment's data folder by default); business objects do not:
they belong to the storage service. Tables missing from a database are created when it opens.
"""
from __future__ import annotations

import sqlalchemy as sa

from caruso_core import databases

metadata = sa.MetaData()

users = sa.Table(
    "frontoffice_users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("password", sa.String(200), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

customers = sa.Table(
    "frontoffice_customers", metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("frontoffice_users.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("customer_key", sa.String(400), nullable=False),
)

sessions = sa.Table(
    "frontoffice_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("frontoffice_users.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)

saved_filters = sa.Table(
    "frontoffice_saved_filters", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("frontoffice_users.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("view", sa.String(100), nullable=False),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("query", sa.String(2000), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("user_id", "view", "name"),
)

submissions = sa.Table(
    "frontoffice_submissions", metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("frontoffice_users.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("token", sa.String(32), primary_key=True),
    sa.Column("page", sa.String(2000)),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
)

audit = sa.Table(
    "frontoffice_audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Double, nullable=False, index=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("action", sa.String(8), nullable=False),
    sa.Column("object", sa.String(100), nullable=False),
    sa.Column("record_key", sa.String(400), nullable=False),
    sa.Column("fields", sa.String(4000), nullable=False),
    sa.Index("frontoffice_audit_record", "object", "record_key"),
    sa.Index("frontoffice_audit_user", "username", "id"),
    sqlite_autoincrement=True,
)


def open_database(url: str) -> sa.Engine:
    """An engine on ``url`` (see :func:`caruso_core.databases.engine`) with the front
    office's tables created if missing."""
    engine = databases.engine(url)
    metadata.create_all(engine)
    return engine
