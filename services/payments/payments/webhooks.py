"""Processing stored Stripe events. A worker claims unprocessed events (``SKIP LOCKED``), asks
Stripe for the PaymentIntent's current state outside any transaction (unless the event carries it
in a final state, succeeded or cancelled, which no later change can follow), then under a row lock on the
payment applies it with the domain's monotonic rules and marks the event processed, in one
transaction. Duplicates, any order of arrival and a concurrent capture therefore give one end state.
"""

from __future__ import annotations

import asyncio
import logging

from hotelmate_contracts.saga import PaymentFailed
from hotelmate_platform.db import Database
from hotelmate_platform.jobs import run_jobs_forever

from .adapters import repository as repo
from .adapters.stripe_api import StripeApi, StripeRefused, StripeUnavailable, capture_before, snapshot
from .claims import settle
from .domain.model import (MONEY_TAKEN, Outcome, Status, for_another_amount, observe_closed_unpaid, observe_intent,
                           observe_refunds, observe_stray_intent)
from .recording import apply_outcome
from .settings import PaymentsSettings

log = logging.getLogger(__name__)

HANDLED = {
    "checkout.session.completed", "checkout.session.expired", "checkout.session.async_payment_failed",
    "checkout.session.async_payment_succeeded", "payment_intent.amount_capturable_updated",
    "payment_intent.payment_failed", "payment_intent.canceled", "payment_intent.succeeded", "charge.refunded",
}
DECLINES = {"payment_intent.payment_failed", "checkout.session.async_payment_failed"}


def references(obj: dict) -> tuple[str | None, str | None, str | None]:
    """(booking id, PaymentIntent id, Checkout Session id) named by an event's object."""
    metadata = obj.get("metadata") or {}
    kind = obj.get("object")
    if kind == "checkout.session":
        booking = metadata.get("booking_id") or obj.get("client_reference_id")
        return booking, _id(obj.get("payment_intent")), obj.get("id")
    if kind == "payment_intent":
        return metadata.get("booking_id"), obj.get("id"), None
    if kind == "charge":
        return metadata.get("booking_id"), _id(obj.get("payment_intent")), None
    return None, None, None


def _id(value) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


# A PaymentIntent that succeeded or was cancelled stays so (refunds are the charge's), and its status
# and amounts no longer change: the intent such an event carries is as current as Stripe's answer.
FINAL = {"payment_intent.succeeded", "payment_intent.canceled"}


def intent_of(event_type: str, obj: dict) -> str | None:
    """The PaymentIntent whose state this event is about, if payments acts on it (a refund's event
    carries its amounts itself)."""
    if event_type not in HANDLED or event_type == "charge.refunded":
        return None
    return references(obj)[1]


def intent_to_read(event_type: str, obj: dict) -> str | None:
    """The PaymentIntent whose current state Stripe is asked for before handling this event, if any
    (an intent's final state is its own event's)."""
    return None if event_type in FINAL else intent_of(event_type, obj)


def group_of(row: dict) -> str:
    """Events about one PaymentIntent are handled one after the other, in the order claimed."""
    return intent_of(row["type"], row["payload"]["data"]["object"]) or row["id"]


def decline_reason(obj: dict) -> str:
    error = obj.get("last_payment_error") or {}
    return str(error.get("decline_code") or error.get("code") or "card declined")


class EventProcessor:
    def __init__(self, db: Database, stripe_api: StripeApi, settings: PaymentsSettings) -> None:
        self.db, self.stripe, self.settings = db, stripe_api, settings
        self.wakeup = asyncio.Event()

    async def run_once(self) -> int:
        async with self.db.autocommit() as conn:  # one statement: committed before the work
            rows = await repo.claim_due(conn, repo.STRIPE_EVENTS, self.settings.payments_worker_batch,
                                        self.settings.payments_lease_seconds)
        # Events about one PaymentIntent (a payment sends two or three at once) share one retrieval of
        # it, made after all of them were stored, so it is as new as any of them; each group runs apart.
        groups: dict[str, list[dict]] = {}
        for row in rows:
            groups.setdefault(group_of(row), []).append(row)
        await asyncio.gather(*(self.process_group(group) for group in groups.values()))
        return len(rows)

    async def process_group(self, rows: list[dict]) -> None:
        intents: dict[str, dict] = {}  # read once for the group, on its first event that needs it
        for row in rows:
            await self.process(row, intents)

    async def run_forever(self) -> None:
        await run_jobs_forever(self.run_once, wake=self.wakeup, poll_seconds=self.settings.payments_worker_poll_seconds)

    async def process(self, row: dict, intents: dict[str, dict]) -> None:
        """Handle one claimed event; ``intents`` holds the PaymentIntents its group has read already."""
        try:
            await self._handle(row["id"], row["type"], row["payload"]["data"]["object"], intents)
        except Exception as exc:  # noqa: BLE001 - the stored event stays; it is tried again later
            if not isinstance(exc, (StripeUnavailable, StripeRefused)):
                log.exception("stripe event %s (%s) crashed", row["id"], row["type"])
            delay = self.settings.retry_delay_seconds(row["attempts"])
            log.warning("stripe event %s (%s) postponed %.1fs: %s", row["id"], row["type"], delay, exc)
            error = str(exc)

            async def postpone() -> None:
                async with self.db.unit_of_work() as uow:
                    await repo.STRIPE_EVENTS.postpone(uow.session, row["id"], delay_seconds=delay, error=error)

            await settle(row, postpone, f"stripe event {row['id']}")

    async def _handle(self, event_id: str, event_type: str, obj: dict, intents: dict[str, dict]) -> None:
        if event_type not in HANDLED:
            log.info("stripe event %s (%s) acknowledged, nothing to do", event_id, event_type)
            async with self.db.unit_of_work() as uow:
                await repo.mark_event_processed(uow.session, event_id, "ignored")
            return
        booking_id, intent_id, session_id = references(obj)
        # Order-independent: the event is a hint, Stripe's current PaymentIntent is the fact (an
        # intent's final state, which no later change can follow, is its own event's).
        intent = obj if event_type in FINAL else None
        if (to_read := intent_to_read(event_type, obj)) is not None:
            if to_read not in intents:
                intents[to_read] = await self.stripe.retrieve_intent(to_read)
            intent = intents[to_read]
        async with self.db.unit_of_work() as uow:
            if booking_id is None:
                booking_id = await repo.find_booking_id(uow.session, intent_id=intent_id, session_id=session_id)
            row = await repo.get_payment(uow.session, booking_id, lock=True) if booking_id else None
            if row is None:
                log.warning("stripe event %s (%s) names no known payment", event_id, event_type)
                await repo.mark_event_processed(uow.session, event_id, "unknown payment")
                return
            fields = {}
            if session_id and not row["checkout_session_id"]:
                fields["checkout_session_id"] = session_id
            state = repo.state_of(row)
            if event_type == "charge.refunded":
                refunded = int(obj.get("amount_refunded") or 0)
                outcome = Outcome(observe_refunds(state, refunded) if state.status in MONEY_TAKEN else state)
            elif intent is not None and row["payment_intent_id"] not in (None, intent_id):
                outcome = observe_stray_intent(state, snapshot(intent))
            elif intent is not None:
                outcome = observe_intent(state, snapshot(intent))
            else:
                outcome = Outcome(state)
            if event_type == "checkout.session.expired" and outcome.state.status in (Status.NONE, Status.CHECKOUT_OPEN):
                later = observe_closed_unpaid(outcome.state)
                outcome = Outcome(later.state, outcome.announce + later.announce, outcome.void_needed)
            if event_type in DECLINES and outcome.state.status is Status.CHECKOUT_OPEN and not state.closed:
                uow.publish(PaymentFailed(booking_id=booking_id, stage="AUTHORIZATION", reason=decline_reason(obj)))
            # A stray intent (voided, or of another amount and already cancelled) never becomes the payment's.
            stray = outcome.void_needed or (intent is not None and for_another_amount(state, snapshot(intent)))
            if intent_id and not row["payment_intent_id"] and not stray:
                fields["payment_intent_id"] = intent_id
            if intent is not None and not stray and (until := capture_before(intent)):
                fields["capture_before"] = until  # the authorisation's real limit, for the retries
            await apply_outcome(uow, row, outcome, intent_id=intent_id, **fields)
            await repo.mark_event_processed(uow.session, event_id)
