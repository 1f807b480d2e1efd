"""When Stripe stops letting an authorisation be captured (the charge's ``capture_before``).

Revision ID: 0003_r2_capture_before
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_r2_capture_before"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("capture_before", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("payments", "capture_before")
