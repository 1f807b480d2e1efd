"""Staff accounts can be disabled, and every change of role, hotels, password or state bumps a
token version: tokens carry the version they were issued under and die with it.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("staff_accounts", sa.Column("disabled_at", sa.DateTime(timezone=True)))
    op.add_column("staff_accounts", sa.Column("token_version", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("staff_accounts", "token_version")
    op.drop_column("staff_accounts", "disabled_at")
