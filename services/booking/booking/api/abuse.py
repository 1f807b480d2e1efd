"""Caps on what an anonymous caller can hold: unpaid bookings (rooms held, nothing paid) per booker
email and hotel, and per client address and hotel. A guest with a real stay pays or lets the hold
lapse; an attacker holding every suite of a hotel with a few bookings under one email, or under many
emails from one address, is refused with ``429``."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import Request

from hotelmate_platform.problems import Problem
from hotelmate_platform.service import Runtime

from ..adapters.tables import bookings, party
from ..domain.states import Status

UNPAID = (Status.REQUESTED.value, Status.PENDING_PAYMENT.value)
RETRY_AFTER_SECONDS = "600"


UNVOUCHED = "unvouched"


def client_address(request: Request) -> str | None:
    """Who asked: through the gateway (a valid assertion as ``gateway``), the last
    ``X-Forwarded-For`` entry, the one the gateway wrote. Otherwise the connection's peer; but a
    caller nobody vouches for that sends ``X-Forwarded-For`` shares one key (uvicorn may already
    have put the header's value in place of the peer), so inventing addresses escapes nothing."""
    forwarded = (request.headers.get("x-forwarded-for") or "").split(",")[-1].strip()
    assertion = getattr(request.state, "assertion", None)
    if assertion is not None and assertion.caller == "gateway" and forwarded:
        return forwarded[:64]
    if forwarded:
        return UNVOUCHED
    return request.client.host if request.client else None


async def _unpaid(runtime: Runtime, condition, joined: bool, idempotency_key: str | None) -> int:
    if idempotency_key:  # a retry of a placed booking is not counted against itself
        condition = sa.and_(condition, bookings.c.idempotency_key.is_distinct_from(idempotency_key))
    source = bookings.join(party, party.c.booking_id == bookings.c.id) if joined else bookings
    stmt = sa.select(sa.func.count()).select_from(source).where(bookings.c.status.in_(UNPAID), condition)
    async with runtime.db.reads() as session:
        return int((await session.execute(stmt)).scalar_one())


async def refuse_too_many_unpaid(runtime: Runtime, hotel: str, booker_email: str, idempotency_key: str | None,
                                 address: str | None = None) -> None:
    """``429`` when ``booker_email``, or the client ``address``, already holds its cap of unpaid
    bookings at ``hotel``. Soft caps: two requests racing may both pass."""
    settings = runtime.settings
    cap = settings.booking_max_unpaid_per_email
    if cap > 0:
        held = await _unpaid(runtime, sa.and_(bookings.c.hotel == hotel, party.c.is_booker,
                                              party.c.email == booker_email), True, idempotency_key)
        if held >= cap:
            raise Problem(429, f"This email already holds {held} unpaid bookings at this hotel; pay or let one "
                          "lapse first.", code="too-many-unpaid-bookings", headers={"Retry-After": RETRY_AFTER_SECONDS})
    cap = settings.booking_max_unpaid_per_address
    if cap > 0 and address:
        held = await _unpaid(runtime, sa.and_(bookings.c.hotel == hotel, bookings.c.client_address == address),
                             False, idempotency_key)
        if held >= cap:
            raise Problem(429, f"{held} unpaid bookings at this hotel were already requested from your address; "
                          "pay or let one lapse first.", code="too-many-unpaid-bookings",
                          headers={"Retry-After": RETRY_AFTER_SECONDS})
