"""Payments, their Stripe operations and the stored Stripe events.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE payments (
        booking_id text PRIMARY KEY,
        hotel text NOT NULL,
        currency char(3) NOT NULL,
        amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
        status text NOT NULL DEFAULT 'NONE',
        checkout_session_id text UNIQUE,
        checkout_url text,
        checkout_expires_at timestamptz NOT NULL,
        return_url text NOT NULL,
        description text NOT NULL,
        customer_email text NOT NULL,
        payment_intent_id text UNIQUE,
        -- VoidPayment was received: any later authorisation is voided, never announced.
        closed boolean NOT NULL DEFAULT false,
        close_reason text,
        flagged boolean NOT NULL DEFAULT false,
        flag_reason text,
        captured_minor bigint NOT NULL DEFAULT 0,
        refunded_minor bigint NOT NULL DEFAULT 0,
        authorized_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE payment_operations (
        id bigserial PRIMARY KEY,
        booking_id text NOT NULL REFERENCES payments(booking_id),
        op_key text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('CHECKOUT', 'CAPTURE', 'VOID', 'REFUND')),
        amount_minor bigint,
        reason text,
        status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE', 'FAILED')),
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        UNIQUE (booking_id, op_key)
    );
    CREATE INDEX payment_operations_due ON payment_operations (next_attempt_at) WHERE status = 'PENDING';
    CREATE TABLE stripe_events (
        id text PRIMARY KEY,
        type text NOT NULL,
        payload jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text
    );
    CREATE INDEX stripe_events_due ON stripe_events (next_attempt_at) WHERE processed_at IS NULL;
    """)


def downgrade() -> None:
    op.execute("DROP TABLE stripe_events; DROP TABLE payment_operations; DROP TABLE payments;")
