"""The operation worker: claims pending Stripe operations, calls Stripe outside any transaction
with the idempotency key ``{booking_id}:{op_key}``, then records the result and its events.

A crash between the call and the record leaves the operation claimed; its lease runs out and the
next attempt repeats the call with the same key, which Stripe answers from its idempotency store.
A database error while recording is no crash: the operation is postponed for a prompt retry, and
that postponement is itself retried through the blip (``claims.settle``), not left to the lease.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from functools import partial

from hotelmate_contracts.saga import CheckoutCreated, PaymentFailed, PaymentRefunded
from hotelmate_platform.db import Database
from hotelmate_platform.jobs import run_jobs_forever

from .adapters import repository as repo
from .adapters.stripe_api import StripeApi, StripeRefused, StripeUnavailable, snapshot
from .claims import settle
from .domain.model import MONEY_TAKEN, Status, observe_closed_unpaid, observe_intent, observe_refunds
from .recording import apply_outcome, money
from .settings import PaymentsSettings

log = logging.getLogger(__name__)

CANCELLABLE = {"requires_payment_method", "requires_confirmation", "requires_action", "requires_capture", "processing"}


class OperationWorker:
    def __init__(self, db: Database, stripe_api: StripeApi, settings: PaymentsSettings) -> None:
        self.db, self.stripe, self.settings = db, stripe_api, settings

    async def run_once(self) -> int:
        """Claim a batch of due operations and run them side by side; answers how many ran."""
        async with self.db.autocommit() as conn:  # one statement: committed before the work
            ops = await repo.claim_due(conn, repo.OPERATIONS, self.settings.payments_worker_batch,
                                       self.settings.payments_lease_seconds)
        await asyncio.gather(*(self.run(op) for op in ops))
        return len(ops)

    async def run_forever(self) -> None:
        """Run due operations; when none are left, sleep until a commit adds one (or the poll, for
        postponed retries and other replicas' leases)."""
        await run_jobs_forever(self.run_once, wake=self.db.signal(repo.OPERATIONS_DUE),
                               poll_seconds=self.settings.payments_worker_poll_seconds)

    async def run(self, op: dict) -> None:
        try:
            await getattr(self, f"_{op['kind'].lower()}")(op)
            return
        except StripeUnavailable as exc:
            step = partial(self._retry_later, op, str(exc))
        except StripeRefused as exc:
            step = partial(self._fail, op, exc.code)
        except Exception:  # a bug or a database blip must not lose the operation: retry it later
            log.exception("operation %s of %s crashed", op["op_key"], op["booking_id"])
            step = partial(self._retry_later, op, "internal error")
        await settle(op, step, f"operation {op['op_key']} of {op['booking_id']}")

    def key(self, op: dict, suffix: str = "") -> str:
        return f"{op['booking_id']}:{op['op_key']}{suffix}"

    def give_up_at(self, op: dict, payment: dict | None) -> datetime:
        """When retrying stops: a capture or void while the authorisation can still be captured
        (Stripe's ``capture_before``, else authorised + the configured validity), anything else as
        long after it was asked for."""
        valid = timedelta(hours=self.settings.stripe_authorisation_valid_hours)
        if op["kind"] in ("CAPTURE", "VOID") and payment:
            if payment["capture_before"]:
                return payment["capture_before"]
            if payment["authorized_at"]:
                return payment["authorized_at"] + valid
        return op["created_at"] + valid

    async def _retry_later(self, op: dict, error: str) -> None:
        if datetime.now(timezone.utc) >= self.give_up_at(op, await self._load(op["booking_id"])):
            log.error("operation %s of %s gave up after %s attempts", op["op_key"], op["booking_id"], op["attempts"])
            await self._fail(op, "stripe unavailable")
            return
        delay = self.settings.retry_delay_seconds(op["attempts"])
        log.warning("operation %s of %s: %s; retrying in %.1fs", op["op_key"], op["booking_id"], error, delay)
        async with self.db.unit_of_work() as uow:
            await repo.OPERATIONS.postpone(uow.session, op["id"], delay_seconds=delay, error=error)

    async def _fail(self, op: dict, reason: str) -> None:
        async with self.db.unit_of_work() as uow:
            await repo.finish_operation(uow.session, op["id"], "FAILED", reason)
            uow.publish(PaymentFailed(booking_id=op["booking_id"], stage=op["kind"], reason=reason))
        log.info("operation %s of %s failed: %s", op["op_key"], op["booking_id"], reason)

    async def _done(self, op: dict) -> None:
        async with self.db.autocommit() as conn:
            await repo.finish_operation(conn, op["id"], "DONE")

    async def _load(self, booking_id: str) -> dict:
        # One statement, no lock (the record step locks and re-reads): no transaction around it.
        async with self.db.reads() as session:
            return await repo.get_payment(session, booking_id)

    # --- checkout ---------------------------------------------------------------------------------

    async def _checkout(self, op: dict) -> None:
        row = await self._load(op["booking_id"])
        if row["closed"] or row["checkout_session_id"]:
            await self._done(op)
            return
        expires_at = row["checkout_expires_at"]
        if expires_at <= datetime.now(timezone.utc) + timedelta(seconds=5):
            await self._fail(op, "hold already expired")
            return
        params = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": row["currency"].lower(), "unit_amount": row["amount_minor"],
                "product_data": {"name": row["description"][:250]}}}],
            "payment_intent_data": {"capture_method": "manual",
                                    "metadata": {"booking_id": row["booking_id"], "hotel": row["hotel"]}},
            "expires_at": int(expires_at.timestamp()),  # never later than the hold
            "metadata": {"booking_id": row["booking_id"], "hotel": row["hotel"]},
            "client_reference_id": row["booking_id"],
            "customer_email": row["customer_email"],
            "success_url": row["return_url"],
            "cancel_url": row["return_url"],
        }
        session = await self.stripe.create_checkout_session(params, self.key(op))
        async with self.db.unit_of_work() as uow:
            row = await repo.get_payment(uow.session, op["booking_id"], lock=True)
            status = Status.CHECKOUT_OPEN if row["status"] == Status.NONE else row["status"]
            await repo.update_payment(uow.session, row["booking_id"], status=status, checkout_session_id=session["id"],
                                      checkout_url=session["url"])
            await repo.finish_operation(uow.session, op["id"], "DONE")
            if row["closed"]:  # voided while we were creating it: release it at once
                await repo.arm_void(uow.session, row["booking_id"], row["close_reason"] or "closed")
            else:
                uow.publish(CheckoutCreated(booking_id=row["booking_id"], checkout_url=session["url"],
                                            expires_at=expires_at))

    # --- capture ----------------------------------------------------------------------------------

    async def _capture(self, op: dict) -> None:
        row = await self._load(op["booking_id"])
        if Status(row["status"]) in MONEY_TAKEN:
            await self._done(op)
            return
        if row["closed"] or not row["payment_intent_id"] or row["status"] != Status.AUTHORIZED:
            await self._fail(op, "authorisation expired or cancelled" if row["status"] == Status.FAILED
                             else f"nothing to capture (payment {row['status']})")
            return
        try:
            intent = await self.stripe.capture(row["payment_intent_id"], self.key(op))
            failure = None
        except StripeRefused as exc:
            intent = await self.stripe.retrieve_intent(row["payment_intent_id"])
            failure = exc.code
        async with self.db.unit_of_work() as uow:
            row = await repo.get_payment(uow.session, op["booking_id"], lock=True)
            await apply_outcome(uow, row, observe_intent(repo.state_of(row), snapshot(intent)))
            captured = intent.get("status") == "succeeded"
            await repo.finish_operation(uow.session, op["id"], "DONE" if captured else "FAILED", failure)
            if not captured:
                uow.publish(PaymentFailed(booking_id=row["booking_id"], stage="CAPTURE",
                                          reason=failure or f"payment intent {intent.get('status')}"))

    # --- void -------------------------------------------------------------------------------------

    async def _void(self, op: dict) -> None:
        if op["op_key"].startswith("void-intent:"):
            await self._void_stray_intent(op)
            return
        row = await self._load(op["booking_id"])
        if Status(row["status"]) in MONEY_TAKEN:
            await self._fail(op, "payment already captured")
            return
        intent_id = row["payment_intent_id"]
        if row["checkout_session_id"]:
            session = await self.stripe.retrieve_session(row["checkout_session_id"])
            intent_id = intent_id or session.get("payment_intent")
            if session.get("status") == "open":
                try:  # expiring an open session also releases its PaymentIntent
                    await self.stripe.expire_session(session["id"], self.key(op, ":expire_session"))
                except StripeRefused as exc:
                    log.info("session of %s not expired: %s", row["booking_id"], exc.code)
        intent = None
        if intent_id:
            intent = await self.stripe.retrieve_intent(intent_id)
            if intent.get("status") in CANCELLABLE:
                try:
                    intent = await self.stripe.cancel(intent_id, self.key(op, f":{intent_id[-8:]}"))
                except StripeRefused as exc:
                    log.info("intent of %s not cancelled: %s", row["booking_id"], exc.code)
                    intent = await self.stripe.retrieve_intent(intent_id)
            if intent.get("status") == "requires_capture":
                raise StripeUnavailable("authorisation still open after cancel")
        async with self.db.unit_of_work() as uow:
            row = await repo.get_payment(uow.session, op["booking_id"], lock=True)
            state = repo.state_of(row)
            if intent is not None and intent.get("status") not in CANCELLABLE:
                outcome = observe_intent(state, snapshot(intent))
            else:
                outcome = observe_closed_unpaid(state)
            await apply_outcome(uow, row, outcome, payment_intent_id=row["payment_intent_id"] or intent_id)
            await repo.finish_operation(uow.session, op["id"], "DONE")

    async def _void_stray_intent(self, op: dict) -> None:
        """Cancel an authorisation that is not the payment's (closed payment, other amount or currency)."""
        intent_id = op["reason"]
        intent = await self.stripe.retrieve_intent(intent_id)
        if intent.get("status") in CANCELLABLE:
            intent = await self.stripe.cancel(intent_id, self.key(op))
        log.warning("stray authorisation of %s is now %s", op["booking_id"], intent.get("status"))
        await self._done(op)

    # --- refund -----------------------------------------------------------------------------------

    async def _refund(self, op: dict) -> None:
        row = await self._load(op["booking_id"])
        if Status(row["status"]) not in MONEY_TAKEN or not row["payment_intent_id"]:
            await self._fail(op, f"nothing captured to refund (payment {row['status']})")
            return
        await self.stripe.refund(row["payment_intent_id"], op["amount_minor"], self.key(op))
        async with self.db.unit_of_work() as uow:
            row = await repo.get_payment(uow.session, op["booking_id"], lock=True)
            await repo.finish_operation(uow.session, op["id"], "DONE")
            total = await repo.refunded_by_operations(uow.session, row["booking_id"])
            state = observe_refunds(repo.state_of(row), total)
            await repo.update_payment(uow.session, row["booking_id"], state)
            uow.publish(PaymentRefunded(booking_id=row["booking_id"], amount=money(op["amount_minor"], row["currency"]),
                                        fully_refunded=state.status is Status.REFUNDED))
