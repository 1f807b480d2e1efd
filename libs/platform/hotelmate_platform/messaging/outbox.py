"""Writing to the outbox inside the caller's transaction."""

from __future__ import annotations

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelmate_contracts import Envelope

from ..statements import Statement
from ..observability.tracing import current_carrier

# Every transaction that causes a message runs it: compiled once, run on the driver (statements.Statement).
_INSERT = Statement(text("INSERT INTO outbox (message_id, type, envelope) VALUES (:message_id, :type, :envelope)")
                    .bindparams(bindparam("envelope", type_=JSONB)))


async def write_outbox(session: AsyncConnection, envelopes: list[Envelope]) -> None:
    """Insert ``envelopes`` into the outbox; they are published only if this transaction commits.
    In a unit of work the insert is sent with the COMMIT (``Statement.later``).

    When tracing is on, the current trace context is saved with each row (``envelope["trace"]``,
    which :class:`Envelope` ignores) so the relay continues the trace when it publishes."""
    trace = current_carrier()
    extra = {"trace": trace} if trace else {}
    await _INSERT.later(session, [
        {"message_id": e.message_id, "type": e.type, "envelope": {**e.model_dump(mode="json"), **extra}}
        for e in envelopes
    ])
