"""Bookings, their party, their timeline, and the yearly id sequences.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

YEARS = range(2024, 2041)  # later years get their sequence on first use


def upgrade() -> None:
    ts = lambda name, **kw: sa.Column(name, sa.DateTime(timezone=True), **kw)  # noqa: E731
    op.create_table(
        "bookings",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("hotel", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("room_type", sa.Text, nullable=False),
        sa.Column("check_in", sa.Date, nullable=False),
        sa.Column("check_out", sa.Date, nullable=False),
        sa.Column("adults", sa.Integer, nullable=False),
        sa.Column("children", sa.Integer, nullable=False),
        sa.Column("promo_code", sa.Text),
        sa.Column("special_requests", sa.Text),
        sa.Column("token_digest", sa.LargeBinary, nullable=False),
        sa.Column("idempotency_key", sa.Text),
        sa.Column("request_digest", sa.Text),
        sa.Column("hotel_profile", JSONB, nullable=False),
        sa.Column("quote", JSONB),
        ts("hold_expires_at"),
        ts("approval_deadline"),
        ts("deadline_warned_at"),
        sa.Column("decision", sa.Text),
        sa.Column("decision_json", JSONB),
        sa.Column("cancellation", JSONB),
        sa.Column("room_number", sa.Text),
        sa.Column("payment_status", sa.Text, nullable=False, server_default="NONE"),
        sa.Column("checkout_url", sa.Text),
        ts("created_at", nullable=False, server_default=sa.func.now()),
        ts("updated_at", nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("check_out > check_in", name="stay_has_nights"),
    )
    op.create_index("bookings_idempotency", "bookings", ["hotel", "idempotency_key"], unique=True,
                    postgresql_where=sa.text("idempotency_key IS NOT NULL"))
    op.create_index("bookings_hotel_arrival", "bookings", ["hotel", "check_in", "id"])
    op.create_index("bookings_hold_due", "bookings", ["hold_expires_at"],
                    postgresql_where=sa.text("status IN ('REQUESTED', 'PENDING_PAYMENT')"))
    op.create_index("bookings_approval_due", "bookings", ["approval_deadline"],
                    postgresql_where=sa.text("status = 'PENDING_APPROVAL' AND decision IS NULL"))
    op.create_table(
        "booking_party",
        sa.Column("booking_id", sa.Text, sa.ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("role", sa.Text, nullable=False),  # PRIMARY | COMPANION | CHILD | BOOKER (not staying)
        sa.Column("is_booker", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("first_name", sa.Text, nullable=False),
        sa.Column("last_name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("phone", sa.Text),
    )
    op.create_index("party_one_primary", "booking_party", ["booking_id"], unique=True,
                    postgresql_where=sa.text("role = 'PRIMARY'"))
    op.create_table(
        "booking_timeline",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("booking_id", sa.Text, sa.ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False, index=True),
        ts("at", nullable=False, server_default=sa.func.now()),
        sa.Column("from_status", sa.Text),
        sa.Column("to_status", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
    )
    for year in YEARS:
        op.execute(f"CREATE SEQUENCE booking_number_{year} MINVALUE 1 MAXVALUE 999999 NO CYCLE")


def downgrade() -> None:
    for year in YEARS:
        op.execute(f"DROP SEQUENCE IF EXISTS booking_number_{year}")
    op.drop_table("booking_timeline")
    op.drop_table("booking_party")
    op.drop_table("bookings")
