"""Leased job tables: rows of work claimed with ``FOR UPDATE SKIP LOCKED`` under a lease, postponed
after a passing failure, finished when done, and a loop that runs them as they come.

A claim commits before the work starts (no transaction stays open around a network call). The
lease is what a claim moves forward: a worker that dies mid-job leaves its row to be claimed again
once the lease runs out, so the job's side effect must be idempotent (an idempotency key, a stable
Message-ID). ``SKIP LOCKED`` lets several replicas claim side by side without waiting on each other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from psycopg.rows import namedtuple_row
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from .statements import Statement

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeasedJobs:
    """One job table. Its rows have an ``id``, an ``attempts`` counter, ``next_attempt_at`` and
    ``last_error``; ``due`` says which rows may be claimed now and ``lease`` what a claim sets (both
    SQL, the lease seconds bound as ``:lease``). Names are code, never user input."""

    table: str
    due: str
    lease: str = "next_attempt_at = now() + make_interval(secs => :lease)"
    order_by: str = "next_attempt_at, id"

    async def claim(self, session: AsyncConnection, *, limit: int, lease_seconds: float) -> list[Any]:
        """Take up to ``limit`` due rows for ``lease_seconds`` (oldest due first), counting an attempt
        on each; commit before working on them. Rows are read as ``row.column`` (``row._asdict()``)."""
        return await self._claim.all(session, {"n": limit, "lease": lease_seconds})

    @cached_property
    def _claim(self) -> Statement:
        # Every job is claimed with it: compiled once, run on the driver (statements.Statement).
        return Statement(text(f"""
            UPDATE {self.table} SET attempts = attempts + 1, {self.lease}
            WHERE id IN (SELECT id FROM {self.table} WHERE {self.due} ORDER BY {self.order_by}
                         LIMIT :n FOR UPDATE SKIP LOCKED)
            RETURNING *"""), rows=namedtuple_row)

    async def postpone(self, session: AsyncConnection, job_id: Any, *, delay_seconds: float, error: str) -> None:
        """Try the job again in ``delay_seconds`` (a passing failure), keeping the reason."""
        await session.execute(text(f"""
            UPDATE {self.table} SET next_attempt_at = now() + make_interval(secs => :d), last_error = :e
            WHERE id = :id"""), {"id": job_id, "d": delay_seconds, "e": error[:500]})

    async def finish(self, session: AsyncConnection, job_id: Any, values: Mapping[str, Any], *,
                     stamp: tuple[str, ...] = ()) -> None:
        """Settle the job: set ``values`` (column → value, e.g. its final status and error) and the
        ``stamp`` columns to the transaction's ``now()``."""
        key = (tuple(values), stamp)
        statement = self._finishes.get(key)
        if statement is None:
            assignments = [f"{column} = :v_{column}" for column in values] + [f"{column} = now()" for column in stamp]
            statement = self._finishes[key] = Statement(
                text(f"UPDATE {self.table} SET {', '.join(assignments)} WHERE id = :id"))
        # Sent with whatever follows in the caller's unit of work (its COMMIT at the latest).
        await statement.later(session, {"id": job_id, **{f"v_{column}": value for column, value in values.items()}})

    @cached_property
    def _finishes(self) -> dict[tuple, Statement]:
        return {}

async def run_jobs_forever(run_once: Callable[[], Awaitable[int]], *, wake: asyncio.Event,
                           poll_seconds: float) -> None:
    """Call ``run_once`` (claim and run one batch, answer how many) again at once while it finds work;
    when it finds none, wait until ``wake`` is set (a commit added a job) or ``poll_seconds`` pass
    (postponed retries, leases of dead workers). A failing round is logged; the loop goes on."""
    while True:
        wake.clear()  # before claiming: a job committed while we claim wakes the next round
        try:
            found = await run_once()
        except Exception:
            log.exception("job round %s failed", getattr(run_once, "__qualname__", run_once))
            found = 0
        if not found:
            try:
                await asyncio.wait_for(wake.wait(), poll_seconds)
            except TimeoutError:
                pass
