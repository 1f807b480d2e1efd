"""Holds, driven by the booking saga over the bus: one handler per command, plus the sweeper.

Every handler runs in the consumer's unit of work (inbox row, changes and outbox commit together).
Each is idempotent per ``booking_id`` (one hold per booking): a repeated command answers the event
again and changes nothing. No oversell: a hold decision locks its room type row (``FOR UPDATE``)
and counts the rooms taken on every night of the stay against the in-service rooms, all nights or none.
"""

from __future__ import annotations

import logging
from datetime import datetime

from hotelmate_contracts import (
    CommitHold, Envelope, ExtendHold, HoldCommitted, HoldExpired, HoldExtended, HoldPlaced, HoldRefused,
    HoldReleased, PlaceHold, Quote, ReleaseHold,
)
from hotelmate_platform.db import Database, UnitOfWork

from .adapters import repository as repo
from .domain.errors import InvalidInput, NotFound
from .domain.pricing import Stay
from .quoting import quote_stay

log = logging.getLogger(__name__)
ACTIVE = ("HELD", "COMMITTED")


async def place_hold(uow: UnitOfWork, message: PlaceHold, envelope: Envelope | None = None) -> None:
    session = uow.session
    existing = await repo.get_hold(session, message.booking_id)
    if existing is not None:
        # One hold per booking: answer the stored hold again (same quote, same expiry), or nothing.
        hotel = await repo.get_hotel(session, existing.hotel)
        if existing.status in ACTIVE and existing.quote is not None and hotel is not None:
            uow.publish(HoldPlaced(booking_id=message.booking_id, hotel=existing.hotel, expires_at=existing.expires_at,
                                   quote=Quote.model_validate(existing.quote), hotel_profile=repo.hotel_profile(hotel)))
        return
    stay = Stay(message.room_type, message.check_in, message.check_out, message.adults, message.children)
    try:
        # Locks the room type row first: decisions for one room type are serialised across replicas.
        # Two PlaceHold of one booking racing: the second insert hits the primary key, the consumer
        # retries it, and the retry answers from the stored hold above.
        priced = await quote_stay(session, message.hotel, stay, message.promo_code, lock=True)
    except (InvalidInput, NotFound) as exc:
        uow.publish(HoldRefused(booking_id=message.booking_id, hotel=message.hotel, reason="INVALID", detail=str(exc)))
        return
    sellable = await repo.sellable_rooms(session, message.hotel, message.room_type)
    if sellable == 0:
        uow.publish(HoldRefused(booking_id=message.booking_id, hotel=message.hotel, reason="CLOSED",
                                detail=f"no room of type {message.room_type} is in service"))
        return
    taken = await repo.busiest_night(session, message.hotel, message.room_type, message.check_in, message.check_out)
    if taken >= sellable:
        uow.publish(HoldRefused(booking_id=message.booking_id, hotel=message.hotel, reason="SOLD_OUT",
                                detail=f"{message.room_type} is sold out on at least one night"))
        return
    quote = priced.quote
    await repo.insert_hold(
        session, booking_id=message.booking_id, hotel=message.hotel, room_type=message.room_type,
        check_in=message.check_in, check_out=message.check_out, adults=message.adults, children=message.children,
        promo_code=quote.promo_code, expires_at=message.expires_at, quote=quote.model_dump(mode="json"),
        total=quote.total.amount, currency=quote.total.currency,
    )
    uow.publish(HoldPlaced(booking_id=message.booking_id, hotel=message.hotel, expires_at=message.expires_at,
                           quote=quote, hotel_profile=priced.profile))


async def _retake(uow: UnitOfWork, hold) -> bool:
    """A lapsed (not yet swept) hold may come back only if its nights are still free."""
    await repo.lock_room_type(uow.session, hold.hotel, hold.room_type)
    sellable = await repo.sellable_rooms(uow.session, hold.hotel, hold.room_type)
    taken = await repo.busiest_night(uow.session, hold.hotel, hold.room_type, hold.check_in, hold.check_out,
                                     excluding=hold.booking_id)
    return taken < sellable


async def _still_held(uow: UnitOfWork, hold, now: datetime) -> bool:
    """True when the HELD ``hold`` may go on; else it is expired here and HoldExpired published."""
    if hold.expires_at > now or await _retake(uow, hold):
        return True
    await repo.set_hold(uow.session, hold.booking_id, status="EXPIRED", reason="lapsed")
    uow.publish(HoldExpired(booking_id=hold.booking_id, hotel=hold.hotel))
    return False


async def _live_hold(uow: UnitOfWork, booking_id: str, action: str):
    """The booking's hold, locked, if it can still be extended or committed; else None (having
    announced a lapse that the booking service may not have heard of yet)."""
    hold = await repo.get_hold(uow.session, booking_id, lock=True)
    if hold is None or hold.status == "RELEASED":
        log.warning("%s of %s ignored: no live hold", action, booking_id)
        return None
    if hold.status == "EXPIRED":
        uow.publish(HoldExpired(booking_id=hold.booking_id, hotel=hold.hotel))
        return None
    if hold.status == "HELD" and not await _still_held(uow, hold, await repo.statement_time(uow.session)):
        return None
    return hold


async def extend_hold(uow: UnitOfWork, message: ExtendHold, envelope: Envelope | None = None) -> None:
    hold = await _live_hold(uow, message.booking_id, "extend")
    if hold is None:
        return
    expires_at = hold.expires_at
    if hold.status == "HELD":
        expires_at = max(message.expires_at, hold.expires_at)  # an extension never shortens a hold
        await repo.set_hold(uow.session, hold.booking_id, expires_at=expires_at)
    uow.publish(HoldExtended(booking_id=hold.booking_id, hotel=hold.hotel, expires_at=expires_at))


async def commit_hold(uow: UnitOfWork, message: CommitHold, envelope: Envelope | None = None) -> None:
    hold = await _live_hold(uow, message.booking_id, "commit")
    if hold is None:
        return
    if hold.status == "HELD":
        await repo.set_hold(uow.session, hold.booking_id, status="COMMITTED")
    uow.publish(HoldCommitted(booking_id=hold.booking_id, hotel=hold.hotel))


async def release_hold(uow: UnitOfWork, message: ReleaseHold, envelope: Envelope | None = None) -> None:
    hold = await repo.get_hold(uow.session, message.booking_id, lock=True)
    if hold is None:
        # Released before it was placed (messages out of order): a tombstone keeps a late PlaceHold out.
        await repo.insert_tombstone(uow.session, message.booking_id, message.hotel, message.reason)
    elif hold.status in ACTIVE:
        await repo.delete_assignment(uow.session, hold.booking_id)
        await repo.set_hold(uow.session, hold.booking_id, status="RELEASED", reason=message.reason)
    uow.publish(HoldReleased(booking_id=message.booking_id, hotel=message.hotel, reason=message.reason))


async def expire_lapsed_holds(db: Database, batch: int = 500) -> int:
    """Sweeper step: mark lapsed holds EXPIRED and publish HoldExpired, durably. Returns how many."""
    async with db.unit_of_work() as uow:
        lapsed = await repo.expire_lapsed_holds(uow.session, batch)
        for hold in lapsed:
            uow.publish(HoldExpired(booking_id=hold.booking_id, hotel=hold.hotel))
    if lapsed:
        log.info("expired %s lapsed holds", len(lapsed))
    return len(lapsed)


HANDLERS = {PlaceHold: place_hold, ExtendHold: extend_hold, CommitHold: commit_hold, ReleaseHold: release_hold}
