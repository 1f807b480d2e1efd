"""Availability and quotes from a cache, as correct as from the database.

What prices a stay (hotel, room types and their in-service rooms, nightly rates, taxes, promo codes,
the cancellation policy) changes rarely; every change bumps the hotel's catalogue version in the same
transaction (a trigger, migration ``0003_perf_catalog_versions``). An answer is kept under the version
it was computed at and served only while that is still the version read for the request, so a change
shows in the very next answer, on every replica. Holds are never cached: availability reads them live
in the same statement as the version.

Two stores keep the answers: this process's memory (the default) or Redis, shared by every replica
(``HOTELMATE_INVENTORY_CATALOG_CACHE_URL=redis://...``). Both were measured under load
(docs/ARCHITECTURE.md, "Serving under load"): memory serves more answers per second on every measured
load; Redis is for an operator who would rather warm one cache for many replicas than one each. A
value must be plain JSON (str, int, lists, dicts) so that both stores give back the same answer.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from sqlalchemy import text

from hotelmate_platform.db import Database

log = logging.getLogger(__name__)


class CatalogCache:
    """A store of answers (``get``/``put``), what it counts and reports; ``open`` and ``close``
    follow the service's life."""

    store = ""

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0

    async def get(self, hotel: str, version: int, key: str) -> Any | None:
        """The value kept for ``key`` at ``version`` of ``hotel``'s catalogue, or None (a miss)."""
        raise NotImplementedError

    async def put(self, hotel: str, version: int, key: str, value: Any) -> None:
        """Keep ``value``, computed from data at least as new as ``version`` (read it first)."""
        raise NotImplementedError

    async def open(self, db: Database) -> None:
        """Ready to answer for ``db``'s versions (called once the service has started)."""

    async def close(self) -> None:
        pass

    def stats(self) -> dict:
        asked = self.hits + self.misses
        return {"store": self.store, "hits": self.hits, "misses": self.misses,
                "hit_ratio": round(self.hits / asked, 4) if asked else None, **self._sizes()}

    def _sizes(self) -> dict:
        return {}


class MemoryCatalogCache(CatalogCache):
    """In memory, per hotel: the version its entries were computed at, and the entries (bounded)."""

    store = "memory"

    def __init__(self, max_entries_per_hotel: int = 50_000) -> None:
        super().__init__()
        self.max_entries = max_entries_per_hotel
        self._hotels: dict[str, tuple[int, dict[str, Any]]] = {}

    async def get(self, hotel: str, version: int, key: str) -> Any | None:
        kept = self._hotels.get(hotel)
        if kept is not None and kept[0] == version and key in kept[1]:
            self.hits += 1
            return kept[1][key]
        self.misses += 1
        return None

    async def put(self, hotel: str, version: int, key: str, value: Any) -> None:
        kept = self._hotels.get(hotel)
        if kept is None or kept[0] < version:
            kept = self._hotels[hotel] = (version, {})
        elif kept[0] > version:
            return  # computed before a change another request has already seen
        if len(kept[1]) >= self.max_entries:
            kept[1].clear()
        kept[1][key] = value

    async def close(self) -> None:
        self._hotels.clear()

    def _sizes(self) -> dict:
        return {"hotels": len(self._hotels), "entries": sum(len(e) for _, e in self._hotels.values())}


class RedisCatalogCache(CatalogCache):
    """In Redis, under ``<prefix><hotel>:<version>:<key>``, each entry expiring after ``ttl_seconds``
    (an entry of a version that has passed is never read again; the expiry drops it).

    The prefix names the database the versions come from (its cluster's system identifier and its
    OID): a database dropped and created again counts its versions from 1 again, and must not be
    served the old one's answers. Redis failing is a miss (the answer comes from PostgreSQL, a
    warning logged once per outage), never a failed request; after a failure Redis is left alone
    for ``RETRY_SECONDS``, so an outage does not cost every request a timeout."""

    RETRY_SECONDS = 1.0

    store = "redis"

    def __init__(self, url: str, *, ttl_seconds: float = 3600, timeout_seconds: float = 0.25) -> None:
        super().__init__()
        import redis.asyncio  # only an installation that asks for Redis needs the client loaded

        self._errors = (redis.RedisError, OSError)
        self.redis = redis.asyncio.Redis.from_url(url, socket_timeout=timeout_seconds,
                                                  socket_connect_timeout=timeout_seconds)
        self.ttl = max(int(ttl_seconds), 1)
        self.prefix: str | None = None  # set by :meth:`bind` before the first answer
        self.failing = False
        self._retry_at = 0.0

    async def open(self, db: Database) -> None:
        async with db.reads() as conn:
            row = (await conn.execute(text(
                "SELECT (SELECT system_identifier FROM pg_control_system()) AS cluster, "
                "(SELECT oid FROM pg_database WHERE datname = current_database()) AS database"))).one()
        self.bind(row.cluster, row.database)

    def bind(self, system_identifier: int, database_oid: int) -> None:
        self.prefix = f"hotelmate:catalog:{system_identifier}:{database_oid}:"

    async def get(self, hotel: str, version: int, key: str) -> Any | None:
        raw = await self._call(self.redis.get, f"{self.prefix}{hotel}:{version}:{key}")
        if raw is None:
            self.misses += 1
            return None
        self.hits += 1
        return json.loads(raw)

    async def put(self, hotel: str, version: int, key: str, value: Any) -> None:
        await self._call(self.redis.set, f"{self.prefix}{hotel}:{version}:{key}",
                         json.dumps(value, separators=(",", ":")), ex=self.ttl)

    async def _call(self, method, *args, **kwargs) -> Any:
        if self.prefix is None or (self.failing and time.monotonic() < self._retry_at):
            return None  # not bound to its database yet, or failing a moment ago: behave as empty
        try:
            result = await method(*args, **kwargs)
        except self._errors as exc:
            if not self.failing:
                log.warning("catalogue cache: Redis failed (%s); answering from PostgreSQL", type(exc).__name__)
            self.failing = True
            self._retry_at = time.monotonic() + self.RETRY_SECONDS
            return None
        if self.failing:
            log.info("catalogue cache: Redis answers again")
            self.failing = False
        return result

    async def close(self) -> None:
        await self.redis.aclose()

    def _sizes(self) -> dict:
        return {"failing": self.failing}


def create_catalog_cache(url: str, *, ttl_seconds: float) -> CatalogCache:
    """The store ``url`` names: empty for this process's memory, ``redis://`` or ``rediss://`` for Redis."""
    if not url:
        return MemoryCatalogCache()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisCatalogCache(url, ttl_seconds=ttl_seconds)
    raise ValueError("HOTELMATE_INVENTORY_CATALOG_CACHE_URL: empty (memory) or a redis:// URL")
