"""Saga commands. Each only records a durable operation in the consumer's unit of work; the
operation worker (``operations.py``) makes the Stripe call after the transaction has committed."""

from __future__ import annotations

import logging

from hotelmate_contracts import Envelope
from hotelmate_contracts.money import to_minor
from hotelmate_contracts.saga import (CapturePayment, PaymentFailed, PaymentVoided, RefundPayment,
                                      RequestCheckout, VoidPayment)
from hotelmate_platform.db import UnitOfWork

from .adapters import repository as repo
from .domain.model import MONEY_TAKEN, Status

log = logging.getLogger(__name__)


async def request_checkout(uow: UnitOfWork, msg: RequestCheckout, envelope: Envelope) -> None:
    currency = msg.amount.currency.upper()
    created = await repo.insert_payment(
        uow.session, booking_id=msg.booking_id, hotel=msg.hotel, currency=currency,
        amount_minor=to_minor(msg.amount.amount, currency), checkout_expires_at=msg.expires_at,
        return_url=msg.return_url, description=msg.description, customer_email=msg.customer_email)
    if not created:
        log.info("checkout for %s already requested", msg.booking_id)
        return
    await repo.add_operation(uow.session, msg.booking_id, "checkout", "CHECKOUT")
    uow.wake(repo.OPERATIONS_DUE)


async def capture_payment(uow: UnitOfWork, msg: CapturePayment, envelope: Envelope) -> None:
    if await repo.get_payment(uow.session, msg.booking_id) is None:
        uow.publish(PaymentFailed(booking_id=msg.booking_id, stage="CAPTURE", reason="no payment for this booking"))
        return
    # One capture operation per booking, whatever the number of CapturePayment messages; a new
    # command after a failure tries again with the same idempotency key (Stripe replays a final no).
    await repo.add_operation(uow.session, msg.booking_id, "capture", "CAPTURE", retry_failed=True)
    uow.wake(repo.OPERATIONS_DUE)


async def void_payment(uow: UnitOfWork, msg: VoidPayment, envelope: Envelope) -> None:
    row = await repo.get_payment(uow.session, msg.booking_id, lock=True)
    if row is None:
        uow.publish(PaymentVoided(booking_id=msg.booking_id, reason=msg.reason))
        return
    if Status(row["status"]) in MONEY_TAKEN:
        log.warning("void asked for captured payment %s; a refund is needed instead", msg.booking_id)
        uow.publish(PaymentFailed(booking_id=msg.booking_id, stage="VOID", reason="payment already captured"))
        return
    if Status(row["status"]) is Status.VOIDED:
        uow.publish(PaymentVoided(booking_id=msg.booking_id, reason=row["close_reason"] or msg.reason))
        return
    # Closed from now on: an authorisation that shows up later is voided, never announced.
    await repo.update_payment(uow.session, msg.booking_id, closed=True, close_reason=row["close_reason"] or msg.reason)
    await repo.arm_void(uow.session, msg.booking_id, msg.reason)
    uow.wake(repo.OPERATIONS_DUE)


async def refund_payment(uow: UnitOfWork, msg: RefundPayment, envelope: Envelope) -> None:
    row = await repo.get_payment(uow.session, msg.booking_id)
    if row is None:
        uow.publish(PaymentFailed(booking_id=msg.booking_id, stage="REFUND", reason="no payment for this booking"))
        return
    amount = to_minor(msg.amount.amount, row["currency"])
    if amount <= 0 or msg.amount.currency.upper() != row["currency"]:
        uow.publish(PaymentFailed(booking_id=msg.booking_id, stage="REFUND", reason="invalid refund amount"))
        return
    # The command's message id makes the key: a redelivery is the same refund, a new command a new one.
    await repo.add_operation(uow.session, msg.booking_id, f"refund:{envelope.message_id.hex[:16]}", "REFUND",
                             amount_minor=amount, reason=msg.reason)
    uow.wake(repo.OPERATIONS_DUE)


HANDLERS = {
    RequestCheckout: request_checkout,
    CapturePayment: capture_payment,
    VoidPayment: void_payment,
    RefundPayment: refund_payment,
}
