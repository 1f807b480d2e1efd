"""Background loops that keep running: a failure is logged and the loop starts again."""

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
        except Exception:
            log.exception("%s crashed; restarting in %ss", name, restart_delay)
        await asyncio.sleep(restart_delay)


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
