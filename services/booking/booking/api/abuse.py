"""Caps on what an anonymous caller can hold: unpaid bookings (rooms held, nothing paid) per booker
email and hotel. A guest with a real stay pays or lets the hold lapse; an attacker holding every
suite of a hotel with a few bookings under one email is refused with ``429``."""

from __future__ import annotations

import sqlalchemy as sa

from hotelmate_platform.problems import Problem
from hotelmate_platform.service import Runtime

from ..adapters.tables import bookings, party
from ..domain.states import Status

UNPAID = (Status.REQUESTED.value, Status.PENDING_PAYMENT.value)


async def refuse_too_many_unpaid(runtime: Runtime, hotel: str, booker_email: str, idempotency_key: str | None) -> None:
    """``429`` when ``booker_email`` already holds the cap of unpaid bookings at ``hotel``. A retry of
    a placed booking (same Idempotency-Key) is not counted against itself. A soft cap: two requests
    racing may both pass."""
    cap = runtime.settings.booking_max_unpaid_per_email
    if cap <= 0:
        return
    condition = sa.and_(bookings.c.hotel == hotel, bookings.c.status.in_(UNPAID), party.c.is_booker,
                        party.c.email == booker_email)
    if idempotency_key:
        condition = sa.and_(condition, bookings.c.idempotency_key.is_distinct_from(idempotency_key))
    stmt = (sa.select(sa.func.count()).select_from(bookings.join(party, party.c.booking_id == bookings.c.id))
            .where(condition))
    async with runtime.db.reads() as session:
        held = int((await session.execute(stmt)).scalar_one())
    if held >= cap:
        raise Problem(429, f"This email already holds {held} unpaid bookings at this hotel; pay or let one "
                      "lapse first.", code="too-many-unpaid-bookings", headers={"Retry-After": "600"})
