"""SQLAlchemy Core views of the booking tables (created by migrations/versions/0002)."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()
_ts = lambda name, **kw: sa.Column(name, sa.DateTime(timezone=True), **kw)  # noqa: E731

bookings = sa.Table(
    "bookings", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("hotel", sa.Text), sa.Column("status", sa.Text), sa.Column("room_type", sa.Text),
    sa.Column("check_in", sa.Date), sa.Column("check_out", sa.Date),
    sa.Column("adults", sa.Integer), sa.Column("children", sa.Integer),
    sa.Column("promo_code", sa.Text), sa.Column("special_requests", sa.Text),
    sa.Column("token_digest", sa.LargeBinary),
    sa.Column("idempotency_key", sa.Text), sa.Column("request_digest", sa.Text),
    sa.Column("hotel_profile", JSONB), sa.Column("quote", JSONB),
    _ts("hold_expires_at"), _ts("approval_deadline"), _ts("deadline_warned_at"), _ts("sweep_after"),
    sa.Column("decision", sa.Text), sa.Column("decision_json", JSONB), sa.Column("cancellation", JSONB),
    sa.Column("room_number", sa.Text),
    sa.Column("payment_status", sa.Text), sa.Column("checkout_url", sa.Text),
    _ts("created_at"), _ts("updated_at"),
    sa.Column("client_address", sa.Text),  # for the cap on unpaid holds per address (api/abuse.py)
    sa.Column("rooms_committed", sa.Boolean),  # inventory sold the rooms to the approved booking
)

party = sa.Table(
    "booking_party", metadata,
    sa.Column("booking_id", sa.Text, primary_key=True), sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("role", sa.Text), sa.Column("is_booker", sa.Boolean),
    sa.Column("first_name", sa.Text), sa.Column("last_name", sa.Text),
    sa.Column("email", sa.Text), sa.Column("phone", sa.Text),
)

timeline = sa.Table(
    "booking_timeline", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True), sa.Column("booking_id", sa.Text),
    _ts("at"), sa.Column("from_status", sa.Text), sa.Column("to_status", sa.Text),
    sa.Column("actor", sa.Text), sa.Column("reason", sa.Text),
)
