"""What each service's Alembic ``env.py`` runs, and the messaging tables every database has."""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from sqlalchemy import create_engine, pool
from sqlalchemy.dialects.postgresql import JSONB, UUID


def run_env() -> None:
    """Body of a service's ``migrations/env.py``: online migrations under an advisory lock."""
    from alembic import context

    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        # Several replicas may start at once: one migrates, the others wait and find nothing to do.
        lock_key = zlib.crc32(b"hotelmate-migrations")
        connection.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": lock_key})
        try:
            context.configure(connection=connection, target_metadata=None)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key})
            connection.commit()
    engine.dispose()


def create_messaging_tables(op) -> None:
    """The outbox and inbox tables; call from a service's first migration."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("message_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )
    op.create_index("outbox_pending", "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL"))
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("message_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def drop_messaging_tables(op) -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")


def create_retention_indexes(op) -> None:
    """Indexes for retention's scans (``published_at``/``processed_at`` older than the cutoff), so a
    round with nothing to prune reads an index, not the whole outbox and inbox."""
    op.create_index("outbox_published_at", "outbox", ["published_at"],
                    postgresql_where=sa.text("published_at IS NOT NULL"))
    op.create_index("inbox_processed_at", "inbox", ["processed_at"])


def drop_retention_indexes(op) -> None:
    op.drop_index("inbox_processed_at", table_name="inbox")
    op.drop_index("outbox_published_at", table_name="outbox")
