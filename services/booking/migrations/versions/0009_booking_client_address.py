"""The client address a booking was requested from, for the cap on unpaid holds per address (issue 14).

Revision ID: 0009_booking_client_address
Revises: 0008_booking_numbers_unbounded
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_booking_client_address"
down_revision = "0008_booking_numbers_unbounded"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("client_address", sa.Text, nullable=True))
    # Only unpaid bookings are counted: a small index however many bookings a hotel has.
    op.create_index("bookings_unpaid_by_address", "bookings", ["hotel", "client_address"],
                    postgresql_where=sa.text("status IN ('REQUESTED', 'PENDING_PAYMENT') AND client_address IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("bookings_unpaid_by_address", table_name="bookings")
    op.drop_column("bookings", "client_address")
