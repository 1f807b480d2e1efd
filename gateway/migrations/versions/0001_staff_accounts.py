"""Staff accounts: who may sign in, their role and the hotels they act on.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("hotels", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("created_by", UUID(as_uuid=True)),
        sa.CheckConstraint("role IN ('ADMIN', 'MANAGER', 'RECEPTIONIST')", name="staff_role_known"),
    )
    # Emails are stored lower-cased; one account per address.
    op.create_index("staff_accounts_email", "staff_accounts", ["email"], unique=True)


def downgrade() -> None:
    op.drop_table("staff_accounts")
