"""Admission control: a service over capacity says so at once (``503`` + ``Retry-After``) instead
of letting callers wait until the gateway gives up.

At most ``limit`` requests are handled at a time; a request over the limit waits up to
``queue_seconds`` for a slot (at most ``max_waiting`` may wait), else it is refused with ``503``
and ``Retry-After``. Health and readiness endpoints are never refused. A database pool that stays
exhausted (SQLAlchemy's pool timeout) is answered the same way by :func:`install_admission`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Iterable

from fastapi import FastAPI, Request
from sqlalchemy.exc import TimeoutError as PoolTimeout

from .problems import problem_response
from .settings import ServiceSettings

log = logging.getLogger(__name__)

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
LONG_POLL = b"wait_for="


class Overloaded(Exception):
    """No slot came free in time."""


class Slots:
    """A first-come-first-served counting limit with a bounded, time-limited wait.

    It also measures how fast slots come free, so a refusal can say when to come back: the time
    the requests ahead need at the measured pace (:meth:`retry_after`)."""

    def __init__(self, limit: int, *, queue_seconds: float, max_waiting: int, clock=time.monotonic) -> None:
        self.limit = max(1, limit)
        self.queue_seconds = queue_seconds
        self.max_waiting = max_waiting
        self.in_use = 0
        self._waiting: deque[asyncio.Future] = deque()
        self.clock = clock
        self._freed: deque[float] = deque(maxlen=4096)  # when slots came free, the last PACE_SECONDS

    PACE_SECONDS = 10.0

    def retry_after(self, least: float, most: float = 30) -> int:
        """Seconds until the requests now in flight or waiting are likely done at the pace of the last
        few seconds, within [least, most]."""
        now = self.clock()
        while self._freed and self._freed[0] < now - self.PACE_SECONDS:
            self._freed.popleft()
        wait = least
        # The pace of the last few slots only (two rounds of the limit): when load steps up, the last
        # ten seconds' pace is that of the quiet time before, and told a hundred clients arriving at
        # once to come back in seconds while the service cleared them in a tenth of one.
        recent = min(len(self._freed), max(2 * self.limit, 16))
        if recent >= 2:
            per_second = recent / max(now - self._freed[-recent], 0.1)
            wait = (self.in_use + len(self._waiting)) / per_second
        return math.ceil(min(max(wait, least), most))

    async def acquire(self) -> None:
        """Take a slot, waiting at most ``queue_seconds``; raises :class:`Overloaded`."""
        if self.in_use < self.limit and not self._waiting:
            self.in_use += 1
            return
        if len(self._waiting) >= self.max_waiting or self.queue_seconds <= 0:
            raise Overloaded
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await asyncio.wait_for(waiter, self.queue_seconds)
        except TimeoutError:
            raise Overloaded from None
        except BaseException:  # cancelled while waiting (the client left)
            if waiter.done() and not waiter.cancelled():  # the slot had just been handed to us: pass it on
                self.release()
            raise
        finally:
            if waiter in self._waiting:
                self._waiting.remove(waiter)

    def release(self) -> None:
        """Hand the slot to the longest waiter, or free it."""
        self._freed.append(self.clock())
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_use -= 1


class Admission:
    """ASGI middleware: every HTTP request but the exempt paths needs a slot of ``slots``."""

    def __init__(self, app, *, slots: Slots, name: str, retry_after_seconds: float,
                 exempt: Iterable[str] = EXEMPT_PATHS) -> None:
        self.app = app
        self.slots = slots
        self.name = name
        self.retry_after_seconds = retry_after_seconds
        self.exempt = frozenset(exempt)
        self._refused = 0
        self._reported_at = 0.0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in self.exempt or _long_poll(scope):
            return await self.app(scope, receive, send)
        try:
            await self.slots.acquire()
        except Overloaded:
            self._report_refusal()
            response = overloaded(self.name, scope["path"], self.slots.retry_after(self.retry_after_seconds))
            return await response(scope, receive, send)
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()


    def _report_refusal(self) -> None:
        """One log line a second at most: a burst refuses hundreds of requests."""
        self._refused += 1
        now = time.monotonic()
        if now - self._reported_at >= 1:
            log.warning("over capacity: %s requests refused (%s in flight, %s waiting)", self._refused,
                        self.slots.in_use, len(self.slots._waiting))
            self._refused, self._reported_at = 0, now


def _long_poll(scope) -> bool:
    query = scope.get("query_string", b"")
    return query.startswith(LONG_POLL) or b"&" + LONG_POLL in query


def overloaded(name: str, path: str, retry_after: int):
    return problem_response(503, f"The {name} service is busy; retry after the time given in Retry-After.",
                            code="over-capacity", headers={"Retry-After": str(retry_after)}, instance=path)


def install_admission(app: FastAPI, settings: ServiceSettings) -> Slots:
    """Limit ``app`` to ``settings.http_max_in_flight`` requests in flight (see the module's
    docstring for the rest); returns the slots."""
    name = settings.service_name
    retry_after_seconds = settings.http_retry_after_seconds
    slots = Slots(settings.http_max_in_flight, queue_seconds=settings.http_queue_seconds,
                  max_waiting=settings.http_max_waiting)
    app.add_middleware(Admission, slots=slots, name=name, retry_after_seconds=retry_after_seconds)

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout):
        log.warning("database pool exhausted on %s %s", request.method, request.url.path)
        return overloaded(name, request.url.path, slots.retry_after(retry_after_seconds))

    return slots
