"""One handler per event booking hears from inventory and payments. Each runs in the consumer's
unit of work (with the inbox row): load and lock the booking, fire a transition of the table, done.
An event that no longer applies to the booking's status is logged and dropped, never retried.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from hotelmate_contracts import (
    CheckoutCreated, Envelope, HoldCommitted, HoldExpired, HoldPlaced, HoldRefused, PaymentAuthorized, PaymentCaptured,
    PaymentFailed, PaymentRefunded, PaymentVoided,
)
from hotelmate_platform.db import UnitOfWork

from .adapters import repository
from .adapters.repository import Booking
from .domain.policies import approval_deadline
from .domain.states import Status, Trigger, allows
from .settings import BookingSettings
from .transitions import Transitions, profile_of, quote_of

log = logging.getLogger(__name__)
CAPTURED_OR_AFTER = ("CAPTURED", "REFUNDED", "PARTIALLY_REFUNDED")


def now() -> datetime:
    return datetime.now(timezone.utc)


class SagaHandlers:
    def __init__(self, settings: BookingSettings) -> None:
        self.transitions = Transitions(settings)
        self.authorisation_max_age = timedelta(hours=settings.booking_authorisation_max_hours)

    def mapping(self) -> dict:
        return {
            HoldPlaced: self.hold_placed, HoldRefused: self.hold_refused, HoldExpired: self.hold_expired,
            HoldCommitted: self.hold_committed,
            CheckoutCreated: self.checkout_created, PaymentAuthorized: self.payment_authorized,
            PaymentFailed: self.payment_failed, PaymentCaptured: self.payment_captured,
            PaymentVoided: self.payment_voided, PaymentRefunded: self.payment_refunded,
        }

    async def _load(self, uow: UnitOfWork, booking_id: str, trigger: Trigger | None) -> Booking | None:
        booking = await repository.load(uow.session, booking_id, for_update=True)
        if booking is None:
            log.warning("event for unknown booking %s ignored", booking_id)
            return None
        if trigger is not None and not allows(booking["status"], trigger):
            log.info("%s ignored: booking %s is %s", trigger, booking_id, booking["status"])
            return None
        return booking

    async def _note(self, uow: UnitOfWork, booking: Booking, actor: str, reason: str, changes: dict | None = None) -> None:
        if changes:
            await repository.update(uow.session, booking["id"], changes)
        await repository.add_timeline(uow.session, booking["id"], booking["status"], booking["status"], actor, reason)

    async def hold_placed(self, uow: UnitOfWork, msg: HoldPlaced, envelope: Envelope) -> None:
        booking = await self._load(uow, msg.booking_id, Trigger.HOLD_PLACED)
        if booking is None:
            return
        changes = {}
        if booking["status"] == Status.REQUESTED:  # the quote of the hold is the amount charged
            changes = {"quote": msg.quote.model_dump(mode="json"), "hold_expires_at": msg.expires_at,
                       "hotel_profile": msg.hotel_profile.model_dump(mode="json")}
        await self.transitions.fire(uow, booking, Trigger.HOLD_PLACED, actor="system", now=now(),
                                    reason="rooms held", changes=changes)

    async def hold_refused(self, uow: UnitOfWork, msg: HoldRefused, envelope: Envelope) -> None:
        booking = await self._load(uow, msg.booking_id, Trigger.HOLD_REFUSED)
        if booking is not None:
            await self.transitions.fire(uow, booking, Trigger.HOLD_REFUSED, actor="system", now=now(),
                                        reason=f"hold refused: {msg.reason} {msg.detail}".strip()[:500])

    async def hold_expired(self, uow: UnitOfWork, msg: HoldExpired, envelope: Envelope) -> None:
        booking = await self._load(uow, msg.booking_id, Trigger.HOLD_EXPIRED)
        if booking is None:
            return
        if booking["decision"] == "APPROVED":
            # the answer to CommitHold: the hold lapsed and its rooms went to someone else
            await self.transitions.fire(uow, booking, Trigger.COMMIT_REFUSED, actor="system", now=now(),
                                        reason="approved, but the rooms were no longer available "
                                               "(the hold had lapsed and was taken); authorisation voided")
            return
        await self.transitions.fire(uow, booking, Trigger.HOLD_EXPIRED, actor="system", now=now(),
                                    reason="hold expired")

    async def hold_committed(self, uow: UnitOfWork, msg: HoldCommitted, envelope: Envelope) -> None:
        booking = await self._load(uow, msg.booking_id, Trigger.HOLD_COMMITTED)
        if booking is None:
            return
        if booking["status"] == Status.PENDING_APPROVAL and booking["decision"] != "APPROVED":
            log.warning("rooms of %s committed without an approval; ignored", booking["id"])
            return
        await self.transitions.fire(uow, booking, Trigger.HOLD_COMMITTED, actor="system", now=now(),
                                    reason="rooms sold" if booking["status"] == Status.PENDING_APPROVAL
                                    else f"rooms committed to a {booking['status']} booking released")

    async def checkout_created(self, uow: UnitOfWork, msg: CheckoutCreated, envelope: Envelope) -> None:
        booking = await self._load(uow, msg.booking_id, None)
        if booking is None:
            return
        if allows(booking["status"], Trigger.CHECKOUT_CREATED):
            await self.transitions.fire(uow, booking, Trigger.CHECKOUT_CREATED, actor="system", now=now(),
                                        reason="checkout open", changes={"checkout_url": msg.checkout_url,
                                                                         "payment_status": "CHECKOUT_OPEN"})
        elif booking["status"] == Status.PENDING_APPROVAL and not booking["checkout_url"]:
            await repository.update(uow.session, booking["id"], {"checkout_url": msg.checkout_url})

    async def payment_authorized(self, uow: UnitOfWork, msg: PaymentAuthorized, envelope: Envelope) -> None:
        booking = await self._load(uow, msg.booking_id, Trigger.PAYMENT_AUTHORIZED)
        if booking is None:
            return
        if booking["status"] not in (Status.REQUESTED, Status.PENDING_PAYMENT):
            # the booking is over: the authorisation is voided, the booking stays as it is
            await self.transitions.fire(uow, booking, Trigger.PAYMENT_AUTHORIZED, actor="stripe", now=now(),
                                        reason=f"late authorisation voided (booking {booking['status']})",
                                        changes={"payment_status": "AUTHORIZED"})
            return
        quote = quote_of(booking)
        if quote is not None and (msg.amount.currency, msg.amount.amount) != (quote.total.currency, quote.total.amount):
            # SPEC §4.5: never accept a different amount; void it, the guest can still pay the right one
            await self.transitions.fire(uow, booking, Trigger.AUTHORIZATION_MISMATCH, actor="stripe", now=now(),
                                        reason=f"authorised {msg.amount.amount} {msg.amount.currency} "
                                               f"is not the total; voided")
            return
        at = now()
        deadline = approval_deadline(at, msg.authorized_at, profile_of(booking).approval_hours,
                                     self.authorisation_max_age)
        await self.transitions.fire(uow, booking, Trigger.PAYMENT_AUTHORIZED, actor="stripe", now=at,
                                    reason="card authorised",
                                    changes={"approval_deadline": deadline, "payment_status": "AUTHORIZED"})

    async def payment_failed(self, uow: UnitOfWork, msg: PaymentFailed, envelope: Envelope) -> None:
        if msg.stage == "CAPTURE":
            booking = await self._load(uow, msg.booking_id, Trigger.CAPTURE_FAILED)
            if booking is not None:
                await self.transitions.fire(uow, booking, Trigger.CAPTURE_FAILED, actor="stripe", now=now(),
                                            reason=f"capture failed: {msg.reason}"[:500],
                                            changes={"payment_status": "FAILED"})
            return
        booking = await self._load(uow, msg.booking_id, None)
        if booking is None:
            return
        reason = f"payment {msg.stage.lower()} failed: {msg.reason}"[:500]
        if msg.stage == "AUTHORIZATION" and allows(booking["status"], Trigger.AUTHORIZATION_FAILED):
            # the guest may try another card; the hold expiry still applies
            await self.transitions.fire(uow, booking, Trigger.AUTHORIZATION_FAILED, actor="stripe", now=now(),
                                        reason=reason)
        else:
            await self._note(uow, booking, "stripe", reason)

    async def payment_captured(self, uow: UnitOfWork, msg: PaymentCaptured, envelope: Envelope) -> None:
        booking = await self._load(uow, msg.booking_id, Trigger.PAYMENT_CAPTURED)
        if booking is None:
            return
        if booking["status"] != Status.PENDING_APPROVAL and booking["payment_status"] in CAPTURED_OR_AFTER:
            log.info("repeated capture of %s ignored", booking["id"])
            return
        await self.transitions.fire(uow, booking, Trigger.PAYMENT_CAPTURED, actor="stripe", now=now(),
                                    reason="payment captured", changes={"payment_status": "CAPTURED"})

    async def payment_voided(self, uow: UnitOfWork, msg: PaymentVoided, envelope: Envelope) -> None:
        booking = await self._load(uow, msg.booking_id, None)
        if booking is None:
            return
        changes = {"payment_status": "VOIDED"} if booking["payment_status"] == "AUTHORIZED" else {}
        # after a failed capture the payment stays FAILED for the guest; the note says what was released
        voided = changes or booking["payment_status"] == "FAILED"
        await self._note(uow, booking, "stripe", "authorisation voided" if voided else "checkout closed", changes)

    async def payment_refunded(self, uow: UnitOfWork, msg: PaymentRefunded, envelope: Envelope) -> None:
        booking = await self._load(uow, msg.booking_id, None)
        if booking is None:
            return
        quote = quote_of(booking)
        full = msg.fully_refunded or (quote is not None and msg.amount.amount >= quote.total.amount)
        status = "REFUNDED" if full else "PARTIALLY_REFUNDED"
        await self._note(uow, booking, "stripe", f"refunded {msg.amount.amount} {msg.amount.currency}",
                         {"payment_status": status})
