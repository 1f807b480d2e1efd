"""Messaging tables plus the echo service's record of handled messages.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from hotelmate_platform.migrations import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables(op)
    op.create_table(
        "effects",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("message_id", UUID(as_uuid=True), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()")),
    )
    op.create_table("notes", sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True), sa.Column("n", sa.Integer))
