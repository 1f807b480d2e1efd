"""The delivery log in PostgreSQL: write once per (event, recipient, template), claim, settle, list."""

from __future__ import annotations

import uuid
from typing import Any
from datetime import timedelta

from sqlalchemy import and_, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelmate_platform.statements import Statement
from hotelmate_platform.jobs import LeasedJobs

from ..domain.emails import PlannedEmail
from ..rendering import RenderedEmail
from .tables import deliveries

# Templates whose body carries a secret (the guest's portal link): the body is wiped once sent.
SECRET_BEARING = frozenset({"booking_received"})


# The sender's wake-up (Database.signal): a unit of work that queues an email wakes it on commit.
DELIVERIES_DUE = "deliveries-due"


HELD_ERROR = "held: this hotel emailed too many new addresses this hour (retry to send it)"


async def add_delivery(session: AsyncConnection, *, event_id: uuid.UUID, event_type: str, hotel: str, booking_id: str,
                       email: PlannedEmail, rendered: RenderedEmail, first_contact: bool = False,
                       held: bool = False) -> bool:
    """Write a PENDING delivery (FAILED when ``held``: staff may send it with a retry); False when
    this event already has it for this recipient and template."""
    written = await _ADD_DELIVERY.first(session, dict(
        event_id=event_id, event_type=event_type, hotel=hotel, booking_id=booking_id, template=email.template,
        audience=email.audience, recipient=email.recipient, sender_name=email.sender_name, reply_to=email.reply_to,
        subject=rendered.subject, text_body=rendered.text, html_body=rendered.html, attempts=0,
        first_contact=first_contact, held=held, status="FAILED" if held else "PENDING",
        last_error=HELD_ERROR if held else None))
    return written is not None


# A delivery's insert and its "sent" mark run for every email: compiled once, run on the driver
# (hotelmate_platform.statements.Statement).
_ADD_DELIVERY = Statement(
    insert(deliveries).values(next_attempt_at=func.now(), **{name: bindparam(name) for name in (
        "event_id", "event_type", "hotel", "booking_id", "template", "audience", "recipient", "sender_name",
        "reply_to", "subject", "text_body", "html_body", "attempts", "first_contact", "held", "status",
        "last_error")})
    .on_conflict_do_nothing(constraint="deliveries_once_per_event").returning(deliveries.c.id))


async def address_known(session: AsyncConnection, hotel: str, recipient: str) -> bool:
    """Whether ``hotel`` has written to ``recipient`` before (an email not held back)."""
    query = select(deliveries.c.id).where(deliveries.c.hotel == hotel, ~deliveries.c.held,
                                          func.lower(deliveries.c.recipient) == recipient.lower()).limit(1)
    return (await session.execute(query)).first() is not None


# First half of the advisory lock key counting a hotel's new addresses; the second is the hotel's hash.
NEW_ADDRESS_LOCK = 0x6E657761  # "newa"


async def lock_new_addresses(session: AsyncConnection, hotel: str) -> None:
    """Serialise, per hotel and until this transaction ends, counting new addresses and writing one:
    a second event waits for the first to commit, then counts its row (the limit holds exactly)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k, hashtext(:hotel))"),
                          {"k": NEW_ADDRESS_LOCK, "hotel": hotel})


async def first_contacts_since(session: AsyncConnection, hotel: str, since: timedelta) -> int:
    """How many new addresses ``hotel`` has written to in the last ``since``."""
    query = select(func.count()).select_from(deliveries).where(
        deliveries.c.hotel == hotel, deliveries.c.first_contact, deliveries.c.created_at > func.now() - since)
    return int((await session.execute(query)).scalar_one())


# The job table (hotelmate_platform.jobs): PENDING whose time has come, or SENDING whose lease ran
# out (its sender died mid-send). A claim marks one SENDING under a lease that covers one SMTP call.
DELIVERIES = LeasedJobs(
    "deliveries",
    due="(status = 'PENDING' AND next_attempt_at <= now()) OR (status = 'SENDING' AND lease_until <= now())",
    lease="status = 'SENDING', updated_at = now(), lease_until = now() + make_interval(secs => :lease)",
)


async def claim_next(session: AsyncConnection, *, lease_seconds: float) -> Any | None:
    """Mark the next due delivery SENDING under a lease; ``None`` when none is due (or every due one
    is being claimed by another sender). Commit, then send at once: the lease covers one SMTP call,
    never a batch, so no other replica can take it over while it is being sent."""
    claimed = await DELIVERIES.claim(session, limit=1, lease_seconds=lease_seconds)
    return claimed[0] if claimed else None


# The attempt number fences a sender whose lease expired and whose row was claimed again.
_STILL_OURS = and_(deliveries.c.id == bindparam("d_id"), deliveries.c.status == "SENDING",
                   deliveries.c.attempts == bindparam("d_attempts"))


def _ours(row: Row) -> dict:
    return {"d_id": row.id, "d_attempts": row.attempts}


async def mark_sent(session: AsyncConnection, row: Row) -> None:
    wipe = row.template in SECRET_BEARING
    await _MARK_SENT[wipe].run(session, _ours(row))


def _mark_sent(wipe_body: bool):
    values = {"status": "SENT", "sent_at": func.now(), "updated_at": func.now(), "lease_until": None,
              "last_error": None}
    if wipe_body:
        values.update(text_body=None, html_body=None)
    return update(deliveries).where(_STILL_OURS).values(**values)


_MARK_SENT = {wipe: Statement(_mark_sent(wipe)) for wipe in (False, True)}


async def mark_failed_attempt(session: AsyncConnection, row: Row, *, error: str, retry_in: float | None) -> None:
    """Back to PENDING after ``retry_in`` seconds, or FAILED (with the reason) when it is ``None``."""
    values = {"last_error": error[:1000], "updated_at": func.now(), "lease_until": None}
    if retry_in is None:
        values["status"] = "FAILED"
    else:
        values.update(status="PENDING", next_attempt_at=func.now() + timedelta(seconds=retry_in))
    await session.execute(update(deliveries).where(_STILL_OURS).values(**values), _ours(row))


async def list_for_hotel(session: AsyncConnection, hotel: str, *, status: str | None, limit: int,
                         before_id: int | None) -> list[Row]:
    """Newest first; ``before_id`` is the keyset cursor."""
    query = select(deliveries).where(deliveries.c.hotel == hotel)
    if status:
        query = query.where(deliveries.c.status == status)
    if before_id is not None:
        query = query.where(deliveries.c.id < before_id)
    return list((await session.execute(query.order_by(deliveries.c.id.desc()).limit(limit))).all())


async def get_for_update(session: AsyncConnection, hotel: str, delivery_id: int) -> Row | None:
    query = (select(deliveries).where(deliveries.c.hotel == hotel, deliveries.c.id == delivery_id)
             .with_for_update())
    return (await session.execute(query)).first()


async def requeue(session: AsyncConnection, delivery_id: int) -> Row:
    """FAILED → PENDING with a fresh retry budget; the last error stays until the next attempt. A
    held email is released: staff vouch for its address."""
    result = await session.execute(
        update(deliveries).where(deliveries.c.id == delivery_id)
        .values(status="PENDING", attempts=0, next_attempt_at=func.now(), updated_at=func.now(), held=False)
        .returning(*deliveries.c)
    )
    return result.one()
