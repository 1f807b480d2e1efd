"""What a payment is and how Stripe's view of it moves it on. Pure Python, no I/O.

Every path that learns something from Stripe (a webhook, the answer to a capture or a void)
turns it into an :class:`IntentSnapshot` and calls :func:`observe_intent`, so one set of
monotonic rules gives the same end state whatever the order or number of observations.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Status(StrEnum):
    NONE = "NONE"
    CHECKOUT_OPEN = "CHECKOUT_OPEN"
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"
    REFUNDED = "REFUNDED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    FAILED = "FAILED"


UNPAID = {Status.NONE, Status.CHECKOUT_OPEN, Status.FAILED}
MONEY_TAKEN = {Status.CAPTURED, Status.REFUNDED, Status.PARTIALLY_REFUNDED}


class Announce(StrEnum):
    """What the bus must hear after an observation."""

    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"


@dataclass(frozen=True)
class PaymentState:
    status: Status
    amount_minor: int
    currency: str  # upper case, as the saga uses it
    closed: bool = False
    flagged: bool = False
    flag_reason: str | None = None
    captured_minor: int = 0
    refunded_minor: int = 0


@dataclass(frozen=True)
class IntentSnapshot:
    """The parts of a Stripe PaymentIntent the rules need."""

    status: str
    amount: int
    currency: str  # lower case, as Stripe sends it
    amount_received: int = 0
    amount_refunded: int | None = None


@dataclass(frozen=True)
class Outcome:
    state: PaymentState
    announce: list[Announce] = field(default_factory=list)
    void_needed: bool = False


def _flag(state: PaymentState, reason: str) -> PaymentState:
    return replace(state, flagged=True, flag_reason=state.flag_reason or reason)


def refund_status(state: PaymentState) -> PaymentState:
    """CAPTURED / PARTIALLY_REFUNDED / REFUNDED from the captured and refunded totals."""
    if state.status not in MONEY_TAKEN:
        return state
    if state.refunded_minor <= 0:
        return replace(state, status=Status.CAPTURED)
    full = state.refunded_minor >= state.captured_minor
    return replace(state, status=Status.REFUNDED if full else Status.PARTIALLY_REFUNDED)


def for_another_amount(state: PaymentState, intent: IntentSnapshot) -> bool:
    """An intent of another amount or currency than the booking's is never the payment's own."""
    return intent.amount != state.amount_minor or intent.currency.upper() != state.currency


def observe_intent(state: PaymentState, intent: IntentSnapshot) -> Outcome:
    """Apply what Stripe says about the PaymentIntent; never moves a payment backwards."""
    other_amount = for_another_amount(state, intent)
    if intent.status == "requires_capture":
        if other_amount:
            return Outcome(_flag(state, "authorisation amount or currency differs from the booking"),
                           void_needed=True)
        if state.closed:
            if state.status in MONEY_TAKEN:
                return Outcome(state)
            return Outcome(_flag(state, "authorisation after the payment was closed"), void_needed=True)
        if state.status in UNPAID:
            return Outcome(replace(state, status=Status.AUTHORIZED), [Announce.AUTHORIZED])
        return Outcome(state)
    if intent.status == "succeeded":
        announce: list[Announce] = []
        new = state
        if state.status not in MONEY_TAKEN:
            new = replace(state, status=Status.CAPTURED, captured_minor=intent.amount_received)
            announce.append(Announce.CAPTURED)
            if state.closed:
                new = _flag(new, "captured after the payment was closed")
        if intent.amount_refunded is not None:
            new = replace(new, refunded_minor=max(new.refunded_minor, intent.amount_refunded))
        return Outcome(refund_status(new), announce)
    if intent.status == "canceled":
        if other_amount:  # a stray authorisation we voided (its events may come after): not the payment's
            return Outcome(state)
        return observe_closed_unpaid(state)
    return Outcome(state)


def observe_stray_intent(state: PaymentState, intent: IntentSnapshot) -> Outcome:
    """A second PaymentIntent for a booking that already has one: never announced; voided if authorised."""
    if intent.status != "requires_capture":
        return Outcome(state)
    return Outcome(_flag(state, "a second authorisation for the booking"), void_needed=True)


def observe_closed_unpaid(state: PaymentState) -> Outcome:
    """The authorisation was cancelled or the Checkout Session lapsed unpaid."""
    if state.status in MONEY_TAKEN or state.status == Status.VOIDED:
        return Outcome(state)
    if state.closed:
        return Outcome(replace(state, status=Status.VOIDED), [Announce.VOIDED])
    return Outcome(replace(state, status=Status.FAILED))


def observe_refunds(state: PaymentState, amount_refunded: int) -> PaymentState:
    """A charge's running refunded total (``charge.refunded``), applied monotonically."""
    return refund_status(replace(state, refunded_minor=max(state.refunded_minor, amount_refunded)))


def short_ref(stripe_id: str | None) -> str | None:
    """``pi_3Nabc…wxyz`` → ``pi_…wxyz``: enough for staff to find it in Stripe, no more."""
    if not stripe_id:
        return None
    prefix, _, rest = stripe_id.partition("_")
    return f"{prefix}_…{rest[-4:]}" if rest else f"…{stripe_id[-4:]}"
