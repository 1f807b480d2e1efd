"""The Stripe emulator and the payments service as real processes (real PostgreSQL and RabbitMQ),
a test queue on the bus to watch what payments announces, and helpers that read like the saga."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import stripe
from sqlalchemy import text

from hotelmate_contracts import Envelope, Money
from hotelmate_contracts.saga import RequestCheckout
from hotelmate_devtools.busprobe import BusProbe
from hotelmate_devtools.signing import as_gateway
from hotelmate_devtools.waiting import eventually
from hotelmate_platform.db import Database
from hotelmate_platform.settings import PlatformSettings

WEBHOOK_SECRET = "whsec_hotelmate_dev"
PAYMENT_EVENTS = ("checkout_created", "payment_authorized", "payment_failed", "payment_captured",
                  "payment_voided", "payment_refunded")
PROBE_MARKER = "payments.probe_marker"  # a type payments never publishes: the probe's barrier
AUTHORISES, DECLINES = "4242424242424242", "4000000000000002"


class Harness:
    """What the tests drive: the bus, the emulator, payments' HTTP API and its database."""

    def __init__(self, system, bus: BusProbe, db: Database) -> None:
        self.system, self.bus, self.db = system, bus, db
        self.payments_url = system.layout.url("payments")
        self.emulator_url = system.layout.url("stripe-emulator")
        self.http = httpx.AsyncClient(timeout=30, event_hooks={"request": [as_gateway()]})
        self.events: list[Envelope] = bus.seen
        self.stripe = stripe.StripeClient("sk_test_harness", base_addresses={"api": self.emulator_url},
                                          http_client=stripe.HTTPXClient(timeout=10))

    # --- bus ------------------------------------------------------------------------------------
    async def send(self, message) -> None:
        await self.bus.publish(message)

    def announced(self, booking_id: str, kind: str | None = None) -> list[dict]:
        return [e.payload for e in self.events if e.payload.get("booking_id") == booking_id
                and (kind is None or e.type == f"payments.{kind}")]

    async def wait_for(self, booking_id: str, kind: str, timeout: float = 15) -> dict:
        return await self.bus.expect(f"payments.{kind}", timeout=timeout, booking_id=booking_id)

    # --- saga helpers ---------------------------------------------------------------------------
    async def request_checkout(self, amount: str = "120.00", currency: str = "EUR", minutes: float = 30) -> tuple[str, str]:
        """A booking id and its open Checkout Session id."""
        booking_id = f"BK-2026-{uuid.uuid4().int % 1_000_000:06d}-{uuid.uuid4().hex[:4]}"
        await self.send(RequestCheckout(
            booking_id=booking_id, hotel="h-test", hotel_name="Hotel Test", amount=Money.of(amount, currency),
            description="2 nights, Double room", customer_email="guest@example.com",
            expires_at=datetime.now(timezone.utc) + timedelta(minutes=minutes),
            return_url="http://127.0.0.1:8000/return"))
        created = await self.wait_for(booking_id, "checkout_created")
        assert created["checkout_url"].startswith(self.emulator_url)
        return booking_id, (await self.row(booking_id))["checkout_session_id"]

    async def pay(self, session_id: str, card: str = AUTHORISES) -> dict:
        r = await self.http.post(f"{self.emulator_url}/_emulator/checkout/sessions/{session_id}/pay",
                                 json={"card_number": card})
        return r.json()

    async def authorised(self, amount: str = "120.00") -> tuple[str, str]:
        booking_id, session_id = await self.request_checkout(amount)
        await self.pay(session_id)
        await self.wait_for(booking_id, "payment_authorized")
        intent_id = (await self.row(booking_id))["payment_intent_id"]
        await self.until_handled(intent_id)  # what the test changes next is not undone by a later event
        return booking_id, intent_id

    # --- observation ----------------------------------------------------------------------------
    async def view(self, booking_id: str) -> dict:
        r = await self.http.get(f"{self.payments_url}/internal/payments/{booking_id}")
        assert r.status_code == 200, r.text
        return r.json()

    async def row(self, booking_id: str) -> dict:
        async with self.db.unit_of_work() as uow:
            return dict((await uow.session.execute(text("SELECT * FROM payments WHERE booking_id = :b"),
                                                   {"b": booking_id})).mappings().one())

    async def operations(self, booking_id: str) -> list[dict]:
        async with self.db.unit_of_work() as uow:
            return [dict(r) for r in (await uow.session.execute(text(
                "SELECT * FROM payment_operations WHERE booking_id = :b ORDER BY id"), {"b": booking_id})).mappings()]

    async def stripe_requests(self, path_prefix: str) -> list[dict]:
        r = await self.http.get(f"{self.emulator_url}/_emulator/requests", params={"path_prefix": path_prefix})
        return r.json()["data"]

    async def emulator_events(self, object_id: str | None = None, *, sent_only: bool = False) -> list[dict]:
        """The events the emulator made (about ``object_id``); ``sent_only``: those the webhook endpoint
        is enabled for (the ones payments acts on), which are all it sends."""
        rows = (await self.http.get(f"{self.emulator_url}/_emulator/events")).json()["data"]
        return [r["event"] for r in rows
                if (object_id is None or r["event"]["data"]["object"].get("id") == object_id
                    or r["event"]["data"]["object"].get("payment_intent") == object_id)
                and not (sent_only and r["delivery_status"] == "not_enabled")]

    async def stored_events(self, event_id: str | None = None) -> int:
        async with self.db.unit_of_work() as uow:
            sql = "SELECT count(*) FROM stripe_events" + (" WHERE id = :id" if event_id else "")
            return (await uow.session.execute(text(sql), {"id": event_id})).scalar_one()

    async def until_handled(self, object_id: str, timeout: float = 15) -> None:
        """Every event the emulator has sent about ``object_id`` has reached payments and been
        processed. The first of a payment's events authorises it; the others are handled moments
        later, each re-reading the PaymentIntent, and would record what a test did at Stripe (or
        overwrite what it changed in the database) in the meantime."""
        ids = [event["id"] for event in await self.emulator_events(object_id, sent_only=True)]

        async def handled() -> bool:
            async with self.db.unit_of_work() as uow:
                done = (await uow.session.execute(text(
                    "SELECT count(*) FROM stripe_events WHERE id = ANY(:ids) AND processed_at IS NOT NULL"),
                    {"ids": ids})).scalar_one()
            return done == len(ids)

        assert await eventually(handled, timeout=timeout), f"not every event of {object_id} was processed: {ids}"

    async def until_processed(self, timeout: float = 15) -> None:
        """Every stored event and operation done, and every message they wrote published and seen by the
        probe (a marker sent after the outbox emptied has come back), so ``announced`` is complete."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with self.db.unit_of_work() as uow:
                left = (await uow.session.execute(text(
                    "SELECT (SELECT count(*) FROM stripe_events WHERE processed_at IS NULL)"
                    " + (SELECT count(*) FROM payment_operations WHERE status = 'PENDING')"
                    " + (SELECT count(*) FROM outbox WHERE published_at IS NULL)"))).scalar_one()
            if not left:
                await self.bus.barrier(PROBE_MARKER)
                return
            await asyncio.sleep(0.05)
        raise AssertionError("stored events, operations or outbox messages still pending")

    # --- webhooks -------------------------------------------------------------------------------
    async def deliver(self, event: dict | bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None,
                      path: str = "/webhooks/stripe") -> httpx.Response:
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)
        return await self.http.post(f"{self.payments_url}{path}", content=body,
                                    headers={"Stripe-Signature": header, "Content-Type": "application/json"})

    async def emulator_webhooks(self, enabled: bool) -> None:
        url = f"{self.payments_url}/webhooks/stripe" if enabled else ""
        await self.http.post(f"{self.emulator_url}/_emulator/config", json={"webhook_url": url})


@pytest.fixture(scope="session")
def system(system_factory):
    return system_factory(["stripe-emulator", "payments"], env={
        "HOTELMATE_STRIPE_TIMEOUT_SECONDS": "1.5",
        "HOTELMATE_STRIPE_MAX_NETWORK_RETRIES": "0",  # let the operation worker do (and show) the retries
        "HOTELMATE_STRIPE_RETRY_DELAYS_MS": "[200, 400, 800]",
        "HOTELMATE_PAYMENTS_LEASE_SECONDS": "5",
        "HOTELMATE_PAYMENTS_WORKER_POLL_SECONDS": "0.05",
        "HOTELMATE_OUTBOX_POLL_SECONDS": "0.2",
    })


@pytest.fixture(scope="session")
async def harness(system):
    settings = PlatformSettings()
    bus = await BusProbe(settings.amqp_url, settings.bus_namespace,
                         *(f"payments.{kind}" for kind in PAYMENT_EVENTS), PROBE_MARKER).start()
    db = Database(settings.database_url("payments"), pool_size=5, max_overflow=0)
    h = Harness(system, bus, db)
    yield h
    await h.http.aclose()
    await bus.stop()
    await db.dispose()


@pytest.fixture
async def manual_webhooks(harness):
    """The emulator stops delivering: the test signs and delivers events itself."""
    await harness.emulator_webhooks(False)
    yield harness
    await harness.emulator_webhooks(True)
