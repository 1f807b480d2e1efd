"""Retention's scans of the outbox and inbox can use an index in every service's database (migration
``0006_message_retention_index``), so a round with nothing to prune does not read whole tables."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from hotelmate_platform.db import Database, drop_database, prepare_database
from hotelmate_platform.retention import messaging_rules
from hotelmate_platform.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("inventory", "booking", "payments", "notifications")
INDEXES = {"outbox": "outbox_published_at", "inbox": "inbox_processed_at"}


@pytest.mark.parametrize("service", SERVICES)
async def test_retention_scans_use_an_index(service, platform_settings):
    url = platform_settings.database_url(f"retention_index_{service}")
    prepare_database(url, ROOT / "services" / service / "migrations")
    db = Database(url, pool_size=1, max_overflow=0)
    try:
        for rule in messaging_rules(ServiceSettings()):
            async with db.sessions() as session, session.begin():
                await session.execute(text("SET LOCAL enable_seqscan = off"))  # tiny tables: ask for the index
                plan = "\n".join((await session.execute(text(f"EXPLAIN {rule.statement()}"), {
                    "cutoff": datetime.now(timezone.utc) - timedelta(days=7), "batch": 500})).scalars())
            assert INDEXES[rule.table] in plan, f"{rule.name}:\n{plan}"
    finally:
        await db.dispose()
        drop_database(url)
