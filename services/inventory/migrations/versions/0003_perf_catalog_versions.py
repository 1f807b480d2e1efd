"""A version per hotel, bumped in the same transaction as every change of what prices a stay.

Availability and quotes are served from a cache keyed by this version (``inventory/cache.py``): a
trigger on each catalogue table bumps it, so no code path (staff endpoints, a migration, SQL by hand)
can change a price, a room, a tax, a promo or the policy without the next answer seeing it. Holds
are not in it: availability counts them live, in the same query that reads the version.

Revision ID: 0003_perf_catalog_versions
Revises: 0002
"""
from alembic import op

revision = "0003_perf_catalog_versions"
down_revision = "0002"
branch_labels = None
depends_on = None

# (table, the column naming its hotel)
CATALOGUE = (("hotels", "slug"), ("room_types", "hotel"), ("rooms", "hotel"), ("nightly_rates", "hotel"),
             ("taxes", "hotel"), ("promo_codes", "hotel"))


def upgrade() -> None:
    op.execute("""
    CREATE TABLE catalog_versions (
        hotel text PRIMARY KEY,
        version bigint NOT NULL
    );
    CREATE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        changed jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
    BEGIN
        INSERT INTO catalog_versions (hotel, version) VALUES (changed ->> TG_ARGV[0], 1)
        ON CONFLICT (hotel) DO UPDATE SET version = catalog_versions.version + 1;
        RETURN NULL;
    END $$;
    """)
    for table, column in CATALOGUE:
        op.execute(f"CREATE TRIGGER {table}_bump_catalog_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION bump_catalog_version('{column}')")


def downgrade() -> None:
    for table, _ in CATALOGUE:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_catalog_version ON {table}")
    op.execute("DROP FUNCTION IF EXISTS bump_catalog_version()")
    op.execute("DROP TABLE IF EXISTS catalog_versions")
