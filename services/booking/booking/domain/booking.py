"""The ``Booking`` aggregate: status, payment state, guards and deadlines of one booking.

Pure: no I/O. Handlers, commands and the sweeper load a booking, call one method, then save what it
changed (:attr:`Booking.changes`) and carry out the :class:`Outcome` it returned (timeline line,
outbox messages). Every status change goes through the transition table (``states.TABLE``); the
payment state is moved here only. A method answers ``None`` when the news no longer applies (the
caller logs and drops it), raises :class:`TransitionRefused` when the table has no such transition,
and :class:`BookingConflict` when a guard refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hotelmate_contracts import GuestContact, HotelProfile, Money, Quote

from .model import hotel_today
from .policies import CancellationTerms, approval_deadline, cancellation_terms
from .states import (
    AWAITING_PAYMENT, CAPTURED_OR_AFTER, Effect, PaymentState, Status, Transition, TransitionRefused, Trigger, allows,
    transition,
)

__all__ = ["Booking", "BookingConflict", "Outcome", "TransitionRefused", "contact", "profile_of", "quote_of"]

Row = dict[str, Any]  # a bookings row plus "party": its party rows


class BookingConflict(Exception):
    """A guard refused the request (HTTP 409); the message says why, for the caller."""


@dataclass(frozen=True)
class Outcome:
    """What one call decided: a transition of the table, or a note on the timeline (``trigger`` None)."""

    before: Status
    after: Status
    note: str  # the timeline's reason, and the reason given with the effects' messages
    reason: str | None  # the reason announced with a status change
    trigger: Trigger | None = None
    effects: tuple[Effect, ...] = ()
    refund: Decimal | None = None  # REFUND_LESS_FEE: what goes back to the guest

    @property
    def status_changed(self) -> bool:
        return self.before != self.after


def quote_of(row: Row) -> Quote | None:
    """The price the hold quoted (the amount charged); ``None`` before the hold is placed."""
    return Quote.model_validate(row["quote"]) if row.get("quote") else None


def profile_of(row: Row) -> HotelProfile:
    return HotelProfile.model_validate(row["hotel_profile"])


def primary_guest(row: Row) -> dict:
    return next(m for m in row["party"] if m["role"] == "PRIMARY")


def contact(row: Row) -> GuestContact:
    """Who messages go to: the PRIMARY guest, with the booker's email when the guest gave none."""
    guest = primary_guest(row)
    booker = next((m for m in row["party"] if m["is_booker"]), guest)
    return GuestContact(first_name=guest["first_name"], last_name=guest["last_name"],
                        email=guest["email"] or booker["email"] or "")


class Booking:
    """One booking, over the row it was loaded from (``row``, kept current for the views)."""

    def __init__(self, row: Row) -> None:
        self.row = row
        self.changes: dict[str, Any] = {}  # columns changed since loaded (or since the last save)

    # --- what it is ---------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def hotel(self) -> str:
        return self.row["hotel"]

    @property
    def status(self) -> Status:
        return Status(self.row["status"])

    @property
    def payment(self) -> PaymentState:
        return PaymentState(self.row["payment_status"])

    @property
    def decision(self) -> str | None:
        return self.row.get("decision")

    @property
    def quote(self) -> Quote | None:
        return quote_of(self.row)

    @property
    def profile(self) -> HotelProfile:
        return profile_of(self.row)

    @property
    def contact(self) -> GuestContact:
        return contact(self.row)

    def __getitem__(self, column: str) -> Any:
        return self.row[column]

    def get(self, column: str, default: Any = None) -> Any:
        return self.row.get(column, default)

    def allows(self, trigger: Trigger) -> bool:
        return allows(self.status, trigger)

    def take_changes(self) -> dict[str, Any]:
        """The changed columns, for the repository; cleared once taken."""
        changes, self.changes = self.changes, {}
        return changes

    # --- news from inventory and payments -----------------------------------------------------

    def hold_placed(self, quote: Quote, expires_at: datetime, profile: HotelProfile) -> Outcome | None:
        if not self.allows(Trigger.HOLD_PLACED):
            return None
        values = {}
        if self.status == Status.REQUESTED:  # the quote of the hold is the amount charged
            values = {"quote": quote.model_dump(mode="json"), "hold_expires_at": expires_at,
                      "hotel_profile": profile.model_dump(mode="json")}
        return self._fire(Trigger.HOLD_PLACED, "rooms held", **values)

    def hold_refused(self, reason: str, detail: str = "") -> Outcome | None:
        if not self.allows(Trigger.HOLD_REFUSED):
            return None
        return self._fire(Trigger.HOLD_REFUSED, f"hold refused: {reason} {detail}".strip()[:500])

    def hold_expired(self) -> Outcome | None:
        if not self.allows(Trigger.HOLD_EXPIRED):
            return None
        if self.decision == "APPROVED":
            # the answer to CommitHold: the hold lapsed and its rooms went to someone else
            return self._fire(Trigger.COMMIT_REFUSED, "approved, but the rooms were no longer available "
                                                      "(the hold had lapsed and was taken); authorisation voided")
        return self._fire(Trigger.HOLD_EXPIRED, "hold expired")

    def hold_committed(self) -> Outcome | None:
        if not self.allows(Trigger.HOLD_COMMITTED):
            return None
        if self.status == Status.PENDING_APPROVAL and self.decision != "APPROVED":
            return None  # rooms committed without an approval
        if self.status == Status.PENDING_APPROVAL:
            return self._fire(Trigger.HOLD_COMMITTED, "rooms sold", rooms_committed=True)
        return self._fire(Trigger.HOLD_COMMITTED, f"rooms committed to a {self.status} booking released")

    def checkout_created(self, checkout_url: str) -> Outcome | None:
        if self.allows(Trigger.CHECKOUT_CREATED):
            return self._fire(Trigger.CHECKOUT_CREATED, "checkout open", checkout_url=checkout_url,
                              payment_status=PaymentState.CHECKOUT_OPEN.value)
        if self.status == Status.PENDING_APPROVAL and not self.row["checkout_url"]:
            self._set(checkout_url=checkout_url)  # the authorisation overtook it: keep the link, no news
        return None

    def payment_authorized(self, amount: Money, authorized_at: datetime, *, now: datetime,
                           authorisation_max_age: timedelta, hold_margin: timedelta) -> Outcome | None:
        if not self.allows(Trigger.PAYMENT_AUTHORIZED):
            return None
        if self.status not in AWAITING_PAYMENT:
            # the booking is over: the authorisation is voided, the booking stays as it is
            return self._fire(Trigger.PAYMENT_AUTHORIZED, f"late authorisation voided (booking {self.status})",
                              payment_status=PaymentState.AUTHORIZED.value)
        quote = self.quote
        if quote is not None and (amount.currency, amount.amount) != (quote.total.currency, quote.total.amount):
            # SPEC §4.5: never accept a different amount; void it, the guest can still pay the right one
            return self._fire(Trigger.AUTHORIZATION_MISMATCH,
                              f"authorised {amount.amount} {amount.currency} is not the total; voided")
        deadline = approval_deadline(now, authorized_at, self.profile.approval_hours, authorisation_max_age)
        return self._fire(Trigger.PAYMENT_AUTHORIZED, "card authorised", hold_margin=hold_margin,
                          approval_deadline=deadline, payment_status=PaymentState.AUTHORIZED.value)

    def payment_failed(self, stage: str, reason: str) -> Outcome | None:
        if stage == "CAPTURE":
            if not self.allows(Trigger.CAPTURE_FAILED):
                return None
            return self._fire(Trigger.CAPTURE_FAILED, f"capture failed: {reason}"[:500],
                              payment_status=PaymentState.FAILED.value)
        note = f"payment {stage.lower()} failed: {reason}"[:500]
        if stage == "AUTHORIZATION" and self.allows(Trigger.AUTHORIZATION_FAILED):
            return self._fire(Trigger.AUTHORIZATION_FAILED, note)  # another card may be tried; the hold still runs
        return self._note(note)

    def payment_captured(self) -> Outcome | None:
        if not self.allows(Trigger.PAYMENT_CAPTURED):
            return None
        if self.status != Status.PENDING_APPROVAL and self.payment in CAPTURED_OR_AFTER:
            return None  # a repeated capture
        committed = bool(self.row.get("rooms_committed"))
        outcome = self._fire(Trigger.PAYMENT_CAPTURED, "payment captured", payment_status=PaymentState.CAPTURED.value)
        if committed:  # the rooms are sold already: no second CommitHold (and HoldCommitted) per booking
            outcome = replace(outcome, effects=tuple(e for e in outcome.effects if e != Effect.COMMIT_HOLD))
        return outcome

    def payment_voided(self) -> Outcome:
        # after a failed capture the payment stays FAILED for the guest; the note says what was released
        voided = self.payment in (PaymentState.AUTHORIZED, PaymentState.FAILED)
        if self.payment == PaymentState.AUTHORIZED:
            self._set(payment_status=PaymentState.VOIDED.value)
        return self._note("authorisation voided" if voided else "checkout closed")

    def payment_refunded(self, amount: Money, *, fully_refunded: bool) -> Outcome:
        quote = self.quote
        full = fully_refunded or (quote is not None and amount.amount >= quote.total.amount)
        self._set(payment_status=(PaymentState.REFUNDED if full else PaymentState.PARTIALLY_REFUNDED).value)
        return self._note(f"refunded {amount.amount} {amount.currency}")

    # --- what guests and staff ask ------------------------------------------------------------

    def decide(self, decision: str, staff_id: str, *, now: datetime, reason_code: str | None = None,
               note: str | None = None) -> Outcome | None:
        """Approve or decline (``decision`` APPROVED or DECLINED): the same decision again is ``None``."""
        if self.decision == decision:
            return None
        if self.decision is not None:
            raise BookingConflict(f"This booking was already {self.decision.lower()}.")
        record = {"decision": decision, "by": staff_id, "at": now.isoformat(), "reason_code": reason_code,
                  "note": note}
        if decision == "APPROVED":
            return self._fire(Trigger.APPROVE, "approved", decision=decision, decision_json=record)
        return self._fire(Trigger.DECLINE, f"declined: {reason_code}", decision=decision, decision_json=record)

    def cancellation_terms(self, *, now: datetime, waive_fee: bool = False) -> CancellationTerms:
        quote = self.quote
        if quote is None:  # no price yet: nothing charged, nothing to refund
            return CancellationTerms(Decimal(0), Decimal(0), None)
        profile = self.profile
        return cancellation_terms(quote, now=now, check_in_time=profile.check_in_time, timezone=profile.timezone,
                                  captured=self.status == Status.CONFIRMED, waive_fee=waive_fee)

    def ensure_cancellable(self) -> None:
        if self.status == Status.PENDING_APPROVAL and self.decision == "APPROVED":
            raise BookingConflict("The payment is being captured; cancel once the booking is confirmed.")
        if not self.allows(Trigger.CANCEL):
            raise BookingConflict(f"A {self.status} booking cannot be cancelled.")

    def cancel(self, actor: str, reason: str, *, now: datetime, waive_fee: bool = False) -> Outcome | None:
        """Cancel under the policy's terms; cancelling twice is ``None``."""
        if self.status == Status.CANCELLED:
            return None
        self.ensure_cancellable()
        terms = self.cancellation_terms(now=now, waive_fee=waive_fee)
        record = {"at": now.isoformat(), "by": actor, "reason": reason, "fee": str(terms.fee),
                  "refund": str(terms.refund), "fee_waived": waive_fee}
        return self._fire(Trigger.CANCEL, f"cancelled: {reason}", refund=terms.refund, cancellation=record)

    def stay(self, trigger: Trigger, *, now: datetime) -> Outcome:
        """CHECK_IN, CHECK_OUT or NO_SHOW."""
        if trigger in (Trigger.CHECK_IN, Trigger.NO_SHOW) and self.allows(trigger):
            if hotel_today(now, self.profile.timezone) < self.row["check_in"]:
                raise BookingConflict("Not before the arrival date (hotel time).")
            if trigger == Trigger.CHECK_IN and not self.row["room_number"]:
                raise BookingConflict("Assign a room before check-in.")
        return self._fire(trigger, trigger.value.lower().replace("_", "-"))

    def ensure_assignable(self) -> None:
        if not self.allows(Trigger.ASSIGN_ROOM):
            raise BookingConflict(f"Rooms are assigned to CONFIRMED or CHECKED_IN bookings, not {self.status}.")

    def assign_room(self, room_number: str | None) -> Outcome:
        """Record the room inventory assigned (``None``: unassigned)."""
        self.ensure_assignable()
        self._set(room_number=room_number)
        return self._note(f"room {room_number} assigned" if room_number else "room unassigned")

    # --- deadlines (the sweeper) --------------------------------------------------------------

    def lapse_hold(self) -> Outcome:
        return self._fire(Trigger.HOLD_LAPSED, "hold expired unpaid")

    def lapse_approval(self) -> Outcome:
        return self._fire(Trigger.APPROVAL_LAPSED, "approval deadline lapsed")

    def deadline_warned(self, now: datetime) -> None:
        self._set(deadline_warned_at=now)

    # --- the machinery ------------------------------------------------------------------------

    def _set(self, **values: Any) -> None:
        self.row.update(values)
        self.changes.update(values)

    def _note(self, note: str) -> Outcome:
        return Outcome(self.status, self.status, note, note)

    def _fire(self, trigger: Trigger, reason: str, *, refund: Decimal | None = None,
              hold_margin: timedelta | None = None, **values: Any) -> Outcome:
        found: Transition = transition(self.status, trigger)  # raises TransitionRefused
        before = self.status
        self._set(status=found.next.value, **values)
        for effect in found.effects:
            if effect == Effect.VOID_PAYMENT and self.payment == PaymentState.CHECKOUT_OPEN:
                # an open Checkout is expired by payments; an authorisation stays until PaymentVoided
                self._set(payment_status=PaymentState.NONE.value)
            elif effect == Effect.EXTEND_HOLD:
                assert hold_margin is not None, "EXTEND_HOLD needs the hold margin"
                self._set(hold_expires_at=self.row["approval_deadline"] + hold_margin)
        return Outcome(before, found.next, reason, reason, trigger, found.effects, refund)
