"""A booking whose deadline handling failed is retried by the sweeper only after ``sweep_after``.

Revision ID: 0003_r2_sweep_after
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_r2_sweep_after"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("sweep_after", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("bookings", "sweep_after")
