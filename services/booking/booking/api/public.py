"""Guest endpoints: place a booking, and the guest portal behind the booking's own token."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from hotelmate_platform.problems import Problem
from hotelmate_platform.production import service_key
from hotelmate_platform.service import Runtime, get_runtime

from ..adapters import repository
from ..commands import BookingCommands, utcnow
from ..domain.links import link_key, link_matches
from ..domain.model import token_matches
from ..domain.states import Status
from ..domain.booking import quote_of
from .abuse import client_address, refuse_too_many_unpaid
from .schemas import BookingRequest, guest_view, money

router = APIRouter(prefix="/api/v1/hotels/{hotel}/bookings", tags=["guest"])
DEFAULT_WAIT_SECONDS = 10.0
# The gateway waits gateway_long_poll_timeout_seconds (35 s) for a long poll: keep this below it.
MAX_WAIT_SECONDS = 30.0


async def commands(runtime: Runtime = Depends(get_runtime)) -> BookingCommands:
    return BookingCommands(runtime)


@dataclass(frozen=True)
class WaitFor:
    statuses: frozenset[str]
    timeout: float


async def wait_request(wait_for: str | None = None, timeout: str | None = None) -> WaitFor | None:
    """``?wait_for=STATUS[,STATUS]&timeout=S`` (SPEC §5): checked before the booking is looked up."""
    if wait_for is None:
        if timeout is not None:
            raise _bad_wait("timeout", "only with wait_for")
        return None
    statuses = frozenset(s.strip() for s in wait_for.split(","))
    unknown = sorted(s for s in statuses if s not in Status.__members__)
    if unknown or not statuses:
        raise _bad_wait("wait_for", f"unknown status {', '.join(unknown) or '(none)'}")
    try:
        seconds = DEFAULT_WAIT_SECONDS if timeout is None else float(timeout)
    except ValueError:
        raise _bad_wait("timeout", "a number of seconds") from None
    if not 0 <= seconds <= MAX_WAIT_SECONDS:
        raise _bad_wait("timeout", f"between 0 and {MAX_WAIT_SECONDS:g} seconds")
    return WaitFor(statuses, seconds)


def _bad_wait(field: str, message: str) -> Problem:
    return Problem(422, "The wait is invalid.", code="invalid-input", errors=[{"field": field, "message": message}])


async def guest_booking(hotel: str, booking_id: str, request: Request,
                        runtime: Runtime = Depends(get_runtime)) -> dict:
    """The booking the presented guest token opens: 401 without a token, 404 for any mismatch."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "A guest token is required.", code="unauthorized", headers={"WWW-Authenticate": "Bearer"})
    request.state.read_at = time.monotonic()  # for a long poll: changes heard after this need a re-read
    async with runtime.db.reads() as session:
        booking = await repository.load(session, booking_id, hotel=hotel)
    # Compare even when the booking is unknown, so timing tells nothing.
    token, digest = token.strip(), booking["token_digest"] if booking else None
    opened = token_matches(token, digest) or link_matches(link_key(service_key(runtime.settings)), booking_id, token,
                                                          digest, utcnow().date())
    if not opened or booking is None:
        raise Problem(404, "No such booking.", code="not-found")
    return booking


@router.post("", status_code=202)
async def place_booking(hotel: str, body: BookingRequest, request: Request,
                        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
                        cmd: BookingCommands = Depends(commands),
                        runtime: Runtime = Depends(get_runtime)):
    address = client_address(request)
    await refuse_too_many_unpaid(runtime, hotel, body.booker.email, idempotency_key, address)
    placed = await cmd.place(hotel, body, idempotency_key, address)
    location = f"/api/v1/hotels/{hotel}/bookings/{placed.booking_id}"
    return JSONResponse({"booking_id": placed.booking_id, "status": placed.status, "guest_token": placed.guest_token},
                        status_code=202, headers={"Location": location})


@router.get("/{booking_id}")
async def view_booking(request: Request, wait: WaitFor | None = Depends(wait_request),
                       booking: dict = Depends(guest_booking), runtime: Runtime = Depends(get_runtime)):
    """The guest's view; with ``wait_for``, answered once the status is one of them or at the timeout."""
    if wait is not None and booking["status"] not in wait.statuses:
        async def load() -> dict | None:
            async with runtime.db.reads() as session:
                return await repository.load(session, booking["id"], hotel=booking["hotel"])

        booking = await runtime.extras["status_watch"].wait_for(
            booking["id"], wait.statuses, wait.timeout, load, current=booking, read_at=request.state.read_at) or booking
    return guest_view(booking)


@router.get("/{booking_id}/cancellation-quote")
async def cancellation_quote(booking: dict = Depends(guest_booking), cmd: BookingCommands = Depends(commands)):
    cmd.cancellable(booking)
    terms = cmd.terms(booking, now=utcnow())
    quote = quote_of(booking)
    currency = quote.total.currency if quote else booking["hotel_profile"]["currency"]
    return {"fee": money(terms.fee, currency), "refund": money(terms.refund, currency),
            "captured": booking["status"] == Status.CONFIRMED,
            "free_until": terms.free_until.isoformat() if terms.free_until else None}


@router.post("/{booking_id}/cancel", status_code=202)
async def cancel_booking(booking: dict = Depends(guest_booking), cmd: BookingCommands = Depends(commands)):
    done = await cmd.cancel(booking["hotel"], booking["id"], actor="guest", reason="cancelled by the guest")
    return {"booking_id": done["id"], "status": done["status"], "cancellation": done["cancellation"]}
