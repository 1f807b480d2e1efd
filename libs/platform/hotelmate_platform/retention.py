"""Retention: old rows pruned in small batches, so tables stop growing without blocking traffic.

Each :class:`Rule` names a table, what makes one of its rows old, and what to do with it: delete
the row, or wipe some columns (``wipe``, e.g. an email's body once sent). A round takes up to
``batch`` old rows per transaction with ``FOR UPDATE SKIP LOCKED`` (rows in use are left for the
next round) and commits each batch on its own. :func:`messaging_rules` are the outbox and inbox
rules every service shares; services add their own and start :func:`start_retention`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import text

from .tasks import every

if TYPE_CHECKING:
    from .db import Database
    from .service import Runtime
    from .settings import ServiceSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    """Rows of ``table`` matching ``old`` (SQL, with the bind ``:cutoff``) once ``age`` has passed:
    deleted, or, with ``wipe`` (an SQL ``SET`` list), kept with those columns cleared."""

    name: str
    table: str
    old: str
    age: timedelta
    wipe: str | None = None

    def statement(self) -> str:
        chosen = f"SELECT ctid FROM {self.table} WHERE {self.old} LIMIT :batch FOR UPDATE SKIP LOCKED"
        if self.wipe:
            return f"UPDATE {self.table} SET {self.wipe} WHERE ctid = ANY(ARRAY({chosen}))"
        return f"DELETE FROM {self.table} WHERE ctid = ANY(ARRAY({chosen}))"


def messaging_rules(settings: ServiceSettings) -> list[Rule]:
    """Published outbox rows and inbox rows older than ``retention_messages_days``. An inbox row
    only guards against a redelivery, which comes within minutes, not days."""
    age = timedelta(days=settings.retention_messages_days)
    return [Rule("published outbox rows", "outbox", "published_at < :cutoff", age),
            Rule("inbox rows", "inbox", "processed_at < :cutoff", age)]


async def prune(db: Database, rule: Rule, *, batch: int = 500, now: datetime | None = None) -> int:
    """Apply ``rule`` batch after batch until no old row is left; returns how many rows it touched."""
    cutoff = (now or datetime.now(timezone.utc)) - rule.age
    statement, total = text(rule.statement()), 0
    while True:
        async with db.sessions() as session, session.begin():
            touched = (await session.execute(statement, {"cutoff": cutoff, "batch": batch})).rowcount
        total += touched
        if touched < batch:
            break
        await asyncio.sleep(0)  # let other work in between batches
    if total:
        log.info("retention: %s %s", total, rule.name)
    return total


async def prune_all(db: Database, rules: list[Rule], *, batch: int = 500) -> dict[str, int]:
    """One retention round over ``rules``: rows touched per rule name."""
    return {rule.name: await prune(db, rule, batch=batch) for rule in rules}


async def start_retention(runtime: Runtime, own_rules: list[Rule] = ()) -> None:
    """Run :func:`messaging_rules` plus the service's ``own_rules`` every ``retention_every_seconds``."""
    settings = runtime.settings
    rules = messaging_rules(settings) + list(own_rules)

    async def round_() -> None:
        await prune_all(runtime.db, rules, batch=settings.retention_batch)

    runtime.start("retention", lambda: every(settings.retention_every_seconds, round_))
