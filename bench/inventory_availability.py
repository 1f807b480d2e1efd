"""Availability and quote latency of the inventory service on a realistic catalogue.

``python bench/inventory_availability.py`` seeds a fresh database (10 hotels x 8 room types x 40 rooms,
a year of seasonal nightly rates, taxes, thousands of holds), starts the inventory service as its own
process (hotelmate_devtools.system), measures p50/p95/p99 latency and throughput at 1 and 50
concurrent clients directly against the service and through the gateway, prints the SQL query count of one availability call
for a 1-night and a 14-night stay, then drops what it created.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import sys
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx

RUN = secrets.token_hex(3)
os.environ["HOTELMATE_DB_PREFIX"] = f"hmbench_{RUN}_"
os.environ["HOTELMATE_BUS_NAMESPACE"] = f"hmbench_{RUN}"
os.environ.setdefault("HOTELMATE_LOG_LEVEL", "WARNING")
os.environ.setdefault("HOTELMATE_ENV", "development")
os.environ.setdefault("HOTELMATE_SERVICE_SECRET", secrets.token_hex(32))

from hotelmate_devtools.cleanup import delete_namespace_queues, drop_prefixed_databases, percentile  # noqa: E402
from hotelmate_devtools.signing import as_gateway  # noqa: E402
from hotelmate_devtools.system import Layout, System  # noqa: E402
from hotelmate_platform.settings import PlatformSettings  # noqa: E402

HOTELS, TYPES, ROOMS_PER_TYPE, HOLDS = 10, 8, 40, 6000
TZ = "Europe/Lisbon"
GATEWAY_LIMITS = {"HOTELMATE_GATEWAY_PUBLIC_RATE_PER_MINUTE": "10000000", "HOTELMATE_GATEWAY_PUBLIC_BURST": "10000000"}
rng = random.Random(42)


def today() -> date:
    return datetime.now(ZoneInfo(TZ)).date()


async def seed_catalogue(client: httpx.AsyncClient) -> None:
    start = today()
    for h in range(HOTELS):
        slug = f"hotel-{h}"
        r = await client.put(f"/api/v1/staff/hotels/{slug}", json={
            "name": f"Hotel {h}", "timezone": TZ, "currency": "EUR", "check_in_time": "15:00", "check_out_time": "11:00",
            "hold_minutes": 30, "approval_hours": 24, "staff_email": f"staff{h}@example.com"})
        r.raise_for_status()
        rates = []
        for t in range(TYPES):
            code = f"T{t}"
            (await client.put(f"/api/v1/staff/hotels/{slug}/room-types/{code}", json={
                "name": f"Type {t}", "max_adults": 2 + t % 3, "max_children": t % 3, "base_rate": f"{90 + 15 * t}.00"})).raise_for_status()
            for month in range(13):  # a year of rates, changing every month, weekends dearer
                first = start + timedelta(days=30 * month)
                for offset in range(0, 30, 7):
                    weekend = first + timedelta(days=offset + 4)
                    rates.append({"room_type": code, "from": str(first + timedelta(days=offset)),
                                  "to": str(first + timedelta(days=offset + 3)), "price": f"{95 + 15 * t + month}.50"})
                    rates.append({"room_type": code, "from": str(weekend), "to": str(weekend + timedelta(days=2)),
                                  "price": f"{125 + 15 * t + month}.00"})
        (await client.put(f"/api/v1/staff/hotels/{slug}/rates", json=rates)).raise_for_status()
        (await client.put(f"/api/v1/staff/hotels/{slug}/taxes", json=[
            {"code": "VAT", "name": "VAT", "kind": "PERCENT", "value": "6"},
            {"code": "CITY", "name": "City tax", "kind": "PER_PERSON_PER_NIGHT", "value": "2.00"}])).raise_for_status()
        (await client.put(f"/api/v1/staff/hotels/{slug}/promo-codes/WELCOME", json={"percent_off": "10"})).raise_for_status()


def seed_rooms_and_holds(database_url: str) -> int:
    """Rooms and holds straight into the database (thousands of rows; the HTTP path is not measured here)."""
    import psycopg

    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    now = datetime.now(timezone.utc)
    taken: dict[tuple, int] = {}
    holds = []
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO rooms (hotel, number, room_type, floor, in_service) VALUES (%s, %s, %s, %s, true)", [
                (f"hotel-{h}", f"{t + 1}{n:02d}", f"T{t}", str(t + 1))
                for h in range(HOTELS) for t in range(TYPES) for n in range(ROOMS_PER_TYPE)])
            while len(holds) < HOLDS:
                h, t = rng.randrange(HOTELS), rng.randrange(TYPES)
                ci = today() + timedelta(days=rng.randrange(0, 120))
                nights = rng.randint(1, 7)
                keys = [(h, t, ci + timedelta(days=i)) for i in range(nights)]
                if any(taken.get(k, 0) >= ROOMS_PER_TYPE for k in keys):
                    continue
                for k in keys:
                    taken[k] = taken.get(k, 0) + 1
                status = rng.choice(["HELD", "COMMITTED", "COMMITTED"])
                holds.append((f"BK-BENCH-{len(holds):06d}", f"hotel-{h}", f"T{t}", ci, ci + timedelta(days=nights), 2, 0,
                              status, now + timedelta(minutes=rng.randint(-30, 60)), "100.00", "EUR"))
            cur.executemany("""INSERT INTO holds (booking_id, hotel, room_type, check_in, check_out, adults, children,
                                                  status, expires_at, total, currency, quote)
                               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '{}'::jsonb)""", holds)
        conn.commit()
    return len(holds)


def random_stay() -> tuple[str, date, date]:
    ci = today() + timedelta(days=rng.randrange(0, 150))
    return f"hotel-{rng.randrange(HOTELS)}", ci, ci + timedelta(days=rng.randint(1, 7))


async def call(client: httpx.AsyncClient, kind: str) -> float | None:
    """The call's latency, or None when the service refused it for capacity (503, admission control)."""
    slug, ci, co = random_stay()
    started = time.perf_counter()
    if kind == "availability":
        r = await client.get(f"/api/v1/hotels/{slug}/availability",
                             params={"check_in": str(ci), "check_out": str(co), "adults": 2, "children": 0})
    else:
        r = await client.post(f"/api/v1/hotels/{slug}/quotes", json={
            "room_type": f"T{rng.randrange(TYPES)}", "check_in": str(ci), "check_out": str(co), "adults": 2,
            "promo_code": "WELCOME"})
    elapsed = time.perf_counter() - started
    if r.status_code == 503:
        return None
    assert r.status_code == 200, r.text
    return elapsed


async def measure(client: httpx.AsyncClient, kind: str, concurrency: int, total: int) -> str:
    latencies: list[float] = []
    refused = 0
    remaining = iter(range(total))

    async def worker():
        nonlocal refused
        for _ in remaining:
            if (latency := await call(client, kind)) is None:
                refused += 1
            else:
                latencies.append(latency)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    p50, p95, p99 = (percentile(latencies, q) * 1000 for q in (50, 95, 99))
    return (f"{kind:<12} clients={concurrency:<3} n={total:<5} p50={p50:7.1f} ms  p95={p95:7.1f} ms  "
            f"p99={p99:7.1f} ms  throughput={len(latencies) / wall:7.1f} req/s  refused (503)={refused}")


async def query_counts(database_url: str) -> dict[int, int]:
    from sqlalchemy import event

    from hotelmate_platform.db import Database
    from inventory.quoting import OneSession, availability

    db = Database(database_url, pool_size=1)
    statements: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    counts = {}
    for nights in (1, 14):
        statements.clear()
        ci = today() + timedelta(days=20)
        async with db.sessions() as session:
            await availability(OneSession(session), "hotel-0", ci, ci + timedelta(days=nights), 2, 0)
        counts[nights] = len(statements)
    await db.dispose()
    return counts


async def main() -> None:
    settings = PlatformSettings()
    database_url = settings.database_url("inventory")
    system = System(Layout.random_ports(GATEWAY_LIMITS), echo=False)
    system.start(["inventory", "gateway"])
    out = sys.stdout.write
    try:
        # keep-alive shorter than uvicorn's 5 s, so no idle connection is reused after the server closed it
        limits = httpx.Limits(max_connections=60, max_keepalive_connections=60, keepalive_expiry=2.0)
        async with httpx.AsyncClient(base_url=system.layout.url("inventory"), timeout=60, limits=limits,
                                     event_hooks={"request": [as_gateway(admin_by_default=True)]}) as client:  # staff routes, as an ADMIN
            t0 = time.perf_counter()
            await seed_catalogue(client)
            holds = seed_rooms_and_holds(database_url)
            out(f"seeded {HOTELS} hotels x {TYPES} room types x {ROOMS_PER_TYPE} rooms, a year of rates, "
                f"{holds} holds in {time.perf_counter() - t0:.1f}s\n")
        for route in ("inventory", "gateway"):
            out(f"-- {'directly to inventory' if route == 'inventory' else 'through the gateway'}\n")
            async with httpx.AsyncClient(base_url=system.layout.url(route), timeout=60, limits=limits) as client:
                for kind in ("availability", "quote"):
                    await measure(client, kind, 10, 100)  # warm-up
                    out(await measure(client, kind, 1, 300) + "\n")
                    out(await measure(client, kind, 50, 1500) + "\n")
        counts = await query_counts(database_url)
        out(f"SQL queries for one availability call: 1 night = {counts[1]}, 14 nights = {counts[14]}\n")
    finally:
        system.stop()
        drop_prefixed_databases(settings)
        await delete_namespace_queues(settings)


if __name__ == "__main__":
    asyncio.run(main())
