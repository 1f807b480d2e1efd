"""Indexes for retention's scans of the outbox and inbox (see ``hotelmate_platform.retention``).

Revision ID: 0006_message_retention_index
Revises: 0003_perf_catalog_versions
"""
from alembic import op

from hotelmate_platform.migrations import create_retention_indexes, drop_retention_indexes

revision = "0006_message_retention_index"
down_revision = "0003_perf_catalog_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_retention_indexes(op)


def downgrade() -> None:
    drop_retention_indexes(op)
