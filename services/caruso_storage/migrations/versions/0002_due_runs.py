"""Due rules: which rule ran for which object and deadline.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "caruso_due_runs",
        sa.Column("object", sa.String(64), primary_key=True),
        sa.Column("object_key", sa.String(200), primary_key=True),
        sa.Column("rule", sa.String(64), primary_key=True),
        sa.Column("deadline", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("caruso_due_runs")
