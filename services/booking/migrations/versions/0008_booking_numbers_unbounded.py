"""Booking numbers that do not run out: each year's sequence loses its MAXVALUE of 999999 (issue 14).

Ids keep their form and grow past six digits (``BK-2026-1000000``); a bigint sequence cannot be spent
by anonymous requests. Sequences of years after 2040 are created on first use without a maximum.

Revision ID: 0008_booking_numbers_unbounded
Revises: 0007_pre_check_in
"""
from alembic import op

revision = "0008_booking_numbers_unbounded"
down_revision = "0007_pre_check_in"
branch_labels = None
depends_on = None

_EACH_YEAR = """
DO $$
DECLARE s record;
BEGIN
  FOR s IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'S' AND n.nspname = current_schema() AND c.relname ~ '^booking_number_[0-9]{4}$'
  LOOP
    EXECUTE format('ALTER SEQUENCE %I AS bigint %s', s.relname, '{limit}');
  END LOOP;
END $$;
"""


def upgrade() -> None:
    op.execute(_EACH_YEAR.replace("{limit}", "NO MAXVALUE"))


def downgrade() -> None:
    # Refused by PostgreSQL for a year already past 999999, which is the point of the upgrade.
    op.execute(_EACH_YEAR.replace("{limit}", "MAXVALUE 999999"))
