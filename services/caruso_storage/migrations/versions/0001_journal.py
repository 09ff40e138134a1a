"""Contact history and rule log.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MYSQL = ("mysql", "mariadb")
MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}   # text compared as it is
MOMENT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), *MYSQL)
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), *MYSQL)


def upgrade() -> None:
    op.create_table(
        "caruso_contact_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("object_key", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("summary", LONG_TEXT, nullable=False),
        sa.Column("agent", sa.String(64)),
        sa.Column("reference", sa.String(200)),
        sa.Column("data", LONG_TEXT),
        **MYSQL_TABLE,
    )
    op.create_index("ix_caruso_contact_history_object", "caruso_contact_history", ["object", "object_key", "at"])
    op.create_table(
        "caruso_rule_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("object_key", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("message", LONG_TEXT, nullable=False),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    op.drop_table("caruso_rule_log")
    op.drop_index("ix_caruso_contact_history_object", "caruso_contact_history")
    op.drop_table("caruso_contact_history")
