"""The outbox relay: publishes committed outbox rows with publisher confirms, then marks them sent.

Woken right after a commit that wrote messages, and polling as a safety net. Several replicas can
run side by side: ``FOR UPDATE SKIP LOCKED`` gives each row to one relay at a time. A relay killed
after publishing but before marking leaves the row pending; it is published again and the
consumer's inbox absorbs the duplicate.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select, update
from sqlalchemy.sql import func

from hotelmate_contracts import Envelope

from ..db import Database
from .bus import Bus
from .tables import outbox

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(self, db: Database, bus: Bus, *, poll_seconds: float = 1.0, batch_size: int = 200) -> None:
        self.db = db
        self.bus = bus
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size

    async def run(self) -> None:
        """Publish forever: after each wake-up, drain everything pending."""
        while True:
            try:
                await asyncio.wait_for(self.db.outbox_signal.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass
            self.db.outbox_signal.clear()
            try:
                while await self.publish_pending() == self.batch_size:
                    pass
            except Exception:
                log.exception("outbox relay failed; retrying in %ss", self.poll_seconds)
                await asyncio.sleep(self.poll_seconds)

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns how many were sent."""
        async with self.db.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(outbox.c.id, outbox.c.envelope)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            await asyncio.gather(*(self.bus.publish(Envelope.model_validate(r.envelope)) for r in rows))
            await self.mark_published(session, [r.id for r in rows])
        return len(rows)

    async def mark_published(self, session, ids: list[int]) -> None:
        await session.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=func.now()))
