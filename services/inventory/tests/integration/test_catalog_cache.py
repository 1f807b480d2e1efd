"""Availability and quotes come from the catalogue cache, and every change shows in the next answer.

Each test asks twice (the second answer is a cache hit), changes one thing, and asks again; every test
runs with each store (this process's memory, and Redis: a second inventory app on the same database
started with ``HOTELMATE_INVENTORY_CATALOG_CACHE_URL`` pointing at a Redis of the module's own).
"""

import asyncio
import logging
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from hotelmate_devtools.chaos import private_redis, redis_available
from hotelmate_devtools.signing import as_gateway
from inventory.adapters.repository import catalog_version
from inventory.cache import RedisCatalogCache, create_catalog_cache
from inventory.handlers import expire_lapsed_holds, place_hold, release_hold
from hotelmate_contracts import ReleaseHold

from .conftest import local_today, make_hotel, soon
from .test_holds import place, run

NO_REDIS = "redis-server is not installed here"


def inventory_with_cache(url: str):
    from inventory.app import create_app
    from inventory.settings import InventorySettings

    return create_app(InventorySettings(sweep_seconds=3600, inventory_catalog_cache_url=url))


@pytest.fixture(scope="module")
async def redis_app():
    """Inventory with its cache in a Redis of this module's own (None where Redis is not installed:
    the memory tests still run)."""
    if not redis_available():
        yield None
        return
    with private_redis() as server:
        app = inventory_with_cache(server.url)
        async with app.router.lifespan_context(app):
            yield app


@pytest.fixture(params=["memory", "redis"])
async def store(request, client, runtime, redis_app):
    """(client, runtime) of an inventory app whose catalogue cache is in ``request.param``."""
    if request.param == "memory":
        yield client, runtime
        return
    if redis_app is None:
        pytest.skip(NO_REDIS)
    assert redis_app.state.runtime.extras["catalog_cache"].store == "redis"
    async with client_of(redis_app) as redis_client:
        yield redis_client, redis_app.state.runtime


def client_of(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inventory",
                             event_hooks={"request": [as_gateway(admin_by_default=True)]})


def stay(days: int = 20, nights: int = 2) -> dict:
    ci = local_today() + timedelta(days=days)
    return {"check_in": str(ci), "check_out": str(ci + timedelta(days=nights))}


async def available(client, slug: str) -> dict:
    answer = await client.get(f"/api/v1/hotels/{slug}/availability", params={**stay(), "adults": 2})
    assert answer.status_code == 200, answer.text
    return {t["code"]: t for t in answer.json()["room_types"]}


async def quoted(client, slug: str, **extra) -> dict:
    answer = await client.post(f"/api/v1/hotels/{slug}/quotes", json={"room_type": "DBL", **stay(), "adults": 2, **extra})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def warm(client, slug: str, runtime) -> tuple[dict, dict]:
    """Ask twice; the second answers are hits."""
    await available(client, slug), await quoted(client, slug)
    hits = runtime.extras["catalog_cache"].hits
    first = await available(client, slug), await quoted(client, slug)
    assert runtime.extras["catalog_cache"].hits == hits + 2
    return first


async def test_a_rate_change_shows_in_the_next_availability_and_quote(store):
    client, runtime = store
    slug = await make_hotel(client)
    before, quote = await warm(client, slug, runtime)
    assert before["DBL"]["total"]["amount"] == quote["total"]["amount"] == "200.00"
    day = stay()["check_in"]
    assert (await client.put(f"/api/v1/staff/hotels/{slug}/rates",
                             json=[{"room_type": "DBL", "from": day, "to": day, "price": "150.00"}])).status_code == 200
    assert (await available(client, slug))["DBL"]["total"]["amount"] == "250.00"
    assert (await quoted(client, slug))["total"]["amount"] == "250.00"


async def test_a_room_out_of_service_shows_in_the_next_availability(store):
    client, runtime = store
    slug = await make_hotel(client, rooms=3)
    before, _ = await warm(client, slug, runtime)
    assert before["DBL"]["available"] == 3
    await client.put(f"/api/v1/staff/hotels/{slug}/rooms/102", json={"room_type": "DBL", "in_service": False})
    assert (await available(client, slug))["DBL"]["available"] == 2


async def test_a_room_type_change_shows_in_the_next_answers(store):
    client, runtime = store
    slug = await make_hotel(client)
    await warm(client, slug, runtime)
    await client.put(f"/api/v1/staff/hotels/{slug}/room-types/DBL",
                     json={"name": "Double deluxe", "max_adults": 2, "max_children": 1, "base_rate": "120.00"})
    after = await available(client, slug)
    assert (after["DBL"]["name"], after["DBL"]["total"]["amount"]) == ("Double deluxe", "240.00")
    assert (await quoted(client, slug))["total"]["amount"] == "240.00"


async def test_a_tax_change_shows_in_the_next_answers(store):
    client, runtime = store
    slug = await make_hotel(client)
    await warm(client, slug, runtime)
    await client.put(f"/api/v1/staff/hotels/{slug}/taxes", json=[{"code": "VAT", "name": "VAT", "kind": "PERCENT",
                                                                   "value": "10"}])
    assert (await available(client, slug))["DBL"]["total"]["amount"] == "220.00"
    assert [t["code"] for t in (await quoted(client, slug))["taxes"]] == ["VAT"]


async def test_a_policy_change_shows_in_the_next_quote(store):
    client, runtime = store
    slug = await make_hotel(client)
    _, quote = await warm(client, slug, runtime)
    assert quote["cancellation_policy"]["penalty"] == "FIRST_NIGHT"
    await client.put(f"/api/v1/staff/hotels/{slug}/cancellation-policy", json={"free_until_hours": 0, "penalty": "FULL_STAY"})
    assert (await quoted(client, slug))["cancellation_policy"]["penalty"] == "FULL_STAY"


async def test_a_promo_change_shows_in_the_next_quote(store):
    client, runtime = store
    slug = await make_hotel(client)
    await warm(client, slug, runtime)
    await client.put(f"/api/v1/staff/hotels/{slug}/promo-codes/TEN", json={"percent_off": "10"})
    assert (await quoted(client, slug, promo_code="TEN"))["discount"]["amount"] == "20.00"
    await client.put(f"/api/v1/staff/hotels/{slug}/promo-codes/TEN", json={"percent_off": "25"})
    assert (await quoted(client, slug, promo_code="TEN"))["discount"]["amount"] == "50.00"


async def test_a_catalogue_change_by_hand_in_sql_shows_too(store, db):
    """The version is bumped by a trigger, so no code path can forget it."""
    client, runtime = store
    slug = await make_hotel(client)
    await warm(client, slug, runtime)
    async with db.sessions() as session, session.begin():
        await session.execute(text("UPDATE room_types SET base_rate = 90 WHERE hotel = :h"), {"h": slug})
    assert (await available(client, slug))["DBL"]["total"]["amount"] == "180.00"
    assert (await quoted(client, slug))["total"]["amount"] == "180.00"


async def test_holds_placed_released_and_lapsed_show_in_the_next_availability(store, db):
    client, runtime = store
    slug = await make_hotel(client, rooms=2)
    before, _ = await warm(client, slug, runtime)
    assert before["DBL"]["available"] == 2
    held = place(slug, 20, nights=2)
    await run(db, place_hold, held)
    assert (await available(client, slug))["DBL"]["available"] == 1
    await run(db, release_hold, ReleaseHold(booking_id=held.booking_id, hotel=slug, reason="test"))
    assert (await available(client, slug))["DBL"]["available"] == 2
    lapsing = place(slug, 20, nights=2, expires_at=soon(minutes=30))
    await run(db, place_hold, lapsing)
    assert (await available(client, slug))["DBL"]["available"] == 1
    async with db.sessions() as session, session.begin():  # its expiry passes, the sweeper has not run
        await session.execute(text("UPDATE holds SET expires_at = now() - interval '1 second' WHERE booking_id = :b"),
                              {"b": lapsing.booking_id})
    assert (await available(client, slug))["DBL"]["available"] == 2
    await expire_lapsed_holds(db)
    assert (await available(client, slug))["DBL"]["available"] == 2


async def test_the_hit_ratio_is_reported(store):
    client, runtime = store
    slug = await make_hotel(client)
    await warm(client, slug, runtime)
    stats = (await client.get("/internal/catalog-cache")).json()
    assert stats["hits"] >= 2 and 0 < stats["hit_ratio"] <= 1


async def test_redis_answers_of_another_database_are_never_served(redis_app):
    """Versions count from 1 in each database: one dropped and created again under the same name
    (same hotel, same version) must not be served the first one's answers."""
    if redis_app is None:
        pytest.skip(NO_REDIS)
    runtime = redis_app.state.runtime
    async with client_of(redis_app) as client:
        slug = await make_hotel(client)
        await warm(client, slug, runtime)
    cache = runtime.extras["catalog_cache"]
    async with runtime.db.reads() as conn:
        version = await catalog_version(conn, slug)
    key = f"a:{stay()['check_in']}:{stay()['check_out']}:2:0"
    assert await cache.get(slug, version, key) is not None
    other = RedisCatalogCache(runtime.settings.inventory_catalog_cache_url)
    try:
        cluster, oid = cache.prefix.split(":")[2:4]
        other.bind(int(cluster), int(oid) + 1)
        assert await other.get(slug, version, key) is None
    finally:
        await other.close()


async def test_redis_killed_answers_come_from_postgresql_and_hits_resume_when_it_is_back(db):
    """Redis killed under a running inventory: every answer is still right (each a miss), the outage
    is logged once, not with every request; Redis started again (empty), answers are cached again."""
    if not redis_available():
        pytest.skip(NO_REDIS)
    lines = Lines()  # the service's start replaces the root logger's handlers: listen to the cache's own
    logging.getLogger("inventory.cache").addHandler(lines)
    try:
        with private_redis() as server:
            app = inventory_with_cache(server.url)
            async with app.router.lifespan_context(app), client_of(app) as client:
                cache = app.state.runtime.extras["catalog_cache"]
                slug = await make_hotel(client, rooms=3)
                await warm(client, slug, app.state.runtime)
                server.stop()
                try:
                    hits = cache.hits
                    assert (await available(client, slug))["DBL"]["available"] == 3
                    await run(db, place_hold, place(slug, 20, nights=2))
                    assert (await available(client, slug))["DBL"]["available"] == 2
                    assert (await quoted(client, slug))["total"]["amount"] == "200.00"
                    assert (cache.hits, cache.failing) == (hits, True)
                    assert (await client.get("/internal/catalog-cache")).json()["failing"] is True
                finally:
                    server.start()
                deadline = time.monotonic() + 30  # Redis is left alone for a second after a failure
                while cache.failing or cache.hits == hits:
                    assert time.monotonic() < deadline, "answers never came from Redis again"
                    assert (await available(client, slug))["DBL"]["available"] == 2
                    await asyncio.sleep(0.05)
    finally:
        logging.getLogger("inventory.cache").removeHandler(lines)
    assert lines.messages == ["catalogue cache: Redis failed (ConnectionError); answering from PostgreSQL",
                              "catalogue cache: Redis answers again"]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_cache_url_that_is_not_redis_is_refused_at_start():
    with pytest.raises(ValueError, match="redis://"):
        create_catalog_cache("memcached://127.0.0.1:11211", ttl_seconds=60)
