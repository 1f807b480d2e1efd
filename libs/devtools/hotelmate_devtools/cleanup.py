"""Removing what a test run or a benchmark created: its databases and its queues."""

from __future__ import annotations

import asyncio
import statistics

import psycopg

from hotelmate_platform.settings import PlatformSettings

from .system import SERVICES

QUEUE_OWNERS = (*SERVICES, "gateway", *[f"test{i}" for i in range(8)])


def drop_prefixed_databases(settings: PlatformSettings) -> None:
    """Drop every database whose name starts with ``settings.db_prefix``."""
    url = settings.postgres_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        pattern = settings.db_prefix.replace("_", r"\_") + "%"
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,))]
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def delete_namespace_queues(settings: PlatformSettings) -> None:
    """Delete the queues and the exchange the services declare under ``settings.bus_namespace``."""
    import aio_pika

    connection = await aio_pika.connect(settings.amqp_url, timeout=10)  # a broker that never answers fails the test
    async with connection:
        channel = await connection.channel()
        for owner in QUEUE_OWNERS:
            base = f"{settings.bus_namespace}.{owner}"
            for name in (base, f"{base}.dlq", *[f"{base}.retry.{i}" for i in range(8)]):
                try:
                    await channel.queue_delete(name)
                except Exception:  # noqa: BLE001 - the queue never existed; that closes the channel
                    channel = await connection.channel()
        try:
            await channel.exchange_delete(f"{settings.bus_namespace}.bus")
        except Exception:  # noqa: BLE001 - already gone
            pass


def remove_run(settings: PlatformSettings) -> None:
    """Drop the run's databases and delete its queues (call it outside an event loop)."""
    drop_prefixed_databases(settings)
    asyncio.run(delete_namespace_queues(settings))


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (1..99) of ``values``; the value itself when there is only one."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
