"""Staff endpoints. The gateway has checked the JWT, role and hotel scope; it forwards the staff id
and role in headers, which are recorded as the actor. Roles are checked again here, cheaply."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query

from hotelmate_platform.problems import Problem
from hotelmate_platform.service import Runtime, get_runtime

from ..adapters import repository
from ..commands import BookingCommands, not_found
from ..domain.states import Status, Trigger
from .public import commands
from .schemas import Decline, RoomAssignment, StaffCancel, list_item, staff_view

router = APIRouter(prefix="/api/v1/staff/hotels/{hotel}/bookings", tags=["staff"])
RANK = {"RECEPTIONIST": 1, "MANAGER": 2, "ADMIN": 3}


def staff(minimum: str):
    async def identity(x_hotelmate_staff_id: Annotated[str | None, Header()] = None,
                       x_hotelmate_staff_role: Annotated[str | None, Header()] = None) -> str:
        if not x_hotelmate_staff_id:
            raise Problem(401, "Staff identity missing.", code="unauthorized")
        if RANK.get((x_hotelmate_staff_role or "").upper(), 0) < RANK[minimum]:
            raise Problem(403, f"This needs the {minimum} role.", code="forbidden")
        return f"staff:{x_hotelmate_staff_id}"
    return identity


@router.get("")
async def list_bookings(hotel: str, runtime: Runtime = Depends(get_runtime), _: str = Depends(staff("RECEPTIONIST")),
                        status: Annotated[list[str] | None, Query()] = None, arrival_from: date | None = None,
                        arrival_to: date | None = None, q: Annotated[str | None, Query(max_length=100)] = None,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None):
    try:
        after = repository.decode_cursor(cursor) if cursor else None
    except ValueError:
        raise Problem(422, "Bad cursor.", code="invalid-input", errors=[{"field": "cursor", "message": "not a cursor"}])
    statuses = [part.strip().upper() for value in status or [] for part in value.split(",") if part.strip()]
    unknown = [s for s in statuses if s not in Status.__members__]
    if unknown:
        raise Problem(422, "Unknown status.", code="invalid-input",
                      errors=[{"field": "status", "message": f"unknown: {', '.join(unknown)}"}])
    async with runtime.db.sessions() as session:
        found = await repository.search(session, hotel, status=statuses, arrival_from=arrival_from,
                                        arrival_to=arrival_to, q=q, limit=limit, after=after)
    next_cursor = repository.encode_cursor(found[-1]["check_in"], found[-1]["id"]) if len(found) == limit else None
    return {"items": [list_item(b) for b in found], "next_cursor": next_cursor}


@router.get("/{booking_id}")
async def booking_detail(hotel: str, booking_id: str, runtime: Runtime = Depends(get_runtime),
                         _: str = Depends(staff("RECEPTIONIST"))):
    async with runtime.db.sessions() as session:
        booking = await repository.load(session, booking_id, hotel=hotel)
        if booking is None:
            raise not_found()
        timeline = await repository.load_timeline(session, booking_id)
    details = await runtime.extras["upstream"].payment_details(booking_id)
    return staff_view(booking, timeline, details)


def _answer(booking: dict) -> dict:
    return {"booking_id": booking["id"], "status": booking["status"], "decision": booking["decision_json"],
            "room_number": booking["room_number"], "cancellation": booking["cancellation"]}


@router.post("/{booking_id}/approve", status_code=202)
async def approve(hotel: str, booking_id: str, actor: str = Depends(staff("MANAGER")),
                  cmd: BookingCommands = Depends(commands)):
    return _answer(await cmd.decide(hotel, booking_id, "APPROVED", actor))


@router.post("/{booking_id}/decline", status_code=202)
async def decline(hotel: str, booking_id: str, body: Decline, actor: str = Depends(staff("MANAGER")),
                  cmd: BookingCommands = Depends(commands)):
    return _answer(await cmd.decide(hotel, booking_id, "DECLINED", actor, body.reason_code, body.note))


@router.post("/{booking_id}/cancel", status_code=202)
async def staff_cancel(hotel: str, booking_id: str, body: StaffCancel, actor: str = Depends(staff("MANAGER")),
                       cmd: BookingCommands = Depends(commands)):
    return _answer(await cmd.cancel(hotel, booking_id, actor=actor, reason=body.reason, waive_fee=body.waive_fee))


@router.put("/{booking_id}/room")
async def assign_room(hotel: str, booking_id: str, body: RoomAssignment, actor: str = Depends(staff("RECEPTIONIST")),
                      cmd: BookingCommands = Depends(commands)):
    return _answer(await cmd.assign_room(hotel, booking_id, body.room_number, actor))


@router.delete("/{booking_id}/room")
async def unassign_room(hotel: str, booking_id: str, actor: str = Depends(staff("RECEPTIONIST")),
                        cmd: BookingCommands = Depends(commands)):
    return _answer(await cmd.assign_room(hotel, booking_id, None, actor))


@router.post("/{booking_id}/check-in")
async def check_in(hotel: str, booking_id: str, actor: str = Depends(staff("RECEPTIONIST")),
                   cmd: BookingCommands = Depends(commands)):
    return _answer(await cmd.stay(hotel, booking_id, Trigger.CHECK_IN, actor))


@router.post("/{booking_id}/check-out")
async def check_out(hotel: str, booking_id: str, actor: str = Depends(staff("RECEPTIONIST")),
                    cmd: BookingCommands = Depends(commands)):
    return _answer(await cmd.stay(hotel, booking_id, Trigger.CHECK_OUT, actor))


@router.post("/{booking_id}/no-show")
async def no_show(hotel: str, booking_id: str, actor: str = Depends(staff("RECEPTIONIST")),
                  cmd: BookingCommands = Depends(commands)):
    return _answer(await cmd.stay(hotel, booking_id, Trigger.NO_SHOW, actor))
