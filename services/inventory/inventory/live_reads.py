"""What every cached availability and quote still reads live, read once for many requests at a time.

A cached answer needs the hotel's catalogue version (the cache is correct only while it is unchanged)
and, for availability, the rooms taken on each night of the stay: one statement per request. Under
load many requests for one hotel wait for that statement at the same moment, so they share it: the
first request of a hotel opens a *read*, every request of that hotel arriving before the read's
statement is sent joins it (each with its own stay), and one statement answers them all. A request
arriving after the statement was sent waits for the next read, never takes an older one's answer:
every answer comes from a snapshot taken after its request arrived, so a change committed before a
request shows in its answer, as when each request read alone.

One client alone is one request per read, as before; at 100 clients a read answered several
requests (docs/ARCHITECTURE.md, "Serving under load", has the figures).
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from datetime import date

from sqlalchemy.ext.asyncio import AsyncConnection

from hotelmate_platform.db import Database

from .adapters import repository as repo

Stay = tuple[date, date]


class _Read:
    """One statement being prepared: the stays asked so far, and the task that will read them."""

    __slots__ = ("stays", "task")

    def __init__(self) -> None:
        self.stays: set[Stay] = set()
        self.task: asyncio.Task | None = None


class LiveReads:
    """The catalogue version and the rooms taken, each statement shared by the requests that wait
    for it together (see the module's docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._open: dict[str, _Read] = {}  # per hotel, the read new requests join (not sent yet)
        self.reads = 0  # statements run
        self.answers = 0  # requests answered by them

    async def version(self, hotel: str) -> int:
        """The hotel's catalogue version, as of a moment after this call."""
        version, _ = await self._join(hotel, None)
        return version

    async def version_and_busiest_night(self, hotel: str, start: date, end: date) -> tuple[int, dict[str, int]]:
        """The catalogue version and, per room type, the most rooms taken on a night of [start, end),
        both from one snapshot taken after this call."""
        version, taken = await self._join(hotel, (start, end))
        return version, taken.get((start, end), {})

    def session(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for what is not shared (pricing a stay the cache does not have)."""
        return self.db.reads()

    def stats(self) -> dict:
        return {"reads": self.reads, "answers": self.answers,
                "answers_per_read": round(self.answers / self.reads, 2) if self.reads else None}

    async def _join(self, hotel: str, stay: Stay | None) -> tuple[int, dict[Stay, dict[str, int]]]:
        read = self._open.get(hotel)
        if read is None:
            read = self._open[hotel] = _Read()
            read.task = asyncio.create_task(self._read(hotel, read))
            read.task.add_done_callback(_retrieve)
        if stay is not None:
            read.stays.add(stay)
        self.answers += 1
        # Shielded: a request that gives up (its client went away) leaves the read to the others.
        return await asyncio.shield(read.task)

    async def _read(self, hotel: str, read: _Read) -> tuple[int, dict[Stay, dict[str, int]]]:
        try:
            async with self.db.reads() as conn:
                # Closed from here on: who asks now waits for the next read. Taking the connection
                # may have waited; every request that joined meanwhile is answered by this statement.
                self._close(hotel, read)
                self.reads += 1
                return await self._fetch(conn, hotel, sorted(read.stays))
        finally:
            self._close(hotel, read)

    async def _fetch(self, conn: AsyncConnection, hotel: str, stays: list[Stay]) -> tuple[int, dict[Stay, dict[str, int]]]:
        if not stays:
            return await repo.catalog_version(conn, hotel), {}
        if len(stays) == 1:
            version, taken = await repo.catalog_version_and_busiest_night(conn, hotel, *stays[0])
            return version, {stays[0]: taken}
        return await repo.catalog_version_and_busiest_nights(conn, hotel, stays)

    def _close(self, hotel: str, read: _Read) -> None:
        if self._open.get(hotel) is read:
            del self._open[hotel]


def _retrieve(task: asyncio.Task) -> None:
    # Every waiting request sees the read's error; if all of them gave up, nobody is left to.
    if not task.cancelled():
        task.exception()
