"""Background loops that keep running: a failure is logged and the loop starts again.

A loop can also end with a ``CancelledError`` that nobody meant for it: aiormq rejects the futures
of a channel or connection that closes (a pending publisher confirm, say) with ``CancelledError``
when it has no better reason. Only a cancellation of the loop's own task stops it; any other is a
failure like the rest, so a broker restart can never silently end a service's outbox relay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def supervise(name: str, run: Callable[[], Awaitable[None]], *, restart_delay: float = 1.0) -> None:
    """Run ``run`` until cancelled; restart it after a pause whenever it fails or returns."""
    while True:
        try:
            await run()
        except asyncio.CancelledError:
            if stopping():
                raise
            log.error("%s was cancelled from inside (a closed channel's pending future); restarting in %ss",
                      name, restart_delay)
        except Exception:
            log.exception("%s crashed; restarting in %ss", name, restart_delay)
        await asyncio.sleep(restart_delay)


def stopping() -> bool:
    """Whether the running task itself is being cancelled (as opposed to something it awaited)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def every(seconds: float, step: Callable[[], Awaitable[object]], *, wake: asyncio.Event | None = None) -> None:
    """Call ``step`` every ``seconds`` (a sweeper); errors are logged and the next round still runs.
    With ``wake`` (e.g. :meth:`Database.signal`), a round also starts as soon as it is set."""
    while True:
        if wake is not None:
            wake.clear()  # before the step: work committed while it runs starts the next round
        try:
            await step()
        except Exception:
            log.exception("periodic step %s failed", getattr(step, "__name__", step))
        if wake is None:
            await asyncio.sleep(seconds)
            continue
        try:
            await asyncio.wait_for(wake.wait(), seconds)
        except TimeoutError:
            pass
