"""The outbox relay: publishes committed outbox rows with publisher confirms, then marks them sent.

Woken right after a commit that wrote messages, and polling as a safety net. No database
transaction stays open while the relay waits for the broker: a relay *claims* a batch of pending
rows with session-level advisory locks (taken in autocommit, so held by the connection, not by a
transaction), publishes them, marks the confirmed ones in a statement of their own, and only then
lets the locks go. Several replicas can run side by side: a row locked by one is skipped by
the others, and a row is read again after its lock is taken, so one just marked by another relay
is never sent twice. A relay killed after publishing but before marking leaves the row pending
(its locks die with its connection); it is published again and the consumer's inbox absorbs the
duplicate.

A message the broker returns (no queue is bound for its type yet, e.g. before its consumer's
first start) stays pending and is tried again later, with pauses growing from 1 s to at most 5 s,
so it is delivered within seconds once the queue appears, however long it was returned (a pause
that kept doubling to a minute made a saga wait out most of it after the consumer came). A
reconnect to the broker ends every pause: the topology may have changed while it was away.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib

from psycopg.rows import namedtuple_row
from sqlalchemy import text

from ..db import Database
from ..statements import Statement, together
from .bus import Bus, Unroutable

log = logging.getLogger(__name__)

# First half of the two-integer advisory lock key; the second half is the row id.
LOCK_CLASS = zlib.crc32(b"hotelmate-outbox") & 0x7FFFFFFF

# The relay's statements run for every batch of messages: compiled once, run on the driver (statements.Statement).
CLAIM = Statement(text(
    """
    WITH candidates AS MATERIALIZED (
        SELECT id FROM outbox
        WHERE published_at IS NULL AND id <> ALL(CAST(:skip AS bigint[]))
        ORDER BY id LIMIT :limit
    )
    SELECT id FROM candidates WHERE pg_try_advisory_lock(:lock_class, CAST(id & 2147483647 AS integer))
    """
), rows=namedtuple_row)
# Sent with the claim and run after it, so its snapshot is taken once the claim's locks are held: of
# the claimed rows, those it does not list were marked published by another relay meanwhile.
# A row comes as the envelope's own JSON text, to publish as it is (without the trace context
# saved beside it, which goes in the message's headers).
STILL_PENDING = Statement(text(
    """
    SELECT id, message_id, type, envelope ->> 'correlation_id' AS correlation_id, envelope -> 'trace' AS trace,
           (envelope - 'trace')::text AS body
    FROM outbox
    WHERE published_at IS NULL AND id <> ALL(CAST(:skip AS bigint[]))
    ORDER BY id LIMIT :limit
    """
), rows=namedtuple_row)
_UNLOCK_ALL = Statement(text("SELECT pg_advisory_unlock_all()"))
_MARK_PUBLISHED = Statement(text("UPDATE outbox SET published_at = now() WHERE id = ANY(:ids)"))


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        *,
        poll_seconds: float = 1.0,
        batch_size: int = 200,
        unroutable_backoff: tuple[float, float] = (1.0, 5.0),
    ) -> None:
        self.db = db
        self.bus = bus
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.unroutable_backoff = unroutable_backoff
        # Returned rows rest here (id -> (next try, pause)) so they never hold up the rows behind them.
        self._resting: dict[int, tuple[float, float]] = {}
        self._watched_connection = None  # the connection whose reconnects end the pauses

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
            except Exception as exc:  # noqa: BLE001 - the loop must outlive any outage
                log.warning("outbox relay paused (%s); retrying in %ss", type(exc).__name__, self.poll_seconds,
                            exc_info=log.isEnabledFor(logging.DEBUG))
                await asyncio.sleep(self.poll_seconds)

    async def publish_pending(self) -> int:
        """Claim, publish and mark one batch of pending rows; returns how many rows were claimed."""
        self._end_pauses_on_reconnect()
        now = time.monotonic()
        self._forget_stale(now)
        resting = [row_id for row_id, (retry_at, _) in self._resting.items() if retry_at > now]
        async with self.db.autocommit() as conn:
            try:
                window = {"skip": resting, "limit": self.batch_size}
                claimed, pending = await together(conn, (CLAIM, {**window, "lock_class": LOCK_CLASS}),
                                                  (STILL_PENDING, window))  # one round trip
                ids = {row.id for row in await claimed.fetchall()}
                if not ids:
                    return 0
                # (A claimed row missing here because rows committed late took its place in the
                # window stays pending: it is claimed again by the next round.)
                rows = [row for row in await pending.fetchall() if row.id in ids]
                published = await self._publish(rows)
                if published:
                    await self.mark_published(conn, published)
            finally:
                await _UNLOCK_ALL.run(conn, {})
        return len(ids)

    async def _publish(self, rows) -> list[int]:
        """Publish ``rows`` concurrently; returns the ids the broker confirmed. A broker failure is
        raised after the confirmed ids are returned to the caller's marking (the rest stay pending)."""
        results = await asyncio.gather(
            *(self.bus.publish_json(r.body.encode(), message_id=str(r.message_id), type=r.type,
                                    correlation_id=r.correlation_id, trace=r.trace) for r in rows),
            return_exceptions=True
        )
        published: list[int] = []
        failure: BaseException | None = None
        for row, result in zip(rows, results):
            if result is None:
                published.append(row.id)
                self._resting.pop(row.id, None)
            elif isinstance(result, Unroutable):
                self._rest(row.id, str(result))
            elif isinstance(result, asyncio.CancelledError):
                # aiormq cancels the confirms pending on a channel that closes: a failed publish,
                # not a request to stop the relay (that would cancel this task and end the gather).
                failure = ConnectionError("publish cancelled: its channel closed")
            else:
                failure = result
        if failure is not None and not published:
            raise failure
        if failure is not None:
            log.warning("outbox relay: %s of %s messages not confirmed (%s)", len(rows) - len(published), len(rows),
                        type(failure).__name__)
        return published

    def _forget_stale(self, now: float) -> None:
        # A resting row another replica published is never claimed here again: drop it once its
        # pause is long over, so the map holds only rows that are still being returned.
        longest = self.unroutable_backoff[1]
        for row_id in [r for r, (retry_at, _) in self._resting.items() if retry_at < now - 2 * longest]:
            del self._resting[row_id]

    def _end_pauses_on_reconnect(self) -> None:
        connection = self.bus.connection
        if connection is None or connection is self._watched_connection:
            return
        self._watched_connection = connection
        reconnected = getattr(connection, "reconnect_callbacks", None)
        if reconnected is not None:
            reconnected.add(lambda *_: self._resting.clear())

    def _rest(self, row_id: int, message_type: str) -> None:
        first, longest = self.unroutable_backoff
        _, pause = self._resting.get(row_id, (0.0, first / 2))
        pause = min(pause * 2, longest)
        self._resting[row_id] = (time.monotonic() + pause, pause)
        log.warning("outbox row %s (%s) returned by the broker: no queue bound yet; retrying in %.0fs",
                    row_id, message_type, pause)

    async def mark_published(self, conn, ids: list[int]) -> None:
        """Mark ``ids`` sent (committed on its own, before the locks are let go)."""
        await _MARK_PUBLISHED.run(conn, {"ids": ids})
