"""Writing to the outbox inside the caller's transaction."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelmate_contracts import Envelope

from ..observability.tracing import current_carrier
from .tables import outbox


_INSERT = insert(outbox)  # built once: SQLAlchemy keys its compiled form once, not per transaction


async def write_outbox(session: AsyncConnection, envelopes: list[Envelope]) -> None:
    """Insert ``envelopes`` into the outbox; they are published only if this transaction commits.

    When tracing is on, the current trace context is saved with each row (``envelope["trace"]``,
    which :class:`Envelope` ignores) so the relay continues the trace when it publishes."""
    trace = current_carrier()
    extra = {"trace": trace} if trace else {}
    await session.execute(
        _INSERT,
        [
            {"message_id": e.message_id, "type": e.type, "envelope": {**e.model_dump(mode="json"), **extra}}
            for e in envelopes
        ],
    )
