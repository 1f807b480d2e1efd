"""One handler per event booking hears from inventory and payments. Each runs in the consumer's
unit of work (with the inbox row): load and lock the booking, ask the ``Booking`` aggregate, save
what it decided. An event that no longer applies to the booking is logged and dropped, never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from hotelmate_contracts import (
    CheckoutCreated, Envelope, HoldCommitted, HoldExpired, HoldPlaced, HoldRefused, PaymentAuthorized, PaymentCaptured,
    PaymentFailed, PaymentRefunded, PaymentVoided,
)
from hotelmate_platform.db import UnitOfWork

from .adapters import repository
from .domain.booking import Booking, Outcome
from .outcomes import BookingOutbox
from .settings import BookingSettings

log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(timezone.utc)


class SagaHandlers:
    def __init__(self, settings: BookingSettings) -> None:
        self.outbox = BookingOutbox(settings)
        self.authorisation_max_age = timedelta(hours=settings.booking_authorisation_max_hours)
        self.hold_margin = timedelta(minutes=settings.booking_hold_margin_minutes)

    def mapping(self) -> dict:
        return {
            HoldPlaced: self.hold_placed, HoldRefused: self.hold_refused, HoldExpired: self.hold_expired,
            HoldCommitted: self.hold_committed,
            CheckoutCreated: self.checkout_created, PaymentAuthorized: self.payment_authorized,
            PaymentFailed: self.payment_failed, PaymentCaptured: self.payment_captured,
            PaymentVoided: self.payment_voided, PaymentRefunded: self.payment_refunded,
        }

    async def _apply(self, uow: UnitOfWork, msg, actor: str, decide: Callable[[Booking], Outcome | None]) -> None:
        """Load and lock the booking of ``msg``, let ``decide`` call the aggregate, save the result."""
        row = await repository.load(uow.session, msg.booking_id, for_update=True)
        if row is None:
            log.warning("event for unknown booking %s ignored", msg.booking_id)
            return
        booking = Booking(row)
        outcome = decide(booking)
        if outcome is None and not booking.changes:
            log.info("%s ignored: booking %s is %s", type(msg).__name__, booking.id, booking.status)
            return
        await self.outbox.save(uow, booking, outcome, actor=actor)

    async def hold_placed(self, uow: UnitOfWork, msg: HoldPlaced, envelope: Envelope) -> None:
        await self._apply(uow, msg, "system", lambda b: b.hold_placed(msg.quote, msg.expires_at, msg.hotel_profile))

    async def hold_refused(self, uow: UnitOfWork, msg: HoldRefused, envelope: Envelope) -> None:
        await self._apply(uow, msg, "system", lambda b: b.hold_refused(msg.reason, msg.detail))

    async def hold_expired(self, uow: UnitOfWork, msg: HoldExpired, envelope: Envelope) -> None:
        await self._apply(uow, msg, "system", lambda b: b.hold_expired())

    async def hold_committed(self, uow: UnitOfWork, msg: HoldCommitted, envelope: Envelope) -> None:
        await self._apply(uow, msg, "system", lambda b: b.hold_committed())

    async def checkout_created(self, uow: UnitOfWork, msg: CheckoutCreated, envelope: Envelope) -> None:
        await self._apply(uow, msg, "system", lambda b: b.checkout_created(msg.checkout_url))

    async def payment_authorized(self, uow: UnitOfWork, msg: PaymentAuthorized, envelope: Envelope) -> None:
        await self._apply(uow, msg, "stripe", lambda b: b.payment_authorized(
            msg.amount, msg.authorized_at, now=now(), authorisation_max_age=self.authorisation_max_age,
            hold_margin=self.hold_margin))

    async def payment_failed(self, uow: UnitOfWork, msg: PaymentFailed, envelope: Envelope) -> None:
        await self._apply(uow, msg, "stripe", lambda b: b.payment_failed(msg.stage, msg.reason))

    async def payment_captured(self, uow: UnitOfWork, msg: PaymentCaptured, envelope: Envelope) -> None:
        await self._apply(uow, msg, "stripe", lambda b: b.payment_captured())

    async def payment_voided(self, uow: UnitOfWork, msg: PaymentVoided, envelope: Envelope) -> None:
        await self._apply(uow, msg, "stripe", lambda b: b.payment_voided())

    async def payment_refunded(self, uow: UnitOfWork, msg: PaymentRefunded, envelope: Envelope) -> None:
        await self._apply(uow, msg, "stripe", lambda b: b.payment_refunded(msg.amount,
                                                                           fully_refunded=msg.fully_refunded))
