"""Outbox: the calls rules make to other services, written with the change, delivered after it.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MYSQL = ("mysql", "mariadb")
MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}   # text compared as it is
MOMENT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), *MYSQL)
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), *MYSQL)


def upgrade() -> None:
    op.create_table(
        "caruso_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("object_key", sa.String(200), nullable=False),
        sa.Column("interface", sa.String(100), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("arguments", LONG_TEXT, nullable=False),
        sa.Column("result_to", sa.String(400)),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_try", MOMENT),
        sa.Column("last_error", LONG_TEXT),
        sa.Column("done_at", MOMENT),
        **MYSQL_TABLE,
    )
    op.create_index("ix_caruso_outbox_state", "caruso_outbox", ["state", "id"])


def downgrade() -> None:
    op.drop_index("ix_caruso_outbox_state", "caruso_outbox")
    op.drop_table("caruso_outbox")
