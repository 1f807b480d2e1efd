"""The gateway's tables (created by migrations/versions)."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID

metadata = sa.MetaData()

staff_accounts = sa.Table(
    "staff_accounts",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("email", sa.Text, nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("hotels", ARRAY(sa.Text), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column("created_by", UUID(as_uuid=True)),
    sa.Column("disabled_at", sa.DateTime(timezone=True)),
    # Bumped by every change of role, hotels, password or state: older tokens stop working.
    sa.Column("token_version", sa.Integer, nullable=False, server_default="0"),
)
