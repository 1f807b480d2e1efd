"""Outbox-to-consumer latency (p50, p95) and messages per second through the real broker.

A writer (this process, with its own outbox relay woken at commit) and a consumer (a separate
process on the kit's Consumer with its inbox) share a fresh database; latency is the handler's
clock_timestamp() minus the outbox row's commit-time timestamp, both from PostgreSQL's clock.
"""

import asyncio
import os
import subprocess
import sys
import time

from sqlalchemy import text

from hotelmate_devtools.cleanup import delete_namespace_queues, percentile
from hotelmate_devtools.echo.harness import ECHO
from hotelmate_devtools.echo.messages import Ping
from hotelmate_platform.db import Database, drop_database, prepare_database
from hotelmate_platform.messaging import Bus, OutboxRelay
from hotelmate_platform.settings import PlatformSettings

LATENCY_MESSAGES = 300
THROUGHPUT_MESSAGES = 5000




async def wait_for_effects(db, count, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with db.sessions() as s:
            if (await s.execute(text("SELECT count(*) FROM effects"))).scalar_one() >= count:
                return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"only part of {count} messages arrived")


async def main() -> None:
    settings = PlatformSettings(db_prefix=f"hmbench_{os.getpid()}_", bus_namespace=f"hmbench{os.getpid()}")
    url = settings.database_url("echo")
    prepare_database(url, ECHO / "migrations")
    env = {**os.environ, "ECHO_DATABASE_URL": url, "HOTELMATE_AMQP_URL": settings.amqp_url,
           "HOTELMATE_BUS_NAMESPACE": settings.bus_namespace}
    consumer = subprocess.Popen([sys.executable, "-m", "hotelmate_devtools.echo.worker", "consumer"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert consumer.stdout.readline().strip() == "ready"
    db = Database(url)
    bus = Bus(settings.amqp_url, settings.bus_namespace)
    await bus.connect()
    relay = asyncio.create_task(OutboxRelay(db, bus, poll_seconds=0.5).run())
    try:
        for n in range(LATENCY_MESSAGES):
            async with db.unit_of_work() as uow:
                uow.publish(Ping(n=n))
            await asyncio.sleep(0.005)
        await wait_for_effects(db, LATENCY_MESSAGES)
        async with db.sessions() as s:
            rows = await s.execute(text(
                "SELECT extract(epoch FROM e.handled_at - o.created_at) * 1000 FROM effects e "
                "JOIN outbox o ON o.message_id = e.message_id"))
            latencies = [float(r[0]) for r in rows]
        print(f"outbox-to-consumer latency over {len(latencies)} messages: "
              f"p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms")

        started = time.perf_counter()
        for base in range(0, THROUGHPUT_MESSAGES, 100):
            async with db.unit_of_work() as uow:
                for n in range(base, base + 100):
                    uow.publish(Ping(n=100000 + n))
        await wait_for_effects(db, LATENCY_MESSAGES + THROUGHPUT_MESSAGES)
        elapsed = time.perf_counter() - started
        print(f"throughput: {THROUGHPUT_MESSAGES} messages written, relayed and consumed in {elapsed:.2f} s "
              f"= {THROUGHPUT_MESSAGES / elapsed:.0f} messages/s")
    finally:
        relay.cancel()
        consumer.terminate()
        consumer.wait()
        await bus.close()
        await db.dispose()
        drop_database(url)
        await delete_namespace_queues(settings)


if __name__ == "__main__":
    asyncio.run(main())
