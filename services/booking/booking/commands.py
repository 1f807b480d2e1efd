"""What guests and staff ask of a booking over HTTP: each use case loads, decides, fires, commits.

HTTP calls to inventory happen before (or after) the unit of work, never inside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotelmate_contracts import BookingRoomAssigned, HotelProfile, PlaceHold
from hotelmate_platform.db import UnitOfWork
from hotelmate_platform.problems import Problem
from hotelmate_platform.service import Runtime

from .adapters import repository
from .adapters.upstream import Upstream
from .api.schemas import BookingRequest
from .domain.booking import Booking, BookingConflict, Outcome
from .domain.model import new_guest_token, party_errors, stay_date_errors, token_digest
from .domain.policies import CancellationTerms
from .domain.states import PaymentState, Status, Trigger, TransitionRefused
from .outcomes import BookingOutbox

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def conflict(detail: str) -> Problem:
    return Problem(409, detail, code="state-conflict")


def not_found() -> Problem:
    return Problem(404, "No such booking.", code="not-found")


@dataclass
class Placed:
    booking_id: str
    status: str
    guest_token: str | None  # None when an Idempotency-Key replay answers: the token is shown once


def request_digest(hotel: str, body: BookingRequest) -> str:
    canonical = json.dumps({"hotel": hotel, **body.model_dump(mode="json")}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def hotel_profile(slug: str, hotel: dict) -> HotelProfile:
    return HotelProfile(
        slug=slug, name=hotel.get("name") or slug, timezone=hotel["timezone"], currency=hotel["currency"],
        check_in_time=hotel.get("check_in_time") or "15:00", check_out_time=hotel.get("check_out_time") or "11:00",
        hold_minutes=int(hotel.get("hold_minutes") or 30), approval_hours=int(hotel.get("approval_hours") or 24),
        staff_email=hotel.get("staff_email") or "")


def request_errors(body: BookingRequest, info: dict, *, now: datetime, timezone: str) -> list[dict]:
    """What can be checked without inventory: the dates, the room type and its party size, the party."""
    errors = [{"field": e.field, "message": e.message}
              for e in stay_date_errors(body.check_in, body.check_out, now=now, timezone=timezone)]
    room_types = {rt.get("code"): rt for rt in info.get("room_types") or []}
    room_type = room_types.get(body.room_type)
    if room_type is None:
        errors.append({"field": "room_type", "message": "unknown room type"})
    else:
        if room_type.get("max_adults") is not None and body.adults > int(room_type["max_adults"]):
            errors.append({"field": "adults", "message": f"at most {room_type['max_adults']} for this room type"})
        if room_type.get("max_children") is not None and body.children > int(room_type["max_children"]):
            errors.append({"field": "children", "message": f"at most {room_type['max_children']} for this room type"})
    errors += [{"field": e.field, "message": e.message}
               for e in party_errors([g.role for g in body.guests], adults=body.adults, children=body.children)]
    return errors


def party_rows(body: BookingRequest) -> list[dict]:
    """The party: the guests given (booker flagged), or the booker alone as PRIMARY."""
    booker = body.booker.model_dump()
    if not body.guests:
        return [{"position": 0, "role": "PRIMARY", "is_booker": True, **booker}]
    rows, booker_found = [], False
    for i, guest in enumerate(body.guests):
        same = (guest.email == body.booker.email and guest.first_name.lower() == body.booker.first_name.lower()
                and guest.last_name.lower() == body.booker.last_name.lower())
        is_booker = same and not booker_found
        booker_found |= is_booker
        rows.append({"position": i, "is_booker": is_booker, **guest.model_dump()})
    if not booker_found:  # who booked but does not stay: a contact, not a guest
        rows.append({"position": len(rows), "role": "BOOKER", "is_booker": True, **booker})
    return rows


class BookingCommands:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.upstream: Upstream = runtime.extras["upstream"]
        self.outbox = BookingOutbox(runtime.settings)

    async def _replay(self, hotel: str, key: str, digest: str) -> Placed | None:
        async with self.db.reads() as session:
            found = await repository.find_by_idempotency_key(session, hotel, key)
        if found is None:
            return None
        if found["request_digest"] != digest:
            raise Problem(422, "This Idempotency-Key was used with a different request.", code="idempotency-key-reused",
                          errors=[{"field": "Idempotency-Key", "message": "already used with another body"}])
        return Placed(found["id"], found["status"], None)

    async def place(self, hotel: str, body: BookingRequest, idempotency_key: str | None,
                    client_address: str | None = None) -> Placed:
        """Accept a booking request: validate it against the hotel's (cached) profile, then store it
        with its PlaceHold in one short transaction. The hold prices the stay (its quote is the amount
        charged); a promo code is checked by a quote bounded by a short timeout, else by the hold."""
        digest = request_digest(hotel, body)
        if idempotency_key and (replay := await self._replay(hotel, idempotency_key, digest)):
            return replay
        info = await self.upstream.hotel(hotel)
        try:
            zone = info["timezone"]
            ZoneInfo(zone)
            profile = hotel_profile(hotel, info)
        except (KeyError, ValueError, ZoneInfoNotFoundError) as exc:
            log.error("hotel %s has an unusable profile: %r", hotel, exc)
            raise Problem(503, "This hotel cannot take bookings right now.", code="hotel-misconfigured")
        now = utcnow()
        errors = request_errors(body, info, now=now, timezone=zone)
        if errors:
            raise Problem(422, "The booking request is invalid.", code="invalid-input", errors=errors)
        if body.promo_code:
            await self._check_promo_code(hotel, body)
        token = new_guest_token()
        async with self.db.unit_of_work() as uow:
            booking_id = await repository.next_booking_id(uow.session, now.year)
            values = dict(id=booking_id, hotel=hotel, status=Status.REQUESTED.value, room_type=body.room_type,
                          check_in=body.check_in, check_out=body.check_out, adults=body.adults, children=body.children,
                          promo_code=body.promo_code, special_requests=body.special_requests,
                          token_digest=token_digest(token), idempotency_key=idempotency_key, request_digest=digest,
                          hotel_profile=profile.model_dump(mode="json"), payment_status=PaymentState.NONE.value,
                          hold_expires_at=now + timedelta(minutes=profile.hold_minutes), client_address=client_address)
            rows = party_rows(body)
            inserted = await repository.insert_booking(uow.session, values, rows)
            if not inserted:
                await uow.rollback()
            else:
                booking = {**values, "party": rows, "quote": None, "approval_deadline": None, "room_number": None,
                           "cancellation": None}
                await repository.add_timeline(uow.session, booking_id, None, Status.REQUESTED.value, "guest", "booking requested")
                uow.publish(PlaceHold(booking_id=booking_id, hotel=hotel, room_type=body.room_type,
                                      check_in=body.check_in, check_out=body.check_out, adults=body.adults,
                                      children=body.children, promo_code=body.promo_code,
                                      expires_at=values["hold_expires_at"]), correlation_id=booking_id)
                self.outbox.announce(uow, Booking(booking), None, actor="guest", reason="booking requested")
        if not inserted:  # a concurrent twin with the same Idempotency-Key won
            replay = await self._replay(hotel, idempotency_key, digest)
            assert replay is not None
            return replay
        log.info("booking %s requested for %s", booking_id, hotel)
        return Placed(booking_id, Status.REQUESTED.value, token)

    async def _check_promo_code(self, hotel: str, body: BookingRequest) -> None:
        """An unknown or inapplicable promo code is 422 at once when inventory quotes in time; when it
        does not, the booking goes ahead and the hold refuses a bad code (UNAVAILABLE, with the reason)."""
        stay = body.model_dump(mode="json", include={"room_type", "check_in", "check_out", "adults", "children",
                                                      "promo_code"})
        try:
            await self.upstream.quote(hotel, stay)
        except Problem as problem:
            if problem.status < 500:
                raise
            log.warning("promo code of a booking for %s left to the hold: inventory did not quote in time", hotel)

    async def _locked(self, uow, hotel: str, booking_id: str) -> Booking:
        row = await repository.load(uow.session, booking_id, hotel=hotel, for_update=True)
        if row is None:
            raise not_found()
        return Booking(row)

    async def _change(self, hotel: str, booking_id: str, actor: str, decide: Callable[[Booking], Outcome | None],
                      also: Callable[[UnitOfWork, Booking], None] | None = None) -> dict:
        """Load and lock the booking, let ``decide`` call the aggregate, save (and ``also`` add its own
        messages); answers the booking's row. A refused transition or guard is 409 and changes nothing."""
        async with self.db.unit_of_work() as uow:
            booking = await self._locked(uow, hotel, booking_id)
            try:
                outcome = decide(booking)
            except TransitionRefused as exc:
                raise conflict(f"A {exc.status} booking cannot take {exc.trigger.value.lower().replace('_', ' ')}.")
            except BookingConflict as exc:
                raise conflict(str(exc))
            await self.outbox.save(uow, booking, outcome, actor=actor)
            if also is not None:
                also(uow, booking)
            return booking.row

    async def decide(self, hotel: str, booking_id: str, decision: str, staff_id: str,
                     reason_code: str | None = None, note: str | None = None) -> dict:
        """Approve or decline. The same decision again is a no-op; a conflicting one is 409."""
        return await self._change(hotel, booking_id, staff_id, lambda b: b.decide(
            decision, staff_id, now=utcnow(), reason_code=reason_code, note=note))

    def terms(self, booking: dict, *, now: datetime, waive_fee: bool = False) -> CancellationTerms:
        return Booking(booking).cancellation_terms(now=now, waive_fee=waive_fee)

    def cancellable(self, booking: dict) -> None:
        try:
            Booking(booking).ensure_cancellable()
        except BookingConflict as exc:
            raise conflict(str(exc))

    async def cancel(self, hotel: str, booking_id: str, *, actor: str, reason: str, waive_fee: bool = False) -> dict:
        return await self._change(hotel, booking_id, actor, lambda b: b.cancel(actor, reason, now=utcnow(),
                                                                              waive_fee=waive_fee))

    async def stay(self, hotel: str, booking_id: str, trigger: Trigger, staff_id: str) -> dict:
        """Check-in, check-out, no-show."""
        return await self._change(hotel, booking_id, staff_id, lambda b: b.stay(trigger, now=utcnow()))

    async def assign_room(self, hotel: str, booking_id: str, room_number: str | None, staff_id: str) -> dict:
        """Assign, move (``room_number``) or unassign (``None``) through inventory, then record it."""
        async with self.db.sessions() as session:
            row = await repository.load(session, booking_id, hotel=hotel)
        if row is None:
            raise not_found()
        try:
            Booking(row).ensure_assignable()
        except BookingConflict as exc:
            raise conflict(str(exc))
        if room_number is None:
            await self.upstream.unassign_room(hotel, booking_id)
        else:
            await self.upstream.assign_room(hotel, booking_id, room_number)
        # cancelled meanwhile? its hold's release clears inventory's room

        def announce(uow: UnitOfWork, booking: Booking) -> None:
            uow.publish(BookingRoomAssigned(
                booking_id=booking_id, hotel=hotel, hotel_profile=booking.profile, guest=booking.contact,
                room_number=room_number, check_in=booking["check_in"], check_out=booking["check_out"]),
                correlation_id=booking_id)

        return await self._change(hotel, booking_id, staff_id, lambda b: b.assign_room(room_number), announce)
