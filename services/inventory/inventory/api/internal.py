"""Internal endpoints (booking calls them directly, the gateway does not expose them):
room assignment and hold look-ups.

No double assignment is the exclusion constraint ``room_assignments_no_overlap`` (btree_gist on
hotel, room number and the stay's daterange): of two overlapping assignments racing, PostgreSQL lets
one commit and the other fails with an exclusion violation, answered ``409``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Query, Response
from psycopg import errors as pg_errors
from sqlalchemy.exc import IntegrityError

from hotelmate_contracts import Money
from hotelmate_platform.problems import Problem
from hotelmate_platform.service import Runtime, get_runtime

from ..adapters import repository as repo
from ..quoting import require_hotel
from .public import hotel_view
from .schemas import AssignmentIn, invalid_input

router = APIRouter(prefix="/internal", tags=["internal"])


@router.get("/hotels/{hotel}")
async def hotel_for_services(hotel: str, runtime: Runtime = Depends(get_runtime)) -> dict:
    """The hotel as the public sees it plus what only services need (the staff email)."""
    async with runtime.db.sessions() as session:
        row = await require_hotel(session, hotel)
        return hotel_view(row, await repo.room_types(session, hotel), await repo.taxes(session, hotel))


@router.get("/catalog-cache")
async def catalog_cache_stats(runtime: Runtime = Depends(get_runtime)) -> dict:
    """Hits and misses of the availability and quote cache (the benchmark reports the hit ratio), and
    how many requests each shared live read answered."""
    return {**runtime.extras["catalog_cache"].stats(), "live_reads": runtime.extras["live_reads"].stats()}


def hold_view(hold) -> dict:
    """A hold as booking sees it; a lapsed hold the sweeper has not reached yet already reads EXPIRED."""
    status = hold.status
    if status == "HELD" and hold.expires_at <= datetime.now(timezone.utc):
        status = "EXPIRED"
    total = None if hold.total is None else Money.of(hold.total, hold.currency.strip()).model_dump(mode="json")
    return {"booking_id": hold.booking_id, "hotel": hold.hotel, "status": status, "room_type": hold.room_type,
            "check_in": hold.check_in.isoformat() if hold.check_in else None,
            "check_out": hold.check_out.isoformat() if hold.check_out else None,
            "expires_at": hold.expires_at.isoformat() if hold.expires_at else None,
            "total": total, "quote": hold.quote}


@router.put("/hotels/{hotel}/assignments/{booking_id}")
async def assign_room(hotel: str, booking_id: str, body: AssignmentIn, runtime: Runtime = Depends(get_runtime)) -> dict:
    """Assign (or move to) ``room_number`` for a committed booking of that room type."""
    try:
        async with runtime.db.unit_of_work() as uow:
            # Locked: a release (which deletes the assignment) waits for this one, or this one sees it.
            hold = await repo.get_hold(uow.session, booking_id, lock=True)
            if hold is None or hold.hotel != hotel:
                raise Problem(404, f"no hold for booking {booking_id} at {hotel}", code="not-found")
            if hold.status != "COMMITTED":
                raise Problem(409, f"booking {booking_id} has no committed hold ({hold.status})", code="not-committed")
            room = await repo.lock_room(uow.session, hotel, body.room_number)
            if room is None:
                raise Problem(404, f"unknown room {body.room_number}", code="unknown-room")
            if room.room_type != hold.room_type:
                raise invalid_input([("room_number", f"room {room.number} is a {room.room_type}, the booking is for {hold.room_type}")])
            if not room.in_service:
                raise invalid_input([("room_number", f"room {room.number} is out of order")])
            await repo.assign_room(uow.session, booking_id, hotel, body.room_number, hold.check_in, hold.check_out)
    except IntegrityError as exc:
        if isinstance(exc.orig, pg_errors.ExclusionViolation):
            raise Problem(409, f"room {body.room_number} is taken on some of these nights", code="room-taken") from None
        raise
    return {"booking_id": booking_id, "room_number": body.room_number}


@router.delete("/hotels/{hotel}/assignments/{booking_id}", status_code=204)
async def unassign_room(hotel: str, booking_id: str, runtime: Runtime = Depends(get_runtime)) -> Response:
    async with runtime.db.unit_of_work() as uow:
        hold = await repo.get_hold(uow.session, booking_id)
        if hold is None or hold.hotel != hotel:
            raise Problem(404, f"no hold for booking {booking_id} at {hotel}", code="not-found")
        await repo.delete_assignment(uow.session, booking_id)
    return Response(status_code=204)


@router.get("/hotels/{hotel}/assignments/{booking_id}")
async def get_assignment(hotel: str, booking_id: str, runtime: Runtime = Depends(get_runtime)) -> dict:
    async with runtime.db.sessions() as session:
        row = await repo.get_assignment(session, hotel, booking_id)
    if row is None:
        raise Problem(404, f"booking {booking_id} has no room", code="not-found")
    return {"booking_id": booking_id, "room_number": row.room_number}


@router.get("/hotels/{hotel}/holds/{booking_id}")
async def get_hold(hotel: str, booking_id: str, runtime: Runtime = Depends(get_runtime)) -> dict:
    async with runtime.db.sessions() as session:
        hold = await repo.get_hold(session, booking_id)
    if hold is None or hold.hotel != hotel:
        raise Problem(404, f"no hold for booking {booking_id} at {hotel}", code="not-found")
    return hold_view(hold)


@router.get("/holds")
async def list_holds(booking_ids: str = Query(max_length=20000), runtime: Runtime = Depends(get_runtime)) -> dict:
    ids = [b.strip() for b in booking_ids.split(",") if b.strip()]
    if len(ids) > 500:
        raise invalid_input([("booking_ids", "at most 500 ids per call")])
    async with runtime.db.sessions() as session:
        holds = await repo.holds_by_ids(session, ids)
    return {"holds": [hold_view(h) for h in holds]}
