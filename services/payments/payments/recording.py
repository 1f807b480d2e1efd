"""Writing what Stripe said into a locked payment row, and telling the bus. Runs inside a unit of work."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from hotelmate_contracts import Money
from hotelmate_contracts.money import from_minor
from hotelmate_contracts.saga import PaymentAuthorized, PaymentCaptured, PaymentVoided
from hotelmate_platform.db import UnitOfWork

from .adapters import repository as repo
from .domain.model import Announce, Outcome

log = logging.getLogger(__name__)


def money(minor: int, currency: str) -> Money:
    return Money.of(from_minor(minor, currency), currency)


async def apply_outcome(uow: UnitOfWork, row: dict, outcome: Outcome, *, intent_id: str | None = None,
                        **fields) -> None:
    """Save ``outcome`` for the payment ``row`` (locked by the caller), arm a void, publish announcements.

    An authorisation that must not stand (``void_needed``) is cancelled by its own operation, keyed
    by its PaymentIntent, and never becomes the payment's intent."""
    state = outcome.state
    booking_id = row["booking_id"]
    if Announce.AUTHORIZED in outcome.announce:
        fields["authorized_at"] = datetime.now(timezone.utc)
    if state.flagged and not row["flagged"]:
        log.warning("payment %s flagged: %s", booking_id, state.flag_reason)
    await repo.update_payment(uow.session, booking_id, state, **fields)
    if outcome.void_needed:
        log.warning("payment %s: voiding an authorisation that must not stand", booking_id)
        if intent_id:
            await repo.add_operation(uow.session, booking_id, f"void-intent:{intent_id}", "VOID", reason=intent_id)
        else:
            await repo.arm_void(uow.session, booking_id, state.flag_reason or "void")
        uow.wake(repo.OPERATIONS_DUE)
    for what in outcome.announce:
        if what is Announce.AUTHORIZED:
            uow.publish(PaymentAuthorized(booking_id=booking_id, amount=money(state.amount_minor, state.currency),
                                          authorized_at=fields["authorized_at"]))
        elif what is Announce.CAPTURED:
            uow.publish(PaymentCaptured(booking_id=booking_id, amount=money(state.captured_minor, state.currency)))
        elif what is Announce.VOIDED:
            uow.publish(PaymentVoided(booking_id=booking_id, reason=row["close_reason"] or "voided"))
        log.info("payment %s %s", booking_id, what.value.lower())
