"""Pre-check-in: before arrival the guest gives the party's names, arrival time and requests
(behind the booking's guest token); staff read them with the booking. Its own table, kept apart
from the booking's state machine: it changes no status."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from pydantic import Field, StringConstraints

from hotelmate_platform.problems import Problem
from hotelmate_platform.service import Runtime, get_runtime

from ..adapters import repository
from ..commands import not_found
from .public import guest_booking
from .schemas import Strict
from .staff import staff

router = APIRouter(tags=["pre-check-in"])
OPEN_FOR_PRE_CHECK_IN = ("PENDING_APPROVAL", "CONFIRMED")
PartyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class PreCheckIn(Strict):
    party_names: list[PartyName] = Field(min_length=1, max_length=40)
    arrival_time: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] | None = None
    special_requests: Annotated[str, StringConstraints(max_length=2000)] | None = None


async def _load(runtime: Runtime, booking_id: str) -> dict | None:
    async with runtime.db.reads() as session:
        row = (await session.execute(sa.text(
            "SELECT party_names, arrival_time, special_requests, completed_at FROM pre_check_ins "
            "WHERE booking_id = :id"), {"id": booking_id})).mappings().first()
    if row is None:
        return None
    return {"party_names": list(row["party_names"]), "arrival_time": row["arrival_time"],
            "special_requests": row["special_requests"], "completed_at": row["completed_at"].isoformat()}


@router.get("/api/v1/hotels/{hotel}/bookings/{booking_id}/pre-check-in")
async def guest_read(booking: dict = Depends(guest_booking), runtime: Runtime = Depends(get_runtime)):
    return await _load(runtime, booking["id"]) or {"party_names": [], "arrival_time": None,
                                                   "special_requests": None, "completed_at": None}


@router.put("/api/v1/hotels/{hotel}/bookings/{booking_id}/pre-check-in")
async def guest_complete(body: PreCheckIn, booking: dict = Depends(guest_booking),
                         runtime: Runtime = Depends(get_runtime)):
    if booking["status"] not in OPEN_FOR_PRE_CHECK_IN:
        raise Problem(409, "Pre-check-in is open once the booking is paid and until arrival.",
                      code="invalid-state")
    if len(body.party_names) > booking["adults"] + booking["children"]:
        raise Problem(422, "More names than guests in the booking.", code="invalid-input",
                      errors=[{"field": "party_names", "message": "at most one name per guest"}])
    async with runtime.db.sessions() as session:
        await session.execute(sa.text(
            "INSERT INTO pre_check_ins (booking_id, party_names, arrival_time, special_requests, completed_at) "
            "VALUES (:id, CAST(:names AS jsonb), :arrival, :requests, :at) ON CONFLICT (booking_id) DO UPDATE SET "
            "party_names = EXCLUDED.party_names, arrival_time = EXCLUDED.arrival_time, "
            "special_requests = EXCLUDED.special_requests, completed_at = EXCLUDED.completed_at"),
            {"id": booking["id"], "names": _json(body.party_names), "arrival": body.arrival_time,
             "requests": body.special_requests, "at": datetime.now(timezone.utc)})
        await session.commit()
    return await _load(runtime, booking["id"])


@router.get("/api/v1/staff/hotels/{hotel}/bookings/{booking_id}/pre-check-in")
async def staff_read(hotel: str, booking_id: str, runtime: Runtime = Depends(get_runtime),
                     _: str = Depends(staff("RECEPTIONIST"))):
    async with runtime.db.reads() as session:
        if await repository.load(session, booking_id, hotel=hotel) is None:
            raise not_found()
    return await _load(runtime, booking_id) or {"party_names": [], "arrival_time": None,
                                                "special_requests": None, "completed_at": None}


def _json(value) -> str:
    import json
    return json.dumps(value)
