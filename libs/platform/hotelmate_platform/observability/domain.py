"""Scrape hooks for what only one service knows: bookings per status and past their deadline
(booking), the availability cache's hit ratio (inventory). A service's start-up appends them to
``runtime.scrape_hooks``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from .metrics import BOOKINGS, BOOKINGS_PAST_DEADLINE, CACHE_HIT_RATIO, CACHE_LOOKUPS, ScrapeHook

BOOKING_STATUSES = ("REQUESTED", "PENDING_PAYMENT", "PENDING_APPROVAL", "CONFIRMED", "DECLINED", "CANCELLED",
                    "EXPIRED", "UNAVAILABLE", "PAYMENT_FAILED", "CHECKED_IN", "CHECKED_OUT", "NO_SHOW")

_PER_STATUS = text("SELECT status, count(*) FROM bookings GROUP BY status")
# What the sweeper should already have acted on: an unpaid hold past its expiry, an approval past
# its deadline (a few seconds late is normal: the sweeper runs every HOTELMATE_SWEEP_SECONDS).
_PAST_DEADLINE = text(
    """
    SELECT 'PENDING_PAYMENT', count(*) FROM bookings WHERE status = 'PENDING_PAYMENT' AND hold_expires_at < now()
    UNION ALL
    SELECT 'PENDING_APPROVAL', count(*) FROM bookings WHERE status = 'PENDING_APPROVAL' AND approval_deadline < now()
    """
)


def booking_hook(db: Any) -> ScrapeHook:
    async def bookings() -> None:
        async with db.reads() as session:
            counts = dict((await session.execute(_PER_STATUS)).all())
            late = dict((await session.execute(_PAST_DEADLINE)).all())
        for status in {*BOOKING_STATUSES, *counts}:
            BOOKINGS.labels(status).set(counts.get(status, 0))
        for status, n in late.items():
            BOOKINGS_PAST_DEADLINE.labels(status).set(n)

    return bookings


def cache_hook(cache: Any) -> ScrapeHook:
    """``cache`` has ``hits`` and ``misses`` counters (inventory's CatalogCache)."""

    async def availability_cache() -> None:
        hits, misses = cache.hits, cache.misses
        CACHE_LOOKUPS.labels("hit").set(hits)
        CACHE_LOOKUPS.labels("miss").set(misses)
        CACHE_HIT_RATIO.set(hits / (hits + misses) if hits + misses else 0)

    return availability_cache
