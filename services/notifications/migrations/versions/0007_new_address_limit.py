"""The limit on emails to new addresses per hotel (issue 14): which guest emails were a hotel's
first to their address (they spend the hour's budget), and which were held back by it.

Revision ID: 0007_new_address_limit
Revises: 0006_message_retention_index
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_new_address_limit"
down_revision = "0006_message_retention_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("first_contact", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("deliveries", sa.Column("held", sa.Boolean, nullable=False, server_default=sa.false()))
    op.execute("CREATE INDEX deliveries_seen_addresses ON deliveries (hotel, lower(recipient)) WHERE NOT held")
    op.create_index("deliveries_first_contacts", "deliveries", ["hotel", "created_at"],
                    postgresql_where=sa.text("first_contact"))


def downgrade() -> None:
    op.drop_index("deliveries_first_contacts", table_name="deliveries")
    op.drop_index("deliveries_seen_addresses", table_name="deliveries")
    op.drop_column("deliveries", "held")
    op.drop_column("deliveries", "first_contact")
