"""Carrying out what the ``Booking`` aggregate decided: store its changes, write the timeline line,
add the outbox messages of its effects and announce a status change, all in the caller's unit of work
(so the change and the messages it causes commit together)."""

from __future__ import annotations

import logging

from hotelmate_contracts import (
    BookingStatusChanged, CapturePayment, CommitHold, ExtendHold, Money, RefundPayment, ReleaseHold, RequestCheckout,
    VoidPayment,
)
from hotelmate_platform.db import UnitOfWork

from .adapters import repository
from .domain.booking import Booking, Outcome
from .domain.states import Effect
from .settings import BookingSettings

log = logging.getLogger(__name__)


class BookingOutbox:
    """Saves a booking and publishes what its outcome asks for."""

    def __init__(self, settings: BookingSettings) -> None:
        self.settings = settings

    def portal_url(self, booking: Booking) -> str:
        # Never with the guest token: notifications asks booking for a link token at send time
        # (docs/SECURITY.md), so no clear token sits in the outbox, on the bus or in a dead letter.
        return f"{self.settings.public_base_url.rstrip('/')}/book/{booking.hotel}/bookings/{booking.id}"

    async def save(self, uow: UnitOfWork, booking: Booking, outcome: Outcome | None, *, actor: str) -> None:
        """Store the booking's changes; with an outcome, its timeline line, effects and announcement."""
        changes = booking.take_changes()
        if changes:
            await repository.update(uow.session, booking.id, changes)
        if outcome is None:
            return
        for effect in outcome.effects:
            self._publish_effect(uow, booking, effect, outcome)
        await repository.add_timeline(uow.session, booking.id, outcome.before.value, outcome.after.value, actor,
                                      outcome.note)
        if outcome.status_changed:
            self.announce(uow, booking, outcome.before.value, actor=actor, reason=outcome.reason)
        if outcome.trigger is not None:
            log.info("booking %s %s: %s -> %s by %s", booking.id, outcome.trigger, outcome.before, outcome.after,
                     actor)

    def announce(self, uow: UnitOfWork, booking: Booking, before: str | None, *, actor: str,
                 reason: str | None) -> None:
        """BookingStatusChanged: what notifications need to tell guest and staff."""
        quote = booking.quote
        cancellation = booking.get("cancellation") or {}
        currency = quote.total.currency if quote else booking.profile.currency
        money = lambda key: Money.of(cancellation[key], currency) if key in cancellation else None  # noqa: E731
        uow.publish(BookingStatusChanged(
            booking_id=booking.id, hotel=booking.hotel, hotel_profile=booking.profile,
            from_status=before, to_status=booking.status.value, reason=reason, actor=actor, guest=booking.contact,
            room_type=booking["room_type"], check_in=booking["check_in"], check_out=booking["check_out"],
            total=quote.total if quote else None, fee=money("fee"), refund=money("refund"),
            portal_url=self.portal_url(booking),
            approval_deadline=booking.get("approval_deadline"), room_number=booking.get("room_number"),
        ), correlation_id=booking.id)

    def _publish_effect(self, uow: UnitOfWork, booking: Booking, effect: Effect, outcome: Outcome) -> None:
        bid, hotel, reason = booking.id, booking.hotel, outcome.note
        quote = booking.quote
        if effect == Effect.REQUEST_CHECKOUT:
            assert quote is not None
            profile = booking.profile
            uow.publish(RequestCheckout(
                booking_id=bid, hotel=hotel, hotel_name=profile.name, amount=quote.total,
                description=f"{profile.name}: {booking['room_type']}, {booking['check_in']} to {booking['check_out']}",
                customer_email=booking.contact.email, expires_at=booking["hold_expires_at"],
                return_url=self.portal_url(booking)), correlation_id=bid)
        elif effect == Effect.EXTEND_HOLD:
            uow.publish(ExtendHold(booking_id=bid, hotel=hotel, expires_at=booking["hold_expires_at"]),
                        correlation_id=bid)
        elif effect == Effect.CAPTURE_PAYMENT:
            uow.publish(CapturePayment(booking_id=bid), correlation_id=bid)
        elif effect == Effect.COMMIT_HOLD:
            uow.publish(CommitHold(booking_id=bid, hotel=hotel), correlation_id=bid)
        elif effect == Effect.VOID_PAYMENT:
            uow.publish(VoidPayment(booking_id=bid, reason=reason), correlation_id=bid)
        elif effect == Effect.RELEASE_HOLD:
            uow.publish(ReleaseHold(booking_id=bid, hotel=hotel, reason=reason), correlation_id=bid)
        elif effect == Effect.REFUND_LESS_FEE:
            refund = outcome.refund
            if refund is not None and refund > 0 and quote is not None:
                uow.publish(RefundPayment(booking_id=bid, amount=Money.of(refund, quote.total.currency),
                                          reason=reason), correlation_id=bid)
        elif effect == Effect.REFUND_IN_FULL:
            if quote is not None:
                uow.publish(RefundPayment(booking_id=bid, amount=quote.total, reason=reason), correlation_id=bid)
