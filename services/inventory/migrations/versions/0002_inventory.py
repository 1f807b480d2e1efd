"""Catalogue, pricing rules, holds and room assignments.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute("""
    CREATE TABLE hotels (
        slug text PRIMARY KEY,
        name text NOT NULL,
        timezone text NOT NULL,
        currency char(3) NOT NULL,
        check_in_time text NOT NULL,
        check_out_time text NOT NULL,
        hold_minutes int NOT NULL,
        approval_hours int NOT NULL,
        staff_email text NOT NULL,
        free_until_hours int,
        penalty text NOT NULL DEFAULT 'FIRST_NIGHT',
        penalty_value numeric(12, 3)
    );
    CREATE TABLE room_types (
        hotel text NOT NULL REFERENCES hotels(slug),
        code text NOT NULL,
        name text NOT NULL,
        max_adults int NOT NULL CHECK (max_adults >= 1),
        max_children int NOT NULL CHECK (max_children >= 0),
        base_rate numeric(12, 3) NOT NULL CHECK (base_rate >= 0),
        PRIMARY KEY (hotel, code)
    );
    CREATE TABLE rooms (
        hotel text NOT NULL,
        number text NOT NULL,
        room_type text NOT NULL,
        floor text,
        in_service boolean NOT NULL DEFAULT true,
        PRIMARY KEY (hotel, number),
        FOREIGN KEY (hotel, room_type) REFERENCES room_types(hotel, code)
    );
    CREATE INDEX rooms_by_type ON rooms (hotel, room_type) WHERE in_service;
    CREATE TABLE nightly_rates (
        hotel text NOT NULL,
        room_type text NOT NULL,
        night date NOT NULL,
        price numeric(12, 3) NOT NULL CHECK (price >= 0),
        PRIMARY KEY (hotel, room_type, night),
        FOREIGN KEY (hotel, room_type) REFERENCES room_types(hotel, code)
    );
    CREATE TABLE taxes (
        hotel text NOT NULL REFERENCES hotels(slug),
        code text NOT NULL,
        position int NOT NULL,
        name text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('PERCENT', 'PER_NIGHT', 'PER_PERSON_PER_NIGHT')),
        value numeric(12, 4) NOT NULL CHECK (value >= 0),
        PRIMARY KEY (hotel, code)
    );
    CREATE TABLE promo_codes (
        hotel text NOT NULL REFERENCES hotels(slug),
        code text NOT NULL,
        percent_off numeric(6, 3),
        amount_off numeric(12, 3),
        valid_from date,
        valid_to date,
        min_nights int,
        room_types text[],
        max_redemptions int,
        active boolean NOT NULL DEFAULT true,
        PRIMARY KEY (hotel, code),
        CHECK ((percent_off IS NULL) <> (amount_off IS NULL))
    );
    -- One hold per booking. A row with status RELEASED and no stay is a tombstone: a release that
    -- arrived before its PlaceHold, so a late PlaceHold never takes rooms.
    CREATE TABLE holds (
        booking_id text PRIMARY KEY,
        hotel text NOT NULL,
        room_type text,
        check_in date,
        check_out date,
        adults int,
        children int,
        promo_code text,
        status text NOT NULL CHECK (status IN ('HELD', 'COMMITTED', 'RELEASED', 'EXPIRED')),
        expires_at timestamptz,
        quote jsonb,
        total numeric(12, 3),
        currency char(3),
        reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX holds_taking_rooms ON holds (hotel, room_type, check_in, check_out)
        WHERE status IN ('HELD', 'COMMITTED');
    CREATE INDEX holds_to_sweep ON holds (expires_at) WHERE status = 'HELD';
    -- No double assignment (SPEC §4.2): one room, no two overlapping stays.
    CREATE TABLE room_assignments (
        booking_id text PRIMARY KEY REFERENCES holds(booking_id),
        hotel text NOT NULL,
        room_number text NOT NULL,
        stay daterange NOT NULL,
        FOREIGN KEY (hotel, room_number) REFERENCES rooms(hotel, number),
        CONSTRAINT room_assignments_no_overlap
            EXCLUDE USING gist (hotel WITH =, room_number WITH =, stay WITH &&)
    );
    """)


def downgrade() -> None:
    for table in ("room_assignments", "holds", "promo_codes", "taxes", "nightly_rates", "rooms", "room_types", "hotels"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
