"""Whether inventory has sold the booking's rooms (HoldCommitted after the approval).

A capture then confirms the booking without asking inventory to commit the hold a second time; a
booking approved by an older version (captured before its rooms were committed) has ``false`` and
still commits its hold when the capture arrives.

Revision ID: 0010_rooms_committed
Revises: 0009_booking_client_address
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_rooms_committed"
down_revision = "0009_booking_client_address"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("rooms_committed", sa.Boolean, nullable=False,
                                        server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("bookings", "rooms_committed")
