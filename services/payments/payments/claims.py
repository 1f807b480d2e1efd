"""Settling a claimed operation or stored event when the database fails under it.

A worker claims a row for a lease (``payments_lease_seconds``, 60 s by default). When recording the
row's result fails on a database error (a blip, a failover, a dropped connection), the step that
settles it (postpone it for a retry, or mark it failed) needs the database too. Tried once, a blip
made it fail as well and the row stayed claimed until its lease ran out: a capture already done at
Stripe reached the booking a minute late. Here the settling step is tried again, with short pauses,
until it holds or the lease is nearly over (after that the row is another worker's to take, and the
next attempt repeats the Stripe call with the same idempotency key).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 0.25
LONGEST_PAUSE_SECONDS = 2.0
LEASE_MARGIN_SECONDS = 1.0


async def settle(row: dict, step: Callable[[], Awaitable[None]], what: str) -> None:
    """Run ``step`` (a unit of work settling the claimed ``row``) until it succeeds or the row's
    lease (its ``next_attempt_at`` as claimed) is within a second of running out."""
    lease_ends: datetime = row["next_attempt_at"]
    pause = FIRST_PAUSE_SECONDS
    while True:
        try:
            await step()
            return
        except Exception as exc:  # noqa: BLE001 - the database is away; try again while the lease lasts
            left = (lease_ends - datetime.now(timezone.utc)).total_seconds()
            if left - pause < LEASE_MARGIN_SECONDS:
                log.error("%s: not settled (%s); it waits for its lease to run out", what, type(exc).__name__)
                return
            log.warning("%s: not settled (%s); trying again in %.2fs", what, type(exc).__name__, pause)
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
