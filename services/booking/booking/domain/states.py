"""The booking state machine (SPEC §3): one table of ``(status, trigger) → (next status, effects)``.

Pure: no I/O. Handlers look a transition up here and carry out its effects (outbox messages);
a pair that is not in the table is refused (``409`` on HTTP, ignored with a log line on the bus).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    REQUESTED = "REQUESTED"
    PENDING_PAYMENT = "PENDING_PAYMENT"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    CONFIRMED = "CONFIRMED"
    DECLINED = "DECLINED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    UNAVAILABLE = "UNAVAILABLE"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    CHECKED_IN = "CHECKED_IN"
    CHECKED_OUT = "CHECKED_OUT"
    NO_SHOW = "NO_SHOW"


class PaymentState(StrEnum):
    """Booking's view of the money (payments owns the truth): moved only by the ``Booking`` aggregate."""
    NONE = "NONE"
    CHECKOUT_OPEN = "CHECKOUT_OPEN"
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"
    FAILED = "FAILED"
    REFUNDED = "REFUNDED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"


class Trigger(StrEnum):
    HOLD_PLACED = "HOLD_PLACED"
    HOLD_REFUSED = "HOLD_REFUSED"
    CHECKOUT_CREATED = "CHECKOUT_CREATED"
    PAYMENT_AUTHORIZED = "PAYMENT_AUTHORIZED"
    AUTHORIZATION_FAILED = "AUTHORIZATION_FAILED"
    AUTHORIZATION_MISMATCH = "AUTHORIZATION_MISMATCH"  # amount or currency differs from the quoted total
    APPROVE = "APPROVE"
    HOLD_COMMITTED = "HOLD_COMMITTED"  # inventory sold the rooms to an approved booking
    COMMIT_REFUSED = "COMMIT_REFUSED"  # approved, but the hold had lapsed and its rooms were taken
    DECLINE = "DECLINE"
    PAYMENT_CAPTURED = "PAYMENT_CAPTURED"
    CAPTURE_FAILED = "CAPTURE_FAILED"
    HOLD_LAPSED = "HOLD_LAPSED"  # our sweeper: hold_expires_at passed unpaid
    HOLD_EXPIRED = "HOLD_EXPIRED"  # inventory says the hold expired
    APPROVAL_LAPSED = "APPROVAL_LAPSED"
    CANCEL = "CANCEL"
    ASSIGN_ROOM = "ASSIGN_ROOM"
    CHECK_IN = "CHECK_IN"
    CHECK_OUT = "CHECK_OUT"
    NO_SHOW = "NO_SHOW"


class Effect(StrEnum):
    REQUEST_CHECKOUT = "REQUEST_CHECKOUT"
    EXTEND_HOLD = "EXTEND_HOLD"
    CAPTURE_PAYMENT = "CAPTURE_PAYMENT"
    COMMIT_HOLD = "COMMIT_HOLD"
    VOID_PAYMENT = "VOID_PAYMENT"
    RELEASE_HOLD = "RELEASE_HOLD"
    REFUND_LESS_FEE = "REFUND_LESS_FEE"
    REFUND_IN_FULL = "REFUND_IN_FULL"


@dataclass(frozen=True)
class Transition:
    next: Status
    effects: tuple[Effect, ...] = ()


class TransitionRefused(Exception):
    """The trigger does not apply to a booking in this status."""

    def __init__(self, status: Status, trigger: Trigger) -> None:
        super().__init__(f"{trigger} is not possible for a {status} booking")
        self.status = status
        self.trigger = trigger


S, T, E = Status, Trigger, Effect
TERMINAL = frozenset({S.DECLINED, S.CANCELLED, S.EXPIRED, S.UNAVAILABLE, S.PAYMENT_FAILED, S.CHECKED_OUT, S.NO_SHOW})
_UNCAPTURED = (S.REQUESTED, S.PENDING_PAYMENT, S.PENDING_APPROVAL)
# Where a late authorisation or capture finds a booking that is over: give the money back.
OVER_BEFORE_CAPTURE = frozenset({S.DECLINED, S.CANCELLED, S.EXPIRED, S.UNAVAILABLE, S.PAYMENT_FAILED})

# The hold's own expiry applies (the sweeper's HOLD_LAPSED); the guest has not paid yet.
AWAITING_PAYMENT = frozenset({S.REQUESTED, S.PENDING_PAYMENT})
# Waiting on payments or the desk, with rooms that must still be held.
WAITING = frozenset({S.PENDING_PAYMENT, S.PENDING_APPROVAL})
# The rooms were sold and the money taken.
SOLD = frozenset({S.CONFIRMED, S.CHECKED_IN, S.CHECKED_OUT, S.NO_SHOW})
# Sold and not over yet: the hold must be COMMITTED.
ROOMS_COMMITTED = frozenset({S.CONFIRMED, S.CHECKED_IN})
# The payment view once money was captured.
CAPTURED_OR_AFTER = frozenset({PaymentState.CAPTURED, PaymentState.REFUNDED, PaymentState.PARTIALLY_REFUNDED})

TABLE: dict[tuple[Status, Trigger], Transition] = {
    # the hold: the price is stored; the checkout is asked for, the status waits for its URL
    (S.REQUESTED, T.HOLD_PLACED): Transition(S.REQUESTED, (E.REQUEST_CHECKOUT,)),
    (S.REQUESTED, T.HOLD_REFUSED): Transition(S.UNAVAILABLE),
    (S.REQUESTED, T.CHECKOUT_CREATED): Transition(S.PENDING_PAYMENT),
    # authorisation (it may overtake CheckoutCreated on the bus)
    (S.REQUESTED, T.PAYMENT_AUTHORIZED): Transition(S.PENDING_APPROVAL, (E.EXTEND_HOLD,)),
    (S.PENDING_PAYMENT, T.PAYMENT_AUTHORIZED): Transition(S.PENDING_APPROVAL, (E.EXTEND_HOLD,)),
    (S.PENDING_PAYMENT, T.AUTHORIZATION_FAILED): Transition(S.PENDING_PAYMENT),
    (S.REQUESTED, T.AUTHORIZATION_MISMATCH): Transition(S.REQUESTED, (E.VOID_PAYMENT,)),
    (S.PENDING_PAYMENT, T.AUTHORIZATION_MISMATCH): Transition(S.PENDING_PAYMENT, (E.VOID_PAYMENT,)),
    # staff decision; approve keeps the status until the capture succeeds. The rooms are sold
    # (hold committed) before the card is captured, so money is never taken for rooms that are gone.
    (S.PENDING_APPROVAL, T.APPROVE): Transition(S.PENDING_APPROVAL, (E.COMMIT_HOLD,)),
    (S.PENDING_APPROVAL, T.HOLD_COMMITTED): Transition(S.PENDING_APPROVAL, (E.CAPTURE_PAYMENT,)),
    (S.PENDING_APPROVAL, T.COMMIT_REFUSED): Transition(S.UNAVAILABLE, (E.VOID_PAYMENT, E.RELEASE_HOLD)),
    (S.PENDING_APPROVAL, T.DECLINE): Transition(S.DECLINED, (E.VOID_PAYMENT, E.RELEASE_HOLD)),
    # COMMIT_HOLD again commits bookings approved by an older version (captured before their rooms
    # were sold); Booking.payment_captured leaves it out once HoldCommitted has come (rooms_committed)
    (S.PENDING_APPROVAL, T.PAYMENT_CAPTURED): Transition(S.CONFIRMED, (E.COMMIT_HOLD,)),
    # a capture that failed for good: the authorisation is voided (if still open), the rooms go back
    (S.PENDING_APPROVAL, T.CAPTURE_FAILED): Transition(S.PAYMENT_FAILED, (E.VOID_PAYMENT, E.RELEASE_HOLD)),
    (S.PENDING_APPROVAL, T.APPROVAL_LAPSED): Transition(S.EXPIRED, (E.VOID_PAYMENT, E.RELEASE_HOLD)),
    (S.PENDING_APPROVAL, T.HOLD_EXPIRED): Transition(S.EXPIRED, (E.VOID_PAYMENT, E.RELEASE_HOLD)),
    # unpaid holds run out (payments expires the open Checkout on VoidPayment)
    (S.REQUESTED, T.HOLD_LAPSED): Transition(S.EXPIRED, (E.VOID_PAYMENT, E.RELEASE_HOLD)),
    (S.PENDING_PAYMENT, T.HOLD_LAPSED): Transition(S.EXPIRED, (E.VOID_PAYMENT, E.RELEASE_HOLD)),
    (S.REQUESTED, T.HOLD_EXPIRED): Transition(S.EXPIRED, (E.VOID_PAYMENT, E.RELEASE_HOLD)),
    (S.PENDING_PAYMENT, T.HOLD_EXPIRED): Transition(S.EXPIRED, (E.VOID_PAYMENT, E.RELEASE_HOLD)),
    # cancellation: before capture void, after capture refund less the policy's fee
    **{(s, T.CANCEL): Transition(S.CANCELLED, (E.VOID_PAYMENT, E.RELEASE_HOLD)) for s in _UNCAPTURED},
    (S.CONFIRMED, T.CANCEL): Transition(S.CANCELLED, (E.REFUND_LESS_FEE, E.RELEASE_HOLD)),
    # the stay
    (S.CONFIRMED, T.ASSIGN_ROOM): Transition(S.CONFIRMED),
    (S.CHECKED_IN, T.ASSIGN_ROOM): Transition(S.CHECKED_IN),
    (S.CONFIRMED, T.CHECK_IN): Transition(S.CHECKED_IN),
    (S.CHECKED_IN, T.CHECK_OUT): Transition(S.CHECKED_OUT),
    (S.CONFIRMED, T.NO_SHOW): Transition(S.NO_SHOW),
    # compensation of late news: the booking stays as it is, the money or rooms go back
    **{(s, T.PAYMENT_AUTHORIZED): Transition(s, (E.VOID_PAYMENT,)) for s in OVER_BEFORE_CAPTURE},
    **{(s, T.PAYMENT_CAPTURED): Transition(s, (E.REFUND_IN_FULL,)) for s in OVER_BEFORE_CAPTURE},
    **{(s, T.HOLD_PLACED): Transition(s, (E.RELEASE_HOLD,)) for s in OVER_BEFORE_CAPTURE},
    **{(s, T.HOLD_COMMITTED): Transition(s, (E.RELEASE_HOLD,)) for s in OVER_BEFORE_CAPTURE},
}


def transition(status: Status | str, trigger: Trigger) -> Transition:
    """The transition for ``trigger`` in ``status``; raises :class:`TransitionRefused` if there is none."""
    status = Status(status)
    found = TABLE.get((status, trigger))
    if found is None:
        raise TransitionRefused(status, trigger)
    return found


def allows(status: Status | str, trigger: Trigger) -> bool:
    return (Status(status), trigger) in TABLE
