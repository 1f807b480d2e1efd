"""Guests waiting for their booking to change (the long poll ``?wait_for=``).

Every status change notifies PostgreSQL channel ``booking_status`` on commit (a trigger, migration
``0005_status_notify``), so every replica hears every change, whichever replica or code path
made it. Notifications sent while the listening connection was being re-opened are lost: every
waiter re-reads its booking once LISTEN is in place again, and every ``RECHECK_SECONDS`` as a last
net. (A re-read every second cost a fifth of booking's CPU at 50 waiting guests.)

A request has just read its booking before it starts waiting: that read stands unless a change of
the booking was heard since the read began (the watch remembers when it last heard of each recent
booking), which saves a second read of every long poll.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from hotelmate_platform.db import listen

CHANNEL = "booking_status"
RECHECK_SECONDS = 5.0
REMEMBERED = 10_000  # bookings whose last change is remembered (a change of a forgotten one means a re-read)


class StatusWatch:
    """Wakes the requests waiting on a booking when its status changes."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._heard: OrderedDict[str, float] = OrderedDict()  # booking id -> when its last change was heard
        self._forgotten_up_to = float("-inf")  # when the last change no longer remembered was heard
        self._listening_since = time.monotonic()

    async def listen(self, database_url: str) -> None:
        await listen(database_url, CHANNEL, self.wake, on_listening=self.wake_all)

    def wake(self, booking_id: str) -> None:
        self._heard[booking_id] = time.monotonic()
        self._heard.move_to_end(booking_id)
        if len(self._heard) > REMEMBERED:
            self._forgotten_up_to = self._heard.popitem(last=False)[1]
        for event in self._waiting.get(booking_id, ()):
            event.set()

    def wake_all(self) -> None:
        self._listening_since = time.monotonic()  # what changed while nobody listened is unknown
        for events in self._waiting.values():
            for event in events:
                event.set()

    def changed_since(self, booking_id: str, since: float) -> bool:
        """Whether the booking may have changed after ``since`` (``time.monotonic()``) as far as this
        watch knows: a change heard since, or a listening connection opened again since."""
        heard = self._heard.get(booking_id, self._forgotten_up_to)  # a forgotten change: no later than that
        return max(heard, self._listening_since) >= since

    async def wait_for(self, booking_id: str, wanted: set[str], timeout: float,
                       load: Callable[[], Awaitable[dict[str, Any] | None]], *,
                       current: dict[str, Any] | None = None, read_at: float = 0.0) -> dict[str, Any] | None:
        """``load()`` the booking until its status is in ``wanted`` or ``timeout`` seconds have passed;
        answers the last booking loaded. ``current``, read by the caller from ``read_at`` on
        (``time.monotonic()`` when that read began), stands for the first load unless
        :meth:`changed_since` says otherwise."""
        deadline = time.monotonic() + timeout
        event = asyncio.Event()
        self._waiting.setdefault(booking_id, set()).add(event)
        try:
            while True:
                event.clear()  # before loading: a change committed after this load sets it again
                fresh = current is not None and not self.changed_since(booking_id, read_at)
                booking = current if fresh else await load()
                current = None  # only ever the first time round
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
