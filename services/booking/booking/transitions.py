"""Carrying out a transition of the table: store it, write the timeline, add its outbox messages.

Every change of a booking's status (and every note-only event) goes through :meth:`Transitions.fire`
inside the caller's unit of work, so the change and the messages it causes commit together.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from hotelmate_contracts import (
    BookingStatusChanged, CapturePayment, CommitHold, ExtendHold, GuestContact, HotelProfile, Money, Quote,
    RefundPayment, ReleaseHold, RequestCheckout, VoidPayment,
)
from hotelmate_platform.db import UnitOfWork

from .adapters import repository
from .adapters.repository import Booking
from .domain.states import Effect, Status, Transition, Trigger, transition
from .settings import BookingSettings

log = logging.getLogger(__name__)


def primary_guest(booking: Booking) -> dict:
    return next(m for m in booking["party"] if m["role"] == "PRIMARY")


def contact(booking: Booking) -> GuestContact:
    """Who messages go to: the PRIMARY guest, with the booker's email when the guest gave none."""
    guest = primary_guest(booking)
    booker = next((m for m in booking["party"] if m["is_booker"]), guest)
    return GuestContact(first_name=guest["first_name"], last_name=guest["last_name"],
                        email=guest["email"] or booker["email"] or "")


def quote_of(booking: Booking) -> Quote | None:
    return Quote.model_validate(booking["quote"]) if booking.get("quote") else None


def profile_of(booking: Booking) -> HotelProfile:
    return HotelProfile.model_validate(booking["hotel_profile"])


class Transitions:
    def __init__(self, settings: BookingSettings) -> None:
        self.settings = settings

    def portal_url(self, booking: Booking, token: str | None = None) -> str:
        url = f"{self.settings.public_base_url.rstrip('/')}/api/v1/hotels/{booking['hotel']}/bookings/{booking['id']}"
        # A fragment never reaches a server log; only the booking-received message carries it.
        return f"{url}#guest_token={token}" if token else url

    async def fire(self, uow: UnitOfWork, booking: Booking, trigger: Trigger, *, actor: str, now: datetime,
                   reason: str | None = None, changes: dict | None = None, refund: Decimal | None = None,
                   token: str | None = None) -> Transition:
        """Apply ``trigger`` to ``booking`` (locked by the caller); raises ``TransitionRefused``."""
        found = transition(booking["status"], trigger)
        before = booking["status"]
        note = reason or trigger.value.lower()
        changes = {**(changes or {}), "status": found.next.value}
        booking.update(changes)
        for effect in found.effects:
            self._carry_out(uow, booking, effect, note, now, refund)
        # Effects may move these two (VOID_PAYMENT, EXTEND_HOLD): store what they set.
        changes.update(payment_status=booking["payment_status"], hold_expires_at=booking["hold_expires_at"])
        await repository.update(uow.session, booking["id"], changes)
        await repository.add_timeline(uow.session, booking["id"], before, found.next.value, actor, note)
        if before != found.next.value:
            self.announce(uow, booking, before, actor=actor, reason=reason, token=token)
        log.info("booking %s %s: %s -> %s by %s", booking["id"], trigger, before, found.next, actor)
        return found

    def announce(self, uow: UnitOfWork, booking: Booking, before: str | None, *, actor: str,
                 reason: str | None, token: str | None = None) -> None:
        """BookingStatusChanged: what notifications need to tell guest and staff."""
        quote = quote_of(booking)
        cancellation = booking.get("cancellation") or {}
        currency = quote.total.currency if quote else profile_of(booking).currency
        money = lambda key: Money.of(cancellation[key], currency) if key in cancellation else None  # noqa: E731
        uow.publish(BookingStatusChanged(
            booking_id=booking["id"], hotel=booking["hotel"], hotel_profile=profile_of(booking),
            from_status=before, to_status=booking["status"], reason=reason, actor=actor, guest=contact(booking),
            room_type=booking["room_type"], check_in=booking["check_in"], check_out=booking["check_out"],
            total=quote.total if quote else None, fee=money("fee"), refund=money("refund"),
            portal_url=self.portal_url(booking, token if booking["status"] == Status.REQUESTED else None),
            approval_deadline=booking.get("approval_deadline"), room_number=booking.get("room_number"),
        ), correlation_id=booking["id"])

    def _carry_out(self, uow: UnitOfWork, booking: Booking, effect: Effect, reason: str, now: datetime,
                   refund: Decimal | None) -> None:
        bid, hotel = booking["id"], booking["hotel"]
        quote = quote_of(booking)
        if effect == Effect.REQUEST_CHECKOUT:
            assert quote is not None
            profile = profile_of(booking)
            uow.publish(RequestCheckout(
                booking_id=bid, hotel=hotel, hotel_name=profile.name, amount=quote.total,
                description=f"{profile.name}: {booking['room_type']}, {booking['check_in']} to {booking['check_out']}",
                customer_email=contact(booking).email, expires_at=booking["hold_expires_at"],
                return_url=self.portal_url(booking)), correlation_id=bid)
        elif effect == Effect.EXTEND_HOLD:
            expires = booking["approval_deadline"] + timedelta(minutes=self.settings.booking_hold_margin_minutes)
            booking["hold_expires_at"] = expires
            uow.publish(ExtendHold(booking_id=bid, hotel=hotel, expires_at=expires), correlation_id=bid)
        elif effect == Effect.CAPTURE_PAYMENT:
            uow.publish(CapturePayment(booking_id=bid), correlation_id=bid)
        elif effect == Effect.COMMIT_HOLD:
            uow.publish(CommitHold(booking_id=bid, hotel=hotel), correlation_id=bid)
        elif effect == Effect.VOID_PAYMENT:
            # An open Checkout is expired by payments; an authorisation stays AUTHORIZED until PaymentVoided.
            if booking["payment_status"] == "CHECKOUT_OPEN":
                booking["payment_status"] = "NONE"
            uow.publish(VoidPayment(booking_id=bid, reason=reason), correlation_id=bid)
        elif effect == Effect.RELEASE_HOLD:
            uow.publish(ReleaseHold(booking_id=bid, hotel=hotel, reason=reason), correlation_id=bid)
        elif effect == Effect.REFUND_LESS_FEE:
            if refund is not None and refund > 0 and quote is not None:
                uow.publish(RefundPayment(booking_id=bid, amount=Money.of(refund, quote.total.currency),
                                          reason=reason), correlation_id=bid)
        elif effect == Effect.REFUND_IN_FULL:
            if quote is not None:
                uow.publish(RefundPayment(booking_id=bid, amount=quote.total, reason=reason), correlation_id=bid)
