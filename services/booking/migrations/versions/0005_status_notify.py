"""Every change of a booking's status notifies channel ``booking_status`` with the booking id.

The notification is sent when the changing transaction commits (never for one rolled back), to every
listening replica: the guests' long polls (``?wait_for=``) wake at once, whatever code path changed
the status.

Revision ID: 0005_status_notify
Revises: 0004_r2_archive
"""
from alembic import op

revision = "0005_status_notify"
down_revision = "0004_r2_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE FUNCTION notify_booking_status() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('booking_status', NEW.id);
        RETURN NULL;
    END $$;
    CREATE TRIGGER bookings_notify_status AFTER UPDATE OF status ON bookings
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION notify_booking_status();
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS bookings_notify_status ON bookings")
    op.execute("DROP FUNCTION IF EXISTS notify_booking_status()")
