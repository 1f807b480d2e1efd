"""Waiting for a condition in tests: one ``eventually()`` instead of a poll loop per suite."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

# The suite runs on a busy machine: waits are generous, and cost nothing when the condition comes early.
DEFAULT_TIMEOUT = 30.0


async def eventually(check: Callable[[], T | Awaitable[T]], timeout: float = DEFAULT_TIMEOUT,
                     interval: float = 0.05) -> T:
    """Call ``check`` (sync or async) until it returns something truthy, and return that; after
    ``timeout`` seconds return its last (falsy) value, so ``assert await eventually(...)`` fails
    with the state it saw. An exception raised by ``check`` propagates at once."""
    deadline = time.monotonic() + timeout
    while True:
        result: Any = check()
        if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
            result = await result
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval)
