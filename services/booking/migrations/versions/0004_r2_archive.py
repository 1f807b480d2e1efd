"""Bookings finished long ago move to ``bookings_archive``: one row each, the booking with its party
and timeline as JSON, so the working tables stay small.

Revision ID: 0004_r2_archive
Revises: 0003_r2_sweep_after
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004_r2_archive"
down_revision = "0003_r2_sweep_after"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bookings_archive",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("hotel", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("check_in", sa.Date, nullable=False),
        sa.Column("check_out", sa.Date, nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("record", JSONB, nullable=False),  # {"booking": …, "party": […], "timeline": […]}
    )
    op.create_index("bookings_archive_hotel_arrival", "bookings_archive", ["hotel", "check_in", "id"])
    op.create_index("bookings_finished", "bookings", ["updated_at"],
                    postgresql_where=sa.text("status IN ('DECLINED', 'CANCELLED', 'EXPIRED', 'UNAVAILABLE', "
                                             "'PAYMENT_FAILED', 'CHECKED_OUT', 'NO_SHOW')"))


def downgrade() -> None:
    op.drop_index("bookings_finished", "bookings")
    op.drop_table("bookings_archive")
