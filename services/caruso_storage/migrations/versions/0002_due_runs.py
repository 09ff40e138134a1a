"""Due rules: which rule ran for which object and deadline.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MYSQL = ("mysql", "mariadb")
MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}   # text compared as it is
MOMENT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), *MYSQL)


def upgrade() -> None:
    op.create_table(
        "caruso_due_runs",
        sa.Column("object", sa.String(64), primary_key=True),
        sa.Column("object_key", sa.String(200), primary_key=True),
        sa.Column("rule", sa.String(64), primary_key=True),
        sa.Column("deadline", sa.String(32), nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    op.drop_table("caruso_due_runs")
