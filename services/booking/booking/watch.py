"""Guests waiting for their booking to change (the long poll ``?wait_for=``).

Every status change notifies PostgreSQL channel ``booking_status`` on commit (a trigger, migration
``0005_status_notify``), so every replica hears every change, whichever replica or code path
made it. Notifications sent while the listening connection was being re-opened are lost: every
waiter re-reads its booking once LISTEN is in place again, and every ``RECHECK_SECONDS`` as a last
net. (A re-read every second cost a fifth of booking's CPU at 50 waiting guests.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hotelmate_platform.db import listen

CHANNEL = "booking_status"
RECHECK_SECONDS = 5.0


class StatusWatch:
    """Wakes the requests waiting on a booking when its status changes."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}

    async def listen(self, database_url: str) -> None:
        await listen(database_url, CHANNEL, self.wake, on_listening=self.wake_all)

    def wake(self, booking_id: str) -> None:
        for event in self._waiting.get(booking_id, ()):
            event.set()

    def wake_all(self) -> None:
        for events in self._waiting.values():
            for event in events:
                event.set()

    async def wait_for(self, booking_id: str, wanted: set[str], timeout: float,
                       load: Callable[[], Awaitable[dict[str, Any] | None]]) -> dict[str, Any] | None:
        """``load()`` the booking until its status is in ``wanted`` or ``timeout`` seconds have passed;
        answers the last booking loaded."""
        deadline = time.monotonic() + timeout
        event = asyncio.Event()
        self._waiting.setdefault(booking_id, set()).add(event)
        try:
            while True:
                event.clear()  # before loading: a change committed after this load sets it again
                booking = await load()
                remaining = deadline - time.monotonic()
                if booking is None or booking["status"] in wanted or remaining <= 0:
                    return booking
                try:
                    await asyncio.wait_for(event.wait(), min(RECHECK_SECONDS, remaining))
                except asyncio.TimeoutError:
                    pass
        finally:
            waiters = self._waiting.get(booking_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiting[booking_id]

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._waiting.values())
