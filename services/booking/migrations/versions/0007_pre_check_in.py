"""Pre-check-in: the party's names, arrival time and requests a guest gives before arriving.

Revision ID: 0007_pre_check_in
Revises: 0006_message_retention_index
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_pre_check_in"
down_revision = "0006_message_retention_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pre_check_ins",
        sa.Column("booking_id", sa.Text, primary_key=True),
        sa.Column("party_names", postgresql.JSONB, nullable=False),
        sa.Column("arrival_time", sa.Text, nullable=True),
        sa.Column("special_requests", sa.Text, nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pre_check_ins")
