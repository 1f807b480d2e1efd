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
from collections import deque
from collections.abc import Iterable

from fastapi import FastAPI, Request
from sqlalchemy.exc import TimeoutError as PoolTimeout

from .problems import problem_response

log = logging.getLogger(__name__)

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})


class Overloaded(Exception):
    """No slot came free in time."""


class Slots:
    """A first-come-first-served counting limit with a bounded, time-limited wait."""

    def __init__(self, limit: int, *, queue_seconds: float, max_waiting: int) -> None:
        self.limit = max(1, limit)
        self.queue_seconds = queue_seconds
        self.max_waiting = max_waiting
        self.in_use = 0
        self._waiting: deque[asyncio.Future] = deque()

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
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_use -= 1


class Admission:
    """ASGI middleware: every HTTP request but the exempt paths needs a slot of ``slots``."""

    def __init__(self, app, *, slots: Slots, retry_after_seconds: float, exempt: Iterable[str] = EXEMPT_PATHS) -> None:
        self.app = app
        self.slots = slots
        self.retry_after = str(max(1, math.ceil(retry_after_seconds)))
        self.exempt = frozenset(exempt)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in self.exempt:
            return await self.app(scope, receive, send)
        try:
            await self.slots.acquire()
        except Overloaded:
            log.warning("over capacity (%s in flight): %s %s refused", self.slots.in_use, scope["method"], scope["path"])
            response = overloaded(scope["path"], self.retry_after)
            return await response(scope, receive, send)
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()


def overloaded(path: str, retry_after: str):
    return problem_response(503, "The service is busy; retry after the time given in Retry-After.",
                            code="over-capacity", headers={"Retry-After": retry_after}, instance=path)


def install_admission(app: FastAPI, *, limit: int, queue_seconds: float, max_waiting: int,
                      retry_after_seconds: float) -> Slots:
    """Limit ``app`` to ``limit`` requests in flight (see the module's docstring); returns the slots."""
    slots = Slots(limit, queue_seconds=queue_seconds, max_waiting=max_waiting)
    app.add_middleware(Admission, slots=slots, retry_after_seconds=retry_after_seconds)
    retry_after = str(max(1, math.ceil(retry_after_seconds)))

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout):
        log.warning("database pool exhausted on %s %s", request.method, request.url.path)
        return overloaded(request.url.path, retry_after)

    return slots
